// SPDX-License-Identifier: GPL-2.0-only
/*
 * Uplinks on the switch (see ports.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "offload.h"
#include "pkt.h"
#include "ports.h"
#include "sw.h"
#include "uplink.h"
#include "worker.h"

#define RX_BURST 32
/*
 * Without RX interrupts (net_null, net_ring; net_af_packet sleeps on its
 * queue's packet socket instead, uplink.c) a sleeping worker looks at the
 * device after 1 ms, then backs off by doubling up to 16 ms while nothing
 * arrives: an idle port costs ~60 wake-ups a second, and the first frame
 * after a quiet spell waits at most 16 ms. Traffic resets it.
 */
#define NO_INTR_POLL_MIN_NS 1000000ull
#define NO_INTR_POLL_MAX_NS 16000000ull

struct rxq {
	struct wk_pollable pl;		/* first */
	struct up *up;
	unsigned q;
	bool armed;
	uint64_t backoff_ns;		/* no RX interrupts: the next idle poll */
	struct wk_worker *w;
};

struct up {
	struct nb_uplink *dev;
	bool link_up;			/* as last seen by nb_uplinks_watch_links */
	uint64_t link_changes;
	struct nb_capture *_Atomic cap;	/* --capture: wire in (inbound), out (outbound) */
	struct sw_port port;
	unsigned nrx;
	struct rxq rx[NB_WORKERS_CAP];
};

struct nb_uplinks {
	struct nb_workers *ws;
	struct sw *sw;
	unsigned n;
	struct up up[NB_UPLINKS_CAP];
};

static unsigned rx_poll(struct wk_pollable *p, struct wk_worker *w)
{
	struct rxq *r = (struct rxq *)p;
	struct rte_mbuf *pkts[RX_BURST];
	uint16_t n;

	if (r->armed) {
		nb_uplink_intr_arm(r->up->dev, r->q, false);
		r->armed = false;
	}
	n = nb_uplink_rx(r->up->dev, r->q, pkts, RX_BURST);
	if (n)
		r->backoff_ns = NO_INTR_POLL_MIN_NS;
	for (uint16_t i = 0; i < n; i++)
		pkts[i]->port = r->up->port.id;
	if (n) {
		struct nb_capture *cap = atomic_load_explicit(&r->up->cap, memory_order_acquire);

		if (cap)
			nb_capture_pkts(cap, pkts, n, false);
		nb_worker_switch(w, pkts, n);
	}
	return n;
}

static bool rx_arm(struct wk_pollable *p, struct wk_worker *w, uint64_t *wake_ns)
{
	struct rxq *r = (struct rxq *)p;

	if (r->pl.fds[0] < 0) {
		uint64_t t;

		if (r->backoff_ns < NO_INTR_POLL_MIN_NS)
			r->backoff_ns = NO_INTR_POLL_MIN_NS;
		t = wk_worker_now(w) + r->backoff_ns;
		if (r->backoff_ns < NO_INTR_POLL_MAX_NS)
			r->backoff_ns *= 2;
		if (t < *wake_ns)
			*wake_ns = t;
		return false;
	}
	if (nb_uplink_intr_arm(r->up->dev, r->q, true) == 0)
		r->armed = true;
	return false;
}

static int rx_attach(struct wk_pollable *p, struct wk_worker *w)
{
	((struct rxq *)p)->w = w;
	return 0;
}

static void up_egress(struct sw_port *p, void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct up *u = p->opaque;
	struct wk_worker *w = ctx;
	struct nb_capture *cap = atomic_load_explicit(&u->cap, memory_order_acquire);

	if (cap)
		nb_capture_pkts(cap, pkts, n, true);
	nb_uplink_tx(u->dev, wk_worker_index(w), nb_worker_offload(w), pkts, n);
}

static void close_one(struct nb_uplinks *us, struct up *u)
{
	sw_port_remove(us->sw, &u->port);
	nb_workers_sync(us->ws);
	for (unsigned q = 0; q < u->nrx; q++)
		if (u->rx[q].w)
			wk_worker_detach(u->rx[q].w, &u->rx[q].pl);
	nb_capture_close(atomic_exchange(&u->cap, NULL));
	nb_uplink_close(u->dev);
	u->dev = NULL;
}

static int open_one(struct nb_uplinks *us, struct up *u, const char *devargs, unsigned mtu,
		    bool gro, struct rte_mempool *pool)
{
	unsigned nw = nb_workers_count(us->ws);
	struct nb_uplink_cfg uc = {
		.devargs = devargs,
		.nqueues = nw,
		.mtu = mtu,	/* 0: the device's own */
		.gro = gro,
		.pool = pool,
		.rx_desc = 1024,
		.tx_desc = 1024,
	};
	char why[256];
	int r;

	/* A DPDK device is refused twice by uplink.c; a tap: by its name here. */
	for (struct up *o = us->up; o < u; o++)
		if (o->dev && strcmp(nb_uplink_name(o->dev), devargs) == 0)
			return log_err_errno(-EBUSY, "uplink %s: named twice", devargs);
	r = nb_uplink_open(&uc, &u->dev, why, sizeof(why));
	if (r < 0)
		return log_err_errno(r, "uplink %s: %s", devargs, why);
	u->port.kind = SW_UPLINK;
	u->port.egress = up_egress;
	u->port.opaque = u;
	snprintf(u->port.name, sizeof(u->port.name), "uplink %s", nb_uplink_name(u->dev));
	u->link_up = nb_uplink_link_up(u->dev);	/* said in nb_uplink_open's log line */
	r = sw_port_add(us->sw, &u->port);
	if (r < 0)
		return log_err_errno(r, "uplink %s: no free switch port", devargs);
	u->nrx = nb_uplink_nqueues(u->dev) < nw ? nb_uplink_nqueues(u->dev) : nw;
	for (unsigned q = 0; q < u->nrx; q++) {
		struct rxq *rq = &u->rx[q];

		rq->up = u;
		rq->q = q;
		rq->pl.poll = rx_poll;
		rq->pl.arm = rx_arm;
		rq->pl.attach = rx_attach;
		rq->pl.fds[0] = nb_uplink_intr_fd(u->dev, q);
		rq->pl.fds[1] = -1;
		r = wk_worker_attach(nb_workers_get(us->ws, q), &rq->pl);
		if (r < 0)
			return log_err_errno(r, "uplink %s: queue %u", devargs, q);
	}
	log_info("uplink %s: %u queue(s), link %s, offloads 0x%x%s", nb_uplink_name(u->dev),
		 u->nrx, nb_uplink_link_up(u->dev) ? "up" : "down", nb_uplink_caps(u->dev),
		 u->rx[0].pl.fds[0] < 0 ? ", no RX interrupts (polled every 1-16 ms when idle)" : "");
	return 0;
}

int nb_uplinks_open(const struct nb_config *cfg, struct rte_mempool *pool, struct sw *sw,
		    struct nb_workers *ws, struct nb_uplinks **ret)
{
	struct nb_uplinks *us = calloc(1, sizeof(*us));
	int r;

	if (!us)
		return -ENOMEM;
	us->ws = ws;
	us->sw = sw;
	for (unsigned i = 0; i < cfg->nuplinks; i++) {
		r = open_one(us, &us->up[i], cfg->uplinks[i], cfg->uplink_mtu, cfg->uplink_gro, pool);
		us->n = i + 1;
		if (r < 0) {
			nb_uplinks_close(us);
			return r;
		}
	}
	*ret = us;
	return 0;
}

void nb_uplinks_close(struct nb_uplinks *us)
{
	if (!us)
		return;
	for (unsigned i = 0; i < us->n; i++)
		if (us->up[i].dev)
			close_one(us, &us->up[i]);
	free(us);
}

unsigned nb_uplinks_count(const struct nb_uplinks *us)
{
	return us ? us->n : 0;
}

void nb_uplinks_status(struct nb_uplinks *us, FILE *out)
{
	for (unsigned i = 0; us && i < us->n; i++) {
		struct up *u = &us->up[i];
		struct nb_uplink_stats st;

		if (!u->dev)
			continue;
		nb_uplink_stats(u->dev, &st);
		fprintf(out, "%s: link=%s mtu=%u queues=%u offloads=0x%x rx=%llu rx-bytes=%llu tx=%llu "
			     "tx-bytes=%llu tx-drop-full=%llu tx-drop-prepare=%llu rx-truncated=%llu "
			     "sw-segmented=%llu sw-csum=%llu gro-packets=%llu gro-frames=%llu rx-missed=%llu "
			     "rx-bad=%llu driver=%s\n",
			u->port.name, nb_uplink_link_up(u->dev) ? "up" : "down", nb_uplink_mtu(u->dev),
			u->nrx,
			nb_uplink_caps(u->dev), (unsigned long long)st.rx_packets,
			(unsigned long long)st.rx_bytes, (unsigned long long)st.tx_packets,
			(unsigned long long)st.tx_bytes, (unsigned long long)st.drop_tx_full,
			(unsigned long long)st.drop_tx_prepare,
			(unsigned long long)st.drop_rx_truncated,
			(unsigned long long)st.offload.segmented, (unsigned long long)st.offload.csum_sw,
			(unsigned long long)st.offload.gro_packets,
			(unsigned long long)st.offload.gro_frames, (unsigned long long)st.eth.imissed,
			(unsigned long long)st.drop_rx_bad, nb_uplink_driver(u->dev));
	}
}

int nb_uplinks_capture(struct nb_uplinks *us, const char *name, const char *file, FILE *out)
{
	struct nb_capture *cap = NULL, *old;
	char descr[96];
	int r;

	for (unsigned i = 0; us && i < us->n; i++) {
		struct up *u = &us->up[i];

		if (!u->dev || strcmp(nb_uplink_name(u->dev), name))
			continue;
		if (strcmp(file, "off")) {
			snprintf(descr, sizeof(descr), "netbackd uplink %s: from the wire inbound, "
				 "to the wire outbound", name);
			r = nb_capture_open(file, name, descr, &cap);
			if (r < 0) {
				fprintf(out, "cannot write %s: %s\n", file, strerror(-r));
				return r;
			}
		}
		old = atomic_exchange(&u->cap, cap);
		if (old) {
			nb_workers_sync(us->ws);
			nb_capture_close(old);
		}
		fprintf(out, cap ? "capturing uplink %s to %s\n" : "capture of uplink %s stopped%s\n",
			name, cap ? file : "");
		return 0;
	}
	return -ENOENT;
}

/* --- status-json (docs/ddomctl.md) --- */

void nb_port_counters_json(const struct sw_port *p, struct json *j)
{
	json_key(j, "switch");
	json_obj_begin(j);
	for (int k = 0; k < SW_CNT__MAX; k++) {
		json_key_underscore(j, sw_cnt_names[k]);
		json_u64(j, atomic_load(&p->cnt[k]));
	}
	json_obj_end(j);
}

static void uplink_json(const struct up *u, struct json *j)
{
	struct nb_uplink_stats st;
	bool up = nb_uplink_link_up(u->dev);

	nb_uplink_stats(u->dev, &st);
	json_obj_begin(j);
	json_kstr(j, "name", nb_uplink_name(u->dev));
	json_kstr(j, "driver", nb_uplink_driver(u->dev));
	json_kstr(j, "link", up ? "up" : "down");
	json_kbool(j, "link_up", up);
	json_ku64(j, "queues", u->nrx);
	json_ku64(j, "offloads", nb_uplink_caps(u->dev));
	json_key(j, "counters");
	json_obj_begin(j);
	json_ku64(j, "rx", st.rx_packets);
	json_ku64(j, "rx_bytes", st.rx_bytes);
	json_ku64(j, "tx", st.tx_packets);
	json_ku64(j, "tx_bytes", st.tx_bytes);
	json_ku64(j, "tx_drop_full", st.drop_tx_full);
	json_ku64(j, "tx_drop_prepare", st.drop_tx_prepare);
	json_ku64(j, "rx_truncated", st.drop_rx_truncated);
	json_ku64(j, "sw_segmented", st.offload.segmented);
	json_ku64(j, "sw_csum", st.offload.csum_sw);
	json_ku64(j, "gro_packets", st.offload.gro_packets);
	json_ku64(j, "gro_frames", st.offload.gro_frames);
	json_ku64(j, "rx_missed", st.eth.imissed);
	json_ku64(j, "rx_bad", st.drop_rx_bad);
	json_obj_end(j);
	nb_port_counters_json(&u->port, j);
	json_obj_end(j);
}

void nb_uplinks_status_json(struct nb_uplinks *us, struct json *j)
{
	json_key(j, "uplinks");
	json_arr_begin(j);
	for (unsigned i = 0; us && i < us->n; i++)
		if (us->up[i].dev)
			uplink_json(&us->up[i], j);
	json_arr_end(j);
}

void nb_uplinks_watch_links(struct nb_uplinks *u)
{
	for (unsigned i = 0; u && i < u->n; i++) {
		struct up *p = &u->up[i];
		bool now = nb_uplink_link_up(p->dev);

		if (now == p->link_up)
			continue;
		p->link_up = now;
		p->link_changes++;
		if (now)
			log_info("uplink %s: link up", nb_uplink_name(p->dev));
		else
			log_warn("uplink %s: link down: the guests reach nothing beyond this driver "
				 "domain through it", nb_uplink_name(p->dev));
	}
}
