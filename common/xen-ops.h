/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Xen seam: the one narrow table through which ddom reaches grant tables
 * and event channels. It is shaped like libxengnttab / libxengntshr /
 * libxenevtchn (the headers in tools/libs/{gnttab,evtchn}/include of the Xen tree) so the
 * real implementation is a thin adapter.
 *
 * Two implementations exist, chosen at link time:
 *   common/xen-ops-real.c   libxengnttab + libxenevtchn (the only file of the
 *                           shipped build that includes <xengnttab.h> or
 *                           <xenevtchn.h>)
 *   tests/xensim/sim-ops.c  the xensim user-space hypervisor
 * Each defines `xen_ops_default`; a program links exactly one of them.
 *
 * xenstore is not behind this seam: the real libxenstore is used everywhere
 * (under xensim it connects to the simulator's xenstored via XENSTORED_PATH).
 *
 * Conventions: every int-returning op returns 0 (or a non-negative value
 * where documented) on success and a negative errno on failure; it never
 * returns -1-with-errno. Handles are not thread-safe: a thread that waits on
 * event channels opens its own xen_evtchn handle. A close op accepts NULL.
 */
#ifndef DDOM_XEN_OPS_H
#define DDOM_XEN_OPS_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>

struct xen_gnttab;	/* backend side: map and copy foreign grants */
struct xen_gntshr;	/* frontend side: grant our own pages to another domain */
struct xen_evtchn;	/* event-channel ports bound through one fd */

/*
 * One grant-copy segment. Same layout as xengnttab_grant_copy_segment_t (the
 * real implementation asserts this at compile time and passes the array
 * through unchanged). flags is GNTCOPY_source_gref and/or GNTCOPY_dest_gref;
 * status receives a GNTST_* code (<xen/grant_table.h>) per segment.
 * offset + len must not exceed XEN_PAGE_SIZE on the granted side.
 */
struct xen_copy_seg {
	union xen_copy_ptr {
		void *virt;
		struct {
			uint32_t ref;
			uint16_t offset;
			uint16_t domid;
		} foreign;
	} source, dest;
	uint16_t len;
	uint16_t flags;
	int16_t status;
};

#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE (1u << XEN_PAGE_SHIFT)

struct xen_ops {
	const char *name;

	/* --- grant tables, mapping side (libxengnttab) --- */
	int (*gnttab_open)(struct xen_gnttab **ret);
	void (*gnttab_close)(struct xen_gnttab *g);
	/* Cap on grants mapped at once through this handle. */
	int (*gnttab_set_max_grants)(struct xen_gnttab *g, uint32_t count);
	/*
	 * Map `count` grants of domain `domid` into one fresh, virtually
	 * contiguous mapping (xengnttab_map_domain_grant_refs). prot_write=0
	 * maps read-only. All or nothing: on failure nothing stays mapped and
	 * the return is -errno. Linux's gntdev reports every failed map status
	 * (bad ref, not permitted, read-only grant mapped writable) as -EINVAL
	 * (drivers/xen/gntdev.c); -ENOMEM/-ENOSPC when out of handles.
	 */
	int (*gnttab_map)(struct xen_gnttab *g, uint32_t count, domid_t domid,
			  const grant_ref_t *refs, int prot_write, void **ret_addr);
	/* Unmap a mapping returned by gnttab_map (addr, count as mapped). */
	int (*gnttab_unmap)(struct xen_gnttab *g, void *addr, uint32_t count);
	/*
	 * Grant copy (xengnttab_grant_copy). Returns 0 when the batch was
	 * processed (each segment's status then says GNTST_okay or why not),
	 * -errno when the batch as a whole could not be issued.
	 */
	int (*gnttab_copy)(struct xen_gnttab *g, uint32_t count, struct xen_copy_seg *segs);

	/* --- grant tables, granting side (libxengntshr) --- */
	int (*gntshr_open)(struct xen_gntshr **ret);
	void (*gntshr_close)(struct xen_gntshr *s);
	/*
	 * Allocate `count` zeroed pages, grant each to `domid` (writable or
	 * read-only) and map them contiguously here. Refs go to ret_refs[].
	 */
	int (*gntshr_share)(struct xen_gntshr *s, domid_t domid, uint32_t count,
			    int writable, grant_ref_t *ret_refs, void **ret_addr);
	/* End access and free pages shared by gntshr_share. */
	int (*gntshr_unshare)(struct xen_gntshr *s, void *addr, uint32_t count);

	/* --- event channels (libxenevtchn) --- */
	int (*evtchn_open)(struct xen_evtchn **ret);
	void (*evtchn_close)(struct xen_evtchn *e);	/* unbinds every port */
	/* A pollable fd: readable when evtchn_pending has a port to return. */
	int (*evtchn_fd)(struct xen_evtchn *e);
	/* Returns the local port (>= 0) or -errno. */
	int (*evtchn_bind_interdomain)(struct xen_evtchn *e, domid_t domid,
				       evtchn_port_t remote_port);
	int (*evtchn_bind_unbound)(struct xen_evtchn *e, domid_t domid);
	int (*evtchn_unbind)(struct xen_evtchn *e, evtchn_port_t port);
	int (*evtchn_notify)(struct xen_evtchn *e, evtchn_port_t port);
	/*
	 * Next port that fired (>= 0), or -EAGAIN when none is ready. A port
	 * that fired stays masked until evtchn_unmask; notifications sent
	 * meanwhile coalesce into one later delivery, as in Linux's evtchn
	 * driver.
	 */
	int (*evtchn_pending)(struct xen_evtchn *e);
	int (*evtchn_unmask)(struct xen_evtchn *e, evtchn_port_t port);
};

/* Defined by whichever implementation the program links. */
extern const struct xen_ops xen_ops_default;

#endif
