/*
 * The io_uring backend (Linux, completion-based; liburing >= 2.3).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * How it receives
 * ---------------
 * One io_uring per backend instance (per context). Every attached (joined)
 * subscription gets:
 *   - its own provided-buffer ring (buffer group id = the sub's slot index)
 *     of sub_ring_size buffers, so a flooded subscription can only empty
 *     its own ring and never starves the others of buffers;
 *   - one multishot IORING_OP_RECVMSG (flags MSG_TRUNC) on its socket, which
 *     keeps filling buffers of that ring and posting one CQE per datagram.
 *
 * Buffer layout (one buffer = one datagram; all allocated at attach time,
 * nothing is allocated per packet):
 *
 *   0    struct io_uring_recvmsg_out  (16 bytes, written by the kernel)
 *   16   source name, NAME_LEN bytes  (sockaddr_in6 = 28, rounded up to 32
 *                                      so the control area is 8-aligned)
 *   48   control data, MCRX_PLAT_CONTROL_LEN (128) bytes (pktinfo, timestamp,
 *                                      SO_RXQ_OVFL drop count)
 *   176  payload, max_payload bytes
 *
 * The buffer length given to the kernel stops exactly after max_payload
 * bytes of payload (the stride is rounded up to 64 bytes, the padding is
 * never offered), so a longer datagram is cut at max_payload. Because the
 * request carries MSG_TRUNC, the kernel reports the datagram's real length
 * in io_uring_recvmsg_out.payloadlen (and MSG_TRUNC in .flags): that is
 * the wire_len; the bytes actually stored come from the CQE's res.
 *
 * Buffer states. Every buffer id of a sub is in exactly one state:
 *   kernel  - posted to the sub's buffer ring (or filled, CQE not reaped)
 *   pending - its CQE was harvested; FIFO per sub, waits for recv()
 *   handed  - handed out by recv() as a view; valid until release() releases its number
 *   spare   - owned by us, not posted (recycled, or held back by the quota)
 * poll() (and recv(), when the sub runs dry) harvests CQEs: kernel ->
 * pending. recv(): pending -> handed. release(): handed -> spare, then
 * spare buffers are posted again (spare -> kernel, io_uring_buf_ring_add +
 * advance) and requests that ended are re-armed. A new sub starts with
 * INITIAL_BUFS (32) buffers posted (an idle sub holds little of the CQ
 * budget) and grows to its quota as soon as buffers come back from views.
 *
 * CQ bound (the CQ must never overflow)
 * -------------------------------------
 * Every CQE the kernel can post is one of: a datagram CQE, which consumes
 * one posted buffer; the last CQE of a recvmsg request (at most one per
 * armed request; it may also carry a buffer, counted twice then); the CQE
 * of a cancel request (detach and trim() issue them; one slot is always
 * reserved for one, more at once must fit in the room). So at any moment
 * the CQEs the kernel may still post plus those not yet reaped are at most
 *
 *     total_in_kernel + armed_count + max(1, cancels in flight)
 *
 * where total_in_kernel counts buffers posted and not yet harvested. We
 * post a buffer or arm a request only if that sum stays <= cq_entries
 * afterwards (room()), and we never post/arm between processing CQEs and
 * advancing the CQ head past them. Hence the CQ cannot overflow, whatever
 * the traffic.
 *
 * The CQ is sized at create time (IORING_SETUP_CQSIZE) to the next power of
 * two of 64 * (sub_ring_size + 1), at least 4096 and at most 65536 entries
 * (the kernel's limit): 32768 entries (512 KiB) for the default ring size
 * 256, which holds 127 subscriptions at full ring size. With n subs, each
 * one's share ("quota": buffers it may have in the kernel) is
 * min(sub_ring_size, (cq_entries - 1) / n - 1), so every sub still gets
 * buffers when there are many (attach fails with MCRX_E_NO_MEMORY, errno
 * ENOBUFS, only when the quota would be 0: beyond 2047 subs with the
 * smallest CQ). Buffers above the quota are kept spare. A sub that attached
 * when the CQ budget was used up by others starts with fewer buffers and is
 * topped up at later release()s as room appears (a sub keeps what it was
 * given until it receives, and an idle sub does not give buffers back by
 * itself: trim() takes them back, see there).
 * IORING_FEAT_NODROP is still required at create time, so a bug in this
 * accounting would make the kernel keep CQEs on its overflow list rather
 * than lose them (harvest() flushes that list if it is ever used), and a
 * build with -DMCRX_IOURING_DEBUG aborts if the bound is ever broken or
 * the kernel's CQ overflow counter moves.
 *
 * Multishot lifecycle
 * -------------------
 * - A CQE without IORING_CQE_F_MORE ends the request. It is re-armed at
 *   once (at the end of the harvest) if the sub has buffers in its ring.
 * - -ENOBUFS (the sub's buffer ring ran empty): counted as a drop event
 *   (drop_events op; the datagrams stay in the socket queue, where the
 *   kernel accounts for overflow with SO_RXQ_OVFL); the request is re-armed
 *   when release() has posted buffers again.
 * - Other errors: the sub reports MCRX_E_RECV (errno = the CQE's error)
 *   once from recv(), and is re-armed at the next release() (not within
 *   the same harvest, so a persistent error cannot spin).
 * - detach() cancels the request by user_data (IORING_OP_ASYNC_CANCEL),
 *   then waits for the request's final CQE (and the cancel's) before it
 *   unregisters the buffer ring; from then on the kernel cannot touch the
 *   sub's buffers. It returns how many datagrams were harvested but never
 *   handed out. Buffers handed out in the current call stay allocated until
 *   the next release() (views stay valid as promised).
 * - user_data = kind | slot << 8 | generation << 32: a CQE of an older
 *   request of a reused slot can never be mistaken for the current one.
 *
 * Wait object (contract v2, backend.h): an eventfd registered with
 * io_uring_register_eventfd(); the kernel adds to it whenever it posts
 * CQEs. service(), which ends every receive call and every detach, first
 * re-posts buffers and re-arms ended requests (replenish(): never left for
 * the application's next call), then settles the eventfd: it must be
 * readable while harvested datagrams are pending, the core holds
 * read-ahead (hold), or a sub has no live request (needs_service(): its
 * buffers are all out as views, so only the next call's release() can
 * re-post them). Otherwise service() drains the counter with read() and
 * harvests once more, so a CQE that was posted just before the drain is not
 * lost: either it is harvested after the drain, or it was posted after the
 * drain and its signal keeps the fd readable. efd_set tracks "the counter
 * is known to be (or about to be) non-zero" to save the read()/write()
 * syscalls in the common cases.
 * Until the application first asks for the wait object (wait_handle(),
 * i.e. mcrx_ctx_fd()), nobody can be watching it, so service() leaves the
 * counter alone (no read()/write() per wake-up); the first wait_handle()
 * settles it as the last service() would have.
 *
 * Coalescing (coalesce_us > 0): the ring is set up with DEFER_TASKRUN
 * (+ SINGLE_ISSUER, which it requires). Without it each completion is
 * task work that wakes the waiting thread on its own, so a wait for a
 * batch is woken once per datagram anyway and lingering costs more CPU
 * than it saves (measured: 1.7-2.1 x the CPU per datagram of no
 * coalescing at 150k/s). With it the kernel queues completions' work and
 * wakes the waiter once enough has queued: one wake-up per batch. While
 * batches come (batching: the last wait gathered 2 or more), the wait asks
 * for max_batch completions with the kernel's minimum wait
 * (IORING_FEAT_MIN_TIMEOUT, Linux >= 6.12: min_wait_usec = coalesce_us,
 * `pad` of struct io_uring_getevents_arg in liburing 2.3): after
 * coalesce_us it returns with whatever there is, one timer wake-up per
 * batch. Otherwise (sparse traffic, or kernels without it) it waits for
 * one completion with no timer, and only one that arrives less than
 * coalesce_us after the wait began is followed by a second wait for
 * max_batch until then: the minimum wait's timer would fire before every
 * sparse datagram, a timer wake-up each for nothing (measured: 1.76 x the
 * raw loop's CPU per datagram at 10k/s with coalesce_us 50, 1.02 x
 * without).
 * The price: SINGLE_ISSUER ties the ring to the thread that created it
 * (-EEXIST from any other, kernel commits 7cae596bc31f, d7cce96c449e), so
 * thread_bound() reports it and the core refuses other threads with
 * MCRX_E_WRONG_THREAD before touching anything. Checked on 6.18: the
 * registered eventfd is signalled when completion work is queued, before
 * any CQE is posted, so mcrx_ctx_fd() keeps its promise (harvest()
 * enters the kernel for IORING_SQ_TASKRUN). A kernel without
 * DEFER_TASKRUN (< 6.1) gets COOP_TASKRUN and the second-wait linger.
 *
 * Availability: create() returns MCRX_E_BACKEND_UNAVAILABLE (errno kept)
 * when io_uring_queue_init fails with ENOSYS / EPERM / EACCES / EINVAL
 * (kernel too old, kernel.io_uring_disabled, seccomp), when the kernel
 * lacks IORING_FEAT_NODROP / IORING_FEAT_EXT_ARG, IORING_OP_RECVMSG, buffer
 * rings or multishot recvmsg. The last two are probed for real: a buffer
 * ring is registered and a multishot recvmsg receives one datagram over an
 * AF_UNIX socketpair (no network traffic) and must come with
 * IORING_CQE_F_MORE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/platform.h"

/* The kernel fills the provided buffers behind the program's back; tell
 * valgrind memcheck (scripts/test.sh --valgrind), which cannot see it,
 * that those bytes are now defined. A few instructions without valgrind,
 * nothing when its header is not installed. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define KERNEL_WROTE(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#endif
#endif
#ifndef KERNEL_WROTE
#define KERNEL_WROTE(p, n) ((void)(p), (void)(n))
#endif

/* Source-name area of a buffer: a sockaddr_in6 (28 bytes) rounded up to 8
 * (MCRX_PLAT_NAME_LEN = 32), so the control area that follows it is
 * aligned for struct cmsghdr. */
#define NAME_LEN MCRX_PLAT_NAME_LEN
#define HDR_LEN (sizeof(struct io_uring_recvmsg_out) + NAME_LEN + MCRX_PLAT_CONTROL_LEN)
#define STRIDE_ALIGN 64u

#define SQ_ENTRIES 64u
#define CQ_MIN 4096u     /* >= 2047 subs even with tiny rings */
#define CQ_MAX 65536u    /* kernel limit (2 * IORING_MAX_ENTRIES) */
#define CQ_FULL_SUBS 64u /* subs that get a full ring within the CQ budget */
#define MAX_SLOTS 65536u /* buffer group ids are 16 bits */
#define INITIAL_BUFS 32u /* a new sub's buffers until it first receives */
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15) /* Linux 6.12 */
#endif

enum { UD_RECV = 1, UD_CANCEL = 2, UD_PROBE = 3 };

static inline uint64_t ud_make(unsigned kind, uint32_t slot, uint32_t gen)
{
    return (uint64_t)kind | (uint64_t)(slot & 0xffffu) << 8 | (uint64_t)gen << 32;
}

struct mcrx_backend_sub {
    struct mcrx_backend *b;
    struct mcrx_sub *cookie;
    int fd;
    uint32_t slot;              /* index in b->slots == buffer group id */
    uint32_t gen;               /* generation of the current request */
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    uint8_t *mem;               /* nbufs * stride buffers */
    struct msghdr msgh;         /* namelen/controllen given to the kernel */

    uint32_t in_kernel;         /* buffers posted, CQE not harvested */
    uint16_t *pending;          /* FIFO of buffer ids, nbufs entries */
    uint32_t p_head, p_count;
    int32_t *res;               /* per buffer id: CQE res (bytes used) */
    uint16_t *handed;           /* handed out, views still valid (in order) */
    uint64_t *handed_seq;       /* record number of each handed entry */
    uint32_t h_count;
    uint16_t *spare;            /* owned by us, not posted */
    uint32_t s_count;
    uint16_t *shadow;           /* bid at each ring position we posted */

    bool armed;                 /* a recvmsg request is live */
    bool detaching, detached;
    bool trimming;              /* giving buffers back (see trim()) */
    bool starved;               /* got fewer buffers than asked: no room */
    uint32_t grow_to;           /* buffers it asked for last */
    bool cancel_sent;           /* trim: cancel of the request queued */
    bool arm_delay;             /* last request failed: re-arm next call */
    bool arm_queued;            /* in b->arm_list */
    bool in_dirty;              /* in b->dirty (has handed buffers) */
    bool ready;                 /* has pending datagrams or an error */
    bool listed;                /* in the not-yet-reported ready list */
    bool reported;              /* reported by poll(); the core has it */
    int err;                    /* errno of a failed request, for recv() */
    uint64_t nobufs;            /* drop events: buffer ring ran empty */

    struct mcrx_backend_sub *next_arm, *next_dirty;
    struct mcrx_backend_sub *r_prev, *r_next; /* ready list */
};

struct mcrx_backend {
    struct io_uring ring;
    bool ring_ok;
    unsigned taskrun;           /* IORING_SETUP_* task-run flags in use */
    bool defer;                 /* DEFER_TASKRUN: bound to owner's thread */
    uintptr_t owner;            /* the creating thread, with defer */
    uint32_t coalesce_us;       /* see "Coalescing" */
    uint32_t max_batch;
    bool min_timeout;           /* kernel has IORING_FEAT_MIN_TIMEOUT */
    bool batching;              /* coalescing: the last wait found a batch
                                   coming (see "Coalescing") */
    int efd;
    bool efd_set;               /* eventfd counter known (about to be) > 0 */
    bool efd_exposed;           /* wait_handle() was asked: someone may
                                   watch the eventfd, keep it settled */
    bool last_hold;             /* hold of the last service() */
    uint32_t cq_entries;
    uint32_t nbufs;             /* sub_ring_size */
    uint32_t mask;
    uint32_t max_payload;
    uint32_t buf_len;           /* HDR_LEN + max_payload: given to kernel */
    uint32_t stride;            /* buf_len rounded up */

    uint32_t nsubs;             /* attached */
    uint32_t total_in_kernel;
    uint32_t armed_count;
    uint32_t cancels;           /* cancel requests in flight */
    bool rescan;                /* some sub wants top-up/arm: scan all */
    bool need_trim;             /* a sub is short of CQ room: trim() */
    uint32_t deficit;           /* CQ room the short subs lacked */
    uint32_t ready_subs;

    struct mcrx_backend_sub **slots;
    uint32_t nslots, slot_hint;
    struct mcrx_backend_sub *arm_list;
    struct mcrx_backend_sub *dirty;
    uint64_t seq;               /* records handed out so far (see backend.h) */
    struct mcrx_backend_sub *r_head, *r_tail;

    struct msghdr view;         /* layout for the io_uring_recvmsg_* helpers */
};

/* ------------------------------------------------------------------ */
/* Accounting helpers                                                  */
/* ------------------------------------------------------------------ */

/* CQ slots still free for buffers or requests (see "CQ bound"). One slot
 * is always kept for a cancel request's CQE; more cancels at once take
 * room of their own. */
static uint32_t room(const struct mcrx_backend *b)
{
    uint64_t used = (uint64_t)b->total_in_kernel + b->armed_count +
                    (b->cancels > 1 ? b->cancels : 1);
    return used < b->cq_entries ? (uint32_t)(b->cq_entries - used) : 0;
}

/* May one more cancel request be issued without breaking the bound? */
static bool cancel_fits(const struct mcrx_backend *b)
{
    return b->cancels == 0 || room(b) >= 1;
}

#ifdef MCRX_IOURING_DEBUG
/* Debug builds (-DMCRX_IOURING_DEBUG): check the CQ bound and that the
 * kernel never had to use its overflow list. */
#include <stdio.h>

#define CHECK_BOUND(b)                                                        \
    do {                                                                      \
        if ((uint64_t)(b)->total_in_kernel + (b)->armed_count +               \
                    ((b)->cancels > 1 ? (b)->cancels : 1) >                   \
                (b)->cq_entries ||                                            \
            IO_URING_READ_ONCE(*(b)->ring.cq.koverflow) != 0) {               \
            fprintf(stderr, "io_uring CQ bound broken: in_kernel %u armed %u" \
                    " cq %u overflow %u\n", (b)->total_in_kernel,             \
                    (b)->armed_count, (b)->cq_entries,                        \
                    IO_URING_READ_ONCE(*(b)->ring.cq.koverflow));             \
            abort();                                                          \
        }                                                                     \
    } while (0)
#else
#define CHECK_BOUND(b) ((void)0)
#endif

/* Buffers one sub may have in the kernel, with nsubs attached. */
static uint32_t quota_for(const struct mcrx_backend *b, uint32_t nsubs)
{
    uint32_t share = (b->cq_entries - 1) / (nsubs ? nsubs : 1);
    uint32_t q = share > 1 ? share - 1 : 0; /* minus its final CQE */
    return q < b->nbufs ? q : b->nbufs;
}

static inline uint8_t *buf_of(const struct mcrx_backend *b,
                              const struct mcrx_backend_sub *s, uint32_t bid)
{
    return s->mem + (size_t)bid * b->stride;
}

/* ---- ready list: subs with work that poll() has not reported yet ---- */

static void rlist_add(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    s->listed = true;
    s->r_next = NULL;
    s->r_prev = b->r_tail;
    if (b->r_tail)
        b->r_tail->r_next = s;
    else
        b->r_head = s;
    b->r_tail = s;
}

static void rlist_del(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    if (!s->listed)
        return;
    if (s->r_prev)
        s->r_prev->r_next = s->r_next;
    else
        b->r_head = s->r_next;
    if (s->r_next)
        s->r_next->r_prev = s->r_prev;
    else
        b->r_tail = s->r_prev;
    s->r_prev = s->r_next = NULL;
    s->listed = false;
}

/* Keep ready/listed/reported consistent with "has work". A sub the core
 * holds (reported) is not listed again until it has run dry: the core
 * only drops a sub after recv() returned fewer than asked, i.e. when it
 * ran dry here, and that clears reported. */
static void update_ready(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    bool work = s->p_count > 0 || s->err != 0;
    if (work && !s->ready) {
        s->ready = true;
        b->ready_subs++;
        if (!s->reported)
            rlist_add(b, s);
    } else if (!work && s->ready) {
        s->ready = false;
        b->ready_subs--;
        rlist_del(b, s);
        s->reported = false;
    } else if (!work) {
        s->reported = false;
    }
}

/* ------------------------------------------------------------------ */
/* Submission                                                          */
/* ------------------------------------------------------------------ */

static struct io_uring_sqe *get_sqe(struct mcrx_backend *b)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    while (!sqe) { /* SQ full: push what is queued to the kernel */
        int ret = io_uring_submit(&b->ring);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
            return NULL;
        sqe = io_uring_get_sqe(&b->ring);
    }
    return sqe;
}

static void submit(struct mcrx_backend *b)
{
    /* Failures leave the SQEs queued; the next submit retries them. */
    if (io_uring_sq_ready(&b->ring))
        (void)io_uring_submit(&b->ring);
}

/* Post spare buffers of s to its ring until it has cap (at most its quota)
 * in the kernel, as far as the CQ room allows; a sub left short is marked
 * starved and the room it lacked is noted for trim(). */
static void post_buffers(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                         uint32_t cap)
{
    if (s->detaching || s->trimming)
        return;
    uint32_t q = quota_for(b, b->nsubs);
    if (cap > q)
        cap = q;
    s->grow_to = cap;
    s->starved = false;
    uint32_t want = s->in_kernel < cap ? cap - s->in_kernel : 0;
    if (want > s->s_count)
        want = s->s_count;
    if (want == 0)
        return;
    uint32_t r = room(b);
    uint32_t arm = s->armed ? 0 : 1; /* keep a slot for its own request */
    if (want + arm > r) {
        /* Others hold more than their quota (they got it when fewer subs
         * were attached): take some back, then top this one up. */
        s->starved = true;
        b->deficit += want + arm - r;
        b->need_trim = true;
        b->rescan = true;
        want = r > arm ? r - arm : 0;
    }
    uint16_t tail = s->br->tail;
    for (uint32_t i = 0; i < want; i++) {
        uint16_t bid = s->spare[--s->s_count];
        s->shadow[(uint16_t)(tail + i) & b->mask] = bid;
        io_uring_buf_ring_add(s->br, buf_of(b, s, bid), b->buf_len, bid,
                              io_uring_buf_ring_mask(b->nbufs), (int)i);
    }
    if (want) {
        io_uring_buf_ring_advance(s->br, (int)want);
        s->in_kernel += want;
        b->total_in_kernel += want;
    }
    CHECK_BOUND(b);
}

/* Arm the multishot recvmsg of s if it has none and has buffers posted.
 * The SQE is only queued; the caller submits. */
static void maybe_arm(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    if (s->armed || s->detaching || s->trimming || s->arm_delay || s->in_kernel == 0)
        return;
    if (room(b) == 0) {
        s->starved = true;
        b->deficit += 1;
        b->rescan = true;
        b->need_trim = true;
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(b);
    if (!sqe) {
        b->rescan = true;
        return;
    }
    s->gen++;
    io_uring_prep_recvmsg_multishot(sqe, s->fd, &s->msgh, MSG_TRUNC);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = (uint16_t)s->slot;
    io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, s->slot, s->gen));
    s->armed = true;
    b->armed_count++;
    CHECK_BOUND(b);
}

/* ------------------------------------------------------------------ */
/* Completion                                                          */
/* ------------------------------------------------------------------ */

static void handle_cqe(struct mcrx_backend *b, const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    unsigned kind = (unsigned)(ud & 0xff);
    if (kind == UD_CANCEL) {
        if (b->cancels)
            b->cancels--;
        return;
    }
    if (kind != UD_RECV)
        return;
    uint32_t slot = (uint32_t)(ud >> 8) & 0xffffu;
    uint32_t gen = (uint32_t)(ud >> 32);
    struct mcrx_backend_sub *s = slot < b->nslots ? b->slots[slot] : NULL;
    if (!s || s->gen != gen || !s->armed)
        return; /* cannot happen: detach waits for the final CQE */

    if (cqe->flags & IORING_CQE_F_BUFFER) {
        uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        s->in_kernel--;
        b->total_in_kernel--;
        if (cqe->res > 0) {
            s->res[bid] = cqe->res;
            KERNEL_WROTE(buf_of(b, s, bid), (size_t)cqe->res);
            s->pending[(s->p_head + s->p_count) & b->mask] = bid;
            s->p_count++;
        } else { /* consumed without data: post it again */
            s->spare[s->s_count++] = bid;
            s->starved = true;
            if (s->grow_to < s->in_kernel + 1)
                s->grow_to = s->in_kernel + 1;
            b->rescan = true;
        }
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) { /* the request has ended */
        s->armed = false;
        b->armed_count--;
        if (cqe->res == -ENOBUFS) {
            s->nobufs++;
        } else if (cqe->res < 0 && cqe->res != -ECANCELED && !s->detaching) {
            s->err = -cqe->res;
            s->arm_delay = true;
            b->rescan = true;
        }
        if (!s->detaching && !s->trimming && !s->arm_queued) {
            s->arm_queued = true;
            s->next_arm = b->arm_list;
            b->arm_list = s;
        }
    }
    update_ready(b, s);
}

/* Reap every CQE there is. after_drain: we just drained the eventfd, so
 * these CQEs may have signalled before the drain (see "Wait object"). */
static unsigned harvest_ring(struct mcrx_backend *b, bool after_drain,
                             bool enter);

/* Run pending completion work so its CQEs are posted. With DEFER_TASKRUN
 * one io_uring_enter runs at most IO_LOCAL_TW_DEFAULT_MAX (20, Linux
 * io_uring/tw.h) queued items, each posting one CQE or more: a call that
 * posted 20 or more may have left work behind, so enter again (bounded),
 * or 300 ready subs would take many receive calls to be seen and the
 * first round would leave most of them out (tests/test_fairness.c). */
static void get_events(struct mcrx_backend *b)
{
    unsigned before = io_uring_cq_ready(&b->ring);
    (void)io_uring_get_events(&b->ring);
    for (unsigned i = 0; b->defer && i < 64; i++) {
        unsigned now = io_uring_cq_ready(&b->ring);
        if (now - before < 20)
            break;
        before = now;
        (void)io_uring_get_events(&b->ring);
    }
}

static unsigned harvest(struct mcrx_backend *b, bool after_drain)
{
    return harvest_ring(b, after_drain, true);
}

/* enter: run pending task work first (IORING_SQ_TASKRUN) so its CQEs are
 * seen; false when the caller is about to wait in the kernel anyway, which
 * runs it too (one io_uring_enter per wake-up instead of two). */
static unsigned harvest_ring(struct mcrx_backend *b, bool after_drain,
                             bool enter)
{
    unsigned head, n = 0;
    struct io_uring_cqe *cqe;
    /* Defence in depth: CQEs on the kernel's overflow list (which the CQ
     * bound rules out) only come back through io_uring_enter. */
    unsigned kf = IO_URING_READ_ONCE(*b->ring.sq.kflags);
    /* IORING_SQ_TASKRUN (only with IORING_SETUP_TASKRUN_FLAG): completions
     * wait as task work; entering the kernel turns them into CQEs. */
    if ((kf & IORING_SQ_CQ_OVERFLOW) || (enter && (kf & IORING_SQ_TASKRUN)))
        get_events(b);
    io_uring_for_each_cqe(&b->ring, head, cqe) {
        handle_cqe(b, cqe);
        n++;
    }
    CHECK_BOUND(b);
    if (n == 0)
        return 0;
    /* Advance before any buffer is posted or request armed (CQ bound). */
    io_uring_cq_advance(&b->ring, n);
    if (!after_drain)
        b->efd_set = true;
    while (b->arm_list) {
        struct mcrx_backend_sub *s = b->arm_list;
        b->arm_list = s->next_arm;
        s->arm_queued = false;
        maybe_arm(b, s);
    }
    submit(b);
    return n;
}

/* ---- giving buffers back ---- */

/* Take the last posted buffers of s off its ring until it has at most
 * target in the kernel. Only while no request of s is live: the kernel
 * then does not look at the ring; it consumed exactly the first
 * (posted - in_kernel) entries, in ring order, and reads the tail afresh
 * each time it selects a buffer, so moving the tail back is safe. */
static void shrink(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                   uint32_t target)
{
    if (s->armed || s->in_kernel <= target)
        return;
    uint32_t k = s->in_kernel - target;
    uint16_t tail = s->br->tail;
    for (uint32_t i = 1; i <= k; i++)
        s->spare[s->s_count++] = s->shadow[(uint16_t)(tail - i) & b->mask];
    io_uring_smp_store_release(&s->br->tail, (uint16_t)(tail - k));
    s->in_kernel -= k;
    b->total_in_kernel -= k;
}

/* Subs that got their buffers while fewer subs were attached may hold more
 * than today's quota, and an idle sub never gives them back by itself.
 * When subs are short of CQ room (b->deficit), pick subs above the quota
 * (idle ones first: nothing pending, no views out), cancel their requests,
 * wait for the final CQEs, shrink their rings and re-arm them, until the
 * room suffices. They are trimmed to the quota of twice as many subs, so
 * that later attaches find room without trimming again. Cancels are issued
 * only as far as the CQ bound allows (cancel_fits()). By the quota
 * arithmetic, once no sub is above the quota every sub fits. */
static void trim(struct mcrx_backend *b)
{
    uint32_t goal = b->deficit;
    b->deficit = 0;
    b->need_trim = false;
    uint32_t q = quota_for(b, b->nsubs);
    uint32_t target = quota_for(b, 2 * b->nsubs);
    if (target == 0)
        target = q ? 1 : 0;
    for (int pass = 0; pass < 2 && room(b) < goal; pass++) {
        uint64_t planned = room(b);
        uint32_t todo = 0;
        for (uint32_t i = 0; i < b->nslots && planned < goal; i++) {
            struct mcrx_backend_sub *s = b->slots[i];
            if (!s || s->detaching || s->in_kernel <= q)
                continue;
            if (pass == 0 && (s->ready || s->in_dirty))
                continue; /* busy: second choice */
            s->trimming = true;
            s->cancel_sent = false;
            planned += s->in_kernel - target;
            todo++;
        }
        while (todo) {
            for (uint32_t i = 0; i < b->nslots; i++) {
                struct mcrx_backend_sub *s = b->slots[i];
                if (!s || !s->trimming)
                    continue;
                if (s->armed) {
                    if (s->cancel_sent || !cancel_fits(b))
                        continue;
                    struct io_uring_sqe *sqe = get_sqe(b);
                    if (!sqe) { /* cannot happen; leave this one be */
                        s->trimming = false;
                        todo--;
                        continue;
                    }
                    io_uring_prep_cancel64(sqe, ud_make(UD_RECV, s->slot, s->gen), 0);
                    io_uring_sqe_set_data64(sqe, ud_make(UD_CANCEL, 0, 0));
                    b->cancels++;
                    s->cancel_sent = true;
                    continue;
                }
                shrink(b, s, target);
                s->trimming = false;
                todo--;
                maybe_arm(b, s);
            }
            if (todo == 0)
                break;
            int ret = io_uring_submit_and_wait(&b->ring, 1);
            if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
                ret != -ETIME) { /* cannot happen; the ring is unusable */
                for (uint32_t i = 0; i < b->nslots; i++)
                    if (b->slots[i])
                        b->slots[i]->trimming = false;
                break;
            }
            harvest(b, false);
        }
    }
    b->rescan = true; /* top up the subs that were short */
    submit(b);
}

/* ---- eventfd ---- */

static void efd_drain(struct mcrx_backend *b)
{
    uint64_t v;
    ssize_t r;
    do
        r = read(b->efd, &v, sizeof v);
    while (r < 0 && errno == EINTR);
    b->efd_set = false;
}

static void efd_raise(struct mcrx_backend *b)
{
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(b->efd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    b->efd_set = true;
}

/* Completion work is queued that no CQE shows yet (IORING_SQ_TASKRUN:
 * DEFER_TASKRUN runs it only when this thread enters the kernel; the
 * kernel signalled the eventfd when it queued it). */
static bool work_queued(const struct mcrx_backend *b)
{
    return (IO_URING_READ_ONCE(*b->ring.sq.kflags) & IORING_SQ_TASKRUN) != 0;
}

/* Some attached sub has no live request (its buffers are all out as
 * views, or it waits for CQ room, or its last request failed): only a
 * receive call can make progress, so the wait object stays signalled. */
static bool needs_service(const struct mcrx_backend *b)
{
    return b->armed_count < b->nsubs;
}

/* Make the eventfd's readability match "datagrams pending, new CQEs, the
 * core holds read-ahead (hold), or the backend needs service". */
static void settle_efd(struct mcrx_backend *b, bool hold)
{
    if (!b->efd_exposed) {
        /* Nobody can watch an fd the application never asked for: skip
         * the read()/write() per wake-up. The counter only grows meanwhile
         * (it may be readable: one spurious wake-up at most once exposed),
         * and ur_wait_handle() settles it properly when first asked. */
        b->efd_set = true;
        return;
    }
    if (b->ready_subs || hold || needs_service(b)) {
        if (!b->efd_set)
            efd_raise(b);
        return;
    }
    if (!b->efd_set && !work_queued(b))
        return;
    efd_drain(b);
    harvest(b, true); /* CQEs posted before the drain */
    if (b->ready_subs || needs_service(b))
        efd_raise(b);
}

/* ------------------------------------------------------------------ */
/* Create / destroy                                                    */
/* ------------------------------------------------------------------ */

static uint32_t pow2_ceil(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p > CQ_MAX ? CQ_MAX : (uint32_t)p;
}

static void *ring_mem_alloc(size_t *bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    *bytes = (*bytes + (size_t)page - 1) & ~((size_t)page - 1);
    void *p = mmap(NULL, *bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Wait for one CQE (up to 1 s) and mark it seen. Returns 0 with the CQE's
 * user_data, res and flags through the pointers, or a negative errno. */
static int probe_next(struct io_uring *ring, uint64_t *ud, int *res, unsigned *flags)
{
    struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
    struct io_uring_cqe *cqe;
    int ret;
    do
        ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    while (ret == -EINTR);
    if (ret < 0)
        return ret;
    *ud = io_uring_cqe_get_data64(cqe);
    *res = cqe->res;
    *flags = cqe->flags;
    io_uring_cqe_seen(ring, cqe);
    return 0;
}

/* Does this kernel do buffer rings and multishot recvmsg? A real try on an
 * AF_UNIX datagram socketpair (no network traffic). 0 or -errno. */
static int probe_multishot(struct io_uring *ring)
{
    int sv[2] = {-1, -1};
    size_t br_bytes = 2 * sizeof(struct io_uring_buf);
    struct io_uring_buf_ring *br = NULL;
    bool registered = false, armed = false, cancelled = false;
    size_t buf_len = HDR_LEN + 64;
    uint8_t *buf = malloc(buf_len); /* heap: see the end */
    struct msghdr msgh = {.msg_namelen = NAME_LEN,
                          .msg_controllen = MCRX_PLAT_CONTROL_LEN};
    int st = 0;

    if (!buf)
        return -ENOMEM;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
        st = -errno;
        free(buf);
        return st;
    }
    br = ring_mem_alloc(&br_bytes);
    if (!br) {
        st = -ENOMEM;
        goto out;
    }
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br,
                                   .ring_entries = 1, .bgid = 0};
    st = io_uring_register_buf_ring(ring, &reg, 0);
    if (st < 0)
        goto out; /* kernel without buffer rings (< 5.19) */
    registered = true;
    io_uring_buf_ring_init(br);
    io_uring_buf_ring_add(br, buf, (unsigned)buf_len, 0, io_uring_buf_ring_mask(1), 0);
    io_uring_buf_ring_advance(br, 1);
    if (send(sv[1], "p", 1, 0) != 1) {
        st = -errno;
        goto out;
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_recvmsg_multishot(sqe, sv[0], &msgh, MSG_TRUNC);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, UD_PROBE);
    st = io_uring_submit(ring);
    if (st < 0)
        goto out;
    armed = true;

    uint64_t ud;
    int res;
    unsigned flags;
    st = probe_next(ring, &ud, &res, &flags);
    if (st < 0)
        goto out;
    if (res < 0) { /* e.g. -EINVAL: multishot recvmsg unknown (5.19) */
        armed = (flags & IORING_CQE_F_MORE) != 0;
        st = res;
        goto out;
    }
    if (!(flags & IORING_CQE_F_BUFFER) || !(flags & IORING_CQE_F_MORE)) {
        armed = (flags & IORING_CQE_F_MORE) != 0;
        st = -EOPNOTSUPP; /* not multishot after all */
        goto out;
    }
    st = 0;
out:
    if (armed) { /* end the request; wait for its last CQE and the cancel's */
        struct io_uring_sqe *c = io_uring_get_sqe(ring);
        if (c) {
            io_uring_prep_cancel64(c, UD_PROBE, 0);
            io_uring_sqe_set_data64(c, UD_CANCEL);
            if (io_uring_submit(ring) >= 0)
                cancelled = true;
        }
        bool cancel_seen = !cancelled;
        while (armed || !cancel_seen) {
            uint64_t ud2;
            int res2;
            unsigned flags2;
            if (probe_next(ring, &ud2, &res2, &flags2) < 0)
                break; /* give up; io_uring_queue_exit cleans up */
            if (ud2 == UD_CANCEL)
                cancel_seen = true;
            else if (ud2 == UD_PROBE && !(flags2 & IORING_CQE_F_MORE))
                armed = false;
        }
        if (armed && st == 0)
            st = -EIO;
    }
    /* If the request would not end (a broken kernel), the kernel may still
     * own the ring and the buffer: leave both allocated; destroying the
     * io_uring ends the request. */
    if (registered && !armed)
        io_uring_unregister_buf_ring(ring, 0);
    if (br && !armed)
        munmap(br, br_bytes);
    if (!armed)
        free(buf);
    close(sv[0]);
    close(sv[1]);
    return st;
}

static void free_sub_mem(struct mcrx_backend_sub *s)
{
    if (s->br)
        munmap(s->br, s->br_bytes);
    free(s->mem);
    free(s->pending);
    free(s->handed_seq);
    free(s);
}

static uint32_t ur_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s);

static void ur_destroy(struct mcrx_backend *b)
{
    for (uint32_t i = 0; i < b->nslots; i++) /* contract: none left */
        if (b->slots[i])
            ur_detach(b, b->slots[i]);
    while (b->dirty) {
        struct mcrx_backend_sub *s = b->dirty;
        b->dirty = s->next_dirty;
        if (s->detached)
            free_sub_mem(s);
    }
    if (b->ring_ok)
        io_uring_queue_exit(&b->ring); /* also unregisters the eventfd */
    if (b->efd >= 0)
        close(b->efd);
    free(b->slots);
    free(b);
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "1") == 0;
}

/* How completions run. COOP_TASKRUN: the kernel queues a completion's task
 * work without interrupting the thread (no IPI); it runs at the thread's
 * next kernel entry, and TASKRUN_FLAG sets IORING_SQ_TASKRUN meanwhile so
 * harvest() enters the kernel for it. A sleeping thread is still woken
 * (TWA_SIGNAL_NO_IPI wakes it), so a wait on the eventfd or the ring is
 * not delayed. DEFER_TASKRUN only with coalesce_us (see "Coalescing"):
 * it requires SINGLE_ISSUER, which binds the ring to the creating thread
 * for good, submissions and registrations alike (kernel commits
 * 7cae596bc31f, d7cce96c449e), while a default context may be created on
 * one thread and used on another; and without coalescing it gained
 * nothing measurable (bench/README.md "The wake-up path").
 * MEASUREMENT HOOKS: MCRX_TEST_IOURING_TASKRUN=none sets up the ring
 * without either, as before; =defer uses DEFER_TASKRUN for every context
 * (bound to its creating thread), to run the suite under it. */
#define TASKRUN_COOP (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG)
#define TASKRUN_DEFER                                                        \
    (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |                \
     IORING_SETUP_TASKRUN_FLAG)
static unsigned taskrun_flags(const struct mcrx_backend_params *p)
{
    const char *v = getenv("MCRX_TEST_IOURING_TASKRUN");
    if (v && strcmp(v, "none") == 0)
        return 0;
    if ((v && strcmp(v, "defer") == 0) || p->coalesce_us)
        return TASKRUN_DEFER;
    return TASKRUN_COOP;
}

static int ur_create(struct mcrx_backend **out, const struct mcrx_backend_params *p)
{
    /* TEST HOOKS, so the fallback to recvmmsg can be tested on any
     * machine: MCRX_TEST_IOURING_UNAVAILABLE=1 makes ring set-up fail
     * exactly as a kernel without io_uring would (ENOSYS);
     * MCRX_TEST_IOURING_FAIL=enomem as memlock/accounting limits would
     * (ENOMEM), =eventfd as a failed eventfd registration would. */
    if (env_true("MCRX_TEST_IOURING_UNAVAILABLE"))
        return mcrx_plat_fail_with(MCRX_E_BACKEND_UNAVAILABLE, ENOSYS);
    const char *fail_hook = getenv("MCRX_TEST_IOURING_FAIL");
    if (fail_hook && strcmp(fail_hook, "enomem") == 0)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    if (p->sub_ring_size == 0 || p->sub_ring_size > 32768 ||
        (p->sub_ring_size & (p->sub_ring_size - 1)))
        return mcrx_plat_fail_with(MCRX_E_BAD_OPTION, EINVAL);

    struct mcrx_backend *b = calloc(1, sizeof *b);
    if (!b)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    b->efd = -1;
    b->nbufs = p->sub_ring_size;
    b->mask = b->nbufs - 1;
    b->max_payload = p->max_payload;
    b->buf_len = (uint32_t)HDR_LEN + p->max_payload;
    b->stride = (b->buf_len + STRIDE_ALIGN - 1) & ~(STRIDE_ALIGN - 1);
    b->view.msg_namelen = NAME_LEN;
    b->view.msg_controllen = MCRX_PLAT_CONTROL_LEN;

    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    uint32_t want = pow2_ceil((uint64_t)CQ_FULL_SUBS * (b->nbufs + 1u));
    params.cq_entries = want < CQ_MIN ? CQ_MIN : want;

    int st, saved, ret;
    b->taskrun = taskrun_flags(p);
    for (;;) { /* smaller CQs when locked memory is short (old kernels) */
        struct io_uring_params try = params;
        try.flags |= b->taskrun;
        ret = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &try);
        if (ret == 0)
            params = try;
        if (ret == -EINVAL && b->taskrun) { /* kernel < 6.1 / 5.19 */
            b->taskrun = b->taskrun == TASKRUN_DEFER ? TASKRUN_COOP : 0;
            continue;
        }
        if (ret != -ENOMEM || params.cq_entries <= CQ_MIN)
            break;
        params.cq_entries /= 2;
    }
    if (ret < 0) {
        saved = -ret;
        st = (saved == ENOMEM) ? MCRX_E_NO_MEMORY
             : (saved == ENOSYS || saved == EPERM || saved == EACCES ||
                saved == EINVAL || saved == EOPNOTSUPP)
                 ? MCRX_E_BACKEND_UNAVAILABLE
                 : MCRX_E_WAIT;
        goto fail;
    }
    b->ring_ok = true;
    b->cq_entries = params.cq_entries;
    b->coalesce_us = p->coalesce_us;
    b->max_batch = p->max_batch;
    b->defer = b->taskrun == TASKRUN_DEFER;
    if (b->defer)
        b->owner = mcrx_plat_thread_id();
    b->min_timeout = (params.features & IORING_FEAT_MIN_TIMEOUT) != 0 && b->defer;
    if (!(params.features & IORING_FEAT_NODROP) ||
        !(params.features & IORING_FEAT_EXT_ARG)) {
        saved = ENOSYS;
        st = MCRX_E_BACKEND_UNAVAILABLE;
        goto fail;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&b->ring);
    bool ops_ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
                  io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
    if (probe)
        io_uring_free_probe(probe);
    if (!ops_ok) {
        saved = ENOSYS;
        st = MCRX_E_BACKEND_UNAVAILABLE;
        goto fail;
    }
    ret = probe_multishot(&b->ring);
    if (ret < 0) {
        saved = -ret;
        st = saved == ENOMEM ? MCRX_E_NO_MEMORY : MCRX_E_BACKEND_UNAVAILABLE;
        goto fail;
    }

    b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->efd < 0) {
        saved = errno;
        st = MCRX_E_WAIT;
        goto fail;
    }
    ret = fail_hook && strcmp(fail_hook, "eventfd") == 0
              ? -EBADF : io_uring_register_eventfd(&b->ring, b->efd);
    if (ret < 0) {
        saved = -ret;
        st = MCRX_E_WAIT;
        goto fail;
    }
    *out = b;
    return MCRX_OK;

fail:
    ur_destroy(b);
    return mcrx_plat_fail_with(st, saved);
}

/* The first call exposes the eventfd (mcrx_ctx_fd(), on the context's
 * thread like every context call): from then on every service() settles
 * it; settle it now, as the last service() would have. The backend object
 * itself is never const (allocated by ur_create). */
static mcrx_wait_handle_t ur_wait_handle(const struct mcrx_backend *cb)
{
    struct mcrx_backend *b = (struct mcrx_backend *)cb;
    if (!b->efd_exposed && b->defer && b->owner != mcrx_plat_thread_id()) {
        /* Another thread may not enter a DEFER_TASKRUN ring to settle the
         * eventfd: leave it readable (one spurious wake-up at most); the
         * owner's next call settles it. */
        b->efd_exposed = true;
        efd_raise(b);
        return b->efd;
    }
    if (!b->efd_exposed) {
        b->efd_exposed = true;
        b->efd_set = true; /* unknown: drain, harvest, raise if needed */
        settle_efd(b, b->last_hold);
    }
    return b->efd;
}

/* ------------------------------------------------------------------ */
/* Attach / detach                                                     */
/* ------------------------------------------------------------------ */

static int alloc_slot(struct mcrx_backend *b, uint32_t *slot)
{
    for (uint32_t i = 0; i < b->nslots; i++) {
        uint32_t k = (b->slot_hint + i) % b->nslots;
        if (!b->slots[k]) {
            *slot = k;
            b->slot_hint = k + 1;
            return MCRX_OK;
        }
    }
    if (b->nslots >= MAX_SLOTS)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOSPC);
    uint32_t n = b->nslots ? b->nslots * 2 : 16;
    if (n > MAX_SLOTS)
        n = MAX_SLOTS;
    struct mcrx_backend_sub **slots = realloc(b->slots, n * sizeof *slots);
    if (!slots)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    memset(slots + b->nslots, 0, (n - b->nslots) * sizeof *slots);
    *slot = b->nslots;
    b->slot_hint = b->nslots + 1;
    b->slots = slots;
    b->nslots = n;
    return MCRX_OK;
}

static int ur_attach(struct mcrx_backend *b, mcrx_socket_t fd, struct mcrx_sub *cookie,
                     struct mcrx_backend_sub **out)
{
    if (quota_for(b, b->nsubs + 1) == 0) { /* ~32k subs on one context */
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOBUFS);
    }
    uint32_t slot = 0;
    int st = alloc_slot(b, &slot);
    if (st != MCRX_OK)
        return st;

    struct mcrx_backend_sub *s = calloc(1, sizeof *s);
    if (!s)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    s->b = b;
    s->cookie = cookie;
    s->fd = fd;
    s->slot = slot;
    s->msgh.msg_namelen = NAME_LEN;
    s->msgh.msg_controllen = MCRX_PLAT_CONTROL_LEN;
    /* pending, handed, spare, shadow (uint16 each) and res (int32) in one
     * block */
    size_t n = b->nbufs;
    s->pending = malloc(n * (4 * sizeof(uint16_t) + sizeof(int32_t)) + sizeof(int32_t));
    s->handed_seq = malloc(n * sizeof(uint64_t));
    s->br_bytes = n * sizeof(struct io_uring_buf);
    s->br = ring_mem_alloc(&s->br_bytes);
    if (posix_memalign((void **)&s->mem, STRIDE_ALIGN, n * b->stride) != 0)
        s->mem = NULL;
    if (!s->pending || !s->handed_seq || !s->br || !s->mem) {
        free_sub_mem(s);
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    }
    s->handed = s->pending + n;
    s->spare = s->handed + n;
    s->shadow = s->spare + n;
    /* int32 array after the uint16 arrays, 4-aligned */
    uintptr_t resp = (uintptr_t)(s->shadow + n);
    resp = (resp + 3) & ~(uintptr_t)3;
    s->res = (int32_t *)resp;
    for (uint32_t i = 0; i < b->nbufs; i++)
        s->spare[i] = (uint16_t)(b->nbufs - 1 - i); /* pops 0, 1, 2, ... */
    s->s_count = b->nbufs;

    io_uring_buf_ring_init(s->br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)s->br,
                                   .ring_entries = b->nbufs,
                                   .bgid = (uint16_t)slot};
    int ret = io_uring_register_buf_ring(&b->ring, &reg, 0);
    if (ret < 0) {
        free_sub_mem(s);
        return mcrx_plat_fail_with(ret == -ENOMEM ? MCRX_E_NO_MEMORY : MCRX_E_WAIT, -ret);
    }
    b->slots[slot] = s;
    b->nsubs++;
    /* A few buffers to start with: an idle sub holds little of the CQ
     * budget; it grows to its quota when its buffers come back. */
    post_buffers(b, s, INITIAL_BUFS);
    if (b->need_trim) { /* the others hold the room: take some back */
        trim(b);
        post_buffers(b, s, INITIAL_BUFS);
    }
    maybe_arm(b, s);
    submit(b);
    *out = s;
    return MCRX_OK;
}

static uint32_t ur_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    s->detaching = true;
    if (s->armed) {
        /* The cancel's CQE needs CQ room like any other: wait for the
         * kernel to post (and us to reap) CQEs until it fits. */
        while (!cancel_fits(b) && s->armed) {
            int ret = io_uring_submit_and_wait(&b->ring, 1);
            if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
                ret != -ETIME)
                break; /* cannot happen; the ring is unusable */
            harvest(b, false);
        }
        struct io_uring_sqe *sqe = s->armed ? get_sqe(b) : NULL;
        if (sqe) {
            io_uring_prep_cancel64(sqe, ud_make(UD_RECV, s->slot, s->gen), 0);
            io_uring_sqe_set_data64(sqe, ud_make(UD_CANCEL, 0, 0));
            b->cancels++;
            CHECK_BOUND(b);
        }
        /* Wait for the request's final CQE (and the cancel's), handling
         * the other subs' CQEs on the way. */
        while (s->armed || b->cancels) {
            int ret = io_uring_submit_and_wait(&b->ring, 1);
            if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
                ret != -ETIME)
                break; /* cannot happen; the ring is unusable */
            harvest(b, false);
        }
    }
    /* The kernel is done with this buffer group: release it. */
    io_uring_unregister_buf_ring(&b->ring, (int)s->slot);
    b->total_in_kernel -= s->in_kernel;
    s->in_kernel = 0;
    uint32_t discarded = s->p_count;
    s->p_count = 0;
    s->err = 0;
    update_ready(b, s);
    rlist_del(b, s);
    b->slots[s->slot] = NULL;
    b->nsubs--;
    if (s->arm_queued) { /* unlink from the arm list */
        struct mcrx_backend_sub **pp = &b->arm_list;
        while (*pp && *pp != s)
            pp = &(*pp)->next_arm;
        if (*pp)
            *pp = s->next_arm;
        s->arm_queued = false;
    }
    munmap(s->br, s->br_bytes);
    s->br = NULL;
    s->detached = true;
    if (!s->in_dirty) /* no views of it out: free now, else next call */
        free_sub_mem(s);
    /* Room was freed: others may be topped up at the next call. */
    b->rescan = true;
    return discarded;
}

/* ------------------------------------------------------------------ */
/* Receive path                                                        */
/* ------------------------------------------------------------------ */

/* Release a sub's handed buffers numbered below keep_from (a prefix of
 * its handed list: it is in hand-out order); returns how many stay. */
static uint32_t release_handed(struct mcrx_backend_sub *s, uint64_t keep_from)
{
    uint32_t k = 0;
    while (k < s->h_count && s->handed_seq[k] < keep_from)
        s->spare[s->s_count++] = s->handed[k++];
    uint32_t left = s->h_count - k;
    if (k && left) {
        memmove(s->handed, s->handed + k, left * sizeof *s->handed);
        memmove(s->handed_seq, s->handed_seq + k, left * sizeof *s->handed_seq);
    }
    s->h_count = left;
    return left;
}

/* Top up the buffers of the subs that receive, arm the requests that
 * ended, take back CQ room from idle subs when others are short, retry
 * what was short of room before. Queues SQEs; the caller submits. */
static void replenish(struct mcrx_backend *b)
{
    for (struct mcrx_backend_sub *s = b->dirty; s; s = s->next_dirty) {
        if (s->detached)
            continue;
        post_buffers(b, s, b->nbufs); /* it receives: up to its quota */
        maybe_arm(b, s);
    }
    if (b->need_trim)
        trim(b);
    if (b->rescan) {
        b->rescan = false;
        for (uint32_t i = 0; i < b->nslots; i++) {
            struct mcrx_backend_sub *s = b->slots[i];
            if (!s)
                continue;
            s->arm_delay = false;
            if (s->starved)
                post_buffers(b, s, s->grow_to);
            maybe_arm(b, s);
        }
    }
}

/* A call starts: views numbered below keep_from expire, their buffers are
 * spare again and go back to the kernel at once (with the requests they
 * let re-arm), so this call already sees what the kernel can fill. Subs
 * that still have views (the core's read-ahead) stay in the dirty list. */
static void ur_release(struct mcrx_backend *b, uint64_t keep_from)
{
    struct mcrx_backend_sub *still = NULL, *s;
    while ((s = b->dirty)) {
        b->dirty = s->next_dirty;
        s->in_dirty = false;
        if (s->detached) { /* the core discarded whatever it still had */
            free_sub_mem(s);
            continue;
        }
        if (release_handed(s, keep_from)) {
            s->in_dirty = true;
            s->next_dirty = still;
            still = s;
        }
        post_buffers(b, s, b->nbufs);
        maybe_arm(b, s);
    }
    b->dirty = still;
    replenish(b);
    submit(b);
}

/* A call ends (or a sub was detached): re-post and re-arm what can be
 * before returning, never waiting for the application's next call, and
 * settle the eventfd (contract v2: backend.h "The wait object"). */
static void ur_service(struct mcrx_backend *b, bool hold)
{
    replenish(b);
    submit(b);
    b->last_hold = hold;
    settle_efd(b, hold);
}

static int report(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max)
{
    unsigned n = 0;
    while (n < max && b->r_head) {
        struct mcrx_backend_sub *s = b->r_head;
        rlist_del(b, s);
        s->reported = true;
        ready[n++] = s->cookie;
    }
    return (int)n;
}

static int64_t now_ms(void)
{
    return mcrx_plat_mono_ns() / 1000000;
}

/* Wait for completions (see "Coalescing"): 0, -ETIME or -errno. */
static int wait_cqes(struct mcrx_backend *b, struct __kernel_timespec *tsp)
{
    struct io_uring_cqe *cqe;
    if (b->coalesce_us == 0)
        return io_uring_wait_cqe_timeout(&b->ring, &cqe, tsp);
    if (b->min_timeout && b->batching) {
        struct io_uring_getevents_arg arg = {
            .pad = b->coalesce_us, /* min_wait_usec */
            .ts = (uint64_t)(uintptr_t)tsp};
        int r = io_uring_enter2(b->ring.ring_fd, 0, b->max_batch,
                                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                                (sigset_t *)&arg, sizeof arg);
        b->batching = r >= 0 && io_uring_cq_ready(&b->ring) >= 2;
        return r < 0 ? r : 0;
    }
    int64_t t0 = mcrx_plat_mono_ns();
    int r = io_uring_wait_cqe_timeout(&b->ring, &cqe, tsp);
    int64_t left = t0 + (int64_t)b->coalesce_us * 1000 - mcrx_plat_mono_ns();
    b->batching = r == 0 && left > 2000;
    if (b->batching) { /* linger for more, then hand out */
        struct __kernel_timespec ts = {.tv_sec = left / 1000000000,
                                       .tv_nsec = left % 1000000000};
        (void)io_uring_wait_cqes(&b->ring, &cqe, b->max_batch, &ts, NULL);
    }
    return r;
}

static int ur_poll(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max,
                   int timeout_ms)
{
    harvest_ring(b, false, timeout_ms == 0);
    if (b->ready_subs == 0 && timeout_ms != 0) {
        int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
        for (;;) {
            struct __kernel_timespec ts, *tsp = NULL;
            if (timeout_ms > 0) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                    break;
                ts.tv_sec = left / 1000;
                ts.tv_nsec = (left % 1000) * 1000000;
                tsp = &ts;
            }
            submit(b);
            int ret = wait_cqes(b, tsp);
            if (ret == -ETIME)
                break;
            if (ret == -EINTR)
                return MCRX_E_INTERRUPTED;
            if (ret < 0)
                return mcrx_plat_fail_with(MCRX_E_WAIT, -ret);
            harvest_ring(b, false, false); /* the wait ran the task work */
            if (b->ready_subs)
                break;
        }
    }
    return report(b, ready, max);
}

static int ur_recv(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                   struct mcrx_rx *out, unsigned max)
{
    if (s->p_count < max &&
        (io_uring_cq_ready(&b->ring) || (b->defer && work_queued(b))))
        harvest(b, false); /* more may have landed: longer turn */
    unsigned n = 0;
    while (n < max && s->p_count) {
        uint16_t bid = s->pending[s->p_head];
        s->p_head = (s->p_head + 1) & b->mask;
        s->p_count--;
        s->handed_seq[s->h_count] = b->seq; /* numbered when handed out */
        s->handed[s->h_count++] = bid;
        int res = s->res[bid];
        uint8_t *buf = buf_of(b, s, bid);
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &b->view);
        if (!o)
            continue; /* cannot happen: the kernel always writes the header */
        struct mcrx_rx *rx = &out[n++];
        b->seq++;
        uint32_t namelen = o->namelen < NAME_LEN ? o->namelen : NAME_LEN;
        const uint8_t *name = io_uring_recvmsg_name(o);
        mcrx_plat_parse_rx(name, namelen, name + NAME_LEN, o->controllen,
                           (int)o->flags, rx);
        rx->payload = io_uring_recvmsg_payload(o, &b->view);
        rx->len = io_uring_recvmsg_payload_length(o, res, &b->view);
        rx->wire_len = o->payloadlen > rx->len ? o->payloadlen : rx->len;
        if (rx->wire_len > rx->len)
            rx->flags |= MCRX_RX_TRUNC;
    }
    if (s->h_count && !s->in_dirty) {
        s->in_dirty = true;
        s->next_dirty = b->dirty;
        b->dirty = s;
    }
    if (n == 0 && s->p_count == 0 && s->err) {
        int e = s->err;
        s->err = 0;
        update_ready(b, s);
        s->reported = false; /* the core drops it after an error */
        return mcrx_plat_fail_with(MCRX_E_RECV, e);
    }
    update_ready(b, s);
    if (n < max) {
        /* The core takes fewer than asked as "ran dry" and drops the sub
         * from its ready list: it must be reported again when it has
         * work (an error CQE may have arrived during the harvest above). */
        s->reported = false;
        if (s->ready && !s->listed)
            rlist_add(b, s);
    }
    return (int)n;
}

static uint64_t ur_drop_events(const struct mcrx_backend_sub *s) { return s->nobufs; }

static bool ur_thread_bound(const struct mcrx_backend *b) { return b->defer; }

static uint32_t ur_held(const struct mcrx_backend_sub *s) { return s->p_count; }

const struct mcrx_backend_ops mcrx_backend_iouring = {
    .name = "io_uring",
    .kind = MCRX_BACKEND_IOURING,
    .caps = MCRX_CAP_READ_AHEAD | MCRX_CAP_SERVICE,
    .create = ur_create,
    .destroy = ur_destroy,
    .wait_handle = ur_wait_handle,
    .attach = ur_attach,
    .detach = ur_detach,
    .release = ur_release,
    .service = ur_service,
    .poll = ur_poll,
    .recv = ur_recv,
    .held = ur_held,
    .drop_events = ur_drop_events,
    .thread_bound = ur_thread_bound,
};
