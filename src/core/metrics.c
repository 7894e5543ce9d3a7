/*
 * Metrics: counter names, snapshots of a context, deltas and rates.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The receive path keeps its counts in mcrx_sub.stats and mcrx_sub.mx (see
 * metrics_int.h); this file only reads them, on the receiving thread, and
 * does arithmetic on snapshots, which needs no context at all.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Every counter once: its API name, JSON key stem (the crate's where it has
 * the counter), rate key (NULL: none) and help text. */
const struct mcrx_counter_info mcrx_sub_counter_info[MCRX_SC_COUNT] = {
    [MCRX_SC_PACKETS] = {"packets", "packets_received", "packets_per_sec",
                         "Datagrams delivered to the application."},
    [MCRX_SC_BYTES] = {"bytes", "bytes_received", "bytes_per_sec",
                       "Payload bytes delivered (datagram wire length)."},
    [MCRX_SC_TRUNCATED] = {"truncated", "truncated", NULL,
                           "Datagrams delivered cut at max_payload."},
    [MCRX_SC_FILTERED_GROUP] = {"filtered_group", "filtered_group", NULL,
                                "Datagrams dropped: destination was not the group."},
    [MCRX_SC_FILTERED_SOURCE] = {"filtered_source", "filtered_source", NULL,
                                 "Datagrams dropped: SSM source was not the configured one."},
    [MCRX_SC_FILTERED_INTERFACE] = {"filtered_interface", "filtered_interface", NULL,
                                    "Datagrams dropped: arrived on another interface."},
    [MCRX_SC_FILTERED_NO_PKTINFO] = {"filtered_no_pktinfo", "filtered_no_pktinfo", NULL,
                                     "Datagrams dropped: destination unknown (no pktinfo)."},
    [MCRX_SC_DISCARDED] = {"discarded", "discarded", NULL,
                           "Datagrams read by the library but never delivered."},
    [MCRX_SC_KERNEL_DROPS] = {"kernel_drops", "kernel_drops", "kernel_drops_per_sec",
                              "Datagrams the kernel dropped (socket receive queue full)."},
    [MCRX_SC_BACKEND_DROP_EVENTS] = {"backend_drop_events", "backend_drop_events", NULL,
                                     "io_uring buffer ring ran empty (not a loss)."},
    [MCRX_SC_RECV_ERRORS] = {"recv_errors", "receive_errors", "receive_errors_per_sec",
                             "Failed receive reads."},
    [MCRX_SC_JOINS] = {"joins", "join_count", NULL, "Successful joins."},
    [MCRX_SC_LEAVES] = {"leaves", "leave_count", NULL, "Successful leaves."},
    [MCRX_SC_WOULD_BLOCK] = {"would_block", "would_block_count", "would_block_per_sec",
                             "Reads that found the socket queue empty."},
};

const struct mcrx_counter_info mcrx_ctx_counter_info[MCRX_CC_COUNT] = {
    [MCRX_CC_SUBS_ADDED] = {"subs_added", "subscriptions_added", NULL,
                            "Subscriptions added to the context."},
    [MCRX_CC_SUBS_REMOVED] = {"subs_removed", "subscriptions_removed", NULL,
                              "Subscriptions removed from the context."},
    [MCRX_CC_SUBS_TAKEN] = {"subs_taken", "subscriptions_taken", NULL,
                            "Subscriptions extracted from the context."},
    [MCRX_CC_RECV_CALLS] = {"recv_calls", "batch_calls", NULL, "Context receive calls."},
    [MCRX_CC_RECV_EMPTY] = {"recv_empty", "empty_recv_calls", NULL,
                            "Context receive calls that returned no packet."},
    [MCRX_CC_RECV_PACKETS] = {"recv_packets", "batch_packets_received", NULL,
                              "Packets returned by context receive calls."},
};

/* Process metrics: the text formats export CPU time in seconds. */
const struct mcrx_proc_info mcrx_proc_counter_info[MCRX_PC_COUNT] = {
    [MCRX_PC_CPU_USER_NS] = {"cpu_user_ns", "process_cpu_user_seconds", "seconds",
                             "User CPU time of the process.", 1e9},
    [MCRX_PC_CPU_SYSTEM_NS] = {"cpu_system_ns", "process_cpu_system_seconds", "seconds",
                               "System CPU time of the process.", 1e9},
    [MCRX_PC_MINOR_FAULTS] = {"minor_faults", "process_minor_faults", NULL,
                              "Minor page faults.", 1},
    [MCRX_PC_MAJOR_FAULTS] = {"major_faults", "process_major_faults", NULL,
                              "Major page faults.", 1},
    [MCRX_PC_VOLUNTARY_CTXSW] = {"voluntary_ctxsw", "process_voluntary_context_switches",
                                 NULL, "Voluntary context switches.", 1},
    [MCRX_PC_INVOLUNTARY_CTXSW] = {"involuntary_ctxsw",
                                   "process_involuntary_context_switches", NULL,
                                   "Involuntary context switches.", 1},
};

const struct mcrx_proc_info mcrx_proc_gauge_info[MCRX_PG_COUNT] = {
    [MCRX_PG_RSS_BYTES] = {"rss_bytes", "process_resident_memory_bytes", "bytes",
                           "Resident set size.", 1},
    [MCRX_PG_OPEN_FDS] = {"open_fds", "process_open_fds", NULL, "Open file descriptors.", 1},
    [MCRX_PG_THREADS] = {"threads", "process_threads", NULL, "Threads of the process.", 1},
};

const char *mcrx_sub_counter_name(mcrx_sub_counter c)
{
    return (unsigned)c < MCRX_SC_COUNT ? mcrx_sub_counter_info[c].name : NULL;
}

const char *mcrx_ctx_counter_name(mcrx_ctx_counter c)
{
    return (unsigned)c < MCRX_CC_COUNT ? mcrx_ctx_counter_info[c].name : NULL;
}

const char *mcrx_proc_counter_name(mcrx_proc_counter c)
{
    return (unsigned)c < MCRX_PC_COUNT ? mcrx_proc_counter_info[c].name : NULL;
}

const char *mcrx_proc_gauge_name(mcrx_proc_gauge g)
{
    return (unsigned)g < MCRX_PG_COUNT ? mcrx_proc_gauge_info[g].name : NULL;
}

/* ---- hooks ---- */

/* The counter vector of a sub; kernel drops refreshed from the socket. */
static void sub_counters(const struct mcrx_sub *s, uint64_t c[MCRX_SC_COUNT])
{
    mcrx_sub_stats st;
    mcrx_sub_get_stats(s, &st);
    c[MCRX_SC_PACKETS] = st.packets;
    c[MCRX_SC_BYTES] = st.bytes;
    c[MCRX_SC_TRUNCATED] = st.truncated;
    c[MCRX_SC_FILTERED_GROUP] = st.filtered_group;
    c[MCRX_SC_FILTERED_SOURCE] = st.filtered_source;
    c[MCRX_SC_FILTERED_INTERFACE] = st.filtered_interface;
    c[MCRX_SC_FILTERED_NO_PKTINFO] = st.filtered_no_pktinfo;
    c[MCRX_SC_DISCARDED] = st.discarded;
    c[MCRX_SC_KERNEL_DROPS] = st.kernel_drops;
    c[MCRX_SC_BACKEND_DROP_EVENTS] = st.backend_drop_events;
    c[MCRX_SC_RECV_ERRORS] = st.recv_errors;
    c[MCRX_SC_JOINS] = st.joins;
    c[MCRX_SC_LEAVES] = st.leaves;
    c[MCRX_SC_WOULD_BLOCK] = s->mx.would_block;
}

void mcrx_mx_retire(struct mcrx_ctx *ctx, const struct mcrx_sub *s)
{
    uint64_t c[MCRX_SC_COUNT];
    sub_counters(s, c);
    for (int i = 0; i < MCRX_SC_COUNT; i++)
        ctx->mx.retired[i] += c[i];
}

/* ---- snapshots ---- */

int mcrx_metrics_snapshot_new(mcrx_metrics_snapshot **out)
{
    if (!out)
        return MCRX_E_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? MCRX_OK : MCRX_E_NO_MEMORY;
}

void mcrx_metrics_snapshot_free(mcrx_metrics_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->subs);
    free(snap);
}

/* Grow *arr (of elem bytes each, *cap of them) to hold n. */
static int reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return MCRX_OK;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return MCRX_E_NO_MEMORY;
    *arr = p;
    *cap = n;
    return MCRX_OK;
}

#if MCRX_METRICS
static void fill_sub(mcrx_sub_metrics *m, const struct mcrx_sub *s)
{
    memset(m, 0, sizeof *m);
    m->id = s->id;
    m->config = s->cfg;
    m->state = s->state;
    sub_counters(s, m->counter);
    m->last_payload_len = s->mx.last_len;
    m->last_source = s->mx.last_source;
    m->last_source_port = s->mx.last_source_port;
    m->last_rx_unix_ns = s->mx.last_rx_unix_ns;
}
#endif

int mcrx_ctx_metrics_snapshot(mcrx_ctx *ctx, mcrx_metrics_snapshot *snap)
{
    if (!ctx || !snap)
        return MCRX_E_INVALID_ARG;
#if !MCRX_METRICS
    return MCRX_E_METRICS_DISABLED;
#else
    if (ctx->mx.rx_thread && ctx->mx.rx_thread != MCRX_MX_THREAD())
        return MCRX_E_METRICS_WRONG_THREAD;
    int st = reserve((void **)&snap->subs, &snap->sub_cap, ctx->count,
                     sizeof *snap->subs);
    if (st != MCRX_OK)
        return st;
    snap->mono_ns = mcrx_plat_mono_ns();
    snap->unix_ns = mcrx_plat_unix_ns();
    snap->backend = mcrx_ctx_backend(ctx);
    memcpy(snap->ctx_counter, ctx->mx.counter, sizeof snap->ctx_counter);
    memcpy(snap->total, ctx->mx.retired, sizeof snap->total);
    snap->active_subs = (uint32_t)ctx->count;
    snap->joined_subs = 0;
    for (size_t i = 0; i < ctx->count; i++) {
        mcrx_sub_metrics *m = &snap->subs[i];
        fill_sub(m, ctx->subs[i]);
        for (int k = 0; k < MCRX_SC_COUNT; k++)
            snap->total[k] += m->counter[k];
        snap->joined_subs += m->state == MCRX_SUB_JOINED;
    }
    snap->sub_count = ctx->count;
    mcrx_plat_process_metrics(&snap->process);
    return MCRX_OK;
#endif
}

int mcrx_process_metrics_read(mcrx_process_metrics *out)
{
    if (!out)
        return MCRX_E_INVALID_ARG;
    mcrx_plat_process_metrics(out);
    return MCRX_OK;
}

/* ---- deltas ---- */

int mcrx_metrics_interval_new(mcrx_metrics_interval **out)
{
    if (!out)
        return MCRX_E_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? MCRX_OK : MCRX_E_NO_MEMORY;
}

void mcrx_metrics_interval_free(mcrx_metrics_interval *delta)
{
    if (!delta)
        return;
    free(delta->subs);
    free(delta);
}

/* d[i] = cur[i] - prev[i] (prev NULL: from 0; a counter that went down
 * counts from 0, as a reset) and its rate. Returns whether one went down. */
static bool diff(const uint64_t *prev, const uint64_t *cur, int n,
                 double secs, uint64_t *d, double *rate)
{
    bool reset = false;
    for (int i = 0; i < n; i++) {
        uint64_t p = prev ? prev[i] : 0;
        reset |= cur[i] < p;
        d[i] = cur[i] >= p ? cur[i] - p : cur[i];
        rate[i] = secs > 0 ? (double)d[i] / secs : 0.0;
    }
    return reset;
}

/* The entry of id in prev (both ascending by id), scanning from *pos. */
static const mcrx_sub_metrics *match(const mcrx_metrics_snapshot *prev,
                                     uint64_t id, size_t *pos)
{
    while (*pos < prev->sub_count && prev->subs[*pos].id < id)
        (*pos)++;
    if (*pos < prev->sub_count && prev->subs[*pos].id == id)
        return &prev->subs[*pos];
    return NULL;
}

int mcrx_metrics_delta(const mcrx_metrics_snapshot *prev,
                       const mcrx_metrics_snapshot *cur,
                       mcrx_metrics_interval *out)
{
    if (!prev || !cur || !out)
        return MCRX_E_INVALID_ARG;
    int st = reserve((void **)&out->subs, &out->sub_cap, cur->sub_count,
                     sizeof *out->subs);
    if (st != MCRX_OK)
        return st;
    double secs = (double)(cur->mono_ns - prev->mono_ns) / 1e9;
    out->interval_s = secs;
    bool reset = diff(prev->ctx_counter, cur->ctx_counter, MCRX_CC_COUNT, secs,
                      out->ctx_counter, out->ctx_rate);
    reset |= diff(prev->total, cur->total, MCRX_SC_COUNT, secs, out->total,
                  out->total_rate);
    reset |= diff(prev->process.counter, cur->process.counter, MCRX_PC_COUNT,
                  secs, out->process, out->process_rate);
    out->cpu_percent = (out->process_rate[MCRX_PC_CPU_USER_NS] +
                        out->process_rate[MCRX_PC_CPU_SYSTEM_NS]) / 1e7;
    size_t pos = 0, matched = 0;
    for (size_t i = 0; i < cur->sub_count; i++) {
        const mcrx_sub_metrics *c = &cur->subs[i];
        const mcrx_sub_metrics *p = match(prev, c->id, &pos);
        mcrx_sub_delta *d = &out->subs[i];
        d->id = c->id;
        d->fresh = p == NULL;
        matched += p != NULL;
        reset |= diff(p ? p->counter : NULL, c->counter, MCRX_SC_COUNT, secs,
                      d->counter, d->rate);
    }
    out->reset = reset;
    out->sub_count = cur->sub_count;
    out->subs_gone = prev->sub_count - matched;
    return MCRX_OK;
}
