/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A vif's guest-controlled steering state: the hash configuration set over
 * the control ring (xen/include/public/io/netif.h "Control ring", "Hash
 * types", "Hash algorithms", "Control messages"; Linux xen-netback hash.c
 * and netback.c process_ctrl_request) and the multicast filter set with
 * XEN_NETIF_EXTRA_TYPE_MCAST_{ADD,DEL} (netif.h feature-multicast-control;
 * Linux netback.c xenvif_mcast_*).
 *
 * Threads: each structure has ONE writer (struct nb_hash: the thread that
 * runs the vif's control ring; struct nb_mcast: the vif's TX worker, which
 * parses the requests carrying the extras) and any number of readers (the
 * data-path workers) that take no lock. Every field a reader loads is a
 * relaxed atomic, every value ever stored is valid on its own (a mapping
 * entry is checked < nqueues before it is stored, a size is <= its array,
 * an index is reduced modulo a size read once), so a reader racing an
 * update sees some mix of old and new values, each harmless: a packet
 * steered by half a new key or half a new table still lands on a real
 * queue. Nothing here blocks, allocates or logs.
 *
 * Fuzzed by tests/fuzz/fuzz-netif-ctrl.c.
 */
#ifndef NETBACKD_CTRL_H
#define NETBACKD_CTRL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"	/* common/: barriers, then <xen/io/ring.h> */
#include <xen/io/netif.h>

/* Key octets kept: Linux XEN_NETBK_MAX_HASH_KEY_SIZE (a longer key is
 * XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, netif.h SET_HASH_KEY). */
#define NB_HASH_KEY_MAX 40
/* Mapping-table entries: Linux XEN_NETBK_MAX_HASH_MAPPING_SIZE, answered to
 * XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE. */
#define NB_HASH_MAPPING_MAX 128
/* The hash types computed (all four netif.h defines), answered to
 * XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS. */
#define NB_HASH_TYPES_ALL                                                      \
	(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |   \
	 XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
/* Multicast addresses a frontend may register: Linux XEN_NETBK_MCAST_MAX. */
#define NB_MCAST_MAX 64

struct nb_hash {
	/* Shared with the readers (relaxed atomics). */
	_Atomic uint32_t alg;		/* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
	_Atomic uint32_t flags;		/* XEN_NETIF_CTRL_HASH_TYPE_* enabled */
	_Atomic uint32_t key[NB_HASH_KEY_MAX / 4];	/* octets in memory order */
	_Atomic uint32_t size;		/* mapping entries in use, <= NB_HASH_MAPPING_MAX */
	_Atomic uint32_t mapping[NB_HASH_MAPPING_MAX];	/* queue numbers, each < nqueues */
	/*
	 * The writer's own: where a key or a (sub-)table lands from the
	 * guest's grant before it is checked and published. Readers never
	 * look at it.
	 */
	union {
		uint8_t key[NB_HASH_KEY_MAX];
		uint32_t mapping[NB_HASH_MAPPING_MAX];
	} stage;
};

/* Defaults (netif.h): no algorithm, no types, a zero key, no table. Not
 * for a struct readers are using (plain stores to the staging area). */
void nb_hash_init(struct nb_hash *h);

/*
 * The Toeplitz hash of buf[0..len) under key[0..keylen), key octets past
 * keylen counting as 0 (netif.h "Toeplitz hash", its reference
 * xen_netif_toeplitz_hash). Pure.
 */
uint32_t nb_toeplitz(const uint8_t *key, unsigned keylen, const uint8_t *buf, unsigned len);

/*
 * Hashes the Ethernet frame whose first `len` bytes are at `frame` (the
 * contiguous head the caller has, e.g. the first mbuf segment), with at
 * most one VLAN tag (0x8100 or 0x88a8), as netif.h "Hash types" and Linux
 * xenvif_set_skb_hash define it: the most specific enabled type wins
 * (IPv4+TCP over IPv4, IPv6+TCP over IPv6, netif.h SET_HASH_FLAGS note).
 * The TCP types need a TCP header that is not in a fragment (Linux: no
 * FLOW_DIS_IS_FRAGMENT), its ports inside `len`; IPv6 extension headers
 * (hop-by-hop, routing, destination options) are walked, a fragment header
 * makes it L3-only. Returns false (nothing written) when the algorithm is
 * NONE, no enabled type applies, or the headers are cut short; else the
 * hash in *ret_hash and the _XEN_NETIF_CTRL_HASH_TYPE_* number (the value
 * a XEN_NETIF_EXTRA_TYPE_HASH extra carries) in *ret_type. Reader-safe.
 */
bool nb_hash_frame(const struct nb_hash *h, const uint8_t *frame, size_t len,
		   uint32_t *ret_hash, uint8_t *ret_type);

/*
 * The queue the frontend's table maps `hash` to: mapping[hash % size], or 0
 * when it has no table (size 0). Always < the nqueues the entries were
 * checked against. Reader-safe (size is read once).
 */
unsigned nb_hash_queue(const struct nb_hash *h, uint32_t hash);

/*
 * The whole netif.h rule for steering a hashed packet: the table when the
 * frontend set one, else "modular arithmetic" (SET_HASH_MAPPING_SIZE with
 * 0; Linux xenvif_select_queue: hash % real_num_tx_queues). Returns a
 * queue < nqueues (0 when nqueues is 0). Reader-safe.
 */
unsigned nb_hash_select(const struct nb_hash *h, uint32_t hash, unsigned nqueues);

/*
 * Copies len bytes at offset `offset` of the guest's grant `ref` to dst;
 * returns 0 or -errno. nb_ctrl_* call it with offset + len <= 4096 and with
 * dst .. dst+len inside one 4 KiB page of local memory, so one GNTTABOP_copy
 * segment always suffices (Linux hash.c splits a table copy in two at the
 * destination's page boundary the same way).
 */
typedef int (*nb_ctrl_copy_fn)(void *opaque, grant_ref_t ref, uint16_t offset, void *dst,
			       uint16_t len);

/*
 * Carries out one control request against h for a vif with nqueues queues
 * (the writer's side) and fills every field of *rsp: id and type echoed,
 * status XEN_NETIF_CTRL_STATUS_*, data. The hash messages behave as Linux
 * hash.c; a failed copy is INVALID_PARAMETER and changes nothing; the
 * static-grant messages (GET_GREF_MAPPING_SIZE, ADD/DEL_GREF_MAPPING) and
 * unknown types are NOT_SUPPORTED with data 0 (as Linux, which has none).
 */
void nb_ctrl_handle(struct nb_hash *h, unsigned nqueues, const struct xen_netif_ctrl_request *req,
		    struct xen_netif_ctrl_response *rsp, nb_ctrl_copy_fn copy, void *opaque);

/*
 * Serves the control ring r: takes up to `budget` requests (common/ring.h
 * rules: one req_prod snapshot per pass, RING_COPY_REQUEST of each slot
 * once), answers each with nb_ctrl_handle, pushes the responses
 * (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: *ret_notify is set when the
 * frontend wants an event) and, with budget left, re-arms with
 * RING_FINAL_CHECK_FOR_REQUESTS and goes on with what raced in. Returns the
 * number handled; when that is `budget`, more may be waiting and the
 * caller calls again. -EPROTO when the frontend's producer is impossible
 * (more than a ring ahead): close the vif. *ret_notify is valid either way.
 */
/*
 * The control requests of the last pass, each copied before its slot took
 * its response (a response is written over its request; the guest sees it
 * only at the push). In the vif's state file, so that a restarted daemon
 * can write back what its predecessor's death left half-answered
 * (nb_ctrl_journal_restore). `n` counts the copies made.
 */
#define NB_CTRL_JOURNAL_SLOTS 128	/* __CONST_RING_SIZE(xen_netif_ctrl, 4096) */

/* Orders our stores into a state file against our own death: the file is
 * read only by a later incarnation of us, so program order is all that
 * matters, as for a signal handler (blkbackd's qstate.h, BLK_QS_ORDER). */
#define NB_JOURNAL_ORDER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The slots a ring journal may write back at a reattach: all n of them when
 * the pass they came from was never pushed (the ring's rsp_prod is still at
 * `start`) and the guest posted at least that many; else none (pushed, being
 * written, or claiming more than the guest posted). */
static inline unsigned nb_journal_slots(uint32_t start, uint32_t n, unsigned cap, RING_IDX rsp,
					RING_IDX req, unsigned ring_size)
{
	if (n == 0 || n > cap || n > ring_size || start != rsp || (RING_IDX)(req - rsp) < n)
		return 0;
	return n;
}
struct nb_ctrl_journal {
	uint32_t start, n;
	union xen_netif_ctrl_sring_entry e[NB_CTRL_JOURNAL_SLOTS];
};

int nb_ctrl_ring_process(xen_netif_ctrl_back_ring_t *r, struct nb_hash *h, unsigned nqueues,
			 nb_ctrl_copy_fn copy, void *opaque, unsigned budget, bool *ret_notify,
			 struct nb_ctrl_journal *j);	/* j may be NULL */

/* At a reattach, with r attached at the ring's rsp_prod: writes the
 * journal's requests back into their slots if their responses were never
 * pushed. Returns the slots written back. */
unsigned nb_ctrl_journal_restore(xen_netif_ctrl_back_ring_t *r, const struct nb_ctrl_journal *j);

/*
 * The hash state as a versioned, checksummed blob for the restart state
 * file. nb_hash_export writes it to buf when it fits in n and returns its
 * length either way (snprintf-like: call with n 0 to size a buffer).
 * nb_hash_import loads one: 0, or -EBADMSG (wrong magic, version, length,
 * checksum or value) or -ERANGE (a table entry >= nqueues, e.g. the
 * frontend came back with fewer queues); on error h is left at the
 * defaults of nb_hash_init. Neither is for a struct readers are using.
 */
size_t nb_hash_export(const struct nb_hash *h, void *buf, size_t n);
int nb_hash_import(struct nb_hash *h, unsigned nqueues, const void *buf, size_t n);

/*
 * The frontend's multicast filter (netif.h "request-multicast-control";
 * Linux xenvif_mcast_*): the multicast frames a vif wants. Each entry is
 * one 64-bit atomic (0 free, else NB_MCAST_USED | the address), so a
 * reader sees an entry whole or not at all.
 */
struct nb_mcast {
	_Atomic uint64_t entry[NB_MCAST_MAX];
	unsigned count;		/* the writer's own: entries used */
};

void nb_mcast_init(struct nb_mcast *m);

/*
 * Adds addr. -ENOSPC with NB_MCAST_MAX entries in use (Linux "Too many
 * multicast addresses"), -EINVAL when addr is not a multicast address (its
 * I/G bit clear; Linux does not check, but such an entry could never match
 * a multicast frame). As Linux, adding an address twice uses two entries
 * and it stays until deleted twice. Writer only.
 */
int nb_mcast_add(struct nb_mcast *m, const uint8_t addr[6]);

/* Removes one entry equal to addr, if any (Linux answers OKAY either way).
 * Writer only. */
void nb_mcast_del(struct nb_mcast *m, const uint8_t addr[6]);

/* Whether addr is registered. Reader-safe. The caller asks only for
 * multicast frames; broadcast is not filtered (Linux checks
 * PACKET_MULTICAST only). */
bool nb_mcast_match(const struct nb_mcast *m, const uint8_t addr[6]);

/*
 * A hash state or filter found in a restarted daemon's state file (vif.h):
 * 0 when every field is one this module could have stored (algorithm,
 * types, size, every mapping entry < nqueues; entries in the filter's
 * format, whose count is recomputed), -EBADMSG otherwise. Writer's thread,
 * before any reader starts.
 */
int nb_hash_restore(struct nb_hash *h, unsigned nqueues);
int nb_mcast_restore(struct nb_mcast *m);

#endif
