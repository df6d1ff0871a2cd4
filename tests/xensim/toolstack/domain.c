// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domains: `create`, `destroy`, `list` and `exec`. create writes the nodes
 * libxl__domain_make() and libxl__build_post() write (tools/libs/light/
 * libxl_create.c and libxl_dom.c, Xen 4.17), with the same permissions, then
 * introduces the domain to xenstored (XS_INTRODUCE), which opens the domain's
 * socket. destroy stops the domain's processes, removes its devices (as
 * frontend and as backend), its nodes, releases it (XS_RELEASE) and destroys
 * its hypervisor state.
 *
 * Runs in the single thread of a `xensim` verb; `exec` stays in the
 * foreground as the parent of the command, forwarding signals to it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"
#include "hv-compat.h"

/* Xen: DOMID_FIRST_RESERVED (xen/include/public/xen.h) bounds guest domids. */
#define TS_DOMID_LIMIT 0x7FF0U
/* Stand-ins for the store page and port a real builder allocates. */
#define TS_STORE_PORT 1
#define TS_STORE_MFN 0xFEFFCUL
#define TS_CONSOLE_PORT 2
#define TS_CONSOLE_MFN 0xFEFFBUL

static const char create_usage[] =
	"usage: xensim create DIR NAME [--driver-domain] [--memory MiB] [--type pv|pvh]\n"
	"  Creates a domain as `xl create` does and prints its id.\n"
	"  --driver-domain  the domain may run backends (libxl's driver_domain=1)\n"
	"  --memory MiB     memory size (default 256)\n"
	"  --type pv|pvh    guest type for the nodes libxl writes (default pv)\n";

static const char destroy_usage[] =
	"usage: xensim destroy DIR DOMID [-t SECS]\n"
	"  Destroys a domain as `xl destroy` does: stops its processes, removes its\n"
	"  devices (as frontend and as backend), its xenstore nodes and its hypervisor\n"
	"  state. -t: how long to wait for each backend to close (default 10).\n";

static const char list_usage[] =
	"usage: xensim list DIR\n"
	"  Lists the domains, as `xl list` does.\n";

static const char exec_usage[] =
	"usage: xensim exec DIR DOMID -- CMD [ARGS...]\n"
	"  Runs CMD as a process of domain DOMID, with XENSTORED_PATH set to the\n"
	"  domain's xenstored socket, XENSIM_DIR and XENSIM_DOMID. Exits with CMD's\n"
	"  status (128+N if CMD died of signal N).\n";

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Domain whose /local/domain/<id>/name is `name`, or -1. */
static int domid_by_name(struct ts_host *h, const char *name)
{
	char path[64], **ents, *v;
	unsigned n = 0;
	int found = -1;

	ents = xs_directory(h->xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; ents && i < n && found < 0; i++) {
		snprintf(path, sizeof(path), "/local/domain/%s/name", ents[i]);
		v = ts_xs_read(h, XBT_NULL, path);
		if (v && !strcmp(v, name))
			found = atoi(ents[i]);
		free(v);
	}
	free(ents);
	return found;
}

int ts_domid_resolve(struct ts_host *h, const char *arg, unsigned *domid)
{
	char path[64], *v;
	unsigned long id;
	int d;

	if (all_digits(arg)) {
		id = strtoul(arg, NULL, 10);
		snprintf(path, sizeof(path), "/local/domain/%lu/name", id);
		v = id < TS_DOMID_LIMIT ? ts_xs_read(h, XBT_NULL, path) : NULL;
		free(v);
		if (!v) {
			ts_err("no domain %s on this host", arg);
			return -ENOENT;
		}
		*domid = (unsigned)id;
		return 0;
	}
	d = domid_by_name(h, arg);
	if (d < 0) {
		ts_err("no domain named `%s' on this host", arg);
		return -ENOENT;
	}
	*domid = (unsigned)d;
	return 0;
}

/* Xen hands out domids in increasing order, skipping ones in use, wrapping. */
static int alloc_domid(struct ts_host *h, unsigned *domid)
{
	char path[TS_PATH_MAX], dpath[64], *v;
	unsigned next = 1;
	int fd, r = -ENOSPC;
	FILE *f;

	snprintf(path, sizeof(path), "%s/toolstack/next-domid", h->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX))
		return -errno;
	f = fdopen(fd, "r+");
	if (!f) {
		close(fd);
		return -errno;
	}
	if (fscanf(f, "%u", &next) != 1 || next == 0 || next >= TS_DOMID_LIMIT)
		next = 1;
	for (unsigned tries = 0; tries < TS_DOMID_LIMIT; tries++) {
		snprintf(dpath, sizeof(dpath), "/local/domain/%u", next);
		v = ts_xs_read(h, XBT_NULL, dpath);
		free(v);
		if (!v) {
			*domid = next;
			r = 0;
			break;
		}
		next = next + 1 >= TS_DOMID_LIMIT ? 1 : next + 1;
	}
	if (!r) {
		rewind(f);
		if (ftruncate(fd, 0) == 0)
			fprintf(f, "%u\n", *domid + 1 >= TS_DOMID_LIMIT ? 1 : *domid + 1);
	}
	fclose(f);	/* drops the lock */
	return r;
}

/* A random (version 4) UUID, as libxl_uuid_generate gives. */
static int make_uuid(char out[37])
{
	uint8_t u[16];

	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
		return -EIO;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	return 0;
}

struct create_args {
	const char *name;
	unsigned mem_mib;
	bool driver_domain;
	bool pvh;
};

/* libxl_create.c libxl__domain_make(): the domain's skeleton, one transaction. */
static bool write_skeleton(struct ts_host *h, xs_transaction_t t, unsigned domid,
			   const char *uuid, const struct create_args *a)
{
	/* roperm: owner dom0, the domain may read; rwperm: the domain owns it. */
	struct xs_permissions roperm[2] = { { 0, XS_PERM_NONE }, { domid, XS_PERM_READ } };
	struct xs_permissions rwperm[1] = { { domid, XS_PERM_NONE } };
	struct xs_permissions noperm[1] = { { 0, XS_PERM_NONE } };
	static const char *const ro_dirs[] = { "cpu", "memory", "device", "control" };
	static const char *const rw_dirs[] = {
		"device/suspend/event-channel", "control/shutdown", "control/feature-poweroff",
		"control/feature-reboot", "control/feature-suspend", "control/sysrq", "data",
		"drivers", "feature", "attr", "error",
	};
	char dom[64], vm[64], lx[64], p[128];
	bool ok = true;

	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(lx, sizeof(lx), "/libxl/%u", domid);
	xs_rm(h->xs, t, dom);
	ok &= ts_xs_mknod(h, t, dom, roperm, 2);
	xs_rm(h->xs, t, vm);
	ok &= ts_xs_mknod(h, t, vm, roperm, 2);
	xs_rm(h->xs, t, lx);
	ok &= ts_xs_mknod(h, t, lx, noperm, 1);
	snprintf(p, sizeof(p), "%s/device", lx);
	ok &= ts_xs_mknod(h, t, p, noperm, 1);
	snprintf(p, sizeof(p), "%s/vm", dom);
	ok &= xs_write(h->xs, t, p, vm, (unsigned)strlen(vm));
	/* libxl__domain_rename() */
	snprintf(p, sizeof(p), "%s/name", dom);
	ok &= xs_write(h->xs, t, p, a->name, (unsigned)strlen(a->name));
	/* xend_suspend_evtchn_compat is false: device is ro, its event-channel rw */
	for (size_t i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, ro_dirs[i]);
		ok &= ts_xs_mknod(h, t, p, roperm, 2);
	}
	for (size_t i = 0; i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, rw_dirs[i]);
		ok &= ts_xs_mknod(h, t, p, rwperm, 1);
	}
	if (a->driver_domain) {
		/* "a local libxl directory ... we might want to use libxl from inside" */
		snprintf(p, sizeof(p), "%s/libxl", dom);
		ok &= ts_xs_mknod(h, t, p, rwperm, 1);
		snprintf(p, sizeof(p), "%s/device-model", dom);
		ok &= ts_xs_mknod(h, t, p, rwperm, 1);
	}
	snprintf(p, sizeof(p), "%s/uuid", vm);
	ok &= xs_write(h->xs, t, p, uuid, 36);
	snprintf(p, sizeof(p), "%s/name", vm);
	ok &= xs_write(h->xs, t, p, a->name, (unsigned)strlen(a->name));
	snprintf(p, sizeof(p), "%s/control/platform-feature-multiprocessor-suspend", dom);
	ok &= xs_write(h->xs, t, p, "1", 1);
	snprintf(p, sizeof(p), "%s/control/platform-feature-xs_reset_watches", dom);
	ok &= xs_write(h->xs, t, p, "1", 1);
	snprintf(p, sizeof(p), "%s/type", lx);
	ok &= ts_xs_writef(h, t, p, "%s", a->pvh ? "pvh" : "pv");
	return ok;
}

/*
 * libxl_dom.c libxl__build_post() ents (memory, domid, store, one vcpu) and
 * the vm ents of libxl__domain_build() for PV ("image/ostype" "linux", no
 * kernel path here) or PVH ("start_time" only).
 */
static bool write_build(struct ts_host *h, xs_transaction_t t, unsigned domid,
			const char *uuid, const struct create_args *a)
{
	unsigned long long kib = (unsigned long long)a->mem_mib * 1024;
	char dom[64], p[128];
	struct timespec now;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	snprintf(p, sizeof(p), "%s/memory/static-max", dom);
	ok &= ts_xs_writef(h, t, p, "%llu", kib);
	snprintf(p, sizeof(p), "%s/memory/target", dom);
	ok &= ts_xs_writef(h, t, p, "%llu", kib);	/* no video ram: fudge 0 */
	snprintf(p, sizeof(p), "%s/memory/videoram", dom);
	ok &= ts_xs_writef(h, t, p, "0");
	snprintf(p, sizeof(p), "%s/domid", dom);
	ok &= ts_xs_writef(h, t, p, "%u", domid);
	snprintf(p, sizeof(p), "%s/store/port", dom);
	ok &= ts_xs_writef(h, t, p, "%u", TS_STORE_PORT);
	snprintf(p, sizeof(p), "%s/store/ring-ref", dom);
	ok &= ts_xs_writef(h, t, p, "%lu", TS_STORE_MFN);
	snprintf(p, sizeof(p), "%s/cpu/0/availability", dom);
	ok &= ts_xs_writef(h, t, p, "online");
	if (!a->pvh) {
		snprintf(p, sizeof(p), "/vm/%s/image/ostype", uuid);
		ok &= ts_xs_writef(h, t, p, "linux");
	}
	snprintf(p, sizeof(p), "/vm/%s/start_time", uuid);
	ok &= ts_xs_writef(h, t, p, "%lld.%02d", (long long)now.tv_sec,
			   (int)(now.tv_nsec / 10000000));
	return ok;
}

typedef bool (*tx_fn)(struct ts_host *, xs_transaction_t, unsigned, const char *,
		      const struct create_args *);

static int run_tx(struct ts_host *h, tx_fn fn, unsigned domid, const char *uuid,
		  const struct create_args *a)
{
	for (;;) {
		xs_transaction_t t = xs_transaction_start(h->xs);

		if (t == XBT_NULL)
			return -errno;
		if (!fn(h, t, domid, uuid, a)) {
			int r = -errno;

			xs_transaction_end(h->xs, t, true);
			return r ? r : -EIO;
		}
		if (xs_transaction_end(h->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

static void remove_domain_nodes(struct ts_host *h, unsigned domid)
{
	char p[64], *vm;

	snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
	vm = ts_xs_read(h, XBT_NULL, p);
	if (vm && !strncmp(vm, "/vm/", 4))
		xs_rm(h->xs, XBT_NULL, vm);
	free(vm);
	snprintf(p, sizeof(p), "/libxl/%u", domid);
	xs_rm(h->xs, XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	xs_rm(h->xs, XBT_NULL, p);
}

static int parse_create(int argc, char **argv, struct create_args *a)
{
	static const struct option opts[] = {
		{ "driver-domain", no_argument, NULL, 'd' },
		{ "memory", required_argument, NULL, 'm' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *ep;
	int c;

	memset(a, 0, sizeof(*a));
	a->mem_mib = 256;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->driver_domain = true;
			break;
		case 'm':
			a->mem_mib = (unsigned)strtoul(optarg, &ep, 10);
			if (!isdigit((unsigned char)*optarg) || *ep || !a->mem_mib ||
			    a->mem_mib > 1U << 20)
				return ts_usage_error(create_usage, "bad --memory `%s'", optarg);
			break;
		case 't':
			if (strcmp(optarg, "pv") && strcmp(optarg, "pvh"))
				return ts_usage_error(create_usage, "bad --type `%s'", optarg);
			a->pvh = !strcmp(optarg, "pvh");
			break;
		default:
			return ts_usage_error(create_usage, "bad option");
		}
	}
	if (argc - optind != 2)
		return ts_usage_error(create_usage, "expected DIR and NAME");
	a->name = argv[optind + 1];
	if (all_digits(a->name) || strchr(a->name, '/') || strlen(a->name) > 64)
		return ts_usage_error(create_usage, "bad domain name `%s' (not numeric, no '/', "
				      "at most 64 bytes)", a->name);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct ts_host h;
	struct create_args a;
	unsigned domid = 0;
	char uuid[37];
	int r;

	if (ts_want_help(argc, argv, create_usage))
		return 0;
	r = parse_create(argc, argv, &a);
	if (r)
		return r;
	if (ts_host_init(&h, argv[optind]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	if (domid_by_name(&h, a.name) >= 0) {
		ts_err("a domain named `%s' already exists", a.name);
		goto fail;
	}
	if (alloc_domid(&h, &domid) || make_uuid(uuid)) {
		ts_err("cannot allocate a domain id");
		goto fail;
	}
	r = hv_domain_create(h.dir, (domid_t)domid, a.mem_mib);
	if (r) {
		ts_err("hv_domain_create(%u): %s", domid, strerror(-r));
		goto fail;
	}
	r = run_tx(&h, write_skeleton, domid, uuid, &a);
	if (!r)
		r = run_tx(&h, write_build, domid, uuid, &a);
	if (!r && !xs_introduce_domain(h.xs, domid, TS_STORE_MFN, TS_STORE_PORT))
		r = -errno;
	if (!r)
		r = ts_console_add(&h, domid, TS_CONSOLE_PORT, TS_CONSOLE_MFN);
	if (r) {
		ts_err("creating domain %u: %s", domid, strerror(-r));
		remove_domain_nodes(&h, domid);
		hv_domain_destroy(h.dir, (domid_t)domid);
		goto fail;
	}
	printf("%u\n", domid);
	ts_host_close(&h);
	return 0;
fail:
	ts_host_close(&h);
	return TS_EXIT_FAIL;
}

int cmd_destroy(int argc, char **argv)
{
	struct ts_host h;
	int timeout = TS_DESTROY_TIMEOUT_S, c, r = TS_EXIT_FAIL;
	unsigned domid;

	if (ts_want_help(argc, argv, destroy_usage))
		return 0;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't' || (timeout = atoi(optarg)) < 0)
			return ts_usage_error(destroy_usage, "bad option");
	}
	if (argc - optind != 2)
		return ts_usage_error(destroy_usage, "expected DIR and DOMID");
	if (ts_host_init(&h, argv[optind]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	if (ts_domid_resolve(&h, argv[optind + 1], &domid))
		goto out;
	if (domid == 0) {
		ts_err("domain 0 cannot be destroyed (use `xensim down`)");
		goto out;
	}
	/* The domain dies first: nothing of it answers any more. */
	ts_proc_kill_domain(&h, (int)domid);
	ts_devices_destroy(&h, domid, timeout);
	remove_domain_nodes(&h, domid);
	if (!xs_release_domain(h.xs, domid))
		ts_warn("XS_RELEASE of domain %u: %s", domid, strerror(errno));
	r = hv_domain_destroy(h.dir, (domid_t)domid);
	if (r)
		ts_warn("hv_domain_destroy(%u): %s", domid, strerror(-r));
	r = 0;
out:
	ts_host_close(&h);
	return r;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static void list_one(struct ts_host *h, unsigned id)
{
	char p[96], *name, *mem, **cpus;
	unsigned ncpu = 0;

	snprintf(p, sizeof(p), "/local/domain/%u/name", id);
	name = ts_xs_read(h, XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u/memory/static-max", id);
	mem = ts_xs_read(h, XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u/cpu", id);
	cpus = xs_directory(h->xs, XBT_NULL, p, &ncpu);
	free(cpus);
	/* xl list's columns (tools/xl/xl_info.c list_domains) */
	printf("%-40s %5u %5lu %5u     %s  %8.1f\n", name ? name : "(null)", id,
	       mem ? strtoul(mem, NULL, 10) / 1024 : (id ? 0 : 1024UL), ncpu ? ncpu : 1,
	       id ? "-b----" : "r-----", 0.0);
	free(name);
	free(mem);
}

int cmd_list(int argc, char **argv)
{
	struct ts_host h;
	unsigned n = 0, *ids;
	char **ents;

	if (ts_want_help(argc, argv, list_usage))
		return 0;
	if (argc != 2)
		return ts_usage_error(list_usage, "expected DIR");
	if (ts_host_init(&h, argv[1]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	ents = xs_directory(h.xs, XBT_NULL, "/local/domain", &n);
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ents || !ids) {
		ts_err("cannot list /local/domain: %s", strerror(errno));
		free(ents);
		free(ids);
		ts_host_close(&h);
		return TS_EXIT_FAIL;
	}
	for (unsigned i = 0; i < n; i++)
		ids[i] = (unsigned)strtoul(ents[i], NULL, 10);
	qsort(ids, n, sizeof(*ids), cmp_uint);
	printf("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
	for (unsigned i = 0; i < n; i++)
		list_one(&h, ids[i]);
	free(ents);
	free(ids);
	ts_host_close(&h);
	return 0;
}

/* --- exec ----------------------------------------------------------------- */

static volatile pid_t exec_child;

static void forward_signal(int sig)
{
	if (exec_child > 0)
		kill(-exec_child, sig);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return TS_EXIT_FAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static void exec_in_child(char **cmd, bool own_tty)
{
	setpgid(0, 0);
	if (own_tty) {
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, getpid());
		signal(SIGTTOU, SIG_DFL);
	}
	execvp(cmd[0], cmd);
	fprintf(stderr, "xensim exec: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int cmd_exec(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = forward_signal };
	char sock[TS_PATH_MAX], buf[16];
	struct ts_host h;
	bool own_tty;
	unsigned domid;
	int cmd = 3, r;
	pid_t pid;

	/* only our own --help: CMD's arguments are CMD's */
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(exec_usage, stdout);
		return 0;
	}
	if (argc > 3 && !strcmp(argv[3], "--"))
		cmd = 4;
	if (argc <= cmd)
		return ts_usage_error(exec_usage, "expected DIR DOMID -- CMD");
	if (ts_host_init(&h, argv[1]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	r = ts_domid_resolve(&h, argv[2], &domid);
	ts_host_close(&h);
	if (r)
		return TS_EXIT_FAIL;
	ts_sock_path(&h, domid, sock, sizeof(sock));
	if (access(sock, F_OK)) {
		ts_err("domain %u has no xenstored socket (%s)", domid, sock);
		return TS_EXIT_FAIL;
	}
	setenv("XENSTORED_PATH", sock, 1);
	setenv("XENSIM_DIR", h.dir, 1);
	snprintf(buf, sizeof(buf), "%u", domid);
	setenv("XENSIM_DOMID", buf, 1);
	own_tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	pid = fork();
	if (pid < 0) {
		ts_err("fork: %s", strerror(errno));
		return TS_EXIT_FAIL;
	}
	if (pid == 0)
		exec_in_child(argv + cmd, own_tty);
	setpgid(pid, pid);	/* also here: no window where a signal misses the group */
	exec_child = pid;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	ts_proc_register(&h, pid, domid, argv[cmd]);
	r = wait_child(pid);
	ts_proc_unregister(&h, pid);
	if (own_tty) {
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, getpgrp());
	}
	return r;
}
