// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront main: options, the order of things (open, handshake, TAP or
 * hostile scenario or generator run, clean close) and the result: a short
 * summary on stderr, or one JSON line on stdout with --json. Exit status 0
 * only when the run met its goal (see netfront.h), 1 when not, 2 on bad
 * options.
 *
 * Main thread; the workers live in run.c. SIGTERM/SIGINT stop a run and
 * lead to the clean close.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "run.h"
#include "store.h"

struct prog {
	struct nf_opts o;
	struct nf_run_opts ro;
	bool json, allow_loss, oversize;
	double idle_until;		/* --idle-until: wall-clock seconds, 0 none */
	const char *hostile, *expect;
	int hash_queue;			/* --hash-queue Q, -1 none */
	struct nf_mcast_op mcast[NF_MAX_MCAST_OPS];	/* --mcast-add / --mcast-del, in order */
	unsigned nmcast;
	bool mcast_unrequested;
	struct nf_ctrl_result cres;
	/* results */
	struct nf_run_result res;
	struct nf_hostile_result hres;
	bool ran;
	int fail;
	char why[256];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netfront [options]\n"
		"  --vif DEVID --domid N      the vif (default 0) and our domain id\n"
		"  --queues N --split --no-sg --no-gso --no-csum --ipv6-csum\n"
		"  --ctrl-ring --mcast-control --connect-early\n"
		"  --mcast-add MAC --mcast-del MAC   multicast filter requests, in order, before\n"
		"                             any traffic (need --mcast-control, or\n"
		"                             --mcast-unrequested to send them without it)\n"
		"  --hash-queue Q             with --ctrl-ring: Toeplitz hashing, every mapping\n"
		"                             entry Q (Q >= queues: expect INVALID_PARAMETER)\n"
		"  --tap NAME                 bridge to TAP device NAME until SIGTERM/SIGINT\n"
		"  --send N [--to MAC] [--size MIN[-MAX]] [--flood | --pps R] [--stream ID]\n"
		"  --recv N [--from MAC]      generator frames (ethertype 0x88B5)\n"
		"  --allow-loss --oversize    (sizes above MTU+14 need --oversize)\n"
		"  --hostile NAME|list [--expect dropped|closed|ok[,...]]\n"
		"  --idle-until T             connected, send nothing until wall-clock time T\n"
		"                             (seconds since the epoch): a scale benchmark's idle phase\n"
		"  --timeout SEC (default 30) --json --verbose --help\n");
	fprintf(f, "hostile attacks:\n");
	nf_hostile_list(f);
}

enum {
	OPT_VIF = 256, OPT_DOMID, OPT_QUEUES, OPT_SPLIT, OPT_NOSG, OPT_NOGSO, OPT_NOCSUM,
	OPT_V6CSUM, OPT_CTRL, OPT_MCAST, OPT_HASHQ, OPT_EARLY, OPT_TAP, OPT_SEND, OPT_TO, OPT_SIZE,
	OPT_FLOOD, OPT_PPS, OPT_STREAM, OPT_RECV, OPT_FROM, OPT_LOSS, OPT_OVERSIZE, OPT_HOSTILE,
	OPT_EXPECT, OPT_TIMEOUT, OPT_JSON, OPT_VERBOSE, OPT_HELP, OPT_MCAST_ADD, OPT_MCAST_DEL,
	OPT_MCAST_UNREQ, OPT_IDLE_UNTIL,
};

static const struct option longopts[] = {
	{ "vif", 1, NULL, OPT_VIF }, { "domid", 1, NULL, OPT_DOMID },
	{ "queues", 1, NULL, OPT_QUEUES }, { "split", 0, NULL, OPT_SPLIT },
	{ "no-sg", 0, NULL, OPT_NOSG }, { "no-gso", 0, NULL, OPT_NOGSO },
	{ "no-csum", 0, NULL, OPT_NOCSUM }, { "ipv6-csum", 0, NULL, OPT_V6CSUM },
	{ "ctrl-ring", 0, NULL, OPT_CTRL }, { "mcast-control", 0, NULL, OPT_MCAST },
	{ "hash-queue", 1, NULL, OPT_HASHQ }, { "mcast-add", 1, NULL, OPT_MCAST_ADD },
	{ "mcast-del", 1, NULL, OPT_MCAST_DEL }, { "mcast-unrequested", 0, NULL, OPT_MCAST_UNREQ },
	{ "connect-early", 0, NULL, OPT_EARLY }, { "tap", 1, NULL, OPT_TAP },
	{ "send", 1, NULL, OPT_SEND }, { "to", 1, NULL, OPT_TO }, { "size", 1, NULL, OPT_SIZE },
	{ "flood", 0, NULL, OPT_FLOOD }, { "pps", 1, NULL, OPT_PPS },
	{ "stream", 1, NULL, OPT_STREAM }, { "recv", 1, NULL, OPT_RECV },
	{ "from", 1, NULL, OPT_FROM }, { "allow-loss", 0, NULL, OPT_LOSS },
	{ "oversize", 0, NULL, OPT_OVERSIZE }, { "hostile", 1, NULL, OPT_HOSTILE },
	{ "expect", 1, NULL, OPT_EXPECT }, { "timeout", 1, NULL, OPT_TIMEOUT },
	{ "idle-until", 1, NULL, OPT_IDLE_UNTIL },
	{ "json", 0, NULL, OPT_JSON }, { "verbose", 0, NULL, OPT_VERBOSE },
	{ "help", 0, NULL, OPT_HELP }, { NULL, 0, NULL, 0 },
};

static int num(const char *s, uint64_t max, uint64_t *ret)
{
	return store_parse_uint(s, strlen(s), max, ret);
}

static int num_u(const char *s, unsigned max, unsigned *ret)
{
	uint64_t v;
	int r = num(s, max, &v);

	if (!r)
		*ret = (unsigned)v;
	return r;
}

static int parse_sizes(struct prog *P, const char *a)
{
	const char *dash = strchr(a, '-');
	char lo[16];

	if (!dash) {
		P->ro.size_max = NF_MAX_FRAME;
		if (num_u(a, NF_MAX_FRAME, &P->ro.size_min))
			return -EINVAL;
		P->ro.size_max = P->ro.size_min;
		return 0;
	}
	if ((size_t)(dash - a) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, a, (size_t)(dash - a));
	lo[dash - a] = 0;
	if (num_u(lo, NF_MAX_FRAME, &P->ro.size_min))
		return -EINVAL;
	return num_u(dash + 1, NF_MAX_FRAME, &P->ro.size_max);
}

static int parse_opt(struct prog *P, int c, const char *a)
{
	uint64_t v;
	int r;

	switch (c) {
	case OPT_VIF: return num_u(a, INT32_MAX, (unsigned *)&P->o.devid);
	case OPT_DOMID: return num_u(a, DOMID_FIRST_RESERVED - 1, (unsigned *)&P->o.domid);
	case OPT_QUEUES: return num_u(a, NF_MAX_QUEUES, &P->o.queues) || !P->o.queues ? -EINVAL : 0;
	case OPT_SPLIT: P->o.split = true; return 0;
	case OPT_NOSG: P->o.sg = false; return 0;
	case OPT_NOGSO: P->o.gso = false; return 0;
	case OPT_NOCSUM: P->o.csum = false; return 0;
	case OPT_V6CSUM: P->o.ipv6_csum = true; return 0;
	case OPT_CTRL: P->o.ctrl_ring = true; return 0;
	case OPT_MCAST: P->o.mcast_control = true; return 0;
	case OPT_MCAST_ADD:
		return nf_mcast_op_add(P->mcast, &P->nmcast, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, a);
	case OPT_MCAST_DEL:
		return nf_mcast_op_add(P->mcast, &P->nmcast, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, a);
	case OPT_MCAST_UNREQ: P->mcast_unrequested = true; return 0;
	case OPT_HASHQ: {
		char *e;
		long q = strtol(a, &e, 10);

		if (*e || q < 0 || q > 255)
			return -EINVAL;
		P->hash_queue = (int)q;
		return 0;
	}
	case OPT_EARLY: P->o.connect_early = true; return 0;
	case OPT_TAP: P->ro.tap = a; return strlen(a) < 16 ? 0 : -EINVAL;
	case OPT_SEND: return num(a, UINT64_MAX - 1, &P->ro.send);
	case OPT_TO: return store_parse_mac(a, strlen(a), P->ro.to);
	case OPT_SIZE: return parse_sizes(P, a);
	case OPT_FLOOD: P->ro.flood = true; return 0;
	case OPT_PPS: P->ro.pps = strtod(a, NULL); return P->ro.pps > 0 ? 0 : -EINVAL;
	case OPT_STREAM:
		r = num(a, UINT32_MAX - NF_MAX_QUEUES, &v);
		P->ro.stream = (uint32_t)v;
		return r;
	case OPT_RECV: return num(a, UINT64_MAX - 1, &P->ro.recv);
	case OPT_FROM: P->ro.have_from = true; return store_parse_mac(a, strlen(a), P->ro.from);
	case OPT_LOSS: P->allow_loss = true; return 0;
	case OPT_OVERSIZE: P->oversize = true; return 0;
	case OPT_HOSTILE: P->hostile = a; return 0;
	case OPT_EXPECT: P->expect = a; return 0;
	case OPT_TIMEOUT: return num_u(a, 3600, &P->o.timeout_s) || !P->o.timeout_s ? -EINVAL : 0;
	case OPT_JSON: P->json = true; return 0;
	case OPT_VERBOSE: P->o.verbose = true; return 0;
	case OPT_IDLE_UNTIL: P->idle_until = strtod(a, NULL); return P->idle_until > 0 ? 0 : -EINVAL;
	default: return -EINVAL;
	}
}

static int parse_args(struct prog *P, int argc, char **argv)
{
	int c;

	P->o = (struct nf_opts){ .devid = 0, .domid = -1, .queues = 1, .sg = true, .gso = true,
				 .csum = true, .timeout_s = 30 };
	memset(P->ro.to, 0xff, 6);
	P->hash_queue = -1;
	P->ro.size_min = P->ro.size_max = 64;
	P->ro.stream = (uint32_t)((nf_now_ns() ^ (uint64_t)getpid() << 20) & 0x7fff0000u);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || parse_opt(P, c, optarg)) {
			fprintf(stderr, "netfront: bad option %s%s%s\n", argv[optind - 1],
				optarg ? " " : "", optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind < argc || P->ro.size_min < NF_ETH_MIN || P->ro.size_max < P->ro.size_min) {
		fprintf(stderr, "netfront: bad arguments (sizes are %u .. %u bytes)\n", NF_ETH_MIN,
			NF_MAX_FRAME);
		return -EINVAL;
	}
	if (P->nmcast && P->o.mcast_control == P->mcast_unrequested) {
		fprintf(stderr, "netfront: --mcast-add/--mcast-del need --mcast-control, or "
				"--mcast-unrequested (not both)\n");
		return -EINVAL;
	}
	if (P->ro.tap && (P->ro.send || P->ro.recv || P->hostile)) {
		fprintf(stderr, "netfront: --tap runs alone (no --send/--recv/--hostile)\n");
		return -EINVAL;
	}
	return 0;
}

static void failf(struct prog *P, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The first failure is the run's verdict; later ones are only logged by their callers. */
static void failf(struct prog *P, int r, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	if (P->fail)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	P->fail = r ? r : -EIO;
	if (r)
		snprintf(P->why, sizeof(P->why), "%s: %s", msg, strerror(r < 0 ? -r : r));
	else
		snprintf(P->why, sizeof(P->why), "%s", msg);
	fprintf(stderr, "netfront: %s\n", P->why);
}

/* Whether answer is one of the comma-separated list. */
static bool expected(const char *list, const char *answer)
{
	char copy[128], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, answer))
			return true;
	return false;
}

static void print_connected(struct nf_dev *d)
{
	fprintf(stderr,
		"netfront: connected dom%u vif %d to backend dom%u: mac %02x:%02x:%02x:%02x:%02x:%02x"
		" mtu %u queues %u split %d sg %d gso4 %d gso6 %d csum %d ipv6-csum %d ctrl %d "
		"mcast %d; per queue %u TX pages, %u RX buffers\n",
		d->domid, d->o.devid, d->backend_id, d->mac[0], d->mac[1], d->mac[2], d->mac[3],
		d->mac[4], d->mac[5], d->mtu, d->nr_queues, d->split, d->tx_sg, d->tx.gso4,
		d->tx.gso6, d->tx.csum4, d->tx.csum6, d->ctrl_ring, d->mcast, d->tx_pages,
		d->rx_bufs);
}

static int open_taps(struct prog *P, struct nf_dev *d)
{
	int r = 0;

	for (unsigned i = 0; !r && i < d->nr_queues; i++)
		r = nf_tap_open(P->ro.tap, d->nr_queues > 1, &d->q[i].tap_fd);
	if (!r)
		r = nf_tap_configure(d->q[0].tap_fd, P->ro.tap, d->mac, d->mtu, &d->tx);
	return r;
}

/* The run's verdict: everything sent and answered, everything received intact. */
static void judge(struct prog *P, const struct nf_counters *c)
{
	const struct nf_run_result *R = &P->res;

	if (R->fail) {
		failf(P, R->fail, "%s", R->why);
		return;
	}
	if (P->ro.tap)
		return;
	if (R->sent < P->ro.send)
		failf(P, 0, "sent %llu of %llu frames", (unsigned long long)R->sent,
		      (unsigned long long)P->ro.send);
	else if (c->tx_bad_rsp)
		failf(P, 0, "%llu TX responses were malformed", (unsigned long long)c->tx_bad_rsp);
	else if (c->tx_errors && !P->allow_loss)
		failf(P, 0, "%llu TX slots were answered ERROR or DROPPED",
		      (unsigned long long)c->tx_errors);
	else if (R->seq.received < P->ro.recv && !P->allow_loss)
		failf(P, 0, "received %llu of %llu frames (%s)",
		      (unsigned long long)R->seq.received, (unsigned long long)P->ro.recv,
		      R->why[0] ? R->why : "stopped");
	else if (R->corrupted)
		failf(P, 0, "%llu frames were corrupted", (unsigned long long)R->corrupted);
	else if ((R->seq.lost || R->seq.duplicates) && !P->allow_loss)
		failf(P, 0, "%llu lost, %llu duplicated", (unsigned long long)R->seq.lost,
		      (unsigned long long)R->seq.duplicates);
}

static void run_hostile(struct prog *P, struct nf_dev *d)
{
	int r = nf_hostile_run(d, P->hostile, &P->hres);

	if (r == -ENOENT) {
		failf(P, 0, "unknown hostile scenario \"%s\" (--hostile list)", P->hostile);
		return;
	}
	if (r < 0) {
		failf(P, r, "hostile %s: setup failed", P->hostile);
		return;
	}
	fprintf(stderr, "netfront: hostile %s: answer %s (%s), afterwards %s\n", P->hostile,
		P->hres.answer, P->hres.detail, P->hres.after);
	if (P->expect && !expected(P->expect, P->hres.answer))
		failf(P, 0, "hostile %s: expected %s, the backend answered %s", P->hostile,
		      P->expect, P->hres.answer);
	else if (strcmp(P->hres.after, "ok") && strcmp(P->hres.after, "not-checked"))
		failf(P, 0, "hostile %s: the vif no longer carries a valid frame (%s)", P->hostile,
		      P->hres.after);
}

static void total(struct nf_dev *d, struct nf_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < d->nr_queues; i++) {
		const struct nf_counters *q = &d->q[i].cnt;

		c->tx_frames += q->tx_frames;
		c->tx_bytes += q->tx_bytes;
		c->tx_slots += q->tx_slots;
		c->tx_errors += q->tx_errors;
		c->tx_bad_rsp += q->tx_bad_rsp;
		c->rx_frames += q->rx_frames;
		c->rx_bytes += q->rx_bytes;
		c->rx_slots += q->rx_slots;
		c->rx_errors += q->rx_errors;
		c->rx_hash_ok += q->rx_hash_ok;
		c->rx_hash_bad += q->rx_hash_bad;
		c->notify += q->notify;
		c->events += q->events;
		c->tap_dropped += q->tap_dropped;
	}
}

/* A one-line JSON object writer: jw_key puts the comma, strings are escaped once. */
struct jw {
	unsigned n;
};

static void jw_key(struct jw *j, const char *k)
{
	printf("%s\"%s\":", j->n++ ? "," : "", k);
}

static void jw_str(struct jw *j, const char *k, const char *v)
{
	jw_key(j, k);
	putchar('"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else
			putchar((unsigned char)*v < 32 ? '?' : *v);
	}
	putchar('"');
}

static void jw_u64(struct jw *j, const char *k, uint64_t v)
{
	jw_key(j, k);
	printf("%llu", (unsigned long long)v);
}

static void jw_bool(struct jw *j, const char *k, bool v)
{
	jw_key(j, k);
	printf("%s", v ? "true" : "false");
}

static void jw_dbl(struct jw *j, const char *k, double v, int prec)
{
	jw_key(j, k);
	printf("%.*f", prec, v);
}

static double rate(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

static void json_features(struct jw *j, struct nf_dev *d)
{
	struct jw f = { 0 };

	jw_key(j, "features");
	putchar('{');
	jw_bool(&f, "split", d->split);
	jw_bool(&f, "sg", d->tx_sg);
	jw_bool(&f, "gso_tcpv4", d->tx.gso4);
	jw_bool(&f, "gso_tcpv6", d->tx.gso6);
	jw_bool(&f, "csum", d->tx.csum4);
	jw_bool(&f, "ipv6_csum", d->tx.csum6);
	jw_bool(&f, "ctrl_ring", d->ctrl_ring);
	jw_bool(&f, "mcast_control", d->mcast);
	jw_bool(&f, "rx_copy", d->be_feat.rx_copy);
	putchar('}');
}

/* "mcast_ops": each --mcast-add/--mcast-del, its status null when unanswered. */
static void json_mcast(struct jw *j, const struct prog *P)
{
	jw_key(j, "mcast_ops");
	putchar('[');
	for (unsigned i = 0; i < P->nmcast; i++) {
		const struct nf_mcast_op *op = &P->mcast[i];
		struct jw o = { 0 };
		char mac[18];

		nf_mac_fmt(op->mac, mac);
		printf("%s{", i ? "," : "");
		jw_str(&o, "op", nf_mcast_op_name(op));
		jw_str(&o, "mac", mac);
		jw_key(&o, "status");
		if (op->answered)
			printf("%d", op->status);
		else
			printf("null");
		putchar('}');
	}
	putchar(']');
}

static void print_json(struct prog *P, struct nf_dev *d, const struct nf_counters *c)
{
	const struct nf_run_result *R = &P->res;
	double txp = rate(R->sent, R->tx_s), rxp = rate(R->seq.received, R->rx_s);
	struct jw j = { 0 };
	char mac[18];

	nf_mac_fmt(d->mac, mac);
	putchar('{');
	jw_bool(&j, "ok", !P->fail);
	jw_str(&j, "why", P->why);
	jw_u64(&j, "vif", (uint64_t)d->o.devid);
	jw_u64(&j, "domid", d->domid);
	jw_u64(&j, "backend_id", d->backend_id);
	jw_str(&j, "mac", mac);
	jw_u64(&j, "mtu", d->mtu);
	jw_u64(&j, "queues", d->nr_queues);
	json_features(&j, d);
	jw_u64(&j, "tx_ring", NF_RING_SIZE);
	jw_u64(&j, "rx_ring", NF_RING_SIZE);
	jw_u64(&j, "tx_pages", d->tx_pages);
	jw_u64(&j, "rx_bufs", d->rx_bufs);
	jw_u64(&j, "sent", R->sent);
	jw_u64(&j, "received", R->seq.received);
	jw_u64(&j, "lost", R->seq.lost);
	jw_u64(&j, "reordered", R->seq.reordered);
	jw_u64(&j, "duplicates", R->seq.duplicates);
	jw_u64(&j, "corrupted", R->corrupted);
	jw_u64(&j, "ignored", R->ignored);
	jw_u64(&j, "bytes", R->bytes_sent + R->bytes_received);
	jw_dbl(&j, "pps", P->ro.send ? txp : rxp, 1);
	jw_dbl(&j, "tx_pps", txp, 1);
	jw_dbl(&j, "rx_pps", rxp, 1);
	jw_dbl(&j, "elapsed_s", R->elapsed_s, 3);
	jw_u64(&j, "tx_errors", c->tx_errors);
	jw_u64(&j, "tx_bad_rsp", c->tx_bad_rsp);
	jw_u64(&j, "rx_errors", c->rx_errors);
	jw_u64(&j, "rx_hash_ok", c->rx_hash_ok);
	jw_u64(&j, "rx_hash_bad", c->rx_hash_bad);
	jw_u64(&j, "tx_frames", c->tx_frames);
	jw_u64(&j, "rx_frames", c->rx_frames);
	jw_u64(&j, "tx_slots", c->tx_slots);
	jw_u64(&j, "rx_slots", c->rx_slots);
	jw_u64(&j, "notify", c->notify);
	jw_u64(&j, "events", c->events);
	jw_u64(&j, "tap_dropped", c->tap_dropped);
	jw_str(&j, "hostile", P->hostile ? P->hostile : "");
	jw_str(&j, "answer", P->hres.answer);
	jw_str(&j, "detail", P->hres.detail);
	jw_str(&j, "after", P->hres.after);
	jw_str(&j, "backend_error", d->backend_error);
	/* --hash-queue: each control request's status ("step": status). */
	jw_key(&j, "ctrl");
	putchar('{');
	for (unsigned i = 0; i < P->cres.n; i++)
		printf("%s\"%s\":%d", i ? "," : "", P->cres.step[i], P->cres.status[i]);
	putchar('}');
	jw_u64(&j, "hash_flags_offered", P->cres.flags_offered);
	jw_u64(&j, "hash_mapping_max", P->cres.mapping_max);
	json_mcast(&j, P);
	printf("}\n");
}

static void print_human(struct prog *P, const struct nf_counters *c)
{
	const struct nf_run_result *R = &P->res;

	fprintf(stderr,
		"netfront: sent %llu (%.0f pps), received %llu (%.0f pps), lost %llu, reordered "
		"%llu, duplicates %llu, corrupted %llu, ignored %llu; tx_errors %llu rx_errors "
		"%llu; %s%s%s\n",
		(unsigned long long)R->sent, rate(R->sent, R->tx_s),
		(unsigned long long)R->seq.received, rate(R->seq.received, R->rx_s),
		(unsigned long long)R->seq.lost, (unsigned long long)R->seq.reordered,
		(unsigned long long)R->seq.duplicates, (unsigned long long)R->corrupted,
		(unsigned long long)R->ignored, (unsigned long long)c->tx_errors,
		(unsigned long long)c->rx_errors, P->fail ? "FAIL: " : "ok", P->fail ? P->why : "",
		"");
}

static void on_signal(int sig)
{
	(void)sig;
	nf_halt_requested = 1;
}

static void go(struct prog *P, struct nf_dev *d)
{
	int r;

	if (P->ro.size_max > d->mtu + NF_ETH_HLEN && !P->oversize) {
		failf(P, -EMSGSIZE, "--size %u is above MTU %u + 14 (add --oversize)",
		      P->ro.size_max, d->mtu);
		return;
	}
	if (P->ro.tap) {
		r = open_taps(P, d);
		if (r < 0) {
			failf(P, r, "cannot set up TAP device %s", P->ro.tap);
			return;
		}
	}
	if (P->hash_queue >= 0) {
		r = nf_ctrl_hash(d, (unsigned)P->hash_queue, &P->cres);
		if (r < 0) {
			failf(P, r, "control ring: %s got no good answer",
			      P->cres.n ? P->cres.step[P->cres.n - 1] : "setup");
			return;
		}
	}
	if (P->nmcast) {
		char why[160];

		r = nf_mcast_run(d, P->mcast, P->nmcast, why, sizeof(why));
		if (r < 0) {
			failf(P, r, "%s", why);
			return;
		}
	}
	if (P->hostile)
		run_hostile(P, d);
	if (P->ro.tap || P->ro.send || P->ro.recv) {
		P->ran = true;
		nf_run(d, &P->ro, &P->res);
	}
}

int main(int argc, char **argv)
{
	static struct prog P;
	static struct nf_dev d;
	struct nf_counters c = { 0 };
	int r;

	if (parse_args(&P, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (P.hostile && !strcmp(P.hostile, "list")) {
		nf_hostile_list(stdout);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	r = nf_dev_open(&d, &P.o);
	if (r < 0) {
		failf(&P, r, "cannot find vif %d of this domain in xenstore", P.o.devid);
		goto out;
	}
	r = nf_connect(&d);
	if (r < 0) {
		failf(&P, r, "handshake failed (backend error \"%s\")", d.backend_error);
		goto out;
	}
	print_connected(&d);
	if (P.idle_until > 0) {
		/* A phase of the benchmark, not a wait for anything: connected, nothing sent. */
		struct timespec now, ts;
		double left;

		clock_gettime(CLOCK_REALTIME, &now);
		left = P.idle_until - ((double)now.tv_sec + (double)now.tv_nsec / 1e9);
		if (left > 3600)
			left = 3600;
		if (left > 0) {
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !nf_halt_requested)
				;
		}
	}
	go(&P, &d);
	total(&d, &c);
	if (P.ran)
		judge(&P, &c);
	r = nf_disconnect(&d);
	if (r < 0)
		failf(&P, r, "clean close failed");
out:
	if (P.json)
		print_json(&P, &d, &c);
	else
		print_human(&P, &c);
	nf_dev_close(&d);
	return P.fail ? 1 : 0;
}
