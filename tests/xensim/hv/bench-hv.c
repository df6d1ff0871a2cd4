// SPDX-License-Identifier: GPL-2.0-only
/*
 * What xensim's hypervisor costs on the data path, as ratios against the
 * nearest plain-Linux operation: an event round (notify, pending, unmask)
 * against a pipe write + read; a one-page grant map + unmap against mmap +
 * munmap of a file page; an 11-segment grant copy against memcpy; reading a
 * persistent mapping against reading private memory. Prints, asserts nothing.
 * Single-threaded; runs in a private host directory it removes at the end.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "xen-ops.h"

static const struct xen_ops *X = &xen_ops_default;
static char dir[256];
static volatile uint64_t sink;

/* Keeps the compiler from dropping or folding a copy whose result is unused. */
static void use(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void as_dom(domid_t domid)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", domid);
	setenv("XENSIM_DIR", dir, 1);
	setenv("XENSIM_DOMID", s, 1);
}

static void report(const char *what, double ns, double base_ns, const char *base)
{
	printf("%-34s %9.0f ns/op   %-28s %9.0f ns/op   ratio %.2f\n", what, ns, base, base_ns,
	       ns / base_ns);
}

/* The state every measured operation works on. */
struct bench {
	struct xen_evtchn *f, *b;
	int fport, bport, fds[2];
	struct xen_gnttab *g;
	struct xen_gntshr *s;
	grant_ref_t refs[11];
	struct xen_copy_seg segs[11];
	uint8_t *fp, *map, *buf, *priv;
	int fd;
	int failed;
};

/* Best of five runs of n calls: the machine is shared, the minimum is the cost. */
static double measure(struct bench *B, void (*op)(struct bench *), int n)
{
	double best = 1e30;

	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_ns(), t;

		for (int i = 0; i < n; i++)
			op(B);
		t = (now_ns() - t0) / n;
		if (t < best)
			best = t;
	}
	return best;
}

static void op_event(struct bench *B)
{
	X->evtchn_notify(B->f, B->fport);
	B->failed |= X->evtchn_pending(B->b) != B->bport;
	X->evtchn_unmask(B->b, B->bport);
}

static void op_pipe(struct bench *B)
{
	uint32_t v = 0;

	B->failed |= write(B->fds[1], &v, sizeof(v)) != sizeof(v);
	B->failed |= read(B->fds[0], &v, sizeof(v)) != sizeof(v);
}

static void op_map(struct bench *B)
{
	uint8_t *p;

	if (X->gnttab_map(B->g, 1, 2, B->refs, 1, (void **)&p)) {
		B->failed = 1;
		return;
	}
	sink += p[0];
	X->gnttab_unmap(B->g, p, 1);
}

static void op_mmap(struct bench *B)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, B->fd, 0);

	if (p == MAP_FAILED) {
		B->failed = 1;
		return;
	}
	sink += p[0];
	munmap(p, 4096);
}

static void op_copy(struct bench *B)
{
	B->failed |= X->gnttab_copy(B->g, 11, B->segs) || B->segs[10].status != GNTST_okay;
}

static void op_memcpy44(struct bench *B)
{
	memcpy(B->buf, B->fp, 11 * 4096);
	use(B->buf);
}

static void op_read_map(struct bench *B)
{
	memcpy(B->buf, B->map, 4096);
	use(B->buf);
}

static void op_read_priv(struct bench *B)
{
	memcpy(B->buf, B->priv, 4096);
	use(B->buf);
}

static int setup(struct bench *B)
{
	char path[300];

	as_dom(2);
	if (X->evtchn_open(&B->f) || (B->fport = X->evtchn_bind_unbound(B->f, 1)) <= 0 ||
	    X->gntshr_open(&B->s) || X->gntshr_share(B->s, 1, 11, 1, B->refs, (void **)&B->fp))
		return -1;
	as_dom(1);
	if (X->evtchn_open(&B->b) || (B->bport = X->evtchn_bind_interdomain(B->b, 2, B->fport)) <= 0)
		return -1;
	X->evtchn_pending(B->b);
	X->evtchn_unmask(B->b, B->bport);
	if (pipe(B->fds) || X->gnttab_open(&B->g) ||
	    X->gnttab_map(B->g, 1, 2, B->refs, 0, (void **)&B->map))
		return -1;
	snprintf(path, sizeof(path), "%s/plain", dir);
	B->fd = open(path, O_RDWR | O_CREAT, 0600);
	B->buf = malloc(11 * 4096);
	B->priv = malloc(4096);
	if (B->fd < 0 || ftruncate(B->fd, 4096) || !B->buf || !B->priv)
		return -1;
	memset(B->priv, 1, 4096);
	memset(B->fp, 2, 11 * 4096);
	for (int i = 0; i < 11; i++)
		B->segs[i] = (struct xen_copy_seg){
			.source.foreign = { .ref = B->refs[i], .domid = 2 },
			.dest.virt = B->buf + i * 4096, .len = 4096, .flags = GNTCOPY_source_gref,
		};
	return 0;
}

/* Everything setup made, whatever it got to (the close ops accept NULL). */
static void teardown(struct bench *B)
{
	X->gnttab_close(B->g);	/* unmaps B->map */
	X->evtchn_close(B->b);
	X->evtchn_close(B->f);
	X->gntshr_close(B->s);
	if (B->fds[0] > 0) {
		close(B->fds[0]);
		close(B->fds[1]);
	}
	if (B->fd > 0)
		close(B->fd);
	free(B->buf);
	free(B->priv);
}

static int run_all(void)
{
	struct bench B = { 0 };
	int r;

	if (setup(&B)) {
		teardown(&B);
		return -1;
	}
	report("event: notify+pending+unmask", measure(&B, op_event, 20000),
	       measure(&B, op_pipe, 20000), "pipe write+read");
	report("grant map+unmap, 1 page", measure(&B, op_map, 2000), measure(&B, op_mmap, 2000),
	       "mmap+munmap, file page");
	report("grant copy, 11 x 4 KiB", measure(&B, op_copy, 20000),
	       measure(&B, op_memcpy44, 20000), "memcpy 44 KiB");
	report("read 4 KiB of a persistent map", measure(&B, op_read_map, 100000),
	       measure(&B, op_read_priv, 100000), "read 4 KiB private");
	r = B.failed ? -1 : 0;
	teardown(&B);
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int r = 1;

	snprintf(dir, sizeof(dir), "%s/hv-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (hv_domain_create(dir, 1, 16) || hv_domain_create(dir, 2, 16)) {
		fprintf(stderr, "hv_domain_create failed\n");
		goto out;
	}
	if (run_all()) {
		fprintf(stderr, "benchmark step failed\n");
		goto out;
	}
	r = 0;
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
