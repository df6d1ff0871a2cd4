/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netfront runs (run.c): the worker threads, one per queue, in generator /
 * verifier mode or bridging a TAP device, and the main thread's watch over
 * them (the backend's state, signals, the receive timeout).
 */
#ifndef NETFRONT_RUN_H
#define NETFRONT_RUN_H

#include <signal.h>

#include "netfront.h"

struct nf_run_opts {
	uint64_t send, recv;
	uint8_t to[6], from[6];
	bool have_from;
	unsigned size_min, size_max;
	bool flood;
	double pps;
	uint32_t stream;
	const char *tap;
};

struct nf_run_result {
	uint64_t sent;			/* frames put on the ring */
	uint64_t corrupted, ignored;
	uint64_t bytes_sent, bytes_received;
	struct nf_seq seq;		/* received, lost, reordered, duplicates */
	double tx_s, rx_s;		/* first to last frame of each direction */
	double elapsed_s;
	int fail;
	char why[256];
};

/* Set from a signal handler: stop the run (and, with --tap, the program). */
extern volatile sig_atomic_t nf_halt_requested;

/* Runs to completion; 0, or -errno with res->why. Main thread. */
int nf_run(struct nf_dev *d, const struct nf_run_opts *o, struct nf_run_result *res);

#endif
