// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of common/workers.c with pollables written here: rings are
 * spread over the least loaded workers and their hooks run on the worker's
 * thread; one worker gives every busy pollable one pass per round (the
 * fairness blkbackd moved to a pool for); a sleeping worker wakes for a
 * pollable's fd and for a kick, and arms every pollable before it sleeps;
 * an fd that fails is reported once and unwatched, not spun on; a pollable
 * that asks the worker to keep polling keeps it awake; a failing
 * thread_init and bad counts fail the start.
 *
 * Waits are bounded loops on the workers' counters, never sleeps.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tap.h"
#include "workers.h"

struct tp {
	struct wk_pollable pl;
	_Atomic unsigned passes;	/* poll calls that did work */
	_Atomic unsigned pending;	/* work to take */
	_Atomic unsigned taken;
	_Atomic unsigned arms, events, hups;
	_Atomic bool busy;		/* always has work */
	_Atomic unsigned spin_us;	/* asked of the worker each pass */
	_Atomic unsigned timer_ms;	/* asks to be looked at again after this, when armed */
	_Atomic bool attached_here;	/* attach ran off the main thread */
	_Atomic bool detached_here;
	_Atomic int worker;
};

static pthread_t main_thread;
static _Atomic bool frozen;	/* busy rings stop counting their passes */

static struct tp *tp_of(struct wk_pollable *p)
{
	return (struct tp *)p;
}

static unsigned tp_poll(struct wk_pollable *p, struct wk_worker *w)
{
	struct tp *t = tp_of(p);
	unsigned n;

	if (atomic_load(&t->spin_us))
		wk_worker_spin(w, atomic_load(&t->spin_us), false);
	if (atomic_load(&t->busy)) {
		if (!atomic_load(&frozen))
			atomic_fetch_add(&t->passes, 1);
		return 1;
	}
	n = atomic_exchange(&t->pending, 0);
	atomic_fetch_add(&t->taken, n);
	return n;
}

static bool tp_arm(struct wk_pollable *p, struct wk_worker *w, uint64_t *wake_ns)
{
	struct tp *t = tp_of(p);

	atomic_fetch_add(&t->arms, 1);
	if (atomic_load(&t->timer_ms))
		*wake_ns = wk_worker_now(w) + atomic_load(&t->timer_ms) * 1000000ull;
	return atomic_load(&t->pending) || atomic_load(&t->busy);
}

static bool tp_event(struct wk_pollable *p, struct wk_worker *w, unsigned i, uint32_t revents)
{
	struct tp *t = tp_of(p);
	uint64_t v;

	(void)w;
	atomic_fetch_add(&t->events, 1);
	if (revents & EPOLLHUP) {
		atomic_fetch_add(&t->hups, 1);
		return false;
	}
	if (read(p->fds[i], &v, sizeof(v)) < 0)
		return false;
	return true;
}

static int tp_attach(struct wk_pollable *p, struct wk_worker *w)
{
	struct tp *t = tp_of(p);

	atomic_store(&t->attached_here, !pthread_equal(pthread_self(), main_thread));
	atomic_store(&t->worker, (int)wk_worker_index(w));
	return 0;
}

static void tp_detach(struct wk_pollable *p, struct wk_worker *w)
{
	(void)w;
	atomic_store(&tp_of(p)->detached_here, !pthread_equal(pthread_self(), main_thread));
}

static void tp_init(struct tp *t)
{
	memset(t, 0, sizeof(*t));
	t->pl.poll = tp_poll;
	t->pl.arm = tp_arm;
	t->pl.event = tp_event;
	t->pl.attach = tp_attach;
	t->pl.detach = tp_detach;
	t->pl.fds[0] = t->pl.fds[1] = -1;
	t->worker = -1;
}

static struct wk_pool *pool_of(unsigned n)
{
	struct wk_pool_cfg c = { .name = "test", .count = n, .poll_us = 0 };
	struct wk_pool *pool = NULL;

	if (wk_pool_start(&c, &pool) < 0)
		return NULL;
	return pool;
}

static struct wk_worker_stats stats(struct wk_pool *pool, unsigned i)
{
	struct wk_worker_stats st;

	wk_worker_stats(wk_pool_get(pool, i), &st);
	return st;
}

struct cond {
	struct wk_pool *pool;
	unsigned i;
	uint64_t than;
	_Atomic unsigned *v;
};

static bool slept_more(const struct cond *c)
{
	return stats(c->pool, c->i).sleeps > c->than;
}

static bool is_asleep(const struct cond *c)
{
	return stats(c->pool, c->i).asleep;
}

static bool reached(const struct cond *c)
{
	return atomic_load(c->v) >= c->than;
}

/* Waits (10 s at most) until pred holds. */
static bool wait_for(bool (*pred)(const struct cond *c), struct cond c)
{
	uint64_t end = test_mono_ms() + 10000;

	while (!pred(&c))
		if (test_mono_ms() > end)
			return false;
		else
			sched_yield();
	return true;
}

/* Until worker i has slept more than `than` times. */
static bool wait_sleeps(struct wk_pool *pool, unsigned i, uint64_t than)
{
	return wait_for(slept_more, (struct cond){ .pool = pool, .i = i, .than = than });
}

/* Until worker i arms or waits (a kick now wakes it). */
static bool wait_asleep(struct wk_pool *pool, unsigned i)
{
	return wait_for(is_asleep, (struct cond){ .pool = pool, .i = i });
}

static bool wait_atomic(_Atomic unsigned *v, unsigned at_least)
{
	return wait_for(reached, (struct cond){ .v = v, .than = at_least });
}

static void test_spread(void)
{
	struct wk_pool *pool = pool_of(3);
	struct tp t[7];
	unsigned per[3] = { 0 }, i;

	REQUIRE(pool);
	CHECK(wk_pool_count(pool) == 3);
	for (i = 0; i < 7; i++) {
		tp_init(&t[i]);
		CHECK(wk_worker_attach(wk_pool_least_loaded(pool), &t[i].pl) == 0);
		CHECK(t[i].attached_here);
	}
	for (i = 0; i < 7; i++)
		if (t[i].worker >= 0 && t[i].worker < 3)
			per[t[i].worker]++;
	CHECK(per[0] == 3 && per[1] == 2 && per[2] == 2);
	for (i = 0; i < 3; i++)
		CHECK(stats(pool, i).pollables == per[i]);
	for (i = 0; i < 7; i++) {
		wk_worker_detach(wk_pool_get(pool, (unsigned)t[i].worker), &t[i].pl);
		CHECK(t[i].detached_here);
	}
	for (i = 0; i < 3; i++)
		CHECK(stats(pool, i).pollables == 0);
	wk_pool_stop(pool);
}

/* Five always-busy rings on one worker: each gets one pass per round. */
static void test_round_robin(void)
{
	struct wk_pool *pool = pool_of(1);
	struct wk_worker *w;
	struct tp t[5];
	unsigned i, lo = ~0u, hi = 0;

	REQUIRE(pool);
	w = wk_pool_get(pool, 0);
	/* Counted from when all are there: a flip of one flag, seen by a
	 * pass part-way at most (so counts differ by 2 at most). */
	atomic_store(&frozen, true);
	for (i = 0; i < 5; i++) {
		tp_init(&t[i]);
		t[i].busy = true;
		CHECK(wk_worker_attach(w, &t[i].pl) == 0);
	}
	atomic_store(&frozen, false);
	CHECK(wait_atomic(&t[4].passes, 100000));
	atomic_store(&frozen, true);
	wk_pool_sync(pool);
	wk_pool_sync(pool);	/* the pass that saw some frozen has ended */
	for (i = 0; i < 5; i++) {
		unsigned n = atomic_load(&t[i].passes);

		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
	}
	printf("# passes per ring: %u..%u\n", lo, hi);
	CHECK(lo >= 100000 - 2 && hi - lo <= 2);
	for (i = 0; i < 5; i++)
		wk_worker_detach(w, &t[i].pl);
	wk_pool_stop(pool);
}

/* A sleeping worker wakes for its ring's fd, then for a kick. */
static void test_sleep_wake(void)
{
	struct wk_pool *pool = pool_of(1);
	struct wk_worker *w;
	struct tp t;
	uint64_t one = 1;

	REQUIRE(pool);
	w = wk_pool_get(pool, 0);
	tp_init(&t);
	t.pl.fds[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(t.pl.fds[0] >= 0);
	CHECK(wk_worker_attach(w, &t.pl) == 0);
	/* Its next sleep arms the ring. */
	REQUIRE(wait_atomic(&t.arms, 1));
	REQUIRE(wait_asleep(pool, 0));
	/* The fd: the event hook sees it, the pass takes the work. */
	atomic_store(&t.pending, 1);
	CHECK(write(t.pl.fds[0], &one, sizeof(one)) == sizeof(one));
	CHECK(wait_atomic(&t.taken, 1));
	CHECK(atomic_load(&t.events) >= 1);
	/* A kick, once it sleeps again (it was awake to take the work). */
	REQUIRE(wait_asleep(pool, 0));
	atomic_store(&t.pending, 1);
	wk_worker_kick(w);
	CHECK(wait_atomic(&t.taken, 2));
	CHECK(stats(pool, 0).kicks >= 1 && stats(pool, 0).wakeups >= 2);
	wk_worker_detach(w, &t.pl);
	close(t.pl.fds[0]);
	wk_pool_stop(pool);
}

/* A failed fd (a pipe whose writer is gone: EPOLLHUP for ever) is
 * reported once and unwatched; the worker goes on sleeping and waking. */
static void test_failed_fd(void)
{
	struct wk_pool *pool = pool_of(1);
	struct wk_worker *w;
	struct tp t;
	int pfd[2];
	uint64_t s;

	REQUIRE(pool);
	REQUIRE(pipe(pfd) == 0);
	close(pfd[1]);
	w = wk_pool_get(pool, 0);
	tp_init(&t);
	t.pl.fds[1] = pfd[0];
	CHECK(wk_worker_attach(w, &t.pl) == 0);
	CHECK(wait_atomic(&t.hups, 1));
	s = stats(pool, 0).sleeps;
	for (int k = 0; k < 3; k++) {
		REQUIRE(wait_asleep(pool, 0));
		atomic_store(&t.pending, 1);
		wk_worker_kick(w);
		CHECK(wait_atomic(&t.taken, (unsigned)k + 1));
	}
	/* Slept (and woke) again since: an fd still watched would have
	 * been reported at each of those wakeups. */
	CHECK(wait_sleeps(pool, 0, s + 1));
	CHECK(atomic_load(&t.hups) == 1);
	wk_worker_detach(w, &t.pl);
	close(pfd[0]);
	wk_pool_stop(pool);
}

/* poll_us is 0, but a ring that asks for 10 s of polling keeps the worker
 * passing without a sleep; when it stops asking, the worker sleeps. */
static void test_spin(void)
{
	struct wk_pool *pool = pool_of(1);
	struct wk_worker *w;
	struct tp t;
	uint64_t s0, p0, end;

	REQUIRE(pool);
	w = wk_pool_get(pool, 0);
	tp_init(&t);
	CHECK(wk_worker_attach(w, &t.pl) == 0);
	REQUIRE(wait_sleeps(pool, 0, 0));
	atomic_store(&t.spin_us, 10000000);
	atomic_store(&t.pending, 1);
	wk_worker_kick(w);
	CHECK(wait_atomic(&t.taken, 1));
	s0 = stats(pool, 0).sleeps;
	p0 = stats(pool, 0).passes;
	end = test_mono_ms() + 10000;
	while (stats(pool, 0).passes < p0 + 10000 && test_mono_ms() < end)
		sched_yield();
	CHECK(stats(pool, 0).passes >= p0 + 10000);
	CHECK(stats(pool, 0).sleeps == s0);
	atomic_store(&t.spin_us, 0);
	CHECK(wait_sleeps(pool, 0, s0));
	wk_worker_detach(w, &t.pl);
	wk_pool_stop(pool);
}

/*
 * A pollable's timer wakes the worker with nothing to do: one pass, then
 * sleep again, not the poll window a wakeup by an fd or a kick starts.
 */
static void test_timer_idle(void)
{
	struct wk_pool_cfg c = { .name = "test", .count = 1, .poll_us = 200000 };
	struct wk_pool *pool = NULL;
	struct wk_worker *w;
	struct wk_worker_stats a, b;
	struct tp t;
	uint64_t end;

	REQUIRE(wk_pool_start(&c, &pool) == 0);
	w = wk_pool_get(pool, 0);
	tp_init(&t);
	CHECK(wk_worker_attach(w, &t.pl) == 0);
	REQUIRE(wait_sleeps(pool, 0, 0));
	atomic_store(&t.timer_ms, 1);
	a = stats(pool, 0);
	wk_worker_kick(w);	/* a wakeup: the window, then the first timer wakeup */
	end = test_mono_ms() + 5000;
	while (stats(pool, 0).wakeups < a.wakeups + 2 && test_mono_ms() < end)
		sched_yield();
	a = stats(pool, 0);
	end = test_mono_ms() + 5000;
	while (stats(pool, 0).wakeups < a.wakeups + 30 && test_mono_ms() < end)
		sched_yield();
	b = stats(pool, 0);
	/* 30 timer wakeups inside one 200 ms poll window were impossible before. */
	CHECK(b.wakeups >= a.wakeups + 30);
	CHECK(b.passes - a.passes <= 3 * (b.wakeups - a.wakeups) + 1000);
	atomic_store(&t.timer_ms, 0);
	wk_worker_detach(w, &t.pl);
	wk_pool_stop(pool);
}

static int fail_second(struct wk_worker *w, void *opaque)
{
	(void)opaque;
	return wk_worker_index(w) == 1 ? -EIO : 0;
}

static void test_bad_start(void)
{
	struct wk_pool_cfg c = { .name = "test", .count = 3, .thread_init = fail_second };
	struct wk_pool *pool = NULL;

	CHECK(wk_pool_start(&c, &pool) == -EIO && !pool);
	c.thread_init = NULL;
	c.count = 0;
	CHECK(wk_pool_start(&c, &pool) == -EINVAL);
	c.count = WK_WORKERS_CAP + 1;
	CHECK(wk_pool_start(&c, &pool) == -EINVAL);
	CHECK(wk_cpus() >= 1);
}

int main(void)
{
	main_thread = pthread_self();
	tap_run("/workers/spread", test_spread);
	tap_run("/workers/round-robin", test_round_robin);
	tap_run("/workers/sleep-wake", test_sleep_wake);
	tap_run("/workers/failed-fd", test_failed_fd);
	tap_run("/workers/spin", test_spin);
	tap_run("/workers/timer-idle", test_timer_idle);
	tap_run("/workers/bad-start", test_bad_start);
	return tap_done();
}
