// SPDX-License-Identifier: GPL-2.0-only
/*
 * pcapng capture (see capture.h for why not rte_pcapng, and the threads).
 *
 * Ring and writer thread rather than a lock and a write(2) per burst: a
 * worker holding a lock across a write to a slow or full disk would stall
 * every other worker capturing to the same file, and the data path with
 * it. Here a worker pays for one copy (rte_pktmbuf_copy into the capture's
 * pool) and one lock-free enqueue; the writer sleeps 1 ms when the ring is
 * empty and flushes then, so the file is readable while capturing.
 *
 * Blocks written, host byte order (the SHB's byte-order magic says which):
 * SHB (shb_userappl), one IDB (LINKTYPE_ETHERNET, if_name,
 * if_description, if_tsresol = 9: nanoseconds), then one EPB per packet
 * with epb_flags carrying the direction (bits 0-1: 01 inbound, 10
 * outbound).
 *
 * Workers: nb_capture_pkts. Main thread: open/close. Writer: its own thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "capture.h"
#include "log.h"
#include "pkt.h"

#define CAP_RING_SIZE 4096	/* packets queued for the writer */
#define CAP_POOL_MBUFS 4095	/* copies in flight (a 64 KiB frame takes 17) */
#define CAP_BURST 64

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du
#define OPT_END 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2
#define EPB_FLAG_INBOUND 1u
#define EPB_FLAG_OUTBOUND 2u
#define LINKTYPE_ETHERNET 1

/* What travels with each copy, in the mbuf's private area. */
struct cap_meta {
	uint64_t ts_ns;
	uint32_t orig_len;
	bool outbound;
};

struct nb_capture {
	FILE *f;
	char *path;
	struct rte_ring *ring;
	struct rte_mempool *pool;
	pthread_t writer;
	bool writer_started;
	bool stop;		/* atomically */
	bool write_failed;	/* writer only */
	uint64_t written;	/* atomically */
	uint64_t dropped;	/* atomically */
};

static uint32_t pad4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

/* One option: code, length, value, zero padding to 4 bytes. */
static uint32_t opt_put(uint8_t *p, uint16_t code, const void *v, uint16_t len)
{
	memcpy(p, &code, 2);
	memcpy(p + 2, &len, 2);
	if (len)
		memcpy(p + 4, v, len);
	memset(p + 4 + len, 0, pad4(len) - len);
	return 4 + pad4(len);
}

static uint16_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return (uint16_t)(n > 256 ? 256 : n);
}

/* A block: type, total length, body, total length again. */
static int block_write(FILE *f, uint32_t type, const uint8_t *body, uint32_t len)
{
	uint32_t total = len + 12;

	if (fwrite(&type, 4, 1, f) != 1 || fwrite(&total, 4, 1, f) != 1 ||
	    (len && fwrite(body, len, 1, f) != 1) || fwrite(&total, 4, 1, f) != 1)
		return -EIO;
	return 0;
}

static int header_write(FILE *f, const char *ifname, const char *ifdescr)
{
	static const char appl[] = "ddom netbackd";
	uint8_t b[1024];
	uint32_t n = 0, bom = PCAPNG_BOM;
	uint16_t major = 1, minor = 0, lt = LINKTYPE_ETHERNET, zero = 0;
	int64_t section_len = -1;
	uint32_t snaplen = 0;
	uint8_t tsresol = 9;
	int r;

	memcpy(b, &bom, 4);
	memcpy(b + 4, &major, 2);
	memcpy(b + 6, &minor, 2);
	memcpy(b + 8, &section_len, 8);
	n = 16 + opt_put(b + 16, OPT_SHB_USERAPPL, appl, sizeof(appl) - 1);
	n += opt_put(b + n, OPT_END, NULL, 0);
	r = block_write(f, PCAPNG_SHB, b, n);
	if (r < 0)
		return r;

	memcpy(b, &lt, 2);
	memcpy(b + 2, &zero, 2);
	memcpy(b + 4, &snaplen, 4);
	n = 8 + opt_put(b + 8, OPT_IF_NAME, ifname, str_len(ifname));
	if (ifdescr && *ifdescr)
		n += opt_put(b + n, OPT_IF_DESCRIPTION, ifdescr, str_len(ifdescr));
	n += opt_put(b + n, OPT_IF_TSRESOL, &tsresol, 1);
	n += opt_put(b + n, OPT_END, NULL, 0);
	return block_write(f, PCAPNG_IDB, b, n);
}

/* One EPB: the fixed part, the copied bytes segment by segment, the flags. */
static int epb_write(FILE *f, const struct rte_mbuf *m)
{
	const struct cap_meta *meta = rte_mbuf_to_priv((struct rte_mbuf *)(uintptr_t)m);
	uint32_t flags = meta->outbound ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND;
	uint32_t caplen = m->pkt_len, body = 20 + pad4(caplen), type = PCAPNG_EPB, total;
	uint32_t fixed[5] = { 0, (uint32_t)(meta->ts_ns >> 32), (uint32_t)meta->ts_ns, caplen,
			      meta->orig_len };
	static const uint8_t zeros[4];
	uint8_t opts[16];
	uint32_t olen = opt_put(opts, OPT_EPB_FLAGS, &flags, 4);
	const struct rte_mbuf *s;

	olen += opt_put(opts + olen, OPT_END, NULL, 0);
	total = 12 + body + olen;
	if (fwrite(&type, 4, 1, f) != 1 || fwrite(&total, 4, 1, f) != 1 ||
	    fwrite(fixed, sizeof(fixed), 1, f) != 1)
		return -EIO;
	for (s = m; s; s = s->next)
		if (s->data_len && fwrite(rte_pktmbuf_mtod(s, const void *), s->data_len, 1, f) != 1)
			return -EIO;
	if ((pad4(caplen) != caplen && fwrite(zeros, pad4(caplen) - caplen, 1, f) != 1) ||
	    fwrite(opts, olen, 1, f) != 1 || fwrite(&total, 4, 1, f) != 1)
		return -EIO;
	return 0;
}

static void write_burst(struct nb_capture *c, struct rte_mbuf **m, unsigned n)
{
	unsigned i, ok = 0;

	for (i = 0; i < n; i++) {
		if (!c->write_failed && epb_write(c->f, m[i]) < 0) {
			c->write_failed = true;
			log_err_errno(-errno, "capture %s: writing, capture stopped", c->path);
		}
		ok += !c->write_failed;
	}
	rte_pktmbuf_free_bulk(m, n);
	__atomic_fetch_add(&c->written, ok, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->dropped, n - ok, __ATOMIC_RELAXED);
}

static void *writer_main(void *arg)
{
	struct nb_capture *c = arg;
	struct rte_mbuf *m[CAP_BURST];
	const struct timespec idle = { .tv_nsec = 1000000 };
	bool dirty = false;

	for (;;) {
		unsigned n = rte_ring_sc_dequeue_burst(c->ring, (void **)m, CAP_BURST, NULL);

		if (n) {
			write_burst(c, m, n);
			dirty = true;
			continue;
		}
		if (dirty && !c->write_failed)
			fflush(c->f);
		dirty = false;
		/* Stop only once the ring is empty after `stop` was seen. */
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && rte_ring_empty(c->ring))
			break;
		nanosleep(&idle, NULL);
	}
	return NULL;
}

static void capture_free(struct nb_capture *c)
{
	if (c->f)
		fclose(c->f);
	rte_ring_free(c->ring);
	rte_mempool_free(c->pool);
	free(c->path);
	free(c);
}

/* Ring and pool names are global in DPDK: number them. */
static int capture_objects(struct nb_capture *c)
{
	static unsigned seq;
	unsigned id = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "nb-cap-r%u", id);
	c->ring = rte_ring_create(name, CAP_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "nb-cap-p%u", id);
	c->pool = rte_pktmbuf_pool_create(name, CAP_POOL_MBUFS, 0,
					  RTE_ALIGN(sizeof(struct cap_meta), RTE_MBUF_PRIV_ALIGN),
					  NB_MBUF_DATA_ROOM, SOCKET_ID_ANY);
	return c->ring && c->pool ? 0 : -rte_errno;
}

int nb_capture_open(const char *path, const char *ifname, const char *ifdescr,
		    struct nb_capture **ret)
{
	struct nb_capture *c = calloc(1, sizeof(*c));
	int r;

	if (!c || !(c->path = strdup(path))) {
		free(c);
		return log_err_errno(-ENOMEM, "capture %s", path);
	}
	c->f = fopen(path, "wbe");
	if (!c->f) {
		r = log_err_errno(-errno, "capture %s: opening", path);
		goto fail;
	}
	setvbuf(c->f, NULL, _IOFBF, 1 << 20);
	r = capture_objects(c);
	if (r < 0) {
		log_err_errno(r, "capture %s: ring or pool", path);
		goto fail;
	}
	if (header_write(c->f, ifname, ifdescr) < 0 || fflush(c->f) != 0) {
		r = log_err_errno(-errno, "capture %s: writing the header", path);
		goto fail;
	}
	r = -pthread_create(&c->writer, NULL, writer_main, c);
	if (r < 0) {
		log_err_errno(r, "capture %s: writer thread", path);
		goto fail;
	}
	c->writer_started = true;
	log_info("capture of %s to %s", ifname, path);
	*ret = c;
	return 0;
fail:
	capture_free(c);
	return r;
}

/* Copies that find no room in the ring are dropped, not waited for. */
static void capture_enqueue(struct nb_capture *c, struct rte_mbuf **copy, unsigned k)
{
	unsigned q = rte_ring_mp_enqueue_burst(c->ring, (void **)copy, k, NULL);

	if (q < k) {
		rte_pktmbuf_free_bulk(copy + q, k - q);
		__atomic_fetch_add(&c->dropped, k - q, __ATOMIC_RELAXED);
	}
}

void nb_capture_pkts(struct nb_capture *c, struct rte_mbuf *const *pkts, uint16_t n, bool outbound)
{
	struct rte_mbuf *copy[CAP_BURST];
	struct timespec ts;
	uint64_t now;
	uint16_t i, k = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_copy(pkts[i], c->pool, 0, UINT32_MAX);
		struct cap_meta *meta;

		if (!m) {
			__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
			continue;
		}
		meta = rte_mbuf_to_priv(m);
		*meta = (struct cap_meta){ .ts_ns = now, .orig_len = pkts[i]->pkt_len, .outbound = outbound };
		copy[k++] = m;
		if (k == CAP_BURST) {
			capture_enqueue(c, copy, k);
			k = 0;
		}
	}
	if (k)
		capture_enqueue(c, copy, k);
}

void nb_capture_counts(const struct nb_capture *c, uint64_t *written, uint64_t *dropped)
{
	*written = __atomic_load_n(&c->written, __ATOMIC_RELAXED);
	*dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
}

void nb_capture_close(struct nb_capture *c)
{
	if (!c)
		return;
	if (c->writer_started) {
		__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
		pthread_join(c->writer, NULL);
	}
	if (fflush(c->f) != 0)
		log_err_errno(-errno, "capture %s: flushing", c->path);
	log_info("capture %s: %" PRIu64 " packets written, %" PRIu64 " dropped", c->path,
		 c->written, c->dropped);
	capture_free(c);
}
