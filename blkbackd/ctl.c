// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket (see ctl.h). The server answers one client at a time
 * on the loop thread, with a send timeout so a client that stops reading
 * cannot hold the loop for more than a second.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "loop.h"
#include "vbd.h"

struct blk_ctl {
	struct loop *loop;
	struct blk_ctx *ctx;
	int fd;
	struct loop_source *src;
	struct sockaddr_un addr;
};

static int socket_addr(const char *dir, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, BLK_CTL_SOCKET) >=
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

static void on_client(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct blk_ctl *ctl = opaque;
	struct timeval tv = { .tv_sec = 1 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int c;

	(void)l;
	(void)events;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	f = open_memstream(&text, &len);
	if (f) {
		blk_ctx_status(ctl->ctx, f);
		fclose(f);
		write_all(c, text, len);
	}
	free(text);
	close(c);
}

int blk_ctl_new(struct loop *l, const char *dir, struct blk_ctx *c, struct blk_ctl **ret)
{
	struct blk_ctl *ctl = calloc(1, sizeof(*ctl));
	int r;

	if (!ctl)
		return -ENOMEM;
	ctl->loop = l;
	ctl->ctx = c;
	ctl->fd = -1;
	r = socket_addr(dir, &ctl->addr);
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
	blk_ctl_free(ctl);
	return r;
}

void blk_ctl_free(struct blk_ctl *ctl)
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

int blk_ctl_query(const char *dir, FILE *out)
{
	struct sockaddr_un a;
	char buf[4096];
	ssize_t n;
	int fd, r;

	r = socket_addr(dir, &a);
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
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}
