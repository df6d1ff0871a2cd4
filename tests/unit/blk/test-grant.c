// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/grant.c over the fake grant table: the copy path
 * moves bytes both ways and reports bad refs; the persistent cache maps a
 * grant once and then serves it without maps, stays within its bound by
 * evicting the least recently used, falls back to copy when a map fails,
 * and unmaps everything when freed.
 */
#include <errno.h>
#include <string.h>

#include "../common/tap.h"
#include "fake-xen.h"
#include "grant.h"

static uint8_t local[4][XEN_PAGE_SIZE];

static struct blk_xfer xf(grant_ref_t ref, uint16_t off, uint16_t len, void *buf)
{
	return (struct blk_xfer){ .gref = ref, .offset = off, .len = len, .local = buf };
}

static void test_copy_path(void)
{
	struct blk_grants *g;
	struct blk_xfer x[2];
	struct blk_grant_stats st;

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 0, 4, &g) == 0);
	memset(fake_page(10), 0x11, XEN_PAGE_SIZE);
	memset(fake_page(11), 0x22, XEN_PAGE_SIZE);
	x[0] = xf(10, 512, 1024, local[0]);
	x[1] = xf(11, 0, 4096, local[1]);
	CHECK(blk_grants_xfer(g, x, 2, false) == 0);
	CHECK(local[0][0] == 0x11 && local[0][1023] == 0x11);
	CHECK(local[1][4095] == 0x22);
	memset(local[2], 0x33, sizeof(local[2]));
	x[0] = xf(12, 3584, 512, local[2]);
	CHECK(blk_grants_xfer(g, x, 1, true) == 0);
	CHECK(((uint8_t *)fake_page(12))[3584] == 0x33 && ((uint8_t *)fake_page(12))[3583] != 0x33);
	blk_grants_stats(g, &st);
	CHECK(st.maps == 0 && st.copy_segs == 3);
	CHECK(blk_grants_cached(g) == 0);
	/* A revoked grant fails the transfer. */
	fake.revoked[13] = true;
	x[0] = xf(13, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, x, 1, false) < 0);
	fake.revoked[13] = false;
	/* More xfers than one batch still all move. */
	{
		struct blk_xfer many[9];
		unsigned i;

		for (i = 0; i < 9; i++)
			many[i] = xf(20 + i, 0, 512, local[i % 4]);
		CHECK(blk_grants_xfer(g, many, 9, false) == 0);
	}
	blk_grants_free(g);
}

static void test_persistent_hits(void)
{
	unsigned maps0 = fake.maps;
	struct blk_grants *g;
	struct blk_xfer x;
	struct blk_grant_stats st;
	int i;

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 8, 4, &g) == 0);
	memset(fake_page(30), 0x44, XEN_PAGE_SIZE);
	x = xf(30, 0, 4096, local[0]);
	for (i = 0; i < 100; i++)
		CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	CHECK(fake.maps - maps0 == 1);
	CHECK(blk_grants_cached(g) == 1);
	/* Writes through the kept mapping land in the guest's page. */
	memset(local[1], 0x55, XEN_PAGE_SIZE);
	x = xf(30, 1024, 512, local[1]);
	CHECK(blk_grants_xfer(g, &x, 1, true) == 0);
	CHECK(((uint8_t *)fake_page(30))[1024] == 0x55 && ((uint8_t *)fake_page(30))[1023] == 0x44);
	blk_grants_stats(g, &st);
	CHECK(st.hits == 100 && st.copy_segs == 0);
	blk_grants_free(g);
	CHECK(fake.mapped_now == 0);
}

static void test_persistent_evicts_lru(void)
{
	struct blk_grants *g;
	struct blk_xfer x;
	unsigned maps0;
	grant_ref_t r;

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 8, 4, &g) == 0);
	for (r = 100; r < 108; r++) {
		x = xf(r, 0, 512, local[0]);
		CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	}
	CHECK(blk_grants_cached(g) == 8 && fake.mapped_now == 8);
	/* Touch 100 so that 101 is the least recently used. */
	x = xf(100, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	x = xf(200, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	CHECK(blk_grants_cached(g) <= 8 && fake.mapped_now <= 8);
	/* 100 stayed (no new map); 101 was evicted (mapped again). */
	maps0 = fake.maps;
	x = xf(100, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	CHECK(fake.maps == maps0);
	x = xf(101, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	CHECK(fake.maps == maps0 + 1);
	/* A frontend cycling through far more grants keeps the bound. */
	for (r = 300; r < 700; r++) {
		x = xf(r, 0, 512, local[0]);
		CHECK(blk_grants_xfer(g, &x, 1, false) == 0);
	}
	CHECK(blk_grants_cached(g) <= 8 && fake.mapped_now <= 8);
	blk_grants_free(g);
	CHECK(fake.mapped_now == 0);
}

static void test_persistent_bad_ref(void)
{
	struct blk_grants *g;
	struct blk_xfer x;

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 8, 4, &g) == 0);
	x = xf(FAKE_PAGES + 5, 0, 512, local[0]);
	CHECK(blk_grants_xfer(g, &x, 1, false) < 0);
	CHECK(blk_grants_cached(g) == 0);
	blk_grants_free(g);
}

/* Pinned entries (zero copy) are never evicted; a cache full of pins
 * refuses the next pin (the caller falls back to bounce pages); unpinned,
 * they are evictable again. */
static void test_pins(void)
{
	struct blk_grants *g;
	struct blk_xfer x[8];
	void *addrs[8];
	int32_t pins[8];
	unsigned maps0;
	int i;

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 0, 4, &g) == 0);
	x[0] = xf(40, 0, 512, NULL);
	CHECK(blk_grants_pin(g, x, 1, addrs, pins) == -EOPNOTSUPP);	/* no cache */
	blk_grants_free(g);

	REQUIRE(blk_grants_new(&fake_ops, NULL, 1, 8, 4, &g) == 0);
	for (i = 0; i < 8; i++)
		x[i] = xf(40 + i, 512 * (i % 2), 512, NULL);
	memset(fake_page(41), 0x66, 4096);
	CHECK(blk_grants_pin(g, x, 8, addrs, pins) == 0);
	/* The address is the guest's page itself, at the segment's offset. */
	CHECK(((uint8_t *)addrs[1])[0] == 0x66);
	((uint8_t *)addrs[1])[1] = 0x77;
	CHECK(((uint8_t *)fake_page(41))[513] == 0x77);
	CHECK(blk_grants_cached(g) == 8);
	/* All 8 pinned: a new grant can be neither pinned nor kept. */
	x[0] = xf(60, 0, 512, NULL);
	CHECK(blk_grants_pin(g, x, 1, addrs, pins + 7) == -ENOSPC);
	CHECK(blk_grants_cached(g) == 8 && fake.mapped_now == 8);
	/* A pin of two where the second fails leaves nothing pinned. */
	blk_grants_unpin(g, pins, 1);	/* 40 is evictable now */
	x[1] = xf(61, 0, 512, NULL);
	maps0 = fake.maps;
	CHECK(blk_grants_pin(g, x, 2, addrs, pins) == -ENOSPC);
	CHECK(fake.maps == maps0 + 1);	/* 60 took 40's place, 61 found none */
	/* Unpinned, the rest can go: a sweep of new grants keeps the bound. */
	blk_grants_unpin(g, pins + 1, 7);
	for (i = 0; i < 8; i++)
		x[i] = xf(70 + i, 0, 512, NULL);
	CHECK(blk_grants_pin(g, x, 8, addrs, pins) == 0);
	CHECK(blk_grants_cached(g) <= 8 && fake.mapped_now <= 8);
	blk_grants_unpin(g, pins, 8);
	blk_grants_free(g);
	CHECK(fake.mapped_now == 0);
}

int main(void)
{
	if (fake_init() < 0)
		return 99;
	tap_run("/grant/copy", test_copy_path);
	tap_run("/grant/persistent-hits", test_persistent_hits);
	tap_run("/grant/persistent-evicts-lru", test_persistent_evicts_lru);
	tap_run("/grant/persistent-bad-ref", test_persistent_bad_ref);
	tap_run("/grant/pins", test_pins);
	return tap_done();
}
