// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront synchronous I/O and the flush, discard and resize checks (see
 * checks.h). Main thread only, with no worker running on queue 0. Every wait
 * is bounded by the --timeout option; a response that names another request
 * is counted and ignored, never trusted.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "checks.h"
#include "load.h"

static uint64_t sync_ids;

uint64_t bf_sync_id(void)
{
	/* Bit 63 set: the load's ids never have it (seq << 32 stays below). */
	return 1ull << 63 | ++sync_ids;
}

int bf_q_kick(struct bf_queue *q)
{
	const struct xen_ops *ops = q->dev->ops;

	if (!bf_ring_push(&q->ring))
		return 0;
	q->cnt.notify++;
	return ops->evtchn_notify(q->evtchn, (evtchn_port_t)q->port);
}

int bf_q_poll(struct bf_queue *q, int timeout_ms)
{
	struct bf_dev *d = q->dev;
	const struct xen_ops *ops = d->ops;
	struct pollfd p[2] = {
		{ .fd = ops->evtchn_fd(q->evtchn), .events = POLLIN },
		{ .fd = bf_dev_xs_fd(d), .events = POLLIN },
	};
	int port;

	if (bf_read_be_state(d) != XenbusStateConnected)
		return -EPIPE;
	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	if (p[0].revents) {
		while ((port = ops->evtchn_pending(q->evtchn)) >= 0) {
			ops->evtchn_unmask(q->evtchn, (evtchn_port_t)port);
			q->cnt.events++;
		}
	}
	if (p[1].revents)
		bf_dev_drain_watch(d);
	return 0;
}

int bf_q_wait_rsp(struct bf_queue *q, uint64_t id, struct bf_rsp *ret, int timeout_ms)
{
	uint64_t deadline = bf_now_ns() + (uint64_t)timeout_ms * 1000000u, now;
	int r;

	for (;;) {
		while ((r = bf_ring_get_rsp(&q->ring, ret)) > 0) {
			q->cnt.responses++;
			if (ret->id == id)
				return 1;
			fprintf(stderr, "blkfront: response for id %#llx while waiting for %#llx, ignoring\n",
				(unsigned long long)ret->id, (unsigned long long)id);
		}
		if (r < 0)
			return r;
		if (bf_ring_final_check(&q->ring))
			continue;
		now = bf_now_ns();
		if (now >= deadline)
			return 0;
		r = bf_q_poll(q, (int)((deadline - now) / 1000000u) + 1);
		if (r < 0)
			return r;
	}
}

int bf_sync_wait(struct bf_queue *q, uint64_t id, int16_t *status)
{
	struct bf_rsp rsp;
	int r = bf_q_kick(q);

	if (r < 0)
		return r;
	r = bf_q_wait_rsp(q, id, &rsp, (int)q->dev->o.timeout_s * 1000);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return r;
	*status = rsp.status;
	return 0;
}

int bf_sbuf_open(struct bf_queue *q, struct bf_sbuf *b)
{
	void *mem;
	int r;

	b->q = q;
	b->refs = q->sbuf_refs;
	if (!q->sbuf) {
		r = q->dev->ops->gntshr_share(q->gntshr, q->dev->backend_id, BF_SBUF_PAGES, 1,
					      q->sbuf_refs, &mem);
		if (r < 0)
			return r;
		q->sbuf = mem;
		q->cnt.gnt_share++;
		q->cnt.gnt_pages += BF_SBUF_PAGES;
	}
	b->mem = q->sbuf;
	return 0;
}

void bf_sbuf_close(struct bf_sbuf *b)
{
	b->mem = NULL;
}

int bf_sync_rw(struct bf_sbuf *b, uint8_t op, uint64_t sector, unsigned nsect,
	       int16_t *status)
{
	struct bf_seg segs[BF_SBUF_PAGES];
	unsigned n = 0, left = nsect;
	uint64_t id = bf_sync_id();

	if (!nsect || nsect > BF_SBUF_PAGES * BF_SECTORS_PER_PAGE)
		return -EINVAL;
	if (!bf_ring_free(&b->q->ring))
		return -EBUSY;
	for (; left; n++) {
		unsigned ns = left < BF_SECTORS_PER_PAGE ? left : BF_SECTORS_PER_PAGE;

		segs[n] = (struct bf_seg){ .gref = b->refs[n], .first = 0, .last = (uint8_t)(ns - 1) };
		left -= ns;
	}
	bf_ring_put_rw(&b->q->ring, op, (uint8_t)n, (uint16_t)b->q->dev->devid, id, sector, segs, n);
	b->q->cnt.requests++;
	return bf_sync_wait(b->q, id, status);
}

int bf_check_flush(struct bf_dev *d)
{
	struct bf_queue *q = &d->q[0];
	uint64_t id = bf_sync_id();
	int16_t st;
	int r;

	if (!d->flush) {
		fprintf(stderr, "blkfront: flush: the backend offers no feature-flush-cache\n");
		return -EOPNOTSUPP;
	}
	/* Sector (uint64_t)-1, as Linux blkfront sends an empty flush: the block
	 * layer's sector of a request without data. A backend must not check it. */
	bf_ring_put_rw(&q->ring, BLKIF_OP_FLUSH_DISKCACHE, 0, (uint16_t)d->devid, id, UINT64_MAX,
		       NULL, 0);
	q->cnt.requests++;
	r = bf_sync_wait(q, id, &st);
	if (r < 0)
		return r;
	fprintf(stderr, "blkfront: flush: status %d\n", st);
	return st == BLKIF_RSP_OKAY ? 0 : -EIO;
}

static int rw_range(struct bf_sbuf *b, uint8_t op, uint64_t off, uint64_t len, bool *ret_zero,
		    bool *ret_stamped)
{
	const uint64_t chunk = BF_SBUF_PAGES * XEN_PAGE_SIZE;
	int16_t st;
	int r;

	*ret_zero = *ret_stamped = true;
	for (uint64_t o = off; o < off + len; o += chunk) {
		unsigned n = (unsigned)(off + len - o < chunk ? off + len - o : chunk);

		if (op == BLKIF_OP_WRITE)
			bf_stamp(b->mem, n, o, 1, 0);
		else
			memset(b->mem, 0xa5, n);
		r = bf_sync_rw(b, op, o / BF_SECTOR, n / BF_SECTOR, &st);
		if (r < 0)
			return r;
		if (st != BLKIF_RSP_OKAY)
			return -EIO;
		if (op == BLKIF_OP_READ) {
			*ret_zero &= bf_is_zero(b->mem, n);
			*ret_stamped &= bf_stamp_check(b->mem, n, o, 0) == 0;
		}
	}
	return 0;
}

int bf_check_discard(struct bf_dev *d, uint64_t off, uint64_t len, uint64_t *ret_off,
		     uint64_t *ret_len)
{
	struct bf_sbuf b = { 0 };
	uint64_t gran = d->discard_granularity, id, disk = d->sectors * BF_SECTOR;
	bool zero, stamped;
	int16_t st;
	int r;

	if (!d->discard) {
		fprintf(stderr, "blkfront: discard: the backend offers no feature-discard\n");
		return -EOPNOTSUPP;
	}
	if (gran < XEN_PAGE_SIZE)
		gran = XEN_PAGE_SIZE;
	/* blkif.h notes 4, 5: extents start at discard-alignment, granularity apart. */
	off = (off + gran - 1 - d->discard_alignment % gran) / gran * gran +
	      d->discard_alignment % gran;
	len = (len + gran - 1) / gran * gran;
	if (off + len > disk) {
		fprintf(stderr, "blkfront: discard: the disk is too small for one extent\n");
		return -ENOSPC;
	}
	*ret_off = off;
	*ret_len = len;
	r = bf_sbuf_open(&d->q[0], &b);
	if (r < 0)
		return r;
	r = rw_range(&b, BLKIF_OP_WRITE, off, len, &zero, &stamped);
	if (!r)
		r = rw_range(&b, BLKIF_OP_READ, off, len, &zero, &stamped);
	if (!r && !stamped) {
		fprintf(stderr, "blkfront: discard: written data did not read back\n");
		r = -EILSEQ;
	}
	if (r)
		goto out;
	id = bf_sync_id();
	bf_ring_put_discard(&d->q[0].ring, 0, (uint16_t)d->devid, id, off / BF_SECTOR,
			    len / BF_SECTOR);
	d->q[0].cnt.requests++;
	r = bf_sync_wait(&d->q[0], id, &st);
	if (r)
		goto out;
	if (st != BLKIF_RSP_OKAY) {
		fprintf(stderr, "blkfront: discard: status %d\n", st);
		r = -EIO;
		goto out;
	}
	r = rw_range(&b, BLKIF_OP_READ, off, len, &zero, &stamped);
	if (!r && !zero)
		r = -EILSEQ;
	fprintf(stderr, "blkfront: discard: %llu bytes at %llu %s\n", (unsigned long long)len,
		(unsigned long long)off, r ? "did NOT read back zeros" : "read back zeros");
out:
	bf_sbuf_close(&b);
	return r;
}

int bf_check_resize(struct bf_dev *d, int timeout_ms, uint64_t *ret_before)
{
	struct bf_sbuf b = { 0 };
	uint64_t before = d->sectors, off;
	bool zero, stamped;
	int r;

	*ret_before = before;
	printf("blkfront: waiting for resize sectors=%llu\n", (unsigned long long)before);
	fflush(stdout);
	r = bf_wait_resize(d, before, timeout_ms);
	if (r < 0) {
		fprintf(stderr, "blkfront: resize: sectors stayed %llu\n",
			(unsigned long long)before);
		return r;
	}
	fprintf(stderr, "blkfront: resize: sectors %llu -> %llu\n", (unsigned long long)before,
		(unsigned long long)d->sectors);
	if (d->sectors * BF_SECTOR < XEN_PAGE_SIZE)
		return 0;
	/* The last 4 KiB of the new size: beyond the old end when the disk grew. */
	off = (d->sectors * BF_SECTOR - XEN_PAGE_SIZE) / XEN_PAGE_SIZE * XEN_PAGE_SIZE;
	r = bf_sbuf_open(&d->q[0], &b);
	if (r < 0)
		return r;
	r = rw_range(&b, BLKIF_OP_WRITE, off, XEN_PAGE_SIZE, &zero, &stamped);
	if (!r)
		r = rw_range(&b, BLKIF_OP_READ, off, XEN_PAGE_SIZE, &zero, &stamped);
	if (!r && !stamped)
		r = -EILSEQ;
	bf_sbuf_close(&b);
	return r;
}
