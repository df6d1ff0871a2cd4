/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backing store behind a vbd, as a small function table so tests can put
 * a memory store (or a fault-injecting wrapper) where the shipped daemon
 * has libaio on a file or block device (io-aio.c).
 *
 * A store is opened and queried by the loop thread. Each queue worker
 * thread makes its own I/O queue (blk_ioq) and is its only user: submit,
 * wait on its fd, reap. Nothing here may block for long on a worker
 * thread except a synchronous discard or flush fallback, which the
 * engine documents.
 *
 * Returns: 0 / counts, or -errno. A failed I/O completes with res = -errno.
 */
#ifndef BLKBACKD_BLKSTORE_H
#define BLKBACKD_BLKSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_store_info {
	uint64_t size;		/* bytes */
	unsigned lss;		/* logical sector size (BLKSSZGET; 512 for files) */
	unsigned pss;		/* physical sector size (BLKPBSZGET; st_blksize for files) */
	bool readonly;
	bool discard;		/* punch-hole / BLKDISCARD works */
	bool discard_secure;	/* BLKSECDISCARD */
	unsigned discard_granularity;	/* bytes */
	bool bdev;		/* a block device */
};

enum blk_io_op {
	BLK_IO_READ,
	BLK_IO_WRITE,
	BLK_IO_FLUSH,
	BLK_IO_DISCARD,
	BLK_IO_SECURE_DISCARD,
};

/* One I/O; owned by the caller until reaped. */
struct blk_io {
	enum blk_io_op op;
	uint64_t offset;	/* bytes */
	uint64_t len;		/* bytes (read/write: the sum of iov; discard) */
	struct iovec *iov;
	int iovcnt;
	int64_t res;		/* on completion: bytes done, or -errno */
	void *opaque;		/* the caller's */
	/* engine-private space (a struct iocb for libaio) */
	_Alignas(8) unsigned char priv[80];
};

struct blk_ioq;
struct blk_ioq_ops {
	/*
	 * Submit ios[0..n). Returns how many were taken (>= 0; fewer than n
	 * is back-pressure: retry the rest after reaping) or -errno when
	 * none could be. A taken io always completes through reap, errors
	 * included.
	 */
	int (*submit)(struct blk_ioq *q, struct blk_io **ios, unsigned n);
	/*
	 * Readable (an eventfd) when completions arrived since the last
	 * arm(); the waiter calls arm() before it waits on it.
	 */
	int (*fd)(struct blk_ioq *q);
	/* Up to max completed ios into ret[]; never blocks. */
	int (*reap)(struct blk_ioq *q, struct blk_io **ret, unsigned max);
	/*
	 * Cheap, no system call: true if reap has completions for sure; false
	 * may be wrong (then the fd tells). For busy-polling.
	 */
	bool (*ready)(struct blk_ioq *q);
	/*
	 * Before waiting on fd: clears it and returns true if completions are
	 * already there (do not wait), so none is missed between the last
	 * reap and the wait.
	 */
	bool (*arm)(struct blk_ioq *q);
	void (*free)(struct blk_ioq *q);
};

struct blk_ioq {
	const struct blk_ioq_ops *ops;
};

struct blk_store;
struct blk_store_ops {
	/* Current size and properties (re-read for online resize). */
	int (*query)(struct blk_store *s, struct blk_store_info *ret);
	/* A queue for one worker thread, `depth` I/Os in flight at most. */
	int (*ioq_new)(struct blk_store *s, unsigned depth, struct blk_ioq **ret);
	void (*close)(struct blk_store *s);
	/* Human-readable description for logs and status ("file /x (O_DIRECT)"). */
	const char *(*describe)(struct blk_store *s);
};

struct blk_store {
	const struct blk_store_ops *ops;
};

/* io-aio.c: a regular file or block device through libaio. */
int blk_aio_open(const char *path, bool readonly, struct blk_store **ret);

#endif
