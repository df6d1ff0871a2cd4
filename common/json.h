/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON, both ways, for the control socket's `status-json` and for ddomctl.
 *
 * The writer puts one compact document (no spaces, no newline) on a FILE:
 * the caller opens and closes objects and arrays, names members with
 * json_key, and the writer places the commas. Strings are escaped as RFC
 * 8259 requires (", \, control characters); bytes >= 0x80 pass unchanged
 * (the caller's text is UTF-8; invalid bytes are not repaired). A misuse
 * (a value without a key inside an object, an end that does not match,
 * nesting deeper than JSON_MAX_DEPTH) marks the writer failed and
 * json_finish reports it.
 *
 * The reader parses a whole document into a tree (malloc'd; status paths
 * only, never a data path). Numbers are kept as their text; json_val_u64
 * converts. Depth is bounded by JSON_MAX_DEPTH, so hostile input cannot
 * exhaust the stack.
 *
 * Any thread; a writer or a tree is not shared between threads.
 */
#ifndef DDOM_JSON_H
#define DDOM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *out;
	unsigned depth;
	bool in_obj[JSON_MAX_DEPTH];	/* the container at each depth */
	bool first[JSON_MAX_DEPTH];	/* nothing written in it yet */
	bool keyed;			/* a key was written: its value comes next */
	bool failed;
};

void json_init(struct json *j, FILE *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
/* A member's name; the next value (or begin) is its value. */
void json_key(struct json *j, const char *key);
/*
 * A member's name with every '-' written as '_' ("sectors-read" ->
 * "sectors_read"): the daemons' counter names as JSON field names.
 */
void json_key_underscore(struct json *j, const char *key);
/* NULL writes null. */
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value in one call. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);
void json_ki64(struct json *j, const char *key, int64_t v);
void json_kbool(struct json *j, const char *key, bool v);

/*
 * 0 when a complete, well-formed document was written; -EINVAL after a
 * misuse or with containers still open; -EIO when the FILE has an error.
 */
int json_finish(struct json *j);

/* ---- the reader ---- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_val {
	enum json_type type;
	char *key;		/* the member's name when the parent is an object */
	char *str;		/* JSON_STRING: the unescaped text; JSON_NUMBER: as written */
	bool b;			/* JSON_BOOL */
	struct json_val *child;	/* JSON_ARRAY, JSON_OBJECT: the first element, in order */
	struct json_val *next;	/* the next sibling */
};

/*
 * Parses text[0..len) (one value, surrounded by white space at most).
 * 0 and *ret (free with json_val_free); -EINVAL malformed or too deep
 * (a string with \u0000 is refused too: strings are C strings here);
 * -ENOMEM.
 */
int json_parse(const char *text, size_t len, struct json_val **ret);
void json_val_free(struct json_val *v);
/* The member named key of an object, or NULL (also when v is NULL or not an object). */
const struct json_val *json_get(const struct json_val *v, const char *key);
/* The member's string, or NULL when it is absent or not a string. */
const char *json_get_str(const struct json_val *v, const char *key);
/* The member's value as an unsigned integer, or def when it is absent or not one. */
uint64_t json_get_u64(const struct json_val *v, const char *key, uint64_t def);
/* The member is true. */
bool json_get_bool(const struct json_val *v, const char *key);
/* A number value as an unsigned integer: 0, or -EINVAL (not a non-negative integer), -ERANGE. */
int json_val_u64(const struct json_val *v, uint64_t *ret);
/* Writes the tree v (its key too when with_key and it has one) with the writer. */
void json_write_val(struct json *j, const struct json_val *v, bool with_key);

#endif
