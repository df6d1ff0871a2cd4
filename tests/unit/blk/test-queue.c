// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/queue.c: a real queue worker thread over the fake
 * grant table (fake-xen.c) and a libaio store on a temporary file, driven
 * by a minimal frontend written here against <xen/io/blkif.h>: data written
 * reads back (persistent grants and grant copy), persistent grants are
 * mapped once and reused, bad requests are answered with errors while the
 * queue keeps serving, indirect requests, flush and discard, and a producer
 * index more than a ring ahead breaks the queue and reports it.
 *
 * Waits are on the fake event channel's eventfd with bounded timeouts.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/tap.h"
#include "fake-xen.h"
#include "log.h"
#include "queue.h"
#include "ring.h"

#define DISK_SIZE (4u << 20)
#define RING_REF 0	/* ring pages are refs 0.. */
#define DATA_REF 100	/* data pages are refs 100.. */
#define IND_REF 50	/* indirect pages */

static char path[] = "/tmp/blk-queue-XXXXXX";
static struct blk_store *store;
static _Atomic uint64_t sectors = DISK_SIZE / 512;
static blkif_front_ring_t fr;
static int fatal_fd;

static unsigned poll_us;	/* the queues' cfg.poll_us */

static struct blk_queue *start_queue(unsigned persistent, unsigned pages)
{
	struct blk_queue_cfg c = {
		.ops = &fake_ops, .name = "test q0", .domid = 2, .abi = BLK_ABI_NATIVE,
		.nr_ring_pages = pages, .remote_port = 3, .persistent_max = persistent,
		.limits = { .sectors = DISK_SIZE / 512, .unit_shift = 9, .lss = 512,
			    .max_indirect = 256, .flush = true, .barrier = true, .discard = true },
		.sectors = &sectors, .store = store, .fatal_fd = fatal_fd, .poll_us = poll_us,
	};
	blkif_sring_t *s = fake_page(RING_REF);
	struct blk_queue *q;
	unsigned i;

	for (i = 0; i < pages; i++)
		c.ring_refs[i] = RING_REF + i;
	memset(s, 0, (size_t)pages * XEN_PAGE_SIZE);
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, (size_t)pages * XEN_PAGE_SIZE);
	if (blk_queue_start(&c, &q) < 0)
		return NULL;
	return q;
}

static struct blkif_request *next_req(void)
{
	return RING_GET_REQUEST(&fr, fr.req_prod_pvt++);
}

static void push(void)
{
	uint64_t one = 1;
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
	(void)notify;	/* always kick: the fake port coalesces */
	if (write(fake.to_backend, &one, sizeof(one)) < 0)
		printf("# notify failed\n");
}

/* Waits (bounded) for n responses; returns how many arrived. */
static unsigned wait_rsp(struct blkif_response *out, unsigned n)
{
	struct pollfd p = { .fd = fake.to_guest, .events = POLLIN };
	unsigned got = 0;
	uint64_t v;
	int i;

	for (i = 0; i < 100 && got < n; i++) {
		RING_IDX prod = fr.sring->rsp_prod;

		xen_rmb();
		while (fr.rsp_cons != prod && got < n)
			out[got++] = *RING_GET_RESPONSE(&fr, fr.rsp_cons++);
		if (got == n)
			break;
		if (poll(&p, 1, 100) > 0 && read(fake.to_guest, &v, sizeof(v)) < 0)
			break;
	}
	return got;
}

static void rw(uint8_t op, uint64_t id, uint64_t sector, unsigned nseg, grant_ref_t ref0)
{
	struct blkif_request *r = next_req();
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->nr_segments = nseg;
	r->id = id;
	r->sector_number = sector;
	for (i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r->seg[i].gref = ref0 + i;
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = 7;
	}
}

static int16_t one_request(void)
{
	struct blkif_response rsp;

	push();
	return wait_rsp(&rsp, 1) == 1 ? rsp.status : 99;
}

static void test_write_read(unsigned persistent)
{
	struct blkif_response rsp[2];
	struct blk_queue *q = start_queue(persistent, 1);
	unsigned i, maps0;

	REQUIRE(q);
	for (i = 0; i < 4; i++)
		memset(fake_page(DATA_REF + i), 0x10 + i, XEN_PAGE_SIZE);
	rw(BLKIF_OP_WRITE, 1, 64, 4, DATA_REF);
	push();
	CHECK(wait_rsp(rsp, 1) == 1 && rsp[0].id == 1 && rsp[0].status == BLKIF_RSP_OKAY &&
	      rsp[0].operation == BLKIF_OP_WRITE);
	for (i = 0; i < 4; i++)
		memset(fake_page(DATA_REF + 10 + i), 0, XEN_PAGE_SIZE);
	maps0 = fake.maps;
	rw(BLKIF_OP_READ, 2, 64, 4, DATA_REF + 10);
	push();
	CHECK(wait_rsp(rsp, 1) == 1 && rsp[0].id == 2 && rsp[0].status == BLKIF_RSP_OKAY);
	for (i = 0; i < 4; i++)
		CHECK(((uint8_t *)fake_page(DATA_REF + 10 + i))[4095] == 0x10 + i);
	/* Persistent: each new grant mapped once, then reused without maps. */
	CHECK(fake.maps - maps0 == (persistent ? 4u : 0u));
	maps0 = fake.maps;
	rw(BLKIF_OP_READ, 3, 64, 4, DATA_REF + 10);
	rw(BLKIF_OP_WRITE, 4, 64, 4, DATA_REF);
	push();
	CHECK(wait_rsp(rsp, 2) == 2 && rsp[0].status == 0 && rsp[1].status == 0);
	CHECK(fake.maps == maps0);
	blk_queue_stop(q, NULL);
	/* Only the ring is left mapped by nobody. */
	CHECK(fake.mapped_now == 0);
}

static void test_persistent(void)
{
	test_write_read(64);
}

static void test_copy(void)
{
	test_write_read(0);
}

/* The same with a worker that busy-polls (up to 10 ms, the cap) before it
 * sleeps: the same answers, the same grant maps, and it stops and unmaps. */
static void test_polling(void)
{
	poll_us = 10000;
	test_write_read(64);
	test_write_read(0);
	poll_us = 0;
}

static void test_bad_requests(void)
{
	struct blk_queue *q = start_queue(64, 1);
	struct blkif_request *r;
	uint64_t cnt[BLK_CNT__MAX] = { 0 };

	REQUIRE(q);
	rw(BLKIF_OP_WRITE, 1, 0, 0, DATA_REF);		/* no segments */
	CHECK(one_request() == BLKIF_RSP_ERROR);
	rw(BLKIF_OP_READ, 2, DISK_SIZE / 512 - 4, 1, DATA_REF);	/* past the end */
	CHECK(one_request() == BLKIF_RSP_ERROR);
	rw(BLKIF_OP_READ, 3, 0, 1, DATA_REF);
	r = RING_GET_REQUEST(&fr, fr.req_prod_pvt - 1);
	r->seg[0].first_sect = 5;
	r->seg[0].last_sect = 2;				/* first > last */
	CHECK(one_request() == BLKIF_RSP_ERROR);
	rw(BLKIF_OP_READ, 4, 0, 1, FAKE_PAGES + 1);		/* bad grant */
	CHECK(one_request() == BLKIF_RSP_ERROR);
	rw(77, 5, 0, 1, DATA_REF);				/* unknown op */
	CHECK(one_request() == BLKIF_RSP_EOPNOTSUPP);
	rw(BLKIF_OP_READ, 6, 0, 12, DATA_REF);			/* 12 > 11 segments */
	CHECK(one_request() == BLKIF_RSP_ERROR);
	/* Still serving. */
	rw(BLKIF_OP_READ, 7, 0, 2, DATA_REF);
	CHECK(one_request() == BLKIF_RSP_OKAY);
	CHECK(!blk_queue_broken(q));
	blk_queue_counters(q, cnt);
	CHECK(cnt[BLK_CNT_ERR_REQUEST] == 4 && cnt[BLK_CNT_ERR_IO] == 1);
	CHECK(cnt[BLK_CNT_EOPNOTSUPP] == 1 && cnt[BLK_CNT_OP_READ] == 5);
	blk_queue_stop(q, NULL);
}

static void test_indirect(void)
{
	struct blkif_response rsp;
	struct blk_queue *q = start_queue(0, 2);
	struct blkif_request_indirect *r;
	struct blkif_request_segment *seg = fake_page(IND_REF);
	unsigned i;

	REQUIRE(q);
	CHECK(RING_SIZE(&fr) == 64);
	for (i = 0; i < 40; i++) {
		memset(fake_page(DATA_REF + i), i, XEN_PAGE_SIZE);
		seg[i] = (struct blkif_request_segment){ .gref = DATA_REF + i, .first_sect = 0,
							 .last_sect = 7 };
	}
	r = (struct blkif_request_indirect *)next_req();
	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_INDIRECT;
	r->indirect_op = BLKIF_OP_WRITE;
	r->nr_segments = 40;
	r->id = 11;
	r->sector_number = 1024;
	r->indirect_grefs[0] = IND_REF;
	push();
	/* The response carries the inner operation, as Linux blkfront checks. */
	CHECK(wait_rsp(&rsp, 1) == 1 && rsp.id == 11 && rsp.status == BLKIF_RSP_OKAY &&
	      rsp.operation == BLKIF_OP_WRITE);
	for (i = 0; i < 40; i++)
		memset(fake_page(DATA_REF + i), 0xff, XEN_PAGE_SIZE);
	r = (struct blkif_request_indirect *)next_req();
	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_INDIRECT;
	r->indirect_op = BLKIF_OP_READ;
	r->nr_segments = 40;
	r->id = 12;
	r->sector_number = 1024;
	r->indirect_grefs[0] = IND_REF;
	CHECK(one_request() == BLKIF_RSP_OKAY);
	for (i = 0; i < 40; i++)
		CHECK(((uint8_t *)fake_page(DATA_REF + i))[100] == i);
	/* More segments than advertised. */
	r = (struct blkif_request_indirect *)next_req();
	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_INDIRECT;
	r->indirect_op = BLKIF_OP_READ;
	r->id = 13;
	r->indirect_grefs[0] = IND_REF;
	r->nr_segments = 257;
	CHECK(one_request() == BLKIF_RSP_ERROR);
	blk_queue_stop(q, NULL);
}

static void test_flush_discard(void)
{
	struct blk_queue *q = start_queue(16, 1);
	struct blkif_request_discard *d;

	REQUIRE(q);
	memset(fake_page(DATA_REF), 0x77, XEN_PAGE_SIZE);
	rw(BLKIF_OP_FLUSH_DISKCACHE, 1, 2048, 1, DATA_REF);	/* write + flush */
	CHECK(one_request() == BLKIF_RSP_OKAY);
	rw(BLKIF_OP_WRITE_BARRIER, 2, 0, 0, DATA_REF);		/* pure barrier */
	CHECK(one_request() == BLKIF_RSP_OKAY);
	d = (struct blkif_request_discard *)next_req();
	memset(d, 0, sizeof(*d));
	d->operation = BLKIF_OP_DISCARD;
	d->id = 3;
	d->sector_number = 2048;
	d->nr_sectors = 8;
	CHECK(one_request() == BLKIF_RSP_OKAY);
	memset(fake_page(DATA_REF + 1), 0x55, XEN_PAGE_SIZE);
	rw(BLKIF_OP_READ, 4, 2048, 1, DATA_REF + 1);
	CHECK(one_request() == BLKIF_RSP_OKAY);
	CHECK(((uint8_t *)fake_page(DATA_REF + 1))[0] == 0);
	CHECK(((uint8_t *)fake_page(DATA_REF + 1))[4095] == 0);
	blk_queue_stop(q, NULL);
}

static void test_ring_overflow(void)
{
	struct blk_queue *q = start_queue(16, 1);
	struct pollfd p = { .fd = fatal_fd, .events = POLLIN };
	uint64_t v;

	REQUIRE(q);
	fr.req_prod_pvt += RING_SIZE(&fr) + 5;
	push();
	CHECK(poll(&p, 1, 5000) == 1);
	CHECK(read(fatal_fd, &v, sizeof(v)) == sizeof(v));
	CHECK(blk_queue_broken(q) != NULL);
	blk_queue_stop(q, NULL);
}

int main(void)
{
	int fd = mkstemp(path);

	log_init("test-queue");
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0 || fake_init() < 0)
		return 99;
	close(fd);
	fatal_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fatal_fd < 0 || blk_aio_open(path, false, &store) < 0)
		return 99;
	tap_run("/queue/persistent-write-read", test_persistent);
	tap_run("/queue/copy-write-read", test_copy);
	tap_run("/queue/polling-write-read", test_polling);
	tap_run("/queue/bad-requests", test_bad_requests);
	tap_run("/queue/indirect-two-page-ring", test_indirect);
	tap_run("/queue/flush-barrier-discard", test_flush_discard);
	tap_run("/queue/ring-overflow", test_ring_overflow);
	store->ops->close(store);
	unlink(path);
	return tap_done();
}
