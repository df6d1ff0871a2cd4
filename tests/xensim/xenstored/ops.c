// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: one handler per xs_wire.h request type, transactions and XS_CONTROL.
 *
 * Runs on the daemon's event-loop thread, called with one complete request whose payload
 * (at most XENSTORE_PAYLOAD_MAX bytes, xs_wire.h) is followed by a NUL the client did not
 * send. Every handler parses the payload as hostile: argument counts and terminating NULs
 * are checked as Xen's tools/xenstored/core.c (onearg, get_strings) checks them, or more
 * strictly. A handler answers with exactly one reply or error and never aborts.
 *
 * Transactions (Xen: tools/xenstored/transaction.c): a transaction works on a private copy
 * of the tree, so its reads see the state when it began plus its own writes. Every node it
 * touches (read, listed, written, found missing) is remembered with whether it existed; at
 * commit any such node changed since the transaction began (generation newer than the
 * start, or gone) fails the commit with EAGAIN. This is more conservative than Xen, which
 * does not check nodes the transaction only wrote. Mutations are logged and replayed on the
 * real tree at commit, so watches fire then and only then.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

static const char *const special_names[2] = { "@introduceDomain", "@releaseDomain" };

/* Number of NUL bytes: xenstore_lib.c xenstore_count_strings(). */
static uint32_t count_strings(const char *p, uint32_t len)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < len; i++)
		n += !p[i];
	return n;
}

/* core.c onearg(): exactly one string, its NUL the last byte. */
static const char *onearg(const char *p, uint32_t len)
{
	if (!len || p[len - 1] || count_strings(p, len) != 1)
		return NULL;
	return p;
}

/* Exactly n NUL-terminated strings filling the payload (stricter than get_strings()). */
static bool nargs(const char *p, uint32_t len, uint32_t n, const char **v)
{
	if (!len || p[len - 1] || count_strings(p, len) != n)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	return true;
}

static struct xsd_node *special_find(const char *path)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(path, special_names[i]))
			return xsd_special[i];
	return NULL;
}

static struct xsd_tree *tree_of(struct xsd_tx *tx)
{
	return tx ? &tx->tree : &xsd_store;
}

static int get_node(struct xsd_conn *c, struct xsd_tx *tx, const char *arg, bool special,
		    unsigned int perm, char *path, struct xsd_node **n)
{
	int err = xsd_canonicalize(&c->who, arg, special, path);

	if (err)
		return err;
	if (path[0] == '@') {
		*n = special_find(path);
		if (!*n)
			return ENOENT;
		if ((xsd_perm_for(&c->who, (*n)->perms, (*n)->nperms) & perm) != perm)
			return EACCES;
		return 0;
	}
	return xsd_get(tree_of(tx), &c->who, path, perm, n);
}

static void ack(struct xsd_conn *c)
{
	xsd_reply(c, c->cur.type, "OK", 3);
}

static int do_read(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	struct xsd_node *n;
	int err = get_node(c, tx, onearg(p, len), false, XSD_PERM_READ, path, &n);

	if (!err)
		xsd_reply(c, XS_READ, n->val, n->vlen);
	return err;
}

static int do_directory(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF], *kids;
	struct xsd_node *n;
	uint32_t klen;
	int err = get_node(c, tx, onearg(p, len), false, XSD_PERM_READ, path, &n);

	if (!err)
		err = xsd_children(n, &kids, &klen);
	if (err)
		return err;
	/* Too long for one reply: E2BIG, and libxenstore falls back to DIRECTORY_PART. */
	xsd_reply(c, XS_DIRECTORY, kids, klen);
	free(kids);
	return 0;
}

/*
 * core.c send_directory_part(): "<generation>\0" then as many whole child names from byte
 * offset <off> of the child list as fit; a final extra NUL marks the end of the list.
 */
static int do_directory_part(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF], gen[24], *kids, *out;
	const char *v[2];
	struct xsd_node *n;
	uint32_t klen, off = 0, genlen, used = 0, maxlen;
	int err;

	if (!nargs(p, len, 2, v) || !*v[1] || strlen(v[1]) > 9 ||
	    strspn(v[1], "0123456789") != strlen(v[1]))
		return EINVAL;
	off = (uint32_t)strtoul(v[1], NULL, 10);
	err = get_node(c, tx, v[0], false, XSD_PERM_READ, path, &n);
	if (!err)
		err = xsd_children(n, &kids, &klen);
	if (err)
		return err;
	genlen = (uint32_t)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) + 1;
	out = malloc(XENSTORE_PAYLOAD_MAX + 1);
	if (!out) {
		free(kids);
		return ENOMEM;
	}
	memcpy(out, gen, genlen);
	if (off >= klen) {
		out[genlen] = '\0';
		xsd_reply(c, XS_DIRECTORY_PART, out, genlen + 1);
		goto done;
	}
	/* An offset inside a name is the client's problem, as in Xen: we start there. */
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	while (off + used < klen) {
		uint32_t l = (uint32_t)strlen(kids + off + used);

		if (used + l >= maxlen)
			break;
		used += l + 1;
	}
	memcpy(out + genlen, kids + off, used);
	if (off + used == klen)
		out[genlen + used++] = '\0';
	xsd_reply(c, XS_DIRECTORY_PART, out, genlen + used);
done:
	free(out);
	free(kids);
	return 0;
}

static int do_get_perms(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF], buf[XENSTORE_PAYLOAD_MAX];
	struct xsd_node *n;
	int err = get_node(c, tx, onearg(p, len), true, XSD_PERM_READ, path, &n), l;

	if (err)
		return err;
	l = xsd_perms_to_strings(n, buf, sizeof(buf));
	if (l < 0)
		return E2BIG;
	xsd_reply(c, XS_GET_PERMS, buf, (uint32_t)l);
	return 0;
}

/* The mutations: shared by direct requests and the replay of a committed transaction. */
static int apply(struct xsd_conn *c, struct xsd_tree *t, const struct xsd_who *who,
		 uint32_t type, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	const char *arg;
	int err;

	switch (type) {
	case XS_WRITE: {
		/* core.c do_write(): path NUL value; the value is raw bytes. */
		uint32_t pl;

		if (!memchr(p, '\0', len))
			return EINVAL;
		pl = (uint32_t)strlen(p) + 1;
		err = xsd_canonicalize(who, p, false, path);
		return err ? err : xsd_write(t, who, path, p + pl, len - pl);
	}
	case XS_MKDIR:
	case XS_RM:
		arg = onearg(p, len);
		err = xsd_canonicalize(who, arg, false, path);
		if (err)
			return err;
		return type == XS_MKDIR ? xsd_mkdir(t, who, path) : xsd_rm(t, who, path);
	case XS_SET_PERMS: {
		struct xsd_perm perms[XENSTORE_PAYLOAD_MAX / 2];
		uint32_t np = count_strings(p, len);
		struct xsd_node *n;
		bool special;

		if (np < 2 || p[len - 1])
			return EINVAL;
		np--;
		if (!who->priv && !who->noquota && np >= xsd_quota.perms)
			return ENOSPC;
		err = xsd_strings_to_perms(p + strlen(p) + 1, np, perms);
		if (!err)
			err = xsd_canonicalize(who, p, true, path);
		if (err)
			return err;
		special = path[0] == '@';
		if (special) {
			n = special_find(path);
			if (!n)
				return ENOENT;
			if (!who->priv)
				return EACCES;
			err = xsd_set_perms(NULL, who, n, path, perms, np);
			if (!err)
				xsd_fire(c, path, n, XSD_MATCH_EXACT, NULL, 0);
			return err;
		}
		err = xsd_get(t, who, path, XSD_PERM_WRITE | XSD_PERM_OWNER, &n);
		return err ? err : xsd_set_perms(t, who, n, path, perms, np);
	}
	}
	return EINVAL;
}

static int do_mutation(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	uint32_t type = c->cur.type;
	struct xsd_txop *op;
	int err;

	/* Special nodes live outside transactions (Xen keeps them out of the tree too). */
	if (tx && type == XS_SET_PERMS && p[0] == '@')
		tx = NULL;
	err = apply(c, tree_of(tx), &c->who, type, p, len);
	if (err)
		return err;
	if (tx) {
		op = malloc(sizeof(*op) + len);
		if (!op) {
			tx->failed = true;
			return ENOMEM;
		}
		op->next = NULL;
		op->type = type;
		op->len = len;
		memcpy(op->data, p, len);
		if (tx->ops_tail)
			tx->ops_tail->next = op;
		else
			tx->ops = op;
		tx->ops_tail = op;
	}
	ack(c);
	return 0;
}

/* watch.c is_child(): path is the watched node or below it ("/" watches everything). */
static bool is_child(const char *path, const char *watched)
{
	size_t l = strlen(watched);

	if (strncmp(path, watched, l))
		return false;
	return l == 1 || path[l] == '/' || path[l] == '\0';
}

/*
 * watch.c watch_permitted(): an event goes only to a connection that may read the node
 * (with its old permissions, for a permission change) or its parent.
 */
static bool watch_permitted(struct xsd_conn *c, const struct xsd_node *n,
			    const struct xsd_perm *old, uint32_t nold)
{
	if (old && (xsd_perm_for(&c->who, old, nold) & XSD_PERM_READ))
		return true;
	if (xsd_perm_for(&c->who, n->perms, n->nperms) & XSD_PERM_READ)
		return true;
	return n->parent &&
	       (xsd_perm_for(&c->who, n->parent->perms, n->parent->nperms) & XSD_PERM_READ);
}

extern struct xsd_conn *xsd_conns;

void xsd_fire(void *arg, const char *path, const struct xsd_node *node, enum xsd_match m,
	      const struct xsd_perm *old, uint32_t nold)
{
	(void)arg;
	for (struct xsd_conn *c = xsd_conns; c; c = c->next) {
		if (c->dead || !watch_permitted(c, node, old, nold))
			continue;
		for (struct xsd_watch *w = c->watches; w; w = w->next) {
			bool send = m == XSD_MATCH_EXACT ? !strcmp(path, w->path)
							 : is_child(path, w->path);

			if (send)
				xsd_event(c, w, path + w->prefix_len);
		}
	}
}

/* domain.c fire_special_watches(): exact watches on the special name, readers only. */
void xsd_fire_special(int which)
{
	xsd_fire(NULL, special_names[which], xsd_special[which], XSD_MATCH_EXACT, NULL, 0);
}

/* watch.c do_watch(): "path\0token\0"; fires once at once, with the path as given. */
static int do_watch(struct xsd_conn *c, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	const char *v[2];
	struct xsd_watch *w, **pw;
	bool relative;
	int err;

	if (!nargs(p, len, 2, v))
		return EINVAL;
	relative = v[0][0] != '/' && v[0][0] != '@';
	err = xsd_canonicalize(&c->who, v[0], true, path);
	if (err)
		return err;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, v[1]))
			return EEXIST;
	if (!c->who.priv && xsd_quota.watches && c->dom->nwatches + 1 >= xsd_quota.watches)
		return ENOSPC;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->path = strdup(path);
	w->token = strdup(v[1]);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return ENOMEM;
	}
	static uint64_t next_id;
	w->id = ++next_id;
	if (relative)
		w->prefix_len = (uint32_t)(strlen(path) - strlen(v[0]));
	/* Appended: events go out in registration order, as watch.c list_add_tail(). */
	for (pw = &c->watches; *pw; pw = &(*pw)->next)
		;
	*pw = w;
	c->dom->nwatches++;
	ack(c);
	xsd_event(c, w, w->path + w->prefix_len);
	return 0;
}

static void watch_free(struct xsd_conn *c, struct xsd_watch *w)
{
	/* Undelivered events of a removed watch may still go out, as in Xen. */
	c->dom->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
}

static int do_unwatch(struct xsd_conn *c, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	const char *v[2];
	int err;

	if (!nargs(p, len, 2, v))
		return EINVAL;
	err = xsd_canonicalize(&c->who, v[0], true, path);
	if (err)
		return err;
	for (struct xsd_watch **pw = &c->watches; *pw; pw = &(*pw)->next) {
		struct xsd_watch *w = *pw;

		if (strcmp(w->path, path) || strcmp(w->token, v[1]))
			continue;
		*pw = w->next;
		watch_free(c, w);
		ack(c);
		return 0;
	}
	return ENOENT;
}

void xsd_conn_drop_watches(struct xsd_conn *c)
{
	while (c->watches) {
		struct xsd_watch *w = c->watches;

		c->watches = w->next;
		watch_free(c, w);
	}
}

/* ---- transactions ---- */

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

static struct xsd_tx *tx_find(struct xsd_conn *c, uint32_t id)
{
	for (struct xsd_tx *tx = c->txs; tx; tx = tx->next)
		if (tx->id == id)
			return tx;
	return NULL;
}

static int do_tx_start(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char id[16];
	int err;

	/* transaction.c: no nesting (EBUSY). libxenstore and Linux send one empty string. */
	if (tx)
		return EBUSY;
	if (!onearg(p, len) || p[0])
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
	} while (!tx->id || tx_find(c, tx->id));
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

static int do_tx_end(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	const char *arg = onearg(p, len);
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
		int r = apply(c, &xsd_store, &who, o->type, o->data, o->len);

		if (r)
			xsd_log("dom%u: transaction %u replay of type %u failed: %s",
				who.domid, tx->id, o->type, strerror(r));
	}
done:
	tx_unlink(c, tx);
	if (err)
		return err;
	ack(c);
	return 0;
}

/* ---- domains ---- */

static int do_introduce(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[3];
	uint32_t domid, port;
	int err;

	/* domain.c do_introduce(): domid, gfn, event channel; the channel must be > 0. */
	if (!nargs(p, len, 3, v))
		return EINVAL;
	err = xsd_parse_domid(v[0], &domid);
	if (!err && (domid == 0 || domid >= XSD_DOMID_FIRST_RESERVED))
		err = EINVAL;
	if (!err && (strspn(v[1], "0123456789") != strlen(v[1]) || !*v[1]))
		err = EINVAL;
	if (!err)
		err = xsd_parse_domid(v[2], &port);
	if (!err && port == 0)
		err = EINVAL;
	if (!err)
		err = xsd_domain_introduce(domid);
	if (!err)
		ack(c);
	return err;
}

/* domain.c onearg_domain(): an introduced domain other than dom0. */
static int domain_arg(char *p, uint32_t len, struct xsd_domain **d)
{
	const char *arg = onearg(p, len);
	uint32_t domid;

	if (!arg || xsd_parse_domid(arg, &domid) || domid == 0)
		return EINVAL;
	*d = xsd_domain_find(domid);
	return *d ? 0 : ENOENT;
}

static int do_release(struct xsd_conn *c, char *p, uint32_t len)
{
	struct xsd_domain *d;
	int err = domain_arg(p, len, &d);

	if (!err)
		err = xsd_domain_release(d->domid);
	if (!err)
		ack(c);
	return err;
}

static int do_resume(struct xsd_conn *c, char *p, uint32_t len)
{
	struct xsd_domain *d;
	int err = domain_arg(p, len, &d);

	if (!err)
		ack(c);
	return err;
}

static int do_set_target(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[2];
	uint32_t domid, tdomid;
	struct xsd_domain *d, *td;

	if (!nargs(p, len, 2, v) || xsd_parse_domid(v[0], &domid) ||
	    xsd_parse_domid(v[1], &tdomid))
		return EINVAL;
	d = xsd_domain_find(domid);
	td = xsd_domain_find(tdomid);
	if (!d || !td)
		return ENOENT;
	xsd_domain_set_target(d, tdomid);
	ack(c);
	return 0;
}

static int do_get_domain_path(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *arg = onearg(p, len);
	char path[32];
	uint32_t domid;

	if (!arg || xsd_parse_domid(arg, &domid))
		return EINVAL;
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xsd_reply(c, XS_GET_DOMAIN_PATH, path, (uint32_t)strlen(path) + 1);
	return 0;
}

static int do_is_introduced(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *arg = onearg(p, len);
	uint32_t domid;
	bool yes;

	if (!arg || xsd_parse_domid(arg, &domid))
		return EINVAL;
	yes = domid == XSD_DOMID_FIRST_RESERVED /* DOMID_SELF */ || xsd_domain_find(domid);
	xsd_reply(c, XS_IS_DOMAIN_INTRODUCED, yes ? "T" : "F", 2);
	return 0;
}

static int do_reset_watches(struct xsd_conn *c, char *p, uint32_t len)
{
	(void)p;
	(void)len;
	/* domain.c do_reset_watches(): watches and transactions go. */
	xsd_conn_drop_watches(c);
	xsd_conn_drop_txs(c);
	ack(c);
	return 0;
}

/* ---- XS_CONTROL (control.c), plus the simulator's fault knobs ---- */

struct quota_name {
	const char *name, *descr;
	uint32_t *val;
};

static const struct quota_name quota_names[] = {
	{ "nodes", "Nodes per domain", &xsd_quota.nodes },
	{ "watches", "Watches per domain", &xsd_quota.watches },
	{ "outstanding", "Outstanding requests per domain", &xsd_quota.outstanding },
	{ "transactions", "Active transactions per domain", &xsd_quota.transactions },
	{ "transaction-nodes", "Max. number of accessed nodes per transaction",
	  &xsd_quota.trans_nodes },
	{ "node-permissions", "Max. number of permissions per node", &xsd_quota.perms },
	{ "path-max", "Max. length of a node path", &xsd_quota.path_max },
	{ "node-size", "Max. size of a node", &xsd_quota.node_size },
};

static const char control_help[] =
	"check           \n"
	"log             [on|off]\n"
	"print           <string>\n"
	"quota           [set <name> <val>|<domid>]\n"
	"force-eagain    <n>          fail the next <n> transaction commits with EAGAIN\n"
	"merge-watches   on|off       deliver only the newest pending event per watch\n"
	"delay-watches   <ms>         hold every watch event back <ms> milliseconds\n"
	"knobs           \n"
	"help            \n";

static bool parse_u32(const char *s, uint32_t *v)
{
	char *e;
	unsigned long x;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	x = strtoul(s, &e, 10);
	if (errno || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int reply_text(struct xsd_conn *c, const char *s)
{
	xsd_reply(c, XS_CONTROL, s, (uint32_t)strlen(s) + 1);
	return 0;
}

static int control_quota(struct xsd_conn *c, const char **v, uint32_t n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t off = 0;
	uint32_t val, domid;

	if (n == 0) {
		off += (size_t)snprintf(buf, sizeof(buf), "Quota settings:\n");
		for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%-17s: %8u %s\n",
						quota_names[i].name, *quota_names[i].val,
						quota_names[i].descr);
		return reply_text(c, buf);
	}
	if (!strcmp(v[0], "set")) {
		if (n != 3 || !parse_u32(v[2], &val) || val < 1)
			return EINVAL;
		for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++) {
			if (strcmp(v[1], quota_names[i].name))
				continue;
			*quota_names[i].val = val;
			return reply_text(c, "OK");
		}
		return EINVAL;
	}
	if (n != 1 || xsd_parse_domid(v[0], &domid))
		return EINVAL;
	struct xsd_domain *d = xsd_domain_find(domid);

	if (!d)
		return ENOENT;
	snprintf(buf, sizeof(buf), "Domain %u:\nnodes: %u\nwatches: %u\ntransactions: %u\n"
		 "outstanding: %u\n", domid, xsd_store.owned[domid], d->nwatches, d->ntx,
		 d->outstanding);
	return reply_text(c, buf);
}

static int do_control(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[XENSTORE_PAYLOAD_MAX / 2];
	uint32_t n = count_strings(p, len), val;
	char buf[256];

	if (!len || p[len - 1] || !n || !nargs(p, len, n, v))
		return EINVAL;
	if (!strcmp(v[0], "help") && n == 1)
		return reply_text(c, control_help);
	if (!strcmp(v[0], "check") && n == 1)
		return reply_text(c, "OK");
	if (!strcmp(v[0], "print") && n == 2) {
		xsd_log("control: %s", v[1]);
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "log") && n <= 2) {
		if (n == 2 && strcmp(v[1], "on") && strcmp(v[1], "off"))
			return EINVAL;
		xsd_knobs.trace = n == 1 || !strcmp(v[1], "on");
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "quota"))
		return control_quota(c, v + 1, n - 1);
	if (!strcmp(v[0], "force-eagain") && n == 2 && parse_u32(v[1], &val)) {
		xsd_knobs.force_eagain = val;
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "merge-watches") && n == 2 &&
	    (!strcmp(v[1], "on") || !strcmp(v[1], "off"))) {
		xsd_knobs.merge_watches = !strcmp(v[1], "on");
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "delay-watches") && n == 2 && parse_u32(v[1], &val) &&
	    val <= 600000) {
		xsd_knobs.delay_ms = val;
		if (!val)
			xsd_flush_late();
		return reply_text(c, "OK");
	}
	if (!strcmp(v[0], "knobs") && n == 1) {
		snprintf(buf, sizeof(buf), "force-eagain %u\nmerge-watches %s\ndelay-watches %u\n",
			 xsd_knobs.force_eagain, xsd_knobs.merge_watches ? "on" : "off",
			 xsd_knobs.delay_ms);
		return reply_text(c, buf);
	}
	/* Real xenstored commands the simulator does not have: say so plainly. */
	if (!strcmp(v[0], "live-update") || !strcmp(v[0], "logfile") ||
	    !strcmp(v[0], "memreport") || !strcmp(v[0], "quota-soft"))
		return ENOSYS;
	return EINVAL;
}

/* ---- dispatch (core.c process_message()) ---- */

enum { F_PRIV = 1, F_NOTX = 2, F_TX = 4 };

struct handler {
	int (*tx_fn)(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len);
	int (*fn)(struct xsd_conn *c, char *p, uint32_t len);
	unsigned int flags;
};

static const struct handler handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { .fn = do_control, .flags = F_PRIV },
	[XS_DIRECTORY] = { .tx_fn = do_directory },
	[XS_READ] = { .tx_fn = do_read },
	[XS_GET_PERMS] = { .tx_fn = do_get_perms },
	[XS_WATCH] = { .fn = do_watch, .flags = F_NOTX },
	[XS_UNWATCH] = { .fn = do_unwatch, .flags = F_NOTX },
	[XS_TRANSACTION_START] = { .tx_fn = do_tx_start },
	[XS_TRANSACTION_END] = { .tx_fn = do_tx_end },
	[XS_INTRODUCE] = { .fn = do_introduce, .flags = F_PRIV },
	[XS_RELEASE] = { .fn = do_release, .flags = F_PRIV },
	[XS_GET_DOMAIN_PATH] = { .fn = do_get_domain_path },
	[XS_WRITE] = { .tx_fn = do_mutation },
	[XS_MKDIR] = { .tx_fn = do_mutation },
	[XS_RM] = { .tx_fn = do_mutation },
	[XS_SET_PERMS] = { .tx_fn = do_mutation },
	[XS_IS_DOMAIN_INTRODUCED] = { .fn = do_is_introduced, .flags = F_PRIV },
	[XS_RESUME] = { .fn = do_resume, .flags = F_PRIV },
	[XS_SET_TARGET] = { .fn = do_set_target, .flags = F_PRIV },
	[XS_RESET_WATCHES] = { .fn = do_reset_watches },
	[XS_DIRECTORY_PART] = { .tx_fn = do_directory_part },
};

void xsd_process(struct xsd_conn *c, const struct xsd_sockmsg *h, char *payload)
{
	const struct handler *hd = h->type < XS_TYPE_COUNT ? &handlers[h->type] : NULL;
	struct xsd_tx *tx = NULL;
	int err;

	c->cur = *h;
	payload[h->len] = '\0';
	if (xsd_knobs.trace)
		xsd_log("dom%u: req type %u id %u tx %u len %u", c->who.domid, h->type,
			h->req_id, h->tx_id, h->len);
	if (!hd || (!hd->fn && !hd->tx_fn)) {
		xsd_error(c, ENOSYS);
		return;
	}
	if ((hd->flags & F_PRIV) && !c->who.priv) {
		xsd_error(c, EACCES);
		return;
	}
	if (!(hd->flags & F_NOTX) && h->tx_id) {
		tx = tx_find(c, h->tx_id);
		if (!tx) {
			xsd_error(c, ENOENT);
			return;
		}
	}
	if (hd->tx_fn) {
		err = hd->tx_fn(c, tx, payload, h->len);
	} else if (tx) {
		/* Xen ignores the transaction for these; a stray id is EINVAL here (stricter). */
		err = EINVAL;
	} else {
		err = hd->fn(c, payload, h->len);
	}
	if (err)
		xsd_error(c, err);
}
