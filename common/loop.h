/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The main-thread event loop: epoll over fds, timerfd timers, signalfd
 * signals, and deferred calls that run after the current dispatch round (so
 * a callback can free the object that owns it: STYLE.md pitfall 8).
 *
 * Not thread-safe: every function is called from the loop's own thread.
 * Worker threads talk to the loop through an fd (eventfd) they own.
 */
#ifndef DDOM_LOOP_H
#define DDOM_LOOP_H

#include <stdint.h>

struct loop;
struct loop_source;	/* an fd, timer or signal registration */

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t epoll_events, void *opaque);
typedef void (*loop_fn)(struct loop *l, void *opaque);

int loop_new(struct loop **ret);
void loop_free(struct loop *l);

/* Watch fd for epoll events (EPOLLIN ...). The loop does not own fd. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *opaque,
		struct loop_source **ret);
/*
 * A periodic timer (period_us > 0) or one-shot (period_us == 0) firing
 * first after first_us microseconds (CLOCK_MONOTONIC).
 */
int loop_add_timer(struct loop *l, uint64_t first_us, uint64_t period_us, loop_fn fn,
		   void *opaque, struct loop_source **ret);
/*
 * Re-arms a timer source (as loop_add_timer's arguments); -EINVAL if s is not
 * a timer. A one-shot timer stays registered, disarmed, until loop_remove.
 */
int loop_timer_set(struct loop_source *s, uint64_t first_us, uint64_t period_us);
/* Blocks signo for the process and delivers it through a signalfd. */
int loop_add_signal(struct loop *l, int signo, loop_fn fn, void *opaque,
		    struct loop_source **ret);
/* Removes and frees a source; safe from inside any callback; NULL is fine. */
void loop_remove(struct loop *l, struct loop_source *s);

/* Run fn(opaque) once, after the current dispatch round. */
int loop_defer(struct loop *l, loop_fn fn, void *opaque);
/* Drops every pending deferred call of fn with this opaque (before freeing it). */
void loop_defer_cancel(struct loop *l, loop_fn fn, void *opaque);

/* Runs until loop_quit; returns the code given to loop_quit. */
int loop_run(struct loop *l);
/* One round: wait up to timeout_ms (-1 forever, 0 poll), dispatch, run deferred. */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_quit(struct loop *l, int code);

#endif
