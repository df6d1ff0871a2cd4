// SPDX-License-Identifier: GPL-2.0-only
/*
 * EAL start-up for netbackd (see eal.h for what is added to the operator's
 * arguments and why).
 *
 * DPDK 22.11 on Linux logs to stdout and to syslog by default (its
 * eal_log_init installs a cookie stream doing both); a daemon's stdout is
 * not its log, and the journal would get every line twice. So DPDK's stream
 * is replaced, before rte_eal_init, by a cookie stream that cuts DPDK's
 * output into lines and hands each to common/log.h at the priority of the
 * message being written (rte_log_cur_msg_loglevel), as "dpdk: <line>".
 *
 * Main thread only, before workers exist (nb_pool_create too). Never exits.
 */
#include <errno.h>
#include <glob.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_pci.h>

#include "eal.h"
#include "log.h"
#include "pkt.h"

#define EAL_ARGV_MAX 64
#define EAL_DEVICES_MAX 16

struct eal_argv {
	int argc;
	char *argv[EAL_ARGV_MAX + 1];
};

static char *eal_devices[EAL_DEVICES_MAX];
static unsigned eal_ndevices;
static FILE *eal_log_stream;
static bool eal_started;

/* ---- DPDK's log lines into common/log.h ---- */

struct eal_log_line {
	size_t len;
	char buf[1024];
};

static struct eal_log_line eal_log_pending;

static void eal_log_flush_line(struct eal_log_line *l)
{
	/* RTE_LOG_EMERG is 1 .. RTE_LOG_DEBUG 8; syslog's levels are one less. */
	int prio = (int)rte_log_cur_msg_loglevel() - 1;

	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		prio = LOG_INFO;
	if (l->len)
		log_msg(prio, 0, "dpdk: %.*s", (int)l->len, l->buf);
	l->len = 0;
}

/* Called by stdio with the stream's lock held, so one writer at a time. */
static ssize_t eal_log_write(void *cookie, const char *buf, size_t size)
{
	struct eal_log_line *l = cookie;
	size_t i;

	for (i = 0; i < size; i++) {
		if (buf[i] == '\n' || l->len == sizeof(l->buf)) {
			eal_log_flush_line(l);
			if (buf[i] == '\n')
				continue;
		}
		l->buf[l->len++] = buf[i];
	}
	return (ssize_t)size;
}

static int eal_log_open(void)
{
	cookie_io_functions_t io = { .write = eal_log_write };

	if (eal_log_stream)
		return 0;
	eal_log_stream = fopencookie(&eal_log_pending, "w", io);
	if (!eal_log_stream)
		return -errno;
	setvbuf(eal_log_stream, NULL, _IOLBF, 0);
	return rte_openlog_stream(eal_log_stream) < 0 ? -EINVAL : 0;
}

/* ---- the argument vector ---- */

static int argv_add(struct eal_argv *a, const char *s)
{
	if (a->argc >= EAL_ARGV_MAX)
		return -E2BIG;
	a->argv[a->argc] = strdup(s);
	if (!a->argv[a->argc])
		return -ENOMEM;
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

static void argv_free(struct eal_argv *a)
{
	while (a->argc > 0)
		free(a->argv[--a->argc]);
}

/* The operator's string, split on blanks (no quoting: EAL options take none). */
static int argv_split(struct eal_argv *a, const char *s)
{
	char *copy, *tok, *save = NULL;
	int r = 0;

	if (!s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t\n", &save); tok && r == 0; tok = strtok_r(NULL, " \t\n", &save))
		r = argv_add(a, tok);
	free(copy);
	return r;
}

/* Does any argument after argv[0] start with one of the NULL-ended names? */
static bool argv_has(const struct eal_argv *a, const char *const *names)
{
	int i;

	for (i = 1; i < a->argc; i++)
		for (const char *const *n = names; *n; n++)
			if (strncmp(a->argv[i], *n, strlen(*n)) == 0)
				return true;
	return false;
}

#define ARGV_HAS(a, ...) argv_has((a), (const char *const[]){ __VA_ARGS__, NULL })

/* Any hugetlbfs mount, and any free page of any size? */
static bool hugepages_usable(void)
{
	bool mounted = false, free_pages = false;
	char line[512];
	glob_t g;
	FILE *f;

	f = fopen("/proc/mounts", "re");
	if (f) {
		while (!mounted && fgets(line, sizeof(line), f))
			mounted = strstr(line, " hugetlbfs ") != NULL;
		fclose(f);
	}
	if (glob("/sys/kernel/mm/hugepages/hugepages-*/free_hugepages", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && !free_pages; i++) {
			unsigned long v = 0;

			f = fopen(g.gl_pathv[i], "re");
			if (f) {
				free_pages = fscanf(f, "%lu", &v) == 1 && v > 0;
				fclose(f);
			}
		}
		globfree(&g);
	}
	return mounted && free_pages;
}

/* "--lcores=0@(0-3,6)": lcore 0 on every CPU this process may use. */
static int lcores_arg(char *buf, size_t n)
{
	cpu_set_t set;
	size_t len;
	int cpu, start = -1;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	len = (size_t)snprintf(buf, n, "--lcores=0@(");
	for (cpu = 0; cpu <= CPU_SETSIZE && len < n; cpu++) {
		bool in = cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);

		if (in && start < 0)
			start = cpu;
		if (in || start < 0)
			continue;
		len += (size_t)snprintf(buf + len, n - len, start == cpu - 1 ? "%d," : "%d-%d,",
					start, cpu - 1);
		start = -1;
	}
	if (len >= n || buf[len - 1] != ',')
		return -E2BIG;
	buf[len - 1] = ')';
	return 0;
}

/* syslog level to --log-level: DPDK's info is chatty, so notice at most
 * unless we are debugging. */
static int log_level_arg(char *buf, size_t n)
{
	int prio = log_get_max_level();

	prio = prio >= LOG_DEBUG ? LOG_INFO : (prio > LOG_NOTICE ? LOG_NOTICE : prio);
	return snprintf(buf, n, "--log-level=%d", prio + 1) < (int)n ? 0 : -E2BIG;
}

static int add_memory_args(struct eal_argv *a, unsigned mem_mb)
{
	char mb[32];
	int r;

	snprintf(mb, sizeof(mb), "%u", mem_mb);
	if (ARGV_HAS(a, "--no-huge", "-m", "--socket-mem", "--socket-limit", "--huge-dir"))
		return 0;
	if (hugepages_usable()) {
		log_info("EAL: hugepages are mounted and free: using them, %u MiB", mem_mb);
		r = argv_add(a, "-m");
		return r ? r : argv_add(a, mb);
	}
	log_notice("EAL: no hugetlbfs mount with free pages: --no-huge, %u MiB of ordinary "
		   "memory (enough for vdev uplinks; a PCI NIC needs hugepages)", mem_mb);
	r = argv_add(a, "--no-huge");
	if (!r)
		r = argv_add(a, "-m");
	return r ? r : argv_add(a, mb);
}

static int add_device_args(struct eal_argv *a)
{
	unsigned i;
	int r = 0;

	if (ARGV_HAS(a, "-a", "--allow", "-b", "--block", "--no-pci", "-w"))
		return 0;
	if (eal_ndevices == 0)
		return argv_add(a, "--no-pci");
	for (i = 0; i < eal_ndevices && r == 0; i++) {
		r = argv_add(a, "-a");
		if (!r)
			r = argv_add(a, eal_devices[i]);
	}
	return r;
}

static int build_argv(struct eal_argv *a, const char *ident, const char *eal_args, unsigned mem_mb)
{
	char buf[512];
	int r;

	r = argv_add(a, ident);
	if (!r)
		r = argv_split(a, eal_args);
	if (!r)
		r = add_memory_args(a, mem_mb);
	/* No runtime files, no multi-process channel: several netbackd may run
	 * side by side. 22.11 refuses --in-memory with --no-huge (which implies
	 * --legacy-mem, eal_common_options.c), so there --no-shconf, which is
	 * what --in-memory means without hugepage files. */
	if (!r && !ARGV_HAS(a, "--in-memory", "--file-prefix", "--proc-type", "--no-shconf"))
		r = argv_add(a, ARGV_HAS(a, "--no-huge") ? "--no-shconf" : "--in-memory");
	if (!r && !ARGV_HAS(a, "--telemetry", "--no-telemetry"))
		r = argv_add(a, "--no-telemetry");
	if (!r && !ARGV_HAS(a, "--log-level") && (r = log_level_arg(buf, sizeof(buf))) == 0)
		r = argv_add(a, buf);
	if (!r && !ARGV_HAS(a, "-l", "-c", "--lcores", "--main-lcore") &&
	    (r = lcores_arg(buf, sizeof(buf))) == 0)
		r = argv_add(a, buf);
	if (!r)
		r = add_device_args(a);
	return r;
}

int nb_eal_add_device(const char *devargs)
{
	struct rte_pci_addr addr;
	char name[64];
	size_t len = strcspn(devargs, ",");

	if (len >= sizeof(name))
		return 0;
	memcpy(name, devargs, len);
	name[len] = '\0';
	if (rte_pci_addr_parse(name, &addr) != 0)
		return 0;	/* not PCI: a vdev, hot-plugged later */
	if (eal_ndevices >= EAL_DEVICES_MAX)
		return -E2BIG;
	eal_devices[eal_ndevices] = strdup(devargs);
	if (!eal_devices[eal_ndevices])
		return -ENOMEM;
	eal_ndevices++;
	return 0;
}

/*
 * DPDK 22.11's TAP PMD asks the kernel for a signal on every frame its queue
 * fds receive, to skip a readv when nothing came: it takes the first
 * real-time signal from SIGRTMIN + 1 whose handler is SIG_DFL, and runs
 * without the trigger when there is none (drivers/net/tap/rte_eth_tap.c,
 * tun_alloc: "Find a free realtime signal", "No Rx trigger signal
 * available"). netbackd sleeps on the queue fd itself (RX interrupts,
 * ports.c), so the signals buy nothing and cost much: a TCP stream from a
 * net_tap uplink spent a third of the machine's CPU delivering them to the
 * main and EAL threads (perf, 2026-12-07). netbackd uses no real-time
 * signal, so each gets a handler that does nothing before any port is
 * probed (a handler, not SIG_IGN, so that exec resets it).
 */
static void rt_signal_ignored(int sig)
{
	(void)sig;
}

static int rt_signals_take(void)
{
	struct sigaction sa = { .sa_handler = rt_signal_ignored, .sa_flags = SA_RESTART };
	int s;

	sigemptyset(&sa.sa_mask);
	for (s = SIGRTMIN + 1; s < SIGRTMAX; s++)
		if (sigaction(s, &sa, NULL) < 0)
			return -errno;
	return 0;
}

int nb_eal_init(const char *ident, const char *eal_args, unsigned mem_mb, char *why, size_t n)
{
	struct eal_argv a = { 0 };
	char *argv[EAL_ARGV_MAX + 1];
	char line[1024];
	size_t len = 0;
	int r, i, saved_optind = optind;

	if (eal_started) {
		snprintf(why, n, "the EAL is already initialised (DPDK cannot restart it)");
		return -EALREADY;
	}
	r = build_argv(&a, ident ? ident : "netbackd", eal_args, mem_mb ? mem_mb : 256);
	if (r < 0) {
		snprintf(why, n, "building the EAL arguments: %s", strerror(-r));
		goto out;
	}
	for (i = 1; i < a.argc && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", a.argv[i]);
	log_info("EAL:%s", line);

	r = eal_log_open();
	if (r < 0) {
		snprintf(why, n, "routing DPDK's log: %s", strerror(-r));
		goto out;
	}
	r = rt_signals_take();
	if (r < 0) {
		snprintf(why, n, "holding the real-time signals: %s", strerror(-r));
		goto out;
	}
	/* rte_eal_init permutes argv (getopt): hand it a copy of the pointers. */
	memcpy(argv, a.argv, sizeof(argv));
	optind = 1;
	r = rte_eal_init(a.argc, argv);
	optind = saved_optind;
	if (r < 0) {
		r = rte_errno ? -rte_errno : -EINVAL;
		snprintf(why, n, "rte_eal_init:%s: %s", line, rte_strerror(-r));
		goto out;
	}
	eal_started = true;
	r = 0;
out:
	argv_free(&a);
	return r;
}

void nb_eal_fini(void)
{
	unsigned i;

	if (eal_started)
		rte_eal_cleanup();
	eal_started = false;
	if (eal_log_stream) {
		rte_openlog_stream(NULL);
		fclose(eal_log_stream);
		eal_log_stream = NULL;
	}
	for (i = 0; i < eal_ndevices; i++)
		free(eal_devices[i]);
	eal_ndevices = 0;
}

struct rte_mempool *nb_pool_create(const char *name, unsigned n, unsigned cache)
{
	struct rte_mempool *mp;

	if (cache > RTE_MEMPOOL_CACHE_MAX_SIZE)
		cache = RTE_MEMPOOL_CACHE_MAX_SIZE;
	mp = rte_pktmbuf_pool_create(name, n, cache, 0, NB_MBUF_DATA_ROOM, SOCKET_ID_ANY);
	if (!mp)
		log_err("mempool %s (%u mbufs of %u bytes): %s", name, n,
			(unsigned)NB_MBUF_DATA_ROOM, rte_strerror(rte_errno));
	return mp;
}
