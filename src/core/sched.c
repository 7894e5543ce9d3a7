/*
 * The receive engine: deficit round robin over ready subscriptions, the
 * exact-delivery filter, and the conversion of backend records into public
 * packets. No OS calls: all I/O goes through the backend ops table.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Scheduling. Subscriptions the backend reports ready sit in a FIFO; the
 * head has the turn and may read up to turn_budget datagrams (delivered or
 * filtered: filtered ones cost budget too, so a flood of foreign traffic
 * cannot stretch a turn). A turn ends when the budget is spent (the sub
 * goes to the tail) or the sub runs dry (it leaves the FIFO until the
 * backend reports it again). The head reads its whole turn (bounded by the
 * slots left in this call) in one backend call; what the caller's array
 * cannot take stays in the carry and is served by the next calls, so a
 * one-packet call costs one syscall per turn, not per packet, and a turn
 * cut short by a small array resumes where it stopped.
 *
 * The backend is polled whenever a round ends (every sub that was ready
 * when the round began had one turn) or the FIFO is empty. Subs that turn
 * ready are queued in front of the sub that was sent to the tail last, as
 * deficit round robin would have queued them when they arrived: a quiet
 * sub's datagram waits at most one round (one turn of each busy sub), and
 * the cost of a call grows with the number of ready subs only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/platform.h"

#define READY_CAP 256u

static void active_link_before(struct mcrx_engine *e, struct mcrx_sub *s,
                               struct mcrx_sub *next)
{
    s->active = true;
    s->turn_left = 0;
    s->next_active = next;
    s->prev_active = next ? next->prev_active : e->tail;
    if (s->prev_active)
        s->prev_active->next_active = s;
    else
        e->head = s;
    if (next)
        next->prev_active = s;
    else
        e->tail = s;
    e->active_count++;
}

static void active_remove(struct mcrx_engine *e, struct mcrx_sub *s)
{
    if (!s->active)
        return;
    /* A sub still due a turn in this round leaves it (leave, remove, take,
     * ran dry outside its turn): the round has one turn less, so a quiet
     * sub that turns ready still waits at most one round. */
    if (s->turn_round != e->round && e->round_left)
        e->round_left--;
    s->turn_round = e->round;
    if (s == e->head && e->carry_pos < e->carry_end) { /* its read-ahead */
        s->stats.discarded += e->carry_end - e->carry_pos;
        e->carry_pos = e->carry_end = 0;
    }
    if (s == e->last_rotated)
        e->last_rotated = NULL;
    if (s->prev_active)
        s->prev_active->next_active = s->next_active;
    else
        e->head = s->next_active;
    if (s->next_active)
        s->next_active->prev_active = s->prev_active;
    else
        e->tail = s->prev_active;
    s->next_active = s->prev_active = NULL;
    s->active = false;
    s->turn_left = 0;
    e->active_count--;
}

int mcrx_engine_init(struct mcrx_engine *e, const struct mcrx_backend_ops *ops,
                     const mcrx_ctx_options *opts)
{
    struct mcrx_backend_params p;
    memset(e, 0, sizeof *e);
    mcrx_backend_params_from(opts, &p);
    e->ops = ops;
    e->turn_budget = opts->turn_budget;
    e->max_batch = opts->max_batch;
    e->rx = calloc(e->max_batch, sizeof *e->rx);
    e->ready = calloc(READY_CAP, sizeof *e->ready);
    if (!e->rx || !e->ready) {
        mcrx_engine_destroy(e);
        return MCRX_E_NO_MEMORY;
    }
    int st = ops->create(&e->be, &p);
    if (st != MCRX_OK) {
        e->be = NULL;
        mcrx_engine_destroy(e);
        return st;
    }
    if (ops->thread_bound && ops->thread_bound(e->be))
        e->owner = mcrx_plat_thread_id();
    return MCRX_OK;
}

int mcrx_engine_thread_check(const struct mcrx_engine *e)
{
    return e->owner == 0 || e->owner == mcrx_plat_thread_id()
               ? MCRX_OK
               : MCRX_E_WRONG_THREAD;
}

void mcrx_engine_destroy(struct mcrx_engine *e)
{
    if (e->be)
        e->ops->destroy(e->be);
    free(e->adopted);
    free(e->rx);
    free(e->ready);
    memset(e, 0, sizeof *e);
}

/* A receive call ends: let the backend re-post, re-arm and settle its
 * wait object (signalled while the carry holds undelivered records). */
static void end_call(struct mcrx_engine *e)
{
    if (e->ops->caps & MCRX_CAP_SERVICE)
        e->ops->service(e->be, e->carry_pos != e->carry_end);
}

int mcrx_engine_attach(struct mcrx_engine *e, struct mcrx_sub *s)
{
    int st = e->ops->attach(e->be, s->fd, s, &s->bsub);
    if (st == MCRX_OK) {
        s->engine = e;
        e->attached++;
        end_call(e);
    }
    return st;
}

void mcrx_engine_detach(struct mcrx_sub *s)
{
    struct mcrx_engine *e = s->engine;
    if (!e || !s->bsub)
        return;
    active_remove(e, s);
    if (e->ops->drop_events)
        s->stats.backend_drop_events += e->ops->drop_events(s->bsub);
    s->stats.discarded += e->ops->detach(e->be, s->bsub);
    s->bsub = NULL;
    s->engine = NULL;
    e->attached--;
    end_call(e);
}

static uint32_t carry_of(const struct mcrx_engine *e, const struct mcrx_sub *s)
{
    return e->head == s ? e->carry_end - e->carry_pos : 0;
}

static uint32_t held_of(const struct mcrx_engine *e, const struct mcrx_sub *s)
{
    return (e->ops->caps & MCRX_CAP_READ_AHEAD) && s->bsub ? e->ops->held(s->bsub) : 0;
}

uint32_t mcrx_engine_unread_of(const struct mcrx_engine *e, const struct mcrx_sub *s)
{
    return carry_of(e, s) + held_of(e, s);
}

/* Copy records (and their payloads) into one block, so they can outlive
 * the receiver whose buffers they point into. */
static void *copy_records(struct mcrx_rx *dst, const struct mcrx_rx *src, uint32_t k)
{
    size_t bytes = 0;
    for (uint32_t i = 0; i < k; i++)
        bytes += src[i].len;
    uint8_t *block = malloc(bytes ? bytes : 1), *p = block;
    for (uint32_t i = 0; block && i < k; i++) {
        dst[i] = src[i];
        memcpy(p, src[i].payload, src[i].len);
        dst[i].payload = p;
        p += src[i].len;
    }
    return block;
}

/* Gather what was read for s and not delivered: the carry, then what a
 * read-ahead backend holds (handed out now, so views until the next
 * release). Returns a malloc'd array of *k records, NULL on no memory. */
static struct mcrx_rx *gather_unread(struct mcrx_engine *e, struct mcrx_sub *s, uint32_t *k)
{
    uint32_t c = carry_of(e, s), h = held_of(e, s);
    struct mcrx_rx *all = malloc(((size_t)c + h + 1) * sizeof *all);
    if (!all)
        return NULL;
    memcpy(all, e->rx + e->carry_pos, c * sizeof *all);
    int got = h ? e->ops->recv(e->be, s->bsub, all + c, h) : 0;
    if (got > 0)
        e->seq += (uint64_t)got;
    *k = c + (uint32_t)(got > 0 ? got : 0);
    return all;
}

int mcrx_engine_move(struct mcrx_sub *s, struct mcrx_engine *to)
{
    struct mcrx_engine *from = s->engine;
    if (mcrx_engine_unread_of(from, s) > to->max_batch || to->adopted)
        return MCRX_E_INVALID_ARG; /* the caller sizes `to` for them */
    struct mcrx_backend_sub *fresh;
    int st = to->ops->attach(to->be, s->fd, s, &fresh);
    if (st != MCRX_OK)
        return st;
    bool drained = from->carry_drained || carry_of(from, s) == 0;
    uint32_t k = 0;
    struct mcrx_rx *unread = gather_unread(from, s, &k);
    void *block = unread ? copy_records(to->rx, unread, k) : NULL;
    free(unread);
    if (!block) {
        to->ops->detach(to->be, fresh);
        return MCRX_E_NO_MEMORY; /* records gathered from a read-ahead
                                    backend are counted at detach */
    }
    from->carry_pos = from->carry_end; /* moved, not discarded */
    mcrx_engine_detach(s);
    s->bsub = fresh;
    s->engine = to;
    to->attached++;
    if (k) { /* it keeps its turn: head of the new receiver */
        to->adopted = block;
        to->carry_adopted = true;
        to->carry_pos = 0;
        to->carry_end = k;
        to->carry_drained = drained;
        active_link_before(to, s, to->head);
        to->round++;
        s->turn_round = to->round - 1; /* due in this round */
        to->round_left = to->active_count;
    } else {
        free(block);
    }
    end_call(to);
    return MCRX_OK;
}

/* Poll the backend (waiting up to timeout_ms) and queue the subs that
 * turned ready. More than READY_CAP ready subs take more polls (without
 * waiting), until one brings no new sub, so none is left out of a round.
 * Returns how many subs are ready now, or a negative status. */
static int engine_poll(struct mcrx_engine *e, int timeout_ms)
{
    for (uint32_t pass = 0;; pass++) {
        int n = e->ops->poll(e->be, e->ready, READY_CAP, pass ? 0 : timeout_ms);
        if (n < 0)
            return n;
        uint32_t fresh = 0;
        for (int i = 0; i < n; i++) {
            if (e->ready[i]->active)
                continue;
            active_link_before(e, e->ready[i], e->last_rotated);
            if (e->round_left) /* queued ahead of the rotated: due now */
                e->round_left++;
            fresh++;
        }
        if ((unsigned)n < READY_CAP || fresh == 0 || pass > e->attached / READY_CAP)
            break;
    }
    return (int)e->active_count;
}

enum filter_reason { PASS, F_NO_PKTINFO, F_GROUP, F_SOURCE, F_INTERFACE };

static enum filter_reason filter(const struct mcrx_sub *s, const struct mcrx_rx *rx)
{
    if (!(rx->flags & MCRX_RX_HAS_DST))
        return F_NO_PKTINFO;
    if (!mcrx_ip_same(&rx->dst, &s->cfg.group))
        return F_GROUP;
    if (mcrx_config_is_ssm(&s->cfg) && !mcrx_ip_same(&rx->src, &s->cfg.source))
        return F_SOURCE;
    if (s->jif.filter_ifindex &&
        (!(rx->flags & MCRX_RX_HAS_IFINDEX) || rx->ifindex != s->jif.filter_ifindex))
        return F_INTERFACE;
    return PASS;
}

static void fill_meta(const struct mcrx_sub *s, const struct mcrx_rx *rx,
                      mcrx_metadata *m)
{
    memset(m, 0, sizeof *m);
    m->socket_local_addr = s->local_addr;
    m->socket_local_port = s->local_port;
    m->configured_interface = s->cfg.interface;
    m->configured_interface_index = s->cfg.has_interface_index ? s->cfg.interface_index : 0;
    m->destination = rx->dst;
    m->ingress_ifindex = rx->ifindex;
    m->timestamp_ns = rx->ts_ns;
    m->kernel_drops = rx->drops;
    if (rx->flags & MCRX_RX_HAS_DST) m->flags |= MCRX_META_DESTINATION;
    if (rx->flags & MCRX_RX_HAS_IFINDEX) m->flags |= MCRX_META_IFINDEX;
    if (rx->flags & MCRX_RX_HAS_TS) m->flags |= MCRX_META_TIMESTAMP;
    if (rx->flags & MCRX_RX_HAS_DROPS) m->flags |= MCRX_META_DROPS;
}

/* Account for one datagram; fill *p (and *m) if it is delivered. */
static bool deliver(struct mcrx_sub *s, const struct mcrx_rx *rx,
                    mcrx_packet *p, mcrx_metadata *m)
{
    if ((rx->flags & MCRX_RX_HAS_DROPS) && rx->drops > s->stats.kernel_drops)
        s->stats.kernel_drops = rx->drops;
    switch (filter(s, rx)) {
    case F_NO_PKTINFO: s->stats.filtered_no_pktinfo++; return false;
    case F_GROUP: s->stats.filtered_group++; return false;
    case F_SOURCE: s->stats.filtered_source++; return false;
    case F_INTERFACE: s->stats.filtered_interface++; return false;
    case PASS: break;
    }
    p->sub_id = s->id;
    p->source = rx->src;
    p->source_port = rx->src_port;
    p->group = s->cfg.group;
    p->dst_port = s->cfg.dst_port;
    p->payload = rx->payload;
    p->len = rx->len;
    p->wire_len = rx->wire_len;
    p->flags = (rx->flags & MCRX_RX_TRUNC) ? MCRX_PKT_TRUNCATED : 0;
    s->stats.packets++;
    s->stats.bytes += rx->wire_len;
    if (rx->flags & MCRX_RX_TRUNC)
        s->stats.truncated++;
    MCRX_MX_DELIVERED(s, rx);
    if (m)
        fill_meta(s, rx, m);
    return true;
}

static bool carry_empty(const struct mcrx_engine *e)
{
    return e->carry_pos == e->carry_end;
}

/* A receive call starts: the views of earlier calls expire, except those
 * of the carry (not delivered yet). */
static void start_call(struct mcrx_engine *e)
{
    bool adopted_live = e->carry_adopted && !carry_empty(e);
    if (e->adopted && !adopted_live) { /* its views expire now */
        free(e->adopted);
        e->adopted = NULL;
    }
    if (adopted_live) /* a carry moved in by take: not backend records */
        return;
    uint64_t keep_from = carry_empty(e) ? e->seq : e->carry_seq + e->carry_pos;
    e->ops->release(e->be, keep_from);
    e->outstanding = (uint32_t)(e->seq - keep_from);
}

/* A new round: every sub ready now is due a turn. */
static void start_round(struct mcrx_engine *e)
{
    e->round++;
    e->round_left = e->active_count;
}

static void end_turn(struct mcrx_engine *e, struct mcrx_sub *s, bool drained)
{
    active_remove(e, s); /* counts the turn off the round */
    if (!drained) { /* budget spent: to the tail */
        active_link_before(e, s, NULL);
        e->last_rotated = s;
    }
}

/* Read the head sub's turn into the carry. Returns records read, or a
 * negative status (the turn is then over). */
static int refill(struct mcrx_engine *e)
{
    struct mcrx_sub *s = e->head;
    if (s->turn_left == 0) { /* a new turn */
        s->turn_left = e->turn_budget;
        if (s == e->last_rotated)
            e->last_rotated = NULL;
    }
    uint32_t room = e->max_batch - e->outstanding;
    unsigned want = s->turn_left < room ? s->turn_left : room;
    int got = e->ops->recv(e->be, s->bsub, e->rx, want);
    if (got < 0) {
        s->stats.recv_errors++;
        end_turn(e, s, true);
        return got;
    }
    MCRX_MX_READ(s, got, want);
    e->carry_seq = e->seq;
    e->carry_adopted = false;
    e->seq += (uint64_t)got;
    e->outstanding += (uint32_t)got;
    s->turn_left -= (uint32_t)got;
    e->carry_pos = 0;
    e->carry_end = (uint32_t)got;
    e->carry_drained = (unsigned)got < want;
    return got;
}

/* Deliver from the carry into out[0..space); ends the turn once the carry
 * is empty and the sub ran dry or spent its budget. */
static size_t serve_carry(struct mcrx_engine *e, mcrx_packet *out,
                          mcrx_metadata *meta, size_t space)
{
    struct mcrx_sub *s = e->head;
    size_t n = 0;
    while (n < space && !carry_empty(e))
        if (deliver(s, &e->rx[e->carry_pos++], &out[n], meta ? &meta[n] : NULL))
            n++;
    MCRX_MX_NOTE_LAST(s);
    if (carry_empty(e) && (e->carry_drained || s->turn_left == 0))
        end_turn(e, s, e->carry_drained);
    return n;
}

int mcrx_engine_recv(struct mcrx_engine *e, mcrx_packet *out,
                     mcrx_metadata *meta, size_t max)
{
    start_call(e);
    if (e->all_dry && carry_empty(e) && !e->head) {
        /* The previous call emptied every ready sub a moment ago: a poll
         * now would mostly find nothing (the one syscall per wake-up that
         * a "read until EAGAIN" loop spends). Whatever arrived meanwhile
         * keeps the wait object signalled, so the caller's next wait or
         * call gets it; this call costs no syscall. */
        e->all_dry = false;
        end_call(e);
        return 0;
    }
    if (max > e->max_batch)
        max = e->max_batch;
    size_t n = 0;
    int err = MCRX_OK;
    /* Bound the polls of one call, in case a backend keeps reporting a sub
     * that then has nothing (e.g. a datagram dropped for a bad checksum). */
    unsigned polls_left = 2 + (unsigned)(max / e->turn_budget);
    while (n < max) {
        if (!carry_empty(e)) {
            n += serve_carry(e, out + n, meta ? meta + n : NULL, max - n);
            continue;
        }
        if (!e->head || e->round_left == 0) {
            /* Every sub ran dry and the caller has packets: hand them out
             * now. Polling again would mostly find nothing (one wasted
             * syscall per wake-up with a readiness backend); whatever
             * turned ready meanwhile keeps the wait object signalled. */
            if (!e->head && n > 0)
                break;
            if (polls_left == 0)
                break;
            polls_left--;
            int st = engine_poll(e, 0);
            if (st < 0) {
                err = st;
                break;
            }
            if (!e->head)
                break;
            start_round(e);
        }
        if (e->outstanding == e->max_batch)
            break; /* every slot is in use */
        int got = refill(e);
        if (got < 0)
            err = got;
        else if (got == 0)
            end_turn(e, e->head, true);
    }
    /* Every ready sub ran dry in this call (a sub that spent its budget
     * would still be queued). Only where a short read means an empty
     * socket and a poll costs a syscall (SOCKET_READY); a completion
     * backend's poll is a look at its ring, and its "short" only means
     * fewer completions so far: skipping would stall a full queue. */
    e->all_dry = n > 0 && !e->head && (e->ops->caps & MCRX_CAP_SOCKET_READY);
    end_call(e);
    return n > 0 ? (int)n : mcrx_os_status(err);
}

/* One packet of s alone (a borrowed or extracted sub): its part of the
 * carry first, then reads of one record, absorbing foreign datagrams up to
 * one turn's budget per call. */
static int recv_sub_once(struct mcrx_sub *s, mcrx_packet *out, mcrx_metadata *meta)
{
    struct mcrx_engine *e = s->engine;
    while (e->head == s && !carry_empty(e))
        if (serve_carry(e, out, meta, 1))
            return 1;
    for (uint32_t reads = 0; reads < e->turn_budget && e->outstanding < e->max_batch; reads++) {
        struct mcrx_rx rx;
        int got = e->ops->recv(e->be, s->bsub, &rx, 1);
        if (got < 0) {
            s->stats.recv_errors++;
            return got;
        }
        MCRX_MX_READ(s, got, 1);
        if (got == 0) {
            active_remove(e, s); /* dry: back when the backend says so */
            return 0;
        }
        e->seq++;
        e->outstanding++;
        if (deliver(s, &rx, out, meta)) {
            MCRX_MX_NOTE_LAST(s); /* rx is on the stack */
            return 1;
        }
    }
    return 0;
}

int mcrx_engine_recv_sub(struct mcrx_sub *s, mcrx_packet *out, mcrx_metadata *meta)
{
    struct mcrx_engine *e = s->engine;
    start_call(e);
    int n = recv_sub_once(s, out, meta);
    end_call(e);
    return mcrx_os_status(n);
}

int mcrx_engine_wait(struct mcrx_engine *e, int timeout_ms)
{
    start_call(e);
    e->all_dry = false; /* a wait always asks the backend */
    int st = (!carry_empty(e) || e->head) ? 1 : engine_poll(e, timeout_ms);
    if (st > 0 && e->head && e->round_left == 0) {
        /* This poll starts a round, as the next receive call's would:
         * that call then reads at once instead of polling again. */
        start_round(e);
    }
    end_call(e);
    return st < 0 ? mcrx_os_status(st) : st > 0;
}
