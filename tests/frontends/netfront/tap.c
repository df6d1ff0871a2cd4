// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront TAP device: opens a Linux TAP (Documentation/networking/tuntap.rst)
 * with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (one fd per queue with
 * IFF_MULTI_QUEUE), then gives it the vif's MAC and MTU, turns on only the
 * offloads netif negotiated (TUNSETOFFLOAD: TUN_F_CSUM, TUN_F_TSO4,
 * TUN_F_TSO6) and brings it up.
 *
 * Main thread, before the workers start. Needs CAP_NET_ADMIN in the
 * current network namespace. Every fd it opens is closed on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

#include "netfront.h"

int nf_tap_open(const char *name, bool multi_queue, int *ret_fd)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = sizeof(struct virtio_net_hdr);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int sock_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

int nf_tap_configure(int fd, const char *name, const uint8_t mac[6], unsigned mtu,
		     const struct nf_tx_caps *caps)
{
	unsigned off = 0;
	struct ifreq ifr;
	int r;

	/* What the kernel may hand us: only what we can put on the ring. */
	if (caps->csum4 || caps->csum6)
		off |= TUN_F_CSUM;
	if (caps->gso4)
		off |= TUN_F_TSO4;
	if (caps->gso6)
		off |= TUN_F_TSO6;
	if (ioctl(fd, TUNSETOFFLOAD, off) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	r = sock_ioctl(SIOCSIFHWADDR, &ifr);
	if (r < 0)
		return r;
	ifr.ifr_mtu = (int)mtu;
	r = sock_ioctl(SIOCSIFMTU, &ifr);
	if (r < 0)
		return r;
	r = sock_ioctl(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	ifr.ifr_flags |= IFF_UP;
	return sock_ioctl(SIOCSIFFLAGS, &ifr);
}
