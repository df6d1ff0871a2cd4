// SPDX-License-Identifier: GPL-2.0-only
/*
 * Settings machinery (see conf.h). Main thread, before anything else; never
 * logs, never exits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"

void conf_common_defaults(struct conf_common *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->max_devices = CONF_MAX_DEVICES_DEFAULT;
	c->max_devices_per_domain = CONF_MAX_PER_DOMAIN_DEFAULT;
}

int conf_common_set(struct conf_common *c, const char *key, const char *value, char *err,
		    size_t errlen)
{
	int r;

	if (!value)
		return -ENOENT;
	if (!strcmp(key, "runtime-dir"))
		r = conf_set_path(c->runtime_dir, sizeof(c->runtime_dir), value);
	else if (!strcmp(key, "log-level"))
		r = conf_parse_level(value, &c->log_level);
	else if (!strcmp(key, "max-devices"))
		r = conf_parse_uint(value, 1, CONF_MAX_DEVICES_CAP, &c->max_devices);
	else if (!strcmp(key, "max-devices-per-domain"))
		r = conf_parse_uint(value, 1, CONF_MAX_PER_DOMAIN_CAP,
				    &c->max_devices_per_domain);
	else
		return -ENOENT;
	if (r < 0)
		return conf_bad_value(err, errlen, key, value);
	return 0;
}

int conf_bad_value(char *err, size_t errlen, const char *key, const char *value)
{
	snprintf(err, errlen, "bad value '%s' for '%s'", value ? value : "", key);
	return -EINVAL;
}

int conf_parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *ret)
{
	unsigned long long n = 0;
	const char *p;

	if (!v || !*v)
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

int conf_parse_level(const char *v, int *ret)
{
	static const struct {
		const char *name;
		int level;
	} lv[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; v && i < sizeof(lv) / sizeof(lv[0]); i++)
		if (!strcmp(v, lv[i].name)) {
			*ret = lv[i].level;
			return 0;
		}
	return -EINVAL;
}

int conf_set_path(char *dst, size_t n, const char *v)
{
	if (!v || !*v || strlen(v) >= n)
		return -EINVAL;
	strcpy(dst, v);
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

/* Calls set and turns "unknown" into a message naming the key. */
static int apply(conf_set_fn set, void *cfg, const char *key, const char *value, char *err,
		 size_t errlen, const char *unknown_fmt)
{
	int r;

	err[0] = '\0';
	r = set(cfg, key, value, err, errlen);
	if (r == -ENOENT)
		snprintf(err, errlen, unknown_fmt, key);
	else if (r < 0 && !err[0])
		conf_bad_value(err, errlen, key, value);
	return r < 0 ? (r == -ENOENT ? -EINVAL : r) : 0;
}

int conf_load(const char *path, conf_set_fn set, void *cfg, char *err, size_t errlen)
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
		r = apply(set, cfg, key, value, msg, sizeof(msg), "unknown setting '%s'");
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	return r;
}

static bool is_flag(const char *const *flags, const char *name)
{
	for (; *flags; flags++)
		if (!strcmp(*flags, name))
			return true;
	return false;
}

/*
 * Splits argv[*i] ("--key", "--key=value", "-h", "-V") into name/value,
 * consuming the next argument as the value where needed.
 */
static int next_opt(int argc, char **argv, int *i, const char *const *flags, char *name,
		    size_t nlen, const char **value, char *err, size_t errlen)
{
	const char *a = argv[*i];
	const char *eq;
	size_t len;

	if (!strcmp(a, "-h"))
		a = "--help";
	else if (!strcmp(a, "-V"))
		a = "--version";
	if (strncmp(a, "--", 2) || !a[2]) {
		snprintf(err, errlen, "unexpected argument '%s'", a);
		return -EINVAL;
	}
	a += 2;
	eq = strchr(a, '=');
	len = eq ? (size_t)(eq - a) : strlen(a);
	if (len >= nlen) {
		snprintf(err, errlen, "unknown option '--%s'", a);
		return -EINVAL;
	}
	snprintf(name, nlen, "%.*s", (int)len, a);
	if (is_flag(flags, name)) {
		if (eq) {
			snprintf(err, errlen, "option '--%s' takes no value", name);
			return -EINVAL;
		}
		*value = NULL;
		return 0;
	}
	if (eq) {
		*value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option '--%s' needs a value", name);
		return -EINVAL;
	}
	*value = argv[++*i];
	return 0;
}

int conf_parse_args(int argc, char **argv, const char *const *flags, conf_set_fn set, void *cfg,
		    char *err, size_t errlen)
{
	const char *value, *config = NULL;
	char name[64];
	int i, r;

	/* Pass 1: the config file, so that options override it. */
	for (i = 1; i < argc; i++) {
		r = next_opt(argc, argv, &i, flags, name, sizeof(name), &value, err, errlen);
		if (r < 0)
			return r;
		if (!strcmp(name, "config")) {
			if (!*value)
				return conf_bad_value(err, errlen, "config", value);
			config = value;
		}
	}
	if (config) {
		r = conf_load(config, set, cfg, err, errlen);
		if (r < 0)
			return r;
	}
	for (i = 1; i < argc; i++) {
		next_opt(argc, argv, &i, flags, name, sizeof(name), &value, err, errlen);
		if (!strcmp(name, "config"))
			continue;
		r = apply(set, cfg, name, value, err, errlen, "unknown option '--%s'");
		if (r < 0)
			return r;
	}
	return 0;
}
