/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers on top of <xen/io/ring.h> for the backend (consumer) side of
 * a shared request/response ring, plus the frontend-side response check used
 * by the test frontends.
 *
 * The ring page is shared with the frontend, which is hostile: it may write
 * any value into req_prod at any time. The rules these helpers encode:
 *   - read the producer index ONCE per batch (ring_back_req_prod), then the
 *     read barrier, then the requests up to that snapshot;
 *   - a producer more than one ring ahead of what we have answered is a
 *     protocol violation (RING_REQUEST_PROD_OVERFLOW in xen/io/ring.h): the
 *     caller closes the device (Linux xen-blkback's __do_block_io_op says
 *     "Frontend provided bogus ring requests"; xen-netback's
 *     xenvif_tx_build_gops calls xenvif_fatal_tx_err on "Impossible number of
 *     requests");
 *   - copy every request off the ring before looking at it (RING_COPY_REQUEST,
 *     the XSA-155 bug class), never read a slot twice.
 *
 * Pure header, no state: callable from any thread that owns the ring.
 * Never blocks, never allocates, never exits.
 */
#ifndef DDOM_RING_H
#define DDOM_RING_H

#include <errno.h>
#include <stdint.h>
#include <stdatomic.h>
#include <string.h>		/* memcpy, for RING_COPY_REQUEST */
#include <xen/xen.h>		/* fixes __XEN_INTERFACE_VERSION__ via xen-compat.h */
#include <xen/grant_table.h>	/* grant_ref_t, for the FLEX macros */

/*
 * Barriers between us and the other domain (another CPU, possibly another
 * VM). xen/io/ring.h expects the includer to define xen_mb/xen_rmb/xen_wmb
 * (libxenctrl's xenctrl.h does, with inline asm); for interface versions
 * before 0x00030208 it maps them to mb/rmb/wmb instead. C11 fences:
 *   full:  seq_cst fence (mfence / "lock add" on x86, dmb ish on arm64)
 *   read:  acquire fence (loads before it are not reordered after later loads)
 *   write: release fence (stores before it are visible before later stores)
 */
#define DDOM_RING_MB() atomic_thread_fence(memory_order_seq_cst)
#define DDOM_RING_RMB() atomic_thread_fence(memory_order_acquire)
#define DDOM_RING_WMB() atomic_thread_fence(memory_order_release)

#if __XEN_INTERFACE_VERSION__ < 0x00030208
#ifndef mb
#define mb() DDOM_RING_MB()
#endif
#ifndef rmb
#define rmb() DDOM_RING_RMB()
#endif
#ifndef wmb
#define wmb() DDOM_RING_WMB()
#endif
#else
#ifndef xen_mb
#define xen_mb() DDOM_RING_MB()
#endif
#ifndef xen_rmb
#define xen_rmb() DDOM_RING_RMB()
#endif
#ifndef xen_wmb
#define xen_wmb() DDOM_RING_WMB()
#endif
#endif

#include <xen/io/ring.h>

/* One read of a shared index: the compiler may neither repeat nor tear it. */
#define RING_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/*
 * Number of requests the frontend has produced past `cons`, given a snapshot
 * `prod` of its req_prod and our private rsp_prod_pvt, for a ring of `size`
 * entries. -EPROTO when prod is more than a ring ahead of the responses we
 * have produced (RING_REQUEST_PROD_OVERFLOW): the frontend is broken or
 * hostile, close the device. Unsigned arithmetic wraps as RING_IDX does.
 */
static inline int ring_req_pending(RING_IDX prod, RING_IDX cons, RING_IDX rsp_prod_pvt,
				   unsigned int size)
{
	if ((RING_IDX)(prod - rsp_prod_pvt) > size)
		return -EPROTO;
	/* cons never passes prod once prod passed the check above: cons <= prod. */
	if ((RING_IDX)(prod - cons) > size)
		return -EPROTO;
	return (int)(RING_IDX)(prod - cons);
}

/*
 * Backend: snapshot the frontend's req_prod of back ring `r` (a
 * *_back_ring_t) into *(ret_prod) and return how many requests are pending
 * (>= 0) or -EPROTO (see ring_req_pending). The read barrier orders the
 * index load before the caller's loads of the request slots it covers.
 * Consume with RING_COPY_REQUEST up to the snapshot, never beyond.
 */
#define RING_BACK_PENDING(r, ret_prod)                                                 \
	({                                                                             \
		RING_IDX prod_ = RING_READ_ONCE((r)->sring->req_prod);                  \
		xen_rmb(); /* index before the requests it publishes */                 \
		*(ret_prod) = prod_;                                                    \
		ring_req_pending(prod_, (r)->req_cons, (r)->rsp_prod_pvt, RING_SIZE(r)); \
	})

/*
 * Frontend: number of responses pending past rsp_cons given a snapshot of
 * rsp_prod, or -EPROTO when the backend claims more than a ring of
 * responses (RING_RESPONSE_PROD_OVERFLOW).
 */
static inline int ring_rsp_pending(RING_IDX prod, RING_IDX rsp_cons, unsigned int size)
{
	if ((RING_IDX)(prod - rsp_cons) > size)
		return -EPROTO;
	return (int)(RING_IDX)(prod - rsp_cons);
}

#define RING_FRONT_PENDING(r, ret_prod)                                        \
	({                                                                     \
		RING_IDX prod_ = RING_READ_ONCE((r)->sring->rsp_prod);          \
		xen_rmb(); /* index before the responses it publishes */        \
		*(ret_prod) = prod_;                                            \
		ring_rsp_pending(prod_, (r)->rsp_cons, RING_SIZE(r));           \
	})

/*
 * Consumer loop guard: true while taking request `cons` would put more than
 * a ring of requests in flight (RING_REQUEST_CONS_OVERFLOW): stop taking
 * requests until responses are produced.
 */
#define RING_BACK_CONS_FULL(r, cons) RING_REQUEST_CONS_OVERFLOW(r, cons)

/*
 * After a batch: push responses and learn whether to notify
 * (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: write barrier before the producer
 * index, full barrier before reading rsp_event); then re-arm req_event and
 * re-check for requests that raced in (RING_FINAL_CHECK_FOR_REQUESTS: full
 * barrier between the req_event store and the req_prod re-read). Forgetting
 * the final check loses a wakeup (STYLE.md pitfall 3).
 */

#endif
