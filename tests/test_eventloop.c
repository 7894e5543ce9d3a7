/*
 * The context's wait object in a user's own event loop (contract v2), and
 * the receive-loop regressions of issue 7. Every test here failed on the
 * io_uring backend before the release/service split:
 *   - a burst larger than a sub's initial buffers stalled after 32
 *     datagrams (a request that ended was re-armed only by the next call,
 *     and the eventfd was cleared meanwhile);
 *   - receiving through a borrowed sub left the eventfd readable forever
 *     (an idle epoll loop spun);
 *   - a signal made mcrx_ctx_wait(-1) return 0 ("timeout");
 *   - mcrx_sub_try_recv on a borrowed sub while the context had a carry.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define FILE_NO 15
#define PORT(t) ((uint16_t)(MT_PORT_BASE_EVENTLOOP + 10 * (t)))

TestSuite(eventloop, .timeout = 60);

/* The user's loop: epoll on mcrx_ctx_fd(), and on each wake-up receive
 * until a call returns fewer than asked, as the header says. */
struct loop {
    int ep;
    long wakeups;
};

static struct loop loop_open(mcrx_ctx *ctx)
{
    struct loop l = {.ep = epoll_create1(EPOLL_CLOEXEC), .wakeups = 0};
    cr_assert_geq(l.ep, 0, "epoll_create1: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    cr_assert_eq(epoll_ctl(l.ep, EPOLL_CTL_ADD, mcrx_ctx_fd(ctx), &ev), 0,
                 "epoll_ctl: %s", strerror(errno));
    return l;
}

/* Wait for one wake-up; 1 = woke, 0 = timed out. */
static int loop_wait(struct loop *l, int timeout_ms)
{
    struct epoll_event ev;
    int n;
    do
        n = epoll_wait(l->ep, &ev, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    cr_assert_geq(n, 0, "epoll_wait: %s", strerror(errno));
    l->wakeups += n;
    return n;
}

/* Drain the way an application does after a wake-up. by_sub: through the
 * borrowed subscription until a call returns 0; else ctx batches of 256
 * until a call returns fewer. Returns packets received. */
static long drain_once(mcrx_ctx *ctx, mcrx_sub *sub)
{
    static mcrx_packet pkts[256];
    long got = 0;
    int n;
    if (sub) {
        while ((n = mcrx_sub_try_recv(sub, pkts)) == 1)
            got++;
    } else {
        do {
            n = mcrx_ctx_recv_batch(ctx, pkts, 256);
            got += n > 0 ? n : 0;
        } while (n == 256);
    }
    cr_assert_geq(n, 0, "receive: %s", mcrx_strerror(n));
    return got;
}

static void stats_of(mcrx_ctx *ctx, uint64_t id, mcrx_sub_stats *st)
{
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), st), MCRX_OK);
}

static void burst_arrives(unsigned t, unsigned count, bool by_sub)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, t);
    mcrx_config c = mt_cfg_asm4(g, PORT(t), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mcrx_sub *sub = by_sub ? mcrx_ctx_get(ctx, id) : NULL;
    struct loop l = loop_open(ctx);

    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(t), "b", 0, count);
    long got = 0;
    while (got < (long)count && loop_wait(&l, 2000) == 1)
        got += drain_once(ctx, sub);
    cr_expect_eq(got, (long)count, "burst of %u by %s: %ld arrived, then the fd "
                 "stayed quiet for 2 s", count, by_sub ? "borrowed sub" : "ctx batch", got);

    /* Idle: at most one (spurious) wake-up in a quiet second, not a spin. */
    long before = l.wakeups;
    int64_t end = mt_now_ms() + 1000;
    while (mt_now_ms() < end) {
        if (loop_wait(&l, (int)(end - mt_now_ms())) == 1)
            cr_expect_eq(drain_once(ctx, sub), 0, "data while idle");
        if (l.wakeups - before > 10)
            break;
    }
    cr_expect_leq(l.wakeups - before, 1, "%ld wake-ups in an idle second",
                  l.wakeups - before);
    mcrx_sub_stats st;
    stats_of(ctx, id, &st);
    cr_expect_eq(st.kernel_drops, 0, "kernel drops");
    mt_sender_close(&s);
    close(l.ep);
    mcrx_ctx_free(ctx);
}

Test(eventloop, epoll_batch_burst_20) { burst_arrives(1, 20, false); }
Test(eventloop, epoll_batch_burst_100) { burst_arrives(2, 100, false); }
Test(eventloop, epoll_batch_burst_300) { burst_arrives(3, 300, false); }
Test(eventloop, epoll_batch_burst_1000) { burst_arrives(4, 1000, false); }
Test(eventloop, epoll_borrowed_sub_burst_20) { burst_arrives(5, 20, true); }
Test(eventloop, epoll_borrowed_sub_burst_100) { burst_arrives(6, 100, true); }
Test(eventloop, epoll_borrowed_sub_burst_300) { burst_arrives(7, 300, true); }
Test(eventloop, epoll_borrowed_sub_burst_1000) { burst_arrives(8, 1000, true); }

/* A one-packet receive leaves the rest of the turn read ahead in the
 * library: the fd must stay readable for it (else a loop that stops early,
 * e.g. on a per-wake-up budget, would never be woken for it). */
Test(eventloop, fd_readable_while_library_holds_read_ahead)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 9);
    mcrx_config c = mt_cfg_asm4(g, PORT(9), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    struct loop l = loop_open(ctx);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(9), "h", 0, 10);
    cr_assert_eq(loop_wait(&l, 2000), 1);
    mcrx_packet p;
    long got = 0;
    for (int i = 0; i < 3; i++)
        got += mcrx_ctx_try_recv_any(ctx, &p) == 1;
    cr_expect_eq(got, 3);
    /* stop early: 7 are left, in the library or the kernel */
    cr_expect_eq(loop_wait(&l, 500), 1, "fd not readable with 7 datagrams left");
    got += drain_once(ctx, NULL);
    cr_expect_eq(got, 10);
    mt_sender_close(&s);
    close(l.ep);
    mcrx_ctx_free(ctx);
}

/* Readiness backends: a call that empties every ready sub makes the next
 * call return 0 without asking the OS (the syscall a "read until EAGAIN"
 * loop spends per wake-up). What arrives in between must not be stranded:
 * the context fd is readable, and the call after that returns it. A
 * completion backend (io_uring) never skips: its "short" read only means
 * fewer completions so far, and its poll is a look at its ring. */
Test(eventloop, call_after_all_dry_returns_0_but_strands_nothing)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    bool skips = mcrx_ctx_backend(ctx) != MCRX_BACKEND_IOURING;
    const char *g = mt_group_asm4(FILE_NO, 14);
    mcrx_config c = mt_cfg_asm4(g, PORT(14), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    struct loop l = loop_open(ctx);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(14), "d", 0, 5);
    usleep(50 * 1000);
    cr_assert_eq(loop_wait(&l, 2000), 1);
    mcrx_packet pkts[64];
    cr_assert_eq(mcrx_ctx_recv_batch(ctx, pkts, 64), 5);
    mt_send_seq(&s, g, PORT(14), "d", 5, 3); /* arrive before the next call */
    usleep(50 * 1000);
    if (skips) {
        cr_expect_eq(mcrx_ctx_recv_batch(ctx, pkts, 64), 0,
                     "the call after an all-dry call polled");
        cr_expect_eq(loop_wait(&l, 500), 1, "fd not readable with 3 datagrams queued");
    }
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, pkts, 64), 3);
    /* mcrx_ctx_wait always asks the backend, all-dry or not */
    mt_send_seq(&s, g, PORT(14), "d", 8, 2);
    usleep(50 * 1000);
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, pkts, 64), skips ? 0 : 2);
    mt_send_seq(&s, g, PORT(14), "d", 10, 1);
    cr_expect_eq(mcrx_ctx_wait(ctx, 2000), 1);
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, pkts, 64), skips ? 3 : 1);
    mt_sender_close(&s);
    close(l.ep);
    mcrx_ctx_free(ctx);
}

/* While the context holds a turn read ahead for sub A, sub B's own
 * receive still returns B's datagrams. */
Test(eventloop, borrowed_sub_receives_while_ctx_has_carry)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *ga = mt_group_asm4(FILE_NO, 10), *gb = mt_group_asm4(FILE_NO, 11);
    mcrx_config ca = mt_cfg_asm4(ga, PORT(10), MT_V4_RX);
    mcrx_config cb = mt_cfg_asm4(gb, PORT(11), MT_V4_RX);
    uint64_t ia = mt_add_join(ctx, &ca), ib = mt_add_join(ctx, &cb);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, ga, PORT(10), "a", 0, 100);
    mt_send_seq(&s, gb, PORT(11), "b", 0, 5);
    usleep(100 * 1000);
    mcrx_packet p;
    /* one packet: some sub's turn is read ahead (A's, or B's first) */
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
    long b_got = p.sub_id == ib, a_got = p.sub_id == ia;
    mcrx_sub *b = mcrx_ctx_get(ctx, ib), *a = mcrx_ctx_get(ctx, ia);
    int n;
    while ((n = mcrx_sub_try_recv(b, &p)) == 1) {
        cr_expect_eq(p.sub_id, ib);
        b_got++;
    }
    cr_expect_eq(n, 0);
    cr_expect_eq(b_got, 5, "B's own receive found %ld of 5 while the context "
                 "held a carry", b_got);
    while ((n = mcrx_sub_try_recv(a, &p)) == 1)
        a_got++;
    cr_expect_eq(a_got, 100, "A: %ld of 100", a_got);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

static void on_alarm(int sig) { (void)sig; }

/* A signal ends mcrx_ctx_wait(-1) with MCRX_E_INTERRUPTED, not 0. */
Test(eventloop, wait_forever_interrupted_by_signal)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 12);
    mcrx_config c = mt_cfg_asm4(g, PORT(12), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the wait sees EINTR */
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 200 * 1000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    int64_t t0 = mt_now_ms();
    int st = mcrx_ctx_wait(ctx, -1);
    int64_t dt = mt_now_ms() - t0;
    cr_expect_eq(st, MCRX_E_INTERRUPTED, "wait(-1) after a signal returned %d (%s)",
                 st, mcrx_status_name(st));
    cr_expect_lt(dt, 5000, "returned after %lld ms", (long long)dt);
    /* and a bounded wait is interrupted the same way */
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    st = mcrx_ctx_wait(ctx, 3000);
    cr_expect_eq(st, MCRX_E_INTERRUPTED, "wait(3000) after a signal returned %d", st);
    signal(SIGALRM, SIG_DFL);
    mcrx_ctx_free(ctx);
}

/* OS errors are captured where they happen (mcrx_last_os_error), and
 * errno agrees on return. */
Test(eventloop, os_error_is_the_failing_calls)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 13), PORT(13), MT_V4_RX);
    uint64_t id;
    int fd = mt_udp_socket(AF_INET, PORT(13));
    close(fd); /* a closed descriptor: EBADF from the first socket call */
    int st = mcrx_ctx_add_with_socket(ctx, &c, fd, &id);
    cr_expect_eq(st, MCRX_E_SOCKET_FAMILY, "%s", mcrx_status_name(st));
    cr_expect_eq(mcrx_last_os_error(), EBADF, "last_os_error %d", mcrx_last_os_error());
    cr_expect_eq(errno, EBADF);
    mcrx_ctx_free(ctx);
}

/* A context with the latency opt-ins set; *c = a config on group/port t. */
static mcrx_ctx *ctx_latency_opts(uint32_t coalesce_us, uint32_t busy_poll_us,
                                  unsigned t, mcrx_config *c)
{
    mcrx_ctx_options o = mt_opts();
    o.coalesce_us = coalesce_us;
    o.busy_poll_us = busy_poll_us;
    *c = mt_cfg_asm4(mt_group_asm4(FILE_NO, t), PORT(t), MT_V4_RX);
    return mt_ctx_new(&o);
}

/* Opt-in coalescing (coalesce_us): datagrams that arrive at a rate, read
 * with mcrx_ctx_wait + recv_batch, all arrive (none stays behind a wait
 * that lingered), and an idle wait still times out. No timing asserted. */
Test(eventloop, coalescing_wait_delivers_every_datagram)
{
    mcrx_config c;
    mcrx_ctx *ctx = ctx_latency_opts(2000, 0, 20, &c);
    uint64_t id = mt_add_join(ctx, &c);
    const char *g = mt_group_asm4(FILE_NO, 20);
    cr_expect_eq(mcrx_ctx_wait(ctx, 50), 0, "idle wait with coalescing");
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    long got = 0;
    for (unsigned k = 0; k < 40; k++) { /* 40 x 5, 1 ms apart */
        mt_send_seq(&s, g, PORT(20), "c", 5 * k, 5);
        usleep(1000);
        got += mt_drain_count(ctx, 0);
    }
    got += mt_drain_count(ctx, 500);
    cr_expect_eq(got, 200, "%ld of 200 with coalesce_us 2000", got);
    mcrx_sub_stats st;
    stats_of(ctx, id, &st);
    cr_expect_eq(st.kernel_drops, 0);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Coalescing with the user's own loop on mcrx_ctx_fd(): the fd wakes for
 * every burst (coalescing only touches the library's own waits). */
Test(eventloop, coalescing_ctx_fd_bursts)
{
    mcrx_config c;
    mcrx_ctx *ctx = ctx_latency_opts(5000, 0, 21, &c);
    (void)mt_add_join(ctx, &c);
    const char *g = mt_group_asm4(FILE_NO, 21);
    struct loop l = loop_open(ctx);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    long got = 0;
    for (unsigned k = 0; k < 10; k++) {
        mt_send_seq(&s, g, PORT(21), "f", 3 * k, 3);
        long want = 3 * (long)(k + 1);
        while (got < want && loop_wait(&l, 2000) == 1)
            got += drain_once(ctx, NULL);
        cr_expect_eq(got, want, "burst %u: %ld of %ld", k, got, want);
    }
    mt_sender_close(&s);
    close(l.ep);
    mcrx_ctx_free(ctx);
}

/* Calls that a second thread makes on a context created with coalescing. */
struct other_thread_calls {
    mcrx_ctx *ctx;
    uint64_t id;
    int wait, recv, sub_recv, leave, remove, take;
};

static void *call_from_other_thread(void *arg)
{
    struct other_thread_calls *c = arg;
    mcrx_packet p[8];
    mcrx_sub *taken = NULL;
    c->wait = mcrx_ctx_wait(c->ctx, 0);
    c->recv = mcrx_ctx_recv_batch(c->ctx, p, 8);
    c->sub_recv = mcrx_sub_try_recv(mcrx_ctx_get(c->ctx, c->id), p);
    c->leave = mcrx_ctx_leave(c->ctx, c->id);
    c->remove = mcrx_ctx_remove(c->ctx, c->id);
    c->take = mcrx_ctx_take(c->ctx, c->id, &taken);
    return NULL;
}

/* io_uring with coalesce_us runs DEFER_TASKRUN, which ties the ring to
 * the creating thread: every call from another thread that would touch it
 * fails with MCRX_E_WRONG_THREAD and changes nothing, and the creator
 * still receives everything. Other backends are not bound: the second
 * thread's receive calls just work (one thread at a time). */
Test(eventloop, coalescing_io_uring_binds_to_creating_thread)
{
    mcrx_config c;
    mcrx_ctx *ctx = ctx_latency_opts(50, 0, 23, &c);
    uint64_t id = mt_add_join(ctx, &c);
    bool bound = mcrx_ctx_backend(ctx) == MCRX_BACKEND_IOURING;
    struct other_thread_calls calls = {.ctx = ctx, .id = bound ? id : 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_from_other_thread, &calls), 0);
    pthread_join(t, NULL);
    if (bound) {
        int got[] = {calls.wait, calls.recv, calls.sub_recv, calls.leave,
                     calls.remove, calls.take};
        for (size_t i = 0; i < sizeof got / sizeof got[0]; i++)
            cr_expect_eq(got[i], MCRX_E_WRONG_THREAD, "call %zu from another "
                         "thread returned %d (%s)", i, got[i], mcrx_status_name(got[i]));
        cr_expect_eq(mcrx_ctx_count(ctx), 1, "a refused call changed the context");
        cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, id)), MCRX_SUB_JOINED);
    } else {
        cr_expect_geq(calls.wait, 0, "wait from another thread: %d", calls.wait);
        cr_expect_geq(calls.recv, 0, "recv from another thread: %d", calls.recv);
    }
    const char *g = mt_group_asm4(FILE_NO, 23);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(23), "w", 0, 50);
    long n = mt_drain_count(ctx, 500);
    cr_expect_eq(n, 50, "the creating thread got %ld of 50", n);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

static void *free_ctx(void *ctx)
{
    mcrx_ctx_free(ctx);
    return NULL;
}

/* Freeing a thread-bound context on another thread is documented as
 * misuse, but it must neither hang (the cancels it cannot submit) nor
 * crash: the ring's close cancels what is in flight. */
Test(eventloop, coalescing_context_freed_off_thread_returns, .timeout = 20)
{
    mcrx_config c;
    mcrx_ctx *ctx = ctx_latency_opts(50, 0, 24, &c);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, mt_group_asm4(FILE_NO, 24), PORT(24), "f", 0, 10);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, free_ctx, ctx), 0);
    cr_expect_eq(pthread_join(t, NULL), 0);
    mt_sender_close(&s);
}

/* Opt-in busy polling (busy_poll_us): SO_BUSY_POLL is set on the sockets,
 * or, without CAP_NET_ADMIN, adding the subscription fails with
 * MCRX_E_SOCKET_OPTION / EPERM as documented; never silently ignored. */
Test(eventloop, busy_poll_option)
{
    mcrx_config c;
    mcrx_ctx *ctx = ctx_latency_opts(0, 50, 22, &c);
    const char *g = mt_group_asm4(FILE_NO, 22);
    uint64_t id = 0;
    int rc = mcrx_ctx_add(ctx, &c, &id);
    if (rc != MCRX_OK) {
        cr_expect_eq(rc, MCRX_E_SOCKET_OPTION, "add: %s", mcrx_status_name(rc));
        cr_expect_eq(mcrx_last_os_error(), EPERM);
        mcrx_ctx_free(ctx);
        return;
    }
    int v = 0;
    socklen_t len = sizeof v;
    cr_assert_eq(getsockopt(mcrx_sub_fd(mcrx_ctx_get(ctx, id)), SOL_SOCKET,
                            SO_BUSY_POLL, &v, &len), 0);
    cr_expect_eq(v, 50, "SO_BUSY_POLL = %d", v);
    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(22), "p", 0, 20);
    cr_expect_eq(mt_drain_count(ctx, 500), 20);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
