// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel TAP uplink (see ktap.h). The TAP API is the kernel's
 * Documentation/networking/tuntap.rst and <linux/if_tun.h>; the header is
 * struct virtio_net_hdr (<linux/virtio_net.h>), little-endian
 * (TUNSETVNETLE), 10 bytes (TUNSETVNETHDRSZ): flags NEEDS_CSUM (csum_start,
 * csum_offset: Linux CHECKSUM_PARTIAL, the field seeded with the
 * pseudo-header sum) and DATA_VALID, gso_type TCPV4/TCPV6 with gso_size the
 * MSS. TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) is what the
 * kernel may hand us; without TUN_F_TSO_ECN it segments CWR-marked packets
 * itself, and no UDP GSO is asked for. What it takes from us it checks
 * (virtio_net_hdr_to_skb, SKB_GSO_DODGY).
 *
 * RX: each queue keeps enough mbufs for the largest frame (a 64 KiB GSO
 * packet: tun's gso_max_size, plus a VLAN tag the kernel inserts on the
 * way out) and reads the header and the frame into them with one readv;
 * the segments used become the chain, the rest wait for the next frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xen/io/netif.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "ktap.h"
#include "log.h"
#include "offload.h"
#include "pkt.h"

/* tun's GSO limit (GSO_LEGACY_MAX_SIZE; tun raises no tso_max_size) and a VLAN tag. */
#define KTAP_FRAME_MAX (65536 + 4)
#define KTAP_SEGS_MAX 64
#define KTAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)


struct ktap_queue {
	int fd;
	bool detached;		/* the interface was deleted under us: EBADFD (receives nothing) */
	unsigned nstash;
	struct rte_mbuf *stash[KTAP_SEGS_MAX];
};

struct nb_ktap {
	char ifname[IF_NAMESIZE];
	unsigned nq;
	unsigned rx_segs;	/* mbufs for a KTAP_FRAME_MAX frame */
	uint16_t seg_room;
	struct rte_mempool *pool;
	struct ktap_queue q[];
};

static int if_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

static int queue_open(const char *ifname, bool mq, int *ret)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = sizeof(struct virtio_net_hdr), le = 1;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), r = 0;

	if (fd < 0)
		return -errno;
	if (mq)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETVNETLE, &le) < 0 || ioctl(fd, TUNSETOFFLOAD, KTAP_OFFLOADS) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static void queue_close(struct ktap_queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	rte_pktmbuf_free_bulk(q->stash, q->nstash);
	q->nstash = 0;
}

/* The queue's stash topped up to a full frame's mbufs; false if the pool is dry. */
static bool stash_fill(struct nb_ktap *t, struct ktap_queue *q)
{
	unsigned need = t->rx_segs - q->nstash;

	if (need && rte_pktmbuf_alloc_bulk(t->pool, q->stash + q->nstash, need) < 0)
		return false;
	q->nstash = t->rx_segs;
	return true;
}

int nb_ktap_open(const char *ifname, unsigned nq, unsigned mtu, struct rte_mempool *pool,
		 struct nb_ktap **ret, char *why, size_t n)
{
	struct nb_ktap *t;
	struct ifreq ifr = { 0 };
	unsigned i;
	bool mq = nq > 1;
	int r;

	if (!ifname[0] || strlen(ifname) >= IF_NAMESIZE) {
		snprintf(why, n, "%s%s: an interface name of 1 to %d characters is needed",
			 NB_KTAP_PREFIX, ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t) + (nq ? nq : 1) * sizeof(t->q[0]));
	if (!t) {
		snprintf(why, n, "%s%s: out of memory", NB_KTAP_PREFIX, ifname);
		return -ENOMEM;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->pool = pool;
	t->seg_room = (uint16_t)(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM);
	t->rx_segs = (KTAP_FRAME_MAX + t->seg_room - 1) / t->seg_room;
	for (i = 0; i < (nq ? nq : 1); i++)
		t->q[i].fd = -1;
	if (t->rx_segs > KTAP_SEGS_MAX) {
		snprintf(why, n, "%s%s: mbufs of %u bytes are too small", NB_KTAP_PREFIX, ifname,
			 t->seg_room);
		r = -EINVAL;
		goto fail;
	}
	/* An existing interface keeps its multi_queue setting: TUNSETIFF says
	 * EINVAL for the other one. */
	r = queue_open(ifname, mq, &t->q[0].fd);
	if (r == -EINVAL) {
		mq = !mq;
		r = queue_open(ifname, mq, &t->q[0].fd);
	}
	if (r < 0) {
		snprintf(why, n, "%s%s: attaching /dev/net/tun: %s", NB_KTAP_PREFIX, ifname,
			 strerror(-r));
		goto fail;
	}
	t->nq = mq ? (nq ? nq : 1) : 1;
	if (t->nq < nq)
		log_notice("%s%s: the interface has no multi_queue: 1 queue for %u worker(s)",
			   NB_KTAP_PREFIX, ifname, nq);
	for (i = 1; i < t->nq; i++) {
		r = queue_open(ifname, true, &t->q[i].fd);
		if (r < 0) {
			snprintf(why, n, "%s%s: queue %u: %s", NB_KTAP_PREFIX, ifname, i, strerror(-r));
			goto fail;
		}
	}
	for (i = 0; i < t->nq; i++) {
		if (!stash_fill(t, &t->q[i])) {
			snprintf(why, n, "%s%s: no mbufs for the RX queues", NB_KTAP_PREFIX, ifname);
			r = -ENOMEM;
			goto fail;
		}
	}
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		r = if_ioctl(ifname, SIOCSIFMTU, &ifr);
		if (r < 0) {
			snprintf(why, n, "%s%s: cannot set MTU %u: %s", NB_KTAP_PREFIX, ifname, mtu,
				 strerror(-r));
			goto fail;
		}
	}
	/* Up, as DPDK's net_tap brings its interface up at start. */
	r = if_ioctl(ifname, SIOCGIFFLAGS, &ifr);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = if_ioctl(ifname, SIOCSIFFLAGS, &ifr);
	}
	if (r < 0) {
		snprintf(why, n, "%s%s: cannot set the interface up: %s", NB_KTAP_PREFIX, ifname,
			 strerror(-r));
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	nb_ktap_close(t);
	return r;
}

void nb_ktap_close(struct nb_ktap *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < RTE_MAX(t->nq, 1u); i++)
		queue_close(&t->q[i]);
	free(t);
}

unsigned nb_ktap_nqueues(const struct nb_ktap *t)
{
	return t->nq;
}

int nb_ktap_fd(const struct nb_ktap *t, unsigned q)
{
	return q < t->nq ? t->q[q].fd : -1;
}

/*
 * The header's offload state into pkt.h's (nb_offload_ingress), checked
 * against the frame. A partial checksum pkt.h cannot say (not the TCP/UDP
 * header nb_offload_ingress finds: a tunnel's inner one) is completed here
 * instead. 0, or -EINVAL: the frame is dropped.
 */
static int rx_offloads(struct rte_mbuf *m, const struct virtio_net_hdr *h)
{
	bool partial = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	bool valid = h->flags & VIRTIO_NET_HDR_F_DATA_VALID;
	uint16_t start = rte_le_to_cpu_16(h->csum_start), off = rte_le_to_cpu_16(h->csum_offset);
	uint8_t gso;
	bool tcp;

	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		gso = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		gso = XEN_NETIF_GSO_TYPE_TCPV4;	/* what nb_offload_ingress takes */
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		gso = XEN_NETIF_GSO_TYPE_TCPV6;
		break;
	default:
		return -EINVAL;	/* not asked for (TUNSETOFFLOAD) */
	}
	if (gso && !partial)
		return -EINVAL;
	if (nb_offload_ingress(m, partial, valid, gso, rte_le_to_cpu_16(h->gso_size)) == 0) {
		if (!partial)
			return 0;
		tcp = (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
		if (start == m->l2_len + m->l3_len && off == (tcp ? 16 : 6))
			return 0;
	}
	if (gso || !partial)
		return -EINVAL;
	if (nb_offload_csum_at(m, start, off) < 0)
		return -EINVAL;
	return nb_offload_ingress(m, false, false, 0, 0);
}

uint16_t nb_ktap_rx(struct nb_ktap *t, unsigned q, struct rte_mbuf **pkts, uint16_t n,
		    struct nb_ktap_stats *st)
{
	struct ktap_queue *tq;
	struct iovec iov[1 + KTAP_SEGS_MAX];
	struct virtio_net_hdr h;
	uint16_t got = 0, tries;

	if (q >= t->nq || t->q[q].detached)
		return 0;
	tq = &t->q[q];
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	/* At most n reads, whatever they return. */
	for (tries = 0; got < n && tries < n; tries++) {
		struct rte_mbuf *m, *prev = NULL;
		uint32_t len, left;
		unsigned k, i;
		ssize_t r;

		if (!stash_fill(t, tq)) {
			/* Dropped as a NIC without descriptors drops: one frame
			 * read into the header alone (tun consumes it whatever). */
			if (read(tq->fd, &h, sizeof(h)) < 0 && (errno == EAGAIN || errno == EBADFD)) {
				tq->detached = errno == EBADFD;
				break;
			}
			st->rx_nomem++;
			continue;
		}
		for (i = 0; i < tq->nstash; i++) {
			iov[1 + i].iov_base = rte_pktmbuf_mtod(tq->stash[i], void *);
			iov[1 + i].iov_len = t->seg_room;
		}
		r = readv(tq->fd, iov, (int)(1 + tq->nstash));
		if (r < 0) {
			/* EBADFD: `ip link del` detached the queue (tun.c
			 * tun_chr_read_iter); its fd's EPOLLERR is unwatched
			 * by the worker, and the uplink shows link down. */
			tq->detached = errno == EBADFD;
			if (errno == EAGAIN || errno == EINTR || errno == EBADFD)
				break;
			st->rx_bad++;	/* EFAULT: longer than KTAP_FRAME_MAX */
			continue;
		}
		if ((size_t)r < sizeof(h) + RTE_ETHER_HDR_LEN) {
			st->rx_bad++;
			continue;
		}
		len = (uint32_t)((size_t)r - sizeof(h));
		k = (len + t->seg_room - 1) / t->seg_room;
		m = tq->stash[0];
		for (i = 0, left = len; i < k; i++) {
			struct rte_mbuf *s = tq->stash[i];

			s->data_len = (uint16_t)RTE_MIN(left, (uint32_t)t->seg_room);
			left -= s->data_len;
			if (prev)
				prev->next = s;
			prev = s;
		}
		m->nb_segs = (uint16_t)k;
		m->pkt_len = len;
		tq->nstash -= k;
		memmove(tq->stash, tq->stash + k, tq->nstash * sizeof(tq->stash[0]));
		if (rx_offloads(m, &h) < 0) {
			rte_pktmbuf_free(m);
			st->rx_bad++;
			continue;
		}
		pkts[got++] = m;
	}
	return got;
}

/* pkt.h's flags (after an egress with NB_CAP_PHDR_LINUX) as a virtio-net header. */
static void tx_header(const struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint16_t start = (uint16_t)(m->l2_len + m->l3_len);

	memset(h, 0, sizeof(*h));
	if (l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = rte_cpu_to_le_16(start);
	h->csum_offset = rte_cpu_to_le_16(l4 == RTE_MBUF_F_TX_TCP_CKSUM ? 16 : 6);
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return;
	h->gso_type = (m->ol_flags & RTE_MBUF_F_TX_IPV6) ? VIRTIO_NET_HDR_GSO_TCPV6 :
							 VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = rte_cpu_to_le_16(m->tso_segsz);
	h->hdr_len = rte_cpu_to_le_16((uint16_t)(start + m->l4_len));
}

uint16_t nb_ktap_tx(struct nb_ktap *t, unsigned q, struct rte_mbuf **pkts, uint16_t n,
		    uint64_t *bytes, struct nb_ktap_stats *st)
{
	struct iovec iov[1 + KTAP_SEGS_MAX];
	struct virtio_net_hdr h;
	uint16_t sent = 0, i;
	int fd = t->q[q % t->nq].fd;

	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s;
		int k = 1;

		if (m->nb_segs > KTAP_SEGS_MAX) {
			st->tx_refused++;
			continue;
		}
		tx_header(m, &h);
		for (s = m; s; s = s->next, k++) {
			iov[k].iov_base = rte_pktmbuf_mtod(s, void *);
			iov[k].iov_len = s->data_len;
		}
		if (writev(fd, iov, k) >= 0) {
			sent++;
			*bytes += m->pkt_len;
		}
		else if (errno == EINVAL || errno == EFAULT)
			st->tx_refused++;
		else
			st->tx_down++;	/* EIO: the interface is down; ENOMEM, ENOBUFS */
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return sent;
}

bool nb_ktap_link_up(const struct nb_ktap *t)
{
	struct ifreq ifr = { 0 };

	return if_ioctl(t->ifname, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) &&
	       (ifr.ifr_flags & IFF_RUNNING);
}

unsigned nb_ktap_mtu(const struct nb_ktap *t)
{
	struct ifreq ifr = { 0 };

	return if_ioctl(t->ifname, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : 0;
}

void nb_ktap_mac(const struct nb_ktap *t, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	if (if_ioctl(t->ifname, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	else
		memset(mac, 0, 6);
}
