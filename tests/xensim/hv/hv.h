/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim's hypervisor state: per-domain memory, grant table and event-channel
 * table, kept in files under the host directory so that every process of
 * every simulated domain shares them. This header is what the toolstack
 * needs; the seam implementation (sim-ops.c) reads the same files.
 *
 * A process belongs to a domain through its environment, set by
 * `xensim exec`: XENSIM_DIR (the host directory) and XENSIM_DOMID.
 */
#ifndef XENSIM_HV_H
#define XENSIM_HV_H

#include <xen/xen.h>

/* Creates the domain's hypervisor state (memory of mem_mib MiB, sparse). */
int hv_domain_create(const char *dir, domid_t domid, unsigned mem_mib);
/*
 * Destroys it as Xen does: ports bound to it in other domains go back to
 * unbound, grants it mapped are released, its files are removed.
 */
int hv_domain_destroy(const char *dir, domid_t domid);

#endif
