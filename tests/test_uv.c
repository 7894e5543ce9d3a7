/*
 * mcrx-uv: a context and an owned subscription on a real libuv loop.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Datagrams go over lo (127.0.0.1 sender) to ASM groups; bursts are sent
 * from a timer callback while the loop runs, so they arrive while the
 * loop sleeps on the descriptor (the case where a missed wake-up stalls).
 * Every run has a guard timer: a stall ends the run and the counts fail.
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mcrx/mcrx_uv.h"

#define FILE_NO 20
#define PORT(t) ((uint16_t)(MT_PORT_BASE_UV + 10 * (t)))
#define GUARD_MS 10000

TestSuite(uv, .timeout = 60);

/* ------------------------------------------------------------------ */
/* What one receiver saw                                               */
/* ------------------------------------------------------------------ */

struct rx {
    const char *tag;
    unsigned want;          /* datagrams "<tag>-0" .. "<tag>-(want-1)" */
    unsigned got, dup, foreign, batches, max_batch;
    uint8_t *seen;
    int last_error;
    unsigned errors;
    mcrx_ip group;          /* metadata check: destination == group */
    unsigned meta_checked, meta_bad;
    unsigned after_close;   /* callbacks after we closed the handle */
    bool closed;            /* we asked for close */
    unsigned close_calls;   /* close callbacks run */
    bool close_when_done;   /* close the handle once all arrived */
    uv_loop_t *loop;
};

static void rx_init(struct rx *r, const char *tag, unsigned want)
{
    memset(r, 0, sizeof *r);
    r->tag = tag;
    r->want = want;
    r->seen = calloc(want ? want : 1, 1);
    cr_assert_not_null(r->seen);
}

static bool rx_done(const struct rx *r) { return r->got >= r->want; }

/* Count one packet; returns its sequence number or -1 (foreign). */
static long rx_count(struct rx *r, const mcrx_packet *p, const mcrx_metadata *m)
{
    mt_pkt k;
    mt_pkt_copy(&k, p, NULL);
    long i = mt_seq_of(&k, r->tag);
    mt_pkt_free(&k);
    if (i < 0 || (unsigned long)i >= r->want) {
        r->foreign++;
        return -1;
    }
    if (r->seen[i]++)
        r->dup++;
    else
        r->got++;
    if (m) {
        r->meta_checked++;
        if (!(m->flags & MCRX_META_DESTINATION) ||
            !mcrx_ip_equal(&m->destination, &r->group))
            r->meta_bad++;
    }
    return i;
}

static void rx_batch(struct rx *r, int status, size_t count)
{
    if (r->closed)
        r->after_close++;
    if (status < 0) {
        r->errors++;
        r->last_error = status;
        return;
    }
    cr_expect_gt(count, 0u, "MCRX_OK batch with no packet");
    r->batches++;
    if (count > r->max_batch)
        r->max_batch = (unsigned)count;
}

static void rx_expect_all(const struct rx *r)
{
    cr_expect_eq(r->got, r->want, "%s: %u of %u datagrams arrived", r->tag,
                 r->got, r->want);
    cr_expect_eq(r->dup, 0u, "%s: %u duplicates", r->tag, r->dup);
    cr_expect_eq(r->foreign, 0u, "%s: %u foreign datagrams", r->tag, r->foreign);
    cr_expect_eq(r->errors, 0u, "%s: %u error callbacks (last %s)", r->tag,
                 r->errors, mcrx_status_name(r->last_error));
}

static void rx_free(struct rx *r) { free(r->seen); }

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */
/* ------------------------------------------------------------------ */

static void on_ctx_closed(mcrx_uv_ctx *h)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    r->close_calls++;
}

static void on_ctx_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                         const mcrx_metadata *m, size_t n)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    rx_batch(r, status, n);
    for (size_t i = 0; i < n; i++)
        rx_count(r, &p[i], m ? &m[i] : NULL);
    if (r->close_when_done && rx_done(r) && !r->closed) {
        r->closed = true;
        mcrx_uv_ctx_close(h, on_ctx_closed);
    }
}

/* ------------------------------------------------------------------ */
/* The test bed: a loop, a guard timer, a sender                       */
/* ------------------------------------------------------------------ */

struct bed {
    uv_loop_t loop;
    uv_timer_t guard;   /* stops a stalled run */
    uv_timer_t kick;    /* sends the bursts once the loop sleeps */
    uv_prepare_t iter;  /* counts loop iterations */
    uint64_t iterations;
    bool guard_fired;
    mt_sender s;
    /* what kick sends: up to 3 (group, port, tag, count) */
    struct { const char *group; uint16_t port; const char *tag; unsigned n; } send[3];
    unsigned nsend;
};

static void on_guard(uv_timer_t *t)
{
    struct bed *b = t->data;
    b->guard_fired = true;
    uv_stop(&b->loop);
}

static void on_kick(uv_timer_t *t)
{
    struct bed *b = t->data;
    for (unsigned i = 0; i < b->nsend; i++)
        mt_send_seq(&b->s, b->send[i].group, b->send[i].port, b->send[i].tag, 0,
                    b->send[i].n);
}

static void on_iter(uv_prepare_t *p)
{
    struct bed *b = p->data;
    b->iterations++;
}

static void bed_init(struct bed *b)
{
    memset(b, 0, sizeof *b);
    cr_assert_eq(uv_loop_init(&b->loop), 0);
    uv_timer_init(&b->loop, &b->guard);
    uv_timer_init(&b->loop, &b->kick);
    uv_prepare_init(&b->loop, &b->iter);
    b->guard.data = b->kick.data = b->iter.data = b;
    uv_unref((uv_handle_t *)&b->guard); /* a pending guard keeps no run alive */
    uv_timer_start(&b->guard, on_guard, GUARD_MS, 0);
    uv_prepare_start(&b->iter, on_iter);
    uv_unref((uv_handle_t *)&b->iter);
    b->s = mt_sender_v4("127.0.0.1", "lo");
}

static void bed_send_later(struct bed *b, const char *group, uint16_t port,
                           const char *tag, unsigned n)
{
    cr_assert_lt(b->nsend, 3u);
    b->send[b->nsend].group = group;
    b->send[b->nsend].port = port;
    b->send[b->nsend].tag = tag;
    b->send[b->nsend].n = n;
    b->nsend++;
    uv_timer_start(&b->kick, on_kick, 20, 0);
}

/* A test's own timer: data for its callback, first after ms, then every
 * repeat ms (0: once). */
static void start_timer(uv_loop_t *loop, uv_timer_t *t, void *data,
                        uv_timer_cb cb, uint64_t ms, uint64_t repeat)
{
    uv_timer_init(loop, t);
    t->data = data;
    uv_timer_start(t, cb, ms, repeat);
}

static void close_if_open(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Close the bed's own handles, run the loop until every close callback
 * ran, and check libuv has nothing left (no handle leaked by mcrx-uv). */
static void bed_finish(struct bed *b)
{
    uv_close((uv_handle_t *)&b->guard, NULL);
    uv_close((uv_handle_t *)&b->kick, NULL);
    uv_close((uv_handle_t *)&b->iter, NULL);
    cr_expect_eq(uv_run(&b->loop, UV_RUN_DEFAULT), 0);
    int rc = uv_loop_close(&b->loop);
    if (rc != 0) { /* report, then clean up so the next test is not hit */
        cr_expect_eq(rc, 0, "uv_loop_close: %s (a handle was left open)",
                     uv_strerror(rc));
        uv_walk(&b->loop, close_if_open, NULL);
        uv_run(&b->loop, UV_RUN_DEFAULT);
        uv_loop_close(&b->loop);
    }
    mt_sender_close(&b->s);
}

static mcrx_uv_ctx *uv_ctx_on(struct bed *b, mcrx_ctx *ctx,
                              const mcrx_uv_options *o, struct rx *r)
{
    mcrx_uv_ctx *h = NULL;
    int rc = mcrx_uv_ctx_init(&b->loop, ctx, o, &h);
    cr_assert_eq(rc, MCRX_OK, "mcrx_uv_ctx_init: %s", mcrx_status_name(rc));
    mcrx_uv_ctx_set_data(h, r);
    r->loop = &b->loop;
    cr_assert_eq(mcrx_uv_ctx_context(h), ctx);
    cr_assert_eq(mcrx_uv_ctx_loop(h), &b->loop);
    return h;
}

/* Test t's k-th group and port (k = 0, 1, 2: one per subscription). */
static const char *group_of(unsigned t, unsigned k)
{
    return mt_group_asm4(FILE_NO, t + 100 * k);
}

static uint16_t port_of(unsigned t, unsigned k) { return (uint16_t)(PORT(t) + k); }

/* Add and join test t's k-th subscription (ASM on lo); returns its id. */
static uint64_t join_sub(mcrx_ctx *ctx, unsigned t, unsigned k)
{
    mcrx_config c = mt_cfg_asm4(group_of(t, k), port_of(t, k), NULL);
    return mt_add_join(ctx, &c);
}

/* A context (backend under test) with test t's subscription k joined. */
static mcrx_ctx *ctx_joined(unsigned t, unsigned k)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    (void)join_sub(ctx, t, k);
    return ctx;
}

/* Close h unless the test's callbacks did already. */
static void close_unless_closed(mcrx_uv_ctx *h, struct rx *r)
{
    if (!r->closed) {
        r->closed = true;
        mcrx_uv_ctx_close(h, on_ctx_closed);
    }
}

/* The usual test: a bed, a context with test t's subscription 0, a
 * receiver for n datagrams "<tag>-i" and a handle (not started) on the
 * bed's loop. one_end() closes what is left and checks the loop is clean. */
struct one {
    struct bed b;
    mcrx_ctx *ctx;
    const char *g;
    uint16_t port;
    struct rx r;
    mcrx_uv_ctx *h;
    mcrx_uv_options opt;
};

/* batch: options.batch (0: default); metadata: options.metadata. */
static void one_init(struct one *o, unsigned t, const char *tag, unsigned n,
                     uint32_t batch, bool metadata)
{
    mcrx_uv_options_init(&o->opt);
    if (batch)
        o->opt.batch = batch;
    o->opt.metadata = metadata;
    bed_init(&o->b);
    o->ctx = ctx_joined(t, 0);
    o->g = group_of(t, 0);
    o->port = port_of(t, 0);
    rx_init(&o->r, tag, n);
    o->r.group = mt_ip(o->g);
    o->h = uv_ctx_on(&o->b, o->ctx, &o->opt, &o->r);
}

/* free_ctx: false when a close callback freed the context already. */
static void one_end(struct one *o, bool free_ctx)
{
    close_unless_closed(o->h, &o->r);
    bed_finish(&o->b);
    cr_expect_eq(o->r.after_close, 0u, "%u callbacks after close", o->r.after_close);
    rx_free(&o->r);
    if (free_ctx)
        mcrx_ctx_free(o->ctx);
}

/* ------------------------------------------------------------------ */
/* Bursts through the adapter                                          */
/* ------------------------------------------------------------------ */

static void run_burst(unsigned t, unsigned n, bool metadata)
{
    struct one o;
    one_init(&o, t, "burst", n, 0, metadata);
    o.r.close_when_done = true;
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_ctx_batch), MCRX_OK);
    bed_send_later(&o.b, o.g, o.port, "burst", n);
    uv_run(&o.b.loop, UV_RUN_DEFAULT);

    cr_expect_not(o.b.guard_fired, "stalled: %u of %u after %d ms", o.r.got, n, GUARD_MS);
    rx_expect_all(&o.r);
    cr_expect_leq(o.r.max_batch, o.opt.batch, "a batch of %u > options.batch %u",
                  o.r.max_batch, o.opt.batch);
    if (metadata) {
        cr_expect_eq(o.r.meta_checked, o.r.got, "metadata missing");
        cr_expect_eq(o.r.meta_bad, 0u, "%u packets with a wrong destination",
                     o.r.meta_bad);
    }
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(o.ctx, 1), &st), MCRX_OK);
    cr_expect_eq(st.kernel_drops, 0u, "kernel dropped %llu",
                 (unsigned long long)st.kernel_drops);
    one_end(&o, true);
    cr_expect_eq(o.r.close_calls, 1u, "close callback ran %u times", o.r.close_calls);
}

Test(uv, burst_of_1) { run_burst(1, 1, false); }
Test(uv, burst_of_20) { run_burst(2, 20, false); }
Test(uv, burst_of_100) { run_burst(3, 100, false); }
Test(uv, burst_of_300) { run_burst(4, 300, false); }
Test(uv, burst_of_1000) { run_burst(5, 1000, false); }
Test(uv, burst_of_300_with_metadata) { run_burst(6, 300, true); }

/* Datagrams queued (and partly read ahead by the library) before start. */
Test(uv, datagrams_queued_before_start_arrive)
{
    struct one o;
    one_init(&o, 7, "early", 300, 0, false);
    o.r.close_when_done = true;
    mt_send_seq(&o.b.s, o.g, o.port, "early", 0, 300);
    /* let the library read a turn ahead: one packet out, the rest carried */
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_wait(o.ctx, 2000), 1);
    cr_assert_eq(mcrx_ctx_try_recv_any(o.ctx, &p), 1);
    cr_assert_eq(rx_count(&o.r, &p, NULL), 0);
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_ctx_batch), MCRX_OK);
    uv_run(&o.b.loop, UV_RUN_DEFAULT);
    cr_expect_not(o.b.guard_fired, "stalled at %u of 300", o.r.got);
    rx_expect_all(&o.r);
    one_end(&o, true);
}

/* ------------------------------------------------------------------ */
/* An idle loop sleeps                                                 */
/* ------------------------------------------------------------------ */

struct idle_probe {
    struct bed *b;
    struct rx *r;
    uint64_t iter_at_start;
    unsigned batches_at_start;
    uv_timer_t t;
    mcrx_uv_ctx *h;
    int phase; /* 0: waiting for the datagram, 1: measuring, 2: done */
};

static void on_idle_probe(uv_timer_t *t)
{
    struct idle_probe *ip = t->data;
    if (ip->phase == 0) {
        /* the datagram was taken; now count one idle second */
        cr_assert(rx_done(ip->r), "the one datagram did not arrive");
        ip->phase = 1;
        ip->iter_at_start = ip->b->iterations;
        ip->batches_at_start = ip->r->batches;
        uv_timer_start(t, on_idle_probe, 1000, 0);
        return;
    }
    ip->phase = 2;
    ip->iter_at_start = ip->b->iterations - ip->iter_at_start;
    close_unless_closed(ip->h, ip->r);
    uv_close((uv_handle_t *)t, NULL);
}

Test(uv, idle_loop_does_not_spin)
{
    struct one o;
    one_init(&o, 8, "one", 1, 0, false);
    struct idle_probe ip = {.b = &o.b, .r = &o.r, .h = o.h};
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_ctx_batch), MCRX_OK);
    bed_send_later(&o.b, o.g, o.port, "one", 1);
    start_timer(&o.b.loop, &ip.t, &ip, on_idle_probe, 300, 0);
    uv_run(&o.b.loop, UV_RUN_DEFAULT);
    cr_assert_eq(ip.phase, 2, "the idle second did not end (guard fired: %d)",
                 o.b.guard_fired);
    /* A sleeping loop wakes for the timer only; a spinning one (a
     * descriptor that stays readable, an idle handle left on) runs
     * thousands of iterations per second. */
    cr_expect_leq(ip.iter_at_start, 10, "%llu loop iterations in an idle second",
                  (unsigned long long)ip.iter_at_start);
    cr_expect_eq(o.r.batches, ip.batches_at_start, "callbacks while idle");
    rx_expect_all(&o.r);
    one_end(&o, true);
}

/* ------------------------------------------------------------------ */
/* Sharing a loop                                                      */
/* ------------------------------------------------------------------ */

struct ticker {
    uv_timer_t t;
    unsigned ticks;
    struct rx *a, *b;
};

static void on_tick(uv_timer_t *t)
{
    struct ticker *k = t->data;
    k->ticks++;
    if (rx_done(k->a) && rx_done(k->b))
        uv_close((uv_handle_t *)t, NULL);
}

Test(uv, two_contexts_and_a_timer_on_one_loop)
{
    struct bed b;
    bed_init(&b);
    mcrx_ctx *ca = ctx_joined(9, 0), *cb = ctx_joined(9, 1);
    struct rx ra, rb;
    rx_init(&ra, "a", 500);
    rx_init(&rb, "b", 500);
    ra.close_when_done = rb.close_when_done = true;
    mcrx_uv_ctx *ha = uv_ctx_on(&b, ca, NULL, &ra);
    mcrx_uv_ctx *hb = uv_ctx_on(&b, cb, NULL, &rb);
    cr_assert_eq(mcrx_uv_ctx_start(ha, on_ctx_batch), MCRX_OK);
    cr_assert_eq(mcrx_uv_ctx_start(hb, on_ctx_batch), MCRX_OK);
    struct ticker k = {.a = &ra, .b = &rb};
    start_timer(&b.loop, &k.t, &k, on_tick, 1, 1);
    bed_send_later(&b, group_of(9, 0), port_of(9, 0), "a", 500);
    bed_send_later(&b, group_of(9, 1), port_of(9, 1), "b", 500);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    cr_expect_not(b.guard_fired, "stalled: a %u, b %u", ra.got, rb.got);
    rx_expect_all(&ra);
    rx_expect_all(&rb);
    cr_expect_gt(k.ticks, 0u, "the unrelated timer never fired");
    close_unless_closed(ha, &ra);
    close_unless_closed(hb, &rb);
    if (!uv_is_closing((uv_handle_t *)&k.t))
        uv_close((uv_handle_t *)&k.t, NULL);
    bed_finish(&b);
    cr_expect_eq(ra.close_calls + rb.close_calls, 2u);
    rx_free(&ra);
    rx_free(&rb);
    mcrx_ctx_free(ca);
    mcrx_ctx_free(cb);
}

/* A flooded context spends its budget and yields: a context that turned
 * ready at the same time is served before the flood is through. */
struct order {
    struct rx *flood;
    unsigned flood_when_quiet_done;
    uint64_t *iterations;
    uint64_t flood_first_iter, flood_last_iter;
};

static void on_flood_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                           const mcrx_metadata *m, size_t n)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    struct order *o = (struct order *)r->loop->data;
    if (r->got == 0)
        o->flood_first_iter = *o->iterations;
    on_ctx_batch(h, status, p, m, n);
    o->flood_last_iter = *o->iterations;
}

static void on_quiet_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                           const mcrx_metadata *m, size_t n)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    struct order *o = (struct order *)r->loop->data;
    on_ctx_batch(h, status, p, m, n);
    if (rx_done(r) && o->flood_when_quiet_done == 0)
        o->flood_when_quiet_done = o->flood->got + 1; /* +1: 0 means unset */
}

Test(uv, budget_lets_another_context_in)
{
    struct bed b;
    bed_init(&b);
    mcrx_ctx *cf = ctx_joined(10, 0), *cq = ctx_joined(10, 1);
    /* both queued before the loop runs: both descriptors are ready at the
     * first iteration */
    mt_send_seq(&b.s, group_of(10, 0), port_of(10, 0), "f", 0, 1000);
    mt_send_seq(&b.s, group_of(10, 1), port_of(10, 1), "q", 0, 10);
    struct rx rf, rq;
    rx_init(&rf, "f", 1000);
    rx_init(&rq, "q", 10);
    rf.close_when_done = rq.close_when_done = true;
    struct order o = {.flood = &rf, .iterations = &b.iterations};
    b.loop.data = &o;
    mcrx_uv_options opt;
    mcrx_uv_options_init(&opt);
    opt.batch = 32;
    opt.budget = 64;
    mcrx_uv_ctx *hf = uv_ctx_on(&b, cf, &opt, &rf);
    mcrx_uv_ctx *hq = uv_ctx_on(&b, cq, &opt, &rq);
    cr_assert_eq(mcrx_uv_ctx_start(hf, on_flood_batch), MCRX_OK);
    cr_assert_eq(mcrx_uv_ctx_start(hq, on_quiet_batch), MCRX_OK);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    cr_expect_not(b.guard_fired, "stalled: flood %u, quiet %u", rf.got, rq.got);
    rx_expect_all(&rf);
    rx_expect_all(&rq);
    cr_expect_gt(rq.got ? rf.got : 0, 0u);
    cr_expect_leq(o.flood_when_quiet_done, 2u * opt.budget + 1,
                  "quiet context done only after %u flood datagrams",
                  o.flood_when_quiet_done - 1);
    /* 1000 datagrams at 64 per iteration cannot be read in fewer than 16 */
    cr_expect_geq(o.flood_last_iter - o.flood_first_iter + 1, 1000 / opt.budget,
                  "flood read in %llu iterations with a budget of %u",
                  (unsigned long long)(o.flood_last_iter - o.flood_first_iter + 1),
                  opt.budget);
    close_unless_closed(hf, &rf);
    close_unless_closed(hq, &rq);
    bed_finish(&b);
    rx_free(&rf);
    rx_free(&rq);
    mcrx_ctx_free(cf);
    mcrx_ctx_free(cq);
}

/* ------------------------------------------------------------------ */
/* Close, stop, leave and remove while datagrams are in flight         */
/* ------------------------------------------------------------------ */

/* The close callback frees the context: the documented way. */
static void on_ctx_closed_free(mcrx_uv_ctx *h)
{
    on_ctx_closed(h);
    mcrx_ctx_free(mcrx_uv_ctx_context(h));
}

static void on_batch_close_at_first(mcrx_uv_ctx *h, int status,
                                    const mcrx_packet *p,
                                    const mcrx_metadata *m, size_t n)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    on_ctx_batch(h, status, p, m, n);
    if (!r->closed) {
        r->closed = true;
        mcrx_uv_ctx_close(h, on_ctx_closed_free);
        mcrx_uv_ctx_close(h, on_ctx_closed_free); /* twice: a no-op */
    }
}

Test(uv, close_inside_callback_with_datagrams_in_flight)
{
    struct one o;
    one_init(&o, 11, "fly", 1000, 16, false);
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_batch_close_at_first), MCRX_OK);
    bed_send_later(&o.b, o.g, o.port, "fly", 1000);
    uv_run(&o.b.loop, UV_RUN_DEFAULT); /* ends once the handle is closed */
    cr_expect_not(o.b.guard_fired, "the first batch never came");
    cr_expect_eq(o.r.batches, 1u, "%u batches (close inside the first)", o.r.batches);
    cr_expect_leq(o.r.got, 16u);
    one_end(&o, false); /* the close callback freed the context (ASan checks) */
    cr_expect_eq(o.r.close_calls, 1u, "close callback ran %u times", o.r.close_calls);
}

/* Close from outside (a timer) while the sender is still sending. */
struct closer {
    uv_timer_t t;
    mcrx_uv_ctx *h;
    struct rx *r;
    mt_sender *s;
    const char *g;
    uint16_t port;
};

static void on_close_timer(uv_timer_t *t)
{
    struct closer *k = t->data;
    mt_send_seq(k->s, k->g, k->port, "mid", 0, 500);
    k->r->closed = true;
    mcrx_uv_ctx_close(k->h, on_ctx_closed_free);
    mt_send_seq(k->s, k->g, k->port, "mid", 500, 500);
    uv_close((uv_handle_t *)t, NULL);
}

Test(uv, close_from_a_timer_while_datagrams_arrive)
{
    struct one o;
    one_init(&o, 12, "mid", 1000, 0, false);
    struct closer k = {.r = &o.r, .s = &o.b.s, .g = o.g, .port = o.port, .h = o.h};
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_ctx_batch), MCRX_OK);
    start_timer(&o.b.loop, &k.t, &k, on_close_timer, 20, 0);
    uv_run(&o.b.loop, UV_RUN_DEFAULT);
    cr_expect_not(o.b.guard_fired);
    cr_expect_eq(o.r.got, 0u, "the datagrams came after close was asked");
    one_end(&o, false);
    cr_expect_eq(o.r.close_calls, 1u);
}

/* Stop inside a callback: nothing more until start; then the rest. */
struct stopper {
    uv_timer_t t;
    mcrx_uv_ctx *h;
    struct rx *r;
    unsigned got_at_stop, batches_at_stop;
    bool stopped, restarted;
};

static void on_batch_stop_at_first(mcrx_uv_ctx *h, int status,
                                   const mcrx_packet *p,
                                   const mcrx_metadata *m, size_t n)
{
    struct rx *r = mcrx_uv_ctx_get_data(h);
    struct stopper *k = r->loop->data;
    on_ctx_batch(h, status, p, m, n);
    if (!k->stopped) {
        k->stopped = true;
        cr_assert_eq(mcrx_uv_ctx_stop(h), MCRX_OK);
        k->got_at_stop = r->got;
        k->batches_at_stop = r->batches;
    }
}

static void on_restart(uv_timer_t *t)
{
    struct stopper *k = t->data;
    if (!k->stopped) /* the first batch has not come yet */
        return;
    uv_timer_stop(t);
    cr_expect_eq(k->r->batches, k->batches_at_stop, "callbacks while stopped");
    k->restarted = true;
    cr_assert_eq(mcrx_uv_ctx_start(k->h, on_ctx_batch), MCRX_OK);
    uv_close((uv_handle_t *)t, NULL);
}

Test(uv, stop_inside_callback_then_start_again)
{
    struct one o;
    one_init(&o, 13, "ss", 400, 8, false);
    o.r.close_when_done = true;
    struct stopper k = {.r = &o.r, .h = o.h};
    o.b.loop.data = &k;
    cr_assert_eq(mcrx_uv_ctx_start(o.h, on_batch_stop_at_first), MCRX_OK);
    bed_send_later(&o.b, o.g, o.port, "ss", 400);
    start_timer(&o.b.loop, &k.t, &k, on_restart, 200, 50);
    uv_run(&o.b.loop, UV_RUN_DEFAULT);
    cr_expect_not(o.b.guard_fired, "stalled at %u of 400", o.r.got);
    cr_expect(k.restarted);
    cr_expect_leq(k.got_at_stop, 8u);
    rx_expect_all(&o.r);
    if (!uv_is_closing((uv_handle_t *)&k.t))
        uv_close((uv_handle_t *)&k.t, NULL);
    one_end(&o, true);
}

/* Remove one subscription and leave another from inside the callback;
 * a third keeps receiving everything. */
struct lr {
    uint64_t id_rm, id_leave, id_keep;
    unsigned rm_after, leave_after;    /* packets of them after the act */
    bool removed, left;
    struct rx keep;
    unsigned rm_seen, leave_seen;
};

static void on_batch_leave_remove(mcrx_uv_ctx *h, int status,
                                  const mcrx_packet *p,
                                  const mcrx_metadata *m, size_t n)
{
    struct lr *l = mcrx_uv_ctx_get_data(h);
    (void)m;
    cr_expect_geq(status, 0, "status %s", mcrx_status_name(status));
    bool rm_now = false, leave_now = false; /* acted in this batch */
    for (size_t i = 0; i < n; i++) {
        if (p[i].sub_id == l->id_keep) {
            rx_count(&l->keep, &p[i], NULL);
        } else if (p[i].sub_id == l->id_rm) {
            if (rm_now) /* views of a removed sub are gone: skip them */
                continue;
            if (l->removed) { /* a packet of it in a later batch */
                l->rm_after++;
                continue;
            }
            l->rm_seen++;
            cr_assert_eq(mcrx_ctx_remove(mcrx_uv_ctx_context(h), l->id_rm), MCRX_OK);
            l->removed = rm_now = true;
        } else if (p[i].sub_id == l->id_leave) {
            if (leave_now)
                continue;
            if (l->left) {
                l->leave_after++;
                continue;
            }
            l->leave_seen++;
            cr_assert_eq(mcrx_ctx_leave(mcrx_uv_ctx_context(h), l->id_leave), MCRX_OK);
            l->left = leave_now = true;
        } else {
            cr_expect_fail("packet of unknown sub %llu", (unsigned long long)p[i].sub_id);
        }
    }
    if (rx_done(&l->keep) && !l->keep.closed) {
        l->keep.closed = true;
        mcrx_uv_ctx_close(h, NULL);
    }
}

Test(uv, leave_and_remove_inside_callback)
{
    struct bed b;
    bed_init(&b);
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    struct lr l;
    memset(&l, 0, sizeof l);
    l.id_rm = join_sub(ctx, 14, 0);
    l.id_leave = join_sub(ctx, 14, 1);
    l.id_keep = join_sub(ctx, 14, 2);
    rx_init(&l.keep, "keep", 300);
    mcrx_uv_options o;
    mcrx_uv_options_init(&o);
    o.batch = 32;
    mcrx_uv_ctx *h = NULL;
    cr_assert_eq(mcrx_uv_ctx_init(&b.loop, ctx, &o, &h), MCRX_OK);
    mcrx_uv_ctx_set_data(h, &l);
    cr_assert_eq(mcrx_uv_ctx_start(h, on_batch_leave_remove), MCRX_OK);
    bed_send_later(&b, group_of(14, 0), port_of(14, 0), "rm", 300);
    bed_send_later(&b, group_of(14, 1), port_of(14, 1), "lv", 300);
    bed_send_later(&b, group_of(14, 2), port_of(14, 2), "keep", 300);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    cr_expect_not(b.guard_fired, "stalled: keep %u of 300", l.keep.got);
    rx_expect_all(&l.keep);
    cr_expect(l.removed && l.left, "removed %d, left %d", l.removed, l.left);
    cr_expect_eq(l.rm_after, 0u, "%u packets of the removed sub later", l.rm_after);
    cr_expect_eq(l.leave_after, 0u, "%u packets of the left sub later", l.leave_after);
    cr_expect_not(mcrx_ctx_contains(ctx, l.id_rm));
    cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, l.id_leave)), MCRX_SUB_BOUND);
    if (!l.keep.closed)
        mcrx_uv_ctx_close(h, NULL);
    bed_finish(&b);
    rx_free(&l.keep);
    mcrx_ctx_free(ctx);
}

/* ------------------------------------------------------------------ */
/* Owned async subscription                                            */
/* ------------------------------------------------------------------ */

struct asub {
    struct bed b;
    mcrx_sub *sub;           /* extracted from a context already freed */
    const char *g;
    uint16_t port;
    struct rx r;
    mcrx_sub *back;          /* handed back by the close callback */
    unsigned close_calls;
    bool leave_at_first;
    unsigned not_joined;     /* MCRX_E_NOT_JOINED callbacks */
    uv_timer_t t;
    mcrx_uv_sub *h;
};

static void on_sub_closed(mcrx_uv_sub *h, mcrx_sub *sub)
{
    struct asub *a = mcrx_uv_sub_get_data(h);
    a->close_calls++;
    a->back = sub;
}

static void on_sub_batch(mcrx_uv_sub *h, int status, const mcrx_packet *p,
                         const mcrx_metadata *m, size_t n)
{
    struct asub *a = mcrx_uv_sub_get_data(h);
    if (status == MCRX_E_NOT_JOINED) {
        a->not_joined++;
        return;
    }
    rx_batch(&a->r, status, n);
    for (size_t i = 0; i < n; i++)
        rx_count(&a->r, &p[i], m ? &m[i] : NULL);
    if (a->leave_at_first && a->r.batches == 1)
        cr_assert_eq(mcrx_sub_leave(mcrx_uv_sub_subscription(h)), MCRX_OK);
    if (a->r.close_when_done && rx_done(&a->r) && !a->r.closed) {
        a->r.closed = true;
        mcrx_uv_sub_close(h, on_sub_closed);
    }
}

/* A bed and an owned async subscription (not started) over test t's
 * subscription, taken out of a context that is freed at once (an
 * extracted subscription does not need it). */
static void asub_init(struct asub *a, unsigned t, const char *tag, unsigned n,
                      const mcrx_uv_options *opts)
{
    memset(a, 0, sizeof *a);
    bed_init(&a->b);
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    uint64_t id = join_sub(ctx, t, 0);
    cr_assert_eq(mcrx_ctx_take(ctx, id, &a->sub), MCRX_OK);
    mcrx_ctx_free(ctx);
    a->g = group_of(t, 0);
    a->port = port_of(t, 0);
    rx_init(&a->r, tag, n);
    a->r.group = mt_ip(a->g);
    cr_assert_eq(mcrx_uv_sub_init(&a->b.loop, a->sub, opts, &a->h), MCRX_OK);
    mcrx_uv_sub_set_data(a->h, a);
    cr_assert_eq(mcrx_uv_sub_start(a->h, on_sub_batch), MCRX_OK);
}

Test(uv, owned_subscription_receives_a_burst_and_comes_back)
{
    struct asub a;
    mcrx_uv_options o;
    mcrx_uv_options_init(&o);
    o.metadata = true;
    asub_init(&a, 15, "as", 1000, &o);
    a.r.close_when_done = true;
    cr_assert_eq(mcrx_uv_sub_subscription(a.h), a.sub);
    cr_assert_eq(mcrx_uv_sub_loop(a.h), &a.b.loop);
    bed_send_later(&a.b, a.g, a.port, "as", 1000);
    uv_run(&a.b.loop, UV_RUN_DEFAULT);
    cr_expect_not(a.b.guard_fired, "stalled at %u of 1000", a.r.got);
    rx_expect_all(&a.r);
    cr_expect_eq(a.r.meta_bad, 0u);
    cr_expect_eq(a.r.meta_checked, a.r.got);
    cr_expect_gt(a.r.max_batch, 1u, "never more than one packet per callback");
    if (!a.r.closed)
        mcrx_uv_sub_close(a.h, on_sub_closed);
    bed_finish(&a.b);
    cr_assert_eq(a.close_calls, 1u);
    cr_assert_eq(a.back, a.sub, "close did not hand the subscription back");
    /* a plain extracted subscription again: still joined, still receiving */
    cr_expect_eq(mcrx_sub_get_state(a.sub), MCRX_SUB_JOINED);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, a.g, a.port, "after", 5);
    mt_pkt k;
    cr_assert_eq(mt_sub_recv(a.sub, NULL, &k, false, 2000), 1);
    cr_expect_arr_eq(k.data, "after", 5);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    cr_expect_eq(mcrx_sub_free(a.sub), MCRX_OK);
    rx_free(&a.r);
}

/* Datagrams the context read ahead move along with take; the socket is
 * empty then, so only the handle's first look at start can deliver them. */
Test(uv, owned_subscription_delivers_what_take_moved_along)
{
    struct bed b;
    bed_init(&b);
    mcrx_ctx *ctx = ctx_joined(18, 0);
    mt_send_seq(&b.s, group_of(18, 0), port_of(18, 0), "carry", 0, 10);
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1); /* reads the whole turn */
    struct asub a;
    memset(&a, 0, sizeof a);
    rx_init(&a.r, "carry", 10);
    cr_assert_eq(rx_count(&a.r, &p, NULL), 0);
    a.r.close_when_done = true;
    cr_assert_eq(mcrx_ctx_take(ctx, 1, &a.sub), MCRX_OK);
    mcrx_ctx_free(ctx);
    struct pollfd pfd = {.fd = mcrx_sub_fd(a.sub), .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, 0), 0, "the socket still has data: no test");
    cr_assert_eq(mcrx_uv_sub_init(&b.loop, a.sub, NULL, &a.h), MCRX_OK);
    mcrx_uv_sub_set_data(a.h, &a);
    cr_assert_eq(mcrx_uv_sub_start(a.h, on_sub_batch), MCRX_OK);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    cr_expect_not(b.guard_fired, "stalled at %u of 10", a.r.got);
    rx_expect_all(&a.r);
    if (!a.r.closed)
        mcrx_uv_sub_close(a.h, on_sub_closed);
    bed_finish(&b);
    cr_expect_eq(a.close_calls, 1u);
    cr_expect_eq(mcrx_sub_free(a.back), MCRX_OK);
    rx_free(&a.r);
}

static void on_leave_probe(uv_timer_t *t)
{
    struct asub *a = t->data;
    a->r.closed = true;
    mcrx_uv_sub_close(a->h, NULL); /* frees the subscription */
    cr_expect_eq(mcrx_uv_sub_start(a->h, on_sub_batch), MCRX_E_INVALID_ARG,
                 "start on a closing handle");
    uv_close((uv_handle_t *)t, NULL);
}

Test(uv, owned_subscription_left_inside_callback_stops_once)
{
    struct asub a;
    mcrx_uv_options o;
    mcrx_uv_options_init(&o);
    o.batch = 8;
    asub_init(&a, 16, "lv", 300, &o);
    a.leave_at_first = true;
    bed_send_later(&a.b, a.g, a.port, "lv", 300);
    start_timer(&a.b.loop, &a.t, &a, on_leave_probe, 500, 0);
    uv_run(&a.b.loop, UV_RUN_DEFAULT);
    cr_expect_not(a.b.guard_fired);
    cr_expect_eq(a.r.batches, 1u, "%u batches after the leave", a.r.batches - 1);
    cr_expect_eq(a.not_joined, 1u, "MCRX_E_NOT_JOINED reported %u times",
                 a.not_joined);
    /* stopped, not spinning on a socket the kernel still has data for */
    cr_expect_leq(a.b.iterations, 20, "%llu iterations",
                  (unsigned long long)a.b.iterations);
    bed_finish(&a.b);
    rx_free(&a.r);
}

Test(uv, owned_subscription_rules)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    uint64_t id = join_sub(ctx, 17, 0);
    mcrx_uv_sub *h = NULL;
    cr_expect_eq(mcrx_uv_sub_init(&loop, mcrx_ctx_get(ctx, id), NULL, &h),
                 MCRX_E_OWNED_BY_CONTEXT, "a borrowed sub was accepted");
    cr_expect_null(h);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    mcrx_uv_options o;
    mcrx_uv_options_init(&o);
    o.budget = o.batch - 1;
    cr_expect_eq(mcrx_uv_sub_init(&loop, sub, &o, &h), MCRX_E_BAD_OPTION);
    o.batch = 0;
    cr_expect_eq(mcrx_uv_sub_init(&loop, sub, &o, &h), MCRX_E_BAD_OPTION);
    cr_expect_eq(mcrx_uv_ctx_init(&loop, ctx, &o, &(mcrx_uv_ctx *){NULL}),
                 MCRX_E_BAD_OPTION);
    cr_expect_eq(mcrx_uv_sub_init(NULL, sub, NULL, &h), MCRX_E_INVALID_ARG);
    /* a left sub cannot start; the handle is fine otherwise */
    cr_assert_eq(mcrx_uv_sub_init(&loop, sub, NULL, &h), MCRX_OK);
    cr_assert_eq(mcrx_sub_leave(sub), MCRX_OK);
    cr_expect_eq(mcrx_uv_sub_start(h, on_sub_batch), MCRX_E_NOT_JOINED);
    cr_assert_eq(mcrx_sub_join(sub), MCRX_OK);
    cr_expect_eq(mcrx_uv_sub_start(h, on_sub_batch), MCRX_OK);
    cr_expect_eq(mcrx_uv_sub_stop(h), MCRX_OK);
    mcrx_uv_sub_close(h, NULL);
    cr_expect_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_expect_eq(uv_loop_close(&loop), 0);
    mcrx_ctx_free(ctx);
}
