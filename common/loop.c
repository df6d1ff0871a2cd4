// SPDX-License-Identifier: GPL-2.0-only
/*
 * The main-thread event loop: one epoll set; timers are timerfds and signals
 * signalfds in that set, so everything is an fd. A source removed while a
 * round is being dispatched is only marked dead (and its epoll registration
 * and fd dropped at once); its memory is released at the end of the round,
 * so an event already returned by epoll_wait for it is skipped, never
 * dispatched to freed memory. Deferred calls run after the round, in order.
 *
 * Runs on the loop's thread only; never blocks except in epoll_wait, never
 * exits. Allocates only when a source or deferred call is added (control
 * path), never while dispatching.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_MAX_EVENTS 64	/* events taken per epoll_wait */

enum source_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct loop_source {
	struct loop_source *next;	/* all live sources, or the dead list */
	enum source_kind kind;
	bool dead;
	int fd;			/* the watched fd, or our timerfd/signalfd */
	int signo;
	bool signo_was_blocked;
	loop_fd_fn fd_fn;
	loop_fn fn;
	void *opaque;
};

struct deferred {
	struct deferred *next;
	loop_fn fn;
	void *opaque;
};

struct loop {
	int epfd;
	struct loop_source *sources;
	struct loop_source *dead;
	struct deferred *defer_head, **defer_tail;
	bool quit;
	int quit_code;
};

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	l->defer_tail = &l->defer_head;
	*ret = l;
	return 0;
}

static void source_release(struct loop_source *s)
{
	if (s->kind != SRC_FD && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->kind == SRC_SIGNAL && !s->signo_was_blocked) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, s->signo);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
}

static void free_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_source *s = l->dead;

		l->dead = s->next;
		free(s);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->sources) {
		struct loop_source *s = l->sources;

		l->sources = s->next;
		source_release(s);
		free(s);
	}
	free_dead(l);
	while (l->defer_head) {
		struct deferred *d = l->defer_head;

		l->defer_head = d->next;
		free(d);
	}
	close(l->epfd);
	free(l);
}

static int source_add(struct loop *l, struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	s->next = l->sources;
	l->sources = s;
	return 0;
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *opaque,
		struct loop_source **ret)
{
	struct loop_source *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	*s = (struct loop_source){ .kind = SRC_FD, .fd = fd, .fd_fn = fn, .opaque = opaque };
	r = source_add(l, s, events);
	if (r < 0) {
		free(s);
		return r;
	}
	if (ret)
		*ret = s;
	return 0;
}

static void us_to_timespec(uint64_t us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(us / 1000000u);
	ts->tv_nsec = (long)(us % 1000000u) * 1000;
}

int loop_timer_set(struct loop_source *s, uint64_t first_us, uint64_t period_us)
{
	struct itimerspec its = { 0 };

	if (s->kind != SRC_TIMER)
		return -EINVAL;
	us_to_timespec(first_us, &its.it_value);
	/* it_value zero would disarm: "now" is one nanosecond from now. */
	if (first_us == 0)
		its.it_value.tv_nsec = 1;
	us_to_timespec(period_us, &its.it_interval);
	if (timerfd_settime(s->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int loop_add_timer(struct loop *l, uint64_t first_us, uint64_t period_us, loop_fn fn,
		   void *opaque, struct loop_source **ret)
{
	struct loop_source *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	*s = (struct loop_source){ .kind = SRC_TIMER, .fn = fn, .opaque = opaque };
	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		goto err_free;
	}
	r = loop_timer_set(s, first_us, period_us);
	if (r < 0)
		goto err_close;
	r = source_add(l, s, EPOLLIN);
	if (r < 0)
		goto err_close;
	if (ret)
		*ret = s;
	return 0;

err_close:
	close(s->fd);
err_free:
	free(s);
	return r;
}

int loop_add_signal(struct loop *l, int signo, loop_fn fn, void *opaque,
		    struct loop_source **ret)
{
	struct loop_source *s = calloc(1, sizeof(*s));
	sigset_t set, old;
	int r;

	if (!s)
		return -ENOMEM;
	*s = (struct loop_source){ .kind = SRC_SIGNAL, .signo = signo, .fn = fn,
				   .opaque = opaque };
	sigemptyset(&set);
	if (sigaddset(&set, signo) < 0) {
		r = -errno;
		goto err_free;
	}
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0) {
		r = -errno;
		goto err_free;
	}
	s->signo_was_blocked = sigismember(&old, signo) == 1;
	s->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		goto err_unblock;
	}
	r = source_add(l, s, EPOLLIN);
	if (r < 0)
		goto err_unblock;
	if (ret)
		*ret = s;
	return 0;

err_unblock:
	source_release(s);
err_free:
	free(s);
	return r;
}

void loop_remove(struct loop *l, struct loop_source *s)
{
	struct loop_source **pp;

	if (!s || s->dead)
		return;
	for (pp = &l->sources; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	source_release(s);
	s->dead = true;
	s->next = l->dead;
	l->dead = s;
}

int loop_defer(struct loop *l, loop_fn fn, void *opaque)
{
	struct deferred *d = malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	*d = (struct deferred){ .fn = fn, .opaque = opaque };
	*l->defer_tail = d;
	l->defer_tail = &d->next;
	return 0;
}

void loop_defer_cancel(struct loop *l, loop_fn fn, void *opaque)
{
	struct deferred **pp = &l->defer_head;

	while (*pp) {
		struct deferred *d = *pp;

		if (d->fn == fn && d->opaque == opaque) {
			*pp = d->next;
			free(d);
		} else {
			pp = &d->next;
		}
	}
	/* Re-find the tail: the removed entry may have been last. */
	l->defer_tail = &l->defer_head;
	while (*l->defer_tail)
		l->defer_tail = &(*l->defer_tail)->next;
}

static void dispatch(struct loop *l, struct loop_source *s, uint32_t events)
{
	struct signalfd_siginfo si;
	uint64_t ticks;

	switch (s->kind) {
	case SRC_FD:
		s->fd_fn(l, s->fd, events, s->opaque);
		break;
	case SRC_TIMER:
		/* Expirations since the last read; one callback however many. */
		if (read(s->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
			break;
		s->fn(l, s->opaque);
		break;
	case SRC_SIGNAL:
		if (read(s->fd, &si, sizeof(si)) != sizeof(si))
			break;
		s->fn(l, s->opaque);
		break;
	}
}

/* Runs the calls deferred before this point; later ones wait a round. */
static void run_deferred(struct loop *l)
{
	struct deferred *d = l->defer_head;

	l->defer_head = NULL;
	l->defer_tail = &l->defer_head;
	while (d) {
		struct deferred *next = d->next;

		d->fn(l, d->opaque);
		free(d);
		d = next;
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int n, i;

	/* Pending deferred work must not wait behind a blocking poll. */
	if (l->defer_head)
		timeout_ms = 0;
	n = epoll_wait(l->epfd, ev, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (i = 0; i < n; i++) {
		struct loop_source *s = ev[i].data.ptr;

		if (!s->dead)
			dispatch(l, s, ev[i].events);
	}
	run_deferred(l);
	free_dead(l);
	return n;
}

int loop_run(struct loop *l)
{
	int r;

	l->quit = false;
	while (!l->quit) {
		r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
	return l->quit_code;
}

void loop_quit(struct loop *l, int code)
{
	l->quit = true;
	l->quit_code = code;
}
