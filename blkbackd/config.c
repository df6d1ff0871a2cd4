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
	c->log_level = LOG_INFO;
}

static int errf(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return -EINVAL;
}

/* Strict decimal in [lo, hi]. */
static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *ret)
{
	unsigned long long n = 0;
	const char *p;

	if (!*v)
		return -EINVAL;
	for (p = v; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		n = n * 10 + (unsigned)(*p - '0');
		if (n > hi)
			return -ERANGE;
	}
	if (n < lo)
		return -ERANGE;
	*ret = (unsigned)n;
	return 0;
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

static int parse_level(const char *v, int *ret)
{
	static const struct {
		const char *name;
		int level;
	} lv[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
		if (!strcmp(v, lv[i].name)) {
			*ret = lv[i].level;
			return 0;
		}
	return -EINVAL;
}

static int set_path(char *dst, const char *v)
{
	if (!*v || strlen(v) >= PATH_MAX)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

int blk_config_set(struct blk_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	int r;

	if (!strcmp(key, "kinds"))
		r = parse_kinds(value, &c->kinds);
	else if (!strcmp(key, "max-queues"))
		r = parse_uint(value, 1, BLK_MAX_QUEUES_CAP, &c->max_queues);
	else if (!strcmp(key, "max-indirect-segments")) {
		/* 0 turns indirect off; below 11 it would be no gain over a
		 * direct request (BLKIF_MAX_SEGMENTS_PER_REQUEST); one iovec
		 * per segment caps it at UIO_MAXIOV (1024). */
		r = parse_uint(value, 0, BLK_MAX_INDIRECT_CAP, &c->max_indirect);
		if (!r && c->max_indirect && c->max_indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
			r = -ERANGE;
	} else if (!strcmp(key, "max-ring-order"))
		r = parse_uint(value, 0, BLK_MAX_RING_ORDER, &c->max_ring_order);
	else if (!strcmp(key, "persistent-grants"))
		r = parse_uint(value, 0, BLK_PERSISTENT_CAP, &c->persistent_grants);
	else if (!strcmp(key, "poll-us"))
		/* Past 10 ms a poll is no longer a short wait for the next
		 * request but a CPU given away: refuse it as a likely typo. */
		r = parse_uint(value, 0, BLK_POLL_US_CAP, &c->poll_us);
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
		r = parse_uint(value, 0, BLK_POLL_US_CAP, &c->poll_io_us);
	else if (!strcmp(key, "submit-batch"))
		r = parse_uint(value, 1, BLK_SUBMIT_BATCH_CAP, &c->submit_batch);
	else if (!strcmp(key, "runtime-dir"))
		r = set_path(c->runtime_dir, value);
	else if (!strcmp(key, "log-level"))
		r = parse_level(value, &c->log_level);
	else
		return errf(err, errlen, "unknown setting '%s'%s", key, "");
	if (r < 0)
		return errf(err, errlen, "bad value '%s' for '%s'", value, key);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int blk_config_load(struct blk_config *c, const char *path, char *err, size_t errlen)
{
	char line[1024], msg[768];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(-r));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq;

		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		r = blk_config_set(c, key, value, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	return r;
}

/* Options that take no value. */
static bool is_flag(const char *name)
{
	return !strcmp(name, "help") || !strcmp(name, "version") || !strcmp(name, "status");
}

/*
 * Splits argv[*i] ("--key", "--key=value", "-h", "-V") into name/value,
 * consuming the next argument as the value where needed.
 */
static int next_opt(int argc, char **argv, int *i, char *name, size_t nlen, const char **value,
		    char *err, size_t errlen)
{
	const char *a = argv[*i];
	const char *eq;

	if (!strcmp(a, "-h"))
		a = "--help";
	else if (!strcmp(a, "-V"))
		a = "--version";
	if (strncmp(a, "--", 2) || !a[2])
		return errf(err, errlen, "unexpected argument '%s'%s", a, "");
	a += 2;
	eq = strchr(a, '=');
	if ((size_t)(eq ? eq - a : (long)strlen(a)) >= nlen)
		return errf(err, errlen, "unknown option '--%s'%s", a, "");
	snprintf(name, nlen, "%.*s", (int)(eq ? eq - a : (long)strlen(a)), a);
	if (is_flag(name)) {
		if (eq)
			return errf(err, errlen, "option '--%s' takes no value%s", name, "");
		*value = NULL;
		return 0;
	}
	if (eq) {
		*value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return errf(err, errlen, "option '--%s' needs a value%s", name, "");
	*value = argv[++*i];
	return 0;
}

int blk_config_parse_args(struct blk_config *c, int argc, char **argv, char *err, size_t errlen)
{
	char name[64];
	const char *value;
	int i, r;

	/* Pass 1: the config file, so that options override it. */
	for (i = 1; i < argc; i++) {
		r = next_opt(argc, argv, &i, name, sizeof(name), &value, err, errlen);
		if (r < 0)
			return r;
		if (!strcmp(name, "config")) {
			if (set_path(c->config_file, value) < 0)
				return errf(err, errlen, "bad value '%s' for '%s'", value, "config");
		}
	}
	if (c->config_file[0]) {
		r = blk_config_load(c, c->config_file, err, errlen);
		if (r < 0)
			return r;
	}
	for (i = 1; i < argc; i++) {
		next_opt(argc, argv, &i, name, sizeof(name), &value, err, errlen);
		if (!strcmp(name, "help"))
			c->help = true;
		else if (!strcmp(name, "version"))
			c->version = true;
		else if (!strcmp(name, "status"))
			c->status = true;
		else if (strcmp(name, "config")) {
			r = blk_config_set(c, name, value, err, errlen);
			if (r < 0) {
				if (!strncmp(err, "unknown setting", 15))
					snprintf(err, errlen, "unknown option '--%s'", name);
				return r;
			}
		}
	}
	return 0;
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
	       "      --poll-us N                busy-poll a queue this long (microseconds) before\n"
	       "                                 sleeping; 0 = always sleep, 0..10000 (" BLK_STR(BLK_POLL_US_DEFAULT) ")\n"
	       "      --poll-io-us N             the same while the queue's I/O is in flight,\n"
	       "                                 waiting for the store; 0..10000 (" BLK_STR(BLK_POLL_IO_US_DEFAULT) ")\n"
	       "      --submit-batch N           requests per io_submit, at most; 1.." BLK_STR(BLK_SUBMIT_BATCH_CAP) " (" BLK_STR(BLK_SUBMIT_BATCH_DEFAULT) ")\n"
	       "      --runtime-dir DIR          control socket and restart state\n"
	       "                                 ($RUNTIME_DIRECTORY, else /run/blkbackd)\n"
	       "      --log-level LEVEL          err, warning, notice, info, debug (info)\n"
	       "      --status                   print every vbd's counters from the running\n"
	       "                                 daemon and exit\n"
	       "\n"
	       "The config file takes the same names without the dashes, e.g. 'max-queues = 2'.\n";
}
