/*
 * Accounting: every datagram sent is delivered, filtered or counted as a
 * kernel drop; receive buffer sizing; SO_RXQ_OVFL in metadata.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FILE_NO 7
#define PORT(t) ((uint16_t)(MT_PORT_BASE_ACCOUNTING + 10 * (t)))

TestSuite(accounting, .timeout = 60);

static unsigned long rmem_max(void)
{
    FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
    cr_assert_not_null(f);
    unsigned long v = 0;
    cr_assert_eq(fscanf(f, "%lu", &v), 1);
    fclose(f);
    return v;
}

static void expect_rcvbuf(const mcrx_sub *sub, uint32_t req)
{
    uint32_t got = mcrx_sub_rcvbuf(sub);
#ifdef _WIN32 /* Windows grants the request as asked (no doubling) */
    cr_expect_eq(got, req, "rcvbuf %u for request %u", got, req);
    return;
#endif
    unsigned long cap = rmem_max();
    unsigned long lo = 2ul * (req < cap ? req : cap);
    /* the kernel doubles the request, clamped to rmem_max unless forced */
    cr_expect_geq(got, lo, "rcvbuf %u for request %u (rmem_max %lu)", got, req, cap);
    cr_expect_leq(got, 2ul * req, "rcvbuf %u for request %u", got, req);
}

/* A burst far bigger than a small socket queue, sent while nobody reads:
 * after draining, delivered + kernel drops == sent, exactly. */
static void burst(unsigned test, bool v6, unsigned count)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 4096;
    o.sub_ring_size = 16;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g;
    mcrx_config c;
    mt_sender s;
    if (v6) {
        g = mt_group_asm6(FILE_NO, test);
        c = mt_cfg_asm6(g, PORT(test), "v0");
        s = mt_sender_v6(MT_V6_TX, "v1");
    } else {
        g = mt_group_asm4(FILE_NO, test);
        c = mt_cfg_asm4(g, PORT(test), NULL);
        s = mt_sender_v4("127.0.0.1", "lo");
    }
    uint64_t id = mt_add_join(ctx, &c);
    mcrx_sub *sub = mcrx_ctx_get(ctx, id);
    expect_rcvbuf(sub, 4096);

    uint8_t payload[200];
    memset(payload, 'a', sizeof payload);
    for (unsigned i = 0; i < count; i++)
        mt_send(&s, g, PORT(test), payload, sizeof payload);

    long got = mt_drain_count(ctx, 300);
    cr_assert_geq(got, 1, "drain: %s", mcrx_status_name((int)got));
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq(st.packets, (uint64_t)got, "stats.packets %llu, delivered %ld",
                 (unsigned long long)st.packets, got);
    cr_expect_eq(st.bytes, (uint64_t)got * sizeof payload);
    uint64_t filtered = st.filtered_group + st.filtered_source +
                        st.filtered_interface + st.filtered_no_pktinfo;
    cr_expect_eq(filtered, 0u);
    cr_expect_gt(st.kernel_drops, 0u,
                 "a %u-datagram burst into a 4 KiB queue dropped nothing "
                 "(delivered %ld): drops not counted?", count, got);
    cr_expect_eq(st.packets + filtered + st.kernel_drops, (uint64_t)count,
                 "delivered %llu + filtered %llu + kernel_drops %llu != sent %u",
                 (unsigned long long)st.packets, (unsigned long long)filtered,
                 (unsigned long long)st.kernel_drops, count);
    cr_expect_eq(st.recv_errors, 0u);

    /* One more datagram: its SO_RXQ_OVFL cmsg carries the cumulative drop
     * count of the socket. */
    mt_send(&s, g, PORT(test), "after", 5);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, true, 2000), 1);
    cr_expect_arr_eq(k.data, "after", 5);
    cr_expect(k.m.flags & MCRX_META_DROPS, "no SO_RXQ_OVFL drop count");
    cr_expect_eq((uint64_t)k.m.kernel_drops, st.kernel_drops,
                 "metadata kernel_drops %u, stats %llu", k.m.kernel_drops,
                 (unsigned long long)st.kernel_drops);
    mt_pkt_free(&k);
    mcrx_sub_stats st2;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st2), MCRX_OK);
    cr_expect_eq(st2.kernel_drops, st.kernel_drops, "drops counted twice?");
    cr_expect_eq(st2.packets, st.packets + 1);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(accounting, v4_burst_delivered_plus_drops_equals_sent)
{
#ifdef _WIN32
    cr_skip_test("Windows keeps no per-socket drop count (no SO_RXQ_OVFL / "
                 "SO_MEMINFO): losses in a full queue cannot be counted");
#endif
    burst(1, false, 600);
}

Test(accounting, v6_burst_delivered_plus_drops_equals_sent)
{
#ifdef _WIN32
    cr_skip_test("Windows keeps no per-socket drop count (no SO_RXQ_OVFL / "
                 "SO_MEMINFO): losses in a full queue cannot be counted");
#endif
    burst(2, true, 600);
}

/* No drops with a big buffer: every datagram delivered. */
Test(accounting, big_buffer_no_loss)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 4u << 20;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    expect_rcvbuf(mcrx_ctx_get(ctx, id), 4u << 20);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send_seq(&s, g, PORT(3), "nl", 0, 700);
    long got = mt_drain_count(ctx, 300);
    cr_expect_eq(got, 700);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 700u);
    cr_expect_eq(st.kernel_drops, 0u);
    /* (io_uring may report buffer-ring-empty events here: the datagrams
     * stayed in the kernel queue, none was lost.) */
    if (mcrx_ctx_backend(ctx) == MCRX_BACKEND_RECVMMSG)
        cr_expect_eq(st.backend_drop_events, 0u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Filtered datagrams are part of the sum too. */
Test(accounting, delivered_plus_filtered_equals_sent)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 4);
    const char *other = mt_group_asm4(FILE_NO, 104);
    mcrx_config c = mt_cfg_asm4(g, PORT(4), MT_V4_RX);
    int fd = mt_udp_socket_joined4(PORT(4), other, "v0");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    /* interleave: 300 filtered (more than the 256 a call may absorb),
     * 100 delivered */
    for (unsigned i = 0; i < 100; i++) {
        mt_send_seq(&s, other, PORT(4), "x", i, 3);
        mt_send_seq(&s, g, PORT(4), "y", i, 1);
    }
    long got = mt_drain_count(ctx, 300);
    cr_expect_eq(got, 100);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 100u);
    cr_expect_eq(st.filtered_group, 300u, "filtered_group %llu",
                 (unsigned long long)st.filtered_group);
    cr_expect_eq(st.kernel_drops, 0u);
    cr_expect_eq(st.packets + st.filtered_group + st.kernel_drops, 400u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Only filtered traffic: the receive call absorbs it and reports 0, and
 * does not spin forever. */
Test(accounting, only_filtered_traffic_returns_zero)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 5);
    const char *other = mt_group_asm4(FILE_NO, 105);
    mcrx_config c = mt_cfg_asm4(g, PORT(5), MT_V4_RX);
    int fd = mt_udp_socket_joined4(PORT(5), other, "v0");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, other, PORT(5), "x", 0, 600);
    cr_expect_eq(mt_drain_count(ctx, 300), 0);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.filtered_group, 600u);
    cr_expect_eq(st.packets, 0u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Unicast to a joined sub's port reaches its socket (wildcard bind); the
 * pktinfo destination is not the group, so it is filtered, not delivered.
 * (No interface configured, so only the group rule can apply.) */
Test(accounting, unicast_to_the_port_is_filtered)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 6);
    mcrx_config c = mt_cfg_asm4(g, PORT(6), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, "127.0.0.1", PORT(6), "unicast", 7);
    mt_send(&s, g, PORT(6), "multicast", 9);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1);
    cr_expect_arr_eq(k.data, "multicast", 9, "unicast datagram delivered");
    mt_pkt_free(&k);
    cr_expect_eq(mt_drain_count(ctx, 150), 0);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.filtered_group, 1u);
    cr_expect_eq(st.packets, 1u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
