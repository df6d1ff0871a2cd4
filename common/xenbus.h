/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backend device lifecycle, for any device type (vbd, qdisk, vif ...).
 *
 * A bus sets one xenstore watch, on /local/domain (xenstored sends it only
 * what the driver domain may read: its own tree and its guests' frontend
 * directories), discovers devices backend/<type>/<frontend-domid>/<devid>
 * for each registered driver (at start and by watch), follows each
 * frontend's `state`, and drives the backend's XenbusState machine by the
 * shortest legal path:
 *
 *   Initialising(1) --probe ok--> InitWait(2) --frontend Initialised(3) or
 *   Connected(4), hotplug-status=connected if `script` is set, online=1,
 *   connect ok--> Connected(4) --frontend Closing(5)/Closed(6), vanished, or
 *   toolstack online=0--> Closing(5) --> Closed(6)
 *   Closed(6) --frontend back to Initialising(1)--> InitWait(2)  (reconnect)
 *   Closed(6) with online=0, or the backend directory removed --> removed
 *
 * Devices are independent: a driver callback that fails, or xb_dev_fatal,
 * closes just that device and writes its `error` node.
 *
 * Everything here runs on the loop thread and is not thread-safe. Data-path
 * threads report trouble to the loop thread through an fd of their own.
 * Callbacks may call xb_dev_fatal; a device is freed only after the current
 * dispatch round (loop_defer), never under a callback.
 */
#ifndef DDOM_XENBUS_H
#define DDOM_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <xen/xen.h>
#include <xen/io/xenbus.h>

struct json;
struct loop;
struct xs_handle;
struct xb_bus;
struct xb_device;

struct xb_driver {
	const char *type;	/* backend directory name: "vbd", "qdisk", "vif" ... */
	void *opaque;		/* the daemon's context, given back by xb_dev_driver_opaque */
	/*
	 * A new device: read and check the toolstack's nodes, allocate the
	 * driver state (xb_dev_set_priv), write the feature nodes the frontend
	 * reads before it initialises. 0: the device goes to InitWait.
	 * -errno: error node, device Closed.
	 */
	int (*probe)(struct xb_device *d);
	/*
	 * The frontend is Initialised or Connected, the hotplug script (if
	 * any) said connected, the device is online: read the frontend's
	 * nodes, map rings, start the data path, write what the frontend reads
	 * at Connected. 0: the device goes Connected. -errno: disconnect is
	 * called, error node written, device Closed.
	 */
	int (*connect)(struct xb_device *d);
	/* Stop the data path and unmap. Idempotent, safe on a half-connect. */
	void (*disconnect)(struct xb_device *d);
	/* The device goes away: free the driver state. disconnect ran first. */
	void (*remove)(struct xb_device *d);
	/*
	 * Optional: a node directly under the backend directory changed
	 * (`node` is the name relative to it, e.g. "params"). Watch events
	 * are merged and may be spurious: re-read what matters.
	 */
	void (*backend_changed)(struct xb_device *d, const char *node);

	/* ---- optional, added after the first contract ---- */
	/*
	 * The frontend's directory name under /local/domain/<id>/device/ when
	 * it cannot be derived from `type` (vbd, qdisk, vbd3 -> vbd; vif ->
	 * vif). NULL: derived; xb_bus_new fails with -EINVAL for other types.
	 */
	const char *frontend_type;
	/*
	 * A daemon restart found the device Connected with the frontend
	 * Connected: re-map and resume without cycling the frontend (probe ran
	 * first). 0: the device stays Connected, with no state written.
	 * -errno: as a failed connect. NULL: such a device is closed (Connected
	 * -> Closing -> Closed) and the frontend has to reconnect.
	 */
	int (*reattach)(struct xb_device *d);
	/*
	 * Optional: a node of the frontend's directory changed while the
	 * device is Connected (`node` relative to it, e.g.
	 * "request-multicast-control"; never "state"). Without it, only
	 * events on the frontend's `state` (or its directory's removal) reach
	 * the device; either way the frontend's state is re-read on every one.
	 * Events may be spurious.
	 */
	void (*frontend_changed)(struct xb_device *d, const char *node);
};

/* Creates the bus; the bus does not own loop or xs. */
int xb_bus_new(struct loop *l, struct xs_handle *xs, domid_t self,
	       const struct xb_driver *const *drivers, size_t ndrivers, struct xb_bus **ret);
/*
 * Bounds on the devices tracked: in total and per frontend domain, so the
 * toolstack's view of a guest cannot make us allocate without bound.
 * Devices beyond them are ignored (rate-limited log) until a slot frees and
 * a later event rescans. 0 keeps the current value. Defaults:
 * XB_DEFAULT_MAX_DEVICES, XB_DEFAULT_MAX_PER_DOMAIN.
 */
/*
 * A device costs no xenstore watch: the bus has one in all (xenbus.c), so
 * xenstored's watch quota (128 per domain) bounds nothing here. A device
 * beyond a bound gets an `error` node naming the setting to raise, a
 * journal line and a place in xb_bus_status; it is served when a device
 * goes and a slot frees.
 */
#define XB_DEFAULT_MAX_DEVICES 512
#define XB_DEFAULT_MAX_PER_DOMAIN 32
void xb_bus_set_limits(struct xb_bus *b, unsigned max_devices, unsigned max_per_domain);
/* "devices: N, max-devices M, ..., refused R" and the last refusal (text). */
void xb_bus_status(const struct xb_bus *b, FILE *out);
/* The same as a "bus" object (docs/ddomctl.md). */
void xb_bus_status_json(const struct xb_bus *b, struct json *j);
/* Registers the watches and scans what exists now. */
int xb_bus_start(struct xb_bus *b);
/* Disconnects and removes every device (backend nodes left as they are). */
void xb_bus_free(struct xb_bus *b);
unsigned xb_bus_count(const struct xb_bus *b, enum xenbus_state state);
/* "Initialising" ... "Reconfigured", "Unknown", or "INVALID". */
const char *xb_state_name(enum xenbus_state state);

/* Accessors: valid for the device's lifetime. */
const char *xb_dev_type(const struct xb_device *d);
const char *xb_dev_backend_path(const struct xb_device *d);   /* .../backend/vbd/5/51712 */
const char *xb_dev_frontend_path(const struct xb_device *d);  /* /local/domain/5/device/vbd/51712 */
domid_t xb_dev_frontend_id(const struct xb_device *d);
unsigned xb_dev_devid(const struct xb_device *d);
const char *xb_dev_name(const struct xb_device *d);	/* "vbd 5/51712", for log prefixes */
enum xenbus_state xb_dev_state(const struct xb_device *d);
enum xenbus_state xb_dev_frontend_state(const struct xb_device *d);
struct xs_handle *xb_dev_xs(const struct xb_device *d);
struct loop *xb_dev_loop(const struct xb_device *d);
void *xb_dev_driver_opaque(const struct xb_device *d);
void *xb_dev_priv(const struct xb_device *d);
void xb_dev_set_priv(struct xb_device *d, void *priv);
/*
 * The text of the last error node this daemon wrote for the device
 * ("<errno> <message>", xb_dev_fatal), or NULL. Kept, as the node is,
 * after a reconnect; for status reports (ddomctl).
 */
const char *xb_dev_error(const struct xb_device *d);
/*
 * The members every device's status-json object starts with (the caller
 * opened the object): kind, type, domid, devid, name, backend, frontend,
 * state, state_code, frontend_state, frontend_state_code, error
 * (docs/ddomctl.md).
 */
struct json;
void xb_dev_status_json(const struct xb_device *d, const char *kind, struct json *j);

/*
 * Fatal device error (as Linux's xenbus_dev_fatal): logs, writes
 * "<-r> <message>" to the backend's `error` node, disconnects, and moves the
 * device to Closing then Closed. Returns r.
 */
int xb_dev_fatal(struct xb_device *d, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Re-announce Connected after changing nodes the frontend reads there (online
 * resize: Linux blkback rewrites `sectors` and `state` in one transaction).
 * `node`/`value` are written in the same transaction as `state`.
 */
int xb_dev_reannounce(struct xb_device *d, const char *node, const char *value);

#endif
