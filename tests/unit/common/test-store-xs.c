// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the xenstore helpers of common/store.c against a private
 * xensim-xenstored (argv[1]): typed reads with defaults and hostile values
 * written by a guest, capped string reads, formatted writes, rm, the
 * transaction retry on EAGAIN (a real conflict, the daemon's force-eagain
 * knob, and the bound), and watch dispatch by token through the loop,
 * including unwatching from inside a callback.
 */
#include <errno.h>
#include <string.h>

#include "loop.h"
#include "store.h"
#include "tap.h"
#include "xsd.h"

static struct xsd xsd;
static struct xs_handle *dom0, *guest;

static void test_read_uint(void)
{
	uint64_t v = 0;

	CHECK(store_printf(dom0, XBT_NULL, "/test/n", "%d", 42) == 0);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/n", 100, STORE_NO_DEFAULT, &v) == 0);
	CHECK(v == 42);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/n", 41, STORE_NO_DEFAULT, &v) == -ERANGE);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/missing", 100, STORE_NO_DEFAULT, &v) ==
	      -ENOENT);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/missing", 100, 7, &v) == 0 && v == 7);
	/* A default above max means "no default". */
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/missing", 100, 101, &v) == -ENOENT);
}

/* The guest writes junk into its own nodes; the backend reads it as dom0. */
static void test_read_hostile(void)
{
	static const char *const junk[] = { " 1", "1 ", "+1", "-1", "0x1", "", "1\n" };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		CHECK(xs_write(guest, XBT_NULL, "/local/domain/2/data/x", junk[i],
			       strlen(junk[i])));
		v = 77;
		CHECK(store_read_uint(dom0, XBT_NULL, "/local/domain/2/data/x", 1000, 5, &v) ==
		      -EINVAL);
		CHECK(v == 77);
	}
	CHECK(xs_write(guest, XBT_NULL, "/local/domain/2/data/x", "1\0" "2", 3));
	CHECK(store_read_uint(dom0, XBT_NULL, "/local/domain/2/data/x", 1000, 5, &v) == -EINVAL);
	CHECK(xs_write(guest, XBT_NULL, "/local/domain/2/data/x", "99999999999999999999", 20));
	CHECK(store_read_uint(dom0, XBT_NULL, "/local/domain/2/data/x", UINT64_MAX, 5, &v) ==
	      -ERANGE);
}

static void test_read_bool(void)
{
	bool b = false;

	CHECK(store_write(dom0, XBT_NULL, "/test/b", "1") == 0);
	CHECK(store_read_bool(dom0, XBT_NULL, "/test/b", false, &b) == 0 && b);
	CHECK(store_read_bool(dom0, XBT_NULL, "/test/nob", true, &b) == 0 && b);
	CHECK(store_write(dom0, XBT_NULL, "/test/b", "yes") == 0);
	CHECK(store_read_bool(dom0, XBT_NULL, "/test/b", false, &b) == -EINVAL);
}

static void test_read_strings(void)
{
	char buf[8], *s = NULL;

	CHECK(store_write(dom0, XBT_NULL, "/test/s", "1234567") == 0);
	CHECK(store_read_buf(dom0, XBT_NULL, "/test/s", buf, sizeof(buf)) == 7);
	CHECK(strcmp(buf, "1234567") == 0);
	CHECK(store_write(dom0, XBT_NULL, "/test/s", "12345678") == 0);
	CHECK(store_read_buf(dom0, XBT_NULL, "/test/s", buf, sizeof(buf)) == -E2BIG);
	CHECK(store_read_buf(dom0, XBT_NULL, "/test/none", buf, sizeof(buf)) == -ENOENT);
	CHECK(xs_write(dom0, XBT_NULL, "/test/s", "ab\0cd", 5));
	CHECK(store_read_buf(dom0, XBT_NULL, "/test/s", buf, sizeof(buf)) == -EINVAL);
	CHECK(store_read_str(dom0, XBT_NULL, "/test/s", 100, &s) == -EINVAL);

	CHECK(store_write(dom0, XBT_NULL, "/test/s", "hello") == 0);
	CHECK(store_read_str(dom0, XBT_NULL, "/test/s", 5, &s) == 5);
	CHECK(s && strcmp(s, "hello") == 0);
	free(s);
	CHECK(store_read_str(dom0, XBT_NULL, "/test/s", 4, &s) == -E2BIG);
}

static void test_exists_dir_rm(void)
{
	unsigned int n = 0;
	char **ents;

	CHECK(store_write(dom0, XBT_NULL, "/test/d/a", "1") == 0);
	CHECK(store_write(dom0, XBT_NULL, "/test/d/b", "2") == 0);
	CHECK(store_exists(dom0, XBT_NULL, "/test/d") == 1);
	CHECK(store_exists(dom0, XBT_NULL, "/test/d/c") == 0);
	REQUIRE(store_directory(dom0, XBT_NULL, "/test/d", &ents, &n) == 0);
	CHECK(n == 2);
	free(ents);
	CHECK(store_rm(dom0, XBT_NULL, "/test/d") == 0);
	CHECK(store_exists(dom0, XBT_NULL, "/test/d/a") == 0);
	CHECK(store_rm(dom0, XBT_NULL, "/test/d") == 0);	/* missing is fine */
	CHECK(store_directory(dom0, XBT_NULL, "/test/d", &ents, &n) == -ENOENT);
	/* The guest may not write outside its home. */
	CHECK(store_write(guest, XBT_NULL, "/test/g", "x") == -EACCES);
}

struct txn_arg {
	int calls;
	int conflicts;	/* how many attempts get a conflicting write from outside */
	int ret;
};

/* Increments /test/counter; the first `conflicts` attempts are raced. */
static int incr(struct xs_handle *xs, xs_transaction_t t, void *opaque)
{
	struct txn_arg *a = opaque;
	uint64_t v;
	int r;

	a->calls++;
	r = store_read_uint(xs, t, "/test/counter", UINT32_MAX, 0, &v);
	if (r < 0)
		return r;
	if (a->calls <= a->conflicts)
		store_printf(dom0, XBT_NULL, "/test/counter", "%d", 100);
	r = store_printf(xs, t, "/test/counter", "%llu", (unsigned long long)v + 1);
	return r < 0 ? r : a->ret;
}

static void test_txn_retry(void)
{
	struct txn_arg a = { .conflicts = 2, .ret = 5 };
	uint64_t v = 0;

	CHECK(store_write(dom0, XBT_NULL, "/test/counter", "1") == 0);
	CHECK(store_txn(dom0, incr, &a) == 5);
	CHECK(a.calls == 3);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/counter", UINT32_MAX, 0, &v) == 0);
	CHECK(v == 101);
}

static void test_txn_bounded(void)
{
	struct txn_arg a = { .conflicts = 1000 };

	CHECK(store_txn(dom0, incr, &a) == -EAGAIN);
	CHECK(a.calls == STORE_TXN_ATTEMPTS);
}

static void test_txn_force_eagain(void)
{
	struct txn_arg a = { 0 };
	uint64_t v = 0;

	CHECK(store_write(dom0, XBT_NULL, "/test/counter", "10") == 0);
	REQUIRE(xsd_control(dom0, "force-eagain", "3"));
	CHECK(store_txn(dom0, incr, &a) == 0);
	CHECK(a.calls == 4);
	CHECK(store_read_uint(dom0, XBT_NULL, "/test/counter", UINT32_MAX, 0, &v) == 0 && v == 11);
}

static int fail_io(struct xs_handle *xs, xs_transaction_t t, void *opaque)
{
	(void)opaque;
	store_write(xs, t, "/test/aborted", "1");
	return -EIO;
}

static void test_txn_abort(void)
{
	CHECK(store_txn(dom0, fail_io, NULL) == -EIO);
	CHECK(store_exists(dom0, XBT_NULL, "/test/aborted") == 0);
}

struct wctx {
	int calls;
	char last[256];
	struct store_watcher *w;
	struct store_watch *self;
	bool unwatch_self;
};

static void on_watch(const char *path, void *opaque)
{
	struct wctx *c = opaque;

	c->calls++;
	snprintf(c->last, sizeof(c->last), "%s", path);
	if (c->unwatch_self && c->self) {
		store_unwatch(c->w, c->self);
		c->self = NULL;
	}
}


static bool run_until(struct loop *l, const int *n, int want)
{
	uint64_t end = test_mono_ms() + 5000;

	while (*n < want && test_mono_ms() < end)
		loop_run_once(l, 100);
	return *n >= want;
}

static void test_watch(void)
{
	struct wctx a = { 0 }, b = { 0 };
	struct store_watcher *w;
	struct loop *l;

	REQUIRE(loop_new(&l) == 0);
	REQUIRE(store_watcher_new(l, dom0, &w) == 0);
	a.w = b.w = w;
	CHECK(store_watch(w, "/test/wa", on_watch, &a, &a.self) == 0);
	CHECK(store_watch(w, "/test/wb", on_watch, &b, &b.self) == 0);
	/* Both fire once on registration, with the watched path. */
	CHECK(run_until(l, &a.calls, 1) && run_until(l, &b.calls, 1));
	CHECK(strcmp(a.last, "/test/wa") == 0 && strcmp(b.last, "/test/wb") == 0);

	/* A change below a watched path fires that watch only. */
	CHECK(store_write(dom0, XBT_NULL, "/test/wa/x", "1") == 0);
	CHECK(run_until(l, &a.calls, 2));
	CHECK(strcmp(a.last, "/test/wa/x") == 0);
	CHECK(b.calls == 1);

	/* b unwatches itself from its callback; later changes do not reach it. */
	b.unwatch_self = true;
	CHECK(store_write(dom0, XBT_NULL, "/test/wb", "1") == 0);
	CHECK(run_until(l, &b.calls, 2));
	CHECK(store_write(dom0, XBT_NULL, "/test/wb", "2") == 0);
	CHECK(store_write(dom0, XBT_NULL, "/test/wa", "2") == 0);
	CHECK(run_until(l, &a.calls, 3));
	CHECK(b.calls == 2 && b.self == NULL);

	/* Events queued for a watch removed before dispatch are dropped. */
	CHECK(store_write(dom0, XBT_NULL, "/test/wa", "3") == 0);
	CHECK(store_write(dom0, XBT_NULL, "/test/wa", "4") == 0);
	store_unwatch(w, a.self);
	CHECK(loop_run_once(l, 50) >= 0);
	CHECK(a.calls == 3);
	store_watcher_free(w);
	loop_free(l);
}

int main(int argc, char **argv)
{
	int r;

	r = xsd_start_tap(&xsd, argc, argv);
	if (r)
		return r;
	dom0 = xsd_open(&xsd, 0);
	if (!dom0 || !xsd_introduce(dom0, 2) || !(guest = xsd_open(&xsd, 2)) ||
	    !xsd_mknod(dom0, "/local/domain/2/data", 2, 2)) {
		printf("Bail out! xenstore setup failed: %s\n", strerror(errno));
		xsd_stop(&xsd);
		return 1;
	}
	store_write(dom0, XBT_NULL, "/test", "");

	tap_run("/store/read_uint", test_read_uint);
	tap_run("/store/read_hostile", test_read_hostile);
	tap_run("/store/read_bool", test_read_bool);
	tap_run("/store/read_strings", test_read_strings);
	tap_run("/store/exists_dir_rm", test_exists_dir_rm);
	tap_run("/store/txn_retry", test_txn_retry);
	tap_run("/store/txn_bounded", test_txn_bounded);
	tap_run("/store/txn_force_eagain", test_txn_force_eagain);
	tap_run("/store/txn_abort", test_txn_abort);
	tap_run("/store/watch", test_watch);

	xs_close(guest);
	xs_close(dom0);
	xsd_stop(&xsd);
	return tap_done();
}
