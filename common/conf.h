/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The settings machinery both daemons share: a `key = value` config file
 * and a command line with the same names ("--max-queues 4" and
 * "max-queues = 4"), the command line overriding the file, strict value
 * parsers, and errors that name the bad key or value. Each daemon keeps
 * only its table: a setter that knows its keys (blkbackd/config.c,
 * netbackd/config.c).
 *
 * Pure and single-threaded (main, before anything starts); no logging:
 * errors go into the caller's buffer, -errno is returned.
 */
#ifndef DDOM_CONF_H
#define DDOM_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A daemon's setter: key without dashes, value (NULL for a flag listed in
 * conf_parse_args' flags). Unknown key: -ENOENT (err need not be set); a
 * bad value: -EINVAL/-ERANGE with err filled (conf_bad_value does it).
 */
typedef int (*conf_set_fn)(void *cfg, const char *key, const char *value, char *err,
			   size_t errlen);

/* Strict decimal in [lo, hi]: -EINVAL for junk, -ERANGE outside. */
int conf_parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *ret);
/* "err", "warning", "notice", "info", "debug" to LOG_*. */
int conf_parse_level(const char *v, int *ret);
/* Copies a non-empty path shorter than n. */
int conf_set_path(char *dst, size_t n, const char *v);
/* Fills err with "bad value 'V' for 'K'" and returns -EINVAL. */
int conf_bad_value(char *err, size_t errlen, const char *key, const char *value);

/*
 * The settings both daemons have, under the same names: where the control
 * socket and restart state live, the log level, and the bounds on the
 * devices the xenbus layer tracks (xb_bus_set_limits).
 */
struct conf_common {
	char runtime_dir[PATH_MAX];	/* "" : $RUNTIME_DIRECTORY, else the daemon's */
	int log_level;			/* LOG_ERR .. LOG_DEBUG */
	unsigned max_devices;		/* devices in total */
	unsigned max_devices_per_domain;	/* devices of one frontend domain */
};

/*
 * Device bounds: the defaults and what an operator may set. The defaults
 * carry 64 guests x 4 disks with room; the caps keep a typo from meaning
 * "unbounded" (each device costs a few KiB on the loop thread before it has
 * a ring, more after). Nothing in xenstore bounds the count any more: the
 * bus uses one watch in all (common/xenbus.c), and the node quota of the
 * driver domain's xenstored is the limit an operator meets first.
 */
#define CONF_MAX_DEVICES_DEFAULT 512
#define CONF_MAX_DEVICES_CAP 4096
#define CONF_MAX_PER_DOMAIN_DEFAULT 32
#define CONF_MAX_PER_DOMAIN_CAP 256

void conf_common_defaults(struct conf_common *c);
/* As a conf_set_fn for the keys above: -ENOENT for any other key. */
int conf_common_set(struct conf_common *c, const char *key, const char *value, char *err,
		    size_t errlen);

/* Lines "key = value", '#' comments, blank lines; errors carry file:line. */
int conf_load(const char *path, conf_set_fn set, void *cfg, char *err, size_t errlen);
/*
 * The whole command line: --config FILE first (loaded through set), then
 * every other option over it. `flags` (NULL-terminated) names the options
 * that take no value; -h and -V stand for --help and --version. An unknown
 * option is "unknown option '--x'".
 */
int conf_parse_args(int argc, char **argv, const char *const *flags, conf_set_fn set, void *cfg,
		    char *err, size_t errlen);

#endif
