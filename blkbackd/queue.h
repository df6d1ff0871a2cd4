/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One blkif queue: a shared ring (1..2^max-ring-page-order pages), its event
 * channel, and the pass that consumes requests, moves data through grant.c,
 * submits I/O to the store's blk_ioq and writes responses. The passes run
 * on a worker of the daemon's pool (common/workers.h): many queues share a
 * few threads, each queue gets one pass per round of its worker.
 *
 * Threads: blk_queue_start/stop/stats are called by the loop thread (the
 * vbd); everything else runs on the queue's worker, and only there: its
 * gnttab and evtchn handles, its ioq and a request pool sized from the
 * ring (no allocation after start). The worker never touches xenstore: a
 * ring that breaks the protocol marks the queue broken and is reported
 * through cfg.fatal_fd (an eventfd the vbd watches on the loop thread).
 */
#ifndef BLKBACKD_QUEUE_H
#define BLKBACKD_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "blkstore.h"
#include "proto.h"
#include "workers.h"
#include "xen-ops.h"

/* Ring pages we accept: 2^BLK_MAX_RING_ORDER (Linux blkback's
 * XENBUS_MAX_RING_GRANT_ORDER is 4; QEMU's default max-ring-page-order 4). */
#define BLK_MAX_RING_ORDER 4
#define BLK_MAX_RING_PAGES (1u << BLK_MAX_RING_ORDER)

struct blk_queue_cfg {
	const struct xen_ops *ops;
	const char *name;		/* "vbd 5/51712 q0", for logs (copied) */
	domid_t domid;			/* the frontend */
	enum blk_abi abi;
	unsigned nr_ring_pages;		/* 1 .. BLK_MAX_RING_PAGES, power of two */
	grant_ref_t ring_refs[BLK_MAX_RING_PAGES];
	evtchn_port_t remote_port;
	unsigned persistent_max;	/* 0: the frontend has no feature-persistent */
	struct blk_limits limits;	/* sectors is re-read from *sectors */
	_Atomic uint64_t *sectors;	/* device size, updated by online resize */
	struct blk_store *store;
	int fatal_fd;			/* eventfd: written when the ring breaks */
	/* The worker pool to run on (the least loaded worker); NULL: a
	 * private pool of one worker, polling for poll_us. */
	struct wk_pool *pool;
	unsigned poll_us;		/* the private pool's busy-poll before sleeping */
	unsigned poll_io_us;		/* keep polling this long while I/O is in flight */
	unsigned submit_batch;		/* requests per store submit call, 1..64 */
	/*
	 * Restart state (qstate.h): the file that keeps this queue's consumer
	 * index and the requests taken but not yet visibly answered, so that a
	 * restarted daemon can resume. NULL: anonymous memory, nothing survives.
	 * devid and queue name the connection in its header.
	 */
	const char *state_path;
	unsigned devid, queue;
	/*
	 * Resume a live ring (the daemon restarted) instead of starting fresh:
	 * the state file must exist and match the connection, then requests
	 * whose answer the frontend cannot see yet are run again, the ring
	 * indices are restored and the frontend is notified once. A missing,
	 * stale or inconsistent file fails the start (-ENOENT, -ESTALE,
	 * -EBADMSG).
	 */
	bool reattach;
};

/* Counters, summed over queues by the vbd for --status. */
enum {
	BLK_CNT_OP_READ,
	BLK_CNT_OP_WRITE,
	BLK_CNT_OP_BARRIER,
	BLK_CNT_OP_FLUSH,
	BLK_CNT_OP_DISCARD,
	BLK_CNT_OP_INDIRECT,
	BLK_CNT_OP_OTHER,
	BLK_CNT_SECT_READ,	/* 512-byte sectors */
	BLK_CNT_SECT_WRITTEN,
	BLK_CNT_SECT_DISCARDED,
	BLK_CNT_ERR_REQUEST,	/* answered BLKIF_RSP_ERROR: bad request */
	BLK_CNT_ERR_IO,		/* answered BLKIF_RSP_ERROR: the store or a grant failed */
	BLK_CNT_EOPNOTSUPP,
	BLK_CNT_INFLIGHT,
	BLK_CNT_PGNT_CACHED,
	BLK_CNT_PGNT_MAPS,
	BLK_CNT_PGNT_UNMAPS,
	BLK_CNT_COPY_SEGS,
	BLK_CNT_ZERO_COPY_SEGS,	/* I/O straight on a pinned persistent mapping */
	BLK_CNT_NOTIFY,
	BLK_CNT_WAKEUP,
	BLK_CNT_REDONE,		/* requests run again after a restart (reattach) */
	BLK_CNT_SUBMIT_CALLS,	/* calls into the store's submit (io_submit) */
	BLK_CNT_SLEEPS,		/* times the queue was armed for its worker's sleep */
	BLK_CNT__MAX
};

extern const char *const blk_cnt_names[BLK_CNT__MAX];

struct blk_queue;

/* Maps the ring, binds the event channel, hands the queue to a worker. */
int blk_queue_start(const struct blk_queue_cfg *cfg, struct blk_queue **ret);
/*
 * Takes the queue off its worker after its in-flight I/O has completed
 * (and been answered), then unbinds, unmaps and frees. The state file stays (the vbd
 * removes it when the device closes): requests taken and never answered
 * are in it, for a restarted daemon to run again. Its final counters (not the
 * gauges: in-flight, persistent-grants) are added to retire[] unless NULL.
 * NULL q is fine.
 */
void blk_queue_stop(struct blk_queue *q, uint64_t *retire);
/* Adds this queue's counters into sum[] (relaxed reads). */
void blk_queue_counters(const struct blk_queue *q, uint64_t sum[BLK_CNT__MAX]);
/* After a reattaching start: requests run again, and requests found answered. */
void blk_queue_recovered(const struct blk_queue *q, unsigned *ret_redone,
			 unsigned *ret_answered);
/* Why the ring was declared broken (NULL while it is not). */
const char *blk_queue_broken(const struct blk_queue *q);

#endif
