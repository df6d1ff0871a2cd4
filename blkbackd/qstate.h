/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The restart state of one blkif queue: a small file in the runtime
 * directory (<runtime>/<kind>-<domid>-<devid>-q<N>.state), mapped
 * MAP_SHARED, so that what the worker stored in it survives a SIGKILL of
 * the daemon (the pages live in tmpfs / the page cache, not in the
 * process). A restarted daemon reads it to resume the ring where the dead
 * one left it (docs/blkbackd.md, "Restart and reattach").
 *
 * Layout: a header naming the connection (frontend, queue, ring refs,
 * event channel, ABI: a different connection makes the file stale), the
 * consumer index req_cons, and one entry per request-pool slot (one per ring
 * slot: a frontend cannot have more in flight). An entry holds the raw
 * request bytes as copied off the ring (the one read of the shared slot:
 * the worker parses this private copy), the ring index it came from, and
 * the response index it was given, if any.
 *
 * Ordering (the process may die between any two stores; the file is read
 * only by a later incarnation of us, so the program order of our own stores
 * is all that matters: every store made before the SIGKILL is in the page
 * cache, none after, and only the compiler could reorder them; hence the
 * compiler barrier BLK_QS_ORDER, as for a signal handler):
 *   take:    raw bytes + req_idx, then state TAKEN, then req_cons
 *   answer:  rsp_idx + answered, then the response slot, then (later)
 *            RING_PUSH_RESPONSES, then state FREE
 * A restarted daemon therefore knows every request taken and not yet
 * visibly answered: TAKEN and not (answered with rsp_idx < the ring's
 * rsp_prod). blk_qstate_recover works that out and checks the whole file.
 *
 * Pure except for blk_qstate_create/open/close (files and mappings). No
 * logging, no common/ code: unit tests link it alone. The data-path helpers
 * are inline, allocate nothing and never fail.
 */
#ifndef BLKBACKD_QSTATE_H
#define BLKBACKD_QSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BLK_QSTATE_MAGIC 0x31534b4244444f44ull	/* "DODDBKS1" */
#define BLK_QSTATE_VERSION 1
/* Raw request bytes kept per entry: a slot of any ABI (proto.c's copy
 * buffer is as large). */
#define BLK_QSTATE_RAW 128
/* Ring pages (queue.h BLK_MAX_RING_PAGES, checked there). */
#define BLK_QSTATE_MAX_PAGES 16

/* Orders our own stores into the file against a death of the process. */
#define BLK_QS_ORDER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The connection a state file belongs to. */
struct blk_qstate_id {
	uint32_t domid;		/* the frontend */
	uint32_t devid;
	uint32_t queue;
	uint32_t abi;		/* enum blk_abi */
	uint32_t nr_ring_pages;
	uint32_t nr_ents;	/* ring entries = pool entries = file entries */
	uint32_t slot_size;	/* bytes of one ring slot for the ABI */
	uint32_t remote_port;	/* the frontend's event channel */
	uint32_t ring_refs[BLK_QSTATE_MAX_PAGES];	/* unused ones 0 */
};

/*
 * Every format version starts with magic and version, so that a daemon of
 * another version can tell "not mine" from "not a state file" (an upgrade
 * in place, docs/blkbackd.md).
 */
struct blk_qstate_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;	/* sizeof(struct blk_qstate_hdr) */
	uint32_t ent_size;	/* sizeof(struct blk_qstate_ent) */
	uint32_t id_sum;	/* a checksum of id: a torn or edited header is refused */
	struct blk_qstate_id id;
	uint32_t req_cons;	/* the worker's consumer index */
	uint32_t pad;
};

enum {
	BLK_QS_FREE = 0,
	BLK_QS_TAKEN = 0x454b4154,	/* "TAKE" */
};

struct blk_qstate_ent {
	uint32_t state;		/* BLK_QS_FREE or BLK_QS_TAKEN */
	uint32_t req_idx;	/* ring index the request was taken from */
	uint32_t rsp_idx;	/* response index, valid when answered */
	uint32_t answered;	/* 0 or 1 */
	uint8_t raw[BLK_QSTATE_RAW];
};

/* One mapped state (a file, or anonymous memory when there is no runtime
 * directory: the same code runs, nothing survives). */
struct blk_qstate {
	struct blk_qstate_hdr *hdr;
	struct blk_qstate_ent *ent;
	size_t size;
};

/* What blk_qstate_recover found. */
struct blk_qstate_plan {
	uint32_t req_cons;	/* where to go on consuming */
	unsigned nredo;		/* requests to run again, in redo[] in ring order */
	unsigned answered;	/* taken requests whose answer the frontend has */
};

size_t blk_qstate_size(unsigned nr_ents);

/* Pure: a fresh state (req_cons 0, every entry free) in buf of `size` bytes. */
void blk_qstate_init(void *buf, size_t size, const struct blk_qstate_id *id);
/*
 * Pure: is buf a well-formed state of connection `id`? 0; -EBADMSG when it
 * is not a state file of this format (magic, version, sizes, checksum);
 * -ESTALE when it is one, of another connection (the frontend connected
 * again in between, or another queue).
 */
int blk_qstate_check(const void *buf, size_t size, const struct blk_qstate_id *id);
/*
 * Pure: after blk_qstate_check, decides what a restarted worker does, given
 * the ring's published rsp_prod and req_prod (each read once). Requests
 * answered visibly (rsp_idx < rsp_prod) are freed; the others are to be run
 * again: their pool indices go to redo[] (nr_ents entries) in ring order
 * and their answers are forgotten. Nothing is changed unless the whole file
 * is consistent with the ring: every request to redo taken before req_cons,
 * no ring index taken twice, exactly req_cons - rsp_prod requests not
 * visibly answered, and req_prod no more than a ring ahead of rsp_prod. -EBADMSG otherwise. Running it again
 * on its own result gives the same plan (a crash during recovery is fine).
 */
int blk_qstate_recover(void *buf, size_t size, uint32_t rsp_prod, uint32_t req_prod,
		       uint32_t *redo, struct blk_qstate_plan *ret);

/*
 * A fresh state file at path (written under path.tmp, then renamed), or
 * anonymous memory when path is NULL. -errno.
 */
int blk_qstate_create(struct blk_qstate *s, const char *path, const struct blk_qstate_id *id);
/* Maps an existing file and checks it (blk_qstate_check). -ENOENT, -EBADMSG,
 * -ESTALE or another -errno; nothing stays mapped on failure. */
int blk_qstate_open(struct blk_qstate *s, const char *path, const struct blk_qstate_id *id);
/* Unmaps (the file stays). Safe on a zeroed or closed state. */
void blk_qstate_close(struct blk_qstate *s);

/* --- the worker's stores, in the order the header comment gives --- */

/* Copies ring slot `slot` (len bytes: the only read of it) into entry i. */
static inline const void *blk_qstate_take(struct blk_qstate *s, unsigned i, const void *slot,
					  size_t len, uint32_t req_idx)
{
	struct blk_qstate_ent *e = &s->ent[i];

	memcpy(e->raw, slot, len);
	e->req_idx = req_idx;
	e->answered = 0;
	BLK_QS_ORDER();	/* the copy, and no re-read of the slot past here */
	e->state = BLK_QS_TAKEN;
	BLK_QS_ORDER();
	s->hdr->req_cons = req_idx + 1;
	BLK_QS_ORDER();
	return e->raw;
}

/* Before the response is written into ring slot rsp_idx. */
static inline void blk_qstate_answer(struct blk_qstate *s, unsigned i, uint32_t rsp_idx)
{
	struct blk_qstate_ent *e = &s->ent[i];

	e->rsp_idx = rsp_idx;
	BLK_QS_ORDER();
	e->answered = 1;
	BLK_QS_ORDER();
}

/* After RING_PUSH_RESPONSES published the answer (the caller orders). */
static inline void blk_qstate_free(struct blk_qstate *s, unsigned i)
{
	s->ent[i].state = BLK_QS_FREE;
}

static inline const void *blk_qstate_raw(const struct blk_qstate *s, unsigned i)
{
	return s->ent[i].raw;
}

#endif
