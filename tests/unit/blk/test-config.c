// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/config.c: defaults, options, the config file,
 * the command line overriding the file, and an error naming the culprit for
 * every kind of bad input.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/tap.h"
#include "config.h"

static char err[1024];

static int parse(struct blk_config *c, int argc, char **argv)
{
	blk_config_defaults(c);
	err[0] = '\0';
	return blk_config_parse_args(c, argc, argv, err, sizeof(err));
}

static void test_defaults_and_options(void)
{
	char *argv[] = { "blkbackd", "--max-queues", "2", "--kinds=vbd,qdisk", "--status",
			 "--max-ring-order", "0", "--persistent-grants=0",
			 "--max-indirect-segments", "0", "--runtime-dir", "/tmp/x",
			 "--poll-us", "0", "--submit-batch", "32", "--poll-io-us=7",
			 "--workers", "3", NULL };
	struct blk_config c;

	blk_config_defaults(&c);
	CHECK(c.kinds == BLK_KIND_VBD && c.max_queues >= 1 && c.max_indirect == 256);
	CHECK(c.poll_us == BLK_POLL_US_DEFAULT && c.poll_us > 0);
	CHECK(c.submit_batch == BLK_SUBMIT_BATCH_DEFAULT);
	CHECK(c.poll_io_us == BLK_POLL_IO_US_DEFAULT && c.poll_io_us > c.poll_us);
	CHECK(c.workers == 0);	/* one per CPU */
	CHECK(parse(&c, 19, argv) == 0);
	CHECK(c.poll_us == 0 && c.submit_batch == 32 && c.poll_io_us == 7 && c.workers == 3);
	CHECK(c.max_queues == 2 && c.kinds == (BLK_KIND_VBD | BLK_KIND_QDISK) && c.status);
	CHECK(c.max_ring_order == 0 && c.persistent_grants == 0 && c.max_indirect == 0);
	CHECK(!strcmp(c.common.runtime_dir, "/tmp/x"));
}

static void expect_bad(char **argv, int argc, const char *needle)
{
	struct blk_config c;

	CHECK(parse(&c, argc, argv) == -EINVAL);
	if (!strstr(err, needle)) {
		printf("# error '%s' does not name '%s'\n", err, needle);
		CHECK(0);
	}
}

static void test_bad_options(void)
{
	char *a1[] = { "b", "--max-queues", "0" };
	char *a2[] = { "b", "--max-queues", "33" };
	char *a3[] = { "b", "--max-ring-order", "5" };
	char *a4[] = { "b", "--kinds", "vbd,tap" };
	char *a5[] = { "b", "--bogus", "1" };
	char *a6[] = { "b", "--max-queues" };
	char *a7[] = { "b", "--max-indirect-segments", "8" };
	char *a8[] = { "b", "--max-queues", "2x" };
	char *a12[] = { "b", "--poll-us", "10001" };
	char *a13[] = { "b", "--submit-batch", "0" };
	char *a14[] = { "b", "--submit-batch", "65" };
	char *a15[] = { "b", "--poll-io-us", "10001" };
	char *a16[] = { "b", "--workers", "65" };
	char *a9[] = { "b", "stray" };
	char *a10[] = { "b", "--help=yes" };
	char *a11[] = { "b", "--log-level", "loud" };

	expect_bad(a1, 3, "max-queues");
	expect_bad(a2, 3, "33");
	expect_bad(a3, 3, "max-ring-order");
	expect_bad(a4, 3, "vbd,tap");
	expect_bad(a5, 3, "--bogus");
	expect_bad(a6, 2, "needs a value");
	expect_bad(a7, 3, "max-indirect-segments");
	expect_bad(a8, 3, "2x");
	expect_bad(a9, 2, "stray");
	expect_bad(a10, 2, "takes no value");
	expect_bad(a11, 3, "loud");
	expect_bad(a12, 3, "poll-us");
	expect_bad(a13, 3, "submit-batch");
	expect_bad(a14, 3, "65");
	expect_bad(a15, 3, "poll-io-us");
	expect_bad(a16, 3, "workers");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_config_file(void)
{
	char path[] = "/tmp/blk-config-XXXXXX";
	int fd = mkstemp(path);
	char *argv[] = { "b", "--config", path, "--max-queues", "3", NULL };
	struct blk_config c;

	REQUIRE(fd >= 0);
	close(fd);
	write_file(path, "# blkbackd\n\nmax-queues = 1\n  max-ring-order=2  \n"
			 "kinds = qdisk\nlog-level = debug\nmax-devices = 300\n"
			 "max-devices-per-domain = 8\n");
	CHECK(parse(&c, 5, argv) == 0);
	CHECK(c.max_queues == 3);	/* the command line wins */
	CHECK(c.max_ring_order == 2 && c.kinds == BLK_KIND_QDISK && c.common.log_level == LOG_DEBUG);
	CHECK(c.common.max_devices == 300 && c.common.max_devices_per_domain == 8);
	write_file(path, "max-devices = 0\n");
	CHECK(parse(&c, 3, argv) == -EINVAL && strstr(err, "'max-devices'"));
	write_file(path, "max-devices-per-domain = 257\n");
	CHECK(parse(&c, 3, argv) == -EINVAL && strstr(err, "max-devices-per-domain"));
	write_file(path, "# nothing\n");
	CHECK(parse(&c, 3, argv) == 0);
	CHECK(c.common.max_devices == CONF_MAX_DEVICES_DEFAULT &&
	      c.common.max_devices_per_domain == CONF_MAX_PER_DOMAIN_DEFAULT);

	write_file(path, "max-queues = 1\nmax-ring-ordre = 2\n");
	CHECK(parse(&c, 3, argv) == -EINVAL);
	CHECK(strstr(err, ":2:") && strstr(err, "max-ring-ordre"));
	write_file(path, "persistent-grants = -1\n");
	CHECK(parse(&c, 3, argv) == -EINVAL);
	CHECK(strstr(err, "persistent-grants") && strstr(err, "-1"));
	write_file(path, "just words\n");
	CHECK(parse(&c, 3, argv) == -EINVAL && strstr(err, ":1:"));
	unlink(path);
	CHECK(parse(&c, 3, argv) == -ENOENT && strstr(err, path));
}

int main(void)
{
	tap_run("/config/defaults-and-options", test_defaults_and_options);
	tap_run("/config/bad-options", test_bad_options);
	tap_run("/config/file", test_config_file);
	return tap_done();
}
