// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for netbackd's guest-TX parser (netbackd/netif.c), which
 * sees every slot a frontend puts on a TX ring. Input: the bytes are the
 * slots (12 bytes each, sizeof(union nb_tx_slot); a short tail is dropped),
 * copied to a heap array of exactly that many slots so that a read past
 * `avail` is an ASan report. The target parses packet after packet as the
 * TX worker would, until a fatal verdict or an incomplete chain, and traps
 * when one of nb_tx_parse's promises (netif.h) is broken:
 *   - nslots <= avail, and >= 1 for OK and DROP, <= NB_TX_MAX_SLOTS;
 *   - a reason for DROP and FATAL, none for OK;
 *   - on OK: 1..NB_TX_MAX_FRAGS fragments (0 for a multicast request), each
 *     inside its page, sizes adding up to len, the first >= 14 bytes, a GSO
 *     extra with a size and a TCP type, and a response layout of the first
 *     slot, then NULL responses for the extras, then the fragments' ids.
 *
 * Built with -Dfuzzing=true (clang, -fsanitize=fuzzer); the same file is
 * linked with replay.c into a plain program that replays the corpus in the
 * normal test suite.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void promise(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void check_ok(const struct nb_tx_pkt *p)
{
	unsigned i, nnull = 0, sum = 0;

	promise(!p->rsp_null[0]);
	for (i = 1; i < p->nslots; i++)
		nnull += p->rsp_null[i];
	/* The NULL slots come right after the first one. */
	for (i = 1; i <= nnull; i++)
		promise(p->rsp_null[i]);
	promise(nnull <= NB_TX_MAX_EXTRAS);
	if (p->extras & (1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD | 1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL)) {
		promise(p->nfrags == 0 && p->nslots == 1 + nnull);
		return;
	}
	promise(p->nfrags >= 1 && p->nfrags <= NB_TX_MAX_FRAGS);
	promise(p->nslots == p->nfrags + nnull);
	for (i = 0; i < p->nfrags; i++) {
		promise((unsigned)p->frag[i].offset + p->frag[i].size <= 4096);
		promise(p->rsp_id[i ? nnull + i : 0] == p->frag[i].id);
		sum += p->frag[i].size;
	}
	promise(sum == p->len);
	promise(p->frag[0].size >= 14);
	if (p->extras & (1u << XEN_NETIF_EXTRA_TYPE_GSO))
		promise(p->gso_size && (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 ||
					p->gso_type == XEN_NETIF_GSO_TYPE_TCPV6));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(union nb_tx_slot);
	union nb_tx_slot *slots;
	struct nb_tx_pkt pkt;
	const char *why;
	size_t pos = 0;

	if (n > 1024)
		n = 1024;
	slots = malloc(n ? n * sizeof(*slots) : 1);
	if (!slots)
		return 0;
	memcpy(slots, data, n * sizeof(*slots));
	for (;;) {
		unsigned avail = (unsigned)(n - pos);
		enum nb_tx_verdict v = nb_tx_parse(slots + pos, avail, &pkt, &why);

		if (v == NB_TX_INCOMPLETE)
			break;
		promise(pkt.nslots <= avail && pkt.nslots <= NB_TX_MAX_SLOTS);
		if (v == NB_TX_FATAL) {
			promise(why != NULL);
			break;
		}
		promise(pkt.nslots >= 1);
		if (v == NB_TX_DROP) {
			promise(why != NULL && !pkt.rsp_null[0]);
		} else {
			promise(v == NB_TX_OK && why == NULL);
			check_ok(&pkt);
		}
		pos += pkt.nslots;
	}
	free(slots);
	return 0;
}
