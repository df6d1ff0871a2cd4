// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-xenstored: the simulator's xenstored. Command line, the epoll loop, one listening
 * unix socket per domain (DIR/xenstored/dom<id>.sock; every connection on it IS that domain),
 * connection input framing and output queues, domain introduce/release.
 *
 * Single-threaded: one epoll loop runs everything. A client that breaks the framing (a
 * payload over XENSTORE_PAYLOAD_MAX, xs_wire.h) or lets its undelivered output grow past
 * XSD_OUT_MAX (the CVE-2022-42315 class: a reader that never reads) is disconnected; it can
 * never crash the daemon or make it buffer without bound. Unprivileged domains are not read
 * from while they have "outstanding" replies queued (Xen domain.c domain_can_read()).
 * Never exits on client input; only SIGTERM/SIGINT end it, removing its sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xenstored.h"

/* Undelivered output a connection may accumulate before it is dropped. */
#define XSD_OUT_MAX (1024u * 1024u)
/* Requests handled per connection per wakeup, so one client cannot starve the others. */
#define XSD_BATCH 64
/* Connections one unprivileged domain may hold (a real guest has one ring). */
#define XSD_DOMU_CONNS 32

enum { K_LISTEN = 1, K_CONN, K_SIGNAL };

struct xsd_knobs xsd_knobs;
struct xsd_tree xsd_store;
struct xsd_node *xsd_special[2];
struct xsd_conn *xsd_conns;

static struct xsd_domain *domains;
static struct xsd_domain *zombies;	/* released; freed after their connections */
static int epfd = -1, sigfd = -1;
static int sig_kind = K_SIGNAL;
static const char *base_dir;
static bool quit;

static uint64_t now_ms(void);

/*
 * Logging on stderr. Guests can trigger messages (bad requests, floods), so at most
 * XSD_LOG_BURST lines go out per second; the count of suppressed ones follows.
 */
#define XSD_LOG_BURST 20

void xsd_log(const char *fmt, ...)
{
	static uint64_t window;
	static unsigned int lines, suppressed;
	uint64_t now = now_ms();
	va_list ap;

	if (now - window >= 1000) {
		if (suppressed)
			fprintf(stderr, "xensim-xenstored: %u messages suppressed\n", suppressed);
		window = now;
		lines = 0;
		suppressed = 0;
	}
	if (++lines > XSD_LOG_BURST) {
		suppressed++;
		return;
	}
	va_start(ap, fmt);
	fputs("xensim-xenstored: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_kill(struct xsd_conn *c, const char *why)
{
	if (c->dead)
		return;
	if (why)
		xsd_log("dom%u: dropping connection: %s", c->who.domid, why);
	c->dead = true;
}

static struct xsd_msg *msg_new(uint32_t type, uint32_t req_id, uint32_t tx_id,
			       const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx_id,
				 .len = alen + blen };
	struct xsd_msg *m = calloc(1, sizeof(*m) + sizeof(h) + alen + blen);

	if (!m)
		return NULL;
	memcpy(m->data, &h, sizeof(h));
	if (alen)
		memcpy(m->data + sizeof(h), a, alen);
	if (blen)
		memcpy(m->data + sizeof(h) + alen, b, blen);
	m->len = (uint32_t)sizeof(h) + alen + blen;
	return m;
}

static void queue(struct xsd_msg **head, struct xsd_msg **tail, struct xsd_msg *m)
{
	m->next = NULL;
	if (*tail)
		(*tail)->next = m;
	else
		*head = m;
	*tail = m;
}

static bool out_account(struct xsd_conn *c, struct xsd_msg *m)
{
	c->out_bytes += m->len;
	if (c->out_bytes > XSD_OUT_MAX) {
		conn_kill(c, "undelivered output over the limit (client not reading)");
		return false;
	}
	return true;
}

/* core.c send_reply(): the request's header, with type and length replaced. */
void xsd_reply(struct xsd_conn *c, uint32_t type, const void *data, uint32_t len)
{
	struct xsd_msg *m;

	if (len > XENSTORE_PAYLOAD_MAX) {
		xsd_error(c, E2BIG);
		return;
	}
	if (c->dead)
		return;
	m = msg_new(type, c->cur.req_id, c->cur.tx_id, data, len, NULL, 0);
	if (!m) {
		conn_kill(c, "out of memory");
		return;
	}
	queue(&c->out, &c->out_tail, m);
	c->dom->outstanding++;
	out_account(c, m);
}

/* core.c send_error(): the xsd_errors name of the errno, NUL-terminated. */
void xsd_error(struct xsd_conn *c, int err)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			break;
	if (i == sizeof(xsd_errors) / sizeof(xsd_errors[0])) {
		xsd_log("error %d has no wire name; sending EINVAL", err);
		i = 0;
	}
	xsd_reply(c, XS_ERROR, xsd_errors[i].errstring,
		  (uint32_t)strlen(xsd_errors[i].errstring) + 1);
}

static bool same_event(const struct xsd_msg *a, const struct xsd_msg *b)
{
	return a->event && a->len == b->len && !memcmp(a->data + sizeof(struct xsd_sockmsg),
						       b->data + sizeof(struct xsd_sockmsg),
						       a->len - sizeof(struct xsd_sockmsg));
}

/* Remove pending (not yet started) events of one watch: the merge knob. */
static void drop_pending(struct xsd_conn *c, struct xsd_msg **head, struct xsd_msg **tail,
			 uint64_t watch_id)
{
	struct xsd_msg **pm = head, *prev = NULL;

	while (*pm) {
		struct xsd_msg *m = *pm;

		if (m->event && m->watch_id == watch_id && !m->off) {
			*pm = m->next;
			c->out_bytes -= m->len;
			free(m);
			continue;
		}
		prev = m;
		pm = &m->next;
	}
	*tail = prev;
}

/*
 * core.c send_event(): "path\0token\0", never over XENSTORE_PAYLOAD_MAX; an event identical
 * to one still pending is dropped (special '@' events excepted), as Xen does.
 */
void xsd_event(struct xsd_conn *c, struct xsd_watch *w, const char *path)
{
	uint32_t pl = (uint32_t)strlen(path) + 1, tl = (uint32_t)strlen(w->token) + 1;
	struct xsd_msg *m, *i;

	if (c->dead || pl + tl > XENSTORE_PAYLOAD_MAX)
		return;
	m = msg_new(XS_WATCH_EVENT, 0, 0, path, pl, w->token, tl);
	if (!m) {
		conn_kill(c, "out of memory");
		return;
	}
	m->event = true;
	m->watch_id = w->id;
	if (xsd_knobs.merge_watches) {
		drop_pending(c, &c->out, &c->out_tail, w->id);
		drop_pending(c, &c->late, &c->late_tail, w->id);
	} else if (path[0] != '@') {
		for (i = c->out; i; i = i->next)
			if (!i->off && same_event(i, m))
				goto dup;
		for (i = c->late; i; i = i->next)
			if (same_event(i, m))
				goto dup;
	}
	if (xsd_knobs.delay_ms) {
		m->due_ms = now_ms() + xsd_knobs.delay_ms;
		queue(&c->late, &c->late_tail, m);
	} else {
		queue(&c->out, &c->out_tail, m);
	}
	out_account(c, m);
	return;
dup:
	free(m);
}

/* Move due delayed events to the output queue; returns ms until the next one, or -1. */
static int late_due(bool all)
{
	uint64_t now = now_ms();
	int next = -1;

	for (struct xsd_conn *c = xsd_conns; c; c = c->next) {
		while (c->late && (all || c->late->due_ms <= now)) {
			struct xsd_msg *m = c->late;

			c->late = m->next;
			if (!c->late)
				c->late_tail = NULL;
			queue(&c->out, &c->out_tail, m);
		}
		if (c->late) {
			uint64_t d = c->late->due_ms - now;

			if (next < 0 || d < (uint64_t)next)
				next = (int)d;
		}
	}
	return next;
}

void xsd_flush_late(void)
{
	late_due(true);
}

static void conn_flush(struct xsd_conn *c)
{
	while (c->out && !c->dead) {
		struct xsd_msg *m = c->out;
		ssize_t n = send(c->fd, m->data + m->off, m->len - m->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_kill(c, NULL);
			return;
		}
		m->off += (uint32_t)n;
		if (m->off < m->len)
			return;
		c->out = m->next;
		if (!c->out)
			c->out_tail = NULL;
		c->out_bytes -= m->len;
		if (!m->event && c->dom->outstanding)
			c->dom->outstanding--;
		free(m);
	}
}

/* domain.c domain_can_read(): an unprivileged domain at its "outstanding" quota waits. */
static bool conn_may_read(const struct xsd_conn *c)
{
	return c->who.priv || !xsd_quota.outstanding ||
	       c->dom->outstanding < xsd_quota.outstanding;
}

static void conn_input(struct xsd_conn *c)
{
	for (int batch = 0; batch < XSD_BATCH && !c->dead && conn_may_read(c); batch++) {
		struct xsd_sockmsg h;
		ssize_t n;

		if (!c->in_payload) {
			n = recv(c->fd, c->hdr + c->hused, sizeof(c->hdr) - c->hused, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_kill(c, NULL);
				return;
			}
			if (n < 0)
				return;
			c->hused += (uint32_t)n;
			if (c->hused < sizeof(c->hdr))
				return;
			memcpy(&h, c->hdr, sizeof(h));
			/* core.c handle_input(): longer than XENSTORE_PAYLOAD_MAX is fatal. */
			if (h.len > XENSTORE_PAYLOAD_MAX) {
				conn_kill(c, "payload length over XENSTORE_PAYLOAD_MAX");
				return;
			}
			c->in_payload = true;
			c->pused = 0;
		}
		memcpy(&h, c->hdr, sizeof(h));
		if (c->pused < h.len) {
			n = recv(c->fd, c->payload + c->pused, h.len - c->pused, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_kill(c, NULL);
				return;
			}
			if (n < 0)
				return;
			c->pused += (uint32_t)n;
			if (c->pused < h.len)
				return;
		}
		c->in_payload = false;
		c->hused = 0;
		xsd_process(c, &h, c->payload);
		conn_flush(c);
	}
}

static void conn_free(struct xsd_conn *c)
{
	xsd_conn_drop_watches(c);
	xsd_conn_drop_txs(c);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	while (c->out) {
		struct xsd_msg *m = c->out;

		c->out = m->next;
		if (!m->event && c->dom->outstanding)
			c->dom->outstanding--;
		free(m);
	}
	while (c->late) {
		struct xsd_msg *m = c->late;

		c->late = m->next;
		free(m);
	}
	free(c);
}

static void listen_pause(struct xsd_domain *d, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = d };

	if (d->fd >= 0 && d->paused != pause && !epoll_ctl(epfd, EPOLL_CTL_MOD, d->fd, &ev))
		d->paused = pause;
}

static void reap(void)
{
	for (struct xsd_conn **pc = &xsd_conns; *pc;) {
		struct xsd_conn *c = *pc;

		if (!c->dead) {
			pc = &c->next;
			continue;
		}
		*pc = c->next;
		c->dom->nconns--;
		conn_free(c);
		for (struct xsd_domain *d = domains; d; d = d->next)
			listen_pause(d, false);
	}
}

static void conn_update(struct xsd_conn *c)
{
	uint32_t mask = (conn_may_read(c) ? EPOLLIN : 0) | (c->out ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = mask, .data.ptr = c };

	if (mask != c->epoll_mask && !epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev))
		c->epoll_mask = mask;
}

static void conn_accept(struct xsd_domain *d)
{
	int fd = accept4(d->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct xsd_conn *c;
	struct epoll_event ev;

	if (fd < 0) {
		/* Out of fds: stop accepting until a connection goes, rather than spin. */
		if (errno == EMFILE || errno == ENFILE) {
			xsd_log("dom%u: out of file descriptors; not accepting for now",
				d->domid);
			listen_pause(d, true);
		}
		return;
	}
	if (d->domid && d->nconns >= XSD_DOMU_CONNS) {
		xsd_log("dom%u: over %u connections; refusing one", d->domid, XSD_DOMU_CONNS);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->kind = K_CONN;
	c->fd = fd;
	c->dom = d;
	c->who.domid = d->domid;
	c->who.priv = d->domid == 0;
	c->who.target = d->target;
	c->epoll_mask = EPOLLIN;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c);
		return;
	}
	c->next = xsd_conns;
	xsd_conns = c;
	d->nconns++;
}

struct xsd_domain *xsd_domain_find(uint32_t domid)
{
	for (struct xsd_domain *d = domains; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

static int domain_listen(struct xsd_domain *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = d };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenstored/dom%u.sock", base_dir,
		     d->domid);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	d->sock_path = strdup(sa.sun_path);
	if (!d->sock_path)
		return ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* A socket someone still answers on belongs to a live daemon: never steal it. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || errno == EAGAIN) {
		close(fd);
		free(d->sock_path);
		d->sock_path = NULL;
		return EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		n = errno;
		close(fd);
		unlink(sa.sun_path);
		return n;
	}
	d->fd = fd;
	return 0;
}

static void domain_free(struct xsd_domain *d)
{
	if (d->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, d->fd, NULL);
		close(d->fd);
	}
	if (d->sock_path)
		unlink(d->sock_path);
	free(d->sock_path);
	free(d);
}

static struct xsd_domain *domain_new(uint32_t domid, int *err)
{
	struct xsd_domain *d = calloc(1, sizeof(*d));

	if (!d) {
		*err = ENOMEM;
		return NULL;
	}
	d->kind = K_LISTEN;
	d->fd = -1;
	d->domid = domid;
	d->target = -1;
	*err = domain_listen(d);
	if (*err) {
		domain_free(d);
		return NULL;
	}
	d->next = domains;
	domains = d;
	return d;
}

/* domain.c introduce_domain(): a known domain is acknowledged again, nothing more. */
int xsd_domain_introduce(uint32_t domid)
{
	int err = 0;

	if (xsd_domain_find(domid))
		return 0;
	if (!domain_new(domid, &err)) {
		xsd_log("dom%u: cannot create its socket: %s", domid, strerror(err));
		return EIO;
	}
	xsd_fire_special(0);
	return 0;
}

/*
 * domain.c do_release(): the domain's connections go without firing their watches, its
 * socket goes, the nodes it owns are removed (4.17 XSA-322 behaviour, watches fire), then
 * @releaseDomain fires.
 */
int xsd_domain_release(uint32_t domid)
{
	struct xsd_domain *d = xsd_domain_find(domid);

	if (!d)
		return ENOENT;
	for (struct xsd_conn *c = xsd_conns; c; c = c->next) {
		if (c->dom != d)
			continue;
		xsd_conn_drop_watches(c);
		xsd_conn_drop_txs(c);
		conn_kill(c, NULL);
	}
	for (struct xsd_domain **pd = &domains; *pd; pd = &(*pd)->next) {
		if (*pd == d) {
			*pd = d->next;
			break;
		}
	}
	for (struct xsd_domain *o = domains; o; o = o->next) {
		if (o->target == (int32_t)domid)
			xsd_domain_set_target(o, (uint32_t)-1);
	}
	/* Its connections are reaped, and it freed, only when the loop is back at the top:
	 * events for them may still be pending in this round. */
	epoll_ctl(epfd, EPOLL_CTL_DEL, d->fd, NULL);
	close(d->fd);
	d->fd = -1;
	/* Unlinked now: the domain may be introduced again before the zombie is freed. */
	unlink(d->sock_path);
	free(d->sock_path);
	d->sock_path = NULL;
	d->next = zombies;
	zombies = d;
	xsd_tree_orphan(&xsd_store, domid);
	xsd_fire_special(1);
	return 0;
}

void xsd_domain_set_target(struct xsd_domain *d, uint32_t target)
{
	d->target = (int32_t)target;
	for (struct xsd_conn *c = xsd_conns; c; c = c->next)
		if (c->dom == d)
			c->who.target = d->target;
}

static void usage(FILE *f)
{
	fputs("Usage: xensim-xenstored --dir DIR [--ready-fd N] [--quota-maxsize BYTES]\n"
	      "         [--quota-nodes N] [--quota-watches N] [--quota-transactions N]\n"
	      "         [--quota-outstanding N]\n"
	      "\n"
	      "The xensim simulator's xenstored: the xs_wire.h protocol on one unix socket per\n"
	      "domain, DIR/xenstored/dom<domid>.sock (dom0.sock at start; others on\n"
	      "XS_INTRODUCE). Runs in the foreground until SIGTERM.\n"
	      "\n"
	      "  --dir DIR                 state directory (DIR/xenstored/ is created)\n"
	      "  --ready-fd N              write one byte to fd N, then close it, when ready\n"
	      "  --quota-maxsize BYTES     node size quota for domUs (default 2048)\n"
	      "  --quota-nodes N           nodes a domU may own (default 1000)\n"
	      "  --quota-watches N         watches per domU (default 128)\n"
	      "  --quota-transactions N    open transactions per domU (default 10)\n"
	      "  --quota-outstanding N     unanswered requests per domU (default 20)\n"
	      "  --help                    this text\n"
	      "\n"
	      "Run-time knobs: xenstore-control help (as dom0).\n", f);
}

static bool parse_opt_u32(const char *name, const char *s, uint32_t *v)
{
	char *e;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &e, 10);
	if (!*s || *e || errno || x > UINT32_MAX || s[0] == '-' || s[0] == '+' || s[0] == ' ') {
		fprintf(stderr, "xensim-xenstored: bad value for --%s: '%s'\n", name, s);
		return false;
	}
	*v = (uint32_t)x;
	return true;
}

static int parse_args(int argc, char **argv, int *ready_fd)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "quota-maxsize", required_argument, NULL, 's' },
		{ "quota-nodes", required_argument, NULL, 'n' },
		{ "quota-watches", required_argument, NULL, 'w' },
		{ "quota-transactions", required_argument, NULL, 't' },
		{ "quota-outstanding", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int o, idx;

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":", opts, &idx)) != -1) {
		const char *name = NULL;
		uint32_t *q = NULL;

		switch (o) {
		case 'd':
			base_dir = optarg;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case 'r':
			if (!parse_opt_u32("ready-fd", optarg, &v) || v > INT32_MAX)
				return 2;
			*ready_fd = (int)v;
			continue;
		case 's': name = "quota-maxsize"; q = &xsd_quota.node_size; break;
		case 'n': name = "quota-nodes"; q = &xsd_quota.nodes; break;
		case 'w': name = "quota-watches"; q = &xsd_quota.watches; break;
		case 't': name = "quota-transactions"; q = &xsd_quota.transactions; break;
		case 'o': name = "quota-outstanding"; q = &xsd_quota.outstanding; break;
		case ':':
			fprintf(stderr, "xensim-xenstored: option '%s' needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "xensim-xenstored: unknown option '%s'\n",
				argv[optind - 1]);
			return 2;
		}
		if (!parse_opt_u32(name, optarg, q))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "xensim-xenstored: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!base_dir) {
		fprintf(stderr, "xensim-xenstored: --dir is required\n");
		return 2;
	}
	return 0;
}

static int setup(int ready_fd)
{
	static const struct xsd_perm n0 = { .id = 0, .perms = XSD_PERM_NONE };
	char dir[4096];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sig_kind };
	sigset_t set;
	int err;

	snprintf(dir, sizeof(dir), "%s/xenstored", base_dir);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		xsd_log("cannot create %s: %s", dir, strerror(errno));
		return 1;
	}
	if (xsd_tree_init(&xsd_store))
		return 1;
	xsd_store.fire = xsd_fire;
	/* core.c setup_structure(): the special nodes are dom0's, no access for others. */
	xsd_special[0] = xsd_node_alloc("@introduceDomain", &n0, 1);
	xsd_special[1] = xsd_node_alloc("@releaseDomain", &n0, 1);
	if (!xsd_special[0] || !xsd_special[1])
		return 1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || sigfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev)) {
		xsd_log("epoll/signalfd: %s", strerror(errno));
		return 1;
	}
	if (!domain_new(0, &err)) {
		xsd_log("cannot listen on %s/dom0.sock: %s", dir, strerror(err));
		return 1;
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			xsd_log("--ready-fd %d: %s", ready_fd, strerror(errno));
		close(ready_fd);
	}
	return 0;
}

static void loop(void)
{
	struct epoll_event evs[32];

	while (!quit) {
		int timeout = late_due(false), n;

		for (struct xsd_conn *c = xsd_conns; c; c = c->next) {
			conn_flush(c);
			conn_update(c);
		}
		reap();
		while (zombies) {
			struct xsd_domain *d = zombies;

			zombies = d->next;
			domain_free(d);
		}
		n = epoll_wait(epfd, evs, 32, timeout);
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;

			if (kind == K_SIGNAL) {
				quit = true;
			} else if (kind == K_LISTEN) {
				conn_accept(evs[i].data.ptr);
			} else {
				struct xsd_conn *c = evs[i].data.ptr;

				if (c->dead)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_input(c);
				conn_flush(c);
			}
		}
	}
}

static void teardown(void)
{
	for (struct xsd_conn *c = xsd_conns; c; c = c->next)
		c->dead = true;
	reap();
	while (zombies) {
		struct xsd_domain *d = zombies;

		zombies = d->next;
		domain_free(d);
	}
	while (domains) {
		struct xsd_domain *d = domains;

		domains = d->next;
		domain_free(d);
	}
	xsd_tree_free(&xsd_store);
	for (int i = 0; i < 2; i++)
		if (xsd_special[i])
			xsd_node_free(xsd_special[i]);
	if (sigfd >= 0)
		close(sigfd);
	if (epfd >= 0)
		close(epfd);
}

int main(int argc, char **argv)
{
	int ready_fd = -1, rc;

	rc = parse_args(argc, argv, &ready_fd);
	if (rc)
		return rc;
	rc = setup(ready_fd);
	if (!rc)
		loop();
	teardown();
	return rc;
}
