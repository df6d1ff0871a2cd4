// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront hostile scenarios: each one sends one named malformed or abusive
 * pattern on queue 0 and reports what the backend answered (a response
 * status, the device closed with its error node, or nothing). After any
 * answer short of closing, one valid read checks that the ring still works.
 * The limits being probed are those of xen/include/public/io/blkif.h:
 * BLKIF_MAX_SEGMENTS_PER_REQUEST, first_sect <= last_sect < sectors per page,
 * BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, feature-max-indirect-segments, and the
 * producer index of xen/io/ring.h never more than a ring ahead.
 *
 * Main thread only, no worker running. Bounded: every wait is capped by the
 * --timeout option, and the storm has a fixed size.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "checks.h"
#include "hostile.h"
#include "load.h"

#define BAD_GREF 0x7ffffff0u
#define STORM_REQUESTS 20000u
#define STORM_NOTIFIES 20000u

struct ctx {
	struct bf_dev *d;
	struct bf_queue *q;
	struct bf_sbuf b;
	struct bf_hostile_result *res;
};

static void set_answer(struct ctx *c, const char *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_answer(struct ctx *c, const char *a, const char *fmt, ...)
{
	va_list ap;

	snprintf(c->res->answer, sizeof(c->res->answer), "%s", a);
	va_start(ap, fmt);
	vsnprintf(c->res->detail, sizeof(c->res->detail), fmt, ap);
	va_end(ap);
}

/* Turns the outcome of a wait into an answer. */
static void answer(struct ctx *c, int r, int16_t st)
{
	if (r == -EPIPE) {
		bf_read_be_error(c->d);
		set_answer(c, "closed", "backend state %d, error \"%s\"", bf_read_be_state(c->d),
			   c->d->backend_error);
	} else if (r == -ETIMEDOUT) {
		set_answer(c, "timeout", "no response within %u s", c->d->o.timeout_s);
	} else if (r < 0) {
		set_answer(c, "bad-ring", "%s", strerror(-r));
	} else if (st == BLKIF_RSP_OKAY) {
		set_answer(c, "okay", "status 0");
	} else if (st == BLKIF_RSP_ERROR) {
		set_answer(c, "error", "status -1");
	} else if (st == BLKIF_RSP_EOPNOTSUPP) {
		set_answer(c, "eopnotsupp", "status -2");
	} else {
		set_answer(c, "status", "status %d", st);
	}
}

static void seg(struct ctx *c, struct bf_seg *s, unsigned n, uint8_t first, uint8_t last)
{
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct bf_seg){ .gref = c->b.refs[i % BF_SBUF_PAGES], .first = first,
					.last = last };
}

/* One READ/WRITE with the given fields; waits for its answer. */
static void send_rw(struct ctx *c, uint8_t op, uint8_t nseg, uint64_t sector,
		    const struct bf_seg *s, unsigned laid)
{
	uint64_t id = bf_sync_id();
	int16_t st = 0;
	int r;

	bf_ring_put_rw(&c->q->ring, op, nseg, (uint16_t)c->d->devid, id, sector, s, laid);
	c->q->cnt.requests++;
	r = bf_sync_wait(c->q, id, &st);
	answer(c, r, st);
}

static void h_seg_zero(struct ctx *c)
{
	send_rw(c, BLKIF_OP_READ, 0, 0, NULL, 0);
}

static void h_seg_too_many(struct ctx *c)
{
	struct bf_seg s[BLKIF_MAX_SEGMENTS_PER_REQUEST];

	seg(c, s, BLKIF_MAX_SEGMENTS_PER_REQUEST, 0, 7);
	send_rw(c, BLKIF_OP_READ, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1, 0, s,
		BLKIF_MAX_SEGMENTS_PER_REQUEST);
}

static void h_seg_255(struct ctx *c)
{
	struct bf_seg s[BLKIF_MAX_SEGMENTS_PER_REQUEST];

	seg(c, s, BLKIF_MAX_SEGMENTS_PER_REQUEST, 0, 7);
	send_rw(c, BLKIF_OP_READ, 255, 0, s, BLKIF_MAX_SEGMENTS_PER_REQUEST);
}

static void one_seg_read(struct ctx *c, uint64_t sector, uint8_t first, uint8_t last,
			 grant_ref_t gref)
{
	struct bf_seg s = { .gref = gref, .first = first, .last = last };

	send_rw(c, BLKIF_OP_READ, 1, sector, &s, 1);
}

static void h_sector_past_end(struct ctx *c)
{
	one_seg_read(c, c->d->sectors, 0, 7, c->b.refs[0]);
}

static void h_sector_straddle_end(struct ctx *c)
{
	one_seg_read(c, c->d->sectors - 4, 0, 7, c->b.refs[0]);
}

static void h_sector_wrap(struct ctx *c)
{
	one_seg_read(c, UINT64_MAX - 3, 0, 7, c->b.refs[0]);
}

static void h_first_gt_last(struct ctx *c)
{
	one_seg_read(c, 0, 5, 2, c->b.refs[0]);
}

static void h_last_beyond_page(struct ctx *c)
{
	one_seg_read(c, 0, 0, BF_SECTORS_PER_PAGE, c->b.refs[0]);
}

static void h_bad_gref(struct ctx *c)
{
	one_seg_read(c, 0, 0, 7, BAD_GREF);
}

static void h_revoked_gref(struct ctx *c)
{
	const struct xen_ops *ops = c->d->ops;
	grant_ref_t ref;
	void *mem;
	int r;

	r = ops->gntshr_share(c->q->gntshr, c->d->backend_id, 1, 1, &ref, &mem);
	if (r < 0) {
		set_answer(c, "setup-failed", "gntshr_share: %s", strerror(-r));
		return;
	}
	ops->gntshr_unshare(c->q->gntshr, mem, 1);
	c->q->cnt.gnt_share++;
	c->q->cnt.gnt_unshare++;
	/* A read would make the backend write into a page we no longer grant. */
	one_seg_read(c, 0, 0, 7, ref);
}

static void h_ro_write(struct ctx *c)
{
	struct bf_seg s;

	if (!(c->d->info & VDISK_READONLY))
		fprintf(stderr, "blkfront: ro-write: the disk's info (%#x) does not say read-only\n",
			c->d->info);
	bf_stamp(c->b.mem, XEN_PAGE_SIZE, 0, 1, 0);
	seg(c, &s, 1, 0, 7);
	send_rw(c, BLKIF_OP_WRITE, 1, 0, &s, 1);
}

static void h_unknown_op(struct ctx *c)
{
	struct bf_seg s;

	seg(c, &s, 1, 0, 7);
	send_rw(c, 0xee, 1, 0, &s, 1);
}

static void h_reserved_op(struct ctx *c)
{
	struct bf_seg s;

	seg(c, &s, 1, 0, 7);
	send_rw(c, BLKIF_OP_RESERVED_1, 1, 0, &s, 1);
}

static void h_discard_past_end(struct ctx *c)
{
	uint64_t id = bf_sync_id();
	int16_t st = 0;
	int r;

	bf_ring_put_discard(&c->q->ring, 0, (uint16_t)c->d->devid, id, c->d->sectors - 1, 16);
	c->q->cnt.requests++;
	r = bf_sync_wait(c->q, id, &st);
	answer(c, r, st);
}

static void h_prod_jump(struct ctx *c)
{
	struct bf_ring *ring = &c->q->ring;
	int r;

	/* More than a ring's worth of requests "posted" at once (RING_REQUEST_PROD_OVERFLOW). */
	bf_ring_set_req_prod(ring, ring->req_prod_pvt + ring->nr_ents + 7);
	c->d->ops->evtchn_notify(c->q->evtchn, (evtchn_port_t)c->q->port);
	c->q->cnt.notify++;
	r = bf_wait_be_state(c->d, 1u << XenbusStateClosing | 1u << XenbusStateClosed,
			     (int)c->d->o.timeout_s * 1000);
	answer(c, r < 0 ? -ETIMEDOUT : -EPIPE, 0);
	/* Put our own index back in case the backend ignored it. */
	bf_ring_set_req_prod(ring, ring->req_prod_pvt);
}

/* Indirect request with an indirect page at sbuf page 7 holding nfill segments. */
static void send_indirect(struct ctx *c, uint8_t iop, uint16_t nseg, unsigned nfill,
			  const grant_ref_t *irefs, unsigned nirefs, uint8_t bad_last)
{
	uint8_t *page = c->b.mem + 7 * XEN_PAGE_SIZE;
	uint64_t id = bf_sync_id();
	int16_t st = 0;
	int r;

	memset(page, 0, XEN_PAGE_SIZE);
	for (unsigned i = 0; i < nfill && i < BF_SEGS_PER_INDIRECT_PAGE; i++) {
		struct bf_seg s = { .gref = c->b.refs[i % 7], .first = 0, .last = 7 };

		if (i == nfill - 1 && bad_last)
			s.last = bad_last;
		bf_ind_put_seg(page, i, &s);
	}
	bf_ring_put_indirect(&c->q->ring, iop, nseg, (uint16_t)c->d->devid, id, 0, irefs, nirefs);
	c->q->cnt.requests++;
	r = bf_sync_wait(c->q, id, &st);
	answer(c, r, st);
}

static unsigned max_ind(struct ctx *c)
{
	return c->d->max_indirect ? c->d->max_indirect : BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
}

static void h_indirect_too_many(struct ctx *c)
{
	unsigned n = max_ind(c) + 1;

	send_indirect(c, BLKIF_OP_READ, (uint16_t)n, n, &c->b.refs[7], 1, 0);
}

static void h_indirect_zero(struct ctx *c)
{
	send_indirect(c, BLKIF_OP_READ, 0, 0, &c->b.refs[7], 1, 0);
}

static void h_indirect_pages_lie(struct ctx *c)
{
	grant_ref_t irefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

	/* 4097 segments need 9 indirect pages: more than any request may carry. */
	for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		irefs[i] = c->b.refs[7];
	send_indirect(c, BLKIF_OP_READ,
		      BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BF_SEGS_PER_INDIRECT_PAGE + 1,
		      BF_SEGS_PER_INDIRECT_PAGE, irefs, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, 0);
}

static void h_indirect_bad_page(struct ctx *c)
{
	grant_ref_t bad = BAD_GREF;

	send_indirect(c, BLKIF_OP_READ, 16, 16, &bad, 1, 0);
}

static void h_indirect_bad_seg(struct ctx *c)
{
	send_indirect(c, BLKIF_OP_READ, 16, 16, &c->b.refs[7], 1, BF_SECTORS_PER_PAGE + 1);
}

static void h_indirect_bad_op(struct ctx *c)
{
	send_indirect(c, BLKIF_OP_INDIRECT, 16, 16, &c->b.refs[7], 1, 0);
}

/* Keeps the ring full of valid reads and notifies after every single one. */
static void h_storm(struct ctx *c)
{
	struct bf_ring *ring = &c->q->ring;
	uint64_t sent = 0, answered = 0, bad = 0, span = c->d->sectors / 8;
	uint64_t deadline = bf_now_ns() + (uint64_t)c->d->o.timeout_s * 4 * 1000000000u;
	struct bf_rsp rsp;
	int r = 0;

	for (unsigned i = 0; i < STORM_NOTIFIES; i++)
		c->d->ops->evtchn_notify(c->q->evtchn, (evtchn_port_t)c->q->port);
	c->q->cnt.notify += STORM_NOTIFIES;
	while (answered < STORM_REQUESTS && bf_now_ns() < deadline) {
		while (sent < STORM_REQUESTS && bf_ring_free(ring)) {
			struct bf_seg s = { .gref = c->b.refs[sent % BF_SBUF_PAGES], .last = 7 };

			bf_ring_put_rw(ring, BLKIF_OP_READ, 1, (uint16_t)c->d->devid,
				       1ull << 62 | sent, (sent % (span ? span : 1)) * 8, &s, 1);
			sent++;
			c->q->cnt.requests++;
			bf_ring_push(ring);
			c->d->ops->evtchn_notify(c->q->evtchn, (evtchn_port_t)c->q->port);
			c->q->cnt.notify++;
		}
		while ((r = bf_ring_get_rsp(ring, &rsp)) > 0) {
			answered++;
			c->q->cnt.responses++;
			bad += rsp.status != BLKIF_RSP_OKAY || rsp.id >> 62 != 1 ||
			       (rsp.id & ((1ull << 62) - 1)) >= sent;
		}
		if (r < 0)
			break;
		if (bf_ring_final_check(ring))
			continue;
		r = bf_q_poll(c->q, 200);
		if (r < 0)
			break;
	}
	if (r < 0) {
		answer(c, r, 0);
		return;
	}
	if (answered < STORM_REQUESTS) {
		set_answer(c, "timeout", "%llu of %u requests answered",
			   (unsigned long long)answered, STORM_REQUESTS);
		return;
	}
	if (bad) {
		set_answer(c, "error", "%llu of %u responses failed or named no request",
			   (unsigned long long)bad, STORM_REQUESTS);
		return;
	}
	set_answer(c, "okay", "%u requests and %u bare notifications answered", STORM_REQUESTS,
		   STORM_NOTIFIES);
}

/* Lays one request image with the fields given into a private buffer. */
static void image(struct ctx *c, uint8_t *img, uint8_t op, uint8_t nseg, uint64_t id,
		  uint64_t sector, const struct bf_seg *s, unsigned laid)
{
	struct bf_ring *ring = &c->q->ring;
	RING_IDX at = ring->req_prod_pvt;

	memcpy(img, bf_ring_put_rw(ring, op, nseg, (uint16_t)c->d->devid, id, sector, s, laid),
	       ring->abi->slot_size);
	ring->req_prod_pvt = at;
}

static bool stamped(struct ctx *c, unsigned page, unsigned npages, uint64_t off, uint32_t gen)
{
	return !bf_stamp_check(c->b.mem + page * XEN_PAGE_SIZE, npages * XEN_PAGE_SIZE, off, gen);
}

static bool zero(struct ctx *c, unsigned page, unsigned npages)
{
	return bf_is_zero(c->b.mem + page * XEN_PAGE_SIZE, npages * XEN_PAGE_SIZE);
}

/*
 * One round of the double-fetch probe: posts img[0] and keeps rewriting the
 * slot with the three images until rsp_prod moves. The response lands in
 * the same slot, so a rewrite may clobber it: then 1 is returned, 0 when
 * the response came back intact (in *ret), <0 on failure.
 */
static int df_round(struct ctx *c, uint8_t img[3][128], uint64_t id, struct bf_rsp *ret)
{
	struct bf_ring *ring = &c->q->ring;
	size_t n = ring->abi->slot_size;
	uint64_t deadline = bf_now_ns() + (uint64_t)c->d->o.timeout_s * 1000000000u;
	uint8_t *slot = bf_ring_slot(ring, ring->req_prod_pvt);
	int r;

	memcpy(slot, img[0], n);
	ring->req_prod_pvt++;
	c->q->cnt.requests++;
	bf_q_kick(c->q);
	for (unsigned i = 1; !bf_ring_has_rsp(ring) && bf_now_ns() < deadline; i++)
		memcpy(slot, img[i % 3], n);
	for (;;) {
		r = bf_ring_get_rsp(ring, ret);
		if (r < 0)
			return r;
		if (r > 0)
			break;
		if (bf_ring_final_check(ring))
			continue;
		if (bf_now_ns() >= deadline)
			return -ETIMEDOUT;
		r = bf_q_poll(c->q, 100);
		if (r < 0)
			return r;
	}
	c->q->cnt.responses++;
	return ret->id == id ? 0 : 1;
}

/*
 * What one round's data shows. The disk holds 8 KiB stamped 0x11 at byte 0
 * (A0, A1) and 8 KiB stamped 0x22 at 64 KiB (B0, B1). The backend may copy
 * the slot while the probe is halfway through rewriting it: that copy is torn
 * but it is still one copy, validated and then used, so any request built
 * from fields of the two valid images is a legal outcome: one of pages 0/1
 * holds X0 and page 2 holds nothing or X1 of the same X. Returns 0 for no
 * read, 1 for the first image's read (A0 in page 0), 2 for the second's (B0
 * in page 1, B1 in page 2), 3 for another single-fetch combination, -1 when
 * no single copy of the slot explains the pages (a page partly written,
 * pages of two different requests, data from a sector neither image names).
 */
static int df_data(struct ctx *c)
{
	static const struct {
		uint64_t off;
		uint32_t gen;
	} half[2][2] = { { { 0, 0x11 }, { 4096, 0x11 } }, { { 65536, 0x22 }, { 69632, 0x22 } } };
	bool z0 = zero(c, 0, 1), z1 = zero(c, 1, 1), z2 = zero(c, 2, 1);
	unsigned first, x;

	if (z0 && z1 && z2)
		return 0;
	if (z0 == z1)
		return -1;
	first = z0 ? 1 : 0;
	for (x = 0; x < 2; x++)
		if (stamped(c, first, 1, half[x][0].off, half[x][0].gen))
			break;
	if (x == 2 || (!z2 && !stamped(c, 2, 1, half[x][1].off, half[x][1].gen)))
		return -1;
	if (first == 0 && x == 0 && z2)
		return 1;
	if (first == 1 && x == 1 && !z2)
		return 2;
	return 3;
}

/*
 * Double-fetch probe (XSA-155): a valid READ of 4 KiB at byte 0 into page 0
 * is posted, then the slot is rewritten again and again, alternating with a
 * valid READ of 8 KiB at 64 KiB into pages 1-2 and with garbage, until the
 * answer comes; 32 rounds. A backend that copied each request once did one
 * read (perhaps of a torn copy, see df_data) or none, and never acted on the
 * garbage; data no single copy explains means it fetched the slot again
 * after validating it. The verdict rests on the data: the response shares
 * the slot being rewritten, so the probe may overwrite it (a hostile guest
 * may, too).
 */
static void h_double_fetch(struct ctx *c)
{
	uint8_t img[3][128];
	struct bf_seg sa[2], sb[2], sc[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	struct bf_rsp rsp;
	unsigned seen[4] = { 0 }, lost = 0, errs = 0;
	uint64_t id;
	int16_t st;
	int r = 0, what;

	bf_stamp(c->b.mem, 2 * XEN_PAGE_SIZE, 0, 0x11, 0);
	r = bf_sync_rw(&c->b, BLKIF_OP_WRITE, 0, 16, &st);
	if (!r && st == BLKIF_RSP_OKAY) {
		bf_stamp(c->b.mem, 2 * XEN_PAGE_SIZE, 65536, 0x22, 0);
		r = bf_sync_rw(&c->b, BLKIF_OP_WRITE, 128, 16, &st);
	}
	if (r < 0 || st != BLKIF_RSP_OKAY) {
		set_answer(c, "setup-failed", "cannot write the two patterns (%d/%d)", r, st);
		return;
	}
	sb[0] = (struct bf_seg){ .gref = c->b.refs[1], .last = 7 };
	sb[1] = (struct bf_seg){ .gref = c->b.refs[2], .last = 7 };
	/* The first image's unused second segment equals the second image's,
	 * so a torn copy never reads a stale slot. */
	sa[0] = (struct bf_seg){ .gref = c->b.refs[0], .last = 7 };
	sa[1] = sb[1];
	for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		sc[i] = (struct bf_seg){ .gref = BAD_GREF, .first = 9, .last = 3 };
	for (unsigned round = 0; round < 32; round++) {
		memset(c->b.mem, 0, 3 * XEN_PAGE_SIZE);
		id = bf_sync_id();
		image(c, img[0], BLKIF_OP_READ, 1, id, 0, sa, 2);
		image(c, img[1], BLKIF_OP_READ, 2, id, 128, sb, 2);
		image(c, img[2], 0xee, 200, id, UINT64_MAX - 3, sc, BLKIF_MAX_SEGMENTS_PER_REQUEST);
		r = df_round(c, img, id, &rsp);
		if (r < 0) {
			answer(c, r, 0);
			return;
		}
		lost += r;
		errs += !r && rsp.status != BLKIF_RSP_OKAY;
		what = df_data(c);
		if (what < 0) {
			set_answer(c, "inconsistent",
				   "round %u: no single copy of the slot explains the pages", round);
			return;
		}
		seen[what]++;
	}
	set_answer(c, "consistent", "32 rounds: first read %u, second read %u, a torn copy %u, "
		   "none %u; %u error responses, %u responses overwritten by the probe", seen[1],
		   seen[2], seen[3], seen[0], errs, lost);
}

static const struct bf_hostile hostiles[] = {
	{ "seg-zero", "READ with nr_segments 0", h_seg_zero },
	{ "seg-too-many", "READ with nr_segments 12", h_seg_too_many },
	{ "seg-255", "READ with nr_segments 255", h_seg_255 },
	{ "sector-past-end", "READ starting at `sectors`", h_sector_past_end },
	{ "sector-straddle-end", "READ of 8 sectors from sectors-4", h_sector_straddle_end },
	{ "sector-wrap", "READ at sector 2^64-4 (sector + count wraps)", h_sector_wrap },
	{ "first-gt-last", "segment first_sect 5 > last_sect 2", h_first_gt_last },
	{ "last-beyond-page", "segment last_sect 8 (past the page)", h_last_beyond_page },
	{ "bad-gref", "segment with a grant ref never issued", h_bad_gref },
	{ "revoked-gref", "segment with a grant ref already ended", h_revoked_gref },
	{ "ro-write", "WRITE to a read-only disk", h_ro_write },
	{ "unknown-op", "operation 0xee", h_unknown_op },
	{ "reserved-op", "operation BLKIF_OP_RESERVED_1", h_reserved_op },
	{ "discard-past-end", "DISCARD running past the end", h_discard_past_end },
	{ "prod-jump", "req_prod more than a ring ahead", h_prod_jump },
	{ "storm", "20000 reads, a notification per request, 20000 bare ones", h_storm },
	{ "indirect-too-many", "INDIRECT with max-indirect-segments + 1", h_indirect_too_many },
	{ "indirect-zero", "INDIRECT with nr_segments 0", h_indirect_zero },
	{ "indirect-pages-lie", "INDIRECT needing 9 indirect pages", h_indirect_pages_lie },
	{ "indirect-bad-page", "INDIRECT whose indirect page ref is bad", h_indirect_bad_page },
	{ "indirect-bad-seg", "INDIRECT with a segment last_sect 9", h_indirect_bad_seg },
	{ "indirect-bad-op", "INDIRECT whose indirect_op is INDIRECT", h_indirect_bad_op },
	{ "double-fetch", "every field rewritten after the request was posted", h_double_fetch },
	{ NULL, NULL, NULL },
};

int bf_hostile_run(struct bf_dev *d, const char *name, struct bf_hostile_result *res)
{
	const struct bf_hostile *h = hostiles;
	struct ctx c = { .d = d, .q = &d->q[0], .res = res };
	int16_t st;
	int r;

	while (h->name && strcmp(h->name, name))
		h++;
	if (!h->name)
		return -ENOENT;
	memset(res, 0, sizeof(*res));
	snprintf(res->after, sizeof(res->after), "not-checked");
	r = bf_sbuf_open(c.q, &c.b);
	if (r < 0)
		return r;
	h->fn(&c);
	if (strcmp(res->answer, "closed") && bf_read_be_state(d) == XenbusStateConnected) {
		/* The ring must still serve a valid request. */
		r = bf_sync_rw(&c.b, BLKIF_OP_READ, 0, BF_SECTORS_PER_PAGE, &st);
		snprintf(res->after, sizeof(res->after), "%s",
			 r < 0 ? "no-answer" : st == BLKIF_RSP_OKAY ? "ok" : "error");
	}
	bf_sbuf_close(&c.b);
	return 0;
}

void bf_hostile_list(FILE *f)
{
	for (const struct bf_hostile *h = hostiles; h->name; h++)
		fprintf(f, "  %-20s %s\n", h->name, h->what);
}
