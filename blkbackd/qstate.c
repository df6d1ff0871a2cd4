// SPDX-License-Identifier: GPL-2.0-only
/*
 * The restart state of a blkif queue (see qstate.h): encoding, checks and
 * recovery as pure functions over a buffer, and the file that holds it.
 *
 * Everything read back from a file is treated as hostile input: the file
 * may be truncated, of an older format, of another connection, or edited.
 * The checks here refuse all of that with an error; they never trust an
 * index before bounding it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qstate.h"

_Static_assert(sizeof(struct blk_qstate_hdr) % 8 == 0, "entries stay aligned");
_Static_assert(sizeof(struct blk_qstate_ent) == 16 + BLK_QSTATE_RAW, "no padding");

size_t blk_qstate_size(unsigned nr_ents)
{
	return sizeof(struct blk_qstate_hdr) + (size_t)nr_ents * sizeof(struct blk_qstate_ent);
}

/* FNV-1a over the id: catches a torn or hand-edited header. */
static uint32_t id_sum(const struct blk_qstate_id *id)
{
	const uint8_t *p = (const uint8_t *)id;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*id); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void blk_qstate_init(void *buf, size_t size, const struct blk_qstate_id *id)
{
	struct blk_qstate_hdr *h = buf;

	memset(buf, 0, size);
	h->magic = BLK_QSTATE_MAGIC;
	h->version = BLK_QSTATE_VERSION;
	h->hdr_size = sizeof(*h);
	h->ent_size = sizeof(struct blk_qstate_ent);
	h->id = *id;
	h->id_sum = id_sum(id);
}

int blk_qstate_check(const void *buf, size_t size, const struct blk_qstate_id *id)
{
	const struct blk_qstate_hdr *h = buf;

	if (size < sizeof(*h) || h->magic != BLK_QSTATE_MAGIC ||
	    h->version != BLK_QSTATE_VERSION || h->hdr_size != sizeof(*h) ||
	    h->ent_size != sizeof(struct blk_qstate_ent) || h->id_sum != id_sum(&h->id))
		return -EBADMSG;
	/* The id is ours, so its nr_ents is bounded by what we asked for. */
	if (memcmp(&h->id, id, sizeof(*id)) != 0)
		return -ESTALE;
	if (size != blk_qstate_size(id->nr_ents))
		return -EBADMSG;
	return 0;
}

/* Signed distance a - b of two free-running ring indices. */
static int32_t idx_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static bool published(const struct blk_qstate_ent *e, uint32_t rsp_prod)
{
	return e->answered == 1 && idx_diff(rsp_prod, e->rsp_idx) > 0;
}

/*
 * The consumer index: the one persisted, or one past it when the process
 * died between marking an entry taken and storing req_cons.
 */
static int find_cons(const struct blk_qstate_hdr *h, const struct blk_qstate_ent *ent,
		     uint32_t rsp_prod, uint32_t *ret)
{
	uint32_t cons = h->req_cons, i;
	unsigned ahead = 0;

	for (i = 0; i < h->id.nr_ents; i++) {
		const struct blk_qstate_ent *e = &ent[i];

		if (e->state != BLK_QS_FREE && e->state != BLK_QS_TAKEN)
			return -EBADMSG;
		if (e->answered > 1)
			return -EBADMSG;
		if (e->state == BLK_QS_TAKEN && !published(e, rsp_prod) && e->req_idx == cons)
			ahead++;
	}
	if (ahead > 1)
		return -EBADMSG;
	*ret = cons + ahead;
	return 0;
}

/* Insertion sort of pool indices by ring order (n is at most a ring). */
static void sort_ring_order(uint32_t *redo, unsigned n, const struct blk_qstate_ent *ent,
			    uint32_t cons)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		uint32_t x = redo[i];
		int32_t key = idx_diff(ent[x].req_idx, cons);

		for (j = i; j > 0 && idx_diff(ent[redo[j - 1]].req_idx, cons) > key; j--)
			redo[j] = redo[j - 1];
		redo[j] = x;
	}
}

int blk_qstate_recover(void *buf, size_t size, uint32_t rsp_prod, uint32_t req_prod,
		       uint32_t *redo, struct blk_qstate_plan *ret)
{
	struct blk_qstate_hdr *h = buf;
	struct blk_qstate_ent *ent = (struct blk_qstate_ent *)(h + 1);
	uint32_t n = h->id.nr_ents, cons, i;
	unsigned nredo = 0, answered = 0;
	int r;

	if (size != blk_qstate_size(n) || n == 0)
		return -EBADMSG;
	r = find_cons(h, ent, rsp_prod, &cons);
	if (r < 0)
		return r;
	/*
	 * Answers never pass requests, and the frontend may not be more than a
	 * ring ahead of the answers (RING_REQUEST_PROD_OVERFLOW, xen/io/ring.h).
	 */
	if ((uint32_t)(cons - rsp_prod) > n || (uint32_t)(req_prod - cons) > n ||
	    (uint32_t)(req_prod - rsp_prod) > n)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		const struct blk_qstate_ent *e = &ent[i];

		if (e->state != BLK_QS_TAKEN)
			continue;
		if (published(e, rsp_prod)) {
			answered++;
			continue;
		}
		/* Taken before cons (a request may stay in flight while
		 * thousands after it are answered: no tighter bound). */
		if (idx_diff(e->req_idx, cons) >= 0)
			return -EBADMSG;
		redo[nredo++] = i;
	}
	/* Every request taken and not visibly answered is here, once. */
	if (nredo != (uint32_t)(cons - rsp_prod))
		return -EBADMSG;
	sort_ring_order(redo, nredo, ent, cons);
	for (i = 1; i < nredo; i++)
		if (ent[redo[i]].req_idx == ent[redo[i - 1]].req_idx)
			return -EBADMSG;
	/* Consistent: apply. */
	for (i = 0; i < n; i++) {
		struct blk_qstate_ent *e = &ent[i];

		if (e->state != BLK_QS_TAKEN)
			continue;
		if (published(e, rsp_prod))
			e->state = BLK_QS_FREE;
		else
			e->answered = 0;	/* its answer was never seen: it gets a new one */
	}
	h->req_cons = cons;
	ret->req_cons = cons;
	ret->nredo = nredo;
	ret->answered = answered;
	return 0;
}

/* --- the file --- */

static int map_fd(struct blk_qstate *s, int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	s->hdr = p;
	s->ent = (struct blk_qstate_ent *)(s->hdr + 1);
	s->size = size;
	return 0;
}

static int create_anon(struct blk_qstate *s, const struct blk_qstate_id *id)
{
	size_t size = blk_qstate_size(id->nr_ents);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	s->hdr = p;
	s->ent = (struct blk_qstate_ent *)(s->hdr + 1);
	s->size = size;
	blk_qstate_init(p, size, id);
	return 0;
}

int blk_qstate_create(struct blk_qstate *s, const char *path, const struct blk_qstate_id *id)
{
	size_t size = blk_qstate_size(id->nr_ents);
	char tmp[PATH_MAX];
	int fd, r;

	memset(s, 0, sizeof(*s));
	if (!path)
		return create_anon(s, id);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (!r)
		r = map_fd(s, fd, size);
	close(fd);
	if (r < 0)
		goto err_unlink;
	blk_qstate_init(s->hdr, size, id);
	/* Complete before it has the name a restart looks for. */
	if (rename(tmp, path) < 0) {
		r = -errno;
		blk_qstate_close(s);
		goto err_unlink;
	}
	return 0;
err_unlink:
	unlink(tmp);
	return r;
}

int blk_qstate_open(struct blk_qstate *s, const char *path, const struct blk_qstate_id *id)
{
	struct stat st;
	int fd, r;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	/* Written by a blkbackd of another format version: refused as such, never read. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= sizeof(struct blk_qstate_hdr)) {
		struct blk_qstate_hdr h;

		if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    h.magic == BLK_QSTATE_MAGIC && h.version != BLK_QSTATE_VERSION) {
			r = -EPROTONOSUPPORT;
			goto out;
		}
	}
	/* Before mapping: a short file would fault on access. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != blk_qstate_size(id->nr_ents)) {
		r = -EBADMSG;
		goto out;
	}
	r = map_fd(s, fd, (size_t)st.st_size);
	if (r < 0)
		goto out;
	r = blk_qstate_check(s->hdr, s->size, id);
	if (r < 0)
		blk_qstate_close(s);
out:
	close(fd);
	return r;
}

void blk_qstate_close(struct blk_qstate *s)
{
	if (s->hdr)
		munmap(s->hdr, s->size);
	memset(s, 0, sizeof(*s));
}
