// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the pure parsers of common/store.c, fed hostile strings the
 * way a guest would write them into its own xenstore nodes: leading and
 * trailing junk, signs, hex, overflow, embedded NULs, lengths that do not
 * match the NUL, and path building that does not fit.
 */
#include <errno.h>
#include <string.h>

#include "store.h"
#include "tap.h"

/* Parses s (its strlen) with max; returns the error or 0 and the value. */
static int pu(const char *s, uint64_t max, uint64_t *v)
{
	*v = 12345;
	return store_parse_uint(s, strlen(s), max, v);
}

static void test_uint_ok(void)
{
	uint64_t v;

	CHECK(pu("0", 10, &v) == 0 && v == 0);
	CHECK(pu("7", 10, &v) == 0 && v == 7);
	CHECK(pu("10", 10, &v) == 0 && v == 10);
	CHECK(pu("007", 10, &v) == 0 && v == 7);
	CHECK(pu("4294967295", UINT32_MAX, &v) == 0 && v == UINT32_MAX);
	CHECK(pu("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX);
}

static void test_uint_hostile(void)
{
	static const char *const junk[] = {
		"", " 1", "1 ", "+1", "-1", "-0", "0x10", "1a", "a1", "1.0", "1e3", "١",
		"\t1", "1\n", "0 ", "--1", "½",
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int r = pu(junk[i], UINT64_MAX, &v);

		if (r != -EINVAL)
			printf("# \"%s\" gave %d\n", junk[i], r);
		CHECK(r == -EINVAL);
		CHECK(v == 12345);	/* untouched on error */
	}
	CHECK(store_parse_uint(NULL, 3, 10, &v) == -EINVAL);
}

static void test_uint_range(void)
{
	uint64_t v = 99;

	CHECK(pu("11", 10, &v) == -ERANGE && v == 12345);
	CHECK(pu("4294967296", UINT32_MAX, &v) == -ERANGE);
	CHECK(pu("18446744073709551616", UINT64_MAX, &v) == -ERANGE);
	CHECK(pu("99999999999999999999999999999999", UINT64_MAX, &v) == -ERANGE);
	/* Junk after an overflowing prefix is still junk, not a range error. */
	CHECK(pu("99999999999999999999999x", UINT64_MAX, &v) == -EINVAL);
}

/* The length, not the NUL, bounds the parse: values need not be terminated. */
static void test_uint_length(void)
{
	const char s[] = { '1', '2', '\0', '3' };
	uint64_t v;

	CHECK(store_parse_uint(s, 2, 100, &v) == 0 && v == 12);
	CHECK(store_parse_uint(s, 4, 100, &v) == -EINVAL);	/* embedded NUL */
	CHECK(store_parse_uint("123", 1, 100, &v) == 0 && v == 1);
	CHECK(store_parse_uint("123", 0, 100, &v) == -EINVAL);
}

static void test_bool(void)
{
	bool b = true;

	CHECK(store_parse_bool("0", 1, &b) == 0 && !b);
	CHECK(store_parse_bool("1", 1, &b) == 0 && b);
	CHECK(store_parse_bool("2", 1, &b) == -EINVAL);
	CHECK(store_parse_bool("01", 2, &b) == -EINVAL);
	CHECK(store_parse_bool("true", 4, &b) == -EINVAL);
	CHECK(store_parse_bool("", 0, &b) == -EINVAL);
	CHECK(store_parse_bool("1 ", 2, &b) == -EINVAL);
}

static void test_mac(void)
{
	uint8_t mac[6] = { 0 };
	const uint8_t want[6] = { 0x00, 0x16, 0x3e, 0xAB, 0xcd, 0xEF };

	CHECK(store_parse_mac("00:16:3e:AB:cd:EF", 17, mac) == 0);
	CHECK(memcmp(mac, want, 6) == 0);
	memset(mac, 0x55, sizeof(mac));
	CHECK(store_parse_mac("00:16:3e:ab:cd", 14, mac) == -EINVAL);
	CHECK(store_parse_mac("00:16:3e:ab:cd:ef:", 18, mac) == -EINVAL);
	CHECK(store_parse_mac("00-16-3e-ab-cd-ef", 17, mac) == -EINVAL);
	CHECK(store_parse_mac("0:16:3e:ab:cd:eff", 17, mac) == -EINVAL);
	CHECK(store_parse_mac("g0:16:3e:ab:cd:ef", 17, mac) == -EINVAL);
	CHECK(store_parse_mac(" 0:16:3e:ab:cd:ef", 17, mac) == -EINVAL);
	/* Nothing is written on failure. */
	CHECK(mac[0] == 0x55 && mac[5] == 0x55);
}

static void test_path(void)
{
	char buf[16];

	CHECK(store_path(buf, sizeof(buf), "/a/%u/%s", 5u, "b") == 0);
	CHECK(strcmp(buf, "/a/5/b") == 0);
	CHECK(store_path(buf, sizeof(buf), "/%s", "0123456789abcde") == -ENAMETOOLONG);
	CHECK(store_path(buf, sizeof(buf), "/%s", "0123456789abcd") == 0);
}

int main(void)
{
	tap_run("/store/parse_uint_ok", test_uint_ok);
	tap_run("/store/parse_uint_hostile", test_uint_hostile);
	tap_run("/store/parse_uint_range", test_uint_range);
	tap_run("/store/parse_uint_length", test_uint_length);
	tap_run("/store/parse_bool", test_bool);
	tap_run("/store/parse_mac", test_mac);
	tap_run("/store/path", test_path);
	return tap_done();
}
