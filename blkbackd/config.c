// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkbackd settings (see config.h). Runs on the main thread before anything
 * else; never logs, never exits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "config.h"
#include "queue.h"

void blk_config_defaults(struct blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->kinds = BLK_KIND_VBD;
	c->max_queues = 4;
	/* Linux blkback's MAX_INDIRECT_SEGMENTS. */
	c->max_indirect = 256;
	c->max_ring_order = BLK_MAX_RING_ORDER;
	/* Linux blkback's default max_persistent_grants. */
	c->persistent_grants = 1056;
	c->poll_us = BLK_POLL_US_DEFAULT;
	c->poll_io_us = BLK_POLL_IO_US_DEFAULT;
	c->submit_batch = BLK_SUBMIT_BATCH_DEFAULT;
	conf_common_defaults(&c->common);
}

static int parse_kinds(const char *v, unsigned *ret)
{
	char buf[64];
	char *tok, *save;
	unsigned k = 0;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "vbd"))
			k |= BLK_KIND_VBD;
		else if (!strcmp(tok, "qdisk"))
			k |= BLK_KIND_QDISK;
		else if (!strcmp(tok, "vbd3"))
			k |= BLK_KIND_VBD3;
		else
			return -EINVAL;
	}
	if (!k)
		return -EINVAL;
	*ret = k;
	return 0;
}

int blk_config_set(struct blk_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	int r;

	/* The flags: command line only (a value means it came from a file). */
	if (!strcmp(key, "help") || !strcmp(key, "version") || !strcmp(key, "status")) {
		if (value)
			return -ENOENT;
		*(!strcmp(key, "help") ? &c->help : !strcmp(key, "version") ? &c->version
									      : &c->status) = true;
		return 0;
	}
	if (!value)
		return -ENOENT;
	if (!strcmp(key, "kinds"))
		r = parse_kinds(value, &c->kinds);
	else if (!strcmp(key, "max-queues"))
		r = conf_parse_uint(value, 1, BLK_MAX_QUEUES_CAP, &c->max_queues);
	else if (!strcmp(key, "max-indirect-segments")) {
		/* 0 turns indirect off; below 11 it would be no gain over a
		 * direct request (BLKIF_MAX_SEGMENTS_PER_REQUEST); one iovec
		 * per segment caps it at UIO_MAXIOV (1024). */
		r = conf_parse_uint(value, 0, BLK_MAX_INDIRECT_CAP, &c->max_indirect);
		if (!r && c->max_indirect && c->max_indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
			r = -ERANGE;
	} else if (!strcmp(key, "max-ring-order"))
		r = conf_parse_uint(value, 0, BLK_MAX_RING_ORDER, &c->max_ring_order);
	else if (!strcmp(key, "persistent-grants"))
		r = conf_parse_uint(value, 0, BLK_PERSISTENT_CAP, &c->persistent_grants);
	else if (!strcmp(key, "workers"))
		/* 0: one per CPU in the daemon's affinity mask (vbd.c). More
		 * threads than CPUs only add switches between them. */
		r = conf_parse_uint(value, 0, BLK_WORKERS_CAP, &c->workers);
	else if (!strcmp(key, "poll-us"))
		/* Past 10 ms a poll is no longer a short wait for the next
		 * request but a CPU given away: refuse it as a likely typo. */
		r = conf_parse_uint(value, 0, BLK_POLL_US_CAP, &c->poll_us);
	else if (!strcmp(key, "poll-io-us"))
		/*
		 * With I/O in flight a completion is due: a store answers in
		 * 10-200 us (SSDs), or after a gap of a few hundred when it
		 * completes in batches (the virtio disk measured in
		 * docs/bench.md: one interrupt per ~31 requests at QD32), so
		 * 1 ms covers it and a worker that slept instead would pay a
		 * wakeup per batch. A disk slower than that (a spinning one,
		 * 4-10 ms) lets the worker sleep. Same cap as poll-us.
		 */
		r = conf_parse_uint(value, 0, BLK_POLL_US_CAP, &c->poll_io_us);
	else if (!strcmp(key, "submit-batch"))
		r = conf_parse_uint(value, 1, BLK_SUBMIT_BATCH_CAP, &c->submit_batch);
	else
		return conf_common_set(&c->common, key, value, err, errlen);
	if (r < 0)
		return conf_bad_value(err, errlen, key, value);
	return 0;
}

static int set(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return blk_config_set(cfg, key, value, err, errlen);
}

int blk_config_load(struct blk_config *c, const char *path, char *err, size_t errlen)
{
	return conf_load(path, set, c, err, errlen);
}

int blk_config_parse_args(struct blk_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const char *const flags[] = { "help", "version", "status", NULL };

	return conf_parse_args(argc, argv, flags, set, c, err, errlen);
}

const char *blk_config_usage(void)
{
	return "Usage: blkbackd [OPTIONS]\n"
	       "User-space Xen block backend (blkif) for a driver domain.\n"
	       "\n"
	       "  -h, --help                     this text\n"
	       "  -V, --version                  print the version\n"
	       "      --config FILE              read defaults from FILE (key = value lines)\n"
	       "      --kinds LIST               backend kinds to serve: vbd,qdisk,vbd3 (vbd)\n"
	       "      --max-queues N             multi-queue-max-queues, 1..32 (4)\n"
	       "      --max-indirect-segments N  feature-max-indirect-segments, 0 or 12..1024 (256)\n"
	       "      --max-ring-order N         max-ring-page-order, 0..4 (4)\n"
	       "      --persistent-grants N      persistent grants kept per queue, 0 = off (1056)\n"
	       "      --workers N                data-path threads serving every queue, 1.." BLK_STR(BLK_WORKERS_CAP) ";\n"
	       "                                 0 = one per CPU the daemon may use (0)\n"
	       "      --poll-us N                a worker busy-polls its queues this long\n"
	       "                                 (microseconds) before sleeping; 0 = always sleep,\n"
	       "                                 0..10000 (" BLK_STR(BLK_POLL_US_DEFAULT) ")\n"
	       "      --poll-io-us N             the same while a queue's I/O is in flight,\n"
	       "                                 waiting for the store; 0..10000 (" BLK_STR(BLK_POLL_IO_US_DEFAULT) ")\n"
	       "      --submit-batch N           requests per io_submit, at most; 1.." BLK_STR(BLK_SUBMIT_BATCH_CAP) " (" BLK_STR(BLK_SUBMIT_BATCH_DEFAULT) ")\n"
	       "      --max-devices N            vbds served at most, 1..4096 (512)\n"
	       "      --max-devices-per-domain N ... of one guest, 1..256 (32)\n"
	       "      --runtime-dir DIR          control socket and restart state\n"
	       "                                 ($RUNTIME_DIRECTORY, else /run/blkbackd)\n"
	       "      --log-level LEVEL          err, warning, notice, info, debug (info)\n"
	       "      --status                   print every vbd's counters from the running\n"
	       "                                 daemon and exit\n"
	       "\n"
	       "The config file takes the same names without the dashes, e.g. 'max-queues = 2'.\n";
}
