/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hypervisor side of domain create/destroy (tests/xensim/hv/hv.h). When
 * the tree is configured without the hv library (meson's hv_dep absent), the
 * toolstack still builds and manages xenstore, with these no-op stand-ins.
 */
#ifndef XENSIM_TS_HV_COMPAT_H
#define XENSIM_TS_HV_COMPAT_H

#ifdef XENSIM_HAVE_HV
#include "hv.h"
#else
#include <xen/xen.h>

static inline int hv_domain_create(const char *dir, domid_t domid, unsigned mem_mib)
{
	(void)dir;
	(void)domid;
	(void)mem_mib;
	return 0;
}

static inline int hv_domain_destroy(const char *dir, domid_t domid)
{
	(void)dir;
	(void)domid;
	return 0;
}
#endif

#endif
