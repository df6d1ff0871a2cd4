// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront-loopback: a minimal netif *backend* for testing netfront before
 * netbackd exists. It serves one vif of one guest from the driver domain:
 * advertises features, connects the queues the frontend wrote, and sends
 * every TX packet straight back to the same queue's RX ring by grant copy
 * (xen/io/netif.h wire formats both ways: GSO extras and checksum flags
 * are passed through, a packet larger than a page becomes a more_data
 * chain). --drop-every N answers every Nth packet NETIF_RSP_ERROR instead.
 *
 * It is a test fixture, not a backend: it trusts the frontend's slots as far
 * as bounds checks allow (a malformed chain is answered ERROR), runs one
 * thread for all queues, and exits when the frontend closes. Never built
 * against the real seam.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "netfront.h"
#include "store.h"

#define LB_MAX_SEGS 64

struct lbq {
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	void *txs, *rxs;
	int port_tx, port_rx;
};

struct lb {
	struct xs_handle *xs;
	const struct xen_ops *ops;
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	domid_t fe_id;
	char be[128], fe[128];
	unsigned nq, drop_every;
	uint64_t pkts, dropped;
	struct lbq q[NF_MAX_QUEUES];
};

static int node(struct lb *L, const char *dir, const char *n, uint64_t def, uint64_t *ret)
{
	char p[STORE_PATH_MAX];

	store_path(p, sizeof(p), "%s/%s", dir, n);
	return store_read_uint(L->xs, XBT_NULL, p, UINT32_MAX, def, ret);
}

static void set_state(struct lb *L, int s)
{
	char p[STORE_PATH_MAX];

	store_path(p, sizeof(p), "%s/state", L->be);
	store_printf(L->xs, XBT_NULL, p, "%d", s);
}

static int wait_fe(struct lb *L, unsigned mask)
{
	struct pollfd p = { .fd = xs_fileno(L->xs), .events = POLLIN };
	uint64_t s;

	for (int i = 0; i < 600; i++) {
		if (!node(L, L->fe, "state", 0, &s) && s < 32 && (mask & (1u << s)))
			return (int)s;
		poll(&p, 1, 100);
		free(xs_check_watch(L->xs));
	}
	return -ETIMEDOUT;
}

static int connect_queue(struct lb *L, struct lbq *q, const char *dir)
{
	uint64_t txr, rxr, ev, evrx;
	int r;

	if (node(L, dir, "tx-ring-ref", STORE_NO_DEFAULT, &txr) ||
	    node(L, dir, "rx-ring-ref", STORE_NO_DEFAULT, &rxr))
		return -EINVAL;
	if (node(L, dir, "event-channel", STORE_NO_DEFAULT, &ev)) {
		if (node(L, dir, "event-channel-tx", STORE_NO_DEFAULT, &ev) ||
		    node(L, dir, "event-channel-rx", STORE_NO_DEFAULT, &evrx))
			return -EINVAL;
	} else {
		evrx = ev;
	}
	r = L->ops->gnttab_map(L->gt, 1, L->fe_id, (grant_ref_t[]){ (grant_ref_t)txr }, 1, &q->txs);
	if (!r)
		r = L->ops->gnttab_map(L->gt, 1, L->fe_id, (grant_ref_t[]){ (grant_ref_t)rxr }, 1,
				       &q->rxs);
	if (r < 0)
		return r;
	BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->txs, XEN_PAGE_SIZE);
	BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rxs, XEN_PAGE_SIZE);
	q->port_tx = L->ops->evtchn_bind_interdomain(L->ev, L->fe_id, (evtchn_port_t)ev);
	q->port_rx = ev == evrx ? q->port_tx :
				  L->ops->evtchn_bind_interdomain(L->ev, L->fe_id,
								  (evtchn_port_t)evrx);
	return q->port_tx < 0 || q->port_rx < 0 ? -EIO : 0;
}

static int lb_connect(struct lb *L)
{
	uint64_t nq;
	char dir[STORE_PATH_MAX];
	int r = 0;

	if (node(L, L->fe, "multi-queue-num-queues", 1, &nq) || !nq || nq > NF_MAX_QUEUES)
		return -EINVAL;
	L->nq = (unsigned)nq;
	for (unsigned i = 0; !r && i < L->nq; i++) {
		if (L->nq == 1)
			snprintf(dir, sizeof(dir), "%s", L->fe);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", L->fe, i);
		r = connect_queue(L, &L->q[i], dir);
	}
	return r;
}

static void tx_answer(struct lbq *q, const union nf_tx_slot *s, unsigned n, int16_t st)
{
	for (unsigned i = 0; i < n; i++) {
		struct netif_tx_response *rsp = RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt++);
		bool extra = i == 1 && (s[0].req.flags & NETTXF_extra_info);

		rsp->id = extra ? 0 : s[i].req.id;
		rsp->status = extra ? NETIF_RSP_NULL : st;
	}
}

/* Copies the packet's fragments into RX pages; returns RX data slots used or -1. */
static int copy_out(struct lb *L, const union nf_tx_slot *s, unsigned n, const grant_ref_t *dst,
		    uint16_t *dst_len)
{
	struct xen_copy_seg seg[LB_MAX_SEGS];
	unsigned nseg = 0, d = 0, doff = 0;
	uint32_t left = s[0].req.size;

	for (unsigned i = 0; i < n; i++) {
		uint32_t flen, soff = s[i].req.offset;

		if (i == 1 && (s[0].req.flags & NETTXF_extra_info))
			continue;
		flen = s[i].req.size;
		if (i == 0)
			for (unsigned k = 1; k < n; k++)
				if (!(k == 1 && (s[0].req.flags & NETTXF_extra_info)))
					flen -= s[k].req.size;
		if (flen > left || soff + flen > XEN_PAGE_SIZE)
			return -1;
		left -= flen;
		while (flen) {
			uint32_t take = XEN_PAGE_SIZE - doff < flen ? XEN_PAGE_SIZE - doff : flen;

			if (nseg == LB_MAX_SEGS || d >= NF_MAX_RX_SLOTS)
				return -1;
			seg[nseg++] = (struct xen_copy_seg){
				.source.foreign = { .ref = s[i].req.gref, .offset = (uint16_t)soff,
						    .domid = L->fe_id },
				.dest.foreign = { .ref = dst[d], .offset = (uint16_t)doff,
						  .domid = L->fe_id },
				.len = (uint16_t)take,
				.flags = GNTCOPY_source_gref | GNTCOPY_dest_gref,
			};
			soff += take;
			doff += take;
			flen -= take;
			dst_len[d] = (uint16_t)doff;
			if (doff == XEN_PAGE_SIZE) {
				d++;
				doff = 0;
			}
		}
	}
	if (doff)
		d++;
	if (left || L->ops->gnttab_copy(L->gt, nseg, seg) < 0)
		return -1;
	for (unsigned i = 0; i < nseg; i++)
		if (seg[i].status != GNTST_okay)
			return -1;
	return (int)d;
}

/* Slots of the packet at req_cons (0: not all there yet). */
static unsigned pkt_slots(struct lbq *q, RING_IDX prod, union nf_tx_slot *s)
{
	unsigned n = 0;
	bool more = true, extra = false;

	while (more || extra) {
		if (q->tx.req_cons + n == prod)
			return 0;
		/* Too long to be a packet: answered ERROR as it stands. */
		if (n == NF_MAX_TX_FRAGS + NF_MAX_EXTRAS)
			return n;
		RING_COPY_REQUEST(&q->tx, q->tx.req_cons + n, &s[n].req);
		if (extra) {
			extra = s[n].extra.flags & XEN_NETIF_EXTRA_FLAG_MORE;
		} else {
			more = s[n].req.flags & NETTXF_more_data;
			extra = n == 0 && (s[n].req.flags & NETTXF_extra_info);
		}
		n++;
	}
	return n;
}

static void rx_put(struct lbq *q, const union nf_tx_slot *s, int nd, const uint16_t *id,
		   const uint16_t *len)
{
	bool gso = s[0].req.flags & NETTXF_extra_info;

	for (int i = 0; i < nd; i++) {
		struct netif_rx_response *r = RING_GET_RESPONSE(&q->rx, q->rx.rsp_prod_pvt++);

		r->id = id[i];
		r->offset = 0;
		r->status = (int16_t)len[i];
		r->flags = i + 1 < nd ? NETRXF_more_data : 0;
		if (i)
			continue;
		if (s[0].req.flags & NETTXF_csum_blank)
			r->flags |= NETRXF_csum_blank | NETRXF_data_validated;
		else if (s[0].req.flags & NETTXF_data_validated)
			r->flags |= NETRXF_data_validated;
		if (!gso)
			continue;
		r->flags |= NETRXF_extra_info;
		/* The extra goes in the next slot, whose request buffer is unused. */
		memcpy(RING_GET_RESPONSE(&q->rx, q->rx.rsp_prod_pvt++), &s[1].extra,
		       sizeof(struct netif_extra_info));
	}
}

/* One packet TX -> RX; false when it must wait (not complete, or no RX room). */
static bool loop_one(struct lb *L, struct lbq *q, RING_IDX prod)
{
	union nf_tx_slot s[NF_MAX_TX_FRAGS + NF_MAX_EXTRAS];
	grant_ref_t dst[NF_MAX_RX_SLOTS + 1];
	uint16_t ids[NF_MAX_RX_SLOTS + 1], len[NF_MAX_RX_SLOTS + 1];
	unsigned n = pkt_slots(q, prod, s), need, avail;
	bool gso;
	int nd;

	if (!n)
		return false;
	if (n == NF_MAX_TX_FRAGS + NF_MAX_EXTRAS) {
		q->tx.req_cons += n;
		tx_answer(q, s, n, NETIF_RSP_ERROR);
		return true;
	}
	gso = s[0].req.flags & NETTXF_extra_info;
	need = (s[0].req.size + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE + gso;
	avail = q->rx.sring->req_prod - q->rx.req_cons;
	xen_rmb();
	if (avail < need || need > NF_MAX_RX_SLOTS)
		return false;
	q->tx.req_cons += n;
	L->pkts++;
	if (L->drop_every && L->pkts % L->drop_every == 0) {
		L->dropped++;
		tx_answer(q, s, n, NETIF_RSP_ERROR);
		return true;
	}
	for (unsigned i = 0, k = 0; i < need; i++) {
		struct netif_rx_request req;

		RING_COPY_REQUEST(&q->rx, q->rx.req_cons + i, &req);
		/* With GSO the second request's slot holds the extra, not data. */
		if (gso && i == 1)
			continue;
		dst[k] = req.gref;
		ids[k++] = req.id;
	}
	nd = copy_out(L, s, n, dst, len);
	if (nd < 0) {
		tx_answer(q, s, n, NETIF_RSP_ERROR);
		return true;
	}
	/* A GSO packet's data slots and its extra keep ring order: data0, extra, data1.. */
	q->rx.req_cons += (unsigned)nd + gso;
	rx_put(q, s, nd, ids, len);
	tx_answer(q, s, n, NETIF_RSP_OKAY);
	return true;
}

static void serve_queue(struct lb *L, struct lbq *q)
{
	int more, notify;
	bool progress;

	do {
		RING_IDX prod = q->tx.sring->req_prod;

		xen_rmb();
		progress = false;
		while (q->tx.req_cons != prod && loop_one(L, q, prod))
			progress = true;
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
		if (notify)
			L->ops->evtchn_notify(L->ev, (evtchn_port_t)q->port_rx);
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, notify);
		if (notify)
			L->ops->evtchn_notify(L->ev, (evtchn_port_t)q->port_tx);
		RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
		if (!more && q->tx.req_cons != q->tx.sring->req_prod) {
			/* Waiting for RX buffers: ask to be told when they come. */
			RING_FINAL_CHECK_FOR_REQUESTS(&q->rx, more);
		}
	} while (more && progress);
}

static void serve(struct lb *L)
{
	struct pollfd p[2] = {
		{ .fd = L->ops->evtchn_fd(L->ev), .events = POLLIN },
		{ .fd = xs_fileno(L->xs), .events = POLLIN },
	};
	uint64_t s;
	int port;

	for (;;) {
		for (unsigned i = 0; i < L->nq; i++)
			serve_queue(L, &L->q[i]);
		poll(p, 2, 100);
		while ((port = L->ops->evtchn_pending(L->ev)) >= 0)
			L->ops->evtchn_unmask(L->ev, (evtchn_port_t)port);
		free(xs_check_watch(L->xs));
		if (node(L, L->fe, "state", 0, &s) || s >= XenbusStateClosing)
			return;
	}
}

int main(int argc, char **argv)
{
	static struct lb L;
	uint64_t self;
	int c, devid = 0, fe = -1;

	while ((c = getopt(argc, argv, "f:d:D:")) != -1) {
		if (c == 'f')
			fe = atoi(optarg);
		else if (c == 'd')
			devid = atoi(optarg);
		else if (c == 'D')
			L.drop_every = (unsigned)atoi(optarg);
	}
	if (fe < 0 || !getenv("XENSIM_DOMID")) {
		fprintf(stderr, "usage: netfront-loopback -f FRONTEND_DOMID [-d DEVID] [-D DROP_EVERY]"
			" (inside xensim exec)\n");
		return 2;
	}
	self = strtoull(getenv("XENSIM_DOMID"), NULL, 10);
	L.ops = &xen_ops_default;
	L.fe_id = (domid_t)fe;
	L.xs = xs_open(0);
	if (!L.xs || L.ops->gnttab_open(&L.gt) < 0 || L.ops->evtchn_open(&L.ev) < 0)
		return 1;
	snprintf(L.be, sizeof(L.be), "/local/domain/%llu/backend/vif/%d/%d",
		 (unsigned long long)self, fe, devid);
	snprintf(L.fe, sizeof(L.fe), "/local/domain/%d/device/vif/%d", fe, devid);
	xs_watch(L.xs, L.fe, "fe");
	{
		static const char *const feats[] = {
			"feature-rx-copy", "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
			"feature-ipv6-csum-offload", "feature-split-event-channels",
		};
		char p[STORE_PATH_MAX];

		for (unsigned i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
			store_path(p, sizeof(p), "%s/%s", L.be, feats[i]);
			store_write(L.xs, XBT_NULL, p, "1");
		}
		store_path(p, sizeof(p), "%s/multi-queue-max-queues", L.be);
		store_write(L.xs, XBT_NULL, p, "4");
		set_state(&L, XenbusStateInitWait);
		if (wait_fe(&L, 1u << XenbusStateInitialised | 1u << XenbusStateConnected) < 0)
			return 1;
		if (lb_connect(&L) < 0) {
			set_state(&L, XenbusStateClosing);
			return 1;
		}
		set_state(&L, XenbusStateConnected);
		serve(&L);
		set_state(&L, XenbusStateClosing);
		for (unsigned i = 0; i < L.nq; i++) {
			L.ops->gnttab_unmap(L.gt, L.q[i].txs, 1);
			L.ops->gnttab_unmap(L.gt, L.q[i].rxs, 1);
		}
		fprintf(stderr, "netfront-loopback: %llu packets looped, %llu dropped\n",
			(unsigned long long)L.pkts, (unsigned long long)L.dropped);
		wait_fe(&L, 1u << XenbusStateClosed);
		set_state(&L, XenbusStateClosed);
		return 0;
	}
}
