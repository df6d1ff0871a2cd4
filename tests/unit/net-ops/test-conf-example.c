// SPDX-License-Identifier: GPL-2.0-only
/*
 * systemd/netbackd.conf.example against netbackd's own parser
 * (netbackd/config.c): the file loads, its active lines are exactly the
 * defaults, each commented-out example parses, and every option of
 * `netbackd --help` that the config file can hold has a line in it.
 * Usage: test-net-conf-example EXAMPLE   (TAP)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "config.h"

static int n, fails;

static void ok(int cond, const char *fmt, const char *arg)
{
	n++;
	printf("%s %d - ", cond ? "ok" : "not ok", n);
	printf(fmt, arg);
	putchar('\n');
	if (!cond)
		fails++;
}

static int set(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return nb_config_set(cfg, key, value, err, errlen);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* "#key = value" lines: each must be accepted by nb_config_set. */
static void check_commented(const char *text)
{
	char line[1024], key[64], err[256];
	const char *p = text, *nl;

	for (; *p; p = nl ? nl + 1 : p + strlen(p)) {
		struct nb_config c;
		const char *eq, *v;
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(line) || p[0] != '#')
			continue;
		memcpy(line, p, len);
		line[len] = '\0';
		eq = strstr(line, " = ");
		for (v = line + 1; *v == ' '; v++)
			;
		/* a setting: "#key = value" or "# key = value", no prose */
		if (!eq || sscanf(v, "%63[a-z-]", key) != 1 || v + strlen(key) != eq)
			continue;
		for (v = eq + 3; isspace((unsigned char)*v); v++)
			;
		nb_config_defaults(&c);
		err[0] = '\0';
		ok(nb_config_set(&c, key, v, err, sizeof(err)) == 0, "commented example '%s' parses",
		   line);
	}
}

/* Has the example a line "name = ", "#name = " or "# name = "? */
static int has_line(const char *text, const char *name)
{
	static const char *const forms[] = { "\n%s = ", "\n#%s = ", "\n# %s = " };
	char want[80];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(want, sizeof(want), forms[i], name);
		if (strstr(text, want))
			return 1;
	}
	return 0;
}

/* The usage text's option lines ("  -h, --help", "      --workers N"), but
 * the command-line-only ones, each need a line in the example. */
static void check_documented(const char *text)
{
	static const char *const cli_only[] = { "help", "version", "config", "status",
						"mac-table", "capture", NULL };
	const char *p = nb_config_usage(), *nl;
	char name[64];

	for (; *p; p = nl ? nl + 1 : p + strlen(p)) {
		const char *q = p;
		int skip = 0;

		nl = strchr(p, '\n');
		while (*q == ' ')
			q++;
		if (q[0] == '-' && q[1] != '-' && q[2] == ',')
			q += 3;
		while (*q == ' ')
			q++;
		if (strncmp(q, "--", 2) || sscanf(q + 2, "%63[a-z-]", name) != 1)
			continue;
		for (const char *const *c = cli_only; *c; c++)
			skip |= !strcmp(*c, name);
		if (!skip)
			ok(has_line(text, name), "--%s has a line in the example", name);
	}
}

int main(int argc, char **argv)
{
	struct nb_config def, got;
	char err[512] = "";
	char *text;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s EXAMPLE\n", argv[0]);
		return 2;
	}
	nb_config_defaults(&def);
	nb_config_defaults(&got);
	r = conf_load(argv[1], set, &got, err, sizeof(err));
	ok(r == 0, "the example loads%s", r ? " (see below)" : "");
	if (r)
		printf("# %s\n", err);
	ok(memcmp(&def, &got, sizeof(def)) == 0, "its active lines are the defaults%s", "");
	text = slurp(argv[1]);
	if (!text) {
		printf("Bail out! cannot read %s\n", argv[1]);
		return 1;
	}
	check_commented(text);
	check_documented(text);
	free(text);
	printf("1..%d\n", n);
	return fails ? 1 : 0;
}
