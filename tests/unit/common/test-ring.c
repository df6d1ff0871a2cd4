// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for common/ring.h on a blkif ring in ordinary memory: pending
 * counts, a producer more than a ring ahead (RING_REQUEST_PROD_OVERFLOW), a
 * producer moved backwards, index wrap-around at 2^32, the consumer guard,
 * and the frontend-side response check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include <xen/io/blkif.h>

#include "tap.h"

#define PAGE 4096

static _Alignas(PAGE) unsigned char page[PAGE];

static void rings(blkif_front_ring_t *f, blkif_back_ring_t *b, RING_IDX start)
{
	blkif_sring_t *s = (blkif_sring_t *)page;

	memset(page, 0, sizeof(page));
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(f, s, PAGE);
	BACK_RING_INIT(b, s, PAGE);
	/* Start both sides at an arbitrary index, as after long uptime. */
	s->req_prod = s->rsp_prod = start;
	f->req_prod_pvt = f->rsp_cons = start;
	b->req_cons = b->rsp_prod_pvt = start;
}

static void test_pending(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod = 0;
	int i;

	rings(&f, &b, 0);
	CHECK(RING_SIZE(&b) == 32);
	CHECK(RING_BACK_PENDING(&b, &prod) == 0 && prod == 0);
	for (i = 0; i < 5; i++)
		RING_GET_REQUEST(&f, f.req_prod_pvt++)->id = (uint64_t)i;
	RING_PUSH_REQUESTS(&f);
	CHECK(RING_BACK_PENDING(&b, &prod) == 5 && prod == 5);
	for (i = 0; i < 5; i++) {
		blkif_request_t req;

		CHECK(!RING_BACK_CONS_FULL(&b, b.req_cons));
		RING_COPY_REQUEST(&b, b.req_cons, &req);
		CHECK(req.id == (uint64_t)i);
		b.req_cons++;
	}
	CHECK(RING_BACK_PENDING(&b, &prod) == 0);
}

static void test_full_ring_is_legal(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod;

	rings(&f, &b, 100);
	f.sring->req_prod = 100 + RING_SIZE(&b);
	CHECK(RING_BACK_PENDING(&b, &prod) == (int)RING_SIZE(&b));
	/* With every slot taken and none answered, the consumer must stop. */
	b.req_cons += RING_SIZE(&b);
	CHECK(RING_BACK_CONS_FULL(&b, b.req_cons));
}

static void test_overflow(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod;

	rings(&f, &b, 0);
	f.sring->req_prod = RING_SIZE(&b) + 1;
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
	f.sring->req_prod = 0x7fffffff;
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
	/* Responses produced free slots: a ring ahead of rsp_prod_pvt is fine. */
	b.req_cons = b.rsp_prod_pvt = 10;
	f.sring->req_prod = 10 + RING_SIZE(&b);
	CHECK(RING_BACK_PENDING(&b, &prod) == (int)RING_SIZE(&b));
	f.sring->req_prod = 11 + RING_SIZE(&b);
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
	/*
	 * Requests taken but not answered still occupy slots: with 10 in
	 * flight, a producer 25 past our consumer is 35 past our responses,
	 * more than the 32 slots there are.
	 */
	b.req_cons = 20;
	f.sring->req_prod = 45;
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
	f.sring->req_prod = 42;
	CHECK(RING_BACK_PENDING(&b, &prod) == 22);
}

static void test_backwards(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod;

	rings(&f, &b, 50);
	b.req_cons = 60;	/* we took 10, answered none */
	f.sring->req_prod = 55;	/* the frontend moved its producer back */
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
}

static void test_wrap(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod;

	rings(&f, &b, UINT32_MAX - 2);
	f.sring->req_prod = 4;	/* 7 past UINT32_MAX - 2, wrapped */
	CHECK(RING_BACK_PENDING(&b, &prod) == 7 && prod == 4);
	f.sring->req_prod = (RING_IDX)(UINT32_MAX - 2 + 33);
	CHECK(RING_BACK_PENDING(&b, &prod) == -EPROTO);
}

static void test_rsp_pending(void)
{
	blkif_front_ring_t f;
	blkif_back_ring_t b;
	RING_IDX prod;

	rings(&f, &b, 7);
	CHECK(RING_FRONT_PENDING(&f, &prod) == 0);
	b.rsp_prod_pvt += 3;
	RING_PUSH_RESPONSES(&b);
	CHECK(RING_FRONT_PENDING(&f, &prod) == 3 && prod == 10);
	b.sring->rsp_prod = 7 + RING_SIZE(&f) + 1;
	CHECK(RING_FRONT_PENDING(&f, &prod) == -EPROTO);
	CHECK(ring_rsp_pending(5, 7, 32) == -EPROTO);
}

int main(void)
{
	tap_run("/ring/pending", test_pending);
	tap_run("/ring/full_ring_is_legal", test_full_ring_is_legal);
	tap_run("/ring/overflow", test_overflow);
	tap_run("/ring/backwards", test_backwards);
	tap_run("/ring/wrap", test_wrap);
	tap_run("/ring/rsp_pending", test_rsp_pending);
	return tap_done();
}
