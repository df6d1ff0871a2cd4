/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DPDK start-up for netbackd: the EAL with arguments fit for a driver
 * domain (no hugepages when none are there, no shared runtime files, no
 * telemetry socket, no PCI device taken that nobody named), DPDK's own log
 * lines routed through common/log.h, and the mbuf pools of pkt.h.
 *
 * Called by the main thread only, once, before any worker exists, and
 * nb_eal_fini() after every worker has stopped. Never calls rte_exit() and
 * never exits: failures come back as -errno with a sentence in `why`.
 *
 * Worker threads are plain pthreads that register with rte_thread_register()
 * (and rte_thread_unregister() before they end). That works with the
 * EAL started here, hugepages or not: registration needs the multi-process
 * channel to be off, and --in-memory / --no-shconf have none (with a
 * --file-prefix from the operator it works too, and then locks secondary
 * processes out). A registered thread gets an lcore id, hence a per-thread
 * mempool cache; tests/unit/net-dpdk/test-eal.c checks this.
 */
#ifndef NETBACKD_EAL_H
#define NETBACKD_EAL_H

#include <stddef.h>

#include <rte_mempool.h>

/*
 * Names a device the EAL must probe at start with `-a` (its PCI allow list).
 * Called before nb_eal_init() for every uplink; a vdev string is ignored
 * (vdevs are hot-plugged by nb_uplink_open). Without any PCI device named,
 * and no device option in the operator's arguments, the EAL runs with
 * --no-pci, so it takes no NIC that another netbackd (or the kernel's
 * vfio-pci binding for someone else) owns. Returns 0, -E2BIG past 16.
 */
int nb_eal_add_device(const char *devargs);

/*
 * Starts the EAL. `eal_args` is the operator's --eal string, split on
 * blanks (NULL or "" for none). Added unless the operator's arguments
 * already say it:
 *   --in-memory        (no file-prefix / proc-type / in-memory / no-shconf
 *                       given); --no-shconf instead with --no-huge, which
 *                       22.11 refuses to combine with --in-memory
 *   --no-huge -m MB    (no memory option given and no hugetlbfs mount with
 *                       free pages: DMA-capable PCI NICs need hugepages, vdev
 *                       uplinks do not), else -m MB with hugepages
 *   --no-telemetry, --log-level (from log_get_max_level(), at most notice)
 *   --lcores 0@(all CPUs we may run on): one EAL lcore, the main thread, not
 *                       pinned (pthreads it creates inherit its affinity)
 *   -a BDF per nb_eal_add_device(), or --no-pci
 * `ident` is argv[0] and the prefix of DPDK's log lines. Returns 0 or
 * -errno (-EALREADY when called twice: DPDK cannot restart its EAL).
 */
int nb_eal_init(const char *ident, const char *eal_args, unsigned mem_mb, char *why, size_t n);

/* rte_eal_cleanup() and the log stream back to DPDK's default. */
void nb_eal_fini(void);

/*
 * A packet pool of `n` mbufs with NB_MBUF_DATA_ROOM (pkt.h) and a per-lcore
 * cache of `cache`, multi-producer/multi-consumer. NULL (logged, rte_errno
 * set) on failure.
 */
struct rte_mempool *nb_pool_create(const char *name, unsigned n, unsigned cache);

#endif
