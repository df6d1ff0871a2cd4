// SPDX-License-Identifier: GPL-2.0-only
/*
 * The worker pool (see workers.h). Each worker thread runs worker_main;
 * wk_pool_* and wk_worker_attach/detach/kick come from other threads.
 *
 * Sleeping: a worker sets `sleeping`, arms every pollable and re-checks
 * for commands and the stop flag, then waits in epoll_wait. A waker stores
 * its work, then (seq_cst) reads `sleeping` and writes the wake eventfd only
 * if it is set: either the worker's re-checks see the work, or the waker
 * sees the flag and the eventfd wakes it.
 *
 * epoll entries carry the pollable's address with the fd's index in its
 * low bits (a pollable is at least 4-aligned). A pollable's fds leave the
 * epoll set, on its worker's thread, before its detach returns, so no event
 * names a pollable that is gone.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "workers.h"

_Static_assert(_Alignof(struct wk_pollable) >= 4, "fd index in the low bits");
_Static_assert(WK_FDS <= 3, "fd index in the low bits");

/* Events taken per epoll_wait. */
#define MAX_EVENTS 64
/* The wake eventfd's epoll tag (no pollable is at address 0). */
#define TAG_WAKE 0

enum cmd_op { CMD_ATTACH, CMD_DETACH };

struct cmd {
	enum cmd_op op;
	struct wk_pollable *p;
	int result;
	bool done;
};

struct wk_worker {
	struct wk_pool *pool;
	unsigned idx;
	pthread_t thread;
	bool running;
	int start_result;
	int epfd;
	int efd;			/* wake-ups from other threads */
	void *data;
	_Atomic int sleeping;
	_Atomic bool stop;
	_Atomic bool has_cmd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cmd *cmd;
	struct wk_pollable *list;
	_Atomic unsigned npollables;
	uint64_t now;
	uint64_t spin_ns;		/* asked for by the current pass (wk_worker_spin) */
	bool spin_asked;
	bool yield;
	_Atomic uint64_t n_passes, n_sleeps, n_wakeups, n_kicks;
};

struct wk_pool {
	struct wk_pool_cfg cfg;
	char name[16];
	unsigned n;
	struct wk_worker *w[];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

unsigned wk_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1;
}

static void unwatch(struct wk_worker *w, int fd)
{
	/* ENOENT: the fd failed and was taken out already. */
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int watch_all(struct wk_worker *w, struct wk_pollable *p)
{
	unsigned i;

	for (i = 0; i < WK_FDS; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = (uint64_t)(uintptr_t)p | i };

		if (p->fds[i] < 0)
			continue;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, p->fds[i], &ev) < 0) {
			int r = -errno;

			while (i-- > 0)
				if (p->fds[i] >= 0)
					unwatch(w, p->fds[i]);
			return r;
		}
	}
	return 0;
}

static void run_cmd(struct wk_worker *w)
{
	struct wk_pollable **pp, *p;
	struct cmd *c;

	pthread_mutex_lock(&w->mu);
	c = w->cmd;
	if (c && c->op == CMD_ATTACH) {
		p = c->p;
		c->result = p->attach ? p->attach(p, w) : 0;
		if (!c->result) {
			c->result = watch_all(w, p);
			if (c->result < 0 && p->detach)
				p->detach(p, w);
		}
		if (!c->result) {
			p->next = w->list;
			w->list = p;
			atomic_fetch_add(&w->npollables, 1);
		}
	} else if (c) {
		p = c->p;
		for (pp = &w->list; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				atomic_fetch_sub(&w->npollables, 1);
				break;
			}
		for (unsigned i = 0; i < WK_FDS; i++)
			if (p->fds[i] >= 0)
				unwatch(w, p->fds[i]);
		if (p->detach)
			p->detach(p, w);
		c->result = 0;
	}
	if (c)
		c->done = true;
	w->cmd = NULL;
	atomic_store(&w->has_cmd, false);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static unsigned run_pass(struct wk_worker *w)
{
	unsigned work = 0;

	atomic_fetch_add_explicit(&w->n_passes, 1, memory_order_relaxed);
	w->now = mono_ns();
	w->spin_ns = 0;
	w->spin_asked = false;
	w->yield = false;
	for (struct wk_pollable *p = w->list; p; p = p->next)
		if (p->poll)
			work += p->poll(p, w);
	return work;
}

static void dispatch(struct wk_worker *w, const struct epoll_event *ev, int n)
{
	uint64_t v;

	for (int i = 0; i < n; i++) {
		struct wk_pollable *p;
		unsigned k;

		if (ev[i].data.u64 == TAG_WAKE) {
			if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug_errno(-errno, "worker %u: wake eventfd", w->idx);
			continue;
		}
		p = (struct wk_pollable *)(uintptr_t)(ev[i].data.u64 & ~(uint64_t)3);
		k = (unsigned)(ev[i].data.u64 & 3);
		if (p->event && !p->event(p, w, k, ev[i].events))
			unwatch(w, p->fds[k]);
		else if (!p->event && (ev[i].events & (EPOLLERR | EPOLLHUP)))
			unwatch(w, p->fds[k]);	/* never spin on a failed fd */
	}
}

/*
 * Arms everything and sleeps unless work showed up. False when it woke by
 * its timeout alone (a pollable's wake time: a device without interrupts
 * looked at again), with no fd ready and no kick.
 */
static bool sleep_once(struct wk_worker *w)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t wake = UINT64_MAX;
	bool work = false;
	int timeout = -1, n;

	atomic_store(&w->sleeping, 1);	/* seq_cst: before the re-checks (kick) */
	for (struct wk_pollable *p = w->list; p; p = p->next)
		if (p->arm && p->arm(p, w, &wake))
			work = true;
	if (work || atomic_load(&w->has_cmd) || atomic_load(&w->stop)) {
		atomic_store(&w->sleeping, 0);
		return true;
	}
	if (wake != UINT64_MAX) {
		uint64_t now = mono_ns();

		timeout = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
	}
	atomic_fetch_add_explicit(&w->n_sleeps, 1, memory_order_relaxed);
	n = epoll_wait(w->epfd, ev, MAX_EVENTS, timeout);
	atomic_store(&w->sleeping, 0);
	atomic_fetch_add_explicit(&w->n_wakeups, 1, memory_order_relaxed);
	if (n > 0)
		dispatch(w, ev, n);
	return n != 0;
}

static void *worker_main(void *opaque)
{
	struct wk_worker *w = opaque;
	const struct wk_pool_cfg *cfg = &w->pool->cfg;
	uint64_t last_work, poll_ns = (uint64_t)cfg->poll_us * 1000;
	char name[32];
	int r = 0;

	/* The kernel keeps 15 characters: pool names are at most 10. No '/': Linux's evtchn
	 * driver names the IRQ of every port a thread binds "evtchn:<comm>" (drivers/xen/evtchn.c,
	 * evtchn_bind_to_user), and proc_mkdir() of a name with a slash is a kernel WARNING
	 * (fs/proc/generic.c, __xlate_proc_name), one per port, seen in xenhost's driver domain. */
	snprintf(name, sizeof(name), "%s-%u", w->pool->name, w->idx);
	name[15] = 0;
	pthread_setname_np(pthread_self(), name);
	if (cfg->thread_init)
		r = cfg->thread_init(w, cfg->opaque);
	pthread_mutex_lock(&w->mu);
	w->start_result = r;
	w->running = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (r < 0)
		return NULL;
	last_work = mono_ns();
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		uint64_t spin;

		if (atomic_load_explicit(&w->has_cmd, memory_order_acquire))
			run_cmd(w);
		if (run_pass(w)) {
			last_work = w->now;
			continue;
		}
		spin = w->spin_asked ? w->spin_ns : poll_ns;
		if (w->now - last_work < spin) {
			if (w->yield)
				sched_yield();
			else
				for (int i = 0; i < 16; i++)
					cpu_relax();
			continue;
		}
		/* Right after a wakeup the next request tends to follow:
		 * poll a while again before the next sleep. Not after a
		 * timeout with nothing ready: a pass looks, and if it finds
		 * work that starts the window (an idle device without
		 * interrupts, looked at 60 times a second, would otherwise
		 * cost a poll window each time). */
		if (sleep_once(w))
			last_work = mono_ns();
	}
	if (cfg->thread_fini)
		cfg->thread_fini(w, cfg->opaque);
	return NULL;
}

static void worker_free(struct wk_worker *w)
{
	if (!w)
		return;
	if (w->running) {
		atomic_store(&w->stop, true);
		wk_worker_kick(w);
		pthread_join(w->thread, NULL);
	}
	if (w->efd >= 0)
		close(w->efd);
	if (w->epfd >= 0)
		close(w->epfd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

static int worker_start(struct wk_pool *pool, unsigned idx, struct wk_worker **ret)
{
	struct wk_worker *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_WAKE };
	sigset_t all, old;
	int r;

	if (!w)
		return -ENOMEM;
	w->pool = pool;
	w->idx = idx;
	w->efd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		goto err_errno;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		goto err_errno;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ev) < 0)
		goto err_errno;
	/* Signals belong to the loop thread's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto err;
	pthread_mutex_lock(&w->mu);
	while (!w->running)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	r = w->start_result;
	if (r < 0) {
		pthread_join(w->thread, NULL);
		w->running = false;
		goto err;
	}
	*ret = w;
	return 0;
err_errno:
	r = -errno;
err:
	worker_free(w);
	return r;
}

int wk_pool_start(const struct wk_pool_cfg *cfg, struct wk_pool **ret)
{
	struct wk_pool *pool;
	int r;

	if (!cfg->count || cfg->count > WK_WORKERS_CAP)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool) + cfg->count * sizeof(pool->w[0]));
	if (!pool)
		return -ENOMEM;
	pool->cfg = *cfg;
	snprintf(pool->name, sizeof(pool->name), "%.10s", cfg->name ? cfg->name : "worker");
	pool->cfg.name = pool->name;
	for (pool->n = 0; pool->n < cfg->count; pool->n++) {
		r = worker_start(pool, pool->n, &pool->w[pool->n]);
		if (r < 0) {
			log_err_errno(r, "cannot start worker %u", pool->n);
			wk_pool_stop(pool);
			return r;
		}
	}
	*ret = pool;
	return 0;
}

void wk_pool_stop(struct wk_pool *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->n; i++)
		worker_free(pool->w[i]);
	free(pool);
}

unsigned wk_pool_count(const struct wk_pool *pool)
{
	return pool->n;
}

struct wk_worker *wk_pool_get(struct wk_pool *pool, unsigned i)
{
	return i < pool->n ? pool->w[i] : NULL;
}

struct wk_worker *wk_pool_least_loaded(struct wk_pool *pool)
{
	struct wk_worker *best = pool->w[0];

	for (unsigned i = 1; i < pool->n; i++)
		if (atomic_load(&pool->w[i]->npollables) < atomic_load(&best->npollables))
			best = pool->w[i];
	return best;
}

void wk_pool_sync(struct wk_pool *pool)
{
	for (unsigned i = 0; i < pool->n; i++) {
		struct wk_worker *w = pool->w[i];
		uint64_t p0 = atomic_load(&w->n_passes);

		while (atomic_load(&w->n_passes) == p0 && !atomic_load(&w->sleeping))
			sched_yield();
	}
}

static int post(struct wk_worker *w, enum cmd_op op, struct wk_pollable *p)
{
	struct cmd c = { .op = op, .p = p };

	pthread_mutex_lock(&w->mu);
	while (w->cmd)
		pthread_cond_wait(&w->cv, &w->mu);
	w->cmd = &c;
	atomic_store(&w->has_cmd, true);
	pthread_mutex_unlock(&w->mu);
	wk_worker_kick(w);
	pthread_mutex_lock(&w->mu);
	while (!c.done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return c.result;
}

int wk_worker_attach(struct wk_worker *w, struct wk_pollable *p)
{
	return post(w, CMD_ATTACH, p);
}

void wk_worker_detach(struct wk_worker *w, struct wk_pollable *p)
{
	post(w, CMD_DETACH, p);
}

void wk_worker_kick(struct wk_worker *w)
{
	uint64_t one = 1;

	/* seq_cst: the caller's work is visible before we look. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load(&w->sleeping))
		return;
	atomic_fetch_add_explicit(&w->n_kicks, 1, memory_order_relaxed);
	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug_errno(-errno, "worker %u: kick", w->idx);
}

void wk_worker_spin(struct wk_worker *w, unsigned us, bool yield)
{
	uint64_t ns = (uint64_t)us * 1000;

	w->spin_asked = true;
	if (ns > w->spin_ns)
		w->spin_ns = ns;
	if (us && yield)
		w->yield = true;
}

unsigned wk_worker_index(const struct wk_worker *w)
{
	return w->idx;
}

uint64_t wk_worker_now(const struct wk_worker *w)
{
	return w->now;
}

void *wk_worker_data(const struct wk_worker *w)
{
	return w->data;
}

void wk_worker_set_data(struct wk_worker *w, void *data)
{
	w->data = data;
}

void wk_worker_stats(const struct wk_worker *w, struct wk_worker_stats *st)
{
	st->passes = atomic_load(&w->n_passes);
	st->sleeps = atomic_load(&w->n_sleeps);
	st->wakeups = atomic_load(&w->n_wakeups);
	st->kicks = atomic_load(&w->n_kicks);
	st->pollables = atomic_load(&w->npollables);
	st->asleep = atomic_load(&w->sleeping);
}

void wk_worker_stats_json(struct json *j, unsigned index, const struct wk_worker_stats *st)
{
	json_obj_begin(j);
	json_ku64(j, "index", index);
	json_ku64(j, "pollables", st->pollables);
	json_ku64(j, "passes", st->passes);
	json_ku64(j, "sleeps", st->sleeps);
	json_ku64(j, "wakeups", st->wakeups);
	json_ku64(j, "kicks", st->kicks);
	json_obj_end(j);
}
