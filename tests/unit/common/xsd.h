/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helper: run a private xensim-xenstored (tests/xensim/xenstored) in a
 * fresh temporary directory, open libxenstore handles as any domain (one
 * socket per domain, chosen through XENSTORED_PATH), introduce domains and
 * create their home directories with libxl's permissions
 * (tools/libs/light/libxl_create.c: /local/domain/<id> owned by dom0 and
 * readable by the domain; device/ and data/ owned by the domain).
 *
 * Readiness is the daemon's --ready-fd byte, read with a bounded poll; the
 * daemon is stopped with SIGTERM and reaped. Test-process only.
 */
#ifndef DDOM_TEST_XSD_H
#define DDOM_TEST_XSD_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>
#include <xenstore_lib.h>

struct xsd {
	pid_t pid;
	char dir[128];
};

/* 0 started; -ENOENT the executable is missing (skip); other -errno. */
static inline int xsd_start(struct xsd *x, const char *exe)
{
	char fdarg[16];
	struct pollfd pfd;
	int p[2];
	char c;

	if (!exe || access(exe, X_OK) != 0)
		return -ENOENT;
	snprintf(x->dir, sizeof(x->dir), "/tmp/ddom-test-XXXXXX");
	if (!mkdtemp(x->dir))
		return -errno;
	if (pipe(p) < 0)
		return -errno;
	x->pid = fork();
	if (x->pid < 0)
		return -errno;
	if (x->pid == 0) {
		close(p[0]);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl(exe, exe, "--dir", x->dir, "--ready-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, 10000) != 1 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		kill(x->pid, SIGKILL);
		waitpid(x->pid, NULL, 0);
		return -ETIMEDOUT;
	}
	close(p[0]);
	return 0;
}

/*
 * xsd_start for a TAP test whose argv[1] is the daemon: 0 when running,
 * otherwise the exit code to return (77 skip when no daemon was given).
 */
static inline int xsd_start_tap(struct xsd *x, int argc, char **argv)
{
	int r = xsd_start(x, argc > 1 ? argv[1] : NULL);

	if (r == -ENOENT) {
		printf("1..0 # SKIP xensim-xenstored not given\n");
		return 77;
	}
	if (r < 0) {
		printf("Bail out! xensim-xenstored did not start: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

static inline int xsd_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static inline void xsd_stop(struct xsd *x)
{
	if (x->pid > 0) {
		kill(x->pid, SIGTERM);
		waitpid(x->pid, NULL, 0);
		x->pid = 0;
	}
	if (x->dir[0])
		nftw(x->dir, xsd_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A handle speaking as domid (its socket must exist: dom0, or introduced). */
static inline struct xs_handle *xsd_open(struct xsd *x, unsigned int domid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/xenstored/dom%u.sock", x->dir, domid);
	setenv("XENSTORED_PATH", path, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

static inline bool xsd_mknod(struct xs_handle *h, const char *path, unsigned int owner,
			     unsigned int reader)
{
	struct xs_permissions perms[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	return xs_write(h, XBT_NULL, path, "", 0) &&
	       xs_set_permissions(h, XBT_NULL, path, perms, reader == owner ? 1 : 2);
}

/* XS_INTRODUCE domid and create its home as libxl does. */
static inline bool xsd_introduce(struct xs_handle *dom0, unsigned int domid)
{
	char path[64];

	if (!xs_introduce_domain(dom0, domid, 1, 1))
		return false;
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if (!xsd_mknod(dom0, path, 0, domid))
		return false;
	snprintf(path, sizeof(path), "/local/domain/%u/device", domid);
	if (!xsd_mknod(dom0, path, domid, domid))
		return false;
	snprintf(path, sizeof(path), "/local/domain/%u/backend", domid);
	return xsd_mknod(dom0, path, domid, domid);
}

/* XS_CONTROL as dom0: e.g. xsd_control(h, "merge-watches", "on"). */
static inline bool xsd_control(struct xs_handle *dom0, const char *cmd, const char *arg)
{
	unsigned int len = arg ? (unsigned int)strlen(arg) + 1 : 0;
	char *r = xs_control_command(dom0, cmd, (void *)arg, len);

	bool ok = r != NULL;

	free(r);
	return ok;
}

#endif
