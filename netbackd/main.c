// SPDX-License-Identifier: GPL-2.0-only
/*
 * netbackd: options, the DPDK EAL and packet pools, the switch, the
 * data-path workers, the uplinks, the xenbus bus with the vif driver, the
 * control socket (status, MAC table, capture), signals and sd_notify
 * (READY=1 after the first scan, which reattaches every vif a dead
 * predecessor left Connected; STATUS=, WATCHDOG=1, STOPPING=1). Nothing
 * else: the work is in vif.c, vifq.c, sw.c, worker.c and ports.c.
 *
 * Which Xen it talks to is decided at link time (xen_ops_default): the real
 * libraries for netbackd, xensim for netbackd-sim.
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad options or config.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "capture.h"
#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "ddom-config.h"
#include "eal.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "pkt.h"
#include "ports.h"
#include "sw.h"
#include "vif.h"
#include "worker.h"
#include "xenbus.h"

struct daemon {
	struct daemon_core core;
	const struct nb_config *cfg;
	bool eal;
	struct rte_mempool *pool, *indirect;
	struct sw *sw;
	struct nb_workers *workers;
	struct nb_uplinks *uplinks;
	struct nb_ctx *ctx;
	struct xb_bus *bus;
};

static const char *runtime_dir(const struct nb_config *cfg)
{
	return daemon_runtime_dir(cfg->common.runtime_dir, CTL_NETBACKD_DIR);
}

static void on_change(void *opaque)
{
	struct daemon *dm = opaque;

	notify_status("%u vif(s) connected, %u uplink(s)", nb_ctx_connected(dm->ctx),
		      nb_uplinks_count(dm->uplinks));
}

static void status(struct daemon *dm, FILE *out)
{
	nb_ctx_status(dm->ctx, out);
	nb_uplinks_status(dm->uplinks, out);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw_port_get(dm->sw, i);

		if (!p)
			continue;
		fprintf(out, "port %s:", p->name);
		for (int k = 0; k < SW_CNT__MAX; k++)
			fprintf(out, " %s=%llu", sw_cnt_names[k],
				(unsigned long long)atomic_load(&p->cnt[k]));
		fputc('\n', out);
	}
	fprintf(out, "switch: macs=%u\n", sw_mac_count(dm->sw));
	for (unsigned i = 0; i < nb_workers_count(dm->workers); i++) {
		struct wk_worker_stats st;

		nb_worker_stats(nb_workers_get(dm->workers, i), &st);
		fprintf(out, "worker %u: pollables=%u passes=%llu sleeps=%llu wakeups=%llu "
			     "kicks=%llu\n", i, st.pollables, (unsigned long long)st.passes,
			(unsigned long long)st.sleeps, (unsigned long long)st.wakeups,
			(unsigned long long)st.kicks);
	}
	fprintf(out, "mbufs: free=%u of %u\n", rte_mempool_avail_count(dm->pool),
		dm->cfg->mbufs);
	xb_bus_status(dm->bus, out);
}

/* status-json: one JSON document, for ddomctl (docs/ddomctl.md). */
static int status_json(struct daemon *dm, FILE *out)
{
	struct json j;
	unsigned ports = 0;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		ports += sw_port_get(dm->sw, i) != NULL;
	json_init(&j, out);
	json_obj_begin(&j);
	json_kstr(&j, "daemon", "netbackd");
	json_kstr(&j, "version", DDOM_VERSION);
	json_ku64(&j, "pid", (uint64_t)getpid());
	nb_ctx_status_json(dm->ctx, &j);
	nb_uplinks_status_json(dm->uplinks, &j);
	xb_bus_status_json(dm->bus, &j);
	json_key(&j, "switch");
	json_obj_begin(&j);
	json_ku64(&j, "macs", sw_mac_count(dm->sw));
	json_ku64(&j, "ports", ports);
	json_obj_end(&j);
	json_key(&j, "workers");
	json_arr_begin(&j);
	for (unsigned i = 0; i < nb_workers_count(dm->workers); i++) {
		struct wk_worker_stats st;

		nb_worker_stats(nb_workers_get(dm->workers, i), &st);
		wk_worker_stats_json(&j, i, &st);
	}
	json_arr_end(&j);
	json_key(&j, "mbufs");
	json_obj_begin(&j);
	json_ku64(&j, "free", rte_mempool_avail_count(dm->pool));
	json_ku64(&j, "total", dm->cfg->mbufs);
	json_obj_end(&j);
	json_obj_end(&j);
	fputc('\n', out);
	return json_finish(&j);
}

static int on_ctl(const char *cmd, FILE *out, void *opaque)
{
	struct daemon *dm = opaque;

	if (!strcmp(cmd, "status-json"))
		return status_json(dm, out);
	if (!strcmp(cmd, "status")) {
		status(dm, out);
		return 0;
	}
	if (!strcmp(cmd, "macs")) {
		sw_dump_macs(dm->sw, out);
		return 0;
	}
	if (!strncmp(cmd, "capture ", 8)) {
		char what[64], file[PATH_MAX];
		int r = nb_ctx_capture(dm->ctx, dm->workers, cmd + 8, out);

		if (r != -ENOENT)
			return r;
		if (sscanf(cmd + 8, "%63s %4095s", what, file) != 2)
			return -EINVAL;
		r = nb_uplinks_capture(dm->uplinks, what, file, out);
		if (r == -ENOENT)
			fprintf(out, "no connected vif DOMID/DEVID or uplink named %s\n", what);
		return r;
	}
	return -EOPNOTSUPP;
}

/* DPDK: the EAL, the packet pools, the switch, the workers, the uplinks. */
static int start_dataplane(struct daemon *dm)
{
	const struct nb_config *cfg = dm->cfg;
	struct nb_workers_cfg wc = { 0 };
	char why[512];
	int r;

	for (unsigned i = 0; i < cfg->nuplinks; i++) {
		r = nb_eal_add_device(cfg->uplinks[i]);
		if (r < 0)
			return log_err_errno(r, "uplink %s", cfg->uplinks[i]);
	}
	r = nb_eal_init("netbackd", cfg->eal, cfg->mem_mb, why, sizeof(why));
	if (r < 0)
		return log_err_errno(r, "cannot start DPDK: %s", why);
	dm->eal = true;
	dm->pool = nb_pool_create("nb_pkts", cfg->mbufs, 256);
	/* Indirect mbufs for software segmentation (rte_gso): no data room. */
	dm->indirect = rte_pktmbuf_pool_create("nb_indirect", cfg->mbufs, 256, 0, 0,
					       SOCKET_ID_ANY);
	if (!dm->pool || !dm->indirect)
		return log_err_errno(-ENOMEM, "cannot allocate %u packet buffers (--mbufs, --mem-mb)",
				     cfg->mbufs);
	r = sw_new(cfg->mac_table, cfg->mac_age, dm->pool, &dm->sw);
	if (r < 0)
		return log_err_errno(r, "cannot create the switch");
	wc.ops = &xen_ops_default;
	wc.count = cfg->workers;
	wc.poll_us = cfg->poll_us;
	wc.sw = dm->sw;
	wc.pool = dm->pool;
	wc.indirect = dm->indirect;
	r = nb_workers_start(&wc, &dm->workers);
	if (r < 0)
		return r;
	return nb_uplinks_open(cfg, dm->pool, dm->sw, dm->workers, &dm->uplinks);
}

static void on_link_timer(struct loop *l, void *opaque)
{
	struct daemon *dm = opaque;

	(void)l;
	nb_uplinks_watch_links(dm->uplinks);
}

static int start(struct daemon *dm)
{
	const struct nb_config *cfg = dm->cfg;
	const char *dir = runtime_dir(cfg);
	const struct xb_driver *drv[1];
	struct nb_ctx_cfg cc;
	int r;

	r = daemon_open(&dm->core, NULL, NULL);
	if (!r)
		r = start_dataplane(dm);
	if (!r)
		r = daemon_xenstore(&dm->core);
	if (!r && nb_uplinks_count(dm->uplinks))
		r = loop_add_timer(dm->core.loop, 1000000, 1000000, on_link_timer, dm, NULL);
	if (r < 0)
		return r;
	cc = (struct nb_ctx_cfg){ .cfg = cfg, .ops = &xen_ops_default, .workers = dm->workers,
				  .sw = dm->sw, .pool = dm->pool };
	r = nb_ctx_new(&cc, &dm->ctx);
	if (r < 0)
		return log_err_errno(r, "cannot open the Xen grant and event-channel devices");
	r = nb_ctx_attach_loop(dm->ctx, dm->core.loop);
	if (r < 0)
		return log_err_errno(r, "cannot watch the control rings' event channels");
	r = daemon_mkdir(dir);
	if (r < 0)
		return r;
	r = nb_ctx_set_state_dir(dm->ctx, dir);
	if (r < 0)
		return log_err_errno(r, "runtime directory %s", dir);
	nb_ctx_on_change(dm->ctx, on_change, dm);
	drv[0] = nb_ctx_driver(dm->ctx);
	r = xb_bus_new(dm->core.loop, dm->core.xs, dm->core.self, drv, 1, &dm->bus);
	if (r < 0)
		return log_err_errno(r, "cannot create the xenbus bus");
	xb_bus_set_limits(dm->bus, cfg->common.max_devices, cfg->common.max_devices_per_domain);
	r = daemon_serve(&dm->core, dm->bus, dir, NB_CTL_SOCKET, on_ctl, dm);
	if (r < 0)
		return r;
	log_info("netbackd %s serving domain %u: %u worker(s), %u uplink(s), control socket in %s",
		 DDOM_VERSION, dm->core.self, cfg->workers, nb_uplinks_count(dm->uplinks), dir);
	on_change(dm);
	return 0;
}

static void teardown(void *opaque)
{
	struct daemon *dm = opaque;

	/* The guests stay Connected in xenstore: the next run reattaches. */
	if (dm->ctx)
		nb_ctx_keep_state(dm->ctx);
	xb_bus_free(dm->bus);
	nb_ctx_free(dm->ctx);
	nb_uplinks_close(dm->uplinks);
	nb_workers_stop(dm->workers);
	sw_free(dm->sw);
	rte_mempool_free(dm->indirect);
	rte_mempool_free(dm->pool);
	if (dm->eal)
		nb_eal_fini();
}

/* The client side: --status, --mac-table, --capture. */
static int client(const struct nb_config *cfg)
{
	char cmd[CTL_CMD_MAX];

	if (cfg->capture[0][0] &&
	    (size_t)snprintf(cmd, sizeof(cmd), "capture %s %s", cfg->capture[0], cfg->capture[1]) >=
		    sizeof(cmd)) {
		fprintf(stderr, "netbackd: --capture: the file name is too long\n");
		return 2;
	}
	if (!cfg->capture[0][0])
		snprintf(cmd, sizeof(cmd), "%s", cfg->status ? "status" : "macs");
	return daemon_client("netbackd", runtime_dir(cfg), NB_CTL_SOCKET, cmd, stdout);
}

int main(int argc, char **argv)
{
	static struct nb_config cfg;
	struct daemon dm = { .cfg = &cfg };
	char err[1024];
	int r;

	log_init("netbackd");
	nb_config_defaults(&cfg);
	r = nb_config_parse_args(&cfg, argc, argv, err, sizeof(err));
	r = daemon_early_exit("netbackd", r, err, cfg.help, cfg.version, nb_config_usage());
	if (r >= 0)
		return r;
	if (cfg.status || cfg.mac_table_cmd || cfg.capture[0][0])
		return client(&cfg);
	log_set_max_level(cfg.common.log_level);
	return daemon_run(&dm.core, start(&dm), teardown, &dm);
}
