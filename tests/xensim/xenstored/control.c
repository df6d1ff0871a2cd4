// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: XS_CONTROL (Xen tools/xenstored/control.c), plus the simulator's fault
 * knobs: forced EAGAIN on commit, merged and delayed watch events.
 *
 * Runs on the daemon's event-loop thread; dom0 only (the dispatcher refuses others). Every
 * argument is parsed strictly; a bad one is EINVAL, a real xenstored command the simulator
 * lacks is ENOSYS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

struct quota_name {
	const char *name, *descr;
	uint32_t *val;
};

static const struct quota_name quota_names[] = {
	{ "nodes", "Nodes per domain", &xsd_quota.nodes },
	{ "watches", "Watches per domain", &xsd_quota.watches },
	{ "outstanding", "Outstanding requests per domain", &xsd_quota.outstanding },
	{ "transactions", "Active transactions per domain", &xsd_quota.transactions },
	{ "transaction-nodes", "Max. number of accessed nodes per transaction",
	  &xsd_quota.trans_nodes },
	{ "node-permissions", "Max. number of permissions per node", &xsd_quota.perms },
	{ "path-max", "Max. length of a node path", &xsd_quota.path_max },
	{ "node-size", "Max. size of a node", &xsd_quota.node_size },
};

static const char control_help[] =
	"check           \n"
	"log             [on|off]\n"
	"print           <string>\n"
	"quota           [set <name> <val>|<domid>]\n"
	"force-eagain    <n>          fail the next <n> transaction commits with EAGAIN\n"
	"merge-watches   on|off       deliver only the newest pending event per watch\n"
	"delay-watches   <ms>         hold every watch event back <ms> milliseconds\n"
	"knobs           \n"
	"help            \n";

static bool parse_u32(const char *s, uint32_t *v)
{
	char *e;
	unsigned long x;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	x = strtoul(s, &e, 10);
	if (errno || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int reply_text(struct xsd_conn *c, const char *s)
{
	xsd_reply(c, XS_CONTROL, s, (uint32_t)strlen(s) + 1);
	return 0;
}

static int control_quota(struct xsd_conn *c, const char **v, uint32_t n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t off = 0;
	uint32_t val, domid;

	if (n == 0) {
		off += (size_t)snprintf(buf, sizeof(buf), "Quota settings:\n");
		for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%-17s: %8u %s\n",
						quota_names[i].name, *quota_names[i].val,
						quota_names[i].descr);
		return reply_text(c, buf);
	}
	if (!strcmp(v[0], "set")) {
		if (n != 3 || !parse_u32(v[2], &val) || val < 1)
			return EINVAL;
		for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++) {
			if (strcmp(v[1], quota_names[i].name))
				continue;
			*quota_names[i].val = val;
			return reply_text(c, "OK");
		}
		return EINVAL;
	}
	if (n != 1 || xsd_parse_domid(v[0], &domid))
		return EINVAL;
	struct xsd_domain *d = xsd_domain_find(domid);

	if (!d)
		return ENOENT;
	snprintf(buf, sizeof(buf), "Domain %u:\nnodes: %u\nwatches: %u\ntransactions: %u\n"
		 "outstanding: %u\n", domid, xsd_store.owned[domid], d->nwatches, d->ntx,
		 d->outstanding);
	return reply_text(c, buf);
}

int xsd_do_control(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[XENSTORE_PAYLOAD_MAX / 2];
	uint32_t n = xsd_count_strings(p, len), val;
	char buf[256];

	if (!len || p[len - 1] || !n || !xsd_nargs(p, len, n, v))
		return EINVAL;
	if (!strcmp(v[0], "help") && n == 1)
		return reply_text(c, control_help);
	if (!strcmp(v[0], "check") && n == 1)
		return reply_text(c, "OK");
	if (!strcmp(v[0], "print") && n == 2) {
		xsd_log("control: %s", v[1]);
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "log") && n <= 2) {
		if (n == 2 && strcmp(v[1], "on") && strcmp(v[1], "off"))
			return EINVAL;
		xsd_knobs.trace = n == 1 || !strcmp(v[1], "on");
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "quota"))
		return control_quota(c, v + 1, n - 1);
	if (!strcmp(v[0], "force-eagain") && n == 2 && parse_u32(v[1], &val)) {
		xsd_knobs.force_eagain = val;
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "merge-watches") && n == 2 &&
	    (!strcmp(v[1], "on") || !strcmp(v[1], "off"))) {
		xsd_knobs.merge_watches = !strcmp(v[1], "on");
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "delay-watches") && n == 2 && parse_u32(v[1], &val) &&
	    val <= 600000) {
		xsd_knobs.delay_ms = val;
		if (!val)
			xsd_flush_late();
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "knobs") && n == 1) {
		snprintf(buf, sizeof(buf), "force-eagain %u\nmerge-watches %s\ndelay-watches %u\n",
			 xsd_knobs.force_eagain, xsd_knobs.merge_watches ? "on" : "off",
			 xsd_knobs.delay_ms);
		return reply_text(c, buf);
	}
	/* Real xenstored commands the simulator does not have: say so plainly. */
	if (!strcmp(v[0], "live-update") || !strcmp(v[0], "logfile") ||
	    !strcmp(v[0], "memreport") || !strcmp(v[0], "quota-soft"))
		return ENOSYS;
	return EINVAL;
}

