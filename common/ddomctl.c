// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddomctl: one status tool for both daemons. Asks blkbackd and netbackd
 * for `status-json` on their control sockets (ctl.h) and shows every
 * device as a table (status), one device in detail (show), or metrics in
 * the Prometheus text exposition format 0.0.4 (metrics, --metrics-file for
 * node_exporter's textfile collector); --json gives every command's answer
 * as JSON. docs/ddomctl.md documents every field and metric.
 *
 * A short-lived client: it allocates freely and reads the daemons' answers
 * as untrusted text (bounded parser, json.h).
 *
 * Exit codes: 0 ok; 1 a daemon could not be reached, or the device was not
 * found; 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ddom-config.h"
#include "json.h"

#define EXIT_UNREACHABLE 1
#define EXIT_USAGE 2

struct daemon {
	const char *name;	/* "blkbackd" */
	const char *kind;	/* its devices: "vbd" */
	const char *dir;
	const char *sock;
	struct json_val *doc;	/* NULL: not reached */
	char why[512];		/* why not */
};

struct opts {
	bool json;
	const char *metrics_file;
	struct daemon d[2];
};

static void usage(FILE *f)
{
	fputs("Usage: ddomctl [OPTIONS] [COMMAND]\n"
	      "The state of a driver domain's blkbackd and netbackd.\n\n"
	      "Commands:\n"
	      "  status                 every device of both daemons (the default)\n"
	      "  show [vbd|vif] DOMID/DEV\n"
	      "                         one device in detail\n"
	      "  metrics                Prometheus text exposition format 0.0.4\n\n"
	      "Options:\n"
	      "  --json                 the answer as JSON (field names: docs/ddomctl.md)\n"
	      "  --metrics-file FILE    write the metrics to FILE atomically (for node_exporter's\n"
	      "                         textfile collector) instead of standard output\n"
	      "  --blkbackd-dir DIR     blkbackd's runtime directory (default " CTL_BLKBACKD_DIR ")\n"
	      "  --netbackd-dir DIR     netbackd's runtime directory (default " CTL_NETBACKD_DIR ")\n"
	      "  --help, --version\n\n"
	      "Exit status: 0 ok, 1 a daemon not reachable or no such device, 2 usage error.\n",
	      f);
}

/* ------------------------------------------------------------ fetching */

static void fetch(struct daemon *d)
{
	struct json_val *v = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		return;
	}
	r = ctl_query(d->dir, d->sock, "status-json", f);
	fclose(f);
	if (r < 0) {
		snprintf(d->why, sizeof(d->why), "%s is not running (cannot reach %s/%s: %s)",
			 d->name, d->dir, d->sock, strerror(-r));
		goto out;
	}
	/* r == 1 ("error: " seen) may be a message inside the JSON: parse first. */
	if (json_parse(text, len, &v) == 0 && json_get_str(v, "daemon") &&
	    !strcmp(json_get_str(v, "daemon"), d->name) && json_get(v, "devices")) {
		d->doc = v;
		goto out;
	}
	json_val_free(v);
	snprintf(d->why, sizeof(d->why), "%s in %s gave no status-json (older than ddomctl?)",
		 d->name, d->dir);
out:
	free(text);
}

static bool all_reached(const struct opts *o)
{
	return o->d[0].doc && o->d[1].doc;
}

static const struct json_val *devices(const struct daemon *d)
{
	const struct json_val *a = json_get(d->doc, "devices");

	return a && a->type == JSON_ARRAY ? a->child : NULL;
}

/* ------------------------------------------------------------- status */

/* "queues=1 ring_order=0 native persistent_grants flush": true flags by name, numbers as k=v. */
static void features_text(const struct json_val *dev, char *buf, size_t n)
{
	const struct json_val *c, *f = json_get(dev, "features");
	size_t len = 0;

	buf[0] = '\0';
	for (c = f ? f->child : NULL; c && len < n; c = c->next) {
		const char *sep = len ? " " : "";
		int w = 0;

		if (c->type == JSON_BOOL && c->b)
			w = snprintf(buf + len, n - len, "%s%s", sep, c->key);
		else if (c->type == JSON_NUMBER)
			w = snprintf(buf + len, n - len, "%s%s=%s", sep, c->key, c->str);
		else if (c->type == JSON_STRING && strcmp(c->str, "none"))
			w = snprintf(buf + len, n - len, "%s%s", sep, c->str);
		if (w > 0)
			len += (size_t)w;
	}
}

/* The sum of the device's counters whose names contain `part`. */
static uint64_t counter_sum(const struct json_val *dev, const char *part)
{
	const struct json_val *c, *cs = json_get(dev, "counters");
	uint64_t sum = 0, v;

	for (c = cs ? cs->child : NULL; c; c = c->next)
		if (strstr(c->key, part) && json_val_u64(c, &v) == 0)
			sum += v;
	return sum;
}

static void counters_text(const struct json_val *dev, char *buf, size_t n)
{
	const struct json_val *cs = json_get(dev, "counters");

	if (!strcmp(json_get_str(dev, "kind") ? json_get_str(dev, "kind") : "", "vbd"))
		snprintf(buf, n, "read=%" PRIu64 " write=%" PRIu64 " errors=%" PRIu64,
			 json_get_u64(cs, "read", 0), json_get_u64(cs, "write", 0),
			 json_get_u64(cs, "bad_requests", 0) + json_get_u64(cs, "io_errors", 0));
	else
		snprintf(buf, n, "tx=%" PRIu64 " rx=%" PRIu64 " drops=%" PRIu64,
			 json_get_u64(cs, "tx", 0), json_get_u64(cs, "rx", 0),
			 counter_sum(dev, "drop"));
}

enum { COL_KIND, COL_GUEST, COL_DEV, COL_STATE, COL_FE, COL_FEAT, COL_CNT, NCOLS };

struct row {
	char c[NCOLS][512];
	const char *error;
};

static void row_fill(struct row *r, const struct json_val *dev)
{
	const char *s;

	snprintf(r->c[COL_KIND], sizeof(r->c[0]), "%s", (s = json_get_str(dev, "kind")) ? s : "?");
	snprintf(r->c[COL_GUEST], sizeof(r->c[0]), "%" PRIu64, json_get_u64(dev, "domid", 0));
	snprintf(r->c[COL_DEV], sizeof(r->c[0]), "%" PRIu64, json_get_u64(dev, "devid", 0));
	snprintf(r->c[COL_STATE], sizeof(r->c[0]), "%s", (s = json_get_str(dev, "state")) ? s : "?");
	snprintf(r->c[COL_FE], sizeof(r->c[0]), "%s",
		 (s = json_get_str(dev, "frontend_state")) ? s : "?");
	features_text(dev, r->c[COL_FEAT], sizeof(r->c[0]));
	counters_text(dev, r->c[COL_CNT], sizeof(r->c[0]));
	r->error = json_get_str(dev, "error");
}

static void rows_print(const struct row *rows, size_t n)
{
	static const char *const head[NCOLS] = { "KIND", "GUEST", "DEV", "STATE", "FRONTEND",
						 "FEATURES", "COUNTERS" };
	size_t w[NCOLS], i;
	int c;

	for (c = 0; c < NCOLS; c++) {
		w[c] = strlen(head[c]);
		for (i = 0; i < n; i++)
			if (strlen(rows[i].c[c]) > w[c])
				w[c] = strlen(rows[i].c[c]);
	}
	for (c = 0; c < NCOLS; c++)
		printf("%-*s  ", (int)w[c], head[c]);
	printf("ERROR\n");
	for (i = 0; i < n; i++) {
		for (c = 0; c < NCOLS; c++)
			printf("%-*s  ", (int)w[c], rows[i].c[c]);
		printf("%s\n", rows[i].error ? rows[i].error : "-");
	}
}

static void daemon_line(const struct daemon *d)
{
	const struct json_val *dev;
	unsigned n = 0;

	if (!d->doc) {
		printf("%s\n", d->why);
		return;
	}
	for (dev = devices(d); dev; dev = dev->next)
		n++;
	printf("%s %s (pid %" PRIu64 "): %u %s(s), %" PRIu64 " connected\n", d->name,
	       json_get_str(d->doc, "version") ? json_get_str(d->doc, "version") : "?",
	       json_get_u64(d->doc, "pid", 0), n, d->kind, json_get_u64(d->doc, "connected", 0));
}

/*
 * Problems that are not a device's own: an uplink whose link is down,
 * devices refused for a bound (xenbus.c), each with what to do.
 */
static void problems_print(const struct daemon *d)
{
	const struct json_val *u = json_get(d->doc, "uplinks"), *bus = json_get(d->doc, "bus");

	if (json_get_u64(bus, "refused", 0))
		printf("%s: %" PRIu64 " device(s) refused, the last: %s\n", d->name,
		       json_get_u64(bus, "refused", 0),
		       json_get_str(bus, "refused_last") ? json_get_str(bus, "refused_last") : "?");

	for (u = u && u->type == JSON_ARRAY ? u->child : NULL; u; u = u->next)
		if (!json_get_bool(u, "link_up"))
			printf("%s: uplink %s: link down (the guests reach nothing beyond this "
			       "driver domain through it)\n", d->name,
			       json_get_str(u, "name") ? json_get_str(u, "name") : "?");
}

static int status_text(const struct opts *o)
{
	const struct json_val *dev;
	struct row *rows = NULL;
	size_t n = 0, cap = 0;
	int i;

	for (i = 0; i < 2; i++)
		daemon_line(&o->d[i]);
	for (i = 0; i < 2; i++)
		for (dev = devices(&o->d[i]); dev; dev = dev->next) {
			if (n == cap) {
				struct row *nr = realloc(rows, (cap = cap ? 2 * cap : 16) * sizeof(*rows));

				if (!nr) {
					free(rows);
					fprintf(stderr, "ddomctl: out of memory\n");
					return EXIT_UNREACHABLE;
				}
				rows = nr;
			}
			row_fill(&rows[n++], dev);
		}
	putchar('\n');
	if (n)
		rows_print(rows, n);
	else
		printf("no devices\n");
	for (i = 0; i < 2; i++)
		problems_print(&o->d[i]);
	free(rows);
	return all_reached(o) ? 0 : EXIT_UNREACHABLE;
}

/* One daemon's document with "running" added, or why it is not running. */
static void daemon_json(struct json *j, const struct daemon *d)
{
	const struct json_val *c;

	json_obj_begin(j);
	json_kstr(j, "daemon", d->name);
	json_kbool(j, "running", d->doc != NULL);
	json_kstr(j, "runtime_dir", d->dir);
	if (!d->doc)
		json_kstr(j, "reason", d->why);
	for (c = d->doc ? d->doc->child : NULL; c; c = c->next)
		if (strcmp(c->key, "daemon"))
			json_write_val(j, c, true);
	json_obj_end(j);
}

static int status_json(const struct opts *o)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_key(&j, "daemons");
	json_arr_begin(&j);
	daemon_json(&j, &o->d[0]);
	daemon_json(&j, &o->d[1]);
	json_arr_end(&j);
	json_obj_end(&j);
	putchar('\n');
	if (json_finish(&j) < 0)
		fprintf(stderr, "ddomctl: cannot write the JSON document\n");
	return all_reached(o) ? 0 : EXIT_UNREACHABLE;
}

/* --------------------------------------------------------------- show */

static void tree_print(const struct json_val *v, int indent)
{
	const struct json_val *c;
	unsigned i = 0;

	for (c = v->child; c; c = c->next, i++) {
		if (c->key)
			printf("%*s%s:", indent, "", c->key);
		else
			printf("%*s[%u]:", indent, "", i);
		switch (c->type) {
		case JSON_OBJECT:
		case JSON_ARRAY:
			if (!c->child) {
				printf(" -\n");
				break;
			}
			putchar('\n');
			tree_print(c, indent + 2);
			break;
		case JSON_NULL: printf(" -\n"); break;
		case JSON_BOOL: printf(" %s\n", c->b ? "yes" : "no"); break;
		default: printf(" %s\n", c->str); break;
		}
	}
}

/* DOMID/DEV, strict decimal. */
static int parse_id(const char *s, uint64_t *domid, uint64_t *devid)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*domid = strtoull(s, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9' || *domid > 0xffff)
		return -EINVAL;
	*devid = strtoull(end + 1, &end, 10);
	return errno || *end || *devid > UINT32_MAX ? -EINVAL : 0;
}

struct match {
	const struct daemon *d;
	const struct json_val *dev;
};

/* Up to two devices (one per daemon) with that id and, if given, kind. */
static unsigned find(const struct opts *o, const char *kind, uint64_t domid, uint64_t devid,
		     struct match m[2])
{
	const struct json_val *dev;
	unsigned n = 0;

	for (int i = 0; i < 2; i++) {
		if (kind && strcmp(kind, o->d[i].kind))
			continue;
		for (dev = devices(&o->d[i]); dev; dev = dev->next)
			if (json_get_u64(dev, "domid", UINT64_MAX) == domid &&
			    json_get_u64(dev, "devid", UINT64_MAX) == devid) {
				m[n].d = &o->d[i];
				m[n++].dev = dev;
				break;
			}
	}
	return n;
}

static void show_one(const struct opts *o, const struct match *m)
{
	struct json j;
	const struct json_val *c;

	if (!o->json) {
		printf("%s (%s)\n", json_get_str(m->dev, "name") ? json_get_str(m->dev, "name") : "?",
		       m->d->name);
		tree_print(m->dev, 2);
		return;
	}
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "daemon", m->d->name);
	for (c = m->dev->child; c; c = c->next)
		json_write_val(&j, c, true);
	json_obj_end(&j);
	putchar('\n');
	if (json_finish(&j) < 0)
		fprintf(stderr, "ddomctl: cannot write the JSON document\n");
}

static int cmd_show(const struct opts *o, int argc, char **argv)
{
	const char *kind = NULL, *id;
	uint64_t domid, devid;
	struct match m[2];
	unsigned n;
	int i;

	if (argc == 2 && (!strcmp(argv[0], "vbd") || !strcmp(argv[0], "vif")))
		kind = argv[0];
	else if (argc != 1) {
		fprintf(stderr, "ddomctl: show takes [vbd|vif] DOMID/DEV\n");
		return EXIT_USAGE;
	}
	id = argv[argc - 1];
	if (parse_id(id, &domid, &devid) < 0) {
		fprintf(stderr, "ddomctl: '%s' is not DOMID/DEV (e.g. 5/51712 or 5/0)\n", id);
		return EXIT_USAGE;
	}
	n = find(o, kind, domid, devid, m);
	if (n == 2) {
		fprintf(stderr, "ddomctl: both vbd %s and vif %s exist: say which (show vbd %s)\n",
			id, id, id);
		return EXIT_USAGE;
	}
	if (n == 1) {
		show_one(o, &m[0]);
		return 0;
	}
	fprintf(stderr, "ddomctl: no %s %s", kind ? kind : "device", id);
	for (i = 0; i < 2; i++)
		if (!o->d[i].doc && (!kind || !strcmp(kind, o->d[i].kind)))
			fprintf(stderr, "; %s", o->d[i].why);
	fputc('\n', stderr);
	return EXIT_UNREACHABLE;
}

/* ------------------------------------------------------------ metrics */

#define LABELS_MAX 3

struct sample {
	const char *lname[LABELS_MAX];	/* static strings */
	char lval[LABELS_MAX][96];	/* uplink names are at most 64 (RTE_ETH_NAME_MAX_LEN) */
	unsigned nl;
	char value[32];
};

struct family {
	char name[128];
	char help[192];
	bool counter;
	struct sample *s;
	size_t n, cap;
};

struct metrics {
	struct family *f;
	size_t n, cap;
	bool oom;
};

/* The family NAME (created, with help and type, if new). NULL when out of memory. */
static struct family *family(struct metrics *m, const char *name, bool counter, const char *help)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->f[i].name, name))
			return &m->f[i];
	if (m->n == m->cap) {
		struct family *nf = realloc(m->f, (m->cap = m->cap ? 2 * m->cap : 32) * sizeof(*nf));

		if (!nf) {
			m->oom = true;
			return NULL;
		}
		m->f = nf;
	}
	memset(&m->f[m->n], 0, sizeof(m->f[0]));
	snprintf(m->f[m->n].name, sizeof(m->f[0].name), "%s", name);
	snprintf(m->f[m->n].help, sizeof(m->f[0].help), "%s", help);
	m->f[m->n].counter = counter;
	return &m->f[m->n++];
}

static void add(struct metrics *m, const char *name, bool counter, const char *help,
		const struct sample *s)
{
	struct family *f = family(m, name, counter, help);

	if (!f)
		return;
	if (f->n == f->cap) {
		struct sample *ns = realloc(f->s, (f->cap = f->cap ? 2 * f->cap : 16) * sizeof(*ns));

		if (!ns) {
			m->oom = true;
			return;
		}
		f->s = ns;
	}
	f->s[f->n++] = *s;
}

static void label(struct sample *s, const char *name, const char *value)
{
	if (s->nl < LABELS_MAX) {
		s->lname[s->nl] = name;
		snprintf(s->lval[s->nl++], sizeof(s->lval[0]), "%s", value);
	}
}

static void label_u64(struct sample *s, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	label(s, name, buf);
}

/* PREFIX + KEY + SUFFIX with anything outside [a-zA-Z0-9_] made '_'. */
static void metric_name(char *buf, size_t n, const char *prefix, const char *key,
			const char *suffix)
{
	snprintf(buf, n, "%s%s%s", prefix, key, suffix);
	for (char *p = buf; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
}

/* Every number (and boolean, as 0/1) member of OBJ as a sample of PREFIX<key>[_total]. */
static void members(struct metrics *m, const char *prefix, const struct json_val *obj,
		    bool counter, const char *what, const struct sample *labels)
{
	const struct json_val *c;
	char name[128], help[192];

	for (c = obj && obj->type == JSON_OBJECT ? obj->child : NULL; c; c = c->next) {
		struct sample s = *labels;

		if (c->type == JSON_NUMBER)
			snprintf(s.value, sizeof(s.value), "%s", c->str);
		else if (c->type == JSON_BOOL)
			snprintf(s.value, sizeof(s.value), "%d", c->b);
		else
			continue;
		metric_name(name, sizeof(name), prefix, c->key, counter ? "_total" : "");
		snprintf(help, sizeof(help), "%s %s (docs/ddomctl.md)", what, c->key);
		add(m, name, counter, help, &s);
	}
}

static void one(struct metrics *m, const char *name, bool counter, const char *help,
		const struct sample *labels, uint64_t v)
{
	struct sample s = *labels;

	snprintf(s.value, sizeof(s.value), "%" PRIu64, v);
	add(m, name, counter, help, &s);
}

static void device_metrics(struct metrics *m, const char *kind, const struct json_val *dev)
{
	struct sample l = { .nl = 0 };
	char prefix[32], name[128], what[64];

	label_u64(&l, "domid", json_get_u64(dev, "domid", 0));
	label_u64(&l, "devid", json_get_u64(dev, "devid", 0));
	snprintf(prefix, sizeof(prefix), "ddom_%s_", kind);
	metric_name(name, sizeof(name), prefix, "state", "");
	one(m, name, false, "XenbusState of the backend: 1 Initialising, 2 InitWait, "
	    "4 Connected, 5 Closing, 6 Closed", &l, json_get_u64(dev, "state_code", 0));
	metric_name(name, sizeof(name), prefix, "connected", "");
	one(m, name, false, "1 while the data path runs", &l, json_get_bool(dev, "connected"));
	metric_name(name, sizeof(name), prefix, "error", "");
	one(m, name, false, "1 when the daemon wrote an error node for the device (the text: "
	    "ddomctl status)", &l, json_get_str(dev, "error") != NULL);
	metric_name(name, sizeof(name), prefix, "reattaches", "_total");
	one(m, name, true, "daemon restarts the device survived", &l,
	    json_get_u64(dev, "reattaches", 0));
	snprintf(what, sizeof(what), "%s counter", kind);
	members(m, prefix, json_get(dev, "counters"), true, what, &l);
	snprintf(what, sizeof(what), "%s gauge", kind);
	members(m, prefix, json_get(dev, "gauges"), false, what, &l);
	snprintf(prefix, sizeof(prefix), "ddom_%s_switch_", kind);
	snprintf(what, sizeof(what), "%s switch port counter", kind);
	members(m, prefix, json_get(dev, "switch"), true, what, &l);
}

/* A daemon's data-path workers (common/workers.h): ddom_<daemon>_worker_*. */
static void worker_metrics(struct metrics *m, const char *daemon, const struct json_val *doc)
{
	const struct json_val *w = json_get(doc, "workers");
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "ddom_%s_worker_", daemon);
	for (w = w && w->type == JSON_ARRAY ? w->child : NULL; w; w = w->next) {
		struct sample l = { .nl = 0 };
		const struct json_val *c;

		label_u64(&l, "worker", json_get_u64(w, "index", 0));
		for (c = w->child; c; c = c->next) {
			bool counter = strcmp(c->key, "pollables") != 0;
			char name[128];

			if (!strcmp(c->key, "index") || c->type != JSON_NUMBER)
				continue;
			metric_name(name, sizeof(name), prefix, c->key, counter ? "_total" : "");
			one(m, name, counter, counter ? "data-path worker counter (docs/ddomctl.md)"
				    : "rings (and uplink queues) the worker serves", &l,
			    json_get_u64(w, c->key, 0));
		}
	}
}

static void netbackd_metrics(struct metrics *m, const struct json_val *doc)
{
	const struct json_val *u = json_get(doc, "uplinks");
	struct sample none = { .nl = 0 };

	for (u = u && u->type == JSON_ARRAY ? u->child : NULL; u; u = u->next) {
		struct sample l = { .nl = 0 };

		label(&l, "uplink", json_get_str(u, "name") ? json_get_str(u, "name") : "?");
		one(m, "ddom_uplink_link_up", false, "1 when the uplink's link is up", &l,
		    json_get_bool(u, "link_up"));
		members(m, "ddom_uplink_", json_get(u, "counters"), true, "uplink counter", &l);
		members(m, "ddom_uplink_switch_", json_get(u, "switch"), true,
			"uplink switch port counter", &l);
	}
	one(m, "ddom_netbackd_switch_macs", false, "MAC addresses the switch has learned", &none,
	    json_get_u64(json_get(doc, "switch"), "macs", 0));
	one(m, "ddom_netbackd_mbufs_free", false, "packet buffers free in the pool", &none,
	    json_get_u64(json_get(doc, "mbufs"), "free", 0));
	one(m, "ddom_netbackd_mbufs", false, "packet buffers in the pool", &none,
	    json_get_u64(json_get(doc, "mbufs"), "total", 0));
}

static void metrics_collect(struct metrics *m, const struct opts *o)
{
	const struct json_val *dev;

	for (int i = 0; i < 2; i++) {
		struct sample l = { .nl = 0 };

		label(&l, "daemon", o->d[i].name);
		one(m, "ddom_daemon_up", false, "1 when ddomctl reached the daemon", &l,
		    o->d[i].doc != NULL);
	}
	for (int i = 0; i < 2; i++) {
		const struct json_val *bus = json_get(o->d[i].doc, "bus");
		struct sample l = { .nl = 0 };

		if (!bus)
			continue;
		label(&l, "daemon", o->d[i].name);
		one(m, "ddom_devices", false, "devices the daemon tracks", &l,
		    json_get_u64(bus, "devices", 0));
		one(m, "ddom_devices_max", false, "max-devices: the most it serves", &l,
		    json_get_u64(bus, "max_devices", 0));
		one(m, "ddom_devices_refused_total", true,
		    "devices not served because max-devices or max-devices-per-domain was reached",
		    &l, json_get_u64(bus, "refused", 0));
	}
	for (int i = 0; i < 2; i++)
		for (dev = devices(&o->d[i]); dev; dev = dev->next)
			device_metrics(m, o->d[i].kind, dev);
	for (int i = 0; i < 2; i++)
		if (o->d[i].doc)
			worker_metrics(m, o->d[i].name, o->d[i].doc);
	if (o->d[1].doc)
		netbackd_metrics(m, o->d[1].doc);
}

/* A label value in the exposition format: \\, \" and \n escaped. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void metrics_text(const struct metrics *m, FILE *f)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct family *fa = &m->f[i];

		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fa->name, fa->help, fa->name,
			fa->counter ? "counter" : "gauge");
		for (size_t k = 0; k < fa->n; k++) {
			const struct sample *s = &fa->s[k];

			fputs(fa->name, f);
			for (unsigned l = 0; l < s->nl; l++) {
				fprintf(f, "%s%s=\"", l ? "," : "{", s->lname[l]);
				label_value(f, s->lval[l]);
				fputc('"', f);
			}
			fprintf(f, "%s %s\n", s->nl ? "}" : "", s->value);
		}
	}
}

static void metrics_json(const struct metrics *m, FILE *f)
{
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j);
	json_key(&j, "metrics");
	json_arr_begin(&j);
	for (size_t i = 0; i < m->n; i++) {
		const struct family *fa = &m->f[i];

		json_obj_begin(&j);
		json_kstr(&j, "name", fa->name);
		json_kstr(&j, "type", fa->counter ? "counter" : "gauge");
		json_kstr(&j, "help", fa->help);
		json_key(&j, "samples");
		json_arr_begin(&j);
		for (size_t k = 0; k < fa->n; k++) {
			json_obj_begin(&j);
			json_key(&j, "labels");
			json_obj_begin(&j);
			for (unsigned l = 0; l < fa->s[k].nl; l++)
				json_kstr(&j, fa->s[k].lname[l], fa->s[k].lval[l]);
			json_obj_end(&j);
			json_ku64(&j, "value", strtoull(fa->s[k].value, NULL, 10));
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', f);
	if (json_finish(&j) < 0)
		fprintf(stderr, "ddomctl: cannot write the JSON document\n");
}

/* FILE.XXXXXX beside FILE, then rename: the collector never sees half a file. */
static int write_atomically(const char *path, const struct metrics *m)
{
	size_t len = strlen(path) + 8;
	char *tmp = malloc(len);
	FILE *f = NULL;
	int fd, r = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* mkstemp makes it 0600: node_exporter often runs as another user. */
	if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		goto out_unlink;
	}
	metrics_text(m, f);
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		r = -errno ? -errno : -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
out_unlink:
	if (r < 0)
		unlink(tmp);
out:
	free(tmp);
	return r;
}

static void metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->f[i].s);
	free(m->f);
}

static int cmd_metrics(const struct opts *o)
{
	struct metrics m = { .n = 0 };
	int r = 0;

	metrics_collect(&m, o);
	if (m.oom) {
		fprintf(stderr, "ddomctl: out of memory\n");
		metrics_free(&m);
		return EXIT_UNREACHABLE;
	}
	if (o->metrics_file)
		r = write_atomically(o->metrics_file, &m);
	else if (o->json)
		metrics_json(&m, stdout);
	else
		metrics_text(&m, stdout);
	metrics_free(&m);
	if (r < 0) {
		fprintf(stderr, "ddomctl: cannot write %s: %s\n", o->metrics_file, strerror(-r));
		return EXIT_UNREACHABLE;
	}
	for (int i = 0; i < 2; i++)
		if (!o->d[i].doc)
			fprintf(stderr, "ddomctl: %s\n", o->d[i].why);
	return all_reached(o) ? 0 : EXIT_UNREACHABLE;
}

/* --------------------------------------------------------------- main */

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "metrics-file", required_argument, NULL, 'm' },
		{ "blkbackd-dir", required_argument, NULL, 'b' },
		{ "netbackd-dir", required_argument, NULL, 'n' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V': printf("ddomctl %s\n", DDOM_VERSION); return 0;
		case 'j': o->json = true; break;
		case 'm': o->metrics_file = optarg; break;
		case 'b': o->d[0].dir = optarg; break;
		case 'n': o->d[1].dir = optarg; break;
		default:
			fprintf(stderr, "ddomctl: %s: unknown option or missing argument\n"
				"Try 'ddomctl --help'.\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	return -1;	/* go on */
}

static int run(struct opts *o, int argc, char **argv)
{
	const char *cmd = argc ? argv[0] : o->metrics_file ? "metrics" : "status";
	bool ok = !strcmp(cmd, "status") ? argc <= 1 : !strcmp(cmd, "metrics") ? argc <= 1 :
		  !strcmp(cmd, "show");

	if (!ok) {
		fprintf(stderr, "ddomctl: %s: unknown command or extra arguments\n"
			"Try 'ddomctl --help'.\n", argc ? argv[0] : cmd);
		return EXIT_USAGE;
	}
	if (o->metrics_file && (strcmp(cmd, "metrics") || o->json)) {
		fprintf(stderr, "ddomctl: --metrics-file goes with metrics, without --json\n");
		return EXIT_USAGE;
	}
	fetch(&o->d[0]);
	fetch(&o->d[1]);
	if (!strcmp(cmd, "show"))
		return cmd_show(o, argc - 1, argv + 1);
	if (!strcmp(cmd, "metrics"))
		return cmd_metrics(o);
	return o->json ? status_json(o) : status_text(o);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.d = {
			{ .name = "blkbackd", .kind = "vbd", .dir = CTL_BLKBACKD_DIR,
			  .sock = CTL_BLKBACKD_SOCKET },
			{ .name = "netbackd", .kind = "vif", .dir = CTL_NETBACKD_DIR,
			  .sock = CTL_NETBACKD_SOCKET },
		},
	};
	int r = parse_opts(&o, argc, argv);

	if (r >= 0)
		return r;
	r = run(&o, argc - optind, argv + optind);
	json_val_free(o.d[0].doc);
	json_val_free(o.d[1].doc);
	return r;
}
