/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data-path workers: a fixed set of threads (--workers), each owning a
 * list of pollables (vif queues and uplink receive queues), its own Xen
 * handles (one evtchn handle through which its vif queues' ports are
 * bound, one gnttab handle for its grant copies), its switch staging and
 * its offload context. No two workers share a ring or a handle.
 *
 * A worker runs passes over its pollables while there is work; with none
 * for poll-us it arms every pollable's notification (ring req_event, port
 * interrupt, credit deadline) and sleeps in poll(2) on its event-channel
 * fd, its pollables' extra fds and its wake eventfd, which other workers
 * write when they queue packets for one of its vif queues
 * (nb_worker_kick). Idle, a worker uses no CPU.
 *
 * The loop thread adds and removes pollables through nb_worker_attach /
 * nb_worker_detach: the worker runs the pollable's attach/detach hooks on
 * its own thread (they bind and unbind ports on its handle) and the call
 * returns the hook's result. nb_workers_sync waits until every worker has
 * passed a quiescent point (between passes, or asleep): after it nothing
 * loaded from the switch's port table before the call is still in use.
 */
#ifndef NETBACKD_WORKER_H
#define NETBACKD_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sw.h"
#include "xen-ops.h"

struct nb_worker;
struct nb_offload;

struct nb_pollable {
	/* One pass: the work done (requests, packets); 0 when there was none. */
	unsigned (*poll)(struct nb_pollable *p, struct nb_worker *w);
	/*
	 * Before a sleep: re-arm notifications. True when work arrived
	 * meanwhile (the worker does not sleep). *wake_ns may be lowered to
	 * a CLOCK_MONOTONIC time at which the worker must wake anyway.
	 */
	bool (*arm)(struct nb_pollable *p, struct nb_worker *w, uint64_t *wake_ns);
	/* On the worker's thread, when added / removed. */
	int (*attach)(struct nb_pollable *p, struct nb_worker *w);
	void (*detach)(struct nb_pollable *p, struct nb_worker *w);
	int fd;				/* an extra fd to sleep on (POLLIN), or -1 */
	struct nb_pollable *next;	/* the worker's list */
};

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
/* Stops every worker (their pollables must have been detached). NULL is fine. */
void nb_workers_stop(struct nb_workers *ws);
unsigned nb_workers_count(const struct nb_workers *ws);
struct nb_worker *nb_workers_get(struct nb_workers *ws, unsigned i);
/* The worker with the fewest pollables. */
struct nb_worker *nb_workers_least_loaded(struct nb_workers *ws);
/* Waits until every worker has been quiescent once since the call. */
void nb_workers_sync(struct nb_workers *ws);

int nb_worker_attach(struct nb_worker *w, struct nb_pollable *p);
void nb_worker_detach(struct nb_worker *w, struct nb_pollable *p);
/* Wakes w if it sleeps (from another worker, after queueing work for it). */
void nb_worker_kick(struct nb_worker *w);

/* What a pollable may use on its worker's thread. */
unsigned nb_worker_index(const struct nb_worker *w);
struct xen_gnttab *nb_worker_gnttab(struct nb_worker *w);
struct xen_evtchn *nb_worker_evtchn(struct nb_worker *w);
const struct xen_ops *nb_worker_ops(const struct nb_worker *w);
struct nb_offload *nb_worker_offload(struct nb_worker *w);
struct rte_mempool *nb_worker_pool(struct nb_worker *w);
/* Feeds a burst to the switch (pkts[i]->port set by the caller). */
void nb_worker_switch(struct nb_worker *w, struct rte_mbuf **pkts, uint16_t n);
/* CLOCK_MONOTONIC ns at the start of the current pass. */
uint64_t nb_worker_now(const struct nb_worker *w);

/* Worker counters for --status. */
struct nb_worker_stats {
	uint64_t passes, sleeps, wakeups, kicks;
	unsigned pollables;
};
void nb_worker_stats(const struct nb_worker *w, struct nb_worker_stats *st);

#endif
