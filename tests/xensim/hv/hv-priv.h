/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim hypervisor internals: the layout of the shared state files under
 * DIR/hv/ and the helpers that hv.c (domains, handle slots, reclaim) gives to
 * sim-ops.c (the seam). Every structure here lives in a MAP_SHARED file
 * mapping that several processes use at once; the comment on each field says
 * which lock protects it. Nothing here may block for long while holding a
 * lock, and nothing here may exit or abort: a peer's bug must surface as an
 * error return, never take the simulator down.
 *
 * Locks (always taken in this order, never the other way round):
 *   1. a handle slot's OFD byte lock (who owns the slot; see hv.c)
 *   2. reg->evt_lock   every event-channel table of every domain
 *   3. gnttab->lock    one domain's grant table; two at once in domid order
 */
#ifndef XENSIM_HV_PRIV_H
#define XENSIM_HV_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xen-ops.h"
#include "hv.h"

#define HV_MAGIC 0x78656e68u /* "xenh" */
#define HV_VERSION 1u

/*
 * Grant table size: Xen 4.17's default max_grant_frames is 64
 * (opt_max_grant_frames in xen/common/grant_table.c); a v1 entry is 8 bytes,
 * so 64 frames hold 32768 entries. Refs below GNTTAB_NR_RESERVED_ENTRIES
 * (xen/include/public/grant_table.h) are the toolstack's and never allocated.
 */
#define HV_GNT_FRAMES 64u
#define HV_NR_GRANTS (HV_GNT_FRAMES * XEN_PAGE_SIZE / sizeof(grant_entry_v1_t))
/*
 * Event-channel ports per domain: libxl's default max_event_channels is 1023
 * (docs/man/xl.cfg.5.pod.in), so ports 1..1023 are usable; port 0 is
 * reserved by Xen (evtchn_init allocates it as ECS_RESERVED).
 */
#define HV_NR_PORTS 1024u
/* Handles (gnttab/gntshr/evtchn) open at once in one simulated host. */
#define HV_MAX_SLOTS 1024u
/*
 * Grants one gnttab handle may have mapped at once, and the default of
 * set_max_grants. Linux's gntdev caps one map request at its `limit`
 * parameter (64 * 1024, drivers/xen/gntdev.c); xensim uses that as the
 * per-handle cap, which is stricter.
 */
#define HV_MAX_MAPS 65536u
/*
 * Grants one domain may have shared through gntshr at once: gntalloc's
 * `limit` module parameter, 1024 by default (drivers/xen/gntalloc.c).
 * XENSIM_GNTALLOC_LIMIT plays the module parameter (up to the table size).
 */
#define HV_GNTALLOC_LIMIT 1024u
/* Largest guest memory accepted by hv_domain_create. */
#define HV_MAX_MEM_MIB 65536u

enum hv_kind { HV_KIND_GNTTAB = 1, HV_KIND_GNTSHR, HV_KIND_EVTCHN };
enum hv_slot_state { HV_SLOT_FREE = 0, HV_SLOT_USED };
enum hv_dom_state { HV_DOM_NONE = 0, HV_DOM_LIVE, HV_DOM_DYING };

/* One open handle of any process. state/gen change only under the slot's OFD lock. */
struct hv_slot {
	_Atomic uint32_t state;
	uint32_t gen;		/* bumped at every claim: tells reuses apart */
	uint16_t kind;
	uint16_t domid;
	uint32_t dom_gen;	/* the domain's generation when the handle opened */
	int32_t pid;		/* for humans reading the file; liveness is the lock */
	uint32_t pad;
};

struct hv_dom_rec {
	_Atomic uint32_t state;
	_Atomic uint32_t gen;
	uint32_t mem_pages;
	uint32_t pad;
};

/* DIR/hv/registry */
struct hv_registry {
	uint32_t magic;
	uint32_t version;
	pthread_mutex_t evt_lock;	/* robust, process-shared */
	_Atomic uint32_t fault_seq;	/* bumped by hv_fault_set */
	uint32_t pad;
	struct hv_slot slots[HV_MAX_SLOTS];
	struct hv_dom_rec doms[DOMID_FIRST_RESERVED];
};

/* Per-grant state Xen keeps privately (its "active entry"). Under gnttab->lock. */
struct hv_act {
	uint16_t rd;		/* read-only pins: maps */
	uint16_t wr;		/* writable pins: maps */
	uint16_t owner;		/* gntshr slot + 1 that shared it; 0: ref free */
	uint16_t flags;		/* HV_ACT_* */
	uint32_t owner_gen;
	uint32_t page;		/* frame in the granter's mem */
};
#define HV_ACT_DEFER 1u		/* unshared while mapped: freed by the last unmap */

/* DIR/hv/dom<N>/gnttab */
struct hv_gnttab {
	uint32_t magic;
	uint32_t nr_grants;
	uint32_t mem_pages;
	uint32_t nr_shared;	/* refs allocated by gntshr (gntalloc limit) */
	pthread_mutex_t lock;	/* robust, process-shared */
	uint32_t ref_cursor;	/* next-fit: a freed ref is reused late */
	uint32_t page_cursor;
	grant_entry_v1_t shared[HV_NR_GRANTS];	/* the guest-visible table */
	struct hv_act act[HV_NR_GRANTS];
	uint8_t page_used[];	/* mem_pages bytes */
};

/* One event-channel port. Under reg->evt_lock. */
struct hv_port {
	uint8_t state;		/* enum hv_ecs */
	uint8_t pending;	/* Xen's pending bit, set while masked */
	uint8_t masked;		/* delivered and not yet unmasked */
	uint8_t pad;
	uint16_t remote_dom;
	uint16_t owner;		/* evtchn slot + 1 that bound it */
	uint32_t remote_port;
	uint32_t owner_gen;
	/*
	 * A delivery decided and not yet made: (sender's evtchn slot gen << 32)
	 * | (slot + 1), set with the mask under evt_lock, cleared once the
	 * port is in its owner's FIFO. A sender killed in between leaves it
	 * set; the sweep that reclaims its slot delivers (see hv_evt_redeliver),
	 * since in Xen EVTCHNOP_send cannot half-happen.
	 */
	uint64_t dlv_owed;
};

/* DIR/hv/dom<N>/evtchn */
struct hv_evtchn {
	uint32_t magic;
	uint32_t nr_ports;
	struct hv_port port[HV_NR_PORTS];
};

/* One mapped page of a gnttab handle: DIR/hv/mt/<slot>, indexed by arena page. */
struct hv_mt {
	uint32_t ref;
	uint16_t domid;
	uint16_t flags;		/* HV_MT_* */
	uint32_t count;		/* pages of the mapping (first page only) */
	uint32_t dom_gen;	/* the granter's generation when mapped */
};
#define HV_MT_USED 1u
#define HV_MT_WRITE 2u
#define HV_MT_HEAD 4u

/* Operations a fault knob can fail: "map", "bind", "share", "copy". */
enum hv_fault_op {
	HV_FAULT_MAP, HV_FAULT_BIND, HV_FAULT_SHARE, HV_FAULT_COPY, HV_FAULT_NOTIFY, HV_FAULT_NR
};
/* The knob value "KILL" (not an errno): the process SIGKILLs itself at the op's worst
 * moment (notify: after deciding a delivery, before making it). */
#define HV_FAULT_KILL 4096

/* A domain as mapped by this process (cached, never unmapped once published). */
struct hv_dom {
	domid_t domid;
	uint32_t gen;
	struct hv_gnttab *gt;
	size_t gt_size;
	struct hv_evtchn *ev;
	int mem_fd;
	uint8_t *mem;		/* the whole of mem, for grant copy */
	size_t mem_size;
};

/* This process: its domain, the registry, the caches. */
struct hv_proc {
	char dir[4096];
	int hvfd;		/* DIR/hv, O_PATH */
	ino_t reg_ino;		/* DIR/hv/registry as mapped: a new host makes a new one */
	dev_t reg_dev;
	domid_t domid;
	struct hv_registry *reg;
	_Atomic(struct hv_dom *) *doms;	/* DOMID_FIRST_RESERVED entries */
	/* notifier side: FIFOs of other handles, under fifo_lock (hv.c) */
	int fifo_fd[HV_MAX_SLOTS];
	uint32_t fifo_gen[HV_MAX_SLOTS];
	uint32_t gntalloc_limit;
	/* fault knobs (see docs/xensim-hv.md), re-read when reg->fault_seq moves */
	_Atomic uint32_t fault_seq;
	struct hv_fault {
		_Atomic uint32_t at;	/* fail the at-th call (0: never) */
		_Atomic bool onward;	/* ... and every later one */
		_Atomic int err;	/* with this errno */
		_Atomic uint32_t calls;
	} faults[HV_FAULT_NR];
};

extern struct hv_proc hv_proc;

/* hv.c */
int hv_proc_init(void);
int hv_lock(pthread_mutex_t *m);
void hv_unlock(pthread_mutex_t *m);
struct hv_dom *hv_dom_get(domid_t domid);
bool hv_dom_alive(domid_t domid, uint32_t gen);
int hv_slot_claim(enum hv_kind kind, int *ret_slot, int *ret_lock_fd);
void hv_slot_release(int slot, int lock_fd);
void hv_sweep(void);
int hv_fault_hit(enum hv_fault_op op);
/* Release helpers shared by close and reclaim (hv.c calls them for dead slots). */
void hv_gt_unpin(struct hv_dom *d, uint32_t ref, bool write);
void hv_gt_end_access(struct hv_dom *d, uint32_t ref);
void hv_mt_release(struct hv_mt *mt, uint32_t n);
struct hv_dom *hv_dom_get_any(domid_t domid);
int hv_evt_close_port(struct hv_evtchn *ev, domid_t domid, evtchn_port_t port);
/* A delivery decided under evt_lock, made after it is dropped. */
struct hv_dlv {
	bool go;
	unsigned slot;
	uint32_t gen;
	evtchn_port_t port;
	struct hv_port *owed;	/* its dlv_owed, cleared once sent */
	uint64_t owed_val;
};
void hv_evt_upcall(const struct hv_port *p, evtchn_port_t port, struct hv_dlv *ret);
void hv_evt_send(const struct hv_dlv *v);
void hv_evt_owe(struct hv_port *p, unsigned slot, uint32_t gen, struct hv_dlv *v);
int hv_lock_pair(struct hv_dom *a, struct hv_dom *b);
void hv_unlock_pair(struct hv_dom *a, struct hv_dom *b);

static inline uint16_t hv_flags_load(const grant_entry_v1_t *e)
{
	return __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
}

static inline void hv_flags_store(grant_entry_v1_t *e, uint16_t v)
{
	__atomic_store_n(&e->flags, v, __ATOMIC_RELEASE);
}

#endif
