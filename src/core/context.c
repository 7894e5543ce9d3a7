/* The context: id registry and lifecycle of its subscriptions.
 * SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define MAX_PAYLOAD_LIMIT 65535u
#define MAX_BATCH_LIMIT 4096u
#define TURN_BUDGET_LIMIT 4096u
#define SUB_RING_LIMIT 32768u
#define COALESCE_LIMIT 100000u   /* 0.1 s */
#define BUSY_POLL_LIMIT 100000u

void mcrx_ctx_options_init(mcrx_ctx_options *o)
{
    memset(o, 0, sizeof *o);
    o->backend = MCRX_BACKEND_DEFAULT;
    o->max_payload = 9216;
    o->max_batch = 256;
    o->turn_budget = 64;
    o->rcvbuf_bytes = 4u << 20;
    o->sub_ring_size = 64;
    o->timestamps = false;
    o->coalesce_us = 0;
    o->busy_poll_us = 0;
}

static int options_check(const mcrx_ctx_options *o)
{
    bool pow2 = o->sub_ring_size && !(o->sub_ring_size & (o->sub_ring_size - 1));
    if (o->max_payload < 1 || o->max_payload > MAX_PAYLOAD_LIMIT ||
        o->max_batch < 1 || o->max_batch > MAX_BATCH_LIMIT ||
        o->turn_budget < 1 || o->turn_budget > TURN_BUDGET_LIMIT ||
        !pow2 || o->sub_ring_size > SUB_RING_LIMIT ||
        o->coalesce_us > COALESCE_LIMIT || o->busy_poll_us > BUSY_POLL_LIMIT ||
        (unsigned)o->backend > MCRX_BACKEND_WSAPOLL)
        return MCRX_E_BAD_OPTION;
    return MCRX_OK;
}

int mcrx_ctx_new(mcrx_ctx **out, const mcrx_ctx_options *opts)
{
    if (!out)
        return MCRX_E_INVALID_ARG;
    mcrx_ctx_options o;
    if (opts)
        o = *opts;
    else
        mcrx_ctx_options_init(&o);
    int st = options_check(&o);
    if (st != MCRX_OK)
        return st;
    mcrx_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return MCRX_E_NO_MEMORY;
    ctx->opts = o;
    ctx->next_id = 1;
    st = mcrx_registry_create(o.backend, &o, &ctx->engine, &ctx->fallback_status,
                              &ctx->fallback_os_error);
    if (st != MCRX_OK) {
        free(ctx);
        return mcrx_os_status(st);
    }
    ctx->fell_back = ctx->fallback_status != MCRX_OK;
    *out = ctx;
    return MCRX_OK;
}

void mcrx_ctx_free(mcrx_ctx *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->count; i++)
        mcrx_sub_destroy(ctx->subs[i]);
    free(ctx->subs);
    mcrx_engine_destroy(&ctx->engine);
    free(ctx);
}

mcrx_backend_kind mcrx_ctx_backend(const mcrx_ctx *ctx)
{
    return ctx->engine.ops->kind;
}

bool mcrx_ctx_backend_fell_back(const mcrx_ctx *ctx) { return ctx->fell_back; }

int mcrx_ctx_fallback_reason(const mcrx_ctx *ctx, int *os_error)
{
    if (os_error)
        *os_error = ctx->fallback_os_error;
    return ctx->fallback_status;
}

void mcrx_ctx_get_options(const mcrx_ctx *ctx, mcrx_ctx_options *out)
{
    *out = ctx->opts;
    out->backend = ctx->engine.ops->kind;
}

size_t mcrx_ctx_count(const mcrx_ctx *ctx) { return ctx->count; }

/* Index of id in the ascending array, or the insertion point (negated-1). */
static long find_index(const mcrx_ctx *ctx, uint64_t id)
{
    size_t lo = 0, hi = ctx->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ctx->subs[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ctx->count && ctx->subs[lo]->id == id ? (long)lo : -1;
}

bool mcrx_ctx_contains(const mcrx_ctx *ctx, uint64_t id)
{
    return ctx && find_index(ctx, id) >= 0;
}

size_t mcrx_ctx_list(const mcrx_ctx *ctx, uint64_t *ids, size_t max)
{
    for (size_t i = 0; i < ctx->count && i < max && ids; i++)
        ids[i] = ctx->subs[i]->id;
    return ctx->count;
}

mcrx_sub *mcrx_ctx_get(mcrx_ctx *ctx, uint64_t id)
{
    long i = ctx ? find_index(ctx, id) : -1;
    return i >= 0 ? ctx->subs[i] : NULL;
}

static int add_common(mcrx_ctx *ctx, const mcrx_config *cfg_in, mcrx_socket_t fd,
                      bool adopt, uint64_t *id_out)
{
    if (!ctx || !cfg_in || !id_out)
        return MCRX_E_INVALID_ARG;
    mcrx_config norm = *cfg_in, *cfg = &norm;
    mcrx_config_normalize(cfg);
    int st = mcrx_config_validate(cfg);
    if (st != MCRX_OK)
        return st;
    for (size_t i = 0; i < ctx->count; i++)
        if (mcrx_config_same(&ctx->subs[i]->cfg, cfg))
            return MCRX_E_DUPLICATE;
    if (ctx->count == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 16;
        struct mcrx_sub **subs = realloc(ctx->subs, cap * sizeof *subs);
        if (!subs)
            return MCRX_E_NO_MEMORY;
        ctx->subs = subs;
        ctx->cap = cap;
    }
    struct mcrx_sub *s;
    st = mcrx_sub_create(cfg, fd, adopt, &ctx->opts, &s);
    if (st != MCRX_OK)
        return mcrx_os_status(st);
    s->id = ctx->next_id++;
    s->ctx = ctx;
    s->engine = &ctx->engine;
    ctx->subs[ctx->count++] = s; /* ids only grow: stays sorted */
    MCRX_MX(ctx->mx.counter[MCRX_CC_SUBS_ADDED]++);
    *id_out = s->id;
    return MCRX_OK;
}

int mcrx_ctx_add(mcrx_ctx *ctx, const mcrx_config *cfg, uint64_t *id_out)
{
    return add_common(ctx, cfg, MCRX_INVALID_SOCKET, false, id_out);
}

int mcrx_ctx_add_with_socket(mcrx_ctx *ctx, const mcrx_config *cfg, mcrx_socket_t fd,
                             uint64_t *id_out)
{
    if (fd == MCRX_INVALID_SOCKET)
        return MCRX_E_INVALID_ARG;
    return add_common(ctx, cfg, fd, true, id_out);
}

int mcrx_ctx_join(mcrx_ctx *ctx, uint64_t id)
{
    if (!ctx)
        return MCRX_E_INVALID_ARG;
    int st = mcrx_engine_thread_check(&ctx->engine);
    if (st != MCRX_OK)
        return st;
    mcrx_sub *s = mcrx_ctx_get(ctx, id);
    return s ? mcrx_sub_join(s) : MCRX_E_NOT_FOUND;
}

int mcrx_ctx_leave(mcrx_ctx *ctx, uint64_t id)
{
    if (!ctx)
        return MCRX_E_INVALID_ARG;
    int st = mcrx_engine_thread_check(&ctx->engine);
    if (st != MCRX_OK)
        return st;
    mcrx_sub *s = mcrx_ctx_get(ctx, id);
    return s ? mcrx_sub_leave(s) : MCRX_E_NOT_FOUND;
}

static void unlink_index(mcrx_ctx *ctx, long i)
{
    memmove(&ctx->subs[i], &ctx->subs[i + 1],
            (ctx->count - (size_t)i - 1) * sizeof *ctx->subs);
    ctx->count--;
}

int mcrx_ctx_remove(mcrx_ctx *ctx, uint64_t id)
{
    if (!ctx)
        return MCRX_E_INVALID_ARG;
    int st = mcrx_engine_thread_check(&ctx->engine);
    if (st != MCRX_OK)
        return st;
    long i = find_index(ctx, id);
    if (i < 0)
        return MCRX_E_NOT_FOUND;
    struct mcrx_sub *s = ctx->subs[i];
    unlink_index(ctx, i);
    MCRX_MX(ctx->mx.counter[MCRX_CC_SUBS_REMOVED]++);
    mcrx_sub_destroy(s); /* its counts go to the totals (mcrx_mx_retire) */
    return MCRX_OK;
}

int mcrx_ctx_take(mcrx_ctx *ctx, uint64_t id, mcrx_sub **out)
{
    if (!ctx || !out)
        return MCRX_E_INVALID_ARG;
    int bound = mcrx_engine_thread_check(&ctx->engine);
    if (bound != MCRX_OK)
        return bound;
    long i = find_index(ctx, id);
    if (i < 0)
        return MCRX_E_NOT_FOUND;
    struct mcrx_sub *s = ctx->subs[i];
    const struct mcrx_backend_ops *ops = mcrx_registry_socket_ready();
    struct mcrx_engine *own = calloc(1, sizeof *own);
    if (!own)
        return MCRX_E_NO_MEMORY;
    /* One sub's receiver needs few slots, but room for what the context
     * already read for it (it moves along). */
    mcrx_ctx_options o = ctx->opts;
    uint32_t carried = s->bsub ? mcrx_engine_unread_of(&ctx->engine, s) : 0;
    if (o.max_batch > 64)
        o.max_batch = 64;
    if (o.max_batch < carried)
        o.max_batch = carried;
    int st = ops ? mcrx_engine_init(own, ops, &o) : MCRX_E_BACKEND_UNAVAILABLE;
    if (st == MCRX_OK && s->state == MCRX_SUB_JOINED) {
        st = mcrx_engine_move(s, own);
        if (st != MCRX_OK)
            mcrx_engine_destroy(own);
    }
    if (st != MCRX_OK) {
        free(own);
        return mcrx_os_status(st);
    }
    MCRX_MX(mcrx_mx_retire(ctx, s); ctx->mx.counter[MCRX_CC_SUBS_TAKEN]++);
    s->engine = own;
    s->own_engine = own;
    s->ctx = NULL;
    unlink_index(ctx, i);
    *out = s;
    return MCRX_OK;
}

int mcrx_ctx_try_recv_any(mcrx_ctx *ctx, mcrx_packet *out)
{
    return mcrx_ctx_try_recv_any_meta(ctx, out, NULL);
}

int mcrx_ctx_try_recv_any_meta(mcrx_ctx *ctx, mcrx_packet *out, mcrx_metadata *meta)
{
    return mcrx_ctx_recv_batch_meta(ctx, out, meta, 1);
}

int mcrx_ctx_recv_batch(mcrx_ctx *ctx, mcrx_packet *out, size_t max)
{
    return mcrx_ctx_recv_batch_meta(ctx, out, NULL, max);
}

int mcrx_ctx_recv_batch_meta(mcrx_ctx *ctx, mcrx_packet *out, mcrx_metadata *meta,
                             size_t max)
{
    if (!ctx || !out)
        return MCRX_E_INVALID_ARG;
    int n = mcrx_engine_thread_check(&ctx->engine);
    if (n == MCRX_OK)
        n = mcrx_engine_recv(&ctx->engine, out, meta, max);
    MCRX_MX_CALL(&ctx->mx, n);
    return n;
}

mcrx_wait_handle_t mcrx_ctx_fd(const mcrx_ctx *ctx)
{
    return ctx->engine.ops->wait_handle(ctx->engine.be);
}

int mcrx_ctx_wait(mcrx_ctx *ctx, int timeout_ms)
{
    if (!ctx)
        return MCRX_E_INVALID_ARG;
    int st = mcrx_engine_thread_check(&ctx->engine);
    return st != MCRX_OK ? st : mcrx_engine_wait(&ctx->engine, timeout_ms);
}
