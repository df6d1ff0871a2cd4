// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netbackd/uplink.c on virtual devices, all inside a network
 * namespace of the test's own (unshare(CLONE_NEWNET) before the EAL starts,
 * so the tap and veth interfaces never touch the host's):
 *   - net_null with no-rx=1 as a TX sink: nothing received, counts, the
 *     offloads a port without any gets in software, a worker index beyond
 *     the configured ones, close and reopen of the same vdev name;
 *   - net_ring (a loopback: TX queue i feeds RX queue i): partial
 *     checksums arrive complete, shared TX queues;
 *   - net_tap: a frame sent on the uplink is read by a packet socket on the
 *     kernel side, one injected there is received, through the RX
 *     interrupt fd;
 *   - net_af_packet on a veth: GRO/GSO/TSO/TX checksumming turned off on
 *     the kernel interface, a frame across, and its queue's packet socket
 *     as the RX interrupt fd (quiet when drained, readable on a frame);
 *   - tap: (ktap.c): a TSO packet out and one in, each as one 64 KiB
 *     GSO packet with its virtio-net header (seen and made on the kernel
 *     side by a packet socket with PACKET_VNET_HDR), a partial checksum
 *     that is not a TCP/UDP header's completed, a persistent interface
 *     without multi_queue attached to with one queue and left in place.
 * Cases needing root or /dev/net/tun report "# SKIP".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "nbtest.h"
#include "offload.h"
#include "uplink.h"

static struct rte_mempool *pool;
static struct nb_offload *ol;
static bool have_netns;

static void skip(const char *name, const char *why)
{
	tap_count++;
	printf("ok %d - %s # SKIP %s\n", tap_count, name, why);
}

static struct nb_uplink *open_or_fail(const char *devargs, unsigned nq)
{
	struct nb_uplink_cfg cfg = { .devargs = devargs, .nqueues = nq, .pool = pool,
				     .rx_desc = 256, .tx_desc = 256 };
	struct nb_uplink *u = NULL;
	char why[256];
	int r = nb_uplink_open(&cfg, &u, why, sizeof(why));

	if (r < 0)
		printf("# open %s: %s\n", devargs, why);
	return u;
}

static void test_null_sink(void)
{
	struct nbt_frame f = { .tcp = true, .payload = 3000, .seg = 1000 };
	struct rte_mbuf *pkts[8], *rx[8];
	struct nb_uplink_stats st;
	struct nb_uplink *u = open_or_fail("net_null0,no-rx=1", 2), *again;
	unsigned i;

	REQUIRE(u);
	CHECK(strcmp(nb_uplink_name(u), "net_null0") == 0);
	CHECK(nb_uplink_nqueues(u) == 2);
	CHECK(nb_uplink_caps(u) == 0);	/* net_null advertises no offloads */
	CHECK(nb_uplink_intr_fd(u, 0) == -1);
	CHECK(nb_uplink_intr_arm(u, 0, true) == -ENODEV);
	CHECK(nb_uplink_rx(u, 0, rx, 8) == 0 && nb_uplink_rx(u, 7, rx, 8) == 0);
	for (i = 0; i < 8; i++) {
		pkts[i] = nbt_frame_mbuf(pool, &f);
		REQUIRE(pkts[i] && nb_offload_ingress(pkts[i], true, false, i < 2 ? 1 : 0, 1000) == 0);
	}
	/* Two TSO sends of 3 segments, six partial checksums (each 3054 bytes, linearised). */
	CHECK(nb_uplink_tx(u, 1, ol, pkts, 8) == 12);
	for (i = 0; i < 3; i++)
		pkts[i] = nbt_frame_mbuf(pool, &f);
	CHECK(nb_uplink_tx(u, 5, ol, pkts, 3) == 0);	/* worker 5 of 2 */
	nb_uplink_stats(u, &st);
	CHECK(st.tx_packets == 12 && st.eth.opackets == 12);
	CHECK(st.offload.segmented == 2 && st.offload.csum_sw == 12 && st.offload.linearised == 6);
	CHECK(st.drop_bad_queue == 3 && st.rx_packets == 0);
	CHECK(open_or_fail("net_null0,no-rx=1", 1) == NULL);	/* already open */
	nb_uplink_close(u);
	again = open_or_fail("net_null0,no-rx=1", 1);
	CHECK(again);
	nb_uplink_close(again);
	CHECK(rte_mempool_full(pool));
}

static void test_ring_loopback(void)
{
	struct nbt_frame f = { .v6 = true, .tcp = false, .payload = 1200, .seg = 301 };
	struct rte_mbuf *pkts[4], *rx[8];
	struct nb_uplink *u = open_or_fail("net_ring0", 2);
	uint16_t i, n;

	REQUIRE(u);
	CHECK(nb_uplink_nqueues(u) == 2 && nb_uplink_caps(u) == NB_CAP_MULTISEG);
	for (i = 0; i < 4; i++) {
		pkts[i] = nbt_frame_mbuf(pool, &f);
		REQUIRE(pkts[i] && nb_offload_ingress(pkts[i], true, false, 0, 0) == 0);
	}
	/* Worker 1 sends on queue 1, which loops back to RX queue 1 only. */
	CHECK(nb_uplink_tx(u, 0, ol, pkts, 2) == 2);
	CHECK(nb_uplink_tx(u, 1, ol, pkts + 2, 2) == 2);
	n = nb_uplink_rx(u, 0, rx, 8);
	CHECK(n == 2);
	n += nb_uplink_rx(u, 1, rx + n, 6);
	CHECK(n == 4);
	for (i = 0; i < n; i++) {
		uint8_t *b = nbt_flat(rx[i]);

		CHECK(rx[i]->pkt_len == 14 + 40 + 8 + 1200);
		CHECK(nbt_l4_ok(b, rx[i]->pkt_len, &f));
		free(b);
	}
	rte_pktmbuf_free_bulk(rx, n);
	nb_uplink_close(u);
	CHECK(rte_mempool_full(pool));
}

/* ---- the kernel side ---- */

static int if_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return r;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Waits up to 2 s for a frame equal to want[0..n) on the packet socket,
 * after a header of hlen bytes (PACKET_VNET_HDR; 0: none) copied to hdr.
 */
static bool kernel_sees_hdr(int fd, void *hdr, size_t hlen, const uint8_t *want, uint32_t n)
{
	static uint8_t buf[64 + 70000];
	uint64_t end = test_mono_ms() + 2000;

	while (test_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t len;

		if (poll(&p, 1, 100) <= 0)
			continue;
		len = recv(fd, buf, sizeof(buf), 0);
		if (len == (ssize_t)(hlen + n) && memcmp(buf + hlen, want, n) == 0) {
			if (hlen)
				memcpy(hdr, buf, hlen);
			return true;
		}
	}
	return false;
}

static bool kernel_sees(int fd, const uint8_t *want, uint32_t n)
{
	return kernel_sees_hdr(fd, NULL, 0, want, n);
}

/* Waits for the uplink to receive a frame equal to want[0..n), by interrupt if it has one. */
static bool uplink_sees(struct nb_uplink *u, const uint8_t *want, uint32_t n)
{
	uint64_t end = test_mono_ms() + 2000;
	int fd = nb_uplink_intr_fd(u, 0);
	bool seen = false;

	while (!seen && test_mono_ms() < end) {
		struct rte_mbuf *rx[16];
		uint16_t i, k;

		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			nb_uplink_intr_arm(u, 0, true);
			poll(&p, 1, 100);
			nb_uplink_intr_arm(u, 0, false);
		} else {
			usleep(1000);
		}
		k = nb_uplink_rx(u, 0, rx, 16);
		for (i = 0; i < k; i++) {
			uint8_t *b = nbt_flat(rx[i]);

			seen |= rx[i]->pkt_len == n && memcmp(b, want, n) == 0;
			free(b);
		}
		rte_pktmbuf_free_bulk(rx, k);
	}
	return seen;
}

/* A guest's partial-checksum frame as any egress must send it: complete. */
static uint8_t *expected_frame(const struct nbt_frame *f, uint32_t *n)
{
	struct rte_mbuf *c = nbt_frame_mbuf(pool, f);
	uint8_t *b = NULL;

	if (c && nb_offload_ingress(c, true, false, 0, 0) == 0 &&
	    nb_offload_egress(ol, 0, &c, 1, &c, 1, NULL) == 1) {
		b = nbt_flat(c);
		*n = c->pkt_len;
		rte_pktmbuf_free(c);
	}
	return b;
}

/* Out through u, expected at `kernel_if`; then injected there, expected at u. */
static void frame_both_ways(struct nb_uplink *u, const char *kernel_if)
{
	struct nbt_frame f = { .tcp = false, .payload = 600, .seg = 250 };
	struct rte_mbuf *m = nbt_frame_mbuf(pool, &f);
	uint32_t n = 0;
	uint8_t *expect = expected_frame(&f, &n);
	int fd = packet_socket(kernel_if);

	REQUIRE(m && expect && fd >= 0);
	CHECK(nbt_l4_ok(expect, n, &f));
	REQUIRE(nb_offload_ingress(m, true, false, 0, 0) == 0);
	CHECK(nb_uplink_tx(u, 0, ol, &m, 1) == 1);
	CHECK(kernel_sees(fd, expect, n));
	expect[n - 1] ^= 0xff;
	CHECK(send(fd, expect, n, 0) == (ssize_t)n);
	CHECK(uplink_sees(u, expect, n));
	free(expect);
	close(fd);
}

static void test_tap(void)
{
	struct nb_uplink *u;

	u = open_or_fail("net_tap0,iface=nbt0", 1);
	REQUIRE(u);
	CHECK(nb_uplink_caps(u) == NB_CAP_MULTISEG);	/* 22.11's tap checksums: see uplink.c */
	CHECK(nb_uplink_intr_fd(u, 0) >= 0);
	CHECK(if_up("nbt0") == 0);
	frame_both_ways(u, "nbt0");
	nb_uplink_close(u);
	CHECK(if_nametoindex("nbt0") == 0);	/* the kernel interface went with it */
	CHECK(rte_mempool_full(pool));
}

static bool feature_off(const char *ifname, const char *feature)
{
	char cmd[256], line[256];
	bool off = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ethtool -k %s 2>/dev/null", ifname);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p))
		if (strncmp(line, feature, strlen(feature)) == 0 && line[strlen(feature)] == ':')
			off = strstr(line, ": off") != NULL;
	pclose(p);
	return off;
}

/* Drained, the socket is quiet; a frame from the peer makes it readable before any RX call. */
static void af_packet_wakes(struct nb_uplink *u, const char *peer)
{
	struct pollfd p = { .fd = nb_uplink_intr_fd(u, 0), .events = POLLIN };
	struct rte_mbuf *rx[16];
	uint8_t frame[60] = { 0 };
	int fd = packet_socket(peer);
	uint16_t k;

	REQUIRE(fd >= 0 && p.fd >= 0);
	while ((k = nb_uplink_rx(u, 0, rx, 16)) > 0)
		rte_pktmbuf_free_bulk(rx, k);
	CHECK(poll(&p, 1, 0) == 0);
	memset(frame, 0xff, 6);		/* broadcast, from 02:..:02, type 0x88b5 (local experimental) */
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	CHECK(send(fd, frame, sizeof(frame), 0) == (ssize_t)sizeof(frame));
	CHECK(poll(&p, 1, 2000) == 1 && (p.revents & POLLIN));
	CHECK(nb_uplink_intr_arm(u, 0, true) == 0 && nb_uplink_intr_arm(u, 0, false) == 0);
	k = nb_uplink_rx(u, 0, rx, 16);
	CHECK(k >= 1);
	rte_pktmbuf_free_bulk(rx, k);
	close(fd);
}

static void test_af_packet(void)
{
	struct nb_uplink *u;

	CHECK(if_up("nbva") == 0 && if_up("nbvb") == 0);
	u = open_or_fail("net_af_packet0,iface=nbva", 1);
	REQUIRE(u);
	CHECK(feature_off("nbva", "generic-receive-offload"));
	CHECK(feature_off("nbva", "generic-segmentation-offload"));
	CHECK(feature_off("nbva", "tcp-segmentation-offload"));
	CHECK(feature_off("nbva", "tx-checksumming"));
	/* The queue's packet socket stands in for an RX interrupt. */
	CHECK(nb_uplink_intr_fd(u, 0) >= 0);
	frame_both_ways(u, "nbvb");
	af_packet_wakes(u, "nbvb");
	nb_uplink_close(u);
	CHECK(system("ip link del nbva") == 0);
	CHECK(rte_mempool_full(pool));
}

/* ---- tap: (ktap.c) ---- */

/* A packet socket on ifname exchanging struct virtio_net_hdr + frame. */
static int vnet_packet_socket(const char *ifname)
{
	int fd = packet_socket(ifname), one = 1;

	if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to 2 s for the uplink to receive a frame of length n. */
static struct rte_mbuf *uplink_gets(struct nb_uplink *u, uint32_t n)
{
	uint64_t end = test_mono_ms() + 2000;
	struct rte_mbuf *got = NULL;

	while (!got && test_mono_ms() < end) {
		struct pollfd p = { .fd = nb_uplink_intr_fd(u, 0), .events = POLLIN };
		struct rte_mbuf *rx[16];
		uint16_t i, k;

		poll(&p, 1, 100);
		k = nb_uplink_rx(u, 0, rx, 16);
		for (i = 0; i < k; i++) {
			if (!got && rx[i]->pkt_len == n)
				got = rx[i];
			else
				rte_pktmbuf_free(rx[i]);
		}
	}
	return got;
}

/* A guest's TSO packet out: the kernel gets it whole, GSO TCPv4 with MSS 1000. */
static void ktap_tso_out(struct nb_uplink *u, int fd)
{
	struct nbt_frame f = { .tcp = true, .payload = 30000, .seg = 4096 };
	struct rte_mbuf *m = nbt_frame_mbuf(pool, &f);
	struct virtio_net_hdr h = { 0 };
	struct nb_uplink_stats st;
	uint32_t n, csum_field = 14 + 20 + 16;
	uint8_t *b = nbt_bytes(&f, &n);

	REQUIRE(m && b);
	REQUIRE(nb_offload_ingress(m, true, false, 1, 1000) == 0);
	CHECK(nb_uplink_tx(u, 0, ol, &m, 1) == 1);
	/* The checksum field is Linux's seed (pseudo-header with length): compare around it. */
	b[csum_field] = (uint8_t)(nbt_phdr(b, &f, 20 + 30000) >> 8);
	b[csum_field + 1] = (uint8_t)nbt_phdr(b, &f, 20 + 30000);
	CHECK(kernel_sees_hdr(fd, &h, sizeof(h), b, n));
	CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && h.gso_size == 1000);
	CHECK((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h.csum_start == 34 && h.csum_offset == 16);
	nb_uplink_stats(u, &st);
	CHECK(st.tx_packets == 1 && st.tx_bytes == n);
	CHECK(st.offload.segmented == 0 && st.offload.csum_sw == 0);
	free(b);
}

/* A kernel GSO packet in (IPv6): one packet, pkt.h's TSO flags, the bytes. */
static void ktap_tso_in(struct nb_uplink *u, int fd)
{
	struct nbt_frame f = { .v6 = true, .tcp = true, .payload = 40000 };
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = 14 + 40 + 20, .gso_size = 1400, .csum_start = 14 + 40, .csum_offset = 16,
	};
	uint32_t n;
	uint8_t *b = nbt_bytes(&f, &n), *buf = malloc(sizeof(h) + n), *flat;
	struct rte_mbuf *m;

	REQUIRE(b && buf);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), b, n);
	CHECK(send(fd, buf, sizeof(h) + n, 0) == (ssize_t)(sizeof(h) + n));
	m = uplink_gets(u, n);
	REQUIRE(m);
	CHECK(m->nb_segs == (n + 4095) / 4096);
	CHECK((m->ol_flags & NB_TX_OFFLOAD_MASK) ==
	      (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG));
	CHECK(m->tso_segsz == 1400 && m->l2_len == 14 && m->l3_len == 40 && m->l4_len == 20);
	flat = nbt_flat(m);
	CHECK(memcmp(flat + 74, b + 74, n - 74) == 0 && memcmp(flat, b, 54) == 0);
	free(flat);
	rte_pktmbuf_free(m);
	free(buf);
	free(b);
}

/* A partial checksum nb_offload_ingress cannot say (inside a UDP payload): completed. */
static void ktap_csum_elsewhere(struct nb_uplink *u, int fd)
{
	struct nbt_frame f = { .tcp = false, .payload = 300 };
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 14 + 20 + 8 + 20, .csum_offset = 6,
	};
	uint32_t n, start = h.csum_start, seed;
	uint8_t *b = nbt_bytes(&f, &n), *buf = malloc(sizeof(h) + n), *flat;
	struct rte_mbuf *m;

	REQUIRE(b && buf);
	b[14 + 20 + 6] = b[14 + 20 + 7] = 0;	/* UDP: no checksum */
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), b, n);
	CHECK(send(fd, buf, sizeof(h) + n, 0) == (ssize_t)(sizeof(h) + n));
	m = uplink_gets(u, n);
	REQUIRE(m);
	CHECK(!(m->ol_flags & NB_TX_OFFLOAD_MASK));
	flat = nbt_flat(m);
	/* As a receiver checks it: the sum with the sender's seed (what the field held) added. */
	seed = (uint32_t)(b[start + 6] << 8 | b[start + 7]);
	CHECK(nbt_fold(nbt_sum(flat + start, n - start, seed)) == 0xffff);
	CHECK(memcmp(flat, b, start + 6) == 0);
	free(flat);
	rte_pktmbuf_free(m);
	free(buf);
	free(b);
}

static void test_ktap(void)
{
	struct nb_uplink *u = open_or_fail("tap:nbk0", 2);
	int fd;

	REQUIRE(u);
	CHECK(strcmp(nb_uplink_name(u), "tap:nbk0") == 0 && strcmp(nb_uplink_driver(u), "ddom_tap") == 0);
	CHECK(nb_uplink_nqueues(u) == 2);
	CHECK(nb_uplink_caps(u) == (NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM | NB_CAP_TSO4 | NB_CAP_TSO6 |
				    NB_CAP_MULTISEG | NB_CAP_PHDR_LINUX));
	CHECK(nb_uplink_intr_fd(u, 0) >= 0 && nb_uplink_intr_fd(u, 1) >= 0);
	CHECK(nb_uplink_intr_arm(u, 0, true) == 0 && nb_uplink_intr_arm(u, 0, false) == 0);
	CHECK(nb_uplink_link_up(u));	/* set up at open */
	fd = vnet_packet_socket("nbk0");
	REQUIRE(fd >= 0);
	ktap_tso_out(u, fd);
	/* One queue for the test to read: the kernel picks a tap queue by flow. */
	nb_uplink_close(u);
	CHECK(if_nametoindex("nbk0") == 0);	/* created here, gone with it */
	close(fd);
	u = open_or_fail("tap:nbk0", 1);
	REQUIRE(u);
	fd = vnet_packet_socket("nbk0");
	REQUIRE(fd >= 0);
	ktap_tso_in(u, fd);
	ktap_csum_elsewhere(u, fd);
	close(fd);
	nb_uplink_close(u);
	CHECK(rte_mempool_full(pool));
}

/* An operator's persistent tap without multi_queue: one queue, left in place at close. */
static void test_ktap_persistent(void)
{
	struct nb_uplink *u;

	REQUIRE(system("ip tuntap add dev nbkp mode tap vnet_hdr") == 0);
	u = open_or_fail("tap:nbkp", 2);
	REQUIRE(u);
	CHECK(nb_uplink_nqueues(u) == 1);
	CHECK(nb_uplink_intr_fd(u, 1) == -1);
	nb_uplink_close(u);
	CHECK(if_nametoindex("nbkp") != 0);
	CHECK(open_or_fail("tap:", 1) == NULL);
	CHECK(open_or_fail("tap:a-name-longer-than-15", 1) == NULL);
	CHECK(system("ip tuntap del dev nbkp mode tap") == 0);
	CHECK(rte_mempool_full(pool));
}

/* The interface deleted under the uplink: link down, RX returns at once, TX counted as dropped. */
static void test_ktap_deleted(void)
{
	struct nbt_frame f = { .tcp = false, .payload = 100 };
	struct nb_uplink *u = open_or_fail("tap:nbkd", 1);
	struct rte_mbuf *rx[8], *m;
	struct nb_uplink_stats st;
	struct pollfd p;

	REQUIRE(u);
	CHECK(nb_uplink_link_up(u));
	CHECK(system("ip link del nbkd") == 0);
	CHECK(!nb_uplink_link_up(u));
	p = (struct pollfd){ .fd = nb_uplink_intr_fd(u, 0), .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLERR));	/* the worker unwatches it */
	CHECK(nb_uplink_rx(u, 0, rx, 8) == 0);
	CHECK(nb_uplink_rx(u, 0, rx, 8) == 0);
	m = nbt_frame_mbuf(pool, &f);
	REQUIRE(m);
	CHECK(nb_uplink_tx(u, 0, ol, &m, 1) == 0);
	nb_uplink_stats(u, &st);
	CHECK(st.drop_tx_full == 1 && st.tx_packets == 0);
	nb_uplink_close(u);
	CHECK(rte_mempool_full(pool));
}

int main(void)
{
	/* Our own network namespace for the kernel interfaces, before any thread. */
	have_netns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	nbt_eal_start("test-uplink");
	pool = nb_pool_create("t-uplink", 2047, 0);
	if (!pool || nb_offload_new(pool, NULL, &ol) < 0) {
		printf("Bail out! pool\n");
		return 1;
	}
	tap_run("/uplink/null-sink", test_null_sink);
	tap_run("/uplink/ring-loopback", test_ring_loopback);
	if (have_netns && access("/dev/net/tun", R_OK | W_OK) == 0)
		tap_run("/uplink/tap", test_tap);
	else
		skip("/uplink/tap", "needs root, a network namespace and /dev/net/tun");
	if (have_netns && access("/dev/net/tun", R_OK | W_OK) == 0) {
		tap_run("/uplink/ktap", test_ktap);
		tap_run("/uplink/ktap-persistent", test_ktap_persistent);
		tap_run("/uplink/ktap-deleted", test_ktap_deleted);
	} else {
		skip("/uplink/ktap", "needs root, a network namespace and /dev/net/tun");
		skip("/uplink/ktap-persistent", "needs root, a network namespace and /dev/net/tun");
		skip("/uplink/ktap-deleted", "needs root, a network namespace and /dev/net/tun");
	}
	/* No IPv6 on the veths: no neighbour discovery frames to wake the uplink. */
	if (have_netns && system("ip link add nbva type veth peer name nbvb 2>/dev/null") == 0 &&
	    system("sysctl -qw net.ipv6.conf.nbva.disable_ipv6=1 net.ipv6.conf.nbvb.disable_ipv6=1") == 0)
		tap_run("/uplink/af_packet", test_af_packet);
	else
		skip("/uplink/af_packet", "needs root, a network namespace and veth");
	nb_offload_free(ol);
	rte_mempool_free(pool);
	nb_eal_fini();
	return tap_done();
}
