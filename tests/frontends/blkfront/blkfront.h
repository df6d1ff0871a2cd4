/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkfront: a user-space Xen block frontend that drives any blkif backend
 * through the real APIs (libxenstore, and grant sharing / event channels
 * through the Xen seam in common/xen-ops.h), so the same code runs under
 * xensim and in a real domU. It is a test tool: a handshake with any feature
 * combination, a verified load generator with a fio-like summary, flush and
 * discard checks, and hostile request patterns that report how the backend
 * answered.
 *
 * Threads: the main thread owns xenstore (handshake, watches, reconnects) and
 * runs the hostile scenarios and checks; during a workload one worker thread
 * per queue owns that queue's ring, event-channel handle and grant handle.
 * Nothing here may trust the backend: every response and every backend node
 * is checked, and a bad one fails the run instead of crashing it.
 */
#ifndef BLKFRONT_H
#define BLKFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/xen.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#include "xen-ops.h"

struct xs_handle;

/* Largest ring we ask for: Linux XENBUS_MAX_RING_GRANT_ORDER is 4 (16 pages). */
#define BF_MAX_RING_ORDER 4
#define BF_MAX_RING_PAGES (1u << BF_MAX_RING_ORDER)
#define BF_MAX_QUEUES 16
/* Pages a domain may share at once: gntalloc's default `limit` (drivers/xen/gntalloc.c). */
#define BF_GRANT_LIMIT 1024u
/* Segments in one indirect request: one indirect page holds 512 (blkif.h). */
#define BF_SEGS_PER_INDIRECT_PAGE (XEN_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BF_MAX_INDIRECT_SEGS 256
#define BF_SECTOR 512u
#define BF_SECTORS_PER_PAGE (XEN_PAGE_SIZE / BF_SECTOR)
#define BF_MAX_BS (1u << 20)
#define BF_SBUF_PAGES 8
#define BF_MAX_PAGES_PER_IO (BF_MAX_BS / XEN_PAGE_SIZE)

enum bf_abi_kind { BF_ABI_NATIVE, BF_ABI_X86_32, BF_ABI_X86_64 };

/*
 * Byte layout of a request slot in one ABI (see the x86_32 / x86_64 layouts
 * of Linux drivers/block/xen-blkback/common.h and QEMU hw/block/xen_blkif.h:
 * x86_32 packs 64-bit fields on 4-byte boundaries). Responses are the same
 * in both: id at 0, operation at 8, status at 10.
 */
struct bf_abi {
	const char *name;
	const char *protocol;	/* the frontend's `protocol` node */
	uint16_t slot_size;	/* sizeof(union blkif_sring_entry) in this ABI */
	uint8_t rw_id, rw_sector, rw_seg;
	uint8_t dis_nr;		/* discard nr_sectors */
	uint8_t ind_nseg, ind_id, ind_sector, ind_handle, ind_grefs;
};

const struct bf_abi *bf_abi_get(enum bf_abi_kind k);

/* One segment as the frontend builds it before it is laid out in a slot. */
struct bf_seg {
	grant_ref_t gref;
	uint8_t first, last;
};

/*
 * A front ring in any ABI: the shared page(s) and our private indices. The
 * shared header (req_prod, req_event, rsp_prod, rsp_event) is the one of
 * xen/io/ring.h; slots start at byte 64.
 */
struct bf_ring {
	uint8_t *mem;
	unsigned nr_ents;
	const struct bf_abi *abi;
	RING_IDX req_prod_pvt, rsp_cons;
};

struct bf_rsp {
	uint64_t id;
	uint8_t op;
	int16_t status;
};

void bf_ring_init(struct bf_ring *r, void *mem, unsigned order, const struct bf_abi *abi);
unsigned bf_ring_free(const struct bf_ring *r);
/* Lays a request out in the next slot (not yet pushed); returns the slot. */
uint8_t *bf_ring_put_rw(struct bf_ring *r, uint8_t op, uint8_t nseg, uint16_t handle,
			uint64_t id, uint64_t sector, const struct bf_seg *segs, unsigned nsegs_laid);
uint8_t *bf_ring_put_indirect(struct bf_ring *r, uint8_t op, uint16_t nseg, uint16_t handle,
			      uint64_t id, uint64_t sector, const grant_ref_t *irefs,
			      unsigned nirefs);
uint8_t *bf_ring_put_discard(struct bf_ring *r, uint8_t flag, uint16_t handle, uint64_t id,
			     uint64_t sector, uint64_t nr_sectors);
uint8_t *bf_ring_slot(struct bf_ring *r, RING_IDX i);
/* Publishes the requests; returns true when the backend must be notified. */
bool bf_ring_push(struct bf_ring *r);
/* Sets req_prod to any value (hostile use); no notify check. */
void bf_ring_set_req_prod(struct bf_ring *r, RING_IDX v);
/*
 * Takes the next response: 1 taken, 0 none, -EPROTO when the backend's
 * rsp_prod claims more responses than requests outstanding.
 */
int bf_ring_get_rsp(struct bf_ring *r, struct bf_rsp *ret);
/* True when a response is waiting (no consumption). */
bool bf_ring_has_rsp(struct bf_ring *r);
/* RING_FINAL_CHECK_FOR_RESPONSES: true when responses arrived meanwhile. */
bool bf_ring_final_check(struct bf_ring *r);
/* Lays one segment descriptor into an indirect page. */
void bf_ind_put_seg(uint8_t *page, unsigned i, const struct bf_seg *s);

/* Counters on the frontend side (the benchmark's per-request figures). */
struct bf_counters {
	uint64_t requests;	/* ring requests pushed */
	uint64_t responses;
	uint64_t notify;	/* evtchn_notify calls */
	uint64_t events;	/* event-channel wakeups taken */
	uint64_t gnt_share;	/* gntshr_share calls */
	uint64_t gnt_unshare;	/* gntshr_unshare calls */
	uint64_t gnt_pages;	/* pages granted */
};

struct bf_dev;

/* One queue: its ring, its event channel and the handles its thread owns. */
struct bf_queue {
	struct bf_dev *dev;
	unsigned idx;
	struct xen_evtchn *evtchn;
	struct xen_gntshr *gntshr;
	int port;
	void *ring_mem;
	unsigned ring_pages;
	grant_ref_t ring_refs[BF_MAX_RING_PAGES];
	struct bf_ring ring;
	struct bf_counters cnt;
	bool up;
	/* The checks' buffer (checks.c): granted once per connection, like the pools. */
	uint8_t *sbuf;
	grant_ref_t sbuf_refs[BF_SBUF_PAGES];
};

struct bf_opts {
	const char *vdev;
	int devid;		/* -1: from vdev */
	int domid;		/* -1: XENSIM_DOMID or the `domid` node */
	enum bf_abi_kind abi;
	unsigned queues;
	unsigned ring_order;
	bool persistent;
	bool indirect;
	unsigned timeout_s;	/* bound on every wait for the backend */
	bool verbose;
};

struct bf_dev {
	struct bf_opts o;
	const struct xen_ops *ops;
	struct xs_handle *xs;
	domid_t domid;
	domid_t backend_id;
	unsigned devid;
	char fe[96];
	char be[160];
	/* negotiated */
	const struct bf_abi *abi;
	unsigned nr_queues;
	unsigned ring_order;
	bool persistent;	/* both ends said yes */
	unsigned max_indirect;	/* 0: no indirect */
	/* backend device properties, read at connect */
	uint64_t sectors;	/* in 512-byte units */
	unsigned sector_size;
	unsigned info;
	bool flush, barrier, discard, discard_secure;
	unsigned discard_granularity, discard_alignment;
	bool connected;
	unsigned connects;
	struct bf_queue q[BF_MAX_QUEUES];
	struct bf_counters acc;	/* folded in from queues torn down */
	char backend_error[256];
};

/* xb.c: the xenbus side */
int bf_dev_open(struct bf_dev *d, const struct bf_opts *o);
void bf_dev_close(struct bf_dev *d);
int bf_connect(struct bf_dev *d);
/* Frontend Closing -> (backend Closing/Closed) -> Closed; frees the queues. */
int bf_disconnect(struct bf_dev *d);
int bf_read_be_state(struct bf_dev *d);
/* Waits up to timeout_ms until the backend state is in mask (1 << state). */
int bf_wait_be_state(struct bf_dev *d, unsigned mask, int timeout_ms);
/* Waits until the backend's `sectors` differs from old; returns 0 or -ETIMEDOUT. */
int bf_wait_resize(struct bf_dev *d, uint64_t old, int timeout_ms);
/* Reads the backend's `error` node (if any) into d->backend_error. */
void bf_read_be_error(struct bf_dev *d);
/* The xenstore fd (readable when a watch fired) and its drain. */
int bf_dev_xs_fd(struct bf_dev *d);
void bf_dev_drain_watch(struct bf_dev *d);
uint64_t bf_now_ns(void);
/* Everything counted so far, including queues already torn down. */
void bf_counters_total(struct bf_dev *d, struct bf_counters *ret);

/*
 * Synchronous helpers for checks and hostile scenarios (main thread, no
 * worker running): push what is on the ring, notify, and wait up to
 * timeout_ms for the response with this id. Returns 1 with *ret filled, 0 on
 * timeout, -EPIPE when the backend left Connected, -EPROTO on a bad ring.
 */
int bf_q_kick(struct bf_queue *q);
/* Waits up to timeout_ms for an event or a xenstore change; -EPIPE if not Connected. */
int bf_q_poll(struct bf_queue *q, int timeout_ms);
int bf_q_wait_rsp(struct bf_queue *q, uint64_t id, struct bf_rsp *ret, int timeout_ms);

#endif
