// SPDX-License-Identifier: GPL-2.0-only
/*
 * The worker of one blkif queue (see queue.h).
 *
 * Per wakeup the worker: reaps completed I/O (copying read data to the
 * guest, answering), retries submissions the store pushed back, takes up to
 * cfg.submit_batch requests off the ring (default 1; each copied once into
 * its record of the state file and parsed from there, validated by proto.c,
 * its data on pinned persistent mappings or in bounce pages), hands them to
 * the store in one submit call, pushes all responses with one
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY and at most one notification, unmasks
 * the port (late, after the work: the XSA-332 lateeoi idea). With nothing
 * left to do it busy-polls the ring's producer index and the store's
 * completions for up to cfg.poll_us, or cfg.poll_io_us while its I/O is in
 * flight (no system call, no notification asked of the frontend meanwhile:
 * req_event is not re-armed), then sleeps only after
 * RING_FINAL_CHECK_FOR_REQUESTS and the ioq's arm() find nothing.
 *
 *   ring slot --copy--> qreq --check--> (indirect pages --copy--> segs --check)
 *     --> bounce pages <--grant.c--> guest pages;  bounce pages <--ioq--> store
 *
 * Bounded everything: the pool holds one entry per ring slot (a frontend
 * cannot have more in flight: RING_REQUEST_CONS_OVERFLOW); bounce pages are
 * a fixed pool, and a request that needs more than are free waits (held)
 * until completions return some. A WRITE_BARRIER waits until everything
 * before it has completed, and nothing after it starts before it completes
 * (blkif.h BLKIF_OP_WRITE_BARRIER).
 *
 * Restart state (qstate.h): each slot is copied once into the pool entry's
 * record in the state file, and parsed from there; the record is marked
 * answered before its response is written and freed only after
 * RING_PUSH_RESPONSES published it. So a pool entry is reused only once its
 * answer is visible (answered entries wait on q->answered until the push),
 * and a daemon restarted after a SIGKILL finds in the file every request it
 * owes an answer. A reattaching start runs those again first (q->redo, in
 * ring order) before taking new ones.
 *
 * Never: touch xenstore, allocate after start, exit, or trust a slot after
 * copying it. A frontend producing more than a ring of requests breaks only
 * this queue (reported through fatal_fd).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "grant.h"
#include "log.h"
#include "qstate.h"
#include "queue.h"
#include "ring.h"
#include "workers.h"

_Static_assert(BLK_MAX_RING_PAGES == BLK_QSTATE_MAX_PAGES, "state file ring refs");
_Static_assert(sizeof(union blkif_sring_entry) <= BLK_QSTATE_RAW, "state file slot copy");

/* Bounce pages per queue: 11 per ring slot (a full direct request each),
 * at most this many, never fewer than the largest request needs. */
#define BOUNCE_PAGES_CAP 4096

const char *const blk_cnt_names[BLK_CNT__MAX] = {
	[BLK_CNT_OP_READ] = "read",
	[BLK_CNT_OP_WRITE] = "write",
	[BLK_CNT_OP_BARRIER] = "barrier",
	[BLK_CNT_OP_FLUSH] = "flush",
	[BLK_CNT_OP_DISCARD] = "discard",
	[BLK_CNT_OP_INDIRECT] = "indirect",
	[BLK_CNT_OP_OTHER] = "other-op",
	[BLK_CNT_SECT_READ] = "sectors-read",
	[BLK_CNT_SECT_WRITTEN] = "sectors-written",
	[BLK_CNT_SECT_DISCARDED] = "sectors-discarded",
	[BLK_CNT_ERR_REQUEST] = "bad-requests",
	[BLK_CNT_ERR_IO] = "io-errors",
	[BLK_CNT_EOPNOTSUPP] = "eopnotsupp",
	[BLK_CNT_INFLIGHT] = "in-flight",
	[BLK_CNT_PGNT_CACHED] = "persistent-grants",
	[BLK_CNT_PGNT_MAPS] = "grant-maps",
	[BLK_CNT_PGNT_UNMAPS] = "grant-unmaps",
	[BLK_CNT_COPY_SEGS] = "grant-copy-segments",
	[BLK_CNT_ZERO_COPY_SEGS] = "zero-copy-segments",
	[BLK_CNT_NOTIFY] = "notifications",
	[BLK_CNT_WAKEUP] = "wakeups",
	[BLK_CNT_REDONE] = "redone",
	[BLK_CNT_SUBMIT_CALLS] = "submit-calls",
	[BLK_CNT_SLEEPS] = "sleeps",
};

struct qreq {
	struct blk_req r;
	struct blkif_request_segment *seg;	/* r.seg, or ind_seg for indirect */
	struct blkif_request_segment *ind_seg;	/* max_segs entries */
	unsigned nseg;
	uint64_t bytes;
	uint32_t *pages;	/* bounce page indices, max_segs */
	unsigned npages;
	int32_t *pins;		/* pinned persistent grants (zero copy), max_segs */
	unsigned npins;
	struct iovec *iov;	/* max_segs */
	struct blk_io io;
	bool flush_after;	/* a write with a flush (FLUSH_DISKCACHE/BARRIER + segments) */
	struct qreq *next;	/* free list or submit list */
};

struct blk_queue {
	struct blk_queue_cfg cfg;
	char name[96];		/* cfg.name points here */
	const struct xen_ops *ops;
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	evtchn_port_t port;
	bool bound;
	void *ring_addr;
	blkif_back_ring_t ring;
	size_t slot;
	struct blk_grants *grants;
	struct blk_ioq *ioq;
	/* The worker that serves this queue (cfg.pool's, or a private one). */
	struct wk_pollable pl;
	struct wk_worker *w;
	struct wk_pool *own_pool;
	bool attached;
	bool kick;		/* a full pass is due (an fd fired, arm found work) */
	bool fired;		/* the port fired: unmask it after the pass */
	_Atomic bool stopping;	/* blk_queue_stop: drain, take nothing new */
	pthread_mutex_t mu;	/* drained, for the stopping thread */
	pthread_cond_t cv;
	bool drained;

	unsigned max_segs;
	struct qreq *reqs;
	unsigned nreqs;
	struct qreq *free_reqs;
	struct qreq *answered;	/* answered, pool entry reused after the push */
	struct qreq *submit_head, *submit_tail;
	unsigned submit_batch;	/* cfg.submit_batch, 1..BLK_SUBMIT_BATCH_CAP */
	bool submit_blocked;	/* the store took fewer than offered (EAGAIN) */
	struct qreq *held;
	bool barrier_busy;
	unsigned inflight;	/* taken off the ring, not yet answered */
	unsigned io_inflight;	/* in the ioq */

	uint8_t *bounce;
	unsigned nbounce;
	uint32_t *free_pages;
	unsigned nfree_pages;
	uint8_t *ind_buf;	/* BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST pages */
	struct blk_xfer *xfer;	/* max_segs */
	void **pin_addrs;	/* max_segs */

	struct blk_qstate st;	/* the restart state: one record per pool entry */
	uint32_t *redo;		/* reattach: pool entries to run again, ring order */
	unsigned nredo, redo_pos;
	unsigned found_answered;	/* reattach: taken requests found answered */

	struct blk_limits lim;
	struct log_ratelimit rl;
	const char *_Atomic broken;
	_Atomic uint64_t cnt[BLK_CNT__MAX];
};

static void cnt_add(struct blk_queue *q, int i, uint64_t n)
{
	atomic_fetch_add_explicit(&q->cnt[i], n, memory_order_relaxed);
}

static void cnt_set(struct blk_queue *q, int i, uint64_t v)
{
	atomic_store_explicit(&q->cnt[i], v, memory_order_relaxed);
}

static void *slot_at(struct blk_queue *q, RING_IDX idx)
{
	return (uint8_t *)q->ring.sring->ring + (size_t)(idx & (q->ring.nr_ents - 1)) * q->slot;
}

static unsigned rq_index(const struct blk_queue *q, const struct qreq *rq)
{
	return (unsigned)(rq - q->reqs);
}

static void *bounce_page(struct blk_queue *q, uint32_t i)
{
	return q->bounce + (size_t)i * BLK_PAGE_SIZE;
}

static void mark_broken(struct blk_queue *q, const char *why)
{
	uint64_t one = 1;

	if (atomic_load(&q->broken))
		return;
	atomic_store(&q->broken, why);
	log_err("%s: %s: closing the device", q->cfg.name, why);
	if (write(q->cfg.fatal_fd, &one, sizeof(one)) < 0) {
		/* eventfd overflow only: the loop thread is told already */
	}
}

/* --- answering --- */

static void release_pages(struct blk_queue *q, struct qreq *rq)
{
	while (rq->npages)
		q->free_pages[q->nfree_pages++] = rq->pages[--rq->npages];
	blk_grants_unpin(q->grants, rq->pins, rq->npins);
	rq->npins = 0;
}

static void respond(struct blk_queue *q, struct qreq *rq, int16_t status)
{
	/*
	 * The operation echoed is the request's, and for BLKIF_OP_INDIRECT its
	 * indirect_op: Linux xen-blkback answers that (dispatch_rw_block_io
	 * keeps req_operation), and Linux blkfront's blkif_interrupt refuses a
	 * response whose operation is not the shadow request's inner one.
	 * The state file learns the response index first (qstate.h).
	 */
	blk_qstate_answer(&q->st, rq_index(q, rq), q->ring.rsp_prod_pvt);
	blk_rsp_write(q->cfg.abi, slot_at(q, q->ring.rsp_prod_pvt), rq->r.id, rq->r.rw_op,
		      status);
	q->ring.rsp_prod_pvt++;
	release_pages(q, rq);
	if (rq->r.operation == BLKIF_OP_WRITE_BARRIER)
		q->barrier_busy = false;
	/* Its record must say "answered" until the answer is published. */
	rq->next = q->answered;
	q->answered = rq;
	q->inflight--;
}

static void reject(struct blk_queue *q, struct qreq *rq, enum blk_verdict v, const char *why)
{
	if (v == BLK_UNSUPPORTED) {
		cnt_add(q, BLK_CNT_EOPNOTSUPP, 1);
		log_rl(&q->rl, LOG_INFO, 0, "%s: request op %u: %s, answered EOPNOTSUPP",
		       q->cfg.name, rq->r.operation, why);
		respond(q, rq, BLKIF_RSP_EOPNOTSUPP);
		return;
	}
	cnt_add(q, BLK_CNT_ERR_REQUEST, 1);
	log_rl(&q->rl, LOG_WARNING, 0,
	       "%s: bad request op %u sector %" PRIu64 " segments %u: %s, answered error",
	       q->cfg.name, rq->r.operation, rq->r.sector, rq->r.nr_segments, why);
	respond(q, rq, BLKIF_RSP_ERROR);
}

static void fail(struct blk_queue *q, struct qreq *rq, int r, const char *what)
{
	cnt_add(q, BLK_CNT_ERR_IO, 1);
	log_rl(&q->rl, LOG_WARNING, r, "%s: op %u sector %" PRIu64 ": %s failed, answered error",
	       q->cfg.name, rq->r.operation, rq->r.sector, what);
	respond(q, rq, BLKIF_RSP_ERROR);
}

/* --- submitting --- */

static void submit(struct blk_queue *q, struct qreq *rq)
{
	rq->next = NULL;
	if (q->submit_tail)
		q->submit_tail->next = rq;
	else
		q->submit_head = rq;
	q->submit_tail = rq;
}

/* Hands queued I/O to the store; stops at back-pressure. */
static void flush_submits(struct blk_queue *q)
{
	struct blk_io *ios[BLK_SUBMIT_BATCH_CAP];

	q->submit_blocked = false;
	while (q->submit_head) {
		struct qreq *rq = q->submit_head;
		unsigned n = 0;
		int r, i;

		for (; rq && n < q->submit_batch; rq = rq->next)
			ios[n++] = &rq->io;
		r = q->cfg.store ? q->ioq->ops->submit(q->ioq, ios, n) : -ENODEV;
		cnt_add(q, BLK_CNT_SUBMIT_CALLS, 1);
		if (r < 0) {
			/* Nothing taken: fail the first and go on with the rest. */
			rq = q->submit_head;
			q->submit_head = rq->next;
			if (!q->submit_head)
				q->submit_tail = NULL;
			fail(q, rq, r, "submit");
			continue;
		}
		for (i = 0; i < r; i++) {
			q->submit_head = q->submit_head->next;
			q->io_inflight++;
		}
		if (!q->submit_head)
			q->submit_tail = NULL;
		if ((unsigned)r < n) {
			/* Back-pressure: retried after the next reap; no new
			 * request is taken off the ring meanwhile. */
			q->submit_blocked = true;
			break;
		}
	}
}

static void set_io(struct qreq *rq, enum blk_io_op op, uint64_t offset, uint64_t len)
{
	rq->io.op = op;
	rq->io.offset = offset;
	rq->io.len = len;
	rq->io.iov = rq->iov;
	rq->io.iovcnt = (int)rq->nseg;	/* bounce pages or pinned grants, one a segment */
	rq->io.res = 0;
	rq->io.opaque = rq;
}

/* The grant transfers of rq's segments, each to its own bounce page. */
static void build_xfer(struct blk_queue *q, const struct qreq *rq)
{
	unsigned i;

	for (i = 0; i < rq->nseg; i++) {
		const struct blkif_request_segment *s = &rq->seg[i];

		q->xfer[i].gref = s->gref;
		q->xfer[i].offset = (uint16_t)(s->first_sect << q->lim.unit_shift);
		q->xfer[i].len = (uint16_t)((s->last_sect - s->first_sect + 1) << q->lim.unit_shift);
		q->xfer[i].local = bounce_page(q, rq->pages[i]);
	}
}

/*
 * Zero copy: the I/O runs on the persistent mappings themselves, pinned
 * until the answer. False (nothing pinned) without persistent grants or
 * when the cache cannot keep them all; the bounce pages serve then.
 */
static bool pin_segments(struct blk_queue *q, struct qreq *rq)
{
	unsigned i;

	if (!q->cfg.persistent_max)
		return false;
	for (i = 0; i < rq->nseg; i++) {
		const struct blkif_request_segment *s = &rq->seg[i];

		q->xfer[i].gref = s->gref;
		q->xfer[i].offset = (uint16_t)(s->first_sect << q->lim.unit_shift);
		q->xfer[i].len = (uint16_t)((s->last_sect - s->first_sect + 1) << q->lim.unit_shift);
	}
	if (blk_grants_pin(q->grants, q->xfer, rq->nseg, q->pin_addrs, rq->pins) < 0)
		return false;
	rq->npins = rq->nseg;
	for (i = 0; i < rq->nseg; i++) {
		rq->iov[i].iov_base = q->pin_addrs[i];
		rq->iov[i].iov_len = q->xfer[i].len;
	}
	return true;
}

/* Bounce pages: the data is copied in (writes) before the I/O. */
static int bounce_segments(struct blk_queue *q, struct qreq *rq, bool write)
{
	unsigned i;

	for (i = 0; i < rq->nseg; i++)
		rq->pages[rq->npages++] = q->free_pages[--q->nfree_pages];
	build_xfer(q, rq);
	for (i = 0; i < rq->nseg; i++) {
		rq->iov[i].iov_base = q->xfer[i].local;
		rq->iov[i].iov_len = q->xfer[i].len;
	}
	return write ? blk_grants_xfer(q->grants, q->xfer, rq->nseg, false) : 0;
}

/* A validated request whose turn has come: data in, I/O out. */
static void start(struct blk_queue *q, struct qreq *rq)
{
	uint8_t op = rq->r.rw_op;
	bool write = op != BLKIF_OP_READ;

	if (op == BLKIF_OP_WRITE_BARRIER)
		q->barrier_busy = true;
	if (rq->nseg == 0) {	/* a pure flush */
		set_io(rq, BLK_IO_FLUSH, 0, 0);
		submit(q, rq);
		return;
	}
	if (!pin_segments(q, rq)) {
		int r = bounce_segments(q, rq, write);

		if (r < 0) {
			fail(q, rq, r, "grant read");
			return;
		}
	}
	rq->flush_after = op == BLKIF_OP_FLUSH_DISKCACHE || op == BLKIF_OP_WRITE_BARRIER;
	set_io(rq, write ? BLK_IO_WRITE : BLK_IO_READ, rq->r.sector << q->lim.unit_shift,
	       rq->bytes);
	submit(q, rq);
}

static bool must_wait(const struct blk_queue *q, const struct qreq *rq)
{
	if (rq->r.operation == BLKIF_OP_WRITE_BARRIER && q->inflight > 1)
		return true;	/* drain everything before the barrier */
	return rq->nseg > q->nfree_pages;
}

/* Copies the indirect pages once into ind_buf and unpacks the segments. */
static int read_indirect(struct blk_queue *q, struct qreq *rq)
{
	unsigned left = rq->r.nr_segments * sizeof(struct blkif_request_segment);
	unsigned i;

	for (i = 0; i < rq->r.nr_indirect; i++) {
		q->xfer[i].gref = rq->r.indirect_grefs[i];
		q->xfer[i].offset = 0;
		q->xfer[i].len = left < BLK_PAGE_SIZE ? left : BLK_PAGE_SIZE;
		q->xfer[i].local = q->ind_buf + (size_t)i * BLK_PAGE_SIZE;
		left -= q->xfer[i].len;
	}
	i = blk_grants_xfer(q->grants, q->xfer, rq->r.nr_indirect, false);
	if ((int)i < 0)
		return (int)i;
	blk_segs_unpack(q->ind_buf, rq->r.nr_segments, rq->ind_seg);
	return 0;
}

/*
 * Requests per operation. An indirect request counts under its own
 * operation (read or write) and under indirect as well, so read + write is
 * every data request however the frontend sent it.
 */
static void count_op(struct blk_queue *q, const struct blk_req *r)
{
	static const int map[] = {
		[BLKIF_OP_READ] = BLK_CNT_OP_READ,
		[BLKIF_OP_WRITE] = BLK_CNT_OP_WRITE,
		[BLKIF_OP_WRITE_BARRIER] = BLK_CNT_OP_BARRIER,
		[BLKIF_OP_FLUSH_DISKCACHE] = BLK_CNT_OP_FLUSH,
		[BLKIF_OP_RESERVED_1] = BLK_CNT_OP_OTHER,
		[BLKIF_OP_DISCARD] = BLK_CNT_OP_DISCARD,
	};
	/* An indirect_op that is itself INDIRECT lands in other-op. */
	uint8_t op = r->rw_op;

	if (r->operation == BLKIF_OP_INDIRECT)
		cnt_add(q, BLK_CNT_OP_INDIRECT, 1);
	cnt_add(q, op < sizeof(map) / sizeof(map[0]) ? map[op] : BLK_CNT_OP_OTHER, 1);
}

static void dispatch(struct blk_queue *q, struct qreq *rq)
{
	const char *why;
	enum blk_verdict v;
	int r;

	count_op(q, &rq->r);
	v = blk_req_check(&rq->r, &q->lim, &why);
	if (v != BLK_OK) {
		reject(q, rq, v, why);
		return;
	}
	if (rq->r.operation == BLKIF_OP_DISCARD) {
		bool secure = rq->r.discard_flag & BLKIF_DISCARD_SECURE;

		rq->npages = 0;
		set_io(rq, secure ? BLK_IO_SECURE_DISCARD : BLK_IO_DISCARD,
		       rq->r.sector << q->lim.unit_shift, rq->r.nr_sectors << q->lim.unit_shift);
		submit(q, rq);
		return;
	}
	rq->seg = rq->r.seg;
	rq->nseg = rq->r.nr_segments;
	if (rq->r.operation == BLKIF_OP_INDIRECT) {
		r = read_indirect(q, rq);
		if (r < 0) {
			fail(q, rq, r, "indirect page read");
			return;
		}
		rq->seg = rq->ind_seg;
	}
	v = blk_segs_check(&rq->r, rq->seg, rq->nseg, &q->lim, &rq->bytes, &why);
	if (v != BLK_OK) {
		reject(q, rq, v, why);
		return;
	}
	if (must_wait(q, rq)) {
		q->held = rq;
		return;
	}
	start(q, rq);
}

/* --- completing --- */

static void complete(struct blk_queue *q, struct blk_io *io)
{
	struct qreq *rq = io->opaque;
	int r;

	q->io_inflight--;
	if (io->res < 0) {
		fail(q, rq, (int)io->res, "I/O");
		return;
	}
	if (rq->flush_after && io->op == BLK_IO_WRITE) {
		/* FLUSH_DISKCACHE / BARRIER with data: the write, then the flush. */
		cnt_add(q, BLK_CNT_SECT_WRITTEN, rq->bytes >> 9);
		rq->flush_after = false;
		set_io(rq, BLK_IO_FLUSH, 0, 0);
		submit(q, rq);
		return;
	}
	switch (io->op) {
	case BLK_IO_READ:
		if (!rq->npins) {	/* bounce pages: copy out to the guest */
			build_xfer(q, rq);
			r = blk_grants_xfer(q->grants, q->xfer, rq->nseg, true);
			if (r < 0) {
				fail(q, rq, r, "grant write");
				return;
			}
		}
		cnt_add(q, BLK_CNT_SECT_READ, rq->bytes >> 9);
		break;
	case BLK_IO_WRITE:
		cnt_add(q, BLK_CNT_SECT_WRITTEN, rq->bytes >> 9);
		break;
	case BLK_IO_DISCARD:
	case BLK_IO_SECURE_DISCARD:
		cnt_add(q, BLK_CNT_SECT_DISCARDED, rq->io.len >> 9);
		break;
	default:
		break;
	}
	respond(q, rq, BLKIF_RSP_OKAY);
}

/* Completes what the store finished; returns how many. */
static unsigned reap(struct blk_queue *q)
{
	struct blk_io *done[64];
	unsigned total = 0;
	int n, i;

	do {
		n = q->ioq->ops->reap(q->ioq, done, 64);
		for (i = 0; i < n; i++)
			complete(q, done[i]);
		if (n > 0)
			total += (unsigned)n;
	} while (n == 64);
	return total;
}

/* --- taking requests --- */

/* True when no request may start until something completes. */
static bool busy(const struct blk_queue *q)
{
	/*
	 * Not q->submit_head: requests queued for submission in this pass do
	 * not stop the pass from taking more, so up to submit_batch go to the
	 * store in one io_submit. Only a store that pushed back does.
	 */
	return q->held || q->submit_blocked || q->barrier_busy;
}

/* True when the queue cannot take requests off the ring until something
 * completes (or, for a free pool entry, until the responses are pushed). */
static bool stalled(const struct blk_queue *q)
{
	return busy(q) || !q->free_reqs || RING_BACK_CONS_FULL(&q->ring, q->ring.req_cons);
}

static bool redo_pending(const struct blk_queue *q)
{
	return q->redo_pos < q->nredo;
}

/*
 * The next request: one to run again after a restart, else the next slot,
 * copied once into its record of the state file (blk_qstate_take) and
 * parsed from that private copy. NULL when there is none to take now.
 */
static struct qreq *take_next(struct blk_queue *q, RING_IDX prod)
{
	struct qreq *rq;
	const void *raw;

	if (redo_pending(q)) {
		rq = &q->reqs[q->redo[q->redo_pos++]];
		raw = blk_qstate_raw(&q->st, rq_index(q, rq));
		cnt_add(q, BLK_CNT_REDONE, 1);
	} else {
		if (q->ring.req_cons == prod || stalled(q))
			return NULL;
		rq = q->free_reqs;
		q->free_reqs = rq->next;
		raw = blk_qstate_take(&q->st, rq_index(q, rq), slot_at(q, q->ring.req_cons),
				      q->slot, q->ring.req_cons);
		q->ring.req_cons++;
	}
	blk_req_copy(q->cfg.abi, raw, &rq->r);
	q->inflight++;
	rq->npages = 0;
	rq->npins = 0;
	rq->nseg = 0;
	rq->flush_after = false;
	return rq;
}

/* Takes up to submit_batch requests; returns how many. */
static unsigned consume(struct blk_queue *q)
{
	RING_IDX prod;
	unsigned n = 0;
	int pending;

	if (atomic_load_explicit(&q->broken, memory_order_relaxed))
		return 0;
	pending = RING_BACK_PENDING(&q->ring, &prod);
	if (pending < 0) {
		mark_broken(q, "frontend produced more than a ring of requests");
		return 0;
	}
	/* Online resize: the vbd updates the size between batches. */
	q->lim.sectors = atomic_load_explicit(q->cfg.sectors, memory_order_relaxed);
	/* A pass takes at most submit_batch requests: with 1 (the default)
	 * the pass submits each, reaps, and pushes the answers before the
	 * next, which keeps a steady stream at the store (docs/bench.md). */
	while (n < q->submit_batch && !busy(q)) {
		struct qreq *rq = take_next(q, prod);

		if (!rq)
			break;
		dispatch(q, rq);
		n++;
	}
	return n;
}

/* After the push: the answered requests' records and pool entries are free. */
static void release_answered(struct blk_queue *q)
{
	struct qreq *rq;

	BLK_QS_ORDER();	/* the store of rsp_prod before the records say free */
	while ((rq = q->answered)) {
		q->answered = rq->next;
		blk_qstate_free(&q->st, rq_index(q, rq));
		rq->next = q->free_reqs;
		q->free_reqs = rq;
	}
}

static void push_responses(struct blk_queue *q)
{
	int notify;

	if (q->ring.rsp_prod_pvt != q->ring.sring->rsp_prod) {
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->ring, notify);
		if (notify) {
			q->ops->evtchn_notify(q->ev, q->port);
			cnt_add(q, BLK_CNT_NOTIFY, 1);
		}
	}
	release_answered(q);
}

static void update_gauges(struct blk_queue *q)
{
	struct blk_grant_stats gs;

	blk_grants_stats(q->grants, &gs);
	cnt_set(q, BLK_CNT_INFLIGHT, q->inflight);
	cnt_set(q, BLK_CNT_PGNT_CACHED, blk_grants_cached(q->grants));
	cnt_set(q, BLK_CNT_PGNT_MAPS, gs.maps);
	cnt_set(q, BLK_CNT_PGNT_UNMAPS, gs.unmaps);
	cnt_set(q, BLK_CNT_COPY_SEGS, gs.copy_segs);
	cnt_set(q, BLK_CNT_ZERO_COPY_SEGS, gs.pinned_segs);
}

/*
 * One pass of work: returns the progress made (completions and requests
 * taken); *more is set if more is ready right now.
 */
static unsigned pass(struct blk_queue *q, bool *more)
{
	unsigned done = reap(q), n;

	if (q->held && !must_wait(q, q->held)) {
		struct qreq *rq = q->held;

		q->held = NULL;
		start(q, rq);
		done++;
	}
	flush_submits(q);
	n = consume(q);
	*more = n == q->submit_batch;
	flush_submits(q);
	push_responses(q);
	update_gauges(q);
	return done + n;
}

/* True if a request or a completion may be there. A hint only: the pass
 * re-reads the producer index with its barrier and checks it. */
static bool work_seen(struct blk_queue *q)
{
	if (q->ioq->ops->ready && q->ioq->ops->ready(q->ioq))
		return true;
	if (redo_pending(q) && !busy(q))
		return true;
	return !stalled(q) &&
	       __atomic_load_n(&q->ring.sring->req_prod, __ATOMIC_RELAXED) != q->ring.req_cons;
}

/*
 * Stopping: requests not yet in the store are dropped (the device is
 * going; they stay in the state file for a restarted daemon), completions
 * are reaped and answered. When nothing is in flight any more the stopping
 * thread is told.
 */
static unsigned drain_step(struct blk_queue *q)
{
	unsigned n;

	q->submit_head = q->submit_tail = NULL;
	q->held = NULL;
	n = reap(q);
	q->submit_head = q->submit_tail = NULL;
	push_responses(q);
	update_gauges(q);
	if (!q->io_inflight) {
		pthread_mutex_lock(&q->mu);
		q->drained = true;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	return n;
}

/* The queue a pollable is the `pl` of. */
static inline struct blk_queue *queue_of(struct wk_pollable *p)
{
	return (struct blk_queue *)((char *)p - offsetof(struct blk_queue, pl));
}

/*
 * The worker's pass over this queue. A full pass runs when something may
 * be there (work_seen), an fd fired or the last pass left more; otherwise
 * it costs a few loads. While its I/O is in flight the queue asks the
 * worker to keep polling for cfg.poll_io_us, giving the CPU away between
 * passes: a store that completes in batches leaves gaps longer than
 * poll_us between them, and a worker asleep in such a gap pays a wakeup per
 * batch on the path of the requests the answers let the frontend send
 * (docs/bench.md, 2026-12-06 (4)).
 */
static unsigned q_poll(struct wk_pollable *p, struct wk_worker *w)
{
	struct blk_queue *q = queue_of(p);
	unsigned n = 0;
	bool more = false;

	if (atomic_load_explicit(&q->stopping, memory_order_relaxed)) {
		if (!q->drained)
			n = drain_step(q);
	} else if (q->kick || q->fired || work_seen(q)) {
		q->kick = false;
		n = pass(q, &more);
		q->kick = more;
	}
	/* Unmask after the work (lateeoi): a storm of events costs one
	 * pass, not one wakeup each; arm's final check covers the gap. */
	if (q->fired) {
		q->fired = false;
		q->ops->evtchn_unmask(q->ev, q->port);
	}
	if (q->io_inflight)
		wk_worker_spin(w, q->cfg.poll_io_us, true);
	return n + more;
}

/*
 * Before the worker sleeps: the frontend is asked to notify
 * (RING_FINAL_CHECK_FOR_REQUESTS re-arms req_event) unless the queue cannot
 * take requests anyway, and the ioq's fd is armed; each then re-checks, so
 * nothing that arrived meanwhile is slept through. True if there is work
 * after all.
 */
static bool q_arm(struct wk_pollable *p, struct wk_worker *w, uint64_t *wake_ns)
{
	struct blk_queue *q = queue_of(p);
	int work = 0;

	(void)w;
	(void)wake_ns;
	if (atomic_load_explicit(&q->stopping, memory_order_relaxed) && !q->drained)
		work = 1;	/* the stop came after the last pass: drain now */
	else if (!atomic_load_explicit(&q->broken, memory_order_relaxed) &&
		 !atomic_load_explicit(&q->stopping, memory_order_relaxed)) {
		if (redo_pending(q) && !busy(q))
			work = 1;
		else if (!stalled(q))
			RING_FINAL_CHECK_FOR_REQUESTS(&q->ring, work);
	}
	/* Always: a completion left signalled would wake the worker at once. */
	if (q->ioq->ops->arm && q->ioq->ops->arm(q->ioq))
		work = 1;
	if (work)
		q->kick = true;
	else
		cnt_add(q, BLK_CNT_SLEEPS, 1);
	return work;
}

/* fds[0]: the event channel; fds[1]: the store's completions. */
static bool q_event(struct wk_pollable *p, struct wk_worker *w, unsigned i, uint32_t revents)
{
	struct blk_queue *q = queue_of(p);

	(void)w;
	q->kick = true;
	if (revents & (EPOLLERR | EPOLLHUP)) {
		/* The channel is gone (the frontend's domain died), or the
		 * eventfd failed (not expected): stop watching it rather
		 * than spin, and close. */
		mark_broken(q, i ? "I/O completion fd failed" : "event channel failed");
		return false;
	}
	if (i == 0 && (revents & EPOLLIN)) {
		cnt_add(q, BLK_CNT_WAKEUP, 1);
		while (q->ops->evtchn_pending(q->ev) >= 0)
			q->fired = true;	/* only our port is bound here */
	}
	return true;
}

/* --- setup and teardown (loop thread) --- */

static int alloc_pool(struct blk_queue *q)
{
	unsigned i;

	q->nreqs = q->ring.nr_ents;
	q->reqs = calloc(q->nreqs, sizeof(*q->reqs));
	q->xfer = calloc(q->max_segs, sizeof(*q->xfer));
	q->pin_addrs = calloc(q->max_segs, sizeof(*q->pin_addrs));
	if (!q->reqs || !q->xfer || !q->pin_addrs)
		return -ENOMEM;
	for (i = 0; i < q->nreqs; i++) {
		struct qreq *rq = &q->reqs[i];

		rq->pages = calloc(q->max_segs, sizeof(*rq->pages));
		rq->iov = calloc(q->max_segs, sizeof(*rq->iov));
		rq->pins = calloc(q->max_segs, sizeof(*rq->pins));
		if (q->lim.max_indirect)
			rq->ind_seg = calloc(q->lim.max_indirect, sizeof(*rq->ind_seg));
		if (!rq->pages || !rq->iov || !rq->pins ||
		    (q->lim.max_indirect && !rq->ind_seg))
			return -ENOMEM;
		rq->next = q->free_reqs;
		q->free_reqs = rq;
	}
	q->nbounce = q->nreqs * BLKIF_MAX_SEGMENTS_PER_REQUEST;
	if (q->nbounce > BOUNCE_PAGES_CAP)
		q->nbounce = BOUNCE_PAGES_CAP;
	if (q->nbounce < q->max_segs)
		q->nbounce = q->max_segs;
	/* Page-aligned, as O_DIRECT wants; touched only as used. */
	q->bounce = mmap(NULL, (size_t)q->nbounce * BLK_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->bounce == MAP_FAILED) {
		q->bounce = NULL;
		return -ENOMEM;
	}
	q->free_pages = calloc(q->nbounce, sizeof(*q->free_pages));
	q->ind_buf = aligned_alloc(BLK_PAGE_SIZE,
				   BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLK_PAGE_SIZE);
	if (!q->free_pages || !q->ind_buf)
		return -ENOMEM;
	for (i = 0; i < q->nbounce; i++)
		q->free_pages[q->nfree_pages++] = q->nbounce - 1 - i;
	return 0;
}

static int map_ring(struct blk_queue *q)
{
	const struct blk_queue_cfg *c = &q->cfg;
	int r;

	if (!c->nr_ring_pages || c->nr_ring_pages > BLK_MAX_RING_PAGES ||
	    (c->nr_ring_pages & (c->nr_ring_pages - 1)))
		return -EINVAL;
	r = q->ops->gnttab_map(q->gt, c->nr_ring_pages, c->domid, c->ring_refs, 1,
			       &q->ring_addr);
	if (r < 0) {
		q->ring_addr = NULL;
		return r;
	}
	/* BACK_RING_INIT with our own entry count: the slot size is the ABI's. */
	memset(&q->ring, 0, sizeof(q->ring));
	q->ring.sring = q->ring_addr;
	q->ring.nr_ents = blk_abi_ring_size(c->abi, c->nr_ring_pages);
	q->slot = blk_abi_slot_size(c->abi);
	return 0;
}

static int bind_port(struct blk_queue *q)
{
	int r = q->ops->evtchn_bind_interdomain(q->ev, q->cfg.domid, q->cfg.remote_port);

	if (r < 0)
		return r;
	q->port = r;
	q->bound = true;
	return 0;
}

static void state_id(const struct blk_queue *q, struct blk_qstate_id *id)
{
	const struct blk_queue_cfg *c = &q->cfg;
	unsigned i;

	memset(id, 0, sizeof(*id));
	id->domid = c->domid;
	id->devid = c->devid;
	id->queue = c->queue;
	id->abi = c->abi;
	id->nr_ring_pages = c->nr_ring_pages;
	id->nr_ents = q->ring.nr_ents;
	id->slot_size = (uint32_t)q->slot;
	id->remote_port = c->remote_port;
	for (i = 0; i < c->nr_ring_pages; i++)
		id->ring_refs[i] = c->ring_refs[i];
}

/*
 * Reattach: the dead daemon's state file decides where the ring stands.
 * The frontend's indices are read once; recovery checks them against the
 * file (both may be junk: the file is refused then, nothing changed).
 */
static int resume_state(struct blk_queue *q, const struct blk_qstate_id *id)
{
	struct blk_qstate_plan plan;
	RING_IDX rsp_prod, req_prod;
	unsigned i;
	int r;

	r = blk_qstate_open(&q->st, q->cfg.state_path, id);
	if (r < 0)
		return r;
	q->redo = calloc(q->nreqs, sizeof(*q->redo));
	if (!q->redo)
		return -ENOMEM;
	rsp_prod = RING_READ_ONCE(q->ring.sring->rsp_prod);
	req_prod = RING_READ_ONCE(q->ring.sring->req_prod);
	r = blk_qstate_recover(q->st.hdr, q->st.size, rsp_prod, req_prod, q->redo, &plan);
	if (r < 0)
		return r;
	/* Answers not published are written again from rsp_prod on. */
	q->ring.req_cons = plan.req_cons;
	q->ring.rsp_prod_pvt = rsp_prod;
	q->nredo = plan.nredo;
	q->found_answered = plan.answered;
	/* The pool: entries whose record is taken belong to redo[]. */
	q->free_reqs = NULL;
	for (i = q->nreqs; i-- > 0;) {
		if (q->st.ent[i].state == BLK_QS_TAKEN)
			continue;
		q->reqs[i].next = q->free_reqs;
		q->free_reqs = &q->reqs[i];
	}
	return 0;
}

static int open_state(struct blk_queue *q)
{
	struct blk_qstate_id id;

	state_id(q, &id);
	if (q->cfg.reattach)
		return resume_state(q, &id);
	return blk_qstate_create(&q->st, q->cfg.state_path, &id);
}

/* Onto cfg.pool's least loaded worker, or a private one-worker pool. */
static int launch(struct blk_queue *q)
{
	struct wk_pool *pool = q->cfg.pool;
	int r;

	if (!pool) {
		struct wk_pool_cfg pc = { .name = "blkq", .count = 1, .poll_us = q->cfg.poll_us };

		r = wk_pool_start(&pc, &q->own_pool);
		if (r < 0)
			return r;
		pool = q->own_pool;
	}
	q->pl.poll = q_poll;
	q->pl.arm = q_arm;
	q->pl.event = q_event;
	q->pl.fds[0] = q->ops->evtchn_fd(q->ev);
	q->pl.fds[1] = q->ioq->ops->fd(q->ioq);
	q->kick = true;	/* look at the ring once at start */
	q->w = wk_pool_least_loaded(pool);
	r = wk_worker_attach(q->w, &q->pl);
	if (r == 0)
		q->attached = true;
	return r;
}

int blk_queue_start(const struct blk_queue_cfg *cfg, struct blk_queue **ret)
{
	struct blk_queue *q;
	const char *step;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cfg = *cfg;
	q->submit_batch = cfg->submit_batch ? cfg->submit_batch : 1;
	if (q->submit_batch > BLK_SUBMIT_BATCH_CAP)
		q->submit_batch = BLK_SUBMIT_BATCH_CAP;
	snprintf(q->name, sizeof(q->name), "%s", cfg->name);
	q->cfg.name = q->name;
	q->ops = cfg->ops;
	q->lim = cfg->limits;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5000, 10);
	q->max_segs = q->lim.max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
		      q->lim.max_indirect : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	step = "open gnttab";
	r = q->ops->gnttab_open(&q->gt);
	if (r < 0)
		goto err;
	/* Cap what this handle may map (STYLE.md pitfall 9): the ring and the
	 * persistent cache; everything else moves by grant copy. */
	r = q->ops->gnttab_set_max_grants(q->gt, cfg->nr_ring_pages + cfg->persistent_max);
	if (r < 0)
		log_debug_errno(r, "%s: cannot cap the grant handle, ignoring", q->name);
	step = "open evtchn";
	r = q->ops->evtchn_open(&q->ev);
	if (r < 0)
		goto err;
	step = "map ring";
	r = map_ring(q);
	if (r < 0)
		goto err;
	step = "allocate request pool";
	r = alloc_pool(q);
	if (r < 0)
		goto err;
	step = q->cfg.reattach ? "resume from the restart state" : "create the restart state";
	r = open_state(q);
	if (r < 0)
		goto err;
	step = "set up grants";
	r = blk_grants_new(q->ops, q->gt, cfg->domid, cfg->persistent_max,
			   q->max_segs > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST ?
			   q->max_segs : BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, &q->grants);
	if (r < 0)
		goto err;
	step = "set up the I/O queue";
	r = cfg->store->ops->ioq_new(cfg->store, q->nreqs, &q->ioq);
	if (r < 0)
		goto err;
	step = "bind the event channel";
	r = bind_port(q);
	if (r < 0)
		goto err;
	if (q->cfg.reattach) {
		/*
		 * Answers the dead daemon published may have gone without an
		 * event: one notification (a spurious one is harmless to a
		 * frontend, which re-checks rsp_prod). Our own port came back
		 * pending from the bind (Xen's evtchn_bind_interdomain), so the
		 * worker looks at the ring at once.
		 */
		q->ops->evtchn_notify(q->ev, q->port);
		cnt_add(q, BLK_CNT_NOTIFY, 1);
	}
	step = "hand the queue to a worker";
	r = launch(q);
	if (r < 0)
		goto err;
	*ret = q;
	return 0;
err:
	log_err_errno(r, "%s: cannot %s", cfg->name, step);
	blk_queue_stop(q, NULL);
	return r;
}

void blk_queue_stop(struct blk_queue *q, uint64_t *retire)
{
	unsigned i;

	if (!q)
		return;
	if (q->attached) {
		/* The worker drains the queue (its in-flight I/O completes and
		 * is answered) while it goes on serving its other queues. */
		atomic_store(&q->stopping, true);
		wk_worker_kick(q->w);
		pthread_mutex_lock(&q->mu);
		while (!q->drained)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
		wk_worker_detach(q->w, &q->pl);
	}
	wk_pool_stop(q->own_pool);
	if (q->grants) {	/* the kept grants are unmapped below */
		struct blk_grant_stats gs;

		blk_grants_stats(q->grants, &gs);
		cnt_set(q, BLK_CNT_PGNT_UNMAPS, gs.unmaps + blk_grants_cached(q->grants));
	}
	for (i = 0; retire && i < BLK_CNT__MAX; i++)
		if (i != BLK_CNT_INFLIGHT && i != BLK_CNT_PGNT_CACHED)
			retire[i] += atomic_load(&q->cnt[i]);
	if (q->bound)
		q->ops->evtchn_unbind(q->ev, q->port);
	if (q->ioq)
		q->ioq->ops->free(q->ioq);
	blk_grants_free(q->grants);
	if (q->ring_addr)
		q->ops->gnttab_unmap(q->gt, q->ring_addr, q->cfg.nr_ring_pages);
	q->ops->evtchn_close(q->ev);
	q->ops->gnttab_close(q->gt);
	if (q->reqs)
		for (i = 0; i < q->nreqs; i++) {
			free(q->reqs[i].pages);
			free(q->reqs[i].iov);
			free(q->reqs[i].pins);
			free(q->reqs[i].ind_seg);
		}
	free(q->reqs);
	free(q->redo);
	blk_qstate_close(&q->st);
	free(q->xfer);
	free(q->pin_addrs);
	if (q->bounce)
		munmap(q->bounce, (size_t)q->nbounce * BLK_PAGE_SIZE);
	free(q->free_pages);
	free(q->ind_buf);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

void blk_queue_counters(const struct blk_queue *q, uint64_t sum[BLK_CNT__MAX])
{
	unsigned i;

	for (i = 0; i < BLK_CNT__MAX; i++)
		sum[i] += atomic_load_explicit(&q->cnt[i], memory_order_relaxed);
}

void blk_queue_recovered(const struct blk_queue *q, unsigned *ret_redone,
			 unsigned *ret_answered)
{
	*ret_redone = q->nredo;
	*ret_answered = q->found_answered;
}

const char *blk_queue_broken(const struct blk_queue *q)
{
	return atomic_load(&q->broken);
}
