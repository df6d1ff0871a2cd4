// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifecycle tests for common/xenbus.c against a private xensim-xenstored
 * (argv[1]). One process plays three parts, each through its own xenstore
 * connection so the daemon's permission model applies:
 *   the toolstack (dom0): writes a vbd's frontend and backend nodes as libxl
 *     does (tools/libs/light/libxl_device.c, libxl__device_generic_add;
 *     removal as libxl__initiate_device_generic_remove: online=0 and
 *     state=5, wait for 6, remove the directories);
 *   the backend (driver domain 1): the bus under test with a minimal test
 *     driver that counts its callbacks;
 *   the frontends (guests 2 and 3): write their `state` and `ring-ref`.
 * The test turns the loop itself with loop_run_once and waits for xenstore
 * states with bounded timeouts; nothing sleeps. "Nothing happens" is
 * checked after the loop has gone quiet (a round with no events).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "store.h"
#include "tap.h"
#include "xenbus.h"
#include "xsd.h"

#define BE_DOM 1

static struct xsd xsd;
static struct xs_handle *ts, *be, *guest[4];
static struct loop *loop;
static struct xb_bus *bus;

/* ---- the test driver ---- */

struct rec {
	unsigned int devid;
	int probe, connect, disconnect, remove, reattach, changed;
	int fail_probe;		/* probe returns this if non-zero */
	bool fatal_in_connect;	/* connect calls xb_dev_fatal itself */
	unsigned slow_disconnect_ms;	/* disconnect takes this long */
	struct xb_device *d;
	char last_changed[64];
};

static struct rec recs[256];

static struct rec *rec_of(unsigned int devid)
{
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		if (recs[i].devid == devid || recs[i].devid == 0) {
			recs[i].devid = devid;
			return &recs[i];
		}
	return &recs[0];
}

static int t_probe(struct xb_device *d)
{
	struct rec *r = rec_of(xb_dev_devid(d));
	char path[256];

	r->probe++;
	r->d = d;
	if (r->fail_probe)
		return r->fail_probe;
	xb_dev_set_priv(d, r);
	snprintf(path, sizeof(path), "%s/feature-test", xb_dev_backend_path(d));
	return store_write(xb_dev_xs(d), XBT_NULL, path, "1");
}

static int t_connect(struct xb_device *d)
{
	struct rec *r = xb_dev_priv(d);
	char path[256];
	uint64_t ref;
	int ret;

	r->connect++;
	if (r->fatal_in_connect)
		return xb_dev_fatal(d, -E2BIG, "ring order %d too big", 9);
	snprintf(path, sizeof(path), "%s/ring-ref", xb_dev_frontend_path(d));
	ret = store_read_uint(xb_dev_xs(d), XBT_NULL, path, UINT32_MAX, STORE_NO_DEFAULT, &ref);
	if (ret < 0)
		return ret;
	return 0;
}

static void t_disconnect(struct xb_device *d)
{
	struct rec *r = xb_dev_priv(d);

	if (r) {
		r->disconnect++;
		if (r->slow_disconnect_ms) {
			/* A store or thread that is slow to let go. */
			struct timespec ts = { .tv_sec = r->slow_disconnect_ms / 1000,
					       .tv_nsec = (long)(r->slow_disconnect_ms % 1000) * 1000000 };

			while (nanosleep(&ts, &ts) < 0)
				;
		}
	}
}

static void t_remove(struct xb_device *d)
{
	struct rec *r = xb_dev_priv(d);

	r->remove++;
	r->d = NULL;
	xb_dev_set_priv(d, NULL);
}

static void t_changed(struct xb_device *d, const char *node)
{
	struct rec *r = xb_dev_priv(d);

	r->changed++;
	snprintf(r->last_changed, sizeof(r->last_changed), "%s", node);
}

static int t_reattach(struct xb_device *d)
{
	struct rec *r = xb_dev_priv(d);

	r->reattach++;
	return 0;
}

static struct xb_driver drv = {
	.type = "vbd",
	.probe = t_probe,
	.connect = t_connect,
	.disconnect = t_disconnect,
	.remove = t_remove,
	.backend_changed = t_changed,
};

/* ---- the toolstack, the frontends, waiting ---- */

static void bepath(char *buf, size_t n, unsigned int fe, unsigned int devid, const char *node)
{
	snprintf(buf, n, "/local/domain/%u/backend/vbd/%u/%u%s%s", BE_DOM, fe, devid,
		 node ? "/" : "", node ? node : "");
}

static void fepath(char *buf, size_t n, unsigned int fe, unsigned int devid, const char *node)
{
	snprintf(buf, n, "/local/domain/%u/device/vbd/%u%s%s", fe, devid, node ? "/" : "",
		 node ? node : "");
}

struct attach {
	unsigned int fe, devid;
	const char *script;
	const char *frontend;	/* override the backend's frontend node */
	bool no_online;		/* leave `online` out (written later) */
	int be_state, fe_state;
};

static int attach_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct attach *a = arg;
	char fe[256], bk[256], p[320];
	struct xs_permissions fperm[2] = { { a->fe, XS_PERM_NONE }, { BE_DOM, XS_PERM_READ } };
	struct xs_permissions bperm[2] = { { BE_DOM, XS_PERM_NONE }, { a->fe, XS_PERM_READ } };
	int r = 0;

	fepath(fe, sizeof(fe), a->fe, a->devid, NULL);
	bepath(bk, sizeof(bk), a->fe, a->devid, NULL);
	if (!xs_write(xs, t, fe, "", 0) || !xs_set_permissions(xs, t, fe, fperm, 2) ||
	    !xs_write(xs, t, bk, "", 0) || !xs_set_permissions(xs, t, bk, bperm, 2))
		return -errno;
	snprintf(p, sizeof(p), "%s/backend", fe);
	r |= store_write(xs, t, p, bk);
	snprintf(p, sizeof(p), "%s/backend-id", fe);
	r |= store_printf(xs, t, p, "%u", BE_DOM);
	snprintf(p, sizeof(p), "%s/state", fe);
	r |= store_printf(xs, t, p, "%d", a->fe_state ? a->fe_state : 1);
	snprintf(p, sizeof(p), "%s/frontend", bk);
	r |= store_write(xs, t, p, a->frontend ? a->frontend : fe);
	snprintf(p, sizeof(p), "%s/frontend-id", bk);
	r |= store_printf(xs, t, p, "%u", a->fe);
	if (!a->no_online) {
		snprintf(p, sizeof(p), "%s/online", bk);
		r |= store_write(xs, t, p, "1");
	}
	snprintf(p, sizeof(p), "%s/state", bk);
	r |= store_printf(xs, t, p, "%d", a->be_state ? a->be_state : 1);
	if (a->script) {
		snprintf(p, sizeof(p), "%s/script", bk);
		r |= store_write(xs, t, p, a->script);
	}
	return r ? -EIO : 0;
}

static int attach(struct attach a)
{
	return store_txn(ts, attach_txn, &a);
}

static int detach_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct attach *a = arg;
	char p[256];

	bepath(p, sizeof(p), a->fe, a->devid, "online");
	if (store_write(xs, t, p, "0") < 0)
		return -EIO;
	bepath(p, sizeof(p), a->fe, a->devid, "state");
	return store_write(xs, t, p, "5");
}

/* The first half of libxl's removal: online=0 and state=5 together. */
static int detach(unsigned int fe, unsigned int devid)
{
	struct attach a = { .fe = fe, .devid = devid };

	return store_txn(ts, detach_txn, &a);
}

static void remove_nodes(unsigned int fe, unsigned int devid)
{
	char p[256];

	bepath(p, sizeof(p), fe, devid, NULL);
	store_rm(ts, XBT_NULL, p);
	fepath(p, sizeof(p), fe, devid, NULL);
	store_rm(ts, XBT_NULL, p);
}

static int fe_write(unsigned int fe, unsigned int devid, const char *node, const char *val)
{
	char p[256];

	fepath(p, sizeof(p), fe, devid, node);
	return store_write(guest[fe], XBT_NULL, p, val);
}

static int fe_state(unsigned int fe, unsigned int devid, int s)
{
	char v[8];

	snprintf(v, sizeof(v), "%d", s);
	return fe_write(fe, devid, "state", v);
}

static int be_state(unsigned int fe, unsigned int devid)
{
	char p[256];
	uint64_t v;

	bepath(p, sizeof(p), fe, devid, "state");
	if (store_read_uint(ts, XBT_NULL, p, 8, STORE_NO_DEFAULT, &v) < 0)
		return -1;
	return (int)v;
}

static bool be_node_is(unsigned int fe, unsigned int devid, const char *node, const char *want)
{
	char p[256], buf[256];

	bepath(p, sizeof(p), fe, devid, node);
	if (store_read_buf(ts, XBT_NULL, p, buf, sizeof(buf)) < 0)
		return false;
	if (strcmp(buf, want) != 0)
		printf("# %s is \"%s\", want \"%s\"\n", p, buf, want);
	return strcmp(buf, want) == 0;
}


/* Turns the loop until cond holds, at most 5 s. */
#define WAIT(cond)                                                                     \
	({                                                                             \
		uint64_t end_ = test_mono_ms() + 5000;                                      \
		while (!(cond) && test_mono_ms() < end_)                                    \
			loop_run_once(loop, 20);                                       \
		if (!(cond))                                                           \
			printf("# %s:%d: timed out waiting for %s\n", __FILE__, __LINE__, \
			       #cond);                                                 \
		(cond);                                                                \
	})

/* Turns the loop until a 100 ms round brings no event (at most 5 s). */
static void settle(void)
{
	uint64_t end = test_mono_ms() + 5000;

	while (test_mono_ms() < end)
		if (loop_run_once(loop, 100) == 0)
			break;
}

static bool bus_up(const struct xb_driver *d)
{
	const struct xb_driver *drivers[] = { d };

	if (xb_bus_new(loop, be, BE_DOM, drivers, 1, &bus) < 0)
		return false;
	return xb_bus_start(bus) == 0;
}

static void bus_down(void)
{
	xb_bus_free(bus);
	bus = NULL;
	loop_run_once(loop, 0);
}

/* Attach, probe, InitWait, frontend Initialised, Connected: the common start. */
static bool bring_up(unsigned int fe, unsigned int devid)
{
	if (attach((struct attach){ .fe = fe, .devid = devid }) < 0)
		return false;
	if (!WAIT(be_state(fe, devid) == XenbusStateInitWait))
		return false;
	fe_write(fe, devid, "ring-ref", "8");
	fe_state(fe, devid, XenbusStateInitialised);
	if (!WAIT(be_state(fe, devid) == XenbusStateConnected))
		return false;
	fe_state(fe, devid, XenbusStateConnected);
	return true;
}

/* The frontend closes (Closing, then Closed once we are): we end Closed. */
static bool closed_by_frontend(unsigned int fe, unsigned int devid)
{
	fe_state(fe, devid, XenbusStateClosing);
	if (!WAIT(be_state(fe, devid) == XenbusStateClosed))
		return false;
	fe_state(fe, devid, XenbusStateClosed);
	settle();
	return true;
}

/* ---- cases ---- */

static void test_connect_and_close(void)
{
	struct rec *r = rec_of(100);

	/* Present before start: found by the initial scan. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 100 }) == 0);
	REQUIRE(bus_up(&drv));
	CHECK(WAIT(be_state(2, 100) == XenbusStateInitWait));
	CHECK(r->probe == 1 && r->connect == 0);
	CHECK(be_node_is(2, 100, "feature-test", "1"));

	/* No connect while the frontend is only Initialising. */
	settle();
	CHECK(be_state(2, 100) == XenbusStateInitWait && r->connect == 0);

	fe_write(2, 100, "ring-ref", "8");
	fe_state(2, 100, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 100) == XenbusStateConnected));
	CHECK(r->connect == 1 && r->disconnect == 0);
	CHECK(xb_bus_count(bus, XenbusStateConnected) == 1);
	fe_state(2, 100, XenbusStateConnected);
	settle();
	CHECK(be_state(2, 100) == XenbusStateConnected && r->connect == 1);

	fe_state(2, 100, XenbusStateClosing);
	CHECK(WAIT(be_state(2, 100) == XenbusStateClosed));
	CHECK(r->disconnect == 1);
	fe_state(2, 100, XenbusStateClosed);
	settle();
	CHECK(be_state(2, 100) == XenbusStateClosed);
	CHECK(r->disconnect == 1 && r->connect == 1 && r->remove == 0);
	CHECK(xb_bus_count(bus, XenbusStateClosed) == 1);

	/* A node the lifecycle does not own goes to backend_changed. */
	{
		char p[256];

		bepath(p, sizeof(p), 2, 100, "params");
		store_write(ts, XBT_NULL, p, "/dev/x");
		/* Our own feature-test write may have been reported first. */
		CHECK(WAIT(strcmp(r->last_changed, "params") == 0));
	}
	bus_down();
	CHECK(r->remove == 1);
	/* xb_bus_free leaves the nodes. */
	CHECK(be_state(2, 100) == XenbusStateClosed);
	remove_nodes(2, 100);
}

static void test_reconnect(void)
{
	struct rec *r = rec_of(101);

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 101));
	CHECK(closed_by_frontend(2, 101));
	/* The frontend comes back: InitWait again, then Connected again. */
	fe_state(2, 101, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 101) == XenbusStateInitWait));
	CHECK(r->probe == 1);	/* driver state kept across the reconnect */
	fe_state(2, 101, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 101) == XenbusStateConnected));
	CHECK(r->connect == 2 && r->disconnect == 1);
	bus_down();
	CHECK(r->disconnect == 2 && r->remove == 1);
	remove_nodes(2, 101);
}

static void test_frontend_skips_states(void)
{
	struct rec *r = rec_of(102);

	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 102 }) == 0);
	CHECK(WAIT(be_state(2, 102) == XenbusStateInitWait));
	/* netfront-style: Initialising straight to Connected. */
	fe_write(2, 102, "ring-ref", "9");
	fe_state(2, 102, XenbusStateConnected);
	CHECK(WAIT(be_state(2, 102) == XenbusStateConnected));
	CHECK(r->connect == 1);
	/* Straight to Closed, no Closing. */
	fe_state(2, 102, XenbusStateClosed);
	CHECK(WAIT(be_state(2, 102) == XenbusStateClosed));
	CHECK(r->disconnect == 1);
	/* Re-initialises under Connected with its Closed never seen. */
	fe_state(2, 102, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 102) == XenbusStateInitWait));
	fe_state(2, 102, XenbusStateConnected);
	CHECK(WAIT(be_state(2, 102) == XenbusStateConnected));
	CHECK(r->connect == 2);
	fe_state(2, 102, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 102) == XenbusStateInitWait));
	CHECK(r->disconnect == 2);
	bus_down();
	remove_nodes(2, 102);
}

/* Several frontend writes before the backend runs once: it sees only the last. */
static void test_merged_events(void)
{
	struct rec *r = rec_of(103);

	REQUIRE(xsd_control(ts, "merge-watches", "on"));
	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 103 }) == 0);
	fe_write(2, 103, "ring-ref", "9");
	fe_state(2, 103, XenbusStateInitialised);
	fe_state(2, 103, XenbusStateConnected);
	CHECK(WAIT(be_state(2, 103) == XenbusStateConnected));
	CHECK(r->probe == 1 && r->connect == 1);
	fe_state(2, 103, XenbusStateClosing);
	fe_state(2, 103, XenbusStateClosed);
	CHECK(WAIT(be_state(2, 103) == XenbusStateClosed));
	settle();
	CHECK(r->connect == 1 && r->disconnect == 1);
	REQUIRE(xsd_control(ts, "merge-watches", "off"));
	bus_down();
	remove_nodes(2, 103);
}

static void test_vanished_frontend(void)
{
	struct rec *r = rec_of(104);
	char p[256];

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 104));
	/* The guest's nodes vanish (domain destroyed, or the guest removed them). */
	fepath(p, sizeof(p), 2, 104, NULL);
	CHECK(store_rm(ts, XBT_NULL, p) == 0);
	CHECK(WAIT(be_state(2, 104) == XenbusStateClosed));
	CHECK(r->disconnect == 1 && r->remove == 0);
	/* Then the toolstack removes the backend: the device goes. */
	bepath(p, sizeof(p), 2, 104, NULL);
	CHECK(store_rm(ts, XBT_NULL, p) == 0);
	CHECK(WAIT(r->remove == 1));
	CHECK(xb_bus_count(bus, XenbusStateClosed) == 0);
	settle();
	/* Not resurrected by a late state write. */
	CHECK(store_exists(ts, XBT_NULL, p) == 0);
	bus_down();
}

static void test_fatal_one_of_two(void)
{
	struct rec *a = rec_of(105), *b = rec_of(106), *c = rec_of(107);

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 105));
	REQUIRE(bring_up(2, 106));
	CHECK(xb_bus_count(bus, XenbusStateConnected) == 2);

	/* The data path of A reports a protocol violation. */
	REQUIRE(a->d);
	CHECK(xb_dev_fatal(a->d, -EPROTO, "bad request %d", 7) == -EPROTO);
	CHECK(be_state(2, 105) == XenbusStateClosed);
	CHECK(a->disconnect == 1);
	{
		char want[64];

		snprintf(want, sizeof(want), "%d bad request 7", EPROTO);
		CHECK(be_node_is(2, 105, "error", want));
		/* The daemon keeps the same text for its status report. */
		CHECK(xb_dev_error(a->d) && !strcmp(xb_dev_error(a->d), want));
	}
	settle();
	CHECK(be_state(2, 106) == XenbusStateConnected);
	CHECK(b->d && xb_dev_error(b->d) == NULL);
	CHECK(b->connect == 1 && b->disconnect == 0);

	/* C's connect fails (no ring-ref): error node, Closed; B untouched. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 107 }) == 0);
	CHECK(WAIT(be_state(2, 107) == XenbusStateInitWait));
	fe_state(2, 107, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 107) == XenbusStateClosed));
	CHECK(c->connect == 1 && c->disconnect == 1);
	{
		char want[64];

		snprintf(want, sizeof(want), "%d connect failed", ENOENT);
		CHECK(be_node_is(2, 107, "error", want));
	}
	settle();
	CHECK(be_state(2, 106) == XenbusStateConnected && b->disconnect == 0);

	/* A's frontend sees the close, closes, and starts over: A reconnects. */
	fe_state(2, 105, XenbusStateClosing);
	fe_state(2, 105, XenbusStateClosed);
	settle();
	CHECK(be_state(2, 105) == XenbusStateClosed);
	fe_state(2, 105, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 105) == XenbusStateInitWait));
	fe_state(2, 105, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 105) == XenbusStateConnected));
	CHECK(a->connect == 2);
	bus_down();
	remove_nodes(2, 105);
	remove_nodes(2, 106);
	remove_nodes(2, 107);
}

static void test_probe_failure(void)
{
	struct rec *r = rec_of(108);

	r->fail_probe = -ENODEV;
	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 108 }) == 0);
	CHECK(WAIT(be_state(2, 108) == XenbusStateClosed));
	CHECK(r->probe == 1 && r->connect == 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "%d probe failed", ENODEV);
		CHECK(be_node_is(2, 108, "error", want));
	}
	/* The frontend still sits in Initialising: no retry loop. */
	settle();
	CHECK(r->probe == 1 && be_state(2, 108) == XenbusStateClosed);
	bus_down();
	CHECK(r->remove == 0);	/* never probed successfully */
	remove_nodes(2, 108);
}

static void test_hotplug_gating(void)
{
	struct rec *r = rec_of(109), *e = rec_of(110);
	char p[256];

	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 109, .script = "block" }) == 0);
	CHECK(WAIT(be_state(2, 109) == XenbusStateInitWait));
	fe_write(2, 109, "ring-ref", "8");
	fe_state(2, 109, XenbusStateInitialised);
	settle();
	/* The script has not reported: no connect. */
	CHECK(be_state(2, 109) == XenbusStateInitWait && r->connect == 0);
	bepath(p, sizeof(p), 2, 109, "hotplug-status");
	CHECK(store_write(ts, XBT_NULL, p, "connecting") == 0);
	settle();
	CHECK(be_state(2, 109) == XenbusStateInitWait && r->connect == 0);
	CHECK(store_write(ts, XBT_NULL, p, "connected") == 0);
	CHECK(WAIT(be_state(2, 109) == XenbusStateConnected));
	CHECK(r->connect == 1);

	/* The script fails: fatal. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 110, .script = "block" }) == 0);
	CHECK(WAIT(be_state(2, 110) == XenbusStateInitWait));
	fe_write(2, 110, "ring-ref", "8");
	fe_state(2, 110, XenbusStateInitialised);
	bepath(p, sizeof(p), 2, 110, "hotplug-status");
	CHECK(store_write(ts, XBT_NULL, p, "error") == 0);
	CHECK(WAIT(be_state(2, 110) == XenbusStateClosed));
	CHECK(e->connect == 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "%d hotplug script reported an error", EIO);
		CHECK(be_node_is(2, 110, "error", want));
	}
	CHECK(be_state(2, 109) == XenbusStateConnected);
	bus_down();
	remove_nodes(2, 109);
	remove_nodes(2, 110);
}

static void test_toolstack_removal(void)
{
	struct rec *r = rec_of(111);
	char p[256];

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 111));
	CHECK(detach(2, 111) == 0);
	/* libxl waits for 6 (the frontend here never reacts). */
	CHECK(WAIT(be_state(2, 111) == XenbusStateClosed));
	CHECK(r->disconnect == 1 && r->remove == 0);
	settle();
	/* Offline: the frontend coming back does not reopen it. */
	fe_state(2, 111, XenbusStateInitialising);
	settle();
	CHECK(be_state(2, 111) == XenbusStateClosed && r->connect == 1);
	remove_nodes(2, 111);
	CHECK(WAIT(r->remove == 1));
	settle();
	bepath(p, sizeof(p), 2, 111, NULL);
	CHECK(store_exists(ts, XBT_NULL, p) == 0);
	CHECK(xb_bus_count(bus, XenbusStateClosed) == 0);
	bus_down();
}

/* libxl's state=5 lands after we already went Closed: we must say 6 again. */
static void test_toolstack_removal_after_close(void)
{
	struct rec *r = rec_of(112);

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 112));
	fe_state(2, 112, XenbusStateClosing);
	CHECK(WAIT(be_state(2, 112) == XenbusStateClosed));
	fe_state(2, 112, XenbusStateClosed);
	settle();
	CHECK(detach(2, 112) == 0);
	CHECK(be_state(2, 112) == XenbusStateClosing);
	CHECK(WAIT(be_state(2, 112) == XenbusStateClosed));
	remove_nodes(2, 112);
	CHECK(WAIT(r->remove == 1));
	bus_down();
}

static void test_invalid_frontend(void)
{
	struct rec *r = rec_of(113);
	char want[128];

	REQUIRE(bus_up(&drv));
	/* The backend names another domain's device. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 113,
					.frontend = "/local/domain/3/device/vbd/113" }) == 0);
	CHECK(WAIT(be_state(2, 113) == XenbusStateClosed));
	CHECK(r->probe == 0);
	snprintf(want, sizeof(want), "%d frontend \"/local/domain/3/device/vbd/113\" (id 2) is "
		 "not /local/domain/2/device/vbd/113", EINVAL);
	CHECK(be_node_is(2, 113, "error", want));
	fe_state(2, 113, XenbusStateInitialising);
	settle();
	CHECK(be_state(2, 113) == XenbusStateClosed && r->probe == 0);
	bus_down();
	remove_nodes(2, 113);
}

/* The bus's status text, as --status prints it. */
static bool bus_status_has(const char *want)
{
	char buf[2048] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	if (!f)
		return false;
	xb_bus_status(bus, f);
	fclose(f);
	if (!strstr(buf, want))
		printf("# bus status \"%s\" lacks \"%s\"\n", buf, want);
	return strstr(buf, want) != NULL;
}

static void test_limits(void)
{
	struct rec *a = rec_of(114), *b = rec_of(115), *c = rec_of(116), *d = rec_of(119);
	char want[512];

	REQUIRE(bus_up(&drv));
	xb_bus_set_limits(bus, 0, 1);
	REQUIRE(attach((struct attach){ .fe = 3, .devid = 114 }) == 0);
	CHECK(WAIT(be_state(3, 114) == XenbusStateInitWait));
	REQUIRE(attach((struct attach){ .fe = 3, .devid = 115 }) == 0);
	/* Over the per-domain bound: not served, and said where the toolstack looks. */
	snprintf(want, sizeof(want), "%d vbd 3/115 not served: 1 device(s) of this domain, the "
		 "most this daemon takes (raise max-devices-per-domain in its config)", ENOSPC);
	CHECK(WAIT(be_node_is(3, 115, "error", want)));
	settle();
	CHECK(b->probe == 0 && be_state(3, 115) == XenbusStateInitialising);
	CHECK(bus_status_has("max-devices-per-domain 1, refused 1"));
	CHECK(bus_status_has("last refused: vbd 3/115 not served"));
	/* Another domain has its own allowance. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 116 }) == 0);
	CHECK(WAIT(be_state(2, 116) == XenbusStateInitWait));
	CHECK(a->probe == 1 && c->probe == 1);
	/* A slot frees: the refused device is served with no event of its own. */
	remove_nodes(3, 114);
	CHECK(WAIT(a->remove == 1));
	CHECK(WAIT(be_state(3, 115) == XenbusStateInitWait));
	CHECK(b->probe == 1);
	{
		char p[256];

		bepath(p, sizeof(p), 3, 115, "error");
		CHECK(store_exists(ts, XBT_NULL, p) == 0);
	}
	/* The total bound, named as such. */
	xb_bus_set_limits(bus, 2, 0);
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 119 }) == 0);
	snprintf(want, sizeof(want), "%d vbd 2/119 not served: 2 device(s), the most this daemon "
		 "takes (raise max-devices in its config)", ENOSPC);
	CHECK(WAIT(be_node_is(2, 119, "error", want)));
	CHECK(d->probe == 0);
	bus_down();
	remove_nodes(3, 115);
	remove_nodes(2, 116);
	remove_nodes(2, 119);
}

/* XS_CONTROL "quota set NAME VAL" as dom0. */
static bool set_quota(const char *name, unsigned int val)
{
	char arg[64];
	int n = snprintf(arg, sizeof(arg), "set%c%s%c%u", 0, name, 0, val);
	char *r = xs_control_command(ts, "quota", arg, (unsigned int)n + 1);

	free(r);
	return r != NULL;
}

/* What the driver domain uses of a quota ("nodes", "watches"), as xenstored counts it. */
static unsigned int be_usage(const char *what)
{
	char arg[8], key[32];
	int n = snprintf(arg, sizeof(arg), "%u", BE_DOM);
	char *r = xs_control_command(ts, "quota", arg, (unsigned int)n + 1);
	const char *w;
	unsigned int v;

	snprintf(key, sizeof(key), "\n%s: ", what);
	w = r ? strstr(r, key) : NULL;
	v = w ? (unsigned int)strtoul(w + strlen(key), NULL, 10) : ~0u;
	free(r);
	return v;
}

static unsigned int be_watches(void)
{
	return be_usage("watches");
}

/*
 * The driver domain's node quota reached while a device is probed: the
 * device closes, and its error (which cannot be written to xenstore then)
 * says what it is, where ddomctl and the journal show it.
 */
static void test_node_quota(void)
{
	struct rec *r = rec_of(121);
	const char *e;

	REQUIRE(bus_up(&drv));
	REQUIRE(set_quota("nodes", be_usage("nodes") + 1));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 121 }) == 0);
	CHECK(WAIT(be_state(2, 121) == XenbusStateClosed));
	CHECK(r->probe == 1 && r->connect == 0);
	e = r->d ? xb_dev_error(r->d) : NULL;
	CHECK(e && !strncmp(e, "28 ", 3) && strstr(e, "node quota") &&
	      strstr(e, "xenstore quotas"));
	if (e)
		printf("# error: %s\n", e);
	REQUIRE(set_quota("nodes", 1000));
	bus_down();
	remove_nodes(2, 121);
}

/*
 * More devices than xenstored's watch quota (128 per domain, kept at its
 * default here): the bus watches once in all, so every one is served and
 * the driver domain holds one watch. Nodes are the quota an operator meets
 * (docs/operator-guide.md): raised here as dom0 would.
 */
static void test_more_devices_than_watches(void)
{
	const unsigned int per = 80, total = 2 * per;
	unsigned int i, n;

	REQUIRE(set_quota("nodes", 100000));
	REQUIRE(bus_up(&drv));
	xb_bus_set_limits(bus, 0, per);
	for (i = 0; i < per; i++) {
		REQUIRE(attach((struct attach){ .fe = 2, .devid = 400 + i }) == 0);
		REQUIRE(attach((struct attach){ .fe = 3, .devid = 400 + i }) == 0);
	}
	CHECK(WAIT(xb_bus_count(bus, XenbusStateInitWait) == total));
	CHECK(be_watches() == 1);
	/* Each device still follows its own frontend. */
	fe_write(3, 400 + per - 1, "ring-ref", "5");
	fe_write(2, 400, "ring-ref", "5");
	fe_state(3, 400 + per - 1, XenbusStateInitialised);
	fe_state(2, 400, XenbusStateConnected);
	CHECK(WAIT(be_state(3, 400 + per - 1) == XenbusStateConnected &&
		   be_state(2, 400) == XenbusStateConnected));
	settle();
	n = xb_bus_count(bus, XenbusStateConnected);
	CHECK(n == 2);
	if (n != 2)
		printf("# %u connected\n", n);
	bus_down();
	for (i = 0; i < per; i++) {
		remove_nodes(2, 400 + i);
		remove_nodes(3, 400 + i);
	}
	REQUIRE(set_quota("nodes", 1000));
}

static void test_reattach(void)
{
	struct xb_driver with = drv;
	struct rec *r = rec_of(117), *s = rec_of(118);

	/* A previous daemon left 117 Connected with its frontend Connected. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 117, .be_state = 4, .fe_state = 4 }) ==
		0);
	with.reattach = t_reattach;
	REQUIRE(bus_up(&with));
	settle();
	CHECK(r->probe == 1 && r->reattach == 1 && r->connect == 0);
	CHECK(be_state(2, 117) == XenbusStateConnected);
	CHECK(xb_bus_count(bus, XenbusStateConnected) == 1);
	bus_down();

	/* Without a reattach hook the device is closed for the frontend to redo. */
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 118, .be_state = 4, .fe_state = 4 }) ==
		0);
	REQUIRE(bus_up(&drv));
	CHECK(WAIT(be_state(2, 118) == XenbusStateClosed));
	CHECK(s->connect == 0);
	fe_state(2, 118, XenbusStateClosing);
	fe_state(2, 118, XenbusStateClosed);
	settle();
	fe_write(2, 118, "ring-ref", "8");
	fe_state(2, 118, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 118) == XenbusStateInitWait));
	fe_state(2, 118, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 118) == XenbusStateConnected));
	CHECK(s->connect == 1);
	bus_down();
	remove_nodes(2, 117);
	remove_nodes(2, 118);
}

/* Garbage in the frontend's state node is a protocol violation of that device. */
static void test_hostile_frontend_state(void)
{
	struct rec *r = rec_of(119), *o = rec_of(120);
	char want[64];

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 119));
	REQUIRE(bring_up(2, 120));
	fe_write(2, 119, "state", " 4");
	CHECK(WAIT(be_state(2, 119) == XenbusStateClosed));
	snprintf(want, sizeof(want), "%d frontend state invalid (%s)", EPROTO,
		 strerror(EINVAL));
	CHECK(be_node_is(2, 119, "error", want));
	CHECK(r->disconnect == 1);
	fe_write(2, 119, "state", "99");
	fe_write(2, 119, "state", "4294967300");
	settle();
	CHECK(be_state(2, 120) == XenbusStateConnected && o->disconnect == 0);
	bus_down();
	remove_nodes(2, 119);
	remove_nodes(2, 120);
}

/* A toolstack that writes `online` last: nothing closes, connect waits for it. */
static void test_online_late(void)
{
	struct rec *r = rec_of(121);
	char p[256];

	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 121, .no_online = true }) == 0);
	CHECK(WAIT(be_state(2, 121) == XenbusStateInitWait));
	fe_write(2, 121, "ring-ref", "8");
	fe_state(2, 121, XenbusStateInitialised);
	settle();
	CHECK(be_state(2, 121) == XenbusStateInitWait && r->connect == 0);
	bepath(p, sizeof(p), 2, 121, "online");
	CHECK(store_write(ts, XBT_NULL, p, "1") == 0);
	CHECK(WAIT(be_state(2, 121) == XenbusStateConnected));
	CHECK(r->connect == 1);
	bus_down();
	remove_nodes(2, 121);
}

static void test_reannounce(void)
{
	struct rec *r = rec_of(122);

	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 122 }) == 0);
	CHECK(WAIT(be_state(2, 122) == XenbusStateInitWait));
	REQUIRE(r->d);
	CHECK(xb_dev_reannounce(r->d, "sectors", "1") == -EINVAL);	/* not Connected */
	fe_write(2, 122, "ring-ref", "8");
	fe_state(2, 122, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 122) == XenbusStateConnected));
	CHECK(xb_dev_reannounce(r->d, "sectors", "4096") == 0);
	CHECK(be_node_is(2, 122, "sectors", "4096"));
	CHECK(be_state(2, 122) == XenbusStateConnected);
	settle();
	CHECK(r->connect == 1 && r->disconnect == 0);
	bus_down();
	remove_nodes(2, 122);
}

/* The toolstack pulls the nodes from under a Connected device (xl destroy -f). */
static void test_backend_removed_while_connected(void)
{
	struct rec *r = rec_of(123);
	char p[256];

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 123));
	remove_nodes(2, 123);
	CHECK(WAIT(r->remove == 1));
	CHECK(r->disconnect == 1);
	settle();
	bepath(p, sizeof(p), 2, 123, NULL);
	CHECK(store_exists(ts, XBT_NULL, p) == 0);
	CHECK(xb_bus_count(bus, XenbusStateConnected) == 0);
	bus_down();
}

/* A driver that reports its own failure: its message, written once. */
static void test_driver_fatal_in_connect(void)
{
	struct rec *r = rec_of(124);
	char want[64];

	r->fatal_in_connect = true;
	REQUIRE(bus_up(&drv));
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 124 }) == 0);
	CHECK(WAIT(be_state(2, 124) == XenbusStateInitWait));
	fe_state(2, 124, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 124) == XenbusStateClosed));
	snprintf(want, sizeof(want), "%d ring order 9 too big", E2BIG);
	CHECK(be_node_is(2, 124, "error", want));
	CHECK(r->connect == 1 && r->disconnect == 1);
	/*
	 * The frontend moves on in its handshake (it saw our Connected before
	 * our Closing): not an answer to the close, so no reconnect of the
	 * ring the error was about.
	 */
	fe_state(2, 124, XenbusStateConnected);
	settle();
	CHECK(be_state(2, 124) == XenbusStateClosed && r->connect == 1);
	/* It closes and starts over: then it may connect again. */
	r->fatal_in_connect = false;
	fe_state(2, 124, XenbusStateClosing);
	settle();
	CHECK(be_state(2, 124) == XenbusStateClosed && r->connect == 1);
	fe_state(2, 124, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 124) == XenbusStateInitWait));
	fe_write(2, 124, "ring-ref", "8");
	fe_state(2, 124, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 124) == XenbusStateConnected));
	CHECK(r->connect == 2);
	bus_down();
	remove_nodes(2, 124);
}

/* Our own stderr, redirected into a pipe while a case runs. */
static int capture_begin(int *saved)
{
	int p[2];

	fflush(stderr);
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	*saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	return p[0];
}

static void capture_end(int rd, int saved, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	while (len < size - 1 && (n = read(rd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(rd);
}

/* Our log at info, captured while a case acts (then the usual level again). */
static int info_begin(int *saved)
{
	log_set_max_level(LOG_INFO);
	return capture_begin(saved);
}

static void info_end(int rd, int saved, char *buf, size_t size)
{
	capture_end(rd, saved, buf, size);
	log_set_max_level(getenv("TEST_XENBUS_DEBUG") ? LOG_DEBUG : LOG_WARNING);
}

/* True if the lines appear in this order in text. */
static bool in_order(const char *text, const char *const *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *at = strstr(text, lines[i]);

		if (!at) {
			printf("# missing or out of order: \"%s\"\n", lines[i]);
			return false;
		}
		text = at + strlen(lines[i]);
	}
	return true;
}

/*
 * Each hop of the walk is one write of the state node, logged after it:
 * the intermediate states are written, not skipped.
 */
static void test_walk_writes_every_state(void)
{
	static const char *const want[] = {
		"vbd 2/125: Initialising -> InitWait",
		"vbd 2/125: InitWait -> Connected",
		/* Re-initialised under Connected: the whole way round. */
		"vbd 2/125: Connected -> Closing",
		"vbd 2/125: Closing -> Closed",
		"vbd 2/125: Closed -> InitWait",
		/* A fatal error before connecting. */
		"vbd 2/125: InitWait -> Closing",
		"vbd 2/125: Closing -> Closed",
	};
	static char text[16384];
	struct rec *r = rec_of(125);
	int saved = -1, rd;

	REQUIRE(bus_up(&drv));
	rd = info_begin(&saved);
	REQUIRE(rd >= 0);
	CHECK(bring_up(2, 125));
	fe_state(2, 125, XenbusStateInitialising);
	CHECK(WAIT(be_state(2, 125) == XenbusStateInitWait));
	CHECK(r->d && xb_dev_fatal(r->d, -EIO, "test") == -EIO);
	CHECK(be_state(2, 125) == XenbusStateClosed);
	info_end(rd, saved, text, sizeof(text));
	CHECK(in_order(text, want, sizeof(want) / sizeof(want[0])));
	bus_down();
	remove_nodes(2, 125);
}

/*
 * Detach then attach again at once (xl block-detach; block-attach): the
 * removal and the new directory reach us as one merged event, the
 * directory never seen gone. The new device is probed afresh (its feature
 * nodes written again), not the old one reopened.
 */
static void test_recreated_while_closed(void)
{
	struct rec *r = rec_of(127);

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 127));
	CHECK(closed_by_frontend(2, 127));
	CHECK(r->probe == 1 && r->remove == 0);
	/* No loop turn in between: the events merge. */
	remove_nodes(2, 127);
	REQUIRE(attach((struct attach){ .fe = 2, .devid = 127 }) == 0);
	CHECK(WAIT(be_state(2, 127) == XenbusStateInitWait));
	CHECK(r->remove == 1 && r->probe == 2);
	CHECK(be_node_is(2, 127, "feature-test", "1"));
	fe_write(2, 127, "ring-ref", "8");
	fe_state(2, 127, XenbusStateInitialised);
	CHECK(WAIT(be_state(2, 127) == XenbusStateConnected));
	bus_down();
	remove_nodes(2, 127);
}

/* The reason of a close and a slow disconnect are said (info, warning). */
static void test_close_reason_and_slow_hook(void)
{
	static const char *const want[] = {
		"vbd 2/126: closing: the frontend closed",
		"vbd 2/126: disconnecting took",
		"vbd 2/126: Connected -> Closing",
	};
	static char text[16384];
	struct rec *r = rec_of(126);
	int saved = -1, rd;

	REQUIRE(bus_up(&drv));
	REQUIRE(bring_up(2, 126));
	r->slow_disconnect_ms = 1100;
	rd = info_begin(&saved);
	REQUIRE(rd >= 0);
	fe_state(2, 126, XenbusStateClosing);
	CHECK(WAIT(be_state(2, 126) == XenbusStateClosed));
	info_end(rd, saved, text, sizeof(text));
	CHECK(in_order(text, want, sizeof(want) / sizeof(want[0])));
	CHECK(r->disconnect == 1);
	r->slow_disconnect_ms = 0;
	bus_down();
	remove_nodes(2, 126);
}

int main(int argc, char **argv)
{
	unsigned int i;
	int r;

	r = xsd_start_tap(&xsd, argc, argv);
	if (r)
		return r;
	log_init("test-xenbus");
	if (getenv("TEST_XENBUS_DEBUG"))
		log_set_max_level(LOG_DEBUG);
	else
		log_set_max_level(LOG_WARNING);
	ts = xsd_open(&xsd, 0);
	if (!ts || loop_new(&loop) < 0)
		goto bail;
	for (i = 1; i <= 3; i++)
		if (!xsd_introduce(ts, i))
			goto bail;
	be = xsd_open(&xsd, BE_DOM);
	guest[2] = xsd_open(&xsd, 2);
	guest[3] = xsd_open(&xsd, 3);
	if (!be || !guest[2] || !guest[3])
		goto bail;

	tap_run("/xenbus/connect_and_close", test_connect_and_close);
	tap_run("/xenbus/reconnect", test_reconnect);
	tap_run("/xenbus/frontend_skips_states", test_frontend_skips_states);
	tap_run("/xenbus/merged_events", test_merged_events);
	tap_run("/xenbus/vanished_frontend", test_vanished_frontend);
	tap_run("/xenbus/fatal_one_of_two", test_fatal_one_of_two);
	tap_run("/xenbus/probe_failure", test_probe_failure);
	tap_run("/xenbus/hotplug_gating", test_hotplug_gating);
	tap_run("/xenbus/toolstack_removal", test_toolstack_removal);
	tap_run("/xenbus/toolstack_removal_after_close", test_toolstack_removal_after_close);
	tap_run("/xenbus/invalid_frontend", test_invalid_frontend);
	tap_run("/xenbus/limits", test_limits);
	tap_run("/xenbus/more_devices_than_watches", test_more_devices_than_watches);
	tap_run("/xenbus/node_quota", test_node_quota);
	tap_run("/xenbus/reattach", test_reattach);
	tap_run("/xenbus/hostile_frontend_state", test_hostile_frontend_state);
	tap_run("/xenbus/online_late", test_online_late);
	tap_run("/xenbus/reannounce", test_reannounce);
	tap_run("/xenbus/backend_removed_while_connected", test_backend_removed_while_connected);
	tap_run("/xenbus/driver_fatal_in_connect", test_driver_fatal_in_connect);
	tap_run("/xenbus/close_reason_and_slow_hook", test_close_reason_and_slow_hook);
	tap_run("/xenbus/recreated_while_closed", test_recreated_while_closed);
	tap_run("/xenbus/walk_writes_every_state", test_walk_writes_every_state);

	if (bus)
		xb_bus_free(bus);
	loop_free(loop);
	xs_close(guest[2]);
	xs_close(guest[3]);
	xs_close(be);
	xs_close(ts);
	xsd_stop(&xsd);
	return tap_done();
bail:
	printf("Bail out! xenstore setup failed: %s\n", strerror(errno));
	xsd_stop(&xsd);
	return 1;
}
