/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim toolstack: the `xensim` command, an `xl` for a simulated Xen host.
 * Every verb is a short-lived process (except `devd` and the children of
 * `exec`) that talks to the host's xenstored as dom0 through the real
 * libxenstore (XENSTORED_PATH = DIR/xenstored/dom0.sock) and writes exactly the
 * nodes and permissions that libxl (Xen 4.17) writes. Single-threaded; it never
 * touches a guest's memory and never blocks without a bounded timeout.
 *
 * Host state kept by the toolstack (besides xenstore and the hv files):
 *   DIR/toolstack/xenstored.pid   the daemon `up` started
 *   DIR/toolstack/next-domid      the domid allocator (monotonic, like Xen's)
 *   DIR/toolstack/procs/<pid>     processes started for a domain (exec, devd):
 *                                 "<domid> <starttime> <what>"
 *   DIR/toolstack/NAME.log        output of the daemons it started
 */
#ifndef XENSIM_TS_H
#define XENSIM_TS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <xenstore.h>

/* Exit codes: 1 = the operation failed, 2 = bad usage or a bad spec. */
#define TS_EXIT_FAIL 1
#define TS_EXIT_USAGE 2

/* libxl_internal.h: LIBXL_INIT_TIMEOUT and LIBXL_DESTROY_TIMEOUT, seconds. */
#define TS_INIT_TIMEOUT_S 10
#define TS_DESTROY_TIMEOUT_S 10

/* Debian's Xen keeps its scripts here (libxl__xen_script_dir_path()). */
#define TS_XEN_SCRIPT_DIR "/etc/xen/scripts"

#define TS_DIR_MAX 256
#define TS_PATH_MAX 512

/* --- host.c: the host directory, xenstored, processes ------------------- */

struct ts_host {
	char dir[TS_DIR_MAX];		/* absolute host directory */
	struct xs_handle *xs;		/* dom0's connection */
};

void ts_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ts_verr(const char *fmt, va_list ap);
void ts_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fills h->dir from a user-supplied DIR (must exist). 0 or -errno. */
int ts_host_init(struct ts_host *h, const char *dir);
/* Connects as dom0 to a running host; -ENOTCONN with a message when none. */
int ts_host_open(struct ts_host *h);
void ts_host_close(struct ts_host *h);
/* The xenstored socket of domain `domid` into buf. */
void ts_sock_path(const struct ts_host *h, unsigned domid, char *buf, size_t len);
/* True when this host's xenstored is running and answering. */
bool ts_host_alive(const struct ts_host *h);

/* Extra arguments (--quota-* pairs) are passed to xensim-xenstored. */
int ts_up(struct ts_host *h, int nextra, char **extra);
int ts_down(struct ts_host *h);

/* In a forked child: new session, stdout/stderr to DIR/toolstack/<logname>. */
void ts_detach(const struct ts_host *h, const char *logname);
/* Records a process started for a domain, so destroy/down can stop it. */
int ts_proc_register(const struct ts_host *h, pid_t pid, unsigned domid, const char *what);
void ts_proc_unregister(const struct ts_host *h, pid_t pid);
/* Stops every recorded process of `domid` (-1: of every domain). */
void ts_proc_kill_domain(const struct ts_host *h, int domid);
/* True when a live recorded process of `domid` was started as `what`. */
bool ts_proc_running(const struct ts_host *h, unsigned domid, const char *what);

/* --- xs helpers (host.c) ------------------------------------------------- */

/* Reads a node; NULL when absent. Caller frees. */
char *ts_xs_read(struct ts_host *h, xs_transaction_t t, const char *path);
bool ts_xs_writef(struct ts_host *h, xs_transaction_t t, const char *path,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool ts_xs_mknod(struct ts_host *h, xs_transaction_t t, const char *path,
		 struct xs_permissions *perms, unsigned n);
/* libxl__xs_path_cleanup: rm path, then each parent that became empty. */
void ts_xs_path_cleanup(struct ts_host *h, xs_transaction_t t, const char *path);
/*
 * Waits until `path` reads `want` (want NULL: until the node is gone; or_gone:
 * a vanished node counts as reached), up to timeout_ms. 0 when reached,
 * -ETIMEDOUT, or another -errno.
 */
int ts_xs_wait(struct ts_host *h, const char *path, const char *want, bool or_gone,
	       int timeout_ms);
/* Waits until `path` exists. 0, -ETIMEDOUT or -errno. */
int ts_xs_wait_exists(struct ts_host *h, const char *path, int timeout_ms);

/* --- domain.c ------------------------------------------------------------ */

/* Resolves a domain given as id or name (xl's find_domain). -ENOENT if none. */
int ts_domid_resolve(struct ts_host *h, const char *arg, unsigned *domid);

int cmd_create(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_exec(int argc, char **argv);

/* --- spec.c: xl's disk and vif spec syntax (pure, no I/O) ---------------- */

enum ts_disk_backend { TS_DISK_BACKEND_UNKNOWN, TS_DISK_BACKEND_PHY, TS_DISK_BACKEND_TAP,
		       TS_DISK_BACKEND_QDISK, TS_DISK_BACKEND_STANDALONE };
enum ts_disk_format { TS_DISK_FORMAT_UNKNOWN, TS_DISK_FORMAT_RAW, TS_DISK_FORMAT_QCOW,
		      TS_DISK_FORMAT_QCOW2, TS_DISK_FORMAT_VHD, TS_DISK_FORMAT_EMPTY,
		      TS_DISK_FORMAT_QED };
enum ts_tristate { TS_DEFAULT = -1, TS_FALSE = 0, TS_TRUE = 1 };

struct ts_disk {
	char *target;			/* pdev_path */
	char *vdev;
	char *backend;			/* backend domain name or id, NULL = dom0 */
	char *script;
	enum ts_disk_format format;
	enum ts_disk_backend backendtype;
	int readwrite;
	int is_cdrom;
	int removable;
	int direct_io_safe;
	int discard;			/* tristate */
	int trusted;			/* tristate */
	int access_set;			/* internal: positional access seen */
	int virtio;			/* specification=virtio */
};

/*
 * Parses one or more disk spec strings (libxlu_disk_l.l). On error returns
 * -EINVAL and writes a message to err. ts_disk_free releases the strings.
 */
int ts_disk_parse(int nspecs, char *const *specs, struct ts_disk *d, char *err, size_t errlen);
void ts_disk_free(struct ts_disk *d);
/* libxl__device_disk_dev_number: devid for a vdev, -1 if invalid. */
int ts_vdev_to_devid(const char *vdev);

struct ts_nic {
	uint8_t mac[6];
	bool mac_set;
	char *bridge;
	char *backend;
	char *script;
	char *ip;
	char *gatewaydev;
	char *ifname;			/* vifname= */
	char *model;
	int devid;			/* -1 = next free */
	unsigned mtu;			/* 0 = default */
	uint64_t rate_bytes_per_interval;
	uint32_t rate_interval_usecs;	/* 0 = no rate */
	int trusted;			/* tristate */
};

void ts_nic_init(struct ts_nic *n);
/* One "key=value" token (parse_nic_config in xl_parse.c). -EINVAL + err. */
int ts_nic_parse_token(struct ts_nic *n, const char *token, char *err, size_t errlen);
/* A comma-separated vif spec (as in a config file's vif=[...]). */
int ts_nic_parse(struct ts_nic *n, const char *spec, char *err, size_t errlen);
/* xlu_vif_parse_rate: "RATE/s[@INTERVAL]" to bytes per interval + usecs. */
int ts_vif_parse_rate(const char *rate, uint64_t *bytes, uint32_t *usecs, char *err,
		      size_t errlen);
void ts_nic_free(struct ts_nic *n);
int ts_parse_mac(const char *s, uint8_t mac[6]);

/* --- device.c ------------------------------------------------------------ */

int cmd_block_attach(int argc, char **argv);
int cmd_block_detach(int argc, char **argv);
int cmd_network_attach(int argc, char **argv);
int cmd_network_detach(int argc, char **argv);
int cmd_block_list(int argc, char **argv);	/* devlist.c */
int cmd_network_list(int argc, char **argv);

/* A device as libxl__device: kind names as libxl__device_kind_to_string. */
struct ts_device {
	unsigned domid;			/* frontend domain */
	unsigned backend_domid;
	int devid;
	const char *kind;		/* frontend kind: "vbd", "vif" */
	const char *backend_kind;	/* "vbd", "qdisk", "vif" */
};

void ts_device_paths(const struct ts_device *d, char *fe, char *be, char *lx, size_t len);
/*
 * Removes a device as libxl does: online=0 + state=5 in one transaction,
 * wait up to timeout_s for state 6, then remove frontend, backend and /libxl
 * nodes (forced after a timeout, with a warning). 0 when the backend answered,
 * -ETIMEDOUT when it was removed by force.
 */
int ts_device_remove(struct ts_host *h, const struct ts_device *d, int timeout_s);
/* Console 0 of a new domain, as libxl adds it (backend xenconsoled, dom0). */
int ts_console_add(struct ts_host *h, unsigned domid, unsigned port, unsigned long mfn);
/* Removes every device of `domid` (as frontend and as backend). */
void ts_devices_destroy(struct ts_host *h, unsigned domid, int timeout_s);

/* --- devd.c, dump.c ------------------------------------------------------ */

int cmd_devd(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);

/* Common verb helpers (main.c). */
bool ts_want_help(int argc, char **argv, const char *usage);
int ts_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
