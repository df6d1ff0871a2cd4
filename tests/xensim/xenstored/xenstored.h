/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim-xenstored: daemon-wide state shared by the wire handlers (ops.c, watch.c, tx.c,
 * control.c) and the event loop with its connections and domains (xenstored.c).
 *
 * Single-threaded: everything here belongs to the one epoll loop. Nothing a client sends may
 * abort the daemon; a client that breaks the protocol is disconnected, nothing more.
 */
#ifndef XSD_XENSTORED_H
#define XSD_XENSTORED_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* An undelivered output message: header + payload, as it goes on the wire. */
struct xsd_msg {
	struct xsd_msg *next;
	uint64_t due_ms;		/* delayed watch events: when they may go */
	uint64_t watch_id;		/* watch events: which watch (0 for replies) */
	uint32_t len, off;
	bool event;
	char data[];
};

struct xsd_watch {
	struct xsd_watch *next;
	uint64_t id;
	uint32_t prefix_len;		/* relative watch: bytes of "/local/domain/<id>/" */
	char *path;			/* canonical */
	char *token;
};

/* A transaction-logged mutation, replayed on the real tree at commit. */
struct xsd_txop {
	struct xsd_txop *next;
	uint32_t type, len;
	char data[];
};

struct xsd_access {
	bool existed;			/* present when the transaction first touched it */
	char path[];
};

struct xsd_tx {
	struct xsd_tx *next;
	uint32_t id;
	uint64_t start_gen;
	uint32_t start_owned;		/* nodes the domain owned at start */
	bool failed;
	struct xsd_tree tree;		/* private copy: reads see the snapshot + own writes */
	struct xsd_access **acc;
	uint32_t nacc, acap;
	struct xsd_txop *ops, *ops_tail;
	struct xsd_conn *conn;
};

struct xsd_domain;

struct xsd_conn {
	int kind;			/* first: epoll tag */
	int fd;
	struct xsd_conn *next;
	struct xsd_domain *dom;
	struct xsd_who who;
	/* input */
	uint8_t hdr[sizeof(struct xsd_sockmsg)];
	uint32_t hused, pused;
	bool in_payload;
	char payload[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg cur;		/* the request being answered */
	/* output */
	struct xsd_msg *out, *out_tail;	/* ready to write */
	struct xsd_msg *late, *late_tail; /* delayed watch events */
	size_t out_bytes;
	uint32_t epoll_mask;
	bool dead;
	struct xsd_watch *watches;
	struct xsd_tx *txs;
	uint32_t next_txid;
};

struct xsd_domain {
	int kind;			/* first: epoll tag */
	int fd;				/* listening socket */
	struct xsd_domain *next;
	uint32_t domid;
	int32_t target;
	char *sock_path;
	uint32_t nwatches, ntx, outstanding, nconns;
	bool paused;			/* listening paused: out of fds */
};

/* Fault knobs, driven by XS_CONTROL from dom0. */
struct xsd_knobs {
	uint32_t force_eagain;		/* next N commits fail with EAGAIN */
	bool merge_watches;		/* keep only the newest pending event per watch */
	uint32_t delay_ms;		/* hold watch events back this long */
	bool trace;			/* log every request */
};

extern struct xsd_knobs xsd_knobs;
extern struct xsd_tree xsd_store;
extern struct xsd_node *xsd_special[2];	/* @introduceDomain, @releaseDomain */

extern struct xsd_conn *xsd_conns;

/* xenstored.c */
void xsd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xsd_reply(struct xsd_conn *c, uint32_t type, const void *data, uint32_t len);
void xsd_error(struct xsd_conn *c, int err);
void xsd_event(struct xsd_conn *c, struct xsd_watch *w, const char *path);
void xsd_fire(void *arg, const char *path, const struct xsd_node *node, enum xsd_match m,
	      const struct xsd_perm *old, uint32_t nold);
void xsd_fire_special(int which);
struct xsd_domain *xsd_domain_find(uint32_t domid);
int xsd_domain_introduce(uint32_t domid);
int xsd_domain_release(uint32_t domid);
void xsd_domain_set_target(struct xsd_domain *d, uint32_t target);
void xsd_flush_late(void);

/* ops.c: dispatch, payload parsing, node and domain requests */
extern const char *const xsd_special_names[2];
void xsd_process(struct xsd_conn *c, const struct xsd_sockmsg *h, char *payload);
uint32_t xsd_count_strings(const char *p, uint32_t len);
const char *xsd_onearg(const char *p, uint32_t len);
bool xsd_nargs(const char *p, uint32_t len, uint32_t n, const char **v);
void xsd_ack(struct xsd_conn *c);
int xsd_apply(struct xsd_conn *c, struct xsd_tree *t, const struct xsd_who *who,
	      uint32_t type, char *p, uint32_t len);

/* watch.c */
int xsd_do_watch(struct xsd_conn *c, char *p, uint32_t len);
int xsd_do_unwatch(struct xsd_conn *c, char *p, uint32_t len);
void xsd_conn_drop_watches(struct xsd_conn *c);

/* tx.c */
struct xsd_tx *xsd_tx_find(struct xsd_conn *c, uint32_t id);
int xsd_do_tx_start(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len);
int xsd_do_tx_end(struct xsd_conn *c, struct xsd_tx *tx, char *p, uint32_t len);
void xsd_conn_drop_txs(struct xsd_conn *c);

/* control.c */
int xsd_do_control(struct xsd_conn *c, char *p, uint32_t len);

#endif
