// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for common/loop.c: fd sources, one-shot and periodic timers,
 * signals through signalfd, deferred calls (order, rounds, cancel), removal
 * of sources from inside callbacks (own and other, with events pending in
 * the same round), loop_run/loop_quit. Waits are bounded loop_run_once
 * calls; nothing sleeps.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"


/* Turns the loop until *flag reaches want or 5 s pass. */
static bool run_until(struct loop *l, const int *flag, int want)
{
	uint64_t end = test_mono_ms() + 5000;

	while (*flag < want && test_mono_ms() < end)
		if (loop_run_once(l, 100) < 0)
			return false;
	return *flag >= want;
}

struct fdctx {
	int calls;
	int fd;
	uint32_t events;
	struct loop_source *self;
	struct loop_source *victim;
	struct loop *l;
};

static void on_fd(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct fdctx *c = opaque;
	char buf[16];

	c->calls++;
	c->fd = fd;
	c->events = events;
	if (read(fd, buf, sizeof(buf)) < 0)
		c->events = 0;
	if (c->victim)
		loop_remove(l, c->victim);
}

static void test_fd(void)
{
	struct fdctx c = { 0 };
	struct loop_source *s;
	struct loop *l;
	int p[2];

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(pipe(p) == 0);
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &s) == 0);
	CHECK(loop_run_once(l, 0) == 0 && c.calls == 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(run_until(l, &c.calls, 1));
	CHECK(c.fd == p[0] && (c.events & EPOLLIN));
	/* Drained: no further call. */
	CHECK(loop_run_once(l, 0) == 0 && c.calls == 1);
	loop_remove(l, s);
	CHECK(write(p[1], "y", 1) == 1);
	CHECK(loop_run_once(l, 0) == 0 && c.calls == 1);
	/* Adding the same fd twice is refused by epoll. */
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &s) == 0);
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, NULL) == -EEXIST);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

/*
 * Two fds ready in the same round: whichever callback runs first removes
 * the other, which must then not be called (its event is already in the
 * epoll_wait result).
 */
static void test_remove_other_in_callback(void)
{
	struct fdctx a = { 0 }, b = { 0 };
	struct loop *l;
	int pa[2], pb[2];

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(pipe(pa) == 0 && pipe(pb) == 0);
	CHECK(loop_add_fd(l, pa[0], EPOLLIN, on_fd, &a, &a.self) == 0);
	CHECK(loop_add_fd(l, pb[0], EPOLLIN, on_fd, &b, &b.self) == 0);
	a.victim = b.self;
	b.victim = a.self;
	CHECK(write(pa[1], "x", 1) == 1 && write(pb[1], "x", 1) == 1);
	CHECK(loop_run_once(l, 1000) == 2);
	CHECK(a.calls + b.calls == 1);
	loop_free(l);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

static void test_remove_self_in_callback(void)
{
	struct fdctx c = { 0 };
	struct loop *l;
	int p[2];

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(pipe(p) == 0);
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &c.self) == 0);
	c.victim = c.self;
	CHECK(write(p[1], "xy", 2) == 2);
	CHECK(run_until(l, &c.calls, 1));
	CHECK(write(p[1], "z", 1) == 1);
	CHECK(loop_run_once(l, 0) == 0 && c.calls == 1);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

struct tick {
	int calls;
	struct loop_source *src;
	int stop_after;
};

static void on_tick(struct loop *l, void *opaque)
{
	struct tick *t = opaque;

	t->calls++;
	if (t->stop_after && t->calls == t->stop_after)
		loop_remove(l, t->src);
}

static void test_timer(void)
{
	struct tick once = { 0 }, periodic = { .stop_after = 3 }, now = { 0 };
	struct loop *l;
	uint64_t t0 = test_mono_ms();

	REQUIRE(loop_new(&l) == 0);
	CHECK(loop_add_timer(l, 20000, 0, on_tick, &once, &once.src) == 0);
	CHECK(loop_add_timer(l, 1000, 1000, on_tick, &periodic, &periodic.src) == 0);
	CHECK(loop_add_timer(l, 0, 0, on_tick, &now, &now.src) == 0);
	CHECK(run_until(l, &now.calls, 1));
	CHECK(run_until(l, &periodic.calls, 3));
	/* Removed from its own callback after the third tick. */
	CHECK(loop_run_once(l, 20) >= 0 && periodic.calls == 3);
	/* The one-shot is not due for 20 ms after t0. */
	if (test_mono_ms() - t0 < 15)
		CHECK(once.calls == 0);
	CHECK(run_until(l, &once.calls, 1));
	CHECK(test_mono_ms() - t0 >= 20);
	/* A one-shot fires once; re-arming makes it fire again. */
	CHECK(loop_run_once(l, 30) >= 0 && once.calls == 1);
	CHECK(loop_timer_set(once.src, 1000, 0) == 0);
	CHECK(run_until(l, &once.calls, 2));
	CHECK(loop_timer_set(now.src, 0, 0) == 0);
	CHECK(run_until(l, &now.calls, 2));
	loop_free(l);
}

static void test_timer_set_on_fd_fails(void)
{
	struct fdctx c = { 0 };
	struct loop_source *s;
	struct loop *l;
	int p[2];

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(pipe(p) == 0);
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &s) == 0);
	CHECK(loop_timer_set(s, 1, 0) == -EINVAL);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

static void test_signal(void)
{
	struct tick t = { 0 };
	struct loop_source *s;
	struct loop *l;
	sigset_t cur;

	REQUIRE(loop_new(&l) == 0);
	CHECK(loop_add_signal(l, SIGUSR1, on_tick, &t, &s) == 0);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGUSR1) == 1);
	/* Blocked: the default action (terminate) cannot run. */
	CHECK(raise(SIGUSR1) == 0);
	CHECK(run_until(l, &t.calls, 1));
	CHECK(raise(SIGUSR1) == 0);
	CHECK(run_until(l, &t.calls, 2));
	loop_remove(l, s);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGUSR1) == 0);
	loop_free(l);
}

static char order[16];
static size_t order_len;

static void defer_a(struct loop *l, void *opaque)
{
	(void)l;
	(void)opaque;
	order[order_len++] = 'a';
}

static void defer_b(struct loop *l, void *opaque)
{
	(void)opaque;
	order[order_len++] = 'b';
	/* Deferred from a deferred call: runs in the next round. */
	loop_defer(l, defer_a, NULL);
}

static void on_fd_defers(struct loop *l, int fd, uint32_t events, void *opaque)
{
	char buf[4];

	(void)events;
	(void)opaque;
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
	order[order_len++] = 'f';
	loop_defer(l, defer_a, NULL);
}

static void test_defer(void)
{
	struct loop *l;
	int p[2];

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(pipe(p) == 0);
	order_len = 0;
	memset(order, 0, sizeof(order));
	CHECK(loop_add_fd(l, p[0], EPOLLIN, on_fd_defers, NULL, NULL) == 0);
	CHECK(loop_defer(l, defer_b, NULL) == 0);
	CHECK(loop_defer(l, defer_a, NULL) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	/* Round 1: the fd callback first, then b, a, a (queued order). */
	CHECK(loop_run_once(l, -1) == 1);
	CHECK(strcmp(order, "fbaa") == 0);
	/* The call b deferred waits for round 2, which does not block. */
	CHECK(loop_run_once(l, -1) == 0);
	CHECK(strcmp(order, "fbaaa") == 0);

	CHECK(loop_defer(l, defer_a, &order) == 0);
	CHECK(loop_defer(l, defer_b, NULL) == 0);
	CHECK(loop_defer(l, defer_a, &order) == 0);
	loop_defer_cancel(l, defer_a, &order);
	CHECK(loop_run_once(l, 0) == 0);
	CHECK(strcmp(order, "fbaaab") == 0);
	CHECK(loop_run_once(l, 0) == 0);
	CHECK(strcmp(order, "fbaaaba") == 0);
	/* Pending deferred calls are dropped (not run) by loop_free. */
	CHECK(loop_defer(l, defer_a, NULL) == 0);
	loop_free(l);
	CHECK(strcmp(order, "fbaaaba") == 0);
	close(p[0]);
	close(p[1]);
}

static void quit_now(struct loop *l, void *opaque)
{
	(void)opaque;
	loop_quit(l, 42);
}

static void test_run_quit(void)
{
	struct loop *l;

	REQUIRE(loop_new(&l) == 0);
	CHECK(loop_add_timer(l, 1000, 0, quit_now, NULL, NULL) == 0);
	CHECK(loop_run(l) == 42);
	loop_free(l);
	loop_free(NULL);
}

int main(void)
{
	tap_run("/loop/fd", test_fd);
	tap_run("/loop/remove_other_in_callback", test_remove_other_in_callback);
	tap_run("/loop/remove_self_in_callback", test_remove_self_in_callback);
	tap_run("/loop/timer", test_timer);
	tap_run("/loop/timer_set_on_fd_fails", test_timer_set_on_fd_fails);
	tap_run("/loop/signal", test_signal);
	tap_run("/loop/defer", test_defer);
	tap_run("/loop/run_quit", test_run_quit);
	return tap_done();
}
