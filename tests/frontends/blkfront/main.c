// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront main: options, the order of things (connect, resize wait,
 * hostile scenario or workload with reconnects and a verify pass, flush and
 * discard checks, clean close) and the result: a fio-like summary, or one
 * JSON line with --json. Exit status 0 only when everything asked for
 * succeeded (or, with --expect, when the backend answered as expected).
 *
 * Main thread; the workload's worker threads live in load.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xen/io/xenbus.h>

#include "checks.h"
#include "hostile.h"
#include "load.h"

struct run {
	struct bf_opts o;
	struct bf_load_opts lo;
	bool flush, discard, json;
	const char *hostile;
	const char *expect;
	unsigned reconnects;
	int wait_resize_s;
	double idle_s, idle_until;
	uint64_t size_arg;
	/* results */
	int fail;
	char why[256];
	struct bf_hostile_result hres;
	bool flush_ok, discard_ok;
	uint64_t resize_before;
	unsigned reconnects_done;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: blkfront [options]\n"
		"  --vdev NAME | --devid N   the vbd (default xvda)\n"
		"  --domid N                 our domain id (default XENSIM_DOMID or `domid`)\n"
		"  --abi native|x86_32|x86_64  request layout and `protocol` node\n"
		"  --queues N --ring-order N --no-persistent --no-indirect\n"
		"  --rw read|write|randread|randwrite|randrw [--rwmixread PCT]\n"
		"  --bs SIZE --iodepth N --size SIZE --offset SIZE --runtime SEC\n"
		"  --io-limit BYTES --verify --verify-existing --seed N\n"
		"  --poll-us N               spin this long for responses before sleeping\n"
		"                            on the event channel (default 0: sleep at once)\n"
		"  --publish N               update req_prod every N requests (default 1, as\n"
		"                            Linux blkfront's blkif_queue_rq does)\n"
		"  --reconnect N             close and handshake again N times mid-run\n"
		"  --flush --discard         checks after the workload\n"
		"  --wait-resize SEC         wait for a new `sectors`, then use the new end\n"
		"  --idle SEC                stay connected SEC seconds with nothing in flight\n"
		"                            before the workload (a scale benchmark's idle phase)\n"
		"  --idle-until T            the same until wall-clock time T (seconds since the\n"
		"                            epoch), so that many frontends start their loads together\n"
		"  --hostile NAME|list [--expect ANSWER[,ANSWER...]]\n"
		"  --expect io-errors        the workload must see error responses\n"
		"  --timeout SEC (default 30) --json --verbose --help\n");
}

static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_rw(const char *s, enum bf_rw *ret)
{
	static const char *const names[] = { "none", "read", "write", "randread", "randwrite",
					     "randrw" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*ret = (enum bf_rw)i;
			return 0;
		}
	return -EINVAL;
}

enum {
	OPT_VDEV = 256, OPT_DEVID, OPT_DOMID, OPT_ABI, OPT_QUEUES, OPT_ORDER, OPT_NOPERS,
	OPT_NOIND, OPT_RW, OPT_MIX, OPT_BS, OPT_DEPTH, OPT_SIZE, OPT_OFFSET, OPT_RUNTIME,
	OPT_LIMIT, OPT_VERIFY, OPT_VEXIST, OPT_SEED, OPT_RECONNECT, OPT_FLUSH, OPT_DISCARD,
	OPT_RESIZE, OPT_IDLE, OPT_IDLE_UNTIL, OPT_POLL, OPT_PUBLISH, OPT_HOSTILE, OPT_EXPECT, OPT_TIMEOUT, OPT_JSON, OPT_VERBOSE, OPT_HELP,
};

static const struct option longopts[] = {
	{ "vdev", 1, NULL, OPT_VDEV }, { "devid", 1, NULL, OPT_DEVID },
	{ "domid", 1, NULL, OPT_DOMID }, { "abi", 1, NULL, OPT_ABI },
	{ "queues", 1, NULL, OPT_QUEUES }, { "ring-order", 1, NULL, OPT_ORDER },
	{ "no-persistent", 0, NULL, OPT_NOPERS }, { "no-indirect", 0, NULL, OPT_NOIND },
	{ "rw", 1, NULL, OPT_RW }, { "rwmixread", 1, NULL, OPT_MIX },
	{ "bs", 1, NULL, OPT_BS }, { "iodepth", 1, NULL, OPT_DEPTH },
	{ "size", 1, NULL, OPT_SIZE }, { "offset", 1, NULL, OPT_OFFSET },
	{ "runtime", 1, NULL, OPT_RUNTIME }, { "io-limit", 1, NULL, OPT_LIMIT },
	{ "verify", 0, NULL, OPT_VERIFY }, { "verify-existing", 0, NULL, OPT_VEXIST },
	{ "seed", 1, NULL, OPT_SEED }, { "poll-us", 1, NULL, OPT_POLL }, { "reconnect", 1, NULL, OPT_RECONNECT },
	{ "publish", 1, NULL, OPT_PUBLISH },
	{ "flush", 0, NULL, OPT_FLUSH }, { "discard", 0, NULL, OPT_DISCARD },
	{ "wait-resize", 1, NULL, OPT_RESIZE }, { "hostile", 1, NULL, OPT_HOSTILE },
	{ "idle", 1, NULL, OPT_IDLE }, { "idle-until", 1, NULL, OPT_IDLE_UNTIL },
	{ "expect", 1, NULL, OPT_EXPECT }, { "timeout", 1, NULL, OPT_TIMEOUT },
	{ "json", 0, NULL, OPT_JSON }, { "verbose", 0, NULL, OPT_VERBOSE },
	{ "help", 0, NULL, OPT_HELP }, { NULL, 0, NULL, 0 },
};

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	uint64_t v;

	if (parse_size(s, &v) || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int parse_opt(struct run *R, int c, const char *a)
{
	uint64_t v;

	switch (c) {
	case OPT_VDEV: R->o.vdev = a; return 0;
	case OPT_DEVID: return parse_uint(a, INT32_MAX, (unsigned *)&R->o.devid);
	case OPT_DOMID: return parse_uint(a, DOMID_FIRST_RESERVED - 1, (unsigned *)&R->o.domid);
	case OPT_ABI:
		if (!strcmp(a, "native"))
			R->o.abi = BF_ABI_NATIVE;
		else if (!strcmp(a, "x86_32"))
			R->o.abi = BF_ABI_X86_32;
		else if (!strcmp(a, "x86_64"))
			R->o.abi = BF_ABI_X86_64;
		else
			return -EINVAL;
		return 0;
	case OPT_QUEUES: return parse_uint(a, BF_MAX_QUEUES, &R->o.queues);
	case OPT_ORDER: return parse_uint(a, BF_MAX_RING_ORDER, &R->o.ring_order);
	case OPT_NOPERS: R->o.persistent = false; return 0;
	case OPT_NOIND: R->o.indirect = false; return 0;
	case OPT_RW: return parse_rw(a, &R->lo.rw);
	case OPT_MIX: return parse_uint(a, 100, &R->lo.rwmixread);
	case OPT_BS: return parse_uint(a, BF_MAX_BS, &R->lo.bs);
	case OPT_DEPTH: return parse_uint(a, 4096, &R->lo.iodepth);
	case OPT_POLL: return parse_uint(a, 1000000, &R->lo.poll_us);
	case OPT_PUBLISH: return parse_uint(a, 4096, &R->lo.publish) || !R->lo.publish ? -EINVAL : 0;
	case OPT_SIZE: return parse_size(a, &R->size_arg);
	case OPT_OFFSET: return parse_size(a, &R->lo.offset);
	case OPT_RUNTIME: R->lo.runtime = strtod(a, NULL); return R->lo.runtime < 0 ? -EINVAL : 0;
	case OPT_LIMIT: return parse_size(a, &R->lo.io_limit);
	case OPT_VERIFY: R->lo.verify = true; return 0;
	case OPT_VEXIST: R->lo.verify = R->lo.verify_existing = true; return 0;
	case OPT_SEED: return parse_size(a, &R->lo.seed);
	case OPT_RECONNECT: return parse_uint(a, 1000, &R->reconnects);
	case OPT_FLUSH: R->flush = true; return 0;
	case OPT_DISCARD: R->discard = true; return 0;
	case OPT_RESIZE: return parse_uint(a, 3600, (unsigned *)&R->wait_resize_s);
	case OPT_IDLE: R->idle_s = strtod(a, NULL); return R->idle_s < 0 || R->idle_s > 3600 ? -EINVAL : 0;
	case OPT_IDLE_UNTIL: R->idle_until = strtod(a, NULL); return R->idle_until <= 0 ? -EINVAL : 0;
	case OPT_HOSTILE: R->hostile = a; return 0;
	case OPT_EXPECT: R->expect = a; return 0;
	case OPT_TIMEOUT: return parse_uint(a, 3600, &R->o.timeout_s) || !R->o.timeout_s ? -EINVAL : 0;
	case OPT_JSON: R->json = true; return 0;
	case OPT_VERBOSE: R->o.verbose = true; return 0;
	default: (void)v; return -EINVAL;
	}
}

static int parse_args(struct run *R, int argc, char **argv)
{
	int c;

	R->o = (struct bf_opts){ .vdev = "xvda", .devid = -1, .domid = -1, .queues = 1,
				 .persistent = true, .indirect = true, .timeout_s = 30 };
	R->lo = (struct bf_load_opts){ .bs = 4096, .iodepth = 32, .rwmixread = 50 };
	R->size_arg = 64u << 20;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || parse_opt(R, c, optarg)) {
			fprintf(stderr, "blkfront: bad option %s%s%s\n", argv[optind - 1],
				optarg ? " " : "", optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind < argc || !R->lo.bs || R->lo.bs % BF_SECTOR || !R->lo.iodepth ||
	    !R->o.queues) {
		fprintf(stderr, "blkfront: bad arguments (bs must be a multiple of 512)\n");
		return -EINVAL;
	}
	if (R->lo.offset % BF_SECTOR) {
		fprintf(stderr, "blkfront: --offset must be a multiple of 512\n");
		return -EINVAL;
	}
	return 0;
}

static void failf(struct run *R, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void failf(struct run *R, int r, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (R->fail)
		return;
	R->fail = r ? r : -EIO;
	va_start(ap, fmt);
	vsnprintf(R->why, sizeof(R->why), fmt, ap);
	va_end(ap);
	n = strlen(R->why);
	if (r && n < sizeof(R->why) - 4)
		snprintf(R->why + n, sizeof(R->why) - n, ": %s", strerror(r < 0 ? -r : r));
	fprintf(stderr, "blkfront: %s\n", R->why);
}

static bool expected(const char *list, const char *answer)
{
	size_t n = strlen(answer);

	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncmp(p, answer, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static void print_connected(struct bf_dev *d)
{
	fprintf(stderr,
		"blkfront: connected dom%u vbd %u to backend dom%u: sectors=%llu sector-size=%u "
		"info=%#x queues=%u ring-order=%u (%u slots) abi=%s persistent=%d "
		"indirect=%u flush=%d discard=%d\n",
		d->domid, d->devid, d->backend_id, (unsigned long long)d->sectors, d->sector_size,
		d->info, d->nr_queues, d->ring_order, d->q[0].ring.nr_ents, d->abi->protocol,
		d->persistent, d->max_indirect, d->flush, d->discard);
}

static int do_reconnect(struct run *R, struct bf_dev *d, struct bf_load *L)
{
	uint64_t sectors = d->sectors;
	int r;

	bf_load_release(L);
	r = bf_disconnect(d);
	if (r < 0) {
		failf(R, r, "reconnect: close failed");
		return r;
	}
	r = bf_connect(d);
	if (r < 0) {
		failf(R, r, "reconnect: handshake failed (backend error \"%s\")", d->backend_error);
		return r;
	}
	R->reconnects_done++;
	if (d->sectors != sectors)
		fprintf(stderr, "blkfront: size changed across reconnect\n");
	fprintf(stderr, "blkfront: reconnected (%u)\n", R->reconnects_done);
	return 0;
}

static void run_load(struct run *R, struct bf_dev *d, struct bf_load **ret)
{
	uint64_t disk = d->sectors * BF_SECTOR;
	struct bf_load *L;
	unsigned phases = R->reconnects + 1;
	int r;

	if (R->lo.offset >= disk) {
		failf(R, -EINVAL, "--offset is past the end of the disk");
		return;
	}
	R->lo.size = R->size_arg;
	if (R->lo.size > disk - R->lo.offset)
		R->lo.size = disk - R->lo.offset;
	R->lo.size -= R->lo.size % R->lo.bs;
	if (R->lo.bs % d->sector_size || R->lo.offset % d->sector_size) {
		failf(R, -EINVAL, "bs and offset must be multiples of sector-size %u",
		      d->sector_size);
		return;
	}
	L = bf_load_new(d, &R->lo);
	*ret = L;
	if (!L) {
		failf(R, -ENOMEM, "cannot set up the workload (ring too small for one I/O?)");
		return;
	}
	for (unsigned p = 0; p < phases && !R->fail && !bf_load_halted(L); p++) {
		if (p && do_reconnect(R, d, L) < 0)
			return;
		r = bf_load_phase(L, p, phases, false);
		if (r < 0)
			failf(R, 0, "workload: %s", bf_load_why(L));
	}
	if (!R->fail && R->lo.verify) {
		r = bf_load_phase(L, 0, 1, true);
		if (r < 0)
			failf(R, 0, "verify pass: %s", bf_load_why(L));
	}
}

static void run_hostile(struct run *R, struct bf_dev *d)
{
	int r = bf_hostile_run(d, R->hostile, &R->hres);

	if (r == -ENOENT) {
		failf(R, 0, "unknown hostile scenario \"%s\" (--hostile list)", R->hostile);
		return;
	}
	if (r < 0) {
		failf(R, r, "hostile %s: setup failed", R->hostile);
		return;
	}
	fprintf(stderr, "blkfront: hostile %s: answer %s (%s), afterwards %s\n", R->hostile,
		R->hres.answer, R->hres.detail, R->hres.after);
	if (R->expect && !expected(R->expect, R->hres.answer))
		failf(R, 0, "hostile %s: expected %s, the backend answered %s", R->hostile,
		      R->expect, R->hres.answer);
	else if (strcmp(R->hres.after, "ok") && strcmp(R->hres.after, "not-checked"))
		failf(R, 0, "hostile %s: the ring no longer serves valid requests (%s)",
		      R->hostile, R->hres.after);
}

static void run_checks(struct run *R, struct bf_dev *d, struct bf_load *L)
{
	uint64_t off, len;
	int r;

	if (R->flush && !R->fail) {
		r = bf_check_flush(d);
		R->flush_ok = !r;
		if (r)
			failf(R, r, "flush check failed");
	}
	if (R->discard && !R->fail) {
		r = bf_check_discard(d, R->lo.offset, 1u << 20, &off, &len);
		R->discard_ok = !r;
		if (r)
			failf(R, r, "discard check failed");
		else if (L)
			bf_load_mark_zero(L, off - R->lo.offset, len);
	}
}

static double mbps(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes / s / 1e6 : 0;
}

static void print_dir(const char *name, const struct bf_stats *st, int i, double s)
{
	const struct bf_hist *h = &st->lat[i];

	if (!st->ios[i])
		return;
	printf("  %-5s: IOPS=%.0f, BW=%.1fMB/s, %llu I/Os, %.1f MiB in %.2fs\n", name,
	       s > 0 ? (double)st->ios[i] / s : 0, mbps(st->bytes[i], s),
	       (unsigned long long)st->ios[i], (double)st->bytes[i] / 1048576.0, s);
	printf("    lat (usec): p50=%.1f, p99=%.1f, p99.9=%.1f, max=%.1f\n",
	       (double)bf_hist_pct(h, 50) / 1e3, (double)bf_hist_pct(h, 99) / 1e3,
	       (double)bf_hist_pct(h, 99.9) / 1e3, (double)h->max_ns / 1e3);
}

static const char *rw_name(enum bf_rw rw)
{
	static const char *const n[] = { "none", "read", "write", "randread", "randwrite",
					 "randrw" };

	return n[rw];
}

static void print_human(struct run *R, struct bf_dev *d, struct bf_load *L,
			const struct bf_counters *c)
{
	const struct bf_stats *st = L ? bf_load_stats(L) : NULL;
	double s = L ? bf_load_elapsed(L) : 0;
	uint64_t reqs = c->requests ? c->requests : 1;

	printf("blkfront: rw=%s bs=%u iodepth=%u queues=%u ring-order=%u abi=%s persistent=%d "
	       "indirect=%u\n", rw_name(R->lo.rw), R->lo.bs, R->lo.iodepth, d->nr_queues,
	       d->ring_order, d->abi ? d->abi->name : "?", d->persistent, d->max_indirect);
	if (st) {
		print_dir("read", st, 0, s);
		print_dir("write", st, 1, s);
		printf("  errors=%llu verified=%.1f MiB mismatches=%llu reconnects=%u\n",
		       (unsigned long long)st->errors, (double)st->verified_bytes / 1048576.0,
		       (unsigned long long)st->mismatches, R->reconnects_done);
	}
	printf("  ring: requests=%llu notify/req=%.3f events/req=%.3f grant-ops/req=%.3f\n",
	       (unsigned long long)c->requests, (double)c->notify / (double)reqs,
	       (double)c->events / (double)reqs,
	       (double)(c->gnt_share + c->gnt_unshare) / (double)reqs);
	if (R->hostile)
		printf("  hostile %s: %s (%s), after: %s\n", R->hostile, R->hres.answer,
		       R->hres.detail, R->hres.after);
	printf("  result: %s%s%s\n", R->fail ? "FAIL" : "ok", R->fail ? ": " : "",
	       R->fail ? R->why : "");
}

static void json_str(const char *k, const char *v)
{
	printf("\"%s\":\"", k);
	for (; *v; v++)
		printf(*v == '"' || *v == '\\' ? "\\%c" : (unsigned char)*v < 32 ? "?" : "%c", *v);
	printf("\",");
}

static void print_json(struct run *R, struct bf_dev *d, struct bf_load *L,
		       const struct bf_counters *c)
{
	static const struct bf_stats none;
	const struct bf_stats *st = L ? bf_load_stats(L) : &none;
	double s = L ? bf_load_elapsed(L) : 0;
	struct bf_hist all = st->lat[0];

	bf_hist_merge(&all, &st->lat[1]);
	printf("{\"ok\":%s,", R->fail ? "false" : "true");
	json_str("why", R->why);
	json_str("rw", rw_name(R->lo.rw));
	json_str("abi", d->abi ? d->abi->name : "");
	printf("\"bs\":%u,\"iodepth\":%u,\"queues\":%u,\"ring_order\":%u,\"persistent\":%d,"
	       "\"indirect\":%u,\"sectors\":%llu,\"seconds\":%.3f,", R->lo.bs, R->lo.iodepth,
	       d->nr_queues, d->ring_order, d->persistent, d->max_indirect,
	       (unsigned long long)d->sectors, s);
	printf("\"read_ios\":%llu,\"write_ios\":%llu,\"read_iops\":%.1f,\"write_iops\":%.1f,"
	       "\"read_mbps\":%.2f,\"write_mbps\":%.2f,",
	       (unsigned long long)st->ios[0], (unsigned long long)st->ios[1],
	       s > 0 ? (double)st->ios[0] / s : 0, s > 0 ? (double)st->ios[1] / s : 0,
	       mbps(st->bytes[0], s), mbps(st->bytes[1], s));
	printf("\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,",
	       (double)bf_hist_pct(&all, 50) / 1e3, (double)bf_hist_pct(&all, 99) / 1e3,
	       (double)bf_hist_pct(&all, 99.9) / 1e3);
	printf("\"errors\":%llu,\"verified_bytes\":%llu,\"mismatches\":%llu,\"reconnects\":%u,",
	       (unsigned long long)st->errors, (unsigned long long)st->verified_bytes,
	       (unsigned long long)st->mismatches, R->reconnects_done);
	printf("\"requests\":%llu,\"notify\":%llu,\"events\":%llu,\"gnt_share\":%llu,"
	       "\"gnt_unshare\":%llu,\"gnt_pages\":%llu,",
	       (unsigned long long)c->requests, (unsigned long long)c->notify,
	       (unsigned long long)c->events, (unsigned long long)c->gnt_share,
	       (unsigned long long)c->gnt_unshare, (unsigned long long)c->gnt_pages);
	printf("\"flush\":%s,\"discard\":%s,\"resize_from\":%llu,",
	       R->flush ? (R->flush_ok ? "\"ok\"" : "\"fail\"") : "null",
	       R->discard ? (R->discard_ok ? "\"ok\"" : "\"fail\"") : "null",
	       (unsigned long long)R->resize_before);
	json_str("hostile", R->hostile ? R->hostile : "");
	json_str("answer", R->hres.answer);
	json_str("detail", R->hres.detail);
	json_str("after", R->hres.after);
	json_str("backend_error", d->backend_error);
	printf("\"info\":%u,\"halted\":%s,\"connects\":%u}\n", d->info,
	       L && bf_load_halted(L) ? "true" : "false", d->connects);
}

/* The workload's verdict on error responses: none allowed, or --expect io-errors. */
static void judge_errors(struct run *R, struct bf_load *L)
{
	const struct bf_stats *st = L ? bf_load_stats(L) : NULL;
	bool want = R->expect && expected(R->expect, "io-errors");

	if (!st)
		return;
	if (st->mismatches)
		failf(R, 0, "%llu blocks did not read back what was written",
		      (unsigned long long)st->mismatches);
	if (want && !st->errors)
		failf(R, 0, "expected error responses, every I/O succeeded");
	if (want && st->errors && R->fail == 0)
		fprintf(stderr, "blkfront: %llu error responses, as expected\n",
			(unsigned long long)st->errors);
	if (!want && st->errors)
		failf(R, 0, "%llu I/Os were answered with an error", (unsigned long long)st->errors);
}

static void on_signal(int sig)
{
	(void)sig;
	bf_halt_requested = 1;
}

int main(int argc, char **argv)
{
	static struct run R;
	static struct bf_dev d;
	struct bf_load *L = NULL;
	struct bf_counters c;
	int r;

	if (parse_args(&R, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (R.hostile && !strcmp(R.hostile, "list")) {
		bf_hostile_list(stdout);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r = bf_dev_open(&d, &R.o);
	if (r < 0) {
		failf(&R, r, "cannot find vbd %s of this domain in xenstore", R.o.vdev);
		goto out;
	}
	r = bf_connect(&d);
	if (r < 0) {
		failf(&R, r, "handshake failed (backend error \"%s\")", d.backend_error);
		goto out;
	}
	print_connected(&d);
	if (R.idle_until > 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		R.idle_s = R.idle_until - ((double)now.tv_sec + (double)now.tv_nsec / 1e9);
		if (R.idle_s > 3600)
			R.idle_s = 3600;
	}
	if (R.idle_s > 0) {
		/* A phase of the benchmark, not a wait for anything: connected, nothing sent. */
		struct timespec ts = { .tv_sec = (time_t)R.idle_s,
				       .tv_nsec = (long)((R.idle_s - (double)(time_t)R.idle_s) * 1e9) };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !bf_halt_requested)
			;
	}
	if (R.wait_resize_s) {
		r = bf_check_resize(&d, R.wait_resize_s * 1000, &R.resize_before);
		if (r < 0)
			failf(&R, r, "resize not seen or not usable");
	}
	if (R.hostile && !R.fail)
		run_hostile(&R, &d);
	if (R.lo.rw != BF_RW_NONE && !R.fail)
		run_load(&R, &d, &L);
	run_checks(&R, &d, L);
	judge_errors(&R, L);
	if (d.connected) {
		bf_load_release(L);
		r = bf_disconnect(&d);
		if (r < 0)
			failf(&R, r, "clean close failed");
	}
out:
	bf_counters_total(&d, &c);
	if (R.json)
		print_json(&R, &d, L, &c);
	else
		print_human(&R, &d, L, &c);
	if (d.xs)
		bf_dev_close(&d);
	bf_load_free(L);
	return R.fail ? 1 : 0;
}
