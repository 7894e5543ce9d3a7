/*
 * mcrx_bench peer: libuv UDP receive with UV_UDP_RECVMMSG.
 * One uv_udp_t per subscription: uv_udp_init_ex(AF_INET | UV_UDP_RECVMMSG),
 * uv_udp_bind (UV_UDP_REUSEADDR), uv_udp_set_membership on 127.0.0.1,
 * uv_udp_recv_start with an alloc callback that hands out one static buffer
 * of 20 x 64 KiB chunks (libuv splits the buffer into 64 KiB chunks, one
 * datagram each, at most 20 per recvmmsg, and reads up to 32 datagrams per
 * wakeup). The loop runs until the target count is reached; a 10 ms timer
 * checks the stop conditions of the timed modes.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define UV_CHUNK (64 * 1024)
#define UV_CHUNKS 20

struct uv_state {
    uv_loop_t loop;
    uv_udp_t *h;
    uv_timer_t timer;
    char *buf;
    size_t buflen;
    struct bench *b;
    bool stopped;
    int err;
};

static void uv_fail(const char *what, int rc)
{
    fprintf(stderr, "mcrx_bench: libuv %s: %s\n", what, uv_strerror(rc));
    exit(3);
}

static void stop_all(struct uv_state *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    for (uint32_t i = 0; i < s->b->nsubs; i++)
        uv_udp_recv_stop(&s->h[i]);
    uv_timer_stop(&s->timer);
    uv_stop(&s->loop);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct uv_state *s = h->loop->data;
    bench_call(s->b);
    buf->base = s->buf;
    buf->len = s->buflen;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    struct uv_state *s = h->loop->data;
    struct bench *b = s->b;
    if (flags & UV_UDP_MMSG_FREE)
        return;
    if (nread < 0) {
        s->err = (int)nread;
        stop_all(s);
        return;
    }
    if (addr == NULL)
        return; /* EAGAIN */
    bench_pkt(b, (uint32_t)(uintptr_t)h->data, (const uint8_t *)buf->base,
              (size_t)nread);
    if (b->rx >= b->target)
        stop_all(s);
}

static void on_timer(uv_timer_t *t)
{
    struct uv_state *s = t->loop->data;
    /* a periodic check, not a receive pass that found nothing */
    uint64_t idle_calls = s->b->idle_calls;
    int r = bench_idle(s->b);
    s->b->idle_calls = idle_calls;
    if (r < 0)
        stop_all(s);
}

static int uvb_open(struct bench *b)
{
    struct uv_state *s = calloc(1, sizeof *s);
    if (!s)
        bench_die("calloc");
    b->priv = s;
    s->b = b;
    s->buflen = (size_t)UV_CHUNK * UV_CHUNKS;
    s->buf = malloc(s->buflen);
    s->h = calloc(b->nsubs, sizeof *s->h);
    if (!s->buf || !s->h)
        bench_die("malloc");
    int rc = uv_loop_init(&s->loop);
    if (rc)
        uv_fail("loop_init", rc);
    s->loop.data = s;
    for (uint32_t i = 0; i < b->nsubs; i++) {
        uv_udp_t *h = &s->h[i];
        rc = uv_udp_init_ex(&s->loop, h, AF_INET | UV_UDP_RECVMMSG);
        if (rc)
            uv_fail("udp_init_ex", rc);
        h->data = (void *)(uintptr_t)i;
        struct sockaddr_in a;
        uv_ip4_addr("0.0.0.0", b->subs[i].port, &a);
        rc = uv_udp_bind(h, (const struct sockaddr *)&a, UV_UDP_REUSEADDR);
        if (rc)
            uv_fail("udp_bind", rc);
        uv_os_fd_t fd;
        uv_fileno((uv_handle_t *)h, &fd);
        bench_set_rcvbuf(fd, b->o.rcvbuf);
        char grp[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &b->subs[i].group_be, grp, sizeof grp);
        rc = uv_udp_set_membership(h, grp, "127.0.0.1", UV_JOIN_GROUP);
        if (rc)
            uv_fail("udp_set_membership", rc);
    }
    uv_timer_init(&s->loop, &s->timer);
    return 0;
}

static int uvb_fd(struct bench *b, uint32_t i)
{
    struct uv_state *s = b->priv;
    uv_os_fd_t fd = -1;
    uv_fileno((uv_handle_t *)&s->h[i], &fd);
    return fd;
}

static uint64_t uvb_drops(struct bench *b)
{
    uint64_t d = 0;
    for (uint32_t i = 0; i < b->nsubs; i++)
        d += bench_sock_drops(uvb_fd(b, i));
    return d;
}

static int uvb_run(struct bench *b)
{
    struct uv_state *s = b->priv;
    if (b->rx >= b->target)
        return 0;
    s->stopped = false;
    for (uint32_t i = 0; i < b->nsubs; i++) {
        int rc = uv_udp_recv_start(&s->h[i], on_alloc, on_recv);
        if (rc)
            uv_fail("udp_recv_start", rc);
    }
    uv_timer_start(&s->timer, on_timer, 10, 10);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (s->err) {
        fprintf(stderr, "mcrx_bench: libuv receive: %s\n",
                uv_strerror(s->err));
        return 3;
    }
    return 0;
}

static void uvb_close(struct bench *b)
{
    struct uv_state *s = b->priv;
    if (!s)
        return;
    for (uint32_t i = 0; i < b->nsubs; i++)
        uv_close((uv_handle_t *)&s->h[i], NULL);
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    free(s->h);
    free(s->buf);
    free(s);
    b->priv = NULL;
}

static void uvb_describe(struct bench *b, char *buf, size_t len)
{
    (void)b;
    snprintf(buf, len, "libuv=%s", uv_version_string());
}

const struct bench_backend bench_backend_libuv = {
    .name = "libuv",
    .open = uvb_open,
    .fd = uvb_fd,
    .kernel_drops = uvb_drops,
    .run = uvb_run,
    .close = uvb_close,
    .describe = uvb_describe,
};
