/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Moving data between a frontend's granted pages and the backend's private
 * buffers, per queue.
 *
 * With feature-persistent (blkif.h), grants are mapped once and kept in a
 * bounded cache (least recently used evicted first, a batch at a time, as
 * Linux blkback purges its persistent grants); data is memcpy'd to and from
 * the kept mappings, so in steady state there is no map or unmap per
 * request. Without it (or for a grant the cache cannot map), the data moves
 * by grant copy, one batch of copy segments per call.
 *
 * With blk_grants_pin the I/O itself runs on the kept mapping (no bounce
 * copy); such entries are pinned until the request is answered and
 * eviction passes over them. Otherwise a mapping is used only inside
 * blk_grants_xfer (data lands in private bounce buffers before any I/O).
 *
 * One struct blk_grants per queue, used only by that queue's worker thread.
 */
#ifndef BLKBACKD_GRANT_H
#define BLKBACKD_GRANT_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "xen-ops.h"

struct blk_xfer {
	grant_ref_t gref;
	uint16_t offset;	/* in the granted page */
	uint16_t len;		/* offset + len <= XEN_PAGE_SIZE (checked by the caller) */
	void *local;		/* private buffer */
};

struct blk_grant_stats {
	uint64_t maps;		/* persistent mappings made */
	uint64_t unmaps;	/* persistent mappings evicted or dropped */
	uint64_t copy_segs;	/* segments moved by grant copy */
	uint64_t copy_calls;	/* gnttab_copy batches */
	uint64_t hits;		/* segments served from a kept mapping */
	uint64_t pinned_segs;	/* segments whose I/O used the kept mapping itself */
};

struct blk_grants;

/*
 * max_persistent: cache size in grants (0: grant copy only). max_batch:
 * most xfers one call moves (sizes the copy-segment array).
 */
int blk_grants_new(const struct xen_ops *ops, struct xen_gnttab *gt, domid_t domid,
		   unsigned max_persistent, unsigned max_batch, struct blk_grants **ret);
/* Unmaps every kept grant. NULL is fine. */
void blk_grants_free(struct blk_grants *g);

/*
 * Move n xfers: from the guest's pages into local (to_guest false), or from
 * local into the guest's pages (to_guest true). 0 when every one moved;
 * else -errno of the first failure (a bad, revoked or read-only grant), and
 * the request must be answered with an error.
 */
int blk_grants_xfer(struct blk_grants *g, const struct blk_xfer *x, unsigned n, bool to_guest);

/*
 * Zero copy, persistent grants only: maps (or finds) each xfer's grant in
 * the cache and pins it, so it is not evicted while I/O runs on it;
 * addrs[k] = the mapping + x[k].offset, pins[k] the handle to unpin with.
 * 0, or -errno with nothing pinned: -EOPNOTSUPP without a cache, -ENOSPC
 * when a grant cannot be kept (map failed, every entry pinned); the caller
 * then moves the data by blk_grants_xfer instead.
 */
int blk_grants_pin(struct blk_grants *g, const struct blk_xfer *x, unsigned n, void **addrs,
		   int32_t *pins);
void blk_grants_unpin(struct blk_grants *g, const int32_t *pins, unsigned n);

unsigned blk_grants_cached(const struct blk_grants *g);
void blk_grants_stats(const struct blk_grants *g, struct blk_grant_stats *ret);

#endif
