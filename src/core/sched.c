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
 * goes to the tail) or the sub runs dry (it leaves the list until the
 * backend reports it again). A turn cut short by a full output array
 * resumes on the next call, so a small array does not reset fairness.
 * The backend is polled when the list is empty or a round (one turn for
 * each sub that was ready when it started) is over, at most once per call:
 * a quiet sub that becomes ready waits at most one round behind a flood,
 * and the cost of a call grows with the number of ready subs only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define READY_CAP 256u

static void active_push(struct mcrx_engine *e, struct mcrx_sub *s)
{
    s->active = true;
    s->turn_left = 0;
    s->next_active = NULL;
    s->prev_active = e->tail;
    if (e->tail)
        e->tail->next_active = s;
    else
        e->head = s;
    e->tail = s;
    e->active_count++;
}

static void active_remove(struct mcrx_engine *e, struct mcrx_sub *s)
{
    if (!s->active)
        return;
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
    }
    return st;
}

void mcrx_engine_destroy(struct mcrx_engine *e)
{
    if (e->be)
        e->ops->destroy(e->be);
    free(e->rx);
    free(e->ready);
    memset(e, 0, sizeof *e);
}

int mcrx_engine_attach(struct mcrx_engine *e, struct mcrx_sub *s)
{
    int st = e->ops->attach(e->be, s->fd, s, &s->bsub);
    if (st == MCRX_OK)
        s->engine = e;
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
}

/* Poll the backend without blocking beyond timeout_ms; queue new ready
 * subs. Returns how many subs are ready now, or a negative status. */
static int engine_poll(struct mcrx_engine *e, int timeout_ms)
{
    int n = e->ops->poll(e->be, e->ready, READY_CAP, timeout_ms);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (!e->ready[i]->active)
            active_push(e, e->ready[i]);
    return (int)e->active_count;
}

enum filter_reason { PASS, F_NO_PKTINFO, F_GROUP, F_SOURCE, F_INTERFACE };

static enum filter_reason filter(const struct mcrx_sub *s, const struct mcrx_rx *rx)
{
    if (!(rx->flags & MCRX_RX_HAS_DST))
        return F_NO_PKTINFO;
    if (!mcrx_ip_equal(&rx->dst, &s->cfg.group))
        return F_GROUP;
    if (mcrx_config_is_ssm(&s->cfg) && !mcrx_ip_equal(&rx->src, &s->cfg.source))
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
    if (m)
        fill_meta(s, rx, m);
    return true;
}

static void end_turn(struct mcrx_engine *e, struct mcrx_sub *s, bool drained)
{
    if (drained) {
        active_remove(e, s);
    } else if (e->head != e->tail) { /* budget spent: to the tail */
        active_remove(e, s);
        active_push(e, s);
    } else {
        s->turn_left = 0; /* alone: a fresh turn */
    }
    if (e->round_left)
        e->round_left--;
}

/* One turn's worth of reading for the head sub, bounded by the space left
 * in out. Returns packets delivered, or a negative status. */
static int run_turn(struct mcrx_engine *e, mcrx_packet *out,
                    mcrx_metadata *meta, size_t space)
{
    struct mcrx_sub *s = e->head;
    if (s->turn_left == 0)
        s->turn_left = e->turn_budget;
    unsigned want = s->turn_left < space ? s->turn_left : (unsigned)space;
    int got = e->ops->recv(e->be, s->bsub, e->rx, want);
    if (got < 0) {
        s->stats.recv_errors++;
        end_turn(e, s, true);
        return got;
    }
    int n = 0;
    for (int i = 0; i < got; i++)
        if (deliver(s, &e->rx[i], &out[n], meta ? &meta[n] : NULL))
            n++;
    s->turn_left -= (unsigned)got;
    if ((unsigned)got < want || s->turn_left == 0)
        end_turn(e, s, (unsigned)got < want);
    return n;
}

int mcrx_engine_recv(struct mcrx_engine *e, mcrx_packet *out,
                     mcrx_metadata *meta, size_t max)
{
    e->ops->begin_call(e->be);
    if (max > e->max_batch)
        max = e->max_batch;
    size_t n = 0;
    int err = MCRX_OK;
    bool polled = false;
    while (n < max) {
        if (!e->head || e->round_left == 0) {
            if (!polled) {
                int st = engine_poll(e, 0);
                polled = true;
                if (st < 0) {
                    err = st;
                    break;
                }
            }
            if (!e->head)
                break;
            e->round_left = e->active_count;
        }
        int got = run_turn(e, out + n, meta ? meta + n : NULL, max - n);
        if (got < 0)
            err = got;
        else
            n += (size_t)got;
    }
    return n > 0 ? (int)n : err;
}

int mcrx_engine_recv_sub(struct mcrx_sub *s, mcrx_packet *out, mcrx_metadata *meta)
{
    struct mcrx_engine *e = s->engine;
    e->ops->begin_call(e->be);
    /* Foreign datagrams are absorbed up to one turn's budget per call. */
    for (uint32_t reads = 0; reads < e->turn_budget; reads++) {
        int got = e->ops->recv(e->be, s->bsub, e->rx, 1);
        if (got < 0) {
            s->stats.recv_errors++;
            return got;
        }
        if (got == 0) {
            active_remove(e, s);
            return 0;
        }
        if (deliver(s, &e->rx[0], out, meta))
            return 1;
    }
    return 0;
}

int mcrx_engine_wait(struct mcrx_engine *e, int timeout_ms)
{
    e->ops->begin_call(e->be);
    if (e->head)
        return 1;
    int st = engine_poll(e, timeout_ms);
    return st < 0 ? st : st > 0;
}
