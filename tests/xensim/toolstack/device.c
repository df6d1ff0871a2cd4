// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices: block-attach/-detach and network-attach/-detach. The nodes, values
 * and permissions are those of libxl (Xen 4.17):
 *   - libxl_device.c libxl__device_generic_add(): the three trees (frontend,
 *     backend, /libxl copy) and their permissions, in one transaction;
 *   - libxl_disk.c device_disk_add(): the vbd's backend and frontend entries;
 *   - libxl_device.c libxl__device_add_async() + libxl_nic.c
 *     libxl__set_xenstore_nic(): the vif's entries;
 *   - libxl_device.c libxl__initiate_device_generic_remove() and
 *     libxl__device_destroy(): removal (online=0 + state=5, wait for 6 up to
 *     LIBXL_DESTROY_TIMEOUT, forced removal after it).
 * docs/misc/xenstore-paths.pandoc describes the same paths.
 *
 * Runs in the single thread of a `xensim` verb; every wait is bounded.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "ts.h"

static const char block_attach_usage[] =
	"usage: xensim block-attach DIR DOMID DISKSPEC... [--wait]\n"
	"  Attaches a disk as `xl block-attach` does; DISKSPEC is xl's disk syntax\n"
	"  (xl-disk-configuration(5)): positional target,format,vdev,access or keys\n"
	"  target=PATH, vdev=xvda, access=rw|ro|r|w, format=raw, backend=NAME|ID,\n"
	"  backendtype=phy|qdisk, devtype=cdrom|disk, script=S, discard|no-discard,\n"
	"  direct-io-safe, trusted|untrusted. Unknown keys are refused (exit 2).\n"
	"  --wait  wait, as xl does, up to 10 s for the backend to reach InitWait\n";

static const char block_detach_usage[] =
	"usage: xensim block-detach DIR DOMID VDEV [-t SECS]\n"
	"  Detaches a disk as `xl block-detach` does: the backend's online=0 and\n"
	"  state=5 in one transaction, a wait of up to SECS (default 10) for state 6,\n"
	"  then the frontend, backend and /libxl nodes are removed. A backend that\n"
	"  never answers: the nodes are removed anyway and, as with xl, it exits 1.\n";

static const char network_attach_usage[] =
	"usage: xensim network-attach DIR DOMID VIFSPEC... [--wait]\n"
	"  Attaches a NIC as `xl network-attach` does. VIFSPEC: key=value items,\n"
	"  separate or comma-separated (xl-network-configuration(5)): mac=, bridge=,\n"
	"  backend=NAME|ID, rate=RATE/s[@INTERVAL], mtu=, script=, ip=, gatewaydev=,\n"
	"  vifname=, model=, devid=, type=vif, trusted|untrusted. Prints the devid.\n"
	"  --wait  wait, as xl does, up to 10 s for the backend to reach InitWait\n";

static const char network_detach_usage[] =
	"usage: xensim network-detach DIR DOMID DEVID|MAC [-t SECS]\n"
	"  Detaches a NIC as `xl network-detach` does (see block-detach).\n";

/* "Console 0 is a special case" (libxl_device.c libxl__device_generic_add). */
static bool is_console0(const struct ts_device *d)
{
	return !strcmp(d->kind, "console") && d->devid == 0;
}

void ts_device_paths(const struct ts_device *d, char *fe, char *be, char *lx, size_t len)
{
	/* libxl__device_frontend_path / _backend_path / _libxl_path */
	if (fe && is_console0(d))
		snprintf(fe, len, "/local/domain/%u/console", d->domid);
	else if (fe)
		snprintf(fe, len, "/local/domain/%u/device/%s/%d", d->domid, d->kind, d->devid);
	if (be)
		snprintf(be, len, "/local/domain/%u/backend/%s/%u/%d", d->backend_domid,
			 d->backend_kind, d->domid, d->devid);
	if (lx)
		snprintf(lx, len, "/libxl/%u/device/%s/%d", d->domid, d->kind, d->devid);
}

/* A NULL-terminated list of key, value pairs (libxl's flexarray of kvs). */
struct kvs {
	char *kv[64];
	int n;
};

static void kv_add(struct kvs *k, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv_add(struct kvs *k, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL;

	if (k->n + 2 >= (int)(sizeof(k->kv) / sizeof(k->kv[0])))
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	k->kv[k->n++] = strdup(key);
	k->kv[k->n++] = v;
}

static void kv_free(struct kvs *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->kv[i]);
	k->n = 0;
}

/* libxl__xs_writev[_perms]: each node written, then (if given) its perms set. */
static bool writev(struct ts_host *h, xs_transaction_t t, const char *dir, const struct kvs *k,
		   struct xs_permissions *perms, unsigned nperms)
{
	char path[TS_PATH_MAX];

	for (int i = 0; k && i < k->n; i += 2) {
		if (!k->kv[i] || !k->kv[i + 1])
			return false;
		snprintf(path, sizeof(path), "%s/%s", dir, k->kv[i]);
		if (!xs_write(h->xs, t, path, k->kv[i + 1], (unsigned)strlen(k->kv[i + 1])))
			return false;
		if (perms && !xs_set_permissions(h->xs, t, path, perms, nperms))
			return false;
	}
	return true;
}

/* libxl__device_generic_add(), minus the console special case. */
static bool generic_add(struct ts_host *h, xs_transaction_t t, const struct ts_device *d,
			const struct kvs *back, const struct kvs *front, const struct kvs *ro_front)
{
	struct xs_permissions fe_perms[2] = { { d->domid, XS_PERM_NONE },
					      { d->backend_domid, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { d->backend_domid, XS_PERM_NONE },
					      { d->domid, XS_PERM_READ } };
	char fe[TS_PATH_MAX], be[TS_PATH_MAX], lx[TS_PATH_MAX], p[TS_PATH_MAX + 16];

	ts_device_paths(d, fe, be, lx, sizeof(fe));
	if (!xs_rm(h->xs, t, lx) && errno != ENOENT)
		return false;
	snprintf(p, sizeof(p), "%s/frontend", lx);
	if (!xs_write(h->xs, t, p, fe, (unsigned)strlen(fe)))
		return false;
	snprintf(p, sizeof(p), "%s/backend", lx);
	if (!xs_write(h->xs, t, p, be, (unsigned)strlen(be)))
		return false;

	/* console 0's frontend dir is not the guest's: ro_frontend_perms */
	if ((!xs_rm(h->xs, t, fe) && errno != ENOENT) || !xs_mkdir(h->xs, t, fe) ||
	    !xs_set_permissions(h->xs, t, fe, is_console0(d) ? be_perms : fe_perms, 2))
		return false;
	snprintf(p, sizeof(p), "%s/backend", fe);
	if (!xs_write(h->xs, t, p, be, (unsigned)strlen(be)))
		return false;
	/* fents and ro_fents: each node gets its perms explicitly */
	if (!writev(h, t, fe, front, fe_perms, 2) || !writev(h, t, fe, ro_front, be_perms, 2))
		return false;

	if ((!xs_rm(h->xs, t, be) && errno != ENOENT) || !xs_mkdir(h->xs, t, be) ||
	    !xs_set_permissions(h->xs, t, be, be_perms, 2))
		return false;
	snprintf(p, sizeof(p), "%s/frontend", be);
	if (!xs_write(h->xs, t, p, fe, (unsigned)strlen(fe)))
		return false;
	/* bents inherit the backend dir's perms; then the copy under /libxl */
	return writev(h, t, be, back, NULL, 0) && writev(h, t, lx, back, NULL, 0);
}

/* libxl__device_exists(): the /libxl copy is the record of the device. */
static int device_add(struct ts_host *h, const struct ts_device *d, const struct kvs *back,
		      const struct kvs *front, const struct kvs *ro_front)
{
	char lx[TS_PATH_MAX], *v;

	ts_device_paths(d, NULL, NULL, lx, sizeof(lx));
	for (;;) {
		xs_transaction_t t = xs_transaction_start(h->xs);

		if (t == XBT_NULL)
			return -errno;
		v = ts_xs_read(h, t, lx);
		if (v) {
			free(v);
			xs_transaction_end(h->xs, t, true);
			ts_err("device already exists in xenstore (%s)", lx);
			return -EEXIST;
		}
		if (!generic_add(h, t, d, back, front, ro_front)) {
			int r = -errno;

			xs_transaction_end(h->xs, t, true);
			ts_err("writing %s: %s", lx, strerror(-r));
			return r ? r : -EIO;
		}
		if (xs_transaction_end(h->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

/* libxl__wait_device_connection(): backend state 2 within LIBXL_INIT_TIMEOUT. */
static int wait_initwait(struct ts_host *h, const struct ts_device *d)
{
	char be[TS_PATH_MAX], p[TS_PATH_MAX + 8];
	int r;

	ts_device_paths(d, NULL, be, NULL, sizeof(be));
	snprintf(p, sizeof(p), "%s/state", be);
	r = ts_xs_wait(h, p, "2", false, TS_INIT_TIMEOUT_S * 1000);
	if (r)
		ts_err("unable to initialize device %s: the backend did not reach InitWait "
		       "within %d s", be, TS_INIT_TIMEOUT_S);
	return r;
}

/* libxl__resolve_domid(): an id or a name; the domain must exist. */
static int resolve_backend(struct ts_host *h, const char *name, unsigned *domid)
{
	if (!name) {
		*domid = 0;
		return 0;
	}
	return ts_domid_resolve(h, name, domid);
}

static bool domain_is_pv(struct ts_host *h, unsigned domid)
{
	char p[64], *v;
	bool pv;

	snprintf(p, sizeof(p), "/libxl/%u/type", domid);
	v = ts_xs_read(h, XBT_NULL, p);
	pv = !v || !strcmp(v, "pv");
	free(v);
	return pv;
}

/* libxl__device_disk_set_backend() + disk_try_backend(). */
static int disk_pick_backend(const struct ts_disk *disk, unsigned bdom,
			     enum ts_disk_backend *out)
{
	enum ts_disk_backend want = disk->backendtype;
	struct stat st = { 0 };
	bool blockdev = false;

	if (disk->format == TS_DISK_FORMAT_EMPTY) {
		if (!disk->is_cdrom) {
			ts_err("disk vdev=%s is empty but not cdrom", disk->vdev);
			return -EINVAL;
		}
		if (disk->target && *disk->target) {
			ts_err("disk vdev=%s is empty but an image has been provided: %s",
			       disk->vdev, disk->target);
			return -EINVAL;
		}
	} else if ((want == TS_DISK_BACKEND_UNKNOWN || want == TS_DISK_BACKEND_PHY) &&
		   bdom == 0 && !disk->script) {
		if (stat(disk->target, &st)) {
			ts_err("disk vdev=%s failed to stat: %s: %s", disk->vdev, disk->target,
			       strerror(errno));
			return -EINVAL;
		}
		blockdev = S_ISBLK(st.st_mode);
	}
	if (want == TS_DISK_BACKEND_TAP) {
		ts_err("blktap is not supported");
		return -EINVAL;
	}
	if (want == TS_DISK_BACKEND_STANDALONE) {
		ts_err("backendtype=standalone needs specification=virtio (not supported)");
		return -EINVAL;
	}
	if (want == TS_DISK_BACKEND_UNKNOWN || want == TS_DISK_BACKEND_PHY) {
		/* phy: raw only; in a driver domain no physical-device check */
		bool phy_ok = disk->format == TS_DISK_FORMAT_RAW &&
			      (bdom != 0 || disk->script || blockdev);

		if (phy_ok) {
			*out = TS_DISK_BACKEND_PHY;
			return 0;
		}
		if (want == TS_DISK_BACKEND_PHY) {
			ts_err("disk vdev=%s: backend phy unsuitable (%s)", disk->vdev,
			       disk->format != TS_DISK_FORMAT_RAW ? "format is not raw" :
			       "target is not a block device");
			return -EINVAL;
		}
	}
	if (disk->script) {
		ts_err("disk vdev=%s: backend qdisk unsuitable because script=... specified",
		       disk->vdev);
		return -EINVAL;
	}
	*out = TS_DISK_BACKEND_QDISK;
	return 0;
}

static const char *format_string(enum ts_disk_format f)
{
	/* libxl__device_disk_string_of_format() */
	switch (f) {
	case TS_DISK_FORMAT_QCOW:
		return "qcow";
	case TS_DISK_FORMAT_QCOW2:
		return "qcow2";
	case TS_DISK_FORMAT_VHD:
		return "vhd";
	case TS_DISK_FORMAT_QED:
		return "qed";
	default:
		return "aio";
	}
}

static const char *abs_script(const char *s, char *buf, size_t len)
{
	/* libxl__abs_path(script, libxl__xen_script_dir_path()) */
	if (s[0] == '/')
		return s;
	snprintf(buf, len, "%s/%s", TS_XEN_SCRIPT_DIR, s);
	return buf;
}

/* device_disk_add(): the vbd's entries. */
static void disk_entries(struct ts_host *h, const struct ts_disk *disk, const struct ts_device *d,
			 enum ts_disk_backend be, struct kvs *back, struct kvs *front)
{
	bool discard = disk->discard == TS_DEFAULT ? disk->readwrite : disk->discard;
	bool trusted = disk->trusted != TS_FALSE;
	char sbuf[TS_PATH_MAX];

	if (be == TS_DISK_BACKEND_PHY) {
		kv_add(back, "params", "%s", disk->target ? disk->target : "");
		kv_add(back, "script", "%s", abs_script(disk->script ? disk->script : "block",
							sbuf, sizeof(sbuf)));
	} else {
		kv_add(back, "params", "%s:%s", format_string(disk->format),
		       disk->target ? disk->target : "");
	}
	kv_add(back, "frontend-id", "%u", d->domid);
	kv_add(back, "online", "1");
	kv_add(back, "removable", "%d", disk->removable ? 1 : 0);
	kv_add(back, "bootable", "1");
	kv_add(back, "state", "1");			/* XenbusStateInitialising */
	kv_add(back, "dev", "%s", disk->vdev);
	kv_add(back, "type", "%s", be == TS_DISK_BACKEND_PHY ? "phy" : "qdisk");
	kv_add(back, "mode", "%s", disk->readwrite ? "w" : "r");
	kv_add(back, "device-type", "%s", disk->is_cdrom ? "cdrom" : "disk");
	if (disk->direct_io_safe)
		kv_add(back, "direct-io-safe", "1");
	kv_add(back, "discard-enable", "%d", discard ? 1 : 0);
	kv_add(back, "specification", "xen");

	kv_add(front, "backend-id", "%u", d->backend_domid);
	kv_add(front, "state", "1");
	kv_add(front, "virtual-device", "%d", d->devid);
	kv_add(front, "device-type", "%s", disk->is_cdrom ? "cdrom" : "disk");
	kv_add(front, "trusted", "%d", trusted ? 1 : 0);
	/* "Old PV kernel disk frontends before 2.6.26 rely on tool stack..." */
	if (domain_is_pv(h, d->domid))
		kv_add(front, "protocol", "x86_64-abi");	/* XEN_IO_PROTO_ABI_X86_64 */
}

/* Splits "--wait" out of argv; returns the remaining count. */
static int take_flag(int argc, char **argv, const char *flag, bool *set)
{
	int j = 0;

	*set = false;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], flag))
			*set = true;
		else
			argv[j++] = argv[i];
	}
	return j;
}

int cmd_block_attach(int argc, char **argv)
{
	struct kvs back = { 0 }, front = { 0 };
	struct ts_device d = { .kind = "vbd" };
	enum ts_disk_backend be;
	struct ts_disk disk;
	struct ts_host h;
	char err[256];
	bool wait;
	int r;

	if (ts_want_help(argc, argv, block_attach_usage))
		return 0;
	argc = take_flag(argc, argv, "--wait", &wait);
	if (argc < 4)
		return ts_usage_error(block_attach_usage, "expected DIR DOMID DISKSPEC");
	if (ts_disk_parse(argc - 3, argv + 3, &disk, err, sizeof(err))) {
		ts_err("bad disk spec: %s", err);
		ts_disk_free(&disk);
		return TS_EXIT_USAGE;
	}
	r = TS_EXIT_FAIL;
	if (ts_host_init(&h, argv[1]) || ts_host_open(&h))
		goto out_disk;
	if (ts_domid_resolve(&h, argv[2], &d.domid) ||
	    resolve_backend(&h, disk.backend, &d.backend_domid))
		goto out;
	if (disk_pick_backend(&disk, d.backend_domid, &be)) {
		r = TS_EXIT_USAGE;
		goto out;
	}
	d.devid = ts_vdev_to_devid(disk.vdev);
	d.backend_kind = be == TS_DISK_BACKEND_PHY ? "vbd" : "qdisk";
	disk_entries(&h, &disk, &d, be, &back, &front);
	if (device_add(&h, &d, &back, &front, NULL))
		goto out;
	r = wait && wait_initwait(&h, &d) ? TS_EXIT_FAIL : 0;
out:
	kv_free(&back);
	kv_free(&front);
	ts_host_close(&h);
out_disk:
	ts_disk_free(&disk);
	return r;
}

/* libxl__device_nextid(): one more than the highest devid of that kind. */
static int next_devid(struct ts_host *h, unsigned domid, const char *kind)
{
	char p[64], **ents;
	unsigned n = 0;
	int next = 0;

	snprintf(p, sizeof(p), "/libxl/%u/device/%s", domid, kind);
	ents = xs_directory(h->xs, XBT_NULL, p, &n);
	for (unsigned i = 0; ents && i < n; i++)
		if (atoi(ents[i]) >= next)
			next = atoi(ents[i]) + 1;
	free(ents);
	return next;
}

/* libxl__device_nic_setdefault() */
static int nic_setdefault(struct ts_host *h, struct ts_nic *n, unsigned domid,
			  struct ts_device *d)
{
	char buf[TS_PATH_MAX], *script;
	uint8_t r[3];

	if (!n->mtu)
		n->mtu = 1500;		/* LIBXL_DEVICE_NIC_MTU_DEFAULT */
	if (!n->mac_set) {
		/* a random MAC with Xen's OUI 00:16:3e, locally unique */
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -EIO;
		n->mac[0] = 0x00;
		n->mac[1] = 0x16;
		n->mac[2] = 0x3e;
		n->mac[3] = r[0] & 0x7f;
		n->mac[4] = r[1];
		n->mac[5] = r[2];
	}
	if (!n->bridge)
		n->bridge = strdup("xenbr0");
	script = strdup(abs_script(n->script ? n->script : "vif-bridge", buf, sizeof(buf)));
	free(n->script);
	n->script = script;
	if (!n->bridge || !n->script)
		return -ENOMEM;
	d->domid = domid;
	d->devid = n->devid >= 0 ? n->devid : next_devid(h, domid, "vif");
	return resolve_backend(h, n->backend, &d->backend_domid);
}

static void nic_entries(const struct ts_nic *n, const struct ts_device *d, struct kvs *back,
			struct kvs *front, struct kvs *ro_front)
{
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
		 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	/* libxl__device_add_async() */
	kv_add(back, "frontend-id", "%u", d->domid);
	kv_add(back, "online", "1");
	kv_add(back, "state", "1");
	kv_add(front, "backend-id", "%u", d->backend_domid);
	kv_add(front, "state", "1");
	/* libxl__set_xenstore_nic() */
	kv_add(back, "script", "%s", n->script);
	if (n->ifname)
		kv_add(back, "vifname", "%s", n->ifname);
	kv_add(back, "mac", "%s", mac);
	if (n->ip)
		kv_add(back, "ip", "%s", n->ip);
	if (n->gatewaydev)
		kv_add(back, "gatewaydev", "%s", n->gatewaydev);
	if (n->rate_interval_usecs > 0)
		kv_add(back, "rate", "%llu,%u", (unsigned long long)n->rate_bytes_per_interval,
		       n->rate_interval_usecs);
	if (n->mtu != 1500)
		kv_add(back, "mtu", "%u", n->mtu);
	kv_add(back, "bridge", "%s", n->bridge);
	kv_add(back, "handle", "%d", d->devid);
	kv_add(back, "type", "vif");
	kv_add(front, "handle", "%d", d->devid);
	kv_add(front, "mac", "%s", mac);
	kv_add(ro_front, "mtu", "%u", n->mtu);
	/* "Force backend to wait for hotplug script execution" */
	kv_add(back, "hotplug-status", "%s", "");
	kv_add(front, "trusted", "%d", n->trusted != TS_FALSE ? 1 : 0);
}

int cmd_network_attach(int argc, char **argv)
{
	struct kvs back = { 0 }, front = { 0 }, ro_front = { 0 };
	struct ts_device d = { .kind = "vif", .backend_kind = "vif" };
	struct ts_host h;
	struct ts_nic n;
	unsigned domid;
	char err[256];
	bool wait;
	int r = TS_EXIT_FAIL;

	if (ts_want_help(argc, argv, network_attach_usage))
		return 0;
	argc = take_flag(argc, argv, "--wait", &wait);
	if (argc < 3)
		return ts_usage_error(network_attach_usage, "expected DIR DOMID [VIFSPEC]");
	ts_nic_init(&n);
	for (int i = 3; i < argc; i++) {
		if (ts_nic_parse(&n, argv[i], err, sizeof(err))) {
			ts_err("bad vif spec: %s", err);
			ts_nic_free(&n);
			return TS_EXIT_USAGE;
		}
	}
	if (ts_host_init(&h, argv[1]) || ts_host_open(&h))
		goto out_nic;
	if (ts_domid_resolve(&h, argv[2], &domid) || nic_setdefault(&h, &n, domid, &d))
		goto out;
	nic_entries(&n, &d, &back, &front, &ro_front);
	if (device_add(&h, &d, &back, &front, &ro_front))
		goto out;
	printf("%d\n", d.devid);
	r = wait && wait_initwait(&h, &d) ? TS_EXIT_FAIL : 0;
out:
	kv_free(&back);
	kv_free(&front);
	kv_free(&ro_front);
	ts_host_close(&h);
out_nic:
	ts_nic_free(&n);
	return r;
}

/*
 * libxl_console.c libxl__device_console_add() for console 0 of a PV/PVH
 * guest (domcreate_launch_dm): backend xenconsoled in dom0, output "pty",
 * the console page and port in ro_fents.
 */
int ts_console_add(struct ts_host *h, unsigned domid, unsigned port, unsigned long mfn)
{
	struct kvs back = { 0 }, front = { 0 }, ro_front = { 0 };
	struct ts_device d = { .domid = domid, .backend_domid = 0, .devid = 0,
			       .kind = "console", .backend_kind = "console" };
	int r;

	kv_add(&back, "frontend-id", "%u", domid);
	kv_add(&back, "online", "1");
	kv_add(&back, "state", "1");
	kv_add(&back, "protocol", "vt100");		/* LIBXL_XENCONSOLE_PROTOCOL */
	kv_add(&front, "backend-id", "0");
	kv_add(&ro_front, "limit", "1048576");		/* LIBXL_XENCONSOLE_LIMIT */
	kv_add(&ro_front, "type", "xenconsoled");
	kv_add(&ro_front, "output", "pty");
	kv_add(&ro_front, "tty", "%s", "");
	kv_add(&ro_front, "port", "%u", port);
	kv_add(&ro_front, "ring-ref", "%lu", mfn);
	r = device_add(h, &d, &back, &front, &ro_front);
	kv_free(&back);
	kv_free(&front);
	kv_free(&ro_front);
	return r;
}

/* --- removal -------------------------------------------------------------- */

/* libxl__device_destroy() run by the toolstack domain: all three trees. */
static void device_destroy(struct ts_host *h, const struct ts_device *d)
{
	char fe[TS_PATH_MAX], be[TS_PATH_MAX], lx[TS_PATH_MAX];

	ts_device_paths(d, fe, be, lx, sizeof(fe));
	for (;;) {
		xs_transaction_t t = xs_transaction_start(h->xs);

		if (t == XBT_NULL)
			return;
		ts_xs_path_cleanup(h, t, fe);
		ts_xs_path_cleanup(h, t, lx);
		ts_xs_path_cleanup(h, t, be);
		if (xs_transaction_end(h->xs, t, false) || errno != EAGAIN)
			return;
	}
}

/* The transaction of libxl__initiate_device_generic_remove(). 1: no backend. */
static int remove_begin(struct ts_host *h, const char *be)
{
	char sp[TS_PATH_MAX + 8], op[TS_PATH_MAX + 8], *state;

	snprintf(sp, sizeof(sp), "%s/state", be);
	snprintf(op, sizeof(op), "%s/online", be);
	for (;;) {
		xs_transaction_t t = xs_transaction_start(h->xs);
		bool ok;

		if (t == XBT_NULL)
			return -errno;
		state = ts_xs_read(h, t, sp);
		if (!state) {
			xs_transaction_end(h->xs, t, true);
			return 1;
		}
		ok = xs_write(h->xs, t, op, "0", 1);
		/* "Check if device is already in "closed" state" */
		if (ok && atoi(state) != 6)
			ok = xs_write(h->xs, t, sp, "5", 1);
		free(state);
		if (!ok) {
			int r = -errno;

			xs_transaction_end(h->xs, t, true);
			return r;
		}
		if (xs_transaction_end(h->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

int ts_device_remove(struct ts_host *h, const struct ts_device *d, int timeout_s)
{
	char be[TS_PATH_MAX], sp[TS_PATH_MAX + 8];
	int r;

	ts_device_paths(d, NULL, be, NULL, sizeof(be));
	r = remove_begin(h, be);
	if (r == 1) {
		fprintf(stderr, "xensim: backend %s already removed, cleanup frontend only\n",
			be);
		r = 0;
		goto destroy;
	}
	if (r < 0) {
		ts_err("removing %s: %s", be, strerror(-r));
		return r;
	}
	snprintf(sp, sizeof(sp), "%s/state", be);
	r = ts_xs_wait(h, sp, "6", true, timeout_s * 1000);
	if (r) {
		ts_warn("backend %s did not reach Closed within %d s; removing the device anyway "
			"(forced, as libxl does after its timeout)", be, timeout_s);
		r = -ETIMEDOUT;
		goto destroy;
	}
	/*
	 * libxl device_hotplug(): with a driver-domain backend, xl waits for the
	 * driver domain's `xl devd` to remove the backend path. Only when a devd
	 * runs there is anyone to wait for.
	 */
	if (d->backend_domid != 0 && ts_proc_running(h, d->backend_domid, "devd") &&
	    ts_xs_wait(h, be, NULL, false, TS_DESTROY_TIMEOUT_S * 1000))
		ts_warn("timed out while waiting for %s to be removed", be);
destroy:
	device_destroy(h, d);
	return r;
}

/* The static name of a device kind this toolstack creates ("vbd" otherwise). */
static const char *kind_name(const char *kind)
{
	static const char *const kinds[] = { "vbd", "qdisk", "vif", "console" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return kinds[i];
	return "vbd";
}

/* Reads the device's record under /libxl to learn its backend. */
static int device_lookup(struct ts_host *h, struct ts_device *d)
{
	char lx[TS_PATH_MAX], p[TS_PATH_MAX + 16], kind[16], *be;
	unsigned bdom, fdom;
	int devid, used = -1;

	ts_device_paths(d, NULL, NULL, lx, sizeof(lx));
	snprintf(p, sizeof(p), "%s/backend", lx);
	be = ts_xs_read(h, XBT_NULL, p);
	if (!be) {
		ts_err("domain %u has no %s device %d", d->domid, d->kind, d->devid);
		return -ENOENT;
	}
	/* libxl__parse_backend_path(): /local/domain/<be>/backend/<kind>/<fe>/<devid> */
	if (sscanf(be, "/local/domain/%u/backend/%15[^/]/%u/%d%n", &bdom, kind, &fdom, &devid,
		   &used) != 4 || used != (int)strlen(be)) {
		ts_err("%s: bad backend path `%s'", p, be);
		free(be);
		return -EINVAL;
	}
	free(be);
	d->backend_domid = bdom;
	d->backend_kind = kind_name(kind);
	return 0;
}

static int parse_detach(int argc, char **argv, const char *usage, int *timeout)
{
	int c;

	*timeout = TS_DESTROY_TIMEOUT_S;
	optind = 1;
	while ((c = getopt(argc, argv, "t:f")) != -1) {
		if (c == 'f')
			continue;	/* xl's -f: forced anyway after the timeout */
		if (c != 't' || !isdigit((unsigned char)optarg[0]))
			return ts_usage_error(usage, "bad option");
		*timeout = atoi(optarg);
	}
	if (argc - optind != 3)
		return ts_usage_error(usage, "expected DIR DOMID DEVICE");
	return 0;
}

int cmd_block_detach(int argc, char **argv)
{
	struct ts_device d = { .kind = "vbd" };
	struct ts_host h;
	int timeout, r;

	if (ts_want_help(argc, argv, block_detach_usage))
		return 0;
	r = parse_detach(argc, argv, block_detach_usage, &timeout);
	if (r)
		return r;
	d.devid = ts_vdev_to_devid(argv[optind + 2]);
	if (d.devid < 0) {
		ts_err("invalid or unsupported virtual disk identifier `%s'", argv[optind + 2]);
		return TS_EXIT_USAGE;
	}
	if (ts_host_init(&h, argv[optind]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	r = TS_EXIT_FAIL;
	if (!ts_domid_resolve(&h, argv[optind + 1], &d.domid) && !device_lookup(&h, &d) &&
	    !ts_device_remove(&h, &d, timeout))
		r = 0;
	ts_host_close(&h);
	return r;
}

/* libxl_mac_to_device_nic(): the vif whose /libxl record has this MAC. */
static int devid_by_mac(struct ts_host *h, unsigned domid, const uint8_t mac[6])
{
	char p[96], **ents, *v;
	unsigned n = 0;
	uint8_t m[6];
	int found = -1;

	snprintf(p, sizeof(p), "/libxl/%u/device/vif", domid);
	ents = xs_directory(h->xs, XBT_NULL, p, &n);
	for (unsigned i = 0; ents && i < n && found < 0; i++) {
		snprintf(p, sizeof(p), "/libxl/%u/device/vif/%s/mac", domid, ents[i]);
		v = ts_xs_read(h, XBT_NULL, p);
		if (v && !ts_parse_mac(v, m) && !memcmp(m, mac, 6))
			found = atoi(ents[i]);
		free(v);
	}
	free(ents);
	return found;
}

int cmd_network_detach(int argc, char **argv)
{
	struct ts_device d = { .kind = "vif" };
	const char *which;
	struct ts_host h;
	uint8_t mac[6];
	int timeout, r;

	if (ts_want_help(argc, argv, network_detach_usage))
		return 0;
	r = parse_detach(argc, argv, network_detach_usage, &timeout);
	if (r)
		return r;
	which = argv[optind + 2];
	if (ts_host_init(&h, argv[optind]) || ts_host_open(&h))
		return TS_EXIT_FAIL;
	r = TS_EXIT_FAIL;
	if (ts_domid_resolve(&h, argv[optind + 1], &d.domid))
		goto out;
	if (isdigit((unsigned char)which[0]) && !strchr(which, ':')) {
		d.devid = atoi(which);
	} else if (!ts_parse_mac(which, mac)) {
		d.devid = devid_by_mac(&h, d.domid, mac);
		if (d.devid < 0) {
			ts_err("domain %u has no vif with MAC %s", d.domid, which);
			goto out;
		}
	} else {
		ts_err("`%s' is neither a devid nor a MAC address", which);
		r = TS_EXIT_USAGE;
		goto out;
	}
	if (!device_lookup(&h, &d) && !ts_device_remove(&h, &d, timeout))
		r = 0;
out:
	ts_host_close(&h);
	return r;
}

/* --- domain teardown ------------------------------------------------------ */

static void destroy_as_frontend(struct ts_host *h, unsigned domid, int timeout_s)
{
	char p[96], **kinds, **devs;
	unsigned nk = 0, nd = 0;

	snprintf(p, sizeof(p), "/libxl/%u/device", domid);
	kinds = xs_directory(h->xs, XBT_NULL, p, &nk);
	for (unsigned k = 0; kinds && k < nk; k++) {
		snprintf(p, sizeof(p), "/libxl/%u/device/%s", domid, kinds[k]);
		devs = xs_directory(h->xs, XBT_NULL, p, &nd);
		for (unsigned i = 0; devs && i < nd; i++) {
			struct ts_device d = { .domid = domid, .devid = atoi(devs[i]),
					       .kind = kind_name(kinds[k]) };

			if (device_lookup(h, &d))
				continue;
			/* "console devices can be destroyed synchronously" */
			if (!strcmp(d.kind, "console"))
				device_destroy(h, &d);
			/* a backend in the dying domain itself cannot answer */
			else
				ts_device_remove(h, &d, d.backend_domid == domid ? 0 : timeout_s);
		}
		free(devs);
	}
	free(kinds);
}

/* Devices whose backend is in the dying domain: nobody will close them. */
static void destroy_as_backend(struct ts_host *h, unsigned domid)
{
	static const char *const kinds[] = { "vbd", "qdisk", "vif" };
	char p[96], **fes, **devs;
	unsigned nf = 0, nd = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(p, sizeof(p), "/local/domain/%u/backend/%s", domid, kinds[k]);
		fes = xs_directory(h->xs, XBT_NULL, p, &nf);
		for (unsigned f = 0; fes && f < nf; f++) {
			snprintf(p, sizeof(p), "/local/domain/%u/backend/%s/%s", domid, kinds[k],
				 fes[f]);
			devs = xs_directory(h->xs, XBT_NULL, p, &nd);
			for (unsigned i = 0; devs && i < nd; i++) {
				struct ts_device d = {
					.domid = (unsigned)atoi(fes[f]), .backend_domid = domid,
					.devid = atoi(devs[i]), .backend_kind = kinds[k],
					.kind = !strcmp(kinds[k], "vif") ? "vif" : "vbd",
				};

				device_destroy(h, &d);
			}
			free(devs);
		}
		free(fes);
	}
}

void ts_devices_destroy(struct ts_host *h, unsigned domid, int timeout_s)
{
	destroy_as_frontend(h, domid, timeout_s);
	destroy_as_backend(h, domid);
}
