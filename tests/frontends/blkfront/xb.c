// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront xenbus side: finds the device in xenstore, negotiates features
 * with the backend, sets up each queue's ring and event channel, and walks
 * the frontend state machine (as Linux drivers/block/xen-blkfront.c does in
 * talk_to_blkback, setup_blkring and blkfront_connect; node names from
 * xen/include/public/io/blkif.h):
 *
 *   Initialising --(backend InitWait)--> write ring-ref(s), event-channel,
 *   protocol, features --> Initialised --(backend Connected)--> read sectors,
 *   info, sector-size, feature-* --> Connected
 *   Connected --> Closing --(backend Closing|Closed)--> Closed
 *   Closed --> Initialising --(backend InitWait)--> ... (reconnect)
 *
 * Main thread only. Every wait is bounded by the --timeout option. Values the
 * backend wrote are parsed strictly and capped; a bad one fails the connect.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "blkfront.h"

uint64_t bf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int vdev_to_devid(const char *v)
{
	/*
	 * docs/misc/vbd-interface.txt (Xen): xvdX is 202 << 8 | disk << 4 for
	 * the first 16 disks, 1 << 28 | disk << 8 beyond; a number is taken as is.
	 */
	size_t n = strlen(v);
	unsigned disk;
	char *end;
	long num;

	if (strncmp(v, "xvd", 3)) {
		num = strtol(v, &end, 0);
		return (*end || num <= 0 || num > INT32_MAX) ? -EINVAL : (int)num;
	}
	for (size_t i = 3; i < n; i++)
		if (v[i] < 'a' || v[i] > 'z')
			return -EINVAL;
	if (n == 4)
		disk = (unsigned)(v[3] - 'a');
	else if (n == 5)
		disk = (unsigned)(v[3] - 'a' + 1) * 26 + (unsigned)(v[4] - 'a');
	else
		return -EINVAL;
	if (disk < 16)
		return (202 << 8) | (int)(disk << 4);
	return (1 << 28) | (int)(disk << 8);
}

static char *xread(struct bf_dev *d, const char *dir, const char *node)
{
	char path[256];
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return xs_read(d->xs, XBT_NULL, path, &len);
}

/* Reads a decimal node; absent -> def; malformed -> -EINVAL. */
static int xread_u64(struct bf_dev *d, const char *dir, const char *node, uint64_t def,
		     uint64_t *ret)
{
	char *s = xread(d, dir, node), *end;
	int r = 0;

	if (!s) {
		*ret = def;
		return 0;
	}
	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		r = -EINVAL;
	free(s);
	return r;
}

static int xwrite(struct bf_dev *d, xs_transaction_t t, const char *node, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int xwrite(struct bf_dev *d, xs_transaction_t t, const char *node, const char *fmt, ...)
{
	char path[256], val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", d->fe, node);
	return xs_write(d->xs, t, path, val, strlen(val)) ? 0 : -(errno ? errno : EIO);
}

static int set_fe_state(struct bf_dev *d, int state)
{
	if (d->o.verbose)
		fprintf(stderr, "blkfront: frontend state -> %d\n", state);
	return xwrite(d, XBT_NULL, "state", "%d", state);
}

int bf_read_be_state(struct bf_dev *d)
{
	uint64_t v;

	if (xread_u64(d, d->be, "state", XenbusStateUnknown, &v) || v > XenbusStateReconfigured)
		return XenbusStateUnknown;
	return (int)v;
}

void bf_read_be_error(struct bf_dev *d)
{
	char *s = xread(d, d->be, "error");

	d->backend_error[0] = 0;
	if (s) {
		snprintf(d->backend_error, sizeof(d->backend_error), "%s", s);
		free(s);
	}
}

void bf_dev_drain_watch(struct bf_dev *d)
{
	char **w;

	while ((w = xs_check_watch(d->xs)))
		free(w);
}

int bf_dev_xs_fd(struct bf_dev *d)
{
	return xs_fileno(d->xs);
}

static int wait_xs(struct bf_dev *d, uint64_t deadline)
{
	struct pollfd p = { .fd = xs_fileno(d->xs), .events = POLLIN };
	uint64_t now = bf_now_ns();
	int ms;

	if (now >= deadline)
		return -ETIMEDOUT;
	ms = (int)((deadline - now) / 1000000u) + 1;
	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		return -errno;
	bf_dev_drain_watch(d);
	return 0;
}

int bf_wait_be_state(struct bf_dev *d, unsigned mask, int timeout_ms)
{
	uint64_t deadline = bf_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int s, r;

	for (;;) {
		s = bf_read_be_state(d);
		if (mask & (1u << s))
			return s;
		r = wait_xs(d, deadline);
		if (r < 0) {
			fprintf(stderr, "blkfront: backend state %d, waited %d ms for mask 0x%x\n",
				s, timeout_ms, mask);
			return r;
		}
	}
}

int bf_wait_resize(struct bf_dev *d, uint64_t old, int timeout_ms)
{
	uint64_t deadline = bf_now_ns() + (uint64_t)timeout_ms * 1000000u, v;
	int r;

	for (;;) {
		if (!xread_u64(d, d->be, "sectors", 0, &v) && v != old &&
		    bf_read_be_state(d) == XenbusStateConnected) {
			d->sectors = v;
			return 0;
		}
		r = wait_xs(d, deadline);
		if (r < 0)
			return r;
	}
}

static int resolve_domid(struct bf_dev *d)
{
	const char *env = getenv("XENSIM_DOMID");
	unsigned len;
	char *s;

	if (d->o.domid >= 0) {
		d->domid = (domid_t)d->o.domid;
		return 0;
	}
	if (env) {
		d->domid = (domid_t)strtoul(env, NULL, 10);
		return 0;
	}
	/* In a real domU a relative path is resolved against our home. */
	s = xs_read(d->xs, XBT_NULL, "domid", &len);
	if (!s)
		return -ENOENT;
	d->domid = (domid_t)strtoul(s, NULL, 10);
	free(s);
	return 0;
}

int bf_dev_open(struct bf_dev *d, const struct bf_opts *o)
{
	uint64_t v;
	char *s;
	int r;

	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->ops = &xen_ops_default;
	d->xs = xs_open(0);
	if (!d->xs)
		return -(errno ? errno : EIO);
	r = resolve_domid(d);
	if (r < 0)
		return r;
	r = o->devid >= 0 ? o->devid : vdev_to_devid(o->vdev ? o->vdev : "xvda");
	if (r < 0)
		return r;
	d->devid = (unsigned)r;
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vbd/%u", d->domid, d->devid);
	s = xread(d, d->fe, "backend");
	if (!s)
		return -ENODEV;
	snprintf(d->be, sizeof(d->be), "%s", s);
	free(s);
	if (xread_u64(d, d->fe, "backend-id", 0, &v) || v >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	d->backend_id = (domid_t)v;
	if (!xs_watch(d->xs, d->be, "be"))
		return -(errno ? errno : EIO);
	return 0;
}

static void queue_free(struct bf_dev *d, struct bf_queue *q)
{
	const struct xen_ops *ops = d->ops;

	if (q->evtchn) {
		if (q->port >= 0)
			ops->evtchn_unbind(q->evtchn, (evtchn_port_t)q->port);
		ops->evtchn_close(q->evtchn);
	}
	if (q->ring_mem)
		ops->gntshr_unshare(q->gntshr, q->ring_mem, q->ring_pages);
	if (q->sbuf)
		ops->gntshr_unshare(q->gntshr, q->sbuf, BF_SBUF_PAGES);
	ops->gntshr_close(q->gntshr);
	memset(q, 0, sizeof(*q));
	q->port = -1;
}

static int queue_setup(struct bf_dev *d, struct bf_queue *q, unsigned idx)
{
	const struct xen_ops *ops = d->ops;
	int r;

	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->idx = idx;
	q->port = -1;
	q->ring_pages = 1u << d->ring_order;
	r = ops->gntshr_open(&q->gntshr);
	if (r < 0)
		return r;
	r = ops->gntshr_share(q->gntshr, d->backend_id, q->ring_pages, 1, q->ring_refs,
			      &q->ring_mem);
	if (r < 0) {
		q->ring_mem = NULL;
		return r;
	}
	q->cnt.gnt_share++;
	q->cnt.gnt_pages += q->ring_pages;
	bf_ring_init(&q->ring, q->ring_mem, d->ring_order, d->abi);
	r = ops->evtchn_open(&q->evtchn);
	if (r < 0)
		return r;
	r = ops->evtchn_bind_unbound(q->evtchn, d->backend_id);
	if (r < 0)
		return r;
	q->port = r;
	q->up = true;
	return 0;
}

/* Writes one queue's ring-ref(s) and event-channel under dir ("" or "queue-N/"). */
static int write_queue_nodes(struct bf_dev *d, xs_transaction_t t, struct bf_queue *q,
			     const char *dir)
{
	char node[64];
	int r;

	if (d->ring_order == 0) {
		snprintf(node, sizeof(node), "%sring-ref", dir);
		r = xwrite(d, t, node, "%u", q->ring_refs[0]);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; d->ring_order && i < q->ring_pages; i++) {
		snprintf(node, sizeof(node), "%sring-ref%u", dir, i);
		r = xwrite(d, t, node, "%u", q->ring_refs[i]);
		if (r < 0)
			return r;
	}
	snprintf(node, sizeof(node), "%sevent-channel", dir);
	return xwrite(d, t, node, "%d", q->port);
}

/*
 * Transport nodes of an earlier connection (another queue count or ring
 * order) must not survive into this one: a backend would read them.
 */
static void remove_transport(struct bf_dev *d, xs_transaction_t t)
{
	static const char *const nodes[] = { "ring-ref", "event-channel", "ring-page-order",
					     "num-ring-pages", "multi-queue-num-queues" };
	char path[256];

	for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->fe, nodes[i]);
		xs_rm(d->xs, t, path);
	}
	for (unsigned i = 0; i < BF_MAX_RING_PAGES; i++) {
		snprintf(path, sizeof(path), "%s/ring-ref%u", d->fe, i);
		xs_rm(d->xs, t, path);
	}
	for (unsigned i = 0; i < BF_MAX_QUEUES; i++) {
		snprintf(path, sizeof(path), "%s/queue-%u", d->fe, i);
		xs_rm(d->xs, t, path);
	}
}

static int write_transport(struct bf_dev *d, xs_transaction_t t)
{
	char dir[32];
	int r = 0;

	remove_transport(d, t);
	if (d->ring_order)
		r = xwrite(d, t, "ring-page-order", "%u", d->ring_order);
	if (!r && d->nr_queues == 1)
		r = write_queue_nodes(d, t, &d->q[0], "");
	if (!r && d->nr_queues > 1)
		r = xwrite(d, t, "multi-queue-num-queues", "%u", d->nr_queues);
	for (unsigned i = 0; !r && d->nr_queues > 1 && i < d->nr_queues; i++) {
		snprintf(dir, sizeof(dir), "queue-%u/", i);
		r = write_queue_nodes(d, t, &d->q[i], dir);
	}
	if (!r)
		r = xwrite(d, t, "protocol", "%s", d->abi->protocol);
	if (!r)
		r = xwrite(d, t, "feature-persistent", "%u", d->o.persistent ? 1 : 0);
	return r;
}

/* All transport nodes in one transaction, retried on EAGAIN (talk_to_blkback). */
static int publish_transport(struct bf_dev *d)
{
	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(d->xs);
		int r;

		if (t == XBT_NULL)
			return -(errno ? errno : EIO);
		r = write_transport(d, t);
		if (r < 0) {
			xs_transaction_end(d->xs, t, true);
			return r;
		}
		if (xs_transaction_end(d->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

static int negotiate(struct bf_dev *d)
{
	uint64_t maxq, maxo, pers, ind;

	if (xread_u64(d, d->be, "multi-queue-max-queues", 1, &maxq) ||
	    xread_u64(d, d->be, "max-ring-page-order", 0, &maxo) ||
	    xread_u64(d, d->be, "feature-persistent", 0, &pers) ||
	    xread_u64(d, d->be, "feature-max-indirect-segments", 0, &ind))
		return -EINVAL;
	d->abi = bf_abi_get(d->o.abi);
	d->nr_queues = d->o.queues ? d->o.queues : 1;
	if (maxq < 1)
		maxq = 1;
	if (d->nr_queues > maxq)
		d->nr_queues = (unsigned)maxq;
	if (d->nr_queues > BF_MAX_QUEUES)
		d->nr_queues = BF_MAX_QUEUES;
	d->ring_order = d->o.ring_order;
	if (d->ring_order > maxo)
		d->ring_order = (unsigned)maxo;
	if (d->ring_order > BF_MAX_RING_ORDER)
		d->ring_order = BF_MAX_RING_ORDER;
	d->persistent = d->o.persistent && pers == 1;
	d->max_indirect = 0;
	if (d->o.indirect && ind > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		d->max_indirect = ind > BF_MAX_INDIRECT_SEGS ? BF_MAX_INDIRECT_SEGS : (unsigned)ind;
	return 0;
}

/* Device properties, read once the backend is Connected (blkfront_connect). */
static int read_properties(struct bf_dev *d)
{
	uint64_t sectors, ssize, info, fl, ba, dis, gran, align, sec;

	if (xread_u64(d, d->be, "sectors", 0, &sectors) ||
	    xread_u64(d, d->be, "sector-size", 512, &ssize) ||
	    xread_u64(d, d->be, "info", 0, &info) ||
	    xread_u64(d, d->be, "feature-flush-cache", 0, &fl) ||
	    xread_u64(d, d->be, "feature-barrier", 0, &ba) ||
	    xread_u64(d, d->be, "feature-discard", 0, &dis) ||
	    xread_u64(d, d->be, "discard-granularity", 0, &gran) ||
	    xread_u64(d, d->be, "discard-alignment", 0, &align) ||
	    xread_u64(d, d->be, "discard-secure", 0, &sec))
		return -EINVAL;
	/* blkif.h: sector-size is a power of two, at least 512. */
	if (!sectors || ssize < 512 || ssize > 65536 || (ssize & (ssize - 1)))
		return -EINVAL;
	d->sectors = sectors;
	d->sector_size = (unsigned)ssize;
	d->info = (unsigned)info;
	d->flush = fl == 1;
	d->barrier = ba == 1;
	d->discard = dis == 1;
	d->discard_granularity = gran > (1u << 30) ? 0 : (unsigned)gran;
	d->discard_alignment = align > (1u << 30) ? 0 : (unsigned)align;
	d->discard_secure = sec == 1;
	return 0;
}

/* Brings a frontend left Connected or Closed by an earlier run back to Initialising. */
static int reset_frontend(struct bf_dev *d)
{
	uint64_t st;
	int tmo = (int)d->o.timeout_s * 1000, r;

	if (xread_u64(d, d->fe, "state", XenbusStateInitialising, &st))
		st = XenbusStateUnknown;
	if (st == XenbusStateInitialising)
		return 0;
	if (st != XenbusStateClosed) {
		r = set_fe_state(d, XenbusStateClosing);
		if (r < 0)
			return r;
		r = bf_wait_be_state(d, 1u << XenbusStateClosing | 1u << XenbusStateClosed, tmo);
		if (r < 0)
			return r;
		r = set_fe_state(d, XenbusStateClosed);
		if (r < 0)
			return r;
	}
	r = bf_wait_be_state(d, 1u << XenbusStateClosed | 1u << XenbusStateInitWait, tmo);
	if (r < 0)
		return r;
	return set_fe_state(d, XenbusStateInitialising);
}

int bf_connect(struct bf_dev *d)
{
	int tmo = (int)d->o.timeout_s * 1000, r;

	r = reset_frontend(d);
	if (r < 0)
		return r;
	r = bf_wait_be_state(d, 1u << XenbusStateInitWait, tmo);
	if (r < 0)
		return r;
	r = negotiate(d);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->nr_queues; i++) {
		r = queue_setup(d, &d->q[i], i);
		if (r < 0)
			goto err;
	}
	r = publish_transport(d);
	if (r < 0)
		goto err;
	r = set_fe_state(d, XenbusStateInitialised);
	if (r < 0)
		goto err;
	r = bf_wait_be_state(d, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
				1u << XenbusStateClosed, tmo);
	if (r != XenbusStateConnected) {
		bf_read_be_error(d);
		r = r < 0 ? r : -ECONNREFUSED;
		goto err;
	}
	r = read_properties(d);
	if (r < 0)
		goto err;
	r = set_fe_state(d, XenbusStateConnected);
	if (r < 0)
		goto err;
	d->connected = true;
	d->connects++;
	return 0;
err:
	for (unsigned i = 0; i < d->nr_queues; i++)
		queue_free(d, &d->q[i]);
	return r;
}

/* Adds what the queues counted into d->acc before they are torn down. */
static void fold_counters(struct bf_dev *d)
{
	for (unsigned i = 0; i < d->nr_queues; i++) {
		struct bf_counters *c = &d->q[i].cnt;

		d->acc.requests += c->requests;
		d->acc.responses += c->responses;
		d->acc.notify += c->notify;
		d->acc.events += c->events;
		d->acc.gnt_share += c->gnt_share;
		d->acc.gnt_unshare += c->gnt_unshare;
		d->acc.gnt_pages += c->gnt_pages;
		memset(c, 0, sizeof(*c));
	}
}

void bf_counters_total(struct bf_dev *d, struct bf_counters *ret)
{
	fold_counters(d);
	*ret = d->acc;
}

int bf_disconnect(struct bf_dev *d)
{
	int tmo = (int)d->o.timeout_s * 1000, r;

	fold_counters(d);
	r = set_fe_state(d, XenbusStateClosing);
	if (!r)
		r = bf_wait_be_state(d, 1u << XenbusStateClosing | 1u << XenbusStateClosed, tmo);
	/* Ring pages are ended only after the backend let go of them. */
	for (unsigned i = 0; i < d->nr_queues; i++)
		queue_free(d, &d->q[i]);
	d->connected = false;
	if (r >= 0)
		r = set_fe_state(d, XenbusStateClosed);
	return r < 0 ? r : 0;
}

void bf_dev_close(struct bf_dev *d)
{
	fold_counters(d);
	for (unsigned i = 0; i < d->nr_queues; i++)
		if (d->q[i].up)
			queue_free(d, &d->q[i]);
	if (d->xs)
		xs_close(d->xs);
	d->xs = NULL;
}
