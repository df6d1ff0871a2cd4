// SPDX-License-Identifier: GPL-2.0-only
/*
 * The L2 switch (see sw.h). Data path: sw_input on any worker; control:
 * the port table and the dumps on the loop thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ether.h>
#include <rte_jhash.h>

#include "ctrl.h"
#include "log.h"
#include "sw.h"

const char *const sw_cnt_names[SW_CNT__MAX] = {
	[SW_CNT_RX_PKTS] = "rx",
	[SW_CNT_RX_BYTES] = "rx-bytes",
	[SW_CNT_TX_PKTS] = "tx",
	[SW_CNT_TX_BYTES] = "tx-bytes",
	[SW_CNT_FLOODED] = "flooded",
	[SW_CNT_DROP_BAD_SRC] = "drop-bad-src",
	[SW_CNT_DROP_SAME_PORT] = "drop-same-port",
	[SW_CNT_DROP_ISOLATED] = "drop-isolated",
	[SW_CNT_DROP_MCAST] = "drop-mcast-filter",
	[SW_CNT_DROP_NOBUF] = "drop-nobuf",
	[SW_CNT_FLOOD_NONE] = "flood-none",
};

#define BUCKET 4
/* An entry's key: the MAC in the high 48 bits, the port id in the low 16;
 * 0 is empty (an all-zero source MAC is never learned). */
#define KEY(mac48, port) (((mac48) << 16) | (port))
#define KEY_MAC(k) ((k) >> 16)
#define KEY_PORT(k) ((uint16_t)((k)&0xffff))

struct mac_ent {
	_Atomic uint64_t key;
	_Atomic uint32_t seen;		/* coarse monotonic seconds */
};

struct sw {
	struct mac_ent *tab;
	uint32_t mask;			/* buckets - 1 */
	uint32_t age;
	struct rte_mempool *copy_pool;	/* deep copies of flooded frames with offloads */
	_Atomic(struct sw_port *) ports[SW_MAX_PORTS];
	_Atomic unsigned nports_hi;	/* highest id in use + 1 */
};

static inline void cnt_add(struct sw_port *p, int i, uint64_t n)
{
	atomic_fetch_add_explicit(&p->cnt[i], n, memory_order_relaxed);
}

static uint32_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static inline uint64_t mac48(const struct rte_ether_addr *a)
{
	const uint8_t *b = a->addr_bytes;

	return (uint64_t)b[0] << 40 | (uint64_t)b[1] << 32 | (uint64_t)b[2] << 24 |
	       (uint64_t)b[3] << 16 | (uint64_t)b[4] << 8 | b[5];
}

static inline struct mac_ent *bucket(struct sw *s, uint64_t mac)
{
	uint32_t h = rte_jhash_2words((uint32_t)mac, (uint32_t)(mac >> 32), 0x5eed);

	return &s->tab[(h & s->mask) * BUCKET];
}

static inline bool fresh(const struct sw *s, uint32_t seen, uint32_t now)
{
	return now - seen <= s->age;
}

/* The port learned for mac, or -1. */
static int lookup(struct sw *s, uint64_t mac, uint32_t now)
{
	struct mac_ent *b = bucket(s, mac);

	for (int i = 0; i < BUCKET; i++) {
		uint64_t k = atomic_load_explicit(&b[i].key, memory_order_relaxed);

		if (k && KEY_MAC(k) == mac &&
		    fresh(s, atomic_load_explicit(&b[i].seen, memory_order_relaxed), now))
			return KEY_PORT(k);
	}
	return -1;
}

static void learn(struct sw *s, uint64_t mac, uint16_t port, uint32_t now)
{
	struct mac_ent *b = bucket(s, mac), *victim = NULL;
	uint32_t oldest = UINT32_MAX;

	for (int i = 0; i < BUCKET; i++) {
		uint64_t k = atomic_load_explicit(&b[i].key, memory_order_relaxed);
		uint32_t seen = atomic_load_explicit(&b[i].seen, memory_order_relaxed);

		if (k && KEY_MAC(k) == mac) {
			if (KEY_PORT(k) != port)	/* moved: a migrated guest */
				atomic_store_explicit(&b[i].key, KEY(mac, port),
						      memory_order_relaxed);
			/* Written once a second at most: no cache-line ping-pong. */
			if (seen != now)
				atomic_store_explicit(&b[i].seen, now, memory_order_relaxed);
			return;
		}
		if (!k || !fresh(s, seen, now))
			seen = 0;	/* free, or as good as */
		if (seen <= oldest) {
			oldest = seen;
			victim = &b[i];
		}
	}
	atomic_store_explicit(&victim->seen, now, memory_order_relaxed);
	atomic_store_explicit(&victim->key, KEY(mac, port), memory_order_relaxed);
}

int sw_new(unsigned mac_table, unsigned mac_age, struct rte_mempool *copy_pool, struct sw **ret)
{
	struct sw *s = calloc(1, sizeof(*s));
	unsigned n = 64;

	if (!s)
		return -ENOMEM;
	while (n < mac_table && n < (1u << 24))
		n <<= 1;
	s->tab = calloc(n, sizeof(*s->tab));
	if (!s->tab) {
		free(s);
		return -ENOMEM;
	}
	s->mask = n / BUCKET - 1;
	s->age = mac_age;
	s->copy_pool = copy_pool;
	*ret = s;
	return 0;
}

void sw_free(struct sw *s)
{
	if (!s)
		return;
	free(s->tab);
	free(s);
}

int sw_port_add(struct sw *s, struct sw_port *p)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *expect = NULL;

		if (atomic_load(&s->ports[i]))
			continue;
		p->id = (uint16_t)i;
		if (!atomic_compare_exchange_strong(&s->ports[i], &expect, p))
			continue;
		if (atomic_load(&s->nports_hi) <= i)
			atomic_store(&s->nports_hi, i + 1);
		log_debug("switch: %s joins as port %u", p->name, i);
		return 0;
	}
	return -ENOSPC;
}

void sw_port_remove(struct sw *s, struct sw_port *p)
{
	uint32_t n = (s->mask + 1) * BUCKET;

	if (!p || atomic_load(&s->ports[p->id]) != p)
		return;
	atomic_store(&s->ports[p->id], NULL);
	log_debug("switch: %s leaves port %u", p->name, p->id);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = atomic_load_explicit(&s->tab[i].key, memory_order_relaxed);

		if (k && KEY_PORT(k) == p->id)
			atomic_store_explicit(&s->tab[i].key, 0, memory_order_relaxed);
	}
}

struct sw_port *sw_port_get(struct sw *s, unsigned id)
{
	return id < SW_MAX_PORTS ? atomic_load(&s->ports[id]) : NULL;
}

/* --- staging --- */

static void flush_one(struct sw_stage *st, void *ctx, uint16_t id)
{
	struct sw_port *p = st->dst[id].port;
	uint16_t n = st->dst[id].n;
	uint64_t bytes = 0;

	if (!n)
		return;
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(st->dst[id].pkts[i]);
	cnt_add(p, SW_CNT_TX_PKTS, n);
	cnt_add(p, SW_CNT_TX_BYTES, bytes);
	st->dst[id].n = 0;
	p->egress(p, ctx, st->dst[id].pkts, n);
}

static void stage(struct sw_stage *st, void *ctx, struct sw_port *p, struct rte_mbuf *m)
{
	uint16_t id = p->id;

	if (st->dst[id].n == 0) {
		st->dst[id].port = p;
		/* Once per batch: a port whose burst filled and was flushed
		 * starts again at n == 0 but is listed already. Listing it
		 * again could run touched[] past its SW_MAX_PORTS entries
		 * (a frame flooded to more than 128 ports in a batch of more
		 * than SW_BURST frames), over dst[0]. */
		if (!st->dst[id].listed) {
			st->dst[id].listed = true;
			st->touched[st->ntouched++] = id;
		}
	}
	st->dst[id].pkts[st->dst[id].n++] = m;
	if (st->dst[id].n == SW_BURST)
		flush_one(st, ctx, id);
}

static void sw_flush(struct sw_stage *st, void *ctx)
{
	for (uint16_t i = 0; i < st->ntouched; i++) {
		flush_one(st, ctx, st->touched[i]);
		st->dst[st->touched[i]].listed = false;
	}
	st->ntouched = 0;
}

/* --- forwarding --- */

static bool may_pass(const struct sw_port *in, const struct sw_port *out)
{
	if (in->kind == SW_VIF && out->kind == SW_VIF)
		return !in->isolated && !out->isolated;
	return true;
}

static bool mcast_wanted(struct sw_port *out, const struct rte_ether_addr *dst)
{
	if (out->kind != SW_VIF || !out->mcast || !out->mcast_on ||
	    !atomic_load_explicit(out->mcast_on, memory_order_relaxed) ||
	    rte_is_broadcast_ether_addr(dst))
		return true;
	return nb_mcast_match(out->mcast, dst->addr_bytes);
}

/*
 * One more reference for another port: the same mbuf when nobody will
 * write into it (no offload work left), a deep copy otherwise (each egress
 * fills checksum fields its own way: pkt.h).
 */
static struct rte_mbuf *dup(struct sw *s, struct rte_mbuf *m)
{
	if (!(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG))) {
		rte_pktmbuf_refcnt_update(m, 1);	/* every segment */
		return m;
	}
	return rte_pktmbuf_copy(m, s->copy_pool, 0, UINT32_MAX);
}

static void flood(struct sw *s, struct sw_stage *st, void *ctx, struct sw_port *in,
		  struct rte_mbuf *m, const struct rte_ether_addr *dst)
{
	unsigned hi = atomic_load_explicit(&s->nports_hi, memory_order_acquire);
	struct sw_port *last = NULL;

	cnt_add(in, SW_CNT_FLOODED, 1);
	for (unsigned i = 0; i < hi; i++) {
		struct sw_port *out = atomic_load_explicit(&s->ports[i], memory_order_acquire);
		struct rte_mbuf *c;

		if (!out || out == in)
			continue;
		if (!may_pass(in, out))
			continue;
		if (rte_is_multicast_ether_addr(dst) && !mcast_wanted(out, dst)) {
			cnt_add(out, SW_CNT_DROP_MCAST, 1);
			continue;
		}
		/* The original goes to the last taker; earlier ones get copies. */
		if (last) {
			c = dup(s, m);
			if (!c) {
				cnt_add(last, SW_CNT_DROP_NOBUF, 1);
			} else {
				stage(st, ctx, last, c);
			}
		}
		last = out;
	}
	if (last) {
		stage(st, ctx, last, m);
	} else {
		cnt_add(in, SW_CNT_FLOOD_NONE, 1);
		rte_pktmbuf_free(m);
	}
}

static void forward(struct sw *s, struct sw_stage *st, void *ctx, struct rte_mbuf *m,
		    uint32_t now)
{
	struct sw_port *in = m->port < SW_MAX_PORTS ? atomic_load_explicit(
				     &s->ports[m->port], memory_order_acquire) : NULL;
	struct rte_ether_hdr *eh;
	uint64_t src;
	int out_id;

	if (!in || rte_pktmbuf_data_len(m) < sizeof(*eh)) {
		rte_pktmbuf_free(m);
		return;
	}
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	cnt_add(in, SW_CNT_RX_PKTS, 1);
	cnt_add(in, SW_CNT_RX_BYTES, rte_pktmbuf_pkt_len(m));
	if (rte_is_multicast_ether_addr(&eh->src_addr) || rte_is_zero_ether_addr(&eh->src_addr)) {
		cnt_add(in, SW_CNT_DROP_BAD_SRC, 1);
		rte_pktmbuf_free(m);
		return;
	}
	src = mac48(&eh->src_addr);
	learn(s, src, in->id, now);
	if (rte_is_multicast_ether_addr(&eh->dst_addr)) {
		flood(s, st, ctx, in, m, &eh->dst_addr);
		return;
	}
	out_id = lookup(s, mac48(&eh->dst_addr), now);
	if (out_id < 0) {
		flood(s, st, ctx, in, m, &eh->dst_addr);
		return;
	}
	{
		struct sw_port *out = atomic_load_explicit(&s->ports[out_id], memory_order_acquire);

		if (!out) {
			flood(s, st, ctx, in, m, &eh->dst_addr);
		} else if (out == in) {
			cnt_add(in, SW_CNT_DROP_SAME_PORT, 1);
			rte_pktmbuf_free(m);
		} else if (!may_pass(in, out)) {
			cnt_add(in, SW_CNT_DROP_ISOLATED, 1);
			rte_pktmbuf_free(m);
		} else {
			stage(st, ctx, out, m);
		}
	}
}

void sw_input(struct sw *s, struct sw_stage *st, void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	uint32_t now = now_s();

	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		forward(s, st, ctx, pkts[i], now);
	}
	sw_flush(st, ctx);
}

/* --- control --- */

unsigned sw_mac_count(struct sw *s)
{
	uint32_t n = (s->mask + 1) * BUCKET, now = now_s();
	unsigned c = 0;

	for (uint32_t i = 0; i < n; i++)
		if (atomic_load(&s->tab[i].key) && fresh(s, atomic_load(&s->tab[i].seen), now))
			c++;
	return c;
}

void sw_dump_macs(struct sw *s, FILE *out)
{
	uint32_t n = (s->mask + 1) * BUCKET, now = now_s();

	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = atomic_load(&s->tab[i].key), mac = KEY_MAC(k);
		uint32_t seen = atomic_load(&s->tab[i].seen);
		struct sw_port *p;

		if (!k || !fresh(s, seen, now))
			continue;
		p = sw_port_get(s, KEY_PORT(k));
		fprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x %s %us\n",
			(unsigned)(mac >> 40) & 0xff, (unsigned)(mac >> 32) & 0xff,
			(unsigned)(mac >> 24) & 0xff, (unsigned)(mac >> 16) & 0xff,
			(unsigned)(mac >> 8) & 0xff, (unsigned)mac & 0xff,
			p ? p->name : "(gone)", now - seen);
	}
}
