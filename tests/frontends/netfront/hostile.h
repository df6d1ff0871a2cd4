/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netfront hostile scenarios (hostile.c): named slot patterns a malicious
 * guest could send, and the backend's answer to each. Main thread only, no
 * worker running.
 */
#ifndef NETFRONT_HOSTILE_H
#define NETFRONT_HOSTILE_H

#include "netfront.h"

struct nf_hostile_result {
	/* dropped (error responses), closed (backend Closing/Closed), ok, timeout,
	 * bad-ring, setup-failed */
	char answer[16];
	char detail[200];
	/* afterwards: ok (a valid frame got OKAY), error, no-answer, not-checked */
	char after[16];
};

/* Runs one scenario; -ENOENT when the name is unknown. */
int nf_hostile_run(struct nf_dev *d, const char *name, struct nf_hostile_result *res);
void nf_hostile_list(FILE *f);

#endif
