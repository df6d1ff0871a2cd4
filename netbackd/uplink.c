// SPDX-License-Identifier: GPL-2.0-only
/*
 * Uplinks on DPDK ethdevs (see uplink.h for the threading contract).
 *
 * Offloads: a port gets what it advertises of TCP_TSO, IPV4/TCP/UDP_CKSUM
 * and MULTI_SEGS, which become its NB_CAP_* for nb_offload_egress (the
 * DPDK pseudo-header convention, never NB_CAP_PHDR_LINUX). TSO needs
 * IPV4_CKSUM too (rte_mbuf_core.h: IPv4 TSO sets RTE_MBUF_F_TX_IP_CKSUM) and
 * chains (a 64 KiB packet is a chain of 4 KiB mbufs). Two PMD quirks:
 *   - net_tap (22.11): its TX checksum sums each segment as if it started
 *     at an even offset (wrong after an odd-sized segment) and it fixes the
 *     IPv4 header checksum of its rte_gso segments only when TX_IP_CKSUM is
 *     set; its rte_gso does no IPv6. Fixed upstream after 22.11 ("net/tap:
 *     fix L4 checksum offloading", "net/tap: fix IPv4 checksum offloading",
 *     not in 22.11.11), so a tap uplink takes chains only and everything
 *     else is done by nb_offload_egress.
 *   - net_af_packet: see af_packet_kernel_offloads_off() below.
 *
 * RX interrupts are asked for (intr_conf.rxq) on every port; whether the
 * PMD delivers them is seen after start from rte_eth_dev_rx_intr_ctl_q_get_fd
 * (net_tap: its queue fd; virtio_user, memif, PCI NICs with vfio: eventfds;
 * null, ring: none); net_af_packet has none either, and its queue's packet
 * socket stands in (af_packet_queue_fd).
 *
 * Main thread: open/close. Worker threads: rx/tx/intr_*. Never exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_spinlock.h>

#include "ktap.h"
#include "log.h"
#include "pkt.h"
#include "uplink.h"

#define UPLINK_DESC_DEFAULT 1024
#define UPLINK_TX_RETRIES 8
/* A worker's TX staging: room for one packet's segments plus a burst. */
#define UPLINK_TXBUF (NB_OFFLOAD_MAX_SEGS + 64)

#define WANTED_TX_OFFLOADS                                                                 \
	(RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |                      \
	 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |                     \
	 RTE_ETH_TX_OFFLOAD_MULTI_SEGS)

struct uplink_worker {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drop_tx_full, drop_tx_prepare, drop_rx_truncated;
	struct nb_offload_stats offload;
	struct nb_ktap_stats kt;
	struct rte_mbuf *buf[UPLINK_TXBUF];
};

struct uplink_queue {
	rte_spinlock_t tx_lock;
	int intr_fd;
	bool intr_eventfd;	/* an eventfd: its counter is read when disarming */
	bool intr_socket;	/* af_packet's own socket, a tap: queue's fd: nothing to arm */
};

struct nb_uplink {
	struct nb_ktap *kt;	/* a tap: uplink (ktap.h), not an ethdev; else NULL */
	uint16_t port;
	struct rte_device *dev;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[32];	/* the PMD: net_e1000_em, net_tap... */
	unsigned nq;		/* the device's queue pairs */
	unsigned nworkers;	/* cfg->nqueues */
	unsigned caps;
	bool tx_shared;		/* workers outnumber queues: TX under tx_lock */
	bool af_packet;
	bool gro;			/* cfg->gro: nb_offload_gro on what arrives */
	uint64_t drop_bad_queue;	/* atomically: any worker */
	struct uplink_queue *q;		/* [nq] */
	struct uplink_worker *w;	/* [nworkers] */
};

/* Ports this process has opened, so a second open of the same vdev fails. */
static bool port_taken[RTE_MAX_ETHPORTS];

/* The value of key `key` in "name,k=v,k=v" (copied to buf), or NULL. */
static const char *devarg_value(const char *devargs, const char *key, char *buf, size_t n)
{
	size_t klen = strlen(key);
	const char *p = strchr(devargs, ',');

	while (p) {
		p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t len = strcspn(p + klen + 1, ",");

			if (len >= n)
				return NULL;
			memcpy(buf, p + klen + 1, len);
			buf[len] = '\0';
			return buf;
		}
		p = strchr(p, ',');
	}
	return NULL;
}

static int ethtool_ioctl(int fd, const char *ifname, void *data)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	r = ioctl(fd, SIOCETHTOOL, &ifr);
	return r < 0 ? -errno : r;
}

/* The kernel's feature names (ETH_SS_FEATURES), malloc'd; their count in *n. */
static char *ethtool_feature_names(int fd, const char *ifname, uint32_t *n)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t count;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_FEATURES } };
	struct ethtool_gstrings *gs;

	if (ethtool_ioctl(fd, ifname, &info) < 0 || !info.hdr.sset_mask)
		return NULL;
	gs = calloc(1, sizeof(*gs) + (size_t)info.count * ETH_GSTRING_LEN);
	if (!gs)
		return NULL;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = info.count;
	if (ethtool_ioctl(fd, ifname, gs) < 0) {
		free(gs);
		return NULL;
	}
	*n = info.count;
	memmove(gs, gs->data, (size_t)info.count * ETH_GSTRING_LEN);
	return (char *)gs;
}

/* GRO and LRO of every kind, TX checksumming, every TX segmentation. */
static bool feature_unwanted(const char *name)
{
	size_t len = strnlen(name, ETH_GSTRING_LEN), seg = strlen("segmentation");

	return strncmp(name, "rx-gro", 6) == 0 || strncmp(name, "rx-lro", 6) == 0 ||
	       strncmp(name, "tx-checksum-", 12) == 0 ||
	       (strncmp(name, "tx-", 3) == 0 && len > seg && strncmp(name + len - seg, "segmentation", seg) == 0);
}

/*
 * ETHTOOL_SFEATURES by name: the legacy ETHTOOL_STSO/SGSO/... cover the
 * feature sets of their day only (on Linux 6.x, STSO leaves
 * tx-tcp-accecn-segmentation on, and with it "tcp-segmentation-offload").
 * Then ETHTOOL_GFEATURES: which unwanted ones are still active (fixed on
 * by the driver); the first is named in `left`. Returns how many, or -errno.
 */
static int kernel_features_off(int fd, const char *ifname, char *left, size_t n)
{
	struct ethtool_gfeatures *gf = NULL;
	struct ethtool_sfeatures *sf;
	uint32_t count = 0, i, blocks;
	char *names = ethtool_feature_names(fd, ifname, &count);
	int r, still_on = 0;

	if (!names)
		return -EOPNOTSUPP;
	blocks = (count + 31) / 32;
	sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
	gf = calloc(1, sizeof(*gf) + blocks * sizeof(gf->features[0]));
	r = sf && gf ? 0 : -ENOMEM;
	if (r == 0) {
		sf->cmd = ETHTOOL_SFEATURES;
		sf->size = blocks;
		for (i = 0; i < count; i++)
			if (feature_unwanted(names + (size_t)i * ETH_GSTRING_LEN))
				sf->features[i / 32].valid |= 1u << (i % 32);
		r = ethtool_ioctl(fd, ifname, sf);	/* > 0: some are fixed; the rest is done */
	}
	if (r >= 0) {
		gf->cmd = ETHTOOL_GFEATURES;
		gf->size = blocks;
		r = ethtool_ioctl(fd, ifname, gf);
	}
	for (i = 0; r >= 0 && i < count; i++) {
		if (!(sf->features[i / 32].valid & gf->features[i / 32].active & (1u << (i % 32))))
			continue;
		if (still_on++ == 0)
			snprintf(left, n, "%.*s", ETH_GSTRING_LEN, names + (size_t)i * ETH_GSTRING_LEN);
	}
	free(gf);
	free(sf);
	free(names);
	return r < 0 ? r : still_on;
}

/*
 * net_af_packet on a kernel NIC: the kernel hands a packet socket what its
 * stack holds, and DPDK 22.11's af_packet PMD keeps only the bytes
 * (rte_eth_af_packet.c eth_af_packet_rx): it drops TP_STATUS_CSUMNOTREADY
 * (a partial checksum arrives as a wrong one), copies at most one ring
 * frame (framesz, 2 KiB by default, must not exceed our mbuf's room: it
 * copies without checking) so a GRO/GSO super-frame is cut, and it has no
 * PACKET_VNET_HDR to learn either. Measured on Xen with a netfront NIC:
 * blank checksums and 64 KiB GRO frames. So the kernel must not build such
 * frames for us: GRO and LRO off (super-frames built in this domain), and
 * TSO, GSO and TX checksumming off (this domain's own traffic on the NIC,
 * which the socket also sees, leaves with full checksums in wire-sized
 * frames). Nothing is restored at close: the NIC is the uplink's, and the
 * offloads would be wrong again for the next open. What this cannot
 * change: frames that arrive already partial or as GSO from the backend in
 * dom0 (the dom0 vif's `ethtool -K vifD.N tso off gso off tx off`, or GRO off
 * on dom0's NIC, is the operator's part, see docs); those that come cut are
 * counted as drop_rx_truncated and dropped here, not forwarded damaged.
 */
static void af_packet_kernel_offloads_off(const char *devargs)
{
	char ifname[IF_NAMESIZE], left[ETH_GSTRING_LEN + 1] = "";
	int fd, r;

	if (!devarg_value(devargs, "iface", ifname, sizeof(ifname)))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn_errno(-errno, "%s: no socket for ethtool, offloads left on", ifname);
		return;
	}
	r = kernel_features_off(fd, ifname, left, sizeof(left));
	close(fd);
	if (r < 0)
		log_warn_errno(r, "%s: turning gro, lro, gso, tso, tx-checksumming off, ignoring", ifname);
	else if (r > 0)
		log_warn("%s: %d offload(s) fixed on by the driver (%s): frames may come cut or with "
			 "blank checksums", ifname, r, left);
	else
		log_info("%s: gro, lro, gso, tso, tx-checksumming off for net_af_packet", ifname);
}

/* Probes (or finds, for a PCI device the EAL probed) the device's first port. */
static int uplink_probe(const char *devargs, uint16_t *port, char *why, size_t n)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct rte_dev_iterator it;
	uint16_t id;
	unsigned found = 0;
	int r;

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","), devargs);
	if (rte_eth_dev_get_port_by_name(name, &id) == 0) {
		if (port_taken[id]) {
			snprintf(why, n, "%s: already open as an uplink", devargs);
			return -EBUSY;
		}
		/* A PCI device the EAL probed at its start (-a): probing it again
		 * only makes the EAL log "Failed to attach device". */
	} else {
		r = rte_dev_probe(devargs);
		if (r < 0 && r != -EEXIST) {
			snprintf(why, n, "probing %s: %s", devargs, rte_strerror(-r));
			return r;
		}
	}
	RTE_ETH_FOREACH_MATCHING_DEV(id, devargs, &it) {
		if (found++ == 0)
			*port = id;
	}
	if (found == 0) {
		snprintf(why, n, "%s: probed, but no ethdev port matches", devargs);
		return -ENODEV;
	}
	if (port_taken[*port]) {
		snprintf(why, n, "%s: already open as an uplink", devargs);
		return -EBUSY;
	}
	if (found > 1)
		log_notice("%s: %u ports, using the first", devargs, found);
	return 0;
}

static unsigned caps_of(uint64_t tx)
{
	unsigned caps = 0;

	if (tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		caps |= NB_CAP_MULTISEG;
	if ((tx & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) && (tx & RTE_ETH_TX_OFFLOAD_UDP_CKSUM))
		caps |= NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM;
	if ((tx & RTE_ETH_TX_OFFLOAD_TCP_TSO) && (tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) &&
	    (caps & NB_CAP_IPV4_CSUM) && (caps & NB_CAP_MULTISEG))
		caps |= NB_CAP_TSO4 | NB_CAP_TSO6;
	return caps;
}

/* The kernel driver a PCI device is bound to ("uio_pci_generic", "vfio-pci"),
 * or "" for a vdev or an unbound device. */
static void pci_kernel_driver(const char *name, char *buf, size_t n)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t len;
	const char *base;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", name);
	len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0)
		return;
	target[len] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) < n)
		memcpy(buf, base, strlen(base) + 1);
}

static void port_conf_fill(const struct nb_uplink_cfg *cfg, const struct rte_eth_dev_info *info,
			   unsigned nq, bool rx_intr, struct rte_eth_conf *conf)
{
	uint64_t tx = info->tx_offload_capa & WANTED_TX_OFFLOADS;

	memset(conf, 0, sizeof(*conf));
	if (strcmp(info->driver_name, "net_tap") == 0)
		tx &= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;	/* 22.11 quirks: see the top */
	if (!(caps_of(tx) & NB_CAP_TSO4))
		tx &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	conf->txmode.offloads = tx;
	if ((info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM) == RTE_ETH_RX_OFFLOAD_CHECKSUM)
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_CHECKSUM;
	if (cfg->mtu) {
		conf->rxmode.mtu = cfg->mtu;
		if (cfg->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 8 > NB_MBUF_DATA_ROOM - RTE_PKTMBUF_HEADROOM &&
		    (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER))
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	}
	if (nq > 1 && info->flow_type_rss_offloads) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
		if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
	conf->intr_conf.rxq = rx_intr;
}

static int queues_setup(struct nb_uplink *u, const struct nb_uplink_cfg *cfg,
			const struct rte_eth_dev_info *info, const struct rte_eth_conf *conf,
			char *why, size_t n)
{
	uint16_t rxd = cfg->rx_desc ? cfg->rx_desc : UPLINK_DESC_DEFAULT;
	uint16_t txd = cfg->tx_desc ? cfg->tx_desc : UPLINK_DESC_DEFAULT;
	struct rte_eth_rxconf rxc = info->default_rxconf;
	struct rte_eth_txconf txc = info->default_txconf;
	int r = rte_eth_dev_adjust_nb_rx_tx_desc(u->port, &rxd, &txd);
	unsigned q;

	rxc.offloads = conf->rxmode.offloads;
	txc.offloads = conf->txmode.offloads;
	for (q = 0; q < u->nq && r == 0; q++) {
		r = rte_eth_rx_queue_setup(u->port, q, rxd, rte_eth_dev_socket_id(u->port), &rxc, cfg->pool);
		if (r == 0)
			r = rte_eth_tx_queue_setup(u->port, q, txd, rte_eth_dev_socket_id(u->port), &txc);
	}
	if (r < 0)
		snprintf(why, n, "%s: queue setup (%u pairs, %u/%u descriptors): %s", u->name, u->nq,
			 rxd, txd, rte_strerror(-r));
	return r;
}

/*
 * net_af_packet has no RX interrupts in 22.11, but each queue is a packet
 * socket with an mmap'd RX ring, and such a socket polls readable while
 * the ring holds a frame the kernel handed over (net/packet/af_packet.c,
 * packet_poll), exactly "RX has work", level-triggered: the worker sleeps on
 * it instead of looking every 1-16 ms. The socket is the first member of
 * the PMD's RX queue (struct pkt_rx_queue, drivers/net/af_packet/
 * rte_eth_af_packet.c, 22.11), reached through ethdev's public fast-path
 * table; it is taken only if it is a packet socket bound to this port's
 * interface, so another layout means polling as before, never a wrong fd.
 */
static int af_packet_queue_fd(const struct nb_uplink *u, unsigned q, unsigned ifindex)
{
	const struct rte_eth_fp_ops *ops = &rte_eth_fp_ops[u->port];
	struct sockaddr_ll sll;
	socklen_t len = sizeof(int);
	int fd, domain;

	if (!ifindex || !ops->rxq.data || !ops->rxq.data[q])
		return -1;
	fd = *(const int *)ops->rxq.data[q];
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_PACKET)
		return -1;
	len = sizeof(sll);
	if (getsockname(fd, (struct sockaddr *)&sll, &len) < 0 || sll.sll_family != AF_PACKET ||
	    (unsigned)sll.sll_ifindex != ifindex)
		return -1;
	return fd;
}

/* The fd of RX queue q, asked quietly: ethdev logs an error for PMDs without. */
static void intr_fds_find(struct nb_uplink *u)
{
	int level = rte_log_get_level(rte_eth_dev_logtype);
	struct rte_eth_dev_info info;
	unsigned ifindex = u->af_packet && rte_eth_dev_info_get(u->port, &info) == 0 ? info.if_index : 0;
	char path[64], target[64];
	unsigned q;

	rte_log_set_level(rte_eth_dev_logtype, RTE_LOG_EMERG);
	for (q = 0; q < u->nq; q++) {
		ssize_t len;

		u->q[q].intr_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(u->port, (uint16_t)q);
		if (u->q[q].intr_fd < 0 && u->af_packet) {
			u->q[q].intr_fd = af_packet_queue_fd(u, q, ifindex);
			u->q[q].intr_socket = u->q[q].intr_fd >= 0;
			continue;
		}
		if (u->q[q].intr_fd < 0) {
			u->q[q].intr_fd = -1;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", u->q[q].intr_fd);
		len = readlink(path, target, sizeof(target) - 1);
		u->q[q].intr_eventfd = len > 0 && strncmp(target, "anon_inode:[eventfd]", (size_t)len) == 0;
	}
	rte_log_set_level(rte_eth_dev_logtype, (uint32_t)level);
}

static int uplink_configure(struct nb_uplink *u, const struct nb_uplink_cfg *cfg, char *why, size_t n)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	char kdrv[64];
	bool rx_intr;
	int r = rte_eth_dev_info_get(u->port, &info);

	if (r < 0) {
		snprintf(why, n, "%s: device info: %s", u->name, rte_strerror(-r));
		return r;
	}
	u->dev = info.device;
	snprintf(u->driver, sizeof(u->driver), "%s", info.driver_name ? info.driver_name : "?");
	u->af_packet = strcmp(info.driver_name, "net_af_packet") == 0;
	u->gro = cfg->gro;
	u->nworkers = cfg->nqueues ? cfg->nqueues : 1;
	u->nq = RTE_MIN(u->nworkers, RTE_MIN((unsigned)info.max_rx_queues, (unsigned)info.max_tx_queues));
	if (u->nq == 0) {
		snprintf(why, n, "%s: the device has no queues", u->name);
		return -ENODEV;
	}
	u->tx_shared = u->nworkers > u->nq;
	if (cfg->mtu && (cfg->mtu < info.min_mtu || cfg->mtu > info.max_mtu)) {
		snprintf(why, n, "%s: MTU %u is outside what the device allows (%u..%u)", u->name,
			 cfg->mtu, info.min_mtu, info.max_mtu);
		return -ERANGE;
	}
	/* uio_pci_generic has the device's one legacy INTx line, masked and
	 * unmasked through the PCI command register at every interrupt. In a
	 * Xen HVM driver domain (the only kind DPDK can drive a passed-through
	 * NIC in) that register and the line are emulated by Xen and qemu-xen,
	 * and with RX interrupts on, the domain stopped answering as soon as
	 * traffic flowed (xenhost net-pci, e1000, 2026-12-06). Such a port is
	 * polled, backing off to 16 ms when idle; vfio-pci has MSI-X. */
	pci_kernel_driver(u->name, kdrv, sizeof(kdrv));
	rx_intr = strcmp(kdrv, "uio_pci_generic") != 0;
	if (!rx_intr)
		log_notice("%s: on uio_pci_generic: no RX interrupts, the port is polled "
			   "(vfio-pci gives it interrupts)", u->name);
	port_conf_fill(cfg, &info, u->nq, rx_intr, &conf);
	r = rte_eth_dev_configure(u->port, (uint16_t)u->nq, (uint16_t)u->nq, &conf);
	if (r < 0) {
		conf.intr_conf.rxq = 0;	/* a PMD that refuses RX interrupts outright */
		r = rte_eth_dev_configure(u->port, (uint16_t)u->nq, (uint16_t)u->nq, &conf);
	}
	if (r < 0) {
		snprintf(why, n, "%s: configure (%u queues, mtu %u, tx offloads %#" PRIx64 "): %s",
			 u->name, u->nq, cfg->mtu, conf.txmode.offloads, rte_strerror(-r));
		return r;
	}
	/* configure only records rxmode.mtu for the PMD's start; set_mtu is
	 * what reaches the device (a TAP PMD's kernel interface, say). */
	if (cfg->mtu) {
		r = rte_eth_dev_set_mtu(u->port, (uint16_t)cfg->mtu);
		if (r < 0) {
			snprintf(why, n, "%s: cannot set MTU %u: %s", u->name, cfg->mtu,
				 rte_strerror(-r));
			return r;
		}
	}
	u->caps = caps_of(conf.txmode.offloads);
	return queues_setup(u, cfg, &info, &conf, why, n);
}

unsigned nb_uplink_mtu(const struct nb_uplink *u)
{
	uint16_t mtu = 0;

	if (u->kt)
		return nb_ktap_mtu(u->kt);
	return rte_eth_dev_get_mtu(u->port, &mtu) == 0 ? mtu : 0;
}

static int uplink_alloc(struct nb_uplink **ret, unsigned nworkers)
{
	struct nb_uplink *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->w = calloc(nworkers ? nworkers : 1, sizeof(*u->w));
	u->q = calloc(nworkers ? nworkers : 1, sizeof(*u->q));
	if (!u->w || !u->q) {
		free(u->w);
		free(u->q);
		free(u);
		return -ENOMEM;
	}
	*ret = u;
	return 0;
}

static void uplink_free(struct nb_uplink *u)
{
	free(u->w);
	free(u->q);
	free(u);
}

/* A tap: uplink: ktap.h's calls stand in for the ethdev's. */
static int ktap_open(const struct nb_uplink_cfg *cfg, struct nb_uplink *u, char *why, size_t n)
{
	int r;

	u->nworkers = cfg->nqueues ? cfg->nqueues : 1;
	r = nb_ktap_open(cfg->devargs + strlen(NB_KTAP_PREFIX), u->nworkers, cfg->mtu, cfg->pool,
			 &u->kt, why, n);
	if (r < 0)
		return r;
	u->port = RTE_MAX_ETHPORTS;
	snprintf(u->name, sizeof(u->name), "%s", cfg->devargs);
	snprintf(u->driver, sizeof(u->driver), "ddom_tap");
	u->nq = nb_ktap_nqueues(u->kt);
	/* The kernel's GSO and partial checksums, Linux's pseudo-header. */
	u->caps = NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM | NB_CAP_TSO4 | NB_CAP_TSO6 |
		  NB_CAP_MULTISEG | NB_CAP_PHDR_LINUX;
	for (unsigned q = 0; q < u->nq; q++) {
		u->q[q].intr_fd = nb_ktap_fd(u->kt, q);
		u->q[q].intr_socket = true;
	}
	log_info("%s: kernel TAP with virtio-net header, %u queue(s) for %u worker(s), caps %#x, "
		 "link %s", u->name, u->nq, u->nworkers, u->caps, nb_ktap_link_up(u->kt) ? "up" : "down");
	return 0;
}

int nb_uplink_open(const struct nb_uplink_cfg *cfg, struct nb_uplink **ret, char *why, size_t n)
{
	struct nb_uplink *u;
	struct rte_eth_link link;
	unsigned q;
	int r;

	if (!cfg->devargs || !cfg->pool) {
		snprintf(why, n, "uplink: no device or no pool");
		return -EINVAL;
	}
	r = uplink_alloc(&u, cfg->nqueues);
	if (r < 0) {
		snprintf(why, n, "%s: %s", cfg->devargs, strerror(-r));
		return r;
	}
	if (strncmp(cfg->devargs, NB_KTAP_PREFIX, strlen(NB_KTAP_PREFIX)) == 0) {
		r = ktap_open(cfg, u, why, n);
		if (r < 0) {
			uplink_free(u);
			return r;
		}
		*ret = u;
		return 0;
	}
	if (strncmp(cfg->devargs, "net_af_packet", 13) == 0)
		af_packet_kernel_offloads_off(cfg->devargs);
	r = uplink_probe(cfg->devargs, &u->port, why, n);
	if (r < 0) {
		uplink_free(u);
		return r;
	}
	rte_eth_dev_get_name_by_port(u->port, u->name);
	for (q = 0; q < RTE_MAX(cfg->nqueues, 1u); q++)
		rte_spinlock_init(&u->q[q].tx_lock);
	r = uplink_configure(u, cfg, why, n);
	if (r == 0) {
		r = rte_eth_dev_start(u->port);
		if (r < 0)
			snprintf(why, n, "%s: start: %s", u->name, rte_strerror(-r));
	}
	if (r < 0) {
		if (u->dev)
			rte_dev_remove(u->dev);
		uplink_free(u);
		return r;
	}
	r = rte_eth_promiscuous_enable(u->port);
	if (r < 0 && r != -ENOTSUP)
		log_warn_errno(r, "%s: promiscuous mode, ignoring", u->name);
	intr_fds_find(u);
	port_taken[u->port] = true;
	rte_eth_link_get_nowait(u->port, &link);
	log_info("%s: port %u (%s), %u queue pair(s) for %u worker(s), caps %#x, rx interrupts %s, "
		 "link %s",
		 u->name, u->port, u->driver, u->nq, u->nworkers, u->caps, u->q[0].intr_fd >= 0 ? "yes" : "no",
		 link.link_status ? "up" : "down");
	*ret = u;
	return 0;
}

void nb_uplink_close(struct nb_uplink *u)
{
	int r;

	if (!u)
		return;
	if (u->kt) {
		nb_ktap_close(u->kt);
		uplink_free(u);
		return;
	}
	r = rte_eth_dev_stop(u->port);
	if (r < 0)
		log_warn_errno(r, "%s: stop, ignoring", u->name);
	r = rte_dev_remove(u->dev);
	if (r < 0) {
		log_warn_errno(r, "%s: unplugging, closing the port only", u->name);
		rte_eth_dev_close(u->port);
	}
	port_taken[u->port] = false;
	uplink_free(u);
}

/*
 * af_packet only: a frame whose IP length runs past what arrived was cut at
 * the ring frame's size (a super-frame from dom0, see above).
 */
static bool frame_truncated(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len, l2 = RTE_ETHER_HDR_LEN;
	uint16_t type;

	if (len < l2)
		return false;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if (type == RTE_ETHER_TYPE_VLAN && len >= l2 + 4) {
		type = (uint16_t)(p[16] << 8 | p[17]);
		l2 += 4;
	}
	if (type == RTE_ETHER_TYPE_IPV4 && len >= l2 + 4)
		return l2 + (uint32_t)(p[l2 + 2] << 8 | p[l2 + 3]) > len;
	if (type == RTE_ETHER_TYPE_IPV6 && len >= l2 + 6)
		return l2 + 40 + (uint32_t)(p[l2 + 4] << 8 | p[l2 + 5]) > len;
	return false;
}

static uint16_t drop_truncated(struct uplink_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i, kept = 0;

	for (i = 0; i < n; i++) {
		if (frame_truncated(pkts[i])) {
			rte_pktmbuf_free(pkts[i]);
			w->drop_rx_truncated++;
			continue;
		}
		pkts[kept++] = pkts[i];
	}
	return kept;
}

uint16_t nb_uplink_rx(struct nb_uplink *u, unsigned q, struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink_worker *w;
	uint16_t nb, i;

	if (q >= u->nq)
		return 0;
	w = &u->w[q];
	if (u->kt) {
		/* pkt.h flags from the virtio-net header: nothing to clear. */
		nb = nb_ktap_rx(u->kt, q, pkts, n, &w->kt);
		w->rx_packets += nb;
		for (i = 0; i < nb; i++)
			w->rx_bytes += pkts[i]->pkt_len;
		return nb;
	}
	nb = rte_eth_rx_burst(u->port, (uint16_t)q, pkts, n);
	if (u->af_packet && nb)
		nb = drop_truncated(w, pkts, nb);
	w->rx_packets += nb;
	for (i = 0; i < nb; i++) {
		w->rx_bytes += pkts[i]->pkt_len;
		/* pkt.h: nothing is left for an egress on what a NIC gave us. */
		pkts[i]->ol_flags &= ~NB_TX_OFFLOAD_MASK;
	}
	if (u->gro)
		nb = nb_offload_gro(pkts, nb, &w->offload);
	return nb;
}

/* rte_eth_tx_prepare, dropping what it refuses; returns what is left. */
static uint16_t tx_prepare(struct nb_uplink *u, uint16_t txq, struct uplink_worker *w,
			   struct rte_mbuf **buf, uint16_t cnt)
{
	uint16_t good = 0, i = 0;

	while (i < cnt) {
		uint16_t p = rte_eth_tx_prepare(u->port, txq, buf + i, cnt - i);

		memmove(buf + good, buf + i, p * sizeof(*buf));
		good += p;
		i += p;
		if (i < cnt) {
			rte_pktmbuf_free(buf[i++]);
			w->drop_tx_prepare++;
		}
	}
	return good;
}

static uint16_t tx_flush(struct nb_uplink *u, uint16_t txq, struct uplink_worker *w, uint16_t cnt)
{
	struct rte_mbuf **buf = w->buf;
	uint64_t bytes = 0, unsent_bytes = 0;
	uint16_t sent = 0, i;
	int tries;

	if (u->kt) {
		sent = nb_ktap_tx(u->kt, txq, buf, cnt, &bytes, &w->kt);
		w->tx_packets += sent;
		w->tx_bytes += bytes;
		return sent;
	}
	cnt = tx_prepare(u, txq, w, buf, cnt);
	for (i = 0; i < cnt; i++)
		bytes += buf[i]->pkt_len;
	if (u->tx_shared)
		rte_spinlock_lock(&u->q[txq].tx_lock);
	for (tries = 0; sent < cnt && tries < UPLINK_TX_RETRIES; tries++)
		sent += rte_eth_tx_burst(u->port, txq, buf + sent, cnt - sent);
	if (u->tx_shared)
		rte_spinlock_unlock(&u->q[txq].tx_lock);
	for (i = sent; i < cnt; i++)
		unsent_bytes += buf[i]->pkt_len;
	rte_pktmbuf_free_bulk(buf + sent, cnt - sent);
	w->drop_tx_full += cnt - sent;
	w->tx_packets += sent;
	w->tx_bytes += bytes - unsent_bytes;
	return sent;
}

uint16_t nb_uplink_tx(struct nb_uplink *u, unsigned q, struct nb_offload *o,
		      struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink_worker *w;
	uint16_t i, cnt = 0, sent = 0, txq;

	if (q >= u->nworkers) {
		rte_pktmbuf_free_bulk(pkts, n);
		__atomic_fetch_add(&u->drop_bad_queue, n, __ATOMIC_RELAXED);
		return 0;
	}
	w = &u->w[q];
	txq = (uint16_t)(q % u->nq);
	for (i = 0; i < n; i++) {
		if (UPLINK_TXBUF - cnt < NB_OFFLOAD_MAX_SEGS) {
			sent += tx_flush(u, txq, w, cnt);
			cnt = 0;
		}
		cnt += nb_offload_egress(o, u->caps, &pkts[i], 1, w->buf + cnt,
					 (uint16_t)(UPLINK_TXBUF - cnt), &w->offload);
	}
	if (cnt)
		sent += tx_flush(u, txq, w, cnt);
	return sent;
}

unsigned nb_uplink_nqueues(const struct nb_uplink *u)
{
	return u->nq;
}

unsigned nb_uplink_caps(const struct nb_uplink *u)
{
	return u->caps;
}

int nb_uplink_intr_fd(const struct nb_uplink *u, unsigned q)
{
	return q < u->nq ? u->q[q].intr_fd : -1;
}

/* An eventfd left readable would wake the worker's epoll forever. */
static void intr_drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t counter;

	if (poll(&pfd, 1, 0) == 1 && read(fd, &counter, sizeof(counter)) < 0)
		return;
}

int nb_uplink_intr_arm(struct nb_uplink *u, unsigned q, bool on)
{
	int r;

	if (q >= u->nq || u->q[q].intr_fd < 0)
		return -ENODEV;
	if (u->q[q].intr_socket)
		return 0;
	if (on) {
		r = rte_eth_dev_rx_intr_enable(u->port, (uint16_t)q);
	} else {
		r = rte_eth_dev_rx_intr_disable(u->port, (uint16_t)q);
		if (u->q[q].intr_eventfd)
			intr_drain(u->q[q].intr_fd);
	}
	/* net_tap has no enable/disable: its fd is the queue itself. */
	return r == -ENOTSUP ? 0 : r;
}

bool nb_uplink_link_up(const struct nb_uplink *u)
{
	struct rte_eth_link link;

	if (u->kt)
		return nb_ktap_link_up(u->kt);
	return rte_eth_link_get_nowait(u->port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

void nb_uplink_mac(const struct nb_uplink *u, uint8_t mac[6])
{
	struct rte_ether_addr a = { 0 };

	if (u->kt) {
		nb_ktap_mac(u->kt, mac);
		return;
	}
	rte_eth_macaddr_get(u->port, &a);
	memcpy(mac, a.addr_bytes, RTE_ETHER_ADDR_LEN);
}

const char *nb_uplink_driver(const struct nb_uplink *u)
{
	return u->driver;
}

const char *nb_uplink_name(const struct nb_uplink *u)
{
	return u->name;
}

uint16_t nb_uplink_port_id(const struct nb_uplink *u)
{
	return u->port;
}

/* struct nb_offload_stats is counters only: add them as an array. */
static void offload_stats_add(struct nb_offload_stats *a, const struct nb_offload_stats *b)
{
	uint64_t *x = (uint64_t *)a;
	const uint64_t *y = (const uint64_t *)b;
	size_t i;

	_Static_assert(sizeof(*a) % sizeof(uint64_t) == 0, "nb_offload_stats: uint64_t only");
	for (i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		x[i] += y[i];
}

void nb_uplink_stats(const struct nb_uplink *u, struct nb_uplink_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < u->nworkers; i++) {
		const struct uplink_worker *w = &u->w[i];

		st->rx_packets += w->rx_packets;
		st->rx_bytes += w->rx_bytes;
		st->tx_packets += w->tx_packets;
		st->tx_bytes += w->tx_bytes;
		st->drop_tx_full += w->drop_tx_full;
		st->drop_tx_prepare += w->drop_tx_prepare;
		st->drop_rx_truncated += w->drop_rx_truncated;
		offload_stats_add(&st->offload, &w->offload);
		/* tap: the kernel's refusals as the PMDs' are counted. */
		st->drop_rx_bad += w->kt.rx_bad;
		st->drop_tx_full += w->kt.tx_down;
		st->drop_tx_prepare += w->kt.tx_refused;
		st->eth.imissed += w->kt.rx_nomem;
	}
	st->drop_bad_queue = __atomic_load_n(&u->drop_bad_queue, __ATOMIC_RELAXED);
	if (!u->kt)
		rte_eth_stats_get(u->port, &st->eth);
}
