/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netbackd's data-path workers: common/workers.h's pool (a fixed set of
 * threads, --workers, each passing over its pollables: vif queues and
 * uplink receive queues), plus what a netbackd worker owns besides: its
 * own Xen handles (one evtchn handle through which its vif queues' ports
 * are bound, one gnttab handle for its grant copies), its switch staging
 * and its offload context, and an lcore id (rte_thread_register) so that
 * mempool caches and rte_gso work on it. No two workers share a ring or a
 * handle.
 *
 * Each worker's event-channel fd is watched by a pollable of its own: at a
 * wakeup every port that fired is unmasked (each pass polls every ring
 * anyway). Other workers wake a worker with wk_worker_kick when they queue
 * packets for one of its vif queues.
 *
 * The loop thread adds and removes pollables through wk_worker_attach /
 * wk_worker_detach (the pollable's hooks bind and unbind ports on the
 * worker's handle, on its thread). nb_workers_sync waits until every worker
 * has passed a quiescent point: after it nothing loaded from the switch's
 * port table before the call is still in use.
 */
#ifndef NETBACKD_WORKER_H
#define NETBACKD_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "sw.h"
#include "workers.h"
#include "xen-ops.h"

struct nb_offload;

struct nb_workers_cfg {
	const struct xen_ops *ops;
	unsigned count;
	unsigned poll_us;
	struct sw *sw;
	struct rte_mempool *pool;	/* packet buffers */
	struct rte_mempool *indirect;	/* indirect mbufs (software GSO) */
};

struct nb_workers;

int nb_workers_start(const struct nb_workers_cfg *cfg, struct nb_workers **ret);
/* Stops every worker (their vif and uplink pollables must have been detached). NULL is fine. */
void nb_workers_stop(struct nb_workers *ws);
unsigned nb_workers_count(const struct nb_workers *ws);
struct wk_worker *nb_workers_get(struct nb_workers *ws, unsigned i);
/* The worker with the fewest pollables. */
struct wk_worker *nb_workers_least_loaded(struct nb_workers *ws);
/* Waits until every worker has been quiescent once since the call. */
void nb_workers_sync(struct nb_workers *ws);

/* What a pollable may use on its worker's thread. */
struct xen_gnttab *nb_worker_gnttab(struct wk_worker *w);
struct xen_evtchn *nb_worker_evtchn(struct wk_worker *w);
const struct xen_ops *nb_worker_ops(const struct wk_worker *w);
struct nb_offload *nb_worker_offload(struct wk_worker *w);
struct rte_mempool *nb_worker_pool(struct wk_worker *w);
/* Feeds a burst to the switch (pkts[i]->port set by the caller). */
void nb_worker_switch(struct wk_worker *w, struct rte_mbuf **pkts, uint16_t n);

/* Worker counters for --status (its own event pollable not counted). */
void nb_worker_stats(const struct wk_worker *w, struct wk_worker_stats *st);

#endif
