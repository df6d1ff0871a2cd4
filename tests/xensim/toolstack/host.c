// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated host: its directory, its xenstored daemon (`up`/`down`), the
 * processes the toolstack started for domains (exec'd commands, devd), and
 * small libxenstore helpers shaped like libxl_xshelp.c's.
 *
 * Runs in the single thread of a `xensim` verb. It never waits without a
 * bound: process exits are awaited on pidfds, xenstore changes on watches,
 * readiness on the daemon's --ready-fd pipe, each with a timeout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"
#include "hv-compat.h"

#define TS_READY_TIMEOUT_MS 10000
#define TS_KILL_GRACE_MS 5000

void ts_verr(const char *fmt, va_list ap)
{
	fputs("xensim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ts_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ts_verr(fmt, ap);
	va_end(ap);
}

void ts_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("xensim: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void sub_path(const struct ts_host *h, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void sub_path(const struct ts_host *h, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s/", h->dir);

	va_start(ap, fmt);
	vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

int ts_host_init(struct ts_host *h, const char *dir)
{
	char real[PATH_MAX];
	struct stat st;

	memset(h, 0, sizeof(*h));
	if (!dir || !*dir) {
		ts_err("no host directory given");
		return -EINVAL;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		ts_err("%s: not a directory", dir);
		return -ENOTDIR;
	}
	if (!realpath(dir, real)) {
		ts_err("%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (strlen(real) >= sizeof(h->dir)) {
		ts_err("%s: path too long", real);
		return -ENAMETOOLONG;
	}
	memcpy(h->dir, real, strlen(real) + 1);
	/* sun_path is 108 bytes: DIR/xenstored/dom65535.sock must fit. */
	if (strlen(h->dir) + sizeof("/xenstored/dom65535.sock") > 108) {
		ts_err("%s: path too long for the xenstored sockets (max %zu bytes)", h->dir,
		       108 - sizeof("/xenstored/dom65535.sock"));
		return -ENAMETOOLONG;
	}
	return 0;
}

void ts_sock_path(const struct ts_host *h, unsigned domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/xenstored/dom%u.sock", h->dir, domid);
}

static struct xs_handle *open_as(const struct ts_host *h, unsigned domid)
{
	char sock[TS_PATH_MAX];

	ts_sock_path(h, domid, sock, sizeof(sock));
	if (access(sock, F_OK))
		return NULL;
	/* libxenstore takes the daemon socket from XENSTORED_PATH. */
	setenv("XENSTORED_PATH", sock, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

int ts_host_open(struct ts_host *h)
{
	h->xs = open_as(h, 0);
	if (!h->xs) {
		ts_err("no host running in %s (start one with `xensim up %s`)", h->dir, h->dir);
		return -ENOTCONN;
	}
	return 0;
}

void ts_host_close(struct ts_host *h)
{
	if (h->xs)
		xs_close(h->xs);
	h->xs = NULL;
}

/* --- processes ------------------------------------------------------------ */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Field 22 of /proc/<pid>/stat: start time, to tell a reused pid apart. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* comm may contain spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &st) != 1)
		return 0;
	return st;
}

/* Waits up to timeout_ms for pid to exit. true when it is gone. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLIN };
	bool gone;

	pfd.fd = pidfd_open_(pid);
	if (pfd.fd < 0)
		return errno == ESRCH;
	gone = poll(&pfd, 1, timeout_ms) > 0;
	close(pfd.fd);
	return gone;
}

/* TERM, a grace period, then KILL; the group when pid leads one. */
static void stop_process(pid_t pid, const char *what)
{
	pid_t target = getpgid(pid) == pid ? -pid : pid;

	if (kill(target, SIGTERM) && errno == ESRCH)
		return;
	if (wait_gone(pid, TS_KILL_GRACE_MS))
		goto reap_group;
	ts_warn("%s (pid %d) ignored SIGTERM for %d ms; killing it", what, (int)pid,
		TS_KILL_GRACE_MS);
	kill(target, SIGKILL);
	wait_gone(pid, TS_KILL_GRACE_MS);
reap_group:
	/* stragglers of the group (children that outlived their leader) */
	if (target < 0)
		kill(target, SIGKILL);
}

int ts_proc_register(const struct ts_host *h, pid_t pid, unsigned domid, const char *what)
{
	char path[TS_PATH_MAX];
	FILE *f;

	sub_path(h, path, sizeof(path), "toolstack/procs/%d", (int)pid);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%u %llu %s\n", domid, proc_starttime(pid), what);
	return fclose(f) ? -errno : 0;
}

void ts_proc_unregister(const struct ts_host *h, pid_t pid)
{
	char path[TS_PATH_MAX];

	sub_path(h, path, sizeof(path), "toolstack/procs/%d", (int)pid);
	unlink(path);
}

struct proc_rec {
	pid_t pid;
	unsigned domid;
	bool alive;
	char what[256];
	char path[TS_PATH_MAX + 300];
};

/* Calls fn for each record; stops early when fn returns true. */
static bool proc_each(const struct ts_host *h, bool (*fn)(struct proc_rec *, void *), void *arg)
{
	char dpath[TS_PATH_MAX];
	struct proc_rec rec;
	unsigned long long st;
	struct dirent *de;
	bool stop = false;
	DIR *d;
	FILE *f;
	int n;

	sub_path(h, dpath, sizeof(dpath), "toolstack/procs");
	d = opendir(dpath);
	if (!d)
		return false;
	while (!stop && (de = readdir(d))) {
		rec.pid = (pid_t)atoi(de->d_name);
		if (rec.pid <= 0)
			continue;
		snprintf(rec.path, sizeof(rec.path), "%s/%s", dpath, de->d_name);
		f = fopen(rec.path, "re");
		if (!f)
			continue;
		rec.what[0] = 0;
		n = fscanf(f, "%u %llu %255[^\n]", &rec.domid, &st, rec.what);
		fclose(f);
		if (n < 2)
			continue;
		rec.alive = st && proc_starttime(rec.pid) == st;
		stop = fn(&rec, arg);
	}
	closedir(d);
	return stop;
}

static bool kill_one(struct proc_rec *rec, void *arg)
{
	int domid = *(int *)arg;

	if (domid >= 0 && rec->domid != (unsigned)domid)
		return false;
	if (rec->alive)
		stop_process(rec->pid, rec->what[0] ? rec->what : "process");
	unlink(rec->path);
	return false;
}

void ts_proc_kill_domain(const struct ts_host *h, int domid)
{
	proc_each(h, kill_one, &domid);
}

struct running_arg {
	unsigned domid;
	const char *what;
};

static bool is_running(struct proc_rec *rec, void *arg)
{
	struct running_arg *a = arg;

	return rec->alive && rec->domid == a->domid && !strcmp(rec->what, a->what);
}

bool ts_proc_running(const struct ts_host *h, unsigned domid, const char *what)
{
	struct running_arg a = { domid, what };

	return proc_each(h, is_running, &a);
}

/* --- xenstored ------------------------------------------------------------ */

static pid_t read_pidfile(const struct ts_host *h, unsigned long long *st)
{
	char path[TS_PATH_MAX];
	long pid = 0;
	FILE *f;

	*st = 0;
	sub_path(h, path, sizeof(path), "toolstack/xenstored.pid");
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %llu", &pid, st) < 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

static bool daemon_running(const struct ts_host *h, pid_t *ret_pid)
{
	unsigned long long st;
	pid_t pid = read_pidfile(h, &st);

	if (ret_pid)
		*ret_pid = pid;
	return pid > 0 && st && proc_starttime(pid) == st;
}

bool ts_host_alive(const struct ts_host *h)
{
	struct xs_handle *xs;
	char *v;

	if (!daemon_running(h, NULL))
		return false;
	xs = open_as(h, 0);
	if (!xs)
		return false;
	v = xs_read(xs, XBT_NULL, "/local/domain/0/name", NULL);
	xs_close(xs);
	free(v);
	return v != NULL;
}

/* The daemon: $XENSIM_XENSTORED, next to this binary, or the build-time path. */
static int find_xenstored(char *buf, size_t len)
{
	const char *env = getenv("XENSIM_XENSTORED");
	char self[PATH_MAX - 64];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, X_OK) ? -ENOENT : 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/xensim-xenstored", self);
			if (!access(buf, X_OK))
				return 0;
		}
	}
#ifdef XENSIM_XENSTORED_PATH
	snprintf(buf, len, "%s", XENSIM_XENSTORED_PATH);
	if (!access(buf, X_OK))
		return 0;
#endif
	return -ENOENT;
}

static void mkdirs(const struct ts_host *h)
{
	char path[TS_PATH_MAX];

	sub_path(h, path, sizeof(path), "toolstack");
	mkdir(path, 0755);
	sub_path(h, path, sizeof(path), "toolstack/procs");
	mkdir(path, 0755);
	sub_path(h, path, sizeof(path), "xenstored");
	mkdir(path, 0755);
}

void ts_detach(const struct ts_host *h, const char *logname)
{
	char log[TS_PATH_MAX];
	int fd;

	setsid();
	sub_path(h, log, sizeof(log), "toolstack/%s", logname);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
}

/* Child side of the spawn: detach, log to a file, exec the daemon. */
static void exec_daemon(const struct ts_host *h, const char *bin, int ready_fd, int nextra,
			char **extra)
{
	char fdbuf[16], *argv[64];
	int n = 0;

	ts_detach(h, "xenstored.log");
	snprintf(fdbuf, sizeof(fdbuf), "%d", ready_fd);
	argv[n++] = (char *)bin;
	argv[n++] = "--dir";
	argv[n++] = (char *)h->dir;
	argv[n++] = "--ready-fd";
	argv[n++] = fdbuf;
	for (int i = 0; i < nextra && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	execv(bin, argv);
	fprintf(stderr, "xensim: exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

/* Waits for the daemon's readiness byte (or EOF) on fd. */
static int wait_ready(int fd, pid_t pid)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;
	int r, status;

	r = poll(&pfd, 1, TS_READY_TIMEOUT_MS);
	if (r == 0) {
		ts_err("xensim-xenstored did not report ready within %d ms",
		       TS_READY_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return -errno;
	(void)!read(fd, &c, 1);
	if (waitpid(pid, &status, WNOHANG) == pid) {
		ts_err("xensim-xenstored exited during start-up (status %d)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -ECHILD;
	}
	return 0;
}

static int spawn_xenstored(struct ts_host *h, int nextra, char **extra)
{
	char bin[PATH_MAX], path[TS_PATH_MAX];
	int pfd[2], r;
	pid_t pid;
	FILE *f;

	if (find_xenstored(bin, sizeof(bin))) {
		ts_err("cannot find xensim-xenstored (next to xensim, or set XENSIM_XENSTORED)");
		return -ENOENT;
	}
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		close(pfd[0]);
		fcntl(pfd[1], F_SETFD, 0);	/* the daemon inherits the ready fd */
		exec_daemon(h, bin, pfd[1], nextra, extra);
	}
	close(pfd[1]);
	r = wait_ready(pfd[0], pid);
	close(pfd[0]);
	if (r) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		sub_path(h, path, sizeof(path), "toolstack/xenstored.log");
		ts_err("see %s", path);
		return r;
	}
	sub_path(h, path, sizeof(path), "toolstack/xenstored.pid");
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d %llu\n", (int)pid, proc_starttime(pid));
	return fclose(f) ? -errno : 0;
}

/* What xen-init-dom0 (tools/helpers/xen-init-dom0.c) writes at boot. */
static int init_dom0(struct ts_host *h)
{
	bool ok = xs_write(h->xs, XBT_NULL, "/local/domain/0/domid", "0", 1) &&
		  xs_write(h->xs, XBT_NULL, "/local/domain/0/name", "Domain-0", 8) &&
		  xs_write(h->xs, XBT_NULL, "/local/pool/0/name", "Pool-0", 6);

	if (!ok) {
		ts_err("cannot write dom0's nodes: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

static int reset_domids(const struct ts_host *h)
{
	char path[TS_PATH_MAX];
	FILE *f;

	sub_path(h, path, sizeof(path), "toolstack/next-domid");
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs("1\n", f);
	return fclose(f) ? -errno : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * What a previous host that died (kill -9, a crash, a half-done `down`) left:
 * its processes, its xenstored sockets, its hypervisor state. A boot starts
 * with none of them.
 */
static void clear_stale(const struct ts_host *h)
{
	char path[TS_PATH_MAX];
	struct dirent *de;
	DIR *d;

	ts_proc_kill_domain(h, -1);
	sub_path(h, path, sizeof(path), "hv");
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	sub_path(h, path, sizeof(path), "xenstored");
	d = opendir(path);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 5 && !strcmp(de->d_name + n - 5, ".sock"))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
}

int ts_up(struct ts_host *h, int nextra, char **extra)
{
	int r;

	if (ts_host_alive(h)) {
		fprintf(stderr, "xensim: host in %s is already up\n", h->dir);
		return 0;
	}
	mkdirs(h);
	clear_stale(h);
	r = reset_domids(h);
	if (r)
		return r;
	r = spawn_xenstored(h, nextra, extra);
	if (r)
		return r;
	r = ts_host_open(h);
	if (r)
		goto fail;
	r = hv_domain_create(h->dir, 0, 1024);
	if (r) {
		ts_err("hv_domain_create(dom0): %s", strerror(-r));
		goto fail;
	}
	r = init_dom0(h);
	if (!r)
		return 0;
fail:
	ts_host_close(h);
	ts_down(h);
	return r;
}

/* Every domain the store knows, for the hv teardown at `down`. */
static void hv_destroy_all(struct ts_host *h)
{
	unsigned n = 0;
	char **ents;

	if (ts_host_open(h))
		return;
	ents = xs_directory(h->xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; ents && i < n; i++)
		hv_domain_destroy(h->dir, (domid_t)atoi(ents[i]));
	free(ents);
	ts_host_close(h);
}

int ts_down(struct ts_host *h)
{
	char path[TS_PATH_MAX];
	pid_t pid;

	ts_proc_kill_domain(h, -1);
	if (!daemon_running(h, &pid))
		goto out;
	hv_destroy_all(h);
	stop_process(pid, "xensim-xenstored");
out:
	sub_path(h, path, sizeof(path), "toolstack/xenstored.pid");
	unlink(path);
	return 0;
}

/* --- xenstore helpers ----------------------------------------------------- */

char *ts_xs_read(struct ts_host *h, xs_transaction_t t, const char *path)
{
	unsigned len;

	return xs_read(h->xs, t, path, &len);
}

bool ts_xs_writef(struct ts_host *h, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char *v = NULL;
	va_list ap;
	bool ok;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	ok = xs_write(h->xs, t, path, v, (unsigned)n);
	free(v);
	return ok;
}

bool ts_xs_mknod(struct ts_host *h, xs_transaction_t t, const char *path,
		 struct xs_permissions *perms, unsigned n)
{
	return xs_mkdir(h->xs, t, path) && xs_set_permissions(h->xs, t, path, perms, n);
}

void ts_xs_path_cleanup(struct ts_host *h, xs_transaction_t t, const char *user_path)
{
	char path[TS_PATH_MAX], *last, *val, **ents;
	unsigned n;

	snprintf(path, sizeof(path), "%s", user_path);
	if (!xs_rm(h->xs, t, path))
		return;
	while ((last = strrchr(path, '/')) && last != path) {
		*last = 0;
		val = ts_xs_read(h, t, path);
		if (!val || *val) {
			free(val);
			break;
		}
		free(val);
		ents = xs_directory(h->xs, t, path, &n);
		free(ents);
		if (!ents || n || !xs_rm(h->xs, t, path))
			break;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum wait_kind { WAIT_VALUE, WAIT_VALUE_OR_GONE, WAIT_GONE, WAIT_EXISTS };

static bool matches(struct ts_host *h, const char *path, const char *want, enum wait_kind k)
{
	char *v = ts_xs_read(h, XBT_NULL, path);
	bool m;

	switch (k) {
	case WAIT_GONE:
		m = !v;
		break;
	case WAIT_EXISTS:
		m = v != NULL;
		break;
	default:
		m = v ? !strcmp(v, want) : k == WAIT_VALUE_OR_GONE;
	}
	free(v);
	return m;
}

static int wait_for(struct ts_host *h, const char *path, const char *want, enum wait_kind kind,
		    int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .events = POLLIN };
	char token[32], **ev;
	int r = -ETIMEDOUT;

	snprintf(token, sizeof(token), "ts-wait-%d", (int)getpid());
	if (!xs_watch(h->xs, path, token))
		return -errno;
	pfd.fd = xs_fileno(h->xs);
	for (;;) {
		long long left = deadline - now_ms();

		/* re-read on every event: watches coalesce and fire on registration */
		if (matches(h, path, want, kind)) {
			r = 0;
			break;
		}
		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		while ((ev = xs_check_watch(h->xs)))
			free(ev);
	}
	xs_unwatch(h->xs, path, token);
	return r;
}

int ts_xs_wait(struct ts_host *h, const char *path, const char *want, bool or_gone,
	       int timeout_ms)
{
	enum wait_kind k = !want ? WAIT_GONE : or_gone ? WAIT_VALUE_OR_GONE : WAIT_VALUE;

	return wait_for(h, path, want, k, timeout_ms);
}

int ts_xs_wait_exists(struct ts_host *h, const char *path, int timeout_ms)
{
	return wait_for(h, path, NULL, WAIT_EXISTS, timeout_ms);
}
