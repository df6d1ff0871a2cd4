/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test harness for xensim-xenstored: starts the daemon in a temporary directory (waiting on
 * its --ready-fd), opens libxenstore handles as any domain (XENSTORED_PATH at the domain's
 * socket), speaks the raw xs_wire.h protocol where a test needs exact bytes or exact event
 * order, and runs Debian's xenstore-utils.
 *
 * Test processes only, single-threaded. Every wait is on an fd with a bounded timeout; a
 * failed check prints where and exits 1 (the daemon is killed by the atexit handler).
 */
#ifndef XSD_HARNESS_H
#define XSD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

#define XT_TIMEOUT_MS 10000

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond))                                                              \
			xt_fail(__FILE__, __LINE__, #cond);                               \
	} while (0)

void xt_fail(const char *file, int line, const char *what) __attribute__((noreturn));

struct xt_daemon {
	char dir[256];
	char sock0[300];
	int pid;
};

/* Start the daemon with extra arguments (NULL-terminated); fails the test if it cannot. */
void xt_start(struct xt_daemon *d, const char *const *extra);
/* SIGTERM, wait; returns the exit status (or -1 if it did not exit normally). */
int xt_stop(struct xt_daemon *d);
bool xt_alive(struct xt_daemon *d);
void xt_sock_path(const struct xt_daemon *d, unsigned int domid, char *buf, size_t size);

/* libxenstore handle for a domain; NULL if the socket refuses. */
struct xs_handle *xt_open(const struct xt_daemon *d, unsigned int domid);
/* Introduce domid as dom0 (libxenstore xs_introduce_domain). */
void xt_introduce(struct xs_handle *h0, unsigned int domid);

/* A raw protocol client that keeps watch events apart from replies. */
struct xt_msg {
	struct xsd_sockmsg h;
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

struct xt_raw {
	int fd;
	uint32_t next_id;
	struct xt_msg ev[64];
	unsigned int nev;
};

int xt_raw_open(struct xt_raw *r, const struct xt_daemon *d, unsigned int domid);
void xt_raw_close(struct xt_raw *r);
/* Send any header and payload; no reply is read. Returns 0 or -errno. */
int xt_raw_send(struct xt_raw *r, uint32_t type, uint32_t tx, uint32_t len, const void *p,
		size_t plen);
/* Read one message (reply or event) within the timeout: 0, -ETIMEDOUT, or -EPIPE on EOF. */
int xt_raw_recv(struct xt_raw *r, struct xt_msg *m, int timeout_ms);
/* A request with NUL-separated args ("a\0b\0"); returns the reply, events are stashed. */
int xt_raw_req(struct xt_raw *r, uint32_t type, uint32_t tx, const void *p, size_t plen,
	       struct xt_msg *reply);
/* Next watch event (stashed or new): 0 with path/token, or -ETIMEDOUT. */
int xt_raw_event(struct xt_raw *r, char *path, size_t psize, char *token, size_t tsize,
		 int timeout_ms);
/* Convenience: a request whose reply must be "OK" (or the given error name). */
void xt_raw_expect(struct xt_raw *r, uint32_t type, uint32_t tx, const void *p, size_t plen,
		   const char *expect);
/* True when the reply is XS_ERROR with that name. */
bool xt_is_error(const struct xt_msg *m, const char *name);

/* Start argv (XENSTORED_PATH at the domain's socket unless d is NULL); stdout (and stderr
 * if err_fd) come back on pipes. Returns the pid. */
int xt_spawn(const struct xt_daemon *d, unsigned int domid, const char *const *argv,
	     int *out_fd, int *err_fd);
/* Read fd to EOF (bounded by XT_TIMEOUT_MS), NUL-terminate, close it. */
size_t xt_read_all(int fd, char *out, size_t osize);
/* Read one line (without the newline) within XT_TIMEOUT_MS. */
size_t xt_read_line(int fd, char *out, size_t osize);
/* Wait for a child within XT_TIMEOUT_MS; its exit status. */
int xt_wait(int pid);
/* Run argv with XENSTORED_PATH at the domain's socket; stdout captured. Exit status. */
int xt_run(const struct xt_daemon *d, unsigned int domid, const char *const *argv, char *out,
	   size_t osize);

#endif
