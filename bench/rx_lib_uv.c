/*
 * mcrx_bench receiver --api uv: the library's context (opened by rx_lib.c)
 * driven by mcrx-uv on its own libuv loop: mcrx_uv_ctx with its default
 * options (64 packets per call, i.e. one turn, and 1024 per loop
 * iteration), as a user gets it. A 10 ms timer checks the stop conditions
 * of the timed modes, as in the plain libuv receiver (rx_uv.c).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <stdio.h>

#include <uv.h>

#include "mcrx/mcrx_uv.h"

struct luv {
    struct bench *b;
    const uint32_t *idx_of;
    uv_timer_t timer;
    mcrx_uv_ctx *h;
    int err;
    bool stopped;
};

static void luv_stop(struct luv *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    mcrx_uv_ctx_close(s->h, NULL);
    uv_close((uv_handle_t *)&s->timer, NULL);
}

static void on_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                     const mcrx_metadata *meta, size_t n)
{
    struct luv *s = mcrx_uv_ctx_get_data(h);
    struct bench *b = s->b;
    (void)meta;
    bench_call(b);
    if (status < 0) {
        s->err = status;
        luv_stop(s);
        return;
    }
    for (size_t k = 0; k < n; k++)
        bench_pkt(b, s->idx_of[p[k].sub_id], p[k].payload, p[k].len);
    if (b->rx >= b->target)
        luv_stop(s);
}

static void on_timer(uv_timer_t *t)
{
    struct luv *s = t->data;
    /* a periodic check, not a receive pass that found nothing */
    uint64_t idle_calls = s->b->idle_calls;
    int r = bench_idle(s->b);
    s->b->idle_calls = idle_calls;
    if (r < 0)
        luv_stop(s);
}

int bench_lib_run_uv(struct bench *b, struct mcrx_ctx *ctx,
                     const uint32_t *idx_of, uint32_t batch)
{
    if (b->rx >= b->target)
        return 0;
    uv_loop_t loop;
    struct luv s = {.b = b, .idx_of = idx_of};
    (void)batch; /* the adapter's own default, capped by max_batch */
    int rc = uv_loop_init(&loop);
    if (rc == 0)
        rc = mcrx_uv_ctx_init(&loop, ctx, NULL, &s.h) == MCRX_OK ? 0 : -1;
    if (rc != 0) {
        fprintf(stderr, "mcrx_bench: mcrx-uv set-up failed\n");
        return 3;
    }
    mcrx_uv_ctx_set_data(s.h, &s);
    uv_timer_init(&loop, &s.timer);
    s.timer.data = &s;
    mcrx_uv_ctx_start(s.h, on_batch);
    uv_timer_start(&s.timer, on_timer, 10, 10);
    uv_run(&loop, UV_RUN_DEFAULT); /* until luv_stop closed both */
    uv_loop_close(&loop);
    if (s.err) {
        fprintf(stderr, "mcrx_bench: mcrx-uv receive: %s\n",
                mcrx_status_name(s.err));
        return 3;
    }
    return 0;
}
