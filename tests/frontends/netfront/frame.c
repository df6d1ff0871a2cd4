// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront generator frames (see netfront.h): CRC32, building and checking
 * frames of ethertype 0x88B5, and the per-stream sequence accounting that
 * turns what arrived into received / lost / reordered / duplicated.
 *
 * Pure: no I/O, no allocation, callable from any thread on its own data
 * (the CRC table is built once, before the workers start, by nf_crc32's
 * first caller or the unit tests). Never trusts a received frame's fields:
 * lengths are checked before they are used.
 */
#include <errno.h>
#include <string.h>

#include "netfront.h"

static uint32_t crc_tab[8][256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
	crc_ready = true;
}

/* Slice-by-8 (little-endian loads): the flood's per-frame cost. */
uint32_t nf_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t w;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		w ^= crc;
		crc = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		      crc_tab[5][(w >> 16) & 0xff] ^ crc_tab[4][(w >> 24) & 0xff] ^
		      crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		      crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
	}
	while (len--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint64_t nf_rand(uint64_t *state)
{
	/* splitmix64 (Steele, Lea, Flood 2014): any state, including 0, is fine. */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void nf_gen_payload(uint8_t *frame, size_t len, uint32_t stream, uint64_t seq)
{
	uint64_t st = seq ^ ((uint64_t)stream << 40) ^ len, x = 0;
	size_t i = NF_GEN_HLEN;

	for (; i + 8 <= len; i += 8) {
		x = nf_rand(&st);
		memcpy(frame + i, &x, 8);
	}
	for (; i < len; i++)
		frame[i] = (uint8_t)(x >> (8 * (i & 7)));
}

uint32_t nf_gen_payload_crc(const uint8_t *frame, size_t len)
{
	return len > NF_GEN_HLEN ? nf_crc32(0, frame + NF_GEN_HLEN, len - NF_GEN_HLEN) : 0;
}

static uint32_t frame_crc(uint32_t payload_crc, const struct nf_gen_hdr *h)
{
	return nf_crc32(payload_crc, h, NF_GEN_CRC_SPAN);
}

void nf_gen_stamp(uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6],
		  uint32_t stream, uint64_t seq, uint32_t payload_crc)
{
	struct nf_gen_hdr h = { .magic = NF_GEN_MAGIC, .stream = stream, .seq = seq,
				.len = (uint32_t)len };

	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = NF_ETHERTYPE_GEN >> 8;
	frame[13] = NF_ETHERTYPE_GEN & 0xff;
	h.crc = frame_crc(payload_crc, &h);
	memcpy(frame + NF_ETH_HLEN, &h, sizeof(h));
}

void nf_gen_build(uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6],
		  uint32_t stream, uint64_t seq)
{
	nf_gen_payload(frame, len, stream, seq);
	nf_gen_stamp(frame, len, dst, src, stream, seq, nf_gen_payload_crc(frame, len));
}

void nf_mac_fmt(const uint8_t mac[6], char out[static 18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

enum nf_gen_verdict nf_gen_check(const uint8_t *frame, size_t len, uint32_t *ret_stream,
				 uint64_t *ret_seq)
{
	struct nf_gen_hdr h;

	if (len < NF_ETH_HLEN || frame[12] != (NF_ETHERTYPE_GEN >> 8) ||
	    frame[13] != (NF_ETHERTYPE_GEN & 0xff))
		return NF_GEN_NOT_OURS;
	if (len < NF_GEN_HLEN)
		return NF_GEN_CORRUPT;
	memcpy(&h, frame + NF_ETH_HLEN, sizeof(h));
	if (h.magic != NF_GEN_MAGIC)
		return NF_GEN_NOT_OURS;
	*ret_stream = h.stream;
	*ret_seq = h.seq;
	if (h.len < NF_GEN_HLEN || (h.len != len && !(h.len < NF_ETH_MIN && len == NF_ETH_MIN)))
		return NF_GEN_CORRUPT;
	if (frame_crc(nf_gen_payload_crc(frame, h.len), &h) != h.crc)
		return NF_GEN_CORRUPT;
	return NF_GEN_OK;
}

/* ---- sequence accounting ---- */

void nf_seq_init(struct nf_seq *t)
{
	memset(t, 0, sizeof(*t));
}

static struct nf_seq_stream *find_stream(struct nf_seq *t, uint32_t id)
{
	for (unsigned i = 0; i < t->nstreams; i++)
		if (t->s[i].id == id)
			return &t->s[i];
	if (t->nstreams == NF_MAX_STREAMS)
		return NULL;
	t->s[t->nstreams].id = id;
	return &t->s[t->nstreams++];
}

static bool bit_test(const struct nf_seq_stream *s, uint64_t seq)
{
	unsigned b = (unsigned)(seq % NF_SEQ_WINDOW);

	return s->seen[b / 64] & (1ull << (b % 64));
}

static void bit_set(struct nf_seq_stream *s, uint64_t seq, bool on)
{
	unsigned b = (unsigned)(seq % NF_SEQ_WINDOW);

	if (on)
		s->seen[b / 64] |= 1ull << (b % 64);
	else
		s->seen[b / 64] &= ~(1ull << (b % 64));
}

enum nf_seq_event nf_seq_add(struct nf_seq *t, uint32_t stream, uint64_t seq)
{
	struct nf_seq_stream *s = find_stream(t, stream);

	if (!s) {
		t->overflow++;
		return NF_SEQ_OVERFLOW;
	}
	if (seq >= s->next) {
		uint64_t gap = seq - s->next;

		/* Forget the window slots the new range reuses. */
		if (gap >= NF_SEQ_WINDOW)
			memset(s->seen, 0, sizeof(s->seen));
		else
			for (uint64_t i = s->next; i < seq; i++)
				bit_set(s, i, false);
		bit_set(s, seq, true);
		t->lost += gap;
		s->next = seq + 1;
		t->received++;
		return NF_SEQ_NEW;
	}
	if (s->next - seq <= NF_SEQ_WINDOW && bit_test(s, seq)) {
		t->duplicates++;
		return NF_SEQ_DUP;
	}
	if (s->next - seq <= NF_SEQ_WINDOW)
		bit_set(s, seq, true);
	/* It was counted lost when the stream passed it. */
	if (t->lost)
		t->lost--;
	t->reordered++;
	t->received++;
	return NF_SEQ_LATE;
}
