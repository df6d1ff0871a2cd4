// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront queue: one queue's TX and RX rings, its event channel(s) and its
 * granted buffer pages, and the ring operations the workers, the TAP bridge
 * and the hostile scenarios build on.
 *
 * TX: frames are copied into pages granted once per connection (read-only
 * to the backend), packed at NF_TX_ALIGN boundaries; each data slot in
 * flight holds one request id and one use of its page, and a page returns
 * to the free list when its last slot is answered (as Linux xen-netfront's
 * xennet_tx_buf_gc ends grants per answered slot). RX: rx_bufs pages
 * granted writable once; each posted request holds one, its id is its ring
 * slot (responses sit in their request's slot, netif.h), and the page is
 * reposted as soon as the reassembler copied it out (xennet_alloc_rx_buffers
 * keeps the ring full the same way).
 *
 * Setup and teardown run on the main thread; everything else on the one
 * thread that owns the queue (the main thread, for its own exchanges before
 * any worker starts or after they all stopped). Never blocks, never allocates after setup.
 * Responses are copied off the ring once (RING_COPY_RESPONSE) and checked;
 * a backend that claims more responses than requests fails the queue.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netfront.h"

void nf_qfail(struct nf_queue *q, int r, const char *fmt, ...)
{
	va_list ap;

	if (q->fail)
		return;
	q->fail = r ? r : -EIO;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
}

static int share(struct nf_dev *d, struct nf_queue *q, unsigned n, int writable,
		 grant_ref_t *refs, void **mem)
{
	int r = d->ops->gntshr_share(q->gntshr, d->backend_id, n, writable, refs, mem);

	if (r < 0)
		*mem = NULL;
	return r;
}

static void pool_init(struct nf_queue *q)
{
	struct nf_txpool *p = &q->pool;

	p->nfree = 0;
	for (unsigned i = p->npages; i-- > 0;) {
		p->users[i] = 0;
		p->free[p->nfree++] = (uint16_t)i;
	}
	p->cur = -1;
	p->cur_off = XEN_PAGE_SIZE;
	q->nid_free = 0;
	for (unsigned i = NF_RING_SIZE; i-- > 0;) {
		q->id_free[q->nid_free++] = (uint16_t)i;
		q->id_page[i] = -1;
	}
	q->rx_nfree = 0;
	for (unsigned i = q->rx_bufs; i-- > 0;)
		q->rx_free[q->rx_nfree++] = (uint16_t)i;
}

static int bind_ports(struct nf_dev *d, struct nf_queue *q)
{
	int r = d->ops->evtchn_open(&q->evtchn);

	if (r < 0)
		return r;
	r = d->ops->evtchn_bind_unbound(q->evtchn, d->backend_id);
	if (r < 0)
		return r;
	q->port_tx = q->port_rx = r;
	if (!d->split)
		return 0;
	r = d->ops->evtchn_bind_unbound(q->evtchn, d->backend_id);
	if (r < 0)
		return r;
	q->port_rx = r;
	return 0;
}

int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, unsigned idx)
{
	int r;

	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->idx = idx;
	q->port_tx = q->port_rx = -1;
	q->tap_fd = -1;
	q->pool.npages = d->tx_pages;
	q->rx_bufs = d->rx_bufs;
	q->rx_pkt = malloc(sizeof(struct virtio_net_hdr) + NF_RX_BUF_MAX);
	if (!q->rx_pkt)
		return -ENOMEM;
	nf_rx_asm_init(&q->rxa, q->rx_pkt + sizeof(struct virtio_net_hdr));
	r = d->ops->gntshr_open(&q->gntshr);
	if (r < 0)
		return r;
	r = share(d, q, 1, 1, &q->tx_ref, &q->tx_sring);
	if (!r)
		r = share(d, q, 1, 1, &q->rx_ref, &q->rx_sring);
	/* TX data is only read by the backend: grant it read-only. */
	if (!r)
		r = share(d, q, q->pool.npages, 0, q->pool.refs, (void **)&q->pool.mem);
	if (!r)
		r = share(d, q, q->rx_bufs, 1, q->rx_refs, (void **)&q->rx_mem);
	if (r < 0)
		return r;
	SHARED_RING_INIT((netif_tx_sring_t *)q->tx_sring);
	FRONT_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_sring, XEN_PAGE_SIZE);
	SHARED_RING_INIT((netif_rx_sring_t *)q->rx_sring);
	FRONT_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_sring, XEN_PAGE_SIZE);
	pool_init(q);
	r = bind_ports(d, q);
	if (r < 0)
		return r;
	q->up = true;
	return 0;
}

void nf_queue_free(struct nf_dev *d, struct nf_queue *q)
{
	const struct xen_ops *ops = d->ops;

	if (q->evtchn) {
		if (q->port_rx >= 0 && q->port_rx != q->port_tx)
			ops->evtchn_unbind(q->evtchn, (evtchn_port_t)q->port_rx);
		if (q->port_tx >= 0)
			ops->evtchn_unbind(q->evtchn, (evtchn_port_t)q->port_tx);
		ops->evtchn_close(q->evtchn);
	}
	if (q->tx_sring)
		ops->gntshr_unshare(q->gntshr, q->tx_sring, 1);
	if (q->rx_sring)
		ops->gntshr_unshare(q->gntshr, q->rx_sring, 1);
	if (q->pool.mem)
		ops->gntshr_unshare(q->gntshr, q->pool.mem, q->pool.npages);
	if (q->rx_mem)
		ops->gntshr_unshare(q->gntshr, q->rx_mem, q->rx_bufs);
	ops->gntshr_close(q->gntshr);
	if (q->tap_fd >= 0)
		close(q->tap_fd);
	free(q->rx_pkt);
	memset(q, 0, sizeof(*q));
	q->port_tx = q->port_rx = q->tap_fd = -1;
}

/* ---- notifications ---- */

void nf_notify_tx(struct nf_queue *q)
{
	q->dev->ops->evtchn_notify(q->evtchn, (evtchn_port_t)q->port_tx);
	q->cnt.notify++;
}

void nf_notify_rx(struct nf_queue *q)
{
	q->dev->ops->evtchn_notify(q->evtchn, (evtchn_port_t)q->port_rx);
	q->cnt.notify++;
}

bool nf_take_event(struct nf_queue *q)
{
	const struct xen_ops *ops = q->dev->ops;
	bool any = false;
	int port;

	/* At most two ports are bound; each stays masked until unmasked. */
	for (int i = 0; i < 2 && (port = ops->evtchn_pending(q->evtchn)) >= 0; i++) {
		ops->evtchn_unmask(q->evtchn, (evtchn_port_t)port);
		q->cnt.events++;
		any = true;
	}
	return any;
}

bool nf_final_check(struct nf_queue *q)
{
	int tx_more, rx_more;

	/* Sets rsp_event = rsp_cons + 1, then re-reads rsp_prod (full barrier between). */
	RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, tx_more);
	RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, rx_more);
	return tx_more || rx_more;
}

/* ---- TX ---- */

unsigned nf_tx_ring_free(struct nf_queue *q)
{
	return (unsigned)(RING_SIZE(&q->tx) - (q->tx.req_prod_pvt - q->tx.rsp_cons));
}

unsigned nf_tx_inflight(struct nf_queue *q)
{
	return (unsigned)(q->tx.req_prod_pvt - q->tx.rsp_cons);
}

/*
 * Pages for frags: page 0 is the current page, the rest come off the free
 * list. Each frag takes one use of its page here, before the current page
 * is left, so a page still holding this frame's first frag is never freed.
 */
static bool take_pages(struct nf_queue *q, const struct nf_frag *f, unsigned n, int *pages)
{
	struct nf_txpool *p = &q->pool;
	unsigned fresh = f[n - 1].page;

	if (fresh > p->nfree || n > q->nid_free)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (f[i].page) {
			/* Leaving the current page: free again once its slots are answered. */
			if (p->cur >= 0 && !p->users[p->cur])
				p->free[p->nfree++] = (uint16_t)p->cur;
			p->cur = p->free[--p->nfree];
		}
		pages[i] = p->cur;
		p->users[p->cur]++;
	}
	p->cur_off = (f[n - 1].off + f[n - 1].len + NF_TX_ALIGN - 1) & ~(NF_TX_ALIGN - 1);
	return true;
}

int nf_tx_frame(struct nf_queue *q, const uint8_t *frame, uint32_t len, const struct nf_tx_meta *m)
{
	struct nf_frag f[NF_MAX_TX_FRAGS];
	union nf_tx_slot s[NF_MAX_TX_FRAGS + 1];
	grant_ref_t grefs[NF_MAX_TX_FRAGS];
	uint16_t ids[NF_MAX_TX_FRAGS];
	int pages[NF_MAX_TX_FRAGS];
	unsigned nslots, done = 0;
	int n = nf_tx_split(len, q->pool.cur >= 0 ? q->pool.cur_off : XEN_PAGE_SIZE,
			    q->dev->tx_sg, f);

	if (n < 0)
		return n;
	if (nf_tx_ring_free(q) < (unsigned)n + 1 || !take_pages(q, f, (unsigned)n, pages))
		return 0;
	for (int i = 0; i < n; i++) {
		uint16_t id = q->id_free[--q->nid_free];

		memcpy(q->pool.mem + (size_t)pages[i] * XEN_PAGE_SIZE + f[i].off, frame + done,
		       f[i].len);
		done += f[i].len;
		q->id_page[id] = (int16_t)pages[i];
		ids[i] = id;
		grefs[i] = q->pool.refs[pages[i]];
	}
	nslots = nf_tx_layout(len, m, f, (unsigned)n, grefs, ids, s);
	for (unsigned i = 0; i < nslots; i++)
		memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt + i), &s[i], sizeof(s[i]));
	q->tx.req_prod_pvt += nslots;
	q->cnt.tx_frames++;
	q->cnt.tx_bytes += len;
	q->cnt.tx_slots += nslots;
	return 1;
}

void nf_tx_push(struct nf_queue *q)
{
	int notify;

	/* Write barrier before req_prod, full barrier before reading req_event. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
	if (notify)
		nf_notify_tx(q);
}

static void tx_release(struct nf_queue *q, uint16_t id)
{
	struct nf_txpool *p = &q->pool;
	int page = q->id_page[id];

	q->id_page[id] = -1;
	q->id_free[q->nid_free++] = id;
	if (--p->users[page] == 0 && page != p->cur)
		p->free[p->nfree++] = (uint16_t)page;
}

static void tx_response(struct nf_queue *q, const struct netif_tx_response *rsp)
{
	/* An extra-info slot's answer: no id (xennet_tx_buf_gc skips it). */
	if (rsp->status == NETIF_RSP_NULL)
		return;
	if (rsp->id >= NF_RING_SIZE || q->id_page[rsp->id] < 0) {
		q->cnt.tx_bad_rsp++;
		return;
	}
	tx_release(q, rsp->id);
	if (rsp->status == NETIF_RSP_ERROR || rsp->status == NETIF_RSP_DROPPED)
		q->cnt.tx_errors++;
	else if (rsp->status != NETIF_RSP_OKAY)
		q->cnt.tx_bad_rsp++;
}

int nf_tx_reap(struct nf_queue *q)
{
	RING_IDX prod;
	int n = RING_FRONT_PENDING(&q->tx, &prod);

	if (n < 0 || (unsigned)n > nf_tx_inflight(q)) {
		nf_qfail(q, -EPROTO, "TX: the backend produced more responses than requests");
		return -EPROTO;
	}
	for (; q->tx.rsp_cons != prod; q->tx.rsp_cons++) {
		struct netif_tx_response rsp;

		RING_COPY_RESPONSE(&q->tx, q->tx.rsp_cons, &rsp);
		tx_response(q, &rsp);
	}
	return n;
}

/* ---- the main thread's own exchanges (hostile scenarios, multicast control) ---- */

void nf_wait_events(struct nf_queue *q, int ms)
{
	struct pollfd p[2] = {
		{ .fd = q->dev->ops->evtchn_fd(q->evtchn), .events = POLLIN },
		{ .fd = nf_dev_xs_fd(q->dev), .events = POLLIN },
	};

	poll(p, 2, ms);
	nf_take_event(q);
}

int nf_tx_collect(struct nf_queue *q, unsigned want, int16_t *st, uint16_t *ids)
{
	uint64_t end = nf_now_ns() + (uint64_t)q->dev->o.timeout_s * 1000000000u;
	unsigned got = 0;

	nf_tx_push(q);
	nf_notify_tx(q);
	while (got < want) {
		RING_IDX prod;
		int n = RING_FRONT_PENDING(&q->tx, &prod);

		if (n < 0)
			return -EPROTO;
		for (; q->tx.rsp_cons != prod; q->tx.rsp_cons++) {
			struct netif_tx_response r;

			RING_COPY_RESPONSE(&q->tx, q->tx.rsp_cons, &r);
			if (r.status == NETIF_RSP_NULL || got >= want)
				continue;
			if (ids)
				ids[got] = r.id;
			st[got++] = r.status;
		}
		if (got == want)
			break;
		if (nf_be_gone(q->dev))
			return -EPIPE;
		if (nf_now_ns() > end)
			return 0;
		if (!nf_final_check(q))
			nf_wait_events(q, 100);
	}
	return 1;
}

/* ---- RX ---- */

void nf_rx_refill(struct nf_queue *q)
{
	unsigned posted = 0;
	int notify;

	if (q->rx_paused)
		return;
	while (q->rx_nfree && q->rx.req_prod_pvt - q->rx.rsp_cons < RING_SIZE(&q->rx)) {
		RING_IDX i = q->rx.req_prod_pvt++;
		uint16_t slot = (uint16_t)(i & (RING_SIZE(&q->rx) - 1));
		uint16_t b = q->rx_free[--q->rx_nfree];
		struct netif_rx_request *req = RING_GET_REQUEST(&q->rx, i);

		q->slot_buf[slot] = b;
		req->id = slot;
		req->gref = q->rx_refs[b];
		posted++;
	}
	if (!posted)
		return;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
	if (notify)
		nf_notify_rx(q);
}

int nf_rx_poll(struct nf_queue *q, nf_rx_fn fn, void *arg)
{
	RING_IDX prod;
	int n = RING_FRONT_PENDING(&q->rx, &prod), pkts = 0;

	if (n < 0 || (unsigned)n > q->rx.req_prod_pvt - q->rx.rsp_cons) {
		nf_qfail(q, -EPROTO, "RX: the backend produced more responses than requests");
		return -EPROTO;
	}
	for (; q->rx.rsp_cons != prod; q->rx.rsp_cons++) {
		uint16_t slot = (uint16_t)(q->rx.rsp_cons & (RING_SIZE(&q->rx) - 1));
		uint16_t b = q->slot_buf[slot];
		struct netif_rx_response rsp;
		struct nf_rx_pkt p;

		RING_COPY_RESPONSE(&q->rx, q->rx.rsp_cons, &rsp);
		q->cnt.rx_slots++;
		switch (nf_rx_feed(&q->rxa, &rsp, slot, q->rx_mem + (size_t)b * XEN_PAGE_SIZE, &p)) {
		case NF_RX_PKT:
			q->cnt.rx_frames++;
			q->cnt.rx_bytes += p.len;
			pkts++;
			fn(q, &p, q->rxa.buf, arg);
			break;
		case NF_RX_BAD:
			q->cnt.rx_errors++;
			if (q->dev->o.verbose && q->cnt.rx_errors <= 5)
				fprintf(stderr, "netfront: queue %u: bad RX packet: %s\n", q->idx,
					q->rxa.why);
			break;
		default:
			break;
		}
		/* The data was copied out: the page can be posted again. */
		q->rx_free[q->rx_nfree++] = b;
	}
	return pkts;
}
