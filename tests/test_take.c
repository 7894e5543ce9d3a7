/*
 * mcrx_ctx_take, mcrx_sub_free, mcrx_sub_into_parts.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 5
#define PORT(t) ((uint16_t)(MT_PORT_BASE_TAKE + 10 * (t)))

TestSuite(take, .timeout = 30);

Test(take, taken_joined_sub_still_receives)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 1);
    mcrx_config c = mt_cfg_asm4(g, PORT(1), MT_V4_RX);
    uint64_t keep = mt_add_join(ctx, &c);
    /* (another port: same-port delivery is test_delivery's business) */
    mcrx_config c2 = mt_cfg_asm4(mt_group_asm4(FILE_NO, 101), PORT(1) + 1, MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c2);
    const char *g2 = mt_group_asm4(FILE_NO, 101);
    int fd = mcrx_sub_fd(mcrx_ctx_get(ctx, id));

    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    cr_assert_not_null(sub);
    cr_expect_eq(mcrx_ctx_count(ctx), 1u);
    cr_expect_not(mcrx_ctx_contains(ctx, id));
    cr_expect(mcrx_ctx_contains(ctx, keep));
    cr_expect_null(mcrx_ctx_get(ctx, id));
    uint64_t ids[4];
    cr_expect_eq(mcrx_ctx_list(ctx, ids, 4), 1u);
    cr_expect_eq(ids[0], keep);
    mcrx_sub *again = NULL;
    cr_expect_eq(mcrx_ctx_take(ctx, id, &again), MCRX_E_NOT_FOUND);
    cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_E_NOT_FOUND);
    cr_expect_eq(mcrx_ctx_join(ctx, id), MCRX_E_NOT_FOUND);

    cr_expect_eq(mcrx_sub_id(sub), id, "take changed the id");
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_JOINED);
    cr_expect_eq(mcrx_sub_fd(sub), fd, "take changed the socket");
    mcrx_ip gi = mt_ip(g2);
    cr_expect(mcrx_ip_equal(&mcrx_sub_config(sub)->group, &gi));
    cr_expect(mt_igmp_has("v0", g2), "take left the group");

    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g2, PORT(1) + 1, "taken", 5);
    mt_send(&s, g, PORT(1), "kept", 4);
    mt_pkt k;
    int r = mt_sub_recv(sub, NULL, &k, true, 2000);
    cr_assert_eq(r, 1, "taken sub: %s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_eq(k.p.sub_id, id);
    cr_expect_eq(k.p.len, 5u);
    cr_expect_arr_eq(k.data, "taken", 5);
    cr_expect(k.m.flags & MCRX_META_DESTINATION);
    cr_expect(mcrx_ip_equal(&k.m.destination, &gi));
    mt_pkt_free(&k);

    /* The context no longer delivers the taken sub's datagrams. */
    r = mt_recv(ctx, &k, false, 2000);
    cr_assert_eq(r, 1);
    cr_expect_eq(k.p.sub_id, keep);
    cr_expect_arr_eq(k.data, "kept", 4);
    mt_pkt_free(&k);
    mt_send(&s, g2, PORT(1) + 1, "taken-2", 7);
    r = mt_recv(ctx, &k, false, 150);
    cr_expect_eq(r, 0, "context delivered a datagram of a taken sub");
    if (r == 1)
        mt_pkt_free(&k);
    r = mt_sub_recv(sub, NULL, &k, false, 2000);
    cr_assert_eq(r, 1);
    cr_expect_arr_eq(k.data, "taken-2", 7);
    mt_pkt_free(&k);

    /* An extracted sub can leave and join on its own. */
    cr_expect_eq(mcrx_sub_join(sub), MCRX_E_ALREADY_JOINED);
    cr_assert_eq(mcrx_sub_leave(sub), MCRX_OK);
    cr_expect_not(mt_igmp_has("v0", g2));
    mcrx_packet p;
    cr_expect_eq(mcrx_sub_try_recv(sub, &p), MCRX_E_NOT_JOINED);
    cr_assert_eq(mcrx_sub_join(sub), MCRX_OK);
    cr_expect(mt_igmp_has("v0", g2));

    /* Free: leaves and closes. */
    cr_expect_eq(mcrx_sub_free(sub), MCRX_OK);
    cr_expect_not(mt_igmp_has("v0", g2), "sub_free did not leave");
    cr_expect_not(mt_fd_open(fd), "sub_free did not close the socket");
    cr_expect(mt_igmp_has("v0", g), "the kept sub lost its membership");
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(take, borrowed_sub_cannot_be_freed_or_dismantled)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 2);
    mcrx_config c = mt_cfg_asm4(g, PORT(2), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mcrx_sub *b = mcrx_ctx_get(ctx, id);
    cr_assert_not_null(b);
    int fd = mcrx_sub_fd(b);
    cr_expect_eq(mcrx_sub_free(b), MCRX_E_OWNED_BY_CONTEXT);
    mcrx_sub_parts parts;
    memset(&parts, 0x5a, sizeof parts);
    mcrx_sub_parts before = parts;
    cr_expect_eq(mcrx_sub_into_parts(b, &parts), MCRX_E_OWNED_BY_CONTEXT);
    cr_expect_arr_eq(&parts, &before, sizeof parts, "parts written on failure");
    /* Nothing was done: still there, joined, open, receiving. */
    cr_expect_eq(mcrx_ctx_count(ctx), 1u);
    cr_expect_eq(mcrx_ctx_get(ctx, id), b);
    cr_expect_eq(mcrx_sub_get_state(b), MCRX_SUB_JOINED);
    cr_expect(mt_fd_open(fd));
    cr_expect(mt_igmp_has("v0", g));
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(2), "still", 5);
    mt_pkt k;
    /* borrowed sub: receive through the sub, waiting on the context */
    int r = mt_sub_recv(b, ctx, &k, false, 2000);
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_arr_eq(k.data, "still", 5);
    mt_pkt_free(&k);
    cr_expect_eq(mcrx_sub_free(NULL), MCRX_OK);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(take, into_parts_hands_back_a_working_socket)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_ssm4(g, MT_V4_TX, PORT(3), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    int fd = mcrx_sub_fd(sub);

    mcrx_sub_parts parts;
    memset(&parts, 0, sizeof parts);
    cr_assert_eq(mcrx_sub_into_parts(sub, &parts), MCRX_OK);
    cr_expect_eq(parts.id, id);
    cr_expect_eq(parts.fd, fd);
    cr_expect_eq(parts.state, MCRX_SUB_JOINED);
    mcrx_ip gi = mt_ip(g), si = mt_ip(MT_V4_TX), ii = mt_ip(MT_V4_RX);
    cr_expect(mcrx_ip_equal(&parts.config.group, &gi));
    cr_expect(mcrx_ip_equal(&parts.config.source, &si));
    cr_expect(mcrx_ip_equal(&parts.config.interface, &ii));
    cr_expect_eq(parts.config.dst_port, PORT(3));
    cr_assert(mt_fd_open(parts.fd), "into_parts closed the socket");
    cr_expect(mt_igmp_has("v0", g), "membership must stay on the fd");

    /* Plain recv() gets the next datagram, payload intact. */
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(3), "parts-1", 7);
    struct pollfd pfd = { .fd = parts.fd, .events = POLLIN };
    cr_assert_eq(poll(&pfd, 1, 2000), 1, "fd from into_parts never readable");
    char buf[64];
    ssize_t n = recv(parts.fd, buf, sizeof buf, MSG_DONTWAIT);
    cr_assert_eq(n, 7, "recv: %zd (%s)", n, n < 0 ? strerror(errno) : "");
    cr_expect_arr_eq(buf, "parts-1", 7);

    /* Closing it is the caller's job; then the membership goes. */
    cr_assert_eq(close(parts.fd), 0);
    cr_expect_not(mt_igmp_has("v0", g));
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(take, into_parts_of_bound_sub)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 4), PORT(4), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);
    mcrx_sub_parts parts;
    cr_assert_eq(mcrx_sub_into_parts(sub, &parts), MCRX_OK);
    cr_expect_eq(parts.state, MCRX_SUB_BOUND);
    cr_expect_eq(parts.config.dst_port, PORT(4));
    cr_expect(mt_fd_open(parts.fd));
    close(parts.fd);
    mcrx_ctx_free(ctx);
}

/* After take, datagrams still in the kernel queue are received by the
 * extracted sub; those a completion backend (io_uring) had already read for
 * it are counted in stats.discarded. Either way none is lost from the
 * books: delivered + discarded == sent. */
Test(take, pending_datagrams_after_take_are_accounted)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 5);
    mcrx_config c = mt_cfg_asm4(g, PORT(5), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(5), "pend", 0, 10);
    /* Deliver the first through the context (this may read more of them
     * into the library's buffers), then take. */
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_recv_batch(ctx, &p, 1), 1);
    cr_assert_eq(p.len, 6u);
    cr_expect_arr_eq(p.payload, "pend-0", 6);
    bool readiness = mcrx_ctx_backend(ctx) == MCRX_BACKEND_RECVMMSG;
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    long got = 0, last = 0;
    for (;;) {
        mt_pkt k;
        int r = mt_sub_recv(sub, NULL, &k, false, 300);
        cr_assert_geq(r, 0, "%s", mcrx_status_name(r));
        if (r == 0)
            break;
        long seq = mt_seq_of(&k, "pend");
        cr_expect_gt(seq, last, "datagram %ld after %ld: duplicate or reordered",
                     seq, last);
        last = seq;
        got++;
        mt_pkt_free(&k);
    }
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq(st.packets, 1u + (uint64_t)got, "stats did not follow the sub");
    cr_expect_eq((uint64_t)got + st.discarded, 9u,
                 "after take: %ld delivered + %llu discarded != 9", got,
                 (unsigned long long)st.discarded);
    /* recvmmsg leaves them in the kernel queue; io_uring had completed
     * them into the context's buffers, and take moves those along (contract
     * v2: held()), so on every backend all of them follow the sub. */
    (void)readiness;
    cr_expect_eq(got, 9, "all must follow the sub (%ld did)", got);
    cr_expect_eq(st.discarded, 0u);
    cr_assert_eq(mcrx_sub_free(sub), MCRX_OK);
    cr_expect_eq(mt_drain_count(ctx, 50), 0, "context kept some datagrams");
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* An extracted subscription may move to another thread. */
struct worker_arg {
    mcrx_sub *sub;
    int got;
    char first[16];
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    int64_t deadline = mt_now_ms() + 3000;
    while (a->got < 20 && mt_now_ms() < deadline) {
        mcrx_packet pk;
        int r = mcrx_sub_try_recv(a->sub, &pk);
        if (r < 0)
            break;
        if (r == 1) {
            if (a->got == 0 && pk.len < sizeof a->first)
                memcpy(a->first, pk.payload, pk.len);
            a->got++;
            continue;
        }
        struct pollfd pfd = { .fd = mcrx_sub_fd(a->sub), .events = POLLIN };
        (void)poll(&pfd, 1, 100);
    }
    return NULL;
}

Test(take, extracted_sub_on_another_thread)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 6);
    mcrx_config c = mt_cfg_asm6(g, PORT(6), "v0");
    uint64_t id = mt_add_join(ctx, &c);
    struct worker_arg a = { 0 };
    cr_assert_eq(mcrx_ctx_take(ctx, id, &a.sub), MCRX_OK);
    mcrx_ctx_free(ctx); /* the extracted sub outlives its context */
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, worker, &a), 0);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    mt_send_seq(&s, g, PORT(6), "thr", 0, 20);
    pthread_join(t, NULL);
    cr_expect_eq(a.got, 20, "worker thread got %d of 20", a.got);
    cr_expect_str_eq(a.first, "thr-0");
    cr_expect(mt_igmp6_has("v0", g), "ctx_free affected an extracted sub");
    cr_assert_eq(mcrx_sub_free(a.sub), MCRX_OK);
    cr_expect_not(mt_igmp6_has("v0", g));
    mt_sender_close(&s);
}

Test(take, take_bound_then_join_and_receive)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 7);
    mcrx_config c = mt_cfg_asm6(g, PORT(7), "v0");
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);
    cr_assert_eq(mcrx_sub_join(sub), MCRX_OK);
    cr_expect(mt_igmp6_has("v0", g));
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    mt_send(&s, g, PORT(7), "late-join", 9);
    mt_pkt k;
    int r = mt_sub_recv(sub, NULL, &k, true, 2000);
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_arr_eq(k.data, "late-join", 9);
    cr_expect_eq(k.m.ingress_ifindex, mt_ifindex("v0"));
    mt_pkt_free(&k);
    cr_assert_eq(mcrx_sub_free(sub), MCRX_OK);
    cr_expect_not(mt_igmp6_has("v0", g));
    mt_sender_close(&s);
}

/* Different contexts may be used concurrently from different threads. */
struct ctx_thread {
    const char *group;
    uint16_t port;
    int got;
};

static void *ctx_thread_main(void *p)
{
    struct ctx_thread *t = p;
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(t->group, t->port, NULL);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    for (int round = 0; round < 50; round++) {
        mt_send_seq(&s, t->group, t->port, "ct", (unsigned)round * 10, 10);
        mcrx_packet pk[16];
        int want = 10;
        while (want > 0) {
            if (mcrx_ctx_wait(ctx, 2000) != 1)
                break;
            int r = mcrx_ctx_recv_batch(ctx, pk, 16);
            if (r < 0)
                break;
            want -= r;
            t->got += r;
        }
    }
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    return NULL;
}

Test(take, contexts_on_parallel_threads)
{
    struct ctx_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        static char groups[4][MCRX_IP_STRLEN];
        snprintf(groups[i], sizeof groups[i], "%s", mt_group_asm4(FILE_NO, 80 + (unsigned)i));
        t[i] = (struct ctx_thread){ groups[i], (uint16_t)(PORT(8) + i), 0 };
        cr_assert_eq(pthread_create(&th[i], NULL, ctx_thread_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(t[i].got, 500, "thread %d got %d of 500", i, t[i].got);
    }
}

/* mcrx_sub_recv_batch: an extracted sub fills a batch in one call; a
 * borrowed one is refused; a left one says so. */
Test(take, recv_batch_of_extracted_sub)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 20);
    mcrx_config c = mt_cfg_asm4(g, PORT(20), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mcrx_packet out[64];
    cr_expect_eq(mcrx_sub_recv_batch(mcrx_ctx_get(ctx, id), out, 64),
                 MCRX_E_OWNED_BY_CONTEXT);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    cr_expect_eq(mcrx_sub_recv_batch(sub, out, 64), 0, "data before any send");
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send_seq(&s, g, PORT(20), "rb", 0, 40);
    struct pollfd pfd = { .fd = mcrx_sub_fd(sub), .events = POLLIN };
    cr_assert_eq(poll(&pfd, 1, 2000), 1);
    mcrx_metadata meta[64];
    int n = mcrx_sub_recv_batch_meta(sub, out, meta, 64);
    cr_assert_eq(n, 40, "one call returned %d of 40 queued", n);
    for (int i = 0; i < n; i++) {
        char want[16];
        int len = snprintf(want, sizeof want, "rb-%d", i);
        cr_expect_eq(out[i].len, (size_t)len);
        cr_expect_arr_eq(out[i].payload, want, (size_t)len);
        cr_expect_eq(out[i].sub_id, id);
        cr_expect(meta[i].flags & MCRX_META_DESTINATION);
    }
    cr_expect_eq(mcrx_sub_recv_batch(sub, out, 64), 0);
    cr_assert_eq(mcrx_sub_leave(sub), MCRX_OK);
    cr_expect_eq(mcrx_sub_recv_batch(sub, out, 64), MCRX_E_NOT_JOINED);
    cr_expect_eq(mcrx_sub_recv_batch(NULL, out, 64), MCRX_E_INVALID_ARG);
    mt_sender_close(&s);
    cr_expect_eq(mcrx_sub_free(sub), MCRX_OK);
    mcrx_ctx_free(ctx);
}
