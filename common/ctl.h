/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A daemon's control socket: a unix stream socket (DIR/<name>.sock). A
 * client connects, writes one command line ("status", "capture vif 5/0
 * /tmp/x.pcapng", ...; nothing at all means "status"), shuts its side down
 * and reads the answer to end of file. The daemon's handler writes the
 * answer into a FILE; an unknown command is the handler's to refuse.
 *
 * The server runs on the loop thread, one client at a time, with 1 s send
 * and receive timeouts so that a client that stalls cannot hold the loop
 * longer. ctl_query is the client (`blkbackd --status`, `netbackd --status`).
 */
#ifndef DDOM_CTL_H
#define DDOM_CTL_H

#include <stdio.h>

struct loop;
struct ctl;

/*
 * Where each daemon listens unless told otherwise (--runtime-dir, or
 * systemd's RUNTIME_DIRECTORY), and its socket's name there; ddomctl
 * uses the same.
 */
#define CTL_BLKBACKD_DIR "/run/blkbackd"
#define CTL_BLKBACKD_SOCKET "blkbackd.sock"
#define CTL_NETBACKD_DIR "/run/netbackd"
#define CTL_NETBACKD_SOCKET "netbackd.sock"

/* Longest command line a client may send. */
#define CTL_CMD_MAX 512

/*
 * Answers `cmd` (NUL-terminated, no newline, "status" when the client sent
 * nothing) into out. Returns 0, or -errno, which the client sees as a last
 * line "error: <strerror>".
 */
typedef int (*ctl_fn)(const char *cmd, FILE *out, void *opaque);

/* Listens on DIR/SOCKNAME (a stale socket there is replaced). */
int ctl_new(struct loop *l, const char *dir, const char *sockname, ctl_fn fn, void *opaque,
	    struct ctl **ret);
/* Closes and unlinks the socket. NULL is fine. */
void ctl_free(struct ctl *c);
/*
 * Connects to DIR/SOCKNAME, sends cmd and copies the answer to out.
 * -errno when the daemon cannot be reached; 1 when the answer ended in an
 * "error: " line (the command failed), 0 otherwise.
 */
int ctl_query(const char *dir, const char *sockname, const char *cmd, FILE *out);

#endif
