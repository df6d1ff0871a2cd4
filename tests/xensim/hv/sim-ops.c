// SPDX-License-Identifier: GPL-2.0-only
/*
 * The xensim seam: `xen_ops_default` for programs run inside a simulated
 * domain (`xensim exec`). It behaves like Xen plus Linux's gntdev, gntalloc
 * and evtchn drivers as libxengnttab / libxengntshr / libxenevtchn show them
 * to user space, and is stricter wherever Linux is lenient, so that a backend
 * bug shows up here first. Where each rule comes from is cited beside it and
 * summarised in docs/xensim-hv.md.
 *
 * Called from any thread that owns the handle (handles are not thread-safe,
 * as the seam says). The data paths (map, unmap, copy, notify, pending,
 * unmask) do not allocate; map/unmap cost one mmap per run of contiguous
 * frames, notify and pending one syscall. Nothing here exits or aborts.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv-priv.h"

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* What every handle kind has: its registry slot and its domain. */
struct hv_handle {
	int slot;
	int lock_fd;
	uint32_t slot_gen;
	domid_t domid;
	uint32_t dom_gen;
};

static int handle_open(struct hv_handle *h, enum hv_kind kind)
{
	int r = hv_proc_init();

	if (r)
		return r;
	hv_sweep();
	r = hv_slot_claim(kind, &h->slot, &h->lock_fd);
	if (r)
		return r;
	h->slot_gen = hv_proc.reg->slots[h->slot].gen;
	h->domid = hv_proc.reg->slots[h->slot].domid;
	h->dom_gen = hv_proc.reg->slots[h->slot].dom_gen;
	return 0;
}

static bool handle_alive(const struct hv_handle *h)
{
	return hv_dom_alive(h->domid, h->dom_gen);
}

/* ---- grant tables, mapping side (gntdev) ---- */

struct xen_gnttab {
	struct hv_handle h;
	uint32_t max_grants;
	uint32_t nr_mapped;
	uint32_t cursor;	/* next-fit in the arena: freed ranges are reused late */
	uint8_t *arena;		/* HV_MAX_MAPS pages of reserved address space */
	struct hv_mt *mt;	/* DIR/hv/mt/<slot>: one entry per arena page */
};

#define ARENA_SIZE ((size_t)HV_MAX_MAPS * XEN_PAGE_SIZE)
#define MT_SIZE ((size_t)HV_MAX_MAPS * sizeof(struct hv_mt))

static void sim_gnttab_close(struct xen_gnttab *g)
{
	char name[32];

	if (!g)
		return;
	/* Pages first: once unpinned, the granter may free them. */
	if (g->arena)
		munmap(g->arena, ARENA_SIZE);
	if (g->mt) {
		hv_mt_release(g->mt, HV_MAX_MAPS);
		munmap(g->mt, MT_SIZE);
	}
	snprintf(name, sizeof(name), "mt/%d", g->h.slot);
	unlinkat(hv_proc.hvfd, name, 0);
	hv_slot_release(g->h.slot, g->h.lock_fd);
	free(g);
}

static int sim_gnttab_open(struct xen_gnttab **ret)
{
	struct xen_gnttab *g = calloc(1, sizeof(*g));
	char name[32];
	int r, fd;

	if (!g)
		return -ENOMEM;
	r = handle_open(&g->h, HV_KIND_GNTTAB);
	if (r) {
		free(g);
		return r;
	}
	snprintf(name, sizeof(name), "mt/%d", g->h.slot);
	fd = openat(hv_proc.hvfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, MT_SIZE)) {
		r = neg_errno();
		goto fail;
	}
	g->mt = mmap(NULL, MT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (g->mt == MAP_FAILED) {
		g->mt = NULL;
		r = neg_errno();
		goto fail;
	}
	close(fd);
	fd = -1;
	g->arena = mmap(NULL, ARENA_SIZE, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g->arena == MAP_FAILED) {
		g->arena = NULL;
		r = neg_errno();
		goto fail;
	}
	g->max_grants = HV_MAX_MAPS;
	*ret = g;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	sim_gnttab_close(g);
	return r;
}

/*
 * libxengnttab's set_max_grants is a no-op on current Linux (gntdev dropped
 * the ioctl and libxengnttab ignores ENOTTY); xensim enforces it, up to its
 * per-handle cap.
 */
static int sim_gnttab_set_max_grants(struct xen_gnttab *g, uint32_t count)
{
	if (count > HV_MAX_MAPS)
		return -EINVAL;
	g->max_grants = count;
	return 0;
}

/* First arena page of `count` free consecutive pages, or -1. */
static long arena_find(struct xen_gnttab *g, uint32_t count)
{
	uint32_t run = 0;

	for (uint64_t k = 0; k < (uint64_t)HV_MAX_MAPS + count; k++) {
		uint32_t i = (g->cursor + k) % HV_MAX_MAPS;

		if (i == 0)
			run = 0;
		if (g->mt[i].flags) {
			run = 0;
			continue;
		}
		if (++run == count) {
			g->cursor = (i + 1) % HV_MAX_MAPS;
			return (long)i + 1 - count;
		}
	}
	return -1;
}

/*
 * Under d->gt->lock: Xen's checks for mapping one grant (map_grant_ref and
 * _set_status_v1 in xen/common/grant_table.c): a ref past the table is
 * GNTST_bad_gntref; an entry that is not GTF_permit_access for our domid, or
 * read-only when a writable map is asked, is GNTST_general_error. Then pin it
 * and set GTF_reading (and GTF_writing) so the granter cannot end access.
 * xensim also refuses a grant its granter has already unshared (pending
 * deferred free), which Xen would still map.
 */
static int gt_pin(struct hv_dom *d, grant_ref_t ref, domid_t me, bool write)
{
	struct hv_gnttab *gt = d->gt;
	grant_entry_v1_t *e;
	struct hv_act *act;
	uint16_t f;

	if (ref >= gt->nr_grants)
		return GNTST_bad_gntref;
	e = &gt->shared[ref];
	act = &gt->act[ref];
	f = hv_flags_load(e);
	if ((f & GTF_type_mask) != GTF_permit_access || e->domid != me ||
	    (act->flags & HV_ACT_DEFER) || e->frame >= gt->mem_pages)
		return GNTST_general_error;
	if (write && (f & GTF_readonly))
		return GNTST_general_error;
	if (act->rd == UINT16_MAX || act->wr == UINT16_MAX)
		return GNTST_general_error;	/* Xen's pin-count overflow check */
	if (write)
		act->wr++;
	else
		act->rd++;
	hv_flags_store(e, f | GTF_reading | (write ? GTF_writing : 0));
	return GNTST_okay;
}

/* Under d->gt->lock: forget arena pages [idx, idx+n) and drop their pins. */
static void mt_drop(struct xen_gnttab *g, struct hv_dom *d, uint32_t idx, uint32_t n)
{
	for (uint32_t i = idx; i < idx + n; i++) {
		if (d && (g->mt[i].flags & HV_MT_USED))
			hv_gt_unpin(d, g->mt[i].ref, g->mt[i].flags & HV_MT_WRITE);
		memset(&g->mt[i], 0, sizeof(g->mt[i]));
	}
}

/* Pins every ref and records it at arena pages idx..; all or nothing (-EINVAL). */
static int pin_all(struct xen_gnttab *g, struct hv_dom *d, uint32_t idx, uint32_t count,
		   const grant_ref_t *refs, int prot_write)
{
	uint16_t head = HV_MT_HEAD;
	uint32_t i;
	int r = hv_lock(&d->gt->lock);

	if (r)
		return r;
	for (i = 0; i < count; i++) {
		if (gt_pin(d, refs[i], g->h.domid, prot_write) != GNTST_okay)
			break;
		g->mt[idx + i] = (struct hv_mt){
			.ref = refs[i], .domid = d->domid, .count = head ? count : 0,
			.flags = HV_MT_USED | head | (prot_write ? HV_MT_WRITE : 0),
			.dom_gen = d->gen,
		};
		head = 0;
	}
	if (i < count) {
		mt_drop(g, d, idx, i);
		r = -EINVAL;
	}
	hv_unlock(&d->gt->lock);
	return r;
}

/* Maps the pinned grants' frames at their arena pages, one mmap per frame run. */
static int map_frames(struct xen_gnttab *g, struct hv_dom *d, uint32_t idx, uint32_t count,
		      int prot)
{
	uint32_t i = 0;

	while (i < count) {
		/* Frames cannot change while pinned: reading them unlocked is safe. */
		uint32_t f0 = d->gt->shared[g->mt[idx + i].ref].frame, n = 1;
		void *p;

		while (i + n < count && d->gt->shared[g->mt[idx + i + n].ref].frame == f0 + n)
			n++;
		p = mmap(g->arena + (size_t)(idx + i) * XEN_PAGE_SIZE, (size_t)n * XEN_PAGE_SIZE,
			 prot, MAP_SHARED | MAP_FIXED, d->mem_fd, (off_t)f0 * XEN_PAGE_SIZE);
		if (p == MAP_FAILED)
			return neg_errno();
		i += n;
	}
	return 0;
}

static int arena_clear(struct xen_gnttab *g, uint32_t idx, uint32_t count)
{
	void *p = mmap(g->arena + (size_t)idx * XEN_PAGE_SIZE, (size_t)count * XEN_PAGE_SIZE,
		       PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? neg_errno() : 0;
}

/*
 * gntdev's rules as libxengnttab shows them: count 0 is -EINVAL
 * (gntdev_test_page_count); any grant whose status is not GNTST_okay fails
 * the whole mmap with -EINVAL (gntdev_map_grant_pages in
 * drivers/xen/gntdev.c) and nothing stays mapped; over the handle's cap is
 * -ENOMEM. Every map is a fresh mapping of the granter's pages, so an access
 * after unmap faults.
 */
static int sim_gnttab_map(struct xen_gnttab *g, uint32_t count, domid_t domid,
			  const grant_ref_t *refs, int prot_write, void **ret_addr)
{
	int prot = PROT_READ | (prot_write ? PROT_WRITE : 0);
	struct hv_dom *d;
	long idx;
	int r;

	if (!count || !refs || !ret_addr)
		return -EINVAL;
	if (!handle_alive(&g->h))
		return -ESRCH;
	r = hv_fault_hit(HV_FAULT_MAP);
	if (r)
		return r;
	if (g->nr_mapped > g->max_grants || count > g->max_grants - g->nr_mapped)
		return -ENOMEM;
	d = hv_dom_get(domid);
	if (!d)
		return -EINVAL;	/* GNTST_bad_domain */
	idx = arena_find(g, count);
	if (idx < 0)
		return -ENOMEM;
	r = pin_all(g, d, (uint32_t)idx, count, refs, prot_write);
	if (r)
		return r;
	r = map_frames(g, d, idx, count, prot);
	if (r) {
		arena_clear(g, idx, count);
		if (!hv_lock(&d->gt->lock)) {
			mt_drop(g, d, idx, count);
			hv_unlock(&d->gt->lock);
		}
		return r;
	}
	g->nr_mapped += count;
	*ret_addr = g->arena + (size_t)idx * XEN_PAGE_SIZE;
	return 0;
}

/*
 * libxengnttab finds the mapping by address (IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR)
 * and refuses a count that differs from the mapping's: -EINVAL
 * (tools/libs/gnttab/linux.c osdep_gnttab_unmap).
 */
static int sim_gnttab_unmap(struct xen_gnttab *g, void *addr, uint32_t count)
{
	uintptr_t off = (uintptr_t)addr - (uintptr_t)g->arena;
	struct hv_dom *d;
	uint32_t idx;
	int r;

	if ((uint8_t *)addr < g->arena || off % XEN_PAGE_SIZE || off >= ARENA_SIZE)
		return -EINVAL;
	idx = off / XEN_PAGE_SIZE;
	if (!(g->mt[idx].flags & HV_MT_HEAD) || g->mt[idx].count != count)
		return -EINVAL;
	r = arena_clear(g, idx, count);
	if (r)
		return r;
	d = hv_dom_get_any(g->mt[idx].domid);
	if (d && d->gen != g->mt[idx].dom_gen)
		d = NULL;	/* granter destroyed: nothing left to unpin */
	if (d && hv_lock(&d->gt->lock))
		d = NULL;
	mt_drop(g, d, idx, count);
	if (d)
		hv_unlock(&d->gt->lock);
	g->nr_mapped -= count;
	return 0;
}

/*
 * Under the granter's lock: the page behind one side of a copy, or a GNTST_*
 * code (acquire_grant_for_copy / _set_status_v1 in xen/common/grant_table.c).
 */
static int copy_side(struct hv_dom *d, grant_ref_t ref, domid_t me, bool write, uint8_t **page)
{
	const struct hv_gnttab *gt = d->gt;
	const grant_entry_v1_t *e;
	uint16_t f;

	if (ref >= gt->nr_grants)
		return GNTST_bad_gntref;
	e = &gt->shared[ref];
	f = hv_flags_load(e);
	if ((f & GTF_type_mask) != GTF_permit_access || e->domid != me ||
	    (gt->act[ref].flags & HV_ACT_DEFER) || e->frame >= gt->mem_pages)
		return GNTST_general_error;
	if (write && (f & GTF_readonly))
		return GNTST_general_error;
	*page = d->mem + (size_t)e->frame * XEN_PAGE_SIZE;
	return GNTST_okay;
}

static int16_t copy_one(struct xen_gnttab *g, struct xen_copy_seg *s)
{
	bool sg = s->flags & GNTCOPY_source_gref, dg = s->flags & GNTCOPY_dest_gref;
	struct hv_dom *sd = NULL, *dd = NULL;
	uint8_t *src = s->source.virt, *dst = s->dest.virt, *page;
	int st = GNTST_okay;

	if (sg && !(sd = hv_dom_get(s->source.foreign.domid)))
		return GNTST_bad_domain;
	if (dg && !(dd = hv_dom_get(s->dest.foreign.domid)))
		return GNTST_bad_domain;
	if (hv_lock_pair(sd, dd))
		return GNTST_general_error;
	if (sg) {
		st = copy_side(sd, s->source.foreign.ref, g->h.domid, false, &page);
		if (st == GNTST_okay)
			src = page + s->source.foreign.offset;
	}
	if (st == GNTST_okay && dg) {
		st = copy_side(dd, s->dest.foreign.ref, g->h.domid, true, &page);
		if (st == GNTST_okay)
			dst = page + s->dest.foreign.offset;
	}
	if (st == GNTST_okay)
		memmove(dst, src, s->len);
	hv_unlock_pair(sd, dd);
	return st;
}

/*
 * gntdev checks every segment before Xen sees it: a segment with no grant
 * side, or whose grant side crosses the page, fails the whole ioctl with
 * -EINVAL (gntdev_grant_copy_seg in drivers/xen/gntdev.c). xensim checks the
 * whole batch first and then copies nothing (Linux may have copied the
 * segments before the bad one: callers can rely on neither).
 */
static int sim_gnttab_copy(struct xen_gnttab *g, uint32_t count, struct xen_copy_seg *segs)
{
	int r;

	for (uint32_t i = 0; i < count; i++) {
		const struct xen_copy_seg *s = &segs[i];

		if (!(s->flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) ||
		    (s->flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref)))
			return -EINVAL;
		if ((s->flags & GNTCOPY_source_gref) &&
		    s->source.foreign.offset + s->len > XEN_PAGE_SIZE)
			return -EINVAL;
		if ((s->flags & GNTCOPY_dest_gref) &&
		    s->dest.foreign.offset + s->len > XEN_PAGE_SIZE)
			return -EINVAL;
	}
	if (!handle_alive(&g->h))
		return -ESRCH;
	r = hv_fault_hit(HV_FAULT_COPY);
	if (r)
		return r;
	for (uint32_t i = 0; i < count; i++)
		segs[i].status = copy_one(g, &segs[i]);
	return 0;
}

/* ---- grant tables, granting side (gntalloc) ---- */

struct shr_rec {
	struct shr_rec *next;
	uint8_t *addr;
	uint32_t count;
	grant_ref_t refs[];
};

struct xen_gntshr {
	struct hv_handle h;
	struct shr_rec *recs;
};

static int sim_gntshr_open(struct xen_gntshr **ret)
{
	struct xen_gntshr *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = handle_open(&s->h, HV_KIND_GNTSHR);
	if (r) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Under gt->lock: the next free ref (next-fit), or 0 when the table is full. */
static uint32_t alloc_ref(struct hv_gnttab *gt)
{
	for (uint32_t k = 0; k < gt->nr_grants; k++) {
		uint32_t ref = gt->ref_cursor;

		gt->ref_cursor = ref + 1 >= gt->nr_grants ? GNTTAB_NR_RESERVED_ENTRIES : ref + 1;
		if (ref >= GNTTAB_NR_RESERVED_ENTRIES && !gt->act[ref].owner &&
		    !hv_flags_load(&gt->shared[ref]))
			return ref;
	}
	return 0;
}

/* Under gt->lock: the next free page of guest memory, or UINT32_MAX. */
static uint32_t alloc_page(struct hv_gnttab *gt)
{
	for (uint32_t k = 0; k < gt->mem_pages; k++) {
		uint32_t p = gt->page_cursor;

		gt->page_cursor = p + 1 >= gt->mem_pages ? 0 : p + 1;
		if (!gt->page_used[p])
			return p;
	}
	return UINT32_MAX;
}

/* Under gt->lock: end access to our refs; true when some are still mapped. */
static bool unshare_refs(struct xen_gntshr *s, struct hv_dom *d, const grant_ref_t *refs,
			 uint32_t n)
{
	bool deferred = false;

	for (uint32_t i = 0; i < n; i++) {
		const struct hv_act *act = &d->gt->act[refs[i]];

		if (act->owner == s->h.slot + 1 && act->owner_gen == s->h.slot_gen) {
			hv_gt_end_access(d, refs[i]);
			deferred |= act->owner != 0;
		}
	}
	return deferred;
}

/*
 * Grant `count` fresh pages, as gntalloc does (drivers/xen/gntalloc.c
 * add_grefs): zeroed pages, entry filled frame and domid first, then a write
 * barrier, then the flags (the order Linux's gnttab_grant_foreign_access_ref
 * uses so that Xen never sees a half-written entry). Over gntalloc's limit is
 * -ENOSPC, as there.
 */
static int grant_pages(struct xen_gntshr *s, struct hv_dom *d, domid_t domid, uint32_t count,
		       bool writable, grant_ref_t *refs)
{
	struct hv_gnttab *gt = d->gt;
	uint32_t i;
	int r;

	r = hv_lock(&gt->lock);
	if (r)
		return r;
	if (gt->nr_shared + count > hv_proc.gntalloc_limit) {
		hv_unlock(&gt->lock);
		return -ENOSPC;
	}
	for (i = 0; i < count; i++) {
		uint32_t ref = alloc_ref(gt), page = alloc_page(gt);
		grant_entry_v1_t *e = &gt->shared[ref];

		if (!ref || page == UINT32_MAX) {
			r = ref ? -ENOMEM : -ENOSPC;
			break;
		}
		gt->act[ref] = (struct hv_act){
			.owner = s->h.slot + 1, .owner_gen = s->h.slot_gen, .page = page,
		};
		gt->page_used[page] = 1;
		gt->nr_shared++;
		e->frame = page;
		e->domid = domid;
		hv_flags_store(e, GTF_permit_access | (writable ? 0 : GTF_readonly));
		refs[i] = ref;
	}
	if (r)
		unshare_refs(s, d, refs, i);
	hv_unlock(&gt->lock);
	return r;
}

/* Maps our freshly granted pages at addr, one mmap per page run; undoes the grants on failure. */
static int map_own_pages(struct xen_gntshr *s, struct hv_dom *d, uint8_t *addr,
			 const grant_ref_t *refs, uint32_t count)
{
	for (uint32_t i = 0, n; i < count; i += n) {
		/* Our own grants: their pages cannot change under us. */
		uint32_t page = d->gt->act[refs[i]].page;

		for (n = 1; i + n < count && d->gt->act[refs[i + n]].page == page + n; n++)
			;
		if (mmap(addr + (size_t)i * XEN_PAGE_SIZE, (size_t)n * XEN_PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, d->mem_fd,
			 (off_t)page * XEN_PAGE_SIZE) == MAP_FAILED) {
			int r = neg_errno();

			if (!hv_lock(&d->gt->lock)) {
				unshare_refs(s, d, refs, count);
				hv_unlock(&d->gt->lock);
			}
			return r;
		}
	}
	return 0;
}

static int sim_gntshr_share(struct xen_gntshr *s, domid_t domid, uint32_t count, int writable,
			    grant_ref_t *ret_refs, void **ret_addr)
{
	struct shr_rec *rec;
	struct hv_dom *d;
	uint8_t *addr;
	int r;

	if (!count || !ret_refs || !ret_addr)
		return -EINVAL;
	if (count > hv_proc.gntalloc_limit)
		return -ENOSPC;
	if (!handle_alive(&s->h) || !(d = hv_dom_get(s->h.domid)))
		return -ESRCH;
	r = hv_fault_hit(HV_FAULT_SHARE);
	if (r)
		return r;
	rec = malloc(sizeof(*rec) + count * sizeof(rec->refs[0]));
	if (!rec)
		return -ENOMEM;
	addr = mmap(NULL, (size_t)count * XEN_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED) {
		free(rec);
		return neg_errno();
	}
	r = grant_pages(s, d, domid, count, writable, rec->refs);
	if (r == -ENOSPC || r == -ENOMEM) {
		/* Refs or pages may be held by dead mappers: reclaim, retry once. */
		hv_sweep();
		r = grant_pages(s, d, domid, count, writable, rec->refs);
	}
	if (!r)
		r = map_own_pages(s, d, addr, rec->refs, count);
	if (r) {
		munmap(addr, (size_t)count * XEN_PAGE_SIZE);
		free(rec);
		return r;
	}
	rec->addr = addr;
	rec->count = count;
	rec->next = s->recs;
	s->recs = rec;
	memcpy(ret_refs, rec->refs, count * sizeof(rec->refs[0]));
	*ret_addr = addr;
	return 0;
}

static void unshare_rec(struct xen_gntshr *s, struct shr_rec *rec)
{
	struct hv_dom *d = hv_dom_get_any(s->h.domid);

	bool deferred = false;

	munmap(rec->addr, (size_t)rec->count * XEN_PAGE_SIZE);
	if (d && d->gen == s->h.dom_gen && !hv_lock(&d->gt->lock)) {
		deferred = unshare_refs(s, d, rec->refs, rec->count);
		hv_unlock(&d->gt->lock);
	}
	free(rec);
	/* Still mapped: if the mapper is dead, reclaiming it completes the free. */
	if (deferred)
		hv_sweep();
}

/* Only a whole earlier share can be unshared: anything else is -EINVAL. */
static int sim_gntshr_unshare(struct xen_gntshr *s, void *addr, uint32_t count)
{
	for (struct shr_rec **pp = &s->recs; *pp; pp = &(*pp)->next) {
		struct shr_rec *rec = *pp;

		if (rec->addr == addr && rec->count == count) {
			*pp = rec->next;
			unshare_rec(s, rec);
			return 0;
		}
	}
	return -EINVAL;
}

static void sim_gntshr_close(struct xen_gntshr *s)
{
	if (!s)
		return;
	while (s->recs) {
		struct shr_rec *rec = s->recs;

		s->recs = rec->next;
		unshare_rec(s, rec);
	}
	hv_slot_release(s->h.slot, s->h.lock_fd);
	free(s);
}

/* ---- event channels (evtchn) ---- */

struct xen_evtchn {
	struct hv_handle h;
	int fifo;		/* DIR/hv/evt/<slot>: the ring of fired ports */
};

static void evt_unbind_all(struct xen_evtchn *e)
{
	struct hv_dom *d = hv_dom_get_any(e->h.domid);

	if (!d || d->gen != e->h.dom_gen || hv_lock(&hv_proc.reg->evt_lock))
		return;
	for (evtchn_port_t p = 1; p < HV_NR_PORTS; p++) {
		const struct hv_port *hp = &d->ev->port[p];

		if (hp->owner == e->h.slot + 1 && hp->owner_gen == e->h.slot_gen)
			hv_evt_close_port(d->ev, d->domid, p);
	}
	hv_unlock(&hv_proc.reg->evt_lock);
}

static void sim_evtchn_close(struct xen_evtchn *e)
{
	char name[32];

	if (!e)
		return;
	evt_unbind_all(e);
	snprintf(name, sizeof(name), "evt/%d.%u", e->h.slot, e->h.slot_gen);
	unlinkat(hv_proc.hvfd, name, 0);
	if (e->fifo >= 0)
		close(e->fifo);
	hv_slot_release(e->h.slot, e->h.lock_fd);
	free(e);
}

static int sim_evtchn_open(struct xen_evtchn **ret)
{
	struct xen_evtchn *e = calloc(1, sizeof(*e));
	char name[32];
	int r;

	if (!e)
		return -ENOMEM;
	r = handle_open(&e->h, HV_KIND_EVTCHN);
	if (r) {
		free(e);
		return r;
	}
	snprintf(name, sizeof(name), "evt/%d.%u", e->h.slot, e->h.slot_gen);
	unlinkat(hv_proc.hvfd, name, 0);
	e->fifo = -1;
	if (mkfifoat(hv_proc.hvfd, name, 0600)) {
		r = neg_errno();
		goto fail;
	}
	/* O_RDWR: the FIFO never reports EOF while we hold it. */
	e->fifo = openat(hv_proc.hvfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (e->fifo < 0) {
		r = neg_errno();
		goto fail;
	}
	*ret = e;
	return 0;
fail:
	sim_evtchn_close(e);
	return r;
}

static int sim_evtchn_fd(struct xen_evtchn *e)
{
	return e->fifo;
}

/*
 * Under evt_lock: a port of ours. Linux's evtchn ioctls answer -EINVAL for a
 * port past the table and -ENOTCONN for a port this fd did not bind
 * (drivers/xen/evtchn.c, IOCTL_EVTCHN_UNBIND / IOCTL_EVTCHN_NOTIFY).
 */
static int own_port(struct xen_evtchn *e, struct hv_dom *d, evtchn_port_t port,
		    struct hv_port **ret)
{
	struct hv_port *p;

	if (port >= HV_NR_PORTS)
		return -EINVAL;
	p = &d->ev->port[port];
	if (p->state == HV_ECS_FREE || p->owner != e->h.slot + 1 || p->owner_gen != e->h.slot_gen)
		return -ENOTCONN;
	*ret = p;
	return 0;
}

/*
 * Under evt_lock: set the port pending as Xen does. Linux's evtchn driver
 * masks a port as it hands it to user space (evtchn_interrupt disables the
 * irq) and Xen clears the pending bit on the upcall; while masked, further
 * notifications only set pending, and the unmask re-raises it once.
 */
/* Under evt_lock; handle h (the caller's) owes the delivery until it is made. */
static void raise_port(const struct hv_handle *h, struct hv_port *p, evtchn_port_t port,
		       struct hv_dlv *dlv)
{
	if (p->masked) {
		p->pending = 1;
		return;
	}
	p->masked = 1;
	p->pending = 0;
	hv_evt_upcall(p, port, dlv);
	hv_evt_owe(p, h->slot, h->slot_gen, dlv);
}

/* Under evt_lock: Xen's get_free_port, lowest free first; -ENOSPC when full. */
static int alloc_port(struct hv_dom *d)
{
	for (evtchn_port_t p = 1; p < HV_NR_PORTS; p++)
		if (d->ev->port[p].state == HV_ECS_FREE)
			return p;
	return -ENOSPC;
}

static int evt_begin(struct xen_evtchn *e, struct hv_dom **ret)
{
	struct hv_dom *d;

	if (!handle_alive(&e->h) || !(d = hv_dom_get(e->h.domid)))
		return -ESRCH;
	*ret = d;
	return hv_lock(&hv_proc.reg->evt_lock);
}

static int sim_evtchn_bind_unbound(struct xen_evtchn *e, domid_t domid)
{
	struct hv_dom *d;
	int r = hv_fault_hit(HV_FAULT_BIND);

	if (r || (r = evt_begin(e, &d)))
		return r;
	r = alloc_port(d);
	if (r == -ENOSPC) {
		/* Ports may be held by dead processes of this domain: reclaim, retry. */
		hv_unlock(&hv_proc.reg->evt_lock);
		hv_sweep();
		if ((r = evt_begin(e, &d)))
			return r;
		r = alloc_port(d);
	}
	if (r > 0)
		d->ev->port[r] = (struct hv_port){
			.state = HV_ECS_UNBOUND,
			.remote_dom = domid == DOMID_SELF ? e->h.domid : domid,
			.owner = e->h.slot + 1, .owner_gen = e->h.slot_gen,
		};
	hv_unlock(&hv_proc.reg->evt_lock);
	return r;
}

/*
 * Xen's evtchn_bind_interdomain (xen/common/event_channel.c): no such domain
 * is -ESRCH; a remote port that is out of range, not ECS_UNBOUND, or unbound
 * for another domain is -EINVAL. Both ends become interdomain and the local
 * port is set pending at once ("we may have lost notifications on the remote
 * unbound port"), so the binder sees one event it must unmask.
 * *busy tells the caller the remote port is still held (maybe by a dead
 * process: worth a sweep and one retry).
 */
static int bind_locked(struct xen_evtchn *e, struct hv_dom *d, domid_t rdom,
		       evtchn_port_t rport, bool *busy, struct hv_dlv *dlv)
{
	struct hv_dom *rd = hv_dom_get(rdom);
	struct hv_port *rp, *lp;
	int port;

	if (!rd)
		return -ESRCH;
	if (rport >= HV_NR_PORTS)
		return -EINVAL;
	rp = &rd->ev->port[rport];
	if (rp->state != HV_ECS_UNBOUND || rp->remote_dom != e->h.domid) {
		*busy = rp->state == HV_ECS_INTERDOMAIN;
		return -EINVAL;
	}
	port = alloc_port(d);
	if (port < 0)
		return port;
	lp = &d->ev->port[port];
	*lp = (struct hv_port){
		.state = HV_ECS_INTERDOMAIN, .remote_dom = rdom, .remote_port = rport,
		.owner = e->h.slot + 1, .owner_gen = e->h.slot_gen,
	};
	rp->state = HV_ECS_INTERDOMAIN;
	rp->remote_dom = e->h.domid;
	rp->remote_port = port;
	raise_port(&e->h, lp, port, dlv);
	return port;
}

static int sim_evtchn_bind_interdomain(struct xen_evtchn *e, domid_t domid,
				       evtchn_port_t remote_port)
{
	domid_t rdom = domid == DOMID_SELF ? e->h.domid : domid;
	struct hv_dom *d;
	int r = hv_fault_hit(HV_FAULT_BIND);

	for (int attempt = 0; !r; attempt++) {
		struct hv_dlv dlv = { .go = false };
		bool busy = false;

		r = evt_begin(e, &d);
		if (r)
			return r;
		r = bind_locked(e, d, rdom, remote_port, &busy, &dlv);
		hv_unlock(&hv_proc.reg->evt_lock);
		hv_evt_send(&dlv);
		if ((!busy && r != -ENOSPC) || attempt)
			return r;
		/* Held by a process that may have died: reclaim, then retry once. */
		hv_sweep();
		r = 0;
	}
	return r;
}

/* Takes evt_lock and finds our port; on success the caller unlocks. */
static int evt_port_begin(struct xen_evtchn *e, evtchn_port_t port, struct hv_dom **ret_d,
			  struct hv_port **ret_p)
{
	int r = evt_begin(e, ret_d);

	if (r)
		return r;
	r = own_port(e, *ret_d, port, ret_p);
	if (r)
		hv_unlock(&hv_proc.reg->evt_lock);
	return r;
}

static int sim_evtchn_unbind(struct xen_evtchn *e, evtchn_port_t port)
{
	struct hv_port *p;
	struct hv_dom *d;
	int r = evt_port_begin(e, port, &d, &p);

	if (r)
		return r;
	hv_evt_close_port(d->ev, e->h.domid, port);
	hv_unlock(&hv_proc.reg->evt_lock);
	return 0;
}

/* Xen's evtchn_send: an unbound port drops the notification silently. */
static int sim_evtchn_notify(struct xen_evtchn *e, evtchn_port_t port)
{
	struct hv_dlv dlv = { .go = false };
	struct hv_port *p;
	struct hv_dom *d, *rd;
	int fault = hv_fault_hit(HV_FAULT_NOTIFY);
	int r;

	if (fault && fault != -HV_FAULT_KILL)
		return fault;
	r = evt_port_begin(e, port, &d, &p);
	if (r)
		return r;
	if (p->state == HV_ECS_INTERDOMAIN && (rd = hv_dom_get(p->remote_dom)) &&
	    p->remote_port < HV_NR_PORTS) {
		struct hv_port *rp = &rd->ev->port[p->remote_port];

		if (rp->state == HV_ECS_INTERDOMAIN && rp->remote_dom == e->h.domid &&
		    rp->remote_port == port)
			raise_port(&e->h, rp, p->remote_port, &dlv);
	}
	hv_unlock(&hv_proc.reg->evt_lock);
	if (fault == -HV_FAULT_KILL)
		raise(SIGKILL);	/* the knob: die owing the delivery; the sweep makes it */
	hv_evt_send(&dlv);
	return 0;
}

/* Like reading /dev/xen/evtchn: a port that fired may come out after its unbind. */
static int sim_evtchn_pending(struct xen_evtchn *e)
{
	uint32_t port;
	ssize_t n = read(e->fifo, &port, sizeof(port));

	if (n == sizeof(port))
		return port;
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : neg_errno();
	return -EIO;
}

/*
 * Linux ignores an unmask of a port the fd does not own; xensim answers
 * -ENOTCONN (-EINVAL past the table) so the bug is seen.
 */
static int sim_evtchn_unmask(struct xen_evtchn *e, evtchn_port_t port)
{
	struct hv_dlv dlv = { .go = false };
	struct hv_port *p;
	struct hv_dom *d;
	int r = evt_port_begin(e, port, &d, &p);

	if (r)
		return r;
	if (p->masked) {
		p->masked = 0;
		if (p->pending)
			raise_port(&e->h, p, port, &dlv);
	}
	hv_unlock(&hv_proc.reg->evt_lock);
	hv_evt_send(&dlv);
	return 0;
}

const struct xen_ops xen_ops_default = {
	.name = "xensim",
	.gnttab_open = sim_gnttab_open,
	.gnttab_close = sim_gnttab_close,
	.gnttab_set_max_grants = sim_gnttab_set_max_grants,
	.gnttab_map = sim_gnttab_map,
	.gnttab_unmap = sim_gnttab_unmap,
	.gnttab_copy = sim_gnttab_copy,
	.gntshr_open = sim_gntshr_open,
	.gntshr_close = sim_gntshr_close,
	.gntshr_share = sim_gntshr_share,
	.gntshr_unshare = sim_gntshr_unshare,
	.evtchn_open = sim_evtchn_open,
	.evtchn_close = sim_evtchn_close,
	.evtchn_fd = sim_evtchn_fd,
	.evtchn_bind_interdomain = sim_evtchn_bind_interdomain,
	.evtchn_bind_unbound = sim_evtchn_bind_unbound,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_unmask = sim_evtchn_unmask,
};
