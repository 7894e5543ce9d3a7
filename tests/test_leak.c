/*
 * Resource hygiene: no fd leak over many cycles; freeing a context with
 * joined subscriptions and unread datagrams (run under ASan/LSan too).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 10
#define PORT(t) ((uint16_t)(MT_PORT_BASE_LEAK + 10 * (t)))

TestSuite(leak, .timeout = 240);

Test(leak, ten_thousand_add_join_leave_remove_cycles)
{
    int before_ctx = mt_count_fds();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 1);
    mcrx_config c = mt_cfg_asm4(g, PORT(1), NULL);
    int before = mt_count_fds();
    uint64_t last = 0;
    for (unsigned i = 0; i < 10000; i++) {
        uint64_t id = 0;
        int rc = mcrx_ctx_add(ctx, &c, &id);
        cr_assert_eq(rc, MCRX_OK, "cycle %u: add %s (errno %s)", i,
                     mcrx_status_name(rc), strerror(errno));
        cr_assert_gt(id, last, "cycle %u: id %llu not increasing", i,
                     (unsigned long long)id);
        last = id;
        rc = mcrx_ctx_join(ctx, id);
        cr_assert_eq(rc, MCRX_OK, "cycle %u: join %s (errno %s)", i,
                     mcrx_status_name(rc), strerror(errno));
        rc = mcrx_ctx_leave(ctx, id);
        cr_assert_eq(rc, MCRX_OK, "cycle %u: leave %s", i, mcrx_status_name(rc));
        rc = mcrx_ctx_remove(ctx, id);
        cr_assert_eq(rc, MCRX_OK, "cycle %u: remove %s", i, mcrx_status_name(rc));
    }
    cr_expect_eq(last, 10000u);
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    int after = mt_count_fds();
    cr_expect_eq(after, before, "fds %d before, %d after 10000 cycles", before,
                 after);
    cr_expect_not(mt_igmp_has("lo", g));
    /* still works afterwards */
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(1), "alive", 5);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1);
    cr_expect_eq(k.p.sub_id, id);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), before_ctx, "ctx_free left fds behind");
    MT_EXPECT_NO_LEAK();
}

/* Removing while joined, with datagrams pending, many times. */
Test(leak, remove_joined_with_pending_datagrams)
{
    int before = mt_count_fds();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 2);
    mcrx_config c = mt_cfg_asm4(g, PORT(2), NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    for (unsigned i = 0; i < 500; i++) {
        uint64_t id = mt_add_join(ctx, &c);
        mt_send_seq(&s, g, PORT(2), "p", 0, 3);
        if (i % 2 == 0) {
            /* read one (the backend may have buffered the others) */
            mt_pkt k;
            cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1, "cycle %u", i);
            mt_pkt_free(&k);
        }
        cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK, "cycle %u", i);
    }
    cr_expect_eq(mt_drain_count(ctx, 20), 0, "datagrams of removed subs delivered");
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), before);
    MT_EXPECT_NO_LEAK();
}

Test(leak, free_context_with_joined_subs)
{
    int before = mt_count_fds();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g4 = mt_group_asm4(FILE_NO, 3);
    const char *s4 = mt_group_ssm4(FILE_NO, 3);
    const char *g6 = mt_group_asm6(FILE_NO, 3);
    const char *s6 = mt_group_ssm6(FILE_NO, 3);
    const char *bound = mt_group_asm4(FILE_NO, 103);
    mcrx_config c;
    c = mt_cfg_asm4(g4, PORT(3), NULL);
    (void)mt_add_join(ctx, &c);
    c = mt_cfg_ssm4(s4, MT_V4_TX, PORT(3), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    c = mt_cfg_asm6(g6, PORT(3), "v0");
    (void)mt_add_join(ctx, &c);
    c = mt_cfg_ssm6(s6, MT_V6_TX, PORT(3), "v0");
    (void)mt_add_join(ctx, &c);
    c = mt_cfg_asm4(bound, PORT(3), NULL);
    uint64_t bid = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &bid), MCRX_OK);
    cr_expect_geq(mt_count_fds() - before, 5);

    /* unread datagrams everywhere, some already pulled into the backend */
    mt_sender lo = mt_sender_v4("127.0.0.1", "lo");
    mt_sender v4 = mt_sender_v4(MT_V4_TX, "v1");
    mt_sender v6 = mt_sender_v6(MT_V6_TX, "v1");
    mt_send_seq(&lo, g4, PORT(3), "a", 0, 50);
    mt_send_seq(&v4, s4, PORT(3), "b", 0, 50);
    mt_send_seq(&v6, g6, PORT(3), "c", 0, 50);
    mt_send_seq(&v6, s6, PORT(3), "d", 0, 50);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    mcrx_packet p[4];
    cr_assert_gt(mcrx_ctx_recv_batch(ctx, p, 4), 0);
    mt_sender_close(&lo);
    mt_sender_close(&v4);
    mt_sender_close(&v6);
    int senders_gone = mt_count_fds();

    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), before, "fds: %d before, %d after free "
                 "(%d with the context)", before, mt_count_fds(), senders_gone);
    cr_expect_not(mt_igmp_has("lo", g4));
    cr_expect_not(mt_igmp_has("v0", s4));
    cr_expect_not(mt_igmp6_has("v0", g6));
    cr_expect_not(mt_igmp6_has("v0", s6));
    MT_EXPECT_NO_LEAK();
}

Test(leak, many_contexts)
{
    int before = mt_count_fds();
    for (unsigned i = 0; i < 300; i++) {
        mcrx_ctx *ctx = mt_ctx_new(NULL);
        if (i % 3 == 0) {
            mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 4), PORT(4), NULL);
            (void)mt_add_join(ctx, &c);
        }
        mcrx_ctx_free(ctx);
    }
    cr_expect_eq(mt_count_fds(), before);
    MT_EXPECT_NO_LEAK();
}

Test(leak, failed_calls_leak_nothing)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    int before = mt_count_fds();
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 5), PORT(5), NULL);
    for (unsigned i = 0; i < 1000; i++) {
        int fd = mt_udp_socket(AF_INET, PORT(5) + 1);
        uint64_t id;
        cr_assert_eq(mcrx_ctx_add_with_socket(ctx, &c, fd, &id), MCRX_E_SOCKET_PORT);
        close(fd);
        mcrx_config bad = c;
        bad.dst_port = 0;
        cr_assert_eq(mcrx_ctx_add(ctx, &bad, &id), MCRX_E_PORT_ZERO);
    }
    /* a join that the kernel refuses: IPv6 on an interface index that does
     * not exist */
    mcrx_config c6 = mt_cfg_asm6(mt_group_asm6(FILE_NO, 5), PORT(5), NULL);
    c6.has_interface_index = true;
    c6.interface_index = 4000000;
    for (unsigned i = 0; i < 200; i++) {
        uint64_t id = 0;
        int rc = mcrx_ctx_add(ctx, &c6, &id);
        if (rc == MCRX_OK) {
            errno = 0;
            rc = mcrx_ctx_join(ctx, id);
            cr_assert_lt(rc, 0, "join on a missing interface succeeded");
            cr_expect_neq(errno, 0, "%s without errno", mcrx_status_name(rc));
            cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, id)), MCRX_SUB_BOUND);
            cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
        }
    }
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    cr_expect_eq(mt_count_fds(), before);
    mcrx_ctx_free(ctx);
    MT_EXPECT_NO_LEAK();
}

/* Extracted subs outliving their context, freed or dismantled. */
Test(leak, extracted_subs_and_parts)
{
    int before = mt_count_fds();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_sub *subs[6];
    for (unsigned i = 0; i < 6; i++) {
        mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 60 + i), PORT(6), NULL);
        uint64_t id = mt_add_join(ctx, &c);
        cr_assert_eq(mcrx_ctx_take(ctx, id, &subs[i]), MCRX_OK);
    }
    mcrx_ctx_free(ctx);
    for (unsigned i = 0; i < 6; i++) {
        if (i % 2) {
            cr_assert_eq(mcrx_sub_free(subs[i]), MCRX_OK);
        } else {
            mcrx_sub_parts parts;
            cr_assert_eq(mcrx_sub_into_parts(subs[i], &parts), MCRX_OK);
            close(parts.fd);
        }
    }
    cr_expect_eq(mt_count_fds(), before);
    MT_EXPECT_NO_LEAK();
}
