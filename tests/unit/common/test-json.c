// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for common/json.c: the writer's output (commas, nesting,
 * escaping of every control character, u64/i64 limits, null), its misuse
 * detection, and the reader: a round trip of the writer's output, escapes
 * and surrogate pairs, numbers, the accessors, malformed documents and the
 * depth bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "tap.h"

/* Runs fn with a writer on a memory stream; returns the text (caller frees) and json_finish. */
static char *written(void (*fn)(struct json *j), int *ret)
{
	struct json j;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	json_init(&j, f);
	fn(&j);
	*ret = json_finish(&j);
	fclose(f);
	return text;
}

/* fn must write exactly `want`, and json_finish must accept it. */
static void check_written(void (*fn)(struct json *j), const char *want)
{
	int r = -1;
	char *s = written(fn, &r);

	REQUIRE(s);
	CHECK(r == 0);
	CHECK(!strcmp(s, want));
	if (strcmp(s, want))
		printf("# wrote %s\n", s);
	free(s);
}

static void doc_nested(struct json *j)
{
	json_obj_begin(j);
	json_kstr(j, "daemon", "blkbackd");
	json_ku64(j, "max", UINT64_MAX);
	json_ki64(j, "min", INT64_MIN);
	json_kbool(j, "t", true);
	json_kstr(j, "none", NULL);
	json_key(j, "devices");
	json_arr_begin(j);
	json_obj_begin(j);
	json_ku64(j, "domid", 5);
	json_obj_end(j);
	json_u64(j, 7);
	json_arr_begin(j);
	json_arr_end(j);
	json_obj_begin(j);
	json_obj_end(j);
	json_arr_end(j);
	json_obj_end(j);
}

static void test_write_nested(void)
{
	check_written(doc_nested, "{\"daemon\":\"blkbackd\",\"max\":18446744073709551615,"
				  "\"min\":-9223372036854775808,\"t\":true,\"none\":null,"
				  "\"devices\":[{\"domid\":5},7,[],{}]}");
}

static void doc_escapes(struct json *j)
{
	char ctl[40];
	int i;

	for (i = 1; i < 0x20; i++)
		ctl[i - 1] = (char)i;
	ctl[0x1f] = '\0';
	json_arr_begin(j);
	json_str(j, "q\"b\\s/é");
	json_str(j, ctl);
	json_arr_end(j);
}

static void test_write_escapes(void)
{
	check_written(doc_escapes, "[\"q\\\"b\\\\s/é\",\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006"
				   "\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012"
				   "\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
				   "\\u001c\\u001d\\u001e\\u001f\"]");
}

static void misuse_value_without_key(struct json *j)
{
	json_obj_begin(j);
	json_u64(j, 1);
	json_obj_end(j);
}

static void misuse_key_in_array(struct json *j)
{
	json_arr_begin(j);
	json_key(j, "x");
	json_arr_end(j);
}

static void misuse_wrong_end(struct json *j)
{
	json_obj_begin(j);
	json_arr_end(j);
}

static void misuse_unclosed(struct json *j)
{
	json_arr_begin(j);
}

static void misuse_key_without_value(struct json *j)
{
	json_obj_begin(j);
	json_key(j, "x");
	json_obj_end(j);
}

static void misuse_two_documents(struct json *j)
{
	json_u64(j, 1);
	json_u64(j, 2);
}

static void misuse_nothing(struct json *j)
{
	(void)j;
}

static void misuse_too_deep(struct json *j)
{
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_arr_begin(j);
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_arr_end(j);
}

static void test_write_misuse(void)
{
	void (*const cases[])(struct json *) = {
		misuse_value_without_key, misuse_key_in_array, misuse_wrong_end,
		misuse_unclosed, misuse_key_without_value, misuse_two_documents,
		misuse_nothing, misuse_too_deep,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = 0;
		char *s = written(cases[i], &r);

		if (r != -EINVAL)
			printf("# misuse case %zu: json_finish %d\n", i, r);
		CHECK(r == -EINVAL);
		free(s);
	}
}

/* The writer's output parses back to the same values; json_write_val writes it again identically. */
static void test_round_trip(void)
{
	const struct json_val *d, *devs;
	struct json_val *v = NULL;
	char *again = NULL;
	size_t len = 0;
	uint64_t n = 0;
	struct json j;
	FILE *f;
	int r;
	char *s = written(doc_nested, &r);

	REQUIRE(s && r == 0);
	REQUIRE(json_parse(s, strlen(s), &v) == 0);
	CHECK(v->type == JSON_OBJECT);
	CHECK(!strcmp(json_get_str(v, "daemon"), "blkbackd"));
	CHECK(json_get_u64(v, "max", 0) == UINT64_MAX);
	CHECK(json_get_u64(v, "min", 42) == 42);	/* negative: not a u64 */
	CHECK(json_get_bool(v, "t"));
	CHECK(json_get(v, "none") && json_get(v, "none")->type == JSON_NULL);
	CHECK(json_get_str(v, "none") == NULL);
	CHECK(json_get(v, "absent") == NULL);
	devs = json_get(v, "devices");
	REQUIRE(devs && devs->type == JSON_ARRAY);
	d = devs->child;
	REQUIRE(d && d->type == JSON_OBJECT);
	CHECK(json_get_u64(d, "domid", 0) == 5);
	REQUIRE(d->next && json_val_u64(d->next, &n) == 0);
	CHECK(n == 7);
	f = open_memstream(&again, &len);
	REQUIRE(f);
	json_init(&j, f);
	json_write_val(&j, v, false);
	CHECK(json_finish(&j) == 0);
	fclose(f);
	CHECK(!strcmp(again, s));
	free(again);
	json_val_free(v);
	free(s);
}

static void test_parse_strings(void)
{
	const char *doc = " { \"a\\u00e9\\ud83d\\ude00\\n\\/\" : [ \"x\\\"y\" , 1.5e-3, -0, true,"
			  " false , null ] } \n";
	struct json_val *v = NULL;
	const struct json_val *a, *c;

	REQUIRE(json_parse(doc, strlen(doc), &v) == 0);
	a = v->child;
	REQUIRE(a && a->type == JSON_ARRAY);
	CHECK(!strcmp(a->key, "a\xc3\xa9\xf0\x9f\x98\x80\n/"));
	c = a->child;
	REQUIRE(c && c->type == JSON_STRING);
	CHECK(!strcmp(c->str, "x\"y"));
	c = c->next;
	REQUIRE(c && c->type == JSON_NUMBER);
	CHECK(!strcmp(c->str, "1.5e-3"));
	c = c->next;
	REQUIRE(c && c->type == JSON_NUMBER && !strcmp(c->str, "-0"));
	c = c->next;
	REQUIRE(c && c->type == JSON_BOOL && c->b);
	c = c->next;
	REQUIRE(c && c->type == JSON_BOOL && !c->b);
	c = c->next;
	REQUIRE(c && c->type == JSON_NULL && !c->next);
	json_val_free(v);
}

static void test_parse_numbers(void)
{
	struct json_val *v = NULL;
	uint64_t n;

	REQUIRE(json_parse("18446744073709551615", 20, &v) == 0);
	CHECK(json_val_u64(v, &n) == 0 && n == UINT64_MAX);
	json_val_free(v);
	REQUIRE(json_parse("18446744073709551616", 20, &v) == 0);
	CHECK(json_val_u64(v, &n) == -ERANGE);
	json_val_free(v);
	REQUIRE(json_parse("2.5", 3, &v) == 0);
	CHECK(json_val_u64(v, &n) == -EINVAL);
	json_val_free(v);
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
		"[1 2]", "\"abc", "\"a\\qb\"", "\"a\\u12\"", "\"\\ud800\"", "\"\\udc00x\"",
		"\"\\u0000\"", "\"tab\there\"", "01", "-", "1.", "1e", "+1", "tru", "nul",
		"[1] x", "{\"a\":1}{", "\"a\\", "[\"\\",
	};
	char deep[2 * JSON_MAX_DEPTH + 8];
	struct json_val *v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = NULL;
		if (json_parse(bad[i], strlen(bad[i]), &v) != -EINVAL) {
			printf("# accepted malformed '%s'\n", bad[i]);
			CHECK(0);
			json_val_free(v);
		}
	}
	/* Deeper than the bound: refused, not recursed into. */
	memset(deep, '[', JSON_MAX_DEPTH + 2);
	memset(deep + JSON_MAX_DEPTH + 2, ']', JSON_MAX_DEPTH + 2);
	v = NULL;
	CHECK(json_parse(deep, 2 * JSON_MAX_DEPTH + 4, &v) == -EINVAL);
	/* Just within it: accepted. */
	memset(deep, '[', JSON_MAX_DEPTH - 1);
	memset(deep + JSON_MAX_DEPTH - 1, ']', JSON_MAX_DEPTH - 1);
	v = NULL;
	CHECK(json_parse(deep, 2 * JSON_MAX_DEPTH - 2, &v) == 0);
	json_val_free(v);
	/* Length, not NUL, ends the text. */
	CHECK(json_parse("[1]garbage", 3, &v) == 0);
	json_val_free(v);
}

int main(void)
{
	tap_run("/json/write_nested", test_write_nested);
	tap_run("/json/write_escapes", test_write_escapes);
	tap_run("/json/write_misuse", test_write_misuse);
	tap_run("/json/round_trip", test_round_trip);
	tap_run("/json/parse_strings", test_parse_strings);
	tap_run("/json/parse_numbers", test_parse_numbers);
	tap_run("/json/parse_malformed", test_parse_malformed);
	return tap_done();
}
