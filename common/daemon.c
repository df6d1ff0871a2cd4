// SPDX-License-Identifier: GPL-2.0-only
/* The daemons' common skeleton (see daemon.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "ddom-config.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "store.h"
#include "xenbus.h"

const char *daemon_runtime_dir(const char *configured, const char *fallback)
{
	const char *e = getenv("RUNTIME_DIRECTORY");

	if (configured && configured[0])
		return configured;
	/* systemd may list several, separated by ':'; then none is ours. */
	if (e && *e && !strchr(e, ':'))
		return e;
	return fallback;
}

int daemon_mkdir(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return log_err_errno(-errno, "cannot create %s", dir);
	return 0;
}

static void on_stop(struct loop *l, void *opaque)
{
	(void)opaque;
	log_info("stopping");
	loop_quit(l, 0);
}

int daemon_open(struct daemon_core *d, void (*on_hup)(struct loop *l, void *opaque),
		void *opaque)
{
	int r;

	/*
	 * A status client that hangs up, or a xenstore socket that closes,
	 * must cost an EPIPE, not the daemon and every guest it serves.
	 */
	signal(SIGPIPE, SIG_IGN);
	r = loop_new(&d->loop);
	if (r < 0)
		return log_err_errno(r, "cannot create the event loop");
	r = loop_add_signal(d->loop, SIGTERM, on_stop, NULL, &d->sig[0]);
	if (!r)
		r = loop_add_signal(d->loop, SIGINT, on_stop, NULL, &d->sig[1]);
	if (!r && on_hup)
		r = loop_add_signal(d->loop, SIGHUP, on_hup, opaque, &d->sig[2]);
	if (r < 0)
		return log_err_errno(r, "cannot handle signals");
	return 0;
}

int daemon_xenstore(struct daemon_core *d)
{
	uint64_t v;
	int r;

	d->xs = xs_open(0);
	if (!d->xs)
		return log_err_errno(-errno, "cannot connect to xenstore");
	/* Relative path: the node under our own /local/domain/<id>. */
	r = store_read_uint(d->xs, XBT_NULL, "domid", DOMID_FIRST_RESERVED - 1, STORE_NO_DEFAULT,
			    &v);
	if (r < 0)
		return log_err_errno(r, "cannot read our domain id (xenstore node 'domid')");
	d->self = (domid_t)v;
	return 0;
}

int daemon_serve(struct daemon_core *d, struct xb_bus *bus, const char *dir,
		 const char *sockname, ctl_fn fn, void *opaque)
{
	int r = ctl_new(d->loop, dir, sockname, fn, opaque, &d->ctl);

	if (r < 0)
		return r;	/* logged by ctl_new */
	r = xb_bus_start(bus);
	if (r < 0)
		return log_err_errno(r, "cannot watch the backend directories");
	r = notify_watchdog_start(d->loop, &d->watchdog);
	if (r < 0)
		return log_err_errno(r, "cannot start the watchdog timer");
	notify_ready();
	return 0;
}

void daemon_close(struct daemon_core *d, void (*teardown)(void *opaque), void *opaque)
{
	if (d->loop)
		notify_stopping();
	teardown(opaque);
	ctl_free(d->ctl);
	d->ctl = NULL;
	if (d->xs)
		xs_close(d->xs);
	d->xs = NULL;
	for (unsigned i = 0; i < sizeof(d->sig) / sizeof(d->sig[0]); i++)
		loop_remove(d->loop, d->sig[i]);
	loop_remove(d->loop, d->watchdog);
	loop_free(d->loop);
	d->loop = NULL;
}

int daemon_client(const char *name, const char *dir, const char *sockname, const char *cmd,
		  FILE *out)
{
	int r = ctl_query(dir, sockname, cmd, out);

	if (r < 0)
		fprintf(stderr, "%s: cannot reach the daemon in %s: %s\n", name, dir, strerror(-r));
	return r ? 1 : 0;
}

int daemon_early_exit(const char *name, int parse_rc, const char *err, bool help, bool version,
		      const char *usage)
{
	if (parse_rc < 0) {
		fprintf(stderr, "%s: %s\nTry '%s --help'.\n", name, err, name);
		return 2;
	}
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	if (version) {
		printf("%s %s\n", name, DDOM_VERSION);
		return 0;
	}
	return -1;
}

int daemon_run(struct daemon_core *d, int start_rc, void (*teardown)(void *opaque), void *opaque)
{
	int r = start_rc;

	if (r == 0)
		r = loop_run(d->loop);
	else
		notify_errno(r);
	daemon_close(d, teardown, opaque);
	return r < 0 ? 1 : 0;
}
