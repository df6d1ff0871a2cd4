// SPDX-License-Identifier: GPL-2.0-only
/*
 * Persistent-grant cache and grant copy (see grant.h).
 *
 * The cache is a fixed array of entries, a hash of buckets (chains by
 * index) keyed by grant ref, and an LRU list. Everything is allocated at
 * creation: nothing here allocates afterwards. When a miss finds the cache
 * full, the least recently used 5% (at least one) are unmapped first, the
 * share Linux blkback's purge_persistent_gnt frees per round
 * (LRU_PERCENT_CLEAN in drivers/block/xen-blkback/blkback.c).
 *
 * Runs on the owning queue's worker thread only; never logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"

#define NIL (-1)
#define EVICT_PERCENT 5

struct pgnt {
	grant_ref_t gref;
	void *addr;		/* the kept mapping, one page */
	uint32_t pins;		/* in-flight I/O on the page: never evicted */
	int32_t hnext;		/* bucket chain, or free list */
	int32_t prev, next;	/* LRU: head is most recent */
};

struct blk_grants {
	const struct xen_ops *ops;
	struct xen_gnttab *gt;
	domid_t domid;
	unsigned max;
	unsigned count;
	unsigned nbuckets;	/* power of two */
	struct pgnt *ent;
	int32_t *bucket;
	int32_t free;
	int32_t lru_head, lru_tail;
	unsigned max_batch;
	struct xen_copy_seg *segs;
	struct blk_grant_stats st;
};

static unsigned hash(const struct blk_grants *g, grant_ref_t ref)
{
	return (ref * 2654435761u) & (g->nbuckets - 1);
}

int blk_grants_new(const struct xen_ops *ops, struct xen_gnttab *gt, domid_t domid,
		   unsigned max_persistent, unsigned max_batch, struct blk_grants **ret)
{
	struct blk_grants *g;
	unsigned i;

	if (!max_batch)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->ops = ops;
	g->gt = gt;
	g->domid = domid;
	g->max = max_persistent;
	g->max_batch = max_batch;
	g->free = NIL;
	g->lru_head = g->lru_tail = NIL;
	g->segs = calloc(max_batch, sizeof(*g->segs));
	if (!g->segs)
		goto err;
	if (g->max) {
		g->nbuckets = 1;
		while (g->nbuckets < 2 * g->max)
			g->nbuckets *= 2;
		g->ent = calloc(g->max, sizeof(*g->ent));
		g->bucket = malloc(g->nbuckets * sizeof(*g->bucket));
		if (!g->ent || !g->bucket)
			goto err;
		for (i = 0; i < g->nbuckets; i++)
			g->bucket[i] = NIL;
		for (i = 0; i < g->max; i++) {
			g->ent[i].hnext = g->free;
			g->free = i;
		}
	}
	*ret = g;
	return 0;
err:
	blk_grants_free(g);
	return -ENOMEM;
}

static void lru_unlink(struct blk_grants *g, int32_t i)
{
	struct pgnt *e = &g->ent[i];

	if (e->prev != NIL)
		g->ent[e->prev].next = e->next;
	else
		g->lru_head = e->next;
	if (e->next != NIL)
		g->ent[e->next].prev = e->prev;
	else
		g->lru_tail = e->prev;
}

static void lru_push_head(struct blk_grants *g, int32_t i)
{
	struct pgnt *e = &g->ent[i];

	e->prev = NIL;
	e->next = g->lru_head;
	if (g->lru_head != NIL)
		g->ent[g->lru_head].prev = i;
	g->lru_head = i;
	if (g->lru_tail == NIL)
		g->lru_tail = i;
}

static int32_t lookup(struct blk_grants *g, grant_ref_t ref)
{
	int32_t i;

	for (i = g->bucket[hash(g, ref)]; i != NIL; i = g->ent[i].hnext)
		if (g->ent[i].gref == ref)
			return i;
	return NIL;
}

static void drop(struct blk_grants *g, int32_t i)
{
	struct pgnt *e = &g->ent[i];
	int32_t *p = &g->bucket[hash(g, e->gref)];

	while (*p != i)
		p = &g->ent[*p].hnext;
	*p = e->hnext;
	lru_unlink(g, i);
	g->ops->gnttab_unmap(g->gt, e->addr, 1);
	g->st.unmaps++;
	e->addr = NULL;
	e->hnext = g->free;
	g->free = i;
	g->count--;
}

/* Unmaps the least recently used EVICT_PERCENT, passing over pinned ones. */
static void evict(struct blk_grants *g)
{
	unsigned n = g->max * EVICT_PERCENT / 100;
	int32_t i = g->lru_tail;

	if (!n)
		n = 1;
	while (n && i != NIL) {
		int32_t prev = g->ent[i].prev;

		if (!g->ent[i].pins) {
			drop(g, i);
			n--;
		}
		i = prev;
	}
}

/*
 * The cache entry of ref, mapping it on a miss; NIL when it cannot be (the
 * map failed, or every entry is pinned).
 */
static int32_t persistent_entry(struct blk_grants *g, grant_ref_t ref)
{
	int32_t i = lookup(g, ref);
	void *addr;

	if (i != NIL) {
		lru_unlink(g, i);
		lru_push_head(g, i);
		g->st.hits++;
		return i;
	}
	if (g->free == NIL)
		evict(g);
	if (g->free == NIL)
		return NIL;
	/* Writable even for writes (blkif.h feature-persistent, note 8). */
	if (g->ops->gnttab_map(g->gt, 1, g->domid, &ref, 1, &addr) < 0)
		return NIL;
	g->st.maps++;
	i = g->free;
	g->free = g->ent[i].hnext;
	g->ent[i].gref = ref;
	g->ent[i].addr = addr;
	g->ent[i].pins = 0;
	g->ent[i].hnext = g->bucket[hash(g, ref)];
	g->bucket[hash(g, ref)] = i;
	lru_push_head(g, i);
	g->count++;
	return i;
}

static void *persistent_addr(struct blk_grants *g, grant_ref_t ref)
{
	int32_t i = persistent_entry(g, ref);

	return i == NIL ? NULL : g->ent[i].addr;
}

int blk_grants_pin(struct blk_grants *g, const struct blk_xfer *x, unsigned n, void **addrs,
		   int32_t *pins)
{
	unsigned k;

	if (!g->max)
		return -EOPNOTSUPP;
	for (k = 0; k < n; k++) {
		int32_t i = persistent_entry(g, x[k].gref);

		if (i == NIL) {
			blk_grants_unpin(g, pins, k);
			return -ENOSPC;
		}
		g->ent[i].pins++;
		pins[k] = i;
		addrs[k] = (char *)g->ent[i].addr + x[k].offset;
	}
	g->st.pinned_segs += n;
	return 0;
}

void blk_grants_unpin(struct blk_grants *g, const int32_t *pins, unsigned n)
{
	while (n--)
		g->ent[pins[n]].pins--;
}

static int copy_batch(struct blk_grants *g, unsigned n)
{
	unsigned i;
	int r;

	if (!n)
		return 0;
	r = g->ops->gnttab_copy(g->gt, n, g->segs);
	g->st.copy_calls++;
	g->st.copy_segs += n;
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (g->segs[i].status != GNTST_okay)
			return g->segs[i].status == GNTST_permission_denied ? -EPERM : -EINVAL;
	return 0;
}

static void add_copy(struct blk_grants *g, unsigned k, const struct blk_xfer *x, bool to_guest)
{
	struct xen_copy_seg *s = &g->segs[k];
	union xen_copy_ptr *foreign = to_guest ? &s->dest : &s->source;
	union xen_copy_ptr *local = to_guest ? &s->source : &s->dest;

	memset(s, 0, sizeof(*s));
	foreign->foreign.ref = x->gref;
	foreign->foreign.offset = x->offset;
	foreign->foreign.domid = g->domid;
	local->virt = x->local;
	s->len = x->len;
	s->flags = to_guest ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
}

int blk_grants_xfer(struct blk_grants *g, const struct blk_xfer *x, unsigned n, bool to_guest)
{
	unsigned i, k = 0;
	int r;

	for (i = 0; i < n; i++) {
		char *page = g->max ? persistent_addr(g, x[i].gref) : NULL;

		if (page) {
			if (to_guest)
				memcpy(page + x[i].offset, x[i].local, x[i].len);
			else
				memcpy(x[i].local, page + x[i].offset, x[i].len);
			continue;
		}
		add_copy(g, k++, &x[i], to_guest);
		if (k == g->max_batch) {
			r = copy_batch(g, k);
			if (r < 0)
				return r;
			k = 0;
		}
	}
	return copy_batch(g, k);
}

unsigned blk_grants_cached(const struct blk_grants *g)
{
	return g->count;
}

void blk_grants_stats(const struct blk_grants *g, struct blk_grant_stats *ret)
{
	*ret = g->st;
}

void blk_grants_free(struct blk_grants *g)
{
	if (!g)
		return;
	if (g->ent)
		while (g->lru_tail != NIL)
			drop(g, g->lru_tail);
	free(g->ent);
	free(g->bucket);
	free(g->segs);
	free(g);
}
