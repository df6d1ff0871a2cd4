// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: the node tree, paths, permissions and quotas (see store.h).
 *
 * Runs on the daemon's single event-loop thread. Client input reaches every function here;
 * none may abort, assert or leave the tree half-changed: each mutating operation checks
 * permissions and quotas first and only then changes the tree.
 *
 * References (read, not copied): Xen tools/xenstored/core.c, docs/misc/xenstore.txt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct xsd_quota xsd_quota = {
	.node_size = 2048,
	.nodes = 1000,
	.watches = 128,
	.transactions = 10,
	.outstanding = 20,
	.perms = 5,
	.path_max = XENSTORE_REL_PATH_MAX,
	.trans_nodes = 1024,
};

uint64_t xsd_generation;

/* core.c node_hdr (16 bytes) and struct xs_permissions (8 bytes): calc_node_acc_size(). */
#define XSD_NODE_HDR_SIZE 16u
#define XSD_PERM_SIZE 8u

/*
 * Xen's quota test (domain.c domain_quota_val_exceeds): a value reaching the quota exceeds
 * it, so a quota of N admits N-1. We keep that, and dom0 is exempt.
 */
static bool quota_exceeded(const struct xsd_who *who, uint64_t val, uint32_t quota)
{
	return !who->priv && !who->noquota && quota && val >= quota;
}

struct xsd_node *xsd_node_alloc(const char *name, const struct xsd_perm *p, uint32_t n)
{
	size_t nl = strlen(name);
	struct xsd_node *node = calloc(1, sizeof(*node) + nl + 1);

	if (!node)
		return NULL;
	memcpy(node->name, name, nl + 1);
	node->perms = malloc(n * sizeof(*p));
	if (!node->perms) {
		free(node);
		return NULL;
	}
	memcpy(node->perms, p, n * sizeof(*p));
	node->nperms = n;
	node->gen = ++xsd_generation;
	return node;
}

void xsd_node_free(struct xsd_node *n)
{
	for (uint32_t i = 0; i < n->nkids; i++)
		xsd_node_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n->perms);
	free(n);
}

static size_t node_size(uint32_t nperms, uint32_t vlen, uint32_t childlen)
{
	return XSD_NODE_HDR_SIZE + (size_t)nperms * XSD_PERM_SIZE + vlen + childlen;
}

static int kid_add(struct xsd_node *parent, struct xsd_node *kid)
{
	if (parent->nkids == parent->kcap) {
		uint32_t cap = parent->kcap ? parent->kcap * 2 : 4;
		struct xsd_node **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return ENOMEM;
		parent->kids = k;
		parent->kcap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	parent->childlen += strlen(kid->name) + 1;
	kid->parent = parent;
	parent->gen = ++xsd_generation;
	return 0;
}

static void kid_del(struct xsd_node *parent, struct xsd_node *kid)
{
	for (uint32_t i = 0; i < parent->nkids; i++) {
		if (parent->kids[i] != kid)
			continue;
		memmove(&parent->kids[i], &parent->kids[i + 1],
			(parent->nkids - i - 1) * sizeof(*parent->kids));
		parent->nkids--;
		parent->childlen -= strlen(kid->name) + 1;
		parent->gen = ++xsd_generation;
		return;
	}
}

static struct xsd_node *kid_find(const struct xsd_node *n, const char *name, size_t len)
{
	for (uint32_t i = 0; i < n->nkids; i++)
		if (!strncmp(n->kids[i]->name, name, len) && !n->kids[i]->name[len])
			return n->kids[i];
	return NULL;
}

/* The initial tree, as core.c setup_structure(): "/", "/tool", "/tool/xenstored", all "n0";
 * plus "/local" and "/local/domain", which xen-init-dom0 creates on a real host, also "n0". */
int xsd_tree_init(struct xsd_tree *t)
{
	static const char *const init[] = { "/tool", "/tool/xenstored", "/local",
					    "/local/domain" };
	static const struct xsd_who dom0 = { .domid = 0, .priv = true, .target = -1 };
	static const struct xsd_perm n0 = { .id = 0, .perms = XSD_PERM_NONE };

	memset(t, 0, sizeof(*t));
	t->owned = calloc(XSD_NDOMIDS, sizeof(*t->owned));
	t->root = xsd_node_alloc("", &n0, 1);
	if (!t->owned || !t->root)
		goto nomem;
	t->owned[0] = 1;
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		if (xsd_mkdir(t, &dom0, init[i]))
			goto nomem;
	return 0;
nomem:
	xsd_tree_free(t);
	return ENOMEM;
}

static struct xsd_node *node_clone(const struct xsd_node *src)
{
	struct xsd_node *n = xsd_node_alloc(src->name, src->perms, src->nperms);

	if (!n)
		return NULL;
	n->gen = src->gen;
	if (src->vlen) {
		n->val = malloc(src->vlen);
		if (!n->val)
			goto fail;
		memcpy(n->val, src->val, src->vlen);
		n->vlen = src->vlen;
	}
	if (src->nkids) {
		n->kids = malloc(src->nkids * sizeof(*n->kids));
		if (!n->kids)
			goto fail;
		n->kcap = src->nkids;
	}
	for (uint32_t i = 0; i < src->nkids; i++) {
		struct xsd_node *k = node_clone(src->kids[i]);

		if (!k)
			goto fail;
		k->parent = n;
		n->kids[n->nkids++] = k;
	}
	n->childlen = src->childlen;
	return n;
fail:
	xsd_node_free(n);
	return NULL;
}

int xsd_tree_clone(struct xsd_tree *dst, const struct xsd_tree *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->owned = malloc(XSD_NDOMIDS * sizeof(*dst->owned));
	dst->root = node_clone(src->root);
	if (!dst->owned || !dst->root) {
		xsd_tree_free(dst);
		return ENOMEM;
	}
	memcpy(dst->owned, src->owned, XSD_NDOMIDS * sizeof(*dst->owned));
	return 0;
}

void xsd_tree_free(struct xsd_tree *t)
{
	if (t->root)
		xsd_node_free(t->root);
	free(t->owned);
	t->root = NULL;
	t->owned = NULL;
}

/* core.c valid_chars(): the only bytes a path may hold. */
static bool valid_chars(const char *s)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789-/_@";

	return strspn(s, ok) == strlen(s);
}

/*
 * core.c canonicalize(): relative paths are below /local/domain/<domid>; no trailing or
 * double '/'; '@' starts only the special watch/permission names. Limits: the whole path is
 * at most XENSTORE_ABS_PATH_MAX (xs_wire.h) for everyone (stricter: Xen exempts dom0), and
 * the part below /local/domain/<id>/ is under the "path-max" quota (XENSTORE_REL_PATH_MAX).
 */
int xsd_canonicalize(const struct xsd_who *who, const char *in, bool allow_special,
		     char out[XSD_PATH_BUF])
{
	unsigned int domid;
	int off = 0, n;
	size_t len;

	if (!in || !valid_chars(in) || (in[0] == '@' && !allow_special))
		return EINVAL;
	if (in[0] == '@') {
		len = strlen(in);
		if (len > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		memcpy(out, in, len + 1);
		return 0;
	}
	if (in[0] == '/')
		n = snprintf(out, XSD_PATH_BUF, "%s", in);
	else
		n = snprintf(out, XSD_PATH_BUF, "/local/domain/%u/%s", who->domid, in);
	if (n < 0 || n >= XSD_PATH_BUF)
		return EINVAL;
	len = (size_t)n;
	if ((len > 1 && out[len - 1] == '/') || strstr(out, "//"))
		return EINVAL;
	if (sscanf(out, "/local/domain/%5u/%n", &domid, &off) != 1)
		off = 0;
	if (quota_exceeded(who, len - (size_t)off, xsd_quota.path_max))
		return EINVAL;
	return 0;
}

struct xsd_node *xsd_lookup(const struct xsd_tree *t, const char *path)
{
	struct xsd_node *n = t->root;
	const char *p = path;

	if (path[0] != '/')
		return NULL;
	while (n && *p) {
		const char *c = p + 1, *e;

		if (!*c)
			break;
		e = strchr(c, '/');
		if (!e)
			e = c + strlen(c);
		n = kid_find(n, c, (size_t)(e - c));
		p = e;
	}
	return n;
}

size_t xsd_node_path(const struct xsd_node *n, char *buf, size_t size)
{
	size_t len;

	if (!n->parent) {
		snprintf(buf, size, "/");
		return 1;
	}
	len = n->parent->parent ? xsd_node_path(n->parent, buf, size) : 0;
	len += (size_t)snprintf(buf + (len < size ? len : size), len < size ? size - len : 0,
				"/%s", n->name);
	return len;
}

static bool perm_matches(const struct xsd_who *who, uint32_t id)
{
	return id == who->domid || (who->target >= 0 && id == (uint32_t)who->target);
}

/* core.c perm_for_conn(): dom0 and the owner get everything; then the first ACL entry
 * naming the domain; else the owner entry's perms are the default for everyone. */
unsigned int xsd_perm_for(const struct xsd_who *who, const struct xsd_perm *p, uint32_t n)
{
	if (who->priv || perm_matches(who, p[0].id))
		return XSD_PERM_READ | XSD_PERM_WRITE | XSD_PERM_OWNER;
	for (uint32_t i = 1; i < n; i++)
		if (perm_matches(who, p[i].id))
			return p[i].perms & (XSD_PERM_READ | XSD_PERM_WRITE);
	return p[0].perms & (XSD_PERM_READ | XSD_PERM_WRITE);
}

static int access_note(struct xsd_tree *t, const char *path, const struct xsd_node *n)
{
	return t->access ? t->access(t->arg, path, n) : 0;
}

/* The deepest existing ancestor of path (path itself excluded). */
static struct xsd_node *existing_ancestor(const struct xsd_tree *t, const char *path)
{
	char buf[XSD_PATH_BUF];
	struct xsd_node *n;
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return t->root;
		*slash = '\0';
		n = xsd_lookup(t, buf);
		if (n)
			return n;
	}
}

/*
 * core.c get_node() + errno_from_parents(): a node the caller may not access reads as
 * EACCES; a missing node reads as ENOENT only if the nearest existing ancestor grants the
 * same access, so that absence leaks nothing.
 */
int xsd_get(struct xsd_tree *t, const struct xsd_who *who, const char *path,
	    unsigned int perm, struct xsd_node **out)
{
	struct xsd_node *n = xsd_lookup(t, path);
	int err = 0, r;

	*out = NULL;
	r = access_note(t, path, n);
	if (r)
		return r;
	if (!n)
		err = ENOENT;
	else if ((xsd_perm_for(who, n->perms, n->nperms) & perm) != perm)
		err = EACCES;
	if (!err) {
		*out = n;
		return 0;
	}
	if (err == ENOENT) {
		struct xsd_node *a = existing_ancestor(t, path);

		if (!(xsd_perm_for(who, a->perms, a->nperms) & perm))
			return EACCES;
	}
	return err;
}

/*
 * core.c construct_node()/create_node(): missing parents are created on the way; each new
 * node inherits its parent's permissions, and an unprivileged creator becomes the owner.
 * New nodes count against the creator's "nodes" quota (ENOSPC), every written node against
 * "node-size" (ENOSPC, core.c write_node_raw()). All checks happen before any change.
 */
static int create(struct xsd_tree *t, const struct xsd_who *who, const char *path,
		  const char *val, uint32_t vlen, struct xsd_node **out)
{
	struct xsd_node *anc = existing_ancestor(t, path), *top = NULL, *cur;
	char apath[XSD_PATH_BUF];
	uint32_t levels = 0, owner, kidlen;
	size_t alen;
	const char *rest, *c;
	char *vcopy = NULL;
	int r;

	alen = xsd_node_path(anc, apath, sizeof(apath));
	rest = path + (alen == 1 ? 0 : alen);
	for (c = rest; *c; c++)
		levels += *c == '/';
	owner = who->priv ? anc->perms[0].id : who->domid;
	if (quota_exceeded(who, (uint64_t)t->owned[who->domid] + levels, xsd_quota.nodes))
		return ENOSPC;
	/* The ancestor's child list grows by the first new name and its NUL. */
	c = strchr(rest + 1, '/');
	kidlen = (uint32_t)(c ? (size_t)(c - rest) : strlen(rest));
	if (quota_exceeded(who, node_size(anc->nperms, anc->vlen, anc->childlen + kidlen),
			   xsd_quota.node_size) ||
	    quota_exceeded(who, node_size(anc->nperms, vlen, 0), xsd_quota.node_size))
		return ENOSPC;
	r = access_note(t, apath, anc);
	if (r)
		return r;
	/* A transaction must see the new nodes as absent at their first access. */
	for (const char *p = rest; (p = strchr(p + 1, '/'));) {
		char np[XSD_PATH_BUF];

		snprintf(np, sizeof(np), "%.*s", (int)(p - path), path);
		r = access_note(t, np, NULL);
		if (r)
			return r;
	}
	if (vlen) {
		vcopy = malloc(vlen);
		if (!vcopy)
			return ENOMEM;
		memcpy(vcopy, val, vlen);
	}

	/* Build the missing chain detached, then hang it on the ancestor in one step. */
	cur = NULL;
	for (const char *p = rest; *p;) {
		const char *e = strchr(p + 1, '/');
		char name[XSD_PATH_BUF];
		size_t nl = e ? (size_t)(e - p - 1) : strlen(p + 1);
		struct xsd_node *n;

		memcpy(name, p + 1, nl);
		name[nl] = '\0';
		n = xsd_node_alloc(name, anc->perms, anc->nperms);
		if (!n)
			goto nomem;
		n->perms[0].id = owner;
		if (!cur) {
			top = n;
		} else if (kid_add(cur, n)) {
			xsd_node_free(n);
			goto nomem;
		}
		cur = n;
		p = e ? e : p + 1 + nl;
	}
	if (kid_add(anc, top))
		goto nomem;
	cur->val = vcopy;
	cur->vlen = vlen;
	t->owned[owner] += levels;
	*out = cur;
	return 0;
nomem:
	if (top)
		xsd_node_free(top);
	free(vcopy);
	return ENOMEM;
}

static void fire(struct xsd_tree *t, const char *path, const struct xsd_node *n,
		 enum xsd_match m, const struct xsd_perm *old, uint32_t nold)
{
	if (t->fire)
		t->fire(t->arg, path, n, m, old, nold);
}

/* core.c do_write(): path NUL value; the node is created (with parents) if missing. */
int xsd_write(struct xsd_tree *t, const struct xsd_who *who, const char *path,
	      const char *val, uint32_t vlen)
{
	struct xsd_node *n;
	int err = xsd_get(t, who, path, XSD_PERM_WRITE, &n);

	if (err && err != ENOENT)
		return err;
	if (err) {
		err = create(t, who, path, val, vlen, &n);
		if (err)
			return err;
	} else {
		char *v = NULL;

		if (quota_exceeded(who, node_size(n->nperms, vlen, n->childlen),
				   xsd_quota.node_size))
			return ENOSPC;
		if (vlen) {
			v = malloc(vlen);
			if (!v)
				return ENOMEM;
			memcpy(v, val, vlen);
		}
		free(n->val);
		n->val = v;
		n->vlen = vlen;
		n->gen = ++xsd_generation;
	}
	fire(t, path, n, XSD_MATCH_SUBTREE, NULL, 0);
	return 0;
}

/* core.c do_mkdir(): an existing node is fine and fires nothing. */
int xsd_mkdir(struct xsd_tree *t, const struct xsd_who *who, const char *path)
{
	struct xsd_node *n;
	int err = xsd_get(t, who, path, XSD_PERM_WRITE, &n);

	if (!err)
		return 0;
	if (err != ENOENT)
		return err;
	err = create(t, who, path, NULL, 0, &n);
	if (err)
		return err;
	fire(t, path, n, XSD_MATCH_SUBTREE, NULL, 0);
	return 0;
}

/*
 * core.c delnode_sub(): children first; each removed node fires the watches set exactly on
 * it, the removed subtree's root fires its own and its ancestors' watches. Events fire while
 * the node's permissions can still be checked.
 */
static void rm_sub(struct xsd_tree *t, struct xsd_node *n, char *path, size_t len, bool top)
{
	while (n->nkids) {
		struct xsd_node *k = n->kids[n->nkids - 1];
		size_t kl = strlen(k->name);

		if (len + 1 + kl < XSD_PATH_BUF) {
			path[len] = '/';
			memcpy(path + len + 1, k->name, kl + 1);
		}
		rm_sub(t, k, path, len + 1 + kl, false);
		path[len] = '\0';
	}
	access_note(t, path, n);
	fire(t, path, n, top ? XSD_MATCH_SUBTREE : XSD_MATCH_EXACT, NULL, 0);
	if (t->owned[n->perms[0].id])
		t->owned[n->perms[0].id]--;
	if (n->parent)
		kid_del(n->parent, n);
	n->nkids = 0;
	xsd_node_free(n);
}

/* core.c do_rm(): removing a missing node is fine if its parent exists; "/" is EINVAL. */
int xsd_rm(struct xsd_tree *t, const struct xsd_who *who, const char *path)
{
	char buf[XSD_PATH_BUF];
	struct xsd_node *n;
	int err = xsd_get(t, who, path, XSD_PERM_WRITE, &n);

	if (err == ENOENT) {
		char *slash;

		snprintf(buf, sizeof(buf), "%s", path);
		slash = strrchr(buf, '/');
		if (slash == buf)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		return xsd_lookup(t, buf) ? 0 : ENOENT;
	}
	if (err)
		return err;
	if (!n->parent)
		return EINVAL;
	snprintf(buf, sizeof(buf), "%s", path);
	rm_sub(t, n, buf, strlen(buf), true);
	return 0;
}

/*
 * core.c do_set_perms(): the caller must be able to write and own the node (dom0 always
 * can); an unprivileged caller may not give the node away (EPERM); at most
 * "node-permissions" entries.
 */
int xsd_set_perms(struct xsd_tree *t, const struct xsd_who *who, struct xsd_node *n,
		  const char *path, const struct xsd_perm *p, uint32_t np)
{
	struct xsd_perm *old = n->perms, *nw;
	uint32_t nold = n->nperms;

	if (!who->priv && p[0].id != n->perms[0].id)
		return EPERM;
	if (quota_exceeded(who, node_size(np, n->vlen, n->childlen), xsd_quota.node_size))
		return ENOSPC;
	nw = malloc(np * sizeof(*nw));
	if (!nw)
		return ENOMEM;
	memcpy(nw, p, np * sizeof(*nw));
	if (t) {
		if (t->owned[old[0].id])
			t->owned[old[0].id]--;
		t->owned[p[0].id]++;
	}
	n->perms = nw;
	n->nperms = np;
	n->gen = ++xsd_generation;
	if (t)
		fire(t, path, n, XSD_MATCH_SUBTREE, old, nold);
	free(old);
	return 0;
}

int xsd_children(const struct xsd_node *n, char **out, uint32_t *len)
{
	char *b = malloc(n->childlen + 1);
	uint32_t off = 0;

	if (!b)
		return ENOMEM;
	for (uint32_t i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name) + 1;

		memcpy(b + off, n->kids[i]->name, l);
		off += (uint32_t)l;
	}
	*out = b;
	*len = off;
	return 0;
}

/* xenstore_lib.c xenstore_perm_to_string(): 'n' none, 'r', 'w', 'b' both, then the id. */
int xsd_perms_to_strings(const struct xsd_node *n, char *buf, size_t size)
{
	static const char ch[] = { 'n', 'r', 'w', 'b' };
	size_t off = 0;

	for (uint32_t i = 0; i < n->nperms; i++) {
		int l = snprintf(buf + off, size - off, "%c%u",
				 ch[n->perms[i].perms & 3], n->perms[i].id);

		if (l < 0 || (size_t)l + 1 > size - off)
			return -ENOSPC;
		off += (size_t)l + 1;
	}
	return (int)off;
}

/* Stricter than Xen's strtoul: decimal digits only, no sign, no spaces, below 65536. */
int xsd_parse_domid(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (!*s || strlen(s) > 5)
		return EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	if (v > 65535)
		return EINVAL;
	*out = v;
	return 0;
}

/* xenstore_lib.c xenstore_strings_to_perms(); stricter: ids must be real domain ids. */
int xsd_strings_to_perms(const char *s, uint32_t count, struct xsd_perm *out)
{
	for (uint32_t i = 0; i < count; i++) {
		switch (s[0]) {
		case 'n': out[i].perms = XSD_PERM_NONE; break;
		case 'r': out[i].perms = XSD_PERM_READ; break;
		case 'w': out[i].perms = XSD_PERM_WRITE; break;
		case 'b': out[i].perms = XSD_PERM_READ | XSD_PERM_WRITE; break;
		default: return EINVAL;
		}
		if (xsd_parse_domid(s + 1, &out[i].id) || out[i].id >= XSD_DOMID_FIRST_RESERVED)
			return EINVAL;
		s += strlen(s) + 1;
	}
	return 0;
}

static void orphan_sub(struct xsd_tree *t, struct xsd_node *n, char *path, size_t len,
		       uint32_t domid)
{
	for (uint32_t i = 0; i < n->nkids;) {
		struct xsd_node *k = n->kids[i];
		size_t kl = strlen(k->name);

		if (len + 1 + kl >= XSD_PATH_BUF) {
			i++;
			continue;
		}
		path[len] = '/';
		memcpy(path + len + 1, k->name, kl + 1);
		if (k->perms[0].id == domid) {
			rm_sub(t, k, path, len + 1 + kl, true);
		} else {
			orphan_sub(t, k, path, len + 1 + kl, domid);
			i++;
		}
		path[len] = '\0';
	}
	for (uint32_t i = 1; i < n->nperms; i++) {
		if (n->perms[i].id != domid)
			continue;
		memmove(&n->perms[i], &n->perms[i + 1], (n->nperms - i - 1) * sizeof(*n->perms));
		n->nperms--;
		i--;
	}
}

/*
 * Xen 4.17 domain.c domain_tree_remove() (XSA-322, without --keep-orphans): every subtree
 * whose root the dead domain owns is removed, firing watches as any removal does; entries
 * naming it in other nodes' ACLs go too, so a later domain with the same id inherits nothing.
 */
void xsd_tree_orphan(struct xsd_tree *t, uint32_t domid)
{
	char path[XSD_PATH_BUF] = "";

	orphan_sub(t, t->root, path, 0, domid);
}
