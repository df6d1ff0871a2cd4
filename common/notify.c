// SPDX-License-Identifier: GPL-2.0-only
/*
 * sd_notify wrappers over libsystemd (sd-daemon.h). The watchdog ping runs
 * from a loop timer on the loop thread, so a loop that stops turning stops
 * the pings and systemd restarts us: exactly the hang detection we want.
 *
 * Loop thread only. Never blocks (the notify socket is a datagram socket),
 * never exits; the only allocation is libsystemd's own for sd_notifyf.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "loop.h"
#include "notify.h"

static int send_state(const char *state)
{
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	return sd_notify(0, state);
}

int notify_ready(void)
{
	return send_state("READY=1");
}

int notify_stopping(void)
{
	return send_state("STOPPING=1");
}

int notify_watchdog(void)
{
	return send_state("WATCHDOG=1");
}

int notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	return send_state(buf);
}

int notify_errno(int r)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "ERRNO=%d", r < 0 ? -r : r);
	return send_state(buf);
}

static void watchdog_tick(struct loop *l, void *opaque)
{
	(void)l;
	(void)opaque;
	notify_watchdog();
}

int notify_watchdog_start(struct loop *l, struct loop_source **ret)
{
	uint64_t usec = 0;
	int r;

	*ret = NULL;
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return r < 0 ? r : 0;
	/* Half the interval, as sd_watchdog_enabled(3) recommends. */
	r = loop_add_timer(l, usec / 2, usec / 2, watchdog_tick, NULL, ret);
	if (r < 0)
		return r;
	return 1;
}
