// SPDX-License-Identifier: GPL-2.0-only
/*
 * `xensim dump DIR [PATH] [--symbolic]`: the store as `xenstore-ls -f -p`
 * prints it (tools/xenstore/xenstore_client.c do_ls, without the dot padding),
 * one node a line, children sorted, so two trees compare with diff:
 *
 *   /local/domain/3/device/vbd/51712/state = "1"  (n3,r2)
 *
 * --symbolic replaces domain ids by {name} (and /vm/<uuid> by /vm/{name})
 * where they appear as ids: in /local/domain/<id>, /libxl/<id>,
 * backend/<kind>/<id>, in frontend-id/backend-id/domid values, in path values
 * and in permissions. dom0 stays 0. This is what the real-Xen oracle compares.
 *
 * Runs in the single thread of the verb; reads only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

static const char dump_usage[] =
	"usage: xensim dump DIR [PATH] [--symbolic]\n"
	"  Prints the xenstore tree under PATH (default /) with permissions, one node\n"
	"  a line as `xenstore-ls -f -p` does: PATH = \"VALUE\"  (PERMS).\n"
	"  --symbolic  domain ids as {name}, /vm/<uuid> as /vm/{name}\n"
	"  DIR `-': the xenstored libxenstore finds by itself (XENSTORED_PATH, else\n"
	"  the host's), e.g. in dom0 of a real Xen host, for the oracle's comparison.\n";

struct symtab {
	unsigned ids[256];
	char *names[256];
	char *uuids[256];
	unsigned n;
};

static void sym_load(struct ts_host *h, struct symtab *s)
{
	char p[96], **ents, *vm;
	unsigned n = 0;

	s->n = 0;
	ents = xs_directory(h->xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; ents && i < n && s->n < 256; i++) {
		unsigned id = (unsigned)strtoul(ents[i], NULL, 10);

		snprintf(p, sizeof(p), "/local/domain/%u/name", id);
		s->names[s->n] = ts_xs_read(h, XBT_NULL, p);
		if (!s->names[s->n])
			continue;
		snprintf(p, sizeof(p), "/local/domain/%u/vm", id);
		vm = ts_xs_read(h, XBT_NULL, p);
		s->uuids[s->n] = vm && !strncmp(vm, "/vm/", 4) ? strdup(vm + 4) : NULL;
		free(vm);
		s->ids[s->n++] = id;
	}
	free(ents);
}

static void sym_free(struct symtab *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		free(s->names[i]);
		free(s->uuids[i]);
	}
	s->n = 0;
}

static const char *sym_id(const struct symtab *s, const char *num)
{
	char *ep;
	unsigned long id;

	if (!s || !isdigit((unsigned char)num[0]))
		return NULL;
	id = strtoul(num, &ep, 10);
	if (*ep || id == 0)
		return NULL;
	for (unsigned i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return s->names[i];
	return NULL;
}

static const char *sym_uuid(const struct symtab *s, const char *uuid)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (s->uuids[i] && !strcmp(s->uuids[i], uuid))
			return s->names[i];
	return NULL;
}

/* Rewrites the id components of a store path into out. */
static void sym_path(const struct symtab *s, const char *path, char *out, size_t len)
{
	char copy[TS_PATH_MAX], *comp[64], *save = NULL, *c;
	size_t o = 0;
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	for (c = strtok_r(copy, "/", &save); c && n < 64; c = strtok_r(NULL, "/", &save))
		comp[n++] = c;
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		const char *name = NULL;

		if ((i >= 2 && !strcmp(comp[i - 1], "domain") && !strcmp(comp[i - 2], "local")) ||
		    (i == 1 && !strcmp(comp[0], "libxl")) ||
		    (i >= 2 && !strcmp(comp[i - 2], "backend")))
			name = sym_id(s, comp[i]);
		else if (i == 1 && !strcmp(comp[0], "vm"))
			name = sym_uuid(s, comp[i]);
		if (name)
			o += (size_t)snprintf(out + o, len - o, "/{%s}", name);
		else
			o += (size_t)snprintf(out + o, len - o, "/%s", comp[i]);
		if (o >= len)
			break;
	}
	if (!n)
		snprintf(out, len, "/");
}

/* xenstore_client.c sanitise_value(): escapes what is not printable. */
static void print_value(const char *v, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < ' ' || c > '~')
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

static void print_perms(const struct symtab *s, struct xs_permissions *p, unsigned n)
{
	char num[16];

	fputs("  (", stdout);
	for (unsigned i = 0; i < n; i++) {
		const char *name;
		char c;

		switch (p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)) {
		case XS_PERM_READ:
			c = 'r';
			break;
		case XS_PERM_WRITE:
			c = 'w';
			break;
		case XS_PERM_READ | XS_PERM_WRITE:
			c = 'b';
			break;
		default:
			c = 'n';
		}
		snprintf(num, sizeof(num), "%u", p[i].id);
		name = sym_id(s, num);
		if (name)
			printf("%s%c{%s}", i ? "," : "", c, name);
		else
			printf("%s%c%u", i ? "," : "", c, p[i].id);
	}
	putchar(')');
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static bool is_id_key(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strcmp(b, "frontend-id") || !strcmp(b, "backend-id") || !strcmp(b, "domid");
}

static void print_node(struct ts_host *h, const struct symtab *s, const char *path)
{
	char spath[TS_PATH_MAX], sval[TS_PATH_MAX];
	struct xs_permissions *perms;
	unsigned len = 0, np = 0;
	const char *name;
	char *v;

	v = xs_read(h->xs, XBT_NULL, path, &len);
	if (s) {
		sym_path(s, path, spath, sizeof(spath));
		fputs(spath, stdout);
	} else {
		fputs(path, stdout);
	}
	if (!v) {
		puts(":");	/* unreadable, as xenstore-ls prints it */
		return;
	}
	fputs(" = \"", stdout);
	if (s && is_id_key(path) && (name = sym_id(s, v)))
		printf("{%s}", name);
	else if (s && v[0] == '/' && strlen(v) < sizeof(sval)) {
		sym_path(s, v, sval, sizeof(sval));
		fputs(sval, stdout);
	} else if (s && has_suffix(path, "/uuid") && (name = sym_uuid(s, v)))
		printf("{%s}", name);
	else
		print_value(v, len);
	putchar('"');
	free(v);
	perms = xs_get_permissions(h->xs, XBT_NULL, path, &np);
	if (perms)
		print_perms(s, perms, np);
	free(perms);
	putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(struct ts_host *h, const struct symtab *s, const char *path)
{
	char child[TS_PATH_MAX], **ents;
	unsigned n = 0;

	ents = xs_directory(h->xs, XBT_NULL, path, &n);
	if (!ents)
		return;
	qsort(ents, n, sizeof(*ents), cmp_str);
	for (unsigned i = 0; i < n; i++) {
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
			 ents[i]);
		print_node(h, s, child);
		walk(h, s, child);
	}
	free(ents);
}

int cmd_dump(int argc, char **argv)
{
	const char *dir = NULL, *path = "/";
	struct symtab syms;
	bool symbolic = false;
	struct ts_host h;
	int npos = 0;

	if (ts_want_help(argc, argv, dump_usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--symbolic"))
			symbolic = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return ts_usage_error(dump_usage, "unknown option `%s'", argv[i]);
		else if (npos++ == 0)
			dir = argv[i];
		else if (npos == 2)
			path = argv[i];
		else
			return ts_usage_error(dump_usage, "too many arguments");
	}
	if (!dir)
		return ts_usage_error(dump_usage, "expected DIR");
	if (path[0] != '/')
		return ts_usage_error(dump_usage, "PATH must be absolute");
	if (!strcmp(dir, "-")) {
		memset(&h, 0, sizeof(h));
		h.xs = xs_open(0);
		if (!h.xs) {
			ts_err("cannot connect to xenstored: %s", strerror(errno));
			return TS_EXIT_FAIL;
		}
	} else if (ts_host_init(&h, dir) || ts_host_open(&h)) {
		return TS_EXIT_FAIL;
	}
	if (symbolic)
		sym_load(&h, &syms);
	if (strcmp(path, "/")) {
		char *v = xs_read(h.xs, XBT_NULL, path, NULL);

		if (!v) {
			ts_err("%s: %s", path, strerror(errno));
			ts_host_close(&h);
			return TS_EXIT_FAIL;
		}
		free(v);
		print_node(&h, symbolic ? &syms : NULL, path);
	}
	walk(&h, symbolic ? &syms : NULL, path);
	if (symbolic)
		sym_free(&syms);
	ts_host_close(&h);
	return fflush(stdout) ? TS_EXIT_FAIL : 0;
}
