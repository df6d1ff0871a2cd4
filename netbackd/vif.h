/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vif devices on the xenbus lifecycle (common/xenbus.h), and the state one
 * vif shares between the loop thread and its queues' workers.
 *
 * probe:    the feature nodes the frontend reads before it connects
 *           (feature-rx-copy, -sg, -gso-tcpv4/-tcpv6, -ipv6-csum-offload,
 *           -multicast-control, -dynamic-multicast-control,
 *           -split-event-channels, -ctrl-ring, multi-queue-max-queues), as
 *           Linux xen-netback's netback_probe.
 * connect:  the toolstack's nodes (mac, ip, rate, mtu), the frontend's
 *           (queues, ring refs, event channels, features; as netback's
 *           connect / connect_data_rings / read_xenbus_vif_flags), then one
 *           switch port and one vifq per queue on the workers.
 * reattach: a restarted daemon found the vif and its frontend Connected:
 *           as connect, but every queue resumes its live rings (vifq.h) and
 *           the control state (hash, multicast filter) comes back from the
 *           vif's state file in the runtime directory.
 *
 * Loop thread only, except the fields documented as read by workers.
 */
#ifndef NETBACKD_VIF_H
#define NETBACKD_VIF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/xen.h>

#include "config.h"
#include "ctrl.h"
#include "sw.h"

struct xb_driver;
struct nb_workers;
struct vifq;
struct rte_mempool;

/* IPv4 addresses a vif's `ip` node may list (xl's ip= is one or a few). */
#define NB_VIF_MAX_IPS 8

/*
 * The persistent part of a vif: lives in its state file, mapped MAP_SHARED,
 * so the hash configuration and the multicast filter the guest set up
 * survive a crash of the daemon (workers and the loop thread write it in
 * place). Plain data, no pointers.
 */
/*
 * The ring slots one queue's last pass took, copied here before the first
 * of them took a response. A response is written over its request (netif.h
 * declares each ring slot a union of the two), and only becomes the
 * guest's at the next RING_PUSH_RESPONSES: a daemon killed between the two
 * leaves slots that are neither. A restarted daemon that finds the ring's
 * rsp_prod still at `start` writes these requests back before it serves
 * the ring again (vifq.c resume_*). `n` is 0 while the copy is written.
 */
#define NB_JOURNAL_SLOTS 256	/* __CONST_RING_SIZE(netif_tx or netif_rx, 4096) */
struct nb_ring_journal_tx {
	uint32_t start, n;
	union netif_tx_sring_entry e[NB_JOURNAL_SLOTS];
};
struct nb_ring_journal_rx {
	uint32_t start, n;
	union netif_rx_sring_entry e[NB_JOURNAL_SLOTS];
};

struct nb_vif_persist {
	/* Every format version starts with these two (an upgrade in place). */
	uint64_t magic;			/* NB_VIF_STATE_MAGIC */
	uint32_t version;		/* NB_VIF_STATE_VERSION */
	uint32_t domid, devid, nqueues;
	uint32_t ring_refs[2 * NB_MAX_QUEUES_CAP];	/* tx, rx per queue */
	uint32_t ports[2 * NB_MAX_QUEUES_CAP];		/* remote tx, rx per queue */
	uint32_t ctrl_ref, ctrl_port;
	struct nb_hash hash;
	struct nb_mcast mcast;
	struct nb_ring_journal_tx txj[NB_MAX_QUEUES_CAP];
	struct nb_ring_journal_rx rxj[NB_MAX_QUEUES_CAP];
	struct nb_ctrl_journal ctrlj;
};
#define NB_VIF_STATE_MAGIC 0x31464956424e4444ull	/* "DDNBVIF1" */
/* 2: the ring journals (version 1 had none, and lost requests its death
 * left half-answered). */
#define NB_VIF_STATE_VERSION 2

/* What the workers read about a vif (set before its queues start). */
struct nb_vif {
	char name[32];			/* "vif 5/0" */
	domid_t domid;
	unsigned devid;
	uint8_t mac[6];
	bool antispoof;
	unsigned nip;
	uint32_t ip[NB_VIF_MAX_IPS];	/* network byte order */
	/* The frontend's features (netif.h). */
	bool sg, gso4, gso6, csum4, csum6;
	unsigned nqueues;
	struct vifq *q[NB_MAX_QUEUES_CAP];
	/* The guest's control state: in the persist mapping. */
	struct nb_vif_persist *st;
	_Atomic bool mcast_on;		/* request-multicast-control sampled */
	_Atomic bool hash_on;		/* a ctrl ring is connected */
	/* rate: credit_bytes per credit_usec (0: unlimited), shared by the queues. */
	_Atomic uint64_t credit_bytes, credit_usec;
	_Atomic int64_t credit;
	_Atomic uint64_t next_refill_ns;
	_Atomic unsigned mtu;
	struct sw_port port;
	int fatal_fd;			/* eventfd: a queue's ring broke */
	/* --capture: what the guest sends (inbound) and receives (outbound). */
	struct nb_capture *_Atomic cap;
};

struct nb_ctx;
struct nb_capture;

struct nb_ctx_cfg {
	const struct nb_config *cfg;
	const struct xen_ops *ops;
	struct nb_workers *workers;
	struct sw *sw;
	struct rte_mempool *pool;
};

/*
 * The frontend's hash of a frame (netif.h XEN_NETIF_CTRL_TYPE_SET_HASH_*):
 * false unless it configured Toeplitz over a ctrl ring and one of its
 * hash types applies; else the value and the _XEN_NETIF_CTRL_HASH_TYPE_*
 * number. Any thread; reads the first 128 bytes.
 */
bool nb_vif_hash(const struct nb_vif *v, const struct rte_mbuf *m, uint32_t *hash,
		 uint8_t *type);

int nb_ctx_new(const struct nb_ctx_cfg *cc, struct nb_ctx **ret);
void nb_ctx_free(struct nb_ctx *c);
const struct xb_driver *nb_ctx_driver(struct nb_ctx *c);
int nb_ctx_set_state_dir(struct nb_ctx *c, const char *dir);
/* Stopping: keep the state files, so that the next run reattaches. */
void nb_ctx_keep_state(struct nb_ctx *c);
void nb_ctx_on_change(struct nb_ctx *c, void (*fn)(void *opaque), void *opaque);
unsigned nb_ctx_connected(const struct nb_ctx *c);
/* Every vif's features and counters. */
void nb_ctx_status(const struct nb_ctx *c, FILE *out);
/*
 * status-json: the members "connected" and "devices" (one object per vif)
 * into the caller's open object (docs/ddomctl.md).
 */
struct json;
void nb_ctx_status_json(const struct nb_ctx *c, struct json *j);
/* The vif named "DOMID/DEVID", or NULL. */
struct nb_vif *nb_ctx_find(struct nb_ctx *c, const char *name);
/*
 * The control command "capture WHAT FILE": starts writing vif WHAT
 * ("DOMID/DEVID") to FILE as pcapng, or stops with FILE "off". Answers in
 * out; -errno for the client.
 */
int nb_ctx_capture(struct nb_ctx *c, struct nb_workers *ws, const char *args, FILE *out);
/* Serves the control rings from the loop (their event channels). */
struct loop;
int nb_ctx_attach_loop(struct nb_ctx *c, struct loop *l);

#endif
