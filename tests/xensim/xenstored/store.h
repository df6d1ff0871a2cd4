/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim-xenstored: the node tree, paths, permissions and quotas.
 *
 * A tree of nodes with Xen's xenstore semantics, kept apart from the wire and the event loop
 * so that a transaction can run the very same operations on a private copy of the tree and
 * replay them on the real one at commit. Every operation returns 0 or a positive errno that
 * maps onto xs_wire.h's xsd_errors; none of them may abort or assert on client input.
 * Semantics follow Xen's tools/xenstored/core.c (get_node, construct_node, create_node,
 * do_rm, do_set_perms, canonicalize) and docs/misc/xenstore.txt; every place where this
 * implementation is stricter than Xen says so.
 *
 * Single-threaded: only the daemon's event loop calls into it.
 */
#ifndef XSD_STORE_H
#define XSD_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

/* Permission bits (Xen's enum xs_perm_type in xenstore_lib.h). OWNER is internal. */
#define XSD_PERM_NONE 0u
#define XSD_PERM_READ 1u
#define XSD_PERM_WRITE 2u
#define XSD_PERM_OWNER 4u

/* xen/include/public/xen.h: ids from DOMID_FIRST_RESERVED up are not domains. */
#define XSD_DOMID_FIRST_RESERVED 0x7FF0u
#define XSD_NDOMIDS 65536u

/* A path buffer: XENSTORE_ABS_PATH_MAX (xs_wire.h) plus the NUL. */
#define XSD_PATH_BUF (XENSTORE_ABS_PATH_MAX + 1)

struct xsd_perm {
	uint32_t id;
	uint32_t perms;
};

struct xsd_node {
	struct xsd_node *parent;
	struct xsd_node **kids;		/* in creation order, as Xen lists them */
	uint32_t nkids, kcap;
	uint32_t childlen;		/* bytes of the NUL-separated child list */
	char *val;
	uint32_t vlen;
	struct xsd_perm *perms;
	uint32_t nperms;
	uint64_t gen;			/* generation of the last change (core.c node_hdr) */
	char name[];			/* last path component; "" for the root */
};

/* Per-domain quotas; names and defaults from tools/xenstored/domain.c quotas[]. */
struct xsd_quota {
	uint32_t node_size;		/* "node-size"   2048 */
	uint32_t nodes;			/* "nodes"       1000 */
	uint32_t watches;		/* "watches"      128 */
	uint32_t transactions;		/* "transactions"  10 */
	uint32_t outstanding;		/* "outstanding"   20 */
	uint32_t perms;			/* "node-permissions" 5 */
	uint32_t path_max;		/* "path-max" XENSTORE_REL_PATH_MAX */
	uint32_t trans_nodes;		/* "transaction-nodes" 1024 */
};

extern struct xsd_quota xsd_quota;

/* Who is asking: the connection's domain, as core.c's struct connection. */
struct xsd_who {
	uint32_t domid;
	bool priv;			/* dom0: bypasses permissions and quotas */
	int32_t target;			/* XS_SET_TARGET domain, or -1 */
	bool noquota;			/* replaying a checked transaction at commit */
};

enum xsd_match {
	XSD_MATCH_EXACT,		/* watch path == node path */
	XSD_MATCH_SUBTREE,		/* node path is the watch path or below it */
};

struct xsd_tree;

/* A node changed: called before a removed node is freed, so its perms are still there. */
typedef void (*xsd_fire_fn)(void *arg, const char *path, const struct xsd_node *node,
			    enum xsd_match match, const struct xsd_perm *old, uint32_t nold);
/* A transaction's tree saw an access to path; returns 0 or an errno (quota). */
typedef int (*xsd_access_fn)(void *arg, const char *path, const struct xsd_node *node);

struct xsd_tree {
	struct xsd_node *root;
	uint32_t *owned;		/* nodes owned, indexed by domid */
	xsd_fire_fn fire;
	xsd_access_fn access;
	void *arg;
};

/* Global generation counter, shared by the tree and every transaction's copy. */
extern uint64_t xsd_generation;

struct xsd_node *xsd_node_alloc(const char *name, const struct xsd_perm *p, uint32_t n);
void xsd_node_free(struct xsd_node *n);
int xsd_tree_init(struct xsd_tree *t);
int xsd_tree_clone(struct xsd_tree *dst, const struct xsd_tree *src);
void xsd_tree_free(struct xsd_tree *t);

int xsd_canonicalize(const struct xsd_who *who, const char *in, bool allow_special,
		     char out[XSD_PATH_BUF]);
struct xsd_node *xsd_lookup(const struct xsd_tree *t, const char *path);
unsigned int xsd_perm_for(const struct xsd_who *who, const struct xsd_perm *p, uint32_t n);
int xsd_get(struct xsd_tree *t, const struct xsd_who *who, const char *path,
	    unsigned int perm, struct xsd_node **out);
size_t xsd_node_path(const struct xsd_node *n, char *buf, size_t size);

int xsd_write(struct xsd_tree *t, const struct xsd_who *who, const char *path,
	      const char *val, uint32_t vlen);
int xsd_mkdir(struct xsd_tree *t, const struct xsd_who *who, const char *path);
int xsd_rm(struct xsd_tree *t, const struct xsd_who *who, const char *path);
int xsd_set_perms(struct xsd_tree *t, const struct xsd_who *who, struct xsd_node *node,
		  const char *path, const struct xsd_perm *p, uint32_t n);

/* Children as the NUL-separated list Xen keeps; caller frees. */
int xsd_children(const struct xsd_node *n, char **out, uint32_t *len);
/* Perms as "r0\0b5\0"; returns bytes written or -ENOSPC. */
int xsd_perms_to_strings(const struct xsd_node *n, char *buf, size_t size);
/* Parse "r0\0b5\0..." (count strings); 0 or errno. */
int xsd_strings_to_perms(const char *s, uint32_t count, struct xsd_perm *out);
/* Strict decimal domid parse: 0 or EINVAL. */
int xsd_parse_domid(const char *s, uint32_t *out);

/* A domain went away: the subtrees it owns are removed, its ACL entries go (XSA-322). */
void xsd_tree_orphan(struct xsd_tree *t, uint32_t domid);

#endif
