// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of xensim's hypervisor through the seam (xen_ops_default as
 * sim-ops.c defines it): grant map/unmap/copy/share, event channels, reclaim
 * after SIGKILL, limits and fault knobs, domain destroy.
 *
 * Each case runs in its own forked process with its own host directory, so a
 * crash or a hang fails only that case; cases that need several processes
 * fork again and synchronise over pipes with bounded waits (no sleeps).
 * Output is TAP, cases are named /hv/<area>/<case>.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv-priv.h"	/* white box: only for the lock-holder test */
#include "hv.h"
#include "xen-ops.h"

#define NR_GRANTS_V1 32768u	/* 64 frames of v1 entries: Xen 4.17's default */
#define WAIT_MS 10000

static const struct xen_ops *X = &xen_ops_default;
static char dir[256];
static bool failed;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			failed = true;                                                   \
		}                                                                        \
	} while (0)

#define REQUIRE(cond)                                                                      \
	do {                                                                               \
		if (!(cond)) {                                                             \
			printf("# %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
			failed = true;                                                     \
			return;                                                            \
		}                                                                          \
	} while (0)

/* Become a process of domain `domid` (what `xensim exec` sets up). */
static void as_dom(domid_t domid)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", domid);
	setenv("XENSIM_DIR", dir, 1);
	setenv("XENSIM_DOMID", s, 1);
}

static bool wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1 && (p.revents & POLLIN);
}

static bool readable_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static bool pipe_read(int fd, void *buf, size_t n)
{
	return wait_readable(fd) && read(fd, buf, n) == (ssize_t)n;
}

static bool pipe_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n;
}

/* Domain `from` shares `count` pages with `to`; returns the mapping. */
static uint8_t *share(struct xen_gntshr **s, domid_t from, domid_t to, uint32_t count,
		      int writable, grant_ref_t *refs)
{
	void *addr = NULL;

	as_dom(from);
	if (!*s && X->gntshr_open(s))
		return NULL;
	if (X->gntshr_share(*s, to, count, writable, refs, &addr))
		return NULL;
	return addr;
}

static struct xen_gnttab *gnttab_as(domid_t domid)
{
	struct xen_gnttab *g = NULL;

	as_dom(domid);
	return X->gnttab_open(&g) ? NULL : g;
}

static struct xen_evtchn *evtchn_as(domid_t domid)
{
	struct xen_evtchn *e = NULL;

	as_dom(domid);
	return X->evtchn_open(&e) ? NULL : e;
}

static uint16_t entry_flags(domid_t domid, grant_ref_t ref)
{
	grant_entry_v1_t e = { .flags = 0xffff };

	hv_grant_entry(dir, domid, ref, &e);
	return e.flags;
}

static enum hv_ecs port_state(domid_t domid, evtchn_port_t port, domid_t *remote)
{
	struct hv_port_info pi = { .state = -1 };

	hv_port_info(dir, domid, port, &pi);
	if (remote)
		*remote = pi.remote_dom;
	return pi.state;
}

/* ---- grant map ---- */

static void map_unpermitted(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t ref, to3, bad = NR_GRANTS_V1, unused = 100;
	void *p = NULL;

	REQUIRE(share(&s, 2, 1, 1, 1, &ref));
	REQUIRE(share(&s, 2, 3, 1, 1, &to3));
	REQUIRE((g = gnttab_as(1)));
	/* granted to another domain */
	CHECK(X->gnttab_map(g, 1, 2, &to3, 1, &p) == -EINVAL);
	/* past the table */
	CHECK(X->gnttab_map(g, 1, 2, &bad, 0, &p) == -EINVAL);
	/* never granted (no GTF_permit_access) */
	CHECK(X->gnttab_map(g, 1, 2, &unused, 0, &p) == -EINVAL);
	/* the right ref from the wrong domain */
	CHECK(X->gnttab_map(g, 1, 3, &ref, 1, &p) == -EINVAL);
	/* no such domain */
	CHECK(X->gnttab_map(g, 1, 77, &ref, 1, &p) == -EINVAL);
	CHECK(X->gnttab_map(g, 0, 2, &ref, 1, &p) == -EINVAL);
	/* all or nothing: a good ref in a failed batch is left unpinned */
	grant_ref_t two[2] = { ref, to3 };
	CHECK(X->gnttab_map(g, 2, 2, two, 1, &p) == -EINVAL);
	CHECK(entry_flags(2, ref) == GTF_permit_access);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 1, &p) == 0);
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_reading | GTF_writing));
	X->gnttab_close(g);
	CHECK(entry_flags(2, ref) == GTF_permit_access);
	X->gntshr_close(s);
}

static void map_readonly(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t ref;
	uint8_t *fp, *bp = NULL;

	REQUIRE((fp = share(&s, 2, 1, 1, 0, &ref)));
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_readonly));
	fp[5] = 0x5a;
	REQUIRE((g = gnttab_as(1)));
	CHECK(X->gnttab_map(g, 1, 2, &ref, 1, (void **)&bp) == -EINVAL);
	REQUIRE(X->gnttab_map(g, 1, 2, &ref, 0, (void **)&bp) == 0);
	CHECK(bp[5] == 0x5a);
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_readonly | GTF_reading));
	CHECK(X->gnttab_unmap(g, bp, 1) == 0);
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_readonly));
	X->gnttab_close(g);
	X->gntshr_close(s);
}

/* Runs `touch` in a child process of domain 1 on a fresh map of `ref`; true if it faulted. */
static bool child_faults(grant_ref_t ref, int prot_write, bool unmap_first, bool write)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		struct xen_gnttab *g = gnttab_as(1);
		volatile uint8_t *p = NULL;

		if (!g || X->gnttab_map(g, 1, 2, &ref, prot_write, (void **)&p) || p[0] != 0)
			_exit(2);
		if (unmap_first && X->gnttab_unmap(g, (void *)p, 1))
			_exit(3);
		signal(SIGSEGV, SIG_DFL);	/* not a sanitizer's handler */
		if (write)
			p[0] = 1;
		else
			(void)p[0];
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGSEGV;
}

static void map_fault_after_unmap(void)
{
	struct xen_gntshr *s = NULL;
	grant_ref_t ref;
	uint8_t *fp;

	REQUIRE((fp = share(&s, 2, 1, 1, 1, &ref)));
	CHECK(child_faults(ref, 1, true, false));
	/* a read-only map cannot be written */
	CHECK(child_faults(ref, 0, false, true));
	CHECK(fp[0] == 0);
	/* and the child's pins went with it (the open sweeps) */
	struct xen_gnttab *g = gnttab_as(1);
	CHECK(entry_flags(2, ref) == GTF_permit_access);
	X->gnttab_close(g);
	X->gntshr_close(s);
}

/* The frontend (another process) writes, the backend reads, and back. */
static void map_data_both_ways(void)
{
	int to_b[2], to_f[2], status = 0;
	grant_ref_t refs[3];
	struct xen_gnttab *g;
	uint8_t *p = NULL;
	pid_t pid;

	REQUIRE(pipe(to_b) == 0 && pipe(to_f) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_gntshr *s = NULL;
		uint8_t *fp = share(&s, 2, 1, 3, 1, refs), ack;

		if (!fp)
			_exit(2);
		for (int i = 0; i < 3 * 4096; i++)
			fp[i] = (uint8_t)(i * 7 + 1);
		if (!pipe_write(to_b[1], refs, sizeof(refs)) || !pipe_read(to_f[0], &ack, 1))
			_exit(3);
		for (int i = 0; i < 3 * 4096; i++)
			if (fp[i] != (uint8_t)~(i * 7 + 1))
				_exit(4);
		X->gntshr_close(s);
		_exit(0);
	}
	REQUIRE(pipe_read(to_b[0], refs, sizeof(refs)));
	REQUIRE((g = gnttab_as(1)));
	REQUIRE(X->gnttab_map(g, 3, 2, refs, 1, (void **)&p) == 0);
	bool same = true;
	for (int i = 0; i < 3 * 4096; i++) {
		same &= p[i] == (uint8_t)(i * 7 + 1);
		p[i] = ~p[i];
	}
	CHECK(same);
	CHECK(pipe_write(to_f[1], "k", 1));
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	X->gnttab_close(g);
}

static void map_max_grants(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t refs[3];
	void *p[3];

	REQUIRE(share(&s, 2, 1, 3, 1, refs));
	REQUIRE((g = gnttab_as(1)));
	CHECK(X->gnttab_set_max_grants(g, 65537) == -EINVAL);
	REQUIRE(X->gnttab_set_max_grants(g, 2) == 0);
	CHECK(X->gnttab_map(g, 3, 2, refs, 1, &p[0]) == -ENOMEM);
	CHECK(X->gnttab_map(g, 1, 2, &refs[0], 1, &p[0]) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &refs[1], 1, &p[1]) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &refs[2], 1, &p[2]) == -ENOMEM);
	CHECK(X->gnttab_unmap(g, p[0], 1) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &refs[2], 1, &p[2]) == 0);
	/* unmap must name a whole mapping */
	CHECK(X->gnttab_unmap(g, p[1], 2) == -EINVAL);
	CHECK(X->gnttab_unmap(g, (uint8_t *)p[1] + 1, 1) == -EINVAL);
	CHECK(X->gnttab_unmap(g, p[1], 1) == 0);
	CHECK(X->gnttab_unmap(g, p[1], 1) == -EINVAL);
	X->gnttab_close(g);
	X->gntshr_close(s);
}

/* ---- in-use bits and gntalloc's deferred end of access ---- */

static void grant_in_use_blocks_end(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t ref;
	uint8_t *fp, *bp = NULL, *bp2 = NULL;

	REQUIRE((fp = share(&s, 2, 1, 1, 1, &ref)));
	REQUIRE((g = gnttab_as(1)));
	REQUIRE(X->gnttab_map(g, 1, 2, &ref, 1, (void **)&bp) == 0);
	bp[0] = 0x42;
	CHECK(X->gntshr_unshare(s, fp, 1) == 0);
	/* still mapped: the entry stays, in use, and the page stays readable */
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_reading | GTF_writing));
	CHECK(bp[0] == 0x42);
	/* ... but no new mapping of a grant its granter ended */
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, (void **)&bp2) == -EINVAL);
	CHECK(X->gnttab_unmap(g, bp, 1) == 0);
	/* the last unmap completes the end of access */
	CHECK(entry_flags(2, ref) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, (void **)&bp2) == -EINVAL);
	CHECK(X->gntshr_unshare(s, fp, 1) == -EINVAL);
	X->gnttab_close(g);
	X->gntshr_close(s);
}

static void share_limits(void)
{
	struct xen_gntshr *s = NULL;
	grant_ref_t refs[1024], more;
	uint8_t *fp;
	void *p;

	REQUIRE((fp = share(&s, 2, 1, 1024, 1, refs)));
	for (int i = 0; i < 1024; i++)
		CHECK(refs[i] >= 8);	/* GNTTAB_NR_RESERVED_ENTRIES */
	CHECK(fp[4096 * 1023] == 0);
	CHECK(X->gntshr_share(s, 1, 1, 1, &more, &p) == -ENOSPC);
	CHECK(X->gntshr_share(s, 1, 0, 1, &more, &p) == -EINVAL);
	memset(fp, 0xff, 1024 * 4096);	/* freed pages are scrubbed (checked below) */
	CHECK(X->gntshr_unshare(s, fp, 1024) == 0);
	CHECK(X->gntshr_share(s, 1, 1, 1, &more, &p) == 0);
	X->gntshr_close(s);
	/* XENSIM_GNTALLOC_LIMIT plays gntalloc's `limit` parameter */
	setenv("XENSIM_GNTALLOC_LIMIT", "1030", 1);
	s = NULL;
	REQUIRE(share(&s, 2, 1, 1024, 1, refs));
	CHECK(X->gntshr_share(s, 1, 6, 1, refs, &p) == 0);
	CHECK(X->gntshr_share(s, 1, 1, 1, &more, &p) == -ENOSPC);
	X->gntshr_close(s);
	/* the domain's memory (8 MiB here) runs out before a raised limit */
	setenv("XENSIM_GNTALLOC_LIMIT", "4096", 1);
	s = NULL;
	REQUIRE((fp = share(&s, 2, 1, 1024, 1, refs)));
	REQUIRE(X->gntshr_share(s, 1, 1024, 1, refs, &p) == 0);
	CHECK(X->gntshr_share(s, 1, 1, 1, &more, &p) == -ENOMEM);
	/* all of the domain's memory is shared now, and all of it reads zero */
	bool zero = true;
	for (size_t i = 0; i < 1024 * 4096; i++)
		zero &= !fp[i] && !((uint8_t *)p)[i];
	CHECK(zero);
	X->gntshr_close(s);
	unsetenv("XENSIM_GNTALLOC_LIMIT");
}

/* Two mapper processes pin and unpin the same grants at once: counts stay exact. */
static void map_concurrent_pins(void)
{
	struct xen_gntshr *s = NULL;
	grant_ref_t refs[4];
	pid_t pids[2];
	int status;
	uint8_t *fp;

	REQUIRE((fp = share(&s, 2, 1, 4, 1, refs)));
	for (int i = 0; i < 4; i++)
		fp[i * 4096] = (uint8_t)(0x10 + i);
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		REQUIRE(pids[c] >= 0);
		if (pids[c] == 0) {
			struct xen_gnttab *g = gnttab_as(1);
			uint8_t *p;

			for (int n = 0; g && n < 2000; n++) {
				if (X->gnttab_map(g, 4, 2, refs, (n + c) & 1, (void **)&p))
					_exit(2);
				for (int i = 0; i < 4; i++)
					if (p[i * 4096] != 0x10 + i)
						_exit(3);
				if (X->gnttab_unmap(g, p, 4))
					_exit(4);
			}
			_exit(g ? 0 : 5);
		}
	}
	for (int c = 0; c < 2; c++) {
		REQUIRE(waitpid(pids[c], &status, 0) == pids[c]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK(entry_flags(2, refs[i]) == GTF_permit_access);
	X->gntshr_close(s);
}

/* ---- grant copy ---- */

static struct xen_copy_seg seg_from(grant_ref_t ref, domid_t domid, uint16_t off, void *buf,
				    uint16_t len)
{
	return (struct xen_copy_seg){
		.source.foreign = { .ref = ref, .offset = off, .domid = domid },
		.dest.virt = buf, .len = len, .flags = GNTCOPY_source_gref, .status = 99,
	};
}

static struct xen_copy_seg seg_to(grant_ref_t ref, domid_t domid, uint16_t off, void *buf,
				  uint16_t len)
{
	return (struct xen_copy_seg){
		.dest.foreign = { .ref = ref, .offset = off, .domid = domid },
		.source.virt = buf, .len = len, .flags = GNTCOPY_dest_gref, .status = 99,
	};
}

static void copy_statuses(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t rw, ro, to3;
	uint8_t *prw, *pro, buf[64] = { 0 }, data[64];
	struct xen_copy_seg segs[8];

	REQUIRE((prw = share(&s, 2, 1, 1, 1, &rw)));
	REQUIRE((pro = share(&s, 2, 1, 1, 0, &ro)));
	REQUIRE(share(&s, 2, 3, 1, 1, &to3));
	memset(pro + 100, 0xab, 64);
	for (int i = 0; i < 64; i++)
		data[i] = (uint8_t)i;
	REQUIRE((g = gnttab_as(1)));

	segs[0] = seg_to(rw, 2, 4000, data, 64);
	segs[1] = seg_from(ro, 2, 100, buf, 64);
	segs[2] = seg_to(ro, 2, 0, data, 8);		/* read-only written */
	segs[3] = seg_from(NR_GRANTS_V1, 2, 0, buf, 8);	/* past the table */
	segs[4] = seg_from(to3, 2, 0, buf, 8);		/* granted to dom3 */
	segs[5] = seg_from(rw, 77, 0, buf, 8);		/* no such domain */
	segs[6] = seg_from(200, 2, 0, buf, 8);		/* never granted */
	segs[7] = seg_from(ro, 2, 100, NULL, 32);	/* gref to gref */
	segs[7].flags |= GNTCOPY_dest_gref;
	segs[7].dest.foreign.ref = rw;
	segs[7].dest.foreign.offset = 8;
	segs[7].dest.foreign.domid = 2;
	REQUIRE(X->gnttab_copy(g, 8, segs) == 0);
	CHECK(segs[0].status == GNTST_okay && !memcmp(prw + 4000, data, 64));
	CHECK(segs[1].status == GNTST_okay && buf[0] == 0xab && buf[63] == 0xab);
	CHECK(segs[2].status == GNTST_general_error && pro[0] == 0);
	CHECK(segs[3].status == GNTST_bad_gntref);
	CHECK(segs[4].status == GNTST_general_error);
	CHECK(segs[5].status == GNTST_bad_domain);
	CHECK(segs[6].status == GNTST_general_error);
	CHECK(segs[7].status == GNTST_okay && prw[8] == 0xab && prw[39] == 0xab && prw[40] == 0);
	/* copying leaves no pin behind */
	CHECK(entry_flags(2, rw) == GTF_permit_access);

	/* a grant side crossing its page fails the batch before anything is copied */
	memset(prw, 0, 4096);
	segs[0] = seg_to(rw, 2, 0, data, 8);
	segs[1] = seg_to(rw, 2, 4090, data, 7);
	CHECK(X->gnttab_copy(g, 2, segs) == -EINVAL);
	CHECK(segs[0].status == 99 && prw[1] == 0);
	segs[1] = seg_from(rw, 2, 4095, buf, 2);
	CHECK(X->gnttab_copy(g, 2, segs) == -EINVAL);
	segs[1] = seg_from(rw, 2, 0, buf, 8);
	segs[1].flags = 0;				/* local to local */
	CHECK(X->gnttab_copy(g, 2, segs) == -EINVAL);
	segs[1] = seg_from(rw, 2, 4088, buf, 8);	/* exactly to the end: fine */
	CHECK(X->gnttab_copy(g, 2, segs) == 0 && segs[1].status == GNTST_okay);
	X->gnttab_close(g);
	X->gntshr_close(s);
}

/* ---- event channels ---- */

/* Frontend dom2 offers a port to dom1; backend dom1 binds it. */
static bool connect_pair(struct xen_evtchn **f, struct xen_evtchn **b, int *fport, int *bport)
{
	if (!(*f = evtchn_as(2)) || (*fport = X->evtchn_bind_unbound(*f, 1)) <= 0)
		return false;
	if (!(*b = evtchn_as(1)) || (*bport = X->evtchn_bind_interdomain(*b, 2, *fport)) <= 0)
		return false;
	return true;
}

static void evtchn_cross_process(void)
{
	int to_b[2], to_f[2], status = 0, fport, bport;
	struct xen_evtchn *b;
	pid_t pid;

	REQUIRE(pipe(to_b) == 0 && pipe(to_f) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_evtchn *f = evtchn_as(2);
		char c;

		if (!f || (fport = X->evtchn_bind_unbound(f, 1)) <= 0)
			_exit(2);
		if (!pipe_write(to_b[1], &fport, sizeof(fport)) || !pipe_read(to_f[0], &c, 1))
			_exit(3);
		if (X->evtchn_notify(f, fport))
			_exit(4);
		/* and the backend's answer arrives here */
		if (!wait_readable(X->evtchn_fd(f)) || X->evtchn_pending(f) != fport)
			_exit(5);
		_exit(X->evtchn_pending(f) == -EAGAIN ? 0 : 6);
	}
	REQUIRE(pipe_read(to_b[0], &fport, sizeof(fport)));
	REQUIRE((b = evtchn_as(1)));
	bport = X->evtchn_bind_interdomain(b, 2, fport);
	REQUIRE(bport > 0);
	CHECK(port_state(2, fport, NULL) == HV_ECS_INTERDOMAIN);
	/* Xen raises the new local port at bind: consume it, unmask */
	CHECK(X->evtchn_pending(b) == bport);
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	CHECK(pipe_write(to_f[1], "n", 1));
	CHECK(wait_readable(X->evtchn_fd(b)));
	CHECK(X->evtchn_pending(b) == bport);
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(X->evtchn_notify(b, bport) == 0);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	X->evtchn_close(b);
}

/* Round trips between two processes: no notification is ever lost. */
static void evtchn_ping_pong(void)
{
	int to_b[2], to_f[2], status = 0, fport, bport, n;
	struct xen_evtchn *b;
	pid_t pid;

	REQUIRE(pipe(to_b) == 0 && pipe(to_f) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_evtchn *f = evtchn_as(2);
		char c;

		if (!f || (fport = X->evtchn_bind_unbound(f, 1)) <= 0)
			_exit(2);
		if (!pipe_write(to_b[1], &fport, sizeof(fport)) || !pipe_read(to_f[0], &c, 1))
			_exit(3);
		for (n = 0; n < 2000; n++) {
			if (X->evtchn_notify(f, fport) || !wait_readable(X->evtchn_fd(f)) ||
			    X->evtchn_pending(f) != fport || X->evtchn_unmask(f, fport))
				_exit(4);
		}
		_exit(0);
	}
	REQUIRE(pipe_read(to_b[0], &fport, sizeof(fport)));
	REQUIRE((b = evtchn_as(1)));
	REQUIRE((bport = X->evtchn_bind_interdomain(b, 2, fport)) > 0);
	CHECK(X->evtchn_pending(b) == bport && X->evtchn_unmask(b, bport) == 0);
	CHECK(pipe_write(to_f[1], "g", 1));
	for (n = 0; n < 2000; n++) {
		if (!wait_readable(X->evtchn_fd(b)) || X->evtchn_pending(b) != bport ||
		    X->evtchn_unmask(b, bport) || X->evtchn_notify(b, bport))
			break;
	}
	CHECK(n == 2000);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	X->evtchn_close(b);
}

/* Two threads, each with its own pair of handles, bounce events at once. */
struct bounce {
	struct xen_evtchn *f, *b;
	int fport, bport, done;
};

static bool take(struct xen_evtchn *e, int port)
{
	return wait_readable(X->evtchn_fd(e)) && X->evtchn_pending(e) == port &&
	       X->evtchn_unmask(e, port) == 0;
}

static void *bounce_thread(void *arg)
{
	struct bounce *t = arg;

	for (t->done = 0; t->done < 2000; t->done++)
		if (X->evtchn_notify(t->f, t->fport) || !take(t->b, t->bport) ||
		    X->evtchn_notify(t->b, t->bport) || !take(t->f, t->fport))
			break;
	return NULL;
}

static void evtchn_threads(void)
{
	struct bounce t[2];
	pthread_t th[2];

	for (int i = 0; i < 2; i++) {
		REQUIRE(connect_pair(&t[i].f, &t[i].b, &t[i].fport, &t[i].bport));
		REQUIRE(take(t[i].b, t[i].bport));	/* the bind's own event */
	}
	for (int i = 0; i < 2; i++)
		REQUIRE(pthread_create(&th[i], NULL, bounce_thread, &t[i]) == 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK(t[i].done == 2000);
		CHECK(X->evtchn_pending(t[i].b) == -EAGAIN && X->evtchn_pending(t[i].f) == -EAGAIN);
		X->evtchn_close(t[i].b);
		X->evtchn_close(t[i].f);
	}
}

static void evtchn_coalesce(void)
{
	struct xen_evtchn *f, *b;
	int fport, bport;

	REQUIRE(connect_pair(&f, &b, &fport, &bport));
	CHECK(X->evtchn_pending(b) == bport);	/* the bind's own event */
	CHECK(X->evtchn_pending(f) == -EAGAIN);
	/* masked since delivered: notifications only set pending */
	for (int i = 0; i < 3; i++)
		CHECK(X->evtchn_notify(f, fport) == 0);
	CHECK(!readable_now(X->evtchn_fd(b)));
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	/* one delivery after unmask, masked again */
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(readable_now(X->evtchn_fd(b)));
	CHECK(X->evtchn_pending(b) == bport);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	/*
	 * unmasked and idle: the first of several notifications is delivered
	 * at once, the rest coalesce into one more delivery after unmask
	 */
	for (int i = 0; i < 5; i++)
		CHECK(X->evtchn_notify(f, fport) == 0);
	CHECK(X->evtchn_pending(b) == bport);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(X->evtchn_pending(b) == bport);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	CHECK(X->evtchn_unmask(b, bport) == 0);
	CHECK(X->evtchn_pending(b) == -EAGAIN);
	/* the other direction */
	CHECK(X->evtchn_notify(b, bport) == 0);
	CHECK(X->evtchn_pending(f) == fport);
	X->evtchn_close(b);
	X->evtchn_close(f);
}

static void evtchn_bad_binds(void)
{
	struct xen_evtchn *f, *b, *other;
	int fport, to3, bport;

	REQUIRE((f = evtchn_as(2)));
	REQUIRE((fport = X->evtchn_bind_unbound(f, 1)) > 0);
	REQUIRE((to3 = X->evtchn_bind_unbound(f, 3)) > 0);
	REQUIRE((b = evtchn_as(1)));
	CHECK(X->evtchn_bind_interdomain(b, 2, 1024) == -EINVAL);	/* past the table */
	CHECK(X->evtchn_bind_interdomain(b, 2, 0) == -EINVAL);	/* reserved */
	CHECK(X->evtchn_bind_interdomain(b, 2, 500) == -EINVAL);	/* free */
	CHECK(X->evtchn_bind_interdomain(b, 2, to3) == -EINVAL);	/* for dom3 */
	CHECK(X->evtchn_bind_interdomain(b, 77, fport) == -ESRCH);	/* no such domain */
	REQUIRE((bport = X->evtchn_bind_interdomain(b, 2, fport)) > 0);
	CHECK(X->evtchn_bind_interdomain(b, 2, fport) == -EINVAL);	/* taken */
	/* ports of another handle, or none */
	REQUIRE((other = evtchn_as(1)));
	CHECK(X->evtchn_notify(other, bport) == -ENOTCONN);
	CHECK(X->evtchn_unbind(other, bport) == -ENOTCONN);
	CHECK(X->evtchn_unmask(other, bport) == -ENOTCONN);
	CHECK(X->evtchn_notify(b, 1024) == -EINVAL);
	CHECK(X->evtchn_notify(b, 600) == -ENOTCONN);
	/* an unbound port drops notifications (Xen's evtchn_send) */
	CHECK(X->evtchn_notify(f, to3) == 0);
	X->evtchn_close(other);
	X->evtchn_close(b);
	X->evtchn_close(f);
}

static void evtchn_rebind_after_unbind(void)
{
	struct xen_evtchn *f, *b;
	int fport, bport;
	domid_t remote;

	REQUIRE(connect_pair(&f, &b, &fport, &bport));
	CHECK(X->evtchn_unbind(b, bport) == 0);
	CHECK(port_state(2, fport, &remote) == HV_ECS_UNBOUND && remote == 1);
	CHECK(port_state(1, bport, NULL) == HV_ECS_FREE);
	CHECK(X->evtchn_notify(f, fport) == 0);
	CHECK(X->evtchn_unbind(b, bport) == -ENOTCONN);
	bport = X->evtchn_bind_interdomain(b, 2, fport);
	CHECK(bport > 0);
	/* closing the handle unbinds too */
	X->evtchn_close(b);
	CHECK(port_state(2, fport, &remote) == HV_ECS_UNBOUND && remote == 1);
	REQUIRE((b = evtchn_as(1)));
	CHECK(X->evtchn_bind_interdomain(b, 2, fport) > 0);
	X->evtchn_close(b);
	X->evtchn_close(f);
}

/* A backend killed with SIGKILL leaves nothing stuck: ports and pins come back. */
static void reclaim_after_sigkill(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_evtchn *f, *b;
	struct xen_gnttab *g;
	int to_p[2], status, fport, bport;
	grant_ref_t ref;
	uint8_t *fp;
	pid_t pid;

	REQUIRE((fp = share(&s, 2, 1, 1, 1, &ref)));
	REQUIRE((f = evtchn_as(2)));
	REQUIRE((fport = X->evtchn_bind_unbound(f, 1)) > 0);
	REQUIRE(pipe(to_p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_gnttab *cg = gnttab_as(1);
		struct xen_evtchn *ce = evtchn_as(1);
		void *p;

		if (!cg || !ce || X->gnttab_map(cg, 1, 2, &ref, 1, &p) ||
		    X->evtchn_bind_interdomain(ce, 2, fport) <= 0)
			_exit(2);
		pipe_write(to_p[1], "r", 1);
		for (;;)
			pause();	/* until killed */
	}
	char c;
	REQUIRE(pipe_read(to_p[0], &c, 1));
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_reading | GTF_writing));
	CHECK(port_state(2, fport, NULL) == HV_ECS_INTERDOMAIN);
	kill(pid, SIGKILL);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	/* the restarted backend binds the same remote port again */
	REQUIRE((b = evtchn_as(1)));
	bport = X->evtchn_bind_interdomain(b, 2, fport);
	CHECK(bport > 0);
	CHECK(entry_flags(2, ref) == GTF_permit_access);
	CHECK(X->gntshr_unshare(s, fp, 1) == 0);
	CHECK(entry_flags(2, ref) == 0);
	REQUIRE((g = gnttab_as(1)));
	X->gnttab_close(g);
	X->evtchn_close(b);
	X->evtchn_close(f);
	X->gntshr_close(s);
}

/*
 * A sender killed after deciding a delivery (the frontend's port raised and masked) and
 * before writing it to the frontend's FIFO: nothing arrives, and the port, masked, would
 * never fire again (real Xen's EVTCHNOP_send cannot stop half way). The sweep that
 * reclaims the dead handle makes the delivery.
 */
static void reclaim_killed_sender_delivers(void)
{
	struct xen_evtchn *f;
	struct pollfd pfd;
	int status, fport;
	pid_t pid;

	REQUIRE((f = evtchn_as(2)));
	REQUIRE((fport = X->evtchn_bind_unbound(f, 1)) > 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_evtchn *ce = evtchn_as(1);
		int bport;

		if (!ce || (bport = X->evtchn_bind_interdomain(ce, 2, fport)) <= 0 ||
		    hv_fault_set(dir, "notify:1=KILL"))
			_exit(2);
		X->evtchn_notify(ce, (evtchn_port_t)bport);
		_exit(3);	/* not reached: the knob kills the process first */
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	REQUIRE(hv_fault_set(dir, "") == 0);
	pfd = (struct pollfd){ .fd = X->evtchn_fd(f), .events = POLLIN };
	CHECK(poll(&pfd, 1, 0) == 0);	/* owed, not delivered */
	hv_sweep();
	CHECK(poll(&pfd, 1, 5000) == 1);
	CHECK(X->evtchn_pending(f) == fport);
	X->evtchn_close(f);
}

/* A frontend killed with SIGKILL: its grants end (deferred while mapped), its ports close. */
static void reclaim_dead_granter(void)
{
	int to_p[2], status, fport, bport;
	struct xen_gnttab *g, *g2;
	struct xen_evtchn *b;
	grant_ref_t ref;
	domid_t remote;
	uint8_t *bp;
	void *p2;
	pid_t pid;

	REQUIRE(pipe(to_p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct xen_gntshr *cs = NULL;
		struct xen_evtchn *ce;
		uint8_t *fp = share(&cs, 2, 1, 1, 1, &ref);

		if (!fp || !(ce = evtchn_as(2)) || (fport = X->evtchn_bind_unbound(ce, 1)) <= 0)
			_exit(2);
		fp[0] = 0x31;
		pipe_write(to_p[1], &ref, sizeof(ref));
		pipe_write(to_p[1], &fport, sizeof(fport));
		for (;;)
			pause();	/* until killed */
	}
	REQUIRE(pipe_read(to_p[0], &ref, sizeof(ref)) && pipe_read(to_p[0], &fport, sizeof(fport)));
	REQUIRE((g = gnttab_as(1)));
	REQUIRE(X->gnttab_map(g, 1, 2, &ref, 1, (void **)&bp) == 0);
	REQUIRE((b = evtchn_as(1)));
	REQUIRE((bport = X->evtchn_bind_interdomain(b, 2, fport)) > 0);
	kill(pid, SIGKILL);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	REQUIRE((g2 = gnttab_as(1)));	/* an open sweeps */
	CHECK(port_state(1, bport, &remote) == HV_ECS_UNBOUND && remote == 2);
	CHECK(bp[0] == 0x31);
	CHECK(X->gnttab_map(g2, 1, 2, &ref, 0, &p2) == -EINVAL);
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_reading | GTF_writing));
	CHECK(X->gnttab_unmap(g, bp, 1) == 0);
	CHECK(entry_flags(2, ref) == 0);
	X->gnttab_close(g2);
	X->gnttab_close(g);
	X->evtchn_close(b);
}

/* A process SIGKILLed while holding the host's locks does not wedge anyone. */
static void reclaim_lock_holder_killed(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_evtchn *f, *b;
	struct xen_gnttab *g;
	int fport, bport, status;
	grant_ref_t ref;
	void *p;
	pid_t pid;

	REQUIRE(share(&s, 2, 1, 1, 1, &ref));
	REQUIRE(connect_pair(&f, &b, &fport, &bport));
	CHECK(X->evtchn_pending(b) == bport && X->evtchn_unmask(b, bport) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct hv_dom *d = hv_dom_get(2);

		if (!d || hv_lock(&hv_proc.reg->evt_lock) || hv_lock(&d->gt->lock))
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(X->evtchn_notify(f, fport) == 0);
	CHECK(X->evtchn_pending(b) == bport);
	REQUIRE((g = gnttab_as(1)));
	CHECK(X->gnttab_map(g, 1, 2, &ref, 1, &p) == 0);
	CHECK(X->gnttab_unmap(g, p, 1) == 0);
	X->gnttab_close(g);
	X->evtchn_close(b);
	X->evtchn_close(f);
	X->gntshr_close(s);
}

/* ---- fault knobs ---- */

static void fault_nth_map(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_gnttab *g;
	grant_ref_t ref;
	void *p[4];

	REQUIRE(share(&s, 2, 1, 1, 1, &ref));
	REQUIRE((g = gnttab_as(1)));
	REQUIRE(hv_fault_set(dir, "map:3") == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[0]) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[1]) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[2]) == -EINVAL);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[3]) == 0);
	/* the failed one left nothing: three read pins, then none */
	CHECK(X->gnttab_unmap(g, p[0], 1) == 0 && X->gnttab_unmap(g, p[1], 1) == 0);
	CHECK(entry_flags(2, ref) == (GTF_permit_access | GTF_reading));
	CHECK(X->gnttab_unmap(g, p[3], 1) == 0);
	CHECK(entry_flags(2, ref) == GTF_permit_access);
	REQUIRE(hv_fault_set(dir, "") == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[0]) == 0);
		CHECK(X->gnttab_unmap(g, p[0], 1) == 0);
	}
	/* from the Nth on, with a chosen errno; other operations */
	REQUIRE(hv_fault_set(dir, "map:2+=ENOMEM,copy:1,share:1=5") == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[0]) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[1]) == -ENOMEM);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p[1]) == -ENOMEM);
	CHECK(X->gnttab_unmap(g, p[0], 1) == 0);
	uint8_t buf[8];
	struct xen_copy_seg seg = {
		.source.foreign = { .ref = ref, .domid = 2 }, .dest.virt = buf,
		.len = 8, .flags = GNTCOPY_source_gref,
	};
	CHECK(X->gnttab_copy(g, 1, &seg) == -EINVAL);
	CHECK(X->gnttab_copy(g, 1, &seg) == 0 && seg.status == GNTST_okay);
	as_dom(2);
	CHECK(X->gntshr_share(s, 1, 1, 1, &ref, (void **)&p[0]) == -EIO);
	CHECK(X->gntshr_share(s, 1, 1, 1, &ref, (void **)&p[0]) == 0);
	X->gnttab_close(g);
	X->gntshr_close(s);
}

static void fault_env_bind(void)
{
	struct xen_evtchn *f;

	setenv("XENSIM_FAULT", "bind:2", 1);
	REQUIRE((f = evtchn_as(2)));
	CHECK(X->evtchn_bind_unbound(f, 1) > 0);
	CHECK(X->evtchn_bind_unbound(f, 1) == -EINVAL);
	CHECK(X->evtchn_bind_unbound(f, 1) > 0);
	X->evtchn_close(f);
	unsetenv("XENSIM_FAULT");
}

/* Runs `hvctl ARGS` (HVCTL names it, as meson passes it); its stdout into buf. */
static int hvctl(char *buf, size_t size, const char *args)
{
	const char *tool = getenv("HVCTL");
	char cmd[1024];
	size_t n;
	FILE *f;

	if (!tool)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' %s", tool, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	return pclose(f);
}

static void hvctl_tool(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_evtchn *f;
	struct xen_gnttab *g;
	char out[4096], args[600], want[128];
	grant_ref_t ref;
	int fport;
	void *p;

	if (!getenv("HVCTL")) {
		printf("# HVCTL not set: run through meson\n");
		return;
	}
	REQUIRE(share(&s, 2, 1, 1, 0, &ref));
	REQUIRE((f = evtchn_as(2)) && (fport = X->evtchn_bind_unbound(f, 1)) > 0);
	snprintf(args, sizeof(args), "grants '%s' 2", dir);
	CHECK(hvctl(out, sizeof(out), args) == 0);
	snprintf(want, sizeof(want), "ref %u flags 0x5 ro domid 1 frame ", ref);
	CHECK(strstr(out, want) != NULL);
	snprintf(args, sizeof(args), "ports '%s' 2", dir);
	CHECK(hvctl(out, sizeof(out), args) == 0);
	snprintf(want, sizeof(want), "port %d unbound for dom1\n", fport);
	CHECK(strstr(out, want) != NULL);
	snprintf(args, sizeof(args), "fault '%s' map:1", dir);
	CHECK(hvctl(out, sizeof(out), args) == 0);
	REQUIRE((g = gnttab_as(1)));
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p) == -EINVAL);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 0, &p) == 0);
	CHECK(hvctl(out, sizeof(out), "ports 2>/dev/null") != 0);
	X->gnttab_close(g);
	X->evtchn_close(f);
	X->gntshr_close(s);
}

/* ---- the process's environment and domain lifetime ---- */

static void env_missing(void)
{
	struct xen_evtchn *e = NULL;
	struct xen_gnttab *g = NULL;

	unsetenv("XENSIM_DIR");
	unsetenv("XENSIM_DOMID");
	CHECK(X->evtchn_open(&e) == -ENOENT);
	CHECK(X->gnttab_open(&g) == -ENOENT);
	as_dom(9);
	CHECK(X->gnttab_open(&g) == -ESRCH);
}

static void domain_destroy(void)
{
	struct xen_gntshr *s = NULL;
	struct xen_evtchn *f, *b;
	struct xen_gnttab *g;
	int fport, bport;
	grant_ref_t ref;
	uint8_t *fp, *bp = NULL;
	domid_t remote;
	void *p;

	REQUIRE((fp = share(&s, 2, 1, 1, 1, &ref)));
	fp[0] = 0x77;
	REQUIRE(connect_pair(&f, &b, &fport, &bport));
	REQUIRE((g = gnttab_as(1)));
	REQUIRE(X->gnttab_map(g, 1, 2, &ref, 1, (void **)&bp) == 0);
	CHECK(hv_domain_destroy(dir, 2) == 0);
	CHECK(hv_domain_destroy(dir, 2) == -ESRCH);
	/* the peer's port is unbound, expecting the dead domain */
	CHECK(port_state(1, bport, &remote) == HV_ECS_UNBOUND && remote == 2);
	CHECK(X->evtchn_notify(b, bport) == 0);
	/* a mapping outlives its granter until unmapped, as in Xen */
	CHECK(bp[0] == 0x77);
	CHECK(X->gnttab_unmap(g, bp, 1) == 0);
	CHECK(X->gnttab_map(g, 1, 2, &ref, 1, (void **)&bp) == -EINVAL);
	/* the dead domain's handles answer -ESRCH */
	CHECK(X->gntshr_share(s, 1, 1, 1, &ref, &p) == -ESRCH);
	CHECK(X->evtchn_bind_unbound(f, 1) == -ESRCH);
	/* a new domain 2 starts clean */
	REQUIRE(hv_domain_create(dir, 2, 4) == 0);
	CHECK(hv_domain_create(dir, 2, 4) == -EEXIST);
	CHECK(port_state(2, fport, NULL) == HV_ECS_FREE);
	X->evtchn_close(f);
	X->gntshr_close(s);
	REQUIRE((f = evtchn_as(2)));
	REQUIRE((fport = X->evtchn_bind_unbound(f, 1)) > 0);
	CHECK(X->evtchn_bind_interdomain(b, 2, fport) > 0);
	X->evtchn_close(f);
	X->evtchn_close(b);
	X->gnttab_close(g);
}

/* ---- runner ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup_host(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/hv-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		_exit(1);
	}
	for (domid_t d = 0; d < 4; d++) {
		int r = hv_domain_create(dir, d, 8);

		if (r) {
			printf("# hv_domain_create(%u): %s\n", d, strerror(-r));
			_exit(1);
		}
	}
}

static int nr_cases, nr_failed;

static void run(const char *name, void (*fn)(void))
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setup_host();
		fn();
		fflush(stdout);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		_exit(failed ? 1 : 0);
	}
	nr_cases++;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		nr_failed++;
		if (pid > 0 && WIFSIGNALED(status))
			printf("# killed by signal %d\n", WTERMSIG(status));
		printf("not ok %d - %s\n", nr_cases, name);
	} else {
		printf("ok %d - %s\n", nr_cases, name);
	}
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "/hv/map/unpermitted", map_unpermitted },
		{ "/hv/map/readonly-mapped-writable", map_readonly },
		{ "/hv/map/read-after-unmap-faults", map_fault_after_unmap },
		{ "/hv/map/data-both-ways", map_data_both_ways },
		{ "/hv/map/max-grants", map_max_grants },
		{ "/hv/map/concurrent-pins", map_concurrent_pins },
		{ "/hv/grant/in-use-blocks-end-access", grant_in_use_blocks_end },
		{ "/hv/share/limits", share_limits },
		{ "/hv/copy/statuses", copy_statuses },
		{ "/hv/evtchn/cross-process", evtchn_cross_process },
		{ "/hv/evtchn/ping-pong", evtchn_ping_pong },
		{ "/hv/evtchn/threads", evtchn_threads },
		{ "/hv/evtchn/coalesce-while-masked", evtchn_coalesce },
		{ "/hv/evtchn/bad-binds", evtchn_bad_binds },
		{ "/hv/evtchn/rebind-after-unbind", evtchn_rebind_after_unbind },
		{ "/hv/reclaim/after-sigkill", reclaim_after_sigkill },
		{ "/hv/reclaim/dead-granter", reclaim_dead_granter },
		{ "/hv/reclaim/lock-holder-killed", reclaim_lock_holder_killed },
		{ "/hv/reclaim/killed-sender-delivers", reclaim_killed_sender_delivers },
		{ "/hv/fault/nth-map", fault_nth_map },
		{ "/hv/fault/env-nth-bind", fault_env_bind },
		{ "/hv/env/missing", env_missing },
		{ "/hv/hvctl/fault-and-listings", hvctl_tool },
		{ "/hv/domain/destroy", domain_destroy },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(cases[i].name, cases[i].fn);
	printf("1..%d\n", nr_cases);
	return nr_failed ? 1 : 0;
}
