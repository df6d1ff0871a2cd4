// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test harness for xensim-xenstored (see harness.h). Test processes only; never sleeps:
 * every wait is a poll() on an fd with a bounded timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static struct xt_daemon *running;

static void cleanup(void)
{
	char cmd[300];

	if (!running)
		return;
	if (running->pid > 0) {
		kill(running->pid, SIGKILL);
		waitpid(running->pid, NULL, 0);
		running->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", running->dir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", running->dir);
	running = NULL;
}

void xt_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "FAIL %s:%d: %s (errno %d: %s)\n", file, line, what, errno,
		strerror(errno));
	cleanup();
	exit(1);
}

static int ms_left(const struct timespec *end)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

static void deadline(struct timespec *end, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += ms / 1000;
	end->tv_nsec += (long)(ms % 1000) * 1000000;
	if (end->tv_nsec >= 1000000000) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000;
	}
}

void xt_sock_path(const struct xt_daemon *d, unsigned int domid, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/xenstored/dom%u.sock", d->dir, domid);

	CHECK(n > 0 && (size_t)n < size);
}

void xt_start(struct xt_daemon *d, const char *const *extra)
{
	const char *bin = getenv("XENSIM_XENSTORED");
	const char *argv[32];
	int pfd[2], n = 0;
	struct pollfd p;
	char b;

	CHECK(bin);
	snprintf(d->dir, sizeof(d->dir), "/tmp/xsd-test.XXXXXX");
	CHECK(mkdtemp(d->dir));
	xt_sock_path(d, 0, d->sock0, sizeof(d->sock0));
	CHECK(!pipe2(pfd, O_CLOEXEC));
	running = d;
	atexit(cleanup);
	d->pid = fork();
	CHECK(d->pid >= 0);
	if (d->pid == 0) {
		dup2(pfd[1], 3);
		argv[n++] = bin;
		argv[n++] = "--dir";
		argv[n++] = d->dir;
		argv[n++] = "--ready-fd";
		argv[n++] = "3";
		for (; extra && *extra && n < 31; extra++)
			argv[n++] = *extra;
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	CHECK(poll(&p, 1, XT_TIMEOUT_MS) == 1);
	CHECK(read(pfd[0], &b, 1) == 1);
	close(pfd[0]);
}

bool xt_alive(struct xt_daemon *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

int xt_stop(struct xt_daemon *d)
{
	int pfd, st;
	struct pollfd p;

	CHECK(d->pid > 0);
	pfd = pidfd_open(d->pid, 0);
	CHECK(pfd >= 0);
	kill(d->pid, SIGTERM);
	p.fd = pfd;
	p.events = POLLIN;
	if (poll(&p, 1, XT_TIMEOUT_MS) != 1) {
		close(pfd);
		return -1;
	}
	close(pfd);
	CHECK(waitpid(d->pid, &st, 0) == d->pid);
	d->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct xs_handle *xt_open(const struct xt_daemon *d, unsigned int domid)
{
	char path[300];

	xt_sock_path(d, domid, path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

void xt_introduce(struct xs_handle *h0, unsigned int domid)
{
	CHECK(xs_introduce_domain(h0, domid, 0x1000 + domid, 10 + domid));
}

int xt_raw_open(struct xt_raw *r, const struct xt_daemon *d, unsigned int domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(r, 0, sizeof(*r));
	xt_sock_path(d, domid, sa.sun_path, sizeof(sa.sun_path));
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(r->fd);
		r->fd = -1;
		return -e;
	}
	return 0;
}

void xt_raw_close(struct xt_raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int xt_raw_send(struct xt_raw *r, uint32_t type, uint32_t tx, uint32_t len, const void *p,
		size_t plen)
{
	struct xsd_sockmsg h = { .type = type, .req_id = ++r->next_id, .tx_id = tx, .len = len };

	if (send(r->fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h))
		return -errno;
	if (plen && send(r->fd, p, plen, MSG_NOSIGNAL) != (ssize_t)plen)
		return -errno;
	return 0;
}

static int read_full(int fd, void *buf, size_t len, const struct timespec *end)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms_left(end)) != 1)
			return -ETIMEDOUT;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

int xt_raw_recv(struct xt_raw *r, struct xt_msg *m, int timeout_ms)
{
	struct timespec end;
	int e;

	deadline(&end, timeout_ms);
	e = read_full(r->fd, &m->h, sizeof(m->h), &end);
	if (e)
		return e;
	if (m->h.len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	e = read_full(r->fd, m->body, m->h.len, &end);
	m->body[m->h.len] = '\0';
	return e;
}

int xt_raw_req(struct xt_raw *r, uint32_t type, uint32_t tx, const void *p, size_t plen,
	       struct xt_msg *reply)
{
	int e = xt_raw_send(r, type, tx, (uint32_t)plen, p, plen);

	if (e)
		return e;
	for (;;) {
		e = xt_raw_recv(r, reply, XT_TIMEOUT_MS);
		if (e)
			return e;
		if (reply->h.type != XS_WATCH_EVENT)
			break;
		if (r->nev < sizeof(r->ev) / sizeof(r->ev[0]))
			r->ev[r->nev++] = *reply;
	}
	CHECK(reply->h.req_id == r->next_id);
	CHECK(reply->h.type == type || reply->h.type == XS_ERROR);
	return 0;
}

int xt_raw_event(struct xt_raw *r, char *path, size_t psize, char *token, size_t tsize,
		 int timeout_ms)
{
	struct xt_msg m;
	int e;

	if (r->nev) {
		m = r->ev[0];
		memmove(&r->ev[0], &r->ev[1], (r->nev - 1) * sizeof(r->ev[0]));
		r->nev--;
	} else {
		e = xt_raw_recv(r, &m, timeout_ms);
		if (e)
			return e;
		CHECK(m.h.type == XS_WATCH_EVENT);
	}
	CHECK(m.h.len >= 2 && m.body[m.h.len - 1] == '\0');
	snprintf(path, psize, "%s", m.body);
	snprintf(token, tsize, "%s", m.body + strlen(m.body) + 1);
	return 0;
}

bool xt_is_error(const struct xt_msg *m, const char *name)
{
	return m->h.type == XS_ERROR && m->h.len == strlen(name) + 1 && !strcmp(m->body, name);
}

void xt_raw_expect(struct xt_raw *r, uint32_t type, uint32_t tx, const void *p, size_t plen,
		   const char *expect)
{
	struct xt_msg m;

	CHECK(!xt_raw_req(r, type, tx, p, plen, &m));
	if (!strcmp(expect, "OK")) {
		if (m.h.type != type || strcmp(m.body, "OK"))
			fprintf(stderr, "type %u: got type %u '%s'\n", type, m.h.type, m.body);
		CHECK(m.h.type == type && m.h.len == 3 && !strcmp(m.body, "OK"));
	} else {
		if (!xt_is_error(&m, expect))
			fprintf(stderr, "type %u: want %s, got type %u '%s'\n", type, expect,
				m.h.type, m.body);
		CHECK(xt_is_error(&m, expect));
	}
}

int xt_spawn(const struct xt_daemon *d, unsigned int domid, const char *const *argv,
	     int *out_fd, int *err_fd)
{
	posix_spawn_file_actions_t fa;
	int o[2], e[2];
	char path[300];
	pid_t pid;

	if (d) {
		xt_sock_path(d, domid, path, sizeof(path));
		setenv("XENSTORED_PATH", path, 1);
	}
	CHECK(!pipe2(o, O_CLOEXEC) && !pipe2(e, O_CLOEXEC));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	CHECK(!posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ));
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	close(e[1]);
	*out_fd = o[0];
	if (err_fd)
		*err_fd = e[0];
	else
		close(e[0]);
	return pid;
}

size_t xt_read_all(int fd, char *out, size_t osize)
{
	struct timespec end;
	size_t got = 0;

	deadline(&end, XT_TIMEOUT_MS);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		CHECK(poll(&p, 1, ms_left(&end)) == 1);
		n = read(fd, out + got, osize - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		CHECK(got < osize - 1);
	}
	out[got] = '\0';
	close(fd);
	return got;
}

size_t xt_read_line(int fd, char *out, size_t osize)
{
	size_t got = 0;

	while (got < osize - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		CHECK(poll(&p, 1, XT_TIMEOUT_MS) == 1);
		CHECK(read(fd, out + got, 1) == 1);
		if (out[got] == '\n')
			break;
		got++;
	}
	out[got] = '\0';
	return got;
}

int xt_wait(int pid)
{
	int pfd = pidfd_open(pid, 0), st;
	struct pollfd p = { .fd = pfd, .events = POLLIN };

	CHECK(pfd >= 0);
	CHECK(poll(&p, 1, XT_TIMEOUT_MS) == 1);
	close(pfd);
	CHECK(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int xt_run(const struct xt_daemon *d, unsigned int domid, const char *const *argv, char *out,
	   size_t osize)
{
	int fd, pid = xt_spawn(d, domid, argv, &fd, NULL);

	xt_read_all(fd, out, osize);
	return xt_wait(pid);
}
