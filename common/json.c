// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON writer and reader (see json.h). No locale: numbers are written with
 * PRIu64/PRId64 and parsed by hand.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- the writer ---- */

void json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Before any value: the comma, and a check that a member has its key. */
static bool value_start(struct json *j)
{
	if (j->failed)
		return false;
	if (j->depth == 0) {
		/* One document: a second top-level value is a misuse. */
		if (j->first[0]) {
			j->failed = true;
			return false;
		}
		j->first[0] = true;
		return true;
	}
	if (j->in_obj[j->depth] && !j->keyed) {
		j->failed = true;
		return false;
	}
	if (!j->in_obj[j->depth] && !j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	j->keyed = false;
	return true;
}

static void begin(struct json *j, bool obj)
{
	if (!value_start(j))
		return;
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	j->depth++;
	j->in_obj[j->depth] = obj;
	j->first[j->depth] = true;
	fputc(obj ? '{' : '[', j->out);
}

static void end(struct json *j, bool obj)
{
	if (j->failed)
		return;
	if (j->depth == 0 || j->in_obj[j->depth] != obj || j->keyed) {
		j->failed = true;
		return;
	}
	j->depth--;
	fputc(obj ? '}' : ']', j->out);
}

void json_obj_begin(struct json *j) { begin(j, true); }
void json_obj_end(struct json *j) { end(j, true); }
void json_arr_begin(struct json *j) { begin(j, false); }
void json_arr_end(struct json *j) { end(j, false); }

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	if (j->failed)
		return;
	if (j->depth == 0 || !j->in_obj[j->depth] || j->keyed) {
		j->failed = true;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->out);
	put_string(j->out, key);
	fputc(':', j->out);
	j->keyed = true;
}

void json_key_underscore(struct json *j, const char *key)
{
	char buf[64];
	size_t i;

	for (i = 0; key[i] && i < sizeof(buf) - 1; i++)
		buf[i] = key[i] == '-' ? '_' : key[i];
	buf[i] = '\0';
	json_key(j, key[i] ? key : buf);	/* longer than any counter name: as it is */
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	if (value_start(j))
		put_string(j->out, s);
}

void json_u64(struct json *j, uint64_t v)
{
	if (value_start(j))
		fprintf(j->out, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v)
{
	if (value_start(j))
		fprintf(j->out, "%" PRId64, v);
}

void json_bool(struct json *j, bool v)
{
	if (value_start(j))
		fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	if (value_start(j))
		fputs("null", j->out);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_ki64(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void json_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

int json_finish(struct json *j)
{
	if (j->failed || j->depth || j->keyed || !j->first[0])
		return -EINVAL;
	return ferror(j->out) ? -EIO : 0;
}

void json_write_val(struct json *j, const struct json_val *v, bool with_key)
{
	const struct json_val *c;

	if (with_key && v->key)
		json_key(j, v->key);
	switch (v->type) {
	case JSON_NULL: json_null(j); break;
	case JSON_BOOL: json_bool(j, v->b); break;
	case JSON_STRING: json_str(j, v->str); break;
	case JSON_NUMBER:
		/* The number's text was checked by the parser: written as it came. */
		if (value_start(j))
			fputs(v->str, j->out);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		begin(j, v->type == JSON_OBJECT);
		for (c = v->child; c; c = c->next)
			json_write_val(j, c, v->type == JSON_OBJECT);
		end(j, v->type == JSON_OBJECT);
		break;
	}
}

/* ---- the reader ---- */

struct parser {
	const char *p, *end;
	unsigned depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool take(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static int hex4(struct parser *ps, unsigned *ret)
{
	unsigned v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		char c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* A \u escape (with a surrogate pair's second half) as UTF-8 into out. */
static int unicode_escape(struct parser *ps, char *out, size_t *n)
{
	unsigned cp, lo;
	int r = hex4(ps, &cp);

	if (r < 0)
		return r;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (!take(ps, "\\u") || hex4(ps, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -EINVAL;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
		return -EINVAL;
	}
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
	return 0;
}

static char escape_char(char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return 0;
	}
}

/*
 * A string at ps->p (the opening quote) into a new C string. The unescaped
 * text is never longer than the escaped one (a 6-byte \u gives at most 3
 * bytes, a 12-byte pair 4), so one allocation of the raw length suffices.
 */
static int parse_string(struct parser *ps, char **ret)
{
	const char *q;
	size_t n = 0;
	char *s;
	int r;

	ps->p++;
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < ps->end)
			q++;
	if (q >= ps->end)
		return -EINVAL;
	s = malloc((size_t)(q - ps->p) + 1);
	if (!s)
		return -ENOMEM;
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;

		if ((unsigned char)c < 0x20)
			goto bad;
		if (c != '\\') {
			s[n++] = c;
			continue;
		}
		if (ps->p >= ps->end)
			goto bad;
		c = *ps->p++;
		if (c == 'u') {
			r = unicode_escape(ps, s, &n);
			if (r < 0)
				goto bad;
		} else if (escape_char(c)) {
			s[n++] = escape_char(c);
		} else {
			goto bad;
		}
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++;
	s[n] = '\0';
	*ret = s;
	return 0;
bad:
	free(s);
	return -EINVAL;
}

static int parse_number(struct parser *ps, char **ret)
{
	const char *start = ps->p;
	size_t digits = 0;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		ps->p++;
		digits++;
	}
	if (!digits || (digits > 1 && start[start[0] == '-'] == '0'))
		return -EINVAL;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		for (digits = 0; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++)
			digits++;
		if (!digits)
			return -EINVAL;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		for (digits = 0; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++)
			digits++;
		if (!digits)
			return -EINVAL;
	}
	*ret = strndup(start, (size_t)(ps->p - start));
	return *ret ? 0 : -ENOMEM;
}

static int parse_value(struct parser *ps, struct json_val *v);

/* The members or elements of an object or array, after its opening bracket. */
static int parse_container(struct parser *ps, struct json_val *v)
{
	bool obj = v->type == JSON_OBJECT;
	struct json_val **tail = &v->child;
	char close = obj ? '}' : ']';
	int r;

	if (++ps->depth >= JSON_MAX_DEPTH)
		return -EINVAL;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		struct json_val *c = calloc(1, sizeof(*c));

		if (!c)
			return -ENOMEM;
		*tail = c;
		tail = &c->next;
		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return -EINVAL;
			r = parse_string(ps, &c->key);
			if (r < 0)
				return r;
			skip_ws(ps);
			if (!take(ps, ":"))
				return -EINVAL;
		}
		r = parse_value(ps, c);
		if (r < 0)
			return r;
		skip_ws(ps);
		if (take(ps, ","))
			continue;
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		return -EINVAL;
	}
}

static int parse_value(struct parser *ps, struct json_val *v)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EINVAL;
	switch (*ps->p) {
	case '{':
	case '[':
		v->type = *ps->p == '{' ? JSON_OBJECT : JSON_ARRAY;
		ps->p++;
		return parse_container(ps, v);
	case '"':
		v->type = JSON_STRING;
		return parse_string(ps, &v->str);
	case 't':
	case 'f':
		v->type = JSON_BOOL;
		v->b = *ps->p == 't';
		return take(ps, v->b ? "true" : "false") ? 0 : -EINVAL;
	case 'n':
		v->type = JSON_NULL;
		return take(ps, "null") ? 0 : -EINVAL;
	default:
		v->type = JSON_NUMBER;
		return parse_number(ps, &v->str);
	}
}

int json_parse(const char *text, size_t len, struct json_val **ret)
{
	struct parser ps = { .p = text, .end = text + len };
	struct json_val *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	r = parse_value(&ps, v);
	if (!r) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			r = -EINVAL;
	}
	if (r < 0) {
		json_val_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

void json_val_free(struct json_val *v)
{
	while (v) {
		struct json_val *next = v->next;

		json_val_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

const struct json_val *json_get(const struct json_val *v, const char *key)
{
	const struct json_val *c;

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (c = v->child; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

const char *json_get_str(const struct json_val *v, const char *key)
{
	const struct json_val *c = json_get(v, key);

	return c && c->type == JSON_STRING ? c->str : NULL;
}

int json_val_u64(const struct json_val *v, uint64_t *ret)
{
	const char *s;
	uint64_t n = 0;

	if (!v || v->type != JSON_NUMBER)
		return -EINVAL;
	for (s = v->str; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*ret = n;
	return 0;
}

uint64_t json_get_u64(const struct json_val *v, const char *key, uint64_t def)
{
	uint64_t n;

	return json_val_u64(json_get(v, key), &n) == 0 ? n : def;
}

bool json_get_bool(const struct json_val *v, const char *key)
{
	const struct json_val *c = json_get(v, key);

	return c && c->type == JSON_BOOL && c->b;
}
