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

#include <stdbool.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>

/*
 * All functions here return 0 or a negative errno, and may be called from
 * any process (the toolstack is not a domain). Safe against concurrent
 * callers in other processes; within a process, call them from one thread.
 */

/*
 * Creates the domain's hypervisor state (memory of mem_mib MiB, sparse),
 * creating DIR/hv first if needed. -EEXIST if the domain exists, -EINVAL for
 * a domid >= DOMID_FIRST_RESERVED or mem_mib of 0 or more than 65536.
 */
int hv_domain_create(const char *dir, domid_t domid, unsigned mem_mib);
/*
 * Destroys it as Xen does: ports bound to it in other domains go back to
 * unbound, grants it mapped are released, its handles answer -ESRCH, its
 * files are removed (other domains' live mappings of its memory stay until
 * unmapped). -ESRCH if there is no such domain. Kill the domain's processes
 * first, as xl does.
 */
int hv_domain_destroy(const char *dir, domid_t domid);

/*
 * Fault knobs at run time: writes `spec` (same syntax as XENSIM_FAULT, e.g.
 * "map:3,bind:1", op:N[+][=ERRNO] with op map|bind|share|copy; see
 * docs/xensim-hv.md) to DIR/hv/fault and tells every process of the host to
 * re-read it; each process then counts its operations from zero and fails
 * the Nth (and later ones with "+"). An empty spec clears the file's knobs.
 */
int hv_fault_set(const char *dir, const char *spec);

/* Event-channel port states, after Xen's ECS_* (xen/include/xen/sched.h). */
enum hv_ecs { HV_ECS_FREE = 0, HV_ECS_RESERVED, HV_ECS_UNBOUND, HV_ECS_INTERDOMAIN };

struct hv_port_info {
	enum hv_ecs state;
	domid_t remote_dom;		/* unbound: who may bind; interdomain: peer */
	evtchn_port_t remote_port;	/* interdomain only */
	bool pending;
	bool masked;
};

/* Reads port `port` of domain `domid` as Xen sees it (tests, debugging). */
int hv_port_info(const char *dir, domid_t domid, evtchn_port_t port, struct hv_port_info *ret);

/* Reads grant entry `ref` of domain `domid` as Xen sees it (tests, debugging). */
int hv_grant_entry(const char *dir, domid_t domid, grant_ref_t ref, grant_entry_v1_t *ret);

#endif
