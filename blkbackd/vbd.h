/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The xenbus side of blkbackd: one xb_driver per served kind (vbd, and by
 * option qdisk and vbd3) whose devices are vbds. Feature negotiation,
 * reading the frontend's rings, opening the store, starting the queues,
 * online resize, per-vbd counters.
 *
 * Loop thread only. Queue workers report a broken ring through an eventfd
 * this side watches on the loop; it then closes that one device.
 */
#ifndef BLKBACKD_VBD_H
#define BLKBACKD_VBD_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "xen-ops.h"
#include "xenbus.h"

struct blk_ctx;

int blk_ctx_new(const struct blk_config *cfg, const struct xen_ops *ops, struct blk_ctx **ret);
/* After xb_bus_free (which removes every device). NULL is fine. */
void blk_ctx_free(struct blk_ctx *c);
/* The drivers for the configured kinds; returns how many (<= 3). */
size_t blk_ctx_drivers(struct blk_ctx *c, const struct xb_driver *ret[static 3]);
/*
 * Where the queues keep their restart state (the runtime directory, kept
 * across restarts). Without it, devices found Connected at start cannot be
 * reattached and are closed. -ENAMETOOLONG.
 */
int blk_ctx_set_state_dir(struct blk_ctx *c, const char *dir);
/* The daemon is stopping, not the devices closing: disconnects from now on
 * keep the state files, so that the next run reattaches. */
void blk_ctx_keep_state(struct blk_ctx *c);
/* Called (loop thread) whenever the number of connected vbds changes. */
void blk_ctx_on_change(struct blk_ctx *c, void (*fn)(void *opaque), void *opaque);
unsigned blk_ctx_connected(const struct blk_ctx *c);
/* The data-path worker threads (config workers, resolved). */
unsigned blk_ctx_workers(const struct blk_ctx *c);
/* Re-reads every connected store's size (SIGHUP); announces changes. */
void blk_ctx_resize_all(struct blk_ctx *c);
/* Human-readable state and counters of every vbd. */
void blk_ctx_status(const struct blk_ctx *c, FILE *out);
/*
 * The members "connected" and "devices" (one object per vbd) of the
 * status-json document, into the caller's open object (docs/ddomctl.md).
 */
struct json;
void blk_ctx_status_json(const struct blk_ctx *c, struct json *j);

#endif
