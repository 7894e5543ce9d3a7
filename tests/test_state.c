/*
 * State machine: ids, join/leave rules, unknown ids, list/count/contains,
 * kernel membership after join/leave/remove.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILE_NO 2
#define PORT(t) ((uint16_t)(MT_PORT_BASE_STATE + 10 * (t)))

TestSuite(state, .timeout = 30);

Test(state, ids_start_at_one_and_are_never_reused)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    uint64_t id[4] = { 0 };
    for (unsigned i = 0; i < 3; i++) {
        mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 10 + i), PORT(1), NULL);
        cr_assert_eq(mcrx_ctx_add(ctx, &c, &id[i]), MCRX_OK);
        cr_expect_eq(id[i], (uint64_t)i + 1);
    }
    /* Remove the last and the middle: neither id comes back. */
    cr_assert_eq(mcrx_ctx_remove(ctx, id[2]), MCRX_OK);
    cr_assert_eq(mcrx_ctx_remove(ctx, id[1]), MCRX_OK);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 10 + 2), PORT(1), NULL);
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id[3]), MCRX_OK);
    cr_expect_eq(id[3], 4u, "id after removals is %llu, want 4",
                 (unsigned long long)id[3]);
    /* Remove everything; still no reuse. */
    cr_assert_eq(mcrx_ctx_remove(ctx, id[0]), MCRX_OK);
    cr_assert_eq(mcrx_ctx_remove(ctx, id[3]), MCRX_OK);
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    uint64_t again = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &again), MCRX_OK);
    cr_expect_eq(again, 5u);
    mcrx_ctx_free(ctx);
}

Test(state, ids_are_per_context)
{
    mcrx_ctx *a = mt_ctx_new(NULL), *b = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 20), PORT(2), NULL);
    uint64_t ia = 0, ib = 0;
    cr_assert_eq(mcrx_ctx_add(a, &c, &ia), MCRX_OK);
    cr_assert_eq(mcrx_ctx_add(b, &c, &ib), MCRX_OK);
    cr_expect_eq(ia, 1u);
    cr_expect_eq(ib, 1u);
    mcrx_ctx_free(a);
    mcrx_ctx_free(b);
}

Test(state, join_leave_rules)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 30);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), MT_V4_RX);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    mcrx_sub *sub = mcrx_ctx_get(ctx, id);
    cr_assert_not_null(sub);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);
    cr_expect_not(mt_igmp_has("v0", g), "bound sub must not be a member");

    cr_expect_eq(mcrx_ctx_leave(ctx, id), MCRX_E_NOT_JOINED);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);

    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_JOINED);
    cr_expect(mt_igmp_has("v0", g), "joined %s not in /proc/net/igmp", g);

    cr_expect_eq(mcrx_ctx_join(ctx, id), MCRX_E_ALREADY_JOINED);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_JOINED);
    cr_expect(mt_igmp_has("v0", g));

    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq(st.joins, 1u, "a refused join was counted");

    cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);
    cr_expect_not(mt_igmp_has("v0", g), "left %s still in /proc/net/igmp", g);
    cr_expect_eq(mcrx_ctx_leave(ctx, id), MCRX_E_NOT_JOINED);

    /* Join again after leave. */
    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    cr_expect(mt_igmp_has("v0", g));
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq(st.joins, 2u);
    cr_expect_eq(st.leaves, 1u);

    /* The sub-level calls follow the same rules. */
    cr_expect_eq(mcrx_sub_join(sub), MCRX_E_ALREADY_JOINED);
    cr_assert_eq(mcrx_sub_leave(sub), MCRX_OK);
    cr_expect_eq(mcrx_sub_leave(sub), MCRX_E_NOT_JOINED);
    cr_expect_not(mt_igmp_has("v0", g));
    cr_assert_eq(mcrx_sub_join(sub), MCRX_OK);
    cr_expect(mt_igmp_has("v0", g));
    mcrx_ctx_free(ctx);
    cr_expect_not(mt_igmp_has("v0", g), "ctx_free left the membership");
}

Test(state, unknown_ids)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 40), PORT(4), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    const uint64_t unknown[] = { 0, id + 1, 999, UINT64_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        uint64_t u = unknown[i];
        cr_expect_eq(mcrx_ctx_join(ctx, u), MCRX_E_NOT_FOUND, "join %llu",
                     (unsigned long long)u);
        cr_expect_eq(mcrx_ctx_leave(ctx, u), MCRX_E_NOT_FOUND);
        cr_expect_eq(mcrx_ctx_remove(ctx, u), MCRX_E_NOT_FOUND);
        mcrx_sub *out = (mcrx_sub *)&c;
        cr_expect_eq(mcrx_ctx_take(ctx, u, &out), MCRX_E_NOT_FOUND);
        cr_expect_eq(out, (mcrx_sub *)&c, "take wrote *out on failure");
        cr_expect_null(mcrx_ctx_get(ctx, u));
        cr_expect_not(mcrx_ctx_contains(ctx, u));
    }
    /* A removed id is unknown from then on. */
    cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    cr_expect_eq(mcrx_ctx_join(ctx, id), MCRX_E_NOT_FOUND);
    cr_expect_eq(mcrx_ctx_leave(ctx, id), MCRX_E_NOT_FOUND);
    cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_E_NOT_FOUND);
    cr_expect_null(mcrx_ctx_get(ctx, id));
    mcrx_sub *out = NULL;
    cr_expect_eq(mcrx_ctx_take(ctx, id, &out), MCRX_E_NOT_FOUND);
    cr_expect_null(out);
    mcrx_ctx_free(ctx);
}

Test(state, list_count_contains)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    cr_expect_eq(mcrx_ctx_list(ctx, NULL, 0), 0u);
    uint64_t ids[6];
    for (unsigned i = 0; i < 6; i++) {
        mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 50 + i), PORT(5), NULL);
        cr_assert_eq(mcrx_ctx_add(ctx, &c, &ids[i]), MCRX_OK);
        cr_expect_eq(mcrx_ctx_count(ctx), (size_t)i + 1);
    }
    cr_assert_eq(mcrx_ctx_remove(ctx, ids[1]), MCRX_OK);
    cr_assert_eq(mcrx_ctx_remove(ctx, ids[4]), MCRX_OK);
    cr_expect_eq(mcrx_ctx_count(ctx), 4u);
    const uint64_t want[] = { ids[0], ids[2], ids[3], ids[5] };
    for (unsigned i = 0; i < 6; i++)
        cr_expect_eq(mcrx_ctx_contains(ctx, ids[i]), i != 1 && i != 4,
                     "contains(%llu)", (unsigned long long)ids[i]);

    uint64_t got[8];
    memset(got, 0xff, sizeof got);
    cr_expect_eq(mcrx_ctx_list(ctx, got, 8), 4u);
    cr_expect_arr_eq(got, want, sizeof want, "list not ascending / wrong ids");
    cr_expect_eq(got[4], UINT64_MAX, "list wrote past the count");

    /* Too small an array: copies max, returns the total. */
    memset(got, 0xff, sizeof got);
    cr_expect_eq(mcrx_ctx_list(ctx, got, 2), 4u);
    cr_expect_eq(got[0], want[0]);
    cr_expect_eq(got[1], want[1]);
    cr_expect_eq(got[2], UINT64_MAX, "list wrote past max");
    cr_expect_eq(mcrx_ctx_list(ctx, NULL, 0), 4u);

    /* Ids survive a join and the sub keeps its config. */
    mcrx_sub *s = mcrx_ctx_get(ctx, ids[3]);
    cr_assert_not_null(s);
    cr_expect_eq(mcrx_sub_id(s), ids[3]);
    const mcrx_config *sc = mcrx_sub_config(s);
    cr_assert_not_null(sc);
    mcrx_ip g = mt_ip(mt_group_asm4(FILE_NO, 53));
    cr_expect(mcrx_ip_equal(&sc->group, &g));
    cr_expect_eq(sc->dst_port, PORT(5));
    mcrx_ctx_free(ctx);
}

Test(state, remove_while_joined_leaves_v4_asm)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 60);
    mcrx_config c = mt_cfg_asm4(g, PORT(6), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    cr_assert(mt_igmp_has("v0", g), "joined %s not in /proc/net/igmp", g);
    int fd = mcrx_sub_fd(mcrx_ctx_get(ctx, id));
    cr_assert(mt_fd_open(fd));
    cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    cr_expect_not(mt_igmp_has("v0", g), "removed sub still a member of %s", g);
    cr_expect_not(mt_fd_open(fd), "remove did not close the socket");
    mcrx_ctx_free(ctx);
}

Test(state, remove_while_joined_leaves_v4_ssm)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm4(FILE_NO, 61);
    mcrx_config c = mt_cfg_ssm4(g, MT_V4_TX, PORT(6) + 1, MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    cr_expect(mt_igmp_has("v0", g));
    if (!mt_mcfilter_has("v0", g, MT_V4_TX)) {
        mt_dump_membership();
        cr_expect_fail("(%s, %s) not in /proc/net/mcfilter", MT_V4_TX, g);
    }
    cr_expect_not(mt_mcfilter_has("v0", g, MT_V4_TX2), "wrong source included");
    /* leave then join again, then remove while joined */
    cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
    cr_expect_not(mt_igmp_has("v0", g));
    cr_expect_not(mt_mcfilter_has("v0", g, MT_V4_TX));
    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    cr_expect(mt_mcfilter_has("v0", g, MT_V4_TX));
    cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    cr_expect_not(mt_igmp_has("v0", g));
    cr_expect_not(mt_mcfilter_has("v0", g, MT_V4_TX));
    mcrx_ctx_free(ctx);
}

Test(state, membership_v6_asm_and_ssm)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *ga = mt_group_asm6(FILE_NO, 70);
    const char *gs = mt_group_ssm6(FILE_NO, 71);
    mcrx_config ca = mt_cfg_asm6(ga, PORT(7), "v0");
    mcrx_config cs = mt_cfg_ssm6(gs, MT_V6_TX, PORT(7), "v0");
    uint64_t ia = mt_add_join(ctx, &ca);
    cr_expect(mt_igmp6_has("v0", ga), "%s not in /proc/net/igmp6", ga);
    cr_expect_not(mt_igmp6_has("v1", ga), "joined on the wrong interface");
    uint64_t is = mt_add_join(ctx, &cs);
    cr_expect(mt_igmp6_has("v0", gs), "%s not in /proc/net/igmp6", gs);
    if (!mt_mcfilter6_has("v0", gs, MT_V6_TX)) {
        mt_dump_membership();
        cr_expect_fail("(%s, %s) not in /proc/net/mcfilter6", MT_V6_TX, gs);
    }
    cr_expect_not(mt_mcfilter6_has("v0", gs, MT_V6_TX2));

    cr_assert_eq(mcrx_ctx_leave(ctx, is), MCRX_OK);
    cr_expect_not(mt_igmp6_has("v0", gs));
    cr_expect_not(mt_mcfilter6_has("v0", gs, MT_V6_TX));
    cr_expect(mt_igmp6_has("v0", ga), "leaving one sub dropped another's group");

    cr_assert_eq(mcrx_ctx_remove(ctx, ia), MCRX_OK);
    cr_expect_not(mt_igmp6_has("v0", ga));
    cr_expect_eq(mcrx_ctx_count(ctx), 1u);
    mcrx_ctx_free(ctx);
}

Test(state, two_subs_same_group_share_the_kernel_membership)
{
    /* Two contexts, same group and port: leaving one keeps the other's
     * membership (reference counted by the kernel per socket). */
    mcrx_ctx *a = mt_ctx_new(NULL), *b = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 80);
    mcrx_config c = mt_cfg_asm4(g, PORT(8), MT_V4_RX);
    uint64_t ia = mt_add_join(a, &c);
    (void)mt_add_join(b, &c);
    cr_assert_eq(mcrx_ctx_remove(a, ia), MCRX_OK);
    cr_expect(mt_igmp_has("v0", g), "other context's membership gone");
    mcrx_ctx_free(b);
    cr_expect_not(mt_igmp_has("v0", g));
    mcrx_ctx_free(a);
}

/* A join the kernel refuses: MCRX_E_JOIN with errno set, the sub stays
 * BOUND and uncounted, and other subs are unaffected. A library that
 * resolves the interface at add time may refuse the add instead. */
static void refused_join(mcrx_ctx *ctx, const mcrx_config *c, const char *what)
{
    uint64_t id = 0;
    size_t before = mcrx_ctx_count(ctx);
    int rc = mcrx_ctx_add(ctx, c, &id);
    if (rc != MCRX_OK) {
        /* resolved at add time: refused there, nothing added */
        cr_expect(rc == MCRX_E_UNKNOWN_INTERFACE || mcrx_status_is_os_error(rc),
                  "%s: add = %s", what, mcrx_status_name(rc));
        cr_expect_eq(mcrx_ctx_count(ctx), before);
        return;
    }
    errno = 0;
    rc = mcrx_ctx_join(ctx, id);
    int e = mcrx_last_os_error(); /* errno on POSIX, WSAGetLastError() on Windows */
    cr_expect_eq(rc, MCRX_E_JOIN, "%s: join = %s", what, mcrx_status_name(rc));
    cr_expect(mcrx_status_is_os_error(rc));
    cr_expect_neq(e, 0, "%s: errno not set", what);
    mcrx_sub *sub = mcrx_ctx_get(ctx, id);
    cr_assert_not_null(sub);
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND, "%s: state after failed join",
                 what);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq(st.joins, 0u, "%s: failed join counted", what);
    cr_expect_eq(mcrx_ctx_leave(ctx, id), MCRX_E_NOT_JOINED);
    cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
}

Test(state, failed_join_leaves_sub_bound)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 90);
    mcrx_config ok = mt_cfg_asm4(g, PORT(9), MT_V4_RX);
    (void)mt_add_join(ctx, &ok);

    mcrx_config c6 = mt_cfg_asm6(mt_group_asm6(FILE_NO, 91), PORT(9), NULL);
    c6.has_interface_index = true;
    c6.interface_index = 4000000; /* no such interface */
    refused_join(ctx, &c6, "v6 join on a missing interface index");

    mcrx_config c4 = mt_cfg_asm4(mt_group_asm4(FILE_NO, 92), PORT(9), "198.51.100.1");
    refused_join(ctx, &c4, "v4 join on a non-local interface address");

    cr_expect_eq(mcrx_ctx_count(ctx), 1u);
    cr_expect(mt_igmp_has("v0", g), "other sub affected");
    mcrx_ctx_free(ctx);
}

/* An IPv6 interface given as an address joins on that address's
 * interface (docs/ipv6.md: its interface index is looked up). */
Test(state, v6_join_by_interface_address)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 95);
    const char *gs = mt_group_ssm6(FILE_NO, 96);
    mcrx_config c, cs;
    cr_assert_eq(mcrx_config_parse(&c, g, PORT(9) + 5, NULL, MT_V6_RX), MCRX_OK);
    cr_assert_eq(mcrx_config_parse(&cs, gs, PORT(9) + 5, MT_V6_TX, MT_V6_RX), MCRX_OK);
    (void)mt_add_join(ctx, &c);
    (void)mt_add_join(ctx, &cs);
    cr_expect(mt_igmp6_has("v0", g), "%s joined by address %s not on v0", g,
              MT_V6_RX);
    cr_expect(mt_igmp6_has("v0", gs), "%s joined by address %s not on v0", gs,
              MT_V6_RX);
    cr_expect_not(mt_igmp6_has("lo", g));
    cr_expect_not(mt_igmp6_has("v1", g));
    mcrx_ctx_free(ctx);
}

/* An interface index wins over an interface address (docs/usage.md). */
Test(state, v6_index_wins_over_address)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm6(FILE_NO, 97);
    mcrx_config c = mt_cfg_asm6(g, PORT(9) + 7, "v0");
    c.interface = mt_ip(MT_V6_TX); /* v1's address */
    (void)mt_add_join(ctx, &c);
    cr_expect(mt_igmp6_has("v0", g), "index v0 lost against address of v1");
    cr_expect_not(mt_igmp6_has("v1", g), "joined on the address's interface");
    mcrx_ctx_free(ctx);
}

/* ---- lifecycle calls in the middle of a scheduling turn ---- */

struct midturn {
    mcrx_ctx *ctx;
    uint64_t id[2];
    const char *g[2];
    uint16_t port;
    uint64_t current; /* the sub whose turn was cut short */
    uint64_t other;
};

/* Two subs with 10 datagrams each, budget 8; a batch of 2 starts a turn
 * and cuts it short. */
static void midturn_setup(struct midturn *m, unsigned test)
{
    mcrx_ctx_options o = mt_opts();
    o.turn_budget = 8;
    m->ctx = mt_ctx_new(&o);
    m->port = PORT(10) + (uint16_t)test;
    static char groups[2][MCRX_IP_STRLEN];
    for (int i = 0; i < 2; i++) {
        snprintf(groups[i], sizeof groups[i], "%s",
                 mt_group_asm4(FILE_NO, 100 + 2 * test + (unsigned)i));
        m->g[i] = groups[i];
        mcrx_config c = mt_cfg_asm4(m->g[i], m->port, NULL);
        m->id[i] = mt_add_join(m->ctx, &c);
    }
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    for (int i = 0; i < 2; i++)
        mt_send_seq(&s, m->g[i], m->port, i ? "b" : "a", 0, 10);
    mt_sender_close(&s);
    cr_assert_eq(mcrx_ctx_wait(m->ctx, 2000), 1);
    mcrx_packet p[2];
    cr_assert_eq(mcrx_ctx_recv_batch(m->ctx, p, 2), 2);
    cr_assert_eq(p[0].sub_id, p[1].sub_id, "a turn of budget 8 was split");
    m->current = p[0].sub_id;
    m->other = m->current == m->id[0] ? m->id[1] : m->id[0];
}

static long count_of(mcrx_ctx *ctx, uint64_t want_id, long *others)
{
    mt_pkt got[64];
    int n = mt_drain(ctx, got, 64, 100);
    cr_assert_geq(n, 0, "%s", mcrx_status_name(n));
    long mine = 0;
    *others = 0;
    for (int i = 0; i < n; i++) {
        if (got[i].p.sub_id == want_id)
            mine++;
        else
            (*others)++;
        mt_pkt_free(&got[i]);
    }
    return mine;
}

Test(state, remove_in_the_middle_of_a_turn)
{
    struct midturn m;
    midturn_setup(&m, 1);
    cr_assert_eq(mcrx_ctx_remove(m.ctx, m.current), MCRX_OK);
    long others;
    long n = count_of(m.ctx, m.other, &others);
    cr_expect_eq(n, 10, "the other sub got %ld of 10", n);
    cr_expect_eq(others, 0, "%ld datagrams of a removed sub delivered", others);
    mcrx_ctx_free(m.ctx);
}

Test(state, leave_in_the_middle_of_a_turn)
{
    struct midturn m;
    midturn_setup(&m, 2);
    cr_assert_eq(mcrx_ctx_leave(m.ctx, m.current), MCRX_OK);
    long others;
    long n = count_of(m.ctx, m.other, &others);
    cr_expect_eq(n, 10, "the other sub got %ld of 10", n);
    cr_expect_eq(others, 0, "%ld datagrams of a left sub delivered", others);
    mcrx_ctx_free(m.ctx);
}

Test(state, take_in_the_middle_of_a_turn)
{
    struct midturn m;
    midturn_setup(&m, 3);
    mcrx_sub *sub = NULL;
    cr_assert_eq(mcrx_ctx_take(m.ctx, m.current, &sub), MCRX_OK);
    long others;
    long n = count_of(m.ctx, m.other, &others);
    cr_expect_eq(n, 10, "the other sub got %ld of 10", n);
    cr_expect_eq(others, 0, "%ld datagrams of a taken sub delivered by the context",
                 others);
    long mine = 0;
    mt_pkt k;
    while (mt_sub_recv(sub, NULL, &k, false, 100) == 1) {
        cr_expect_eq(k.p.sub_id, m.current);
        mt_pkt_free(&k);
        mine++;
    }
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    cr_expect_eq((uint64_t)mine + st.discarded, 8u,
                 "taken sub: %ld received + %llu discarded != 8 left", mine,
                 (unsigned long long)st.discarded);
    cr_assert_eq(mcrx_sub_free(sub), MCRX_OK);
    mcrx_ctx_free(m.ctx);
}
