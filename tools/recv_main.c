/*
 * The receiver program shared by mcrx_recv and mcrx_recv_meta.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"
#include "metrics_out.h"
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char recv_usage_fmt[] =
    "Usage: %s GROUP PORT [SOURCE] [INTERFACE] [options]\n"
    "\n"
    "Joins GROUP (ASM, or SSM when SOURCE is given) on UDP port PORT and\n"
    "prints every datagram%s.\n"
    "\n"
    "  SOURCE             SSM source address (\"any\" or \"\" = ASM)\n"
    "  INTERFACE          join interface: address (192.0.2.1, ::1), address\n"
    "                     with zone (fe80::1%%7, fe80::1%%eth0), interface\n"
    "                     name (eth0) or index (7; IPv6 only)\n"
    "Options (may be mixed with the positionals):\n"
    "  --source S         same as SOURCE\n"
    "  --interface I      same as INTERFACE\n"
    "  --count N          exit 0 after N packets\n"
    "  --timeout SECONDS  total time allowed (fractional ok); with --count,\n"
    "                     exit 1 if fewer than N packets arrived by then;\n"
    "                     without it, exit 0 at the timeout\n"
    "  --quiet            no per-packet lines\n"
    "  --stats            each interval: [stats] pkts/s=.. Mbit/s=.. drops=..\n"
    "                     (drops = kernel drops + datagrams filtered out by\n"
    "                     the library, cumulative)\n"
    "  --metrics-jsonl FILE        append one JSON object per interval\n"
    "                              (\"-\": stdout; docs/metrics.md)\n"
    "  --metrics-openmetrics FILE  rewrite FILE atomically each interval\n"
    "                              (OpenMetrics text)\n"
    "  --metrics-prom FILE         same in Prometheus text format (for\n"
    "                              node_exporter's textfile collector)\n"
    "  --metrics-interval SECS     sampling interval (default 1, or\n"
    "                              MCRX_METRICS_SUMMARY_SECS)\n"
    "  --max-payload B    bytes kept per datagram (1..65535, default 9216)\n"
    "%s"
    "  -h, --help         this text\n"
    "Environment:\n"
    "  MCRX_BACKEND=recvmmsg|iouring|default   receive backend (exit 3 when\n"
    "                     it cannot run here)\n"
    "  MCRX_METRICS_SUMMARY_SECS=N  sample every N s (alone: [stats] lines)\n"
    "  MCRX_METRICS_SUMMARY_FILE=F  with it: append JSON lines to F\n"
    "  MCRX_METRICS_NODE_ID=ID, MCRX_METRICS_FLAGS_JSON='{..}'  added to\n"
    "                     each JSON line (node id also as label `node`)\n"
    "Exit status: 0 ok, 1 failure or --count not reached, 2 usage, 3 backend\n"
    "Examples:\n"
    "  %s 239.1.2.3 5000\n"
    "  %s 232.1.2.3 5000 192.0.2.2 192.0.2.1 --count 3 --timeout 10\n"
    "  %s ff3e::8000:1234 5000 --source 2001:db8::2 --interface eth0\n";

enum { OPT_SOURCE, OPT_INTERFACE, OPT_COUNT, OPT_TIMEOUT, OPT_QUIET,
       OPT_STATS, OPT_MAX_PAYLOAD, OPT_M_JSONL, OPT_M_OPENMETRICS, OPT_M_PROM,
       OPT_M_INTERVAL };

static const struct tool_opt recv_opts[] = {
    {"source", true, OPT_SOURCE},
    {"interface", true, OPT_INTERFACE},
    {"count", true, OPT_COUNT},
    {"timeout", true, OPT_TIMEOUT},
    {"quiet", false, OPT_QUIET},
    {"stats", false, OPT_STATS},
    {"max-payload", true, OPT_MAX_PAYLOAD},
    {"metrics-jsonl", true, OPT_M_JSONL},
    {"metrics-openmetrics", true, OPT_M_OPENMETRICS},
    {"metrics-prom", true, OPT_M_PROM},
    {"metrics-interval", true, OPT_M_INTERVAL},
};

#define MAX_OPTS 20

/* Parsing state: the arguments and the caller's extra options. */
struct recv_parse {
    struct tool_recv_args *a;
    const struct tool_recv_extra *extra;
};

static void recv_opt(void *ud, int id, const char *name, const char *value)
{
    struct recv_parse *rp = ud;
    struct tool_recv_args *a = rp->a;
    if (id >= TOOL_RECV_OPT_EXTRA) {
        rp->extra->fn(rp->extra->ud, id, name, value);
        return;
    }
    switch (id) {
    case OPT_SOURCE:
        tool_set_once(&a->source, name, value);
        break;
    case OPT_INTERFACE:
        tool_set_once(&a->interface, name, value);
        break;
    case OPT_COUNT:
        a->count = tool_parse_u64("--count", value, 1, UINT64_MAX);
        break;
    case OPT_TIMEOUT:
        a->timeout_s = tool_parse_positive_double("--timeout", value);
        break;
    case OPT_QUIET: a->quiet = true; break;
    case OPT_STATS: a->metrics.stats = true; break;
    case OPT_M_JSONL: tool_set_once(&a->metrics.jsonl, name, value); break;
    case OPT_M_OPENMETRICS: tool_set_once(&a->metrics.openmetrics, name, value); break;
    case OPT_M_PROM: tool_set_once(&a->metrics.prom, name, value); break;
    case OPT_M_INTERVAL:
        a->metrics.interval_s = tool_parse_positive_double("--metrics-interval", value);
        break;
    case OPT_MAX_PAYLOAD:
        a->max_payload = (uint32_t)tool_parse_u64("--max-payload", value, 1, 65535);
        break;
    }
}

bool tool_is_any(const char *s) { return !*s || strcmp(s, "any") == 0; }

void tool_recv_parse(int argc, char **argv, const char *prog, bool meta,
                     const struct tool_recv_extra *extra,
                     struct tool_recv_args *a)
{
    static const struct tool_recv_extra none = {0};
    if (!extra)
        extra = &none;
    static char usage[4096];
    snprintf(usage, sizeof usage, recv_usage_fmt, prog,
             meta ? " with its receive metadata" : "",
             extra->usage ? extra->usage : "", prog, prog, prog);
    tool_cli_init(prog, usage);

    struct tool_opt opts[MAX_OPTS];
    size_t nbase = sizeof recv_opts / sizeof recv_opts[0];
    size_t nopts = nbase + extra->nopts;
    if (nopts > MAX_OPTS)
        nopts = MAX_OPTS; /* a programming error; the extra ones are cut */
    memcpy(opts, recv_opts, nbase * sizeof opts[0]);
    if (nopts > nbase)
        memcpy(opts + nbase, extra->opts, (nopts - nbase) * sizeof opts[0]);

    memset(a, 0, sizeof *a);
    a->timeout_s = -1;
    struct recv_parse rp = {a, extra};
    const char *pos[4] = {0};
    int npos = tool_parse_cli(argc, argv, opts, nopts, recv_opt, &rp, pos, 4);
    if (npos < 2)
        tool_usage_error("missing %s", npos == 0 ? "GROUP and PORT" : "PORT");
    a->group = pos[0];
    a->port = tool_parse_port(pos[1]);
    if (npos >= 3) {
        if (a->source)
            tool_usage_error("SOURCE given both as argument and --source");
        a->source = pos[2];
    }
    if (npos >= 4) {
        if (a->interface)
            tool_usage_error("INTERFACE given both as argument and --interface");
        a->interface = pos[3];
    }
    if (a->source && tool_is_any(a->source))
        a->source = NULL;
    if (a->interface && !*a->interface)
        a->interface = NULL;

    tool_recv_config(&a->cfg, a->group, a->port, a->source, a->interface);
}

void tool_recv_config(mcrx_config *cfg, const char *group, uint16_t port,
                      const char *source, const char *interface)
{
    errno = 0;
    int st = mcrx_config_parse(cfg, group, port, source, interface);
    if (st != MCRX_OK) {
        const char *what = "group";
        mcrx_ip tmp;
        if (st == MCRX_E_BAD_ADDRESS && mcrx_ip_parse(&tmp, group) == MCRX_OK)
            what = source && mcrx_ip_parse(&tmp, source) != MCRX_OK
                       ? "source" : "interface";
        else if (st == MCRX_E_UNKNOWN_INTERFACE)
            what = "interface";
        if (st == MCRX_E_BAD_ADDRESS || st == MCRX_E_UNKNOWN_INTERFACE)
            tool_usage_error("bad %s: %s (%s)", what, mcrx_strerror(st),
                             mcrx_status_name(st));
        tool_usage_error("bad subscription: %s (%s)", mcrx_strerror(st),
                         mcrx_status_name(st));
    }
}

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    tool_on_interrupt(on_signal); /* the wait returns EINTR on POSIX */
}

uint64_t tool_recv_add_join(mcrx_ctx *ctx, const mcrx_config *cfg,
                            const char *interface)
{
    uint64_t id = 0;
    errno = 0;
    int st = mcrx_ctx_add(ctx, cfg, &id);
    if (st == MCRX_E_UNKNOWN_INTERFACE && interface) {
        /* e.g. an address that no interface has */
        mcrx_ctx_free(ctx);
        tool_usage_error("bad interface '%s': %s (%s)", interface,
                         mcrx_strerror(st), mcrx_status_name(st));
    }
    if (st != MCRX_OK) {
        tool_report_status("cannot add subscription", st);
        return 0;
    }
    errno = 0;
    st = mcrx_ctx_join(ctx, id);
    if (st != MCRX_OK) {
        tool_report_status("cannot join", st);
        return 0;
    }
    return id;
}

void tool_recv_banner(const mcrx_config *cfg, const char *source,
                      const char *interface, const mcrx_ctx *ctx)
{
    char grp[MCRX_IP_STRLEN];
    printf("[ready] group=%s dst_port=%u source=%s interface=%s backend: %s\n",
           tool_ip_str(&cfg->group, grp), (unsigned)cfg->dst_port,
           source ? source : "any", interface ? interface : "default",
           mcrx_backend_name(mcrx_ctx_backend(ctx)));
    fflush(stdout);
}

void tool_recv_packet(const struct tool_recv_args *a, const mcrx_packet *p,
                      const mcrx_metadata *m)
{
    if (a->quiet)
        return;
    tool_print_packet(stdout, p);
    tool_print_payload(stdout, p->payload, p->len);
    if (m)
        tool_print_meta(stdout, m);
    fflush(stdout);
}

int tool_recv_done(const struct tool_recv_args *a, uint64_t got, bool timed_out)
{
    printf("[done] received=%" PRIu64 "\n", got);
    fflush(stdout);
    if (a->count && got < a->count) {
        tool_err("%s: received %" PRIu64 " of %" PRIu64 " packets",
                 timed_out ? "timeout" : "interrupted", got, a->count);
        return TOOL_EXIT_FAIL;
    }
    return TOOL_EXIT_OK;
}

/* Milliseconds until t (rounded up, >= 0, capped at INT_MAX). */
static int ms_until(double t, double now)
{
    double ms = ceil((t - now) * 1000.0);
    if (ms < 0)
        return 0;
    if (ms > INT_MAX)
        return INT_MAX;
    return (int)ms;
}

/* Batches drained per wakeup before the time checks run again. */
#define DRAIN_ROUNDS 16

int tool_recv_main(int argc, char **argv, const char *prog, bool meta)
{
    struct tool_recv_args a;
    tool_recv_parse(argc, argv, prog, meta, NULL, &a);
    install_signals();

    struct tool_metrics metrics;
    tool_metrics_init(&metrics, &a.metrics, tool_now());
    mcrx_ctx *ctx = tool_ctx_create(a.max_payload, meta); /* meta shows timestamps */
    mcrx_ctx_options opts;
    mcrx_ctx_get_options(ctx, &opts);
    size_t max = opts.max_batch ? opts.max_batch : 256;

    mcrx_packet *pkts = calloc(max, sizeof *pkts);
    mcrx_metadata *metas = meta ? calloc(max, sizeof *metas) : NULL;
    if (!pkts || (meta && !metas)) {
        tool_err("out of memory");
        tool_metrics_free(&metrics);
        mcrx_ctx_free(ctx);
        return TOOL_EXIT_FAIL;
    }

    int rc = TOOL_EXIT_FAIL, st;
    uint64_t id = tool_recv_add_join(ctx, &a.cfg, a.interface);
    if (id == 0)
        goto out;

    double start = tool_now();
    double deadline = a.timeout_s >= 0 ? start + a.timeout_s : INFINITY;
    tool_metrics_start(&metrics, ctx, start);
    tool_recv_banner(&a.cfg, a.source, a.interface, ctx);

    uint64_t got = 0;
    bool timed_out = false;
    while (!g_stop && (a.count == 0 || got < a.count)) {
        double now = tool_now();
        tool_metrics_tick(&metrics, ctx, now, false);
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        double due = tool_metrics_due(&metrics);
        double wake = deadline < due ? deadline : due;
        int timeout_ms = isinf(wake) ? -1 : ms_until(wake, now);

        errno = 0;
        st = mcrx_ctx_wait(ctx, timeout_ms);
        if (st < 0) {
            if (st == MCRX_E_INTERRUPTED)
                continue;
            tool_report_status("wait failed", st);
            goto out;
        }
        if (st == 0)
            continue;

        for (int round = 0; round < DRAIN_ROUNDS; round++) {
            errno = 0;
            int n = meta ? mcrx_ctx_recv_batch_meta(ctx, pkts, metas, max)
                         : mcrx_ctx_recv_batch(ctx, pkts, max);
            if (n < 0) {
                if (n == MCRX_E_INTERRUPTED)
                    break;
                tool_report_status("receive failed", n);
                goto out;
            }
            for (int i = 0; i < n && (a.count == 0 || got < a.count); i++, got++)
                tool_recv_packet(&a, &pkts[i], meta ? &metas[i] : NULL);
            if ((size_t)n < max || (a.count && got >= a.count) || g_stop)
                break;
        }
    }

    tool_metrics_tick(&metrics, ctx, tool_now(), true); /* the last interval */
    rc = tool_recv_done(&a, got, timed_out);

out:
    tool_metrics_free(&metrics);
    free(pkts);
    free(metas);
    mcrx_ctx_free(ctx);
    return rc;
}
