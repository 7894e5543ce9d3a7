/*
 * mcrx_recv_async: mcrx_recv on a libuv loop (mcrx-uv), with several
 * subscriptions at once (--also). Same arguments, output and exit statuses
 * as mcrx_recv (tools/recv_main.c does the parsing and printing for both).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Everything happens in loop callbacks: the context's batches, a timer for
 * --timeout, a timer for the metrics sampler (--stats, --metrics-*: the
 * loop thread is the receiving thread, so it may take the snapshots), and
 * uv_signal for SIGINT/SIGTERM, which
 * closes the handles so the loop ends and mcrx_ctx_free() leaves every
 * group before the [done] line's exit.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mcrx/mcrx_uv.h"

#define MAX_ALSO 15

static const char also_usage[] =
    "  --also G[,P[,S]]   one more subscription: group G, port P (default\n"
    "                     PORT), SSM source S (default any), on INTERFACE;\n"
    "                     repeatable (up to 15)\n";

enum { OPT_ALSO = TOOL_RECV_OPT_EXTRA };
static const struct tool_opt also_opts[] = {{"also", true, OPT_ALSO}};

struct app {
    struct tool_recv_args a;
    const char *also[MAX_ALSO];
    size_t nalso;
    mcrx_ctx *ctx;
    mcrx_uv_ctx *rx;
    mcrx_sub *subs[1 + MAX_ALSO]; /* borrowed, for the banners */
    size_t nsubs;
    uv_timer_t deadline, stats;
    uv_signal_t sigint, sigterm;
    struct tool_metrics metrics;
    uint64_t got;
    bool timed_out, stopping;
    int rc;
};

static void on_also(void *ud, int id, const char *name, const char *value)
{
    struct app *app = ud;
    (void)id;
    if (app->nalso == MAX_ALSO)
        tool_usage_error("--%s: at most %d", name, MAX_ALSO);
    app->also[app->nalso++] = value;
}

/* "G[,P[,S]]" into a config on the main INTERFACE. The text is copied:
 * argv stays as it was. */
static void parse_also(const struct app *app, const char *spec, mcrx_config *cfg)
{
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        tool_usage_error("--also %s: too long", spec);
    strcpy(buf, spec);
    char *port = strchr(buf, ',');
    char *source = NULL;
    if (port) {
        *port++ = '\0';
        source = strchr(port, ',');
        if (source)
            *source++ = '\0';
    }
    uint16_t p = port && *port ? tool_parse_port(port) : app->a.port;
    if (source && tool_is_any(source))
        source = NULL;
    tool_recv_config(cfg, buf, p, source, app->a.interface);
}

static void shutdown_all(struct app *app)
{
    if (app->stopping)
        return;
    app->stopping = true;
    mcrx_uv_ctx_close(app->rx, NULL);
    uv_close((uv_handle_t *)&app->deadline, NULL);
    uv_close((uv_handle_t *)&app->stats, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
}

static void on_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                     const mcrx_metadata *meta, size_t n)
{
    struct app *app = mcrx_uv_ctx_get_data(h);
    if (status < 0) {
        tool_report_status("receive failed", status);
        app->rc = TOOL_EXIT_FAIL;
        shutdown_all(app);
        return;
    }
    for (size_t i = 0; i < n && (app->a.count == 0 || app->got < app->a.count); i++) {
        tool_recv_packet(&app->a, &p[i], meta ? &meta[i] : NULL);
        app->got++;
    }
    if (app->a.count && app->got >= app->a.count)
        shutdown_all(app);
}

static void on_deadline(uv_timer_t *t)
{
    struct app *app = t->data;
    app->timed_out = true;
    shutdown_all(app);
}

static void on_stats(uv_timer_t *t)
{
    struct app *app = t->data;
    tool_metrics_tick(&app->metrics, app->ctx, tool_now(), true);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    shutdown_all(s->data);
}

/* Add and join the main subscription and every --also one. */
static bool join_all(struct app *app)
{
    for (size_t i = 0; i <= app->nalso; i++) {
        mcrx_config cfg = app->a.cfg;
        if (i > 0)
            parse_also(app, app->also[i - 1], &cfg);
        uint64_t id = tool_recv_add_join(app->ctx, &cfg, app->a.interface);
        if (id == 0)
            return false;
        app->subs[app->nsubs++] = mcrx_ctx_get(app->ctx, id);
    }
    return true;
}

static void print_banners(const struct app *app)
{
    for (size_t i = 0; i < app->nsubs; i++) {
        const mcrx_config *c = mcrx_sub_config(app->subs[i]);
        char src[MCRX_IP_STRLEN];
        const char *source = c->source.family ? tool_ip_str(&c->source, src) : NULL;
        if (i == 0)
            source = app->a.source; /* as typed, like mcrx_recv */
        tool_recv_banner(c, source, app->a.interface, app->ctx);
    }
}

static void start_handles(struct app *app, uv_loop_t *loop)
{
    uv_timer_init(loop, &app->deadline);
    uv_timer_init(loop, &app->stats);
    uv_signal_init(loop, &app->sigint);
    uv_signal_init(loop, &app->sigterm);
    app->deadline.data = app->stats.data = app;
    app->sigint.data = app->sigterm.data = app;
    if (app->a.timeout_s >= 0)
        uv_timer_start(&app->deadline, on_deadline,
                       (uint64_t)(app->a.timeout_s * 1000.0 + 0.5), 0);
    if (app->metrics.on) {
        uint64_t ms = (uint64_t)(app->metrics.interval_s * 1000.0 + 0.5);
        uv_timer_start(&app->stats, on_stats, ms ? ms : 1, ms ? ms : 1);
    }
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    mcrx_uv_ctx_set_data(app->rx, app);
    mcrx_uv_ctx_start(app->rx, on_batch);
}

int main(int argc, char **argv)
{
    static struct app app;
    struct tool_recv_extra extra = {also_opts, 1, on_also, &app, also_usage};
    tool_recv_parse(argc, argv, "mcrx_recv_async", false, &extra, &app.a);
    for (size_t i = 0; i < app.nalso; i++) { /* usage errors before joining */
        mcrx_config c;
        parse_also(&app, app.also[i], &c);
    }

    uv_loop_t *loop = uv_default_loop();
    tool_metrics_init(&app.metrics, &app.a.metrics, tool_now());
    app.ctx = tool_ctx_create(app.a.max_payload, false);
    app.rc = TOOL_EXIT_FAIL;
    if (!join_all(&app))
        goto out;
    errno = 0;
    int st = mcrx_uv_ctx_init(loop, app.ctx, NULL, &app.rx);
    if (st != MCRX_OK) {
        tool_report_status("cannot watch the context", st);
        goto out;
    }
    app.rc = TOOL_EXIT_OK;
    tool_metrics_start(&app.metrics, app.ctx, tool_now());
    start_handles(&app, loop);
    print_banners(&app);
    uv_run(loop, UV_RUN_DEFAULT); /* until shutdown_all closed everything */
    uv_loop_close(loop);
    tool_metrics_tick(&app.metrics, app.ctx, tool_now(), true); /* last interval */
    if (app.rc == TOOL_EXIT_OK)
        app.rc = tool_recv_done(&app.a, app.got, app.timed_out);
out:
    tool_metrics_free(&app.metrics);
    mcrx_ctx_free(app.ctx); /* leaves every group */
    return app.rc;
}
