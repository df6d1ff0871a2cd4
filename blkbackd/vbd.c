// SPDX-License-Identifier: GPL-2.0-only
/*
 * vbd devices on the xenbus lifecycle (see vbd.h).
 *
 * probe:   writes what the frontend reads before it sets up its rings:
 *          max-ring-page-order, multi-queue-max-queues,
 *          feature-max-indirect-segments, feature-persistent.
 * connect: reads the frontend's protocol, queues and ring refs (as Linux
 *          xen-blkback's connect_ring / read_per_ring_refs), opens the store
 *          named by the hotplug script's physical-device-path,
 *          physical-device or the toolstack's params, writes sectors,
 *          sector-size, physical-sector-size, info and the feature-* nodes
 *          that depend on the store in one transaction, starts the queues.
 * resize:  on SIGHUP and on a rewrite of params, re-reads the size and, if
 *          it changed, rewrites sectors and re-announces Connected in one
 *          transaction (Linux xen_vbd_resize).
 * reattach: a restarted daemon found the device and its frontend Connected:
 *          as connect, but each queue resumes from its state file in the
 *          runtime directory (queue.h, qstate.h) and nothing the frontend
 *          reads is written, unless the store's size changed meanwhile
 *          (then as resize). A missing or stale state file fails it: the
 *          device is closed as after a failed connect.
 *
 * State files live from a connect (created fresh) to the device's close
 * (removed); a daemon that stops on SIGTERM keeps them, so a restart, e.g.
 * an upgrade, reattaches too.
 *
 * Loop thread only; never touches a ring. Failures of one device are
 * returned to xenbus.c, which closes just that device.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xen/io/protocols.h>

#include "json.h"
#include "log.h"
#include "loop.h"
#include "qstate.h"
#include "queue.h"
#include "store.h"
#include "vbd.h"

/* Frontend-supplied strings we accept (protocol names are short). */
#define PROTO_MAX 32
#define PARAMS_MAX 1024

struct vbd {
	struct blk_ctx *ctx;
	struct xb_device *dev;
	struct vbd *next, *prev;
	bool connected;
	char store_path[PARAMS_MAX];
	bool readonly, cdrom;
	struct blk_store *store;
	struct blk_store_info info;
	_Atomic uint64_t sectors;
	struct blk_limits lim;
	enum blk_abi abi;
	bool persistent;
	unsigned nqueues;
	unsigned ring_order;
	struct blk_queue *q[BLK_MAX_QUEUES_CAP];
	int fatal_fd;
	struct loop_source *fatal_src;
	uint64_t retired[BLK_CNT__MAX];	/* counters of earlier connections */
	unsigned reattaches;		/* restarts this vbd survived */
};

struct blk_ctx {
	struct blk_config cfg;
	const struct xen_ops *ops;
	struct xb_driver drv[3];
	struct vbd *vbds;
	unsigned connected;
	void (*on_change)(void *opaque);
	void *on_change_opaque;
	struct wk_pool *pool;		/* the queues' workers */
	char state_dir[PATH_MAX];	/* restart state files; "" = none */
	bool keep_state;		/* stopping: keep them for the next run */
};

static struct vbd *vbd_of(struct xb_device *d)
{
	return xb_dev_priv(d);
}

static struct blk_ctx *ctx_of(struct xb_device *d)
{
	return xb_dev_driver_opaque(d);
}

static void changed(struct blk_ctx *c)
{
	if (c->on_change)
		c->on_change(c->on_change_opaque);
}

/* --- xenstore helpers relative to the device --- */

static int be_path(struct xb_device *d, char *buf, size_t n, const char *node)
{
	return store_path(buf, n, "%s/%s", xb_dev_backend_path(d), node);
}

static int be_uint(struct xb_device *d, const char *node, uint64_t max, uint64_t def,
		   uint64_t *ret)
{
	char p[STORE_PATH_MAX];
	int r = be_path(d, p, sizeof(p), node);

	return r < 0 ? r : store_read_uint(xb_dev_xs(d), XBT_NULL, p, max, def, ret);
}

static int be_str(struct xb_device *d, const char *node, char *buf, size_t n)
{
	char p[STORE_PATH_MAX];
	int r = be_path(d, p, sizeof(p), node);

	return r < 0 ? r : store_read_buf(xb_dev_xs(d), XBT_NULL, p, buf, n);
}

static int fe_uint(struct xb_device *d, const char *node, uint64_t max, uint64_t def,
		   uint64_t *ret)
{
	char p[STORE_PATH_MAX];
	int r = store_path(p, sizeof(p), "%s/%s", xb_dev_frontend_path(d), node);

	return r < 0 ? r : store_read_uint(xb_dev_xs(d), XBT_NULL, p, max, def, ret);
}

/*
 * Writes <be>/<node> = printf(fmt, ...) in transaction t; the two
 * announcement transactions below use it through W() (which returns on
 * error from the calling function, whose `xs`, `t`, `be` and `r` it uses).
 */
static int __attribute__((format(printf, 5, 6)))
be_printf(struct xs_handle *xs, xs_transaction_t t, const char *be, const char *node,
	  const char *fmt, ...)
{
	char p[STORE_PATH_MAX], v[64];
	va_list ap;
	int r, n;

	r = store_path(p, sizeof(p), "%s/%s", be, node);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v))
		return -EINVAL;
	return store_write(xs, t, p, v);
}

#define W(node, fmt, val)                                                      \
	do {                                                                   \
		r = be_printf(xs, t, be, node, fmt, val);                      \
		if (r < 0)                                                     \
			return r;                                              \
	} while (0)

/* --- probe --- */

struct probe_args {
	struct xb_device *d;
	const struct blk_config *cfg;
};

static int write_probe_nodes(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct probe_args *a = arg;
	const char *be = xb_dev_backend_path(a->d);
	char p[STORE_PATH_MAX];
	int r;

	W("max-ring-page-order", "%u", a->cfg->max_ring_order);
	/* Deprecated max-ring-pages for old frontends (blkif.h note 2). */
	W("max-ring-pages", "%u", 1u << a->cfg->max_ring_order);
	W("multi-queue-max-queues", "%u", a->cfg->max_queues);
	W("feature-persistent", "%u", a->cfg->persistent_grants ? 1u : 0u);
	/* blkif.h: a backend without indirect must not create the node. */
	if (a->cfg->max_indirect)
		W("feature-max-indirect-segments", "%u", a->cfg->max_indirect);
	else {
		r = store_path(p, sizeof(p), "%s/feature-max-indirect-segments", be);
		if (!r)
			r = store_rm(xs, t, p);
		if (r < 0)
			return r;
	}
	return 0;
}

static int vbd_probe(struct xb_device *d)
{
	struct blk_ctx *c = ctx_of(d);
	struct probe_args a = { d, &c->cfg };
	struct vbd *v;
	int r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->ctx = c;
	v->dev = d;
	v->fatal_fd = -1;
	xb_dev_set_priv(d, v);
	v->next = c->vbds;
	if (c->vbds)
		c->vbds->prev = v;
	c->vbds = v;
	r = store_txn(xb_dev_xs(d), write_probe_nodes, &a);
	if (r < 0)
		return log_err_errno(r, "%s: cannot write the feature nodes", xb_dev_name(d));
	return 0;
}

/* --- the backing store --- */

/*
 * params may carry a format prefix ("aio:/img", "raw:/dev/x", as libxl
 * writes for qdisk and vbd3); only raw images are served.
 */
static const char *strip_format(const char *params)
{
	static const char *const raw[] = { "aio:", "raw:", "file:", "phy:" };
	size_t i;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		if (!strncmp(params, raw[i], strlen(raw[i])))
			return params + strlen(raw[i]);
	return params;
}

/* Where the data lives: the hotplug script's answer first, then params. */
static int find_store_path(struct xb_device *d, struct vbd *v)
{
	char buf[PARAMS_MAX];
	int r;

	r = be_str(d, "physical-device-path", buf, sizeof(buf));
	if (r > 0 && buf[0] == '/') {
		strcpy(v->store_path, buf);
		return 0;
	}
	r = be_str(d, "physical-device", buf, sizeof(buf));
	if (r > 0) {
		unsigned maj, min;
		char extra;

		/* "major:minor" in hex (docs/misc/block-scripts.txt). */
		if (sscanf(buf, "%x:%x%c", &maj, &min, &extra) != 2)
			return -EINVAL;
		snprintf(v->store_path, sizeof(v->store_path), "/dev/block/%u:%u", maj, min);
		return 0;
	}
	r = be_str(d, "params", buf, sizeof(buf));
	if (r < 0)
		return r;
	if (strip_format(buf)[0] != '/')
		return -EINVAL;
	strcpy(v->store_path, strip_format(buf));
	return 0;
}

static int open_store(struct xb_device *d, struct vbd *v)
{
	char mode[8] = "w", type[16] = "disk";
	int r;

	r = find_store_path(d, v);
	if (r < 0)
		return xb_dev_fatal(d, r, "no usable params/physical-device");
	if (be_str(d, "mode", mode, sizeof(mode)) < 0)
		strcpy(mode, "w");
	v->readonly = mode[0] == 'r';
	{
		char p[STORE_PATH_MAX];

		/* device-type is the frontend's node (blkif.h). */
		if (!store_path(p, sizeof(p), "%s/device-type", xb_dev_frontend_path(d)))
			if (store_read_buf(xb_dev_xs(d), XBT_NULL, p, type, sizeof(type)) < 0)
				strcpy(type, "disk");
	}
	v->cdrom = !strcmp(type, "cdrom");
	if (v->cdrom)
		v->readonly = true;
	r = blk_aio_open(v->store_path, v->readonly, &v->store);
	if (r < 0)
		return xb_dev_fatal(d, r, "cannot open %s", v->store_path);
	r = v->store->ops->query(v->store, &v->info);
	if (r < 0)
		return xb_dev_fatal(d, r, "cannot size %s", v->store_path);
	log_info("%s: %s, %" PRIu64 " bytes, sector %u/%u", xb_dev_name(d),
		 v->store->ops->describe(v->store), v->info.size, v->info.lss, v->info.pss);
	return 0;
}

/* --- connect --- */

static int read_ring(struct xb_device *d, struct vbd *v, unsigned qi, struct blk_queue_cfg *qc)
{
	char dir[STORE_PATH_MAX], node[STORE_PATH_MAX];
	uint64_t val;
	unsigned i;
	int r;

	if (v->nqueues == 1)
		r = store_path(dir, sizeof(dir), "%s", xb_dev_frontend_path(d));
	else
		r = store_path(dir, sizeof(dir), "%s/queue-%u", xb_dev_frontend_path(d), qi);
	if (r < 0)
		return r;
	r = store_path(node, sizeof(node), "%s/event-channel", dir);
	if (!r)
		r = store_read_uint(xb_dev_xs(d), XBT_NULL, node, UINT32_MAX, STORE_NO_DEFAULT,
				    &val);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading %s", node);
	qc->remote_port = (evtchn_port_t)val;
	for (i = 0; i < qc->nr_ring_pages; i++) {
		/* blkif.h note 6: ring-ref for one page, ring-ref%u for more. */
		if (v->ring_order == 0)
			r = store_path(node, sizeof(node), "%s/ring-ref", dir);
		else
			r = store_path(node, sizeof(node), "%s/ring-ref%u", dir, i);
		if (!r)
			r = store_read_uint(xb_dev_xs(d), XBT_NULL, node, UINT32_MAX,
					    STORE_NO_DEFAULT, &val);
		if (r < 0)
			return xb_dev_fatal(d, r, "reading %s", node);
		qc->ring_refs[i] = (grant_ref_t)val;
	}
	return 0;
}

static int read_frontend(struct xb_device *d, struct vbd *v)
{
	const struct blk_config *cfg = &v->ctx->cfg;
	char proto[PROTO_MAX], p[STORE_PATH_MAX];
	uint64_t val;
	bool large = false;
	int r;

	r = store_path(p, sizeof(p), "%s/protocol", xb_dev_frontend_path(d));
	if (!r)
		r = store_read_buf(xb_dev_xs(d), XBT_NULL, p, proto, sizeof(proto));
	if (r == -ENOENT)
		v->abi = BLK_ABI_NATIVE;
	else if (r < 0 || blk_abi_parse(proto, &v->abi) < 0)
		return xb_dev_fatal(d, r < 0 ? r : -EINVAL, "unknown protocol");
	/* multi-queue-num-queues: 1..multi-queue-max-queues (blkif.h);
	 * Linux connect_ring refuses 0 or more than the maximum too. */
	r = fe_uint(d, "multi-queue-num-queues", UINT32_MAX, 1, &val);
	if (r < 0 || val == 0 || val > cfg->max_queues)
		return xb_dev_fatal(d, r < 0 ? r : -EINVAL, "bad multi-queue-num-queues");
	v->nqueues = val;
	/* ring-page-order: at most our max-ring-page-order (blkif.h). */
	r = fe_uint(d, "ring-page-order", UINT32_MAX, 0, &val);
	if (r < 0 || val > cfg->max_ring_order)
		return xb_dev_fatal(d, r < 0 ? r : -EINVAL, "bad ring-page-order");
	v->ring_order = val;
	r = fe_uint(d, "feature-persistent", 1, 0, &val);
	v->persistent = r == 0 && val && cfg->persistent_grants;
	r = fe_uint(d, "feature-large-sector-size", 1, 0, &val);
	large = r == 0 && val;
	v->lim.unit_shift = 9;
	if (large)
		while ((1u << v->lim.unit_shift) < v->info.lss)
			v->lim.unit_shift++;
	return 0;
}

static void set_limits(struct vbd *v, bool discard_enable)
{
	const struct blk_config *cfg = &v->ctx->cfg;

	v->lim.lss = v->info.lss;
	v->lim.sectors = v->info.size >> v->lim.unit_shift;
	v->lim.max_indirect = cfg->max_indirect;
	v->lim.readonly = v->readonly;
	v->lim.flush = !v->readonly;
	v->lim.barrier = !v->readonly;
	v->lim.discard = !v->readonly && v->info.discard && discard_enable;
	v->lim.discard_secure = v->lim.discard && v->info.discard_secure;
	atomic_store(&v->sectors, v->lim.sectors);
}

static int write_connect_nodes(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct vbd *v = arg;
	const char *be = xb_dev_backend_path(v->dev);
	unsigned info = (v->readonly ? VDISK_READONLY : 0) |
			(v->cdrom ? VDISK_CDROM | VDISK_REMOVABLE : 0);
	int r;

	W("sectors", "%" PRIu64, v->lim.sectors);
	W("sector-size", "%u", 1u << v->lim.unit_shift);
	W("physical-sector-size", "%u", v->info.pss > (1u << v->lim.unit_shift) ?
					 v->info.pss : 1u << v->lim.unit_shift);
	W("info", "%u", info);
	W("feature-flush-cache", "%u", v->lim.flush ? 1u : 0u);
	W("feature-barrier", "%u", v->lim.barrier ? 1u : 0u);
	W("feature-discard", "%u", v->lim.discard ? 1u : 0u);
	if (v->lim.discard) {
		W("discard-granularity", "%u", v->info.discard_granularity);
		W("discard-alignment", "%u", 0u);
		W("discard-secure", "%u", v->lim.discard_secure ? 1u : 0u);
	}
	return 0;
}

static void on_fatal(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct vbd *v = opaque;
	const char *why = "ring protocol violation";
	uint64_t n;
	unsigned i;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (i = 0; i < v->nqueues; i++)
		if (v->q[i] && blk_queue_broken(v->q[i]))
			why = blk_queue_broken(v->q[i]);
	xb_dev_fatal(v->dev, -EPROTO, "%s", why);
}

/* <state_dir>/<kind>-<domid>-<devid>-q<N>.state */
static int state_path(const struct vbd *v, unsigned qi, char *buf, size_t n)
{
	const struct xb_device *d = v->dev;
	int len = snprintf(buf, n, "%s/%s-%u-%u-q%u.state", v->ctx->state_dir, xb_dev_type(d),
			   xb_dev_frontend_id(d), xb_dev_devid(d), qi);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static void remove_state(struct vbd *v)
{
	unsigned i, n = v->nqueues > v->ctx->cfg.max_queues ? v->nqueues : v->ctx->cfg.max_queues;
	char path[PATH_MAX];

	for (i = 0; v->ctx->state_dir[0] && i < n; i++)
		if (!state_path(v, i, path, sizeof(path)))
			unlink(path);
}

static int start_queues(struct xb_device *d, struct vbd *v, bool reattach)
{
	struct blk_queue_cfg qc;
	char name[96], path[PATH_MAX];
	unsigned i;
	int r;

	memset(&qc, 0, sizeof(qc));
	qc.ops = v->ctx->ops;
	qc.name = name;
	qc.domid = xb_dev_frontend_id(d);
	qc.abi = v->abi;
	qc.nr_ring_pages = 1u << v->ring_order;
	qc.persistent_max = v->persistent ? v->ctx->cfg.persistent_grants : 0;
	qc.limits = v->lim;
	qc.sectors = &v->sectors;
	qc.store = v->store;
	qc.fatal_fd = v->fatal_fd;
	qc.pool = v->ctx->pool;
	qc.poll_us = v->ctx->cfg.poll_us;
	qc.poll_io_us = v->ctx->cfg.poll_io_us;
	qc.submit_batch = v->ctx->cfg.submit_batch;
	qc.devid = xb_dev_devid(d);
	qc.reattach = reattach;
	for (i = 0; i < v->nqueues; i++) {
		r = read_ring(d, v, i, &qc);
		if (r < 0)
			return r;
		snprintf(name, sizeof(name), "%s q%u", xb_dev_name(d), i);
		qc.queue = i;
		qc.state_path = NULL;
		if (v->ctx->state_dir[0]) {
			r = state_path(v, i, path, sizeof(path));
			if (r < 0)
				return xb_dev_fatal(d, r, "state file name");
			qc.state_path = path;
		}
		r = blk_queue_start(&qc, &v->q[i]);
		if (r == -EPROTONOSUPPORT && reattach)
			return xb_dev_fatal(d, r, "cannot resume queue %u: its restart state is of "
					    "another format version (this blkbackd reads version %u)",
					    i, BLK_QSTATE_VERSION);
		if (r < 0)
			return xb_dev_fatal(d, r, "cannot %s queue %u",
					    reattach ? "resume" : "start", i);
	}
	return 0;
}

/* What connect and reattach share: the store, the frontend's nodes, the
 * limits, the fd through which the queues report a broken ring. */
static int prepare(struct xb_device *d, struct vbd *v)
{
	uint64_t discard_enable;
	int r;

	r = open_store(d, v);
	if (r < 0)
		return r;
	r = read_frontend(d, v);
	if (r < 0)
		return r;
	/* discard-enable: the toolstack's switch (blkif.h), default on. */
	if (be_uint(d, "discard-enable", 1, 1, &discard_enable) < 0)
		discard_enable = 1;
	set_limits(v, discard_enable);
	if ((v->info.lss & (v->info.lss - 1)) || v->info.lss < 512 || v->info.lss > BLK_PAGE_SIZE)
		return xb_dev_fatal(d, -EINVAL, "unsupported sector size %u", v->info.lss);
	v->fatal_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->fatal_fd < 0)
		return xb_dev_fatal(d, -errno, "eventfd");
	r = loop_add_fd(xb_dev_loop(d), v->fatal_fd, EPOLLIN, on_fatal, v, &v->fatal_src);
	if (r < 0)
		return xb_dev_fatal(d, r, "loop");
	return 0;
}

static void mark_connected(struct vbd *v)
{
	v->connected = true;
	v->ctx->connected++;
}

static int vbd_connect(struct xb_device *d)
{
	struct vbd *v = vbd_of(d);
	int r;

	r = prepare(d, v);
	if (r < 0)
		return r;
	r = start_queues(d, v, false);
	if (r < 0)
		return r;
	r = store_txn(xb_dev_xs(d), write_connect_nodes, v);
	if (r < 0)
		return xb_dev_fatal(d, r, "writing the connect nodes");
	mark_connected(v);
	log_info("%s: connected: %u queue(s), ring order %u, %s, %s grants, %" PRIu64
		 " sectors of %u", xb_dev_name(d), v->nqueues, v->ring_order, blk_abi_name(v->abi),
		 v->persistent ? "persistent" : "copied", v->lim.sectors, 1u << v->lim.unit_shift);
	changed(v->ctx);
	return 0;
}

static void vbd_disconnect(struct xb_device *d)
{
	struct vbd *v = vbd_of(d);
	unsigned i;

	if (!v)
		return;
	for (i = 0; i < BLK_MAX_QUEUES_CAP; i++) {
		if (!v->q[i])
			continue;
		blk_queue_stop(v->q[i], v->retired);
		v->q[i] = NULL;
	}
	/* The device closes: nothing to resume. Stopping: the next run may. */
	if (!v->ctx->keep_state)
		remove_state(v);
	loop_remove(xb_dev_loop(d), v->fatal_src);
	v->fatal_src = NULL;
	if (v->fatal_fd >= 0)
		close(v->fatal_fd);
	v->fatal_fd = -1;
	if (v->store)
		v->store->ops->close(v->store);
	v->store = NULL;
	if (v->connected) {
		v->connected = false;
		v->ctx->connected--;
		changed(v->ctx);
	}
}

static void vbd_remove(struct xb_device *d)
{
	struct vbd *v = vbd_of(d);

	if (!v)
		return;
	if (v->prev)
		v->prev->next = v->next;
	else
		v->ctx->vbds = v->next;
	if (v->next)
		v->next->prev = v->prev;
	xb_dev_set_priv(d, NULL);
	free(v);
}

/* --- online resize --- */

/* Announces a new size to the frontend: `sectors` and Connected again (Linux
 * xen_vbd_resize). `why` ends the log line's first words. */
static void announce_sectors(struct vbd *v, const char *why, uint64_t from, uint64_t sectors)
{
	char val[32];
	int r;

	log_notice("%s: size changed%s: %" PRIu64 " -> %" PRIu64 " sectors", xb_dev_name(v->dev),
		   why, from, sectors);
	snprintf(val, sizeof(val), "%" PRIu64, sectors);
	r = xb_dev_reannounce(v->dev, "sectors", val);
	if (r < 0)
		log_warn_errno(r, "%s: cannot announce the new size", xb_dev_name(v->dev));
}

static void vbd_resize(struct vbd *v)
{
	struct blk_store_info info;
	uint64_t sectors, from;
	int r;

	if (!v->connected || !v->store)
		return;
	r = v->store->ops->query(v->store, &info);
	if (r < 0) {
		log_warn_errno(r, "%s: cannot re-read the size, ignoring", xb_dev_name(v->dev));
		return;
	}
	sectors = info.size >> v->lim.unit_shift;
	from = atomic_load(&v->sectors);
	if (sectors == from)
		return;
	v->info.size = info.size;
	v->lim.sectors = sectors;
	atomic_store(&v->sectors, sectors);
	announce_sectors(v, "", from, sectors);
}

static void vbd_backend_changed(struct xb_device *d, const char *node)
{
	struct vbd *v = vbd_of(d);

	if (v && !strcmp(node, "params"))
		vbd_resize(v);
}

/* --- restart --- */

/*
 * The frontend goes on with what was announced at connect: the sector size
 * must still be the store's (a different one would change what every
 * request means), the size may have changed (announced as by resize).
 */
static int check_announced(struct xb_device *d, struct vbd *v, uint64_t *ret_sectors)
{
	uint64_t ss;
	int r;

	r = be_uint(d, "sector-size", UINT32_MAX, STORE_NO_DEFAULT, &ss);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading the announced sector-size");
	if (ss != 1u << v->lim.unit_shift)
		return xb_dev_fatal(d, -ESTALE, "announced sector-size %" PRIu64 ", now %u", ss,
				    1u << v->lim.unit_shift);
	r = be_uint(d, "sectors", UINT64_MAX, STORE_NO_DEFAULT, ret_sectors);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading the announced sectors");
	return 0;
}

static int vbd_reattach(struct xb_device *d)
{
	struct vbd *v = vbd_of(d);
	unsigned i, redone = 0, answered = 0;
	uint64_t announced;
	int r;

	if (!v->ctx->state_dir[0])
		return xb_dev_fatal(d, -ENOENT, "no runtime directory for restart state");
	r = prepare(d, v);
	if (r < 0)
		return r;
	r = check_announced(d, v, &announced);
	if (r < 0)
		return r;
	r = start_queues(d, v, true);
	if (r < 0)
		return r;
	for (i = 0; i < v->nqueues; i++) {
		unsigned k, m;

		blk_queue_recovered(v->q[i], &k, &m);
		redone += k;
		answered += m;
	}
	mark_connected(v);
	v->reattaches++;
	log_notice("%s: reattached: %u requests redone, %u already answered (%u queue(s), "
		   "ring order %u, %s)", xb_dev_name(d), redone, answered, v->nqueues,
		   v->ring_order, blk_abi_name(v->abi));
	if (announced != v->lim.sectors)
		announce_sectors(v, " while we were away", announced, v->lim.sectors);
	changed(v->ctx);
	return 0;
}

/* --- the context --- */

int blk_ctx_new(const struct blk_config *cfg, const struct xen_ops *ops, struct blk_ctx **ret)
{
	static const char *const names[3] = { "vbd", "qdisk", "vbd3" };
	struct blk_ctx *c = calloc(1, sizeof(*c));
	struct wk_pool_cfg pc = { .name = "blkbackd", .count = cfg->workers,
				  .poll_us = cfg->poll_us };
	unsigned i, n = 0;
	int r;

	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->ops = ops;
	if (!pc.count)
		pc.count = wk_cpus() < WK_WORKERS_CAP ? wk_cpus() : WK_WORKERS_CAP;
	r = wk_pool_start(&pc, &c->pool);
	if (r < 0) {
		free(c);
		return r;
	}
	for (i = 0; i < 3; i++) {
		if (!(cfg->kinds & (1u << i)))
			continue;
		c->drv[n] = (struct xb_driver){
			.type = names[i],
			.opaque = c,
			.probe = vbd_probe,
			.connect = vbd_connect,
			.disconnect = vbd_disconnect,
			.remove = vbd_remove,
			.backend_changed = vbd_backend_changed,
			.reattach = vbd_reattach,
		};
		n++;
	}
	*ret = c;
	return 0;
}

void blk_ctx_free(struct blk_ctx *c)
{
	if (!c)
		return;
	wk_pool_stop(c->pool);
	free(c);
}

unsigned blk_ctx_workers(const struct blk_ctx *c)
{
	return wk_pool_count(c->pool);
}

size_t blk_ctx_drivers(struct blk_ctx *c, const struct xb_driver *ret[static 3])
{
	size_t n = 0;

	while (n < 3 && c->drv[n].type) {
		ret[n] = &c->drv[n];
		n++;
	}
	return n;
}

int blk_ctx_set_state_dir(struct blk_ctx *c, const char *dir)
{
	if (strlen(dir) >= sizeof(c->state_dir))
		return -ENAMETOOLONG;
	strcpy(c->state_dir, dir);
	return 0;
}

void blk_ctx_keep_state(struct blk_ctx *c)
{
	c->keep_state = true;
}

void blk_ctx_on_change(struct blk_ctx *c, void (*fn)(void *opaque), void *opaque)
{
	c->on_change = fn;
	c->on_change_opaque = opaque;
}

unsigned blk_ctx_connected(const struct blk_ctx *c)
{
	return c->connected;
}

void blk_ctx_resize_all(struct blk_ctx *c)
{
	struct vbd *v;

	for (v = c->vbds; v; v = v->next)
		vbd_resize(v);
}

static const char *state_name(enum xenbus_state s)
{
	static const char *const n[] = { "Unknown", "Initialising", "InitWait", "Initialised",
					 "Connected", "Closing", "Closed", "Reconfiguring",
					 "Reconfigured" };

	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

void blk_ctx_status(const struct blk_ctx *c, FILE *out)
{
	const struct vbd *v;
	unsigned i;

	fprintf(out, "blkbackd: %u vbd(s) connected\n", c->connected);
	fprintf(out, "workers:");
	for (i = 0; i < wk_pool_count(c->pool); i++) {
		struct wk_worker_stats st;

		wk_worker_stats(wk_pool_get(c->pool, i), &st);
		fprintf(out, " %u:%u", i, st.pollables);
	}
	fprintf(out, " (worker:queues)\n");
	for (v = c->vbds; v; v = v->next) {
		uint64_t cnt[BLK_CNT__MAX];

		memcpy(cnt, v->retired, sizeof(cnt));
		for (i = 0; i < v->nqueues && v->connected; i++)
			if (v->q[i])
				blk_queue_counters(v->q[i], cnt);
		fprintf(out, "%s: %s", xb_dev_name(v->dev), state_name(xb_dev_state(v->dev)));
		if (v->connected)
			fprintf(out, ", %s, %" PRIu64 " sectors of %u, %u queue(s), order %u, %s, %s",
				v->store_path, atomic_load(&v->sectors), 1u << v->lim.unit_shift,
				v->nqueues, v->ring_order, blk_abi_name(v->abi),
				v->persistent ? "persistent grants" : "grant copy");
		fputc('\n', out);
		fprintf(out, "  ");
		for (i = 0; i < BLK_CNT__MAX; i++)
			fprintf(out, "%s=%" PRIu64 " ", blk_cnt_names[i], cnt[i]);
		fprintf(out, "reattaches=%u\n", v->reattaches);
	}
}

/* --- status-json (docs/ddomctl.md: every field) --- */

/* Gauges among the counters: not summed over time, not retired at a stop. */
static bool cnt_is_gauge(unsigned i)
{
	return i == BLK_CNT_INFLIGHT || i == BLK_CNT_PGNT_CACHED;
}

static void vbd_features_json(const struct vbd *v, struct json *j)
{
	json_key(j, "features");
	json_obj_begin(j);
	json_ku64(j, "queues", v->nqueues);
	json_ku64(j, "ring_order", v->ring_order);
	json_kstr(j, "protocol", blk_abi_name(v->abi));
	json_kbool(j, "persistent_grants", v->persistent);
	json_kbool(j, "flush", v->lim.flush);
	json_kbool(j, "barrier", v->lim.barrier);
	json_kbool(j, "discard", v->lim.discard);
	json_kbool(j, "discard_secure", v->lim.discard_secure);
	json_ku64(j, "indirect_segments", v->lim.max_indirect);
	json_obj_end(j);
}

static void vbd_counters_json(const uint64_t cnt[BLK_CNT__MAX], bool gauges, struct json *j)
{
	unsigned i;

	json_key(j, gauges ? "gauges" : "counters");
	json_obj_begin(j);
	for (i = 0; i < BLK_CNT__MAX; i++) {
		if (cnt_is_gauge(i) != gauges)
			continue;
		json_key_underscore(j, blk_cnt_names[i]);
		json_u64(j, cnt[i]);
	}
	json_obj_end(j);
}

static void vbd_status_json(const struct vbd *v, struct json *j)
{
	uint64_t cnt[BLK_CNT__MAX];
	unsigned i;

	memcpy(cnt, v->retired, sizeof(cnt));
	for (i = 0; i < v->nqueues && v->connected; i++)
		if (v->q[i])
			blk_queue_counters(v->q[i], cnt);
	json_obj_begin(j);
	xb_dev_status_json(v->dev, "vbd", j);
	json_kbool(j, "connected", v->connected);
	json_kstr(j, "target", v->store_path[0] ? v->store_path : NULL);
	json_kbool(j, "readonly", v->readonly);
	json_kbool(j, "cdrom", v->cdrom);
	json_ku64(j, "sectors", v->connected ? atomic_load(&v->sectors) : 0);
	json_ku64(j, "sector_size", v->connected ? 1u << v->lim.unit_shift : 0);
	vbd_features_json(v, j);
	vbd_counters_json(cnt, false, j);
	vbd_counters_json(cnt, true, j);
	json_ku64(j, "reattaches", v->reattaches);
	json_obj_end(j);
}

void blk_ctx_status_json(const struct blk_ctx *c, struct json *j)
{
	const struct vbd *v;

	json_ku64(j, "connected", c->connected);
	json_key(j, "devices");
	json_arr_begin(j);
	for (v = c->vbds; v; v = v->next)
		vbd_status_json(v, j);
	json_arr_end(j);
	json_key(j, "workers");
	json_arr_begin(j);
	for (unsigned i = 0; i < wk_pool_count(c->pool); i++) {
		struct wk_worker_stats st;

		wk_worker_stats(wk_pool_get(c->pool, i), &st);
		wk_worker_stats_json(j, i, &st);
	}
	json_arr_end(j);
}
