// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront hostile scenarios: each sends one named malformed or abusive
 * pattern on queue 0 and reports what the backend answered: "dropped" (every
 * slot answered NETIF_RSP_ERROR or DROPPED), "closed" (the backend went
 * Closing/Closed, its `error` node in the detail), "ok" (answered OKAY, or
 * nothing went wrong), "timeout" (no answer within --timeout). After any
 * answer short of closing, one valid generator frame checks the vif still
 * carries traffic ("after"). The limits probed are xen/io/netif.h's:
 * XEN_NETIF_NR_SLOTS_MIN, offset + size <= page, the first slot's size is
 * the whole packet (>= ETH_HLEN for Linux netback), extra-info types below
 * XEN_NETIF_EXTRA_TYPE_MAX, a GSO size > 0, and ring.h's producer never more
 * than a ring ahead.
 *
 * Main thread only, before any worker runs; TX responses are read here
 * directly. Bounded: every wait is capped by --timeout, the storm by 3 s.
 */
#include <errno.h>
#include <string.h>

#include "hostile.h"

#define BAD_GREF 0x7ffffff0u
#define HOSTILE_ID0 128u	/* attack ids start here (check_after takes id 0) */
#define STORM_S 3

struct ctx {
	struct nf_dev *d;
	struct nf_queue *q;
	uint8_t *mem;			/* NF_HOSTILE_PAGES scratch pages, granted read-only */
	grant_ref_t refs[NF_HOSTILE_PAGES];
	struct nf_hostile_result *res;
};

#define set_answer(c, a, ...)                                                         \
	do {                                                                          \
		struct nf_hostile_result *r_ = (c)->res;                              \
		strncpy(r_->answer, (a), sizeof(r_->answer) - 1);                     \
		snprintf(r_->detail, sizeof(r_->detail), __VA_ARGS__);                \
	} while (0)

static void answer_closed(struct ctx *c)
{
	nf_read_be_error(c->d);
	set_answer(c, "closed", "backend state %d, error \"%.150s\"", nf_read_be_state(c->d),
		   c->d->backend_error);
}

/* Lays raw slots on the ring and turns what comes back into an answer. */
static void send_slots(struct ctx *c, const union nf_tx_slot *s, unsigned n, unsigned answers)
{
	int16_t st[32] = { 0 };
	unsigned bad = 0;
	int r;

	for (unsigned i = 0; i < n; i++)
		memcpy(RING_GET_REQUEST(&c->q->tx, c->q->tx.req_prod_pvt++), &s[i], sizeof(s[i]));
	r = nf_tx_collect(c->q, answers, st, NULL);
	if (r == -EPIPE) {
		answer_closed(c);
		return;
	}
	if (r <= 0) {
		set_answer(c, r ? "bad-ring" : "timeout", "not all of %u slots answered", answers);
		return;
	}
	for (unsigned i = 0; i < answers; i++)
		bad += st[i] == NETIF_RSP_ERROR || st[i] == NETIF_RSP_DROPPED;
	if (bad == answers)
		set_answer(c, "dropped", "%u slots answered %d", answers, st[0]);
	else
		set_answer(c, bad ? "mixed" : "ok", "%u of %u slots answered with an error", bad,
			   answers);
}

static union nf_tx_slot req(struct ctx *c, unsigned page, uint16_t off, uint16_t size,
			    uint16_t flags, uint16_t id)
{
	return (union nf_tx_slot){ .req = { .gref = c->refs[page % NF_HOSTILE_PAGES],
					    .offset = off, .size = size, .flags = flags,
					    .id = (uint16_t)((HOSTILE_ID0 + id) % NF_RING_SIZE) } };
}

static void h_too_many_slots(struct ctx *c)
{
	union nf_tx_slot s[25];

	for (unsigned i = 0; i < 25; i++)
		s[i] = req(c, i, 0, 64, i < 24 ? NETTXF_more_data : 0, (uint16_t)i);
	s[0].req.size = 25 * 64;
	send_slots(c, s, 25, 25);
}

static void h_cross_page(struct ctx *c)
{
	union nf_tx_slot s = req(c, 0, 4000, 200, 0, 0);

	send_slots(c, &s, 1, 1);
}

static void h_first_smaller(struct ctx *c)
{
	union nf_tx_slot s[2] = { req(c, 0, 0, 100, NETTXF_more_data, 0), req(c, 1, 0, 200, 0, 1) };

	send_slots(c, s, 2, 2);
}

static void h_runt(struct ctx *c)
{
	union nf_tx_slot s = req(c, 0, 0, 10, 0, 0);

	send_slots(c, &s, 1, 1);
}

static union nf_tx_slot extra(uint8_t type, uint8_t flags, uint16_t gso_size)
{
	union nf_tx_slot x;

	memset(&x, 0, sizeof(x));
	x.extra.type = type;
	x.extra.flags = flags;
	x.extra.u.gso.size = gso_size;
	x.extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	return x;
}

static void h_extra_bad_type(struct ctx *c)
{
	union nf_tx_slot s[2] = { req(c, 0, 0, 100, NETTXF_extra_info, 0),
				  extra(XEN_NETIF_EXTRA_TYPE_MAX, 0, 1448) };

	send_slots(c, s, 2, 1);
}

static void h_extra_more_runs_off(struct ctx *c)
{
	union nf_tx_slot s[2] = { req(c, 0, 0, 100, NETTXF_extra_info, 0),
				  extra(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE, 1448) };

	send_slots(c, s, 2, 1);
}

static void h_gso_zero_size(struct ctx *c)
{
	union nf_tx_slot s[2] = { req(c, 0, 0, 1000, NETTXF_extra_info | NETTXF_csum_blank, 0),
				  extra(XEN_NETIF_EXTRA_TYPE_GSO, 0, 0) };

	send_slots(c, s, 2, 1);
}

static void h_bad_gref(struct ctx *c)
{
	union nf_tx_slot s = req(c, 0, 0, 100, 0, 0);

	s.req.gref = BAD_GREF;
	send_slots(c, &s, 1, 1);
}

/* Valid slot published, then rewritten: the backend must have copied it once. */
static void h_tx_after_post(struct ctx *c)
{
	union nf_tx_slot s = req(c, 0, 0, 100, 0, 0);
	struct netif_tx_request *slot = RING_GET_REQUEST(&c->q->tx, c->q->tx.req_prod_pvt);
	int16_t st = 0;
	int r;

	nf_gen_build(c->mem, 100, (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		     c->d->mac, 0, 0);
	memcpy(slot, &s, sizeof(s));
	c->q->tx.req_prod_pvt++;
	nf_tx_push(c->q);
	nf_notify_tx(c->q);
	for (int i = 0; i < 100000; i++) {
		slot->size = (uint16_t)(i & 1 ? 65535 : 100);
		slot->offset = (uint16_t)(i & 1 ? 4095 : 0);
	}
	slot->size = 100;
	slot->offset = 0;
	r = nf_tx_collect(c->q, 1, &st, NULL);
	if (r == -EPIPE) {
		answer_closed(c);
		return;
	}
	if (r <= 0) {
		set_answer(c, "timeout", "no answer");
		return;
	}
	set_answer(c, st == NETIF_RSP_OKAY ? "ok" : "dropped", "status %d", st);
}

static void h_prod_jump(struct ctx *c)
{
	struct nf_queue *q = c->q;
	uint64_t end = nf_now_ns() + (uint64_t)c->d->o.timeout_s * 1000000000u;

	/* More than a ring's worth "posted" at once (RING_REQUEST_PROD_OVERFLOW). */
	q->tx.sring->req_prod = q->tx.req_prod_pvt + NF_RING_SIZE + 7;
	nf_notify_tx(q);
	while (!nf_be_gone(c->d) && nf_now_ns() < end)
		nf_wait_events(c->q, 100);
	if (nf_be_gone(c->d))
		answer_closed(c);
	else
		set_answer(c, "ok", "still Connected after %u s", c->d->o.timeout_s);
	q->tx.sring->req_prod = q->tx.req_prod_pvt;
}

/* One RX request with a grant never given; wait for what the backend makes of it. */
static void h_rx_bad_gref(struct ctx *c)
{
	struct nf_queue *q = c->q;
	uint64_t end = nf_now_ns() + (uint64_t)c->d->o.timeout_s * 1000000000u;
	struct netif_rx_request *r = RING_GET_REQUEST(&q->rx, q->rx.req_prod_pvt);
	int notify;

	r->id = (uint16_t)(q->rx.req_prod_pvt & (NF_RING_SIZE - 1));
	r->gref = BAD_GREF;
	q->rx.req_prod_pvt++;
	/* Notified whatever req_event says: the backend must look now. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
	(void)notify;
	nf_notify_rx(q);
	while (nf_now_ns() < end) {
		RING_IDX prod;

		if (RING_FRONT_PENDING(&q->rx, &prod) > 0) {
			struct netif_rx_response rsp;

			RING_COPY_RESPONSE(&q->rx, q->rx.rsp_cons, &rsp);
			q->rx.rsp_cons++;
			set_answer(c, rsp.status < 0 ? "dropped" : "ok", "RX status %d",
				   rsp.status);
			return;
		}
		if (nf_be_gone(c->d)) {
			answer_closed(c);
			return;
		}
		if (!nf_final_check(q))
			nf_wait_events(c->q, 100);
	}
	set_answer(c, "timeout", "no RX response in %u s (nothing sent to us?)",
		   c->d->o.timeout_s);
}

static void h_event_storm(struct ctx *c)
{
	uint64_t end = nf_now_ns() + STORM_S * 1000000000ull, n = 0;

	while (nf_now_ns() < end) {
		for (int i = 0; i < 1000; i++, n++) {
			nf_notify_tx(c->q);
			nf_notify_rx(c->q);
		}
		nf_take_event(c->q);
	}
	if (nf_be_gone(c->d)) {
		answer_closed(c);
		return;
	}
	set_answer(c, "ok", "%llu notifications in %d s, still Connected",
		   (unsigned long long)n * 2, STORM_S);
}

/*
 * TX slots with a grant never given, a batch at a time for 3 s: thousands
 * of bad requests, each only hurting its own frame (every one must be
 * answered with an error, the vif must stay up, and the backend's log of
 * them must be rate-limited).
 */
static void h_bad_gref_storm(struct ctx *c)
{
	enum { BATCH = 32 };
	uint64_t end = nf_now_ns() + STORM_S * 1000000000ull, n = 0, bad = 0;
	union nf_tx_slot s[BATCH];
	int16_t st[BATCH];
	int r;

	while (nf_now_ns() < end) {
		for (unsigned i = 0; i < BATCH; i++) {
			s[i] = req(c, 0, 0, 100, 0, (uint16_t)i);
			s[i].req.gref = BAD_GREF;
			memcpy(RING_GET_REQUEST(&c->q->tx, c->q->tx.req_prod_pvt++), &s[i],
			       sizeof(s[i]));
		}
		r = nf_tx_collect(c->q, BATCH, st, NULL);
		if (r == -EPIPE) {
			answer_closed(c);
			return;
		}
		if (r <= 0) {
			set_answer(c, r ? "bad-ring" : "timeout", "after %llu slots, a batch of %u "
				   "was not answered", (unsigned long long)n, BATCH);
			return;
		}
		for (unsigned i = 0; i < BATCH; i++)
			bad += st[i] == NETIF_RSP_ERROR || st[i] == NETIF_RSP_DROPPED;
		n += BATCH;
	}
	set_answer(c, bad == n ? "dropped" : bad ? "mixed" : "ok",
		   "%llu of %llu bad-grant slots in %d s answered with an error",
		   (unsigned long long)bad, (unsigned long long)n, STORM_S);
}

static void h_stop_rx(struct ctx *c)
{
	uint64_t end = nf_now_ns() + (uint64_t)c->d->o.timeout_s * 1000000000u;
	uint8_t f[128];
	int16_t st = 0;

	/*
	 * One broadcast frame first, as a guest that ran before it stalled has
	 * sent: a switch learns our MAC, so what others send to it comes to
	 * this vif alone (not flooded to everyone).
	 */
	nf_gen_build(f, sizeof(f), (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		     c->d->mac, 0, 0);
	if (nf_tx_frame(c->q, f, sizeof(f), &(struct nf_tx_meta){ 0 }) > 0 &&
	    nf_tx_collect(c->q, 1, &st, NULL) == -EPIPE) {
		answer_closed(c);
		return;
	}
	/* Nothing posted, nothing consumed: whatever others send piles up at the backend. */
	while (nf_now_ns() < end && !nf_be_gone(c->d))
		nf_wait_events(c->q, 200);
	if (nf_be_gone(c->d)) {
		answer_closed(c);
		return;
	}
	set_answer(c, "ok", "no RX buffers for %u s, still Connected", c->d->o.timeout_s);
}

static const struct nf_hostile {
	const char *name, *what;
	void (*fn)(struct ctx *c);
} scenarios[] = {
	{ "too-many-slots", "a more_data chain of 25 fragments (> XEN_NETIF_NR_SLOTS_MIN)",
	  h_too_many_slots },
	{ "cross-page", "a slot with offset + size > 4096", h_cross_page },
	{ "first-smaller", "first slot's size smaller than the rest together", h_first_smaller },
	{ "runt", "a 10-byte frame (< ETH_HLEN)", h_runt },
	{ "extra-bad-type", "an extra-info of type XEN_NETIF_EXTRA_TYPE_MAX", h_extra_bad_type },
	{ "extra-more-runs-off", "EXTRA_FLAG_MORE with no slot after it", h_extra_more_runs_off },
	{ "gso-zero-size", "a GSO extra with size 0", h_gso_zero_size },
	{ "bad-gref", "a TX slot with a grant never given", h_bad_gref },
	{ "prod-jump", "req_prod more than a ring ahead", h_prod_jump },
	{ "rx-bad-gref", "an RX request with a grant never given", h_rx_bad_gref },
	{ "event-storm", "notify both channels in a tight loop for 3 s", h_event_storm },
	{ "bad-gref-storm", "TX slots with a grant never given, batches for 3 s", h_bad_gref_storm },
	{ "stop-rx", "send one frame, then post no RX buffers for --timeout s", h_stop_rx },
	{ "tx-after-post", "rewrite a slot after req_prod is published", h_tx_after_post },
};

void nf_hostile_list(FILE *f)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-20s %s\n", scenarios[i].name, scenarios[i].what);
}

/* One valid generator frame on queue 0: does the vif still carry traffic? */
static void check_after(struct ctx *c)
{
	uint8_t f[128];
	int16_t st = 0;
	int r;

	if (!strcmp(c->res->answer, "closed") || nf_be_gone(c->d)) {
		snprintf(c->res->after, sizeof(c->res->after), "not-checked");
		return;
	}
	/* Answers the attack still owes arrive first; drop them. */
	c->q->tx.rsp_cons = c->q->tx.sring->rsp_prod;
	c->q->tx.req_prod_pvt = c->q->tx.sring->req_prod;
	nf_gen_build(f, sizeof(f), (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		     c->d->mac, 0, 0);
	if (nf_tx_frame(c->q, f, sizeof(f), &(struct nf_tx_meta){ 0 }) <= 0) {
		snprintf(c->res->after, sizeof(c->res->after), "ring-full");
		return;
	}
	r = nf_tx_collect(c->q, 1, &st, NULL);
	snprintf(c->res->after, sizeof(c->res->after), "%s",
		 r == -EPIPE ? "not-checked" : r <= 0 ? "no-answer" :
		 st == NETIF_RSP_OKAY ? "ok" : "error");
}

int nf_hostile_run(struct nf_dev *d, const char *name, struct nf_hostile_result *res)
{
	const struct nf_hostile *h = NULL;
	struct ctx c = { .d = d, .q = &d->q[0], .res = res };
	void *mem;
	int r;

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			h = &scenarios[i];
	if (!h)
		return -ENOENT;
	memset(res, 0, sizeof(*res));
	r = d->ops->gntshr_share(c.q->gntshr, d->backend_id, NF_HOSTILE_PAGES, 0, c.refs, &mem);
	if (r < 0)
		return r;
	c.mem = mem;
	for (unsigned i = 0; i < NF_HOSTILE_PAGES; i++)
		nf_gen_build(c.mem + i * XEN_PAGE_SIZE, XEN_PAGE_SIZE,
			     (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, d->mac, 0, i);
	/* A frontend keeps RX buffers posted, except where the attack is about RX. */
	if (h->fn != h_stop_rx && h->fn != h_rx_bad_gref)
		nf_rx_refill(c.q);
	h->fn(&c);
	check_after(&c);
	d->ops->gntshr_unshare(c.q->gntshr, mem, NF_HOSTILE_PAGES);
	return 0;
}
