// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data-path workers (see worker.h). Each worker thread runs
 * worker_main; the nb_workers_* and attach/detach calls come from the
 * loop thread. Nothing here exits or allocates after start.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "log.h"
#include "offload.h"
#include "worker.h"

/* Extra fds one worker sleeps on (uplink interrupts), at most. */
#define MAX_FDS 64

enum cmd_op { CMD_ATTACH, CMD_DETACH };

struct cmd {
	enum cmd_op op;
	struct nb_pollable *p;
	int result;
	bool done;
};

struct nb_worker {
	struct nb_workers *ws;
	unsigned idx;
	pthread_t thread;
	bool running;
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	struct nb_offload *offload;
	int efd;			/* wake-ups from other threads */
	_Atomic int sleeping;
	_Atomic uint64_t pass;
	_Atomic bool stop;
	_Atomic bool has_cmd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cmd *cmd;
	int start_result;
	struct nb_pollable *list;
	_Atomic unsigned npollables;
	uint64_t now;
	_Atomic uint64_t n_sleeps, n_wakeups, n_kicks;
	struct sw_stage stage;
};

struct nb_workers {
	struct nb_workers_cfg cfg;
	unsigned n;
	struct nb_worker *w[];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void run_cmd(struct nb_worker *w)
{
	struct cmd *c;
	struct nb_pollable **pp;

	pthread_mutex_lock(&w->mu);
	c = w->cmd;
	if (c && c->op == CMD_ATTACH) {
		c->result = c->p->attach ? c->p->attach(c->p, w) : 0;
		if (!c->result) {
			c->p->next = w->list;
			w->list = c->p;
			atomic_fetch_add(&w->npollables, 1);
		}
	} else if (c) {
		for (pp = &w->list; *pp; pp = &(*pp)->next)
			if (*pp == c->p) {
				*pp = c->p->next;
				atomic_fetch_sub(&w->npollables, 1);
				break;
			}
		if (c->p->detach)
			c->p->detach(c->p, w);
		c->result = 0;
	}
	if (c)
		c->done = true;
	w->cmd = NULL;
	atomic_store(&w->has_cmd, false);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static unsigned run_pass(struct nb_worker *w)
{
	unsigned work = 0;

	atomic_fetch_add(&w->pass, 1);
	w->now = mono_ns();
	for (struct nb_pollable *p = w->list; p; p = p->next)
		work += p->poll(p, w);
	return work;
}

/* Unmasks every port that fired: each pass polls every ring anyway. */
static void drain_events(struct nb_worker *w)
{
	const struct xen_ops *ops = w->ws->cfg.ops;
	uint64_t v;
	int port;

	while ((port = ops->evtchn_pending(w->ev)) >= 0)
		ops->evtchn_unmask(w->ev, (evtchn_port_t)port);
	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug_errno(-errno, "worker %u: wake eventfd", w->idx);
}

/* Arms everything and sleeps unless work showed up; true if it slept. */
static bool sleep_once(struct nb_worker *w)
{
	struct pollfd pfd[MAX_FDS + 2];
	uint64_t wake = UINT64_MAX;
	unsigned nfd = 2;
	bool work = false;
	int timeout = -1;

	atomic_store(&w->sleeping, 1);	/* seq_cst: before the re-checks (kick) */
	for (struct nb_pollable *p = w->list; p; p = p->next) {
		if (p->arm && p->arm(p, w, &wake))
			work = true;
		if (p->fd >= 0 && nfd < MAX_FDS + 2)
			pfd[nfd++] = (struct pollfd){ .fd = p->fd, .events = POLLIN };
	}
	if (work || atomic_load(&w->has_cmd) || atomic_load(&w->stop)) {
		atomic_store(&w->sleeping, 0);
		return false;
	}
	pfd[0] = (struct pollfd){ .fd = w->ws->cfg.ops->evtchn_fd(w->ev), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = w->efd, .events = POLLIN };
	if (wake != UINT64_MAX) {
		uint64_t now = mono_ns();

		timeout = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
	}
	atomic_fetch_add_explicit(&w->n_sleeps, 1, memory_order_relaxed);
	poll(pfd, nfd, timeout);
	atomic_store(&w->sleeping, 0);
	atomic_fetch_add_explicit(&w->n_wakeups, 1, memory_order_relaxed);
	drain_events(w);
	return true;
}

static void *worker_main(void *opaque)
{
	struct nb_worker *w = opaque;
	const struct xen_ops *ops = w->ws->cfg.ops;
	uint64_t last_work = 0, spin_ns = (uint64_t)w->ws->cfg.poll_us * 1000;
	int r;

	/* An lcore id, so that mempool caches and rte_gso work here. */
	r = rte_thread_register();
	if (r < 0)
		r = -rte_errno;
	if (!r)
		r = ops->gnttab_open(&w->gt);
	if (!r)
		r = ops->evtchn_open(&w->ev);
	if (!r)
		r = nb_offload_new(w->ws->cfg.pool, w->ws->cfg.indirect, &w->offload);
	pthread_mutex_lock(&w->mu);
	w->start_result = r;
	w->running = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (r < 0)
		return NULL;
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		if (atomic_load_explicit(&w->has_cmd, memory_order_acquire))
			run_cmd(w);
		if (run_pass(w)) {
			last_work = w->now;
			continue;
		}
		if (w->now - last_work < spin_ns) {
			rte_pause();
			continue;
		}
		if (sleep_once(w))
			last_work = 0;
	}
	nb_offload_free(w->offload);
	ops->evtchn_close(w->ev);
	ops->gnttab_close(w->gt);
	rte_thread_unregister();
	return NULL;
}

static void worker_free(struct nb_worker *w)
{
	if (!w)
		return;
	if (w->running) {
		atomic_store(&w->stop, true);
		nb_worker_kick(w);
		pthread_join(w->thread, NULL);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

static int worker_start(struct nb_workers *ws, unsigned idx, struct nb_worker **ret)
{
	struct nb_worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->ws = ws;
	w->idx = idx;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		goto err;
	}
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r < 0)
		goto err;
	pthread_mutex_lock(&w->mu);
	while (!w->running)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	r = w->start_result;
	if (r < 0)
		goto err;
	*ret = w;
	return 0;
err:
	worker_free(w);
	return r;
}

int nb_workers_start(const struct nb_workers_cfg *cfg, struct nb_workers **ret)
{
	struct nb_workers *ws = calloc(1, sizeof(*ws) + cfg->count * sizeof(ws->w[0]));
	int r;

	if (!ws)
		return -ENOMEM;
	ws->cfg = *cfg;
	for (ws->n = 0; ws->n < cfg->count; ws->n++) {
		r = worker_start(ws, ws->n, &ws->w[ws->n]);
		if (r < 0) {
			log_err_errno(r, "cannot start data-path worker %u", ws->n);
			nb_workers_stop(ws);
			return r;
		}
	}
	*ret = ws;
	return 0;
}

void nb_workers_stop(struct nb_workers *ws)
{
	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++)
		worker_free(ws->w[i]);
	free(ws);
}

unsigned nb_workers_count(const struct nb_workers *ws)
{
	return ws->n;
}

struct nb_worker *nb_workers_get(struct nb_workers *ws, unsigned i)
{
	return i < ws->n ? ws->w[i] : NULL;
}

struct nb_worker *nb_workers_least_loaded(struct nb_workers *ws)
{
	struct nb_worker *best = ws->w[0];

	for (unsigned i = 1; i < ws->n; i++)
		if (atomic_load(&ws->w[i]->npollables) < atomic_load(&best->npollables))
			best = ws->w[i];
	return best;
}

void nb_workers_sync(struct nb_workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct nb_worker *w = ws->w[i];
		uint64_t p0 = atomic_load(&w->pass);

		while (atomic_load(&w->pass) == p0 && !atomic_load(&w->sleeping))
			sched_yield();
	}
}

static int post(struct nb_worker *w, enum cmd_op op, struct nb_pollable *p)
{
	struct cmd c = { .op = op, .p = p };

	pthread_mutex_lock(&w->mu);
	while (w->cmd)
		pthread_cond_wait(&w->cv, &w->mu);
	w->cmd = &c;
	atomic_store(&w->has_cmd, true);
	pthread_mutex_unlock(&w->mu);
	nb_worker_kick(w);
	pthread_mutex_lock(&w->mu);
	while (!c.done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return c.result;
}

int nb_worker_attach(struct nb_worker *w, struct nb_pollable *p)
{
	return post(w, CMD_ATTACH, p);
}

void nb_worker_detach(struct nb_worker *w, struct nb_pollable *p)
{
	post(w, CMD_DETACH, p);
}

void nb_worker_kick(struct nb_worker *w)
{
	uint64_t one = 1;

	/* seq_cst: the caller's queued work is visible before we look. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load(&w->sleeping) && !atomic_load(&w->has_cmd) && !atomic_load(&w->stop))
		return;
	atomic_fetch_add_explicit(&w->n_kicks, 1, memory_order_relaxed);
	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug_errno(-errno, "worker %u: kick", w->idx);
}

unsigned nb_worker_index(const struct nb_worker *w)
{
	return w->idx;
}

struct xen_gnttab *nb_worker_gnttab(struct nb_worker *w)
{
	return w->gt;
}

struct xen_evtchn *nb_worker_evtchn(struct nb_worker *w)
{
	return w->ev;
}

const struct xen_ops *nb_worker_ops(const struct nb_worker *w)
{
	return w->ws->cfg.ops;
}

struct nb_offload *nb_worker_offload(struct nb_worker *w)
{
	return w->offload;
}

struct rte_mempool *nb_worker_pool(struct nb_worker *w)
{
	return w->ws->cfg.pool;
}

void nb_worker_switch(struct nb_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	sw_input(w->ws->cfg.sw, &w->stage, w, pkts, n);
}

uint64_t nb_worker_now(const struct nb_worker *w)
{
	return w->now;
}

void nb_worker_stats(const struct nb_worker *w, struct nb_worker_stats *st)
{
	st->passes = atomic_load(&w->pass);
	st->sleeps = atomic_load(&w->n_sleeps);
	st->wakeups = atomic_load(&w->n_wakeups);
	st->kicks = atomic_load(&w->n_kicks);
	st->pollables = atomic_load(&w->npollables);
}
