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
