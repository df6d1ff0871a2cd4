// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: transactions (Xen tools/xenstored/transaction.c, more conservative).
 *
 * Runs on the daemon's event-loop thread. A transaction works on a private copy of the
 * tree, so its reads see the state when it began plus its own writes. Every node it touches
 * (read, listed, written, found missing) is remembered with whether it existed; at commit
 * any such node changed since the transaction began (generation newer than the start, or
 * gone) fails the commit with EAGAIN. This is more conservative than Xen, which does not
 * check nodes the transaction only wrote. Mutations are logged and replayed on the real
 * tree at commit, so watches fire then and only then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

static struct xsd_access *acc_find(struct xsd_tx *tx, const char *path)
{
	for (uint32_t i = 0; i < tx->nacc; i++)
		if (!strcmp(tx->acc[i]->path, path))
			return tx->acc[i];
	return NULL;
}

/* Remember the first touch of every node; "transaction-nodes" quota (ENOSPC) as Xen. */
static int tx_access(void *arg, const char *path, const struct xsd_node *n)
{
	struct xsd_tx *tx = arg;
	struct xsd_access *a;
	size_t l;

	if (acc_find(tx, path))
		return 0;
	if (!tx->conn->who.priv && xsd_quota.trans_nodes && tx->nacc + 1 > xsd_quota.trans_nodes)
		return ENOSPC;
	if (tx->nacc == tx->acap) {
		uint32_t cap = tx->acap ? tx->acap * 2 : 16;
		struct xsd_access **na = realloc(tx->acc, cap * sizeof(*na));

		if (!na)
			goto nomem;
		tx->acc = na;
		tx->acap = cap;
	}
	l = strlen(path);
	a = malloc(sizeof(*a) + l + 1);
	if (!a)
		goto nomem;
	a->existed = n != NULL;
	memcpy(a->path, path, l + 1);
	tx->acc[tx->nacc++] = a;
	return 0;
nomem:
	tx->failed = true;
	return ENOMEM;
}

static void tx_free(struct xsd_tx *tx)
{
	xsd_tree_free(&tx->tree);
	for (uint32_t i = 0; i < tx->nacc; i++)
		free(tx->acc[i]);
	free(tx->acc);
	while (tx->ops) {
		struct xsd_txop *o = tx->ops;

		tx->ops = o->next;
		free(o);
	}
	free(tx);
}

static void tx_unlink(struct xsd_conn *c, struct xsd_tx *tx)
{
	for (struct xsd_tx **pt = &c->txs; *pt; pt = &(*pt)->next) {
		if (*pt == tx) {
			*pt = tx->next;
			break;
		}
	}
	c->dom->ntx--;
	tx_free(tx);
}

void xsd_conn_drop_txs(struct xsd_conn *c)
{
	while (c->txs)
		tx_unlink(c, c->txs);
}

struct xsd_tx *xsd_tx_find(struct xsd_conn *c, uint32_t id)
{
	for (struct xsd_tx *tx = c->txs; tx; tx = tx->next)
		if (tx->id == id)
			return tx;
	return NULL;
}

int xsd_do_tx_start(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char id[16];
	int err;

	/* transaction.c: no nesting (EBUSY). libxenstore and Linux send one empty string. */
	if (tx)
		return EBUSY;
	if (!xsd_onearg(p, len) || p[0])
		return EINVAL;
	if (!c->who.priv && xsd_quota.transactions &&
	    c->dom->ntx + 1 >= xsd_quota.transactions)
		return ENOSPC;
	tx = calloc(1, sizeof(*tx));
	if (!tx)
		return ENOMEM;
	err = xsd_tree_clone(&tx->tree, &xsd_store);
	if (err) {
		free(tx);
		return err;
	}
	tx->tree.access = tx_access;
	tx->tree.arg = tx;
	tx->conn = c;
	tx->start_gen = xsd_generation;
	tx->start_owned = xsd_store.owned[c->who.domid];
	do {
		tx->id = ++c->next_txid;
	} while (!tx->id || xsd_tx_find(c, tx->id));
	tx->next = c->txs;
	c->txs = tx;
	c->dom->ntx++;
	snprintf(id, sizeof(id), "%u", tx->id);
	xsd_reply(c, XS_TRANSACTION_START, id, (uint32_t)strlen(id) + 1);
	return 0;
}

static bool tx_conflicts(struct xsd_tx *tx)
{
	for (uint32_t i = 0; i < tx->nacc; i++) {
		struct xsd_node *n = xsd_lookup(&xsd_store, tx->acc[i]->path);

		if (n ? n->gen > tx->start_gen : tx->acc[i]->existed)
			return true;
	}
	return false;
}

int xsd_do_tx_end(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	const char *arg = xsd_onearg(p, len);
	struct xsd_who who = c->who;
	int64_t delta;
	int err = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!tx)
		return ENOENT;
	if (!strcmp(arg, "F"))
		goto done;
	if (tx->failed) {
		err = ENOMEM;
		goto done;
	}
	if (xsd_knobs.force_eagain) {
		xsd_knobs.force_eagain--;
		err = EAGAIN;
		goto done;
	}
	if (tx_conflicts(tx)) {
		err = EAGAIN;
		goto done;
	}
	/* transaction.c acc_fix_domains(): the nodes quota is checked once more at commit. */
	delta = (int64_t)tx->tree.owned[who.domid] - tx->start_owned;
	if (!who.priv && delta > 0 && xsd_quota.nodes &&
	    xsd_store.owned[who.domid] + delta >= xsd_quota.nodes) {
		err = ENOSPC;
		goto done;
	}
	who.noquota = true;
	for (struct xsd_txop *o = tx->ops; o; o = o->next) {
		int r = xsd_apply(c, &xsd_store, &who, o->type, o->data, o->len);

		if (r)
			xsd_log("dom%u: transaction %u replay of type %u failed: %s",
				who.domid, tx->id, o->type, strerror(r));
	}
done:
	tx_unlink(c, tx);
	if (err)
		return err;
	xsd_ack(c);
	return 0;
}

