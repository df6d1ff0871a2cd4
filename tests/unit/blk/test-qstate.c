// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/qstate.c: the restart state of a queue. The
 * worker's stores are replayed with the same inline helpers queue.c uses,
 * "crashing" at chosen points, and blk_qstate_recover must name exactly the
 * requests whose answer the frontend cannot see, in ring order; a file that
 * is not consistent (or not ours) is refused and left unchanged. Then the
 * file functions on a temporary directory: create, open, stale, truncated,
 * missing, symlink.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/tap.h"
#include "qstate.h"

#define NENTS 4u

static struct blk_qstate_id test_id(void)
{
	struct blk_qstate_id id = {
		.domid = 5, .devid = 51712, .queue = 0, .abi = 0, .nr_ring_pages = 1,
		.nr_ents = NENTS, .slot_size = 112, .remote_port = 9, .ring_refs = { 8 },
	};

	return id;
}

static struct blk_qstate st;

static void fresh(void)
{
	struct blk_qstate_id id = test_id();

	REQUIRE(blk_qstate_create(&st, NULL, &id) == 0);
}

/* The worker's steps, as queue.c makes them. */
static void take(unsigned ent, uint32_t idx)
{
	uint8_t slot[112];

	memset(slot, (int)idx, sizeof(slot));
	blk_qstate_take(&st, ent, slot, sizeof(slot), idx);
}

static void answer_publish_free(unsigned ent, uint32_t rsp_idx)
{
	blk_qstate_answer(&st, ent, rsp_idx);
	blk_qstate_free(&st, ent);
}

static void test_check(void)
{
	struct blk_qstate_id id = test_id(), other = id;
	size_t size = blk_qstate_size(NENTS);
	uint8_t *buf = malloc(size);

	REQUIRE(buf);
	blk_qstate_init(buf, size, &id);
	CHECK(blk_qstate_check(buf, size, &id) == 0);
	other.ring_refs[0] = 99;
	CHECK(blk_qstate_check(buf, size, &other) == -ESTALE);
	other = id;
	other.remote_port = 10;
	CHECK(blk_qstate_check(buf, size, &other) == -ESTALE);
	CHECK(blk_qstate_check(buf, size - 1, &id) == -EBADMSG);
	CHECK(blk_qstate_check(buf, 16, &id) == -EBADMSG);
	/* An edited id whose checksum was not fixed. */
	((struct blk_qstate_hdr *)buf)->id.ring_refs[0] = 7;
	CHECK(blk_qstate_check(buf, size, &id) == -EBADMSG);
	blk_qstate_init(buf, size, &id);
	buf[0] ^= 1;
	CHECK(blk_qstate_check(buf, size, &id) == -EBADMSG);
	blk_qstate_init(buf, size, &id);
	((struct blk_qstate_hdr *)buf)->version = 2;
	CHECK(blk_qstate_check(buf, size, &id) == -EBADMSG);
	free(buf);
}

/* 0..3 taken, 1 and 3 answered and published, 2 answered but not published. */
static void test_recover_basic(void)
{
	struct blk_qstate_plan plan;
	uint32_t redo[NENTS];

	fresh();
	take(0, 0);
	take(1, 1);
	take(2, 2);
	take(3, 3);
	answer_publish_free(1, 0);
	blk_qstate_answer(&st, 3, 1);	/* published (rsp_prod 2), not yet freed */
	blk_qstate_answer(&st, 2, 2);	/* written, never published */
	REQUIRE(blk_qstate_recover(st.hdr, st.size, 2, 4, redo, &plan) == 0);
	CHECK(plan.req_cons == 4);
	CHECK(plan.nredo == 2);
	CHECK(plan.answered == 1);
	CHECK(redo[0] == 0 && redo[1] == 2);
	CHECK(st.ent[3].state == BLK_QS_FREE && st.ent[1].state == BLK_QS_FREE);
	CHECK(st.ent[2].state == BLK_QS_TAKEN && st.ent[2].answered == 0);
	CHECK(((const uint8_t *)blk_qstate_raw(&st, 2))[0] == 2);	/* the copy kept */
	/* Again on its own result (a crash during recovery): the same plan. */
	REQUIRE(blk_qstate_recover(st.hdr, st.size, 2, 4, redo, &plan) == 0);
	CHECK(plan.req_cons == 4 && plan.nredo == 2 && plan.answered == 0);
	CHECK(redo[0] == 0 && redo[1] == 2);
	blk_qstate_close(&st);
}

/* Killed after the entry was marked taken, before req_cons was stored. */
static void test_recover_cons_behind(void)
{
	struct blk_qstate_plan plan;
	uint32_t redo[NENTS];

	fresh();
	take(0, 0);
	take(1, 1);
	st.hdr->req_cons = 1;
	REQUIRE(blk_qstate_recover(st.hdr, st.size, 0, 3, redo, &plan) == 0);
	CHECK(plan.req_cons == 2);
	CHECK(plan.nredo == 2 && redo[0] == 0 && redo[1] == 1);
	CHECK(st.hdr->req_cons == 2);
	blk_qstate_close(&st);
}

/* Killed while copying: the entry is not taken, the slot is read again. */
static void test_recover_not_taken(void)
{
	struct blk_qstate_plan plan;
	uint32_t redo[NENTS];

	fresh();
	take(0, 0);
	memset(st.ent[1].raw, 0xee, 16);	/* half a copy, still free */
	REQUIRE(blk_qstate_recover(st.hdr, st.size, 0, 2, redo, &plan) == 0);
	CHECK(plan.req_cons == 1 && plan.nredo == 1 && redo[0] == 0);
	blk_qstate_close(&st);
}

/*
 * A request stays in flight while many after it are answered (more than a
 * ring's worth), with the indices wrapping at 2^32: redo in ring order.
 */
static void test_recover_old_request_and_wrap(void)
{
	struct blk_qstate_plan plan;
	uint32_t redo[NENTS], base = UINT32_MAX - 5, rsp = base, i;

	fresh();
	st.hdr->req_cons = base;
	take(2, base);			/* the slow one */
	for (i = 1; i <= 20; i++) {
		take(0, base + i);
		answer_publish_free(0, rsp++);
	}
	take(3, base + 21);
	take(0, base + 22);
	take(1, base + 23);
	blk_qstate_answer(&st, 3, rsp);	/* not published */
	REQUIRE(blk_qstate_recover(st.hdr, st.size, rsp, base + 24, redo, &plan) == 0);
	CHECK(plan.req_cons == base + 24);
	CHECK(plan.nredo == 4);
	CHECK(redo[0] == 2 && redo[1] == 3 && redo[2] == 0 && redo[3] == 1);
	blk_qstate_close(&st);
}

/* Inconsistent files are refused and left as they were. */
static void refused(const char *what, uint32_t rsp_prod, uint32_t req_prod)
{
	struct blk_qstate_plan plan;
	uint32_t redo[NENTS];
	uint8_t *before = malloc(st.size);

	if (!before)
		return;
	memcpy(before, st.hdr, st.size);
	if (blk_qstate_recover(st.hdr, st.size, rsp_prod, req_prod, redo, &plan) != -EBADMSG)
		printf("# %s: not refused\n", what), tap_case_failed = true;
	if (memcmp(before, st.hdr, st.size))
		printf("# %s: changed\n", what), tap_case_failed = true;
	free(before);
}

static void test_recover_refuses(void)
{
	fresh();
	take(0, 0);
	take(1, 1);
	refused("more answered than possible", 3, 3);
	st.hdr->req_cons = 3;	/* 3 taken, 2 in the file */
	refused("count mismatch", 0, 3);
	st.hdr->req_cons = 2;
	refused("producer more than a ring ahead", 0, 2 + NENTS + 1);
	st.ent[1].req_idx = 0;	/* the same slot twice */
	refused("duplicate index", 0, 2);
	st.ent[1].req_idx = 7;	/* taken after the consumer index */
	refused("index past req_cons", 0, 2);
	st.ent[1].req_idx = 1;
	st.ent[1].state = 0x1234;
	refused("bad state", 0, 2);
	st.ent[1].state = BLK_QS_TAKEN;
	st.ent[1].answered = 2;
	refused("bad answered flag", 0, 2);
	blk_qstate_close(&st);
}

static char dir[] = "/tmp/blk-qstate-XXXXXX";

static void test_files(void)
{
	struct blk_qstate_id id = test_id(), other = id;
	struct blk_qstate s;
	char path[256], link[256];

	snprintf(path, sizeof(path), "%s/vbd-5-51712-q0.state", dir);
	snprintf(link, sizeof(link), "%s/link.state", dir);
	CHECK(blk_qstate_open(&s, path, &id) == -ENOENT);
	REQUIRE(blk_qstate_create(&s, path, &id) == 0);
	s.hdr->req_cons = 42;
	blk_qstate_close(&s);
	REQUIRE(blk_qstate_open(&s, path, &id) == 0);
	CHECK(s.hdr->req_cons == 42);	/* what the dead process stored */
	blk_qstate_close(&s);
	other.remote_port = 77;
	CHECK(blk_qstate_open(&s, path, &other) == -ESTALE);
	CHECK(s.hdr == NULL);
	CHECK(symlink(path, link) == 0);
	CHECK(blk_qstate_open(&s, link, &id) == -ELOOP);
	CHECK(truncate(path, 100) == 0);
	CHECK(blk_qstate_open(&s, path, &id) == -EBADMSG);
	/* A fresh create replaces whatever was there. */
	REQUIRE(blk_qstate_create(&s, path, &id) == 0);
	CHECK(s.hdr->req_cons == 0);
	blk_qstate_close(&s);
	CHECK(blk_qstate_open(&s, path, &id) == 0);
	blk_qstate_close(&s);
	unlink(link);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	tap_run("/qstate/check", test_check);
	tap_run("/qstate/recover_basic", test_recover_basic);
	tap_run("/qstate/recover_cons_behind", test_recover_cons_behind);
	tap_run("/qstate/recover_not_taken", test_recover_not_taken);
	tap_run("/qstate/recover_old_request_and_wrap", test_recover_old_request_and_wrap);
	tap_run("/qstate/recover_refuses", test_recover_refuses);
	tap_run("/qstate/files", test_files);
	rmdir(dir);
	return tap_done();
}
