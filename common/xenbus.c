// SPDX-License-Identifier: GPL-2.0-only
/*
 * The backend device lifecycle (xenbus.h): discovery under
 * /local/domain/<self>/backend/<type>, the XenbusState machine, hotplug and
 * online gating, error nodes, teardown and reconnect.
 *
 * Model: every watch event for a device (its frontend's `state` or
 * directory, or anything under its backend directory) funnels into one place
 * that re-reads every node that matters and then walks the backend state
 * towards the target computed from what it read. Events carry no value and
 * may be spurious, and a frontend may pass through several states between two
 * reads (Linux drivers/block/xen-blkback/xenbus.c, frontend_changed, makes
 * the same point for Initialised/Connected); re-reading makes all of that
 * harmless: the walk depends on the current values only, plus a few latched
 * facts (fatal, probed, connected, whether the frontend acknowledged our
 * close).
 *
 * Xen's user-space backend tools/9pfsd/xen-9pfsd.c has the same shape
 * (scan backend/<type>, the frontend's state re-read on every event, a
 * missing one taken as Closed); we differ in parsing every value strictly
 * (it uses strtoul, which takes " +1"), bounding the device count, keeping
 * state per bus, not in globals, and in the watches.
 *
 * One watch for the whole bus, on /local/domain. xen-9pfsd, Linux's xenbus
 * (xenbus_watch_otherend) and our first version set one watch per device on
 * the frontend's state, and an unprivileged driver domain has 128 watches
 * (xenstored quota-nb-watch-per-domain): 120 devices was our ceiling, for
 * both daemons together. xenstored sends a watch event only to a
 * connection that may read the changed node or its parent (XSA-115;
 * tools/xenstored/watch.c watch_permitted), and what a driver domain may
 * read under /local/domain is its own tree and the frontend directories the
 * toolstack gave it (libxl: the frontend's nodes are readable by the
 * backend domain); everything else is filtered out by xenstored. Events are
 * routed by path: /local/domain/<self>/backend/<type>/... to the driver,
 * /local/domain/<feid>/device/<fetype>/<devid>[/...] to that device, an
 * ancestor of a device's directory to every device below it. Real
 * xenstored queues every event (it never merges two), so an event still
 * names its device. What a recursive watch does not see: xenstored removes
 * a subtree with one recursive event at its root and exact-only events
 * below (core.c delnode_sub), and a guest's /local/domain/<id> is not
 * readable by us; libxl removes each device's frontend directory on its
 * own before the domain's (libxl__device_destroy), and the backend
 * directory's removal reaches us in any case.
 *
 * Loop thread only. Nothing here exits or asserts on what the toolstack or a
 * guest wrote; every frontend value is parsed strictly (store.h). Devices
 * leave the bus list at once but are freed from a deferred call, never
 * under a callback. Allocation happens on discovery only, bounded by the
 * device limits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "xenbus.h"

#define XB_TYPE_MAX 32		/* longest device type name we register */
#define XB_DEV_PATH_MAX 128	/* backend/frontend paths we build or accept */
#define XB_HOTPLUG_STATUS_MAX 32	/* "connected", "error"; anything longer is junk */
#define XB_ERROR_MAX 1024	/* error node text */
#define XB_STEP_MAX 12		/* state writes per walk: the longest path is 5 */
/* Domain ids a frontend may have: xen/xen.h, DOMID_FIRST_RESERVED. */
#define XB_DOMID_MAX (DOMID_FIRST_RESERVED - 1)
/* The highest XenbusState (xen/io/xenbus.h). */
#define XB_STATE_MAX XenbusStateReconfigured
/* The bus's one watch: every backend and frontend path we accept is below. */
#define XB_WATCH_ROOT "/local/domain"

struct xb_drv {
	const struct xb_driver *drv;
	struct xb_bus *bus;
	const char *fetype;
	char path[XB_DEV_PATH_MAX];	/* /local/domain/<self>/backend/<type> */
	size_t path_len;
};

struct xb_device {
	struct xb_device *next;
	struct xb_bus *bus;
	struct xb_drv *drv;
	domid_t feid;
	unsigned int devid;
	char name[XB_TYPE_MAX + 24];
	char bepath[XB_DEV_PATH_MAX];
	char fepath[XB_DEV_PATH_MAX];
	void *priv;
	struct log_ratelimit rl;
	char error[XB_ERROR_MAX + 16];	/* the error node's text as we last wrote it; "" none */

	enum xenbus_state state;	/* ours, as last written */
	enum xenbus_state fe_state;	/* as last read */
	enum xenbus_state node_state;	/* our `state` node as last read */
	enum xenbus_state fe_at_close;	/* frontend state when we went Closed */
	bool online;
	bool was_online;		/* online=1 was seen: a later 0 is a removal */
	bool script;			/* a hotplug script runs for this device */
	bool hotplug_ok;		/* hotplug-status = connected */
	bool hotplug_error;		/* hotplug-status = error */

	bool probed;			/* probe ran; remove is owed */
	bool connected;			/* connect was called; disconnect is owed */
	bool fatal;			/* closed by an error; reset by a reconnect */
	bool invalid;			/* frontend details invalid: never reopen */
	bool fe_seen;			/* the frontend's state node existed once */
	bool fe_ack;			/* the frontend moved since we closed */
	bool fe_restarted;		/* frontend re-initialised under Connected */
	bool stale;			/* found Connected, nobody to reattach it */
	bool in_step;
	bool dead;
};

struct xb_bus {
	struct loop *loop;
	struct xs_handle *xs;
	domid_t self;
	struct store_watcher *watcher;
	struct store_watch *watch;	/* the bus's one watch, on XB_WATCH_ROOT */
	struct xb_drv *drvs;
	size_t ndrvs;
	struct xb_device *devices;
	unsigned int ndevices;
	struct xb_device *zombies;	/* removed, freed by the deferred reaper */
	unsigned int max_devices;
	unsigned int max_per_domain;
	uint64_t refused;		/* devices not served: a bound reached */
	bool refused_waiting;		/* some may fit when a device goes */
	bool rescan_queued;		/* rescan_refused is deferred (refused or re-created devices) */
	char refused_last[XB_ERROR_MAX];	/* the latest one: which and why */
	struct log_ratelimit rl;
};

static void dev_step(struct xb_device *d);
static void scan_driver(struct xb_drv *drv);

const char *xb_state_name(enum xenbus_state state)
{
	static const char *const names[] = {
		[XenbusStateUnknown] = "Unknown",
		[XenbusStateInitialising] = "Initialising",
		[XenbusStateInitWait] = "InitWait",
		[XenbusStateInitialised] = "Initialised",
		[XenbusStateConnected] = "Connected",
		[XenbusStateClosing] = "Closing",
		[XenbusStateClosed] = "Closed",
		[XenbusStateReconfiguring] = "Reconfiguring",
		[XenbusStateReconfigured] = "Reconfigured",
	};

	if ((unsigned int)state < sizeof(names) / sizeof(names[0]))
		return names[state];
	return "INVALID";
}

/* ---- accessors ---- */

const char *xb_dev_type(const struct xb_device *d) { return d->drv->drv->type; }
const char *xb_dev_backend_path(const struct xb_device *d) { return d->bepath; }
const char *xb_dev_frontend_path(const struct xb_device *d) { return d->fepath; }
domid_t xb_dev_frontend_id(const struct xb_device *d) { return d->feid; }
unsigned xb_dev_devid(const struct xb_device *d) { return d->devid; }
const char *xb_dev_name(const struct xb_device *d) { return d->name; }
enum xenbus_state xb_dev_state(const struct xb_device *d) { return d->state; }
enum xenbus_state xb_dev_frontend_state(const struct xb_device *d) { return d->fe_state; }
struct xs_handle *xb_dev_xs(const struct xb_device *d) { return d->bus->xs; }
struct loop *xb_dev_loop(const struct xb_device *d) { return d->bus->loop; }
void *xb_dev_driver_opaque(const struct xb_device *d) { return d->drv->drv->opaque; }
void *xb_dev_priv(const struct xb_device *d) { return d->priv; }
void xb_dev_set_priv(struct xb_device *d, void *priv) { d->priv = priv; }
const char *xb_dev_error(const struct xb_device *d) { return d->error[0] ? d->error : NULL; }

/* ---- writes that never resurrect a removed directory ---- */

struct guarded_write {
	const char *guard;	/* must exist, or nothing is written (-ENOENT) */
	const char *path[2];
	const char *value[2];
};

static int guarded_write_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct guarded_write *w = arg;
	int r, i;

	r = store_exists(xs, t, w->guard);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	for (i = 0; i < 2 && w->path[i]; i++) {
		r = store_write(xs, t, w->path[i], w->value[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Our `state` node is written only while it exists, in a transaction, as
 * Linux's __xenbus_switch_state does (drivers/xen/xenbus/xenbus_client.c):
 * a removed device must not be re-created by a late write.
 */
static int write_state(struct xb_device *d, enum xenbus_state s, const char *node,
		       const char *value)
{
	char path[XB_DEV_PATH_MAX + 8], extra[XB_DEV_PATH_MAX + XENSTORE_REL_PATH_MAX];
	char val[4];
	struct guarded_write w = { .guard = path };
	int r;

	r = store_path(path, sizeof(path), "%s/state", d->bepath);
	if (r < 0)
		return r;
	snprintf(val, sizeof(val), "%d", (int)s);
	w.path[0] = path;
	w.value[0] = val;
	if (node) {
		r = store_path(extra, sizeof(extra), "%s/%s", d->bepath, node);
		if (r < 0)
			return r;
		/* The extra node first: the frontend reacts to `state`. */
		w.path[0] = extra;
		w.value[0] = value;
		w.path[1] = path;
		w.value[1] = val;
	}
	return store_txn(d->bus->xs, guarded_write_txn, &w);
}

static void dev_disconnect(struct xb_device *d);

/* ---- fatal errors ---- */

int xb_dev_fatal(struct xb_device *d, int r, const char *fmt, ...)
{
	char msg[XB_ERROR_MAX], text[XB_ERROR_MAX + 16], path[XB_DEV_PATH_MAX + 8];
	struct guarded_write w = { .guard = d->bepath, .path = { path }, .value = { text } };
	va_list ap;
	int wr;

	if (d->dead)
		return r;
	va_start(ap, fmt);
	wr = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * xenstored answers ENOSPC when the driver domain owns as many nodes as
	 * its quota allows (1000 by default: ~30 vbds of 31 nodes), and the error node then
	 * cannot be written either. Say what to do where it is still seen.
	 */
	if (r == -ENOSPC && wr >= 0 && (size_t)wr < sizeof(msg))
		snprintf(msg + wr, sizeof(msg) - (size_t)wr,
			 " (from xenstore, this is the driver domain's node quota: raise it in "
			 "dom0, docs/operator-guide.md \"xenstore quotas\")");
	log_rl(&d->rl, LOG_ERR, r, "%s: %s", d->name, msg);

	/*
	 * "<errno> <message>", as xenbus_va_dev_error formats it. Linux puts
	 * it in error/<backend path>/error under its own home; we write
	 * <backend path>/error, where the toolstack and operators look.
	 */
	snprintf(text, sizeof(text), "%d %s", r < 0 ? -r : r, msg);
	memcpy(d->error, text, sizeof(d->error));
	if (store_path(path, sizeof(path), "%s/error", d->bepath) == 0) {
		wr = store_txn(d->bus->xs, guarded_write_txn, &w);
		if (wr < 0 && wr != -ENOENT)
			log_debug_errno(wr, "%s: writing error node", d->name);
	}

	d->fatal = true;
	d->fe_ack = false;
	dev_disconnect(d);
	dev_step(d);	/* no-op inside a walk: the walk sees d->fatal */
	return r;
}

/* ---- reading the world ---- */

static bool fe_closed(enum xenbus_state f)
{
	return f == XenbusStateClosing || f == XenbusStateClosed || f == XenbusStateUnknown;
}

static bool fe_open(enum xenbus_state f)
{
	return f != XenbusStateUnknown && !fe_closed(f);
}

/*
 * After we closed: has the frontend answered, so that it may connect again?
 * It has if it closed too, or if it started over: open now after being
 * closed, or back in the handshake (Connected at our close, Initialising
 * now). A frontend that only moved on in its handshake (Initialised at our
 * close, Connected now: it wrote Connected on our Connected before it saw
 * our Closing) has not seen the close yet; reopening for it would connect
 * the ring the close was about again, and its Closing, when it comes, would
 * find us Connected. The handshake states are ordered 1 < 2 < 3 < 4 (xenbus.h).
 */
static bool fe_answered_close(const struct xb_device *d)
{
	if (!d->fe_seen)
		return false;
	if (fe_closed(d->fe_state) || fe_closed(d->fe_at_close))
		return true;	/* closed now, or open again after being closed */
	return d->fe_state < d->fe_at_close;
}

static int read_node_uint(struct xb_device *d, const char *node, uint64_t max, uint64_t def,
			  uint64_t *ret)
{
	char path[XB_DEV_PATH_MAX + XENSTORE_REL_PATH_MAX];
	int r;

	r = store_path(path, sizeof(path), "%s/%s", d->bepath, node);
	if (r < 0)
		return r;
	return store_read_uint(d->bus->xs, XBT_NULL, path, max, def, ret);
}

/* The frontend's state: hostile. Junk is a protocol violation. */
static int read_frontend_state(struct xb_device *d)
{
	char path[XB_DEV_PATH_MAX + 8];
	uint64_t v;
	int r;

	if (d->invalid)
		return 0;
	r = store_path(path, sizeof(path), "%s/state", d->fepath);
	if (r < 0)
		return r;
	r = store_read_uint(d->bus->xs, XBT_NULL, path, XB_STATE_MAX, STORE_NO_DEFAULT, &v);
	/*
	 * Gone. A removed node reads EACCES rather than ENOENT when we may
	 * not read its parent (xenstored checks a missing node against its
	 * ancestors; libxl makes /local/domain/<id>/device the guest's own).
	 * A guest that hides its state node from us just looks gone.
	 */
	if (r == -ENOENT || r == -EACCES) {
		d->fe_state = XenbusStateUnknown;
		return 0;
	}
	if (r == -EINVAL || r == -ERANGE) {
		if (!d->fatal)
			xb_dev_fatal(d, -EPROTO, "frontend state invalid (%s)", strerror(-r));
		d->fe_state = XenbusStateUnknown;
		return 0;
	}
	if (r < 0)	/* our connection's trouble, not the guest's: keep the last value */
		return log_rl(&d->rl, LOG_WARNING, r, "%s: reading %s", d->name, path);
	d->fe_state = (enum xenbus_state)v;
	d->fe_seen = true;
	return 0;
}

static void read_hotplug(struct xb_device *d)
{
	char path[XB_DEV_PATH_MAX + 16], hs[XB_HOTPLUG_STATUS_MAX];
	int r;

	r = store_path(path, sizeof(path), "%s/script", d->bepath);
	d->script = r == 0 && store_exists(d->bus->xs, XBT_NULL, path) == 1;
	r = store_path(path, sizeof(path), "%s/hotplug-status", d->bepath);
	if (r == 0)
		r = store_read_buf(d->bus->xs, XBT_NULL, path, hs, sizeof(hs));
	d->hotplug_ok = r >= 0 && strcmp(hs, "connected") == 0;
	d->hotplug_error = d->script && r >= 0 && strcmp(hs, "error") == 0;
}

/*
 * Re-reads everything the walk depends on. -ENOENT: the backend directory
 * is gone (the toolstack removed the device).
 */
static int dev_refresh(struct xb_device *d)
{
	uint64_t v;
	int r;

	r = store_exists(d->bus->xs, XBT_NULL, d->bepath);
	if (r == 0)
		return -ENOENT;
	/*
	 * Toolstack nodes: missing online means offline (xenbus_dev_is_online).
	 * A read that fails otherwise is our connection's trouble: the last
	 * value stands (closing a guest's device over it would be ours).
	 */
	r = read_node_uint(d, "online", 1, 0, &v);
	if (r == 0)
		d->online = v == 1;
	else if (r != -EACCES)
		log_rl(&d->rl, LOG_WARNING, r, "%s: reading online", d->name);
	else
		d->online = false;
	d->was_online |= d->online;
	d->node_state = XenbusStateUnknown;
	if (read_node_uint(d, "state", XB_STATE_MAX, STORE_NO_DEFAULT, &v) == 0)
		d->node_state = (enum xenbus_state)v;
	/*
	 * Closed, and our state node reads Initialising, which we never write:
	 * the toolstack removed the device (it waits for our Closed) and
	 * created it anew between two of our reads, so the directory was never
	 * seen gone. That is a new device: the old one goes, and a rescan finds
	 * this one and probes it afresh (its feature nodes are not there any
	 * more; reopening the old one served a re-attached disk without them).
	 */
	if (d->state == XenbusStateClosed && d->node_state == XenbusStateInitialising)
		return -ESTALE;
	read_hotplug(d);
	read_frontend_state(d);

	if (d->state == XenbusStateClosed && fe_answered_close(d))
		d->fe_ack = true;
	if (d->hotplug_error && !d->fatal && d->state != XenbusStateClosed)
		xb_dev_fatal(d, -EIO, "hotplug script reported an error");
	return 0;
}

/* ---- the state machine ---- */

/*
 * Backend states and the transitions we make (each arrow is one write of
 * our `state` node; Linux drivers/net/xen-netback/xenbus.c,
 * set_backend_state, walks the same graph):
 *
 *   Initialising(1) ---------------------------------------+
 *        |                                                 |
 *        | probe ok                                        |
 *        v          frontend Initialised/Connected,        |
 *   InitWait(2) --- online, hotplug ok, connect ok ---> Connected(4)
 *        |      ^                                          |
 *        |      | frontend Initialising again (reconnect)  | frontend Closing/Closed/
 *        |      |                                          | gone, online=0, toolstack
 *        |   Closed(6) <-------- Closing(5) <--------------+ state=5, fatal error
 *        |                          ^
 *        +--------------------------+  (closing before ever connecting)
 *   Initialising -> Closed directly when a device fails before InitWait.
 *
 * The walk goes to the target by the shortest path, writing every state on
 * the way: Connected -> InitWait (the frontend re-initialised under us,
 * its Closed hidden by merged events) writes Closing, Closed, InitWait.
 * Unlike Linux blkback we do not hold Closing until the frontend closes: a
 * backend-side close goes on to Closed at once, so a guest that never
 * answers cannot stall the toolstack's removal (libxl waits for 6).
 */
static enum xenbus_state next_hop(enum xenbus_state from, enum xenbus_state to)
{
	switch (from) {
	case XenbusStateInitialising:
		return to == XenbusStateClosed ? XenbusStateClosed : XenbusStateInitWait;
	case XenbusStateInitWait:
		return to == XenbusStateConnected ? XenbusStateConnected : XenbusStateClosing;
	case XenbusStateConnected:
		return XenbusStateClosing;
	case XenbusStateClosing:
		return XenbusStateClosed;
	case XenbusStateClosed:
		return XenbusStateInitWait;
	default:
		return XenbusStateClosed;
	}
}

/* Why the device must close, or NULL (a reason an operator can read). */
static const char *close_reason(const struct xb_device *d)
{
	/*
	 * online=0 closes only after online=1 was seen: a toolstack that
	 * writes the nodes one by one has not said "online" yet, and an
	 * offline device that never connected just waits in InitWait.
	 */
	if (d->fatal)
		return "an error";
	if (d->invalid)
		return "invalid frontend nodes";
	if (d->stale)
		return "a stale connection";
	if (!d->online && d->was_online)
		return "online=0";
	if (d->hotplug_error)
		return "the hotplug script failed";
	if (d->node_state == XenbusStateClosing && d->state != XenbusStateClosing)
		return "the toolstack wrote state Closing";
	if (d->fe_state == XenbusStateClosing || d->fe_state == XenbusStateClosed)
		return "the frontend closed";
	if (d->fe_state == XenbusStateUnknown && d->fe_seen)
		return "the frontend's state node is gone";
	return NULL;
}

static bool want_close(const struct xb_device *d)
{
	const char *why = close_reason(d);

	if (why && d->state == XenbusStateConnected)
		log_info("%s: closing: %s", d->name, why);
	return why != NULL;
}

static bool can_connect(const struct xb_device *d)
{
	return d->probed && d->online && (!d->script || d->hotplug_ok) &&
	       (d->fe_state == XenbusStateInitialised || d->fe_state == XenbusStateConnected);
}

static bool can_reopen(const struct xb_device *d)
{
	return (d->fe_ack || d->fe_restarted) && fe_open(d->fe_state) && d->online &&
	       !d->invalid && !d->hotplug_error && d->node_state != XenbusStateClosing;
}

static enum xenbus_state dev_target(struct xb_device *d)
{
	switch (d->state) {
	case XenbusStateClosed:
		return can_reopen(d) ? XenbusStateInitWait : XenbusStateClosed;
	case XenbusStateClosing:
		return XenbusStateClosed;
	case XenbusStateConnected:
		if (want_close(d))
			return XenbusStateClosed;
		if (d->fe_state == XenbusStateInitialising || d->fe_state == XenbusStateInitWait) {
			d->fe_restarted = true;
			return XenbusStateInitWait;
		}
		return XenbusStateConnected;
	default:
		if (want_close(d))
			return XenbusStateClosed;
		return can_connect(d) ? XenbusStateConnected : XenbusStateInitWait;
	}
}

static int dev_probe(struct xb_device *d)
{
	int r;

	r = d->drv->drv->probe(d);
	if (r < 0 || d->fatal) {
		if (!d->fatal)
			xb_dev_fatal(d, r, "probe failed");
		return r < 0 ? r : -EIO;
	}
	d->probed = true;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * A driver's connect or disconnect runs on the loop thread: while it runs,
 * no other device moves. One that takes long (a store that hangs on close,
 * a data-path thread that does not answer) is said, so that devices
 * waiting on it are explained.
 */
#define XB_SLOW_HOOK_MS 1000
static void slow_hook(const struct xb_device *d, const char *what, uint64_t t0)
{
	uint64_t ms = mono_ms() - t0;

	if (ms >= XB_SLOW_HOOK_MS)
		log_warn("%s: %s took %llu ms (no other device moved meanwhile)", d->name, what,
			 (unsigned long long)ms);
}

static int dev_connect(struct xb_device *d)
{
	uint64_t t0 = mono_ms();
	int r;

	d->connected = true;	/* a half-connect still owes a disconnect */
	r = d->drv->drv->connect(d);
	slow_hook(d, "connecting", t0);
	if (r < 0 || d->fatal) {
		if (!d->fatal)
			xb_dev_fatal(d, r, "connect failed");
		return r < 0 ? r : -EIO;
	}
	return 0;
}

static void dev_disconnect(struct xb_device *d)
{
	uint64_t t0 = mono_ms();

	if (!d->connected)
		return;
	d->connected = false;
	d->drv->drv->disconnect(d);
	slow_hook(d, "disconnecting", t0);
}

/* Side effects of entering `next`; < 0 when the hop must not be written. */
static int dev_enter(struct xb_device *d, enum xenbus_state next)
{
	switch (next) {
	case XenbusStateInitWait:
		if (d->state == XenbusStateClosed) {
			/* A reconnect: forget the previous session's failure. */
			d->fatal = false;
			d->stale = false;
			d->fe_ack = false;
			d->fe_restarted = false;
		}
		return d->probed ? 0 : dev_probe(d);
	case XenbusStateConnected:
		return dev_connect(d);
	case XenbusStateClosing:
	case XenbusStateClosed:
		dev_disconnect(d);
		if (next == XenbusStateClosed) {
			d->fe_at_close = d->fe_state;
			d->fe_ack = d->fe_seen && fe_closed(d->fe_state);
		}
		return 0;
	default:
		return 0;
	}
}

static void dev_step(struct xb_device *d)
{
	int i, r;

	if (d->dead || d->in_step)
		return;
	d->in_step = true;
	for (i = 0; i < XB_STEP_MAX; i++) {
		enum xenbus_state target = dev_target(d), next;

		if (target == d->state)
			break;
		next = next_hop(d->state, target);
		if (dev_enter(d, next) < 0)
			continue;	/* d->fatal is set: the next target is Closed */
		r = write_state(d, next, NULL, NULL);
		if (r == -ENOENT) {
			/* directory going away: removal follows */
			log_debug("%s: no state node to write %s", d->name,
			       xb_state_name(next));
			break;
		}
		if (r < 0)
			log_rl(&d->rl, LOG_WARNING, r, "%s: writing state %s", d->name,
			       xb_state_name(next));
		log_rl(&d->rl, LOG_INFO, 0, "%s: %s -> %s (frontend %s)", d->name,
		       xb_state_name(d->state), xb_state_name(next), xb_state_name(d->fe_state));
		d->state = next;
		d->node_state = next;
	}
	/*
	 * The toolstack wrote Closing over our Closed (libxl's removal writes
	 * online=0 and state=5, then waits for 6): say Closed again.
	 */
	if (d->state == XenbusStateClosed && d->node_state == XenbusStateClosing &&
	    write_state(d, XenbusStateClosed, NULL, NULL) == 0)
		d->node_state = XenbusStateClosed;
	d->in_step = false;
}

/* ---- device lifetime ---- */

static void reap_zombies(struct loop *l, void *opaque)
{
	struct xb_bus *b = opaque;

	(void)l;
	while (b->zombies) {
		struct xb_device *d = b->zombies;

		b->zombies = d->next;
		free(d);
	}
}

/* A device went: devices refused for a bound may fit now. */
static void rescan_refused(struct loop *l, void *opaque)
{
	struct xb_bus *b = opaque;

	(void)l;
	b->rescan_queued = false;
	b->refused_waiting = false;
	for (size_t i = 0; i < b->ndrvs; i++)
		scan_driver(&b->drvs[i]);
}

/* Disconnect, remove, unlink now; the memory goes after this round. */
static void dev_gone(struct xb_device *d)
{
	struct xb_bus *b = d->bus;
	struct xb_device **pp;

	if (d->dead)
		return;
	dev_disconnect(d);
	if (d->probed && d->drv->drv->remove)
		d->drv->drv->remove(d);
	d->probed = false;
	d->dead = true;
	for (pp = &b->devices; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	b->ndevices--;
	log_rl(&d->rl, LOG_INFO, 0, "%s: removed", d->name);
	if (b->refused_waiting && !b->rescan_queued && loop_defer(b->loop, rescan_refused, b) == 0)
		b->rescan_queued = true;
	if (!b->zombies && loop_defer(b->loop, reap_zombies, b) < 0) {
		free(d);	/* no deferred call possible: nothing refers to d now */
		return;
	}
	d->next = b->zombies;
	b->zombies = d;
}

static void dev_changed(struct xb_device *d)
{
	int r;

	if (d->dead)
		return;
	r = dev_refresh(d);
	if (r == -ENOENT || r == -ESTALE) {
		struct xb_bus *b = d->bus;

		dev_gone(d);
		if (r == -ESTALE && !b->rescan_queued && loop_defer(b->loop, rescan_refused, b) == 0)
			b->rescan_queued = true;
		return;
	}
	dev_step(d);
}

/* `path` is `dir` or below it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/*
 * An event at or below a device's frontend directory. A driver with
 * frontend_changed hears of every node; the others only of `state`, the
 * directory itself and its ancestors (a removal), so that a guest writing
 * its own other nodes costs us nothing. The state is re-read on every event
 * that gets through, whatever node it names.
 */
static void frontend_event(struct xb_device *d, const char *path)
{
	size_t n = strlen(d->fepath);
	const char *node = path + n + 1;

	if (path[n] == '/' && strcmp(node, "state")) {
		if (!d->drv->drv->frontend_changed)
			return;
		if (d->state == XenbusStateConnected && d->connected)
			d->drv->drv->frontend_changed(d, node);
	}
	dev_changed(d);
}

static struct xb_device *find_device(struct xb_drv *drv, domid_t feid, unsigned int devid)
{
	struct xb_device *d;

	for (d = drv->bus->devices; d; d = d->next)
		if (d->drv == drv && d->feid == feid && d->devid == devid)
			return d;
	return NULL;
}

static bool within_limits(struct xb_bus *b, domid_t feid)
{
	unsigned int n = 0;
	struct xb_device *d;

	if (b->ndevices >= b->max_devices)
		return false;
	for (d = b->devices; d; d = d->next)
		if (d->feid == feid)
			n++;
	return n < b->max_per_domain;
}

/*
 * The frontend details, read once at discovery (as Linux reads otherend
 * details at probe). The toolstack writes them; we still check them: the
 * frontend must be exactly /local/domain/<id>/device/<fetype>/<devid> of the
 * domain the backend directory names. -ENOENT: not written yet, wait.
 */
static int check_frontend(struct xb_device *d, char *why, size_t why_size)
{
	char path[XB_DEV_PATH_MAX + 16], expect[XB_DEV_PATH_MAX], got[XB_DEV_PATH_MAX];
	uint64_t id;
	int r;

	r = read_node_uint(d, "frontend-id", XB_DOMID_MAX, STORE_NO_DEFAULT, &id);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		snprintf(why, why_size, "frontend-id invalid");
		return -EINVAL;
	}
	r = store_path(path, sizeof(path), "%s/frontend", d->bepath);
	if (r == 0)
		r = store_read_buf(d->bus->xs, XBT_NULL, path, got, sizeof(got));
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		snprintf(why, why_size, "frontend path unreadable or too long");
		return -EINVAL;
	}
	snprintf(expect, sizeof(expect), "/local/domain/%u/device/%s/%u", d->feid,
		 d->drv->fetype, d->devid);
	if (id != d->feid || strcmp(got, expect) != 0) {
		snprintf(why, why_size, "frontend \"%.80s\" (id %llu) is not %s", got,
			 (unsigned long long)id, expect);
		return -EINVAL;
	}
	memcpy(d->fepath, expect, sizeof(expect));
	return 0;
}

/* Where a device found at start-up (or discovery) stands. */
static void dev_classify(struct xb_device *d)
{
	const struct xb_driver *drv = d->drv->drv;
	uint64_t v;

	/* No walk until the device's starting point is known. */
	d->in_step = true;
	dev_refresh(d);
	if (read_node_uint(d, "state", XB_STATE_MAX, STORE_NO_DEFAULT, &v) < 0)
		v = XenbusStateInitialising;
	switch (v) {
	case XenbusStateUnknown:
	case XenbusStateInitialising:
		d->state = XenbusStateInitialising;
		break;
	case XenbusStateInitWait:
		/* A previous run got this far: probe again, stay in InitWait. */
		d->state = XenbusStateInitWait;
		if (!d->fatal)
			dev_probe(d);
		break;
	case XenbusStateConnected:
		d->state = XenbusStateConnected;
		if (drv->reattach && d->fe_state == XenbusStateConnected && d->online &&
		    !d->fatal && dev_probe(d) == 0) {
			int r;

			d->connected = true;	/* a failed reattach owes a disconnect */
			r = drv->reattach(d);
			if (r < 0 && !d->fatal)
				xb_dev_fatal(d, r, "reattach failed");
		} else {
			/* The walk closes it: Connected -> Closing -> Closed. */
			d->stale = true;
		}
		break;
	default:
		/* Closing, Closed or junk from a previous run: settle Closed. */
		d->state = v == XenbusStateClosed ? XenbusStateClosed : XenbusStateClosing;
		d->fe_at_close = d->fe_state;
		d->fe_ack = true;
		break;
	}
	d->in_step = false;
}

/*
 * A device beyond a bound: said in the journal (rate-limited), in the
 * status, and in the device's own `error` node, each naming the setting to
 * raise, so that the toolstack's wait for InitWait is not a silent hang.
 * It is looked at again on its next event, or when it is re-created.
 */
static void dev_refuse(struct xb_drv *drv, domid_t feid, unsigned int devid)
{
	struct xb_bus *b = drv->bus;
	char path[XB_DEV_PATH_MAX + 8], dir[XB_DEV_PATH_MAX], text[XB_ERROR_MAX + 16];
	struct guarded_write w = { .guard = dir, .path = { path }, .value = { text } };
	bool total = b->ndevices >= b->max_devices;

	snprintf(b->refused_last, sizeof(b->refused_last),
		 "%s %u/%u not served: %u device(s)%s, the most this daemon takes (raise "
		 "%s in its config)",
		 drv->drv->type, feid, devid, total ? b->ndevices : b->max_per_domain,
		 total ? "" : " of this domain", total ? "max-devices" : "max-devices-per-domain");
	b->refused_waiting = true;
	snprintf(text, sizeof(text), "%d %s", ENOSPC, b->refused_last);
	if (store_path(dir, sizeof(dir), "%s/%u/%u", drv->path, feid, devid) < 0 ||
	    store_path(path, sizeof(path), "%s/error", dir) < 0)
		return;
	/*
	 * Every event of the device comes here again: count, log and write
	 * only what is new (a write would fire our own watch once more).
	 */
	{
		char old[sizeof(text)];

		if (store_read_buf(b->xs, XBT_NULL, path, old, sizeof(old)) >= 0 &&
		    !strcmp(old, text))
			return;
	}
	b->refused++;
	log_rl(&b->rl, LOG_WARNING, -ENOSPC, "%s", b->refused_last);
	store_txn(b->xs, guarded_write_txn, &w);
}

/* A device served after all: the error node of its refusal goes. */
static void unrefuse(struct xb_drv *drv, domid_t feid, unsigned int devid)
{
	char path[XB_DEV_PATH_MAX + 8], text[XB_ERROR_MAX + 16], mine[XB_TYPE_MAX + 64];

	if (!drv->bus->refused)
		return;
	snprintf(mine, sizeof(mine), "%d %s %u/%u not served: ", ENOSPC, drv->drv->type, feid,
		 devid);
	if (store_path(path, sizeof(path), "%s/%u/%u/error", drv->path, feid, devid) == 0 &&
	    store_read_buf(drv->bus->xs, XBT_NULL, path, text, sizeof(text)) >= 0 &&
	    !strncmp(text, mine, strlen(mine)))
		store_rm(drv->bus->xs, XBT_NULL, path);
}

static void dev_try_create(struct xb_drv *drv, domid_t feid, unsigned int devid)
{
	struct xb_bus *b = drv->bus;
	char why[256];
	struct xb_device *d;
	int r;

	if (!within_limits(b, feid)) {
		dev_refuse(drv, feid, devid);
		return;
	}
	unrefuse(drv, feid, devid);
	d = calloc(1, sizeof(*d));
	if (!d) {
		log_rl(&b->rl, LOG_ERR, -ENOMEM, "%s %u/%u", drv->drv->type, feid, devid);
		return;
	}
	d->bus = b;
	d->drv = drv;
	d->feid = feid;
	d->devid = devid;
	d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5000, 20);
	d->state = XenbusStateInitialising;
	snprintf(d->name, sizeof(d->name), "%s %u/%u", drv->drv->type, feid, devid);
	if (store_path(d->bepath, sizeof(d->bepath), "%s/%u/%u", drv->path, feid, devid) < 0)
		goto err_free;
	if (store_exists(b->xs, XBT_NULL, d->bepath) != 1)
		goto err_free;	/* gone again */

	r = check_frontend(d, why, sizeof(why));
	if (r == -ENOENT)
		goto err_free;	/* the toolstack is still writing: a later event retries */

	d->next = b->devices;
	b->devices = d;
	b->ndevices++;
	log_rl(&d->rl, LOG_INFO, 0, "%s: found", d->name);

	if (r < 0) {
		d->invalid = true;
		xb_dev_fatal(d, r, "%s", why);
		return;
	}
	dev_classify(d);
	/* Events for it come through the bus's watch from now on. */
	dev_changed(d);
	return;

err_free:
	free(d);
}

/* ---- discovery ---- */

static void scan_domain(struct xb_drv *drv, domid_t feid)
{
	char path[XB_DEV_PATH_MAX + 8];
	unsigned int i, n = 0;
	char **ents;
	uint64_t devid;

	if (store_path(path, sizeof(path), "%s/%u", drv->path, feid) < 0 ||
	    store_directory(drv->bus->xs, XBT_NULL, path, &ents, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (store_parse_uint(ents[i], strlen(ents[i]), UINT32_MAX, &devid) < 0)
			continue;
		if (!find_device(drv, feid, (unsigned int)devid))
			dev_try_create(drv, feid, (unsigned int)devid);
	}
	free(ents);
}

static void scan_driver(struct xb_drv *drv)
{
	unsigned int i, n = 0;
	char **ents;
	uint64_t id;

	if (store_directory(drv->bus->xs, XBT_NULL, drv->path, &ents, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (store_parse_uint(ents[i], strlen(ents[i]), XB_DOMID_MAX, &id) == 0)
			scan_domain(drv, (domid_t)id);
	free(ents);
}

/* Lifecycle nodes: a change re-runs the walk, not backend_changed. */
static bool lifecycle_node(const char *node)
{
	static const char *const nodes[] = {
		"state", "online", "hotplug-status", "script", "frontend", "frontend-id", "error",
	};
	size_t i;

	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (strcmp(node, nodes[i]) == 0)
			return true;
	return false;
}

/* Parses "<decimal>" up to '/' or the end; returns the rest or NULL. */
static const char *path_uint(const char *p, uint64_t max, uint64_t *ret)
{
	size_t len = strcspn(p, "/");

	if (store_parse_uint(p, len, max, ret) < 0)
		return NULL;
	return p + len;
}

/*
 * Re-reads every device of `drv` (any driver: NULL) whose backend or
 * frontend directory is `path` or below it: the one event xenstored sends
 * for a removed subtree names its root. Devices removed on the way are
 * unlinked with their `next` intact (dev_gone), and nothing else is.
 */
static void refresh_under(struct xb_bus *b, const struct xb_drv *drv, const char *path)
{
	struct xb_device *d, *next;

	for (d = b->devices; d; d = next) {
		next = d->next;
		if ((!drv || d->drv == drv) &&
		    (path_within(d->bepath, path) || path_within(d->fepath, path)))
			dev_changed(d);
	}
}

/* Anything under /local/domain/<self>/backend/<type>. */
static void driver_watch(const char *path, struct xb_drv *drv)
{
	const char *rel = path + drv->path_len;
	uint64_t feid, devid;
	struct xb_device *d;

	if (!path_within(path, drv->path))
		return;	/* not ours, or a sibling such as backend/vbd3 seen from vbd */
	if (*rel == '\0') {
		refresh_under(drv->bus, drv, path);
		scan_driver(drv);
		return;
	}
	rel = path_uint(rel + 1, XB_DOMID_MAX, &feid);
	if (!rel)
		return;
	if (*rel == '\0') {
		/* A removed domain directory fires here only, not per device. */
		refresh_under(drv->bus, drv, path);
		scan_domain(drv, (domid_t)feid);
		return;
	}
	rel = path_uint(rel + 1, UINT32_MAX, &devid);
	if (!rel)
		return;
	d = find_device(drv, (domid_t)feid, (unsigned int)devid);
	if (!d) {
		dev_try_create(drv, (domid_t)feid, (unsigned int)devid);
		return;
	}
	if (*rel == '/' && !strchr(rel + 1, '/') && !lifecycle_node(rel + 1) &&
	    d->drv->drv->backend_changed && d->probed && !d->fatal) {
		d->drv->drv->backend_changed(d, rel + 1);
		return;
	}
	dev_changed(d);
}

/*
 * The bus's one watch (see the top of this file): routes an event by its
 * path. Paths we cannot parse are not ours: another daemon's devices, or
 * our own domain's other nodes.
 */
static void bus_watch(const char *path, void *opaque)
{
	struct xb_bus *b = opaque;
	const char *rel = path + strlen(XB_WATCH_ROOT);
	struct xb_device *d, *next;
	uint64_t id;
	size_t i;

	if (!path_within(path, XB_WATCH_ROOT))
		return;
	if (*rel == '\0') {
		/* The event every watch fires when set: look at what exists. */
		for (i = 0; i < b->ndrvs; i++)
			scan_driver(&b->drvs[i]);
		return;
	}
	if (!path_uint(rel + 1, XB_DOMID_MAX, &id))
		return;
	if (id == b->self) {
		for (i = 0; i < b->ndrvs; i++) {
			if (path_within(path, b->drvs[i].path))
				driver_watch(path, &b->drvs[i]);
			else if (path_within(b->drvs[i].path, path))
				/* an ancestor of backend/<type>: removed, or made */
				driver_watch(b->drvs[i].path, &b->drvs[i]);
		}
		/* and on: a backend may serve its own domain (xl block-attach 0) */
	}
	for (d = b->devices; d; d = next) {
		next = d->next;
		if (d->feid != (domid_t)id)
			continue;
		if (path_within(path, d->fepath))
			frontend_event(d, path);
		else if (path_within(d->fepath, path))
			dev_changed(d);
	}
}

/* ---- the bus ---- */

static const char *derive_fetype(const struct xb_driver *drv)
{
	if (drv->frontend_type)
		return drv->frontend_type;
	if (!strcmp(drv->type, "vbd") || !strcmp(drv->type, "qdisk") || !strcmp(drv->type, "vbd3"))
		return "vbd";
	if (!strcmp(drv->type, "vif"))
		return "vif";
	return NULL;
}

int xb_bus_new(struct loop *l, struct xs_handle *xs, domid_t self,
	       const struct xb_driver *const *drivers, size_t ndrivers, struct xb_bus **ret)
{
	struct xb_bus *b;
	size_t i;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->drvs = calloc(ndrivers ? ndrivers : 1, sizeof(*b->drvs));
	if (!b->drvs) {
		r = -ENOMEM;
		goto err;
	}
	b->loop = l;
	b->xs = xs;
	b->self = self;
	b->ndrvs = ndrivers;
	b->max_devices = XB_DEFAULT_MAX_DEVICES;
	b->max_per_domain = XB_DEFAULT_MAX_PER_DOMAIN;
	b->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5000, 10);
	for (i = 0; i < ndrivers; i++) {
		const struct xb_driver *drv = drivers[i];
		struct xb_drv *bd = &b->drvs[i];

		r = -EINVAL;
		if (!drv || !drv->type || strlen(drv->type) >= XB_TYPE_MAX || !drv->probe ||
		    !drv->connect || !drv->disconnect || !(bd->fetype = derive_fetype(drv)))
			goto err;
		bd->drv = drv;
		bd->bus = b;
		r = store_path(bd->path, sizeof(bd->path), "/local/domain/%u/backend/%s", self,
			       drv->type);
		if (r < 0)
			goto err;
		bd->path_len = strlen(bd->path);
	}
	r = store_watcher_new(l, xs, &b->watcher);
	if (r < 0)
		goto err;
	*ret = b;
	return 0;
err:
	free(b->drvs);
	free(b);
	return r;
}

void xb_bus_set_limits(struct xb_bus *b, unsigned max_devices, unsigned max_per_domain)
{
	if (max_devices)
		b->max_devices = max_devices;
	if (max_per_domain)
		b->max_per_domain = max_per_domain;
}

int xb_bus_start(struct xb_bus *b)
{
	size_t i;
	int r;

	if (b->watch)
		return 0;
	r = store_watch(b->watcher, XB_WATCH_ROOT, bus_watch, b, &b->watch);
	if (r < 0)
		return log_err_errno(r, "watching %s", XB_WATCH_ROOT);
	for (i = 0; i < b->ndrvs; i++)
		scan_driver(&b->drvs[i]);
	return 0;
}

void xb_bus_free(struct xb_bus *b)
{
	if (!b)
		return;
	while (b->devices)
		dev_gone(b->devices);
	loop_defer_cancel(b->loop, reap_zombies, b);
	loop_defer_cancel(b->loop, rescan_refused, b);
	reap_zombies(b->loop, b);
	store_unwatch(b->watcher, b->watch);
	store_watcher_free(b->watcher);
	free(b->drvs);
	free(b);
}

unsigned xb_bus_count(const struct xb_bus *b, enum xenbus_state state)
{
	const struct xb_device *d;
	unsigned int n = 0;

	for (d = b->devices; d; d = d->next)
		if (d->state == state)
			n++;
	return n;
}

int xb_dev_reannounce(struct xb_device *d, const char *node, const char *value)
{
	if (d->dead || d->state != XenbusStateConnected)
		return -EINVAL;
	if (!node != !value)
		return -EINVAL;
	return write_state(d, XenbusStateConnected, node, value);
}

/* ---- status ---- */

void xb_bus_status(const struct xb_bus *b, FILE *out)
{
	fprintf(out, "devices: %u, max-devices %u, max-devices-per-domain %u, refused %" PRIu64
		"\n", b->ndevices, b->max_devices, b->max_per_domain, b->refused);
	if (b->refused)
		fprintf(out, "  last refused: %s\n", b->refused_last);
}

void xb_bus_status_json(const struct xb_bus *b, struct json *j)
{
	json_key(j, "bus");
	json_obj_begin(j);
	json_ku64(j, "devices", b->ndevices);
	json_ku64(j, "max_devices", b->max_devices);
	json_ku64(j, "max_devices_per_domain", b->max_per_domain);
	json_ku64(j, "refused", b->refused);
	json_kstr(j, "refused_last", b->refused ? b->refused_last : NULL);
	json_obj_end(j);
}

void xb_dev_status_json(const struct xb_device *d, const char *kind, struct json *j)
{
	json_kstr(j, "kind", kind);
	json_kstr(j, "type", xb_dev_type(d));
	json_ku64(j, "domid", d->feid);
	json_ku64(j, "devid", d->devid);
	json_kstr(j, "name", d->name);
	json_kstr(j, "backend", d->bepath);
	json_kstr(j, "frontend", d->fepath);
	json_kstr(j, "state", xb_state_name(d->state));
	json_ku64(j, "state_code", (uint64_t)d->state);
	json_kstr(j, "frontend_state", xb_state_name(d->fe_state));
	json_ku64(j, "frontend_state_code", (uint64_t)d->fe_state);
	json_kstr(j, "error", xb_dev_error(d));
}
