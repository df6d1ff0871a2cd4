/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The uplinks as switch ports: each configured DPDK device (uplink.h) gets
 * one switch port, whose egress sends on the calling worker's TX queue,
 * and one receive pollable per RX queue, queue i served by worker i (a
 * device with fewer queues than workers is received by the first ones).
 *
 * Loop thread: open, close, status. Data path: the pollables and the
 * egress, on the workers.
 */
#ifndef NETBACKD_PORTS_H
#define NETBACKD_PORTS_H

#include <stdio.h>

struct nb_config;
struct nb_workers;
struct rte_mempool;
struct sw;
struct nb_uplinks;
struct nb_capture;

int nb_uplinks_open(const struct nb_config *cfg, struct rte_mempool *pool, struct sw *sw,
		    struct nb_workers *ws, struct nb_uplinks **ret);
/* Detaches the pollables, unpublishes the ports, closes the devices. */
void nb_uplinks_close(struct nb_uplinks *u);
void nb_uplinks_status(struct nb_uplinks *u, FILE *out);
unsigned nb_uplinks_count(const struct nb_uplinks *u);
/*
 * Loop thread, once a second: logs each uplink whose link went down (a
 * warning: what the guests lose) or came back up, once per change.
 */
void nb_uplinks_watch_links(struct nb_uplinks *u);
/* status-json: the member "uplinks" (an array) into the caller's open object. */
struct json;
struct sw_port;
void nb_uplinks_status_json(struct nb_uplinks *u, struct json *j);
/* status-json: the member "switch", a port's switch counters. */
void nb_port_counters_json(const struct sw_port *p, struct json *j);
/*
 * --capture of an uplink by its device name (as --status shows it, e.g.
 * net_tap0): FILE as pcapng, or "off". -ENOENT when no uplink has that name.
 */
int nb_uplinks_capture(struct nb_uplinks *u, const char *name, const char *file, FILE *out);

#endif
