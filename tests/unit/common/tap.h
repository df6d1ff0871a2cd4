/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal TAP producer for the common/ unit tests: run named cases, print
 * "ok N - /module/case" or "not ok", then the plan. CHECK records a failure
 * and goes on; REQUIRE records it and leaves the case. Single-threaded.
 */
#ifndef DDOM_TEST_TAP_H
#define DDOM_TEST_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>

static int tap_count;
static int tap_failed_cases;
static bool tap_case_failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			tap_case_failed = true;                                      \
		}                                                                    \
	} while (0)

#define REQUIRE(cond)                                                                  \
	do {                                                                           \
		if (!(cond)) {                                                         \
			printf("# %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
			tap_case_failed = true;                                        \
			return;                                                        \
		}                                                                      \
	} while (0)

static inline void tap_run(const char *name, void (*fn)(void))
{
	tap_case_failed = false;
	fflush(stdout);
	fn();
	tap_count++;
	if (tap_case_failed)
		tap_failed_cases++;
	printf("%sok %d - %s\n", tap_case_failed ? "not " : "", tap_count, name);
	fflush(stdout);
}

/* CLOCK_MONOTONIC in milliseconds, for bounded waits. */
static inline uint64_t test_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed_cases ? 1 : 0;
}

#endif
