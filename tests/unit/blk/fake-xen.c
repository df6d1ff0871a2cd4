// SPDX-License-Identifier: GPL-2.0-only
/*
 * The blkbackd unit tests' grant/event-channel stand-in (see fake-xen.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-xen.h"

struct fake_xen fake;

void *fake_page(grant_ref_t ref)
{
	return fake.mem + (size_t)ref * XEN_PAGE_SIZE;
}

int fake_init(void)
{
	fake.memfd = memfd_create("fake-guest", MFD_CLOEXEC);
	if (fake.memfd < 0 || ftruncate(fake.memfd, (off_t)FAKE_PAGES * XEN_PAGE_SIZE) < 0)
		return -errno;
	fake.mem = mmap(NULL, (size_t)FAKE_PAGES * XEN_PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, fake.memfd, 0);
	if (fake.mem == MAP_FAILED)
		return -errno;
	fake.to_backend = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fake.to_guest = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return fake.to_backend < 0 || fake.to_guest < 0 ? -errno : 0;
}

static bool ref_ok(grant_ref_t ref)
{
	return ref < FAKE_PAGES && !fake.revoked[ref];
}

static int f_gnttab_open(struct xen_gnttab **ret)
{
	*ret = (struct xen_gnttab *)&fake;
	return 0;
}

static void f_gnttab_close(struct xen_gnttab *g)
{
	(void)g;
}

static int f_set_max(struct xen_gnttab *g, uint32_t n)
{
	(void)g;
	(void)n;
	return 0;
}

static int f_map(struct xen_gnttab *g, uint32_t count, domid_t domid, const grant_ref_t *refs,
		 int prot_write, void **ret)
{
	uint8_t *base;
	uint32_t i;

	(void)g;
	(void)domid;
	for (i = 0; i < count; i++)
		if (!ref_ok(refs[i]))
			return -EINVAL;
	base = mmap(NULL, (size_t)count * XEN_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		if (mmap(base + (size_t)i * XEN_PAGE_SIZE, XEN_PAGE_SIZE,
			 PROT_READ | (prot_write ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED,
			 fake.memfd, (off_t)refs[i] * XEN_PAGE_SIZE) == MAP_FAILED) {
			munmap(base, (size_t)count * XEN_PAGE_SIZE);
			return -ENOMEM;
		}
	fake.maps += count;
	fake.mapped_now += count;
	*ret = base;
	return 0;
}

static int f_unmap(struct xen_gnttab *g, void *addr, uint32_t count)
{
	(void)g;
	fake.unmaps += count;
	fake.mapped_now -= count;
	return munmap(addr, (size_t)count * XEN_PAGE_SIZE) < 0 ? -errno : 0;
}

static void *resolve(union xen_copy_ptr *p, bool foreign, uint16_t len, int16_t *status)
{
	if (!foreign)
		return p->virt;
	if (!ref_ok(p->foreign.ref)) {
		*status = GNTST_bad_gntref;
		return NULL;
	}
	if ((unsigned)p->foreign.offset + len > XEN_PAGE_SIZE) {
		*status = GNTST_bad_copy_arg;
		return NULL;
	}
	return (uint8_t *)fake_page(p->foreign.ref) + p->foreign.offset;
}

static int f_copy(struct xen_gnttab *g, uint32_t count, struct xen_copy_seg *segs)
{
	uint32_t i;

	(void)g;
	for (i = 0; i < count; i++) {
		struct xen_copy_seg *s = &segs[i];
		void *src, *dst;

		s->status = GNTST_okay;
		src = resolve(&s->source, s->flags & GNTCOPY_source_gref, s->len, &s->status);
		dst = resolve(&s->dest, s->flags & GNTCOPY_dest_gref, s->len, &s->status);
		if (s->status == GNTST_okay)
			memcpy(dst, src, s->len);
		fake.copies++;
	}
	return 0;
}

static int f_evtchn_open(struct xen_evtchn **ret)
{
	*ret = (struct xen_evtchn *)&fake;
	return 0;
}

static void f_evtchn_close(struct xen_evtchn *e)
{
	(void)e;
}

static int f_evtchn_fd(struct xen_evtchn *e)
{
	(void)e;
	return fake.to_backend;
}

static int f_bind(struct xen_evtchn *e, domid_t domid, evtchn_port_t remote)
{
	(void)e;
	(void)domid;
	(void)remote;
	return 7;
}

static int f_unbind(struct xen_evtchn *e, evtchn_port_t port)
{
	(void)e;
	return port == 7 ? 0 : -EINVAL;
}

static int f_notify(struct xen_evtchn *e, evtchn_port_t port)
{
	uint64_t one = 1;

	(void)e;
	if (port != 7)
		return -EINVAL;
	return write(fake.to_guest, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int f_pending(struct xen_evtchn *e)
{
	uint64_t v;

	(void)e;
	return read(fake.to_backend, &v, sizeof(v)) == sizeof(v) ? 7 : -EAGAIN;
}

static int f_unmask(struct xen_evtchn *e, evtchn_port_t port)
{
	(void)e;
	return port == 7 ? 0 : -EINVAL;
}

const struct xen_ops fake_ops = {
	.name = "fake",
	.gnttab_open = f_gnttab_open,
	.gnttab_close = f_gnttab_close,
	.gnttab_set_max_grants = f_set_max,
	.gnttab_map = f_map,
	.gnttab_unmap = f_unmap,
	.gnttab_copy = f_copy,
	.evtchn_open = f_evtchn_open,
	.evtchn_close = f_evtchn_close,
	.evtchn_fd = f_evtchn_fd,
	.evtchn_bind_interdomain = f_bind,
	.evtchn_unbind = f_unbind,
	.evtchn_notify = f_notify,
	.evtchn_pending = f_pending,
	.evtchn_unmask = f_unmask,
};
