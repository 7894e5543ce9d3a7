/*
 * mcrx-core metrics: snapshots, deltas with per-second rates, process
 * metrics, and text export (JSON lines, OpenMetrics / Prometheus text).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Part of libmcrx. Built with `-Dmetrics=true` (the default). With
 * `-Dmetrics=false` every function below still exists, but the ones that
 * take a snapshot return MCRX_E_METRICS_DISABLED, and the receive path
 * counts only what mcrx_sub_get_stats() always counted (the counters this
 * header adds are not compiled into the receive path).
 *
 * Model (as the Rust crate's `metrics` feature):
 * - a snapshot is a point-in-time copy: counters are cumulative, gauges
 *   are current values;
 * - a delta is the difference of two snapshots of the same context, with
 *   per-second rates over the interval between them.
 * Context totals count every subscription the context ever had: removing
 * or taking a subscription keeps its counts in the totals, so they never go
 * down. A subscription's own counters live as long as it does; a new one
 * (ids are never reused) starts from zero. An extracted subscription
 * (mcrx_ctx_take) is in no context's snapshot; mcrx_sub_get_stats() still
 * reads its counters.
 *
 * Cost: the receive path adds one store per datagram and a few counter
 * updates per receive call (no allocation, no syscall, no clock read per
 * datagram). The last receive time of a subscription is the kernel
 * timestamp of its last delivered datagram when timestamps are on
 * (mcrx_ctx_options.timestamps), otherwise the coarse wall clock
 * (CLOCK_REALTIME_COARSE on Linux, a few ms resolution) read once per
 * backend read that returned datagrams for it.
 *
 * Threading: a snapshot reads the context's counters without locks, so it
 * must be taken on the thread that receives on the context (between two
 * receive calls). The context remembers the thread of its last receive
 * call; a snapshot from another thread is refused with
 * MCRX_E_METRICS_WRONG_THREAD (a context never received on may be sampled
 * from any thread that owns it). Deltas and the formatting of snapshots
 * already taken need no context and may run on any thread.
 */
#ifndef MCRX_MCRX_METRICS_H
#define MCRX_MCRX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcrx/mcrx.h" /* MCRX_API, mcrx_ip, mcrx_config, ... */

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of this header: MCRX_E_METRICS_DISABLED and
 * MCRX_E_METRICS_WRONG_THREAD, in enum mcrx_status (mcrx.h). */

/* ------------------------------------------------------------------ */
/* What is counted                                                     */
/* ------------------------------------------------------------------ */

/* Per-subscription counters (cumulative; units in docs/metrics.md). */
typedef enum mcrx_sub_counter {
    MCRX_SC_PACKETS = 0,          /* datagrams delivered */
    MCRX_SC_BYTES,                /* payload bytes delivered (wire length) */
    MCRX_SC_TRUNCATED,            /* delivered cut at max_payload */
    MCRX_SC_FILTERED_GROUP,       /* dropped: destination not the group */
    MCRX_SC_FILTERED_SOURCE,      /* dropped: SSM source mismatch */
    MCRX_SC_FILTERED_INTERFACE,   /* dropped: wrong ingress interface */
    MCRX_SC_FILTERED_NO_PKTINFO,  /* dropped: destination unknown */
    MCRX_SC_DISCARDED,            /* read, never delivered (take, remove) */
    MCRX_SC_KERNEL_DROPS,         /* kernel drops (socket queue full) */
    MCRX_SC_BACKEND_DROP_EVENTS,  /* io_uring buffer ring ran empty */
    MCRX_SC_RECV_ERRORS,          /* failed reads */
    MCRX_SC_JOINS,
    MCRX_SC_LEAVES,
    MCRX_SC_WOULD_BLOCK,          /* reads that found the queue empty */
    MCRX_SC_COUNT
} mcrx_sub_counter;

/* Context counters (cumulative). */
typedef enum mcrx_ctx_counter {
    MCRX_CC_SUBS_ADDED = 0,   /* successful add / add_with_socket */
    MCRX_CC_SUBS_REMOVED,     /* successful remove */
    MCRX_CC_SUBS_TAKEN,       /* successful take */
    MCRX_CC_RECV_CALLS,       /* context receive calls (try_recv_any*,
                                 recv_batch*) */
    MCRX_CC_RECV_EMPTY,       /* of those, calls that returned 0 packets */
    MCRX_CC_RECV_PACKETS,     /* packets those calls returned */
    MCRX_CC_COUNT
} mcrx_ctx_counter;

/* Process counters (cumulative since the process started). */
typedef enum mcrx_proc_counter {
    MCRX_PC_CPU_USER_NS = 0,  /* user CPU time, ns */
    MCRX_PC_CPU_SYSTEM_NS,    /* system CPU time, ns */
    MCRX_PC_MINOR_FAULTS,
    MCRX_PC_MAJOR_FAULTS,
    MCRX_PC_VOLUNTARY_CTXSW,
    MCRX_PC_INVOLUNTARY_CTXSW,
    MCRX_PC_COUNT
} mcrx_proc_counter;

/* Process gauges (current values). */
typedef enum mcrx_proc_gauge {
    MCRX_PG_RSS_BYTES = 0,    /* resident set size */
    MCRX_PG_OPEN_FDS,         /* open file descriptors */
    MCRX_PG_THREADS,
    MCRX_PG_COUNT
} mcrx_proc_gauge;

/* Stable snake_case names ("packets", "kernel_drops", ...): the names of
 * docs/metrics.md and of the exported text. NULL for an out-of-range
 * value. Static storage; any thread. */
MCRX_API const char *mcrx_sub_counter_name(mcrx_sub_counter c);
MCRX_API const char *mcrx_ctx_counter_name(mcrx_ctx_counter c);
MCRX_API const char *mcrx_proc_counter_name(mcrx_proc_counter c);
MCRX_API const char *mcrx_proc_gauge_name(mcrx_proc_gauge g);

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

typedef struct mcrx_process_metrics {
    bool available;              /* false where the platform gives none */
    uint64_t counter[MCRX_PC_COUNT];
    uint64_t gauge[MCRX_PG_COUNT];
} mcrx_process_metrics;

typedef struct mcrx_sub_metrics {
    uint64_t id;
    mcrx_config config;          /* group, source, port (labels) */
    mcrx_sub_state state;
    uint64_t counter[MCRX_SC_COUNT];
    /* The crate's "last" fields, of the last delivered datagram. */
    uint32_t last_payload_len;   /* wire length, bytes; 0: none yet */
    mcrx_ip last_source;         /* family UNSPEC: none yet */
    uint16_t last_source_port;
    int64_t last_rx_unix_ns;     /* CLOCK_REALTIME ns (see top); 0: none */
} mcrx_sub_metrics;

typedef struct mcrx_metrics_snapshot {
    int64_t mono_ns;             /* CLOCK_MONOTONIC when taken (for rates) */
    int64_t unix_ns;             /* CLOCK_REALTIME when taken */
    mcrx_backend_kind backend;
    uint64_t ctx_counter[MCRX_CC_COUNT];
    /* Every subscription the context ever had, removed and taken ones
     * included (their counts as of removal). */
    uint64_t total[MCRX_SC_COUNT];
    uint32_t active_subs;        /* gauge: subscriptions in the context */
    uint32_t joined_subs;        /* gauge: of those, joined */
    mcrx_process_metrics process;
    size_t sub_count;            /* entries in subs, ascending id */
    mcrx_sub_metrics *subs;      /* owned by the snapshot */
    size_t sub_cap;              /* private: allocated entries */
} mcrx_metrics_snapshot;

/* Allocate an empty snapshot (no subs). The caller owns *out and frees it
 * with mcrx_metrics_snapshot_free(); reuse it for many snapshots (its subs
 * array grows only when the context has more subscriptions than before).
 * MCRX_OK, MCRX_E_INVALID_ARG, MCRX_E_NO_MEMORY. Any thread. */
MCRX_API int mcrx_metrics_snapshot_new(mcrx_metrics_snapshot **out);
/* Free a snapshot from mcrx_metrics_snapshot_new(); NULL is a no-op. */
MCRX_API void mcrx_metrics_snapshot_free(mcrx_metrics_snapshot *snap);

/* Fill snap with the context's counters now, one entry per subscription
 * the context owns, and the process metrics. Reads each joined socket's
 * kernel drop count (one getsockopt per subscription) and /proc (Linux):
 * call it at sampling intervals, not per packet. Must be called on the
 * context's receiving thread (see top). On failure snap is unchanged.
 * MCRX_OK, MCRX_E_INVALID_ARG, MCRX_E_NO_MEMORY, MCRX_E_METRICS_DISABLED,
 * MCRX_E_METRICS_WRONG_THREAD. */
MCRX_API int mcrx_ctx_metrics_snapshot(mcrx_ctx *ctx, mcrx_metrics_snapshot *snap);

/* Process metrics alone (any thread). MCRX_OK, or MCRX_E_INVALID_ARG;
 * out->available is false where the platform has none. */
MCRX_API int mcrx_process_metrics_read(mcrx_process_metrics *out);

/* ------------------------------------------------------------------ */
/* Deltas and rates                                                    */
/* ------------------------------------------------------------------ */

typedef struct mcrx_sub_delta {
    uint64_t id;
    /* true: the sub was not in prev (added during the interval), so its
     * delta counts from 0. */
    bool fresh;
    uint64_t counter[MCRX_SC_COUNT];
    double rate[MCRX_SC_COUNT];  /* counter / interval_s, per second */
} mcrx_sub_delta;

typedef struct mcrx_metrics_interval {
    double interval_s;           /* cur.mono_ns - prev.mono_ns, seconds */
    /* A counter went down between prev and cur (snapshots of different
     * contexts, or prev newer than cur): such a counter's delta is its
     * value in cur, as Prometheus treats a reset. */
    bool reset;
    uint64_t ctx_counter[MCRX_CC_COUNT];
    double ctx_rate[MCRX_CC_COUNT];
    uint64_t total[MCRX_SC_COUNT];
    double total_rate[MCRX_SC_COUNT];
    uint64_t process[MCRX_PC_COUNT];
    double process_rate[MCRX_PC_COUNT];
    double cpu_percent;          /* (user + system) CPU / interval, % of
                                    one core; 0 without process metrics */
    size_t subs_gone;            /* subs in prev but not in cur */
    size_t sub_count;            /* one entry per sub of cur, same order */
    mcrx_sub_delta *subs;        /* owned by the delta */
    size_t sub_cap;              /* private */
} mcrx_metrics_interval;

/* Allocate an empty delta; free with mcrx_metrics_interval_free() (NULL is a
 * no-op). Reusable like a snapshot. Any thread. */
MCRX_API int mcrx_metrics_interval_new(mcrx_metrics_interval **out);
MCRX_API void mcrx_metrics_interval_free(mcrx_metrics_interval *delta);

/* out = cur - prev, matched by subscription id, with per-second rates
 * (0 when the interval is not positive). prev and cur are only read. On
 * failure out is unchanged. MCRX_OK, MCRX_E_INVALID_ARG, MCRX_E_NO_MEMORY.
 * Any thread. */
MCRX_API int mcrx_metrics_delta(const mcrx_metrics_snapshot *prev,
                                const mcrx_metrics_snapshot *cur,
                                mcrx_metrics_interval *out);

/* ------------------------------------------------------------------ */
/* Text export                                                         */
/* ------------------------------------------------------------------ */

/* Both formatters write into buf (cap bytes, NUL-terminated) and set
 * *len_out to the text's length without the NUL. When cap is too small
 * they return MCRX_E_NO_MEMORY with *len_out the length needed (call
 * again with len_out + 1 bytes); buf may then be NULL with cap 0. Any
 * thread; they only read their arguments. */

typedef struct mcrx_metrics_json_opts {
    const char *node_id;     /* "node_id" field; NULL: omitted */
    const char *flags_json;  /* a JSON object, copied as "flags"; NULL:
                                omitted. Must be one valid JSON object on
                                one line (else MCRX_E_INVALID_ARG) */
} mcrx_metrics_json_opts;

/* One JSON object on one line, ending in '\n' (a JSONL record): cur's
 * totals and gauges, and, when delta is not NULL, the interval's deltas
 * and rates (keys as the crate's: packets_received_total,
 * packets_received_delta, packets_per_sec, ...; all in docs/metrics.md).
 * opts may be NULL. */
MCRX_API int mcrx_metrics_format_json(const mcrx_metrics_snapshot *cur,
                                      const mcrx_metrics_interval *delta,
                                      const mcrx_metrics_json_opts *opts,
                                      char *buf, size_t cap, size_t *len_out);

typedef enum mcrx_metrics_text_dialect {
    /* OpenMetrics 1.0 (application/openmetrics-text): counter families
     * named without _total, samples with it, # UNIT, ends in "# EOF". */
    MCRX_TEXT_OPENMETRICS = 0,
    /* Prometheus text 0.0.4, what `promtool check metrics` and
     * node_exporter's textfile collector parse: # TYPE / # HELP name the
     * sample (..._total), no # UNIT, no # EOF. */
    MCRX_TEXT_PROMETHEUS = 1
} mcrx_metrics_text_dialect;

/* The snapshot as metrics named mcrx_*: counters (..._total), gauges, one
 * series per subscription with labels sub_id, group, source ("" for ASM)
 * and port. node_id, when not NULL, becomes a label `node` on every
 * series. */
MCRX_API int mcrx_metrics_format_openmetrics(const mcrx_metrics_snapshot *snap,
                                             mcrx_metrics_text_dialect dialect,
                                             const char *node_id, char *buf,
                                             size_t cap, size_t *len_out);

#ifdef __cplusplus
}
#endif

#endif /* MCRX_MCRX_METRICS_H */
