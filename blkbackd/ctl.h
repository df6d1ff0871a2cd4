/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a unix stream socket DIR/blkbackd.sock. A client that
 * connects gets the status text (blk_ctx_status) and end of file. The
 * daemon side runs on the loop thread; blk_ctl_query is the client that
 * `blkbackd --status` runs.
 */
#ifndef BLKBACKD_CTL_H
#define BLKBACKD_CTL_H

#include <stdio.h>

struct loop;
struct blk_ctx;
struct blk_ctl;

#define BLK_CTL_SOCKET "blkbackd.sock"

int blk_ctl_new(struct loop *l, const char *dir, struct blk_ctx *c, struct blk_ctl **ret);
/* Closes and unlinks the socket. NULL is fine. */
void blk_ctl_free(struct blk_ctl *ctl);
/* Connects to DIR's socket and copies what it says to out. */
int blk_ctl_query(const char *dir, FILE *out);

#endif
