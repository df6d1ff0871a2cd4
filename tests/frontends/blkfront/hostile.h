/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkfront hostile scenarios (hostile.c): named patterns a malicious guest
 * could send, and the backend's answer to each. Main thread only.
 */
#ifndef BLKFRONT_HOSTILE_H
#define BLKFRONT_HOSTILE_H

#include "blkfront.h"

struct bf_hostile_result {
	/* okay, error, eopnotsupp, status, closed, timeout, bad-ring, setup-failed,
	 * and for double-fetch consistent or inconsistent */
	char answer[24];
	char detail[200];
	/* after the scenario: ok, error, no-answer, not-checked (device closed) */
	char after[16];
};

struct ctx;

struct bf_hostile {
	const char *name;
	const char *what;
	void (*fn)(struct ctx *c);
};

/* Runs one scenario; -ENOENT when the name is unknown. */
int bf_hostile_run(struct bf_dev *d, const char *name, struct bf_hostile_result *res);
void bf_hostile_list(FILE *f);

#endif
