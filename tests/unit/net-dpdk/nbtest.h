/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the net-dpdk unit tests: one EAL start per program
 * (--no-huge --in-memory through nb_eal_init; exit 77 when it cannot
 * start), test frames (Ethernet + IPv4/IPv6 + TCP/UDP + a byte pattern,
 * optionally cut into a chain of odd-sized segments), and an independent
 * one's-complement checksum to check DPDK's and ours against.
 * Single-threaded unless a test says otherwise.
 */
#ifndef NB_TEST_H
#define NB_TEST_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "eal.h"
#include "log.h"
#include "pkt.h"
#include "tap.h"

static inline void nbt_eal_start(const char *ident)
{
	char why[256];
	int r;

	log_init(ident);
	log_set_max_level(LOG_WARNING);
	r = nb_eal_init(ident, "--no-huge -m 256", 256, why, sizeof(why));
	if (r < 0) {
		printf("1..0 # SKIP EAL: %s\n", why);
		exit(77);
	}
}

/* Independent Internet checksum over a flat buffer, added to `sum`. */
static inline uint32_t nbt_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static inline uint16_t nbt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

struct nbt_frame {
	bool v6, tcp;
	uint32_t payload;	/* L4 payload bytes */
	uint32_t seg;		/* 0: one segment; else the chain's segment size */
	uint32_t first;		/* with seg: the first segment's size (0: seg) */
	uint16_t ext;		/* IPv6: bytes of a hop-by-hop extension header (8 or 0) */
};

/* Header lengths of a test frame. */
static inline uint32_t nbt_l3(const struct nbt_frame *f)
{
	return f->v6 ? 40u + f->ext : 20u;
}

static inline uint32_t nbt_l4(const struct nbt_frame *f)
{
	return f->tcp ? 20u : 8u;
}

/* The frame as bytes; *len set. L4 checksum field holds 0xdead (garbage). */
static inline uint8_t *nbt_bytes(const struct nbt_frame *f, uint32_t *len)
{
	uint32_t l3 = nbt_l3(f), l4 = nbt_l4(f), n = 14 + l3 + l4 + f->payload, i;
	uint8_t *b = calloc(1, n), *ip = b + 14, *th = ip + l3;

	memset(b, 0x02, 6);
	memset(b + 6, 0x04, 6);
	b[12] = f->v6 ? 0x86 : 0x08;
	b[13] = f->v6 ? 0xdd : 0x00;
	if (!f->v6) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		h->version_ihl = 0x45;
		h->total_length = htons((uint16_t)(l3 + l4 + f->payload));
		h->packet_id = htons(100);
		h->time_to_live = 64;
		h->next_proto_id = f->tcp ? IPPROTO_TCP : IPPROTO_UDP;
		h->src_addr = htonl(0x0a000001);
		h->dst_addr = htonl(0x0a000002);
		h->hdr_checksum = rte_ipv4_cksum(h);
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		h->vtc_flow = htonl(6u << 28);
		h->payload_len = htons((uint16_t)(l3 - 40 + l4 + f->payload));
		h->proto = f->ext ? 0 : (f->tcp ? IPPROTO_TCP : IPPROTO_UDP);
		h->hop_limits = 64;
		h->src_addr[0] = 0xfd;
		h->src_addr[15] = 1;
		h->dst_addr[0] = 0xfd;
		h->dst_addr[15] = 2;
		if (f->ext) {	/* hop-by-hop, PadN to 8 bytes */
			ip[40] = f->tcp ? IPPROTO_TCP : IPPROTO_UDP;
			ip[41] = 0;
			ip[42] = 1;
			ip[43] = 4;
		}
	}
	if (f->tcp) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)th;

		t->src_port = htons(1234);
		t->dst_port = htons(80);
		t->sent_seq = htonl(0xfffff000u);	/* wraps during a 64 KiB send */
		t->data_off = 5 << 4;
		t->tcp_flags = 0x18 | 0x01;	/* PSH ACK FIN */
		t->rx_win = htons(1000);
		t->cksum = 0xadde;
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)th;

		u->src_port = htons(1234);
		u->dst_port = htons(53);
		u->dgram_len = htons((uint16_t)(8 + f->payload));
		u->dgram_cksum = 0xadde;
	}
	for (i = 0; i < f->payload; i++)
		th[l4 + i] = (uint8_t)(i * 7 + (i >> 8));
	*len = n;
	return b;
}

/* Bytes into an mbuf (chain of f->seg-sized segments when seg != 0). */
static inline struct rte_mbuf *nbt_mbuf(struct rte_mempool *mp, const uint8_t *b, uint32_t n,
					const struct nbt_frame *f)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	while (off < n) {
		uint32_t cap = f->seg ? (off == 0 && f->first ? f->first : f->seg) : 4096;
		uint32_t len = RTE_MIN(cap, n - off);
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), b + off, len);
		if (!head)
			head = m;
		else if (rte_pktmbuf_chain(head, m) < 0)
			return NULL;
		off += len;
	}
	return head;
}

static inline struct rte_mbuf *nbt_frame_mbuf(struct rte_mempool *mp, const struct nbt_frame *f)
{
	uint32_t n;
	uint8_t *b = nbt_bytes(f, &n);
	struct rte_mbuf *m = nbt_mbuf(mp, b, n, f);

	free(b);
	return m;
}

/* A copy of m's bytes (caller frees). */
static inline uint8_t *nbt_flat(const struct rte_mbuf *m)
{
	uint8_t *b = malloc(m->pkt_len ? m->pkt_len : 1);
	const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, b);

	if (p != b)
		memcpy(b, p, m->pkt_len);
	return b;
}

/* Does the flat frame's L4 checksum verify (pseudo-header with length)? */
static inline bool nbt_l4_ok(const uint8_t *b, uint32_t len, const struct nbt_frame *f)
{
	uint32_t l3 = nbt_l3(f), sum, l4len;
	const uint8_t *ip = b + 14;

	if (!f->v6) {
		l4len = (uint32_t)(ip[2] << 8 | ip[3]) - l3;
		sum = nbt_sum(ip + 12, 8, 0);
	} else {
		l4len = (uint32_t)(ip[4] << 8 | ip[5]) - (l3 - 40);
		sum = nbt_sum(ip + 8, 32, 0);
	}
	if (14 + l3 + l4len > len)
		return false;
	sum += f->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	sum += l4len;
	sum = nbt_sum(ip + l3, l4len, sum);
	return nbt_fold(sum) == 0xffff;
}

/* The pseudo-header sum (non-complemented) of a flat frame, length `l4len`. */
static inline uint16_t nbt_phdr(const uint8_t *b, const struct nbt_frame *f, uint32_t l4len)
{
	const uint8_t *ip = b + 14;
	uint32_t sum = f->v6 ? nbt_sum(ip + 8, 32, 0) : nbt_sum(ip + 12, 8, 0);

	sum += (f->tcp ? IPPROTO_TCP : IPPROTO_UDP) + l4len;
	return nbt_fold(sum);
}

/* The L4 checksum field of a flat frame, host order. */
static inline uint16_t nbt_csum_field(const uint8_t *b, const struct nbt_frame *f)
{
	const uint8_t *p = b + 14 + nbt_l3(f) + (f->tcp ? 16 : 6);

	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
