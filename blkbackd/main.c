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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "ddom-config.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "vbd.h"
#include "xenbus.h"

struct daemon {
	struct daemon_core core;
	struct blk_ctx *ctx;
	struct xb_bus *bus;
};

static const char *runtime_dir(const struct blk_config *cfg)
{
	return daemon_runtime_dir(cfg->common.runtime_dir, CTL_BLKBACKD_DIR);
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
static int status_json(const struct daemon *dm, FILE *out)
{
	struct json j;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kstr(&j, "daemon", "blkbackd");
	json_kstr(&j, "version", DDOM_VERSION);
	json_ku64(&j, "pid", (uint64_t)getpid());
	blk_ctx_status_json(dm->ctx, &j);
	xb_bus_status_json(dm->bus, &j);
	json_obj_end(&j);
	fputc('\n', out);
	return json_finish(&j);
}

/* The control socket's commands: the status text (vbd.h), or as JSON. */
static int on_ctl(const char *cmd, FILE *out, void *opaque)
{
	struct daemon *dm = opaque;

	if (!strcmp(cmd, "status-json"))
		return status_json(dm, out);
	if (strcmp(cmd, "status"))
		return -EOPNOTSUPP;
	blk_ctx_status(dm->ctx, out);
	xb_bus_status(dm->bus, out);
	return 0;
}

static int start(struct daemon *dm, const struct blk_config *cfg)
{
	const struct xb_driver *drv[3];
	const char *dir = runtime_dir(cfg);
	size_t n;
	int r;

	r = daemon_open(&dm->core, on_hup, dm);
	if (!r)
		r = daemon_xenstore(&dm->core);
	if (r < 0)
		return r;
	r = blk_ctx_new(cfg, &xen_ops_default, &dm->ctx);
	if (r < 0)
		return log_err_errno(r, "out of memory");
	r = daemon_mkdir(dir);
	if (r < 0)
		return r;
	r = blk_ctx_set_state_dir(dm->ctx, dir);
	if (r < 0)
		return log_err_errno(r, "runtime directory %s", dir);
	blk_ctx_on_change(dm->ctx, on_change, dm);
	n = blk_ctx_drivers(dm->ctx, drv);
	r = xb_bus_new(dm->core.loop, dm->core.xs, dm->core.self, drv, n, &dm->bus);
	if (r < 0)
		return log_err_errno(r, "cannot create the xenbus bus");
	xb_bus_set_limits(dm->bus, cfg->common.max_devices, cfg->common.max_devices_per_domain);
	r = daemon_serve(&dm->core, dm->bus, dir, BLK_CTL_SOCKET, on_ctl, dm);
	if (r < 0)
		return r;
	log_info("blkbackd %s serving domain %u (%zu kind(s)), %u worker(s), control socket in %s",
		 DDOM_VERSION, dm->core.self, n, blk_ctx_workers(dm->ctx), dir);
	on_change(dm);
	return 0;
}

static void teardown(void *opaque)
{
	struct daemon *dm = opaque;

	/* The guests stay Connected in xenstore: the next run reattaches them
	 * from the state files (docs/blkbackd.md, "Restart and reattach"). */
	if (dm->ctx)
		blk_ctx_keep_state(dm->ctx);
	xb_bus_free(dm->bus);
	blk_ctx_free(dm->ctx);
}

int main(int argc, char **argv)
{
	struct blk_config cfg;
	struct daemon dm = { 0 };
	char err[1024];
	int r;

	log_init("blkbackd");
	blk_config_defaults(&cfg);
	r = blk_config_parse_args(&cfg, argc, argv, err, sizeof(err));
	r = daemon_early_exit("blkbackd", r, err, cfg.help, cfg.version, blk_config_usage());
	if (r >= 0)
		return r;
	if (cfg.status)
		return daemon_client("blkbackd", runtime_dir(&cfg), BLK_CTL_SOCKET, "status",
				     stdout);
	log_set_max_level(cfg.common.log_level);
	return daemon_run(&dm.core, start(&dm, &cfg), teardown, &dm);
}
