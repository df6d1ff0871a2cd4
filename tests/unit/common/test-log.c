// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for common/log.c: the plain and journal line formats, the
 * JOURNAL_STREAM detection, *_errno, level filtering, truncation and the
 * per-device rate limit (with an injected clock). stderr is redirected into
 * a pipe and each test reads back exactly what was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static int pipe_rd = -1;
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Everything logged since the last call (the pipe is non-blocking). */
static const char *captured(void)
{
	static char buf[16384];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 &&
	       (n = read(pipe_rd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_plain(void)
{
	log_set_journal(false);
	log_err("disk %d failed", 3);
	CHECK(strcmp(captured(), "test-log: error: disk 3 failed\n") == 0);
	log_warn("w");
	log_notice("n");
	log_info("i");
	CHECK(strcmp(captured(),
		     "test-log: warning: w\ntest-log: notice: n\ntest-log: info: i\n") == 0);
}

static void test_journal(void)
{
	log_set_journal(true);
	log_err("x");
	log_info("y");
	CHECK(strcmp(captured(), "<3>x\n<6>y\n") == 0);
	log_set_journal(false);
}

static void test_journal_stream(void)
{
	struct stat st;
	char env[64];

	REQUIRE(fstat(STDERR_FILENO, &st) == 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("test-log");
	log_warn("to the journal");
	CHECK(strcmp(captured(), "<4>to the journal\n") == 0);

	/* Another stream's identity (inherited by a child, say): plain. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("test-log");
	log_warn("plain");
	CHECK(strcmp(captured(), "test-log: warning: plain\n") == 0);

	setenv("JOURNAL_STREAM", "junk", 1);
	log_init("test-log");
	log_warn("plain");
	CHECK(strcmp(captured(), "test-log: warning: plain\n") == 0);
	unsetenv("JOURNAL_STREAM");
	log_init("test-log");
}

static void test_errno(void)
{
	char want[256];

	CHECK(log_err_errno(-ENOENT, "opening %s", "f") == -ENOENT);
	snprintf(want, sizeof(want), "test-log: error: opening f: %s\n", strerror(ENOENT));
	CHECK(strcmp(captured(), want) == 0);
	CHECK(log_warn_errno(-EPROTO, "ring") == -EPROTO);
	snprintf(want, sizeof(want), "test-log: warning: ring: %s\n", strerror(EPROTO));
	CHECK(strcmp(captured(), want) == 0);
	/* errno is preserved across a log call. */
	errno = EBUSY;
	log_info("keep errno");
	CHECK(errno == EBUSY);
	captured();
}

static void test_level(void)
{
	CHECK(log_get_max_level() == LOG_INFO);
	log_debug("hidden");
	CHECK(strcmp(captured(), "") == 0);
	CHECK(log_debug_errno(-EIO, "hidden") == -EIO);
	CHECK(strcmp(captured(), "") == 0);
	log_set_max_level(LOG_DEBUG);
	log_debug("shown");
	CHECK(strcmp(captured(), "test-log: debug: shown\n") == 0);
	log_set_max_level(LOG_ERR);
	log_warn("hidden");
	log_err("shown");
	CHECK(strcmp(captured(), "test-log: error: shown\n") == 0);
	log_set_max_level(LOG_INFO);
}

static void test_truncate(void)
{
	static char big[8192];
	const char *out;

	memset(big, 'a', sizeof(big) - 1);
	log_err_errno(-EIO, "%s", big);
	out = captured();
	CHECK(count_lines(out) == 1);
	CHECK(strlen(out) < 4096 && strlen(out) > 1000);
	CHECK(out[strlen(out) - 1] == '\n');
}

static void test_ratelimit(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(1000, 3);
	const char *out;
	int i;

	log_set_clock(fake_clock);
	fake_now = 5000;
	for (i = 0; i < 10; i++)
		CHECK(log_rl(&rl, LOG_WARNING, -EINVAL, "bad request %d", i) == -EINVAL);
	out = captured();
	CHECK(count_lines(out) == 3);
	CHECK(strstr(out, "bad request 2") && !strstr(out, "bad request 3"));
	CHECK(rl.suppressed == 7);

	/* Same window: still quiet. */
	fake_now += 999;
	log_rl(&rl, LOG_WARNING, 0, "still quiet");
	CHECK(strcmp(captured(), "") == 0);
	CHECK(rl.suppressed == 8);

	/* The window reopens: the count, then the message. */
	fake_now += 1;
	log_rl(&rl, LOG_WARNING, 0, "again");
	out = captured();
	CHECK(strcmp(out, "test-log: warning: 8 similar messages suppressed\n"
			  "test-log: warning: again\n") == 0);
	CHECK(rl.suppressed == 0 && rl.printed == 1);

	/* Nothing suppressed: no count line. */
	fake_now += 5000;
	log_rl(&rl, LOG_WARNING, 0, "fresh");
	CHECK(strcmp(captured(), "test-log: warning: fresh\n") == 0);
	log_set_clock(NULL);
}

/* Two rate limits are independent: one noisy device does not mute another. */
static void test_ratelimit_per_device(void)
{
	struct log_ratelimit a = LOG_RATELIMIT_INIT(1000, 1), b = LOG_RATELIMIT_INIT(1000, 1);

	log_set_clock(fake_clock);
	fake_now = 100000;
	log_rl(&a, LOG_ERR, 0, "a1");
	log_rl(&a, LOG_ERR, 0, "a2");
	log_rl(&b, LOG_ERR, 0, "b1");
	CHECK(strcmp(captured(), "test-log: error: a1\ntest-log: error: b1\n") == 0);
	log_set_clock(NULL);
}

int main(void)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		perror("pipe");
		return 1;
	}
	close(p[1]);
	pipe_rd = p[0];
	unsetenv("JOURNAL_STREAM");
	log_init("test-log");

	tap_run("/log/plain", test_plain);
	tap_run("/log/journal", test_journal);
	tap_run("/log/journal_stream", test_journal_stream);
	tap_run("/log/errno", test_errno);
	tap_run("/log/level", test_level);
	tap_run("/log/truncate", test_truncate);
	tap_run("/log/ratelimit", test_ratelimit);
	tap_run("/log/ratelimit_per_device", test_ratelimit_per_device);
	return tap_done();
}
