// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netbackd/capture.c: frames captured in both directions,
 * single and chained, from two threads at once (registered with the EAL as
 * netbackd's workers are), then the file read back by tshark and tcpdump:
 * packet count, each frame's length and direction, the interface's name.
 * Skips (77) without tshark.
 */
#include <pthread.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "capture.h"
#include "nbtest.h"

#define PER_THREAD 300

static struct rte_mempool *pool;
static struct nb_capture *cap;
static char path[] = "/tmp/nb-capture-XXXXXX";

/* Thread i sends frames of 100 + j bytes of payload, direction by parity of i. */
static void *capture_thread(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg, j;

	if (rte_thread_register() < 0)
		return (void *)1;
	for (j = 0; j < PER_THREAD; j++) {
		struct nbt_frame f = { .tcp = true, .payload = 100 + j, .seg = j % 2 ? 77 : 0 };
		struct rte_mbuf *m = nbt_frame_mbuf(pool, &f);

		if (!m)
			return (void *)1;
		nb_capture_pkts(cap, &m, 1, i % 2);
		rte_pktmbuf_free(m);
	}
	rte_thread_unregister();
	return NULL;
}

/* Lines of `cmd`'s output, each "len<TAB>direction". */
static unsigned read_back(const char *cmd, unsigned counts[2][PER_THREAD])
{
	char line[256];
	unsigned n = 0;
	FILE *p = popen(cmd, "r");

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned len;
		int dir;

		n++;
		if (sscanf(line, "%u\t%i", &len, &dir) == 2 && len >= 154 && len < 154 + PER_THREAD &&
		    (dir == 1 || dir == 2))
			counts[dir - 1][len - 154]++;
	}
	pclose(p);
	return n;
}

static void test_two_threads(void)
{
	static unsigned counts[2][PER_THREAD];
	pthread_t t[2];
	void *res[2];
	uint64_t written, dropped;
	char cmd[512];
	unsigned i, j, n;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	REQUIRE(nb_capture_open(path, "vif5.0", "domain 5, vif 0", &cap) == 0);
	for (i = 0; i < 2; i++)
		REQUIRE(pthread_create(&t[i], NULL, capture_thread, (void *)(uintptr_t)i) == 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &res[i]);
		CHECK(res[i] == NULL);
	}
	nb_capture_counts(cap, &written, &dropped);
	CHECK(written + dropped <= 2 * PER_THREAD);
	nb_capture_close(cap);
	CHECK(rte_mempool_full(pool));

	/* Every frame once per direction: 154 = 14 + 20 + 20 + 100. */
	snprintf(cmd, sizeof(cmd), "tshark -r %s -T fields -e frame.len -e frame.packet_flags_direction 2>/dev/null", path);
	n = read_back(cmd, counts);
	CHECK(n == 2 * PER_THREAD);
	for (i = 0; i < 2; i++)
		for (j = 0; j < PER_THREAD; j++)
			if (counts[i][j] != 1 && !tap_case_failed) {
				printf("# direction %u length %u seen %u times\n", i + 1, 154 + j, counts[i][j]);
				tap_case_failed = true;
			}
	snprintf(cmd, sizeof(cmd), "tshark -r %s -T fields -e frame.interface_name -c 1 2>/dev/null", path);
	{
		FILE *p = popen(cmd, "r");
		char line[64] = "";

		CHECK(p && fgets(line, sizeof(line), p) && strcmp(line, "vif5.0\n") == 0);
		if (p)
			pclose(p);
	}
	snprintf(cmd, sizeof(cmd), "tcpdump -nr %s 2>/dev/null | wc -l", path);
	{
		FILE *p = popen(cmd, "r");
		unsigned lines = 0;

		CHECK(p && fscanf(p, "%u", &lines) == 1 && lines == 2 * PER_THREAD);
		if (p)
			pclose(p);
	}
}

int main(void)
{
	if (system("tshark -v >/dev/null 2>&1") != 0 || system("tcpdump --version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP tshark or tcpdump missing\n");
		return 77;
	}
	nbt_eal_start("test-capture");
	pool = nb_pool_create("t-capture", 2047, 32);
	if (!pool) {
		printf("Bail out! pool\n");
		return 1;
	}
	tap_run("/capture/two-threads", test_two_threads);
	if (!getenv("NB_KEEP_CAPTURE"))
		unlink(path);
	rte_mempool_free(pool);
	nb_eal_fini();
	return tap_done();
}
