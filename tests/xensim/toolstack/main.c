// SPDX-License-Identifier: GPL-2.0-only
/*
 * `xensim`: the toolstack of the simulated Xen host (tests/xensim). Verb
 * dispatch, the top-level usage, `up` and `down`. Each verb runs in this one
 * thread and exits; see ts.h for where the host keeps its state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "ts.h"

static const char main_usage[] =
	"usage: xensim VERB [ARGS...]      (xensim VERB --help for each verb)\n"
	"\n"
	"A simulated Xen host in a directory, driven like xl:\n"
	"  up DIR [--quota-X N...]       start a host (xenstored, dom0); no-op if up\n"
	"  down DIR                       stop it and every process it started\n"
	"  create DIR NAME [--driver-domain] [--memory MiB] [--type pv|pvh]\n"
	"                                 create a domain, print its id\n"
	"  destroy DIR DOMID              destroy a domain (its devices first)\n"
	"  list DIR                       list the domains (as xl list)\n"
	"  exec DIR DOMID -- CMD ARGS...  run CMD as a process of that domain\n"
	"  block-attach DIR DOMID DISKSPEC    attach a disk (xl's disk spec)\n"
	"  block-detach DIR DOMID VDEV        detach it\n"
	"  network-attach DIR DOMID VIFSPEC   attach a NIC (xl's vif spec)\n"
	"  network-detach DIR DOMID DEVID|MAC detach it\n"
	"  block-list DIR DOMID...        list disks (as xl block-list)\n"
	"  network-list DIR DOMID...      list NICs (as xl network-list)\n"
	"  devd DIR DOMID [-F]            run hotplug scripts in a driver domain (xl devd)\n"
	"  dump DIR [PATH] [--symbolic]   print the store with permissions\n"
	"  wait DIR PATH [VALUE] [-t SECS] wait until PATH reads VALUE (or exists)\n"
	"\n"
	"DOMID is a domain id or name. Exit status: 0 done, 1 failed, 2 bad usage.\n"
	"See docs/xensim.md.\n";

static const char up_usage[] =
	"usage: xensim up DIR [--quota-OPTION VALUE...]\n"
	"  Starts a simulated Xen host in DIR (created if missing): xensim-xenstored\n"
	"  and dom0, as Xen's boot and xen-init-dom0 leave them. Returns when the host\n"
	"  answers. A second `up` on a live host does nothing. --quota-* options go\n"
	"  to xensim-xenstored (--quota-maxsize, -nodes, -watches, -transactions,\n"
	"  -outstanding; see xensim-xenstored --help).\n";

static const char down_usage[] =
	"usage: xensim down DIR\n"
	"  Stops the host in DIR: every process started with `xensim exec` or\n"
	"  `xensim devd`, the domains' hypervisor state and xenstored. Nothing of it\n"
	"  keeps running. A `down` on a stopped host does nothing.\n";

bool ts_want_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return true;
		}
	}
	return false;
}

int ts_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ts_verr(fmt, ap);
	va_end(ap);
	fputs(usage, stderr);
	return TS_EXIT_USAGE;
}

int cmd_up(int argc, char **argv)
{
	struct ts_host h;
	int r;

	if (ts_want_help(argc, argv, up_usage))
		return 0;
	if (argc < 2 || argc % 2)
		return ts_usage_error(up_usage, "expected DIR and option/value pairs");
	for (int i = 2; i < argc; i += 2)
		if (strncmp(argv[i], "--quota-", 8))
			return ts_usage_error(up_usage, "unknown option `%s'", argv[i]);
	if (mkdir(argv[1], 0755) && errno != EEXIST) {
		ts_err("cannot create %s: %s", argv[1], strerror(errno));
		return TS_EXIT_FAIL;
	}
	if (ts_host_init(&h, argv[1]))
		return TS_EXIT_FAIL;
	r = ts_up(&h, argc - 2, argv + 2);
	ts_host_close(&h);
	return r ? TS_EXIT_FAIL : 0;
}

int cmd_down(int argc, char **argv)
{
	struct ts_host h;
	int r;

	if (ts_want_help(argc, argv, down_usage))
		return 0;
	if (argc != 2)
		return ts_usage_error(down_usage, "expected DIR");
	if (ts_host_init(&h, argv[1]))
		return TS_EXIT_FAIL;
	r = ts_down(&h);
	return r ? TS_EXIT_FAIL : 0;
}

static const char wait_usage[] =
	"usage: xensim wait DIR PATH [VALUE] [-t SECS]\n"
	"  Waits (on a xenstore watch, as dom0) until PATH reads VALUE, or until it\n"
	"  exists when no VALUE is given; at most SECS seconds (default 10). Exit 0\n"
	"  when it does, 1 on timeout. For scripts: no polling loops needed.\n";

static int cmd_wait(int argc, char **argv)
{
	struct ts_host h;
	int timeout = 10, c, r;
	char *v;

	if (ts_want_help(argc, argv, wait_usage))
		return 0;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't' || (timeout = atoi(optarg)) < 0)
			return ts_usage_error(wait_usage, "bad option");
	}
	if (argc - optind < 2 || argc - optind > 3)
		return ts_usage_error(wait_usage, "expected DIR PATH [VALUE]");
	if (ts_host_init(&h, argv[optind]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	if (argc - optind == 3) {
		r = ts_xs_wait(&h, argv[optind + 1], argv[optind + 2], false, timeout * 1000);
	} else {
		/* "exists": wait for the absence to end */
		r = ts_xs_wait_exists(&h, argv[optind + 1], timeout * 1000);
	}
	if (r) {
		v = ts_xs_read(&h, XBT_NULL, argv[optind + 1]);
		ts_err("%s is %s%s%s after %d s", argv[optind + 1], v ? "\"" : "absent",
		       v ? v : "", v ? "\"" : "", timeout);
		free(v);
	}
	ts_host_close(&h);
	return r ? TS_EXIT_FAIL : 0;
}

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
} verbs[] = {
	{ "up", cmd_up },
	{ "down", cmd_down },
	{ "create", cmd_create },
	{ "destroy", cmd_destroy },
	{ "list", cmd_list },
	{ "exec", cmd_exec },
	{ "block-attach", cmd_block_attach },
	{ "block-detach", cmd_block_detach },
	{ "network-attach", cmd_network_attach },
	{ "network-detach", cmd_network_detach },
	{ "block-list", cmd_block_list },
	{ "network-list", cmd_network_list },
	{ "devd", cmd_devd },
	{ "dump", cmd_dump },
	{ "wait", cmd_wait },
};

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "xensim: unknown verb `%s'\n", argv[1]);
	fputs(main_usage, stderr);
	return TS_EXIT_USAGE;
}
