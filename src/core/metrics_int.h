/* Metrics internals: the per-subscription and per-context counters the
 * receive path keeps for include/mcrx/mcrx_metrics.h, the hooks that keep
 * them, and what metrics asks of the platform.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Hooks are written MCRX_MX(statement): with -Dmetrics=false the statement
 * is not compiled at all, so the receive path counts nothing extra. The
 * fields stay in the structs either way (a few bytes) so that no struct
 * definition depends on the option. */
#ifndef MCRX_CORE_METRICS_INT_H
#define MCRX_CORE_METRICS_INT_H

#include <stdint.h>

#include "core/backend.h"
#include "core/platform.h"
#include "mcrx/mcrx_metrics.h"
#include "mcrx_build_config.h"

#if MCRX_METRICS
#define MCRX_MX(...) do { __VA_ARGS__; } while (0)
#else
#define MCRX_MX(...) do { } while (0)
#endif

struct mcrx_sub;
struct mcrx_ctx;
struct mcrx_rx;

/* Per subscription, beside mcrx_sub_stats. */
struct mcrx_sub_mx {
    const struct mcrx_rx *last_rx; /* last delivered in this call; NULL
                                      once noted into the fields below */
    uint64_t would_block;   /* reads that came back short (queue dry) */
    int64_t read_unix_ns;   /* coarse wall clock of the last read that
                               returned datagrams */
    int64_t last_rx_unix_ns;
    mcrx_ip last_source;
    uint16_t last_source_port;
    uint32_t last_len;
};

/* Per context. */
struct mcrx_ctx_mx {
    uint64_t counter[MCRX_CC_COUNT];
    uint64_t retired[MCRX_SC_COUNT]; /* counts of removed / taken subs */
    uintptr_t rx_thread;             /* thread of the last receive call;
                                        0: never received */
};

/* ---- names (metrics.c), shared by the API and the text formats ---- */

struct mcrx_counter_info {
    const char *name;  /* API name (mcrx_sub_counter_name()) */
    const char *json;  /* JSON key stem: <json>_total, <json>_delta */
    const char *rate;  /* JSON rate key; NULL: none */
    const char *help;  /* OpenMetrics # HELP */
};
struct mcrx_proc_info {
    const char *name;  /* API and JSON name */
    const char *om;    /* OpenMetrics name without mcrx_ / _total */
    const char *unit;  /* OpenMetrics # UNIT; NULL: none */
    const char *help;
    double div;        /* API value / div = exported value */
};
extern const struct mcrx_counter_info mcrx_sub_counter_info[MCRX_SC_COUNT];
extern const struct mcrx_counter_info mcrx_ctx_counter_info[MCRX_CC_COUNT];
extern const struct mcrx_proc_info mcrx_proc_counter_info[MCRX_PC_COUNT];
extern const struct mcrx_proc_info mcrx_proc_gauge_info[MCRX_PG_COUNT];

/* ---- hooks ---- */

/* A datagram of s was delivered (in deliver(), per datagram: one store;
 * the record stays valid until the end of the receive call). */
#define MCRX_MX_DELIVERED(s, rx) MCRX_MX((s)->mx.last_rx = (rx))
/* Copy the last delivered datagram's fields out of its record: once per
 * call (or per batch served), before the record can be reused. */
#define MCRX_MX_NOTE_LAST(s)                                                  \
    MCRX_MX(if ((s)->mx.last_rx) mcrx_mx_note_last(&(s)->mx))
/* A backend read of s returned got (>= 0) of the want datagrams asked: one
 * coarse clock read per read that returned datagrams. */
#define MCRX_MX_READ(s, got, want)                                            \
    MCRX_MX(if ((unsigned)(got) < (unsigned)(want)) (s)->mx.would_block++;    \
            if ((got) > 0) (s)->mx.read_unix_ns = mcrx_plat_coarse_unix_ns())

/* metrics.c */
/* The calling thread, cheaply: the thread pointer where the compiler gives
 * it (a register read), else the platform's thread id. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 &&             \
    (defined(__x86_64__) || defined(__aarch64__)) && !defined(_WIN32)
#define MCRX_MX_THREAD() ((uintptr_t)__builtin_thread_pointer())
#else
#define MCRX_MX_THREAD() mcrx_plat_thread_id()
#endif

/* A context receive call returned n (packets or a negative status). */
#define MCRX_MX_CALL(m, n)                                                    \
    MCRX_MX((m)->rx_thread = MCRX_MX_THREAD();                                \
            (m)->counter[MCRX_CC_RECV_CALLS]++;                               \
            if ((n) > 0) (m)->counter[MCRX_CC_RECV_PACKETS] += (uint64_t)(n); \
            else if ((n) == 0) (m)->counter[MCRX_CC_RECV_EMPTY]++)

static inline void mcrx_mx_note_last(struct mcrx_sub_mx *mx)
{
    const struct mcrx_rx *rx = mx->last_rx;
    mx->last_len = rx->wire_len;
    mx->last_source = rx->src;
    mx->last_source_port = rx->src_port;
    mx->last_rx_unix_ns = (rx->flags & MCRX_RX_HAS_TS) ? rx->ts_ns : mx->read_unix_ns;
    mx->last_rx = NULL;
}
/* s leaves its context for good (remove, take): keep its counts in the
 * context's totals. Call while its socket is still open. */
void mcrx_mx_retire(struct mcrx_ctx *ctx, const struct mcrx_sub *s);

/* ---- platform (src/platform/<os>/procstat.c) ---- */

int64_t mcrx_plat_unix_ns(void);
/* Cheap wall clock (no syscall; a few ms resolution). */
int64_t mcrx_plat_coarse_unix_ns(void);
/* CPU, faults, context switches, RSS, fds; available false if none. */
void mcrx_plat_process_metrics(mcrx_process_metrics *out);

#endif
