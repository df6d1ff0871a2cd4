// SPDX-License-Identifier: GPL-2.0-only
/*
 * xenstore helpers (see store.h): strict parsers, typed reads, writes,
 * transactions retried on EAGAIN, and the watch dispatcher.
 *
 * libxenstore reports failure as NULL/false with errno; this file converts
 * that to -errno at once. Watches: libxenstore queues events and keeps its
 * xs_fileno() pipe readable while the queue is non-empty, so the loop sees a
 * level-triggered fd; we take a bounded batch per wakeup and look each
 * token up in a table, so a watch removed by an earlier callback in the same
 * batch is simply not found. Tokens are never reused.
 *
 * Loop thread only. Never exits; allocates only on the control path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "loop.h"
#include "store.h"

#define WATCH_BUCKETS 64	/* token table size (chained) */
#define WATCH_BATCH 64		/* events dispatched per wakeup */
#define TOKEN_PREFIX "ddom:"

int store_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (!s || len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			/* Still reject junk after the overflow point. */
			for (; i < len; i++)
				if (s[i] < '0' || s[i] > '9')
					return -EINVAL;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int store_parse_bool(const char *s, size_t len, bool *ret)
{
	if (!s || len != 1 || (s[0] != '0' && s[0] != '1'))
		return -EINVAL;
	*ret = s[0] == '1';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int store_parse_mac(const char *s, size_t len, uint8_t mac[static 6])
{
	uint8_t tmp[6];
	int i;

	if (!s || len != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, tmp, sizeof(tmp));
	return 0;
}

int store_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* xs_read with the errno convention; *ret malloc'd (NUL-terminated by libxenstore). */
static int raw_read(struct xs_handle *xs, xs_transaction_t t, const char *path, char **ret,
		    unsigned int *len)
{
	*ret = xs_read(xs, t, path, len);
	if (!*ret)
		return errno ? -errno : -EIO;
	return 0;
}

int store_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *path, uint64_t max,
		    uint64_t def, uint64_t *ret)
{
	unsigned int len;
	char *v;
	int r;

	r = raw_read(xs, t, path, &v, &len);
	if (r == -ENOENT && def <= max) {
		*ret = def;
		return 0;
	}
	if (r < 0)
		return r;
	r = store_parse_uint(v, len, max, ret);
	free(v);
	return r;
}

int store_read_bool(struct xs_handle *xs, xs_transaction_t t, const char *path, bool def,
		    bool *ret)
{
	unsigned int len;
	char *v;
	int r;

	r = raw_read(xs, t, path, &v, &len);
	if (r == -ENOENT) {
		*ret = def;
		return 0;
	}
	if (r < 0)
		return r;
	r = store_parse_bool(v, len, ret);
	free(v);
	return r;
}

/* Checks a raw value against a length cap and for embedded NULs. */
static int check_str(const char *v, unsigned int len, size_t max_len)
{
	if (len > max_len)
		return -E2BIG;
	if (memchr(v, '\0', len))
		return -EINVAL;
	return 0;
}

int store_read_buf(struct xs_handle *xs, xs_transaction_t t, const char *path, char *buf,
		   size_t size)
{
	unsigned int len;
	char *v;
	int r;

	if (size == 0)
		return -E2BIG;
	r = raw_read(xs, t, path, &v, &len);
	if (r < 0)
		return r;
	r = check_str(v, len, size - 1);
	if (r == 0) {
		memcpy(buf, v, len);
		buf[len] = '\0';
		r = (int)len;
	}
	free(v);
	return r;
}

int store_read_str(struct xs_handle *xs, xs_transaction_t t, const char *path, size_t max_len,
		   char **ret)
{
	unsigned int len;
	char *v;
	int r;

	r = raw_read(xs, t, path, &v, &len);
	if (r < 0)
		return r;
	r = check_str(v, len, max_len);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;	/* libxenstore NUL-terminates its buffer */
	return (int)len;
}

int store_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned int len;
	char *v;
	int r;

	r = raw_read(xs, t, path, &v, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	free(v);
	return 1;
}

int store_directory(struct xs_handle *xs, xs_transaction_t t, const char *path, char ***ret,
		    unsigned int *n)
{
	*ret = xs_directory(xs, t, path, n);
	if (!*ret)
		return errno ? -errno : -EIO;
	return 0;
}

int store_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *value)
{
	if (!xs_write(xs, t, path, value, strlen(value)))
		return errno ? -errno : -EIO;
	return 0;
}

int store_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt,
		 ...)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return store_write(xs, t, path, buf);
}

int store_rm(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	if (!xs_rm(xs, t, path) && errno != ENOENT)
		return errno ? -errno : -EIO;
	return 0;
}

int store_txn(struct xs_handle *xs, store_txn_fn fn, void *arg)
{
	int attempt, r;

	for (attempt = 0; attempt < STORE_TXN_ATTEMPTS; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return errno ? -errno : -EIO;
		r = fn(xs, t, arg);
		if (r < 0) {
			xs_transaction_end(xs, t, true);
			if (r == -EAGAIN)
				continue;
			return r;
		}
		if (xs_transaction_end(xs, t, false))
			return r;
		if (errno != EAGAIN)
			return errno ? -errno : -EIO;
	}
	return -EAGAIN;
}

/* ---- watches ---- */

struct store_watch {
	struct store_watch *next;	/* bucket chain */
	uint64_t id;
	store_watch_fn fn;
	void *opaque;
	char token[32];
	char path[];
};

struct store_watcher {
	struct loop *loop;
	struct xs_handle *xs;
	struct loop_source *src;
	uint64_t next_id;
	struct store_watch *bucket[WATCH_BUCKETS];
};

static struct store_watch **bucket_of(struct store_watcher *w, uint64_t id)
{
	return &w->bucket[id % WATCH_BUCKETS];
}

static struct store_watch *lookup(struct store_watcher *w, const char *token)
{
	size_t plen = sizeof(TOKEN_PREFIX) - 1;
	struct store_watch *wt;
	uint64_t id;

	if (strncmp(token, TOKEN_PREFIX, plen) != 0 ||
	    store_parse_uint(token + plen, strlen(token + plen), UINT64_MAX, &id) < 0)
		return NULL;
	for (wt = *bucket_of(w, id); wt; wt = wt->next)
		if (wt->id == id)
			return wt;
	return NULL;
}

int store_watcher_dispatch(struct store_watcher *w)
{
	int n;

	for (n = 0; n < WATCH_BATCH; n++) {
		char **vec = xs_check_watch(w->xs);
		struct store_watch *wt;

		if (!vec)
			return errno == EAGAIN ? n : -errno;
		wt = lookup(w, vec[XS_WATCH_TOKEN]);
		/* The callback may unwatch wt: nothing of wt is used after it. */
		if (wt)
			wt->fn(vec[XS_WATCH_PATH], wt->opaque);
		free(vec);
	}
	return n;
}

static void watcher_ready(struct loop *l, int fd, uint32_t events, void *opaque)
{
	(void)l;
	(void)fd;
	(void)events;
	store_watcher_dispatch(opaque);
}

int store_watcher_new(struct loop *l, struct xs_handle *xs, struct store_watcher **ret)
{
	struct store_watcher *w = calloc(1, sizeof(*w));
	int fd, r;

	if (!w)
		return -ENOMEM;
	w->loop = l;
	w->xs = xs;
	w->next_id = 1;
	fd = xs_fileno(xs);
	if (fd < 0) {
		r = errno ? -errno : -EIO;
		goto err;
	}
	r = loop_add_fd(l, fd, EPOLLIN, watcher_ready, w, &w->src);
	if (r < 0)
		goto err;
	*ret = w;
	return 0;
err:
	free(w);
	return r;
}

int store_watch(struct store_watcher *w, const char *path, store_watch_fn fn, void *opaque,
		struct store_watch **ret)
{
	size_t len = strlen(path);
	struct store_watch *wt;

	if (len >= STORE_PATH_MAX)
		return -ENAMETOOLONG;
	wt = calloc(1, sizeof(*wt) + len + 1);
	if (!wt)
		return -ENOMEM;
	wt->id = w->next_id++;
	wt->fn = fn;
	wt->opaque = opaque;
	snprintf(wt->token, sizeof(wt->token), TOKEN_PREFIX "%" PRIu64, wt->id);
	memcpy(wt->path, path, len + 1);
	/* In the table before xs_watch: the registration event may race in. */
	wt->next = *bucket_of(w, wt->id);
	*bucket_of(w, wt->id) = wt;
	if (!xs_watch(w->xs, path, wt->token)) {
		int r = errno ? -errno : -EIO;

		*bucket_of(w, wt->id) = wt->next;
		free(wt);
		return r;
	}
	if (ret)
		*ret = wt;
	return 0;
}

void store_unwatch(struct store_watcher *w, struct store_watch *wt)
{
	struct store_watch **pp;

	if (!wt)
		return;
	for (pp = bucket_of(w, wt->id); *pp; pp = &(*pp)->next) {
		if (*pp == wt) {
			*pp = wt->next;
			break;
		}
	}
	xs_unwatch(w->xs, wt->path, wt->token);
	free(wt);
}

void store_watcher_free(struct store_watcher *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < WATCH_BUCKETS; i++)
		while (w->bucket[i])
			store_unwatch(w, w->bucket[i]);
	loop_remove(w->loop, w->src);
	free(w);
}
