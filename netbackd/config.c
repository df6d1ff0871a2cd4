// SPDX-License-Identifier: GPL-2.0-only
/*
 * netbackd settings (see config.h). Main thread, before anything else;
 * never logs, never exits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "config.h"
#include "store.h"

void nb_config_defaults(struct nb_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_queues = 4;
	c->workers = 1;
	c->poll_us = NB_POLL_US_DEFAULT;
	c->mbufs = 16384;
	c->mem_mb = 256;
	c->mac_table = 4096;
	/* The IEEE 802.1D default ageing time, as Linux bridges use. */
	c->mac_age = 300;
	c->rx_backlog = 512;
	c->split_evtchn = true;
	c->ctrl_ring = true;
	c->gso = true;
	c->antispoof = true;
	c->uplink_gro = true;
	conf_common_defaults(&c->common);
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true"))
		*ret = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* Space- or comma-separated MACs appended to a rule list. */
static int parse_macs(const char *v, uint8_t (*list)[6], unsigned *n)
{
	char buf[NB_VIF_RULES_CAP * 18 + 1], *tok, *save;

	if (strlen(v) >= sizeof(buf))
		return -E2BIG;
	strcpy(buf, v);
	for (tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		if (*n >= NB_VIF_RULES_CAP)
			return -E2BIG;
		if (store_parse_mac(tok, strlen(tok), list[*n]) < 0)
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

static int set_flag(struct nb_config *c, const char *key)
{
	if (!strcmp(key, "help"))
		c->help = true;
	else if (!strcmp(key, "version"))
		c->version = true;
	else if (!strcmp(key, "status"))
		c->status = true;
	else if (!strcmp(key, "mac-table"))
		c->mac_table_cmd = 1;
	else
		return -ENOENT;
	return 0;
}

int nb_config_set(struct nb_config *c, const char *key, const char *value, char *err,
		  size_t errlen)
{
	int r;

	if (!value)
		return set_flag(c, key);
	if (!strcmp(key, "max-queues"))
		/* Linux netback offers one queue per driver-domain CPU; more
		 * queues than 16 gain nothing on the guests Xen runs. */
		r = conf_parse_uint(value, 1, NB_MAX_QUEUES_CAP, &c->max_queues);
	else if (!strcmp(key, "workers"))
		r = conf_parse_uint(value, 1, NB_WORKERS_CAP, &c->workers);
	else if (!strcmp(key, "poll-us"))
		/* As blkbackd: past 10 ms a poll is a CPU given away. */
		r = conf_parse_uint(value, 0, NB_POLL_US_CAP, &c->poll_us);
	else if (!strcmp(key, "mbufs"))
		/* At least a full RX ring (256) per queue of a few guests. */
		r = conf_parse_uint(value, 2048, 1u << 20, &c->mbufs);
	else if (!strcmp(key, "mem-mb"))
		r = conf_parse_uint(value, 64, 1u << 16, &c->mem_mb);
	else if (!strcmp(key, "uplink-mtu"))
		/* 0: each device's own. 68: RFC 791's smallest; 9600: the usual
		 * NIC jumbo limit (the device may allow less: then it refuses). */
		r = conf_parse_uint(value, 0, 9600, &c->uplink_mtu) ?:
		    (c->uplink_mtu && c->uplink_mtu < 68 ? -EINVAL : 0);
	else if (!strcmp(key, "mac-table-size"))
		r = conf_parse_uint(value, 64, 1u << 20, &c->mac_table);
	else if (!strcmp(key, "mac-age"))
		r = conf_parse_uint(value, 1, 1000000, &c->mac_age);
	else if (!strcmp(key, "rx-backlog"))
		/* A power of two (rte_ring), at least one RX ring's worth. */
		r = conf_parse_uint(value, 256, 65536, &c->rx_backlog) ?:
		    (c->rx_backlog & (c->rx_backlog - 1) ? -EINVAL : 0);
	else if (!strcmp(key, "split-event-channels"))
		r = parse_bool(value, &c->split_evtchn);
	else if (!strcmp(key, "ctrl-ring"))
		r = parse_bool(value, &c->ctrl_ring);
	else if (!strcmp(key, "gso"))
		r = parse_bool(value, &c->gso);
	else if (!strcmp(key, "uplink-gro"))
		r = parse_bool(value, &c->uplink_gro);
	else if (!strcmp(key, "antispoof"))
		r = parse_bool(value, &c->antispoof);
	else if (!strcmp(key, "uplink")) {
		if (c->nuplinks >= NB_UPLINKS_CAP)
			r = -E2BIG;
		else
			r = conf_set_path(c->uplinks[c->nuplinks], NB_DEVARGS_MAX, value);
		if (!r)
			c->nuplinks++;
	} else if (!strcmp(key, "eal"))
		r = strlen(value) < sizeof(c->eal) ? (strcpy(c->eal, value), 0) : -E2BIG;
	else if (!strcmp(key, "trusted"))
		r = parse_macs(value, c->trusted, &c->ntrusted);
	else if (!strcmp(key, "isolated"))
		r = parse_macs(value, c->isolated, &c->nisolated);
	else
		return conf_common_set(&c->common, key, value, err, errlen);
	if (r < 0)
		return conf_bad_value(err, errlen, key, value);
	return 0;
}

static int set(void *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return nb_config_set(cfg, key, value, err, errlen);
}

int nb_config_parse_args(struct nb_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const char *const flags[] = { "help", "version", "status", "mac-table", NULL };
	int i;

	/* --capture WHAT FILE takes two values: lift it out before the rest. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--capture"))
			continue;
		if (i + 2 >= argc || conf_set_path(c->capture[0], PATH_MAX, argv[i + 1]) < 0 ||
		    conf_set_path(c->capture[1], PATH_MAX, argv[i + 2]) < 0) {
			snprintf(err, errlen, "option '--capture' needs a port and a file");
			return -EINVAL;
		}
		memmove(&argv[i], &argv[i + 3], (argc - i - 3 + 1) * sizeof(*argv));
		argc -= 3;
		i--;
	}
	return conf_parse_args(argc, argv, flags, set, c, err, errlen);
}

bool nb_config_has_mac(const uint8_t (*rules)[6], unsigned n, const uint8_t mac[6])
{
	for (unsigned i = 0; i < n; i++)
		if (!memcmp(rules[i], mac, 6))
			return true;
	return false;
}

const char *nb_config_usage(void)
{
	return "Usage: netbackd [OPTIONS]\n"
	       "User-space Xen network backend (netif) on DPDK for a driver domain, with an L2\n"
	       "switch between the guests' vifs and the uplinks.\n"
	       "\n"
	       "  -h, --help                   this text\n"
	       "  -V, --version                print the version\n"
	       "      --config FILE            read defaults from FILE (key = value lines)\n"
	       "      --uplink DEVARGS         an uplink port (repeatable): a PCI address\n"
	       "                               (0000:00:05.0) or a DPDK vdev (net_tap0,iface=up0,\n"
	       "                               net_af_packet0,iface=eth1, net_memif0, ...), or\n"
	       "                               tap:IFNAME, a kernel TAP interface with GSO and\n"
	       "                               checksum offloads both ways\n"
	       "      --uplink-mtu N           set every uplink's MTU, 68..9600 (0: the device's\n"
	       "                               own)\n"
	       "      --uplink-gro B           merge TCP/IPv4 segments from an uplink into\n"
	       "                               64 KiB packets for the guests (yes)\n"
	       "      --eal \"ARGS\"             extra DPDK EAL arguments (hugepages, cores);\n"
	       "                               without them netbackd runs with --no-huge\n"
	       "      --workers N              data-path threads, 1.." NB_STR(NB_WORKERS_CAP) " (1)\n"
	       "      --max-queues N           multi-queue-max-queues, 1.." NB_STR(NB_MAX_QUEUES_CAP) " (4)\n"
	       "      --poll-us N              busy-poll this long (microseconds) before sleeping,\n"
	       "                               0..10000 (" NB_STR(NB_POLL_US_DEFAULT) ")\n"
	       "      --mbufs N                packet buffers shared by all ports (16384)\n"
	       "      --mem-mb N               EAL memory in MiB, hugepages or not (256)\n"
	       "      --mac-table-size N       MAC table entries (4096)\n"
	       "      --mac-age S              seconds before a learned MAC is forgotten (300)\n"
	       "      --rx-backlog N           packets queued for one guest queue, a power of\n"
	       "                               two; beyond it they are dropped (512)\n"
	       "      --split-event-channels B feature-split-event-channels (yes)\n"
	       "      --ctrl-ring B            feature-ctrl-ring: hashing control (yes)\n"
	       "      --gso B                  feature-gso-tcpv4/-tcpv6 (yes)\n"
	       "      --antispoof B            drop frames a vif sends from another MAC, or\n"
	       "                               another IPv4 address when the vif has `ip` (yes)\n"
	       "      --trusted MAC[,MAC...]   vifs exempt from anti-spoofing\n"
	       "      --isolated MAC[,MAC...]  vifs that reach the uplinks only, not other vifs\n"
	       "      --max-devices N          vifs served at most, 1..4096 (512)\n"
	       "      --max-devices-per-domain N  ... of one guest, 1..256 (32)\n"
	       "      --runtime-dir DIR        control socket and restart state\n"
	       "                               ($RUNTIME_DIRECTORY, else /run/netbackd)\n"
	       "      --log-level LEVEL        err, warning, notice, info, debug (info)\n"
	       "      --status                 print every vif's and port's counters from the\n"
	       "                               running daemon and exit\n"
	       "      --mac-table              print the running daemon's MAC table and exit\n"
	       "      --capture PORT FILE      make the running daemon write what PORT (a vif\n"
	       "                               DOMID/DEVID, or an uplink's device name as\n"
	       "                               --status shows it) sends and receives to FILE as\n"
	       "                               pcapng (FILE 'off' stops), and exit\n"
	       "\n"
	       "The config file takes the same names without the dashes, e.g. 'workers = 2'.\n";
}
