// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: watches (Xen tools/xenstored/watch.c semantics).
 *
 * Runs on the daemon's event-loop thread. WATCH/UNWATCH parse hostile payloads and answer
 * with exactly one reply; xsd_fire() queues events for every connection allowed to see a
 * change. A watch fires once when set, then on changes of its node or below; events go out
 * in the order the watches were set, only to connections that may read the node (or its
 * old permissions, or its parent), and a relative watch gets relative paths.
 */
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

static uint64_t watch_ids;	/* identifies a watch's pending events (merge knob) */

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
	xsd_fire(NULL, xsd_special_names[which], xsd_special[which], XSD_MATCH_EXACT, NULL, 0);
}

/* watch.c do_watch(): "path\0token\0"; fires once at once, with the path as given. */
int xsd_do_watch(struct xsd_conn *c, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	const char *v[2];
	struct xsd_watch *w, **pw;
	bool relative;
	int err;

	if (!xsd_nargs(p, len, 2, v))
		return EINVAL;
	relative = v[0][0] != '/' && v[0][0] != '@';
	err = xsd_canonicalize(&c->who, v[0], true, path);
	if (err)
		return err;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, v[1]))
			return EEXIST;
	/*
	 * The limit as current xenstored counts it (reaching the quota exceeds it); the error
	 * as Xen 4.17, the version on our real-Xen host, answers it: E2BIG
	 * (xenstored_watch.c do_watch(); newer Xen says ENOSPC).
	 */
	if (!c->who.priv && xsd_quota.watches && c->dom->nwatches + 1 >= xsd_quota.watches)
		return E2BIG;
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
	w->id = ++watch_ids;
	if (relative)
		w->prefix_len = (uint32_t)(strlen(path) - strlen(v[0]));
	/* Appended: events go out in registration order, as watch.c list_add_tail(). */
	for (pw = &c->watches; *pw; pw = &(*pw)->next)
		;
	*pw = w;
	c->dom->nwatches++;
	xsd_ack(c);
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

int xsd_do_unwatch(struct xsd_conn *c, char *p, uint32_t len)
{
	char path[XSD_PATH_BUF];
	const char *v[2];
	int err;

	if (!xsd_nargs(p, len, 2, v))
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
		xsd_ack(c);
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

