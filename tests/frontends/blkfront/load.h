/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkfront load generator and verifier: one worker thread per queue keeps
 * up to iodepth I/Os of bs bytes in flight over its own stripe of the
 * region, stamps every 512-byte sector it writes with a header (offset,
 * generation, checksum) and checks every sector it reads. Latencies go to
 * a fixed log-linear histogram: nothing is allocated per I/O.
 *
 * The main thread builds a struct bf_load, then runs phases (a reconnect
 * between two phases, a verify pass at the end); a phase starts one thread
 * per queue and joins them.
 */
#ifndef BLKFRONT_LOAD_H
#define BLKFRONT_LOAD_H

#include <pthread.h>
#include <signal.h>

#include "blkfront.h"

enum bf_rw { BF_RW_NONE, BF_RW_READ, BF_RW_WRITE, BF_RW_RANDREAD, BF_RW_RANDWRITE,
	     BF_RW_RANDRW };

/* 64 linear buckets, then 32 per power of two up to 2^40 ns. */
#define BF_HIST_BUCKETS (64 + 35 * 32)

struct bf_hist {
	uint64_t b[BF_HIST_BUCKETS];
	uint64_t count, max_ns;
};

void bf_hist_add(struct bf_hist *h, uint64_t ns);
void bf_hist_merge(struct bf_hist *dst, const struct bf_hist *src);
uint64_t bf_hist_pct(const struct bf_hist *h, double pct);

struct bf_stats {
	struct bf_hist lat[2];	/* [0] reads, [1] writes */
	uint64_t ios[2], bytes[2];
	uint64_t errors;	/* responses other than OKAY */
	uint64_t verified_bytes;
	uint64_t mismatches;
};

struct bf_load_opts {
	enum bf_rw rw;
	unsigned bs;
	unsigned iodepth;
	unsigned poll_us;	/* spin for responses this long before sleeping */
	unsigned publish;	/* requests per req_prod update; 0 = 1 */
	unsigned rwmixread;	/* percent of reads in randrw */
	uint64_t offset, size;	/* region, bytes */
	uint64_t io_limit;	/* bytes per run; 0: size (one pass) unless runtime */
	double runtime;		/* seconds; 0: until io_limit */
	bool verify;
	bool verify_existing;	/* blocks not written this run must carry a valid stamp */
	uint64_t seed;
};

struct bf_load;

struct bf_load *bf_load_new(struct bf_dev *d, const struct bf_load_opts *o);
/* Frees; call bf_load_release first while the device is still open. */
void bf_load_free(struct bf_load *L);
/* Ends the grants of every queue's I/O pool: before the device is closed. */
void bf_load_release(struct bf_load *L);
/*
 * Runs one phase on every queue: the workload with a share of the byte and
 * time budgets (verify_pass false), or a read-back of every block written so
 * far (true). Returns 0, or -errno when a worker failed (reason in why).
 */
int bf_load_phase(struct bf_load *L, unsigned phase, unsigned nphases, bool verify_pass);
const struct bf_stats *bf_load_stats(struct bf_load *L);
const char *bf_load_why(struct bf_load *L);
double bf_load_elapsed(struct bf_load *L);
/*
 * Set from a SIGINT/SIGTERM handler: the running phase stops starting I/O,
 * drains, and no later workload phase runs (the verify pass still does).
 */
extern volatile sig_atomic_t bf_halt_requested;
bool bf_load_halted(struct bf_load *L);
/* Marks the blocks covering [off, off+len) as reading back zeros. */
void bf_load_mark_zero(struct bf_load *L, uint64_t off, uint64_t len);

/* Sector stamps, shared with the checks and hostile scenarios. */
void bf_stamp(uint8_t *buf, size_t len, uint64_t off, uint32_t gen, uint32_t run);
/* 0: every sector carries the stamp for (off, gen) (gen 0: any generation). */
int bf_stamp_check(const uint8_t *buf, size_t len, uint64_t off, uint32_t gen);
bool bf_is_zero(const uint8_t *buf, size_t len);

#endif
