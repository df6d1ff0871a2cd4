// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netbackd/eal.c: the EAL started by nb_eal_init without
 * hugepages; a second start refused; a plain pthread registered with
 * rte_thread_register (as netbackd's workers are) gets an lcore id and the
 * pool's per-lcore cache; nb_pool_create's data room is pkt.h's.
 */
#include <errno.h>
#include <pthread.h>

#include <rte_lcore.h>

#include "nbtest.h"

static struct rte_mempool *pool;

static void test_once(void)
{
	char why[128];

	CHECK(rte_lcore_count() == 1);	/* the main thread only: --lcores 0@(all) */
	CHECK(nb_eal_init("again", NULL, 64, why, sizeof(why)) == -EALREADY);
}

static void *worker(void *arg)
{
	unsigned lcore;
	struct rte_mbuf *m;

	(void)arg;
	if (rte_thread_register() < 0)
		return (void *)1;
	lcore = rte_lcore_id();
	m = rte_pktmbuf_alloc(pool);
	if (lcore == LCORE_ID_ANY || !m || !rte_mempool_default_cache(pool, lcore))
		return (void *)2;
	rte_pktmbuf_free(m);
	rte_thread_unregister();
	return rte_lcore_id() == LCORE_ID_ANY ? NULL : (void *)3;
}

static void test_thread_register(void)
{
	pthread_t t;
	void *res = (void *)-1;

	REQUIRE(pthread_create(&t, NULL, worker, NULL) == 0);
	pthread_join(t, &res);
	CHECK(res == NULL);
}

static void test_pool(void)
{
	CHECK(rte_pktmbuf_data_room_size(pool) == NB_MBUF_DATA_ROOM);
	CHECK(rte_mempool_avail_count(pool) == 511);
}

int main(void)
{
	nbt_eal_start("test-eal");
	pool = nb_pool_create("t-eal", 511, 32);
	if (!pool) {
		printf("Bail out! pool\n");
		return 1;
	}
	tap_run("/eal/once", test_once);
	tap_run("/eal/thread-register", test_thread_register);
	tap_run("/eal/pool", test_pool);
	rte_mempool_free(pool);
	nb_eal_fini();
	return tap_done();
}
