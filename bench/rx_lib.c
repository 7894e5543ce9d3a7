/*
 * mcrx_bench receiver through the library: one context, one subscription per
 * bench sub (mcrx_ctx_add + mcrx_ctx_join, rcvbuf_bytes from --rcvbuf), then
 * either the batch call (mcrx_ctx_recv_batch, max_batch packets) or the
 * single call (mcrx_ctx_try_recv_any) in a loop; mcrx_ctx_wait() when
 * nothing is ready. --no-timestamps turns the context option timestamps
 * (SO_TIMESTAMPNS on every socket, on by default) off. --metrics-sample-ms M
 * takes a metrics snapshot and a delta (include/mcrx/mcrx_metrics.h) every
 * M ms from the receive loop, as a monitoring application would; in a
 * -Dmetrics=false build the same calls return MCRX_E_METRICS_DISABLED at
 * once, so both builds run the same loop (bench/README.md, "Metrics
 * overhead").
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mcrx/mcrx.h"
#include "mcrx/mcrx_metrics.h"

struct lib_state {
    mcrx_ctx *ctx;
    mcrx_packet *pkts;
    uint32_t maxb;
    uint64_t *ids;      /* ids[i]: id of bench sub i */
    uint32_t *idx_of;   /* idx_of[id]: bench sub index */
    uint64_t max_id;
    mcrx_sub **subs;
    /* --metrics-sample-ms */
    mcrx_metrics_snapshot *snap[2]; /* [0]: previous sample */
    mcrx_metrics_interval *delta;
    int64_t next_sample_ns;
    uint64_t samples;
    int sample_status;              /* last snapshot's status */
};

static int64_t coarse_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Snapshot + delta when the sampling interval has passed (one coarse clock
 * read per receive call otherwise). */
static void lib_sample(struct bench *b, struct lib_state *s, bool force)
{
    int64_t now = coarse_mono_ns();
    if (!force && now < s->next_sample_ns)
        return;
    s->next_sample_ns = now + (int64_t)b->o.metrics_sample_ms * 1000000;
    s->sample_status = mcrx_ctx_metrics_snapshot(s->ctx, s->snap[1]);
    if (s->sample_status != MCRX_OK)
        return;
    mcrx_metrics_delta(s->snap[0], s->snap[1], s->delta);
    mcrx_metrics_snapshot *t = s->snap[0];
    s->snap[0] = s->snap[1];
    s->snap[1] = t;
    s->samples++;
}

static int lib_kind(const char *name, mcrx_backend_kind *kind)
{
    if (!strcmp(name, "default")) {
        const char *env = getenv("MCRX_BACKEND");
        if (env && *env) {
            if (mcrx_backend_parse(env, kind) != MCRX_OK) {
                fprintf(stderr, "mcrx_bench: MCRX_BACKEND=%s not available\n",
                        env);
                return 77;
            }
        } else {
            *kind = MCRX_BACKEND_DEFAULT;
        }
        return 0;
    }
    if (mcrx_backend_parse(name, kind) != MCRX_OK) {
        fprintf(stderr, "mcrx_bench: backend %s not compiled in\n", name);
        return 77;
    }
    if (*kind != MCRX_BACKEND_DEFAULT && !mcrx_backend_compiled(*kind)) {
        fprintf(stderr, "mcrx_bench: backend %s not compiled in\n", name);
        return 77;
    }
    return 0;
}

static int lib_open(struct bench *b)
{
    struct lib_state *s = calloc(1, sizeof *s);
    if (!s)
        bench_die("calloc");
    b->priv = s;
    mcrx_backend_kind kind;
    int rc = lib_kind(b->o.backend, &kind);
    if (rc)
        return rc;

    mcrx_ctx_options opts;
    mcrx_ctx_options_init(&opts);
    opts.backend = kind;
    opts.rcvbuf_bytes = b->o.rcvbuf > UINT32_MAX ? UINT32_MAX
                                                 : (uint32_t)b->o.rcvbuf;
    if (b->o.max_batch)
        opts.max_batch = b->o.max_batch;
    if (b->o.turn_budget)
        opts.turn_budget = b->o.turn_budget;
    if (b->o.no_timestamps)
        opts.timestamps = false;
    opts.coalesce_us = b->o.coalesce_us;
    opts.busy_poll_us = b->o.busy_poll_us;
    rc = mcrx_ctx_new(&s->ctx, &opts);
    if (rc == MCRX_E_BACKEND_UNAVAILABLE) {
        fprintf(stderr, "mcrx_bench: backend %s unavailable here: %s\n",
                b->o.backend, mcrx_strerror(rc));
        return 77;
    }
    if (rc != MCRX_OK) {
        fprintf(stderr, "mcrx_bench: mcrx_ctx_new: %s (%s)\n",
                mcrx_status_name(rc), strerror(errno));
        return 3;
    }
    mcrx_ctx_get_options(s->ctx, &opts);
    s->maxb = opts.max_batch;
    s->pkts = calloc(s->maxb, sizeof *s->pkts);
    s->ids = calloc(b->nsubs, sizeof *s->ids);
    s->subs = calloc(b->nsubs, sizeof *s->subs);
    if (!s->pkts || !s->ids || !s->subs)
        bench_die("calloc");
    for (uint32_t i = 0; i < b->nsubs; i++) {
        const uint8_t *g = (const uint8_t *)&b->subs[i].group_be;
        mcrx_ip grp = mcrx_ip4(g[0], g[1], g[2], g[3]);
        mcrx_config cfg;
        mcrx_config_asm(&cfg, &grp, b->subs[i].port);
        cfg.interface = mcrx_ip4(127, 0, 0, 1);
        uint64_t id;
        rc = mcrx_ctx_add(s->ctx, &cfg, &id);
        if (rc == MCRX_OK)
            rc = mcrx_ctx_join(s->ctx, id);
        if (rc != MCRX_OK) {
            fprintf(stderr, "mcrx_bench: sub %u: %s (%s)\n", i,
                    mcrx_status_name(rc),
                    mcrx_status_is_os_error(rc) ? strerror(errno) : "-");
            return 3;
        }
        s->ids[i] = id;
        s->subs[i] = mcrx_ctx_get(s->ctx, id);
        if (id > s->max_id)
            s->max_id = id;
    }
    s->idx_of = calloc(s->max_id + 1, sizeof *s->idx_of);
    if (!s->idx_of)
        bench_die("calloc");
    for (uint32_t i = 0; i < b->nsubs; i++)
        s->idx_of[s->ids[i]] = i;
    if (b->o.metrics_sample_ms) {
        if (mcrx_metrics_snapshot_new(&s->snap[0]) != MCRX_OK ||
            mcrx_metrics_snapshot_new(&s->snap[1]) != MCRX_OK ||
            mcrx_metrics_interval_new(&s->delta) != MCRX_OK)
            bench_die("metrics alloc");
        lib_sample(b, s, true); /* the first one, outside the timed loop */
        s->samples = 0;
    }
    return 0;
}

static int lib_fd(struct bench *b, uint32_t i)
{
    struct lib_state *s = b->priv;
    return s->subs[i] ? mcrx_sub_fd(s->subs[i]) : -1;
}

static uint64_t lib_drops(struct bench *b)
{
    struct lib_state *s = b->priv;
    uint64_t d = 0;
    for (uint32_t i = 0; i < b->nsubs; i++) {
        mcrx_sub_stats st;
        if (s->subs[i] && mcrx_sub_get_stats(s->subs[i], &st) == MCRX_OK)
            d += st.kernel_drops;
    }
    return d;
}

static int lib_error(int rc)
{
    fprintf(stderr, "mcrx_bench: receive: %s (%s)\n", mcrx_status_name(rc),
            mcrx_status_is_os_error(rc) ? strerror(errno) : "-");
    return 3;
}

static int lib_run_batch(struct bench *b)
{
    struct lib_state *s = b->priv;
    mcrx_ctx *ctx = s->ctx;
    mcrx_packet *p = s->pkts;
    const uint32_t *idx_of = s->idx_of;
    const bool sample = b->o.metrics_sample_ms != 0;
    while (b->rx < b->target) {
        bench_call(b);
        if (sample)
            lib_sample(b, s, false);
        int n = mcrx_ctx_recv_batch(ctx, p, s->maxb);
        if (n > 0) {
            for (int k = 0; k < n; k++)
                bench_pkt(b, idx_of[p[k].sub_id], p[k].payload, p[k].len);
            continue;
        }
        if (n < 0)
            return lib_error(n);
        int t = bench_idle(b);
        if (t < 0)
            break;
        int w = mcrx_ctx_wait(ctx, t);
        if (w < 0)
            return lib_error(w);
    }
    return 0;
}

static int lib_run_single(struct bench *b)
{
    struct lib_state *s = b->priv;
    mcrx_ctx *ctx = s->ctx;
    const uint32_t *idx_of = s->idx_of;
    const bool sample = b->o.metrics_sample_ms != 0;
    mcrx_packet p;
    while (b->rx < b->target) {
        bench_call(b);
        if (sample)
            lib_sample(b, s, false);
        int n = mcrx_ctx_try_recv_any(ctx, &p);
        if (n > 0) {
            bench_pkt(b, idx_of[p.sub_id], p.payload, p.len);
            continue;
        }
        if (n < 0)
            return lib_error(n);
        int t = bench_idle(b);
        if (t < 0)
            break;
        int w = mcrx_ctx_wait(ctx, t);
        if (w < 0)
            return lib_error(w);
    }
    return 0;
}

static int lib_run(struct bench *b)
{
#ifdef MCRX_BENCH_HAVE_MCRX_UV
    if (b->o.api == API_UV) {
        struct lib_state *s = b->priv;
        return bench_lib_run_uv(b, s->ctx, s->idx_of, s->maxb);
    }
#endif
    return b->o.api == API_SINGLE ? lib_run_single(b) : lib_run_batch(b);
}

static void lib_close(struct bench *b)
{
    struct lib_state *s = b->priv;
    if (!s)
        return;
    mcrx_ctx_free(s->ctx);
    free(s->pkts);
    free(s->ids);
    free(s->idx_of);
    free(s->subs);
    mcrx_metrics_snapshot_free(s->snap[0]);
    mcrx_metrics_snapshot_free(s->snap[1]);
    mcrx_metrics_interval_free(s->delta);
    free(s);
    b->priv = NULL;
}

static void lib_describe(struct bench *b, char *buf, size_t len)
{
    struct lib_state *s = b->priv;
    mcrx_ctx_options o;
    mcrx_ctx_get_options(s->ctx, &o);
    uint64_t pk = 0, filt = 0, bed = 0, errs = 0, trunc = 0;
    uint32_t rcvbuf = 0;
    for (uint32_t i = 0; i < b->nsubs; i++) {
        mcrx_sub_stats st;
        if (!s->subs[i] || mcrx_sub_get_stats(s->subs[i], &st) != MCRX_OK)
            continue;
        pk += st.packets;
        filt += st.filtered_group + st.filtered_source +
                st.filtered_interface + st.filtered_no_pktinfo;
        bed += st.backend_drop_events;
        errs += st.recv_errors;
        trunc += st.truncated;
        if (i == 0)
            rcvbuf = mcrx_sub_rcvbuf(s->subs[i]);
    }
    snprintf(buf, len,
             "api=%s lib_backend=%s fell_back=%d max_batch=%u turn_budget=%u "
             "timestamps=%d "
             "rcvbuf_granted=%u lib_pkts=%llu filtered=%llu "
             "backend_drop_events=%llu recv_errors=%llu truncated=%llu "
             "metrics_sample_ms=%u metrics_samples=%llu metrics_status=%s",
             b->o.api == API_SINGLE ? "single" : b->o.api == API_UV ? "uv" : "batch",
             mcrx_backend_name(mcrx_ctx_backend(s->ctx)),
             (int)mcrx_ctx_backend_fell_back(s->ctx), o.max_batch,
             o.turn_budget, (int)o.timestamps, rcvbuf, (unsigned long long)pk,
             (unsigned long long)filt, (unsigned long long)bed,
             (unsigned long long)errs, (unsigned long long)trunc,
             b->o.metrics_sample_ms, (unsigned long long)s->samples,
             b->o.metrics_sample_ms ? mcrx_status_name(s->sample_status) : "-");
}

const struct bench_backend bench_backend_lib = {
    .name = "lib",
    .open = lib_open,
    .fd = lib_fd,
    .kernel_drops = lib_drops,
    .run = lib_run,
    .close = lib_close,
    .describe = lib_describe,
};
