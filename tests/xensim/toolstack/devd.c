// SPDX-License-Identifier: GPL-2.0-only
/*
 * `xensim devd DIR DOMID [-F]`: what `xl devd` does in a driver domain
 * (libxl_device.c libxl_device_events_handler / backend_watch_callback, Xen
 * 4.17), as a process of that domain (its own xenstored socket):
 *
 *   - watch /local/domain/<self>/backend; every state/online change is looked
 *     at, and every event triggers a rescan (watches coalesce);
 *   - a new vbd/vif backend: when it reaches InitWait (2) within 10 s
 *     (LIBXL_INIT_TIMEOUT; later, never), run its `script`
 *     with "add" (vbd) or "online type_if=vif" (vif), as device_hotplug() and
 *     libxl__get_hotplug_script_info() (libxl_linux.c) do, with the
 *     environment of get_hotplug_env(): script, XENBUS_TYPE, XENBUS_PATH,
 *     XENBUS_BASE_PATH (+ netdev and vif for a vif);
 *   - a script that fails on add: hotplug-status=error in the backend dir
 *     (Xen's own scripts write it themselves through `fatal`; xensim makes
 *     sure a failing script cannot leave the backend waiting forever);
 *   - a backend at Closed (6) with online=0: run "remove" / "offline
 *     type_if=vif" (even if add never ran, as libxl), then remove the backend directory and its empty parents
 *     (libxl__device_destroy in the driver domain).
 *
 * Single-threaded poll loop over the xenstore fd and a signalfd. A script
 * runs synchronously with LIBXL_HOTPLUG_TIMEOUT (40 s) as its bound.
 * Without -F it daemonizes once its watch is in place, so `xensim devd`
 * returning means it is ready; `xensim destroy`/`down` stop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"

#define DEVD_HOTPLUG_TIMEOUT_MS (40 * 1000)	/* libxl_internal.h LIBXL_HOTPLUG_TIMEOUT */
#define DEVD_MAX_DEVICES 512

static const char devd_usage[] =
	"usage: xensim devd DIR DOMID [-F]\n"
	"  Runs what `xl devd` runs in a driver domain: watches the domain's backend\n"
	"  directory and runs each vbd/vif hotplug script (add at InitWait, remove\n"
	"  after Closed), then removes closed backends. Daemonizes once ready unless\n"
	"  -F; its log is DIR/toolstack/devd-DOMID.log.\n";

struct devd_dev {
	char kind[8];		/* backend kind: vbd, vif */
	unsigned fe;
	int devid;
	bool added;		/* the add step is over (script ran, or gave up) */
	bool seen;		/* found in the current scan */
	long long deadline_ms;	/* InitWait must come by then (LIBXL_INIT_TIMEOUT) */
};

struct devd {
	struct ts_host host;	/* .xs is the domain's own connection */
	unsigned self;
	struct devd_dev devs[DEVD_MAX_DEVICES];
	unsigned ndevs;
};

static void devd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void devd_log(const char *fmt, ...)
{
	va_list ap;

	fputs("xensim devd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Time to the nearest InitWait deadline (-1: none), for poll(). */
static int next_timeout(const struct devd *dd)
{
	long long best = -1, left;

	for (unsigned i = 0; i < dd->ndevs; i++) {
		if (dd->devs[i].added)
			continue;
		left = dd->devs[i].deadline_ms - now_ms();
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

static void be_path(const struct devd *dd, const struct devd_dev *d, char *buf, size_t len)
{
	snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%d", dd->self, d->kind, d->fe,
		 d->devid);
}

static char *read_node(struct devd *dd, const struct devd_dev *d, const char *node)
{
	char p[TS_PATH_MAX];

	be_path(dd, d, p, sizeof(p));
	strncat(p, "/", sizeof(p) - strlen(p) - 1);
	strncat(p, node, sizeof(p) - strlen(p) - 1);
	return ts_xs_read(&dd->host, XBT_NULL, p);
}

static int wait_script(pid_t pid, const char *script)
{
	struct pollfd pfd = { .events = POLLIN };
	int status = 0;

	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd >= 0) {
		if (poll(&pfd, 1, DEVD_HOTPLUG_TIMEOUT_MS) == 0) {
			devd_log("%s: still running after %d ms, killing it", script,
				 DEVD_HOTPLUG_TIMEOUT_MS);
			kill(pid, SIGKILL);
		}
		close(pfd.fd);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return status;
}

/* libxl_linux.c get_hotplug_env() + the args of libxl__hotplug_{disk,nic}. */
static int run_script(struct devd *dd, const struct devd_dev *d, bool add)
{
	char xpath[96], vif[32], *script, *gw = NULL;
	bool is_vif = !strcmp(d->kind, "vif");
	pid_t pid;
	int status, fd;

	script = read_node(dd, d, "script");
	if (!script) {
		devd_log("backend/%s/%u/%d: no script node", d->kind, d->fe, d->devid);
		return -ENOENT;
	}
	if (is_vif)
		gw = read_node(dd, d, "gatewaydev");
	snprintf(xpath, sizeof(xpath), "backend/%s/%u/%d", d->kind, d->fe, d->devid);
	snprintf(vif, sizeof(vif), "vif%u.%d", d->fe, d->devid);	/* nic devname */
	devd_log("running %s %s for %s", script,
		 is_vif ? (add ? "online" : "offline") : (add ? "add" : "remove"), xpath);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		setenv("script", script, 1);
		setenv("XENBUS_TYPE", d->kind, 1);
		setenv("XENBUS_PATH", xpath, 1);
		setenv("XENBUS_BASE_PATH", "backend", 1);
		if (is_vif) {
			setenv("netdev", gw ? gw : "", 1);
			setenv("vif", vif, 1);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1);	/* libxl: the script's stdout goes to stderr */
		if (is_vif)
			execl(script, script, add ? "online" : "offline", "type_if=vif",
			      (char *)NULL);
		else
			execl(script, script, add ? "add" : "remove", (char *)NULL);
		fprintf(stderr, "xensim devd: exec %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	status = pid < 0 ? -errno : wait_script(pid, script);
	free(script);
	free(gw);
	return status;
}

static void hotplug_error(struct devd *dd, const struct devd_dev *d, int status)
{
	char p[TS_PATH_MAX], *msg;

	msg = read_node(dd, d, "hotplug-error");
	devd_log("backend/%s/%u/%d: hotplug script failed (status %d)%s%s", d->kind, d->fe,
		 d->devid, status, msg ? ": " : "", msg ? msg : "");
	free(msg);
	be_path(dd, d, p, sizeof(p));
	strncat(p, "/hotplug-status", sizeof(p) - strlen(p) - 1);
	if (!xs_write(dd->host.xs, XBT_NULL, p, "error", 5))
		devd_log("cannot write %s: %s", p, strerror(errno));
}

/* libxl__device_destroy() in the driver domain: its own backend path only. */
static void remove_backend(struct devd *dd, const struct devd_dev *d)
{
	char p[TS_PATH_MAX];

	be_path(dd, d, p, sizeof(p));
	for (;;) {
		xs_transaction_t t = xs_transaction_start(dd->host.xs);

		if (t == XBT_NULL)
			return;
		ts_xs_path_cleanup(&dd->host, t, p);
		if (xs_transaction_end(dd->host.xs, t, false) || errno != EAGAIN)
			return;
	}
}

static struct devd_dev *find_or_add(struct devd *dd, const char *kind, unsigned fe, int devid,
				    bool create)
{
	for (unsigned i = 0; i < dd->ndevs; i++)
		if (dd->devs[i].fe == fe && dd->devs[i].devid == devid &&
		    !strcmp(dd->devs[i].kind, kind))
			return &dd->devs[i];
	if (!create || dd->ndevs == DEVD_MAX_DEVICES)
		return NULL;
	memset(&dd->devs[dd->ndevs], 0, sizeof(dd->devs[0]));
	snprintf(dd->devs[dd->ndevs].kind, sizeof(dd->devs[0].kind), "%s", kind);
	dd->devs[dd->ndevs].fe = fe;
	dd->devs[dd->ndevs].devid = devid;
	return &dd->devs[dd->ndevs++];
}

/* backend_watch_callback()'s decision for one device. */
static void handle_device(struct devd *dd, const char *kind, unsigned fe, int devid)
{
	struct devd_dev probe = { .fe = fe, .devid = devid }, *d;
	char *s, *o;
	int state, online, status;

	snprintf(probe.kind, sizeof(probe.kind), "%s", kind);
	s = read_node(dd, &probe, "state");
	o = read_node(dd, &probe, "online");
	state = s ? atoi(s) : -1;
	online = o ? atoi(o) : -1;
	free(s);
	free(o);
	d = find_or_add(dd, kind, fe, devid, false);
	if (d)
		d->seen = true;
	if (state < 0 || online < 0)
		return;
	/* "Spurious state change, device has already been disconnected" */
	if (!d && state == 6)
		return;
	if (!d) {
		d = find_or_add(dd, kind, fe, devid, true);
		if (!d) {
			devd_log("too many devices (max %d), ignoring backend/%s/%u/%d",
				 DEVD_MAX_DEVICES, kind, fe, devid);
			return;
		}
		d->seen = true;
		d->deadline_ms = now_ms() + TS_INIT_TIMEOUT_S * 1000;
	}
	if (state == 6 && online == 0) {
		/* remove_device: the script runs whether or not add ran */
		run_script(dd, d, false);	/* errors ignored on remove, as libxl */
		remove_backend(dd, d);
		*d = dd->devs[--dd->ndevs];
	} else if (!d->added && state == 2) {
		d->added = true;
		status = run_script(dd, d, true);
		if (status)
			hotplug_error(dd, d, status);
	} else if (!d->added && now_ms() >= d->deadline_ms) {
		/* add_device -> libxl__wait_device_connection gives up, for good */
		d->added = true;
		devd_log("backend/%s/%u/%d did not reach InitWait within %d s: its hotplug "
			 "script will not run (as xl devd)", kind, fe, devid, TS_INIT_TIMEOUT_S);
	}
}

static void scan(struct devd *dd)
{
	static const char *const kinds[] = { "vbd", "vif" };
	char p[128], **fes, **devs;
	unsigned nf, nd;

	for (unsigned i = 0; i < dd->ndevs; i++)
		dd->devs[i].seen = false;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(p, sizeof(p), "/local/domain/%u/backend/%s", dd->self, kinds[k]);
		nf = 0;
		fes = xs_directory(dd->host.xs, XBT_NULL, p, &nf);
		for (unsigned f = 0; fes && f < nf; f++) {
			snprintf(p, sizeof(p), "/local/domain/%u/backend/%s/%s", dd->self,
				 kinds[k], fes[f]);
			nd = 0;
			devs = xs_directory(dd->host.xs, XBT_NULL, p, &nd);
			for (unsigned i = 0; devs && i < nd; i++)
				handle_device(dd, kinds[k], (unsigned)atoi(fes[f]), atoi(devs[i]));
			free(devs);
		}
		free(fes);
	}
	/* devices whose directory vanished are forgotten */
	for (unsigned i = 0; i < dd->ndevs;)
		if (!dd->devs[i].seen)
			dd->devs[i] = dd->devs[--dd->ndevs];
		else
			i++;
}

static int devd_loop(struct devd *dd, int ready_fd)
{
	struct pollfd pfd[2] = { { .events = POLLIN }, { .events = POLLIN } };
	char watch[96], **ev;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	pfd[1].fd = signalfd(-1, &mask, SFD_CLOEXEC);
	snprintf(watch, sizeof(watch), "/local/domain/%u/backend", dd->self);
	if (!xs_watch(dd->host.xs, watch, "devd")) {
		devd_log("cannot watch %s: %s", watch, strerror(errno));
		return TS_EXIT_FAIL;
	}
	pfd[0].fd = xs_fileno(dd->host.xs);
	scan(dd);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
	}
	devd_log("watching %s", watch);
	for (;;) {
		if (poll(pfd, 2, next_timeout(dd)) < 0 && errno != EINTR)
			return TS_EXIT_FAIL;
		if (pfd[1].revents)
			break;
		while ((ev = xs_check_watch(dd->host.xs)))
			free(ev);
		scan(dd);
		fflush(stderr);
	}
	devd_log("stopping");
	return 0;
}

/* Forks the daemon; the parent returns once the child's watch is in place. */
static int daemonize(struct devd *dd, int *ready_fd)
{
	char log[32], c;
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1) {
			ts_err("devd for domain %u failed to start (see its log)", dd->self);
			return -EIO;
		}
		ts_proc_register(&dd->host, pid, dd->self, "devd");
		printf("%d\n", (int)pid);
		exit(0);
	}
	close(pfd[0]);
	snprintf(log, sizeof(log), "devd-%u.log", dd->self);
	ts_detach(&dd->host, log);
	*ready_fd = pfd[1];
	return 0;
}

int cmd_devd(int argc, char **argv)
{
	static struct devd dd;
	char sock[TS_PATH_MAX], buf[16];
	bool foreground = false;
	int ready_fd = -1, r, c;

	if (ts_want_help(argc, argv, devd_usage))
		return 0;
	while ((c = getopt(argc, argv, "F")) != -1) {
		if (c != 'F')
			return ts_usage_error(devd_usage, "bad option");
		foreground = true;
	}
	if (argc - optind != 2)
		return ts_usage_error(devd_usage, "expected DIR DOMID");
	if (ts_host_init(&dd.host, argv[optind]) || ts_host_open(&dd.host))
		return TS_EXIT_FAIL;
	r = ts_domid_resolve(&dd.host, argv[optind + 1], &dd.self);
	ts_host_close(&dd.host);
	if (r)
		return TS_EXIT_FAIL;
	/* From here on, a process of that domain. */
	ts_sock_path(&dd.host, dd.self, sock, sizeof(sock));
	setenv("XENSTORED_PATH", sock, 1);
	setenv("XENSIM_DIR", dd.host.dir, 1);
	snprintf(buf, sizeof(buf), "%u", dd.self);
	setenv("XENSIM_DOMID", buf, 1);
	if (!foreground && daemonize(&dd, &ready_fd))
		return TS_EXIT_FAIL;
	if (foreground)
		ts_proc_register(&dd.host, getpid(), dd.self, "devd");
	dd.host.xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!dd.host.xs) {
		devd_log("cannot connect to %s: %s", sock, strerror(errno));
		return TS_EXIT_FAIL;
	}
	r = devd_loop(&dd, ready_fd);
	ts_proc_unregister(&dd.host, getpid());
	ts_host_close(&dd.host);
	return r;
}
