/*
 * Fairness: deficit round robin with turn_budget over ready subscriptions.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Semantics (header): each subscription reads at most turn_budget datagrams
 * per turn before the next ready one gets its turn; a turn cut short by a
 * full array resumes on the next call. So with budget B, one flooded sub F
 * and quiet subs holding fewer than B datagrams each, the first round
 * delivers every quiet datagram and at most B of F's: F's (B+1)th packet
 * comes after every quiet packet, whatever order the round visits subs in.
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#define FILE_NO 8
#define PORT(t) ((uint16_t)(MT_PORT_BASE_FAIRNESS + 10 * (t)))
/* The port of a bed's quiet sub q. One port for all on Linux. Under Wine
 * (Windows build) a socket is a Linux socket with IP_MULTICAST_ALL on, so
 * subs sharing a port would each get every group's datagrams (filtered,
 * but they use up turn budgets): each sub gets its own port there. */
#ifdef _WIN32
#define QPORT(base, q) ((uint16_t)((base) + 1 + (q)))
#else
#define QPORT(base, q) ((uint16_t)(base))
#endif

TestSuite(fairness, .timeout = 60);

#define BUDGET 4
#define NQUIET 3
#define QUIET_EACH 3
#define FLOOD 300

struct bed {
    mcrx_ctx *ctx;
    uint64_t flood_id;
    uint64_t quiet_id[NQUIET];
    char flood_group[MCRX_IP_STRLEN];
    char quiet_group[NQUIET][MCRX_IP_STRLEN];
    uint16_t port;
    mt_sender s;
};

static void bed_up(struct bed *b, unsigned test, uint32_t max_batch)
{
    memset(b, 0, sizeof *b);
    mcrx_ctx_options o = mt_opts();
    o.turn_budget = BUDGET;
    o.max_batch = max_batch;
    o.rcvbuf_bytes = 8u << 20;
    o.sub_ring_size = 512; /* room for the whole flood on completion backends */
    b->ctx = mt_ctx_new(&o);
    b->port = PORT(test);
    snprintf(b->flood_group, sizeof b->flood_group, "%s", mt_group_asm4(FILE_NO, test));
    mcrx_config c = mt_cfg_asm4(b->flood_group, b->port, NULL);
    b->flood_id = mt_add_join(b->ctx, &c);
    for (unsigned q = 0; q < NQUIET; q++) {
        snprintf(b->quiet_group[q], sizeof b->quiet_group[q], "%s",
                 mt_group_asm4(FILE_NO, 100 + 10 * test + q));
        c = mt_cfg_asm4(b->quiet_group[q], QPORT(b->port, q), NULL);
        b->quiet_id[q] = mt_add_join(b->ctx, &c);
    }
    b->s = mt_sender_v4("127.0.0.1", "lo");
}

static void bed_down(struct bed *b)
{
    mt_sender_close(&b->s);
    mcrx_ctx_free(b->ctx);
}

/* Queue the flood first (so F is ready first), then the quiet datagrams. */
static void bed_fill(struct bed *b)
{
    mt_send_seq(&b->s, b->flood_group, b->port, "flood", 0, FLOOD);
    for (unsigned q = 0; q < NQUIET; q++) {
        char tag[8];
        snprintf(tag, sizeof tag, "q%u", q);
        mt_send_seq(&b->s, b->quiet_group[q], QPORT(b->port, q), tag, 0, QUIET_EACH);
    }
    cr_assert_eq(mcrx_ctx_wait(b->ctx, 2000), 1);
}

static int which_quiet(const struct bed *b, uint64_t id)
{
    for (int q = 0; q < NQUIET; q++)
        if (b->quiet_id[q] == id)
            return q;
    return -1;
}

/* Check the first-round property on a sequence of sub ids. */
static void expect_first_round(const struct bed *b, const uint64_t *seq, size_t n)
{
    size_t flood_seen = 0, quiet_seen = 0, pos_flood_over = 0;
    size_t last_quiet = 0;
    for (size_t i = 0; i < n; i++) {
        if (seq[i] == b->flood_id) {
            flood_seen++;
            if (flood_seen == BUDGET + 1)
                pos_flood_over = i;
        } else {
            cr_assert_geq(which_quiet(b, seq[i]), 0, "unknown sub id %llu",
                          (unsigned long long)seq[i]);
            quiet_seen++;
            last_quiet = i;
        }
    }
    cr_assert_eq(quiet_seen, (size_t)NQUIET * QUIET_EACH,
                 "quiet packets delivered: %zu of %d", quiet_seen,
                 NQUIET * QUIET_EACH);
    cr_expect_lt(last_quiet, pos_flood_over,
                 "flood packet %d (position %zu) came before the last quiet "
                 "packet (position %zu): budget %d not enforced",
                 BUDGET + 1, pos_flood_over, last_quiet, BUDGET);
    cr_expect_leq(last_quiet, (size_t)(BUDGET + NQUIET * QUIET_EACH - 1),
                  "last quiet packet at %zu: first round longer than "
                  "budget + quiet", last_quiet);
}

Test(fairness, one_batch_call_serves_quiet_subs_in_first_round)
{
    struct bed b;
    bed_up(&b, 1, 1024);
    bed_fill(&b);
    mcrx_packet p[1024];
    uint64_t seq[1024];
    size_t n = 0;
    int r = mcrx_ctx_recv_batch(b.ctx, p, 1024);
    cr_assert_gt(r, 0, "%s", mcrx_status_name(r));
    for (int i = 0; i < r; i++)
        seq[n++] = p[i].sub_id;
    /* The first call must already hold the whole first round. */
    cr_assert_geq(n, (size_t)(BUDGET + NQUIET * QUIET_EACH),
                  "first batch only %zu packets", n);
    /* Keep reading until everything arrived, for the totals. */
    int64_t deadline = mt_now_ms() + 3000;
    while (n < FLOOD + NQUIET * QUIET_EACH && mt_now_ms() < deadline) {
        r = mcrx_ctx_recv_batch(b.ctx, p, 1024);
        cr_assert_geq(r, 0);
        for (int i = 0; i < r && n < 1024; i++)
            seq[n++] = p[i].sub_id;
        if (r == 0)
            (void)mcrx_ctx_wait(b.ctx, 200);
    }
    cr_expect_eq(n, (size_t)(FLOOD + NQUIET * QUIET_EACH));
    expect_first_round(&b, seq, n);
    /* Within a turn, a sub's packets are contiguous: the first round is
     * exactly 1 + NQUIET runs. */
    size_t runs = 1;
    for (size_t i = 1; i < BUDGET + NQUIET * QUIET_EACH; i++)
        if (seq[i] != seq[i - 1])
            runs++;
    cr_expect_eq(runs, (size_t)(1 + NQUIET), "first round has %zu runs", runs);
    bed_down(&b);
}

Test(fairness, try_recv_any_sequence_is_fair)
{
    struct bed b;
    bed_up(&b, 2, 256);
    bed_fill(&b);
    uint64_t seq[FLOOD + NQUIET * QUIET_EACH];
    size_t n = 0;
    int64_t deadline = mt_now_ms() + 3000;
    while (n < sizeof seq / sizeof seq[0] && mt_now_ms() < deadline) {
        mcrx_packet p;
        int r = mcrx_ctx_try_recv_any(b.ctx, &p);
        cr_assert_geq(r, 0, "%s", mcrx_status_name(r));
        if (r == 1)
            seq[n++] = p.sub_id;
        else
            (void)mcrx_ctx_wait(b.ctx, 200);
    }
    cr_expect_eq(n, sizeof seq / sizeof seq[0]);
    expect_first_round(&b, seq, n);
    bed_down(&b);
}

/* Small arrays: a turn cut short by the array resumes on the next call. */
Test(fairness, turn_resumes_across_small_batches)
{
    struct bed b;
    bed_up(&b, 3, 256);
    bed_fill(&b);
    uint64_t seq[FLOOD + NQUIET * QUIET_EACH];
    size_t n = 0;
    int64_t deadline = mt_now_ms() + 3000;
    while (n < sizeof seq / sizeof seq[0] && mt_now_ms() < deadline) {
        mcrx_packet p[3];
        int r = mcrx_ctx_recv_batch(b.ctx, p, 3);
        cr_assert_geq(r, 0, "%s", mcrx_status_name(r));
        cr_assert_leq(r, 3);
        for (int i = 0; i < r; i++)
            seq[n++] = p[i].sub_id;
        if (r == 0)
            (void)mcrx_ctx_wait(b.ctx, 200);
    }
    cr_expect_eq(n, sizeof seq / sizeof seq[0]);
    expect_first_round(&b, seq, n);
    size_t runs = 1;
    for (size_t i = 1; i < BUDGET + NQUIET * QUIET_EACH; i++)
        if (seq[i] != seq[i - 1])
            runs++;
    cr_expect_eq(runs, (size_t)(1 + NQUIET),
                 "first round has %zu runs: a turn did not resume", runs);
    bed_down(&b);
}

/* Budget 1 with two equally loaded subs alternates strictly. */
Test(fairness, budget_one_alternates)
{
    mcrx_ctx_options o = mt_opts();
    o.turn_budget = 1;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g1 = mt_group_asm4(FILE_NO, 40), *g2 = mt_group_asm4(FILE_NO, 41);
    mcrx_config c1 = mt_cfg_asm4(g1, PORT(4), NULL),
                c2 = mt_cfg_asm4(g2, QPORT(PORT(4), 0), NULL);
    uint64_t i1 = mt_add_join(ctx, &c1), i2 = mt_add_join(ctx, &c2);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send_seq(&s, g1, PORT(4), "a", 0, 20);
    mt_send_seq(&s, g2, QPORT(PORT(4), 0), "b", 0, 20);
    cr_assert_eq(mcrx_ctx_wait(ctx, 2000), 1);
    mcrx_packet p[64];
    int r = mcrx_ctx_recv_batch(ctx, p, 64);
    cr_assert_eq(r, 40, "got %d of 40 in one call", r);
    for (int i = 1; i < r; i++)
        cr_expect_neq(p[i].sub_id, p[i - 1].sub_id,
                      "budget 1: same sub twice in a row at %d", i);
    (void)i1;
    (void)i2;
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* ---- no starvation under a continuous flood ---- */

struct flood_arg {
    const char *group;
    uint16_t port;
    atomic_bool stop;
    atomic_long sent;
};

static void *flood_thread(void *p)
{
    struct flood_arg *a = p;
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    char buf[64];
    memset(buf, 'f', sizeof buf);
    while (!atomic_load(&a->stop)) {
        mt_send(&s, a->group, a->port, buf, sizeof buf);
        atomic_fetch_add(&a->sent, 1);
    }
    mt_sender_close(&s);
    return NULL;
}

Test(fairness, no_starvation_under_continuous_flood)
{
    struct bed b;
    bed_up(&b, 5, 64);
    struct flood_arg fa = { .group = b.flood_group, .port = b.port };
    atomic_init(&fa.stop, false);
    atomic_init(&fa.sent, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, flood_thread, &fa), 0);
    /* let the flood build up a backlog */
    while (atomic_load(&fa.sent) < 5000)
        (void)mcrx_ctx_wait(b.ctx, 10);

    enum { ROUNDS = 5 };
    unsigned quiet_got[NQUIET] = { 0 };
    long flood_got = 0, flood_after_last_quiet = 0;
    int worst_calls = 0;
    int64_t deadline = mt_now_ms() + 10000;
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned q = 0; q < NQUIET; q++) {
            char tag[8];
            snprintf(tag, sizeof tag, "q%u", q);
            mt_send_seq(&b.s, b.quiet_group[q], QPORT(b.port, q), tag, round, 1);
        }
        /* the round's quiet datagrams must come within a few calls */
        int calls = 0;
        unsigned pending = NQUIET;
        while (pending > 0 && mt_now_ms() < deadline) {
            mcrx_packet p[64];
            int r = mcrx_ctx_recv_batch(b.ctx, p, 64);
            cr_assert_geq(r, 0, "%s", mcrx_status_name(r));
            calls++;
            for (int i = 0; i < r; i++) {
                int q = which_quiet(&b, p[i].sub_id);
                if (q < 0) {
                    flood_got++;
                    continue;
                }
                char want[16];
                int wl = snprintf(want, sizeof want, "q%d-%u", q, round);
                cr_expect_eq(p[i].len, (size_t)wl);
                cr_expect_arr_eq(p[i].payload, want, (size_t)wl);
                quiet_got[q]++;
                pending--;
            }
            if (r == 0)
                (void)mcrx_ctx_wait(b.ctx, 50);
        }
        if (calls > worst_calls)
            worst_calls = calls;
    }
    /* the flood is still going: it keeps being delivered too */
    int64_t until = mt_now_ms() + 100;
    while (mt_now_ms() < until) {
        mcrx_packet p[64];
        int r = mcrx_ctx_recv_batch(b.ctx, p, 64);
        cr_assert_geq(r, 0);
        flood_after_last_quiet += r;
        if (r == 0)
            (void)mcrx_ctx_wait(b.ctx, 10);
    }
    atomic_store(&fa.stop, true);
    pthread_join(t, NULL);

    for (unsigned q = 0; q < NQUIET; q++)
        cr_expect_eq(quiet_got[q], (unsigned)ROUNDS, "quiet sub %u got %u of %d",
                     q, quiet_got[q], ROUNDS);
    cr_expect_leq(worst_calls, 4,
                  "a quiet datagram needed %d receive calls under the flood",
                  worst_calls);
    cr_expect_gt(flood_got, 0);
    cr_expect_gt(flood_after_last_quiet, 0, "flood not delivered any more");
    mcrx_sub_stats st;
    for (unsigned q = 0; q < NQUIET; q++) {
        cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(b.ctx, b.quiet_id[q]), &st),
                     MCRX_OK);
        cr_expect_eq(st.kernel_drops, 0u, "quiet sub %u lost datagrams", q);
    }
    bed_down(&b);
}

/* A quiet sub that turns ready while a flood has the turn gets the very
 * next turn: at most the rest of the flood's current turn (< BUDGET
 * datagrams) comes first, never a second flood turn. Checked with
 * single-packet calls and with batch calls. */
static void quiet_waits_at_most_one_turn(unsigned test, size_t batch)
{
    struct bed b;
    bed_up(&b, test, 256);
    mt_send_seq(&b.s, b.flood_group, b.port, "flood", 0, FLOOD);
    cr_assert_eq(mcrx_ctx_wait(b.ctx, 2000), 1);
    mcrx_packet p[8];
    /* the flood is alone and has the turn: take one of its datagrams */
    int r = mcrx_ctx_recv_batch(b.ctx, p, 1);
    cr_assert_eq(r, 1);
    cr_assert_eq(p[0].sub_id, b.flood_id);
    mt_send(&b.s, b.quiet_group[0], QPORT(b.port, 0), "quiet", 5);
    size_t flood_before = 0;
    bool seen = false;
    for (int calls = 0; calls < 200 && !seen; calls++) {
        r = mcrx_ctx_recv_batch(b.ctx, p, batch);
        cr_assert_geq(r, 0, "%s", mcrx_status_name(r));
        for (int i = 0; i < r && !seen; i++) {
            if (p[i].sub_id == b.quiet_id[0])
                seen = true;
            else
                flood_before++;
        }
    }
    cr_assert(seen, "quiet datagram never delivered");
    cr_expect_lt(flood_before, (size_t)BUDGET,
                 "%zu flood datagrams came before the quiet one (budget %d): "
                 "it waited more than one turn", flood_before, BUDGET);
    bed_down(&b);
}

Test(fairness, quiet_arrival_waits_one_turn_single) { quiet_waits_at_most_one_turn(6, 1); }
Test(fairness, quiet_arrival_waits_one_turn_batch) { quiet_waits_at_most_one_turn(7, 2); }

/* More ready subscriptions than one poll reports (256): every one of them
 * is in the first round. With a turn budget of 1 and two datagrams each,
 * the first 300 packets come from 300 different subscriptions. Before
 * issue 7 the 44 subs past the first poll's 256 were left to a later
 * round, behind subs that had already had a turn. */
Test(fairness, more_ready_subs_than_one_poll_all_in_first_round, .timeout = 120)
{
    enum { NSUBS = 300 };
    mcrx_ctx_options o = mt_opts();
    o.turn_budget = 1;
    o.rcvbuf_bytes = 64 * 1024;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = "239.77.8.200";
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    for (int i = 0; i < NSUBS; i++) {
        mcrx_config c = mt_cfg_asm4(g, (uint16_t)(MT_PORT_BASE_MANY_SUBS + i), MT_V4_RX);
        (void)mt_add_join(ctx, &c);
    }
    for (int i = 0; i < NSUBS; i++)
        mt_send_seq(&s, g, (uint16_t)(MT_PORT_BASE_MANY_SUBS + i), "r", 0, 2);
    usleep(200 * 1000);
    static bool seen[NSUBS + 1];
    memset(seen, 0, sizeof seen);
    mcrx_packet p[256];
    int distinct = 0, total = 0;
    while (total < NSUBS) {
        int n = mcrx_ctx_recv_batch(ctx, p, 256);
        cr_assert_gt(n, 0, "recv_batch: %d after %d packets", n, total);
        for (int i = 0; i < n && total < NSUBS; i++, total++) {
            cr_assert_leq(p[i].sub_id, (uint64_t)NSUBS);
            if (!seen[p[i].sub_id]) {
                seen[p[i].sub_id] = true;
                distinct++;
            }
        }
    }
    cr_expect_eq(distinct, NSUBS, "the first %d packets came from %d subscriptions",
                 NSUBS, distinct);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* A sub that leaves the ready list outside its own turn (here: a leave
 * while it still waits for its turn) takes its turn out of the round. Else
 * the round ends a turn late and a quiet sub that turned ready waits an
 * extra turn of a busy one. Three flooded subs X, Y, Z (budget 4); after
 * X's turn and Y's first packet, Z leaves and quiet Q gets a datagram: Q's
 * comes after the rest of Y's turn and one turn of X, i.e. within 8
 * packets (it was the 12th before issue 7). */
Test(fairness, leave_outside_turn_shortens_the_round)
{
    enum { B = 4 };
    mcrx_ctx_options o = mt_opts();
    o.turn_budget = B;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    uint64_t ids[3];
    char groups[4][32];
    for (int i = 0; i < 4; i++) {
        snprintf(groups[i], sizeof groups[i], "%s", mt_group_asm4(FILE_NO, 60 + (unsigned)i));
        mcrx_config c = mt_cfg_asm4(groups[i], PORT(60 + i), MT_V4_RX);
        uint64_t id = mt_add_join(ctx, &c);
        if (i < 3)
            ids[i] = id;
    }
    uint64_t q = ids[2] + 1;
    for (int i = 0; i < 3; i++)
        mt_send_seq(&s, groups[i], PORT(60 + i), "f", 0, 100);
    usleep(100 * 1000);
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
    uint64_t x = p.sub_id;
    for (int k = 1; k < B; k++) {
        cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
        cr_assert_eq(p.sub_id, x, "turn of %d not contiguous", B);
    }
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
    uint64_t y = p.sub_id, z = 0;
    cr_assert_neq(y, x);
    for (int i = 0; i < 3; i++)
        if (ids[i] != x && ids[i] != y)
            z = ids[i];
    cr_assert_eq(mcrx_ctx_leave(ctx, z), MCRX_OK);
    mt_send(&s, groups[3], PORT(63), "quiet", 5);
    usleep(50 * 1000);
    int pos = 0;
    for (pos = 1; pos <= 20; pos++) {
        cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 1);
        if (p.sub_id == q)
            break;
    }
    cr_expect_leq(pos, 2 * B, "the quiet sub's datagram came %d-th (bound: the "
                  "rest of Y's turn and one turn of X = %d)", pos, 2 * B);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}
