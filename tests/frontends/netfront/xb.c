// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront xenbus side: finds the vif in xenstore, reads the backend's
 * features, sets up each queue's rings and event channels, and walks the
 * frontend state machine (as Linux drivers/net/xen-netfront.c does in
 * talk_to_netback and setup_netfront; node names from
 * xen/include/public/io/netif.h):
 *
 *   Initialising --(backend InitWait)--> write {tx,rx}-ring-ref,
 *   event-channel[-tx/-rx] (or queue-N/...), request-rx-copy, feature-* -->
 *   Initialised --(backend Connected)--> Connected
 *   (--connect-early: Connected at once, as Linux's netfront)
 *   Connected --> Closing --(backend Closing|Closed)--> Closed
 *
 * Main thread only. Every wait is bounded by --timeout. Values the backend
 * wrote are parsed strictly (common/store.c); a bad one fails the connect.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "netfront.h"
#include "store.h"

uint64_t nf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A node of dir (d->fe or d->be) as a number <= max; absent: def. */
static int rd(struct nf_dev *d, const char *dir, const char *node, uint64_t max, uint64_t def,
	      uint64_t *ret)
{
	char path[STORE_PATH_MAX];
	int r = store_path(path, sizeof(path), "%s/%s", dir, node);

	return r < 0 ? r : store_read_uint(d->xs, XBT_NULL, path, max, def, ret);
}

/* A backend feature flag: absent is off; any non-zero number is on (xenbus_read_unsigned). */
static bool be_flag(struct nf_dev *d, const char *node)
{
	uint64_t v;

	return !rd(d, d->be, node, UINT32_MAX, 0, &v) && v;
}

static int set_fe_state(struct nf_dev *d, int state)
{
	char path[STORE_PATH_MAX];

	if (d->o.verbose)
		fprintf(stderr, "netfront: frontend state -> %d\n", state);
	store_path(path, sizeof(path), "%s/state", d->fe);
	return store_printf(d->xs, XBT_NULL, path, "%d", state);
}

int nf_read_be_state(struct nf_dev *d)
{
	uint64_t v;

	if (rd(d, d->be, "state", XenbusStateReconfigured, XenbusStateUnknown, &v))
		return XenbusStateUnknown;
	return (int)v;
}

void nf_read_be_error(struct nf_dev *d)
{
	char path[STORE_PATH_MAX];

	d->backend_error[0] = 0;
	if (store_path(path, sizeof(path), "%s/error", d->be) < 0 ||
	    store_read_buf(d->xs, XBT_NULL, path, d->backend_error, sizeof(d->backend_error)) < 0)
		d->backend_error[0] = 0;
}

int nf_dev_xs_fd(struct nf_dev *d)
{
	return xs_fileno(d->xs);
}

void nf_dev_drain_watch(struct nf_dev *d)
{
	char **w;

	while ((w = xs_check_watch(d->xs)))
		free(w);
}

bool nf_be_gone(struct nf_dev *d)
{
	nf_dev_drain_watch(d);
	return nf_read_be_state(d) != XenbusStateConnected;
}

int nf_wait_be_state(struct nf_dev *d, unsigned mask, int timeout_ms)
{
	uint64_t end = nf_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd p = { .fd = xs_fileno(d->xs), .events = POLLIN };
	int s;

	while (!(mask & (1u << (s = nf_read_be_state(d))))) {
		uint64_t now = nf_now_ns();

		if (now >= end) {
			fprintf(stderr, "netfront: backend still in state %d after %d ms\n", s,
				timeout_ms);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -errno;
		nf_dev_drain_watch(d);
	}
	return s;
}

static int our_domid(struct nf_dev *d)
{
	const char *env = getenv("XENSIM_DOMID");
	uint64_t v;
	int r;

	if (d->o.domid >= 0) {
		d->domid = (domid_t)d->o.domid;
		return 0;
	}
	if (env)
		r = store_parse_uint(env, strlen(env), DOMID_FIRST_RESERVED - 1, &v);
	else	/* a real domU: relative to our home */
		r = store_read_uint(d->xs, XBT_NULL, "domid", DOMID_FIRST_RESERVED - 1,
				    STORE_NO_DEFAULT, &v);
	if (r < 0)
		return r;
	d->domid = (domid_t)v;
	return 0;
}

/* mac (toolstack-written, required) and mtu (netif.h "MTU": absent means 1500). */
static int read_link(struct nf_dev *d)
{
	char path[STORE_PATH_MAX], mac[20];
	uint64_t mtu;
	int r;

	store_path(path, sizeof(path), "%s/mac", d->fe);
	r = store_read_buf(d->xs, XBT_NULL, path, mac, sizeof(mac));
	if (r < 0)
		return r;
	r = store_parse_mac(mac, (size_t)r, d->mac);
	if (r < 0)
		return r;
	/* 68: the IPv4 minimum (RFC 791); above, the frame must fit its 16-bit size. */
	r = rd(d, d->fe, "mtu", NF_MAX_FRAME - NF_ETH_HLEN, 1500, &mtu);
	if (r < 0 || mtu < 68)
		return r < 0 ? r : -EINVAL;
	d->mtu = (unsigned)mtu;
	return 0;
}

int nf_dev_open(struct nf_dev *d, const struct nf_opts *o)
{
	char path[STORE_PATH_MAX];
	uint64_t v;
	int r;

	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->ops = &xen_ops_default;
	d->ctrl_port = -1;
	d->xs = xs_open(0);
	if (!d->xs)
		return -(errno ? errno : EIO);
	r = our_domid(d);
	if (r < 0)
		return r;
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vif/%d", d->domid, o->devid);
	store_path(path, sizeof(path), "%s/backend", d->fe);
	r = store_read_buf(d->xs, XBT_NULL, path, d->be, sizeof(d->be));
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	r = rd(d, d->fe, "backend-id", DOMID_FIRST_RESERVED - 1, STORE_NO_DEFAULT, &v);
	if (r < 0)
		return r;
	d->backend_id = (domid_t)v;
	r = read_link(d);
	if (r < 0)
		return r;
	if (!xs_watch(d->xs, d->be, "be"))
		return -(errno ? errno : EIO);
	return 0;
}

/* What the backend offers, then what we take of it (xennet_fix_features). */
static int negotiate(struct nf_dev *d)
{
	uint64_t maxq;
	int r;

	d->be_feat.rx_copy = be_flag(d, "feature-rx-copy");
	d->be_feat.sg = be_flag(d, "feature-sg");
	d->be_feat.gso4 = be_flag(d, "feature-gso-tcpv4");
	d->be_feat.gso6 = be_flag(d, "feature-gso-tcpv6");
	d->be_feat.ipv6_csum = be_flag(d, "feature-ipv6-csum-offload");
	d->be_feat.split = be_flag(d, "feature-split-event-channels");
	d->be_feat.ctrl_ring = be_flag(d, "feature-ctrl-ring");
	d->be_feat.mcast = be_flag(d, "feature-multicast-control");
	d->be_feat.mcast_dyn = be_flag(d, "feature-dynamic-multicast-control");
	r = rd(d, d->be, "multi-queue-max-queues", UINT32_MAX, 1, &maxq);
	if (r < 0)
		return r;
	d->be_feat.max_queues = maxq ? (unsigned)(maxq > NF_MAX_QUEUES ? NF_MAX_QUEUES : maxq) : 1;
	/* talk_to_netback: "backend does not support copying receive path". */
	if (!d->be_feat.rx_copy)
		return -EOPNOTSUPP;
	d->nr_queues = d->o.queues < d->be_feat.max_queues ? d->o.queues : d->be_feat.max_queues;
	d->split = d->o.split && d->be_feat.split;
	d->tx_sg = d->rx_sg = d->o.sg && d->be_feat.sg;
	/* GSO needs SG on both sides (a 64 KiB frame is many slots). */
	d->tx.gso4 = d->rx_gso4 = d->o.gso && d->tx_sg && d->be_feat.gso4;
	d->tx.gso6 = d->rx_gso6 = d->o.gso && d->tx_sg && d->be_feat.gso6;
	d->no_csum = !d->o.csum;
	/* netif.h: IPv4 checksum offload is on unless said off; IPv6 off unless said on. */
	d->tx.csum4 = d->o.csum;
	d->tx.csum6 = d->o.csum && d->o.ipv6_csum && d->be_feat.ipv6_csum;
	d->ipv6_csum = d->tx.csum6;
	if (!d->tx.csum4)
		d->tx.gso4 = d->rx_gso4 = false;
	if (!d->tx.csum6)
		d->tx.gso6 = d->rx_gso6 = false;
	d->ctrl_ring = d->o.ctrl_ring && d->be_feat.ctrl_ring;
	d->mcast = d->o.mcast_control && d->be_feat.mcast;
	nf_pool_sizes(d->nr_queues, &d->tx_pages, &d->rx_bufs);
	return 0;
}

static int ctrl_setup(struct nf_dev *d)
{
	const struct xen_ops *ops = d->ops;
	int r = ops->gntshr_open(&d->ctrl_gntshr);

	if (!r)
		r = ops->gntshr_share(d->ctrl_gntshr, d->backend_id, 1, 1, &d->ctrl_ref,
				      &d->ctrl_sring);
	if (r < 0) {
		d->ctrl_sring = NULL;
		return r;
	}
	SHARED_RING_INIT((xen_netif_ctrl_sring_t *)d->ctrl_sring);
	r = ops->evtchn_open(&d->ctrl_evtchn);
	if (!r)
		r = ops->evtchn_bind_unbound(d->ctrl_evtchn, d->backend_id);
	if (r < 0)
		return r;
	d->ctrl_port = r;
	return 0;
}

static void ctrl_free(struct nf_dev *d)
{
	const struct xen_ops *ops = d->ops;

	if (d->ctrl_evtchn) {
		if (d->ctrl_port >= 0)
			ops->evtchn_unbind(d->ctrl_evtchn, (evtchn_port_t)d->ctrl_port);
		ops->evtchn_close(d->ctrl_evtchn);
	}
	if (d->ctrl_sring)
		ops->gntshr_unshare(d->ctrl_gntshr, d->ctrl_sring, 1);
	ops->gntshr_close(d->ctrl_gntshr);
	d->ctrl_evtchn = NULL;
	d->ctrl_gntshr = NULL;
	d->ctrl_sring = NULL;
	d->ctrl_port = -1;
}

static int wr(struct nf_dev *d, xs_transaction_t t, const char *node, unsigned v)
{
	char path[STORE_PATH_MAX];
	int r = store_path(path, sizeof(path), "%s/%s", d->fe, node);

	return r < 0 ? r : store_printf(d->xs, t, path, "%u", v);
}

/* One queue's ring refs and event channel(s) under dir ("" or "queue-N/"). */
static int write_queue(struct nf_dev *d, xs_transaction_t t, const struct nf_queue *q,
		       const char *dir)
{
	char node[48];
	int r;

	snprintf(node, sizeof(node), "%stx-ring-ref", dir);
	r = wr(d, t, node, q->tx_ref);
	snprintf(node, sizeof(node), "%srx-ring-ref", dir);
	if (!r)
		r = wr(d, t, node, q->rx_ref);
	snprintf(node, sizeof(node), "%sevent-channel%s", dir, d->split ? "-tx" : "");
	if (!r)
		r = wr(d, t, node, (unsigned)q->port_tx);
	snprintf(node, sizeof(node), "%sevent-channel-rx", dir);
	if (!r && d->split)
		r = wr(d, t, node, (unsigned)q->port_rx);
	return r;
}

/* Nodes of an earlier connection must not survive into this one. */
static void remove_transport(struct nf_dev *d, xs_transaction_t t)
{
	static const char *const nodes[] = {
		"tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx",
		"event-channel-rx", "multi-queue-num-queues", "ctrl-ring-ref",
		"event-channel-ctrl", "request-multicast-control",
	};
	char path[STORE_PATH_MAX];

	for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		store_path(path, sizeof(path), "%s/%s", d->fe, nodes[i]);
		store_rm(d->xs, t, path);
	}
	for (unsigned i = 0; i < NF_MAX_QUEUES; i++) {
		store_path(path, sizeof(path), "%s/queue-%u", d->fe, i);
		store_rm(d->xs, t, path);
	}
}

static int write_transport(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct nf_dev *d = arg;
	char dir[24];
	int r = 0;

	(void)xs;
	remove_transport(d, t);
	/* netif.h: with two or more queues, no top-level ring or event-channel keys. */
	if (d->nr_queues == 1)
		r = write_queue(d, t, &d->q[0], "");
	else
		r = wr(d, t, "multi-queue-num-queues", d->nr_queues);
	for (unsigned i = 0; !r && d->nr_queues > 1 && i < d->nr_queues; i++) {
		snprintf(dir, sizeof(dir), "queue-%u/", i);
		r = write_queue(d, t, &d->q[i], dir);
	}
	if (!r && d->ctrl_ring)
		r = wr(d, t, "ctrl-ring-ref", d->ctrl_ref);
	if (!r && d->ctrl_ring)
		r = wr(d, t, "event-channel-ctrl", (unsigned)d->ctrl_port);
	if (!r && d->mcast)
		r = wr(d, t, "request-multicast-control", 1);
	if (!r)
		r = wr(d, t, "request-rx-copy", 1);
	if (!r)
		r = wr(d, t, "feature-rx-notify", 1);
	if (!r)
		r = wr(d, t, "feature-sg", d->rx_sg);
	if (!r)
		r = wr(d, t, "feature-gso-tcpv4", d->rx_gso4);
	if (!r)
		r = wr(d, t, "feature-gso-tcpv6", d->rx_gso6);
	if (!r)
		r = wr(d, t, "feature-no-csum-offload", d->no_csum);
	if (!r)
		r = wr(d, t, "feature-ipv6-csum-offload", d->ipv6_csum);
	return r;
}

static void free_all(struct nf_dev *d)
{
	for (unsigned i = 0; i < NF_MAX_QUEUES; i++)
		if (d->q[i].dev)
			nf_queue_free(d, &d->q[i]);
	ctrl_free(d);
}

/*
 * Closing, then the backend's Closing or Closed (bounded), then Closed. With
 * release, the queues' pages are ended in between: only once the backend let
 * go of them (or did not answer in time).
 */
static int close_walk(struct nf_dev *d, bool release)
{
	int r = set_fe_state(d, XenbusStateClosing);

	if (!r)
		r = nf_wait_be_state(d, 1u << XenbusStateClosing | 1u << XenbusStateClosed,
				     (int)d->o.timeout_s * 1000);
	if (release)
		free_all(d);
	if (r >= 0)
		r = set_fe_state(d, XenbusStateClosed);
	return r < 0 ? r : 0;
}

/* Brings a frontend left Connected or Closed by an earlier run back to Initialising. */
static int reset_frontend(struct nf_dev *d)
{
	uint64_t st;
	int r = 0;

	if (rd(d, d->fe, "state", XenbusStateReconfigured, XenbusStateInitialising, &st))
		st = XenbusStateUnknown;
	if (st == XenbusStateInitialising)
		return 0;
	if (st != XenbusStateClosed)
		r = close_walk(d, false);
	if (!r)
		r = nf_wait_be_state(d, 1u << XenbusStateClosed | 1u << XenbusStateInitWait,
				     (int)d->o.timeout_s * 1000);
	return r < 0 ? r : set_fe_state(d, XenbusStateInitialising);
}

/* After the nodes are written: the state walk to Connected. */
static int go_connected(struct nf_dev *d)
{
	int tmo = (int)d->o.timeout_s * 1000, r;

	if (d->o.connect_early) {
		r = set_fe_state(d, XenbusStateConnected);
		if (r < 0)
			return r;
	} else {
		r = set_fe_state(d, XenbusStateInitialised);
		if (r < 0)
			return r;
	}
	r = nf_wait_be_state(d, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
				1u << XenbusStateClosed, tmo);
	if (r != XenbusStateConnected) {
		nf_read_be_error(d);
		return r < 0 ? r : -ECONNREFUSED;
	}
	return d->o.connect_early ? 0 : set_fe_state(d, XenbusStateConnected);
}

int nf_connect(struct nf_dev *d)
{
	int r = reset_frontend(d);

	if (r < 0)
		return r;
	r = nf_wait_be_state(d, 1u << XenbusStateInitWait, (int)d->o.timeout_s * 1000);
	if (r < 0)
		return r;
	r = negotiate(d);
	for (unsigned i = 0; !r && i < d->nr_queues; i++)
		r = nf_queue_setup(d, &d->q[i], i);
	if (!r && d->ctrl_ring)
		r = ctrl_setup(d);
	if (!r)
		r = store_txn(d->xs, write_transport, d);
	if (!r)
		r = go_connected(d);
	if (r < 0) {
		free_all(d);
		return r;
	}
	d->connected = true;
	return 0;
}

int nf_disconnect(struct nf_dev *d)
{
	d->connected = false;
	return close_walk(d, true);
}

void nf_dev_close(struct nf_dev *d)
{
	free_all(d);
	if (d->xs)
		xs_close(d->xs);
	d->xs = NULL;
}
