// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket (see ctl.h). Loop thread only on the server side.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "loop.h"

struct ctl {
	struct loop *loop;
	ctl_fn fn;
	void *opaque;
	int fd;
	struct loop_source *src;
	struct sockaddr_un addr;
};

static int socket_addr(const char *dir, const char *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name) >=
	    sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/* Reads the command line (up to a newline, end of file or the timeout). */
static void read_cmd(int fd, char cmd[static CTL_CMD_MAX])
{
	size_t len = 0;
	char *nl;

	while (len < CTL_CMD_MAX - 1) {
		ssize_t n = read(fd, cmd + len, CTL_CMD_MAX - 1 - len);

		if (n <= 0)
			break;
		len += n;
		if (memchr(cmd, '\n', len))
			break;
	}
	cmd[len] = '\0';
	nl = strchr(cmd, '\n');
	if (nl)
		*nl = '\0';
	if (!cmd[0])
		strcpy(cmd, "status");
}

static void on_client(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct ctl *ctl = opaque;
	struct timeval tv = { .tv_sec = 1 };
	char cmd[CTL_CMD_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;
	int c, r;

	(void)l;
	(void)events;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	read_cmd(c, cmd);
	f = open_memstream(&text, &len);
	if (f) {
		r = ctl->fn(cmd, f, ctl->opaque);
		if (r < 0)
			fprintf(f, "error: %s\n", strerror(-r));
		fclose(f);
		write_all(c, text, len);
	}
	free(text);
	close(c);
}

int ctl_new(struct loop *l, const char *dir, const char *sockname, ctl_fn fn, void *opaque,
	    struct ctl **ret)
{
	struct ctl *ctl = calloc(1, sizeof(*ctl));
	int r;

	if (!ctl)
		return -ENOMEM;
	ctl->loop = l;
	ctl->fn = fn;
	ctl->opaque = opaque;
	ctl->fd = -1;
	r = socket_addr(dir, sockname, &ctl->addr);
	if (r < 0)
		goto err;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0) {
		r = -errno;
		goto err;
	}
	unlink(ctl->addr.sun_path);	/* a stale socket of an earlier run */
	if (bind(ctl->fd, (struct sockaddr *)&ctl->addr, sizeof(ctl->addr)) < 0 ||
	    listen(ctl->fd, 8) < 0) {
		r = -errno;
		goto err;
	}
	r = loop_add_fd(l, ctl->fd, EPOLLIN, on_client, ctl, &ctl->src);
	if (r < 0)
		goto err;
	*ret = ctl;
	return 0;
err:
	log_err_errno(r, "control socket %s", ctl->addr.sun_path);
	ctl_free(ctl);
	return r;
}

void ctl_free(struct ctl *ctl)
{
	if (!ctl)
		return;
	loop_remove(ctl->loop, ctl->src);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->addr.sun_path);
	}
	free(ctl);
}

int ctl_query(const char *dir, const char *sockname, const char *cmd, FILE *out)
{
	struct sockaddr_un a;
	char buf[4096];
	bool failed = false;
	ssize_t n;
	int fd, r;

	r = socket_addr(dir, sockname, &a);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	write_all(fd, cmd, strlen(cmd));
	write_all(fd, "\n", 1);
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, n, out);
		/* A failed command's answer ends in "error: ..." (ctl_new). */
		failed = n >= 7 && (memmem(buf, n, "error: ", 7) != NULL);
	}
	r = n < 0 ? -errno : failed ? 1 : 0;
	close(fd);
	return r;
}
