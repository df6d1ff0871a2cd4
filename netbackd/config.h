/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netbackd's settings: defaults, a key=value config file and the command
 * line (which overrides the file), through common/conf.h, exactly as
 * blkbackd's. A bad key or value is an error naming it; main exits 2.
 *
 * Pure and single-threaded (main, before anything starts); no logging.
 */
#ifndef NETBACKD_CONFIG_H
#define NETBACKD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ctl.h"

/* Caps on what an operator may configure, with their reasons in config.c. */
#define NB_MAX_QUEUES_CAP 16
#define NB_WORKERS_CAP 64
#define NB_UPLINKS_CAP 8
#define NB_VIF_RULES_CAP 256
#define NB_DEVARGS_MAX 256
#define NB_EAL_MAX 1024
#define NB_POLL_US_CAP 10000
#define NB_POLL_US_DEFAULT 50
#define NB_STR_(x) #x
#define NB_STR(x) NB_STR_(x)
/* The control socket in the runtime directory (common/ctl.h). */
#define NB_CTL_SOCKET CTL_NETBACKD_SOCKET

struct nb_config {
	unsigned max_queues;		/* multi-queue-max-queues */
	unsigned workers;		/* data-path threads */
	unsigned poll_us;		/* a worker busy-polls this long before sleeping */
	unsigned mbufs;			/* packet buffers in the pool, shared by all ports */
	unsigned mem_mb;		/* EAL memory without hugepages */
	unsigned mac_table;		/* MAC table entries */
	unsigned mac_age;		/* seconds before a learned MAC is forgotten */
	unsigned uplink_mtu;		/* every uplink's MTU; 0: the device's own */
	unsigned rx_backlog;		/* packets queued for one guest queue, at most */
	bool split_evtchn;		/* feature-split-event-channels */
	bool ctrl_ring;			/* feature-ctrl-ring */
	bool gso;			/* feature-gso-tcpv4/-tcpv6 */
	bool antispoof;			/* drop frames from another MAC/IP (default on) */
	bool uplink_gro;		/* nb_offload_gro on what uplinks receive (default on) */
	unsigned nuplinks;
	char uplinks[NB_UPLINKS_CAP][NB_DEVARGS_MAX];	/* EAL device arguments */
	char eal[NB_EAL_MAX];		/* extra EAL arguments, space-separated */
	/* Per-vif exceptions by MAC: trusted (no anti-spoofing), isolated. */
	unsigned ntrusted, nisolated;
	uint8_t trusted[NB_VIF_RULES_CAP][6];
	uint8_t isolated[NB_VIF_RULES_CAP][6];
	struct conf_common common;	/* runtime-dir, log-level, max-devices[-per-domain] */
	/* command line only */
	bool status, help, version;
	char capture[2][PATH_MAX];	/* --capture WHAT FILE (a control command) */
	char mac_table_cmd;		/* --mac-table: print the MAC table */
};

void nb_config_defaults(struct nb_config *c);
/* As blk_config_set (common/conf.h): -ENOENT unknown, -EINVAL/-ERANGE bad. */
int nb_config_set(struct nb_config *c, const char *key, const char *value, char *err,
		  size_t errlen);
int nb_config_parse_args(struct nb_config *c, int argc, char **argv, char *err, size_t errlen);
/* True when mac is listed in rules[0..n). */
bool nb_config_has_mac(const uint8_t (*rules)[6], unsigned n, const uint8_t mac[6]);
const char *nb_config_usage(void);

#endif
