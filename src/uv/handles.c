/* mcrx-uv's two public handles: a context on a loop and an owned async
 * subscription. Both are a reader (reader.c) plus what they read from.
 * SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>

#include "reader.h"

/* An extracted subscription's own receiver hands out at most this many
 * packets per call (mcrx_ctx_take() sizes it so unless the context's
 * max_batch is smaller). Asking for more would make every full batch look
 * short; a sub's socket is level-triggered, so a short count never stalls
 * it, it only costs a wake-up. */
#define SUB_BATCH_CAP 64u

struct mcrx_uv_ctx {
    struct mcrx_uv_reader r; /* first: the reader's callbacks cast back */
    mcrx_ctx *ctx;
    mcrx_uv_ctx_cb cb;
    mcrx_uv_ctx_close_cb close_cb;
};

struct mcrx_uv_sub {
    struct mcrx_uv_reader r; /* first, as above */
    mcrx_sub *sub;
    mcrx_uv_sub_cb cb;
    mcrx_uv_sub_close_cb close_cb;
};

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

static int ctx_recv(struct mcrx_uv_reader *r, size_t max)
{
    mcrx_uv_ctx *h = (mcrx_uv_ctx *)r;
    return mcrx_ctx_recv_batch_meta(h->ctx, r->pkts, r->meta, max);
}

static void ctx_deliver(struct mcrx_uv_reader *r, int status, size_t n)
{
    mcrx_uv_ctx *h = (mcrx_uv_ctx *)r;
    h->cb(h, status, n ? r->pkts : NULL, n ? r->meta : NULL, n);
}

static void ctx_closed(struct mcrx_uv_reader *r)
{
    mcrx_uv_ctx *h = (mcrx_uv_ctx *)r;
    if (h->close_cb)
        h->close_cb(h);
    mcrx_uv_reader_free(r);
    free(h);
}

static const struct mcrx_uv_reader_ops ctx_ops = {ctx_recv, ctx_deliver, ctx_closed};

int mcrx_uv_ctx_init(uv_loop_t *loop, mcrx_ctx *ctx, const mcrx_uv_options *opts,
                     mcrx_uv_ctx **out)
{
    if (!loop || !ctx || !out)
        return MCRX_E_INVALID_ARG;
    mcrx_ctx_options co;
    mcrx_ctx_get_options(ctx, &co);
    mcrx_uv_options o;
    int st = mcrx_uv_reader_options(opts, co.max_batch, &o);
    if (st != MCRX_OK)
        return st;
    mcrx_uv_ctx *h = calloc(1, sizeof *h);
    if (!h)
        return MCRX_E_NO_MEMORY;
    h->ctx = ctx;
    st = mcrx_uv_reader_init(&h->r, loop, mcrx_ctx_fd(ctx), &o, &ctx_ops);
    if (st != MCRX_OK) {
        free(h);
        return st;
    }
    *out = h;
    return MCRX_OK;
}

int mcrx_uv_ctx_start(mcrx_uv_ctx *h, mcrx_uv_ctx_cb cb)
{
    if (!h || !cb)
        return MCRX_E_INVALID_ARG;
    h->cb = cb;
    return mcrx_uv_reader_start(&h->r);
}

int mcrx_uv_ctx_stop(mcrx_uv_ctx *h)
{
    if (!h)
        return MCRX_E_INVALID_ARG;
    mcrx_uv_reader_stop(&h->r);
    return MCRX_OK;
}

void mcrx_uv_ctx_close(mcrx_uv_ctx *h, mcrx_uv_ctx_close_cb cb)
{
    if (!h || h->r.closing)
        return;
    h->close_cb = cb;
    mcrx_uv_reader_close(&h->r);
}

mcrx_ctx *mcrx_uv_ctx_context(const mcrx_uv_ctx *h) { return h->ctx; }
uv_loop_t *mcrx_uv_ctx_loop(const mcrx_uv_ctx *h) { return h->r.poll.loop; }
void mcrx_uv_ctx_set_data(mcrx_uv_ctx *h, void *data) { h->r.data = data; }
void *mcrx_uv_ctx_get_data(const mcrx_uv_ctx *h) { return h->r.data; }

/* ------------------------------------------------------------------ */
/* Owned subscription                                                  */
/* ------------------------------------------------------------------ */

static int sub_recv(struct mcrx_uv_reader *r, size_t max)
{
    mcrx_uv_sub *h = (mcrx_uv_sub *)r;
    int n = mcrx_sub_recv_batch_meta(h->sub, r->pkts, r->meta, max);
    /* Left (here or in a callback): the socket may stay readable with what
     * the kernel still queues, so stop watching it or we would spin. */
    if (n == MCRX_E_NOT_JOINED)
        mcrx_uv_reader_stop(r);
    return n;
}

static void sub_deliver(struct mcrx_uv_reader *r, int status, size_t n)
{
    mcrx_uv_sub *h = (mcrx_uv_sub *)r;
    h->cb(h, status, n ? r->pkts : NULL, n ? r->meta : NULL, n);
}

static void sub_closed(struct mcrx_uv_reader *r)
{
    mcrx_uv_sub *h = (mcrx_uv_sub *)r;
    if (h->close_cb)
        h->close_cb(h, h->sub);
    else
        mcrx_sub_free(h->sub);
    mcrx_uv_reader_free(r);
    free(h);
}

static const struct mcrx_uv_reader_ops sub_ops = {sub_recv, sub_deliver, sub_closed};

int mcrx_uv_sub_init(uv_loop_t *loop, mcrx_sub *sub, const mcrx_uv_options *opts,
                     mcrx_uv_sub **out)
{
    if (!loop || !sub || !out)
        return MCRX_E_INVALID_ARG;
    /* Only an extracted sub answers this with anything but OWNED_BY_CONTEXT
     * (a bound one says NOT_JOINED, which is fine here). */
    mcrx_packet probe;
    if (mcrx_sub_recv_batch(sub, &probe, 0) == MCRX_E_OWNED_BY_CONTEXT)
        return MCRX_E_OWNED_BY_CONTEXT;
    mcrx_uv_options o;
    int st = mcrx_uv_reader_options(opts, SUB_BATCH_CAP, &o);
    if (st != MCRX_OK)
        return st;
    mcrx_uv_sub *h = calloc(1, sizeof *h);
    if (!h)
        return MCRX_E_NO_MEMORY;
    h->sub = sub;
    st = mcrx_uv_reader_init(&h->r, loop, mcrx_sub_fd(sub), &o, &sub_ops);
    if (st != MCRX_OK) {
        free(h);
        return st;
    }
    *out = h;
    return MCRX_OK;
}

int mcrx_uv_sub_start(mcrx_uv_sub *h, mcrx_uv_sub_cb cb)
{
    if (!h || !cb || h->r.closing)
        return MCRX_E_INVALID_ARG;
    if (mcrx_sub_get_state(h->sub) != MCRX_SUB_JOINED)
        return MCRX_E_NOT_JOINED;
    h->cb = cb;
    return mcrx_uv_reader_start(&h->r);
}

int mcrx_uv_sub_stop(mcrx_uv_sub *h)
{
    if (!h)
        return MCRX_E_INVALID_ARG;
    mcrx_uv_reader_stop(&h->r);
    return MCRX_OK;
}

void mcrx_uv_sub_close(mcrx_uv_sub *h, mcrx_uv_sub_close_cb cb)
{
    if (!h || h->r.closing)
        return;
    h->close_cb = cb;
    mcrx_uv_reader_close(&h->r);
}

mcrx_sub *mcrx_uv_sub_subscription(const mcrx_uv_sub *h) { return h->sub; }
uv_loop_t *mcrx_uv_sub_loop(const mcrx_uv_sub *h) { return h->r.poll.loop; }
void mcrx_uv_sub_set_data(mcrx_uv_sub *h, void *data) { h->r.data = data; }
void *mcrx_uv_sub_get_data(const mcrx_uv_sub *h) { return h->r.data; }
