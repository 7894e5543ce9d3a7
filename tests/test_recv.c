/*
 * Receive API: try_recv_any, recv_batch limits, _meta variants, metadata
 * values, truncation, the largest datagram.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NO 6
#define PORT(t) ((uint16_t)(MT_PORT_BASE_RECV + 10 * (t)))

TestSuite(recv, .timeout = 60);

/* Timestamps are opt-in (default off): the metadata tests ask for them. */
static mcrx_ctx *ctx_with_timestamps(void)
{
    mcrx_ctx_options o = mt_opts();
    o.timestamps = true;
    return mt_ctx_new(&o);
}

Test(recv, nothing_ready_is_zero)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_packet p[4];
    mcrx_metadata m[4];
    cr_expect_eq(mcrx_ctx_try_recv_any(ctx, p), 0, "empty context");
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, p, 4), 0);
    cr_expect_eq(mcrx_ctx_wait(ctx, 0), 0);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 1), PORT(1), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect_eq(mcrx_ctx_try_recv_any(ctx, p), 0, "joined, nothing sent");
    cr_expect_eq(mcrx_ctx_try_recv_any_meta(ctx, p, m), 0);
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, p, 4), 0);
    cr_expect_eq(mcrx_ctx_recv_batch_meta(ctx, p, m, 4), 0);
    cr_expect_eq(mcrx_sub_try_recv(mcrx_ctx_get(ctx, id), p), 0);
    cr_expect_eq(mcrx_sub_try_recv_meta(mcrx_ctx_get(ctx, id), p, m), 0);
    cr_expect_eq(mcrx_ctx_try_recv_any(NULL, p), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_try_recv_any(ctx, NULL), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, NULL, 4), MCRX_E_INVALID_ARG);
    mcrx_ctx_free(ctx);
}

Test(recv, batch_limits)
{
    mcrx_ctx_options o = mt_opts();
    o.max_batch = 8;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, 2);
    mcrx_config c = mt_cfg_asm4(g, PORT(2), NULL);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send_seq(&s, g, PORT(2), "b", 0, 25);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);

    mcrx_packet p[64];
    long next = 0;
    /* max = 1 */
    int n = mcrx_ctx_recv_batch(ctx, p, 1);
    cr_assert_eq(n, 1, "max 1 gave %d", n);
    cr_expect_eq(p[0].len, 3u);
    cr_expect_arr_eq(p[0].payload, "b-0", 3);
    next = 1;
    /* max (64) > max_batch (8): capped at 8 */
    n = mcrx_ctx_recv_batch(ctx, p, 64);
    cr_assert_eq(n, 8, "max 64 with max_batch 8 gave %d", n);
    for (int i = 0; i < n; i++) {
        char want[16];
        int wl = snprintf(want, sizeof want, "b-%ld", next++);
        cr_expect_eq(p[i].len, (size_t)wl);
        cr_expect_arr_eq(p[i].payload, want, (size_t)wl, "packet %d", i);
    }
    /* views of one batch are all valid together: distinct payloads */
    for (int i = 1; i < n; i++)
        cr_expect_neq(p[i].payload, p[0].payload, "two packets share a slot");
    n = mcrx_ctx_recv_batch(ctx, p, 8);
    cr_assert_eq(n, 8);
    next += 8;
    n = mcrx_ctx_recv_batch(ctx, p, 5);
    cr_assert_eq(n, 5);
    next += 5;
    /* 3 left; max 64 > available: returns the 3 */
    n = mcrx_ctx_recv_batch(ctx, p, 64);
    cr_assert_eq(n, 3, "max > available gave %d, want 3", n);
    cr_expect_arr_eq(p[2].payload, "b-24", 4);
    next += 3;
    cr_expect_eq(next, 25);
    cr_expect_eq(mcrx_ctx_recv_batch(ctx, p, 64), 0);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(recv, batch_max_zero)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), NULL);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(3), "zero", 4);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    mcrx_packet p;
    int n = mcrx_ctx_recv_batch(ctx, &p, 0);
    cr_expect(n == 0 || n == MCRX_E_INVALID_ARG, "max 0 gave %d", n);
    /* the datagram was not lost by the max=0 call */
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1, "max 0 lost the datagram");
    cr_expect_arr_eq(k.data, "zero", 4);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

static void expect_meta_common(const mcrx_metadata *m, const char *group,
                               uint16_t port, unsigned ifindex, int64_t t0,
                               int64_t t1)
{
    mcrx_ip gi = mt_ip(group);
    cr_expect(m->flags & MCRX_META_DESTINATION, "no destination");
    cr_expect(mcrx_ip_equal(&m->destination, &gi), "destination %s, want %s",
              mt_ipstr(&m->destination), group);
    cr_expect(m->flags & MCRX_META_IFINDEX, "no ifindex");
    cr_expect_eq(m->ingress_ifindex, ifindex, "ingress_ifindex %u, want %u",
                 m->ingress_ifindex, ifindex);
#ifdef _WIN32 /* no receive timestamps through WSARecvMsg (platforms.md) */
    cr_expect_not(m->flags & MCRX_META_TIMESTAMP, "timestamp on Windows");
    (void)t0, (void)t1;
    if (0)
#endif
    {
    cr_expect(m->flags & MCRX_META_TIMESTAMP, "no timestamp");
    /* kernel receive time lies between just before the send and now */
    cr_expect_geq(m->timestamp_ns, t0 - 5000000, "timestamp %lld before send %lld",
                  (long long)m->timestamp_ns, (long long)t0);
    cr_expect_leq(m->timestamp_ns, t1 + 5000000, "timestamp %lld after receive %lld",
                  (long long)m->timestamp_ns, (long long)t1);
    }
    cr_expect_eq(m->socket_local_port, port);
    cr_expect_eq(m->socket_local_addr.family, gi.family,
                 "socket_local_addr family %u", m->socket_local_addr.family);
    static const uint8_t zero[16];
    cr_expect_arr_eq(m->socket_local_addr.addr, zero,
                     gi.family == MCRX_AF_INET ? 4 : 16,
                     "socket bound to %s, not the wildcard",
                     mt_ipstr(&m->socket_local_addr));
}

Test(recv, metadata_v4_veth)
{
    mcrx_ctx *ctx = ctx_with_timestamps();
    const char *g = mt_group_ssm4(FILE_NO, 4);
    mcrx_config c = mt_cfg_ssm4(g, MT_V4_TX, PORT(4), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    int64_t t0 = mt_realtime_ns();
    mt_send(&s, g, PORT(4), "meta", 4);
    mt_pkt k;
    int r = mt_recv(ctx, &k, true, 2000);
    int64_t t1 = mt_realtime_ns();
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_eq(k.p.sub_id, id);
    expect_meta_common(&k.m, g, PORT(4), mt_ifindex("v0"), t0, t1);
    mcrx_ip ifa = mt_ip(MT_V4_RX);
    cr_expect(mcrx_ip_equal(&k.m.configured_interface, &ifa),
              "configured_interface %s", mt_ipstr(&k.m.configured_interface));
    cr_expect_eq(k.m.configured_interface_index, 0u);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(recv, metadata_v4_lo_no_interface)
{
    mcrx_ctx *ctx = ctx_with_timestamps();
    const char *g = mt_group_asm4(FILE_NO, 5);
    mcrx_config c = mt_cfg_asm4(g, PORT(5), NULL);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    int64_t t0 = mt_realtime_ns();
    mt_send(&s, g, PORT(5), "meta-lo", 7);
    mt_pkt k;
    int r = mt_recv(ctx, &k, true, 2000);
    int64_t t1 = mt_realtime_ns();
    cr_assert_eq(r, 1);
    expect_meta_common(&k.m, g, PORT(5), mt_ifindex("lo"), t0, t1);
    cr_expect_eq(k.m.configured_interface.family, MCRX_AF_UNSPEC);
    cr_expect_eq(k.m.configured_interface_index, 0u);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(recv, metadata_v6_and_batch_meta)
{
    mcrx_ctx *ctx = ctx_with_timestamps();
    const char *g = mt_group_ssm6(FILE_NO, 6);
    mcrx_config c = mt_cfg_ssm6(g, MT_V6_TX, PORT(6), "v0");
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    int64_t t0 = mt_realtime_ns();
    mt_send_seq(&s, g, PORT(6), "m6", 0, 4);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    mcrx_packet p[8];
    mcrx_metadata m[8];
    memset(m, 0, sizeof m);
    int got = 0;
    int64_t deadline = mt_now_ms() + 2000;
    while (got < 4 && mt_now_ms() < deadline) {
        int n = mcrx_ctx_recv_batch_meta(ctx, p + got, m + got, (size_t)(4 - got));
        cr_assert_geq(n, 0, "%s", mcrx_status_name(n));
        /* views only valid until the next call: check now */
        for (int i = got; i < got + n; i++) {
            char want[8];
            int wl = snprintf(want, sizeof want, "m6-%d", i);
            cr_expect_eq(p[i].len, (size_t)wl);
            cr_expect_arr_eq(p[i].payload, want, (size_t)wl);
            cr_expect_eq(p[i].sub_id, id);
        }
        got += n;
        if (n == 0)
            (void)mcrx_ctx_wait(ctx, 200);
    }
    int64_t t1 = mt_realtime_ns();
    cr_assert_eq(got, 4);
    for (int i = 0; i < 4; i++) {
        expect_meta_common(&m[i], g, PORT(6), mt_ifindex("v0"), t0, t1);
        cr_expect_eq(m[i].configured_interface_index, mt_ifindex("v0"));
    }
    /* meta may be NULL in the _meta variant */
    mt_send(&s, g, PORT(6), "nullmeta", 8);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    int n = mcrx_ctx_recv_batch_meta(ctx, p, NULL, 8);
    cr_expect_eq(n, 1);
    if (n == 1)
        cr_expect_arr_eq(p[0].payload, "nullmeta", 8);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(recv, sub_try_recv_meta)
{
    mcrx_ctx *ctx = ctx_with_timestamps();
    const char *g = mt_group_asm6(FILE_NO, 7);
    mcrx_config c = mt_cfg_asm6(g, PORT(7), "v0");
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    int64_t t0 = mt_realtime_ns();
    mt_send(&s, g, PORT(7), "sub-meta", 8);
    mt_pkt k;
    int r = mt_sub_recv(mcrx_ctx_get(ctx, id), ctx, &k, true, 2000);
    int64_t t1 = mt_realtime_ns();
    cr_assert_eq(r, 1);
    cr_expect_arr_eq(k.data, "sub-meta", 8);
    expect_meta_common(&k.m, g, PORT(7), mt_ifindex("v0"), t0, t1);
    cr_expect(mcrx_ip_equal(&k.p.source, &s.src));
    cr_expect_eq(k.p.source_port, s.port);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

static void truncation(uint32_t max_payload, size_t wire, unsigned test)
{
    mcrx_ctx_options o = mt_opts();
    o.max_payload = max_payload;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, test);
    mcrx_config c = mt_cfg_asm4(g, PORT(test), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    uint8_t *buf = malloc(wire);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < wire; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    mt_send(&s, g, PORT(test), buf, wire);
    mt_send(&s, g, PORT(test), "small", 5);
    mt_pkt k;
    int r = mt_recv(ctx, &k, false, 2000);
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    size_t want_len = wire < max_payload ? wire : max_payload;
    bool cut = wire > max_payload;
    /* kqueue reads with recvmsg/recvmmsg without MSG_TRUNC (macOS and
     * FreeBSD have none): a cut datagram's real length is not known there,
     * and wire_len is the bytes received (docs/platforms.md). */
    size_t want_wire = cut && mt_backend() == MCRX_BACKEND_KQUEUE ? want_len : wire;
    cr_expect_eq(k.p.len, want_len, "len %zu, want %zu", k.p.len, want_len);
    cr_expect_eq(k.p.wire_len, want_wire, "wire_len %zu, want %zu", k.p.wire_len,
                 want_wire);
    cr_expect_eq((k.p.flags & MCRX_PKT_TRUNCATED) != 0, cut, "flags %#x",
                 k.p.flags);
    if (k.p.len == want_len)
        cr_expect_arr_eq(k.data, buf, want_len, "payload bytes differ");
    mt_pkt_free(&k);
    /* the next datagram is whole and unflagged */
    r = mt_recv(ctx, &k, false, 2000);
    cr_assert_eq(r, 1);
    cr_expect_eq(k.p.len, 5u);
    cr_expect_eq(k.p.wire_len, 5u);
    cr_expect_eq(k.p.flags & MCRX_PKT_TRUNCATED, 0u);
    cr_expect_arr_eq(k.data, "small", 5);
    mt_pkt_free(&k);

    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_expect_eq(st.truncated, cut ? 1u : 0u, "stats.truncated %llu",
                 (unsigned long long)st.truncated);
    cr_expect_eq(st.packets, 2u);
    cr_expect_eq(st.bytes, want_wire + 5, "stats.bytes %llu, want wire lengths %zu",
                 (unsigned long long)st.bytes, want_wire + 5);
    free(buf);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(recv, truncated_300_to_100)
{
    truncation(100, 300, 8);
}

Test(recv, exactly_max_payload_not_truncated)
{
    truncation(100, 100, 9);
}

Test(recv, largest_v4_datagram_whole)
{
    truncation(65535, 65507, 10);
}

Test(recv, default_max_payload_truncates_big)
{
    truncation(2048, 3000, 11);
}

/* Views stay valid until the next receive call on the same context, even
 * when another context receives in between. */
Test(recv, views_survive_other_context)
{
    mcrx_ctx *a = mt_ctx_new(NULL), *b = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 12);
    mcrx_config c = mt_cfg_asm4(g, PORT(12), NULL);
    (void)mt_add_join(a, &c);
    (void)mt_add_join(b, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(12), "first-view", 10);
    mt_send(&s, g, PORT(12), "XXXXXXXXXX", 10);
    cr_assert_eq(mcrx_ctx_wait(a, 2000), 1);
    mcrx_packet pa;
    cr_assert_eq(mcrx_ctx_try_recv_any(a, &pa), 1);
    mt_pkt k;
    cr_assert_eq(mt_recv(b, &k, false, 2000), 1);
    mt_pkt_free(&k);
    cr_assert_eq(mt_recv(b, &k, false, 2000), 1);
    mt_pkt_free(&k);
    cr_expect_arr_eq(pa.payload, "first-view", 10,
                     "view of context a changed by context b");
    mt_sender_close(&s);
    mcrx_ctx_free(a);
    mcrx_ctx_free(b);
}

/* mcrx_sub_try_recv on a borrowed sub returns only that sub's packets;
 * the others stay for the context. */
Test(recv, sub_try_recv_only_its_own)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g1 = mt_group_asm4(FILE_NO, 13), *g2 = mt_group_asm4(FILE_NO, 113);
    mcrx_config c1 = mt_cfg_asm4(g1, PORT(13), NULL), c2 = mt_cfg_asm4(g2, PORT(13), NULL);
    uint64_t i1 = mt_add_join(ctx, &c1), i2 = mt_add_join(ctx, &c2);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send_seq(&s, g1, PORT(13), "one", 0, 5);
    mt_send_seq(&s, g2, PORT(13), "two", 0, 5);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    /* let the context start on whichever, then read sub 2 directly */
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
    uint64_t first = p.sub_id;
    long n2 = first == i2 ? 1 : 0;
    mcrx_sub *sub2 = mcrx_ctx_get(ctx, i2);
    for (;;) {
        int r = mcrx_sub_try_recv(sub2, &p);
        cr_assert_geq(r, 0);
        if (r == 0)
            break;
        cr_expect_eq(p.sub_id, i2, "sub_try_recv returned another sub's packet");
        n2++;
    }
    cr_expect_eq(n2, 5, "sub 2 got %ld of 5", n2);
    long n1 = first == i1 ? 1 : 0;
    mt_pkt got[16];
    int n = mt_drain(ctx, got, 16, 100);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(got[i].p.sub_id, i1);
        mt_pkt_free(&got[i]);
    }
    n1 += n;
    cr_expect_eq(n1, 5, "sub 1 got %ld of 5", n1);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* rcvbuf_bytes 0 keeps the kernel default (net.core.rmem_default). */
Test(recv, rcvbuf_zero_keeps_kernel_default)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 0;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 14), PORT(14), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    FILE *f = fopen("/proc/sys/net/core/rmem_default", "r");
    cr_assert_not_null(f);
    unsigned long def = 0;
    cr_assert_eq(fscanf(f, "%lu", &def), 1);
    fclose(f);
    cr_expect_eq(mcrx_sub_rcvbuf(mcrx_ctx_get(ctx, id)), def,
                 "rcvbuf %u, kernel default %lu",
                 mcrx_sub_rcvbuf(mcrx_ctx_get(ctx, id)), def);
    mcrx_ip a;
    uint16_t port = 0;
    cr_assert_eq(mcrx_sub_local_addr(mcrx_ctx_get(ctx, id), &a, &port), MCRX_OK);
    cr_expect_eq(port, PORT(14));
    cr_expect_eq(a.family, MCRX_AF_INET);
    mcrx_ctx_free(ctx);
}

Test(recv, timestamps_off_leaves_no_timestamp)
{
    mcrx_ctx_options o = mt_opts();
    o.timestamps = false;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, 15);
    mcrx_config c = mt_cfg_asm4(g, PORT(15), NULL);
    (void)mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(15), "no-ts", 5);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, true, 2000), 1);
    cr_expect_not(k.m.flags & MCRX_META_TIMESTAMP, "timestamp present with timestamps off");
    cr_expect_eq(k.m.timestamp_ns, 0);
    /* the rest of the metadata is unaffected */
    cr_expect(k.m.flags & MCRX_META_DESTINATION);
    cr_expect_eq(k.m.ingress_ifindex, (uint32_t)mt_ifindex("lo"));
    mt_pkt_free(&k);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
