// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vif queue's data path (see vifq.h). Everything but vifq_new/free and
 * vifq_deliver runs on the owning worker's thread; vifq_deliver runs on
 * any worker. Never allocates after vifq_new (mbufs come from the pool),
 * never blocks, never exits: a hostile frontend gets error responses or a
 * broken queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_ring.h>

#include "capture.h"
#include "log.h"
#include "netif.h"
#include "offload.h"
#include "pkt.h"
#include "vif.h"
#include "vifq.h"
#include "worker.h"

/* Packets taken off the TX ring per pass: netback's NAPI weight is 64. */
#define TX_BATCH 64
/* Slots copied per pass: a batch of small packets plus one packet of the
 * largest legal shape, so a full batch never ends on a copied-short chain. */
#define TX_COPY_SLOTS (TX_BATCH + NB_TX_MAX_SLOTS)
#define TX_SEGS (TX_BATCH * NB_TX_MAX_FRAGS)
/* Packets given to the guest per pass. */
#define RX_BATCH 64
/* Packets held between the inbox and the RX ring: a batch, plus what the
 * software segmentation of a few dequeued TSO frames can turn into (a
 * 64 KiB frame at the smallest MSS netfront sends, 536: ~123 segments). */
#define RX_PENDING (RX_BATCH + 4 * 128)
#define RX_DEQ 4
/* RX slots one packet may take: netfront's XEN_NETIF_NR_SLOTS_MIN (18)
 * data slots (xennet_get_responses), plus the GSO extra. */
#define RX_MAX_DATA_SLOTS XEN_NETIF_NR_SLOTS_MIN
/* Extras a frame takes on the RX ring: GSO, then hash. */
#define RX_MAX_EXTRAS 2
#define RX_SEGS 1024
/* A segment per data slot and per mbuf segment, at most, for one packet. */
#define RX_PKT_SEGS_MAX (RX_MAX_DATA_SLOTS + 64)

/* mbufs taken from the pool per bulk call for guest TX: one mempool call
 * per burst of small frames instead of one per frame. A queue keeps at
 * most this many out of the pool while idle (size --mbufs for it). */
#define TX_STASH 32
_Static_assert(TX_STASH >= NB_TX_MAX_FRAGS, "a stash holds any packet");

enum tx_action { TXA_ERROR, TXA_OK_NOFRAME, TXA_FRAME, TXA_MCAST };

struct tx_state {
	enum tx_action act;
	struct rte_mbuf *m;
	uint16_t seg0, nseg;
};

struct rx_state {
	struct rte_mbuf *m;
	RING_IDX first;			/* ring index of its first slot */
	uint16_t nslots;		/* data slots */
	uint16_t seg0, nseg;
	uint16_t ids[RX_MAX_DATA_SLOTS + 1];
	uint16_t sizes[RX_MAX_DATA_SLOTS];
	bool gso;			/* a GSO extra follows the first slot */
	bool hash;			/* then a hash extra */
	uint8_t hash_type;		/* _XEN_NETIF_CTRL_HASH_TYPE_* */
	uint32_t hash_value;
};

struct vifq {
	struct wk_pollable pl;		/* first: the worker's view */
	struct vifq_cfg cfg;
	struct nb_vif *vif;
	struct wk_worker *w;
	const struct xen_ops *ops;
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	void *tx_map, *rx_map;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	int tx_port, rx_port;		/* local; equal without split channels */
	struct rte_ring *inbox;
	struct wk_worker *_Atomic owner;	/* q->w, for other threads' kicks */
	const char *broken;
	bool tx_throttled;
	unsigned caps;			/* offloads the guest takes (offload.h) */
	struct log_ratelimit rl;
	_Atomic uint64_t cnt[VQ_CNT__MAX];
	/* TX batch */
	unsigned nstash;		/* mbufs taken from the pool in bulk, unused yet */
	struct rte_mbuf *stash[TX_STASH];
	union nb_tx_slot slots[TX_COPY_SLOTS];
	struct nb_tx_pkt pkt[TX_BATCH];
	struct tx_state txs[TX_BATCH];
	struct xen_copy_seg tx_seg[TX_SEGS];
	struct rte_mbuf *tx_out[TX_BATCH];
	/* RX batch */
	unsigned rx_np;
	struct rte_mbuf *rx_pend[RX_PENDING];
	struct rx_state rxs[RX_BATCH];
	struct xen_copy_seg rx_seg[RX_SEGS];
};

const char *const vq_cnt_names[VQ_CNT__MAX] = {
	[VQ_CNT_TX_PKTS] = "tx",
	[VQ_CNT_TX_BYTES] = "tx-bytes",
	[VQ_CNT_TX_DROP_PROTO] = "tx-err-proto",
	[VQ_CNT_TX_DROP_GRANT] = "tx-err-grant",
	[VQ_CNT_TX_DROP_SPOOF] = "tx-drop-spoof",
	[VQ_CNT_TX_DROP_OFFLOAD] = "tx-drop-offload",
	[VQ_CNT_TX_MCAST_OPS] = "mcast-ops",
	[VQ_CNT_TX_THROTTLED] = "tx-throttled",
	[VQ_CNT_TX_NOBUF] = "tx-nobuf",
	[VQ_CNT_RX_PKTS] = "rx",
	[VQ_CNT_RX_BYTES] = "rx-bytes",
	[VQ_CNT_RX_DROP_BACKLOG] = "rx-drop-backlog",
	[VQ_CNT_RX_DROP_TOO_BIG] = "rx-drop-too-big",
	[VQ_CNT_RX_DROP_GRANT] = "rx-err-grant",
	[VQ_CNT_RX_DROP_OFFLOAD] = "rx-drop-offload",
	[VQ_CNT_COPY_CALLS] = "copy-calls",
	[VQ_CNT_COPY_SEGS] = "copy-segs",
	[VQ_CNT_NOTIFY] = "notify",
	[VQ_CNT_BATCHES] = "batches",
	[VQ_CNT_REPLAYED] = "replayed",
	[VQ_CNT_RESTORED] = "restored",
};

static inline void cnt_add(struct vifq *q, int i, uint64_t n)
{
	atomic_fetch_add_explicit(&q->cnt[i], n, memory_order_relaxed);
}

static void mark_broken(struct vifq *q, const char *why)
{
	uint64_t one = 1;

	if (q->broken)
		return;
	q->broken = why;
	log_rl(&q->rl, LOG_ERR, 0, "%s q%u: %s: closing the vif", q->vif->name, q->cfg.idx, why);
	if (write(q->cfg.fatal_fd, &one, sizeof(one)) < 0)
		log_debug_errno(-errno, "%s: fatal eventfd", q->vif->name);
}

static void notify(struct vifq *q, int port)
{
	q->ops->evtchn_notify(q->ev, (evtchn_port_t)port);
	cnt_add(q, VQ_CNT_NOTIFY, 1);
}

/* ---------------------------------------------------------------- rate */

/*
 * The vif's credit, shared by its queues (xl's rate= is per vif): every
 * credit_usec the credit grows by credit_bytes, up to a burst that lets the
 * largest packet through (netback's tx_add_credit: max(credit_bytes,
 * 128 KiB)). True if len bytes may go now.
 */
static bool credit_take(struct vifq *q, uint32_t len)
{
	struct nb_vif *v = q->vif;
	uint64_t bytes = atomic_load_explicit(&v->credit_bytes, memory_order_relaxed);
	uint64_t now = wk_worker_now(q->w), next;
	int64_t max_burst, c;

	if (!bytes)
		return true;
	max_burst = (int64_t)(bytes > 131072 ? bytes : 131072);
	next = atomic_load(&v->next_refill_ns);
	if (now >= next) {
		uint64_t period = atomic_load(&v->credit_usec) * 1000;

		if (atomic_compare_exchange_strong(&v->next_refill_ns, &next, now + period)) {
			c = atomic_fetch_add(&v->credit, (int64_t)bytes) + (int64_t)bytes;
			if (c > max_burst)
				atomic_fetch_sub(&v->credit, c - max_burst);
		}
	}
	c = atomic_fetch_sub(&v->credit, (int64_t)len) - (int64_t)len;
	if (c >= 0)
		return true;
	atomic_fetch_add(&v->credit, (int64_t)len);
	return false;
}

/* ---------------------------------------------------------- anti-spoof */

static bool ip_allowed(const struct nb_vif *v, uint32_t ip)
{
	for (unsigned i = 0; i < v->nip; i++)
		if (v->ip[i] == ip)
			return true;
	return false;
}

/* True if the frame's source MAC (and IPv4 / ARP sender, when the vif has
 * addresses) is the vif's own. */
static bool source_ok(const struct nb_vif *v, const struct rte_mbuf *m)
{
	uint8_t buf[sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr)];
	const struct rte_ether_hdr *eh;
	const uint8_t *p;

	eh = rte_pktmbuf_read(m, 0, sizeof(*eh), buf);
	if (!eh || memcmp(eh->src_addr.addr_bytes, v->mac, 6))
		return false;
	if (!v->nip)
		return true;
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		p = rte_pktmbuf_read(m, sizeof(*eh), sizeof(struct rte_ipv4_hdr), buf);
		return p && ip_allowed(v, ((const struct rte_ipv4_hdr *)p)->src_addr);
	}
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		const struct rte_arp_hdr *a;

		p = rte_pktmbuf_read(m, sizeof(*eh), sizeof(struct rte_arp_hdr), buf);
		if (!p)
			return false;
		a = (const struct rte_arp_hdr *)p;
		return !memcmp(a->arp_data.arp_sha.addr_bytes, v->mac, 6) &&
		       ip_allowed(v, a->arp_data.arp_sip);
	}
	return true;
}

/* ---------------------------------------------------------- guest TX */

/* Builds an mbuf chain for pkt's non-empty fragments and its copy segments. */
static int tx_build(struct vifq *q, const struct nb_tx_pkt *pkt, struct tx_state *ts,
		    uint16_t *nseg)
{
	struct rte_mbuf *segs[NB_TX_MAX_FRAGS], *head, *prev = NULL;
	unsigned n = 0;

	for (unsigned i = 0; i < pkt->nfrags; i++)
		n += pkt->frag[i].size != 0;
	if (q->nstash < n) {
		/* TX_STASH >= NB_TX_MAX_FRAGS: room for any packet's missing ones. */
		unsigned need = n - q->nstash, want = TX_STASH - q->nstash;

		/* All or nothing, as the pool gives; a smaller bulk when short. */
		while (want >= need && rte_pktmbuf_alloc_bulk(nb_worker_pool(q->w),
							      q->stash + q->nstash, want) < 0)
			want /= 2;
		if (want < need)
			return -ENOBUFS;
		q->nstash += want;
	}
	q->nstash -= n;
	memcpy(segs, q->stash + q->nstash, n * sizeof(segs[0]));
	head = segs[0];
	ts->seg0 = *nseg;
	ts->nseg = 0;
	n = 0;
	for (unsigned i = 0; i < pkt->nfrags; i++) {
		const struct netif_tx_request *f = &pkt->frag[i];
		struct rte_mbuf *m;
		struct xen_copy_seg *s;

		if (!f->size)
			continue;
		m = segs[n++];
		m->data_len = f->size;
		s = &q->tx_seg[(*nseg)++];
		s->source.foreign.ref = f->gref;
		s->source.foreign.offset = f->offset;
		s->source.foreign.domid = q->vif->domid;
		s->dest.virt = rte_pktmbuf_mtod(m, void *);
		s->len = f->size;
		s->flags = GNTCOPY_source_gref;
		s->status = GNTST_okay;
		ts->nseg++;
		if (prev)
			prev->next = m;
		prev = m;
	}
	head->nb_segs = (uint16_t)n;
	head->pkt_len = pkt->len;
	head->port = q->vif->port.id;
	ts->m = head;
	return 0;
}

/* Parses and prepares up to TX_BATCH packets; returns how many and the
 * slots they use in *ret_used. */
static unsigned tx_take(struct vifq *q, unsigned ncopy, bool all_copied, unsigned *ret_used,
			uint16_t *ret_nseg)
{
	unsigned used = 0, npkt = 0;
	uint16_t nseg = 0;

	while (npkt < TX_BATCH && used < ncopy) {
		struct nb_tx_pkt *p = &q->pkt[npkt];
		struct tx_state *ts = &q->txs[npkt];
		const char *why = NULL;
		enum nb_tx_verdict v = nb_tx_parse(q->slots + used, ncopy - used, p, &why);

		if (v == NB_TX_INCOMPLETE) {
			if (all_copied)
				mark_broken(q, "a TX packet runs past the producer index");
			break;
		}
		if (v == NB_TX_FATAL) {
			mark_broken(q, why ? why : "bad TX request");
			break;
		}
		ts->m = NULL;
		ts->nseg = 0;
		if (v == NB_TX_DROP) {
			ts->act = TXA_ERROR;
			cnt_add(q, VQ_CNT_TX_DROP_PROTO, 1);
			log_rl(&q->rl, LOG_NOTICE, 0, "%s: TX packet dropped: %s", q->vif->name,
			       why ? why : "bad request");
		} else if (p->extras & ((1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD) |
					(1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL))) {
			ts->act = TXA_MCAST;
		} else {
			if (!credit_take(q, p->len)) {
				q->tx_throttled = true;
				cnt_add(q, VQ_CNT_TX_THROTTLED, 1);
				break;
			}
			if (tx_build(q, p, ts, &nseg) < 0) {
				atomic_fetch_add(&q->vif->credit, (int64_t)p->len);
				cnt_add(q, VQ_CNT_TX_NOBUF, 1);
				break;
			}
			ts->act = TXA_FRAME;
		}
		used += p->nslots;
		npkt++;
	}
	*ret_used = used;
	*ret_nseg = nseg;
	return npkt;
}

static void tx_copy(struct vifq *q, uint16_t nseg)
{
	int r;

	if (!nseg)
		return;
	r = q->ops->gnttab_copy(q->gt, nseg, q->tx_seg);
	cnt_add(q, VQ_CNT_COPY_CALLS, 1);
	cnt_add(q, VQ_CNT_COPY_SEGS, nseg);
	if (r < 0)
		for (uint16_t i = 0; i < nseg; i++)
			q->tx_seg[i].status = GNTST_general_error;
}

static int16_t tx_mcast(struct vifq *q, const struct nb_tx_pkt *p)
{
	struct nb_mcast *mc = &q->vif->st->mcast;
	int r = 0;

	cnt_add(q, VQ_CNT_TX_MCAST_OPS, 1);
	if (p->extras & (1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD))
		r = nb_mcast_add(mc, p->mcast_add);
	if (!r && (p->extras & (1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL)))
		nb_mcast_del(mc, p->mcast_del);
	return r < 0 ? NETIF_RSP_ERROR : NETIF_RSP_OKAY;
}

/* After the copy: the fate of a frame; true if it goes to the switch. */
static bool tx_finish_frame(struct vifq *q, const struct nb_tx_pkt *p, struct tx_state *ts,
			    int16_t *status)
{
	struct rte_mbuf *m = ts->m;

	for (uint16_t i = 0; i < ts->nseg; i++)
		if (q->tx_seg[ts->seg0 + i].status != GNTST_okay) {
			*status = NETIF_RSP_ERROR;
			cnt_add(q, VQ_CNT_TX_DROP_GRANT, 1);
			log_rl(&q->rl, LOG_NOTICE, 0, "%s: TX grant copy failed (status %d)",
			       q->vif->name, q->tx_seg[ts->seg0 + i].status);
			rte_pktmbuf_free(m);
			return false;
		}
	*status = NETIF_RSP_OKAY;
	if (q->vif->antispoof && !source_ok(q->vif, m)) {
		cnt_add(q, VQ_CNT_TX_DROP_SPOOF, 1);
		rte_pktmbuf_free(m);
		return false;
	}
	if (nb_offload_ingress(m, p->flags & NETTXF_csum_blank, p->flags & NETTXF_data_validated,
			       (p->extras & (1u << XEN_NETIF_EXTRA_TYPE_GSO)) ? p->gso_type : 0,
			       p->gso_size) < 0) {
		cnt_add(q, VQ_CNT_TX_DROP_OFFLOAD, 1);
		rte_pktmbuf_free(m);
		return false;
	}
	cnt_add(q, VQ_CNT_TX_PKTS, 1);
	cnt_add(q, VQ_CNT_TX_BYTES, p->len);
	return true;
}

/* The `used` requests of this pass (private copies in q->slots) into the
 * journal, before any of their slots takes a response (vif.h). */
static void journal_tx(struct vifq *q, unsigned used)
{
	struct nb_ring_journal_tx *j = &q->vif->st->txj[q->cfg.idx];

	j->n = 0;
	NB_JOURNAL_ORDER();
	j->start = q->tx.req_cons;
	for (unsigned i = 0; i < used && i < NB_JOURNAL_SLOTS; i++)
		j->e[i].req = q->slots[i].req;
	NB_JOURNAL_ORDER();
	j->n = used;
	NB_JOURNAL_ORDER();
}

/* Answers the packet's slots in ring order (only id and status written). */
static void tx_respond(struct vifq *q, const struct nb_tx_pkt *p, int16_t status)
{
	for (unsigned i = 0; i < p->nslots; i++) {
		struct netif_tx_response *rsp = RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt);

		rsp->id = p->rsp_id[i];
		rsp->status = p->rsp_null[i] ? NETIF_RSP_NULL : status;
		q->tx.rsp_prod_pvt++;
	}
}

static unsigned tx_pass(struct vifq *q)
{
	unsigned ncopy, used, npkt, nout = 0;
	uint16_t nseg;
	RING_IDX prod;
	int pending, ntfy;

	if (q->broken)
		return 0;
	pending = RING_BACK_PENDING(&q->tx, &prod);
	if (pending < 0) {
		mark_broken(q, "the TX producer index is more than a ring ahead");
		return 0;
	}
	q->tx_throttled = false;
	if (!pending)
		return 0;
	ncopy = (unsigned)pending < TX_COPY_SLOTS ? (unsigned)pending : TX_COPY_SLOTS;
	for (unsigned i = 0; i < ncopy; i++)
		RING_COPY_REQUEST(&q->tx, q->tx.req_cons + i, &q->slots[i].req);
	npkt = tx_take(q, ncopy, ncopy == (unsigned)pending, &used, &nseg);
	if (q->broken) {
		for (unsigned i = 0; i < npkt; i++)
			rte_pktmbuf_free(q->txs[i].m);
		return 0;
	}
	tx_copy(q, nseg);
	if (npkt)
		journal_tx(q, used);
	for (unsigned i = 0; i < npkt; i++) {
		struct tx_state *ts = &q->txs[i];
		int16_t status = NETIF_RSP_ERROR;

		if (ts->act == TXA_FRAME) {
			if (tx_finish_frame(q, &q->pkt[i], ts, &status))
				q->tx_out[nout++] = ts->m;
		} else if (ts->act == TXA_MCAST) {
			status = tx_mcast(q, &q->pkt[i]);
		}
		tx_respond(q, &q->pkt[i], status);
	}
	q->tx.req_cons += used;
	/*
	 * The frames go to the switch before the guest sees them answered:
	 * a guest that closes once all its frames are answered makes the
	 * loop thread take this vif's port out of the switch, and a frame
	 * switched after that would find no input port and vanish.
	 */
	if (nout) {
		struct nb_capture *cap = atomic_load_explicit(&q->vif->cap, memory_order_acquire);

		if (cap)
			nb_capture_pkts(cap, q->tx_out, (uint16_t)nout, false);
		nb_worker_switch(q->w, q->tx_out, (uint16_t)nout);
	}
	if (npkt) {
		cnt_add(q, VQ_CNT_BATCHES, 1);
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, ntfy);
		if (ntfy)
			notify(q, q->tx_port);
	}
	return npkt;
}

/* ---------------------------------------------------------- guest RX */

void vifq_deliver(struct vifq *q, struct wk_worker *from, struct rte_mbuf **pkts, uint16_t n)
{
	unsigned done = rte_ring_mp_enqueue_burst(q->inbox, (void **)pkts, n, NULL);
	struct wk_worker *owner;

	if (done < n) {
		cnt_add(q, VQ_CNT_RX_DROP_BACKLOG, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
	/*
	 * Wake the owner if it sleeps (nb_worker_kick looks, after a full
	 * fence, so it pairs with the owner's `sleeping` store before its
	 * last look at the inbox). Not only when the inbox was empty: the
	 * owner may empty it between such a test and this enqueue, then
	 * sleep. No owner yet: it looks at the inbox when it attaches.
	 */
	owner = atomic_load_explicit(&q->owner, memory_order_seq_cst);
	if (done && owner && owner != from)
		wk_worker_kick(owner);
}

/* Moves packets from the inbox to the pending list, with the guest's
 * offloads applied (which may segment a TSO frame into many). */
static void rx_refill(struct vifq *q)
{
	struct nb_offload_stats st = { 0 };

	while (q->rx_np < RX_BATCH) {
		struct rte_mbuf *in[RX_DEQ];
		unsigned n = rte_ring_sc_dequeue_burst(q->inbox, (void **)in, RX_DEQ, NULL);
		uint16_t got;

		if (!n)
			break;
		got = nb_offload_egress(nb_worker_offload(q->w), q->caps, in, (uint16_t)n,
					q->rx_pend + q->rx_np, (uint16_t)(RX_PENDING - q->rx_np), &st);
		q->rx_np += got;
	}
	if (st.drop_bad + st.drop_too_long + st.drop_nomem + st.drop_no_room)
		cnt_add(q, VQ_CNT_RX_DROP_OFFLOAD,
			st.drop_bad + st.drop_too_long + st.drop_nomem + st.drop_no_room);
}

static unsigned rx_data_slots(const struct vifq *q, const struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (!q->vif->sg)
		return len <= XEN_PAGE_SIZE ? 1 : 0;
	len = (len + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE;
	return len <= RX_MAX_DATA_SLOTS ? len : 0;
}

static bool rx_is_gso(const struct rte_mbuf *m)
{
	return m->ol_flags & RTE_MBUF_F_TX_TCP_SEG;
}

/* Adds the copy segments that fill `nslots` guest pages from m. */
static void rx_segments(struct vifq *q, struct rx_state *rs, const netif_rx_request_t *reqs,
			uint16_t *nseg)
{
	const struct rte_mbuf *seg = rs->m;
	uint32_t seg_off = 0;

	rs->seg0 = *nseg;
	rs->nseg = 0;
	for (uint16_t k = 0; k < rs->nslots; k++) {
		uint32_t room = XEN_PAGE_SIZE, off = 0;

		while (room && seg) {
			uint32_t avail = seg->data_len - seg_off, len = avail < room ? avail : room;
			struct xen_copy_seg *s;

			if (!len) {
				seg = seg->next;
				seg_off = 0;
				continue;
			}
			s = &q->rx_seg[(*nseg)++];
			s->source.virt = rte_pktmbuf_mtod_offset(seg, void *, seg_off);
			s->dest.foreign.ref = reqs[k].gref;
			s->dest.foreign.offset = (uint16_t)off;
			s->dest.foreign.domid = q->vif->domid;
			s->len = (uint16_t)len;
			s->flags = GNTCOPY_dest_gref;
			s->status = GNTST_okay;
			rs->nseg++;
			off += len;
			room -= len;
			seg_off += len;
		}
		rs->sizes[k] = (uint16_t)off;
	}
}

static uint16_t rx_flags(const struct rte_mbuf *m)
{
	if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK)
		return NETRXF_csum_blank | NETRXF_data_validated;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return NETRXF_data_validated;
	return 0;
}

/*
 * The extras of one frame: after its first data slot, each in the slot of
 * the request it used, in type order, XEN_NETIF_EXTRA_FLAG_MORE on all but
 * the last (netif.h; Linux rx.c xenvif_rx_extra_slot). Every byte set.
 * Returns the ring index after them.
 */
static RING_IDX rx_extras(struct vifq *q, const struct rx_state *rs, RING_IDX i)
{
	struct netif_extra_info *x;

	if (rs->gso) {
		x = (void *)RING_GET_RESPONSE(&q->rx, i++);
		memset(x, 0, sizeof(*x));
		x->type = XEN_NETIF_EXTRA_TYPE_GSO;
		x->flags = rs->hash ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
		x->u.gso.size = rs->m->tso_segsz;
		x->u.gso.type = (rs->m->ol_flags & RTE_MBUF_F_TX_IPV6) ?
					XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4;
	}
	if (rs->hash) {
		/* Only to a frontend that configured a hash (Linux: "make sure
		 * that hashes are not sent to unaware frontends"); the value
		 * little-endian ("LSB ---- value ---- MSB"). */
		x = (void *)RING_GET_RESPONSE(&q->rx, i++);
		memset(x, 0, sizeof(*x));
		x->type = XEN_NETIF_EXTRA_TYPE_HASH;
		x->u.hash.type = rs->hash_type;
		x->u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		for (int b = 0; b < 4; b++)
			x->u.hash.value[b] = (uint8_t)(rs->hash_value >> (8 * b));
	}
	return i;
}

static void rx_respond(struct vifq *q, const struct rx_state *rs, bool ok)
{
	RING_IDX i = rs->first;
	uint16_t base = rx_flags(rs->m) | (rs->gso || rs->hash ? NETRXF_extra_info : 0);

	for (uint16_t k = 0; k < rs->nslots; k++) {
		struct netif_rx_response *rsp = RING_GET_RESPONSE(&q->rx, i);

		rsp->id = rs->ids[k];
		rsp->offset = 0;
		rsp->flags = (k == 0 ? base : 0) | (k + 1 < rs->nslots ? NETRXF_more_data : 0);
		rsp->status = ok ? (int16_t)rs->sizes[k] : NETIF_RSP_ERROR;
		i++;
		if (k == 0)
			i = rx_extras(q, rs, i);
	}
	q->rx.rsp_prod_pvt = i;
}

/* Ring slots m takes: its data slots (0: too big) and its extras. */
static unsigned rx_need(struct vifq *q, struct rte_mbuf *m, struct rx_state *rs)
{
	unsigned data = rx_data_slots(q, m);

	rs->gso = rx_is_gso(m);
	rs->hash = nb_vif_hash(q->vif, m, &rs->hash_value, &rs->hash_type);
	return data ? data + rs->gso + rs->hash : 0;
}

static unsigned rx_pass(struct vifq *q)
{
	struct nb_ring_journal_rx *rxj;
	unsigned npkt = 0, taken = 0;
	uint16_t nseg = 0;
	RING_IDX prod;
	int avail, ntfy;

	if (q->broken)
		return 0;
	rx_refill(q);
	if (!q->rx_np)
		return 0;
	avail = RING_BACK_PENDING(&q->rx, &prod);
	if (avail < 0) {
		mark_broken(q, "the RX producer index is more than a ring ahead");
		return 0;
	}
	rxj = &q->vif->st->rxj[q->cfg.idx];
	rxj->n = 0;
	NB_JOURNAL_ORDER();
	rxj->start = q->rx.req_cons;
	while (taken < q->rx_np && npkt < RX_BATCH && nseg + RX_PKT_SEGS_MAX <= RX_SEGS) {
		struct rte_mbuf *m = q->rx_pend[taken];
		struct rx_state *rs = &q->rxs[npkt];
		netif_rx_request_t all[RX_MAX_DATA_SLOTS + RX_MAX_EXTRAS], reqs[RX_MAX_DATA_SLOTS];
		unsigned need = rx_need(q, m, rs), extras, j = 0;

		if (!need || m->nb_segs > 64) {
			cnt_add(q, VQ_CNT_RX_DROP_TOO_BIG, 1);
			rte_pktmbuf_free(m);
			taken++;
			continue;
		}
		if ((unsigned)avail < need)
			break;
		extras = (unsigned)rs->gso + rs->hash;
		rs->m = m;
		rs->first = q->rx.req_cons;
		rs->nslots = (uint16_t)(need - extras);
		for (unsigned k = 0; k < need; k++) {
			RING_COPY_REQUEST(&q->rx, q->rx.req_cons + k, &all[k]);
			rxj->e[(q->rx.req_cons + k - rxj->start) % NB_JOURNAL_SLOTS].req = all[k];
		}
		/* The extras' requests (after the first) give their slots, not buffers. */
		for (unsigned k = 0; k < need; k++) {
			if (k >= 1 && k <= extras)
				continue;
			reqs[j] = all[k];
			rs->ids[j++] = all[k].id;
		}
		rx_segments(q, rs, reqs, &nseg);
		q->rx.req_cons += need;
		avail -= (int)need;
		taken++;
		npkt++;
	}
	NB_JOURNAL_ORDER();
	rxj->n = q->rx.req_cons - rxj->start;
	NB_JOURNAL_ORDER();
	if (npkt) {
		struct nb_capture *cap = atomic_load_explicit(&q->vif->cap, memory_order_acquire);

		for (unsigned i = 0; cap && i < npkt; i++)
			nb_capture_pkts(cap, &q->rxs[i].m, 1, true);
	}
	if (nseg) {
		int r = q->ops->gnttab_copy(q->gt, nseg, q->rx_seg);

		cnt_add(q, VQ_CNT_COPY_CALLS, 1);
		cnt_add(q, VQ_CNT_COPY_SEGS, nseg);
		if (r < 0)
			for (uint16_t i = 0; i < nseg; i++)
				q->rx_seg[i].status = GNTST_general_error;
	}
	for (unsigned i = 0; i < npkt; i++) {
		struct rx_state *rs = &q->rxs[i];
		bool ok = true;

		for (uint16_t k = 0; k < rs->nseg; k++)
			ok &= q->rx_seg[rs->seg0 + k].status == GNTST_okay;
		rx_respond(q, rs, ok);
		if (ok) {
			cnt_add(q, VQ_CNT_RX_PKTS, 1);
			cnt_add(q, VQ_CNT_RX_BYTES, rte_pktmbuf_pkt_len(rs->m));
		} else {
			cnt_add(q, VQ_CNT_RX_DROP_GRANT, 1);
			log_rl(&q->rl, LOG_NOTICE, 0, "%s: RX grant copy failed", q->vif->name);
		}
		rte_pktmbuf_free(rs->m);
	}
	if (taken) {
		q->rx_np -= taken;
		memmove(q->rx_pend, q->rx_pend + taken, q->rx_np * sizeof(q->rx_pend[0]));
	}
	if (npkt) {
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, ntfy);
		if (ntfy)
			notify(q, q->rx_port);
	}
	return taken;
}

/* ---------------------------------------------------------- pollable */

static struct vifq *of(struct wk_pollable *p)
{
	return (struct vifq *)p;
}

static unsigned vq_poll(struct wk_pollable *p, struct wk_worker *w)
{
	struct vifq *q = of(p);

	(void)w;
	return tx_pass(q) + rx_pass(q);
}

/* RX slots the guest has posted past req_cons (0 when it lies). */
static unsigned rx_free(struct vifq *q)
{
	RING_IDX prod;
	int n = RING_BACK_PENDING(&q->rx, &prod);

	return n < 0 ? 0 : (unsigned)n;
}

static bool vq_arm(struct wk_pollable *p, struct wk_worker *w, uint64_t *wake_ns)
{
	struct vifq *q = of(p);
	int more = 0;

	(void)w;
	if (q->broken)
		return false;
	if (q->tx_throttled) {
		uint64_t t = atomic_load(&q->vif->next_refill_ns);

		if (t < *wake_ns)
			*wake_ns = t;
	} else {
		RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
		if (more)
			return true;
	}
	rx_refill(q);
	if (q->rx_np) {
		struct rx_state rs;
		unsigned need = rx_need(q, q->rx_pend[0], &rs);

		if (rx_free(q) >= need)
			return true;
		/* Ask the guest to notify once it has posted enough buffers
		 * (feature-rx-notify), then look again: it may have raced. */
		q->rx.sring->req_event = q->rx.req_cons + (need ? need : 1);
		xen_mb();
		return rx_free(q) >= need;
	}
	return false;
}

static int map_ring(struct vifq *q, grant_ref_t ref, void **ret)
{
	return q->ops->gnttab_map(q->gt, 1, q->vif->domid, &ref, 1, ret);
}

static int bind_port(struct vifq *q, evtchn_port_t remote)
{
	return q->ops->evtchn_bind_interdomain(q->ev, q->vif->domid, remote);
}

/*
 * A restarted daemon: serve again what the dead one took and never
 * visibly answered (vifq.h). The indices come from the shared page, so
 * they are checked like any frontend value.
 */
/*
 * The slots the dead daemon's last pass took may hold its responses
 * already, over the requests, without the guest told (rsp_prod not yet
 * moved): the journal has the requests as they were; they go back into the
 * ring before it is served again (nb_journal_slots says when).
 */
static int resume_tx(struct vifq *q)
{
	struct nb_ring_journal_tx *j = &q->vif->st->txj[q->cfg.idx];
	RING_IDX rsp = RING_READ_ONCE(q->tx.sring->rsp_prod);
	RING_IDX req = RING_READ_ONCE(q->tx.sring->req_prod);
	unsigned n;

	if ((RING_IDX)(req - rsp) > RING_SIZE(&q->tx))
		return -EBADMSG;
	BACK_RING_ATTACH(&q->tx, q->tx.sring, rsp, XEN_PAGE_SIZE);
	n = nb_journal_slots(j->start, j->n, NB_JOURNAL_SLOTS, rsp, req, RING_SIZE(&q->tx));
	for (unsigned i = 0; i < n; i++)
		*RING_GET_REQUEST(&q->tx, rsp + i) = j->e[i].req;
	if (n)
		cnt_add(q, VQ_CNT_RESTORED, n);
	cnt_add(q, VQ_CNT_REPLAYED, req - rsp);
	return 0;
}

static int resume_rx(struct vifq *q)
{
	struct nb_ring_journal_rx *j = &q->vif->st->rxj[q->cfg.idx];
	RING_IDX rsp = RING_READ_ONCE(q->rx.sring->rsp_prod);
	RING_IDX req = RING_READ_ONCE(q->rx.sring->req_prod);
	unsigned n;

	if ((RING_IDX)(req - rsp) > RING_SIZE(&q->rx))
		return -EBADMSG;
	BACK_RING_ATTACH(&q->rx, q->rx.sring, rsp, XEN_PAGE_SIZE);
	n = nb_journal_slots(j->start, j->n, NB_JOURNAL_SLOTS, rsp, req, RING_SIZE(&q->rx));
	for (unsigned i = 0; i < n; i++)
		*RING_GET_REQUEST(&q->rx, rsp + i) = j->e[i].req;
	if (n)
		cnt_add(q, VQ_CNT_RESTORED, n);
	return 0;
}

static void vq_detach(struct wk_pollable *p, struct wk_worker *w);

static int vq_attach(struct wk_pollable *p, struct wk_worker *w)
{
	struct vifq *q = of(p);
	int r;

	q->w = w;
	atomic_store(&q->owner, w);	/* before this worker's first look at the inbox */
	q->ops = nb_worker_ops(w);
	q->gt = nb_worker_gnttab(w);
	q->ev = nb_worker_evtchn(w);
	q->tx_port = q->rx_port = -1;
	r = map_ring(q, q->cfg.tx_ref, &q->tx_map);
	if (r < 0)
		goto err;
	r = map_ring(q, q->cfg.rx_ref, &q->rx_map);
	if (r < 0)
		goto err;
	BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_map, XEN_PAGE_SIZE);
	BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_map, XEN_PAGE_SIZE);
	if (q->cfg.reattach) {
		r = resume_tx(q);
		if (!r)
			r = resume_rx(q);
		if (r < 0)
			goto err;
	}
	r = bind_port(q, q->cfg.tx_remote);
	if (r < 0)
		goto err;
	q->tx_port = q->rx_port = r;
	if (q->cfg.rx_remote != q->cfg.tx_remote) {
		r = bind_port(q, q->cfg.rx_remote);
		if (r < 0)
			goto err;
		q->rx_port = r;
	}
	if (q->cfg.reattach) {
		/* One kick each way: the frontend looks at both rings again. */
		notify(q, q->tx_port);
		if (q->rx_port != q->tx_port)
			notify(q, q->rx_port);
	}
	return 0;
err:
	vq_detach(p, w);
	q->w = NULL;	/* not on any worker: nothing to detach later */
	atomic_store(&q->owner, NULL);
	return r;
}

static void vq_detach(struct wk_pollable *p, struct wk_worker *w)
{
	struct vifq *q = of(p);
	struct rte_mbuf *m;

	(void)w;
	if (q->rx_port >= 0 && q->rx_port != q->tx_port)
		q->ops->evtchn_unbind(q->ev, (evtchn_port_t)q->rx_port);
	if (q->tx_port >= 0)
		q->ops->evtchn_unbind(q->ev, (evtchn_port_t)q->tx_port);
	q->tx_port = q->rx_port = -1;
	if (q->tx_map)
		q->ops->gnttab_unmap(q->gt, q->tx_map, 1);
	if (q->rx_map)
		q->ops->gnttab_unmap(q->gt, q->rx_map, 1);
	q->tx_map = q->rx_map = NULL;
	rte_pktmbuf_free_bulk(q->rx_pend, q->rx_np);
	q->rx_np = 0;
	rte_pktmbuf_free_bulk(q->stash, q->nstash);
	q->nstash = 0;
	while (rte_ring_sc_dequeue(q->inbox, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

int vifq_new(const struct vifq_cfg *cfg, struct vifq **ret)
{
	struct vifq *q = calloc(1, sizeof(*q));
	char name[RTE_RING_NAMESIZE];
	static _Atomic unsigned seq;

	if (!q)
		return -ENOMEM;
	q->cfg = *cfg;
	q->vif = cfg->vif;
	q->tx_port = q->rx_port = -1;
	q->pl.poll = vq_poll;
	q->pl.arm = vq_arm;
	q->pl.attach = vq_attach;
	q->pl.detach = vq_detach;
	q->pl.fds[0] = -1;
	q->pl.fds[1] = -1;
	q->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5000, 5);
	q->caps = NB_CAP_MULTISEG | NB_CAP_PHDR_LINUX | (q->vif->csum4 ? NB_CAP_IPV4_CSUM : 0) |
		  (q->vif->csum6 ? NB_CAP_IPV6_CSUM : 0) |
		  (q->vif->sg && q->vif->gso4 && q->vif->csum4 ? NB_CAP_TSO4 : 0) |
		  (q->vif->sg && q->vif->gso6 && q->vif->csum6 ? NB_CAP_TSO6 : 0);
	snprintf(name, sizeof(name), "vifq%u", atomic_fetch_add(&seq, 1));
	q->inbox = rte_ring_create(name, cfg->backlog, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!q->inbox) {
		int r = -rte_errno;

		free(q);
		return r ? r : -ENOMEM;
	}
	*ret = q;
	return 0;
}

void vifq_free(struct vifq *q)
{
	if (!q)
		return;
	rte_ring_free(q->inbox);
	free(q);
}

struct wk_pollable *vifq_pollable(struct vifq *q)
{
	return &q->pl;
}

struct wk_worker *vifq_worker(const struct vifq *q)
{
	return q->w;
}

const char *vifq_broken(const struct vifq *q)
{
	return q->broken;
}

void vifq_counters(const struct vifq *q, uint64_t sum[VQ_CNT__MAX])
{
	for (int i = 0; i < VQ_CNT__MAX; i++)
		sum[i] += atomic_load_explicit(&q->cnt[i], memory_order_relaxed);
}

void vifq_describe(const struct vifq *q, FILE *out)
{
	const netif_tx_sring_t *ts = q->tx.sring;
	const netif_rx_sring_t *rs = q->rx.sring;

	if (!ts || !rs) {
		fprintf(out, "    q%u: not attached\n", q->cfg.idx);
		return;
	}
	/* Relaxed reads of live indices: a snapshot for a person. */
	fprintf(out, "    q%u: worker=%u tx-port=%d rx-port=%d tx: req_prod=%u req_cons=%u "
		     "rsp_prod=%u req_event=%u rsp_event=%u%s | rx: req_prod=%u req_cons=%u "
		     "rsp_prod=%u req_event=%u rsp_event=%u inbox=%u pending=%u | tx=%llu rx=%llu%s\n",
		q->cfg.idx, q->w ? wk_worker_index(q->w) : 0, q->tx_port, q->rx_port,
		RING_READ_ONCE(ts->req_prod), q->tx.req_cons, RING_READ_ONCE(ts->rsp_prod),
		RING_READ_ONCE(ts->req_event), RING_READ_ONCE(ts->rsp_event),
		q->tx_throttled ? " throttled" : "", RING_READ_ONCE(rs->req_prod), q->rx.req_cons,
		RING_READ_ONCE(rs->rsp_prod), RING_READ_ONCE(rs->req_event),
		RING_READ_ONCE(rs->rsp_event), rte_ring_count(q->inbox), q->rx_np,
		(unsigned long long)atomic_load(&q->cnt[VQ_CNT_TX_PKTS]),
		(unsigned long long)atomic_load(&q->cnt[VQ_CNT_RX_PKTS]), q->broken ? " broken" : "");
}
