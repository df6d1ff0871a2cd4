// SPDX-License-Identifier: GPL-2.0-only
/*
 * xl's disk-spec and vif-spec syntax, as pure functions over strings (no I/O,
 * no xenstore), so the unit test can drive them directly.
 *
 * Disk: the grammar of tools/libs/util/libxlu_disk_l.l (Xen 4.17) and
 * docs/man/xl-disk-configuration.5.pod.in: positional target,format,vdev,access
 * and keyword parameters; `target=` eats the rest of the string; deprecated
 * "phy:"/"raw:"/... prefixes are accepted as libxlu does. An unknown keyword is
 * refused ("unknown parameter"), as libxlu refuses it.
 *
 * Vif: parse_nic_config() in tools/xl/xl_parse.c and xlu_vif_parse_rate() in
 * tools/libs/util/libxlu_vif.c.
 *
 * Runs in the calling thread; allocates only the strings it returns.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

static int spec_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int spec_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* --- libxl__device_disk_dev_number (libxl_device.c) ----------------------- */

/* device_virtdisk_matches: drive letters decoded as base 26 "digits" a-z. */
static int virtdisk_matches(const char *vp, const char *type, int *idx, int max_idx, int *part,
			    int max_part)
{
	size_t tl = strlen(type);
	const char *p;
	char *ep;
	unsigned long pl;

	if (strncmp(vp, type, tl))
		return 0;
	*idx = -1;
	for (p = vp + tl; *p >= 'a' && *p <= 'z'; p++) {
		*idx = (*idx + 1) * 26 + (*p - 'a');
		if (*idx > max_idx)
			return 0;
	}
	if (*idx < 0)
		return 0;	/* libxl accepts "xvd" alone as index -1; we refuse it */
	if (!*p) {
		*part = 0;
		return 1;
	}
	if (*p == '0' || !isdigit((unsigned char)*p))
		return 0;	/* no leading zeroes in a partition number */
	errno = 0;
	pl = strtoul(p, &ep, 10);
	if (errno || *ep || pl > (unsigned long)max_part)
		return 0;
	*part = (int)pl;
	return 1;
}

int ts_vdev_to_devid(const char *vdev)
{
	int disk, part, used = -1;
	unsigned long ul;
	char *ep;

	if (!vdev || !*vdev)
		return -1;
	/* "d<disk>p<partition>" and xvd*: the Xen encoding (202 << 8 or 1 << 28). */
	if ((sscanf(vdev, "d%ip%i%n", &disk, &part, &used) >= 2 && used == (int)strlen(vdev) &&
	     disk >= 0 && part >= 0 && disk < (1 << 20) && part < 256) ||
	    virtdisk_matches(vdev, "xvd", &disk, (1 << 20) - 1, &part, 255)) {
		if (disk <= 15 && part <= 15)
			return (202 << 8) | (disk << 4) | part;
		return (1 << 28) | (disk << 8) | part;
	}
	/* A bare number is taken as the devid itself. */
	if (isdigit((unsigned char)vdev[0])) {
		errno = 0;
		ul = strtoul(vdev, &ep, 0);
		if (!errno && !*ep && ul <= INT_MAX)
			return (int)ul;
	}
	/* IDE majors 3 and 22, SCSI major 8 (Linux's devices.txt). */
	if (virtdisk_matches(vdev, "hd", &disk, 3, &part, 63))
		return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part;
	if (virtdisk_matches(vdev, "sd", &disk, 15, &part, 15))
		return (8 << 8) | (disk << 4) | part;
	return -1;
}

/* --- disk spec (libxlu_disk_l.l) ------------------------------------------ */

static int save_string(char **slot, const char *what, const char *value, char *err,
		       size_t errlen)
{
	char *v;

	/* savestring(): overwriting an empty string is not a respecification. */
	if (*slot && **slot)
		return spec_err(err, errlen, "%s respecified: `%s'", what, value);
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(*slot);
	*slot = v;
	return 0;
}

static int set_format(struct ts_disk *d, const char *s, char *err, size_t errlen)
{
	static const struct { const char *name; enum ts_disk_format f; } tab[] = {
		{ "", TS_DISK_FORMAT_RAW }, { "raw", TS_DISK_FORMAT_RAW },
		{ "qcow", TS_DISK_FORMAT_QCOW }, { "qcow2", TS_DISK_FORMAT_QCOW2 },
		{ "vhd", TS_DISK_FORMAT_VHD }, { "empty", TS_DISK_FORMAT_EMPTY },
		{ "qed", TS_DISK_FORMAT_QED },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(s, tab[i].name))
			continue;
		if (d->format != TS_DISK_FORMAT_UNKNOWN && d->format != tab[i].f)
			return spec_err(err, errlen, "format respecified: `%s'", s);
		d->format = tab[i].f;
		return 0;
	}
	return spec_err(err, errlen, "unknown value for format: `%s'", s);
}

static int set_access(struct ts_disk *d, const char *s, char *err, size_t errlen)
{
	if (!strcmp(s, "r") || !strcmp(s, "ro"))
		d->readwrite = 0;
	else if (!strcmp(s, "rw") || !strcmp(s, "w") || !strcmp(s, ""))
		d->readwrite = 1;
	else
		return spec_err(err, errlen, "unknown value for access: `%s' (r, ro, w or rw)", s);
	return 0;
}

static int set_backendtype(struct ts_disk *d, const char *s, char *err, size_t errlen)
{
	static const struct { const char *name; enum ts_disk_backend b; } tab[] = {
		{ "phy", TS_DISK_BACKEND_PHY }, { "tap", TS_DISK_BACKEND_TAP },
		{ "qdisk", TS_DISK_BACKEND_QDISK }, { "standalone", TS_DISK_BACKEND_STANDALONE },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(s, tab[i].name))
			continue;
		if (d->backendtype != TS_DISK_BACKEND_UNKNOWN && d->backendtype != tab[i].b)
			return spec_err(err, errlen, "backendtype respecified: `%s'", s);
		d->backendtype = tab[i].b;
		return 0;
	}
	return spec_err(err, errlen,
			"unknown value for backendtype: `%s' (phy, tap, qdisk or standalone)", s);
}

/* "<vdev>:<devtype>", the deprecated positional form. 1 if it was that. */
static int vdev_and_devtype(struct ts_disk *d, char *s, int *rc, char *err, size_t errlen)
{
	char *colon = strrchr(s, ':');

	if (!colon)
		return 0;
	*colon++ = 0;
	*rc = save_string(&d->vdev, "vdev", s, err, errlen);
	if (*rc)
		return 1;
	if (!strcmp(colon, "cdrom"))
		d->is_cdrom = 1;
	else if (!strcmp(colon, "disk"))
		d->is_cdrom = 0;
	else
		*rc = spec_err(err, errlen, "unknown deprecated type: `%s'", colon);
	return 1;
}

static int disk_positional(struct ts_disk *d, char *s, bool had_prefix, char *err, size_t errlen)
{
	int rc = 0;

	if (!d->target)
		return save_string(&d->target, "target", s, err, errlen);
	if (!had_prefix && d->format == TS_DISK_FORMAT_UNKNOWN) {
		if (!*d->target && vdev_and_devtype(d, s, &rc, err, errlen)) {
			d->format = TS_DISK_FORMAT_EMPTY;
			return rc;
		}
		return set_format(d, s, err, errlen);
	}
	if (!d->vdev) {
		if (vdev_and_devtype(d, s, &rc, err, errlen))
			return rc;
		return save_string(&d->vdev, "vdev", s, err, errlen);
	}
	if (!d->access_set) {
		d->access_set = 1;
		return set_access(d, s, err, errlen);
	}
	return spec_err(err, errlen, "too many positional parameters: `%s'", s);
}

static int disk_keyword(struct ts_disk *d, const char *key, const char *val, char *err,
			size_t errlen)
{
	if (!strcmp(key, "format"))
		return set_format(d, val, err, errlen);
	if (!strcmp(key, "devtype")) {
		if (!strcmp(val, "cdrom"))
			d->is_cdrom = 1;
		else if (!strcmp(val, "disk"))
			d->is_cdrom = 0;
		else
			return spec_err(err, errlen, "unknown value for type: `%s' (disk or cdrom)",
					val);
		return 0;
	}
	if (!strcmp(key, "access"))
		return set_access(d, val, err, errlen);
	if (!strcmp(key, "backend"))
		return save_string(&d->backend, "backend", val, err, errlen);
	if (!strcmp(key, "backendtype"))
		return set_backendtype(d, val, err, errlen);
	if (!strcmp(key, "vdev"))
		return save_string(&d->vdev, "vdev", val, err, errlen);
	if (!strcmp(key, "script"))
		return save_string(&d->script, "script", val, err, errlen);
	if (!strcmp(key, "specification")) {
		if (!strcmp(val, "xen"))
			d->virtio = 0;
		else if (!strcmp(val, "virtio"))
			return spec_err(err, errlen,
					"specification=virtio is not supported by xensim");
		else
			return spec_err(err, errlen, "unknown value for specification: `%s'", val);
		return 0;
	}
	if (!strcmp(key, "colo-host") || !strcmp(key, "colo-port") ||
	    !strcmp(key, "colo-export") || !strcmp(key, "active-disk") ||
	    !strcmp(key, "hidden-disk"))
		return spec_err(err, errlen, "COLO parameter `%s' is not supported by xensim",
				key);
	return spec_err(err, errlen, "unknown parameter `%s=%s'", key, val);
}

static int disk_flag(struct ts_disk *d, const char *s)
{
	if (!strcmp(s, "cdrom"))
		d->is_cdrom = 1;
	else if (!strcmp(s, "direct-io-safe"))
		d->direct_io_safe = 1;
	else if (!strcmp(s, "discard"))
		d->discard = TS_TRUE;
	else if (!strcmp(s, "no-discard"))
		d->discard = TS_FALSE;
	else if (!strcmp(s, "trusted"))
		d->trusted = TS_TRUE;
	else if (!strcmp(s, "untrusted"))
		d->trusted = TS_FALSE;
	else
		return 0;
	return 1;
}

/*
 * A deprecated "<prefix>:" followed by '/', e.g. "phy:/dev/sdb". Returns the
 * prefix length consumed (0 if none) or -EINVAL.
 */
static int disk_prefix(struct ts_disk *d, const char *s, bool *had_prefix, char *err,
		       size_t errlen)
{
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	static const char *const ignored[] = { "tapdisk", "tap", "tap2", "aio", "ioemu",
					       "file", "phy" };
	char name[32], script[48];
	size_t n = 0;
	int rc;

	if (!islower((unsigned char)s[0]))
		return 0;
	while (islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]))
		n++;
	if (s[n] != ':' || s[n + 1] != '/' || n >= sizeof(name))
		return 0;
	memcpy(name, s, n);
	name[n] = 0;
	*had_prefix = true;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(name, formats[i])) {
			rc = set_format(d, name, err, errlen);
			return rc ? rc : (int)n + 1;
		}
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		if (!strcmp(name, scripts[i])) {
			snprintf(script, sizeof(script), "block-%s", name);
			rc = save_string(&d->script, "script respecified", script, err, errlen);
			return rc ? rc : (int)n + 1;
		}
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (!strcmp(name, ignored[i]))
			return (int)n + 1;
	return spec_err(err, errlen, "unknown deprecated disk prefix `%s:'", name);
}

static int disk_parse_one(struct ts_disk *d, const char *spec, bool *had_prefix, char *err,
			  size_t errlen)
{
	const char *p = spec;
	char *tok, *eq;
	size_t n;
	int rc;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (!strncmp(p, "target=", 7)) {
			/* The magic parameter: the rest of the string, one trailing comma off. */
			n = strlen(p + 7);
			tok = strndup(p + 7, n && p[7 + n - 1] == ',' ? n - 1 : n);
			if (!tok)
				return -ENOMEM;
			rc = save_string(&d->target, "target", tok, err, errlen);
			free(tok);
			return rc;
		}
		rc = disk_prefix(d, p, had_prefix, err, errlen);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			p += rc;
			continue;
		}
		n = strcspn(p, ",");
		tok = strndup(p, n);
		if (!tok)
			return -ENOMEM;
		p += n + (p[n] == ',');
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			rc = disk_keyword(d, tok, eq + 1, err, errlen);
		} else if (disk_flag(d, tok)) {
			rc = 0;
		} else {
			rc = disk_positional(d, tok, *had_prefix, err, errlen);
		}
		free(tok);
		if (rc)
			return rc;
	}
	return 0;
}

int ts_disk_parse(int nspecs, char *const *specs, struct ts_disk *d, char *err, size_t errlen)
{
	bool had_prefix = false;
	int rc;

	memset(d, 0, sizeof(*d));
	d->readwrite = 1;
	d->discard = TS_DEFAULT;
	d->trusted = TS_DEFAULT;
	for (int i = 0; i < nspecs; i++) {
		rc = disk_parse_one(d, specs[i], &had_prefix, err, errlen);
		if (rc)
			return rc;
	}
	/* xlu_disk_parse()'s defaults and final checks. */
	if (d->format == TS_DISK_FORMAT_UNKNOWN)
		d->format = TS_DISK_FORMAT_RAW;
	if (d->is_cdrom) {
		d->removable = 1;
		d->readwrite = 0;
		if (!d->target || !*d->target)
			d->format = TS_DISK_FORMAT_EMPTY;
	}
	if (!d->vdev && d->target && strstr(d->target, "vdev="))
		return spec_err(err, errlen, "no vdev specified (`target=' takes the rest of the "
				"spec, so it must come last: xl-disk-configuration(5))");
	if (!d->vdev)
		return spec_err(err, errlen, "no vdev specified");
	if (!d->target && !d->removable)
		return spec_err(err, errlen, "no target specified (and device not removable)");
	if (ts_vdev_to_devid(d->vdev) < 0)
		return spec_err(err, errlen, "invalid or unsupported virtual disk identifier `%s'",
				d->vdev);
	return 0;
}

void ts_disk_free(struct ts_disk *d)
{
	free(d->target);
	free(d->vdev);
	free(d->backend);
	free(d->script);
	memset(d, 0, sizeof(*d));
}

/* --- vif spec (xl_parse.c parse_nic_config, libxlu_vif.c) ----------------- */

void ts_nic_init(struct ts_nic *n)
{
	memset(n, 0, sizeof(*n));
	n->devid = -1;
	n->trusted = TS_DEFAULT;
}

void ts_nic_free(struct ts_nic *n)
{
	free(n->bridge);
	free(n->backend);
	free(n->script);
	free(n->ip);
	free(n->gatewaydev);
	free(n->ifname);
	free(n->model);
	ts_nic_init(n);
}

int ts_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int used = -1;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &used) != 6 || used != (int)strlen(s) || used != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static bool regex_ok(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

/* vif_parse_rate_bytes_per_sec: [0-9]+[GMK]?[Bb]/s; b = bits. */
static int rate_bytes_per_sec(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v;

	if (!regex_ok("^[0-9]+[GMK]?[Bb]/s$", s))
		return spec_err(err, errlen, "invalid rate `%s' (RATE/s, e.g. 10MB/s)", s);
	errno = 0;
	v = strtoull(p, (char **)&p, 10);
	if (v == 0 || v > UINT32_MAX || errno == ERANGE)
		return spec_err(err, errlen, "rate overflow in `%s'", s);
	if (*p == 'G')
		v *= 1000ULL * 1000 * 1000;
	else if (*p == 'M')
		v *= 1000ULL * 1000;
	else if (*p == 'K')
		v *= 1000;
	if (*p == 'b' || p[1] == 'b')
		v /= 8;
	*out = v;
	return 0;
}

/* vif_parse_rate_interval_usecs: [0-9]+[mu]?s?; plain number = seconds. */
static int rate_interval(const char *s, uint32_t *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v;

	if (!regex_ok("^[0-9]+[mu]?s?$", s))
		return spec_err(err, errlen, "invalid replenishment interval `%s'", s);
	errno = 0;
	v = strtoull(p, (char **)&p, 10);
	if (v == 0 || v > UINT32_MAX || errno == ERANGE)
		return spec_err(err, errlen, "replenishment interval overflow in `%s'", s);
	if (*p == 's' || *p == '\0')
		v *= 1000 * 1000;
	else if (*p == 'm')
		v *= 1000;
	if (v > UINT32_MAX)
		return spec_err(err, errlen, "replenishment interval overflow in `%s'", s);
	*out = (uint32_t)v;
	return 0;
}

int ts_vif_parse_rate(const char *rate, uint64_t *bytes, uint32_t *usecs, char *err,
		      size_t errlen)
{
	uint64_t bps = 0;
	uint32_t interval = 50000;	/* libxlu_vif.c: default 50 ms */
	char *tmp, *at;
	int rc;

	tmp = strdup(rate);
	if (!tmp)
		return -ENOMEM;
	at = strchr(tmp, '@');
	if (at)
		*at++ = 0;
	if (!*tmp) {
		rc = spec_err(err, errlen, "no rate specified in `%s'", rate);
		goto out;
	}
	rc = rate_bytes_per_sec(tmp, &bps, err, errlen);
	if (rc)
		goto out;
	if (at) {
		rc = rate_interval(at, &interval, err, errlen);
		if (rc)
			goto out;
	}
	if (bps > UINT64_MAX / interval) {
		rc = spec_err(err, errlen, "rate overflow in `%s'", rate);
		goto out;
	}
	*bytes = bps * interval / 1000000;
	*usecs = interval;
out:
	free(tmp);
	return rc;
}

static int replace(char **slot, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *ep;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	*out = strtoul(v, &ep, 10);
	if (errno || *ep || *out > max)
		return -EINVAL;
	return 0;
}

int ts_nic_parse_token(struct ts_nic *n, const char *tok, char *err, size_t errlen)
{
	static const struct { const char *key; size_t off; } strs[] = {
		{ "bridge", offsetof(struct ts_nic, bridge) },
		{ "gatewaydev", offsetof(struct ts_nic, gatewaydev) },
		{ "netdev", offsetof(struct ts_nic, gatewaydev) },	/* deprecated alias */
		{ "ip", offsetof(struct ts_nic, ip) },
		{ "script", offsetof(struct ts_nic, script) },
		{ "backend", offsetof(struct ts_nic, backend) },
		{ "vifname", offsetof(struct ts_nic, ifname) },
		{ "model", offsetof(struct ts_nic, model) },
	};
	const char *eq = strchr(tok, '=');
	size_t klen = eq ? (size_t)(eq - tok) : strlen(tok);
	const char *v = eq ? eq + 1 : NULL;
	unsigned long ul;

	if (!strcmp(tok, "trusted") || !strcmp(tok, "untrusted")) {
		n->trusted = tok[0] == 't' ? TS_TRUE : TS_FALSE;
		return 0;
	}
	if (!v)
		return spec_err(err, errlen, "unrecognized argument `%s'", tok);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strlen(strs[i].key) == klen && !strncmp(tok, strs[i].key, klen))
			return replace((char **)((char *)n + strs[i].off), v);
	if (klen == 4 && !strncmp(tok, "type", 4)) {
		if (!strcmp(v, "vif"))
			return 0;
		if (!strcmp(v, "ioemu"))
			return spec_err(err, errlen, "type=ioemu is not supported by xensim "
					"(no device model)");
		return spec_err(err, errlen, "invalid parameter `type': `%s' (vif or ioemu)", v);
	}
	if (klen == 3 && !strncmp(tok, "mac", 3)) {
		if (ts_parse_mac(v, n->mac))
			return spec_err(err, errlen, "invalid parameter `mac': `%s' "
					"(six hex bytes, xx:xx:xx:xx:xx:xx)", v);
		n->mac_set = true;
		return 0;
	}
	if (klen == 4 && !strncmp(tok, "rate", 4))
		return ts_vif_parse_rate(v, &n->rate_bytes_per_interval, &n->rate_interval_usecs,
					 err, errlen);
	if (klen == 3 && !strncmp(tok, "mtu", 3)) {
		/* the backend's mtu node is an unsigned; 0 would mean "default" */
		if (parse_uint(v, UINT32_MAX, &ul) || !ul)
			return spec_err(err, errlen, "invalid parameter `mtu': `%s'", v);
		n->mtu = (unsigned)ul;
		return 0;
	}
	if (klen == 5 && !strncmp(tok, "devid", 5)) {
		if (parse_uint(v, INT_MAX, &ul))
			return spec_err(err, errlen, "invalid parameter `devid': `%s'", v);
		n->devid = (int)ul;
		return 0;
	}
	if (klen == 5 && !strncmp(tok, "accel", 5))
		return 0;	/* xl: "currently not supported", ignored */
	if (!strncmp(tok, "colo_", 5) || !strncmp(tok, "forwarddev", klen))
		return spec_err(err, errlen, "COLO parameter `%.*s' is not supported by xensim",
				(int)klen, tok);
	return spec_err(err, errlen, "unrecognized argument `%s'", tok);
}

int ts_nic_parse(struct ts_nic *n, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		if (!*tok)
			continue;
		rc = ts_nic_parse_token(n, tok, err, errlen);
		if (rc)
			break;
	}
	free(copy);
	return rc;
}
