/*
 * Periodic metrics of the receivers: one sampler (snapshot + delta of
 * include/mcrx/mcrx_metrics.h, taken on the receiving thread) feeds every
 * output: the [stats] line, a JSONL file, and OpenMetrics / Prometheus
 * text files rewritten atomically (temp file + rename) for a node
 * exporter's textfile collector.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MCRX_TOOLS_METRICS_OUT_H
#define MCRX_TOOLS_METRICS_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "mcrx/mcrx.h"
#include "mcrx/mcrx_metrics.h"

/* What the command line asked (NULL / 0: not given). */
struct tool_metrics_args {
    bool stats;                /* --stats */
    const char *jsonl;         /* --metrics-jsonl FILE ("-": stdout) */
    const char *openmetrics;   /* --metrics-openmetrics FILE */
    const char *prom;          /* --metrics-prom FILE (Prometheus text) */
    double interval_s;         /* --metrics-interval SECS */
};

struct tool_metrics {
    bool on;                   /* some output is wanted */
    bool stats;
    double interval_s, next;   /* next sample, tool_now() seconds */
    FILE *jsonl;
    bool jsonl_close;
    const char *om_path, *prom_path;
    mcrx_metrics_json_opts jopts;
    mcrx_metrics_snapshot *prev, *cur;
    mcrx_metrics_interval *delta;
    char *buf;
    size_t cap;
};

/* Resolve the outputs from args and the Rust crate's environment:
 * MCRX_METRICS_SUMMARY_SECS (interval; alone it turns the [stats] line on),
 * MCRX_METRICS_SUMMARY_FILE (JSONL file, appended), MCRX_METRICS_NODE_ID,
 * MCRX_METRICS_FLAGS_JSON. The command line wins over the environment.
 * Bad values are usage errors (exit 2); an unopenable file exits 1. */
void tool_metrics_init(struct tool_metrics *m, const struct tool_metrics_args *a,
                       double now);
/* Take the first snapshot (call once the subscription is joined). */
void tool_metrics_start(struct tool_metrics *m, mcrx_ctx *ctx, double now);
/* When the next sample is due (INFINITY when off). */
double tool_metrics_due(const struct tool_metrics *m);
/* Sample and write every output if due (or if force). */
void tool_metrics_tick(struct tool_metrics *m, mcrx_ctx *ctx, double now, bool force);
void tool_metrics_free(struct tool_metrics *m);

#endif
