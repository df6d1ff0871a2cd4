/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A pool of data-path worker threads, each serving many pollables (a
 * pollable is a ring: a blkif queue, a vif queue). The daemon starts a
 * fixed number of workers (one per CPU it may use by default) and gives
 * each new ring to the worker with the fewest; the thread count does not
 * grow with the guests, and every ring a worker owns gets one pass per
 * round, so equal loads get equal service (docs/common.md, "Workers").
 *
 * A worker runs passes over its pollables while any has work; with none
 * for poll_us (or what a pollable asked for instead, e.g. while its I/O is
 * in flight: wk_worker_spin) it asks each pollable to arm its
 * notifications and sleeps in epoll_wait on their fds and its own wake
 * eventfd. At the wakeup each ready fd is reported to its pollable's
 * event hook, then a pass runs. Idle, a worker uses no CPU.
 *
 * Threads: wk_pool_*, wk_worker_attach/detach and wk_worker_kick are called
 * from other threads (the loop); the hooks all run on the worker's own
 * thread, one at a time. attach and detach are commands the worker runs
 * between passes; the calls return when it has. Nothing allocates, exits
 * or blocks on the worker's thread after start, except in the hooks the
 * caller supplies.
 */
#ifndef DDOM_WORKERS_H
#define DDOM_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

struct wk_worker;
struct wk_pool;

/* Fds a pollable may sleep on. */
#define WK_FDS 2
/* Workers in a pool, at most. */
#define WK_WORKERS_CAP 64

struct wk_pollable {
	/* One pass: the work done; 0 when there was none. Optional (a
	 * pollable that only watches an fd). */
	unsigned (*poll)(struct wk_pollable *p, struct wk_worker *w);
	/*
	 * Before a sleep: re-arm notifications; true when work arrived
	 * meanwhile (the worker does not sleep). *wake_ns may be lowered to
	 * a CLOCK_MONOTONIC time at which the worker must wake anyway.
	 */
	bool (*arm)(struct wk_pollable *p, struct wk_worker *w, uint64_t *wake_ns);
	/*
	 * fds[i] is ready (epoll events in revents) at a wakeup; a pass
	 * follows. False: stop watching that fd (it failed). Optional.
	 */
	bool (*event)(struct wk_pollable *p, struct wk_worker *w, unsigned i, uint32_t revents);
	/* On the worker's thread, when added / removed. Optional. */
	int (*attach)(struct wk_pollable *p, struct wk_worker *w);
	void (*detach)(struct wk_pollable *p, struct wk_worker *w);
	int fds[WK_FDS];		/* fds to sleep on (EPOLLIN), -1 for none */
	struct wk_pollable *next;	/* the worker's list */
};

struct wk_pool_cfg {
	const char *name;		/* thread names: "<name>/<index>", <= 10 chars */
	unsigned count;			/* 1 .. WK_WORKERS_CAP */
	unsigned poll_us;		/* busy-poll this long before sleeping */
	/* On each worker's thread before its first pass and after its last;
	 * optional. A negative return fails wk_pool_start. */
	int (*thread_init)(struct wk_worker *w, void *opaque);
	void (*thread_fini)(struct wk_worker *w, void *opaque);
	void *opaque;
};

/* The CPUs this process may run on (its affinity mask), at least 1. */
unsigned wk_cpus(void);

int wk_pool_start(const struct wk_pool_cfg *cfg, struct wk_pool **ret);
/* Stops every worker (their pollables must have been detached); NULL is fine. */
void wk_pool_stop(struct wk_pool *pool);
unsigned wk_pool_count(const struct wk_pool *pool);
struct wk_worker *wk_pool_get(struct wk_pool *pool, unsigned i);
/* The worker with the fewest pollables (the lowest index among equals). */
struct wk_worker *wk_pool_least_loaded(struct wk_pool *pool);
/* Waits until every worker has been between passes (or asleep) once since the call. */
void wk_pool_sync(struct wk_pool *pool);

/* Adds p to w (its attach hook's result); p->fds are watched from then on. */
int wk_worker_attach(struct wk_worker *w, struct wk_pollable *p);
/* Removes p from w; its hooks are not called again after this returns. */
void wk_worker_detach(struct wk_worker *w, struct wk_pollable *p);
/* Wakes w if it sleeps (after making work visible to one of its pollables). */
void wk_worker_kick(struct wk_worker *w);

/*
 * From a poll hook: poll for `us` after this pass before sleeping, instead
 * of the pool's poll_us (the longest asked for in the pass counts; blkbackd
 * asks for poll-io-us while a queue's I/O is in flight: a completion is
 * due), and with `yield`, give the CPU away between those passes
 * (sched_yield: others on the same CPU, the store's or the frontends'
 * threads, make the progress being waited for). Holds for the current pass
 * only; a pollable says it again each pass.
 */
void wk_worker_spin(struct wk_worker *w, unsigned us, bool yield);

unsigned wk_worker_index(const struct wk_worker *w);
/* CLOCK_MONOTONIC ns at the start of the current pass. */
uint64_t wk_worker_now(const struct wk_worker *w);
/* The caller's per-worker data (thread_init sets it). */
void *wk_worker_data(const struct wk_worker *w);
void wk_worker_set_data(struct wk_worker *w, void *data);

struct wk_worker_stats {
	uint64_t passes, sleeps, wakeups, kicks;
	unsigned pollables;
	bool asleep;		/* arming or waiting (a kick wakes it) */
};
void wk_worker_stats(const struct wk_worker *w, struct wk_worker_stats *st);
/*
 * One worker's entry of a daemon's status-json "workers" array
 * (docs/ddomctl.md): {"index", "pollables", "passes", "sleeps", "wakeups",
 * "kicks"}. The caller fills st (a daemon may discount its own pollables).
 */
struct json;
void wk_worker_stats_json(struct json *j, unsigned index, const struct wk_worker_stats *st);

#endif
