// SPDX-License-Identifier: GPL-2.0-only
/*
 * netbackd's data-path workers (see worker.h): the thread hooks of
 * common/workers.c's pool open each worker's Xen handles and offload
 * context on its own thread; one event pollable per worker drains and
 * unmasks its event channel at each wakeup. Nothing here exits or
 * allocates after start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "log.h"
#include "offload.h"
#include "worker.h"

struct nb_wdata {
	struct nb_workers *ws;
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	struct nb_offload *offload;
	bool registered;		/* rte_thread_register */
	struct wk_pollable events;	/* the evtchn fd */
	bool events_attached;
	struct sw_stage stage;
};

struct nb_workers {
	struct nb_workers_cfg cfg;
	struct wk_pool *pool;
	unsigned n;
	struct nb_wdata wd[];
};

static struct nb_wdata *wd_of(const struct wk_worker *w)
{
	return wk_worker_data(w);
}

static void thread_fini(struct wk_worker *w, void *opaque)
{
	struct nb_workers *ws = opaque;
	struct nb_wdata *d = &ws->wd[wk_worker_index(w)];

	nb_offload_free(d->offload);
	d->offload = NULL;
	ws->cfg.ops->evtchn_close(d->ev);
	d->ev = NULL;
	ws->cfg.ops->gnttab_close(d->gt);
	d->gt = NULL;
	if (d->registered)
		rte_thread_unregister();
	d->registered = false;
}

static int thread_init(struct wk_worker *w, void *opaque)
{
	struct nb_workers *ws = opaque;
	struct nb_wdata *d = &ws->wd[wk_worker_index(w)];
	int r;

	wk_worker_set_data(w, d);
	/* An lcore id, so that mempool caches and rte_gso work here. */
	r = rte_thread_register();
	if (r < 0)
		r = -rte_errno;
	d->registered = r == 0;
	if (!r)
		r = ws->cfg.ops->gnttab_open(&d->gt);
	if (!r)
		r = ws->cfg.ops->evtchn_open(&d->ev);
	if (!r)
		r = nb_offload_new(ws->cfg.pool, ws->cfg.indirect, &d->offload);
	if (r < 0)
		thread_fini(w, opaque);
	return r;
}

/* Every port that fired is unmasked: each pass polls every ring anyway. */
static bool events_fired(struct wk_pollable *p, struct wk_worker *w, unsigned i, uint32_t revents)
{
	struct nb_wdata *d = wd_of(w);
	const struct xen_ops *ops = d->ws->cfg.ops;
	int port;

	(void)p;
	(void)i;
	if (revents & (EPOLLERR | EPOLLHUP)) {
		log_err("worker %u: event channel handle failed", wk_worker_index(w));
		return false;
	}
	while ((port = ops->evtchn_pending(d->ev)) >= 0)
		ops->evtchn_unmask(d->ev, (evtchn_port_t)port);
	return true;
}

static unsigned events_poll(struct wk_pollable *p, struct wk_worker *w)
{
	(void)p;
	(void)w;
	return 0;
}

int nb_workers_start(const struct nb_workers_cfg *cfg, struct nb_workers **ret)
{
	struct nb_workers *ws = calloc(1, sizeof(*ws) + cfg->count * sizeof(ws->wd[0]));
	struct wk_pool_cfg pc = {
		.name = "netbackd", .count = cfg->count, .poll_us = cfg->poll_us,
		.thread_init = thread_init, .thread_fini = thread_fini,
	};
	int r;

	if (!ws)
		return -ENOMEM;
	ws->cfg = *cfg;
	ws->n = cfg->count;
	pc.opaque = ws;
	for (unsigned i = 0; i < ws->n; i++)
		ws->wd[i].ws = ws;
	r = wk_pool_start(&pc, &ws->pool);
	if (r < 0) {
		log_err_errno(r, "cannot start the data-path workers");
		free(ws);
		return r;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		struct nb_wdata *d = &ws->wd[i];

		d->events.poll = events_poll;
		d->events.event = events_fired;
		d->events.fds[0] = cfg->ops->evtchn_fd(d->ev);
		d->events.fds[1] = -1;
		r = wk_worker_attach(wk_pool_get(ws->pool, i), &d->events);
		if (r < 0) {
			log_err_errno(r, "worker %u: cannot watch its event channel", i);
			nb_workers_stop(ws);
			return r;
		}
		d->events_attached = true;
	}
	*ret = ws;
	return 0;
}

void nb_workers_stop(struct nb_workers *ws)
{
	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->wd[i].events_attached)
			wk_worker_detach(wk_pool_get(ws->pool, i), &ws->wd[i].events);
	wk_pool_stop(ws->pool);
	free(ws);
}

unsigned nb_workers_count(const struct nb_workers *ws)
{
	return ws->n;
}

struct wk_worker *nb_workers_get(struct nb_workers *ws, unsigned i)
{
	return wk_pool_get(ws->pool, i);
}

struct wk_worker *nb_workers_least_loaded(struct nb_workers *ws)
{
	/* Each worker has its event pollable: the order is the same. */
	return wk_pool_least_loaded(ws->pool);
}

void nb_workers_sync(struct nb_workers *ws)
{
	wk_pool_sync(ws->pool);
}

struct xen_gnttab *nb_worker_gnttab(struct wk_worker *w)
{
	return wd_of(w)->gt;
}

struct xen_evtchn *nb_worker_evtchn(struct wk_worker *w)
{
	return wd_of(w)->ev;
}

const struct xen_ops *nb_worker_ops(const struct wk_worker *w)
{
	return wd_of(w)->ws->cfg.ops;
}

struct nb_offload *nb_worker_offload(struct wk_worker *w)
{
	return wd_of(w)->offload;
}

struct rte_mempool *nb_worker_pool(struct wk_worker *w)
{
	return wd_of(w)->ws->cfg.pool;
}

void nb_worker_switch(struct wk_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct nb_wdata *d = wd_of(w);

	sw_input(d->ws->cfg.sw, &d->stage, w, pkts, n);
}

void nb_worker_stats(const struct wk_worker *w, struct wk_worker_stats *st)
{
	wk_worker_stats(w, st);
	if (st->pollables)
		st->pollables--;	/* the event pollable */
}
