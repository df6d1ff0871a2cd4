// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: the request dispatcher and the handlers for nodes and domains.
 *
 * Runs on the daemon's event-loop thread, called with one complete request whose payload
 * (at most XENSTORE_PAYLOAD_MAX bytes, xs_wire.h) is followed by a NUL the client did not
 * send. Every handler parses the payload as hostile: argument counts and terminating NULs
 * are checked as Xen's tools/xenstored/core.c (onearg, get_strings) checks them, or more
 * strictly. A handler answers with exactly one reply or error and never aborts. Watches are
 * in watch.c, transactions in tx.c, XS_CONTROL in control.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

const char *const xsd_special_names[2] = { "@introduceDomain", "@releaseDomain" };

/* Number of NUL bytes: xenstore_lib.c xenstore_xsd_count_strings(). */
uint32_t xsd_count_strings(const char *p, uint32_t len)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < len; i++)
		n += !p[i];
	return n;
}

/* core.c xsd_onearg(): exactly one string, its NUL the last byte. */
const char *xsd_onearg(const char *p, uint32_t len)
{
	if (!len || p[len - 1] || xsd_count_strings(p, len) != 1)
		return NULL;
	return p;
}

/* Exactly n NUL-terminated strings filling the payload (stricter than get_strings()). */
bool xsd_nargs(const char *p, uint32_t len, uint32_t n, const char **v)
{
	if (!len || p[len - 1] || xsd_count_strings(p, len) != n)
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
		if (!strcmp(path, xsd_special_names[i]))
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

void xsd_ack(struct xsd_conn *c)
{
	xsd_reply(c, c->cur.type, "OK", 3);
}

static int do_read(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	struct xsd_node *n;
	int err = get_node(c, tx, xsd_onearg(p, len), false, XSD_PERM_READ, path, &n);

	if (!err)
		xsd_reply(c, XS_READ, n->val, n->vlen);
	return err;
}

static int do_directory(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF], *kids;
	struct xsd_node *n;
	uint32_t klen;
	int err = get_node(c, tx, xsd_onearg(p, len), false, XSD_PERM_READ, path, &n);

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

	if (!xsd_nargs(p, len, 2, v) || !*v[1] || strlen(v[1]) > 9 ||
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
	int err = get_node(c, tx, xsd_onearg(p, len), true, XSD_PERM_READ, path, &n), l;

	if (err)
		return err;
	l = xsd_perms_to_strings(n, buf, sizeof(buf));
	if (l < 0)
		return E2BIG;
	xsd_reply(c, XS_GET_PERMS, buf, (uint32_t)l);
	return 0;
}

/* The mutations: shared by direct requests and the replay of a committed transaction. */
int xsd_apply(struct xsd_conn *c, struct xsd_tree *t, const struct xsd_who *who,
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
		arg = xsd_onearg(p, len);
		err = xsd_canonicalize(who, arg, false, path);
		if (err)
			return err;
		return type == XS_MKDIR ? xsd_mkdir(t, who, path) : xsd_rm(t, who, path);
	case XS_SET_PERMS: {
		struct xsd_perm perms[XENSTORE_PAYLOAD_MAX / 2];
		uint32_t np = xsd_count_strings(p, len);
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
	err = xsd_apply(c, tree_of(tx), &c->who, type, p, len);
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
	xsd_ack(c);
	return 0;
}

/* watch.c is_child(): path is the watched node or below it ("/" watches everything). */
/* ---- domains ---- */

static int do_introduce(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[3];
	uint32_t domid, port;
	int err;

	/* domain.c do_introduce(): domid, gfn, event channel; the channel must be > 0. */
	if (!xsd_nargs(p, len, 3, v))
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
		xsd_ack(c);
	return err;
}

/* domain.c onearg_domain(): an introduced domain other than dom0. */
static int domain_arg(char *p, uint32_t len, struct xsd_domain **d)
{
	const char *arg = xsd_onearg(p, len);
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
		xsd_ack(c);
	return err;
}

static int do_resume(struct xsd_conn *c, char *p, uint32_t len)
{
	struct xsd_domain *d;
	int err = domain_arg(p, len, &d);

	if (!err)
		xsd_ack(c);
	return err;
}

static int do_set_target(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *v[2];
	uint32_t domid, tdomid;
	struct xsd_domain *d, *td;

	if (!xsd_nargs(p, len, 2, v) || xsd_parse_domid(v[0], &domid) ||
	    xsd_parse_domid(v[1], &tdomid))
		return EINVAL;
	d = xsd_domain_find(domid);
	td = xsd_domain_find(tdomid);
	if (!d || !td)
		return ENOENT;
	xsd_domain_set_target(d, tdomid);
	xsd_ack(c);
	return 0;
}

static int do_get_domain_path(struct xsd_conn *c, char *p, uint32_t len)
{
	const char *arg = xsd_onearg(p, len);
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
	const char *arg = xsd_onearg(p, len);
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
	xsd_ack(c);
	return 0;
}

/* ---- dispatch (core.c process_message()) ---- */

enum { F_PRIV = 1, F_NOTX = 2 };

struct handler {
	int (*tx_fn)(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len);
	int (*fn)(struct xsd_conn *c, char *p, uint32_t len);
	unsigned int flags;
};

static const struct handler handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { .fn = xsd_do_control, .flags = F_PRIV },
	[XS_DIRECTORY] = { .tx_fn = do_directory },
	[XS_READ] = { .tx_fn = do_read },
	[XS_GET_PERMS] = { .tx_fn = do_get_perms },
	[XS_WATCH] = { .fn = xsd_do_watch, .flags = F_NOTX },
	[XS_UNWATCH] = { .fn = xsd_do_unwatch, .flags = F_NOTX },
	[XS_TRANSACTION_START] = { .tx_fn = xsd_do_tx_start },
	[XS_TRANSACTION_END] = { .tx_fn = xsd_do_tx_end },
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
		tx = xsd_tx_find(c, h->tx_id);
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

