// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront offload conversions (see netfront.h): a TAP frame's
 * virtio_net_hdr (<linux/virtio_net.h>) into netif TX flags and a GSO extra,
 * a received packet's netif flags and GSO extra into a virtio_net_hdr, and
 * the header walk and Internet checksum both need.
 *
 * netif says only "checksum blank" and "TCP segmentation, MSS n"
 * (xen/io/netif.h NETTXF_csum_blank, XEN_NETIF_EXTRA_TYPE_GSO), so the other
 * side finds the TCP/UDP header itself, as Linux's skb_checksum_setup does in
 * both xen-netfront and xen-netback; virtio says where the checksum is. A
 * partial checksum netif cannot carry is completed here in software.
 *
 * Pure: no I/O, no allocation; any thread. Headers are bounds-checked
 * against the frame length before every read.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "netfront.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv6 extension headers skb_checksum_setup_ipv6 walks: hop-by-hop, routing, destination. */
static int ipv6_skip_ext(const uint8_t *f, size_t len, size_t *off, uint8_t *nh)
{
	for (int i = 0; i < 8; i++) {
		if (*nh != 0 && *nh != 43 && *nh != 60)
			return 0;
		if (*off + 8 > len)
			return -EPROTONOSUPPORT;
		*nh = f[*off];
		*off += (size_t)(f[*off + 1] + 1) * 8;
	}
	return -EPROTONOSUPPORT;
}

static int l3_locate(const uint8_t *f, size_t len, size_t off, uint16_t et, struct nf_l4 *ret)
{
	uint8_t nh;

	if (et == 0x0800) {
		if (off + 20 > len || (f[off] >> 4) != 4 || (f[off] & 15) < 5)
			return -EPROTONOSUPPORT;
		/* A fragment carries no (whole) L4 header. */
		if (be16(f + off + 6) & 0x3fff)
			return -EPROTONOSUPPORT;
		nh = f[off + 9];
		off += (size_t)(f[off] & 15) * 4;
		ret->ipver = 4;
	} else if (et == 0x86dd) {
		if (off + 40 > len || (f[off] >> 4) != 6)
			return -EPROTONOSUPPORT;
		nh = f[off + 6];
		off += 40;
		if (ipv6_skip_ext(f, len, &off, &nh) < 0)
			return -EPROTONOSUPPORT;
		ret->ipver = 6;
	} else {
		return -EPROTONOSUPPORT;
	}
	if (nh == IPPROTO_TCP && off + 20 <= len && off + (size_t)(f[off + 12] >> 4) * 4 <= len &&
	    (f[off + 12] >> 4) >= 5)
		ret->hdr_len = (uint16_t)(off + (size_t)(f[off + 12] >> 4) * 4);
	else if (nh == IPPROTO_UDP && off + 8 <= len)
		ret->hdr_len = (uint16_t)(off + 8);
	else
		return -EPROTONOSUPPORT;
	ret->proto = nh;
	ret->l4_off = (uint16_t)off;
	return 0;
}

int nf_l4_locate(const uint8_t *f, size_t len, struct nf_l4 *ret)
{
	uint16_t et;
	size_t off = NF_ETH_HLEN;

	memset(ret, 0, sizeof(*ret));
	if (len < NF_ETH_HLEN || len > NF_RX_BUF_MAX)
		return -EPROTONOSUPPORT;
	et = be16(f + 12);
	if (et == 0x8100) {
		if (len < NF_ETH_HLEN + 4)
			return -EPROTONOSUPPORT;
		et = be16(f + 16);
		off += 4;
	}
	return l3_locate(f, len, off, et, ret);
}

static uint16_t csum_off_of(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : 6;
}

int nf_csum_complete(uint8_t *f, size_t len, uint16_t start, uint16_t off)
{
	uint64_t sum = 0;
	size_t i;
	uint16_t c;

	if ((size_t)start + off + 2 > len)
		return -EINVAL;
	/* The field holds the pseudo-header sum: it is part of what is summed. */
	for (i = start; i + 1 < len; i += 2)
		sum += be16(f + i);
	if (i < len)
		sum += (uint16_t)(f[i] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	/* RFC 768: a UDP checksum of 0 is sent as all ones. */
	if (!c && off == 6)
		c = 0xffff;
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
	return 0;
}

/* A NEEDS_CSUM frame: offload it when netif can say it, else finish it here. */
static int tx_partial(const struct virtio_net_hdr *h, uint8_t *f, size_t len,
		      const struct nf_tx_caps *caps, bool gso, struct nf_tx_meta *ret)
{
	struct nf_l4 l4;
	bool can = nf_l4_locate(f, len, &l4) == 0 && h->csum_start == l4.l4_off &&
		   h->csum_offset == csum_off_of(l4.proto) &&
		   (l4.ipver == 4 ? caps->csum4 : caps->csum6);

	if (can) {
		ret->flags = NETTXF_csum_blank | NETTXF_data_validated;
		return 0;
	}
	/* A segmented frame cannot have its checksum finished before segmentation. */
	if (gso)
		return -EOPNOTSUPP;
	if (nf_csum_complete(f, len, h->csum_start, h->csum_offset) < 0)
		return -EINVAL;
	ret->flags = NETTXF_data_validated;
	return 0;
}

int nf_vnet_to_tx(const struct virtio_net_hdr *h, uint8_t *f, size_t len,
		  const struct nf_tx_caps *caps, struct nf_tx_meta *ret)
{
	uint8_t gt = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (gt == VIRTIO_NET_HDR_GSO_TCPV4 && caps->gso4)
		ret->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	else if (gt == VIRTIO_NET_HDR_GSO_TCPV6 && caps->gso6)
		ret->gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	else if (gt != VIRTIO_NET_HDR_GSO_NONE)
		return -EOPNOTSUPP;
	if (ret->gso_type) {
		if (!h->gso_size)
			return -EINVAL;
		ret->gso_size = h->gso_size;
		/* netback takes GSO only with a partial checksum (skb_is_gso -> CHECKSUM_PARTIAL). */
		if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EOPNOTSUPP;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		r = tx_partial(h, f, len, caps, ret->gso_type, ret);
		if (r < 0)
			return r;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		ret->flags = NETTXF_data_validated;
	}
	return 0;
}

int nf_rx_to_vnet(const struct nf_rx_pkt *p, const uint8_t *f, struct virtio_net_hdr *ret)
{
	struct nf_l4 l4;
	bool partial = p->flags & NETRXF_csum_blank;

	memset(ret, 0, sizeof(*ret));
	if (!partial && !p->gso_type) {
		if (p->flags & NETRXF_data_validated)
			ret->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	/* As xen-netfront's checksum_setup: a partial packet must have TCP/UDP to finish. */
	if (nf_l4_locate(f, p->len, &l4) < 0)
		return -EPROTO;
	ret->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	ret->csum_start = l4.l4_off;
	ret->csum_offset = csum_off_of(l4.proto);
	if (!p->gso_type)
		return 0;
	if (l4.proto != IPPROTO_TCP ||
	    (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4) != (l4.ipver == 4))
		return -EPROTO;
	ret->gso_type = l4.ipver == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	ret->gso_size = p->gso_size;
	ret->hdr_len = l4.hdr_len;
	return 0;
}
