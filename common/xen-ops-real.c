// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real Xen seam: libxengnttab, libxengntshr and libxenevtchn.
 *
 * This is the only file of the shipped build that includes <xengnttab.h> or
 * <xenevtchn.h>. It turns the libraries' "-1 and errno" / "NULL and errno"
 * convention into negative errno returns and does nothing else, so it may be
 * called from any thread that owns the handle.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xengnttab.h>
#include <xenevtchn.h>

#include "xen-ops.h"

/* The copy array is passed to libxengnttab unchanged: same layout. */
_Static_assert(sizeof(struct xen_copy_seg) == sizeof(xengnttab_grant_copy_segment_t),
	       "xen_copy_seg size");
_Static_assert(offsetof(struct xen_copy_seg, len) ==
		       offsetof(xengnttab_grant_copy_segment_t, len),
	       "xen_copy_seg len");
_Static_assert(offsetof(struct xen_copy_seg, flags) ==
		       offsetof(xengnttab_grant_copy_segment_t, flags),
	       "xen_copy_seg flags");
_Static_assert(offsetof(struct xen_copy_seg, status) ==
		       offsetof(xengnttab_grant_copy_segment_t, status),
	       "xen_copy_seg status");

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int real_gnttab_open(struct xen_gnttab **ret)
{
	xengnttab_handle *h = xengnttab_open(NULL, 0);

	if (!h)
		return neg_errno();
	*ret = (struct xen_gnttab *)h;
	return 0;
}

static void real_gnttab_close(struct xen_gnttab *g)
{
	if (g)
		xengnttab_close((xengnttab_handle *)g);
}

static int real_gnttab_set_max_grants(struct xen_gnttab *g, uint32_t count)
{
	return xengnttab_set_max_grants((xengnttab_handle *)g, count) ? neg_errno() : 0;
}

static int real_gnttab_map(struct xen_gnttab *g, uint32_t count, domid_t domid,
			   const grant_ref_t *refs, int prot_write, void **ret_addr)
{
	int prot = PROT_READ | (prot_write ? PROT_WRITE : 0);
	void *p = xengnttab_map_domain_grant_refs((xengnttab_handle *)g, count, domid,
						  (uint32_t *)refs, prot);

	if (!p)
		return neg_errno();
	*ret_addr = p;
	return 0;
}

static int real_gnttab_unmap(struct xen_gnttab *g, void *addr, uint32_t count)
{
	return xengnttab_unmap((xengnttab_handle *)g, addr, count) ? neg_errno() : 0;
}

static int real_gnttab_copy(struct xen_gnttab *g, uint32_t count, struct xen_copy_seg *segs)
{
	return xengnttab_grant_copy((xengnttab_handle *)g, count,
				    (xengnttab_grant_copy_segment_t *)segs)
		       ? neg_errno()
		       : 0;
}

static int real_gntshr_open(struct xen_gntshr **ret)
{
	xengntshr_handle *h = xengntshr_open(NULL, 0);

	if (!h)
		return neg_errno();
	*ret = (struct xen_gntshr *)h;
	return 0;
}

static void real_gntshr_close(struct xen_gntshr *s)
{
	if (s)
		xengntshr_close((xengntshr_handle *)s);
}

static int real_gntshr_share(struct xen_gntshr *s, domid_t domid, uint32_t count, int writable,
			     grant_ref_t *ret_refs, void **ret_addr)
{
	void *p = xengntshr_share_pages((xengntshr_handle *)s, domid, count, ret_refs,
					writable);

	if (!p)
		return neg_errno();
	*ret_addr = p;
	return 0;
}

static int real_gntshr_unshare(struct xen_gntshr *s, void *addr, uint32_t count)
{
	return xengntshr_unshare((xengntshr_handle *)s, addr, count) ? neg_errno() : 0;
}

static int real_evtchn_open(struct xen_evtchn **ret)
{
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	int fd, fl;

	if (!h)
		return neg_errno();
	/*
	 * Linux's /dev/xen/evtchn is opened blocking by the library; make it
	 * non-blocking so evtchn_pending answers -EAGAIN instead of sleeping.
	 */
	fd = xenevtchn_fd(h);
	fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = neg_errno();

		xenevtchn_close(h);
		return r;
	}
	*ret = (struct xen_evtchn *)h;
	return 0;
}

static void real_evtchn_close(struct xen_evtchn *e)
{
	if (e)
		xenevtchn_close((xenevtchn_handle *)e);
}

static int real_evtchn_fd(struct xen_evtchn *e)
{
	int fd = xenevtchn_fd((xenevtchn_handle *)e);

	return fd < 0 ? neg_errno() : fd;
}

static int real_evtchn_bind_interdomain(struct xen_evtchn *e, domid_t domid,
					evtchn_port_t remote_port)
{
	xenevtchn_port_or_error_t p =
		xenevtchn_bind_interdomain((xenevtchn_handle *)e, domid, remote_port);

	return p < 0 ? neg_errno() : (int)p;
}

static int real_evtchn_bind_unbound(struct xen_evtchn *e, domid_t domid)
{
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port((xenevtchn_handle *)e, domid);

	return p < 0 ? neg_errno() : (int)p;
}

static int real_evtchn_unbind(struct xen_evtchn *e, evtchn_port_t port)
{
	return xenevtchn_unbind((xenevtchn_handle *)e, port) ? neg_errno() : 0;
}

static int real_evtchn_notify(struct xen_evtchn *e, evtchn_port_t port)
{
	return xenevtchn_notify((xenevtchn_handle *)e, port) ? neg_errno() : 0;
}

static int real_evtchn_pending(struct xen_evtchn *e)
{
	xenevtchn_port_or_error_t p = xenevtchn_pending((xenevtchn_handle *)e);

	/* The fd is non-blocking (see real_evtchn_open): -EAGAIN, none ready. */
	return p < 0 ? neg_errno() : (int)p;
}

static int real_evtchn_unmask(struct xen_evtchn *e, evtchn_port_t port)
{
	return xenevtchn_unmask((xenevtchn_handle *)e, port) ? neg_errno() : 0;
}

const struct xen_ops xen_ops_default = {
	.name = "xen",
	.gnttab_open = real_gnttab_open,
	.gnttab_close = real_gnttab_close,
	.gnttab_set_max_grants = real_gnttab_set_max_grants,
	.gnttab_map = real_gnttab_map,
	.gnttab_unmap = real_gnttab_unmap,
	.gnttab_copy = real_gnttab_copy,
	.gntshr_open = real_gntshr_open,
	.gntshr_close = real_gntshr_close,
	.gntshr_share = real_gntshr_share,
	.gntshr_unshare = real_gntshr_unshare,
	.evtchn_open = real_evtchn_open,
	.evtchn_close = real_evtchn_close,
	.evtchn_fd = real_evtchn_fd,
	.evtchn_bind_interdomain = real_evtchn_bind_interdomain,
	.evtchn_bind_unbound = real_evtchn_bind_unbound,
	.evtchn_unbind = real_evtchn_unbind,
	.evtchn_notify = real_evtchn_notify,
	.evtchn_pending = real_evtchn_pending,
	.evtchn_unmask = real_evtchn_unmask,
};
