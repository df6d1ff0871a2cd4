// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront hostile scenarios: not written yet; every name is unknown
 * (-ENOENT) and the list is empty. Main thread only.
 */
#include <errno.h>

#include "hostile.h"

int nf_hostile_run(struct nf_dev *d, const char *name, struct nf_hostile_result *res)
{
	(void)d;
	(void)name;
	(void)res;
	return -ENOENT;
}

void nf_hostile_list(FILE *f)
{
	(void)f;
}
