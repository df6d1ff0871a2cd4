/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An in-process stand-in for grant tables and one event channel, for the
 * blkbackd unit tests: "guest" pages live in a memfd, a grant ref is a page
 * number, gnttab_map maps those pages again at a fresh address (so the
 * backend really aliases the guest's memory), grant copy checks bounds and
 * revoked refs. The backend's event channel is an eventfd the test writes;
 * the backend's notifications are counted in another eventfd.
 *
 * Tests only; not thread-safe beyond what one backend thread and the test
 * thread need (atomic counters).
 */
#ifndef BLK_TEST_FAKE_XEN_H
#define BLK_TEST_FAKE_XEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "xen-ops.h"

#define FAKE_PAGES 4096

struct fake_xen {
	int memfd;
	uint8_t *mem;			/* the guest's view of its pages */
	bool revoked[FAKE_PAGES];	/* grants ended by the guest */
	int to_backend;			/* eventfd: the guest's notifications */
	int to_guest;			/* eventfd: the backend's notifications */
	atomic_uint maps, unmaps, copies, mapped_now;
};

extern struct fake_xen fake;
extern const struct xen_ops fake_ops;

int fake_init(void);
void *fake_page(grant_ref_t ref);

#endif
