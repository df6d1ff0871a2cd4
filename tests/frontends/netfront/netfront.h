/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netfront: a user-space Xen network frontend that drives any netif backend
 * through the real APIs (libxenstore, and grant sharing / event channels
 * through the Xen seam in common/xen-ops.h), so the same code runs under
 * xensim and in a real domU. It is a test tool, the sibling of blkfront: a
 * handshake with any feature combination, a bridge to a Linux TAP device so
 * real TCP/IP runs over the rings, a verified frame generator/receiver (the
 * packet-rate benchmark's source and sink) and hostile slot patterns that
 * report how the backend answered.
 *
 * Threads: the main thread owns xenstore (handshake, the backend's state,
 * close) and runs the hostile scenarios; during a run one worker thread per
 * queue owns that queue's TX and RX rings, its event-channel handle, its
 * grant handle, its granted buffer pages and (with --tap) its TAP fd. Nothing
 * is allocated after the workers start. Nothing here may trust the backend:
 * every response and every backend node is checked, and a bad one is counted
 * or fails the run; it never crashes it.
 *
 * ---- Options (docs-ready) ----
 *   --vif DEVID            the vif (frontend dir device/vif/DEVID; default 0)
 *   --domid N              our domain id (default XENSIM_DOMID, else the `domid` node)
 *   --queues N             queues wanted (capped by multi-queue-max-queues, <= 16)
 *   --split                separate TX and RX event channels (if the backend offers)
 *   --no-sg --no-gso       do not use scatter-gather / TCP segmentation offload
 *   --no-csum              write feature-no-csum-offload=1 and never send a
 *                          partial checksum (they are completed in software)
 *   --ipv6-csum            write feature-ipv6-csum-offload=1 (off by default, netif.h)
 *   --ctrl-ring            share a control ring (if feature-ctrl-ring)
 *   --mcast-control        write request-multicast-control=1 (if offered)
 *   --mcast-add MAC        after the handshake, before any traffic: ask the
 *   --mcast-del MAC        backend to add MAC to / delete it from our multicast
 *                          filter (repeatable, in order; need --mcast-control or
 *                          --mcast-unrequested)
 *   --mcast-unrequested    send them without request-multicast-control
 *   --connect-early        go Connected right after writing the ring nodes, as
 *                          Linux xen-netfront does (default: Initialised, wait
 *                          for the backend's Connected, then Connected)
 *   --tap NAME             bridge the rings to TAP device NAME until SIGTERM/SIGINT
 *   --send N               send N generator frames (split over the queues)
 *   --to MAC               their destination (default ff:ff:ff:ff:ff:ff)
 *   --size MIN[-MAX]       frame length in bytes incl. the 14-byte Ethernet
 *                          header (default 64; 60 .. MTU+14, with --oversize
 *                          up to 65535 = XEN_NETIF_MAX_TX_SIZE)
 *   --flood                send as fast as the ring allows (batched pushes)
 *   --pps R                pace the sender at R frames/s in total
 *   --stream ID            stream id of queue 0 (queue q uses ID+q; default random)
 *   --recv N               receive until N distinct generator frames arrived
 *   --from MAC             count only generator frames from this source
 *   --allow-loss           loss, drops and TX errors do not fail the run
 *   --hostile NAME|list    one attack, then the backend's answer
 *   --expect dropped|closed|ok[,...]  the answer the attack must get
 *   --timeout SEC          bound on every wait for the backend (default 30);
 *                          with --recv, the run also ends after SEC without a
 *                          generator frame; never ends --tap
 *   --json --verbose --help
 *
 * ---- Generator frames ----
 * Ethernet, ethertype 0x88B5 (IEEE 802 local experimental), then struct
 * nf_gen_hdr (magic "nfgn", stream, seq, len = whole frame length, crc), then
 * payload. crc = CRC32 (IEEE) of the payload bytes followed by the header's
 * first 20 bytes. Sequence numbers start at 0 per stream.
 *
 * ---- JSON (--json: one line on stdout) ----
 *   ok, why, vif, domid, backend_id, mac, mtu, queues, features {split, sg,
 *   gso_tcpv4, gso_tcpv6, csum, ipv6_csum, ctrl_ring, mcast_control,
 *   rx_copy}, tx_ring, rx_ring, tx_pages, rx_bufs (per queue), sent, received,
 *   lost, reordered, duplicates, corrupted, ignored, bytes (generator bytes
 *   sent + received), pps (sent/s, or received/s when not sending), tx_pps,
 *   rx_pps, elapsed_s, tx_errors (TX responses ERROR or DROPPED), tx_bad_rsp,
 *   rx_errors (bad RX responses or chains), rx_frames, tx_frames, tx_slots,
 *   rx_slots, notify, events, tap_dropped, hostile, answer, detail, after,
 *   backend_error, ctrl, hash_flags_offered, hash_mapping_max, mcast_ops
 *   ([{op, mac, status}], status null when unanswered).
 *
 * ---- Hostile attacks (--hostile; answers: dropped, closed, ok, timeout) ----
 *   too-many-slots, cross-page, first-smaller, runt, extra-bad-type,
 *   extra-more-runs-off, gso-zero-size, bad-gref, prod-jump, rx-bad-gref,
 *   event-storm, bad-gref-storm, stop-rx, tx-after-post (see hostile.c for
 *   each one's limit).
 *
 * ---- Exit status ----
 *   0 the run met its goal (handshake; everything sent and answered OKAY;
 *     everything received without loss or corruption unless --allow-loss;
 *     the hostile answer in --expect), 1 it did not, 2 bad options.
 *
 * ---- Grant budget ----
 * A domain may share NF_GRANT_LIMIT pages at once (Linux gntalloc's `limit`,
 * enforced by xensim). Per queue we share 2 ring pages plus rx_bufs RX pages
 * plus tx_pages TX pages; NF_GRANT_RESERVE pages stay for the control ring
 * and the hostile scratch buffer. nf_pool_sizes() gives each queue
 * (NF_GRANT_LIMIT - NF_GRANT_RESERVE) / queues pages, capped at one page per
 * ring slot: 1 queue 2+256+256 = 514; 2: 2+251+251 = 504 each (1008);
 * 4: 2+125+125 = 252 each (1008); 8: 2+62+62 = 126 (1008); 16: 2+30+30 =
 * 62 (992).
 */
#ifndef NETFRONT_H
#define NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/virtio_net.h>

#include "ring.h"		/* common/: barriers, then <xen/io/ring.h> */
#include <xen/io/netif.h>
#include "xen-ops.h"

#define NF_MAX_QUEUES 16
/* Both rings are one page: 256 slots each (12- and 8-byte slots, rounded down). */
#define NF_RING_SIZE ((unsigned)__CONST_RING_SIZE(netif_tx, XEN_PAGE_SIZE))
_Static_assert(__CONST_RING_SIZE(netif_rx, XEN_PAGE_SIZE) == NF_RING_SIZE, "ring sizes");
/* Pages a domain may share at once: gntalloc's default `limit` (drivers/xen/gntalloc.c). */
#define NF_GRANT_LIMIT 1024u
#define NF_HOSTILE_PAGES 8u
#define NF_GRANT_RESERVE (1u /* ctrl ring */ + NF_HOSTILE_PAGES + 7u /* slack */)
/* A frame's length travels in the first slot's 16-bit size (netif.h). */
#define NF_MAX_FRAME XEN_NETIF_MAX_TX_SIZE
/* Data slots of one TX frame: the minimum every backend must take (netif.h). */
#define NF_MAX_TX_FRAGS XEN_NETIF_NR_SLOTS_MIN
/*
 * Data slots of one RX packet: Linux xen-netfront's xennet_get_responses
 * allows XEN_NETIF_NR_SLOTS_MIN (+1 for a small first slot); more is "Too
 * many slots".
 */
#define NF_MAX_RX_SLOTS (XEN_NETIF_NR_SLOTS_MIN + 1)
#define NF_RX_BUF_MAX (NF_MAX_RX_SLOTS * XEN_PAGE_SIZE)
/* Extra-info slots one packet may carry: one per type (1 .. MAX-1). */
#define NF_MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define NF_ETH_HLEN 14
#define NF_ETH_MIN 60
/* Frames start on this boundary inside a TX page. */
#define NF_TX_ALIGN 64u

/* ---- frame.c: CRC32, generator frames, sequence accounting (pure) ---- */

#define NF_ETHERTYPE_GEN 0x88B5
#define NF_GEN_MAGIC 0x6e67666eu	/* "nfgn" in memory */

struct nf_gen_hdr {
	uint32_t magic;
	uint32_t stream;
	uint64_t seq;
	uint32_t len;		/* the whole frame, Ethernet header included */
	uint32_t crc;
} __attribute__((packed));

#define NF_GEN_HLEN (NF_ETH_HLEN + sizeof(struct nf_gen_hdr))
/* The header's bytes covered by the CRC (everything before crc). */
#define NF_GEN_CRC_SPAN (sizeof(struct nf_gen_hdr) - 4)

/* CRC32 (IEEE 802.3, reflected 0xEDB88320); crc 0 to start, chainable. */
uint32_t nf_crc32(uint32_t crc, const void *buf, size_t len);

/* A pseudo-random number from *state (splitmix64); for patterns, not secrets. */
uint64_t nf_rand(uint64_t *state);
/* Fills payload bytes [NF_GEN_HLEN, len) with a pattern of (stream, seq). */
void nf_gen_payload(uint8_t *frame, size_t len, uint32_t stream, uint64_t seq);
/*
 * Writes the Ethernet and generator headers of a frame whose payload is
 * already in place; payload_crc is nf_crc32(0, payload) (callers that reuse
 * a payload pass it in, others pass nf_gen_payload_crc()).
 */
void nf_gen_stamp(uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6],
		  uint32_t stream, uint64_t seq, uint32_t payload_crc);
uint32_t nf_gen_payload_crc(const uint8_t *frame, size_t len);
/* Both of the above: a complete frame of len >= NF_GEN_HLEN bytes. */
void nf_gen_build(uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6],
		  uint32_t stream, uint64_t seq);

/* "xx:xx:xx:xx:xx:xx" and a NUL. */
void nf_mac_fmt(const uint8_t mac[6], char out[static 18]);

enum nf_gen_verdict {
	NF_GEN_OK,
	NF_GEN_NOT_OURS,	/* other ethertype or magic: ignored */
	NF_GEN_CORRUPT,		/* ours, but length or CRC wrong */
};

/*
 * Checks a received frame. A frame shorter than NF_ETH_MIN may arrive padded
 * to NF_ETH_MIN (a bridge pads runts); anything else must be exactly len.
 */
enum nf_gen_verdict nf_gen_check(const uint8_t *frame, size_t len, uint32_t *ret_stream,
				 uint64_t *ret_seq);

/*
 * Sequence accounting per stream: a window of NF_SEQ_WINDOW sequence numbers
 * below the highest seen tells duplicates from late (reordered) frames.
 * A gap counts as lost until its frames turn up late; a frame older than the
 * window is taken as late (it cannot be told from a duplicate).
 */
#define NF_SEQ_WINDOW 4096u
#define NF_MAX_STREAMS 64u

struct nf_seq_stream {
	uint32_t id;
	uint64_t next;		/* highest seq seen + 1 */
	uint64_t seen[NF_SEQ_WINDOW / 64];
};

struct nf_seq {
	unsigned nstreams;
	struct nf_seq_stream s[NF_MAX_STREAMS];
	uint64_t received;	/* distinct frames */
	uint64_t lost, reordered, duplicates;
	uint64_t overflow;	/* frames of streams beyond NF_MAX_STREAMS */
};

enum nf_seq_event { NF_SEQ_NEW, NF_SEQ_LATE, NF_SEQ_DUP, NF_SEQ_OVERFLOW };

void nf_seq_init(struct nf_seq *t);
enum nf_seq_event nf_seq_add(struct nf_seq *t, uint32_t stream, uint64_t seq);

/* ---- slots.c: frames into TX slots, RX responses into frames (pure) ---- */

/* One TX ring slot: a request or, after one, an extra-info (netif.h). */
union nf_tx_slot {
	struct netif_tx_request req;
	struct netif_extra_info extra;
};

/* Where one data slot of a frame lies: page 0 is the current page, k > 0 the k-th fresh one. */
struct nf_frag {
	uint16_t page;
	uint16_t off;
	uint16_t len;
};

/*
 * Splits a frame of len bytes into data slots that never cross a page
 * (netif.h: offset + size <= page), starting at cur_off in the current page
 * (cur_off >= XEN_PAGE_SIZE: the current page is full). Without sg the frame
 * must fit one slot. Returns the number of slots (<= NF_MAX_TX_FRAGS) or
 * -EMSGSIZE.
 */
int nf_tx_split(uint32_t len, unsigned cur_off, bool sg, struct nf_frag out[NF_MAX_TX_FRAGS]);

/* What travels with a TX frame besides its bytes. */
struct nf_tx_meta {
	uint16_t flags;		/* NETTXF_csum_blank / NETTXF_data_validated */
	uint8_t gso_type;	/* XEN_NETIF_GSO_TYPE_NONE / _TCPV4 / _TCPV6 */
	uint16_t gso_size;	/* MSS when gso_type is set */
};

/*
 * Lays a frame out as netif.h's TX wire format: the first request (size =
 * the whole frame, NETTXF_extra_info when there is a GSO extra,
 * NETTXF_more_data when more fragments follow), the GSO extra, then the
 * other fragments. grefs[i] and ids[i] belong to frags[i]. Returns the
 * number of slots written to out (nfrags, + 1 with GSO).
 */
unsigned nf_tx_layout(uint32_t len, const struct nf_tx_meta *m, const struct nf_frag *frags,
		      unsigned nfrags, const grant_ref_t *grefs, const uint16_t *ids,
		      union nf_tx_slot *out);

/* A packet assembled from RX responses. */
struct nf_rx_pkt {
	uint32_t len;
	uint16_t flags;		/* the first response's NETRXF_csum_blank / _data_validated */
	uint8_t gso_type;
	uint16_t gso_size;
	unsigned slots;		/* ring slots it used, extras included */
	bool hash;		/* a XEN_NETIF_EXTRA_TYPE_HASH extra came with it */
	uint8_t hash_type;	/* its _XEN_NETIF_CTRL_HASH_TYPE_* */
	uint8_t hash_alg;
	uint32_t hash_value;
};

/*
 * The RX reassembler: fed one copied response at a time, in ring order,
 * with the page its slot's request granted. It copies the data out, so the
 * caller may repost the page at once.
 */
struct nf_rx_asm {
	uint8_t *buf;		/* NF_RX_BUF_MAX bytes, the caller's */
	struct nf_rx_pkt p;
	unsigned frags, extras;
	bool in_pkt;		/* a first response was taken */
	bool want_extra;	/* the next slot is an extra-info */
	bool more;		/* more data slots follow */
	bool skip;		/* the rest of a bad chain is being dropped */
	const char *why;	/* what was wrong with the last bad packet */
};

enum nf_rx_res {
	NF_RX_MORE,		/* slot taken; the packet goes on (or a bad chain is dropped) */
	NF_RX_PKT,		/* *ret and buf hold a packet */
	NF_RX_BAD,		/* the packet is bad (why says how); its remaining slots are dropped */
};

void nf_rx_asm_init(struct nf_rx_asm *a, uint8_t *buf);
/*
 * want_id: the id of the request in this slot (a data response must echo
 * it; an extra-info overlays the id). page: that request's buffer.
 */
enum nf_rx_res nf_rx_feed(struct nf_rx_asm *a, const struct netif_rx_response *rsp,
			  uint16_t want_id, const uint8_t *page, struct nf_rx_pkt *ret);

/* ---- vnet.c: virtio_net_hdr <-> netif flags, checksum helpers (pure) ---- */

struct nf_l4 {
	uint16_t l4_off;	/* TCP/UDP header offset */
	uint16_t hdr_len;	/* end of the TCP/UDP header */
	uint8_t ipver;		/* 4 or 6 */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Finds TCP/UDP behind Ethernet (+ one 802.1Q tag) and IPv4 / IPv6; -EPROTONOSUPPORT else. */
int nf_l4_locate(const uint8_t *f, size_t len, struct nf_l4 *ret);
/*
 * Fills the Internet checksum at start + off over [start, len) (the field
 * holds the pseudo-header sum, as virtio's NEEDS_CSUM and a netif
 * csum_blank frame say). -EINVAL when the field lies outside the frame.
 */
int nf_csum_complete(uint8_t *f, size_t len, uint16_t start, uint16_t off);

/* What netfront may hand the backend (negotiated TX offloads). */
struct nf_tx_caps {
	bool csum4, csum6;	/* partial TCP/UDP checksums over IPv4 / IPv6 */
	bool gso4, gso6;
};

/*
 * A frame read from the TAP (virtio_net_hdr h) to TX metadata. Partial
 * checksums the backend may not take (or at a place netif cannot describe)
 * are completed in software in f. -EOPNOTSUPP: GSO of a type or family not
 * negotiated (UDP, ...); -EINVAL: a header that does not fit the frame.
 */
int nf_vnet_to_tx(const struct virtio_net_hdr *h, uint8_t *f, size_t len,
		  const struct nf_tx_caps *caps, struct nf_tx_meta *ret);
/* A received packet's netif flags and GSO extra to a virtio_net_hdr; -EPROTO if unparsable. */
int nf_rx_to_vnet(const struct nf_rx_pkt *p, const uint8_t *f, struct virtio_net_hdr *ret);

/* ---- the device ---- */

struct nf_counters {
	uint64_t tx_frames, tx_bytes, tx_slots;
	uint64_t tx_errors;	/* responses NETIF_RSP_ERROR / NETIF_RSP_DROPPED */
	uint64_t tx_bad_rsp;	/* responses with an id not in flight, or a bad status */
	uint64_t rx_frames, rx_bytes, rx_slots;
	uint64_t rx_errors;	/* bad responses or chains */
	uint64_t rx_hash_ok;	/* hash extras equal to our own Toeplitz of the frame */
	uint64_t rx_hash_bad;	/* hash extras that are not */
	uint64_t notify, events;
	uint64_t tap_dropped;	/* TAP frames that could not be sent, or RX not written */
};

/* The TX buffer pages of one queue: granted once, frames packed into them. */
struct nf_txpool {
	uint8_t *mem;
	unsigned npages;
	grant_ref_t refs[NF_RING_SIZE];
	uint16_t users[NF_RING_SIZE];	/* slots in flight per page */
	uint16_t free[NF_RING_SIZE];
	unsigned nfree;
	int cur;			/* page being filled, -1 none */
	unsigned cur_off;
};

struct nf_dev;

struct nf_queue {
	struct nf_dev *dev;
	unsigned idx;
	struct xen_evtchn *evtchn;
	struct xen_gntshr *gntshr;
	int port_tx, port_rx;		/* equal without split event channels */
	void *tx_sring, *rx_sring;
	grant_ref_t tx_ref, rx_ref;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	/* TX: ids are ring-slot sized; each data slot in flight holds one */
	struct nf_txpool pool;
	uint16_t id_free[NF_RING_SIZE];
	unsigned nid_free;
	int16_t id_page[NF_RING_SIZE];	/* -1: id not in flight */
	/* RX: rx_bufs granted pages; slot i's request holds buffer slot_buf[i] */
	uint8_t *rx_mem;
	unsigned rx_bufs;
	grant_ref_t rx_refs[NF_RING_SIZE];
	uint16_t rx_free[NF_RING_SIZE];
	unsigned rx_nfree;
	uint16_t slot_buf[NF_RING_SIZE];
	struct nf_rx_asm rxa;
	uint8_t *rx_pkt;		/* NF_RX_BUF_MAX + a virtio_net_hdr in front */
	bool rx_paused;			/* hostile stop-rx */
	struct nf_counters cnt;
	int tap_fd;
	int fail;
	char why[160];
	bool up;
};

struct nf_opts {
	int devid;
	int domid;		/* -1: XENSIM_DOMID or the `domid` node */
	unsigned queues;
	bool split, sg, gso, csum, ipv6_csum, ctrl_ring, mcast_control, connect_early;
	unsigned timeout_s;
	bool verbose;
};

struct nf_dev {
	struct nf_opts o;
	const struct xen_ops *ops;
	struct xs_handle *xs;
	domid_t domid, backend_id;
	char fe[96];
	char be[160];
	uint8_t mac[6];
	unsigned mtu;
	/* what the backend offers */
	struct {
		bool rx_copy, sg, gso4, gso6, ipv6_csum, split, ctrl_ring, mcast, mcast_dyn;
		unsigned max_queues;
	} be_feat;
	/* negotiated */
	unsigned nr_queues;
	bool split, rx_sg, rx_gso4, rx_gso6, no_csum, ipv6_csum, ctrl_ring, mcast;
	struct nf_tx_caps tx;
	bool tx_sg;
	unsigned tx_pages, rx_bufs;	/* per queue */
	/* control ring (main thread) */
	struct xen_gntshr *ctrl_gntshr;
	struct xen_evtchn *ctrl_evtchn;
	void *ctrl_sring;
	grant_ref_t ctrl_ref;
	int ctrl_port;
	bool connected;
	struct nf_queue q[NF_MAX_QUEUES];
	char backend_error[256];
};

/* Per-queue buffer pages for nq queues within the grant budget (see the top). */
void nf_pool_sizes(unsigned nq, unsigned *ret_tx_pages, unsigned *ret_rx_bufs);

/* xb.c: the xenbus side (main thread) */
uint64_t nf_now_ns(void);
int nf_dev_open(struct nf_dev *d, const struct nf_opts *o);
void nf_dev_close(struct nf_dev *d);
int nf_connect(struct nf_dev *d);
/* Closing -> (backend Closing/Closed) -> Closed; then the queues are freed. */
int nf_disconnect(struct nf_dev *d);
int nf_read_be_state(struct nf_dev *d);
int nf_wait_be_state(struct nf_dev *d, unsigned mask, int timeout_ms);
/* Drains the xenstore watch; true when the backend is no longer Connected. */
bool nf_be_gone(struct nf_dev *d);
void nf_read_be_error(struct nf_dev *d);
int nf_dev_xs_fd(struct nf_dev *d);
void nf_dev_drain_watch(struct nf_dev *d);

/* queue.c: one queue's rings (its owner thread only) */
int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, unsigned idx);
void nf_queue_free(struct nf_dev *d, struct nf_queue *q);
void nf_qfail(struct nf_queue *q, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Free TX ring slots. */
unsigned nf_tx_ring_free(struct nf_queue *q);
/*
 * Queues one frame (not yet pushed): 1 queued, 0 no room now (ring, ids or
 * pages), -EMSGSIZE the frame can never be sent with what was negotiated.
 */
int nf_tx_frame(struct nf_queue *q, const uint8_t *frame, uint32_t len, const struct nf_tx_meta *m);
/* Publishes queued TX requests; notifies when req_event asks. */
void nf_tx_push(struct nf_queue *q);
/* Takes TX responses; returns how many (or -EPROTO on a broken ring). */
int nf_tx_reap(struct nf_queue *q);
/* Slots of frames sent and not yet answered. */
unsigned nf_tx_inflight(struct nf_queue *q);
/* Posts every free RX buffer; pushes and notifies. */
void nf_rx_refill(struct nf_queue *q);
typedef void (*nf_rx_fn)(struct nf_queue *q, const struct nf_rx_pkt *p, uint8_t *frame, void *arg);
/* Takes RX responses, hands each packet to fn; returns packets (or -EPROTO). */
int nf_rx_poll(struct nf_queue *q, nf_rx_fn fn, void *arg);
/* Re-arms rsp_event on both rings; true when responses raced in. */
bool nf_final_check(struct nf_queue *q);
/* Takes a pending event (unmasking it); true if there was one. */
bool nf_take_event(struct nf_queue *q);
void nf_notify_tx(struct nf_queue *q);
void nf_notify_rx(struct nf_queue *q);
/*
 * The main thread's own TX exchanges, while no worker runs (hostile
 * scenarios, multicast control). nf_wait_events sleeps up to ms on the event
 * channel and xenstore and takes the events. nf_tx_collect publishes what is
 * on the TX ring, notifies, and collects `want` answers in ring order
 * (extras' NETIF_RSP_NULL skipped): their statuses in st and, unless NULL,
 * their ids in ids. 1 all answered, 0 none within --timeout, -EPIPE the
 * backend left Connected, -EPROTO a broken ring.
 */
void nf_wait_events(struct nf_queue *q, int ms);
int nf_tx_collect(struct nf_queue *q, unsigned want, int16_t *st, uint16_t *ids);

/* tap.c */
int nf_tap_open(const char *name, bool multi_queue, int *ret_fd);
/* MAC, MTU, offloads, up; on the device behind fd. */
int nf_tap_configure(int fd, const char *name, const uint8_t mac[6], unsigned mtu,
		     const struct nf_tx_caps *caps);

/* ---- mcast.c: multicast control (--mcast-add, --mcast-del) ---- */

/* Ops one run may send (--mcast-add and --mcast-del together). */
#define NF_MAX_MCAST_OPS 16

struct nf_mcast_op {
	uint8_t type;		/* XEN_NETIF_EXTRA_TYPE_MCAST_ADD or _MCAST_DEL */
	uint8_t mac[6];
	bool answered;
	int16_t status;		/* the answer: NETIF_RSP_OKAY or NETIF_RSP_ERROR */
};

/*
 * Appends the op of an option: type and MAC text ("xx:xx:xx:xx:xx:xx", any
 * address: the backend judges it). 0; -EINVAL a bad type or MAC; -E2BIG
 * NF_MAX_MCAST_OPS already. Pure.
 */
int nf_mcast_op_add(struct nf_mcast_op *ops, unsigned *n, uint8_t type, const char *mac);
/* "add" or "del". */
const char *nf_mcast_op_name(const struct nf_mcast_op *op);
/*
 * Lays an op out as netif.h's dummy transmit request: a request with only
 * id and NETTXF_extra_info (size 0, no grant), then the MCAST extra (no
 * XEN_NETIF_EXTRA_FLAG_MORE). Returns the slots written (2). Pure.
 */
unsigned nf_mcast_layout(const struct nf_mcast_op *op, uint16_t id, union nf_tx_slot out[2]);
/*
 * Sends the ops in order on queue 0, each waiting for its answer (status
 * in the op). Main thread, after the handshake, no worker running. An
 * ERROR answer is a result, not a failure. 0; -EOPNOTSUPP the backend does
 * not offer feature-multicast-control; -errno an op got no valid answer
 * (why says which and how).
 */
int nf_mcast_run(struct nf_dev *d, struct nf_mcast_op *ops, unsigned n, char *why, size_t wn);

/* ---- ctrl.c: the control ring (--hash-queue) ---- */

/* The key --hash-queue programs (40 bytes). */
extern const uint8_t nf_rss_key[40];
/*
 * Whether a hash extra is right for frame f: the Toeplitz hash, with key,
 * of the fields its type names (netif.h "Hash types": IPv4/IPv6 addresses,
 * then TCP ports), computed here bit by bit as Microsoft's RSS
 * specification defines it, independently of the backend's code.
 */
bool nf_hash_check(const uint8_t *key, size_t keylen, const uint8_t *f, size_t len,
		   uint8_t type, uint32_t value);
uint32_t nf_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in, size_t n);
struct nf_ctrl_result {
	unsigned n;			/* steps run */
	char step[8][20];
	int status[8];			/* XEN_NETIF_CTRL_STATUS_*, or -errno */
	uint32_t flags_offered, mapping_max;
};
/*
 * Toeplitz over IPv4 and IPv4+TCP (as far as offered) with the standard
 * key, a 128-entry mapping with every entry `queue`. Each step's status in
 * res; -errno when a step got no answer or the ring broke.
 */
int nf_ctrl_hash(struct nf_dev *d, unsigned queue, struct nf_ctrl_result *res);

#endif
