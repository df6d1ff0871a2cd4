// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit test of the toolstack's spec parsers (spec.c): xl's disk spec
 * (libxlu_disk_l.l), vdev to devid (libxl__device_disk_dev_number), vif
 * tokens (xl_parse.c parse_nic_config) and the vif rate
 * (libxlu_vif.c xlu_vif_parse_rate). Expected values are worked out from
 * those sources, not from this implementation. TAP output, one line a case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

static int failures, count;

static void check(int ok, const char *name)
{
	count++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", count, name);
	if (!ok)
		failures++;
}

static int disk(const char *spec, struct ts_disk *d, char *err)
{
	char *copy = strdup(spec);
	int r = ts_disk_parse(1, &copy, d, err, 256);

	free(copy);
	return r;
}

static void test_devid(void)
{
	/* (202 << 8) | (disk << 4) | part for xvd[a-p] with part <= 15 */
	check(ts_vdev_to_devid("xvda") == 51712, "/vdev/xvda");
	check(ts_vdev_to_devid("xvdb") == 51728, "/vdev/xvdb");
	check(ts_vdev_to_devid("xvda1") == 51713, "/vdev/xvda1");
	check(ts_vdev_to_devid("xvdp15") == (202 << 8 | 15 << 4 | 15), "/vdev/xvdp15");
	/* beyond: (1 << 28) | (disk << 8) | part, "aa" = 26 */
	check(ts_vdev_to_devid("xvdq") == (1 << 28 | 16 << 8), "/vdev/xvdq-extended");
	check(ts_vdev_to_devid("xvdaa") == (1 << 28 | 26 << 8), "/vdev/xvdaa");
	check(ts_vdev_to_devid("xvda16") == (1 << 28 | 0 << 8 | 16), "/vdev/xvda16-extended");
	check(ts_vdev_to_devid("d0p0") == 51712, "/vdev/d0p0");
	/* IDE: majors 3 (hda, hdb) and 22 (hdc, hdd), minor 64 per unit */
	check(ts_vdev_to_devid("hda") == 768, "/vdev/hda");
	check(ts_vdev_to_devid("hdb1") == (3 << 8 | 64 | 1), "/vdev/hdb1");
	check(ts_vdev_to_devid("hdc") == 22 << 8, "/vdev/hdc");
	/* SCSI major 8, 16 minors a disk */
	check(ts_vdev_to_devid("sda") == 2048, "/vdev/sda");
	check(ts_vdev_to_devid("sdb2") == 2048 + 16 + 2, "/vdev/sdb2");
	check(ts_vdev_to_devid("51712") == 51712, "/vdev/number");
	check(ts_vdev_to_devid("xvda0") < 0, "/vdev/leading-zero-refused");
	check(ts_vdev_to_devid("hde") < 0, "/vdev/hde-refused");
	check(ts_vdev_to_devid("vda") < 0, "/vdev/unknown-refused");
	check(ts_vdev_to_devid("") < 0, "/vdev/empty-refused");
}

static void test_disk_good(void)
{
	struct ts_disk d;
	char err[256];

	check(!disk("/img,raw,xvda,w", &d, err) && !strcmp(d.target, "/img") &&
	      d.format == TS_DISK_FORMAT_RAW && !strcmp(d.vdev, "xvda") && d.readwrite,
	      "/disk/positional");
	ts_disk_free(&d);
	check(!disk("/img,,xvdb,ro", &d, err) && !d.readwrite && d.format == TS_DISK_FORMAT_RAW,
	      "/disk/positional-empty-format-ro");
	ts_disk_free(&d);
	check(!disk("vdev=xvda,access=r,backend=dd,backendtype=phy,target=/a,b", &d, err) &&
	      !strcmp(d.target, "/a,b") && !strcmp(d.backend, "dd") && !d.readwrite &&
	      d.backendtype == TS_DISK_BACKEND_PHY, "/disk/keywords-target-eats-rest");
	ts_disk_free(&d);
	check(!disk("format=qcow2, vdev=xvdc, access=rw, target=/q.qcow2", &d, err) &&
	      d.format == TS_DISK_FORMAT_QCOW2 && d.readwrite, "/disk/spaces-after-commas");
	ts_disk_free(&d);
	check(!disk("phy:/dev/vg/lv,xvda,w", &d, err) && !strcmp(d.target, "/dev/vg/lv") &&
	      !strcmp(d.vdev, "xvda"), "/disk/deprecated-phy-prefix");
	ts_disk_free(&d);
	check(!disk("iscsi:/iqn.x,xvda,w", &d, err) && !strcmp(d.script, "block-iscsi"),
	      "/disk/deprecated-iscsi-prefix-sets-script");
	ts_disk_free(&d);
	check(!disk(",,hdc:cdrom,r", &d, err) && d.is_cdrom && d.removable && !d.readwrite &&
	      d.format == TS_DISK_FORMAT_EMPTY && !strcmp(d.vdev, "hdc"),
	      "/disk/empty-cdrom");
	ts_disk_free(&d);
	check(!disk("vdev=xvda,devtype=cdrom,target=/iso", &d, err) && d.is_cdrom &&
	      !d.readwrite && d.removable, "/disk/devtype-cdrom-readonly");
	ts_disk_free(&d);
	check(!disk("vdev=xvda,no-discard,direct-io-safe,untrusted,script=blk,target=/x", &d,
		    err) &&
	      d.discard == TS_FALSE && d.direct_io_safe && d.trusted == TS_FALSE &&
	      !strcmp(d.script, "blk"), "/disk/flags");
	ts_disk_free(&d);
	check(!disk("vdev=xvda,target=/x", &d, err) && d.discard == TS_DEFAULT &&
	      d.trusted == TS_DEFAULT && d.readwrite, "/disk/defaults");
	ts_disk_free(&d);
}

static void test_disk_bad(void)
{
	static const struct { const char *spec, *want, *name; } bad[] = {
		{ "vdev=xvda,colour=blue,target=/x", "unknown parameter", "/disk/unknown-key" },
		{ "vdev=xvda,access=rwx,target=/x", "access", "/disk/bad-access" },
		{ "vdev=xvda,devtype=floppy,target=/x", "type", "/disk/bad-devtype" },
		{ "vdev=xvda,format=vmdk,target=/x", "format", "/disk/bad-format" },
		{ "vdev=xvda,backendtype=nbd,target=/x", "backendtype", "/disk/bad-backendtype" },
		{ "target=/x", "no vdev", "/disk/no-vdev" },
		{ "vdev=xvda", "no target", "/disk/no-target" },
		{ "target=/x,vdev=xvda", "must come last", "/disk/target-first-hint" },
		{ "/x,raw,xvda,w,extra", "too many positional", "/disk/too-many-positional" },
		{ "vdev=xvda,vdev=xvdb,target=/x", "respecified", "/disk/vdev-respecified" },
		{ "vdev=vda,target=/x", "virtual disk identifier", "/disk/bad-vdev" },
		{ "foo:/x,xvda", "deprecated disk prefix", "/disk/unknown-prefix" },
		{ "/x,raw,xvda:tape", "deprecated type", "/disk/bad-deprecated-type" },
	};
	struct ts_disk d;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		check(disk(bad[i].spec, &d, err) == -22 && strstr(err, bad[i].want), bad[i].name);
		ts_disk_free(&d);
	}
}

static void test_rate(void)
{
	uint64_t b = 0;
	uint32_t u = 0;
	char err[256];

	/* xl-network-configuration(5): 10MB/s, default interval 50 ms */
	check(!ts_vif_parse_rate("10MB/s", &b, &u, err, sizeof(err)) && b == 500000 && u == 50000,
	      "/rate/default-interval");
	/* the man page's example: 1MB/s@20ms = 20000 bytes every 20000 us */
	check(!ts_vif_parse_rate("1MB/s@20ms", &b, &u, err, sizeof(err)) && b == 20000 &&
	      u == 20000, "/rate/man-page-example");
	/* bits: 100Mb/s = 12.5 MB/s; @1s */
	check(!ts_vif_parse_rate("100Mb/s@1s", &b, &u, err, sizeof(err)) && b == 12500000 &&
	      u == 1000000, "/rate/bits-and-seconds");
	check(!ts_vif_parse_rate("1GB/s@100us", &b, &u, err, sizeof(err)) && b == 100000 &&
	      u == 100, "/rate/usec-interval");
	check(!ts_vif_parse_rate("8Kb/s@2", &b, &u, err, sizeof(err)) && b == 2000 &&
	      u == 2000000, "/rate/bare-seconds");
	check(ts_vif_parse_rate("10MB", &b, &u, err, sizeof(err)) == -22, "/rate/no-per-second");
	check(ts_vif_parse_rate("0MB/s", &b, &u, err, sizeof(err)) == -22, "/rate/zero");
	check(ts_vif_parse_rate("@20ms", &b, &u, err, sizeof(err)) == -22, "/rate/no-rate");
	check(ts_vif_parse_rate("1MB/s@20h", &b, &u, err, sizeof(err)) == -22,
	      "/rate/bad-interval");
	check(ts_vif_parse_rate("5000000000B/s", &b, &u, err, sizeof(err)) == -22,
	      "/rate/overflow");
}

static void test_vif(void)
{
	struct ts_nic n;
	char err[256];

	ts_nic_init(&n);
	check(!ts_nic_parse(&n, "mac=00:16:3e:0a:0b:0c,bridge=xenbr1,backend=dd,mtu=9000,"
			    "ip=192.0.2.1 192.0.2.2,script=vif-route,vifname=v0,rate=1MB/s@20ms",
			    err, sizeof(err)) &&
	      n.mac_set && n.mac[5] == 0x0c && !strcmp(n.bridge, "xenbr1") &&
	      !strcmp(n.backend, "dd") && n.mtu == 9000 && !strcmp(n.ip, "192.0.2.1 192.0.2.2") &&
	      !strcmp(n.script, "vif-route") && !strcmp(n.ifname, "v0") &&
	      n.rate_bytes_per_interval == 20000 && n.rate_interval_usecs == 20000,
	      "/vif/full-spec");
	ts_nic_free(&n);
	check(!ts_nic_parse(&n, "netdev=eth1,untrusted,devid=3,type=vif", err, sizeof(err)) &&
	      !strcmp(n.gatewaydev, "eth1") && n.trusted == TS_FALSE && n.devid == 3,
	      "/vif/netdev-alias-untrusted-devid");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "colour=blue", err, sizeof(err)) == -22 &&
	      strstr(err, "unrecognized argument"), "/vif/unknown-key");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "mac=00:16:3e:0a:0b", err, sizeof(err)) == -22 && strstr(err, "mac"),
	      "/vif/short-mac");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "mac=00:16:3e:0a:0b:zz", err, sizeof(err)) == -22, "/vif/bad-mac");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "mtu=big", err, sizeof(err)) == -22, "/vif/bad-mtu");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "rate=fast", err, sizeof(err)) == -22 && strstr(err, "rate"),
	      "/vif/bad-rate");
	ts_nic_free(&n);
	check(ts_nic_parse(&n, "type=ioemu", err, sizeof(err)) == -22, "/vif/ioemu-refused");
	ts_nic_free(&n);
}

int main(void)
{
	test_devid();
	test_disk_good();
	test_disk_bad();
	test_rate();
	test_vif();
	printf("1..%d\n", count);
	return failures ? 1 : 0;
}
