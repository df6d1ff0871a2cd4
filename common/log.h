/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging. Under systemd (JOURNAL_STREAM set, or --log-journal) each line is
 * prefixed with the sd-daemon priority ("<3>" ...) so journald keeps the
 * priority; otherwise a plain "ident: level: message" line for terminals and
 * tests. Everything goes to stderr. Thread-safe (one write(2) per line).
 *
 * The *_errno variants take a negative errno `r`, append ": <strerror>" and
 * return r, so callers can `return log_err_errno(r, "...")`.
 *
 * Anything a guest can trigger is logged through a struct log_ratelimit (one
 * per device): at most `burst` lines per `interval_ms`, then a count of what
 * was suppressed when the window reopens.
 */
#ifndef DDOM_LOG_H
#define DDOM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void log_init(const char *ident);
void log_set_max_level(int prio);	/* LOG_DEBUG .. LOG_ERR; default LOG_INFO */
int log_get_max_level(void);
void log_set_journal(bool on);		/* force priority prefixes on or off */
/* Tests only: the millisecond clock log_rl uses (NULL: CLOCK_MONOTONIC). */
void log_set_clock(uint64_t (*now_ms)(void));

/* Logs when prio <= max level; returns r (pass 0 when there is no errno). */
int log_msg(int prio, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int log_msgv(int prio, int r, const char *fmt, va_list ap);

#define log_err(...) log_msg(LOG_ERR, 0, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, 0, __VA_ARGS__)
#define log_err_errno(r, ...) log_msg(LOG_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_msg(LOG_WARNING, (r), __VA_ARGS__)
#define log_notice_errno(r, ...) log_msg(LOG_NOTICE, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_msg(LOG_DEBUG, (r), __VA_ARGS__)

struct log_ratelimit {
	uint32_t interval_ms;	/* window length */
	uint32_t burst;		/* lines allowed per window */
	uint64_t window_start_ms;
	uint32_t printed;
	uint64_t suppressed;
};

#define LOG_RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

/*
 * Rate-limited log for guest-triggerable events. Not thread-safe per
 * ratelimit struct: give each thread (queue) its own. Returns r.
 */
int log_rl(struct log_ratelimit *rl, int prio, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
