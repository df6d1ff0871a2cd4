/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the two daemons' main.c share, in the order they use it:
 *
 *   daemon_open      SIGPIPE ignored, the event loop, SIGTERM/SIGINT stop
 *                    it, SIGHUP calls on_hup (if given)
 *   daemon_xenstore  the xenstore connection and our own domain id
 *   ... the daemon builds its devices and its xenbus bus ...
 *   daemon_serve     the control socket, the backend watch (xb_bus_start),
 *                    the systemd watchdog, READY=1
 *   loop_run
 *   daemon_close     STOPPING=1, the daemon's teardown (its bus and devices,
 *                    keeping restart state), then the control socket,
 *                    xenstore, signals, the loop
 *
 * and the client side of `--status` and the other control commands.
 * Every function logs what failed, naming it; all on the loop thread.
 */
#ifndef DDOM_DAEMON_H
#define DDOM_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/xen.h>
#include <xenstore.h>

#include "ctl.h"

struct loop;
struct loop_source;
struct xb_bus;

struct daemon_core {
	struct loop *loop;
	struct xs_handle *xs;
	domid_t self;			/* the driver domain's id */
	struct ctl *ctl;
	struct loop_source *sig[3];
	struct loop_source *watchdog;
};

/*
 * The runtime directory: the configured one, else systemd's
 * RUNTIME_DIRECTORY when it names one directory, else fallback.
 */
const char *daemon_runtime_dir(const char *configured, const char *fallback);
/* Creates dir (mode 0755) unless it exists; 0 or -errno, logged. */
int daemon_mkdir(const char *dir);

int daemon_open(struct daemon_core *d, void (*on_hup)(struct loop *l, void *opaque),
		void *opaque);
int daemon_xenstore(struct daemon_core *d);
int daemon_serve(struct daemon_core *d, struct xb_bus *bus, const char *dir,
		 const char *sockname, ctl_fn fn, void *opaque);
/*
 * STOPPING=1, then teardown(opaque) (the daemon's bus and devices, while
 * xenstore is still open), then the rest. Safe on what never opened.
 */
void daemon_close(struct daemon_core *d, void (*teardown)(void *opaque), void *opaque);

/*
 * main's prologue after the options are parsed (parse_rc < 0: err says
 * what is wrong, exit 2): --help and --version print and exit 0. Returns
 * main's exit status, or -1 to go on.
 */
int daemon_early_exit(const char *name, int parse_rc, const char *err, bool help, bool version,
		      const char *usage);
/*
 * main's epilogue: the loop runs if start_rc is 0 (else systemd hears the
 * error), then daemon_close. Returns main's exit status (0, or 1).
 */
int daemon_run(struct daemon_core *d, int start_rc, void (*teardown)(void *opaque), void *opaque);

/*
 * A client: sends cmd to the daemon in dir and copies the answer to out.
 * Returns the exit status: 0, or 1 (the daemon cannot be reached, said on
 * stderr as "NAME: cannot reach the daemon in DIR: ...", or it refused).
 */
int daemon_client(const char *name, const char *dir, const char *sockname, const char *cmd,
		  FILE *out);

#endif
