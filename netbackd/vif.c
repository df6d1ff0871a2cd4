// SPDX-License-Identifier: GPL-2.0-only
/*
 * vif devices on the xenbus lifecycle (see vif.h): the loop thread's side
 * of netbackd. Reads and checks every node (the frontend's are hostile),
 * writes the feature nodes, starts and stops the queues on the workers,
 * serves the control ring, and keeps the vif's state file.
 *
 * Loop thread only; never touches a data ring. A failure of one vif is
 * returned to xenbus.c, which closes just that vif with its `error` node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_ether.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>

#include "capture.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "ports.h"
#include "store.h"
#include "vif.h"
#include "vifq.h"
#include "worker.h"
#include "xenbus.h"
#include "xen-ops.h"

/* Work per control-ring wakeup (XSA-332: bounded work per event). */
#define CTRL_BUDGET 64

struct vif {
	struct nb_vif v;		/* what the workers see */
	struct nb_ctx *ctx;
	struct xb_device *dev;
	struct vif *next;
	bool connected;
	struct nb_vif_persist anon;	/* when there is no state directory */
	size_t st_len;
	bool st_mapped;
	struct loop_source *fatal_src;
	/* control ring (loop thread) */
	void *ctrl_map;
	xen_netif_ctrl_back_ring_t ctrl;
	int ctrl_port;			/* local, on ctx->ev; -1 none */
	uint64_t retired[VQ_CNT__MAX];	/* counters of earlier connections */
	unsigned reattaches;
};

struct nb_ctx {
	struct nb_ctx_cfg cc;
	struct nb_config cfg;
	struct xb_driver drv;
	struct vif *vifs;
	unsigned connected;
	void (*on_change)(void *opaque);
	void *on_change_opaque;
	char state_dir[PATH_MAX];
	bool keep_state;
	/* The loop thread's own Xen handles: control rings. */
	struct xen_gnttab *gt;
	struct xen_evtchn *ev;
	struct loop_source *ev_src;
	struct loop *loop;
};

static struct vif *vif_of(struct xb_device *d)
{
	return xb_dev_priv(d);
}

static struct nb_ctx *ctx_of(struct xb_device *d)
{
	return xb_dev_driver_opaque(d);
}

static void changed(struct nb_ctx *c)
{
	if (c->on_change)
		c->on_change(c->on_change_opaque);
}

/* ------------------------------------------------------------- nodes */

static int node_path(char *buf, size_t n, const char *dir, const char *node)
{
	return store_path(buf, n, "%s/%s", dir, node);
}

static int read_uint(struct xb_device *d, const char *dir, const char *node, uint64_t max,
		     uint64_t def, uint64_t *ret)
{
	char p[STORE_PATH_MAX];
	int r = node_path(p, sizeof(p), dir, node);

	return r < 0 ? r : store_read_uint(xb_dev_xs(d), XBT_NULL, p, max, def, ret);
}

static int read_flag(struct xb_device *d, const char *dir, const char *node, bool *ret)
{
	char p[STORE_PATH_MAX];
	int r = node_path(p, sizeof(p), dir, node);

	return r < 0 ? r : store_read_bool(xb_dev_xs(d), XBT_NULL, p, false, ret);
}

static int read_str(struct xb_device *d, const char *dir, const char *node, char *buf, size_t n)
{
	char p[STORE_PATH_MAX];
	int r = node_path(p, sizeof(p), dir, node);

	return r < 0 ? r : store_read_buf(xb_dev_xs(d), XBT_NULL, p, buf, n);
}

/* --------------------------------------------------------------- probe */

static int write_features(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xb_device *d = arg;
	const struct nb_config *cfg = &ctx_of(d)->cfg;
	const char *be = xb_dev_backend_path(d);
	static const char *const on[] = {
		"feature-rx-copy", "feature-sg", "feature-ipv6-csum-offload",
		"feature-multicast-control", "feature-dynamic-multicast-control",
	};
	char p[STORE_PATH_MAX];
	int r = 0;

#define PUT(node, fmt, val)                                                    \
	do {                                                                   \
		r = node_path(p, sizeof(p), be, node);                         \
		if (!r)                                                        \
			r = store_printf(xs, t, p, fmt, val);                  \
		if (r < 0)                                                     \
			return r;                                              \
	} while (0)
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		PUT(on[i], "%u", 1u);
	/* Linux netback: page flipping is gone (feature-rx-flip 0). */
	PUT("feature-rx-flip", "%u", 0u);
	PUT("feature-gso-tcpv4", "%u", cfg->gso ? 1u : 0u);
	PUT("feature-gso-tcpv6", "%u", cfg->gso ? 1u : 0u);
	PUT("feature-split-event-channels", "%u", cfg->split_evtchn ? 1u : 0u);
	PUT("feature-ctrl-ring", "%u", cfg->ctrl_ring ? 1u : 0u);
	PUT("multi-queue-max-queues", "%u", cfg->max_queues);
#undef PUT
	return 0;
}

static int vif_probe(struct xb_device *d)
{
	struct nb_ctx *c = ctx_of(d);
	struct vif *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	v->ctx = c;
	v->dev = d;
	v->ctrl_port = -1;
	v->v.fatal_fd = -1;
	v->v.st = &v->anon;	/* until a connection maps its state file */
	snprintf(v->v.name, sizeof(v->v.name), "vif %u/%u", xb_dev_frontend_id(d), xb_dev_devid(d));
	v->v.domid = xb_dev_frontend_id(d);
	v->v.devid = xb_dev_devid(d);
	xb_dev_set_priv(d, v);
	v->next = c->vifs;
	c->vifs = v;
	r = store_txn(xb_dev_xs(d), write_features, d);
	if (r < 0)
		return log_err_errno(r, "%s: cannot write the feature nodes", v->v.name);
	return 0;
}

/* ---------------------------------------------- the toolstack's nodes */

/* `ip`: space-separated IPv4 addresses (xl's ip=, libxl writes it as given). */
static int parse_ips(struct nb_vif *v, const char *s)
{
	char buf[256], *tok, *save;

	v->nip = 0;
	if (strlen(s) >= sizeof(buf))
		return -E2BIG;
	strcpy(buf, s);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		struct in_addr a;

		if (v->nip >= NB_VIF_MAX_IPS || inet_pton(AF_INET, tok, &a) != 1)
			return -EINVAL;
		v->ip[v->nip++] = a.s_addr;
	}
	return 0;
}

/* `rate`: "BYTES,USECS" (libxl; Linux netback xen_net_read_rate); absent: unlimited. */
static int read_rate(struct xb_device *d, struct nb_vif *v)
{
	char buf[64], *comma;
	uint64_t bytes, usec;
	int r = read_str(d, xb_dev_backend_path(d), "rate", buf, sizeof(buf));

	if (r == -ENOENT) {
		atomic_store(&v->credit_bytes, 0);
		return 0;
	}
	if (r < 0)
		return r;
	comma = strchr(buf, ',');
	if (!comma)
		return -EINVAL;
	*comma = '\0';
	/* libxl writes bytes as a 64-bit and usecs as a 32-bit decimal. */
	if (store_parse_uint(buf, strlen(buf), UINT64_MAX - 1, &bytes) < 0 ||
	    store_parse_uint(comma + 1, strlen(comma + 1), UINT32_MAX, &usec) < 0 || !usec)
		return -EINVAL;
	/* A TiB per interval is no limit; keeps the signed credit arithmetic
	 * (vifq.c credit_take) far from overflow. */
	if (bytes >= (1ull << 40))
		bytes = 0;
	atomic_store(&v->credit_usec, usec);
	atomic_store(&v->credit, (int64_t)bytes);
	atomic_store(&v->next_refill_ns, 0);
	atomic_store(&v->credit_bytes, bytes);
	return 0;
}

static int read_backend(struct xb_device *d, struct vif *vf)
{
	struct nb_vif *v = &vf->v;
	const char *be = xb_dev_backend_path(d);
	char buf[256];
	uint64_t mtu;
	int r;

	r = read_str(d, be, "mac", buf, sizeof(buf));
	if (r >= 0)
		r = store_parse_mac(buf, strlen(buf), v->mac);
	if (r < 0)
		return xb_dev_fatal(d, r, "parsing %s/mac", be);
	r = read_str(d, be, "ip", buf, sizeof(buf));
	if (r == -ENOENT)
		v->nip = 0;
	else if (r < 0 || parse_ips(v, buf) < 0)
		return xb_dev_fatal(d, r < 0 ? r : -EINVAL, "parsing %s/ip", be);
	r = read_rate(d, v);
	if (r < 0)
		return xb_dev_fatal(d, r, "parsing %s/rate", be);
	/* 68 is IPv4's minimum; 65535 the largest frame netif carries. */
	r = read_uint(d, be, "mtu", 65535, 1500, &mtu);
	if (r < 0 || mtu < 68)
		return xb_dev_fatal(d, r < 0 ? r : -ERANGE, "parsing %s/mtu", be);
	atomic_store(&v->mtu, (unsigned)mtu);
	v->antispoof = vf->ctx->cfg.antispoof &&
		       !nb_config_has_mac(vf->ctx->cfg.trusted, vf->ctx->cfg.ntrusted, v->mac);
	v->port.isolated = nb_config_has_mac(vf->ctx->cfg.isolated, vf->ctx->cfg.nisolated, v->mac);
	return 0;
}

/* ---------------------------------------------- the frontend's nodes */

struct queue_refs {
	uint64_t tx_ref, rx_ref, tx_port, rx_port;
};

static int read_queue(struct xb_device *d, unsigned nq, unsigned i, struct queue_refs *qr)
{
	char dir[STORE_PATH_MAX];
	int r;

	/* netif.h: one queue uses the top-level keys, several use queue-N/. */
	r = nq == 1 ? store_path(dir, sizeof(dir), "%s", xb_dev_frontend_path(d))
		    : store_path(dir, sizeof(dir), "%s/queue-%u", xb_dev_frontend_path(d), i);
	if (r < 0)
		return r;
	r = read_uint(d, dir, "tx-ring-ref", UINT32_MAX, STORE_NO_DEFAULT, &qr->tx_ref);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading %s/tx-ring-ref", dir);
	r = read_uint(d, dir, "rx-ring-ref", UINT32_MAX, STORE_NO_DEFAULT, &qr->rx_ref);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading %s/rx-ring-ref", dir);
	/* Split channels when both are there (netback connect_data_rings). */
	r = read_uint(d, dir, "event-channel-tx", UINT32_MAX, STORE_NO_DEFAULT, &qr->tx_port);
	if (!r)
		r = read_uint(d, dir, "event-channel-rx", UINT32_MAX, STORE_NO_DEFAULT,
			      &qr->rx_port);
	if (r == -ENOENT) {
		r = read_uint(d, dir, "event-channel", UINT32_MAX, STORE_NO_DEFAULT, &qr->tx_port);
		qr->rx_port = qr->tx_port;
	}
	if (r < 0)
		return xb_dev_fatal(d, r, "reading %s/event-channel", dir);
	if (qr->rx_port != qr->tx_port && !ctx_of(d)->cfg.split_evtchn)
		return xb_dev_fatal(d, -EINVAL, "%s: split event channels not offered", dir);
	return 0;
}

static int read_frontend(struct xb_device *d, struct vif *vf, struct queue_refs *qr)
{
	struct nb_vif *v = &vf->v;
	const char *fe = xb_dev_frontend_path(d);
	const struct nb_config *cfg = &vf->ctx->cfg;
	bool copy = false, notify = false, nocsum = false;
	uint64_t nq;
	int r;

	r = read_flag(d, fe, "request-rx-copy", &copy);
	if (r < 0 || !copy)
		return xb_dev_fatal(d, r < 0 ? r : -EOPNOTSUPP,
				    "%s/request-rx-copy: only RX copy is supported", fe);
	/* Linux netback too: without it we could not know when the guest
	 * posts buffers (netif.h feature-rx-notify). */
	r = read_flag(d, fe, "feature-rx-notify", &notify);
	if (r < 0 || !notify)
		return xb_dev_fatal(d, r < 0 ? r : -EOPNOTSUPP,
				    "%s/feature-rx-notify is mandatory", fe);
	r = read_flag(d, fe, "feature-sg", &v->sg);
	if (!r)
		r = read_flag(d, fe, "feature-gso-tcpv4", &v->gso4);
	if (!r)
		r = read_flag(d, fe, "feature-gso-tcpv6", &v->gso6);
	if (!r)
		r = read_flag(d, fe, "feature-no-csum-offload", &nocsum);
	if (!r)
		r = read_flag(d, fe, "feature-ipv6-csum-offload", &v->csum6);
	if (r < 0)
		return xb_dev_fatal(d, r, "reading %s's features", fe);
	v->csum4 = !nocsum;
	v->gso4 &= cfg->gso;
	v->gso6 &= cfg->gso;
	/* netback: asking for 0 or more than offered is fatal. */
	r = read_uint(d, fe, "multi-queue-num-queues", UINT32_MAX, 1, &nq);
	if (r < 0 || nq == 0 || nq > cfg->max_queues)
		return xb_dev_fatal(d, r < 0 ? r : -EINVAL,
				    "guest requested %llu queues, exceeding the maximum of %u",
				    (unsigned long long)nq, cfg->max_queues);
	v->nqueues = (unsigned)nq;
	for (unsigned i = 0; i < v->nqueues; i++) {
		r = read_queue(d, v->nqueues, i, &qr[i]);
		if (r < 0)
			return r;
	}
	r = read_flag(d, fe, "request-multicast-control", &copy);
	atomic_store(&v->mcast_on, r == 0 && copy);
	return 0;
}

/* ------------------------------------------------------- state file */

static int state_path(const struct vif *v, char *buf, size_t n)
{
	return store_path(buf, n, "%s/vif-%u-%u.state", v->ctx->state_dir, v->v.domid,
			  v->v.devid);
}

static void state_unmap(struct vif *v)
{
	if (v->st_mapped)
		munmap(v->v.st, sizeof(*v->v.st));
	v->st_mapped = false;
	v->v.st = &v->anon;
}

static void state_remove(struct vif *v)
{
	char p[PATH_MAX];

	state_unmap(v);
	if (v->ctx->state_dir[0] && !v->ctx->keep_state && state_path(v, p, sizeof(p)) == 0)
		unlink(p);
}

/* Maps the state file: fresh (create) or as left by a dead daemon. */
static int state_map(struct vif *v, bool create)
{
	char p[PATH_MAX];
	int fd, r = 0;
	void *m;

	v->v.st = &v->anon;
	if (!v->ctx->state_dir[0]) {
		memset(&v->anon, 0, sizeof(v->anon));
		return create ? 0 : -ENOENT;
	}
	r = state_path(v, p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
	if (fd < 0)
		return -errno;
	if (create && ftruncate(fd, sizeof(*v->v.st)) < 0)
		r = -errno;
	if (!create && !r) {
		/* Written by a netbackd of another format version: refused as such, never read. */
		struct { uint64_t magic; uint32_t version; } h;

		if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    h.magic == NB_VIF_STATE_MAGIC && h.version != NB_VIF_STATE_VERSION)
			r = -EPROTONOSUPPORT;
	}
	if (!r && lseek(fd, 0, SEEK_END) != (off_t)sizeof(*v->v.st))
		r = -EBADMSG;
	m = r ? MAP_FAILED : mmap(NULL, sizeof(*v->v.st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r)
		return r;
	if (m == MAP_FAILED)
		return -errno;
	v->v.st = m;
	v->st_mapped = true;
	return 0;
}

/* Fills the header naming this connection. */
static void state_id(struct vif *v, const struct queue_refs *qr, struct nb_vif_persist *id)
{
	memset(id, 0, sizeof(*id));
	id->magic = NB_VIF_STATE_MAGIC;
	id->version = NB_VIF_STATE_VERSION;
	id->domid = v->v.domid;
	id->devid = v->v.devid;
	id->nqueues = v->v.nqueues;
	for (unsigned i = 0; i < v->v.nqueues; i++) {
		id->ring_refs[2 * i] = (uint32_t)qr[i].tx_ref;
		id->ring_refs[2 * i + 1] = (uint32_t)qr[i].rx_ref;
		id->ports[2 * i] = (uint32_t)qr[i].tx_port;
		id->ports[2 * i + 1] = (uint32_t)qr[i].rx_port;
	}
}

/* The header must name this very connection (else the file is stale). */
static int state_check(struct vif *v, const struct queue_refs *qr)
{
	struct nb_vif_persist id, *st = v->v.st;

	state_id(v, qr, &id);
	if (st->magic != NB_VIF_STATE_MAGIC || st->version != NB_VIF_STATE_VERSION)
		return -EBADMSG;
	if (st->domid != id.domid || st->devid != id.devid || st->nqueues != id.nqueues ||
	    memcmp(st->ring_refs, id.ring_refs, sizeof(id.ring_refs)) ||
	    memcmp(st->ports, id.ports, sizeof(id.ports)))
		return -ESTALE;
	return nb_hash_restore(&st->hash, v->v.nqueues) ?: nb_mcast_restore(&st->mcast);
}

/* ---------------------------------------------------- switch egress */

/*
 * A flow hash for choosing a guest queue when the guest set none: IPv4
 * addresses and ports, IPv6 addresses, else the MACs. The bytes are copied
 * into aligned words first (rte_jhash reads 32-bit words).
 */
static uint32_t flow_hash(const struct rte_mbuf *m)
{
	uint8_t buf[64];
	uint32_t w[8];
	const uint8_t *p = rte_pktmbuf_read(m, 0, 54 < m->pkt_len ? 54 : m->pkt_len, buf);

	if (!p)
		return 0;
	if (m->pkt_len >= 38 && p[12] == 0x08 && p[13] == 0x00) {	/* IPv4 */
		memcpy(w, p + 26, 12);
		return rte_jhash_32b(w, 3, 0);
	}
	if (m->pkt_len >= 54 && p[12] == 0x86 && p[13] == 0xdd) {	/* IPv6 */
		memcpy(w, p + 22, 32);
		return rte_jhash_32b(w, 8, 0);
	}
	memcpy(w, p, 12);
	return rte_jhash_32b(w, 3, 0);
}

/* Header bytes hashed: netback copies 128 into the linear area too
 * (XEN_NETBACK_TX_COPY_LEN); a guest may split headers over slots. */
#define HASH_HDR_BYTES 128

bool nb_vif_hash(const struct nb_vif *v, const struct rte_mbuf *m, uint32_t *hash,
		 uint8_t *type)
{
	uint8_t buf[HASH_HDR_BYTES];
	uint32_t len = m->pkt_len < HASH_HDR_BYTES ? m->pkt_len : HASH_HDR_BYTES;
	const uint8_t *p;

	if (!atomic_load_explicit(&v->hash_on, memory_order_relaxed))
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	return p && nb_hash_frame(&v->st->hash, p, len, hash, type);
}

static unsigned pick_queue(struct nb_vif *v, struct rte_mbuf *m)
{
	uint32_t h;
	uint8_t type;

	if (v->nqueues == 1)
		return 0;
	if (nb_vif_hash(v, m, &h, &type))
		return nb_hash_select(&v->st->hash, h, v->nqueues);
	return flow_hash(m) % v->nqueues;
}

/* The vif's switch port: to the guest's queues' inboxes. */
static void vif_egress(struct sw_port *p, void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct nb_vif *v = p->opaque;
	struct rte_mbuf *per[NB_MAX_QUEUES_CAP][SW_BURST];
	uint16_t cnt[NB_MAX_QUEUES_CAP] = { 0 };

	if (v->nqueues == 1) {
		vifq_deliver(v->q[0], ctx, pkts, n);
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		unsigned qi = pick_queue(v, pkts[i]);

		per[qi][cnt[qi]++] = pkts[i];
	}
	for (unsigned qi = 0; qi < v->nqueues; qi++)
		if (cnt[qi])
			vifq_deliver(v->q[qi], ctx, per[qi], cnt[qi]);
}

/* ------------------------------------------------------ control ring */

static int ctrl_copy(void *opaque, grant_ref_t ref, uint16_t offset, void *dst, uint16_t len)
{
	struct vif *v = opaque;
	struct xen_copy_seg s = {
		.source.foreign = { .ref = ref, .offset = offset, .domid = v->v.domid },
		.dest.virt = dst,
		.len = len,
		.flags = GNTCOPY_source_gref,
	};
	int r = v->ctx->cc.ops->gnttab_copy(v->ctx->gt, 1, &s);

	return r < 0 ? r : s.status == GNTST_okay ? 0 : -EACCES;
}

static void ctrl_serve(struct vif *v)
{
	bool ntfy = false;
	int r = nb_ctrl_ring_process(&v->ctrl, &v->v.st->hash, v->v.nqueues, ctrl_copy, v,
				     CTRL_BUDGET, &ntfy, &v->v.st->ctrlj);

	if (r < 0) {
		xb_dev_fatal(v->dev, r, "the control ring's producer index is impossible");
		return;
	}
	if (ntfy)
		v->ctx->cc.ops->evtchn_notify(v->ctx->ev, (evtchn_port_t)v->ctrl_port);
	/* More than a budget's worth: come back on the next round. */
	if ((unsigned)r >= CTRL_BUDGET)
		v->ctx->cc.ops->evtchn_notify(v->ctx->ev, (evtchn_port_t)v->ctrl_port);
}

static void on_ctrl_event(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct nb_ctx *c = opaque;
	int port;

	(void)l;
	(void)fd;
	(void)events;
	while ((port = c->cc.ops->evtchn_pending(c->ev)) >= 0) {
		for (struct vif *v = c->vifs; v; v = v->next)
			if (v->connected && v->ctrl_port == port) {
				ctrl_serve(v);
				break;
			}
		c->cc.ops->evtchn_unmask(c->ev, (evtchn_port_t)port);
	}
}

static void ctrl_stop(struct vif *v)
{
	const struct xen_ops *ops = v->ctx->cc.ops;

	atomic_store(&v->v.hash_on, false);
	if (v->ctrl_port >= 0)
		ops->evtchn_unbind(v->ctx->ev, (evtchn_port_t)v->ctrl_port);
	v->ctrl_port = -1;
	if (v->ctrl_map)
		ops->gnttab_unmap(v->ctx->gt, v->ctrl_map, 1);
	v->ctrl_map = NULL;
}

/* The optional control ring (netif.h "Control ring"): both keys or none. */
static int ctrl_start(struct xb_device *d, struct vif *v, bool reattach)
{
	const struct xen_ops *ops = v->ctx->cc.ops;
	const char *fe = xb_dev_frontend_path(d);
	uint64_t ref, port;
	int r1, r2, r;

	if (!v->ctx->cfg.ctrl_ring)
		return 0;
	r1 = read_uint(d, fe, "ctrl-ring-ref", UINT32_MAX, STORE_NO_DEFAULT, &ref);
	r2 = read_uint(d, fe, "event-channel-ctrl", UINT32_MAX, STORE_NO_DEFAULT, &port);
	if (r1 == -ENOENT && r2 == -ENOENT)
		return 0;
	if (r1 < 0 || r2 < 0)
		return xb_dev_fatal(d, r1 < 0 ? r1 : r2, "reading %s's control ring", fe);
	grant_ref_t g = (grant_ref_t)ref;

	r = ops->gnttab_map(v->ctx->gt, 1, v->v.domid, &g, 1, &v->ctrl_map);
	if (r < 0) {
		v->ctrl_map = NULL;
		return xb_dev_fatal(d, r, "mapping the control ring (ref %llu)",
				    (unsigned long long)ref);
	}
	BACK_RING_INIT(&v->ctrl, (xen_netif_ctrl_sring_t *)v->ctrl_map, XEN_PAGE_SIZE);
	if (reattach) {
		RING_IDX rsp = RING_READ_ONCE(v->ctrl.sring->rsp_prod);

		BACK_RING_ATTACH(&v->ctrl, v->ctrl.sring, rsp, XEN_PAGE_SIZE);
		if (nb_ctrl_journal_restore(&v->ctrl, &v->v.st->ctrlj))
			log_notice("%s: control requests left half-answered by the last "
				   "daemon written back", v->v.name);
	}
	r = ops->evtchn_bind_interdomain(v->ctx->ev, v->v.domid, (evtchn_port_t)port);
	if (r < 0)
		return xb_dev_fatal(d, r, "binding the control event channel %llu",
				    (unsigned long long)port);
	v->ctrl_port = r;
	v->v.st->ctrl_ref = (uint32_t)ref;
	v->v.st->ctrl_port = (uint32_t)port;
	atomic_store(&v->v.hash_on, true);
	ctrl_serve(v);
	return 0;
}

/* ------------------------------------------------- connect, reattach */

static void on_fatal(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct vif *v = opaque;
	const char *why = NULL;
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (unsigned i = 0; i < v->v.nqueues && !why; i++)
		why = v->v.q[i] ? vifq_broken(v->v.q[i]) : NULL;
	if (why)
		xb_dev_fatal(v->dev, -EPROTO, "%s", why);
}

static void stop_queues(struct vif *v)
{
	struct nb_ctx *c = v->ctx;

	/* Nobody may hand this vif a packet once its queues go. */
	sw_port_remove(c->cc.sw, &v->v.port);
	nb_workers_sync(c->cc.workers);
	for (unsigned i = 0; i < NB_MAX_QUEUES_CAP; i++) {
		struct vifq *q = v->v.q[i];

		if (!q)
			continue;
		vifq_counters(q, v->retired);
		if (vifq_worker(q))
			wk_worker_detach(vifq_worker(q), vifq_pollable(q));
		vifq_free(q);
		v->v.q[i] = NULL;
	}
}

static int start_queues(struct xb_device *d, struct vif *v, const struct queue_refs *qr,
			bool reattach)
{
	struct nb_ctx *c = v->ctx;
	int r;

	for (unsigned i = 0; i < v->v.nqueues; i++) {
		struct vifq_cfg qc = {
			.vif = &v->v,
			.idx = i,
			.tx_ref = (grant_ref_t)qr[i].tx_ref,
			.rx_ref = (grant_ref_t)qr[i].rx_ref,
			.tx_remote = (evtchn_port_t)qr[i].tx_port,
			.rx_remote = (evtchn_port_t)qr[i].rx_port,
			.backlog = c->cfg.rx_backlog,
			.reattach = reattach,
			.fatal_fd = v->v.fatal_fd,
		};

		r = vifq_new(&qc, &v->v.q[i]);
		if (r < 0)
			return xb_dev_fatal(d, r, "queue %u: out of memory", i);
	}
	/*
	 * The port joins the switch before any queue runs: the first frame
	 * a queue takes (a replayed one, after a restart) carries this port's
	 * id, never the id of an earlier connection that another vif may hold
	 * by now. Until its worker attaches, a queue's inbox just fills.
	 */
	v->v.port.kind = SW_VIF;
	v->v.port.mcast = &v->v.st->mcast;
	v->v.port.mcast_on = &v->v.mcast_on;
	v->v.port.egress = vif_egress;
	v->v.port.opaque = &v->v;
	snprintf(v->v.port.name, sizeof(v->v.port.name), "%s", v->v.name);
	r = sw_port_add(c->cc.sw, &v->v.port);
	if (r < 0)
		return xb_dev_fatal(d, r, "the switch has no free port (%u in use)", SW_MAX_PORTS);
	for (unsigned i = 0; i < v->v.nqueues; i++) {
		r = wk_worker_attach(nb_workers_least_loaded(c->cc.workers), vifq_pollable(v->v.q[i]));
		if (r < 0)
			return xb_dev_fatal(d, r, "queue %u: mapping rings %llu/%llu or binding ports "
					    "%llu/%llu", i, (unsigned long long)qr[i].tx_ref,
					    (unsigned long long)qr[i].rx_ref,
					    (unsigned long long)qr[i].tx_port,
					    (unsigned long long)qr[i].rx_port);
	}
	return 0;
}

static int fatal_source(struct xb_device *d, struct vif *v)
{
	int r;

	v->v.fatal_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->v.fatal_fd < 0)
		return xb_dev_fatal(d, -errno, "eventfd");
	r = loop_add_fd(xb_dev_loop(d), v->v.fatal_fd, EPOLLIN, on_fatal, v, &v->fatal_src);
	return r < 0 ? xb_dev_fatal(d, r, "watching the queues") : 0;
}

static void mark_connected(struct vif *v)
{
	v->connected = true;
	v->ctx->connected++;
	changed(v->ctx);
}

static int do_connect(struct xb_device *d, bool reattach)
{
	struct vif *v = vif_of(d);
	struct queue_refs qr[NB_MAX_QUEUES_CAP];
	int r;

	r = read_backend(d, v);
	if (!r)
		r = read_frontend(d, v, qr);
	if (r < 0)
		return r;
	r = state_map(v, !reattach);
	if (r == -EPROTONOSUPPORT)
		return xb_dev_fatal(d, r, "the state file is of another format version (this "
				    "netbackd reads version %u)", NB_VIF_STATE_VERSION);
	if (r < 0)
		return xb_dev_fatal(d, r, "%s state file", reattach ? "reading the" : "creating a");
	if (reattach) {
		r = state_check(v, qr);
		if (r < 0)
			return xb_dev_fatal(d, r, "the state file does not match this connection");
	} else {
		state_id(v, qr, v->v.st);
		nb_hash_init(&v->v.st->hash);
		nb_mcast_init(&v->v.st->mcast);
	}
	r = fatal_source(d, v);
	if (!r)
		r = start_queues(d, v, qr, reattach);
	if (!r)
		r = ctrl_start(d, v, reattach);
	if (r < 0)
		return r;
	mark_connected(v);
	log_info("%s: %s, %u queue(s)%s, mac %02x:%02x:%02x:%02x:%02x:%02x, sg %d gso %d/%d "
		 "csum %d/%d%s%s", v->v.name, reattach ? "reattached" : "connected",
		 v->v.nqueues, qr[0].tx_port != qr[0].rx_port ? " split" : "", v->v.mac[0],
		 v->v.mac[1], v->v.mac[2], v->v.mac[3], v->v.mac[4], v->v.mac[5], v->v.sg,
		 v->v.gso4, v->v.gso6, v->v.csum4, v->v.csum6, v->ctrl_port >= 0 ? ", ctrl ring" : "",
		 v->v.antispoof ? "" : ", no anti-spoofing");
	return 0;
}

static int vif_connect(struct xb_device *d)
{
	return do_connect(d, false);
}

static int vif_reattach(struct xb_device *d)
{
	struct vif *v = vif_of(d);
	int r = do_connect(d, true);

	if (!r)
		v->reattaches++;
	return r;
}

static void vif_disconnect(struct xb_device *d)
{
	struct vif *v = vif_of(d);

	if (!v)
		return;
	ctrl_stop(v);
	stop_queues(v);
	nb_capture_close(atomic_exchange(&v->v.cap, NULL));
	loop_remove(xb_dev_loop(d), v->fatal_src);
	v->fatal_src = NULL;
	if (v->v.fatal_fd >= 0)
		close(v->v.fatal_fd);
	v->v.fatal_fd = -1;
	state_remove(v);
	if (v->connected) {
		v->connected = false;
		v->ctx->connected--;
		changed(v->ctx);
	}
}

static void vif_remove(struct xb_device *d)
{
	struct vif *v = vif_of(d), **pp;

	if (!v)
		return;
	for (pp = &v->ctx->vifs; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	xb_dev_set_priv(d, NULL);
	free(v);
}

/* `rate` and `mtu` are watched live (as Linux netback's rate watch). */
static void vif_backend_changed(struct xb_device *d, const char *node)
{
	struct vif *v = vif_of(d);
	uint64_t mtu;

	if (!v || !v->connected)
		return;
	if (!strcmp(node, "rate")) {
		if (read_rate(d, &v->v) < 0)
			log_warn("%s: bad rate node, ignoring", v->v.name);
		else
			log_info("%s: rate now %llu bytes per %llu us", v->v.name,
				 (unsigned long long)atomic_load(&v->v.credit_bytes),
				 (unsigned long long)atomic_load(&v->v.credit_usec));
	} else if (!strcmp(node, "mtu")) {
		if (read_uint(d, xb_dev_backend_path(d), "mtu", 65535, 1500, &mtu) == 0 && mtu >= 68)
			atomic_store(&v->v.mtu, (unsigned)mtu);
	}
}

/* feature-dynamic-multicast-control: re-sample request-multicast-control. */
static void vif_frontend_changed(struct xb_device *d, const char *node)
{
	struct vif *v = vif_of(d);
	bool on = false;

	if (!v || strcmp(node, "request-multicast-control"))
		return;
	if (read_flag(d, xb_dev_frontend_path(d), node, &on) == 0)
		atomic_store(&v->v.mcast_on, on);
}

/* ------------------------------------------------------------- ctx */

int nb_ctx_new(const struct nb_ctx_cfg *cc, struct nb_ctx **ret)
{
	struct nb_ctx *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->cc = *cc;
	c->cfg = *cc->cfg;
	c->drv = (struct xb_driver){
		.type = "vif",
		.opaque = c,
		.probe = vif_probe,
		.connect = vif_connect,
		.disconnect = vif_disconnect,
		.remove = vif_remove,
		.backend_changed = vif_backend_changed,
		.reattach = vif_reattach,
		.frontend_changed = vif_frontend_changed,
	};
	r = cc->ops->gnttab_open(&c->gt);
	if (!r)
		r = cc->ops->evtchn_open(&c->ev);
	if (r < 0) {
		nb_ctx_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int nb_ctx_attach_loop(struct nb_ctx *c, struct loop *l)
{
	c->loop = l;
	return loop_add_fd(l, c->cc.ops->evtchn_fd(c->ev), EPOLLIN, on_ctrl_event, c, &c->ev_src);
}

void nb_ctx_free(struct nb_ctx *c)
{
	if (!c)
		return;
	loop_remove(c->loop, c->ev_src);
	c->cc.ops->evtchn_close(c->ev);
	c->cc.ops->gnttab_close(c->gt);
	free(c);
}

const struct xb_driver *nb_ctx_driver(struct nb_ctx *c)
{
	return &c->drv;
}

int nb_ctx_set_state_dir(struct nb_ctx *c, const char *dir)
{
	return store_path(c->state_dir, sizeof(c->state_dir), "%s", dir);
}

void nb_ctx_keep_state(struct nb_ctx *c)
{
	c->keep_state = true;
}

void nb_ctx_on_change(struct nb_ctx *c, void (*fn)(void *opaque), void *opaque)
{
	c->on_change = fn;
	c->on_change_opaque = opaque;
}

unsigned nb_ctx_connected(const struct nb_ctx *c)
{
	return c->connected;
}

struct nb_vif *nb_ctx_find(struct nb_ctx *c, const char *name)
{
	for (struct vif *v = c->vifs; v; v = v->next) {
		char n[32];

		snprintf(n, sizeof(n), "%u/%u", v->v.domid, v->v.devid);
		if (v->connected && !strcmp(n, name))
			return &v->v;
	}
	return NULL;
}

int nb_ctx_capture(struct nb_ctx *c, struct nb_workers *ws, const char *args, FILE *out)
{
	char what[64], file[PATH_MAX], descr[96];
	struct nb_capture *cap, *old;
	struct nb_vif *v;
	int r;

	if (sscanf(args, "%63s %4095s", what, file) != 2)
		return -EINVAL;
	v = nb_ctx_find(c, what);
	if (!v)
		return -ENOENT;	/* the caller tries the uplinks, then says so */
	cap = NULL;
	if (strcmp(file, "off")) {
		snprintf(descr, sizeof(descr), "netbackd %s: guest TX inbound, guest RX outbound",
			 v->name);
		r = nb_capture_open(file, v->name, descr, &cap);
		if (r < 0) {
			fprintf(out, "cannot write %s: %s\n", file, strerror(-r));
			return r;
		}
	}
	old = atomic_exchange(&v->cap, cap);
	if (old) {
		nb_workers_sync(ws);	/* no worker writes into it any more */
		nb_capture_close(old);
	}
	fprintf(out, cap ? "capturing %s to %s\n" : "capture of %s stopped%s\n", v->name,
		cap ? file : "");
	return 0;
}

static void status_one(const struct vif *v, FILE *out)
{
	uint64_t sum[VQ_CNT__MAX];
	const struct nb_vif *n = &v->v;

	memcpy(sum, v->retired, sizeof(sum));
	for (unsigned i = 0; i < n->nqueues; i++)
		if (n->q[i])
			vifq_counters(n->q[i], sum);
	fprintf(out, "%s: %s mac=%02x:%02x:%02x:%02x:%02x:%02x queues=%u sg=%d gso4=%d gso6=%d "
		     "csum4=%d csum6=%d ctrl-ring=%d mcast-control=%d antispoof=%d isolated=%d "
		     "rate=%llu/%lluus hash=%s/0x%x/%u reattaches=%u\n",
		n->name, xb_state_name(xb_dev_state(v->dev)), n->mac[0], n->mac[1], n->mac[2],
		n->mac[3], n->mac[4], n->mac[5], n->nqueues, n->sg, n->gso4, n->gso6, n->csum4,
		n->csum6, v->ctrl_port >= 0, atomic_load(&n->mcast_on), n->antispoof,
		n->port.isolated, (unsigned long long)atomic_load(&n->credit_bytes),
		(unsigned long long)atomic_load(&n->credit_usec),
		n->st && atomic_load(&n->st->hash.alg) == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ
			? "toeplitz" : "none",
		n->st ? atomic_load(&n->st->hash.flags) : 0, n->st ? atomic_load(&n->st->hash.size) : 0,
		v->reattaches);
	fputs("   ", out);
	for (int i = 0; i < VQ_CNT__MAX; i++)
		fprintf(out, " %s=%llu", vq_cnt_names[i], (unsigned long long)sum[i]);
	fprintf(out, "\n    switch: port=%u", n->port.id);
	for (int i = 0; i < SW_CNT__MAX; i++)
		fprintf(out, " %s=%llu", sw_cnt_names[i],
			(unsigned long long)atomic_load(&n->port.cnt[i]));
	fputc('\n', out);
	for (unsigned i = 0; i < n->nqueues; i++)
		if (n->q[i])
			vifq_describe(n->q[i], out);
}

void nb_ctx_status(const struct nb_ctx *c, FILE *out)
{
	for (const struct vif *v = c->vifs; v; v = v->next)
		status_one(v, out);
}

/* ------------------------------------------ status-json (docs/ddomctl.md) */

static void vif_features_json(const struct vif *v, struct json *j)
{
	const struct nb_vif *n = &v->v;
	/* No state file before the first connection or after a close. */
	bool toeplitz = n->st && atomic_load(&n->st->hash.alg) ==
					 XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;

	json_key(j, "features");
	json_obj_begin(j);
	json_ku64(j, "queues", n->nqueues);
	json_kbool(j, "sg", n->sg);
	json_kbool(j, "gso_tcpv4", n->gso4);
	json_kbool(j, "gso_tcpv6", n->gso6);
	json_kbool(j, "ip_csum", n->csum4);
	json_kbool(j, "ipv6_csum", n->csum6);
	json_kbool(j, "ctrl_ring", v->ctrl_port >= 0);
	json_kbool(j, "multicast_control", atomic_load(&n->mcast_on));
	json_kstr(j, "hash", toeplitz ? "toeplitz" : "none");
	json_obj_end(j);
}

static void vif_status_json(const struct vif *v, struct json *j)
{
	const struct nb_vif *n = &v->v;
	uint64_t sum[VQ_CNT__MAX];
	char mac[18], ip[INET_ADDRSTRLEN];

	memcpy(sum, v->retired, sizeof(sum));
	for (unsigned i = 0; i < n->nqueues; i++)
		if (n->q[i])
			vifq_counters(n->q[i], sum);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
		 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	json_obj_begin(j);
	xb_dev_status_json(v->dev, "vif", j);
	json_kbool(j, "connected", v->connected);
	json_kstr(j, "mac", mac);
	json_key(j, "ips");
	json_arr_begin(j);
	for (unsigned i = 0; i < n->nip && i < NB_VIF_MAX_IPS; i++)
		json_str(j, inet_ntop(AF_INET, &n->ip[i], ip, sizeof(ip)));
	json_arr_end(j);
	json_ku64(j, "mtu", atomic_load(&n->mtu));
	json_kbool(j, "antispoof", n->antispoof);
	json_kbool(j, "isolated", n->port.isolated);
	json_ku64(j, "rate_bytes", atomic_load(&n->credit_bytes));
	json_ku64(j, "rate_usec", atomic_load(&n->credit_usec));
	vif_features_json(v, j);
	json_key(j, "counters");
	json_obj_begin(j);
	for (int i = 0; i < VQ_CNT__MAX; i++) {
		json_key_underscore(j, vq_cnt_names[i]);
		json_u64(j, sum[i]);
	}
	json_obj_end(j);
	nb_port_counters_json(&n->port, j);
	json_ku64(j, "reattaches", v->reattaches);
	json_obj_end(j);
}

void nb_ctx_status_json(const struct nb_ctx *c, struct json *j)
{
	json_ku64(j, "connected", c->connected);
	json_key(j, "devices");
	json_arr_begin(j);
	for (const struct vif *v = c->vifs; v; v = v->next)
		vif_status_json(v, j);
	json_arr_end(j);
}
