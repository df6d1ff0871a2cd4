// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvctl: look at and poke xensim's hypervisor state from a shell, for tests
 * written as scripts and for debugging a stuck simulated host.
 *
 *   hvctl fault DIR SPEC        set the run-time fault knobs (hv_fault_set)
 *   hvctl grants DIR DOMID      list DOMID's grant entries in use
 *   hvctl ports DIR DOMID       list DOMID's event-channel ports in use
 *
 * Single-threaded, short-lived; it only reads the state, except `fault`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

#define NR_GRANTS 32768u	/* Xen 4.17's 64 default frames of v1 entries */
#define NR_PORTS 1024u		/* libxl's default max_event_channels + 1 */

static int usage(FILE *out)
{
	fprintf(out, "usage: hvctl fault DIR SPEC     fail the Nth op, e.g. \"map:3,bind:1\"\n"
		     "                                 (op:N[+][=ERRNO], op map|bind|share|copy|notify)\n"
		     "       hvctl grants DIR DOMID   grant entries of DOMID in use\n"
		     "       hvctl ports DIR DOMID    event-channel ports of DOMID in use\n");
	return out == stdout ? 0 : 2;
}

static int parse_domid(const char *s, domid_t *ret)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v >= DOMID_FIRST_RESERVED) {
		fprintf(stderr, "hvctl: bad domid \"%.20s\"\n", s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int list_grants(const char *dir, domid_t domid)
{
	for (grant_ref_t ref = 0; ref < NR_GRANTS; ref++) {
		grant_entry_v1_t e;
		int r = hv_grant_entry(dir, domid, ref, &e);

		if (r)
			return r;
		if (e.flags)
			printf("ref %u flags %#x%s%s%s domid %u frame %u\n", ref, e.flags,
			       e.flags & GTF_readonly ? " ro" : "",
			       e.flags & GTF_reading ? " reading" : "",
			       e.flags & GTF_writing ? " writing" : "", e.domid, e.frame);
	}
	return 0;
}

static int list_ports(const char *dir, domid_t domid)
{
	static const char *const names[] = {
		[HV_ECS_FREE] = "free", [HV_ECS_RESERVED] = "reserved",
		[HV_ECS_UNBOUND] = "unbound", [HV_ECS_INTERDOMAIN] = "interdomain",
	};

	for (evtchn_port_t port = 1; port < NR_PORTS; port++) {
		struct hv_port_info pi;
		int r = hv_port_info(dir, domid, port, &pi);

		if (r)
			return r;
		if (pi.state == HV_ECS_UNBOUND)
			printf("port %u unbound for dom%u%s%s\n", port, pi.remote_dom,
			       pi.masked ? " masked" : "", pi.pending ? " pending" : "");
		else if (pi.state != HV_ECS_FREE)
			printf("port %u %s dom%u port %u%s%s\n", port, names[pi.state],
			       pi.remote_dom, pi.remote_port, pi.masked ? " masked" : "",
			       pi.pending ? " pending" : "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	domid_t domid;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout);
	if (argc != 4)
		return usage(stderr);
	if (!strcmp(argv[1], "fault")) {
		r = hv_fault_set(argv[2], argv[3]);
	} else if (!strcmp(argv[1], "grants") || !strcmp(argv[1], "ports")) {
		if (parse_domid(argv[3], &domid))
			return 2;
		r = argv[1][0] == 'g' ? list_grants(argv[2], domid) : list_ports(argv[2], domid);
	} else {
		return usage(stderr);
	}
	if (r) {
		fprintf(stderr, "hvctl %s %s: %s\n", argv[1], argv[2], strerror(-r));
		return 1;
	}
	return 0;
}
