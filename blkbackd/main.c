// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkbackd: options, the loop, the xenbus bus with the vbd drivers, the
 * control socket, signals (TERM/INT stop, HUP re-reads every store's size)
 * and sd_notify (READY=1 after the first scan, STATUS=, WATCHDOG=1,
 * STOPPING=1). Nothing else: the work is in vbd.c and queue.c.
 *
 * Which Xen it talks to is decided at link time (xen_ops_default): the real
 * libraries for blkbackd, xensim for blkbackd-sim.
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad options or config.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "ddom-config.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "store.h"
#include "vbd.h"
#include "xenbus.h"

struct daemon {
	struct loop *loop;
	struct xs_handle *xs;
	struct blk_ctx *ctx;
	struct xb_bus *bus;
	struct ctl *ctl;
	struct loop_source *sig[3];
	struct loop_source *watchdog;
};

static const char *runtime_dir(const struct blk_config *cfg)
{
	const char *e = getenv("RUNTIME_DIRECTORY");

	if (cfg->runtime_dir[0])
		return cfg->runtime_dir;
	/* systemd may list several, separated by ':'; ours is the first. */
	if (e && *e && !strchr(e, ':'))
		return e;
	return CTL_BLKBACKD_DIR;
}

static void on_stop(struct loop *l, void *opaque)
{
	(void)opaque;
	log_info("stopping");
	loop_quit(l, 0);
}

static void on_hup(struct loop *l, void *opaque)
{
	struct daemon *dm = opaque;

	(void)l;
	log_info("SIGHUP: re-reading the size of every store");
	blk_ctx_resize_all(dm->ctx);
}

static void on_change(void *opaque)
{
	struct daemon *dm = opaque;

	notify_status("%u vbd(s) connected", blk_ctx_connected(dm->ctx));
}

/* status-json: one JSON document, for ddomctl (docs/ddomctl.md). */
static int status_json(const struct blk_ctx *ctx, FILE *out)
{
	struct json j;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kstr(&j, "daemon", "blkbackd");
	json_kstr(&j, "version", DDOM_VERSION);
	json_ku64(&j, "pid", (uint64_t)getpid());
	blk_ctx_status_json(ctx, &j);
	json_obj_end(&j);
	fputc('\n', out);
	return json_finish(&j);
}

/* The control socket's commands: the status text (vbd.h), or as JSON. */
static int on_ctl(const char *cmd, FILE *out, void *opaque)
{
	if (!strcmp(cmd, "status-json"))
		return status_json(opaque, out);
	if (strcmp(cmd, "status"))
		return -EOPNOTSUPP;
	blk_ctx_status(opaque, out);
	return 0;
}

static int self_domid(struct xs_handle *xs, domid_t *ret)
{
	uint64_t v;
	/* Relative path: the node under our own /local/domain/<id>. */
	int r = store_read_uint(xs, XBT_NULL, "domid", DOMID_FIRST_RESERVED - 1, STORE_NO_DEFAULT,
				&v);

	if (r < 0)
		return r;
	*ret = (domid_t)v;
	return 0;
}

static int start(struct daemon *dm, const struct blk_config *cfg)
{
	const struct xb_driver *drv[3];
	const char *dir = runtime_dir(cfg);
	domid_t self;
	size_t n;
	int r;

	/*
	 * A status client that hangs up, or a xenstore socket that closes,
	 * must cost an EPIPE, not the daemon and every guest it serves.
	 */
	signal(SIGPIPE, SIG_IGN);
	r = loop_new(&dm->loop);
	if (r < 0)
		return log_err_errno(r, "cannot create the event loop");
	r = loop_add_signal(dm->loop, SIGTERM, on_stop, dm, &dm->sig[0]);
	if (!r)
		r = loop_add_signal(dm->loop, SIGINT, on_stop, dm, &dm->sig[1]);
	if (!r)
		r = loop_add_signal(dm->loop, SIGHUP, on_hup, dm, &dm->sig[2]);
	if (r < 0)
		return log_err_errno(r, "cannot handle signals");
	dm->xs = xs_open(0);
	if (!dm->xs)
		return log_err_errno(-errno, "cannot connect to xenstore");
	r = self_domid(dm->xs, &self);
	if (r < 0)
		return log_err_errno(r, "cannot read our domain id (xenstore node 'domid')");
	r = blk_ctx_new(cfg, &xen_ops_default, &dm->ctx);
	if (r < 0)
		return log_err_errno(r, "out of memory");
	r = blk_ctx_set_state_dir(dm->ctx, dir);
	if (r < 0)
		return log_err_errno(r, "runtime directory %s", dir);
	blk_ctx_on_change(dm->ctx, on_change, dm);
	n = blk_ctx_drivers(dm->ctx, drv);
	r = xb_bus_new(dm->loop, dm->xs, self, drv, n, &dm->bus);
	if (r < 0)
		return log_err_errno(r, "cannot create the xenbus bus");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return log_err_errno(-errno, "cannot create %s", dir);
	r = ctl_new(dm->loop, dir, BLK_CTL_SOCKET, on_ctl, dm->ctx, &dm->ctl);
	if (r < 0)
		return r;
	r = xb_bus_start(dm->bus);
	if (r < 0)
		return log_err_errno(r, "cannot watch the backend directories");
	r = notify_watchdog_start(dm->loop, &dm->watchdog);
	if (r < 0)
		return log_err_errno(r, "cannot start the watchdog timer");
	log_info("blkbackd %s serving domain %u (%zu kind(s)), control socket in %s",
		 DDOM_VERSION, self, n, dir);
	notify_ready();
	on_change(dm);
	return 0;
}

static void stop(struct daemon *dm)
{
	unsigned i;

	if (dm->loop)
		notify_stopping();
	/* The guests stay Connected in xenstore: the next run reattaches them
	 * from the state files (docs/blkbackd.md, "Restart and reattach"). */
	if (dm->ctx)
		blk_ctx_keep_state(dm->ctx);
	xb_bus_free(dm->bus);
	ctl_free(dm->ctl);
	blk_ctx_free(dm->ctx);
	if (dm->xs)
		xs_close(dm->xs);
	for (i = 0; i < 3; i++)
		loop_remove(dm->loop, dm->sig[i]);
	loop_remove(dm->loop, dm->watchdog);
	loop_free(dm->loop);
}

int main(int argc, char **argv)
{
	struct blk_config cfg;
	struct daemon dm = { 0 };
	char err[1024];
	int r;

	log_init("blkbackd");
	blk_config_defaults(&cfg);
	if (blk_config_parse_args(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "blkbackd: %s\nTry 'blkbackd --help'.\n", err);
		return 2;
	}
	if (cfg.help) {
		fputs(blk_config_usage(), stdout);
		return 0;
	}
	if (cfg.version) {
		printf("blkbackd %s\n", DDOM_VERSION);
		return 0;
	}
	if (cfg.status) {
		r = ctl_query(runtime_dir(&cfg), BLK_CTL_SOCKET, "status", stdout);
		if (r < 0)
			fprintf(stderr, "blkbackd: cannot reach the daemon in %s: %s\n",
				runtime_dir(&cfg), strerror(-r));
		return r < 0 ? 1 : 0;
	}
	log_set_max_level(cfg.log_level);
	r = start(&dm, &cfg);
	if (r == 0)
		r = loop_run(dm.loop);
	else
		notify_errno(r);
	stop(&dm);
	return r < 0 ? 1 : 0;
}
