// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim's hypervisor state: the registry of domains and open handles, the
 * per-domain files (memory, grant table, event-channel table), domain
 * create/destroy, and the reclaim of handles whose process died.
 *
 * Runs in whatever thread calls into the seam (sim-ops.c) or the toolstack.
 * Shared state is protected by process-shared robust mutexes and by one OFD
 * byte lock per handle slot (see hv-priv.h for the lock order). Every
 * failure is a negative errno; nothing here exits, aborts or blocks waiting
 * for another process other than on a short critical section.
 *
 * Liveness of handles: each open handle owns slot s of the registry and holds
 * an OFD write lock on byte s of DIR/hv/registry through its own open file
 * description. The kernel drops that lock when the last descriptor of that
 * description goes away, i.e. when the process exits or is SIGKILLed (or
 * closes the handle). A sweep tries to take the byte lock of every used slot
 * through a fresh description: success means the owner is gone, and the
 * sweeper reclaims what the slot held (grant pins, shared grants, ports)
 * before freeing it. Sweeps run at every handle open, before domain destroy
 * and when a bind finds its remote port still held.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv-priv.h"

struct hv_proc hv_proc = { .hvfd = -1 };
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fifo_lock = PTHREAD_MUTEX_INITIALIZER;

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

int hv_lock(pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);

	/* The holder died inside a short critical section: carry on. */
	if (r == EOWNERDEAD)
		r = pthread_mutex_consistent(m);
	return -r;
}

void hv_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

static int init_shared_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r;

	pthread_mutexattr_init(&a);
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!r)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!r)
		r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

static void *map_fd(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *map_file(int dirfd, const char *name, size_t size, int *ret_fd)
{
	int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
	struct stat st;
	void *p = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= size)
		p = map_fd(fd, size);
	if (ret_fd && p)
		*ret_fd = fd;
	else
		close(fd);
	return p;
}

static size_t gnttab_size(uint32_t mem_pages)
{
	return sizeof(struct hv_gnttab) + mem_pages;
}

/* ---- the process context ---- */

/*
 * Opens DIR/hv/registry below hvfd (creating and initialising it when
 * `create`) and maps it. Creation is serialised with flock, which is
 * independent of the OFD byte locks the handle slots use.
 */
static int registry_map(int hvfd, bool create, struct hv_registry **ret, struct stat *st)
{
	struct hv_registry *reg = NULL;
	int r = 0, fd;

	fd = openat(hvfd, "registry", O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
	if (fd < 0)
		return neg_errno();
	if (flock(fd, LOCK_EX) || fstat(fd, st))
		r = neg_errno();
	else if (st->st_size == 0 && !create)
		r = -ENOENT;
	else if (st->st_size != 0 && (size_t)st->st_size < sizeof(*reg))
		r = -EPROTO;
	else if (st->st_size == 0 && ftruncate(fd, sizeof(*reg)))
		r = neg_errno();
	else if (!(reg = map_fd(fd, sizeof(*reg))))
		r = neg_errno();
	if (!r && st->st_size == 0) {
		r = init_shared_mutex(&reg->evt_lock);
		reg->version = HV_VERSION;
		__atomic_store_n(&reg->magic, HV_MAGIC, __ATOMIC_RELEASE);
	}
	if (!r && (__atomic_load_n(&reg->magic, __ATOMIC_ACQUIRE) != HV_MAGIC ||
		   reg->version != HV_VERSION))
		r = -EPROTO;
	/* Explicitly: the mapping keeps the description, and with it a flock, alive. */
	flock(fd, LOCK_UN);
	close(fd);
	if (r && reg)
		munmap(reg, sizeof(*reg));
	if (!r)
		*ret = reg;
	return r;
}

/* Called with proc_lock held: forget the previous host's caches, adopt this one. */
static void proc_adopt(const char *dir, int hvfd, struct hv_registry *reg, const struct stat *st)
{
	for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++)
		atomic_store(&hv_proc.doms[i], NULL);	/* old mappings leak: rare */
	pthread_mutex_lock(&fifo_lock);
	for (unsigned i = 0; i < HV_MAX_SLOTS; i++) {
		if (hv_proc.fifo_fd[i] > 0)
			close(hv_proc.fifo_fd[i]);
		hv_proc.fifo_fd[i] = 0;
	}
	pthread_mutex_unlock(&fifo_lock);
	if (hv_proc.hvfd >= 0)
		close(hv_proc.hvfd);
	hv_proc.hvfd = hvfd;
	hv_proc.reg = reg;
	hv_proc.reg_ino = st->st_ino;
	hv_proc.reg_dev = st->st_dev;
	strcpy(hv_proc.dir, dir);
	hv_proc.fault_seq = atomic_load(&reg->fault_seq) - 1; /* read knobs at first use */
}

/*
 * Point this process at host directory `dir` (creating DIR/hv and its
 * registry when `create`). Called with proc_lock held.
 */
static int proc_setup(const char *dir, bool create)
{
	struct hv_registry *reg;
	struct stat st;
	char path[4200];
	int hvfd, r;

	if (strlen(dir) >= sizeof(hv_proc.dir))
		return -ENAMETOOLONG;
	/* Same host as before, unless a new `xensim up` recreated DIR/hv. */
	snprintf(path, sizeof(path), "%s/hv/registry", dir);
	if (hv_proc.reg && !strcmp(hv_proc.dir, dir) && !stat(path, &st) &&
	    st.st_ino == hv_proc.reg_ino && st.st_dev == hv_proc.reg_dev)
		return 0;
	if (!hv_proc.doms && !(hv_proc.doms = calloc(DOMID_FIRST_RESERVED, sizeof(*hv_proc.doms))))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/hv", dir);
	if (create && mkdir(path, 0755) && errno != EEXIST)
		return neg_errno();
	hvfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hvfd < 0)
		return neg_errno();
	if (create && ((mkdirat(hvfd, "evt", 0755) && errno != EEXIST) ||
		       (mkdirat(hvfd, "mt", 0755) && errno != EEXIST)))
		r = neg_errno();
	else
		r = registry_map(hvfd, create, &reg, &st);
	if (r) {
		close(hvfd);
		return r;
	}
	proc_adopt(dir, hvfd, reg, &st);
	return 0;
}

/* An unsigned environment variable in [0, max], else `def`. */
static unsigned long env_uint(const char *name, unsigned long def, unsigned long max)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno || *end || v > max ? def : v;
}

/*
 * The seam's entry: find this process's domain from XENSIM_DIR and
 * XENSIM_DOMID (re-read at every open so that a forked test child can
 * become another domain).
 */
int hv_proc_init(void)
{
	static atomic_bool warned;
	const char *dir = getenv("XENSIM_DIR");
	unsigned long domid = env_uint("XENSIM_DOMID", ULONG_MAX, DOMID_FIRST_RESERVED - 1);
	int r;

	if (!dir || !*dir || domid >= DOMID_FIRST_RESERVED) {
		if (!atomic_exchange(&warned, true))
			fprintf(stderr, "xensim: XENSIM_DIR and XENSIM_DOMID must name the host "
					"directory and this process's domain (run it with "
					"`xensim exec DIR DOMID -- CMD`)\n");
		return -ENOENT;
	}
	pthread_mutex_lock(&proc_lock);
	r = proc_setup(dir, false);
	if (!r) {
		hv_proc.domid = domid;
		hv_proc.gntalloc_limit = env_uint("XENSIM_GNTALLOC_LIMIT", HV_GNTALLOC_LIMIT,
						  HV_NR_GRANTS);
	}
	pthread_mutex_unlock(&proc_lock);
	if (r == -ENOENT && !atomic_exchange(&warned, true))
		fprintf(stderr, "xensim: no hypervisor state in %s/hv (is the host up?)\n", dir);
	else if (r && !atomic_exchange(&warned, true))
		fprintf(stderr, "xensim: cannot open %s/hv/registry: %s\n", dir, strerror(-r));
	if (!r && atomic_load(&hv_proc.reg->doms[domid].state) != HV_DOM_LIVE) {
		if (!atomic_exchange(&warned, true))
			fprintf(stderr, "xensim: domain %lu does not exist in %s\n", domid, dir);
		return -ESRCH;
	}
	return r;
}

/* ---- domains ---- */

static struct hv_dom *dom_open(domid_t domid, uint32_t gen, uint32_t mem_pages)
{
	struct hv_dom *d = calloc(1, sizeof(*d));
	char name[64];
	int dfd;

	if (!d)
		return NULL;
	d->domid = domid;
	d->gen = gen;
	d->mem_fd = -1;
	d->gt_size = gnttab_size(mem_pages);
	d->mem_size = (size_t)mem_pages * XEN_PAGE_SIZE;
	snprintf(name, sizeof(name), "dom%u", domid);
	dfd = openat(hv_proc.hvfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	d->gt = map_file(dfd, "gnttab", d->gt_size, NULL);
	d->ev = map_file(dfd, "evtchn", sizeof(*d->ev), NULL);
	d->mem = map_file(dfd, "mem", d->mem_size, &d->mem_fd);
	close(dfd);
	if (!d->gt || !d->ev || !d->mem || d->gt->magic != HV_MAGIC || d->ev->magic != HV_MAGIC)
		goto fail;
	return d;
fail:
	if (d->gt)
		munmap(d->gt, d->gt_size);
	if (d->ev)
		munmap(d->ev, sizeof(*d->ev));
	if (d->mem)
		munmap(d->mem, d->mem_size);
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	free(d);
	return NULL;
}

/* The domain's mapping, live or dying (destroy still needs it). */
struct hv_dom *hv_dom_get_any(domid_t domid)
{
	struct hv_dom_rec *rec;
	struct hv_dom *d;
	uint32_t gen;

	if (domid >= DOMID_FIRST_RESERVED || !hv_proc.reg)
		return NULL;
	rec = &hv_proc.reg->doms[domid];
	if (atomic_load(&rec->state) == HV_DOM_NONE)
		return NULL;
	gen = atomic_load(&rec->gen);
	d = atomic_load_explicit(&hv_proc.doms[domid], memory_order_acquire);
	if (d && d->gen == gen)
		return d;
	pthread_mutex_lock(&proc_lock);
	d = atomic_load(&hv_proc.doms[domid]);
	if (!d || d->gen != gen) {
		/* A replaced mapping is left mapped: another thread may still use it. */
		d = dom_open(domid, gen, rec->mem_pages);
		if (d && atomic_load(&rec->gen) != gen)
			d = NULL;
		if (d)
			atomic_store_explicit(&hv_proc.doms[domid], d, memory_order_release);
	}
	pthread_mutex_unlock(&proc_lock);
	return d;
}

struct hv_dom *hv_dom_get(domid_t domid)
{
	if (domid >= DOMID_FIRST_RESERVED || !hv_proc.reg ||
	    atomic_load(&hv_proc.reg->doms[domid].state) != HV_DOM_LIVE)
		return NULL;
	return hv_dom_get_any(domid);
}

bool hv_dom_alive(domid_t domid, uint32_t gen)
{
	struct hv_dom_rec *rec = &hv_proc.reg->doms[domid];

	return atomic_load(&rec->state) == HV_DOM_LIVE && atomic_load(&rec->gen) == gen;
}

int hv_lock_pair(struct hv_dom *a, struct hv_dom *b)
{
	int r;

	if (!b || a == b)
		return hv_lock(&a->gt->lock);
	if (!a)
		return hv_lock(&b->gt->lock);
	if (a->domid > b->domid) {
		struct hv_dom *t = a;

		a = b;
		b = t;
	}
	r = hv_lock(&a->gt->lock);
	if (r)
		return r;
	r = hv_lock(&b->gt->lock);
	if (r)
		hv_unlock(&a->gt->lock);
	return r;
}

void hv_unlock_pair(struct hv_dom *a, struct hv_dom *b)
{
	if (a)
		hv_unlock(&a->gt->lock);
	if (b && b != a)
		hv_unlock(&b->gt->lock);
}

/* ---- grants: release paths shared by the seam, reclaim and destroy ---- */

/* Under d->gt->lock: the ref is unused by everyone; give back ref and page. */
static void gt_free_ref(struct hv_dom *d, uint32_t ref)
{
	struct hv_gnttab *gt = d->gt;
	struct hv_act *act = &gt->act[ref];
	grant_entry_v1_t *e = &gt->shared[ref];
	uint32_t page = act->page;

	hv_flags_store(e, 0);
	e->domid = 0;
	e->frame = 0;
	if (page < gt->mem_pages) {
		/* Scrubbed as it is freed: a page is zero when next shared. */
		memset(d->mem + (size_t)page * XEN_PAGE_SIZE, 0, XEN_PAGE_SIZE);
		gt->page_used[page] = 0;
	}
	memset(act, 0, sizeof(*act));
	if (gt->nr_shared)
		gt->nr_shared--;
}

/*
 * Under d->gt->lock: drop one pin, clearing GTF_writing / GTF_reading when
 * the last writable / last pin goes, as Xen's unmap does.
 */
void hv_gt_unpin(struct hv_dom *d, uint32_t ref, bool write)
{
	struct hv_act *act;
	grant_entry_v1_t *e;
	uint16_t f;

	if (ref >= HV_NR_GRANTS)
		return;
	act = &d->gt->act[ref];
	e = &d->gt->shared[ref];
	if (write && act->wr)
		act->wr--;
	else if (!write && act->rd)
		act->rd--;
	f = hv_flags_load(e);
	if (!act->wr)
		f &= ~GTF_writing;
	if (!act->wr && !act->rd)
		f &= ~GTF_reading;
	hv_flags_store(e, f);
	if (!act->wr && !act->rd && (act->flags & HV_ACT_DEFER))
		gt_free_ref(d, ref);
}

/*
 * Under d->gt->lock: the granter ends access. Like Linux's gntalloc, a grant
 * still mapped by someone is not revoked under the mapper's feet: it is
 * freed by the last unmap (drivers/xen/gntalloc.c __del_gref and
 * gnttab_end_foreign_access's deferred list). Unlike Linux, xensim refuses new
 * maps of such a grant (stricter).
 */
void hv_gt_end_access(struct hv_dom *d, uint32_t ref)
{
	struct hv_act *act = &d->gt->act[ref];

	if (!act->owner)
		return;
	if (act->rd || act->wr)
		act->flags |= HV_ACT_DEFER;
	else
		gt_free_ref(d, ref);
}

/* Drop every pin recorded in a maptrack window (close, reclaim, destroy). */
void hv_mt_release(struct hv_mt *mt, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct hv_mt *m = &mt[i];
		struct hv_dom *d;

		if (!(m->flags & HV_MT_USED))
			continue;
		d = hv_dom_get_any(m->domid);
		if (d && d->gen == m->dom_gen && !hv_lock(&d->gt->lock)) {
			if (m->flags & HV_MT_USED)
				hv_gt_unpin(d, m->ref, m->flags & HV_MT_WRITE);
			hv_unlock(&d->gt->lock);
		}
		memset(m, 0, sizeof(*m));
	}
}

/* ---- event channels ---- */

/*
 * Under reg->evt_lock: the upcall. Decides to put the port in its owner's
 * FIFO (the stand-in for Linux's evtchn ring, drivers/xen/evtchn.c
 * evtchn_interrupt) if the owner handle is still open; hv_evt_send does it
 * once the lock is dropped, so no syscall runs under the host-wide lock.
 */
void hv_evt_upcall(const struct hv_port *p, evtchn_port_t port, struct hv_dlv *ret)
{
	const struct hv_registry *reg = hv_proc.reg;
	unsigned s = p->owner - 1u;

	ret->go = p->owner && s < HV_MAX_SLOTS &&
		  atomic_load(&reg->slots[s].state) == HV_SLOT_USED &&
		  reg->slots[s].gen == p->owner_gen;
	ret->slot = s;
	ret->gen = p->owner_gen;
	ret->port = port;
}

/*
 * The FIFO is opened O_RDWR so a writer never gets SIGPIPE from a dead
 * reader; a port is in a FIFO at most once while its owner lives (it stays
 * masked until unmask), so the 64 KiB pipe does not fill. fifo_lock keeps
 * this process's threads off each other's cached descriptors.
 */
void hv_evt_send(const struct hv_dlv *v)
{
	uint32_t port = v->port;
	char name[32];
	int fd;

	if (!v->go)
		return;
	pthread_mutex_lock(&fifo_lock);
	fd = hv_proc.fifo_fd[v->slot];
	if (fd <= 0 || hv_proc.fifo_gen[v->slot] != v->gen) {
		if (fd > 0)
			close(fd);
		snprintf(name, sizeof(name), "evt/%u.%u", v->slot, v->gen);
		fd = openat(hv_proc.hvfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		hv_proc.fifo_fd[v->slot] = fd < 0 ? 0 : fd;
		hv_proc.fifo_gen[v->slot] = v->gen;
	}
	/*
	 * The name carries the slot generation: a handle that closed meanwhile
	 * took its FIFO with it, and a new owner of the slot has another one.
	 * A full FIFO means its owner died: nobody is left to tell.
	 */
	if (fd > 0 && write(fd, &port, sizeof(port)) < 0)
		hv_proc.fifo_gen[v->slot] = 0;
	pthread_mutex_unlock(&fifo_lock);
	if (v->owed) {
		uint64_t expect = v->owed_val;

		/* Only ours: the port may have been unmasked and raised again. */
		__atomic_compare_exchange_n(&v->owed->dlv_owed, &expect, 0, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

/* Under evt_lock: note that the handle (slot, gen) owes delivery v. */
void hv_evt_owe(struct hv_port *p, unsigned slot, uint32_t gen, struct hv_dlv *v)
{
	if (!v->go)
		return;
	v->owed = p;
	v->owed_val = (uint64_t)gen << 32 | (slot + 1u);
	__atomic_store_n(&p->dlv_owed, v->owed_val, __ATOMIC_RELAXED);
}

/*
 * Reclaim of a dead evtchn handle (slot s, generation gen): deliveries it
 * decided and never made are made now. Otherwise the port stays masked with
 * nothing in its owner's FIFO and never fires again, a state real Xen cannot
 * reach. At most HV_REDELIVER_BATCH a call; a second sweep finds the rest.
 */
#define HV_REDELIVER_BATCH 64
static void redeliver(unsigned s, uint32_t gen)
{
	uint64_t owed = (uint64_t)gen << 32 | (s + 1u);
	struct hv_dlv dlv[HV_REDELIVER_BATCH];
	unsigned n = 0;

	if (hv_lock(&hv_proc.reg->evt_lock))
		return;
	for (domid_t id = 0; id < DOMID_FIRST_RESERVED && n < HV_REDELIVER_BATCH; id++) {
		struct hv_dom *d;

		if (atomic_load(&hv_proc.reg->doms[id].state) == HV_DOM_NONE ||
		    !(d = hv_dom_get_any(id)))
			continue;
		for (evtchn_port_t p = 1; p < HV_NR_PORTS && n < HV_REDELIVER_BATCH; p++) {
			struct hv_port *hp = &d->ev->port[p];

			if (__atomic_load_n(&hp->dlv_owed, __ATOMIC_RELAXED) != owed)
				continue;
			hp->dlv_owed = 0;
			hv_evt_upcall(hp, p, &dlv[n]);
			dlv[n].owed = NULL;
			if (dlv[n].go)
				n++;
		}
	}
	hv_unlock(&hv_proc.reg->evt_lock);
	for (unsigned i = 0; i < n; i++)
		hv_evt_send(&dlv[i]);
}

/*
 * Under reg->evt_lock: EVTCHNOP_close as Xen does it (xen/common/event_channel.c
 * evtchn_close): an interdomain peer goes back to ECS_UNBOUND expecting us,
 * so the other end can bind to it again; our port becomes free.
 */
int hv_evt_close_port(struct hv_evtchn *ev, domid_t domid, evtchn_port_t port)
{
	struct hv_port *p = &ev->port[port];

	if (p->state == HV_ECS_INTERDOMAIN) {
		struct hv_dom *rd = hv_dom_get_any(p->remote_dom);

		if (rd && p->remote_port < HV_NR_PORTS) {
			struct hv_port *rp = &rd->ev->port[p->remote_port];

			if (rp->state == HV_ECS_INTERDOMAIN && rp->remote_dom == domid &&
			    rp->remote_port == port) {
				rp->state = HV_ECS_UNBOUND;
				rp->remote_port = 0;
			}
		}
	}
	memset(p, 0, sizeof(*p));
	return 0;
}

/* ---- handle slots ---- */

static int ofd_lock(int fd, unsigned s, short type)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = s, .l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &fl) ? neg_errno() : 0;
}

int hv_slot_claim(enum hv_kind kind, int *ret_slot, int *ret_lock_fd)
{
	struct hv_registry *reg = hv_proc.reg;
	int fd = openat(hv_proc.hvfd, "registry", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return neg_errno();
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned s = 0; s < HV_MAX_SLOTS; s++) {
			struct hv_slot *sl = &reg->slots[s];
			uint32_t free_state = HV_SLOT_FREE;

			if (atomic_load(&sl->state) != HV_SLOT_FREE || ofd_lock(fd, s, F_WRLCK))
				continue;
			if (!atomic_compare_exchange_strong(&sl->state, &free_state,
							    HV_SLOT_USED)) {
				ofd_lock(fd, s, F_UNLCK);
				continue;
			}
			sl->gen++;
			sl->kind = kind;
			sl->domid = hv_proc.domid;
			sl->dom_gen = atomic_load(&reg->doms[hv_proc.domid].gen);
			sl->pid = getpid();
			*ret_slot = s;
			*ret_lock_fd = fd;
			return 0;
		}
		hv_sweep();
	}
	close(fd);
	return -EMFILE;
}

void hv_slot_release(int slot, int lock_fd)
{
	atomic_store(&hv_proc.reg->slots[slot].state, HV_SLOT_FREE);
	close(lock_fd);	/* drops the OFD lock */
}

/* Drop the pins recorded in gnttab slot s's maptrack file. */
static void release_mt_file(unsigned s)
{
	char name[32];
	struct hv_mt *mt;

	snprintf(name, sizeof(name), "mt/%u", s);
	mt = map_file(hv_proc.hvfd, name, HV_MAX_MAPS * sizeof(*mt), NULL);
	if (mt) {
		hv_mt_release(mt, HV_MAX_MAPS);
		munmap(mt, HV_MAX_MAPS * sizeof(*mt));
	}
}

static void reclaim_gnttab(unsigned s)
{
	char name[32];

	release_mt_file(s);
	snprintf(name, sizeof(name), "mt/%u", s);
	unlinkat(hv_proc.hvfd, name, 0);
}

static void reclaim_gntshr(const struct hv_slot *sl, unsigned s)
{
	struct hv_dom *d = hv_dom_get_any(sl->domid);

	if (!d || d->gen != sl->dom_gen || hv_lock(&d->gt->lock))
		return;
	for (uint32_t ref = 0; ref < HV_NR_GRANTS; ref++) {
		const struct hv_act *act = &d->gt->act[ref];

		if (act->owner == s + 1 && act->owner_gen == sl->gen && !(act->flags & HV_ACT_DEFER))
			hv_gt_end_access(d, ref);
	}
	hv_unlock(&d->gt->lock);
}

static void reclaim_evtchn(const struct hv_slot *sl, unsigned s)
{
	struct hv_dom *d = hv_dom_get_any(sl->domid);
	char name[32];

	if (d && d->gen == sl->dom_gen && !hv_lock(&hv_proc.reg->evt_lock)) {
		for (evtchn_port_t p = 1; p < HV_NR_PORTS; p++) {
			const struct hv_port *hp = &d->ev->port[p];

			if (hp->owner == s + 1 && hp->owner_gen == sl->gen)
				hv_evt_close_port(d->ev, d->domid, p);
		}
		hv_unlock(&hv_proc.reg->evt_lock);
	}
	snprintf(name, sizeof(name), "evt/%u.%u", s, sl->gen);
	unlinkat(hv_proc.hvfd, name, 0);
	redeliver(s, sl->gen);
}

/* Release what slot s holds; the caller owns the slot's lock. */
static void reclaim_slot(unsigned s)
{
	const struct hv_slot *sl = &hv_proc.reg->slots[s];

	switch (sl->kind) {
	case HV_KIND_GNTTAB:
		reclaim_gnttab(s);
		break;
	case HV_KIND_GNTSHR:
		reclaim_gntshr(sl, s);
		break;
	case HV_KIND_EVTCHN:
		reclaim_evtchn(sl, s);
		break;
	}
}

void hv_sweep(void)
{
	struct hv_registry *reg = hv_proc.reg;
	int fd;

	if (!reg)
		return;
	fd = openat(hv_proc.hvfd, "registry", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned s = 0; s < HV_MAX_SLOTS; s++) {
		struct hv_slot *sl = &reg->slots[s];

		if (atomic_load(&sl->state) != HV_SLOT_USED || ofd_lock(fd, s, F_WRLCK))
			continue;
		/* We hold the byte lock of a used slot: its owner is gone. */
		if (atomic_load(&sl->state) == HV_SLOT_USED) {
			reclaim_slot(s);
			atomic_store(&sl->state, HV_SLOT_FREE);
		}
		ofd_lock(fd, s, F_UNLCK);
	}
	close(fd);
}

/* ---- fault knobs ---- */

static const char *const fault_names[HV_FAULT_NR] = {
	[HV_FAULT_MAP] = "map", [HV_FAULT_BIND] = "bind",
	[HV_FAULT_SHARE] = "share", [HV_FAULT_COPY] = "copy", [HV_FAULT_NOTIFY] = "notify",
};

static const struct {
	const char *name;
	int err;
} fault_errnos[] = {
	{ "EINVAL", EINVAL }, { "ENOMEM", ENOMEM }, { "ENOSPC", ENOSPC }, { "EIO", EIO },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "ESRCH", ESRCH }, { "EPERM", EPERM },
	{ "EAGAIN", EAGAIN }, { "ENOENT", ENOENT }, { "KILL", HV_FAULT_KILL },
};

/* "ERRNAME" or a number; 0 when neither. */
static int fault_errno(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (!strcmp(s, fault_errnos[i].name))
			return fault_errnos[i].err;
	v = strtol(s, &end, 10);
	return *end || v <= 0 || v > 4095 ? 0 : (int)v;
}

/* One "op:N[+][=ERR]" item; a malformed one is ignored (with a message). */
static void fault_item(char *tok)
{
	char *colon = strchr(tok, ':'), *eq, *end;
	int err = EINVAL;
	unsigned long n;
	bool onward;

	if (!colon)
		goto bad;
	*colon = '\0';
	eq = strchr(colon + 1, '=');
	if (eq) {
		*eq = '\0';
		err = fault_errno(eq + 1);
		if (!err)
			goto bad;
	}
	n = strtoul(colon + 1, &end, 10);
	onward = *end == '+';
	if (end == colon + 1 || end[onward] || !n || n > UINT32_MAX)
		goto bad;
	for (int op = 0; op < HV_FAULT_NR; op++) {
		if (strcmp(tok, fault_names[op]))
			continue;
		atomic_store(&hv_proc.faults[op].err, err);
		atomic_store(&hv_proc.faults[op].onward, onward);
		atomic_store(&hv_proc.faults[op].at, n);
		return;
	}
bad:
	fprintf(stderr, "xensim: ignoring fault knob item \"%.40s\" (want op:N[+][=ERRNO], "
			"op map|bind|share|copy|notify)\n", tok);
}

static void fault_parse(const char *spec)
{
	char buf[256], *save = NULL, *tok;

	if (!spec)
		return;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save))
		fault_item(tok);
}

/* XENSIM_FAULT, then DIR/hv/fault on top; every count starts again from zero. */
static void fault_reload(uint32_t seq)
{
	char buf[256];
	ssize_t n = -1;
	int fd;

	pthread_mutex_lock(&proc_lock);
	if (hv_proc.fault_seq != seq) {
		for (int op = 0; op < HV_FAULT_NR; op++) {
			atomic_store(&hv_proc.faults[op].at, 0);
			atomic_store(&hv_proc.faults[op].calls, 0);
		}
		fault_parse(getenv("XENSIM_FAULT"));
		fd = openat(hv_proc.hvfd, "fault", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (n > 0) {
			buf[n] = '\0';
			fault_parse(buf);
		}
		hv_proc.fault_seq = seq;
	}
	pthread_mutex_unlock(&proc_lock);
}

/* Count one call of `op` in this process; -errno when the knob says it fails. */
int hv_fault_hit(enum hv_fault_op op)
{
	struct hv_fault *f = &hv_proc.faults[op];
	uint32_t seq = atomic_load(&hv_proc.reg->fault_seq), at, n;

	if (seq != hv_proc.fault_seq)
		fault_reload(seq);
	at = atomic_load(&f->at);
	if (!at)
		return 0;
	n = atomic_fetch_add(&f->calls, 1) + 1;
	if (n == at || (n > at && atomic_load(&f->onward)))
		return -atomic_load(&f->err);
	return 0;
}

/* ---- the toolstack's contract (hv.h) ---- */

static int open_dir(const char *dir, bool create)
{
	int r;

	pthread_mutex_lock(&proc_lock);
	r = proc_setup(dir, create);
	pthread_mutex_unlock(&proc_lock);
	return r;
}

/*
 * Domain create/destroy, serialised by flock on the registry: opens `dir`,
 * takes the lock and checks the domain is in `state` (else `err`). Returns
 * the locked fd (close it to unlock) or -errno.
 */
static int registry_begin(const char *dir, bool create, domid_t domid, enum hv_dom_state state,
			  int err)
{
	int fd, r = open_dir(dir, create);

	if (r)
		return r;
	fd = openat(hv_proc.hvfd, "registry", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (flock(fd, LOCK_EX)) {
		r = neg_errno();
		close(fd);
		return r;
	}
	if (atomic_load(&hv_proc.reg->doms[domid].state) != state) {
		close(fd);
		return err;
	}
	return fd;
}

static int create_file(int dfd, const char *name, size_t size, void **ret_map)
{
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return neg_errno();
	if (ftruncate(fd, size))
		r = neg_errno();
	if (!r && ret_map) {
		*ret_map = map_fd(fd, size);
		if (!*ret_map)
			r = neg_errno();
	}
	close(fd);
	return r;
}

static int create_dom_files(domid_t domid, uint32_t mem_pages)
{
	struct hv_gnttab *gt = NULL;
	struct hv_evtchn *ev = NULL;
	char name[32];
	int dfd, r;

	snprintf(name, sizeof(name), "dom%u", domid);
	if (mkdirat(hv_proc.hvfd, name, 0755) && errno != EEXIST)
		return neg_errno();
	dfd = openat(hv_proc.hvfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return neg_errno();
	r = create_file(dfd, "mem", (size_t)mem_pages * XEN_PAGE_SIZE, NULL);
	if (!r)
		r = create_file(dfd, "gnttab", gnttab_size(mem_pages), (void **)&gt);
	if (!r)
		r = create_file(dfd, "evtchn", sizeof(*ev), (void **)&ev);
	if (!r)
		r = init_shared_mutex(&gt->lock);
	if (!r) {
		gt->nr_grants = HV_NR_GRANTS;
		gt->mem_pages = mem_pages;
		gt->ref_cursor = GNTTAB_NR_RESERVED_ENTRIES;
		gt->magic = HV_MAGIC;
		ev->nr_ports = HV_NR_PORTS;
		ev->port[0].state = HV_ECS_RESERVED;
		ev->magic = HV_MAGIC;
	}
	if (gt)
		munmap(gt, gnttab_size(mem_pages));
	if (ev)
		munmap(ev, sizeof(*ev));
	close(dfd);
	return r;
}

int hv_domain_create(const char *dir, domid_t domid, unsigned mem_mib)
{
	struct hv_dom_rec *rec;
	int r, lfd;

	if (domid >= DOMID_FIRST_RESERVED || !mem_mib || mem_mib > HV_MAX_MEM_MIB)
		return -EINVAL;
	lfd = registry_begin(dir, true, domid, HV_DOM_NONE, -EEXIST);
	if (lfd < 0)
		return lfd;
	rec = &hv_proc.reg->doms[domid];
	r = create_dom_files(domid, mem_mib * (1024u * 1024u / XEN_PAGE_SIZE));
	if (!r) {
		rec->mem_pages = mem_mib * (1024u * 1024u / XEN_PAGE_SIZE);
		atomic_fetch_add(&rec->gen, 1);
		atomic_store(&rec->state, HV_DOM_LIVE);
	}
	close(lfd);
	return r;
}

/* Destroy, step 1: every port of the domain closed (peers back to unbound). */
static void destroy_ports(struct hv_dom *d)
{
	if (hv_lock(&hv_proc.reg->evt_lock))
		return;
	for (evtchn_port_t p = 1; p < HV_NR_PORTS; p++)
		hv_evt_close_port(d->ev, d->domid, p);
	hv_unlock(&hv_proc.reg->evt_lock);
}

/*
 * Destroy, step 2: grants the domain's live handles still map are released
 * (Xen's gnttab_release_mappings). Handles of dead processes were reclaimed
 * by the sweep already; live ones get -ESRCH from now on.
 */
static void destroy_mappings(domid_t domid, uint32_t gen)
{
	struct hv_registry *reg = hv_proc.reg;

	for (unsigned s = 0; s < HV_MAX_SLOTS; s++) {
		const struct hv_slot *sl = &reg->slots[s];

		if (atomic_load(&sl->state) == HV_SLOT_USED && sl->kind == HV_KIND_GNTTAB &&
		    sl->domid == domid && sl->dom_gen == gen)
			release_mt_file(s);
	}
}

int hv_domain_destroy(const char *dir, domid_t domid)
{
	struct hv_dom_rec *rec;
	struct hv_dom *d;
	uint32_t gen;
	char name[32];
	int lfd, dfd;

	if (domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	lfd = registry_begin(dir, false, domid, HV_DOM_LIVE, -ESRCH);
	if (lfd < 0)
		return lfd;
	rec = &hv_proc.reg->doms[domid];
	gen = atomic_load(&rec->gen);
	atomic_store(&rec->state, HV_DOM_DYING);
	hv_sweep();
	d = hv_dom_get_any(domid);
	if (d) {
		destroy_ports(d);
		destroy_mappings(domid, gen);
	}
	atomic_fetch_add(&rec->gen, 1);
	atomic_store(&rec->state, HV_DOM_NONE);
	snprintf(name, sizeof(name), "dom%u", domid);
	dfd = openat(hv_proc.hvfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, "mem", 0);
		unlinkat(dfd, "gnttab", 0);
		unlinkat(dfd, "evtchn", 0);
		close(dfd);
	}
	unlinkat(hv_proc.hvfd, name, AT_REMOVEDIR);
	close(lfd);
	return 0;
}

int hv_fault_set(const char *dir, const char *spec)
{
	size_t len = strlen(spec);
	int r, fd;

	r = open_dir(dir, false);
	if (r)
		return r;
	fd = openat(hv_proc.hvfd, "fault.new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return neg_errno();
	if (write(fd, spec, len) != (ssize_t)len) {
		r = -EIO;
		close(fd);
		return r;
	}
	close(fd);
	if (renameat(hv_proc.hvfd, "fault.new", hv_proc.hvfd, "fault"))
		return neg_errno();
	atomic_fetch_add(&hv_proc.reg->fault_seq, 1);
	return 0;
}

/* For the debugging readers: domain `domid` of host `dir`, mapped here. */
static struct hv_dom *debug_dom(const char *dir, domid_t domid, int *ret)
{
	struct hv_dom *d;

	*ret = open_dir(dir, false);
	if (*ret)
		return NULL;
	d = hv_dom_get(domid);
	if (!d)
		*ret = -ESRCH;
	return d;
}

int hv_grant_entry(const char *dir, domid_t domid, grant_ref_t ref, grant_entry_v1_t *ret)
{
	struct hv_dom *d;
	int r;

	if (ref >= HV_NR_GRANTS)
		return -EINVAL;
	d = debug_dom(dir, domid, &r);
	if (!d || (r = hv_lock(&d->gt->lock)))
		return r;
	*ret = d->gt->shared[ref];
	hv_unlock(&d->gt->lock);
	return 0;
}

int hv_port_info(const char *dir, domid_t domid, evtchn_port_t port, struct hv_port_info *ret)
{
	const struct hv_port *p;
	struct hv_dom *d;
	int r;

	if (port >= HV_NR_PORTS)
		return -EINVAL;
	d = debug_dom(dir, domid, &r);
	if (!d || (r = hv_lock(&hv_proc.reg->evt_lock)))
		return r;
	p = &d->ev->port[port];
	*ret = (struct hv_port_info){
		.state = p->state, .remote_dom = p->remote_dom, .remote_port = p->remote_port,
		.pending = p->pending, .masked = p->masked,
	};
	hv_unlock(&hv_proc.reg->evt_lock);
	return 0;
}
