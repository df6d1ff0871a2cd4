// SPDX-License-Identifier: GPL-2.0-only
/*
 * `block-list` and `network-list`: xl's tables (tools/xl/xl_block.c
 * main_blocklist, xl_nic.c main_networklist), filled as
 * libxl_device_disk_getinfo / libxl_device_nic_getinfo fill them: the devices
 * recorded under /libxl/<domid>/device, their backend path and id from that
 * record, state, event channel and ring refs from the frontend (-1 when
 * absent). Runs in the verb's single thread; reads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

static const char block_list_usage[] =
	"usage: xensim block-list DIR DOMID...\n"
	"  Lists the domains' disks as `xl block-list` does.\n";

static const char network_list_usage[] =
	"usage: xensim network-list DIR DOMID...\n"
	"  Lists the domains' NICs as `xl network-list` does.\n";

static long fe_long(struct ts_host *h, const char *fe, const char *node)
{
	char p[TS_PATH_MAX + 32], *v;
	long n;

	snprintf(p, sizeof(p), "%s/%s", fe, node);
	v = ts_xs_read(h, XBT_NULL, p);
	n = v ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

static int cmp_devid(const void *a, const void *b)
{
	long x = atol(*(char *const *)a), y = atol(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static void list_kind(struct ts_host *h, unsigned domid, const char *kind)
{
	char p[96], fe[TS_PATH_MAX], *be, *mac;
	unsigned n = 0, bdom;
	char **ents;

	snprintf(p, sizeof(p), "/libxl/%u/device/%s", domid, kind);
	ents = xs_directory(h->xs, XBT_NULL, p, &n);
	if (ents)
		qsort(ents, n, sizeof(*ents), cmp_devid);
	for (unsigned i = 0; ents && i < n; i++) {
		snprintf(p, sizeof(p), "/libxl/%u/device/%s/%s/backend", domid, kind, ents[i]);
		be = ts_xs_read(h, XBT_NULL, p);
		if (!be || sscanf(be, "/local/domain/%u/", &bdom) != 1) {
			free(be);
			continue;
		}
		snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%s", domid, kind, ents[i]);
		if (!strcmp(kind, "vbd")) {
			printf("%-5d %-3u %-6u %-5ld %-6ld %-8ld %-30s\n", atoi(ents[i]), bdom, domid,
			       fe_long(h, fe, "state"), fe_long(h, fe, "event-channel"),
			       fe_long(h, fe, "ring-ref"), be);
		} else {
			snprintf(p, sizeof(p), "/libxl/%u/device/vif/%s/mac", domid, ents[i]);
			mac = ts_xs_read(h, XBT_NULL, p);
			printf("%-3d %-2u %s%6d %5ld %6ld %5ld/%-11ld %-30s\n", atoi(ents[i]), bdom,
			       mac ? mac : "(none)", atoi(ents[i]), fe_long(h, fe, "state"),
			       fe_long(h, fe, "event-channel"), fe_long(h, fe, "tx-ring-ref"),
			       fe_long(h, fe, "rx-ring-ref"), be);
			free(mac);
		}
		free(be);
	}
	free(ents);
}

static int list_devices(int argc, char **argv, const char *usage, const char *kind)
{
	struct ts_host h;
	unsigned domid;
	int r = 0;

	if (ts_want_help(argc, argv, usage))
		return 0;
	if (argc < 3)
		return ts_usage_error(usage, "expected DIR DOMID...");
	if (ts_host_init(&h, argv[1]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	if (!strcmp(kind, "vbd"))
		printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state",
		       "evt-ch", "ring-ref", "BE-path");
	else
		printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.",
		       "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
	for (int i = 2; i < argc; i++) {
		if (ts_domid_resolve(&h, argv[i], &domid)) {
			r = TS_EXIT_FAIL;
			continue;
		}
		list_kind(&h, domid, kind);
	}
	ts_host_close(&h);
	return r;
}

int cmd_block_list(int argc, char **argv)
{
	return list_devices(argc, argv, block_list_usage, "vbd");
}

int cmd_network_list(int argc, char **argv)
{
	return list_devices(argc, argv, network_list_usage, "vif");
}
