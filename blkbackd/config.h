/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkbackd's settings: defaults, a key=value config file and the command
 * line (which overrides the file). Every key has the same name in both
 * ("--max-queues 4" and "max-queues = 4"). A bad key or value is an error
 * naming it; main exits 2 on it.
 *
 * Pure and single-threaded (main, before anything starts); no logging:
 * errors go into the caller's buffer.
 */
#ifndef BLKBACKD_CONFIG_H
#define BLKBACKD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "ctl.h"

/* Device kinds served (backend directory names). */
#define BLK_KIND_VBD (1u << 0)
#define BLK_KIND_QDISK (1u << 1)
#define BLK_KIND_VBD3 (1u << 2)

/* Caps on what an operator may configure, with their reasons in config.c. */
#define BLK_MAX_QUEUES_CAP 32
#define BLK_MAX_INDIRECT_CAP 1024
#define BLK_PERSISTENT_CAP 65536
#define BLK_POLL_US_CAP 10000
/* Worker threads, at most (common/workers.h WK_WORKERS_CAP). */
#define BLK_WORKERS_CAP 64
/* What a queue worker busy-polls by default (config.c says why). */
#define BLK_POLL_US_DEFAULT 50
/* ... and while its I/O is in flight, waiting for the store (config.c). */
#define BLK_POLL_IO_US_DEFAULT 1000
/* Requests handed to the store per io_submit (queue.c). 1 by default: on the
 * virtio disk measured here, bursts of 32 cut IOPS by a third against one
 * request per call (docs/bench.md, 2026-12-06); an operator with a device
 * that prefers batches raises it. The cap sizes the worker's submit array. */
#define BLK_SUBMIT_BATCH_DEFAULT 1
#define BLK_SUBMIT_BATCH_CAP 64
#define BLK_STR_(x) #x
#define BLK_STR(x) BLK_STR_(x)
/* The control socket in the runtime directory (common/ctl.h). */
#define BLK_CTL_SOCKET CTL_BLKBACKD_SOCKET

struct blk_config {
	unsigned kinds;			/* BLK_KIND_* */
	unsigned max_queues;		/* multi-queue-max-queues */
	unsigned max_indirect;		/* feature-max-indirect-segments; 0 = off */
	unsigned max_ring_order;	/* max-ring-page-order */
	unsigned persistent_grants;	/* per queue; 0 = no feature-persistent */
	unsigned workers;		/* data-path threads; 0 = one per CPU it may use */
	unsigned poll_us;		/* a worker busy-polls this long before sleeping */
	unsigned poll_io_us;		/* ... this long while its I/O is in flight */
	unsigned submit_batch;		/* requests per io_submit, at most */
	struct conf_common common;	/* runtime-dir, log-level, max-devices[-per-domain] */
	bool status;			/* --status: print counters and exit */
	bool help, version;
};

void blk_config_defaults(struct blk_config *c);
/*
 * key without the leading dashes; value NULL for the command-line flags
 * (help, version, status). -ENOENT for an unknown key, -EINVAL/-ERANGE with
 * err filled on a bad value (common/conf.h).
 */
int blk_config_set(struct blk_config *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* Lines "key = value", '#' comments, blank lines. -errno with err filled. */
int blk_config_load(struct blk_config *c, const char *path, char *err, size_t errlen);
/*
 * The whole command line: the config file (--config, else none) first, then
 * every option over it. -EINVAL with err filled.
 */
int blk_config_parse_args(struct blk_config *c, int argc, char **argv, char *err,
			  size_t errlen);
/* The --help text. */
const char *blk_config_usage(void);

#endif
