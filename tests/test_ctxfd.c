/*
 * mcrx_ctx_fd and mcrx_ctx_wait.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#ifndef _WIN32
#include <sys/epoll.h>
#endif
#include <time.h>
#include <unistd.h>

#define FILE_NO 9
#define PORT(t) ((uint16_t)(MT_PORT_BASE_CTXFD + 10 * (t)))

TestSuite(ctxfd, .timeout = 30);

/* Whether the wait object signals within ms: poll(2) for readability on
 * POSIX, WaitForSingleObject on the event HANDLE on Windows. */
static int poll_in(mcrx_wait_handle_t fd, int ms)
{
#ifdef _WIN32
    DWORD w = WaitForSingleObject(fd, ms < 0 ? INFINITE : (DWORD)ms);
    cr_assert(w == WAIT_OBJECT_0 || w == WAIT_TIMEOUT, "WaitForSingleObject: %lu",
              (unsigned long)w);
    return w == WAIT_OBJECT_0;
#else
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do {
        r = poll(&p, 1, ms);
    } while (r < 0 && errno == EINTR);
    cr_assert_geq(r, 0, "poll: %s", strerror(errno));
    if (r == 1)
        cr_expect(p.revents & POLLIN, "revents %#x", p.revents);
    return r;
#endif
}

Test(ctxfd, readable_after_a_datagram_not_before)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_wait_handle_t fd = mcrx_ctx_fd(ctx);
#ifndef _WIN32
    cr_assert_geq(fd, 0);
    cr_expect(mt_fd_open(fd));
#endif
    cr_expect_eq(mcrx_ctx_fd(ctx), fd, "ctx fd changed between calls");
    cr_expect_eq(poll_in(fd, 0), 0, "readable with no subscription");

    const char *g = mt_group_asm4(FILE_NO, 1);
    mcrx_config c = mt_cfg_asm4(g, PORT(1), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    cr_expect_eq(mcrx_ctx_fd(ctx), fd, "ctx fd changed by add/join");
    cr_expect_eq(poll_in(fd, 50), 0, "readable before any datagram");
    cr_expect_eq(mcrx_ctx_wait(ctx, 0), 0);

    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(1), "wake", 4);
    cr_expect_eq(poll_in(fd, 2000), 1, "not readable after a datagram");
    cr_expect_eq(poll_in(fd, 0), 1, "readiness consumed by poll (must be level)");
    cr_expect_eq(mcrx_ctx_wait(ctx, 0), 1);
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
    cr_expect_arr_eq(p.payload, "wake", 4);
    /* drained: wait reports nothing */
    cr_expect_eq(mcrx_ctx_try_recv_any(ctx, &p), 0);
    cr_expect_eq(mcrx_ctx_wait(ctx, 50), 0, "wait says ready on a drained context");
    cr_expect_eq(poll_in(fd, 0), 0, "still readable after drain and wait");

    /* a second datagram wakes it again */
    mt_send(&s, g, PORT(1), "again", 5);
    cr_expect_eq(poll_in(fd, 2000), 1);
    cr_assert_eq(mt_drain_count(ctx, 50), 1);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(ctxfd, wait_timeout_and_ready)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    /* no subscription at all: timeout */
    int64_t t0 = mt_now_ms();
    cr_expect_eq(mcrx_ctx_wait(ctx, 80), 0);
    int64_t dt = mt_now_ms() - t0;
    cr_expect_geq(dt, 70, "wait(80) returned after %lld ms", (long long)dt);
    cr_expect_lt(dt, 1000, "wait(80) took %lld ms", (long long)dt);

    const char *g = mt_group_asm4(FILE_NO, 2);
    mcrx_config c = mt_cfg_asm4(g, PORT(2), NULL);
    (void)mt_add_join(ctx, &c);
    t0 = mt_now_ms();
    cr_expect_eq(mcrx_ctx_wait(ctx, 80), 0);
    dt = mt_now_ms() - t0;
    cr_expect_geq(dt, 70, "wait(80) with a quiet sub returned after %lld ms",
                  (long long)dt);

    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(2), "x", 1);
    t0 = mt_now_ms();
    cr_expect_eq(mcrx_ctx_wait(ctx, 5000), 1);
    cr_expect_lt(mt_now_ms() - t0, 1000, "wait slow with data pending");
    /* wait does not consume the datagram */
    cr_expect_eq(mcrx_ctx_wait(ctx, 0), 1);
    cr_expect_eq(mt_drain_count(ctx, 50), 1);
    cr_expect_eq(mcrx_ctx_wait(NULL, 0), MCRX_E_INVALID_ARG);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* A bound (never joined) sub is not watched; a left one is not either. */
Test(ctxfd, only_joined_subs_wake)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    /* unicast reaches the bound socket (wildcard bind) */
    mt_send(&s, "127.0.0.1", PORT(3), "uni", 3);
    cr_expect_eq(mcrx_ctx_wait(ctx, 100), 0, "bound sub woke the context");
    cr_expect_eq(poll_in(mcrx_ctx_fd(ctx), 0), 0);
    /* join: now the socket is watched; the queued unicast is filtered */
    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    mt_send(&s, g, PORT(3), "multi", 5);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1);
    cr_expect_arr_eq(k.data, "multi", 5);
    mt_pkt_free(&k);
    cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
    mt_send(&s, "127.0.0.1", PORT(3), "uni2", 4);
    cr_expect_eq(mcrx_ctx_wait(ctx, 100), 0, "left sub woke the context");
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

struct delayed {
    const char *group;
    uint16_t port;
    int delay_ms;
};

static void *send_later(void *p)
{
    struct delayed *d = p;
    struct timespec ts = { d->delay_ms / 1000, (d->delay_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, d->group, d->port, "late", 4);
    mt_sender_close(&s);
    return NULL;
}

Test(ctxfd, wait_forever_wakes_on_data)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 4);
    mcrx_config c = mt_cfg_asm4(g, PORT(4), NULL);
    (void)mt_add_join(ctx, &c);
    struct delayed d = { g, PORT(4), 150 };
    pthread_t t;
    int64_t t0 = mt_now_ms();
    cr_assert_eq(pthread_create(&t, NULL, send_later, &d), 0);
    cr_expect_eq(mcrx_ctx_wait(ctx, -1), 1);
    int64_t dt = mt_now_ms() - t0;
    pthread_join(t, NULL);
    cr_expect_geq(dt, 100, "wait(-1) returned after %lld ms, before the send",
                  (long long)dt);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 1000), 1);
    cr_expect_arr_eq(k.data, "late", 4);
    mt_pkt_free(&k);
    mcrx_ctx_free(ctx);
}

struct watcher {
    mcrx_wait_handle_t fd;
    int result;
};

static void *watch(void *p)
{
    struct watcher *w = p;
    w->result = poll_in(w->fd, 3000);
    return NULL;
}

/* mcrx_ctx_fd may be watched from another thread and inside epoll. */
Test(ctxfd, watched_from_another_thread_and_epoll)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 5);
    mcrx_config c = mt_cfg_asm6(g, PORT(5), "v0");
    (void)mt_add_join(ctx, &c);
#ifdef _WIN32 /* no epoll: the other thread's WaitForSingleObject only */
    cr_expect_eq(poll_in(mcrx_ctx_fd(ctx), 50), 0, "signalled before data");
#else
    int ep = epoll_create1(EPOLL_CLOEXEC);
    cr_assert_geq(ep, 0);
    struct epoll_event ev = { .events = EPOLLIN };
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, mcrx_ctx_fd(ctx), &ev), 0,
                 "ctx fd cannot go into epoll: %s", strerror(errno));
    struct epoll_event out;
    cr_expect_eq(epoll_wait(ep, &out, 1, 50), 0, "epoll readable before data");
#endif

    struct watcher w = { mcrx_ctx_fd(ctx), -1 };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, watch, &w), 0);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    mt_send(&s, g, PORT(5), "epoll", 5);
    pthread_join(t, NULL);
    cr_expect_eq(w.result, 1, "other thread's poll: %d", w.result);
#ifndef _WIN32
    cr_expect_eq(epoll_wait(ep, &out, 1, 2000), 1, "epoll never readable");
#endif
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 1000), 1);
    cr_expect_arr_eq(k.data, "epoll", 5);
    mt_pkt_free(&k);
#ifndef _WIN32
    close(ep);
#endif
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
