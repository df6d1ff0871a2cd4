// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront multicast control (--mcast-add / --mcast-del): the frontend's
 * side of netif.h's "feature-multicast-control". Each op is a dummy TX
 * request carrying one XEN_NETIF_EXTRA_TYPE_MCAST_ADD or _DEL extra-info
 * slot; the backend answers the request OKAY or ERROR and the extra slot
 * NETIF_RSP_NULL. Linux netback (netback.c xenvif_tx_build_gops) answers
 * such a request right after its extras and looks at nothing else in it
 * but its id and, for the credit, its size: we send size 0, no grant.
 *
 * netif.h lets a frontend amend the filter list even while it has not set
 * request-multicast-control (the backend only applies the list when it is
 * set); --mcast-unrequested sends the ops that way, for testing a backend.
 *
 * The option parsing and the slot layout are pure (unit-tested); nf_mcast_run
 * runs on the main thread after the handshake, before any worker starts,
 * one op at a time on queue 0, each waiting for its answer.
 */
#include <errno.h>
#include <string.h>

#include "netfront.h"
#include "store.h"

int nf_mcast_op_add(struct nf_mcast_op *ops, unsigned *n, uint8_t type, const char *mac)
{
	struct nf_mcast_op op = { .type = type };

	if (type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD && type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
		return -EINVAL;
	if (store_parse_mac(mac, strlen(mac), op.mac) < 0)
		return -EINVAL;
	if (*n >= NF_MAX_MCAST_OPS)
		return -E2BIG;
	ops[(*n)++] = op;
	return 0;
}

const char *nf_mcast_op_name(const struct nf_mcast_op *op)
{
	return op->type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD ? "add" : "del";
}

unsigned nf_mcast_layout(const struct nf_mcast_op *op, uint16_t id, union nf_tx_slot out[2])
{
	memset(out, 0, 2 * sizeof(out[0]));
	out[0].req.id = id;
	out[0].req.flags = NETTXF_extra_info;
	out[1].extra.type = op->type;
	memcpy(out[1].extra.u.mcast.addr, op->mac, sizeof(op->mac));
	return 2;
}

/* One op on queue 0: its request, its answer. 0, or -errno with why. */
static int mcast_one(struct nf_queue *q, struct nf_mcast_op *op, char *why, size_t n)
{
	union nf_tx_slot s[2];
	uint16_t id, got_id = 0;
	int16_t st = 0;
	unsigned ns;
	int r;

	if (!q->nid_free || nf_tx_ring_free(q) < 2) {
		snprintf(why, n, "no TX ring slot or id free");
		return -ENOSPC;
	}
	id = q->id_free[--q->nid_free];
	ns = nf_mcast_layout(op, id, s);
	for (unsigned i = 0; i < ns; i++)
		memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++), &s[i], sizeof(s[i]));
	q->cnt.tx_slots += ns;
	r = nf_tx_collect(q, 1, &st, &got_id);
	q->id_free[q->nid_free++] = id;
	if (r == 0) {
		snprintf(why, n, "no answer in %u s", q->dev->o.timeout_s);
		return -ETIMEDOUT;
	}
	if (r < 0) {
		snprintf(why, n, r == -EPIPE ? "the backend left Connected" : "a broken TX ring");
		return r;
	}
	if (got_id != id || (st != NETIF_RSP_OKAY && st != NETIF_RSP_ERROR)) {
		q->cnt.tx_bad_rsp++;
		snprintf(why, n, "answered id %u status %d (sent id %u)", got_id, st, id);
		return -EPROTO;
	}
	op->status = st;
	op->answered = true;
	return 0;
}

int nf_mcast_run(struct nf_dev *d, struct nf_mcast_op *ops, unsigned n, char *why, size_t wn)
{
	struct nf_queue *q = &d->q[0];
	int r;

	if (!d->be_feat.mcast) {
		snprintf(why, wn, "the backend does not offer feature-multicast-control");
		return -EOPNOTSUPP;
	}
	for (unsigned i = 0; i < n; i++) {
		char msg[96], mac[18];

		nf_mac_fmt(ops[i].mac, mac);
		r = mcast_one(q, &ops[i], msg, sizeof(msg));
		if (r < 0) {
			snprintf(why, wn, "multicast %s %s: %s", nf_mcast_op_name(&ops[i]), mac, msg);
			return r;
		}
		fprintf(stderr, "netfront: multicast %s %s: status %d\n", nf_mcast_op_name(&ops[i]),
			mac, ops[i].status);
	}
	return 0;
}
