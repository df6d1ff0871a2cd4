// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for common/notify.c: a datagram socket stands in for systemd's
 * NOTIFY_SOCKET and receives READY=1, STATUS=, WATCHDOG=1, STOPPING=1 and
 * ERRNO=; without NOTIFY_SOCKET nothing is sent; the watchdog helper follows
 * WATCHDOG_USEC/WATCHDOG_PID and pings from a loop timer. Waits are bounded
 * polls on the socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "notify.h"
#include "tap.h"

static int sock = -1;
static char sock_path[108];

/* The next datagram within timeout_ms, or "" if none. */
static const char *next_msg(int timeout_ms)
{
	static char buf[1024];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, timeout_ms) != 1)
		return buf;
	n = recv(sock, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_messages(void)
{
	setenv("NOTIFY_SOCKET", sock_path, 1);
	CHECK(notify_ready() > 0);
	CHECK(strcmp(next_msg(1000), "READY=1") == 0);
	CHECK(notify_status("%u devices connected", 3u) > 0);
	CHECK(strcmp(next_msg(1000), "STATUS=3 devices connected") == 0);
	CHECK(notify_watchdog() > 0);
	CHECK(strcmp(next_msg(1000), "WATCHDOG=1") == 0);
	CHECK(notify_errno(-ENOENT) > 0);
	CHECK(strcmp(next_msg(1000), "ERRNO=2") == 0);
	CHECK(notify_stopping() > 0);
	CHECK(strcmp(next_msg(1000), "STOPPING=1") == 0);
}

static void test_no_socket(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK(notify_ready() == 0);
	CHECK(notify_status("x") == 0);
	CHECK(notify_watchdog() == 0);
	CHECK(strcmp(next_msg(0), "") == 0);
}

static void test_watchdog_timer(void)
{
	struct loop_source *s = (void *)1;
	struct loop *l;
	char pid[32];
	int i, pings = 0;

	REQUIRE(loop_new(&l) == 0);
	setenv("NOTIFY_SOCKET", sock_path, 1);

	/* No WATCHDOG_USEC: nothing to do. */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CHECK(notify_watchdog_start(l, &s) == 0 && s == NULL);

	/* Meant for another process: nothing to do. */
	setenv("WATCHDOG_USEC", "20000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK(notify_watchdog_start(l, &s) == 0 && s == NULL);

	/* 20 ms: pings every 10 ms from the loop. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_USEC", "20000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK(notify_watchdog_start(l, &s) == 1 && s != NULL);
	for (i = 0; i < 200 && pings < 3; i++) {
		loop_run_once(l, 50);
		while (strcmp(next_msg(0), "WATCHDOG=1") == 0)
			pings++;
	}
	CHECK(pings >= 3);
	/* No loop turn, no ping: the ping proves the loop is alive. */
	loop_remove(l, s);
	loop_run_once(l, 0);
	while (next_msg(0)[0])
		;
	loop_run_once(l, 30);
	CHECK(strcmp(next_msg(0), "") == 0);
	loop_free(l);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	snprintf(sock_path, sizeof(sock_path), "/tmp/ddom-notify-%d.sock", (int)getpid());
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	unlink(sock_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("Bail out! notify socket: %s\n", strerror(errno));
		return 1;
	}
	tap_run("/notify/messages", test_messages);
	tap_run("/notify/no_socket", test_no_socket);
	tap_run("/notify/watchdog_timer", test_watchdog_timer);
	r = tap_done();
	close(sock);
	unlink(sock_path);
	return r;
}
