// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shipped backing store: a regular file or a block device through
 * libaio (see blkstore.h).
 *
 * Opened with O_DIRECT; where the file system refuses it (EINVAL at open)
 * the store falls back to buffered I/O and says so in its description,
 * which the vbd logs. Reads and writes are IOCB_CMD_PREADV/PWRITEV, flushes
 * IOCB_CMD_FDSYNC (with a synchronous fdatasync where the kernel refuses
 * that command). Discard has no aio command: it is done synchronously on
 * the worker thread (fallocate PUNCH_HOLE|KEEP_SIZE on files, BLKDISCARD or
 * BLKSECDISCARD on block devices) and completed through the same reap path.
 *
 * The store is opened and queried on the loop thread; each ioq belongs to
 * one worker thread. io_event.res is a negative errno in an unsigned field;
 * -EAGAIN from io_submit is back-pressure, not failure.
 *
 * Completions are read straight from the kernel's completion ring, which
 * libaio's io_context_t points at (Linux fs/aio.c, struct aio_ring: the
 * kernel writes the event, then advances tail; whoever consumes advances
 * head, and the kernel accepts user space doing it). That saves an
 * io_getevents system call per reap and lets a polling worker see
 * completions without any system call. A ring without the known magic, or
 * with incompatible features, is reaped with io_getevents instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "blkstore.h"

struct aio_store {
	struct blk_store s;
	int fd;
	bool readonly;
	bool direct;
	bool bdev;
	char desc[320];
};

/* Linux fs/aio.c: the header of the completion ring mapped at ctx. */
struct kaio_ring {
	unsigned id;
	unsigned nr;		/* events in the ring */
	unsigned head;		/* consumer: us */
	unsigned tail;		/* producer: the kernel */
	unsigned magic;
	unsigned compat_features;
	unsigned incompat_features;
	unsigned header_length;	/* where events[] starts */
};

#define KAIO_RING_MAGIC 0xa10a10a1u

struct aio_ioq {
	struct blk_ioq q;
	struct aio_store *st;
	io_context_t ctx;
	struct kaio_ring *ring;	/* NULL: reap with io_getevents */
	struct io_event *events;
	int efd;
	unsigned depth;
	/* I/Os completed synchronously, waiting for reap (a FIFO of depth). */
	struct blk_io **done;
	unsigned done_head, done_count;
};

_Static_assert(sizeof(struct iocb) <= sizeof(((struct blk_io *)0)->priv), "iocb fits in priv");

static struct aio_store *to_store(struct blk_store *s)
{
	return (struct aio_store *)s;
}

static struct aio_ioq *to_ioq(struct blk_ioq *q)
{
	return (struct aio_ioq *)q;
}

/* Reads a small decimal sysfs attribute of a block device; 0 if absent. */
static uint64_t sysfs_u64(dev_t dev, const char *attr)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s", major(dev), minor(dev),
		 attr);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* Linux >= major.minor, from uname (0 when it cannot tell). */
static bool kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned a, b;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) != 2)
		return false;
	return a > major || (a == major && b >= minor);
}

/*
 * Whether the device erases securely has no sysfs attribute. The ioctl
 * tells: since Linux 5.19 BLKSECDISCARD (block/ioctl.c,
 * blk_ioctl_secure_erase) answers EBADF on a read-only open, then
 * EOPNOTSUPP when bdev_max_secure_erase_sectors() is 0, and only then
 * reads the range, so a NULL range gets EFAULT from a device that supports
 * it and erases nothing. Before 5.19 the same ioctl checked only discard
 * support before reading the range, so EFAULT proved nothing there: not
 * offered on those kernels.
 */
static bool secure_erase_supported(int fd)
{
	if (!kernel_at_least(5, 19))
		return false;
	return ioctl(fd, BLKSECDISCARD, NULL) < 0 && errno == EFAULT;
}

static int query_bdev(struct aio_store *st, const struct stat *sb, struct blk_store_info *ret)
{
	uint64_t size;
	int lss, pss;

	if (ioctl(st->fd, BLKGETSIZE64, &size) < 0 || ioctl(st->fd, BLKSSZGET, &lss) < 0 ||
	    ioctl(st->fd, BLKPBSZGET, &pss) < 0)
		return -errno;
	ret->size = size;
	ret->lss = lss;
	ret->pss = pss;
	ret->discard = !st->readonly && sysfs_u64(sb->st_rdev, "discard_max_bytes") > 0;
	ret->discard_granularity = sysfs_u64(sb->st_rdev, "discard_granularity");
	if (!ret->discard_granularity)
		ret->discard_granularity = lss;
	ret->discard_secure = ret->discard && secure_erase_supported(st->fd);
	return 0;
}

static int aio_query(struct blk_store *s, struct blk_store_info *ret)
{
	struct aio_store *st = to_store(s);
	struct stat sb;

	memset(ret, 0, sizeof(*ret));
	if (fstat(st->fd, &sb) < 0)
		return -errno;
	ret->readonly = st->readonly;
	ret->bdev = st->bdev;
	if (st->bdev)
		return query_bdev(st, &sb, ret);
	ret->size = sb.st_size;
	ret->lss = 512;
	ret->pss = sb.st_blksize >= 512 ? (unsigned)sb.st_blksize : 512;
	ret->discard = !st->readonly;
	ret->discard_granularity = ret->pss;
	return 0;
}

static const char *aio_describe(struct blk_store *s)
{
	return to_store(s)->desc;
}

static void aio_close(struct blk_store *s)
{
	struct aio_store *st = to_store(s);

	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st);
}

/* --- per-thread queues --- */

static void done_push(struct aio_ioq *q, struct blk_io *io)
{
	uint64_t one = 1;

	q->done[(q->done_head + q->done_count) % q->depth] = io;
	q->done_count++;
	/* Wake the poller; a full counter cannot happen at depth's scale. */
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* eventfd writes fail only on overflow: the poller is awake. */
	}
}

static int64_t sync_discard(struct aio_ioq *q, struct blk_io *io)
{
	struct aio_store *st = q->st;
	uint64_t range[2] = { io->offset, io->len };

	if (!io->len)
		return 0;
	if (st->bdev) {
		unsigned long cmd = io->op == BLK_IO_SECURE_DISCARD ? BLKSECDISCARD : BLKDISCARD;

		return ioctl(st->fd, cmd, range) < 0 ? -errno : (int64_t)io->len;
	}
	if (io->op == BLK_IO_SECURE_DISCARD)
		return -EOPNOTSUPP;
	if (fallocate(st->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, io->offset, io->len) < 0)
		return -errno;
	return io->len;
}

static void prep(struct aio_ioq *q, struct blk_io *io)
{
	struct iocb *cb = (struct iocb *)io->priv;
	int fd = q->st->fd;

	/* One buffer: IOCB_CMD_PREAD/PWRITE, as fio issues it, which spares
	 * the kernel importing an iovec array (Linux fs/aio.c, aio_setup_rw). */
	switch (io->op) {
	case BLK_IO_READ:
		if (io->iovcnt == 1)
			io_prep_pread(cb, fd, io->iov[0].iov_base, io->iov[0].iov_len, io->offset);
		else
			io_prep_preadv(cb, fd, io->iov, io->iovcnt, io->offset);
		break;
	case BLK_IO_WRITE:
		if (io->iovcnt == 1)
			io_prep_pwrite(cb, fd, io->iov[0].iov_base, io->iov[0].iov_len, io->offset);
		else
			io_prep_pwritev(cb, fd, io->iov, io->iovcnt, io->offset);
		break;
	default:
		io_prep_fdsync(cb, fd);
		break;
	}
	io_set_eventfd(cb, q->efd);
	cb->data = io;
}

/* A synchronous stand-in for an iocb the kernel refused as a command. */
static int64_t sync_fallback(struct aio_ioq *q, struct blk_io *io, int r)
{
	if (io->op == BLK_IO_FLUSH && r == -EINVAL)
		return fdatasync(q->st->fd) < 0 ? -errno : 0;
	return r;
}

static bool synchronous(const struct aio_ioq *q, const struct blk_io *io)
{
	return io->op == BLK_IO_DISCARD || io->op == BLK_IO_SECURE_DISCARD ||
	       (io->op == BLK_IO_WRITE && q->st->readonly);
}

static int aio_submit(struct blk_ioq *bq, struct blk_io **ios, unsigned n)
{
	struct aio_ioq *q = to_ioq(bq);
	struct iocb *cbs[64];
	unsigned taken = 0, k;
	int r;

	while (taken < n) {
		struct blk_io *io = ios[taken];

		if (synchronous(q, io)) {
			io->res = io->op == BLK_IO_WRITE ? -EROFS : sync_discard(q, io);
			done_push(q, io);
			taken++;
			continue;
		}
		/* A run of aio commands goes to the kernel in one io_submit. */
		for (k = 0; taken + k < n && k < 64 && !synchronous(q, ios[taken + k]); k++) {
			prep(q, ios[taken + k]);
			cbs[k] = (struct iocb *)ios[taken + k]->priv;
		}
		r = io_submit(q->ctx, k, cbs);
		if (r > 0) {
			/* Fewer than k: the next call meets the refused one's error. */
			taken += r;
			continue;
		}
		if (r == -EAGAIN || r == 0)
			break;	/* back-pressure: the caller retries after reaping */
		io->res = sync_fallback(q, io, r);
		done_push(q, io);
		taken++;
	}
	return taken;
}

static int aio_fd(struct blk_ioq *bq)
{
	return to_ioq(bq)->efd;
}

static void finish_event(struct io_event *ev)
{
	struct blk_io *io = ev->data;
	int64_t res = (int64_t)(long)ev->res;

	/* res: bytes, or a negative errno in the unsigned field. A short
	 * read or write (the store shrank under us) is an error. */
	if (res >= 0 && (io->op == BLK_IO_READ || io->op == BLK_IO_WRITE) &&
	    (uint64_t)res != io->len)
		res = -EIO;
	io->res = res;
}

/* Up to want events off the kernel's ring; never blocks, no system call. */
static unsigned ring_take(struct aio_ioq *q, struct io_event *ev, unsigned want)
{
	struct kaio_ring *ring = q->ring;
	unsigned head = ring->head, n = 0;
	/* Acquire: the events up to tail were written before tail moved. */
	unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);

	while (n < want && head != tail) {
		ev[n++] = q->events[head];
		head = head + 1 == ring->nr ? 0 : head + 1;
	}
	/* Release: our copies are done before the kernel may reuse the slots. */
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
	return n;
}

static int take_events(struct aio_ioq *q, struct io_event *ev, unsigned want)
{
	struct timespec zero = { 0, 0 };

	if (q->ring)
		return (int)ring_take(q, ev, want);
	return io_getevents(q->ctx, 0, want, ev, &zero);
}

static int aio_reap(struct blk_ioq *bq, struct blk_io **ret, unsigned max)
{
	struct aio_ioq *q = to_ioq(bq);
	struct io_event ev[64];
	unsigned got = 0;
	uint64_t cnt;
	int r, i;

	/* Without the ring, clear the eventfd first: completions after
	 * this re-arm it. With it, arm() clears it before a wait. */
	if (!q->ring && read(q->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	while (got < max && q->done_count) {
		ret[got++] = q->done[q->done_head];
		q->done_head = (q->done_head + 1) % q->depth;
		q->done_count--;
	}
	while (got < max) {
		unsigned want = max - got < 64 ? max - got : 64;

		r = take_events(q, ev, want);
		if (r < 0)
			return got ? (int)got : r;
		for (i = 0; i < r; i++) {
			finish_event(&ev[i]);
			ret[got++] = ev[i].data;
		}
		if ((unsigned)r < want)
			break;
	}
	if (got == max && !q->ring) {
		/* More may be waiting: keep the fd readable. */
		uint64_t one = 1;

		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* overflow only: the poller is awake anyway */
		}
	}
	return got;
}

static bool aio_ready(struct blk_ioq *bq)
{
	struct aio_ioq *q = to_ioq(bq);

	if (q->done_count)
		return true;
	return q->ring && q->ring->head != __atomic_load_n(&q->ring->tail, __ATOMIC_ACQUIRE);
}

static bool aio_arm(struct blk_ioq *bq)
{
	struct aio_ioq *q = to_ioq(bq);
	uint64_t cnt;

	if (!q->ring)
		return q->done_count > 0;	/* reap cleared the fd itself */
	if (read(q->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled since the last arm */
	}
	return aio_ready(bq);
}

static void aio_ioq_free(struct blk_ioq *bq)
{
	struct aio_ioq *q = to_ioq(bq);

	if (!q)
		return;
	if (q->ctx)
		io_destroy(q->ctx);
	if (q->efd >= 0)
		close(q->efd);
	free(q->done);
	free(q);
}

static const struct blk_ioq_ops aio_ioq_ops = {
	.submit = aio_submit,
	.fd = aio_fd,
	.reap = aio_reap,
	.ready = aio_ready,
	.arm = aio_arm,
	.free = aio_ioq_free,
};

/* Reap from the kernel's ring when it is the layout we know. */
static void use_ring(struct aio_ioq *q)
{
	struct kaio_ring *ring = (struct kaio_ring *)q->ctx;

	if (ring->magic != KAIO_RING_MAGIC || ring->incompat_features != 0 || !ring->nr ||
	    ring->header_length < sizeof(*ring))
		return;
	q->ring = ring;
	q->events = (struct io_event *)((uint8_t *)ring + ring->header_length);
}

static int aio_ioq_new(struct blk_store *s, unsigned depth, struct blk_ioq **ret)
{
	struct aio_ioq *q;
	int r;

	if (!depth)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->q.ops = &aio_ioq_ops;
	q->st = to_store(s);
	q->depth = depth;
	q->efd = -1;
	q->done = calloc(depth, sizeof(*q->done));
	if (!q->done) {
		r = -ENOMEM;
		goto err;
	}
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		r = -errno;
		goto err;
	}
	r = io_setup(depth, &q->ctx);
	if (r < 0) {
		q->ctx = 0;
		goto err;
	}
	use_ring(q);
	*ret = &q->q;
	return 0;
err:
	aio_ioq_free(&q->q);
	return r;
}

static const struct blk_store_ops aio_store_ops = {
	.query = aio_query,
	.ioq_new = aio_ioq_new,
	.close = aio_close,
	.describe = aio_describe,
};

int blk_aio_open(const char *path, bool readonly, struct blk_store **ret)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct aio_store *st;
	struct stat sb;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->s.ops = &aio_store_ops;
	st->readonly = readonly;
	st->direct = true;
	st->fd = open(path, flags | O_DIRECT);
	if (st->fd < 0 && errno == EINVAL) {
		st->direct = false;
		st->fd = open(path, flags);
	}
	if (st->fd < 0) {
		r = -errno;
		goto err;
	}
	if (fstat(st->fd, &sb) < 0) {
		r = -errno;
		goto err;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		r = -ENOTBLK;
		goto err;
	}
	st->bdev = S_ISBLK(sb.st_mode);
	snprintf(st->desc, sizeof(st->desc), "%s %.256s (%s%s)", st->bdev ? "device" : "file",
		 path, st->direct ? "O_DIRECT" : "buffered: O_DIRECT refused",
		 readonly ? ", read-only" : "");
	*ret = &st->s;
	return 0;
err:
	aio_close(&st->s);
	return r;
}
