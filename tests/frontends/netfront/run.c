// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront runs (see run.h). Each worker owns one queue: it keeps the RX
 * ring full, takes RX and TX responses, and produces TX frames (generator
 * frames, or frames read from its TAP fd), publishing them in batches and
 * notifying only where req_event asks (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY).
 * When idle it re-arms rsp_event (RING_FINAL_CHECK_FOR_RESPONSES) and
 * sleeps on its event channel, its TAP fd and the stop eventfd.
 *
 * Workers share only the receive accounting (one mutex around the sequence
 * tracker, since any queue may carry any stream) and a few atomics. The
 * main thread watches the backend's state and the clock and stops the
 * workers; it never touches a ring while they run. Buffers are allocated
 * before the workers start.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

#include "run.h"

volatile sig_atomic_t nf_halt_requested;

#define IDLE_POLL_MS 100
#define FLOOD_BATCH 256u

struct shared {
	struct nf_dev *d;
	const struct nf_run_opts *o;
	pthread_mutex_t lock;
	struct nf_seq seq;		/* under lock */
	_Atomic uint64_t received;	/* mirrors seq.received, for the stop test */
	_Atomic uint64_t last_rx_ns;
	atomic_bool stop;
	int stop_fd, done_fd;
	uint64_t t0;
};

struct worker {
	struct shared *S;
	struct nf_queue *q;
	pthread_t th;
	bool started;
	/* sending */
	uint64_t budget, sent, seq;
	uint64_t next_ns, period_ns;
	uint64_t rng;
	uint64_t tx_first, tx_last, last_tx_progress;
	uint8_t *frame;			/* template: NF_MAX_FRAME bytes + vnet header room */
	uint64_t *crc_cache;		/* flood: bit 32 set: payload CRC of that size */
	uint32_t pending;		/* TAP: a frame read but not yet on the ring */
	struct nf_tx_meta pending_meta;
	/* receiving (this worker's share, merged at the end) */
	uint64_t corrupted, ignored, bytes_received, rx_first, rx_last;
};

static bool recv_goal_met(struct shared *S)
{
	return !S->o->recv || atomic_load_explicit(&S->received, memory_order_relaxed) >=
				       S->o->recv;
}

/* ---- receive ---- */

static void rx_tap(struct worker *w, const struct nf_rx_pkt *p, uint8_t *frame)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)(frame - sizeof(*h));

	/* xen-netfront drops a partial packet whose checksum it cannot place. */
	if (nf_rx_to_vnet(p, frame, h) < 0) {
		w->q->cnt.rx_errors++;
		return;
	}
	if (write(w->q->tap_fd, h, sizeof(*h) + p->len) < 0)
		w->q->cnt.tap_dropped++;
}

static void rx_gen(struct worker *w, const struct nf_rx_pkt *p, const uint8_t *frame)
{
	struct shared *S = w->S;
	uint64_t seq, now;
	uint32_t stream;
	enum nf_seq_event ev;

	if (S->o->have_from && memcmp(frame + 6, S->o->from, 6)) {
		w->ignored++;
		return;
	}
	switch (nf_gen_check(frame, p->len, &stream, &seq)) {
	case NF_GEN_NOT_OURS:
		w->ignored++;
		return;
	case NF_GEN_CORRUPT:
		w->corrupted++;
		return;
	default:
		break;
	}
	pthread_mutex_lock(&S->lock);
	ev = nf_seq_add(&S->seq, stream, seq);
	atomic_store_explicit(&S->received, S->seq.received, memory_order_relaxed);
	pthread_mutex_unlock(&S->lock);
	if (ev == NF_SEQ_DUP || ev == NF_SEQ_OVERFLOW)
		return;
	now = nf_now_ns();
	atomic_store_explicit(&S->last_rx_ns, now, memory_order_relaxed);
	if (!w->rx_first)
		w->rx_first = now;
	w->rx_last = now;
	w->bytes_received += p->len;
}

static void on_rx(struct nf_queue *q, const struct nf_rx_pkt *p, uint8_t *frame, void *arg)
{
	struct worker *w = arg;

	(void)q;
	if (p->hash) {
		if (p->hash_alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ &&
		    nf_hash_check(nf_rss_key, sizeof(nf_rss_key), frame, p->len, p->hash_type,
				  p->hash_value))
			w->q->cnt.rx_hash_ok++;
		else
			w->q->cnt.rx_hash_bad++;
	}
	if (w->S->o->tap)
		rx_tap(w, p, frame);
	else
		rx_gen(w, p, frame);
}

/* ---- send ---- */

static uint32_t pick_size(struct worker *w)
{
	const struct nf_run_opts *o = w->S->o;

	if (o->size_max <= o->size_min)
		return o->size_min;
	return o->size_min + (uint32_t)(nf_rand(&w->rng) % (o->size_max - o->size_min + 1));
}

/* The next generator frame in w->frame; returns its length. */
static uint32_t build_gen(struct worker *w)
{
	const struct nf_run_opts *o = w->S->o;
	uint32_t len = pick_size(w), stream = o->stream + w->q->idx;

	if (!w->crc_cache) {
		nf_gen_build(w->frame, len, o->to, w->q->dev->mac, stream, w->seq);
		return len;
	}
	/* --flood: the payload was laid once; its CRC per size is computed once. */
	if (!(w->crc_cache[len] >> 32))
		w->crc_cache[len] = 1ull << 32 | nf_gen_payload_crc(w->frame, len);
	nf_gen_stamp(w->frame, len, o->to, w->q->dev->mac, stream, w->seq,
		     (uint32_t)w->crc_cache[len]);
	return len;
}

static bool paced_out(struct worker *w, uint64_t now)
{
	if (!w->period_ns)
		return false;
	if (now < w->next_ns)
		return true;
	w->next_ns += w->period_ns;
	/* Do not make up for a long stall with a burst. */
	if (w->next_ns + 64 * w->period_ns < now)
		w->next_ns = now;
	return false;
}

static int produce_gen(struct worker *w)
{
	unsigned limit = w->S->o->flood ? FLOOD_BATCH : 1, n = 0;
	uint64_t now = nf_now_ns();
	int r;

	while (n < limit && w->sent < w->budget && !paced_out(w, now)) {
		uint32_t len = build_gen(w);

		r = nf_tx_frame(w->q, w->frame, len, &(struct nf_tx_meta){ 0 });
		if (r < 0) {
			nf_qfail(w->q, r, "a %u-byte frame cannot be sent (sg %s)", len,
				 w->q->dev->tx_sg ? "on" : "off");
			return r;
		}
		if (!r) {
			/* No room: this seq goes out next time; undo the pacing step. */
			w->next_ns -= w->period_ns;
			break;
		}
		w->sent++;
		w->seq++;
		n++;
		if (!w->tx_first)
			w->tx_first = now;
	}
	return (int)n;
}

static int produce_tap(struct worker *w)
{
	size_t hs = sizeof(struct virtio_net_hdr);
	int n = 0, r;

	for (;;) {
		if (!w->pending) {
			ssize_t got = read(w->q->tap_fd, w->frame, hs + NF_MAX_FRAME);

			if (got < (ssize_t)(hs + NF_ETH_HLEN))
				break;
			w->pending = (uint32_t)(got - (ssize_t)hs);
			if (nf_vnet_to_tx((struct virtio_net_hdr *)w->frame, w->frame + hs,
					  w->pending, &w->q->dev->tx, &w->pending_meta) < 0) {
				w->q->cnt.tap_dropped++;
				w->pending = 0;
				continue;
			}
		}
		r = nf_tx_frame(w->q, w->frame + hs, w->pending, &w->pending_meta);
		if (!r)
			break;
		if (r < 0)
			w->q->cnt.tap_dropped++;
		w->pending = 0;
		n++;
	}
	return n;
}

/* ---- the worker ---- */

static bool worker_done(struct worker *w)
{
	if (w->S->o->tap)
		return false;
	return w->sent >= w->budget && !nf_tx_inflight(w->q) && recv_goal_met(w->S);
}

static void check_tx_stall(struct worker *w, uint64_t now)
{
	uint64_t tmo = (uint64_t)w->q->dev->o.timeout_s * 1000000000u;

	if (!nf_tx_inflight(w->q)) {
		w->last_tx_progress = now;
		return;
	}
	if (now - w->last_tx_progress > tmo)
		nf_qfail(w->q, -ETIMEDOUT, "%u TX slots unanswered for %u s", nf_tx_inflight(w->q),
			 w->q->dev->o.timeout_s);
}

static void sleep_once(struct worker *w)
{
	struct nf_queue *q = w->q;
	struct pollfd p[3] = {
		{ .fd = q->dev->ops->evtchn_fd(q->evtchn), .events = POLLIN },
		{ .fd = w->S->stop_fd, .events = POLLIN },
		{ .fd = q->tap_fd, .events = POLLIN },
	};
	nfds_t n = q->tap_fd >= 0 && !w->pending ? 3 : 2;
	uint64_t now = nf_now_ns(), ns = (uint64_t)IDLE_POLL_MS * 1000000u;
	struct timespec ts;

	if (w->period_ns && w->sent < w->budget && w->next_ns > now && w->next_ns - now < ns)
		ns = w->next_ns - now;
	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	if (ppoll(p, n, &ts, NULL) < 0 && errno != EINTR)
		nf_qfail(q, -errno, "poll failed");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct nf_queue *q = w->q;
	uint64_t one = 1;

	w->last_tx_progress = nf_now_ns();
	nf_rx_refill(q);
	while (!q->fail && !atomic_load(&w->S->stop)) {
		int work = 0, r;

		nf_take_event(q);
		r = nf_tx_reap(q);
		if (r > 0) {
			w->last_tx_progress = w->tx_last = nf_now_ns();
			work += r;
		}
		r = nf_rx_poll(q, on_rx, w);
		work += r > 0 ? r : 0;
		nf_rx_refill(q);
		r = w->S->o->tap ? produce_tap(w) : produce_gen(w);
		work += r > 0 ? r : 0;
		nf_tx_push(q);
		if (q->fail || worker_done(w))
			break;
		check_tx_stall(w, nf_now_ns());
		if (work || nf_final_check(q))
			continue;
		sleep_once(w);
	}
	if (write(w->S->done_fd, &one, sizeof(one)) < 0)
		nf_qfail(q, -errno, "cannot signal the main thread");
	return NULL;
}

/* ---- setup and the main thread's watch ---- */

static int worker_prepare(struct shared *S, struct worker *w, unsigned qi)
{
	const struct nf_run_opts *o = S->o;
	unsigned nq = S->d->nr_queues;

	memset(w, 0, sizeof(*w));
	w->S = S;
	w->q = &S->d->q[qi];
	w->rng = (uint64_t)o->stream << 8 | qi;
	w->budget = o->send / nq + (qi < o->send % nq);
	if (o->pps > 0) {
		w->period_ns = (uint64_t)(1e9 * nq / o->pps);
		w->next_ns = nf_now_ns();
	}
	w->frame = malloc(sizeof(struct virtio_net_hdr) + NF_MAX_FRAME);
	if (!w->frame)
		return -ENOMEM;
	if (o->flood && o->send) {
		w->crc_cache = calloc(NF_MAX_FRAME + 1, sizeof(*w->crc_cache));
		if (!w->crc_cache)
			return -ENOMEM;
		nf_gen_payload(w->frame, NF_MAX_FRAME, o->stream + qi, 0);
	}
	return 0;
}

static void stop_all(struct shared *S)
{
	uint64_t one = 1;

	atomic_store(&S->stop, true);
	if (write(S->stop_fd, &one, sizeof(one)) < 0)
		return;
}

/*
 * No generator frame for tmo ns? The RX threads stamp last_rx_ns with their
 * own clock reads: one taken after ours, stored before our load, would make
 * now - last negative, and as an unsigned a huge silence. That cut a
 * receiver off mid-transfer now and then on a loaded machine ("no
 * generator frame for 30 s" after 2 s; sim/net-hostile's bystanders). So
 * the stamp is loaded first, the clock read after, and a stamp from our
 * future counts as no silence.
 */
static bool rx_silent(struct shared *S, uint64_t tmo)
{
	uint64_t last = atomic_load(&S->last_rx_ns), now = nf_now_ns();

	return now > last && now - last > tmo;
}

static void watch(struct shared *S, unsigned started, struct nf_run_result *res)
{
	struct pollfd p[2] = {
		{ .fd = nf_dev_xs_fd(S->d), .events = POLLIN },
		{ .fd = S->done_fd, .events = POLLIN },
	};
	uint64_t done = 0, v, tmo = (uint64_t)S->d->o.timeout_s * 1000000000u;
	int st;

	while (done < started) {
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (p[1].revents && read(S->done_fd, &v, sizeof(v)) == sizeof(v))
			done += v;
		if (nf_halt_requested && !atomic_load(&S->stop))
			stop_all(S);
		if (S->o->recv && !S->o->tap && !recv_goal_met(S) && rx_silent(S, tmo) &&
		    !atomic_load(&S->stop)) {
			snprintf(res->why, sizeof(res->why), "no generator frame for %u s",
				 S->d->o.timeout_s);
			stop_all(S);
		}
		if (!p[0].revents)
			continue;
		nf_dev_drain_watch(S->d);
		st = nf_read_be_state(S->d);
		if (st != XenbusStateConnected && !atomic_load(&S->stop)) {
			nf_read_be_error(S->d);
			snprintf(res->why, sizeof(res->why),
				 "backend left Connected (state %d, error \"%.120s\")", st,
				 S->d->backend_error);
			res->fail = -EPIPE;
			stop_all(S);
		}
	}
}

static void merge(struct worker *w, struct nf_run_result *res, uint64_t *tx0, uint64_t *tx1,
		  uint64_t *rx0, uint64_t *rx1)
{
	res->sent += w->sent;
	res->corrupted += w->corrupted;
	res->ignored += w->ignored;
	res->bytes_received += w->bytes_received;
	if (w->tx_first && (!*tx0 || w->tx_first < *tx0))
		*tx0 = w->tx_first;
	if (w->tx_last > *tx1)
		*tx1 = w->tx_last;
	if (w->rx_first && (!*rx0 || w->rx_first < *rx0))
		*rx0 = w->rx_first;
	if (w->rx_last > *rx1)
		*rx1 = w->rx_last;
	if (w->q->fail && !res->fail) {
		res->fail = w->q->fail;
		snprintf(res->why, sizeof(res->why), "queue %u: %s", w->q->idx, w->q->why);
	}
	free(w->frame);
	free(w->crc_cache);
}

int nf_run(struct nf_dev *d, const struct nf_run_opts *o, struct nf_run_result *res)
{
	static struct worker W[NF_MAX_QUEUES];
	struct shared S = { .d = d, .o = o };
	unsigned nq = d->nr_queues, started = 0;
	uint64_t tx0 = 0, tx1 = 0, rx0 = 0, rx1 = 0;
	int r = 0;

	memset(res, 0, sizeof(*res));
	nf_seq_init(&S.seq);
	pthread_mutex_init(&S.lock, NULL);
	S.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	S.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	S.t0 = nf_now_ns();
	atomic_store(&S.last_rx_ns, S.t0);
	if (S.stop_fd < 0 || S.done_fd < 0)
		r = -errno;
	for (unsigned i = 0; !r && i < nq; i++)
		r = worker_prepare(&S, &W[i], i);
	for (unsigned i = 0; !r && i < nq; i++) {
		if (pthread_create(&W[i].th, NULL, worker_main, &W[i])) {
			r = -EAGAIN;
			break;
		}
		W[i].started = true;
		started++;
	}
	if (r < 0)
		snprintf(res->why, sizeof(res->why), "cannot start the workers");
	watch(&S, started, res);
	for (unsigned i = 0; i < nq; i++) {
		if (W[i].started)
			pthread_join(W[i].th, NULL);
		merge(&W[i], res, &tx0, &tx1, &rx0, &rx1);
	}
	res->seq = S.seq;
	res->tx_s = tx1 > tx0 ? (double)(tx1 - tx0) / 1e9 : 0;
	res->rx_s = rx1 > rx0 ? (double)(rx1 - rx0) / 1e9 : 0;
	res->elapsed_s = (double)(nf_now_ns() - S.t0) / 1e9;
	for (unsigned i = 0; i < nq; i++)
		res->bytes_sent += W[i].q->cnt.tx_bytes;
	if (S.stop_fd >= 0)
		close(S.stop_fd);
	if (S.done_fd >= 0)
		close(S.done_fd);
	pthread_mutex_destroy(&S.lock);
	if (r < 0 && !res->fail)
		res->fail = r;
	return res->fail;
}
