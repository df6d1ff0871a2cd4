/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The switch: an L2 learning switch between ports (every vif, every
 * uplink). It knows only ports: a port has an egress function taking a
 * burst of mbufs and, for a vif, a multicast filter and an isolation flag.
 *
 *   - MAC learning from each frame's source (a fixed-size table: buckets of
 *     four entries, bounded at start, entries aged out after mac-age
 *     seconds, a full bucket replaces its oldest entry);
 *   - known unicast goes to its port; broadcast, multicast and unknown
 *     unicast are flooded to every other port;
 *   - a vif that asked for multicast control (netif.h
 *     "request-multicast-control") gets only the multicast groups in its
 *     filter (broadcast always);
 *   - an isolated vif exchanges frames with uplinks only, never with
 *     another vif;
 *   - a frame is never sent back out of the port it came in by.
 *
 * Threads: sw_input/sw_flush run on the data-path workers, concurrently,
 * with no lock: the MAC table's entries are single 64-bit words (MAC and
 * port packed), so a reader sees an old or a new entry, never half of one;
 * two workers learning at once may each overwrite the other's entry, which
 * the next frame relearns. Ports are added and removed by the loop thread:
 * sw_port_remove unpublishes the port, and the caller must wait until
 * every worker has passed a quiescent point (worker.h nb_workers_sync)
 * before the port's memory goes away.
 *
 * Never allocates after sw_new (staging lives in the caller's struct
 * sw_stage), never blocks, never logs on the data path.
 */
#ifndef NETBACKD_SW_H
#define NETBACKD_SW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>

/* Ports the switch holds at once: vifs and uplinks (a vif is one port
 * however many queues it has). Fixed, so staging is an array. */
#define SW_MAX_PORTS 256
/* Packets staged per destination before they are handed over. */
#define SW_BURST 32

enum sw_kind { SW_VIF, SW_UPLINK };

/* Per-port counters (relaxed atomics; several workers add to one port). */
enum {
	SW_CNT_RX_PKTS,		/* frames that entered the switch by this port */
	SW_CNT_RX_BYTES,
	SW_CNT_TX_PKTS,		/* frames handed to this port's egress */
	SW_CNT_TX_BYTES,
	SW_CNT_FLOODED,		/* frames from this port that were flooded */
	SW_CNT_DROP_BAD_SRC,	/* multicast or zero source MAC */
	SW_CNT_DROP_SAME_PORT,	/* destination learned on the input port */
	SW_CNT_DROP_ISOLATED,	/* vif to vif where one side is isolated */
	SW_CNT_DROP_MCAST,	/* multicast not in this vif's filter */
	SW_CNT_DROP_NOBUF,	/* no mbuf to copy a flooded frame */
	SW_CNT_FLOOD_NONE,	/* frames from this port flooded to no other port */
	SW_CNT__MAX
};
extern const char *const sw_cnt_names[SW_CNT__MAX];

struct sw_port;
struct sw_stage;
/*
 * Hands a burst to a port. Takes ownership of every mbuf (what it cannot
 * deliver it frees and counts itself). `ctx` is the calling worker's
 * (worker.h) and `p->opaque` the port owner's. The mbufs may be shared
 * with other ports (refcnt > 1): an egress must not write into a shared
 * mbuf's data or metadata.
 */
typedef void (*sw_egress_fn)(struct sw_port *p, void *ctx, struct rte_mbuf **pkts, uint16_t n);

struct sw_port {
	enum sw_kind kind;
	uint16_t id;			/* set by sw_port_add; mbuf->port on ingress */
	bool isolated;
	/* A vif's multicast filter: applied while *mcast_on (may be NULL). */
	const struct nb_mcast *mcast;
	const _Atomic bool *mcast_on;
	sw_egress_fn egress;
	void *opaque;
	char name[40];			/* "vif 5/0", "uplink net_tap0" */
	_Atomic uint64_t cnt[SW_CNT__MAX];	/* the whole life of the port: not reset on re-add */
};

/* A worker's staging area (one per worker, sized for SW_MAX_PORTS). */
struct sw_stage {
	uint16_t ntouched;
	uint16_t touched[SW_MAX_PORTS];
	struct {
		struct sw_port *port;
		uint16_t n;
		bool listed;		/* in touched[] until sw_flush */
		struct rte_mbuf *pkts[SW_BURST];
	} dst[SW_MAX_PORTS];
};

struct sw;

/* mac_table entries (rounded up to a power of two, at least 64); age in s. */
int sw_new(unsigned mac_table, unsigned mac_age, struct rte_mempool *copy_pool, struct sw **ret);
void sw_free(struct sw *s);
/* Publishes p with a free id (-ENOSPC when SW_MAX_PORTS are in use). */
int sw_port_add(struct sw *s, struct sw_port *p);
/*
 * Unpublishes p and forgets every MAC learned on it. The caller then waits
 * for the workers to be quiescent before freeing p.
 */
void sw_port_remove(struct sw *s, struct sw_port *p);

/*
 * Switches a burst that entered by port pkts[i]->port (all the same or
 * not). Consumes every mbuf. Hands frames to egresses as staging fills and
 * at the end (sw_flush), so nothing stays staged after it returns.
 */
void sw_input(struct sw *s, struct sw_stage *st, void *ctx, struct rte_mbuf **pkts, uint16_t n);

/* Learned entries: a line per entry ("MAC port age-s"); loop thread. */
void sw_dump_macs(struct sw *s, FILE *out);
unsigned sw_mac_count(struct sw *s);
/* Every published port, for status (loop thread). */
struct sw_port *sw_port_get(struct sw *s, unsigned id);

#endif
