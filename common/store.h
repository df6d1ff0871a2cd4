/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore helpers over libxenstore: strict parsers for values a guest may
 * have written, typed reads with defaults, capped string reads, formatted
 * writes, transactions retried on EAGAIN, and watches dispatched by token
 * from one xenstore fd on the loop.
 *
 * Every value read from a node a frontend can write is hostile: it is
 * length-capped (libxenstore already bounds a value by XENSTORE_PAYLOAD_MAX,
 * xen/io/xs_wire.h) and parsed strictly: decimal digits only, no leading
 * space, no sign, no trailing junk, no overflow.
 *
 * Loop thread only (a struct xs_handle is not shared with data-path
 * threads). Return convention: 0 or a documented non-negative value on
 * success, -errno on failure; -ENOENT means "the node does not exist".
 * libxenstore allocates for every read; this is the control path only, and
 * every allocation is freed before return unless ownership is documented.
 */
#ifndef DDOM_STORE_H
#define DDOM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

struct loop;

/* Room for any absolute path xenstored accepts, plus the NUL. */
#define STORE_PATH_MAX (XENSTORE_ABS_PATH_MAX + 1)

/* Passed as `def` to the typed reads: a missing node is -ENOENT. */
#define STORE_NO_DEFAULT UINT64_MAX

/* Bound on store_txn attempts before it gives up with -EAGAIN. */
#define STORE_TXN_ATTEMPTS 16

/* ---- pure parsers (no xenstore; fuzzable) ---- */

/*
 * Strict unsigned decimal: [0-9]+ only, at most `len` bytes looked at (the
 * value need not be NUL-terminated). -EINVAL: empty, any other character
 * (space, sign, "0x", trailing junk, embedded NUL). -ERANGE: above max.
 */
int store_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *ret);
/* "0" or "1" only (feature-* nodes); -EINVAL otherwise. */
int store_parse_bool(const char *s, size_t len, bool *ret);
/* "xx:xx:xx:xx:xx:xx", hex digits either case, exactly 17 bytes; -EINVAL. */
int store_parse_mac(const char *s, size_t len, uint8_t mac[static 6]);

/* snprintf into a path buffer; -ENAMETOOLONG if it does not fit. */
int store_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- reads ---- */

/*
 * Reads path as a strict decimal <= max. Missing node: *ret = def and 0,
 * or -ENOENT when def is STORE_NO_DEFAULT (any def > max means no default).
 * Junk: -EINVAL; too large: -ERANGE; other xenstore errors as -errno
 * (-EACCES ...).
 */
int store_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *path, uint64_t max,
		    uint64_t def, uint64_t *ret);
/* As store_read_uint for "0"/"1"; def is used when the node is missing. */
int store_read_bool(struct xs_handle *xs, xs_transaction_t t, const char *path, bool def,
		    bool *ret);

/*
 * Copies the value into buf (NUL-terminated). -E2BIG when it does not fit
 * (length >= size), -EINVAL when it contains a NUL byte, -ENOENT missing.
 * Returns the length on success.
 */
int store_read_buf(struct xs_handle *xs, xs_transaction_t t, const char *path, char *buf,
		   size_t size);
/*
 * As store_read_buf, but returns a malloc'd copy in *ret (caller frees) of at
 * most max_len bytes (-E2BIG beyond). Returns the length.
 */
int store_read_str(struct xs_handle *xs, xs_transaction_t t, const char *path, size_t max_len,
		   char **ret);
/* 1 if the node exists, 0 if not, -errno on other errors. */
int store_exists(struct xs_handle *xs, xs_transaction_t t, const char *path);
/*
 * The children of path: *ret is one malloc'd block (free it once), *n
 * entries. -ENOENT if path does not exist.
 */
int store_directory(struct xs_handle *xs, xs_transaction_t t, const char *path, char ***ret,
		    unsigned int *n);

/* ---- writes ---- */

int store_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *value);
int store_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));
/* Removes path and its children; a missing node is not an error. */
int store_rm(struct xs_handle *xs, xs_transaction_t t, const char *path);

/*
 * Runs fn inside a transaction and commits. When the commit (or fn itself)
 * fails with -EAGAIN the whole of fn runs again in a fresh transaction, at
 * most STORE_TXN_ATTEMPTS times: fn must be safe to repeat (read what it
 * needs inside the transaction, keep no side effects outside it). fn < 0
 * (other than -EAGAIN) aborts and is returned; otherwise fn's return value is
 * returned after a successful commit.
 */
typedef int (*store_txn_fn)(struct xs_handle *xs, xs_transaction_t t, void *arg);
int store_txn(struct xs_handle *xs, store_txn_fn fn, void *arg);

/* ---- watches ---- */

struct store_watcher;	/* the xs fd on the loop and the token table */
struct store_watch;	/* one registered watch */

/*
 * Called with the path that fired (the watched path or one below it). Events
 * are merged and may be spurious (every watch fires once when registered):
 * re-read what matters. The callback may add or remove any watch, its own
 * included.
 */
typedef void (*store_watch_fn)(const char *path, void *opaque);

int store_watcher_new(struct loop *l, struct xs_handle *xs, struct store_watcher **ret);
/* Unregisters every remaining watch. NULL is fine. */
void store_watcher_free(struct store_watcher *w);
int store_watch(struct store_watcher *w, const char *path, store_watch_fn fn, void *opaque,
		struct store_watch **ret);
/* NULL is fine. Events already queued for this watch are dropped. */
void store_unwatch(struct store_watcher *w, struct store_watch *wt);
/* Dispatches what is queued now (at most a bounded batch); for tests. */
int store_watcher_dispatch(struct store_watcher *w);

#endif
