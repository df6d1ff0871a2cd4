// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging to stderr, one write(2) per line. Under systemd (JOURNAL_STREAM
 * names our stderr, see systemd.exec(5)) each line starts with the
 * sd-daemon priority prefix "<N>" (sd-daemon.h) and carries no identifier or
 * level word, since journald records both; otherwise "ident: level: text",
 * after the UTC wall-clock time ("HH:MM:SS.mmm ") when DDOM_LOG_TIME is set (for
 * a daemon run by hand or a test log read beside other programs' output).
 *
 * Any thread may log; the settings (ident, level, journal mode) are written
 * only at start-up, before threads exist. log_rl state is per caller (one per
 * device or queue) and not shared between threads. Never allocates, never
 * blocks beyond the write, never exits. Guest-supplied text must reach this
 * file only through a length-capped %.*s or after validation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* One line, prefix and errno text included; longer messages are cut. */
#define LOG_LINE_MAX 2048

static const char *log_ident = "ddom";
static int log_max_level = LOG_INFO;
static int log_journal = -1;	/* -1: decide from JOURNAL_STREAM on first use */
static uint64_t (*log_clock)(void);
static bool log_time;	/* DDOM_LOG_TIME: each line starts with the wall-clock time */

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* JOURNAL_STREAM is "<dev>:<ino>" of the stream journald connected to us. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident)
{
	if (ident)
		log_ident = ident;
	log_journal = stderr_is_journal();
	{
		const char *t = getenv("DDOM_LOG_TIME");

		log_time = t && *t && strcmp(t, "0") != 0;
	}
}

void log_set_max_level(int prio)
{
	if (prio < LOG_EMERG)
		prio = LOG_EMERG;
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	log_max_level = prio;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_journal(bool on)
{
	log_journal = on;
}

void log_set_clock(uint64_t (*now_ms)(void))
{
	log_clock = now_ms;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	if (log_clock)
		return log_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Appends to buf at *len, never past size - 1 (room kept for the newline). */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - 1 - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < size - 1 - *len ? (size_t)n : size - 2 - *len;
}

int log_msgv(int prio, int r, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t len = 0;
	int saved_errno = errno;
	int n;

	prio &= LOG_PRIMASK;
	if (prio > log_max_level)
		return r;
	if (log_journal < 0)
		log_journal = stderr_is_journal();

	if (log_journal)
		append(buf, sizeof(buf), &len, "<%d>", prio);
	else {
		if (log_time) {
			struct timespec ts;
			long day;

			/* UTC, computed here: no time-zone file read on any thread. */
			clock_gettime(CLOCK_REALTIME, &ts);
			day = (long)(ts.tv_sec % 86400);
			append(buf, sizeof(buf), &len, "%02ld:%02ld:%02ld.%03ld ", day / 3600,
			       day / 60 % 60, day % 60, ts.tv_nsec / 1000000);
		}
		append(buf, sizeof(buf), &len, "%s: %s: ", log_ident, level_names[prio]);
	}

	if (len < sizeof(buf) - 1) {
		n = vsnprintf(buf + len, sizeof(buf) - 1 - len, fmt, ap);
		if (n > 0)
			len += (size_t)n < sizeof(buf) - 1 - len ? (size_t)n
								   : sizeof(buf) - 2 - len;
	}
	if (r < 0)
		append(buf, sizeof(buf), &len, ": %s", strerror(-r));
	buf[len++] = '\n';

	/* One write: lines from different threads do not interleave. */
	while (write(STDERR_FILENO, buf, len) < 0 && errno == EINTR)
		;
	errno = saved_errno;
	return r;
}

int log_msg(int prio, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msgv(prio, r, fmt, ap);
	va_end(ap);
	return r;
}

int log_rl(struct log_ratelimit *rl, int prio, int r, const char *fmt, ...)
{
	uint64_t now = now_ms();
	va_list ap;

	if (now - rl->window_start_ms >= rl->interval_ms || rl->window_start_ms == 0) {
		if (rl->suppressed)
			log_msg(prio, 0, "%llu similar messages suppressed",
				(unsigned long long)rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return r;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_msgv(prio, r, fmt, ap);
	va_end(ap);
	return r;
}
