// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront load generator (see load.h). Each worker owns one queue: its
 * ring, its event-channel handle, its grant handle and its stripe of blocks
 * (block % nr_queues == queue), so workers share nothing but read-only
 * options and their disjoint slices of the generation table.
 *
 * An I/O of bs bytes becomes one ring request, or several when it needs more
 * segments than one request carries (11 without indirect, blkif.h
 * BLKIF_MAX_SEGMENTS_PER_REQUEST; feature-max-indirect-segments with it).
 * With persistent grants the data pages are granted once per phase and
 * reused; without, every I/O grants fresh pages (read-only for writes) and
 * ends the grants when it completes, as Linux blkfront does.
 *
 * A worker never trusts the backend: a response id that is not in flight, a
 * ring that answers more than was asked, or an I/O that outlives the timeout
 * fails the run with a reason; it never crashes or spins.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

#include "load.h"

#define GEN_NONE 0u		/* not written in this run */
#define GEN_UNKNOWN 0xffffffffu	/* a write failed: content unknown */
#define GEN_ZERO 0xfffffffeu	/* discarded: reads back zeros */
#define STAMP_MAGIC 0x6466626bu	/* "kbfd" */
/* One I/O splits into at most this many ring requests (1 MiB / 11 segments). */
#define MAX_SUB 24

/* ---- histogram ---- */

static unsigned hist_idx(uint64_t v)
{
	unsigned msb, i;

	if (v < 64)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	i = 64 + (msb - 6) * 32 + (unsigned)((v >> (msb - 5)) & 31);
	return i < BF_HIST_BUCKETS ? i : BF_HIST_BUCKETS - 1;
}

static uint64_t hist_val(unsigned i)
{
	unsigned msb;

	if (i < 64)
		return i;
	msb = (i - 64) / 32 + 6;
	/* The middle of the bucket. */
	return ((uint64_t)(32 + (i - 64) % 32) << (msb - 5)) + ((1ull << (msb - 5)) >> 1);
}

void bf_hist_add(struct bf_hist *h, uint64_t ns)
{
	h->b[hist_idx(ns)]++;
	h->count++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void bf_hist_merge(struct bf_hist *dst, const struct bf_hist *src)
{
	for (unsigned i = 0; i < BF_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t bf_hist_pct(const struct bf_hist *h, double pct)
{
	uint64_t want = (uint64_t)((double)h->count * pct / 100.0 + 0.5), seen = 0;

	if (!h->count)
		return 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < BF_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_val(i) < h->max_ns ? hist_val(i) : h->max_ns;
	}
	return h->max_ns;
}

/* ---- sector stamps ---- */

struct stamp_hdr {
	uint32_t magic;
	uint32_t sum;
	uint64_t off;
	uint32_t gen;
	uint32_t run;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint32_t stamp_sum(const uint8_t *sec)
{
	uint64_t h = 0x9e3779b97f4a7c15ull, w;

	/* Everything after magic and sum. */
	for (size_t i = 8; i < BF_SECTOR; i += 8) {
		memcpy(&w, sec + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	h = mix(h);
	return (uint32_t)(h ^ (h >> 32));
}

void bf_stamp(uint8_t *buf, size_t len, uint64_t off, uint32_t gen, uint32_t run)
{
	for (size_t s = 0; s + BF_SECTOR <= len; s += BF_SECTOR) {
		uint8_t *sec = buf + s;
		struct stamp_hdr h = { .magic = STAMP_MAGIC, .off = off + s, .gen = gen, .run = run };
		uint64_t x = mix((off + s) ^ ((uint64_t)gen << 40) ^ run) | 1;

		for (size_t i = sizeof(h); i < BF_SECTOR; i += 8) {
			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(sec + i, &x, 8);
		}
		memcpy(sec, &h, sizeof(h));
		h.sum = stamp_sum(sec);
		memcpy(sec + 4, &h.sum, 4);
	}
}

int bf_stamp_check(const uint8_t *buf, size_t len, uint64_t off, uint32_t gen)
{
	for (size_t s = 0; s + BF_SECTOR <= len; s += BF_SECTOR) {
		struct stamp_hdr h;

		memcpy(&h, buf + s, sizeof(h));
		if (h.magic != STAMP_MAGIC || h.off != off + s || (gen && h.gen != gen) ||
		    h.sum != stamp_sum(buf + s))
			return -EILSEQ;
	}
	return 0;
}

bool bf_is_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

static bool has_magic(const uint8_t *sec)
{
	uint32_t m;

	memcpy(&m, sec, 4);
	return m == STAMP_MAGIC;
}

/* ---- the load ---- */

struct bf_io {
	bool busy;
	uint8_t op;
	uint32_t seq;
	uint32_t gen;
	uint64_t block;
	uint64_t t0;
	uint64_t sub_pending;	/* bit k: request k not answered yet */
	int16_t status;
	uint8_t *mem;		/* npages data pages, then one indirect page per request */
	grant_ref_t refs[BF_MAX_PAGES_PER_IO + MAX_SUB];
	bool shared;
};

struct bf_worker {
	struct bf_load *L;
	struct bf_queue *q;
	unsigned qi;
	pthread_t th;
	bool started;
	struct bf_io *ios;
	unsigned inflight;
	uint32_t seq;
	uint32_t gen_ctr;
	uint64_t rng;
	/* phase */
	bool verify_pass;
	uint64_t budget, issued, deadline;
	uint64_t cursor;	/* sequential position / verify position in the stripe */
	uint64_t stripe;	/* blocks in this worker's stripe */
	struct bf_stats st;
	int fail;
	char why[160];
};

struct bf_load {
	struct bf_dev *dev;
	struct bf_load_opts o;
	uint64_t nblocks;
	unsigned npages;	/* pages per I/O */
	unsigned nsub;		/* ring requests per I/O */
	unsigned segs_per_sub;
	bool indirect;
	uint32_t run;
	uint32_t *gen;
	uint8_t *busy;
	struct bf_worker w[BF_MAX_QUEUES];
	/*
	 * Each queue's I/Os, kept for the whole connection: with persistent
	 * grants the backend keeps the pages mapped, so they are granted once
	 * per connection and ended only by bf_load_release.
	 */
	struct bf_io *pool[BF_MAX_QUEUES];
	uint64_t seq_cursor[BF_MAX_QUEUES];	/* where sequential workers stopped */
	int stop_fd;		/* eventfd: readable once the main thread says stop */
	int done_fd;		/* eventfd: each worker adds 1 when it exits */
	atomic_bool stop;
	atomic_bool halt;	/* graceful: no new I/O, drain, verify */
	struct bf_stats total;
	double elapsed;
	char why[200];
};

static void wfail(struct bf_worker *w, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void wfail(struct bf_worker *w, int r, const char *fmt, ...)
{
	va_list ap;

	if (w->fail)
		return;
	w->fail = r ? r : -EIO;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/*
 * A domain may have at most BF_GRANT_LIMIT pages shared at once (Linux
 * gntalloc's `limit`, which xensim enforces too): the rings, the checks'
 * buffer and every queue's I/O pool must fit, so iodepth shrinks if needed.
 */
static void clamp_iodepth(struct bf_load *L)
{
	unsigned nq = L->dev->nr_queues, per_io = L->npages + (L->indirect ? L->nsub : 0);
	unsigned fixed = nq * (1u << L->dev->ring_order) + 8 + 1;
	unsigned fit = fixed < BF_GRANT_LIMIT ? (BF_GRANT_LIMIT - fixed) / nq / per_io : 0;

	if (L->o.iodepth <= fit)
		return;
	fprintf(stderr, "blkfront: iodepth %u x %u pages x %u queues exceeds the %u grants a "
		"domain may share; using iodepth %u\n", L->o.iodepth, per_io, nq, BF_GRANT_LIMIT,
		fit ? fit : 1);
	L->o.iodepth = fit ? fit : 1;
}

struct bf_load *bf_load_new(struct bf_dev *d, const struct bf_load_opts *o)
{
	struct bf_load *L = calloc(1, sizeof(*L));
	unsigned maxseg;

	if (!L)
		return NULL;
	L->stop_fd = L->done_fd = -1;
	L->dev = d;
	L->o = *o;
	L->nblocks = o->size / o->bs;
	L->npages = (o->bs + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE;
	L->indirect = d->max_indirect && L->npages > BLKIF_MAX_SEGMENTS_PER_REQUEST;
	maxseg = L->indirect ? d->max_indirect : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	L->segs_per_sub = maxseg;
	L->nsub = (L->npages + maxseg - 1) / maxseg;
	L->run = (uint32_t)mix(o->seed ^ bf_now_ns());
	clamp_iodepth(L);
	L->gen = calloc(L->nblocks ? L->nblocks : 1, sizeof(*L->gen));
	L->busy = calloc(L->nblocks ? L->nblocks : 1, 1);
	L->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	L->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!L->gen || !L->busy || L->stop_fd < 0 || L->done_fd < 0 || L->nsub > MAX_SUB ||
	    d->q[0].ring.nr_ents < L->nsub) {
		bf_load_free(L);
		return NULL;
	}
	return L;
}

void bf_load_free(struct bf_load *L)
{
	if (!L)
		return;
	if (L->stop_fd >= 0)
		close(L->stop_fd);
	if (L->done_fd >= 0)
		close(L->done_fd);
	/* Pools still here lost their device: their handle is closed, nothing to end. */
	for (unsigned i = 0; i < BF_MAX_QUEUES; i++)
		free(L->pool[i]);
	free(L->gen);
	free(L->busy);
	free(L);
}

const struct bf_stats *bf_load_stats(struct bf_load *L)
{
	return &L->total;
}

const char *bf_load_why(struct bf_load *L)
{
	return L->why;
}

double bf_load_elapsed(struct bf_load *L)
{
	return L->elapsed;
}

void bf_load_mark_zero(struct bf_load *L, uint64_t off, uint64_t len)
{
	for (uint64_t b = off / L->o.bs; b < L->nblocks && b * L->o.bs < off + len; b++)
		if (b * L->o.bs >= off && (b + 1) * L->o.bs <= off + len)
			L->gen[b] = GEN_ZERO;
}

static uint64_t rnd(struct bf_worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t block_of(struct bf_worker *w, uint64_t i)
{
	return i * w->L->dev->nr_queues + w->qi;
}

/* ---- grants for the data pages ---- */

static unsigned io_pages(struct bf_load *L)
{
	return L->npages + (L->indirect ? L->nsub : 0);
}

static int io_share(struct bf_worker *w, struct bf_io *io, bool writable)
{
	const struct xen_ops *ops = w->L->dev->ops;
	unsigned n = io_pages(w->L);
	void *mem;
	int r;

	r = ops->gntshr_share(w->q->gntshr, w->L->dev->backend_id, n, writable, io->refs, &mem);
	if (r < 0)
		return r;
	io->mem = mem;
	io->shared = true;
	w->q->cnt.gnt_share++;
	w->q->cnt.gnt_pages += n;
	return 0;
}

static void io_unshare(struct bf_worker *w, struct bf_io *io)
{
	if (!io->shared)
		return;
	w->L->dev->ops->gntshr_unshare(w->q->gntshr, io->mem, io_pages(w->L));
	w->q->cnt.gnt_unshare++;
	io->shared = false;
	io->mem = NULL;
}

/* ---- submission ---- */

static bool pick_block(struct bf_worker *w, uint8_t *ret_op, uint64_t *ret_block)
{
	struct bf_load *L = w->L;
	enum bf_rw rw = L->o.rw;
	uint64_t i;

	if (!w->stripe)
		return false;
	if (w->verify_pass) {
		for (; w->cursor < w->stripe; w->cursor++) {
			uint64_t b = block_of(w, w->cursor);
			uint32_t g = L->gen[b];

			if (g != GEN_NONE && g != GEN_UNKNOWN) {
				w->cursor++;
				*ret_op = BLKIF_OP_READ;
				*ret_block = b;
				return true;
			}
		}
		return false;
	}
	if (w->issued >= w->budget || bf_now_ns() >= w->deadline)
		return false;
	if (rw == BF_RW_READ || rw == BF_RW_WRITE) {
		i = w->cursor++ % w->stripe;
	} else {
		/* A random block not in flight (in-flight blocks are few). */
		i = rnd(w) % w->stripe;
		for (unsigned t = 0; L->busy[block_of(w, i)]; t++) {
			if (t > w->L->o.iodepth)
				return false;
			i = (i + 1) % w->stripe;
		}
	}
	*ret_block = block_of(w, i);
	if (L->busy[*ret_block])
		return false;
	if (rw == BF_RW_READ || rw == BF_RW_RANDREAD)
		*ret_op = BLKIF_OP_READ;
	else if (rw == BF_RW_WRITE || rw == BF_RW_RANDWRITE)
		*ret_op = BLKIF_OP_WRITE;
	else
		*ret_op = rnd(w) % 100 < L->o.rwmixread ? BLKIF_OP_READ : BLKIF_OP_WRITE;
	return true;
}

static void put_requests(struct bf_worker *w, struct bf_io *io, unsigned ioidx)
{
	struct bf_load *L = w->L;
	uint64_t sector0 = (L->o.offset + io->block * L->o.bs) / BF_SECTOR;
	unsigned left = L->o.bs / BF_SECTOR;
	struct bf_seg segs[BLKIF_MAX_SEGMENTS_PER_REQUEST];

	for (unsigned k = 0; k < L->nsub; k++) {
		unsigned p0 = k * L->segs_per_sub, n = L->npages - p0;
		uint64_t id = (uint64_t)io->seq << 32 | k << 16 | ioidx;
		uint64_t sector = sector0 + (uint64_t)p0 * BF_SECTORS_PER_PAGE;
		uint8_t *ind = io->mem + (size_t)(L->npages + k) * XEN_PAGE_SIZE;

		if (n > L->segs_per_sub)
			n = L->segs_per_sub;
		for (unsigned i = 0; i < n; i++) {
			unsigned ns = left < BF_SECTORS_PER_PAGE ? left : BF_SECTORS_PER_PAGE;
			struct bf_seg s = { .gref = io->refs[p0 + i], .first = 0,
					    .last = (uint8_t)(ns - 1) };

			left -= ns;
			if (L->indirect)
				bf_ind_put_seg(ind, i, &s);
			else
				segs[i] = s;
		}
		if (L->indirect)
			bf_ring_put_indirect(&w->q->ring, io->op, (uint16_t)n,
					     (uint16_t)L->dev->devid, id, sector,
					     &io->refs[L->npages + k], 1);
		else
			bf_ring_put_rw(&w->q->ring, io->op, (uint8_t)n, (uint16_t)L->dev->devid,
				       id, sector, segs, n);
		io->sub_pending |= 1ull << k;
		w->q->cnt.requests++;
	}
}

static int submit_one(struct bf_worker *w, struct bf_io *io, unsigned ioidx)
{
	struct bf_load *L = w->L;
	uint8_t op;
	uint64_t block;
	int r;

	if (bf_ring_free(&w->q->ring) < L->nsub || !pick_block(w, &op, &block))
		return 0;
	io->op = op;
	io->block = block;
	io->seq = ++w->seq;
	io->status = BLKIF_RSP_OKAY;
	io->sub_pending = 0;
	if (!L->dev->persistent) {
		r = io_share(w, io, op == BLKIF_OP_READ);
		if (r < 0) {
			wfail(w, r, "granting %u pages failed", io_pages(L));
			return r;
		}
	}
	if (op == BLKIF_OP_WRITE && L->o.verify) {
		/* Unique per worker; the stripe makes it unique per block. */
		io->gen = 1 + (uint32_t)(((uint64_t)++w->gen_ctr << 5 | w->qi) % 0x7ffffff0u);
		bf_stamp(io->mem, L->o.bs, L->o.offset + block * L->o.bs, io->gen, L->run);
	}
	L->busy[block] = 1;
	io->busy = true;
	io->t0 = bf_now_ns();
	put_requests(w, io, ioidx);
	w->inflight++;
	w->issued += L->o.bs;
	return 1;
}

static void publish(struct bf_worker *w)
{
	if (bf_ring_push(&w->q->ring)) {
		w->L->dev->ops->evtchn_notify(w->q->evtchn, (evtchn_port_t)w->q->port);
		w->q->cnt.notify++;
	}
}

/*
 * Starts every free I/O. req_prod is updated every --publish requests: by
 * default after each, as Linux blkfront does (blkif_queue_rq pushes and
 * checks for a notification per request), so the backend can start on the
 * first while the rest are written; the notification goes only where
 * req_event asks for it.
 */
static unsigned fill(struct bf_worker *w)
{
	unsigned any = 0, every = w->L->o.publish ? w->L->o.publish : 1;

	for (unsigned i = 0; i < w->L->o.iodepth && !w->fail; i++) {
		if (w->ios[i].busy)
			continue;
		if (submit_one(w, &w->ios[i], i) <= 0)
			break;
		if (++any % every == 0)
			publish(w);
	}
	if (any % every)
		publish(w);
	return any;
}

/* ---- completion ---- */

static void check_read(struct bf_worker *w, struct bf_io *io)
{
	struct bf_load *L = w->L;
	uint64_t off = L->o.offset + io->block * L->o.bs;
	uint32_t g = L->gen[io->block];
	int bad = 0;

	if (!L->o.verify || g == GEN_UNKNOWN)
		return;
	if (g == GEN_ZERO) {
		bad = !bf_is_zero(io->mem, L->o.bs);
	} else if (g != GEN_NONE || L->o.verify_existing) {
		bad = bf_stamp_check(io->mem, L->o.bs, off, g == GEN_NONE ? 0 : g) < 0;
	} else {
		/* Never written in this run: a stamp, if any, must belong here. */
		for (size_t s = 0; s < L->o.bs && !bad; s += BF_SECTOR)
			if (has_magic(io->mem + s))
				bad = bf_stamp_check(io->mem + s, BF_SECTOR, off + s, 0) < 0;
		if (!bad)
			return;
	}
	if (bad) {
		w->st.mismatches++;
		if (w->st.mismatches <= 5)
			fprintf(stderr, "blkfront: verify mismatch at byte %llu (gen %u)\n",
				(unsigned long long)off, g);
		return;
	}
	w->st.verified_bytes += L->o.bs;
}

static void complete_io(struct bf_worker *w, struct bf_io *io)
{
	struct bf_load *L = w->L;
	int dir = io->op == BLKIF_OP_WRITE;

	if (io->status != BLKIF_RSP_OKAY) {
		w->st.errors++;
		if (w->st.errors <= 5)
			fprintf(stderr, "blkfront: %s of block %llu answered %d\n",
				dir ? "write" : "read", (unsigned long long)io->block, io->status);
		if (dir)
			L->gen[io->block] = GEN_UNKNOWN;
	} else if (dir) {
		/* Without --verify the data is whatever the buffer held. */
		L->gen[io->block] = L->o.verify ? io->gen : GEN_UNKNOWN;
	} else {
		check_read(w, io);
	}
	if (!w->verify_pass) {
		bf_hist_add(&w->st.lat[dir], bf_now_ns() - io->t0);
		w->st.ios[dir]++;
		w->st.bytes[dir] += L->o.bs;
	}
	if (!L->dev->persistent)
		io_unshare(w, io);
	L->busy[io->block] = 0;
	io->busy = false;
	w->inflight--;
}

static void take_response(struct bf_worker *w, const struct bf_rsp *rsp)
{
	unsigned ioidx = rsp->id & 0xffff, k = (rsp->id >> 16) & 0xffff;
	uint32_t seq = (uint32_t)(rsp->id >> 32);
	struct bf_io *io;

	w->q->cnt.responses++;
	if (ioidx >= w->L->o.iodepth || k >= MAX_SUB) {
		wfail(w, -EPROTO, "response id %#llx names no request",
		      (unsigned long long)rsp->id);
		return;
	}
	io = &w->ios[ioidx];
	if (!io->busy || io->seq != seq || !(io->sub_pending & (1ull << k))) {
		wfail(w, -EPROTO, "response id %#llx is not in flight",
		      (unsigned long long)rsp->id);
		return;
	}
	/*
	 * The response names the request's operation; for an indirect
	 * request, the inner one (Linux xen-blkfront.c, blkif_interrupt, takes
	 * req.u.indirect.indirect_op and fails the disk on a mismatch).
	 */
	if (rsp->op != io->op) {
		wfail(w, -EPROTO, "response has wrong operation (%u instead of %u)",
		      (unsigned)rsp->op, (unsigned)io->op);
		return;
	}
	io->sub_pending &= ~(1ull << k);
	if (rsp->status != BLKIF_RSP_OKAY)
		io->status = rsp->status;
	if (!io->sub_pending)
		complete_io(w, io);
}

static void reap(struct bf_worker *w)
{
	struct bf_rsp rsp;
	int r;

	do {
		while ((r = bf_ring_get_rsp(&w->q->ring, &rsp)) > 0 && !w->fail)
			take_response(w, &rsp);
		if (r < 0) {
			wfail(w, r, "backend produced more responses than requests");
			return;
		}
		/* A polling frontend asks for a notification only before it
		 * sleeps (wait_event); otherwise every response would cost the
		 * backend one. */
	} while (!w->fail && (w->L->o.poll_us ? bf_ring_has_rsp(&w->q->ring) :
						bf_ring_final_check(&w->q->ring)));
}

/* ---- waiting ---- */

static uint64_t oldest_t0(struct bf_worker *w)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < w->L->o.iodepth; i++)
		if (w->ios[i].busy && w->ios[i].t0 < t)
			t = w->ios[i].t0;
	return t;
}

/*
 * --poll-us: watch rsp_prod for a while before sleeping, as a guest
 * polling its completions would (fio's userspace_reap with
 * iodepth_batch_complete_min=0 is the native counterpart). True if a
 * response showed up.
 */
static bool spin_for_response(struct bf_worker *w)
{
	uint64_t end;

	if (!w->L->o.poll_us)
		return false;
	end = bf_now_ns() + (uint64_t)w->L->o.poll_us * 1000u;
	do {
		for (int i = 0; i < 32; i++) {
			if (bf_ring_has_rsp(&w->q->ring) || atomic_load(&w->L->stop))
				return true;
			__builtin_ia32_pause();
		}
		/* The store's kernel threads may need this CPU. */
		sched_yield();
	} while (bf_now_ns() < end);
	/* Ask for a notification, then look once more before sleeping. */
	return bf_ring_final_check(&w->q->ring);
}

static void wait_event(struct bf_worker *w)
{
	const struct xen_ops *ops = w->L->dev->ops;
	struct pollfd p[2] = {
		{ .fd = ops->evtchn_fd(w->q->evtchn), .events = POLLIN },
		{ .fd = w->L->stop_fd, .events = POLLIN },
	};
	uint64_t tmo = (uint64_t)w->L->dev->o.timeout_s * 1000000000u, t0;
	int port;

	if (poll(p, 2, 1000) < 0 && errno != EINTR) {
		wfail(w, -errno, "poll failed");
		return;
	}
	/*
	 * This handle has one port bound, and a port that fired stays masked
	 * until unmasked: one pending read is all there can be.
	 */
	if (p[0].revents && (port = ops->evtchn_pending(w->q->evtchn)) >= 0) {
		ops->evtchn_unmask(w->q->evtchn, (evtchn_port_t)port);
		w->q->cnt.events++;
	}
	t0 = oldest_t0(w);
	if (w->inflight && t0 != UINT64_MAX && bf_now_ns() - t0 > tmo)
		wfail(w, -ETIMEDOUT, "an I/O waited more than %u s for its response",
		      w->L->dev->o.timeout_s);
}

static bool more_work(struct bf_worker *w)
{
	if (w->fail || atomic_load(&w->L->stop) || (!w->verify_pass && atomic_load(&w->L->halt)))
		return false;
	if (w->verify_pass)
		return w->cursor < w->stripe;
	return w->issued < w->budget && bf_now_ns() < w->deadline;
}

static int pool_setup(struct bf_worker *w)
{
	unsigned iodepth = w->L->o.iodepth;
	int r;

	w->ios = w->L->pool[w->qi];
	if (w->ios)
		return 0;
	w->ios = calloc(iodepth, sizeof(*w->ios));
	if (!w->ios)
		return -ENOMEM;
	w->L->pool[w->qi] = w->ios;
	for (unsigned i = 0; i < iodepth && w->L->dev->persistent; i++) {
		/* feature-persistent: granted writable once and reused (blkif.h note 8). */
		r = io_share(w, &w->ios[i], true);
		if (r < 0)
			return r;
	}
	return 0;
}

static void pool_teardown(struct bf_load *L, unsigned qi)
{
	struct bf_worker w = { .L = L, .q = &L->dev->q[qi], .qi = qi };
	struct bf_io *ios = L->pool[qi];

	for (unsigned i = 0; ios && i < L->o.iodepth; i++)
		io_unshare(&w, &ios[i]);
	free(ios);
	L->pool[qi] = NULL;
}

void bf_load_release(struct bf_load *L)
{
	for (unsigned i = 0; L && i < BF_MAX_QUEUES; i++)
		if (L->pool[i])
			pool_teardown(L, i);
}

static void *worker_main(void *arg)
{
	struct bf_worker *w = arg;
	int r = pool_setup(w);

	uint64_t one = 1;

	if (r < 0)
		wfail(w, r, "granting the I/O pool failed");
	while (!w->fail) {
		unsigned before = w->inflight;
		unsigned n = more_work(w) ? fill(w) : 0;

		reap(w);
		if (atomic_load(&w->L->stop))
			wfail(w, -ECANCELED, "stopped: the backend left Connected");
		/* Done, or nothing in flight and nothing could be started. */
		if (w->fail || (!w->inflight && (!more_work(w) || (!before && !n))))
			break;
		if (w->inflight && (!n || w->inflight >= w->L->o.iodepth || !more_work(w)) &&
		    !spin_for_response(w))
			wait_event(w);
	}
	/*
	 * On failure I/Os may still be in flight; their grants end with the
	 * pool when the run closes the device (bf_load_release).
	 */
	if (write(w->L->done_fd, &one, sizeof(one)) < 0)
		wfail(w, -errno, "cannot signal the main thread");
	return NULL;
}

static void merge_stats(struct bf_stats *dst, const struct bf_stats *src)
{
	for (int i = 0; i < 2; i++) {
		bf_hist_merge(&dst->lat[i], &src->lat[i]);
		dst->ios[i] += src->ios[i];
		dst->bytes[i] += src->bytes[i];
	}
	dst->errors += src->errors;
	dst->verified_bytes += src->verified_bytes;
	dst->mismatches += src->mismatches;
}

static void worker_prepare(struct bf_load *L, struct bf_worker *w, unsigned qi, unsigned phase,
			   unsigned nphases, bool verify_pass)
{
	unsigned nq = L->dev->nr_queues;
	uint64_t limit = L->o.io_limit;
	uint64_t now = bf_now_ns();

	memset(w, 0, sizeof(*w));
	w->L = L;
	w->q = &L->dev->q[qi];
	w->qi = qi;
	w->rng = mix(L->o.seed + qi * 7919 + phase * 104729 + 1) | 1;
	w->stripe = L->nblocks > qi ? (L->nblocks - qi + nq - 1) / nq : 0;
	w->verify_pass = verify_pass;
	if (!limit && L->o.runtime <= 0)
		limit = L->nblocks * L->o.bs;
	w->budget = limit ? limit / nq / nphases : UINT64_MAX;
	/* The first worker takes the remainder so the totals add up. */
	if (limit && qi == 0)
		w->budget += limit - (limit / nq / nphases) * nq * nphases;
	if (w->budget != UINT64_MAX)
		w->budget = (w->budget + L->o.bs - 1) / L->o.bs * L->o.bs;
	w->deadline = L->o.runtime > 0 ? now + (uint64_t)(L->o.runtime * 1e9 / nphases) :
					 UINT64_MAX;
	/* Sequential workers continue where the previous phase stopped. */
	w->cursor = verify_pass ? 0 : L->seq_cursor[qi];
	w->gen_ctr = phase << 22;
}

volatile sig_atomic_t bf_halt_requested;

bool bf_load_halted(struct bf_load *L)
{
	return atomic_load(&L->halt);
}

/*
 * While the workers run, the main thread watches the backend: a backend that
 * leaves Connected (closes the device, or writes its error node) stops them.
 */
static void monitor(struct bf_load *L, unsigned nq)
{
	struct pollfd p[2] = {
		{ .fd = bf_dev_xs_fd(L->dev), .events = POLLIN },
		{ .fd = L->done_fd, .events = POLLIN },
	};
	uint64_t done = 0, v, one = 1;
	unsigned started = 0;
	int st;

	for (unsigned i = 0; i < nq; i++)
		started += L->w[i].started;
	while (done < started) {
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (bf_halt_requested)
			atomic_store(&L->halt, true);
		if (p[1].revents && read(L->done_fd, &v, sizeof(v)) == sizeof(v))
			done += v;
		if (!p[0].revents)
			continue;
		bf_dev_drain_watch(L->dev);
		st = bf_read_be_state(L->dev);
		if (st != XenbusStateConnected && !atomic_load(&L->stop)) {
			bf_read_be_error(L->dev);
			fprintf(stderr, "blkfront: backend state %d during the run (error \"%s\")\n",
				st, L->dev->backend_error);
			atomic_store(&L->stop, true);
			if (write(L->stop_fd, &one, sizeof(one)) < 0)
				break;
		}
	}
}

int bf_load_phase(struct bf_load *L, unsigned phase, unsigned nphases, bool verify_pass)
{
	unsigned nq = L->dev->nr_queues;
	uint64_t t0 = bf_now_ns();
	int ret = 0;

	atomic_store(&L->stop, false);
	for (unsigned i = 0; i < nq; i++) {
		struct bf_worker *w = &L->w[i];

		worker_prepare(L, w, i, phase, nphases, verify_pass);
		if (pthread_create(&w->th, NULL, worker_main, w)) {
			wfail(w, -EAGAIN, "cannot start a worker");
			break;
		}
		w->started = true;
	}
	monitor(L, nq);
	for (unsigned i = 0; i < nq; i++) {
		struct bf_worker *w = &L->w[i];

		if (w->started)
			pthread_join(w->th, NULL);
		merge_stats(&L->total, &w->st);
		if (!verify_pass)
			L->seq_cursor[i] = w->cursor;
		if (w->fail && !ret) {
			ret = w->fail;
			snprintf(L->why, sizeof(L->why), "queue %u: %s", i, w->why);
		}
	}
	if (!verify_pass)
		L->elapsed += (double)(bf_now_ns() - t0) / 1e9;
	return ret;
}
