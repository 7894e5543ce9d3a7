/*
 * uv_recv: mcrx-core on a libuv loop (mcrx-uv).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 *   uv_recv GROUP PORT [COUNT]
 *
 * Joins GROUP:PORT (ASM), prints "ready", then one line per datagram until
 * COUNT arrived (default: until Ctrl-C). Build against the installed
 * libraries with: cc uv_recv.c $(pkg-config --cflags --libs mcrx-uv)
 */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#include <mcrx/mcrx_uv.h>

struct app {
    mcrx_ctx *ctx;
    mcrx_uv_ctx *rx;
    uv_signal_t sigint;
    long want, got;
};

static void on_closed(mcrx_uv_ctx *h)
{
    struct app *a = mcrx_uv_ctx_get_data(h);
    mcrx_ctx_free(a->ctx); /* only now: the handle borrowed it */
}

static void stop(struct app *a)
{
    mcrx_uv_ctx_close(a->rx, on_closed);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

/* Packets arrive in batches; the views are valid during the call only. */
static void on_batch(mcrx_uv_ctx *h, int status, const mcrx_packet *p,
                     const mcrx_metadata *meta, size_t n)
{
    struct app *a = mcrx_uv_ctx_get_data(h);
    (void)meta;
    if (status < 0) {
        fprintf(stderr, "receive: %s\n", mcrx_strerror(status));
        stop(a);
        return;
    }
    for (size_t i = 0; i < n && a->got != a->want; i++) {
        char src[MCRX_IP_STRLEN];
        mcrx_ip_format(&p[i].source, src, sizeof src);
        printf("%zu bytes from %s:%u\n", p[i].len, src, p[i].source_port);
        a->got++;
    }
    if (a->got == a->want)
        stop(a); /* closing inside the callback is allowed */
}

static void on_sigint(uv_signal_t *s, int signum)
{
    (void)signum;
    stop(s->data);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s GROUP PORT [COUNT]\n", argv[0]);
        return 2;
    }
    struct app a = {.want = argc > 3 ? atol(argv[3]) : -1};
    mcrx_config cfg;
    uint64_t id;
    int rc = mcrx_ctx_new(&a.ctx, NULL);
    if (rc == MCRX_OK)
        rc = mcrx_config_parse(&cfg, argv[1], (uint16_t)atoi(argv[2]), NULL, NULL);
    if (rc == MCRX_OK)
        rc = mcrx_ctx_add(a.ctx, &cfg, &id);
    if (rc == MCRX_OK)
        rc = mcrx_ctx_join(a.ctx, id);
    if (rc == MCRX_OK)
        rc = mcrx_uv_ctx_init(uv_default_loop(), a.ctx, NULL, &a.rx);
    if (rc != MCRX_OK) {
        fprintf(stderr, "%s:%s: %s\n", argv[1], argv[2], mcrx_strerror(rc));
        mcrx_ctx_free(a.ctx);
        return 1;
    }
    mcrx_uv_ctx_set_data(a.rx, &a);
    mcrx_uv_ctx_start(a.rx, on_batch);
    uv_signal_init(uv_default_loop(), &a.sigint);
    a.sigint.data = &a;
    uv_signal_start(&a.sigint, on_sigint, SIGINT);
    printf("ready\n");
    fflush(stdout);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT); /* returns once all closed */
    uv_loop_close(uv_default_loop());
    printf("received %ld\n", a.got);
    return a.want < 0 || a.got == a.want ? 0 : 1;
}
