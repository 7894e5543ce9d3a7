/* Subscriptions: socket ownership, join/leave, extraction, statistics.
 * SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int mcrx_sub_create(const mcrx_config *cfg, mcrx_socket_t fd, bool adopt,
                    const mcrx_ctx_options *opts, struct mcrx_sub **out)
{
    struct mcrx_sub *s = calloc(1, sizeof *s);
    if (!s)
        return MCRX_E_NO_MEMORY;
    s->cfg = *cfg;
    s->state = MCRX_SUB_BOUND;
    struct mcrx_sock_opts so = {.rcvbuf = opts->rcvbuf_bytes,
                                .timestamps = opts->timestamps,
                                .busy_poll_us = opts->busy_poll_us};
    int st = mcrx_plat_resolve_join_if(cfg, &s->jif);
    if (st == MCRX_OK) {
        if (adopt) {
            st = mcrx_plat_socket_adopt(fd, cfg, &so, &s->rcvbuf);
            s->fd = fd;
        } else {
            st = mcrx_plat_socket_open(cfg, &so, &s->fd, &s->rcvbuf);
        }
    }
    if (st == MCRX_OK) {
        st = mcrx_plat_local_addr(s->fd, &s->local_addr, &s->local_port);
        if (st != MCRX_OK && !adopt)
            mcrx_plat_socket_close(s->fd);
    }
    if (st != MCRX_OK) {
        free(s);
        return st;
    }
    *out = s;
    return MCRX_OK;
}

/* Leave (if joined), stop receiving, close, free. Never fails: a failed
 * leave still closes the socket, which drops the membership anyway. */
void mcrx_sub_destroy(struct mcrx_sub *s)
{
    if (s->state == MCRX_SUB_JOINED) {
        int os_error = mcrx_last_os_error(); /* a failed leave is no news */
        mcrx_engine_detach(s);
        mcrx_plat_leave(s->fd, &s->cfg, &s->jif);
        mcrx_os_error_set(os_error);
    }
    MCRX_MX(if (s->ctx) mcrx_mx_retire(s->ctx, s));
    mcrx_plat_socket_close(s->fd);
    if (s->own_engine) {
        mcrx_engine_destroy(s->own_engine);
        free(s->own_engine);
    }
    free(s);
}

uint64_t mcrx_sub_id(const mcrx_sub *sub) { return sub->id; }
const mcrx_config *mcrx_sub_config(const mcrx_sub *sub) { return &sub->cfg; }
mcrx_sub_state mcrx_sub_get_state(const mcrx_sub *sub) { return sub->state; }
mcrx_socket_t mcrx_sub_fd(const mcrx_sub *sub) { return sub->fd; }
uint32_t mcrx_sub_rcvbuf(const mcrx_sub *sub) { return sub->rcvbuf; }

int mcrx_sub_local_addr(const mcrx_sub *sub, mcrx_ip *addr, uint16_t *port)
{
    if (!sub)
        return MCRX_E_INVALID_ARG;
    if (addr)
        *addr = sub->local_addr;
    if (port)
        *port = sub->local_port;
    return MCRX_OK;
}

int mcrx_sub_get_stats(const mcrx_sub *sub, mcrx_sub_stats *out)
{
    if (!sub || !out)
        return MCRX_E_INVALID_ARG;
    *out = sub->stats;
    uint32_t drops = mcrx_plat_socket_drops(sub->fd);
    if (drops > out->kernel_drops)
        out->kernel_drops = drops;
    if (sub->bsub && sub->engine->ops->drop_events)
        out->backend_drop_events += sub->engine->ops->drop_events(sub->bsub);
    return MCRX_OK;
}

int mcrx_sub_join(mcrx_sub *s)
{
    if (!s)
        return MCRX_E_INVALID_ARG;
    if (s->state == MCRX_SUB_JOINED)
        return MCRX_E_ALREADY_JOINED;
    struct mcrx_engine *e = s->own_engine ? s->own_engine : &s->ctx->engine;
    int st = mcrx_engine_thread_check(e);
    if (st != MCRX_OK)
        return st;
    st = mcrx_plat_join(s->fd, &s->cfg, &s->jif);
    if (st != MCRX_OK)
        return mcrx_os_status(st);
    st = mcrx_engine_attach(e, s);
    if (st != MCRX_OK) {
        int os_error = mcrx_last_os_error(); /* the attach's, not the leave's */
        mcrx_plat_leave(s->fd, &s->cfg, &s->jif);
        mcrx_os_error_set(os_error);
        return mcrx_os_status(st);
    }
    s->state = MCRX_SUB_JOINED;
    s->stats.joins++;
    return MCRX_OK;
}

int mcrx_sub_leave(mcrx_sub *s)
{
    if (!s)
        return MCRX_E_INVALID_ARG;
    if (s->state != MCRX_SUB_JOINED)
        return MCRX_E_NOT_JOINED;
    int st = mcrx_engine_thread_check(s->engine);
    if (st != MCRX_OK)
        return st;
    st = mcrx_plat_leave(s->fd, &s->cfg, &s->jif);
    if (st != MCRX_OK)
        return mcrx_os_status(st);
    mcrx_engine_detach(s);
    s->state = MCRX_SUB_BOUND;
    s->stats.leaves++;
    return MCRX_OK;
}

int mcrx_sub_try_recv(mcrx_sub *sub, mcrx_packet *out)
{
    return mcrx_sub_try_recv_meta(sub, out, NULL);
}

int mcrx_sub_try_recv_meta(mcrx_sub *sub, mcrx_packet *out, mcrx_metadata *meta)
{
    if (!sub || !out)
        return MCRX_E_INVALID_ARG;
    if (sub->state != MCRX_SUB_JOINED)
        return MCRX_E_NOT_JOINED;
    int st = mcrx_engine_thread_check(sub->engine);
    if (st != MCRX_OK)
        return st;
    MCRX_MX(if (sub->ctx) sub->ctx->mx.rx_thread = MCRX_MX_THREAD());
    return mcrx_engine_recv_sub(sub, out, meta);
}

int mcrx_sub_free(mcrx_sub *sub)
{
    if (!sub)
        return MCRX_OK;
    if (sub->ctx)
        return MCRX_E_OWNED_BY_CONTEXT;
    mcrx_sub_destroy(sub);
    return MCRX_OK;
}

int mcrx_sub_into_parts(mcrx_sub *sub, mcrx_sub_parts *out)
{
    if (!sub || !out)
        return MCRX_E_INVALID_ARG;
    if (sub->ctx)
        return MCRX_E_OWNED_BY_CONTEXT;
    mcrx_engine_detach(sub);
    out->id = sub->id;
    out->config = sub->cfg;
    out->fd = sub->fd;
    out->state = sub->state;
    mcrx_engine_destroy(sub->own_engine);
    free(sub->own_engine);
    free(sub);
    return MCRX_OK;
}

int mcrx_sub_recv_batch(mcrx_sub *sub, mcrx_packet *out, size_t max)
{
    return mcrx_sub_recv_batch_meta(sub, out, NULL, max);
}

/* An extracted sub is the only one on its own receiver, so the engine's
 * batch call returns its packets only. */
int mcrx_sub_recv_batch_meta(mcrx_sub *sub, mcrx_packet *out, mcrx_metadata *meta,
                             size_t max)
{
    if (!sub || !out)
        return MCRX_E_INVALID_ARG;
    if (sub->ctx)
        return MCRX_E_OWNED_BY_CONTEXT;
    if (sub->state != MCRX_SUB_JOINED)
        return MCRX_E_NOT_JOINED;
    return mcrx_engine_recv(sub->own_engine, out, meta, max);
}
