/*
 * Periodic metrics of the receivers (see metrics_out.h).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "metrics_out.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static FILE *open_jsonl(const char *path, bool *must_close)
{
    *must_close = strcmp(path, "-") != 0;
    if (!*must_close)
        return stdout;
    FILE *f = fopen(path, "a");
    if (!f) {
        tool_err("cannot open metrics file %s: %s", path, strerror(errno));
        exit(TOOL_EXIT_FAIL);
    }
    return f;
}

void tool_metrics_init(struct tool_metrics *m, const struct tool_metrics_args *a,
                       double now)
{
    memset(m, 0, sizeof *m);
    const char *secs = env("MCRX_METRICS_SUMMARY_SECS");
    const char *file = env("MCRX_METRICS_SUMMARY_FILE");
    double env_secs = secs ? (double)tool_parse_u64("MCRX_METRICS_SUMMARY_SECS", secs, 0, 86400) : 0;
    m->interval_s = a->interval_s > 0 ? a->interval_s : env_secs > 0 ? env_secs : 1.0;
    const char *jsonl = a->jsonl ? a->jsonl : env_secs > 0 ? file : NULL;
    /* As the crate: the interval alone prints summaries on the terminal. */
    m->stats = a->stats || (env_secs > 0 && !jsonl && !a->openmetrics && !a->prom);
    m->om_path = a->openmetrics;
    m->prom_path = a->prom;
    m->jopts.node_id = env("MCRX_METRICS_NODE_ID");
    m->jopts.flags_json = env("MCRX_METRICS_FLAGS_JSON");
    if (m->jopts.flags_json) { /* checked once here, not at every record */
        mcrx_metrics_snapshot empty;
        memset(&empty, 0, sizeof empty);
        size_t len;
        if (mcrx_metrics_format_json(&empty, NULL, &m->jopts, NULL, 0, &len) ==
            MCRX_E_INVALID_ARG)
            tool_usage_error("MCRX_METRICS_FLAGS_JSON is not one JSON object on one "
                             "line: %s", m->jopts.flags_json);
    }
    m->on = m->stats || jsonl || m->om_path || m->prom_path;
    if (!m->on)
        return;
    if (jsonl)
        m->jsonl = open_jsonl(jsonl, &m->jsonl_close);
    if (mcrx_metrics_snapshot_new(&m->prev) != MCRX_OK ||
        mcrx_metrics_snapshot_new(&m->cur) != MCRX_OK ||
        mcrx_metrics_interval_new(&m->delta) != MCRX_OK) {
        tool_err("out of memory");
        exit(TOOL_EXIT_FAIL);
    }
    m->next = now + m->interval_s;
}

double tool_metrics_due(const struct tool_metrics *m)
{
    return m->on ? m->next : INFINITY;
}

void tool_metrics_start(struct tool_metrics *m, mcrx_ctx *ctx, double now)
{
    if (!m->on)
        return;
    int st = mcrx_ctx_metrics_snapshot(ctx, m->prev);
    if (st != MCRX_OK) {
        tool_report_status("metrics", st);
        exit(TOOL_EXIT_FAIL);
    }
    m->next = now + m->interval_s;
}

/* [stats] over the interval. drops = kernel drops + filtered (cumulative);
 * backend drop events (io_uring ring ran empty) are not losses. */
static void print_stats(const struct tool_metrics *m)
{
    const uint64_t *t = m->cur->total;
    const mcrx_metrics_interval *d = m->delta;
    uint64_t filtered = t[MCRX_SC_FILTERED_GROUP] + t[MCRX_SC_FILTERED_SOURCE] +
                        t[MCRX_SC_FILTERED_INTERFACE] + t[MCRX_SC_FILTERED_NO_PKTINFO];
    printf("[stats] pkts/s=%.0f Mbit/s=%.3f drops=%" PRIu64 " (kernel=%" PRIu64
           " filtered=%" PRIu64 ") backend_events=%" PRIu64 " total=%" PRIu64 "\n",
           d->total_rate[MCRX_SC_PACKETS], d->total_rate[MCRX_SC_BYTES] * 8.0 / 1e6,
           t[MCRX_SC_KERNEL_DROPS] + filtered, t[MCRX_SC_KERNEL_DROPS], filtered,
           t[MCRX_SC_BACKEND_DROP_EVENTS], t[MCRX_SC_PACKETS]);
    fflush(stdout);
}

/* Format with fmt into m->buf, growing it; false on failure (reported). */
static bool render(struct tool_metrics *m, bool json, mcrx_metrics_text_dialect dialect)
{
    for (;;) {
        size_t len = 0;
        int st = json ? mcrx_metrics_format_json(m->cur, m->delta, &m->jopts, m->buf, m->cap, &len)
                      : mcrx_metrics_format_openmetrics(m->cur, dialect, m->jopts.node_id,
                                                        m->buf, m->cap, &len);
        if (st == MCRX_OK)
            return true;
        if (st != MCRX_E_NO_MEMORY) {
            tool_report_status("metrics format", st);
            return false;
        }
        char *b = realloc(m->buf, len + 1);
        if (!b) {
            tool_err("out of memory");
            return false;
        }
        m->buf = b;
        m->cap = len + 1;
    }
}

/* Replace path by the text at once: readers see the old file or the new
 * one, never a half-written one. */
static void write_atomic(const char *path, const char *text)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        tool_err("cannot write metrics file %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

void tool_metrics_tick(struct tool_metrics *m, mcrx_ctx *ctx, double now, bool force)
{
    if (!m->on || (!force && now < m->next))
        return;
    m->next += m->interval_s;
    if (m->next <= now)
        m->next = now + m->interval_s;
    int st = mcrx_ctx_metrics_snapshot(ctx, m->cur);
    if (st == MCRX_OK)
        st = mcrx_metrics_delta(m->prev, m->cur, m->delta);
    if (st != MCRX_OK) {
        tool_report_status("metrics", st);
        return;
    }
    if (m->stats)
        print_stats(m);
    if (m->jsonl && render(m, true, 0)) {
        fputs(m->buf, m->jsonl);
        fflush(m->jsonl);
    }
    if (m->om_path && render(m, false, MCRX_TEXT_OPENMETRICS))
        write_atomic(m->om_path, m->buf);
    if (m->prom_path && render(m, false, MCRX_TEXT_PROMETHEUS))
        write_atomic(m->prom_path, m->buf);
    mcrx_metrics_snapshot *t = m->prev; /* cur becomes the next prev */
    m->prev = m->cur;
    m->cur = t;
}

void tool_metrics_free(struct tool_metrics *m)
{
    if (m->jsonl && m->jsonl_close)
        fclose(m->jsonl);
    mcrx_metrics_snapshot_free(m->prev);
    mcrx_metrics_snapshot_free(m->cur);
    mcrx_metrics_interval_free(m->delta);
    free(m->buf);
    memset(m, 0, sizeof *m);
}
