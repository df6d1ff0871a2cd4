// SPDX-License-Identifier: GPL-2.0-only
/*
 * c2c CPU_A CPU_B [ROUND_TRIPS]: the time one cache line takes to go from
 * CPU_A to CPU_B and back (two threads pinned there hand a flag to each
 * other), in nanoseconds per round trip, printed as one number.
 *
 * net-bench's (a) runs the guest's netfront on one CPU and netbackd on the
 * other, and every ring index, request and response crosses between them:
 * on a VM whose two vCPUs the host places near each other one time and
 * far apart another, (a) follows the placement. This says which one a
 * round had.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Alignas(64) _Atomic int flag;
static long trips = 1000000;

static void *peer(void *arg)
{
	(void)arg;
	for (long i = 0; i < trips; i++) {
		while (atomic_load_explicit(&flag, memory_order_acquire) != 1)
			;
		atomic_store_explicit(&flag, 0, memory_order_release);
	}
	return NULL;
}

static long arg_of(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_attr_t attr;
	cpu_set_t set;
	pthread_t t;
	long cpu_a, cpu_b;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: c2c CPU_A CPU_B [ROUND_TRIPS]\n");
		return 2;
	}
	cpu_a = arg_of(argv[1], CPU_SETSIZE - 1);
	cpu_b = arg_of(argv[2], CPU_SETSIZE - 1);
	if (argc == 4)
		trips = arg_of(argv[3], 1000000000);
	if (cpu_a < 0 || cpu_b < 0 || trips < 1) {
		fprintf(stderr, "c2c: CPUs are numbers below %d, ROUND_TRIPS 1..10^9\n", CPU_SETSIZE);
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET((int)cpu_a, &set);
	r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (r != 0) {
		fprintf(stderr, "c2c: cannot run on CPU %ld: %s\n", cpu_a, strerror(r));
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET((int)cpu_b, &set);
	r = pthread_attr_init(&attr);
	if (r == 0)
		r = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (r == 0)
		r = pthread_create(&t, &attr, peer, NULL);
	if (r != 0) {
		fprintf(stderr, "c2c: cannot run a thread on CPU %ld: %s\n", cpu_b, strerror(r));
		return 1;
	}
	pthread_attr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < trips; i++) {
		atomic_store_explicit(&flag, 1, memory_order_release);
		while (atomic_load_explicit(&flag, memory_order_acquire) == 1)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	printf("%.1f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
				 (double)trips);
	return 0;
}
