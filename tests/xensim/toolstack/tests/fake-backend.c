// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tiny test backend for the toolstack's tests, run as a process of a driver
 * domain (`xensim exec DIR DOMID -- ts-fake-backend`). It watches the
 * domain's backend directory and answers the toolstack as a backend would,
 * without any ring: a device at Initialising (1) goes to InitWait (2), a
 * device the toolstack closes (5) goes to Closed (6). It prints "ready" on
 * stdout once its watch is in place, then a line for each answer
 * ("initwait|closed <backend path> online=<value>"), and stops on SIGTERM.
 * Single-threaded poll loop; it never exits on what it reads.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xenstore.h>

static void answer(struct xs_handle *xs, const char *dev)
{
	char p[600], *state, *online;
	const char *next = NULL;

	snprintf(p, sizeof(p), "%s/state", dev);
	state = xs_read(xs, XBT_NULL, p, NULL);
	if (!state)
		return;
	if (!strcmp(state, "1"))
		next = "2";
	else if (!strcmp(state, "5"))
		next = "6";
	free(state);
	if (!next)
		return;
	if (!xs_write(xs, XBT_NULL, p, next, 1)) {
		fprintf(stderr, "ts-fake-backend: write %s: %s\n", p, strerror(errno));
		return;
	}
	/* tell the test what it saw: the state it answered and `online` then */
	snprintf(p, sizeof(p), "%s/online", dev);
	online = xs_read(xs, XBT_NULL, p, NULL);
	printf("%s %s online=%s\n", next[0] == '2' ? "initwait" : "closed", dev,
	       online ? online : "(none)");
	fflush(stdout);
	free(online);
}

/* Every device under <base>/<kind>/<frontend>/<devid>. */
static void scan(struct xs_handle *xs, const char *base)
{
	char p1[256], p2[384], p3[512], **kinds, **fes, **devs;
	unsigned nk = 0, nf, nd;

	kinds = xs_directory(xs, XBT_NULL, base, &nk);
	for (unsigned k = 0; kinds && k < nk; k++) {
		snprintf(p1, sizeof(p1), "%s/%s", base, kinds[k]);
		nf = 0;
		fes = xs_directory(xs, XBT_NULL, p1, &nf);
		for (unsigned f = 0; fes && f < nf; f++) {
			snprintf(p2, sizeof(p2), "%s/%s", p1, fes[f]);
			nd = 0;
			devs = xs_directory(xs, XBT_NULL, p2, &nd);
			for (unsigned d = 0; devs && d < nd; d++) {
				snprintf(p3, sizeof(p3), "%s/%s", p2, devs[d]);
				answer(xs, p3);
			}
			free(devs);
		}
		free(fes);
	}
	free(kinds);
}

int main(void)
{
	const char *dom = getenv("XENSIM_DOMID");
	struct pollfd pfd[2];
	struct xs_handle *xs;
	char base[64], **ev;
	sigset_t mask;

	if (!dom) {
		fprintf(stderr, "ts-fake-backend: run me with `xensim exec`\n");
		return 2;
	}
	xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!xs) {
		perror("ts-fake-backend: xs_open");
		return 1;
	}
	snprintf(base, sizeof(base), "/local/domain/%s/backend", dom);
	if (!xs_watch(xs, base, "fb")) {
		perror("ts-fake-backend: xs_watch");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	pfd[0] = (struct pollfd){ .fd = xs_fileno(xs), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = signalfd(-1, &mask, 0), .events = POLLIN };
	scan(xs, base);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		while ((ev = xs_check_watch(xs)))
			free(ev);
		scan(xs, base);
	}
	xs_close(xs);
	return 0;
}
