/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sd_notify(3) for the daemons: READY=1 after the first scan, STATUS= lines,
 * WATCHDOG=1 from a loop timer at half of WatchdogSec, STOPPING=1, ERRNO=.
 * All are no-ops (returning 0) when NOTIFY_SOCKET is unset, so the daemons
 * run the same outside systemd.
 *
 * Loop thread only (notify_watchdog_start adds a loop timer). Return 0 when
 * nothing was sent, 1 when a message was sent, -errno on failure.
 */
#ifndef DDOM_NOTIFY_H
#define DDOM_NOTIFY_H

#include <stdint.h>

struct loop;
struct loop_source;

int notify_ready(void);
int notify_stopping(void);
int notify_watchdog(void);
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ERRNO=<-r>: the reason we are about to exit (r negative errno). */
int notify_errno(int r);

/*
 * If the service manager asked for watchdog pings (sd_watchdog_enabled),
 * adds a periodic loop timer sending WATCHDOG=1 at half the interval, and
 * returns 1 with *ret set (remove it with loop_remove). 0 and *ret = NULL when
 * no watchdog is wanted; -errno on failure.
 */
int notify_watchdog_start(struct loop *l, struct loop_source **ret);

#endif
