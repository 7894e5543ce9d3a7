/*
 * Delivery: IPv4/IPv6, ASM/SSM, on lo and across the veth pair; source
 * filtering (kernel and user space); group and interface filtering; packet
 * fields.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 3
#define PORT(t) ((uint16_t)(MT_PORT_BASE_DELIVERY + 10 * (t)))

TestSuite(delivery, .timeout = 30);

/* Check every field of a received packet. */
static void expect_packet(const mt_pkt *k, uint64_t sub_id, const char *payload,
                          const mt_sender *from, const char *group,
                          uint16_t port)
{
    size_t len = strlen(payload);
    cr_expect_eq(k->p.sub_id, sub_id, "sub_id %llu, want %llu",
                 (unsigned long long)k->p.sub_id, (unsigned long long)sub_id);
    cr_expect_eq(k->p.len, len, "len %zu, want %zu", k->p.len, len);
    cr_expect_eq(k->p.wire_len, len, "wire_len %zu, want %zu", k->p.wire_len, len);
    cr_expect_eq(k->p.flags & MCRX_PKT_TRUNCATED, 0u);
    if (k->p.len == len)
        cr_expect_arr_eq(k->data, payload, len, "payload differs");
    cr_expect(mcrx_ip_equal(&k->p.source, &from->src), "source %s, want %s",
              mt_ipstr(&k->p.source), mt_ipstr(&from->src));
    cr_expect_eq(k->p.source_port, from->port, "source_port %u, want %u",
                 k->p.source_port, from->port);
    mcrx_ip g = mt_ip(group);
    cr_expect(mcrx_ip_equal(&k->p.group, &g), "group %s, want %s",
              mt_ipstr(&k->p.group), group);
    cr_expect_eq(k->p.dst_port, port, "dst_port %u, want %u", k->p.dst_port, port);
}

/* Nothing more arrives within ms. */
static void expect_nothing(mcrx_ctx *ctx, int ms, const char *why)
{
    mt_pkt k;
    int r = mt_recv(ctx, &k, false, ms);
    if (r == 1) {
        cr_expect_fail("%s: unexpected packet of %zu bytes from %s (\"%.*s\")",
                       why, k.p.len, mt_ipstr(&k.p.source),
                       (int)(k.p.len < 40 ? k.p.len : 40), (const char *)k.data);
        mt_pkt_free(&k);
    } else {
        cr_expect_eq(r, 0, "%s: %s", why, mcrx_status_name(r));
    }
}

static void recv_expect(mcrx_ctx *ctx, uint64_t id, const char *payload,
                        const mt_sender *from, const char *group, uint16_t port)
{
    mt_pkt k;
    int r = mt_recv(ctx, &k, false, 2000);
    cr_assert_eq(r, 1, "waiting for \"%s\" on %s:%u: %s", payload, group, port,
                 r == 0 ? "timeout" : mcrx_status_name(r));
    expect_packet(&k, id, payload, from, group, port);
    mt_pkt_free(&k);
}

Test(delivery, v4_asm_on_lo)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 1);
    mcrx_config c = mt_cfg_asm4(g, PORT(1), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect(mt_igmp_has("lo", g), "default join of %s should land on lo", g);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(1), "hello-lo", 8);
    recv_expect(ctx, id, "hello-lo", &s, g, PORT(1));
    expect_nothing(ctx, 100, "one datagram sent");
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(delivery, v4_asm_across_veth)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 2);
    mcrx_config c = mt_cfg_asm4(g, PORT(2), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect(mt_igmp_has("v0", g));
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_sender s2 = mt_sender_v4(MT_V4_TX2, "v1");
    mt_send(&s, g, PORT(2), "veth-1", 6);
    mt_send(&s2, g, PORT(2), "veth-2", 6); /* ASM: any source */
    recv_expect(ctx, id, "veth-1", &s, g, PORT(2));
    recv_expect(ctx, id, "veth-2", &s2, g, PORT(2));
    /* another port on the same group is not ours */
    mt_send(&s, g, PORT(2) + 1, "other-port", 10);
    expect_nothing(ctx, 100, "datagram to another port");
    mt_sender_close(&s);
    mt_sender_close(&s2);
    mcrx_ctx_free(ctx);
}

Test(delivery, v4_order_preserved)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(3), "ord", 0, 200);
    for (long i = 0; i < 200; i++) {
        mt_pkt k;
        int r = mt_recv(ctx, &k, false, 2000);
        cr_assert_eq(r, 1, "packet %ld: %s", i, r == 0 ? "timeout" : mcrx_status_name(r));
        cr_assert_eq(mt_seq_of(&k, "ord"), i, "out of order at %ld", i);
        mt_pkt_free(&k);
    }
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(delivery, v4_ssm_source_filtered_by_kernel)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm4(FILE_NO, 4);
    mcrx_config c = mt_cfg_ssm4(g, MT_V4_TX, PORT(4), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    if (!mt_mcfilter_has("v0", g, MT_V4_TX)) {
        mt_dump_membership();
        cr_expect_fail("no (%s, %s) source filter on v0", MT_V4_TX, g);
    }
    mt_sender good = mt_sender_v4(MT_V4_TX, "v1");
    mt_sender bad = mt_sender_v4(MT_V4_TX2, "v1");
    /* The bad datagram goes first each time: since the path is FIFO, if it
     * were delivered it would come before the good one. */
    mt_send(&bad, g, PORT(4), "bad-1", 5);
    mt_send(&good, g, PORT(4), "good-1", 6);
    mt_send(&bad, g, PORT(4), "bad-2", 5);
    mt_send(&good, g, PORT(4), "good-2", 6);
    recv_expect(ctx, id, "good-1", &good, g, PORT(4));
    recv_expect(ctx, id, "good-2", &good, g, PORT(4));
    expect_nothing(ctx, 150, "wrong SSM source");
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 2u);
    cr_expect_eq(st.bytes, 12u);
    mt_sender_close(&good);
    mt_sender_close(&bad);
    mcrx_ctx_free(ctx);
}

/* The kernel filters per (group, interface) membership of a socket. Here
 * the caller's socket also holds an ASM membership of the same SSM group on
 * lo (made by the test before handing the socket over), so the kernel lets
 * a wrong source through on lo: the library's own checks must drop it. */
Test(delivery, v4_ssm_source_filtered_in_user_space)
{
#ifdef _WIN32
    cr_skip_test("needs a sender with source 192.0.2.x out of lo: Windows "
                 "selects the outgoing interface by its address only");
#endif
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm4(FILE_NO, 5);
    mcrx_config c = mt_cfg_ssm4(g, MT_V4_TX, PORT(5), MT_V4_RX);
    int fd = mt_udp_socket_joined4(PORT(5), g, "lo");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);

    mt_sender bad_lo = mt_sender_v4(MT_V4_TX2, "lo"); /* wrong source */
    mt_sender good_lo = mt_sender_v4(MT_V4_TX, "lo"); /* right source, wrong if */
    mt_sender good = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&bad_lo, g, PORT(5), "bad-lo", 6);
    mt_send(&good_lo, g, PORT(5), "good-lo", 7);
    mt_send(&good, g, PORT(5), "good-v1", 7);
    recv_expect(ctx, id, "good-v1", &good, g, PORT(5));
    expect_nothing(ctx, 150, "wrong source / interface");

    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 1u);
    cr_expect_eq(st.filtered_group, 0u);
    /* bad-lo breaks the source and the interface rule (counted once, under
     * either), good-lo only the interface rule. */
    cr_expect_eq(st.filtered_source + st.filtered_interface, 2u,
                 "filtered_source %llu + filtered_interface %llu, want 2",
                 (unsigned long long)st.filtered_source,
                 (unsigned long long)st.filtered_interface);
    cr_expect_geq(st.filtered_interface, 1u, "good-lo came in on lo");
    mt_sender_close(&bad_lo);
    mt_sender_close(&good_lo);
    mt_sender_close(&good);
    mcrx_ctx_free(ctx);
}

/* Caller's socket with an extra membership of another group on the same
 * interface: datagrams to that group reach the socket; the library must
 * drop them by the pktinfo destination. */
Test(delivery, v4_group_filtered_in_user_space)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 6);
    const char *other = mt_group_asm4(FILE_NO, 106);
    mcrx_config c = mt_cfg_asm4(g, PORT(6), MT_V4_RX);
    int fd = mt_udp_socket_joined4(PORT(6), other, "v0");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);

    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, other, PORT(6), "other-1", 7);
    mt_send(&s, other, PORT(6), "other-2", 7);
    mt_send(&s, g, PORT(6), "mine", 4);
    recv_expect(ctx, id, "mine", &s, g, PORT(6));
    expect_nothing(ctx, 150, "other group");
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 1u);
    cr_expect_eq(st.filtered_group, 2u, "filtered_group %llu, want 2",
                 (unsigned long long)st.filtered_group);
    cr_expect_eq(st.filtered_source, 0u);
    cr_expect_eq(st.filtered_interface, 0u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Caller's socket also joined to the same group on lo: a datagram coming in
 * on lo is not from the configured interface (v0). */
Test(delivery, v4_interface_filtered_in_user_space)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 7);
    mcrx_config c = mt_cfg_asm4(g, PORT(7), MT_V4_RX);
    int fd = mt_udp_socket_joined4(PORT(7), g, "lo");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);

    mt_sender lo = mt_sender_v4("127.0.0.1", "lo");
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&lo, g, PORT(7), "via-lo", 6);
    mt_send(&s, g, PORT(7), "via-v0", 6);
    recv_expect(ctx, id, "via-v0", &s, g, PORT(7));
    expect_nothing(ctx, 150, "wrong interface");
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.packets, 1u);
    cr_expect_eq(st.filtered_interface, 1u, "filtered_interface %llu, want 1",
                 (unsigned long long)st.filtered_interface);
    cr_expect_eq(st.filtered_group, 0u);
    cr_expect_eq(st.filtered_source, 0u);
    mt_sender_close(&lo);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(delivery, v6_asm_across_veth)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 8);
    mcrx_config c = mt_cfg_asm6(g, PORT(8), "v0");
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect(mt_igmp6_has("v0", g), "%s not joined on v0", g);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    mt_sender s2 = mt_sender_v6(MT_V6_TX2, "v1");
    mt_send(&s, g, PORT(8), "v6-asm-1", 8);
    mt_send(&s2, g, PORT(8), "v6-asm-2", 8);
    recv_expect(ctx, id, "v6-asm-1", &s, g, PORT(8));
    recv_expect(ctx, id, "v6-asm-2", &s2, g, PORT(8));
    expect_nothing(ctx, 100, "two datagrams sent");
    mt_sender_close(&s);
    mt_sender_close(&s2);
    mcrx_ctx_free(ctx);
}

Test(delivery, v6_ssm_across_veth)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm6(FILE_NO, 9);
    mcrx_config c = mt_cfg_ssm6(g, MT_V6_TX, PORT(9), "v0");
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect(mt_igmp6_has("v0", g));
    if (!mt_mcfilter6_has("v0", g, MT_V6_TX)) {
        mt_dump_membership();
        cr_expect_fail("no (%s, %s) source filter on v0", MT_V6_TX, g);
    }
    mt_sender good = mt_sender_v6(MT_V6_TX, "v1");
    mt_sender bad = mt_sender_v6(MT_V6_TX2, "v1");
    mt_send(&bad, g, PORT(9), "bad-1", 5);
    mt_send(&good, g, PORT(9), "v6-ssm-1", 8);
    mt_send(&bad, g, PORT(9), "bad-2", 5);
    mt_send(&good, g, PORT(9), "v6-ssm-2", 8);
    recv_expect(ctx, id, "v6-ssm-1", &good, g, PORT(9));
    recv_expect(ctx, id, "v6-ssm-2", &good, g, PORT(9));
    expect_nothing(ctx, 150, "wrong IPv6 SSM source");
    mt_sender_close(&good);
    mt_sender_close(&bad);
    mcrx_ctx_free(ctx);
}

/* Two subs, two groups, one port. Several senders (so several source ports
 * and flow hashes) each send one datagram to each group: every one must reach
 * its own sub. (On Linux >= 6.5 the IPv4 multicast early demux steers a
 * datagram with exactly one member socket through SO_REUSEPORT selection,
 * i.e. by flow hash to any socket of the port's reuseport group; one sender
 * would pass by luck half of the time.) */
#define NSEND 8
static void two_groups_same_port(int family)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    uint16_t port = family == AF_INET ? PORT(10) : PORT(11);
    const char *g1, *g2;
    mcrx_config c1, c2;
    mt_sender s[NSEND];
    if (family == AF_INET) {
        g1 = mt_group_asm4(FILE_NO, 10);
        g2 = mt_group_asm4(FILE_NO, 110);
        c1 = mt_cfg_asm4(g1, port, MT_V4_RX);
        c2 = mt_cfg_asm4(g2, port, MT_V4_RX);
        for (int i = 0; i < NSEND; i++)
            s[i] = mt_sender_v4(MT_V4_TX, "v1");
    } else {
        g1 = mt_group_asm6(FILE_NO, 11);
        g2 = mt_group_asm6(FILE_NO, 111);
        c1 = mt_cfg_asm6(g1, port, "v0");
        c2 = mt_cfg_asm6(g2, port, "v0");
        for (int i = 0; i < NSEND; i++)
            s[i] = mt_sender_v6(MT_V6_TX, "v1");
    }
    uint64_t i1 = mt_add_join(ctx, &c1);
    uint64_t i2 = mt_add_join(ctx, &c2);
    for (unsigned i = 0; i < NSEND; i++) {
        mt_send_seq(&s[i], g1, port, "one", i, 1);
        mt_send_seq(&s[i], g2, port, "two", i, 1);
    }
    mt_pkt got[4 * NSEND];
    int n = mt_drain(ctx, got, 4 * NSEND, 200);
    cr_expect_eq(n, 2 * NSEND, "received %d datagrams, want %d (%d per group)", n,
                 2 * NSEND, NSEND);
    unsigned n1 = 0, n2 = 0;
    mcrx_ip ip1 = mt_ip(g1), ip2 = mt_ip(g2);
    for (int i = 0; i < n; i++) {
        if (got[i].p.sub_id == i1) {
            cr_expect_geq(mt_seq_of(&got[i], "one"), 0,
                          "sub 1 got a foreign datagram");
            cr_expect(mcrx_ip_equal(&got[i].p.group, &ip1));
            n1++;
        } else if (got[i].p.sub_id == i2) {
            cr_expect_geq(mt_seq_of(&got[i], "two"), 0,
                          "sub 2 got a foreign datagram");
            cr_expect(mcrx_ip_equal(&got[i].p.group, &ip2));
            n2++;
        } else {
            cr_expect_fail("packet of unknown sub %llu",
                           (unsigned long long)got[i].p.sub_id);
        }
        cr_expect_eq(got[i].p.dst_port, port);
        mt_pkt_free(&got[i]);
    }
    cr_expect_eq(n1, NSEND, "sub 1 got %u of %d", n1, NSEND);
    cr_expect_eq(n2, NSEND, "sub 2 got %u of %d", n2, NSEND);
    /* With IP_MULTICAST_ALL / IPV6_MULTICAST_ALL off, the kernel itself keeps
     * the groups apart: the user-space group filter never had to act. */
    mcrx_sub_stats a, b;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, i1), &a), MCRX_OK);
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, i2), &b), MCRX_OK);
#ifdef _WIN32
    /* Windows hands a socket only the groups it joined; under Wine the
     * socket is a Linux one with IP_MULTICAST_ALL on, so the kernel mixes
     * the groups and the library's group filter keeps them apart (the
     * checks above). Nothing to assert about the kernel here. */
    if (a.filtered_group + b.filtered_group)
        cr_log_info("Wine: filtered_group %llu/%llu (Linux IP_MULTICAST_ALL=1 under Wine)",
                    (unsigned long long)a.filtered_group,
                    (unsigned long long)b.filtered_group);
    else
#endif
    cr_expect_eq(a.filtered_group + b.filtered_group, 0u,
                 "filtered_group %llu/%llu: the kernel handed a socket another "
                 "group's datagrams (*_MULTICAST_ALL on, or SO_REUSEPORT "
                 "steering)",
                 (unsigned long long)a.filtered_group,
                 (unsigned long long)b.filtered_group);
    for (int i = 0; i < NSEND; i++)
        mt_sender_close(&s[i]);
    mcrx_ctx_free(ctx);
}

Test(delivery, v4_two_groups_same_port_never_mix)
{
    two_groups_same_port(AF_INET);
}

Test(delivery, v6_two_groups_same_port_never_mix)
{
    two_groups_same_port(AF_INET6);
}

Test(delivery, same_group_two_contexts_both_receive)
{
    mcrx_ctx *a = mt_ctx_new(NULL), *b = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 12);
    mcrx_config c = mt_cfg_asm4(g, PORT(12), MT_V4_RX);
    uint64_t ia = mt_add_join(a, &c), ib = mt_add_join(b, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(12), "both", 4);
    recv_expect(a, ia, "both", &s, g, PORT(12));
    recv_expect(b, ib, "both", &s, g, PORT(12));
    mt_sender_close(&s);
    mcrx_ctx_free(a);
    mcrx_ctx_free(b);
}

/* A joined sub and a bound (not joined) sub of another group on the same
 * port: the joined one gets every datagram of its group, whatever the
 * sender's port (see two_groups_same_port about SO_REUSEPORT). */
Test(delivery, bound_sub_receives_nothing)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 13);
    const char *g2 = mt_group_asm4(FILE_NO, 113);
    mcrx_config joined = mt_cfg_asm4(g, PORT(13), MT_V4_RX);
    mcrx_config bound = mt_cfg_asm4(g2, PORT(13), MT_V4_RX);
    uint64_t ij = mt_add_join(ctx, &joined);
    uint64_t ib = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &bound, &ib), MCRX_OK);
    mt_sender s[NSEND];
    for (int i = 0; i < NSEND; i++) {
        s[i] = mt_sender_v4(MT_V4_TX, "v1");
        mt_send(&s[i], g2, PORT(13), "to-bound", 8);
        mt_send(&s[i], g, PORT(13), "to-joined", 9);
    }
    int got = 0;
    for (int i = 0; i < NSEND; i++) {
        mt_pkt k;
        int r = mt_recv(ctx, &k, false, got == i ? 1000 : 50);
        if (r != 1)
            continue;
        cr_expect_eq(k.p.sub_id, ij);
        cr_expect_eq(k.p.len, 9u);
        cr_expect_arr_eq(k.data, "to-joined", 9 <= k.p.len ? 9 : k.p.len);
        mt_pkt_free(&k);
        got++;
    }
    cr_expect_eq(got, NSEND, "joined sub got %d of %d datagrams (the others went "
                 "to the bound socket of the same port?)", got, NSEND);
    expect_nothing(ctx, 100, "bound sub");
    mcrx_packet p;
    cr_expect_eq(mcrx_sub_try_recv(mcrx_ctx_get(ctx, ib), &p), MCRX_E_NOT_JOINED);
    for (int i = 0; i < NSEND; i++)
        mt_sender_close(&s[i]);
    mcrx_ctx_free(ctx);
}

/* The same across contexts (or processes): another socket of ours bound to
 * the port, not a member of the group, must not take the group's traffic. */
Test(delivery, other_socket_on_the_port_does_not_steal)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL), *other = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 16);
    const char *g2 = mt_group_asm4(FILE_NO, 116);
    mcrx_config c = mt_cfg_asm4(g, PORT(16), MT_V4_RX);
    mcrx_config c2 = mt_cfg_asm4(g2, PORT(16), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    (void)mt_add_join(other, &c2);
    mt_sender s[NSEND];
    for (int i = 0; i < NSEND; i++) {
        s[i] = mt_sender_v4(MT_V4_TX, "v1");
        mt_send_seq(&s[i], g, PORT(16), "mine", (unsigned)i, 1);
    }
    mt_pkt got[2 * NSEND];
    int n = mt_drain(ctx, got, 2 * NSEND, 200);
    cr_expect_eq(n, NSEND, "got %d of %d", n, NSEND);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(got[i].p.sub_id, id);
        mt_pkt_free(&got[i]);
    }
    cr_expect_eq(mt_drain_count(other, 50), 0);
    for (int i = 0; i < NSEND; i++)
        mt_sender_close(&s[i]);
    mcrx_ctx_free(ctx);
    mcrx_ctx_free(other);
}

Test(delivery, nothing_after_leave_and_again_after_rejoin)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 14);
    mcrx_config c = mt_cfg_asm4(g, PORT(14), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(14), "before", 6);
    recv_expect(ctx, id, "before", &s, g, PORT(14));

    cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
    mt_send(&s, g, PORT(14), "while-left", 10);
    expect_nothing(ctx, 150, "after leave");
    mcrx_packet p;
    cr_expect_eq(mcrx_sub_try_recv(mcrx_ctx_get(ctx, id), &p), MCRX_E_NOT_JOINED);

    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    mt_send(&s, g, PORT(14), "after", 5);
    recv_expect(ctx, id, "after", &s, g, PORT(14));
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(delivery, many_subs_one_context)
{
    /* 16 groups (mixed v4/v6, ASM/SSM) in one context. */
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mt_sender s4 = mt_sender_v4(MT_V4_TX, "v1"), s6 = mt_sender_v6(MT_V6_TX, "v1");
    uint64_t ids[16];
    char groups[16][MCRX_IP_STRLEN];
    for (unsigned i = 0; i < 16; i++) {
        mcrx_config c;
        switch (i % 4) {
        case 0: snprintf(groups[i], sizeof groups[i], "%s", mt_group_asm4(FILE_NO, 150 + i));
                c = mt_cfg_asm4(groups[i], PORT(15), MT_V4_RX); break;
        case 1: snprintf(groups[i], sizeof groups[i], "%s", mt_group_ssm4(FILE_NO, 150 + i));
                c = mt_cfg_ssm4(groups[i], MT_V4_TX, PORT(15), MT_V4_RX); break;
        case 2: snprintf(groups[i], sizeof groups[i], "%s", mt_group_asm6(FILE_NO, 150 + i));
                c = mt_cfg_asm6(groups[i], PORT(15), "v0"); break;
        default: snprintf(groups[i], sizeof groups[i], "%s", mt_group_ssm6(FILE_NO, 150 + i));
                c = mt_cfg_ssm6(groups[i], MT_V6_TX, PORT(15), "v0"); break;
        }
        ids[i] = mt_add_join(ctx, &c);
    }
    for (unsigned i = 0; i < 16; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "g%u", i);
        mt_send_seq(i % 4 < 2 ? &s4 : &s6, groups[i], PORT(15), tag, 0, 3);
    }
    mt_pkt got[64];
    int n = mt_drain(ctx, got, 64, 200);
    cr_assert_eq(n, 48, "received %d, want 48", n);
    unsigned per[16] = { 0 };
    for (int k = 0; k < n; k++) {
        int which = -1;
        for (unsigned i = 0; i < 16; i++)
            if (got[k].p.sub_id == ids[i])
                which = (int)i;
        cr_assert_geq(which, 0);
        char tag[16];
        snprintf(tag, sizeof tag, "g%d", which);
        cr_expect_eq(mt_seq_of(&got[k], tag), (long)per[which],
                     "sub %d: foreign or reordered datagram", which);
        per[which]++;
        mt_pkt_free(&got[k]);
    }
    for (unsigned i = 0; i < 16; i++)
        cr_expect_eq(per[i], 3u, "sub %u got %u", i, per[i]);
    mt_sender_close(&s4);
    mt_sender_close(&s6);
    mcrx_ctx_free(ctx);
}

/* IPv4 SSM without an interface: the library joins on the interface that
 * routes toward the source (here: lo, source 127.0.0.1). */
Test(delivery, v4_ssm_without_interface)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm4(FILE_NO, 17);
    mcrx_config c = mt_cfg_ssm4(g, "127.0.0.1", PORT(17), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    if (!mt_mcfilter_has("lo", g, "127.0.0.1")) {
        mt_dump_membership();
        cr_expect_fail("no (127.0.0.1, %s) source filter on lo", g);
    }
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(17), "ssm-lo", 6);
    recv_expect(ctx, id, "ssm-lo", &s, g, PORT(17));
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* A hundred subs on a hundred ports in one context. */
Test(delivery, hundred_subs)
{
    enum { N = 100 };
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    uint64_t ids[N];
    const char *g = mt_group_asm4(FILE_NO, 18);
    for (unsigned i = 0; i < N; i++) {
        mcrx_config c = mt_cfg_asm4(g, (uint16_t)(PORT(18) + 1000 + i), NULL);
        ids[i] = mt_add_join(ctx, &c);
    }
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    for (unsigned i = 0; i < N; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "h%u", i);
        mt_send_seq(&s, g, (uint16_t)(PORT(18) + 1000 + i), tag, 0, 3);
    }
    static mt_pkt got[4 * N];
    int n = mt_drain(ctx, got, 4 * N, 300);
    cr_expect_eq(n, 3 * N, "received %d of %d", n, 3 * N);
    unsigned per[N] = { 0 };
    for (int k = 0; k < n; k++) {
        unsigned which = 0;
        cr_assert_eq(sscanf((const char *)got[k].data, "h%u-", &which), 1);
        cr_assert_lt(which, (unsigned)N);
        cr_assert_eq(got[k].p.sub_id, ids[which], "datagram for port %u on sub %llu",
                     which, (unsigned long long)got[k].p.sub_id);
        cr_assert_eq(got[k].p.dst_port, PORT(18) + 1000 + which);
        per[which]++;
        mt_pkt_free(&got[k]);
    }
    for (unsigned i = 0; i < N; i++)
        cr_expect_eq(per[i], 3u, "sub %u got %u", i, per[i]);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
