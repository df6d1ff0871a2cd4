// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored tests, one named case per meson test: `xsd-test <case>`.
 *
 * Each case starts its own daemon (harness.c), acts as dom0 and as introduced guests through
 * libxenstore, raw xs_wire.h messages and Debian's xenstore-utils, and checks what Xen's
 * xenstored would answer (tools/xenstored/core.c, watch.c, transaction.c, domain.c). Events
 * that must NOT arrive are checked against a barrier event on the same connection, never by
 * waiting for time to pass.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define S(lit) lit, sizeof(lit)	/* a literal payload, its NUL included */

static struct xt_daemon d;

static void start(const char *const *extra)
{
	xt_start(&d, extra);
}

/* Make /local/domain/<id> the way libxl does: owned by the guest, private (n<id>). */
static void make_domain(struct xs_handle *h0, unsigned int domid)
{
	struct xs_permissions p = { .id = domid, .perms = XS_PERM_NONE };
	char path[64];

	xt_introduce(h0, domid);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	CHECK(xs_mkdir(h0, XBT_NULL, path));
	CHECK(xs_set_permissions(h0, XBT_NULL, path, &p, 1));
}

static bool read_is(struct xs_handle *h, const char *path, const char *want)
{
	unsigned int len;
	char *v = xs_read(h, XBT_NULL, path, &len);
	bool ok = v && len == strlen(want) && !memcmp(v, want, len);

	free(v);
	return ok;
}

static int read_errno(struct xs_handle *h, const char *path)
{
	unsigned int len;
	char *v;

	errno = 0;
	v = xs_read(h, XBT_NULL, path, &len);
	free(v);
	return v ? 0 : errno;
}

static int write_errno(struct xs_handle *h, const char *path, const char *val)
{
	errno = 0;
	return xs_write(h, XBT_NULL, path, val, strlen(val)) ? 0 : errno;
}

static void expect_event(struct xt_raw *r, const char *path, const char *token)
{
	char p[XENSTORE_ABS_PATH_MAX + 1], t[256];

	CHECK(!xt_raw_event(r, p, sizeof(p), t, sizeof(t), XT_TIMEOUT_MS));
	if (strcmp(p, path) || strcmp(t, token))
		fprintf(stderr, "event: got '%s' '%s', want '%s' '%s'\n", p, t, path, token);
	CHECK(!strcmp(p, path) && !strcmp(t, token));
}

static void raw_watch(struct xt_raw *r, const char *path, const char *token)
{
	char buf[512];
	size_t l = (size_t)snprintf(buf, sizeof(buf), "%s%c%s", path, '\0', token) + 1;

	xt_raw_expect(r, XS_WATCH, 0, buf, l, "OK");
	expect_event(r, path, token);
}

static void raw_write(struct xt_raw *r, uint32_t tx, const char *path, const char *val,
		      const char *expect)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	xt_raw_expect(r, XS_WRITE, tx, buf, pl + vl, expect);
}

static void control(struct xt_raw *r0, const char *cmd_nul_args, size_t len)
{
	struct xt_msg m;

	CHECK(!xt_raw_req(r0, XS_CONTROL, 0, cmd_nul_args, len, &m));
	if (m.h.type != XS_CONTROL)
		fprintf(stderr, "control: %s\n", m.body);
	CHECK(m.h.type == XS_CONTROL);
}

static void alive(void)
{
	struct xt_raw r;

	CHECK(xt_alive(&d));
	CHECK(!xt_raw_open(&r, &d, 0));
	xt_raw_expect(&r, XS_WRITE, 0, S("/alive\0" "1"), "OK");
	xt_raw_close(&r);
}

/* ---------------------------------------------------------------------------------- */

static void case_utils(void)
{
	const char *ctl = getenv("XENSTORE_CONTROL");
	char out[8192];
	struct xs_handle *h0;
	unsigned int n;
	struct xs_permissions *p;
	int pid, fd;

	start(NULL);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-write", "/local/domain/0/name",
					       "Domain-0", "/t/a", "1", "/t/b", "2", NULL },
		     out, sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-read", "/t/a", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(!strcmp(out, "1\n"));
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-list", "/t", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(!strcmp(out, "a\nb\n"));
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-exists", "/t/a", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-exists", "/t/zz", NULL }, out,
		     sizeof(out)) != 0);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-chmod", "/t/a", "n0", "r3", NULL },
		     out, sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-ls", "-p", "/t", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(strstr(out, "a = \"1\"") && strstr(out, "(n0,r3)") && strstr(out, "b = \"2\""));
	h0 = xt_open(&d, 0);
	CHECK(h0);
	p = xs_get_permissions(h0, XBT_NULL, "/t/a", &n);
	CHECK(p && n == 2 && p[0].id == 0 && p[0].perms == XS_PERM_NONE && p[1].id == 3 &&
	      p[1].perms == XS_PERM_READ);
	free(p);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-rm", "/t/a", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ "xenstore-exists", "/t/a", NULL }, out,
		     sizeof(out)) != 0);

	/* xenstore-watch: the registration event, then the change made after it. */
	pid = xt_spawn(&d, 0, (const char *[]){ "xenstore-watch", "-n", "2", "/t", NULL }, &fd,
		       NULL);
	xt_read_line(fd, out, sizeof(out));
	CHECK(!strcmp(out, "/t"));
	CHECK(xs_write(h0, XBT_NULL, "/t/c", "x", 1));
	xt_read_line(fd, out, sizeof(out));
	CHECK(!strcmp(out, "/t/c"));
	close(fd);
	CHECK(xt_wait(pid) == 0);

	/* xenstore-control: help lists the knobs, quota shows quotas, unknown fails. */
	if (!ctl || !*ctl)
		fprintf(stderr, "no xenstore-control: install xen-utils-4.17 (make deps)\n");
	CHECK(ctl && *ctl);
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "help", NULL }, out, sizeof(out)) == 0);
	CHECK(strstr(out, "force-eagain") && strstr(out, "merge-watches") &&
	      strstr(out, "delay-watches") && strstr(out, "quota"));
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "quota", NULL }, out, sizeof(out)) == 0);
	CHECK(strstr(out, "nodes") && strstr(out, "1000"));
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "force-eagain", "1", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "knobs", NULL }, out, sizeof(out)) == 0);
	CHECK(strstr(out, "force-eagain 1"));
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "no-such-command", NULL }, out,
		     sizeof(out)) != 0);
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "print", "from-the-test", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(xt_run(&d, 0, (const char *[]){ ctl, "log", "off", NULL }, out,
		     sizeof(out)) == 0);
	/* Only dom0 may use it. */
	make_domain(h0, 1);
	CHECK(xt_run(&d, 1, (const char *[]){ ctl, "help", NULL }, out, sizeof(out)) != 0);
	/* The utils as a guest: relative paths are its own, others' nodes are closed. */
	CHECK(xt_run(&d, 1, (const char *[]){ "xenstore-write", "data/x", "v", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(read_is(h0, "/local/domain/1/data/x", "v"));
	CHECK(xt_run(&d, 1, (const char *[]){ "xenstore-read", "data/x", NULL }, out,
		     sizeof(out)) == 0);
	CHECK(!strcmp(out, "v\n"));
	CHECK(xt_run(&d, 1, (const char *[]){ "xenstore-read", "/t/b", NULL }, out,
		     sizeof(out)) != 0);
	CHECK(xt_run(&d, 1, (const char *[]){ "xenstore-write", "/t/b", "x", NULL }, out,
		     sizeof(out)) != 0);
	CHECK(read_is(h0, "/t/b", "2"));
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_perms_private(void)
{
	struct xs_handle *h0, *h1, *h2;
	struct xs_permissions p[2], *got;
	unsigned int n;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	make_domain(h0, 2);
	h1 = xt_open(&d, 1);
	h2 = xt_open(&d, 2);
	CHECK(h1 && h2);

	/* A relative path is below the guest's own /local/domain/<id>. */
	CHECK(xs_write(h1, XBT_NULL, "data/secret", "s3cr3t", 6));
	CHECK(read_is(h0, "/local/domain/1/data/secret", "s3cr3t"));
	got = xs_get_permissions(h0, XBT_NULL, "/local/domain/1/data/secret", &n);
	CHECK(got && n == 1 && got[0].id == 1 && got[0].perms == XS_PERM_NONE);
	free(got);

	/* Another guest learns nothing: not the value, not whether a node exists. */
	CHECK(read_errno(h2, "/local/domain/1/data/secret") == EACCES);
	CHECK(read_errno(h2, "/local/domain/1/no-such-node") == EACCES);
	CHECK(read_errno(h1, "/local/domain/1/no-such-node") == ENOENT);
	errno = 0;
	CHECK(!xs_directory(h2, XBT_NULL, "/local/domain/1", &n) && errno == EACCES);
	CHECK(read_errno(h2, "/tool/xenstored") == EACCES);
	CHECK(read_errno(h2, "/local/domain/0") == EACCES);

	/* The owner grants read: the other guest may read but not write. */
	p[0] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_NONE };
	p[1] = (struct xs_permissions){ .id = 2, .perms = XS_PERM_READ };
	CHECK(xs_set_permissions(h1, XBT_NULL, "data/secret", p, 2));
	CHECK(read_is(h2, "/local/domain/1/data/secret", "s3cr3t"));
	CHECK(write_errno(h2, "/local/domain/1/data/secret", "x") == EACCES);
	/* The parent stays private even though a child is readable. */
	CHECK(read_errno(h2, "/local/domain/1/data") == EACCES);

	/* An unprivileged owner may not give a node away (core.c do_set_perms: EPERM)... */
	p[0].id = 2;
	errno = 0;
	CHECK(!xs_set_permissions(h1, XBT_NULL, "data/secret", p, 2) && errno == EPERM);
	/* ...and may not change perms of a node it does not own, even readable ones. */
	p[0] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_READ };
	errno = 0;
	CHECK(!xs_set_permissions(h2, XBT_NULL, "/local/domain/1/data/secret", p, 1) &&
	      errno == EACCES);
	/* A guest may not create nodes outside its own tree. */
	CHECK(write_errno(h1, "/local/domain/2/planted", "x") == EACCES);
	CHECK(write_errno(h1, "/planted", "x") == EACCES);
	xs_close(h1);
	xs_close(h2);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_perms_backend(void)
{
	static const char be[] = "/local/domain/2/backend/vbd/1/51712";
	static const char fe[] = "/local/domain/1/device/vbd/51712";
	struct xs_handle *h0, *h1, *h2;
	struct xs_permissions p[2], *got;
	char path[256];
	unsigned int n;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	make_domain(h0, 2);
	h1 = xt_open(&d, 1);
	h2 = xt_open(&d, 2);
	CHECK(h1 && h2);

	/* As libxl does for a driver domain: backend owned by dom2 readable by dom1, and the
	 * frontend owned by dom1 readable by dom2 (libxl_device.c libxl__device_generic_add). */
	p[0] = (struct xs_permissions){ .id = 2, .perms = XS_PERM_NONE };
	p[1] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_READ };
	CHECK(xs_mkdir(h0, XBT_NULL, be));
	CHECK(xs_set_permissions(h0, XBT_NULL, be, p, 2));
	snprintf(path, sizeof(path), "%s/state", be);
	CHECK(xs_write(h0, XBT_NULL, path, "1", 1));
	got = xs_get_permissions(h0, XBT_NULL, path, &n);
	/* dom0 creating a node keeps the parent's owner (core.c construct_node()). */
	CHECK(got && n == 2 && got[0].id == 2 && got[1].id == 1 &&
	      got[1].perms == XS_PERM_READ);
	free(got);
	p[0] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_NONE };
	p[1] = (struct xs_permissions){ .id = 2, .perms = XS_PERM_READ };
	CHECK(xs_mkdir(h0, XBT_NULL, fe));
	CHECK(xs_set_permissions(h0, XBT_NULL, fe, p, 2));

	/* The frontend may read the backend but not write it, nor add nodes, nor remove. */
	CHECK(read_is(h1, path, "1"));
	CHECK(write_errno(h1, path, "4") == EACCES);
	snprintf(path, sizeof(path), "%s/evil", be);
	CHECK(write_errno(h1, path, "x") == EACCES);
	errno = 0;
	CHECK(!xs_rm(h1, XBT_NULL, be) && errno == EACCES);
	/* The backend owns its nodes and may only read the frontend. */
	snprintf(path, sizeof(path), "%s/state", be);
	CHECK(!write_errno(h2, path, "2"));
	snprintf(path, sizeof(path), "%s/state", fe);
	CHECK(!write_errno(h1, path, "1"));
	CHECK(read_is(h2, path, "1"));
	CHECK(write_errno(h2, path, "6") == EACCES);

	/* Implicit parents inherit the perms, owner = the creating guest. */
	snprintf(path, sizeof(path), "%s/a/b/c", be);
	CHECK(!write_errno(h2, path, "v"));
	snprintf(path, sizeof(path), "%s/a", be);
	got = xs_get_permissions(h0, XBT_NULL, path, &n);
	CHECK(got && n == 2 && got[0].id == 2 && got[0].perms == XS_PERM_NONE &&
	      got[1].id == 1 && got[1].perms == XS_PERM_READ);
	free(got);

	/* When perms allow (b1), the frontend may write. */
	snprintf(path, sizeof(path), "%s/shared", be);
	p[0] = (struct xs_permissions){ .id = 2, .perms = XS_PERM_NONE };
	p[1] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_READ | XS_PERM_WRITE };
	CHECK(xs_write(h2, XBT_NULL, path, "0", 1));
	CHECK(xs_set_permissions(h2, XBT_NULL, path, p, 2));
	CHECK(!write_errno(h1, path, "ok"));
	CHECK(read_is(h2, path, "ok"));
	xs_close(h1);
	xs_close(h2);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_watch_basic(void)
{
	struct xs_handle *h0;
	struct xt_raw r1;
	char p[512], t[64];
	int a = 0, b = 0;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	CHECK(!xt_raw_open(&r1, &d, 1));

	/* Fires once on registration with the path as given; relative stays relative. */
	raw_watch(&r1, "data", "tokA");
	raw_watch(&r1, "/local/domain/1/data", "tokB");
	xt_raw_expect(&r1, XS_WATCH, 0, S("data\0tokA"), "EEXIST");

	/* A change below the watched node fires both, each in its own form. */
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/data/x", "1", 1));
	for (int i = 0; i < 2; i++) {
		CHECK(!xt_raw_event(&r1, p, sizeof(p), t, sizeof(t), XT_TIMEOUT_MS));
		a += !strcmp(t, "tokA") && !strcmp(p, "data/x");
		b += !strcmp(t, "tokB") && !strcmp(p, "/local/domain/1/data/x");
	}
	CHECK(a == 1 && b == 1);

	/* A watch on a deep node fires when a parent is removed. */
	raw_watch(&r1, "data/x/y/z", "tokC");
	CHECK(xs_mkdir(h0, XBT_NULL, "/local/domain/1/data/x/y/z"));
	for (int i = 0; i < 3; i++)
		CHECK(!xt_raw_event(&r1, p, sizeof(p), t, sizeof(t), XT_TIMEOUT_MS));
	raw_watch(&r1, "/local/domain/1/barrier", "bar");
	CHECK(xs_rm(h0, XBT_NULL, "/local/domain/1/data/x"));
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/barrier", "1", 1));
	a = b = 0;
	int c = 0;

	for (;;) {
		CHECK(!xt_raw_event(&r1, p, sizeof(p), t, sizeof(t), XT_TIMEOUT_MS));
		if (!strcmp(t, "bar"))
			break;
		a += !strcmp(t, "tokA") && !strcmp(p, "data/x");
		b += !strcmp(t, "tokB") && !strcmp(p, "/local/domain/1/data/x");
		c += !strcmp(t, "tokC") && !strcmp(p, "data/x/y/z");
	}
	CHECK(a == 1 && b == 1 && c == 1);

	/* Unwatch, then nothing fires for it; unwatching again is ENOENT. */
	xt_raw_expect(&r1, XS_UNWATCH, 0, S("data\0tokA"), "OK");
	xt_raw_expect(&r1, XS_UNWATCH, 0, S("data\0tokA"), "ENOENT");
	xt_raw_expect(&r1, XS_UNWATCH, 0, S("/local/domain/1/data\0tokB"), "OK");
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/data/q", "1", 1));
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/barrier", "2", 1));
	expect_event(&r1, "/local/domain/1/barrier", "bar");
	xt_raw_close(&r1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_watch_perms(void)
{
	struct xs_handle *h0, *h1, *h2;
	struct xs_permissions p[2];
	struct xt_raw r2;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	make_domain(h0, 2);
	h1 = xt_open(&d, 1);
	h2 = xt_open(&d, 2);
	CHECK(h1 && h2 && !xt_raw_open(&r2, &d, 2));

	/* Registering a watch on an unreadable path is allowed, and fires once. */
	raw_watch(&r2, "/local/domain/1/secret", "spy");
	raw_watch(&r2, "/", "root");
	raw_watch(&r2, "/local/domain/2/barrier", "bar");

	/* Changes dom2 may not read reach neither watch. */
	CHECK(xs_write(h1, XBT_NULL, "secret", "x", 1));
	CHECK(xs_write(h0, XBT_NULL, "/tool/private", "x", 1));
	CHECK(xs_write(h2, XBT_NULL, "barrier", "1", 1));
	/* Events go out in the order the watches were set (watch.c list_add_tail()). */
	expect_event(&r2, "/local/domain/2/barrier", "root");
	expect_event(&r2, "/local/domain/2/barrier", "bar");

	/* Once readable, it fires (also for the permission change itself). */
	p[0] = (struct xs_permissions){ .id = 1, .perms = XS_PERM_NONE };
	p[1] = (struct xs_permissions){ .id = 2, .perms = XS_PERM_READ };
	CHECK(xs_set_permissions(h1, XBT_NULL, "secret", p, 2));
	CHECK(xs_write(h2, XBT_NULL, "barrier", "2", 1));
	expect_event(&r2, "/local/domain/1/secret", "spy");
	expect_event(&r2, "/local/domain/1/secret", "root");
	expect_event(&r2, "/local/domain/2/barrier", "root");
	expect_event(&r2, "/local/domain/2/barrier", "bar");
	xt_raw_close(&r2);
	xs_close(h1);
	xs_close(h2);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_tx_conflict(void)
{
	struct xs_handle *h0, *h1;
	struct xt_raw r0, w;
	struct xt_msg m;
	xs_transaction_t t;
	unsigned int len;
	uint32_t tid;
	char *v;

	start(NULL);
	h0 = xt_open(&d, 0);
	h1 = xt_open(&d, 0);
	CHECK(h0 && h1);
	CHECK(xs_write(h0, XBT_NULL, "/t/a", "1", 1));

	/* Read in a transaction, changed outside before commit: EAGAIN, nothing applied. */
	t = xs_transaction_start(h1);
	CHECK(t);
	v = xs_read(h1, t, "/t/a", &len);
	CHECK(v && len == 1 && v[0] == '1');
	free(v);
	CHECK(xs_write(h0, XBT_NULL, "/t/a", "2", 1));
	CHECK(xs_write(h1, t, "/t/b", "x", 1));
	errno = 0;
	CHECK(!xs_transaction_end(h1, t, false) && errno == EAGAIN);
	CHECK(read_errno(h0, "/t/b") == ENOENT);

	/* Isolation: the snapshot from the start plus the transaction's own writes. */
	t = xs_transaction_start(h1);
	CHECK(t);
	CHECK(xs_write(h0, XBT_NULL, "/t/c", "new", 3));
	errno = 0;
	v = xs_read(h1, t, "/t/c", &len);
	CHECK(!v && errno == ENOENT);
	CHECK(xs_write(h1, t, "/t/d", "mine", 4));
	CHECK(read_errno(h0, "/t/d") == ENOENT);
	v = xs_read(h1, t, "/t/d", &len);
	CHECK(v && len == 4);
	free(v);
	errno = 0;
	CHECK(!xs_transaction_end(h1, t, false) && errno == EAGAIN);
	CHECK(read_errno(h0, "/t/d") == ENOENT);

	/* Unrelated concurrent changes do not conflict. */
	t = xs_transaction_start(h1);
	CHECK(t && xs_write(h1, t, "/t/e", "1", 1));
	CHECK(xs_write(h0, XBT_NULL, "/u/f", "1", 1));
	CHECK(xs_transaction_end(h1, t, false));
	CHECK(read_is(h0, "/t/e", "1"));

	/* Abort ("F") discards. */
	t = xs_transaction_start(h1);
	CHECK(t && xs_write(h1, t, "/t/g", "1", 1));
	CHECK(xs_transaction_end(h1, t, true));
	CHECK(read_errno(h0, "/t/g") == ENOENT);

	/* Watches fire at commit, not before. */
	CHECK(!xt_raw_open(&r0, &d, 0) && !xt_raw_open(&w, &d, 0));
	raw_watch(&w, "/t/h", "h");
	raw_watch(&w, "/barrier", "bar");
	CHECK(!xt_raw_req(&r0, XS_TRANSACTION_START, 0, S(""), &m));
	CHECK(m.h.type == XS_TRANSACTION_START);
	tid = (uint32_t)strtoul(m.body, NULL, 10);
	CHECK(tid);
	raw_write(&r0, tid, "/t/h", "1", "OK");
	/* (outside /t: a new sibling would change /t's child list, a conflict as in Xen) */
	CHECK(xs_write(h0, XBT_NULL, "/barrier", "1", 1));
	expect_event(&w, "/barrier", "bar");
	xt_raw_expect(&r0, XS_TRANSACTION_START, tid, S(""), "EBUSY");
	xt_raw_expect(&r0, XS_TRANSACTION_END, tid, S("X"), "EINVAL");
	xt_raw_expect(&r0, XS_TRANSACTION_END, tid, S("T"), "OK");
	expect_event(&w, "/t/h", "h");
	xt_raw_expect(&r0, XS_TRANSACTION_END, tid, S("T"), "ENOENT");
	xt_raw_expect(&r0, XS_READ, 12345, S("/t/h"), "ENOENT");
	xt_raw_expect(&r0, XS_TRANSACTION_END, 0, S("T"), "ENOENT");
	xt_raw_close(&r0);
	xt_raw_close(&w);
	xs_close(h0);
	xs_close(h1);
	CHECK(xt_stop(&d) == 0);
}

static void case_tx_force_eagain(void)
{
	struct xs_handle *h0;
	struct xt_raw r0;
	struct xt_msg m;
	xs_transaction_t t;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0 && !xt_raw_open(&r0, &d, 0));
	control(&r0, S("force-eagain\0" "2"));
	for (int i = 0; i < 2; i++) {
		t = xs_transaction_start(h0);
		CHECK(t && xs_write(h0, t, "/k", "1", 1));
		errno = 0;
		CHECK(!xs_transaction_end(h0, t, false) && errno == EAGAIN);
		CHECK(read_errno(h0, "/k") == ENOENT);
	}
	t = xs_transaction_start(h0);
	CHECK(t && xs_write(h0, t, "/k", "1", 1));
	CHECK(xs_transaction_end(h0, t, false));
	CHECK(read_is(h0, "/k", "1"));
	CHECK(!xt_raw_req(&r0, XS_CONTROL, 0, S("knobs"), &m));
	CHECK(strstr(m.body, "force-eagain 0"));
	/* Only dom0 may turn knobs. */
	make_domain(h0, 1);
	{
		struct xt_raw r1;

		CHECK(!xt_raw_open(&r1, &d, 1));
		xt_raw_expect(&r1, XS_CONTROL, 0, S("force-eagain\0" "5"), "EACCES");
		xt_raw_close(&r1);
	}
	xt_raw_expect(&r0, XS_CONTROL, 0, S("force-eagain\0-1"), "EINVAL");
	xt_raw_close(&r0);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_quota(void)
{
	static const char *const args[] = { "--quota-nodes", "10", "--quota-maxsize", "200",
					     "--quota-watches", "4", "--quota-transactions",
					     "3", NULL };
	struct xs_handle *h0, *h1;
	struct xs_permissions p[5];
	xs_transaction_t t[3];
	struct xt_raw r0, r1;
	char path[64], val[4096];
	int made = 0;

	start(args);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	h1 = xt_open(&d, 1);
	CHECK(h1 && !xt_raw_open(&r1, &d, 1) && !xt_raw_open(&r0, &d, 0));

	/*
	 * Nodes: the guest owns /local/domain/1 already. Xen's test is "reaching the quota
	 * exceeds it" (domain.c domain_quota_val_exceeds), so 9 nodes in all, 8 more.
	 */
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "n%d", i);
		if (write_errno(h1, path, "x"))
			break;
		made++;
	}
	CHECK(made == 8);
	CHECK(write_errno(h1, "one-more", "x") == ENOSPC);
	/* Overwriting an existing node needs no new node. */
	CHECK(!write_errno(h1, "n0", "y"));
	/* dom0 is exempt, and its nodes under the guest's tree count to the guest. */
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/by-dom0", "x", 1));
	CHECK(write_errno(h1, "n0/child", "x") == ENOSPC);

	/* Node size: header 16 + 8 per perm + value; reaching 200 is ENOSPC. */
	memset(val, 'v', sizeof(val));
	CHECK(xs_rm(h0, XBT_NULL, "/local/domain/1/by-dom0"));
	CHECK(xs_rm(h0, XBT_NULL, "/local/domain/1/n1"));
	CHECK(!xs_write(h1, XBT_NULL, "n0", val, 200 - 16 - 8) && errno == ENOSPC);
	CHECK(xs_write(h1, XBT_NULL, "n0", val, 200 - 16 - 8 - 1));
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/n0", val, 4000));

	/* Watches: 3 of quota 4. */
	raw_watch(&r1, "w1", "t");
	raw_watch(&r1, "w2", "t");
	raw_watch(&r1, "w3", "t");
	xt_raw_expect(&r1, XS_WATCH, 0, S("w4\0t"), "E2BIG");

	/* Transactions: 2 of quota 3. */
	t[0] = xs_transaction_start(h1);
	t[1] = xs_transaction_start(h1);
	CHECK(t[0] && t[1]);
	errno = 0;
	t[2] = xs_transaction_start(h1);
	CHECK(!t[2] && errno == ENOSPC);
	CHECK(xs_transaction_end(h1, t[0], true) && xs_transaction_end(h1, t[1], true));

	/* Permissions per node: 5 reaches the default quota of 5. */
	for (int i = 0; i < 5; i++)
		p[i] = (struct xs_permissions){ .id = (unsigned int)(i ? 10 + i : 1),
						.perms = XS_PERM_READ };
	CHECK(xs_write(h1, XBT_NULL, "n0", "x", 1));
	CHECK(!xs_set_permissions(h1, XBT_NULL, "n0", p, 5) && errno == ENOSPC);
	CHECK(xs_set_permissions(h1, XBT_NULL, "n0", p, 4));

	/* Path length: below /local/domain/<id>/ at most "path-max" (2048) - 1. */
	memset(val, 'p', 2048);
	val[2048] = '\0';
	CHECK(write_errno(h1, val, "x") == EINVAL);

	/* The quota can be raised at run time (xenstore-control quota set). */
	control(&r0, S("quota\0set\0nodes\0" "100"));
	CHECK(!write_errno(h1, "one-more", "x"));
	/* The parent's child list counts to its size: a long new name does not fit. */
	memset(val, 'c', 170);
	val[170] = '\0';
	CHECK(write_errno(h1, val, "") == ENOSPC);
	val[10] = '\0';
	CHECK(!write_errno(h1, val, ""));
	xt_raw_close(&r0);
	xt_raw_close(&r1);
	xs_close(h1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_directory_part(void)
{
	struct xs_handle *h0;
	struct xt_raw r0;
	struct xt_msg m;
	char path[64], req[64], gen[32] = "", *all;
	size_t alen = 0, off = 0;
	unsigned int n;
	char **dir;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0 && !xt_raw_open(&r0, &d, 0));
	all = malloc(400 * 32);
	CHECK(all);
	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/big/child-name-%04d", (i * 7) % 400);
		CHECK(xs_write(h0, XBT_NULL, path, "", 0));
		alen += (size_t)sprintf(all + alen, "child-name-%04d", (i * 7) % 400) + 1;
	}
	/* The list is over XENSTORE_PAYLOAD_MAX: DIRECTORY says E2BIG... */
	xt_raw_expect(&r0, XS_DIRECTORY, 0, S("/big"), "E2BIG");
	/* ...and libxenstore's fallback to DIRECTORY_PART returns all, in creation order. */
	dir = xs_directory(h0, XBT_NULL, "/big", &n);
	CHECK(dir && n == 400);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(!strcmp(dir[i], all + off));
		off += strlen(all + off) + 1;
	}
	free(dir);

	/* The raw pages: a generation first, whole names, an extra NUL after the last. */
	off = 0;
	for (;;) {
		size_t l = (size_t)snprintf(req, sizeof(req), "/big%c%zu", '\0', off) + 1;
		size_t gl;

		CHECK(!xt_raw_req(&r0, XS_DIRECTORY_PART, 0, req, l, &m));
		CHECK(m.h.type == XS_DIRECTORY_PART);
		gl = strlen(m.body) + 1;
		CHECK(!gen[0] || !strcmp(gen, m.body));
		CHECK(gl <= sizeof(gen));
		memcpy(gen, m.body, gl);
		if (m.h.len == gl + 1 && !m.body[gl])
			break;
		CHECK(m.body[m.h.len - 1] == '\0');
		CHECK(!memcmp(all + off, m.body + gl, m.h.len - gl - (off + m.h.len - gl ==
								       alen + 1)));
		off += m.h.len - gl;
		if (off == alen + 1)
			break;
		CHECK(off < alen);
	}
	/* A change of the children changes the generation. */
	CHECK(xs_write(h0, XBT_NULL, "/big/new", "", 0));
	xt_raw_req(&r0, XS_DIRECTORY_PART, 0, S("/big\0" "0"), &m);
	CHECK(m.h.type == XS_DIRECTORY_PART && strcmp(m.body, gen));

	/* For a small directory DIRECTORY_PART carries exactly DIRECTORY's list. */
	CHECK(xs_write(h0, XBT_NULL, "/small/a", "", 0) && xs_write(h0, XBT_NULL, "/small/bb", "", 0));
	CHECK(!xt_raw_req(&r0, XS_DIRECTORY, 0, S("/small"), &m));
	CHECK(m.h.type == XS_DIRECTORY && m.h.len == 5 && !memcmp(m.body, "a\0bb", 5));
	CHECK(!xt_raw_req(&r0, XS_DIRECTORY_PART, 0, S("/small\0" "0"), &m));
	{
		size_t gl = strlen(m.body) + 1;

		CHECK(m.h.len == gl + 6 && !memcmp(m.body + gl, "a\0bb\0", 6));
	}
	xt_raw_expect(&r0, XS_DIRECTORY_PART, 0, S("/small"), "EINVAL");
	xt_raw_expect(&r0, XS_DIRECTORY_PART, 0, S("/small\0x"), "EINVAL");
	free(all);
	xt_raw_close(&r0);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_domain_path(void)
{
	struct xs_handle *h0, *h1;
	struct xt_raw r0, r1;
	struct xt_msg m;
	char *p;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	p = xs_get_domain_path(h0, 5);
	CHECK(p && !strcmp(p, "/local/domain/5"));
	free(p);
	CHECK(!xs_is_domain_introduced(h0, 1));
	make_domain(h0, 1);
	CHECK(xs_is_domain_introduced(h0, 1));
	CHECK(xs_is_domain_introduced(h0, 0));
	h1 = xt_open(&d, 1);
	CHECK(h1);
	p = xs_get_domain_path(h1, 7);
	CHECK(p && !strcmp(p, "/local/domain/7"));
	free(p);
	CHECK(!xt_raw_open(&r0, &d, 0) && !xt_raw_open(&r1, &d, 1));
	xt_raw_expect(&r1, XS_IS_DOMAIN_INTRODUCED, 0, S("1"), "EACCES");
	xt_raw_expect(&r1, XS_INTRODUCE, 0, S("5\0" "1\0" "2"), "EACCES");
	xt_raw_expect(&r1, XS_RELEASE, 0, S("1"), "EACCES");
	xt_raw_expect(&r0, XS_GET_DOMAIN_PATH, 0, S("abc"), "EINVAL");
	xt_raw_expect(&r0, XS_GET_DOMAIN_PATH, 0, S("-1"), "EINVAL");
	xt_raw_expect(&r0, XS_GET_DOMAIN_PATH, 0, S("65536"), "EINVAL");
	CHECK(!xt_raw_req(&r0, XS_GET_DOMAIN_PATH, 0, S("65535"), &m));
	CHECK(m.h.type == XS_GET_DOMAIN_PATH && !strcmp(m.body, "/local/domain/65535"));
	xt_raw_expect(&r0, XS_INTRODUCE, 0, S("0\0" "1\0" "2"), "EINVAL");
	xt_raw_expect(&r0, XS_INTRODUCE, 0, S("4\0" "1\0" "0"), "EINVAL");
	xt_raw_expect(&r0, XS_INTRODUCE, 0, S("4\0" "1"), "EINVAL");
	xt_raw_expect(&r0, XS_RESUME, 0, S("1"), "OK");
	xt_raw_expect(&r0, XS_RESUME, 0, S("9"), "ENOENT");
	xt_raw_expect(&r0, XS_SET_TARGET, 0, S("1\0" "9"), "ENOENT");
	xt_raw_close(&r0);
	xt_raw_close(&r1);
	xs_close(h1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_set_target(void)
{
	struct xs_handle *h0, *h1;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	make_domain(h0, 2);
	h1 = xt_open(&d, 1);
	CHECK(h1);
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/2/x", "1", 1));
	CHECK(read_errno(h1, "/local/domain/2/x") == EACCES);
	/* A device model for dom2 acts as its owner (core.c perm_allows_conn()). */
	CHECK(xs_set_target(h0, 1, 2));
	CHECK(read_is(h1, "/local/domain/2/x", "1"));
	CHECK(!write_errno(h1, "/local/domain/2/x", "2"));
	xs_close(h1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_reset_watches(void)
{
	struct xs_handle *h0;
	struct xt_raw r1;
	struct xt_msg m;
	uint32_t tid;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	CHECK(!xt_raw_open(&r1, &d, 1));
	raw_watch(&r1, "a", "ta");
	raw_watch(&r1, "b", "tb");
	CHECK(!xt_raw_req(&r1, XS_TRANSACTION_START, 0, S(""), &m));
	tid = (uint32_t)strtoul(m.body, NULL, 10);
	xt_raw_expect(&r1, XS_RESET_WATCHES, 0, S(""), "OK");
	raw_watch(&r1, "barrier", "bar");
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/a", "1", 1));
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/b", "1", 1));
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/1/barrier", "1", 1));
	expect_event(&r1, "barrier", "bar");
	/* The transaction went with the watches. */
	xt_raw_expect(&r1, XS_TRANSACTION_END, tid, S("T"), "ENOENT");
	/* The watches can be set again (no EEXIST, quota released). */
	raw_watch(&r1, "a", "ta");
	xt_raw_close(&r1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_release(void)
{
	struct xs_handle *h0;
	struct xt_raw r0, r3, r5, r6;
	struct xt_msg m;
	struct stat st;
	char sock[300], p[256], t[64];
	int rel = 0, dir = 0;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0 && !xt_raw_open(&r0, &d, 0));
	raw_watch(&r0, "@introduceDomain", "intro");
	raw_watch(&r0, "@releaseDomain", "rel");
	xt_sock_path(&d, 3, sock, sizeof(sock));
	CHECK(stat(sock, &st) && errno == ENOENT);
	CHECK(xt_raw_open(&r3, &d, 3) < 0);
	make_domain(h0, 3);
	expect_event(&r0, "@introduceDomain", "intro");
	CHECK(!stat(sock, &st) && S_ISSOCK(st.st_mode));
	/* Introducing it again is acknowledged and fires nothing. */
	xt_introduce(h0, 3);

	CHECK(!xt_raw_open(&r3, &d, 3));
	raw_write(&r3, 0, "mine", "1", "OK");
	raw_watch(&r3, "mine", "m");
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/0/keep", "1", 1));
	raw_watch(&r0, "/local/domain/3", "dir");

	/* A guest sees @releaseDomain only if dom0 lets it read the special node. */
	make_domain(h0, 5);
	make_domain(h0, 6);
	for (int i = 0; i < 2; i++)
		expect_event(&r0, "@introduceDomain", "intro");
	CHECK(!xt_raw_open(&r5, &d, 5) && !xt_raw_open(&r6, &d, 6));
	raw_watch(&r5, "@releaseDomain", "rel5");
	raw_watch(&r6, "@releaseDomain", "rel6");
	raw_watch(&r6, "barrier", "bar");
	xt_raw_expect(&r0, XS_SET_PERMS, 0, S("@releaseDomain\0n0\0r5"), "OK");
	expect_event(&r0, "@releaseDomain", "rel");
	expect_event(&r5, "@releaseDomain", "rel5");
	xt_raw_expect(&r5, XS_SET_PERMS, 0, S("@releaseDomain\0n5"), "EACCES");

	CHECK(xs_release_domain(h0, 3));
	/* The guest's nodes go (4.17 domain_tree_remove()), watches fire, then
	 * @releaseDomain. */
	for (int i = 0; i < 2; i++) {
		CHECK(!xt_raw_event(&r0, p, sizeof(p), t, sizeof(t), XT_TIMEOUT_MS));
		dir += !strcmp(t, "dir") && !strcmp(p, "/local/domain/3");
		rel += !strcmp(t, "rel") && !strcmp(p, "@releaseDomain") && dir;
	}
	CHECK(dir == 1 && rel == 1);
	expect_event(&r5, "@releaseDomain", "rel5");
	CHECK(xs_write(h0, XBT_NULL, "/local/domain/6/barrier", "1", 1));
	expect_event(&r6, "barrier", "bar");
	xt_raw_close(&r5);
	xt_raw_close(&r6);
	CHECK(read_errno(h0, "/local/domain/3") == ENOENT);
	CHECK(read_is(h0, "/local/domain/0/keep", "1"));
	/* Its connection is closed (the socket may hold the watch event first). */
	for (;;) {
		int e = xt_raw_recv(&r3, &m, XT_TIMEOUT_MS);

		CHECK(e == 0 || e == -EPIPE);
		if (e)
			break;
		CHECK(m.h.type == XS_WATCH_EVENT);
	}
	xt_raw_close(&r3);
	CHECK(stat(sock, &st) && errno == ENOENT);
	CHECK(!xs_is_domain_introduced(h0, 3));
	xt_raw_expect(&r0, XS_RELEASE, 0, S("3"), "ENOENT");
	xt_raw_expect(&r0, XS_RELEASE, 0, S("0"), "EINVAL");
	/* It can come back. */
	make_domain(h0, 3);
	expect_event(&r0, "@introduceDomain", "intro");
	expect_event(&r0, "/local/domain/3", "dir");
	CHECK(!xt_raw_open(&r3, &d, 3));
	raw_write(&r3, 0, "again", "1", "OK");
	xt_raw_close(&r3);
	/* Release and introduce again in one burst: the new socket survives. */
	CHECK(!xt_raw_send(&r0, XS_RELEASE, 0, 2, "3", 2));
	CHECK(!xt_raw_send(&r0, XS_INTRODUCE, 0, 6, "3\0" "1\0" "9", 6));
	for (int i = 0; i < 2; i++) {
		do
			CHECK(!xt_raw_recv(&r0, &m, XT_TIMEOUT_MS));
		while (m.h.type == XS_WATCH_EVENT);
		CHECK(!strcmp(m.body, "OK"));
	}
	alive();
	CHECK(!xt_raw_open(&r3, &d, 3));
	raw_write(&r3, 0, "/local/domain/3/x", "1", "EACCES");
	xt_raw_close(&r3);
	xt_raw_close(&r0);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_malformed(void)
{
	struct xs_handle *h0;
	struct xt_raw r0, r1, rx;
	struct xt_msg m;
	char big[XENSTORE_PAYLOAD_MAX + 8];

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);
	CHECK(!xt_raw_open(&r0, &d, 0) && !xt_raw_open(&r1, &d, 1));

	/* Over XENSTORE_PAYLOAD_MAX: that client is dropped (core.c handle_input()). */
	CHECK(!xt_raw_open(&rx, &d, 1));
	memset(big, 'a', sizeof(big));
	xt_raw_send(&rx, XS_WRITE, 0, XENSTORE_PAYLOAD_MAX + 1, big, sizeof(big));
	CHECK(xt_raw_recv(&rx, &m, XT_TIMEOUT_MS) == -EPIPE);
	xt_raw_close(&rx);
	alive();
	/* Exactly XENSTORE_PAYLOAD_MAX is fine (the value is too big for a guest's quota). */
	memcpy(big, "big", 4);
	xt_raw_expect(&r1, XS_WRITE, 0, big, XENSTORE_PAYLOAD_MAX, "ENOSPC");
	xt_raw_expect(&r0, XS_WRITE, 0, big, XENSTORE_PAYLOAD_MAX, "OK");

	/* Unknown and server-only types: ENOSYS. */
	xt_raw_expect(&r1, 999, 0, S("x"), "ENOSYS");
	xt_raw_expect(&r1, XS_WATCH_EVENT, 0, S("x\0y"), "ENOSYS");
	xt_raw_expect(&r1, XS_ERROR, 0, S("EINVAL"), "ENOSYS");
	xt_raw_expect(&r1, XS_INVALID, 0, S(""), "ENOSYS");

	/* Missing or extra NULs, bad characters, bad shapes: EINVAL. */
	xt_raw_expect(&r1, XS_READ, 0, "data", 4, "EINVAL");
	xt_raw_expect(&r1, XS_READ, 0, NULL, 0, "EINVAL");
	xt_raw_expect(&r1, XS_READ, 0, S("a\0b"), "EINVAL");
	xt_raw_expect(&r1, XS_WRITE, 0, "novalue", 7, "EINVAL");
	xt_raw_expect(&r1, XS_MKDIR, 0, S("a b"), "EINVAL");
	xt_raw_expect(&r1, XS_MKDIR, 0, S("a//b"), "EINVAL");
	xt_raw_expect(&r1, XS_MKDIR, 0, S("a/"), "EINVAL");
	xt_raw_expect(&r1, XS_MKDIR, 0, S(""), "EINVAL");
	xt_raw_expect(&r1, XS_MKDIR, 0, S("@introduceDomain"), "EINVAL");
	xt_raw_expect(&r1, XS_RM, 0, S("/"), "EACCES");
	xt_raw_expect(&r0, XS_RM, 0, S("/"), "EINVAL");
	xt_raw_expect(&r1, XS_WATCH, 0, S("onlypath"), "EINVAL");
	xt_raw_expect(&r1, XS_WATCH, 0, "p\0t", 3, "EINVAL");
	xt_raw_expect(&r1, XS_SET_PERMS, 0, S("x"), "EINVAL");
	xt_raw_expect(&r1, XS_SET_PERMS, 0, S("x\0q1"), "EINVAL");
	xt_raw_expect(&r1, XS_SET_PERMS, 0, S("x\0r"), "EINVAL");
	xt_raw_expect(&r1, XS_SET_PERMS, 0, S("x\0r1x"), "EINVAL");
	xt_raw_expect(&r1, XS_TRANSACTION_START, 0, S("junk"), "EINVAL");
	xt_raw_expect(&r1, XS_GET_PERMS, 0, S("@nosuch"), "ENOENT");
	xt_raw_expect(&r1, XS_GET_PERMS, 0, S("@releaseDomain"), "EACCES");
	xt_raw_expect(&r1, XS_CONTROL, 0, S("help"), "EACCES");
	xt_raw_expect(&r0, XS_CONTROL, 0, S("no-such-command"), "EINVAL");
	xt_raw_expect(&r0, XS_CONTROL, 0, S("live-update"), "ENOSYS");
	xt_raw_expect(&r0, XS_CONTROL, 0, "help", 4, "EINVAL");

	/* Half a header, half a payload, then gone: nothing happens to anyone else. */
	CHECK(!xt_raw_open(&rx, &d, 1));
	CHECK(send(rx.fd, "\x02\0\0\0\x01", 5, MSG_NOSIGNAL) == 5);
	xt_raw_close(&rx);
	CHECK(!xt_raw_open(&rx, &d, 1));
	xt_raw_send(&rx, XS_WRITE, 0, 100, "abc", 3);
	xt_raw_close(&rx);
	alive();

	/* Random bytes: the daemon answers or drops that client, and survives. */
	srand(42);
	for (int round = 0; round < 50; round++) {
		unsigned char junk[512];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)rand();
		if (round & 1) {
			/* plausible header: a small length and a valid type */
			struct xsd_sockmsg *h = (struct xsd_sockmsg *)junk;

			h->type %= XS_TYPE_COUNT;
			h->len %= 256;
		}
		CHECK(!xt_raw_open(&rx, &d, round % 2));
		if (send(rx.fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
			CHECK(errno == EPIPE || errno == ECONNRESET);
		xt_raw_close(&rx);
	}
	alive();
	CHECK(!xt_raw_req(&r1, XS_READ, 0, S("/local/domain/1"), &m));
	CHECK(m.h.type == XS_READ);
	xt_raw_close(&r0);
	xt_raw_close(&r1);
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_flood(void)
{
	struct xs_handle *h0;
	struct xt_raw rx, w;
	char path[512], token[2048];
	struct xt_msg m;
	int sent = 0, got = 0;

	start(NULL);
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 1);

	/*
	 * A guest that pipelines many requests gets every answer, in order. It must keep
	 * reading: with "outstanding" answers undelivered the daemon stops reading from it
	 * (domain.c domain_can_read()), as Xen does.
	 */
	CHECK(!xt_raw_open(&rx, &d, 1));
	while (got < 2000) {
		struct pollfd pf = { .fd = rx.fd, .events = POLLIN | (sent < 2000 ? POLLOUT : 0) };

		CHECK(poll(&pf, 1, XT_TIMEOUT_MS) == 1);
		if (pf.revents & POLLOUT) {
			CHECK(!xt_raw_send(&rx, XS_READ, 0, sizeof("/local/domain/1"),
					   "/local/domain/1", sizeof("/local/domain/1")));
			sent++;
		}
		if (pf.revents & POLLIN) {
			CHECK(!xt_raw_recv(&rx, &m, XT_TIMEOUT_MS));
			CHECK(m.h.type == XS_READ && m.h.req_id == (uint32_t)got + 1);
			got++;
		}
	}
	xt_raw_close(&rx);

	/* A watcher that never reads is dropped once its undelivered output is too big
	 * (CVE-2022-42315 class), and the daemon goes on. */
	CHECK(!xt_raw_open(&w, &d, 1));
	memset(token, 't', sizeof(token));
	memcpy(token, "/local/domain/1", sizeof("/local/domain/1"));
	token[sizeof(token) - 1] = '\0';
	xt_raw_expect(&w, XS_WATCH, 0, token, sizeof(token), "OK");
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/local/domain/1/n%d", i);
		CHECK(xs_write(h0, XBT_NULL, path, "", 0));
	}
	for (;;) {
		int e = xt_raw_recv(&w, &m, XT_TIMEOUT_MS);

		CHECK(e == 0 || e == -EPIPE);
		if (e)
			break;
	}
	xt_raw_close(&w);
	alive();

	/* A guest may hold 32 connections; more are closed at once, dom0 is not limited. */
	{
		struct xt_raw *many = calloc(33, sizeof(*many));

		CHECK(many);

		for (int i = 0; i < 33; i++)
			CHECK(!xt_raw_open(&many[i], &d, 1));
		for (int i = 0; i < 32; i++) {
			CHECK(!xt_raw_req(&many[i], XS_READ, 0, S("/local/domain/1"), &m));
			CHECK(m.h.type == XS_READ);
		}
		CHECK(xt_raw_recv(&many[32], &m, XT_TIMEOUT_MS) == -EPIPE);
		for (int i = 0; i < 33; i++)
			xt_raw_close(&many[i]);
		free(many);
	}
	alive();
	xs_close(h0);
	CHECK(xt_stop(&d) == 0);
}

static void case_knobs(void)
{
	struct xt_raw r0, w;
	struct xt_msg m;

	start(NULL);
	CHECK(!xt_raw_open(&r0, &d, 0) && !xt_raw_open(&w, &d, 0));
	raw_watch(&w, "/m", "m");
	raw_watch(&w, "/mb", "b");

	/* Merge: a burst on one watch comes out as its newest event only. */
	control(&r0, S("delay-watches\0" "500"));
	control(&r0, S("merge-watches\0on"));
	for (int i = 0; i < 5; i++)
		raw_write(&r0, 0, "/m", "v", "OK");
	raw_write(&r0, 0, "/mb", "v", "OK");
	/* Delay: nothing is there right after the change was acknowledged... */
	CHECK(xt_raw_recv(&w, &m, 0) == -ETIMEDOUT);
	/* ...then the merged event, then the barrier. */
	expect_event(&w, "/m", "m");
	expect_event(&w, "/mb", "b");

	/* Switching the delay off releases what is pending at once. */
	raw_write(&r0, 0, "/m", "w", "OK");
	control(&r0, S("delay-watches\0" "0"));
	expect_event(&w, "/m", "m");
	control(&r0, S("merge-watches\0off"));
	/* Without merging, distinct events all arrive. */
	raw_write(&r0, 0, "/m/a", "1", "OK");
	raw_write(&r0, 0, "/m/b", "1", "OK");
	expect_event(&w, "/m/a", "m");
	expect_event(&w, "/m/b", "m");
	xt_raw_expect(&r0, XS_CONTROL, 0, S("merge-watches\0maybe"), "EINVAL");
	xt_raw_expect(&r0, XS_CONTROL, 0, S("delay-watches\0soon"), "EINVAL");
	xt_raw_close(&w);
	xt_raw_close(&r0);
	CHECK(xt_stop(&d) == 0);
}

static int run_cli(const char *const *argv, char *err, size_t esize)
{
	char out[4096];
	int ofd, efd, pid = xt_spawn(NULL, 0, argv, &ofd, &efd);

	xt_read_all(ofd, out, sizeof(out));
	xt_read_all(efd, err, esize);
	return xt_wait(pid);
}

static void case_cli(void)
{
	const char *bin = getenv("XENSIM_XENSTORED");
	struct xs_handle *h0;
	char err[4096], sock[300];
	struct stat st;

	CHECK(bin);
	CHECK(run_cli((const char *[]){ bin, "--help", NULL }, err, sizeof(err)) == 0);
	CHECK(run_cli((const char *[]){ bin, "--bogus", NULL }, err, sizeof(err)) == 2);
	CHECK(strstr(err, "--bogus"));
	CHECK(run_cli((const char *[]){ bin, "--dir", "/tmp", "--quota-nodes", "abc", NULL },
		      err, sizeof(err)) == 2);
	CHECK(strstr(err, "quota-nodes") && strstr(err, "abc"));
	CHECK(run_cli((const char *[]){ bin, "--dir", "/tmp", "--quota-watches", "-1", NULL },
		      err, sizeof(err)) == 2);
	CHECK(strstr(err, "quota-watches"));
	CHECK(run_cli((const char *[]){ bin, "--dir", "/tmp", "--ready-fd", NULL }, err,
		      sizeof(err)) == 2);
	CHECK(strstr(err, "ready-fd"));
	CHECK(run_cli((const char *[]){ bin, NULL }, err, sizeof(err)) == 2);
	CHECK(strstr(err, "--dir"));
	CHECK(run_cli((const char *[]){ bin, "--dir", "/tmp", "extra", NULL }, err,
		      sizeof(err)) == 2);
	CHECK(strstr(err, "extra"));

	/* SIGTERM: a clean exit, every socket removed. */
	start(NULL);
	/* A second daemon on the same directory refuses to steal the live socket. */
	CHECK(run_cli((const char *[]){ bin, "--dir", d.dir, NULL }, err, sizeof(err)) == 1);
	CHECK(strstr(err, "dom0.sock"));
	alive();
	h0 = xt_open(&d, 0);
	CHECK(h0);
	make_domain(h0, 4);
	xs_close(h0);
	xt_sock_path(&d, 4, sock, sizeof(sock));
	CHECK(!stat(sock, &st) && !stat(d.sock0, &st));
	CHECK(xt_stop(&d) == 0);
	CHECK(stat(sock, &st) && errno == ENOENT);
	CHECK(stat(d.sock0, &st) && errno == ENOENT);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "utils", case_utils },
	{ "perms-private", case_perms_private },
	{ "perms-backend", case_perms_backend },
	{ "watch-basic", case_watch_basic },
	{ "watch-perms", case_watch_perms },
	{ "tx-conflict", case_tx_conflict },
	{ "tx-force-eagain", case_tx_force_eagain },
	{ "quota", case_quota },
	{ "directory-part", case_directory_part },
	{ "domain-path", case_domain_path },
	{ "set-target", case_set_target },
	{ "reset-watches", case_reset_watches },
	{ "release", case_release },
	{ "malformed", case_malformed },
	{ "flood", case_flood },
	{ "knobs", case_knobs },
	{ "cli", case_cli },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; argc == 2 && i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], cases[i].name))
			continue;
		cases[i].fn();
		printf("ok %s\n", cases[i].name);
		return 0;
	}
	fprintf(stderr, "usage: xsd-test <case>; cases:");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fprintf(stderr, " %s", cases[i].name);
	fputc('\n', stderr);
	return 2;
}
