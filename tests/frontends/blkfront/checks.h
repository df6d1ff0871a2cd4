/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkfront synchronous checks (main thread, while no worker runs): a small
 * granted buffer and one-request-at-a-time I/O on queue 0, used by the
 * flush, discard and resize checks and by the hostile scenarios.
 */
#ifndef BLKFRONT_CHECKS_H
#define BLKFRONT_CHECKS_H

#include "blkfront.h"

struct bf_sbuf {
	struct bf_queue *q;
	uint8_t *mem;
	grant_ref_t *refs;
};

/* The queue's check buffer, granted on first use and kept until the queue goes. */
int bf_sbuf_open(struct bf_queue *q, struct bf_sbuf *b);
void bf_sbuf_close(struct bf_sbuf *b);
/* A fresh request id for synchronous use (never collides with the load's). */
uint64_t bf_sync_id(void);
/*
 * One READ or WRITE of nsect 512-byte sectors (at most BF_SBUF_PAGES pages)
 * through b. Returns 0 with the backend's status in *status, or -errno
 * (-ETIMEDOUT, -EPIPE when the backend left Connected, -EPROTO).
 */
int bf_sync_rw(struct bf_sbuf *b, uint8_t op, uint64_t sector, unsigned nsect,
	       int16_t *status);
/* Pushes, notifies if needed, waits for id: see bf_q_wait_rsp. */
int bf_sync_wait(struct bf_queue *q, uint64_t id, int16_t *status);

/* Each check prints one line to stderr and returns 0 when it passed. */
int bf_check_flush(struct bf_dev *d);
/* Writes, discards and reads back [off, off + len) rounded to the granularity. */
int bf_check_discard(struct bf_dev *d, uint64_t off, uint64_t len, uint64_t *ret_off,
		     uint64_t *ret_len);
/* Waits for a new `sectors`, then writes and reads back the last 4 KiB. */
int bf_check_resize(struct bf_dev *d, int timeout_ms, uint64_t *ret_before);

#endif
