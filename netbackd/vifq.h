/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One netif queue of a vif: its TX ring (the guest sends), its RX ring (the
 * guest receives), their event channel(s), and the inbox of packets the
 * switch queued for the guest. A vifq is a pollable (worker.h) of exactly
 * one worker, which maps its rings and binds its ports on its own handles
 * (attach) and is the only thread that touches them.
 *
 * Guest TX: each slot is copied off the ring once (RING_COPY_REQUEST),
 * parsed (netif.h nb_tx_parse), checked against the vif's rate credit,
 * then every packet of the burst is grant-copied into mbufs in one batched
 * copy; anti-spoofing and the offload flags (pkt.h) are applied, each slot
 * is answered in ring order, and the packets go to the switch.
 * Guest RX: packets from the inbox get the guest's offloads (software
 * checksums or segmentation when it has not the feature), then are
 * grant-copied into the buffers the guest posted, a page per slot (several
 * slots with feature-sg, a GSO extra-info slot after the first), with
 * responses in the slots of their requests (netif.h). A guest that posts no
 * buffers holds at most a batch here (64 packets, up to 576 once a TSO frame
 * is segmented in software for a guest without GSO) and rx-backlog in the
 * inbox: the rest is dropped and counted (CVE-2021-28714/15), nobody else
 * waits.
 *
 * A frontend that breaks the protocol marks the queue broken: it stops, and
 * the vif is told through cfg.fatal_fd (an eventfd the loop thread
 * watches), which closes the device with its `error` node.
 *
 * Restart: nothing of a queue needs a file. Responses are produced in ring
 * order for whole packets and published only after their copies, so the
 * requests a dead daemon took but never visibly answered are exactly those
 * from the shared ring's rsp_prod to its req_prod; a reattaching queue sets
 * req_cons and rsp_prod_pvt to rsp_prod on both rings and serves them
 * again: each TX request is answered once, RX buffers the guest posted are
 * filled (a TX frame sent just before the kill may go out twice, which
 * Ethernet allows).
 */
#ifndef NETBACKD_VIFQ_H
#define NETBACKD_VIFQ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>

struct nb_vif;
struct wk_worker;
struct wk_pollable;
struct vifq;

struct vifq_cfg {
	struct nb_vif *vif;
	unsigned idx;			/* queue number */
	grant_ref_t tx_ref, rx_ref;
	evtchn_port_t tx_remote, rx_remote;	/* equal without split channels */
	unsigned backlog;		/* inbox size, a power of two */
	bool reattach;			/* resume live rings (see above) */
	int fatal_fd;
};

/* Counters (relaxed atomics), summed per vif for --status. */
enum {
	VQ_CNT_TX_PKTS,		/* frames the guest sent into the switch */
	VQ_CNT_TX_BYTES,
	VQ_CNT_TX_DROP_PROTO,	/* answered NETIF_RSP_ERROR: a bad request */
	VQ_CNT_TX_DROP_GRANT,	/* answered NETIF_RSP_ERROR: a grant copy failed */
	VQ_CNT_TX_DROP_SPOOF,	/* anti-spoofing */
	VQ_CNT_TX_DROP_OFFLOAD,	/* csum_blank / GSO on a frame that cannot have it */
	VQ_CNT_TX_MCAST_OPS,	/* multicast filter add/del requests */
	VQ_CNT_TX_THROTTLED,	/* passes stopped by the rate credit */
	VQ_CNT_TX_NOBUF,	/* passes stopped for want of mbufs */
	VQ_CNT_RX_PKTS,		/* frames given to the guest */
	VQ_CNT_RX_BYTES,
	VQ_CNT_RX_DROP_BACKLOG,	/* the inbox was full (guest not consuming) */
	VQ_CNT_RX_DROP_TOO_BIG,	/* larger than the guest's buffers take */
	VQ_CNT_RX_DROP_GRANT,	/* a copy into a guest buffer failed */
	VQ_CNT_RX_DROP_OFFLOAD,	/* software offload could not handle it */
	VQ_CNT_COPY_CALLS,	/* grant-copy calls */
	VQ_CNT_COPY_SEGS,	/* grant-copy segments */
	VQ_CNT_NOTIFY,		/* notifications sent to the guest */
	VQ_CNT_BATCHES,		/* passes that answered at least one request */
	VQ_CNT_REPLAYED,	/* TX requests served again after a restart */
	VQ_CNT_RESTORED,	/* ring slots written back from the journal at a reattach */
	VQ_CNT__MAX
};
extern const char *const vq_cnt_names[VQ_CNT__MAX];

/* Allocates the queue (inbox, batch arrays); nothing mapped or bound yet. */
int vifq_new(const struct vifq_cfg *cfg, struct vifq **ret);
/* After the worker detached it (or it was never attached). NULL is fine. */
void vifq_free(struct vifq *q);
struct wk_pollable *vifq_pollable(struct vifq *q);
/* The worker it is attached to (NULL before). */
struct wk_worker *vifq_worker(const struct vifq *q);
/*
 * Queues packets for the guest (any worker: `from` is the caller's).
 * Takes ownership: what the inbox cannot take is freed and counted.
 */
void vifq_deliver(struct vifq *q, struct wk_worker *from, struct rte_mbuf **pkts, uint16_t n);
/* Why the ring was declared broken (NULL while it is not). */
const char *vifq_broken(const struct vifq *q);
void vifq_counters(const struct vifq *q, uint64_t sum[VQ_CNT__MAX]);
/* A line of ring indices and queue depths, for --status (loop thread). */
void vifq_describe(const struct vifq *q, FILE *out);

#endif
