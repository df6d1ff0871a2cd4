// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/io-aio.c on a temporary file: write then read back
 * through libaio, flush, discard reads back zeros, a read-only store refuses
 * writes, and a write the kernel refuses (past RLIMIT_FSIZE: EFBIG, an
 * injected fault that needs no privileges) completes with a negative errno
 * instead of anything worse.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/tap.h"
#include "blkstore.h"

static char path[] = "/tmp/blk-aio-XXXXXX";
static _Alignas(4096) uint8_t buf[4][8192];

/* Waits (bounded) until one I/O completes and returns it. */
static struct blk_io *wait_one(struct blk_ioq *q)
{
	struct pollfd p = { .fd = q->ops->fd(q), .events = POLLIN };
	struct blk_io *io;
	int i;

	for (i = 0; i < 50; i++) {
		if (q->ops->reap(q, &io, 1) == 1)
			return io;
		if (q->ops->arm(q))
			continue;
		if (poll(&p, 1, 100) < 0)
			return NULL;
	}
	return NULL;
}

static int64_t run(struct blk_ioq *q, enum blk_io_op op, uint64_t off, uint64_t len, void *data)
{
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct blk_io io = { .op = op, .offset = off, .len = len, .iov = &iov, .iovcnt = 1 };
	struct blk_io *p = &io, *done;

	if (q->ops->submit(q, &p, 1) != 1)
		return -999;
	done = wait_one(q);
	return done == &io ? io.res : -998;
}

static void test_rw_flush_discard(void)
{
	struct blk_store *s;
	struct blk_store_info info;
	struct blk_ioq *q;
	int64_t r;

	REQUIRE(blk_aio_open(path, false, &s) == 0);
	REQUIRE(s->ops->query(s, &info) == 0);
	CHECK(info.size == 1 << 20 && info.lss == 512 && !info.readonly && !info.bdev);
	printf("# store: %s\n", s->ops->describe(s));
	REQUIRE(s->ops->ioq_new(s, 8, &q) == 0);
	memset(buf[0], 0x5a, sizeof(buf[0]));
	CHECK(run(q, BLK_IO_WRITE, 8192, 8192, buf[0]) == 8192);
	CHECK(run(q, BLK_IO_FLUSH, 0, 0, NULL) == 0);
	memset(buf[1], 0, sizeof(buf[1]));
	CHECK(run(q, BLK_IO_READ, 8192, 8192, buf[1]) == 8192);
	CHECK(!memcmp(buf[0], buf[1], 8192));
	r = run(q, BLK_IO_DISCARD, 8192, 4096, NULL);
	if (r == -EOPNOTSUPP) {
		printf("# punch-hole not supported on this file system\n");
	} else {
		CHECK(r == 4096);
		CHECK(run(q, BLK_IO_READ, 8192, 8192, buf[1]) == 8192);
		CHECK(buf[1][0] == 0 && buf[1][4095] == 0 && buf[1][4096] == 0x5a);
	}
	/* Secure discard is never offered on a file. */
	CHECK(run(q, BLK_IO_SECURE_DISCARD, 0, 4096, NULL) == -EOPNOTSUPP);
	/* A read past the end is short: an error, not stale data. */
	CHECK(run(q, BLK_IO_READ, (1 << 20) - 4096, 8192, buf[1]) == -EIO);
	q->ops->free(q);
	s->ops->close(s);
}

static void test_readonly(void)
{
	struct blk_store *s;
	struct blk_store_info info;
	struct blk_ioq *q;

	REQUIRE(blk_aio_open(path, true, &s) == 0);
	REQUIRE(s->ops->query(s, &info) == 0);
	CHECK(info.readonly && !info.discard);
	REQUIRE(s->ops->ioq_new(s, 4, &q) == 0);
	CHECK(run(q, BLK_IO_READ, 0, 4096, buf[2]) == 4096);
	CHECK(run(q, BLK_IO_WRITE, 0, 4096, buf[2]) < 0);
	q->ops->free(q);
	s->ops->close(s);
}

static void test_write_error(void)
{
	struct rlimit old, lim;
	struct blk_store *s;
	struct blk_ioq *q;

	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1 << 20;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	REQUIRE(blk_aio_open(path, false, &s) == 0);
	REQUIRE(s->ops->ioq_new(s, 4, &q) == 0);
	/* Growing the file past the limit: EFBIG in io_event.res. */
	CHECK(run(q, BLK_IO_WRITE, 1 << 20, 4096, buf[3]) == -EFBIG);
	/* The queue still works afterwards. */
	CHECK(run(q, BLK_IO_READ, 0, 4096, buf[3]) == 4096);
	q->ops->free(q);
	s->ops->close(s);
	setrlimit(RLIMIT_FSIZE, &old);
}

static void test_open_errors(void)
{
	struct blk_store *s;

	CHECK(blk_aio_open("/nonexistent/blk", false, &s) == -ENOENT);
	CHECK(blk_aio_open("/tmp", true, &s) < 0);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return 99;
	close(fd);
	tap_run("/aio/rw-flush-discard", test_rw_flush_discard);
	tap_run("/aio/readonly", test_readonly);
	tap_run("/aio/write-error", test_write_error);
	tap_run("/aio/open-errors", test_open_errors);
	unlink(path);
	return tap_done();
}
