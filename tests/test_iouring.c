/*
 * io_uring backend specifics (issue 3): buffer-ring exhaustion and
 * recovery, remove / leave / take while multishot requests are live, and
 * the run-time fallback to recvmmsg (test hook
 * MCRX_TEST_IOURING_UNAVAILABLE=1, which makes the backend's create() fail
 * with ENOSYS as a kernel without io_uring would).
 * Built and run only when the io_uring backend is compiled in; every
 * context here asks for MCRX_BACKEND_IOURING explicitly (or for the default
 * backend, in the fallback tests).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 13
#define PORT(t) ((uint16_t)(MT_PORT_BASE_IOURING + 10 * (t)))

TestSuite(iouring, .timeout = 120);

#define HOOK "MCRX_TEST_IOURING_UNAVAILABLE"

/* A context on io_uring, whatever MCRX_TEST_BACKEND says. */
static mcrx_ctx *ur_ctx_new(mcrx_ctx_options *o)
{
    o->backend = MCRX_BACKEND_IOURING;
    mcrx_ctx *ctx = NULL;
    errno = 0;
    int rc = mcrx_ctx_new(&ctx, o);
    cr_assert_eq(rc, MCRX_OK, "mcrx_ctx_new(io_uring) = %s, errno %d (%s)",
                 mcrx_status_name(rc), errno, strerror(errno));
    cr_assert_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_IOURING);
    cr_assert_not(mcrx_ctx_backend_fell_back(ctx));
    return ctx;
}

static mcrx_ctx_options ur_opts(void)
{
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    o.backend = MCRX_BACKEND_IOURING;
    return o;
}

static mcrx_sub_stats stats_of(mcrx_ctx *ctx, uint64_t id)
{
    mcrx_sub_stats st;
    mcrx_sub *sub = mcrx_ctx_get(ctx, id);
    cr_assert_not_null(sub, "no sub %llu", (unsigned long long)id);
    cr_assert_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
    return st;
}

static uint64_t filtered_of(const mcrx_sub_stats *st)
{
    return st->filtered_group + st->filtered_source + st->filtered_interface +
           st->filtered_no_pktinfo;
}

/* ------------------------------------------------------------------ */
/* Sequence-numbered, padded payloads: "<tag>-<n>" then '.' up to len.  */
/* ------------------------------------------------------------------ */

#define PAD_LEN 200

static void send_padded(const mt_sender *s, const char *group, uint16_t port,
                        const char *tag, unsigned n)
{
    char buf[PAD_LEN];
    memset(buf, '.', sizeof buf);
    int k = snprintf(buf, sizeof buf, "%s-%u", tag, n);
    buf[k] = '.'; /* no NUL on the wire */
    mt_send(s, group, port, buf, sizeof buf);
}

/* The sequence number of a "<tag>-<n>[...]" payload, or -1. */
static long seq_of(const mcrx_packet *p, const char *tag)
{
    size_t tl = strlen(tag);
    if (p->len < tl + 2 || memcmp(p->payload, tag, tl) != 0 ||
        p->payload[tl] != '-')
        return -1;
    long v = 0;
    size_t i = tl + 1;
    if (p->payload[i] < '0' || p->payload[i] > '9')
        return -1;
    for (; i < p->len && p->payload[i] >= '0' && p->payload[i] <= '9'; i++)
        v = v * 10 + (p->payload[i] - '0');
    for (; i < p->len; i++)
        if (p->payload[i] != '.')
            return -1;
    return v;
}

/* Per-subscription expectations while draining: packets of `id` carry
 * "<tag>-<n>" with n strictly increasing (the kernel keeps a socket's
 * order; a recycled buffer handed out twice, or a stale view, breaks it). */
struct seqcheck {
    uint64_t id;
    const char *tag;
    long last;     /* last sequence number seen, -1 before the first */
    uint64_t n;    /* packets seen */
    size_t len;    /* expected payload length */
};

static void seq_take(struct seqcheck *sc, size_t nsc, const mcrx_packet *p)
{
    struct seqcheck *c = NULL;
    for (size_t k = 0; k < nsc; k++)
        if (sc[k].id == p->sub_id)
            c = &sc[k];
    cr_assert_not_null(c, "packet of unexpected sub %llu",
                       (unsigned long long)p->sub_id);
    cr_assert_eq(p->len, c->len, "sub %llu: len %zu, want %zu",
                 (unsigned long long)p->sub_id, p->len, c->len);
    cr_assert_eq(p->wire_len, c->len);
    cr_assert_eq(p->flags & MCRX_PKT_TRUNCATED, 0u);
    long v = seq_of(p, c->tag);
    cr_assert_geq(v, 0, "sub %llu: payload is not '%s-<n>' (%.*s)",
                  (unsigned long long)p->sub_id, c->tag,
                  (int)(p->len < 40 ? p->len : 40), (const char *)p->payload);
    cr_assert_gt(v, c->last, "sub %llu: %s-%ld after %s-%ld (duplicate or "
                 "reordered: buffer recycled too early?)",
                 (unsigned long long)p->sub_id, c->tag, v, c->tag, c->last);
    c->last = v;
    c->n++;
}

/* mcrx_ctx_wait + mcrx_ctx_recv_batch until a wait times out after
 * quiet_ms of silence; checks every packet. Returns packets received. */
static long drain_checked(mcrx_ctx *ctx, struct seqcheck *sc, size_t nsc,
                          int quiet_ms)
{
    mcrx_packet batch[64];
    long total = 0;
    for (;;) {
        int r = mcrx_ctx_recv_batch(ctx, batch, 64);
        cr_assert_geq(r, 0, "recv_batch = %s, errno %d", mcrx_status_name(r),
                      errno);
        cr_assert_leq(r, 64);
        for (int i = 0; i < r; i++)
            seq_take(sc, nsc, &batch[i]);
        total += r;
        if (r == 0) {
            r = mcrx_ctx_wait(ctx, quiet_ms);
            cr_assert_geq(r, 0, "wait = %s", mcrx_status_name(r));
            if (r == 0)
                return total;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Buffer-ring exhaustion                                              */
/* ------------------------------------------------------------------ */

/* A ring of 4 buffers per subscription and a 1000-datagram burst queued
 * before anything is received: the ring runs empty (drop events), the
 * request is re-armed as buffers come back, and every datagram is either
 * delivered or a counted kernel drop. The quiet second subscription gets
 * all of its 10. Then it keeps receiving. */
static void exhaust(unsigned test, uint32_t rcvbuf_bytes)
{
    enum { BURST = 1000, QUIET = 10, MORE = 100 };
    mcrx_ctx_options o = ur_opts();
    o.sub_ring_size = 4;
    o.rcvbuf_bytes = rcvbuf_bytes;
    mcrx_ctx *ctx = ur_ctx_new(&o);
    mcrx_ctx_options got_o;
    mcrx_ctx_get_options(ctx, &got_o);
    cr_assert_eq(got_o.sub_ring_size, 4u);

    const char *g1 = mt_group_asm4(FILE_NO, test);
    const char *g2 = mt_group_asm4(FILE_NO, test + 100);
    mcrx_config c1 = mt_cfg_asm4(g1, PORT(test), NULL);
    mcrx_config c2 = mt_cfg_asm4(g2, PORT(test) + 1, NULL);
    uint64_t id1 = mt_add_join(ctx, &c1);
    uint64_t id2 = mt_add_join(ctx, &c2);
    uint32_t granted = mcrx_sub_rcvbuf(mcrx_ctx_get(ctx, id1));

    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    for (unsigned i = 0; i < BURST; i++) {
        send_padded(&s, g1, PORT(test), "a", i);
        if (i % (BURST / QUIET) == BURST / QUIET / 2)
            send_padded(&s, g2, PORT(test) + 1, "b", i / (BURST / QUIET));
    }

    struct seqcheck sc[2] = {
        { id1, "a", -1, 0, PAD_LEN },
        { id2, "b", -1, 0, PAD_LEN },
    };
    long got = drain_checked(ctx, sc, 2, 300);
    mcrx_sub_stats s1 = stats_of(ctx, id1), s2 = stats_of(ctx, id2);
    cr_log_info("rcvbuf request %u granted %u: sub1 delivered %llu, kernel "
                "drops %llu, ring-empty events %llu",
                rcvbuf_bytes, granted, (unsigned long long)s1.packets,
                (unsigned long long)s1.kernel_drops,
                (unsigned long long)s1.backend_drop_events);

    cr_expect_eq((uint64_t)got, sc[0].n + sc[1].n);
    cr_expect_eq(s1.packets, sc[0].n, "stats.packets %llu, seen %llu",
                 (unsigned long long)s1.packets, (unsigned long long)sc[0].n);
    cr_expect_eq(filtered_of(&s1), 0u);
    cr_expect_eq(s1.recv_errors, 0u);
    cr_expect_eq(s1.packets + s1.kernel_drops, (uint64_t)BURST,
                 "delivered %llu + kernel_drops %llu != sent %d",
                 (unsigned long long)s1.packets,
                 (unsigned long long)s1.kernel_drops, BURST);
    cr_expect_gt(s1.backend_drop_events, 0u,
                 "a %d-datagram burst into a 4-buffer ring never ran it empty",
                 BURST);
    cr_expect_eq(s2.packets, (uint64_t)QUIET, "quiet sub got %llu of %d",
                 (unsigned long long)s2.packets, QUIET);
    cr_expect_eq(sc[1].n, (uint64_t)QUIET);
    cr_expect_eq(s2.kernel_drops, 0u);
    cr_expect_eq(s2.recv_errors, 0u);
    if (rcvbuf_bytes == 0) {
        /* each queued datagram costs well over 700 bytes of the buffer */
        if (granted < (uint32_t)BURST * 700u)
            cr_expect_gt(s1.kernel_drops, 0u, "rcvbuf %u cannot hold %d "
                         "datagrams, yet no kernel drop was counted",
                         granted, BURST);
    } else {
        cr_expect_eq(s1.kernel_drops, 0u, "kernel drops with rcvbuf %u",
                     granted);
        cr_expect_eq(s1.packets, (uint64_t)BURST);
        cr_expect_eq(sc[0].last, BURST - 1);
    }

    /* It recovers: 100 more, all delivered, and the totals add up. */
    for (unsigned i = BURST; i < BURST + MORE; i++)
        send_padded(&s, g1, PORT(test), "a", i);
    drain_checked(ctx, sc, 2, 300);
    mcrx_sub_stats t1 = stats_of(ctx, id1);
    cr_expect_eq(t1.packets - s1.packets, (uint64_t)MORE,
                 "after the exhaustion %llu of %d more were delivered",
                 (unsigned long long)(t1.packets - s1.packets), MORE);
    cr_expect_eq(t1.packets + t1.kernel_drops, (uint64_t)(BURST + MORE),
                 "delivered %llu + kernel_drops %llu != sent %d",
                 (unsigned long long)t1.packets,
                 (unsigned long long)t1.kernel_drops, BURST + MORE);
    cr_expect_eq(sc[0].last, BURST + MORE - 1);
    cr_expect_eq(t1.recv_errors, 0u);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(iouring, ring_exhaustion_kernel_default_rcvbuf)
{
    exhaust(1, 0);
}

Test(iouring, ring_exhaustion_big_rcvbuf_no_loss)
{
    exhaust(2, 8u << 20);
}

/* ------------------------------------------------------------------ */
/* Remove / leave / take while requests are live                       */
/* ------------------------------------------------------------------ */

struct flood {
    int fd;
    struct sockaddr_in dst;
    atomic_bool stop;
    atomic_ulong sent;
};

/* Plain sendto in a loop (no Criterion assertion outside the test's
 * thread). */
static void *flood_main(void *arg)
{
    struct flood *f = arg;
    char buf[64];
    memset(buf, 'f', sizeof buf);
    unsigned long n = 0;
    while (!atomic_load(&f->stop)) {
        int k = snprintf(buf, sizeof buf, "f-%lu", n);
        buf[k] = '.';
        if (sendto(f->fd, buf, sizeof buf, 0, (struct sockaddr *)&f->dst,
                   sizeof f->dst) == (ssize_t)sizeof buf)
            n++;
        if (n % 32 == 0)
            sched_yield();
    }
    atomic_store(&f->sent, n);
    return NULL;
}

static void flood_start(struct flood *f, pthread_t *th, const mt_sender *s,
                        const char *group, uint16_t port)
{
    memset(f, 0, sizeof *f);
    f->fd = s->fd;
    f->dst.sin_family = AF_INET;
    f->dst.sin_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET, group, &f->dst.sin_addr), 1);
    atomic_init(&f->stop, false);
    atomic_init(&f->sent, 0);
    cr_assert_eq(pthread_create(th, NULL, flood_main, f), 0);
}

static unsigned long flood_stop(struct flood *f, pthread_t th)
{
    atomic_store(&f->stop, true);
    cr_assert_eq(pthread_join(th, NULL), 0);
    return atomic_load(&f->sent);
}

/* While another thread floods one group, 200 times: add + join a flooded
 * and a quiet subscription, receive part of what arrived (so the multishot
 * request is live, buffers are in every state), then remove / leave +
 * remove / take + use + free / free the flooded one. Views of the quiet
 * sub handed out by the same call must stay readable after the flooded
 * sub is removed. ASan catches a use-after-free; the fd count must not
 * move. */
Test(iouring, remove_leave_take_while_flooded, .timeout = 180)
{
    enum { ROUNDS = 200 };
    int fds_start = mt_count_fds();
    mcrx_ctx_options o = ur_opts();
    o.sub_ring_size = 16;
    o.rcvbuf_bytes = 256u << 10;
    mcrx_ctx *ctx = ur_ctx_new(&o);
    const char *gf = mt_group_asm4(FILE_NO, 3);
    const char *gq = mt_group_asm4(FILE_NO, 103);
    mcrx_config cf = mt_cfg_asm4(gf, PORT(3), NULL);
    mcrx_config cq = mt_cfg_asm4(gq, PORT(3) + 1, NULL);
    mt_sender fs = mt_sender_v4("127.0.0.1", "lo");
    mt_sender qs = mt_sender_v4("127.0.0.1", "lo");
    int fds_ctx = mt_count_fds();

    struct flood f;
    pthread_t th;
    flood_start(&f, &th, &fs, gf, PORT(3));

    unsigned long flooded_got = 0, taken_got = 0, views_checked = 0;
    mcrx_packet batch[32];
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t a = mt_add_join(ctx, &cf);
        uint64_t b = mt_add_join(ctx, &cq);
        mt_send_seq(&qs, gq, PORT(3) + 1, "q", i, 2);

        /* Receive part of it: a few batches of 1..32 packets. */
        int kept = 0;
        for (unsigned k = 0; k < 1 + i % 3; k++) {
            int w = mcrx_ctx_wait(ctx, 2000);
            cr_assert_geq(w, 0, "round %u: wait %s", i, mcrx_status_name(w));
            int r = mcrx_ctx_recv_batch(ctx, batch, 1 + i % 32);
            cr_assert_geq(r, 0, "round %u: recv_batch %s", i,
                          mcrx_status_name(r));
            kept = r;
            for (int j = 0; j < r; j++) {
                cr_assert(batch[j].sub_id == a || batch[j].sub_id == b,
                          "round %u: packet of sub %llu (a %llu, b %llu)", i,
                          (unsigned long long)batch[j].sub_id,
                          (unsigned long long)a, (unsigned long long)b);
                if (batch[j].sub_id == a)
                    flooded_got++;
            }
        }

        int rc;
        mcrx_sub *t = NULL;
        switch (i % 4) {
        case 0: /* remove while the request is live */
            rc = mcrx_ctx_remove(ctx, a);
            cr_assert_eq(rc, MCRX_OK, "round %u: remove %s", i,
                         mcrx_status_name(rc));
            break;
        case 1: /* leave while live, then remove */
            rc = mcrx_ctx_leave(ctx, a);
            cr_assert_eq(rc, MCRX_OK, "round %u: leave %s", i,
                         mcrx_status_name(rc));
            cr_assert_eq(mcrx_ctx_remove(ctx, a), MCRX_OK);
            break;
        case 2: /* take while live; the extracted sub still receives */
            rc = mcrx_ctx_take(ctx, a, &t);
            cr_assert_eq(rc, MCRX_OK, "round %u: take %s", i,
                         mcrx_status_name(rc));
            break;
        case 3: /* leave, join again, remove */
            cr_assert_eq(mcrx_ctx_leave(ctx, a), MCRX_OK);
            cr_assert_eq(mcrx_ctx_join(ctx, a), MCRX_OK);
            cr_assert_eq(mcrx_ctx_remove(ctx, a), MCRX_OK);
            break;
        }
        cr_assert_not(mcrx_ctx_contains(ctx, a));

        /* The quiet sub's views from the last call are still valid: no
         * receive call on ctx happened since (remove/take are not). */
        for (int j = 0; j < kept; j++) {
            if (batch[j].sub_id != b)
                continue;
            char want0[32], want1[32];
            int l0 = snprintf(want0, sizeof want0, "q-%u", i);
            int l1 = snprintf(want1, sizeof want1, "q-%u", i + 1);
            bool ok = (batch[j].len == (size_t)l0 &&
                       memcmp(batch[j].payload, want0, (size_t)l0) == 0) ||
                      (batch[j].len == (size_t)l1 &&
                       memcmp(batch[j].payload, want1, (size_t)l1) == 0);
            cr_assert(ok, "round %u: quiet sub's view reads '%.*s' after the "
                      "flooded sub was removed/taken (want %s or %s)", i,
                      (int)(batch[j].len < 32 ? batch[j].len : 32),
                      (const char *)batch[j].payload, want0, want1);
            views_checked++;
        }

        if (t != NULL) {
            mt_pkt k;
            int r = mt_sub_recv(t, NULL, &k, false, 2000);
            cr_assert_eq(r, 1, "round %u: taken sub did not receive (%s)", i,
                         r < 0 ? mcrx_status_name(r) : "timeout");
            cr_assert_eq(k.p.sub_id, a);
            cr_assert_eq(k.data[0], 'f');
            mt_pkt_free(&k);
            taken_got++;
            cr_assert_eq(mcrx_sub_free(t), MCRX_OK);
        }
        cr_assert_eq(mcrx_ctx_remove(ctx, b), MCRX_OK);
        cr_assert_eq(mcrx_ctx_count(ctx), 0u);
    }
    unsigned long sent = flood_stop(&f, th);
    cr_log_info("flood sent %lu, flooded sub delivered %lu, taken subs %lu, "
                "quiet views checked %lu", sent, flooded_got, taken_got,
                views_checked);
    cr_expect_gt(flooded_got, 0u, "the flooded sub never delivered");
    cr_expect_eq(taken_got, ROUNDS / 4);

    /* Still healthy afterwards. */
    uint64_t z = mt_add_join(ctx, &cq);
    mt_send(&qs, gq, PORT(3) + 1, "alive", 5);
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1);
    cr_expect_eq(k.p.sub_id, z);
    cr_expect_arr_eq(k.data, "alive", 5);
    mt_pkt_free(&k);
    cr_assert_eq(mcrx_ctx_remove(ctx, z), MCRX_OK);

    cr_expect_eq(mt_count_fds(), fds_ctx, "fds %d with the context before, %d "
                 "after %d rounds", fds_ctx, mt_count_fds(), ROUNDS);
    mt_sender_close(&fs);
    mt_sender_close(&qs);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), fds_start, "fds %d at start, %d at the end",
                 fds_start, mt_count_fds());
    MT_EXPECT_NO_LEAK();
}

/* An independent plain socket joined to the same group and port (on lo):
 * the kernel hands a multicast datagram to every member socket in the
 * same pass, so once the observer holds all n, the subscription's socket
 * got them too (or counted a drop). No sleeping to "let things settle". */
static int observer_open(const char *group, uint16_t port)
{
    int fd = mt_udp_socket_joined4(port, group, "lo");
    int big = 1 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
}

static void observer_expect(int fd, unsigned n, unsigned round)
{
    char buf[2048];
    for (unsigned k = 0; k < n; k++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        cr_assert_eq(poll(&p, 1, 2000), 1, "round %u: observer got %u of %u",
                     round, k, n);
        cr_assert_eq(recv(fd, buf, sizeof buf, MSG_DONTWAIT), PAD_LEN);
    }
}

/* Datagrams still in the socket's queue: read them straight off the fd
 * (allowed: after a leave or into_parts the library no longer reads it). */
static unsigned drain_fd(int fd)
{
    unsigned n = 0;
    char buf[2048];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        n++;
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
              strerror(errno));
    return n;
}

/* A queued burst, part of it received, then leave (or take) while the
 * multishot request is live, 200 times. Nothing vanishes: what was sent is
 * delivered, counted as discarded (harvested by io_uring but never handed
 * out), a kernel drop, or still in the socket queue (after a leave), and
 * after a re-join / take the rest arrives. */
Test(iouring, leave_or_take_in_flight_accounting, .timeout = 180)
{
    enum { ROUNDS = 200 };
    int fds_start = mt_count_fds();
    mcrx_ctx_options o = ur_opts();
    o.sub_ring_size = 16;
    mcrx_ctx *ctx = ur_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, 4);
    mcrx_config c = mt_cfg_asm4(g, PORT(4), NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    int obs = observer_open(g, PORT(4));
    int fds_ctx = mt_count_fds();
    uint64_t discarded_total = 0, queued_total = 0;

    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned sent = 10 + (i * 7) % 50;
        unsigned want = (i * 13) % (sent + 1); /* receive this many first */
        uint64_t id = mt_add_join(ctx, &c);
        for (unsigned k = 0; k < sent; k++)
            send_padded(&s, g, PORT(4), "L", k);
        observer_expect(obs, sent, i);
        struct seqcheck sc = { id, "L", -1, 0, PAD_LEN };
        for (unsigned k = 0; k < want; k++) {
            mcrx_packet p;
            int r;
            while ((r = mcrx_ctx_try_recv_any(ctx, &p)) == 0)
                cr_assert_geq(mcrx_ctx_wait(ctx, 2000), 1,
                              "round %u: packet %u of %u never came", i, k,
                              sent);
            cr_assert_eq(r, 1, "round %u: try_recv_any %s", i,
                         mcrx_status_name(r));
            seq_take(&sc, 1, &p);
        }
        uint64_t delivered = sc.n;

        switch (i % 3) {
        case 0: { /* leave; count what is left in the queue by hand */
            cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
            mcrx_sub_stats st = stats_of(ctx, id);
            unsigned queued = drain_fd(mcrx_sub_fd(mcrx_ctx_get(ctx, id)));
            cr_assert_eq(st.packets, delivered);
            cr_assert_eq(st.packets + st.discarded + st.kernel_drops + queued,
                         (uint64_t)sent,
                         "round %u (leave): delivered %llu + discarded %llu + "
                         "kernel_drops %llu + still queued %u != sent %u", i,
                         (unsigned long long)st.packets,
                         (unsigned long long)st.discarded,
                         (unsigned long long)st.kernel_drops, queued, sent);
            discarded_total += st.discarded;
            queued_total += queued;
            break;
        }
        case 1: { /* leave, join again: the queued rest arrives */
            cr_assert_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
            mcrx_sub_stats st = stats_of(ctx, id);
            cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
            drain_checked(ctx, &sc, 1, 50);
            mcrx_sub_stats st2 = stats_of(ctx, id);
            cr_assert_eq(st2.packets, sc.n);
            cr_assert_eq(st2.discarded, st.discarded);
            cr_assert_eq(st2.packets + st2.discarded + st2.kernel_drops,
                         (uint64_t)sent,
                         "round %u (leave+join): delivered %llu + discarded "
                         "%llu + kernel_drops %llu != sent %u", i,
                         (unsigned long long)st2.packets,
                         (unsigned long long)st2.discarded,
                         (unsigned long long)st2.kernel_drops, sent);
            discarded_total += st2.discarded;
            break;
        }
        case 2: { /* take: the extracted sub receives the rest */
            mcrx_sub *t = NULL;
            cr_assert_eq(mcrx_ctx_take(ctx, id, &t), MCRX_OK);
            uint64_t more = 0;
            mt_pkt k;
            int r;
            while ((r = mt_sub_recv(t, NULL, &k, false, 50)) == 1) {
                seq_take(&sc, 1, &k.p);
                mt_pkt_free(&k);
                more++;
            }
            cr_assert_eq(r, 0, "round %u: taken sub recv %s", i,
                         mcrx_status_name(r));
            mcrx_sub_stats st;
            cr_assert_eq(mcrx_sub_get_stats(t, &st), MCRX_OK);
            cr_assert_eq(st.packets, delivered + more);
            cr_assert_eq(st.packets + st.discarded + st.kernel_drops,
                         (uint64_t)sent,
                         "round %u (take): delivered %llu + discarded %llu + "
                         "kernel_drops %llu != sent %u", i,
                         (unsigned long long)st.packets,
                         (unsigned long long)st.discarded,
                         (unsigned long long)st.kernel_drops, sent);
            discarded_total += st.discarded;
            cr_assert_eq(mcrx_sub_free(t), MCRX_OK);
            break;
        }
        }
        if (mcrx_ctx_contains(ctx, id))
            cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    }
    cr_log_info("discarded %llu, left queued after leave %llu",
                (unsigned long long)discarded_total,
                (unsigned long long)queued_total);
    cr_expect_eq(mt_count_fds(), fds_ctx);
    close(obs);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), fds_start);
    MT_EXPECT_NO_LEAK();
}

/* Freeing the whole context with live requests, full rings and handed-out
 * views, many times. */
Test(iouring, free_context_while_in_flight)
{
    int fds_start = mt_count_fds();
    const char *g = mt_group_asm4(FILE_NO, 5);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    int fds_sender = mt_count_fds();
    for (unsigned i = 0; i < 100; i++) {
        mcrx_ctx_options o = ur_opts();
        o.sub_ring_size = 8;
        mcrx_ctx *ctx = ur_ctx_new(&o);
        mcrx_config c = mt_cfg_asm4(g, PORT(5), NULL);
        mt_add_join(ctx, &c);
        mcrx_config c2 = mt_cfg_asm4(g, PORT(5) + 1, NULL);
        mt_add_join(ctx, &c2);
        for (unsigned k = 0; k < 40; k++) {
            send_padded(&s, g, PORT(5), "x", k);
            send_padded(&s, g, PORT(5) + 1, "x", k);
        }
        mcrx_packet batch[8];
        if (i % 2 == 0) {
            cr_assert_geq(mcrx_ctx_wait(ctx, 2000), 1);
            cr_assert_geq(mcrx_ctx_recv_batch(ctx, batch, 1 + i % 8), 0);
        }
        mcrx_ctx_free(ctx);
    }
    cr_expect_eq(mt_count_fds(), fds_sender);
    mt_sender_close(&s);
    cr_expect_eq(mt_count_fds(), fds_start);
    MT_EXPECT_NO_LEAK();
}

/* ------------------------------------------------------------------ */
/* Fallback (test hook)                                                */
/* ------------------------------------------------------------------ */

/* Whether the build's default backend is io_uring (and runs here). */
static bool default_is_iouring(void)
{
    mcrx_ctx *ctx = NULL;
    int rc = mcrx_ctx_new(&ctx, NULL);
    cr_assert_eq(rc, MCRX_OK, "default context: %s", mcrx_status_name(rc));
    bool yes = mcrx_ctx_backend(ctx) == MCRX_BACKEND_IOURING;
    cr_assert_not(mcrx_ctx_backend_fell_back(ctx),
                  "the default context fell back to %s without the hook: "
                  "io_uring does not run on this machine",
                  mcrx_backend_name(mcrx_ctx_backend(ctx)));
    mcrx_ctx_free(ctx);
    return yes;
}

/* One datagram through ctx (IPv4 ASM on lo). */
static void expect_receives(mcrx_ctx *ctx, unsigned test, const char *what)
{
    const char *g = mt_group_asm4(FILE_NO, test);
    mcrx_config c = mt_cfg_asm4(g, PORT(test), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(test), what, strlen(what));
    mt_pkt k;
    cr_assert_eq(mt_recv(ctx, &k, true, 2000), 1, "%s: nothing received", what);
    cr_expect_eq(k.p.sub_id, id);
    cr_expect_str_eq((const char *)k.data, what);
    cr_expect(k.m.flags & MCRX_META_DESTINATION);
    mt_pkt_free(&k);
    mt_sender_close(&s);
    cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
}

Test(iouring, hook_default_context_falls_back_to_recvmmsg)
{
    cr_assert(mcrx_backend_compiled(MCRX_BACKEND_IOURING));
    cr_assert(mcrx_backend_compiled(MCRX_BACKEND_RECVMMSG));
    unsetenv(HOOK);
    if (!default_is_iouring())
        cr_skip_test("the build's default backend is recvmmsg: nothing to "
                     "fall back from");
    cr_assert_eq(setenv(HOOK, "1", 1), 0);
    mcrx_ctx *ctx = NULL;
    int rc = mcrx_ctx_new(&ctx, NULL); /* MCRX_BACKEND_DEFAULT */
    cr_assert_eq(rc, MCRX_OK, "default context with io_uring unavailable: %s",
                 mcrx_status_name(rc));
    cr_expect_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_RECVMMSG, "runs %s",
                 mcrx_backend_name(mcrx_ctx_backend(ctx)));
    cr_expect(mcrx_ctx_backend_fell_back(ctx), "fell_back not reported");
    cr_expect_geq(mcrx_ctx_fd(ctx), 0);
    expect_receives(ctx, 6, "fallen back");
    mcrx_ctx_free(ctx);

    /* Explicit options with DEFAULT too. */
    mcrx_ctx_options d;
    mcrx_ctx_options_init(&d);
    d.backend = MCRX_BACKEND_DEFAULT;
    ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, &d), MCRX_OK);
    cr_expect_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_RECVMMSG);
    cr_expect(mcrx_ctx_backend_fell_back(ctx));
    mcrx_ctx_free(ctx);
    unsetenv(HOOK);
}

Test(iouring, hook_explicit_iouring_fails_with_enosys)
{
    cr_assert_eq(setenv(HOOK, "1", 1), 0);
    int fds = mt_count_fds();
    mcrx_ctx_options o = ur_opts();
    mcrx_ctx *sentinel = (mcrx_ctx *)(uintptr_t)0x1234;
    mcrx_ctx *ctx = sentinel;
    errno = 0;
    int rc = mcrx_ctx_new(&ctx, &o);
    int err = errno;
    cr_expect_eq(rc, MCRX_E_BACKEND_UNAVAILABLE, "explicit io_uring with the "
                 "hook: %s, want MCRX_E_BACKEND_UNAVAILABLE",
                 mcrx_status_name(rc));
    cr_expect_eq(err, ENOSYS, "errno %d (%s), want ENOSYS", err, strerror(err));
    cr_expect_eq(ctx, sentinel, "*out changed on failure");
    cr_expect_eq(mt_count_fds(), fds, "a failed create left fds open");
    if (rc == MCRX_OK && ctx != sentinel)
        mcrx_ctx_free(ctx);
    cr_expect_str_neq(mcrx_strerror(rc), "");

    /* recvmmsg asked explicitly is not affected and does not "fall back" */
    mcrx_ctx_options r;
    mcrx_ctx_options_init(&r);
    r.backend = MCRX_BACKEND_RECVMMSG;
    ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, &r), MCRX_OK);
    cr_expect_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_RECVMMSG);
    cr_expect_not(mcrx_ctx_backend_fell_back(ctx));
    expect_receives(ctx, 7, "explicit recvmmsg");
    mcrx_ctx_free(ctx);
    unsetenv(HOOK);
}

/* The hook is read at each create: after unsetenv io_uring works again,
 * and other values than "1" do not trigger it. */
Test(iouring, hook_off_iouring_works_again)
{
    cr_assert_eq(setenv(HOOK, "1", 1), 0);
    mcrx_ctx_options o = ur_opts();
    mcrx_ctx *ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, &o), MCRX_E_BACKEND_UNAVAILABLE);
    cr_assert_null(ctx);

    cr_assert_eq(unsetenv(HOOK), 0);
    ctx = ur_ctx_new(&o);
    expect_receives(ctx, 8, "io_uring again");
    mcrx_ctx_free(ctx);

    bool def_uring = default_is_iouring();
    ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, NULL), MCRX_OK);
    cr_expect_not(mcrx_ctx_backend_fell_back(ctx));
    if (def_uring)
        cr_expect_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_IOURING);
    mcrx_ctx_free(ctx);

    cr_assert_eq(setenv(HOOK, "0", 1), 0);
    ctx = ur_ctx_new(&o);
    mcrx_ctx_free(ctx);
    unsetenv(HOOK);
}

/* Any set-up failure of the default backend falls back and says why:
 * ENOMEM (memlock / memory accounting limits) and a failed eventfd
 * registration used to be returned to the caller instead. An explicit
 * io_uring still reports the failure. */
static void falls_back_on(const char *stage, int want_status, int want_os_error,
                          unsigned t)
{
    if (!default_is_iouring())
        cr_skip_test("the build's default backend is recvmmsg: nothing to "
                     "fall back from");
    cr_assert_eq(setenv("MCRX_TEST_IOURING_FAIL", stage, 1), 0);
    mcrx_ctx *ctx = NULL;
    int rc = mcrx_ctx_new(&ctx, NULL);
    cr_assert_eq(rc, MCRX_OK, "%s: default context: %s", stage, mcrx_status_name(rc));
    cr_expect_eq(mcrx_ctx_backend(ctx), MCRX_BACKEND_RECVMMSG);
    cr_expect(mcrx_ctx_backend_fell_back(ctx), "%s: fell_back not reported", stage);
    int os_error = 0;
    cr_expect_eq(mcrx_ctx_fallback_reason(ctx, &os_error), want_status,
                 "%s: reason %s", stage, mcrx_status_name(mcrx_ctx_fallback_reason(ctx, NULL)));
    cr_expect_eq(os_error, want_os_error, "%s: os error %d", stage, os_error);
    expect_receives(ctx, t, stage);
    mcrx_ctx_free(ctx);

    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    o.backend = MCRX_BACKEND_IOURING;
    ctx = NULL;
    cr_expect_eq(mcrx_ctx_new(&ctx, &o), want_status, "%s: explicit io_uring", stage);
    cr_expect_eq(mcrx_last_os_error(), want_os_error);
    cr_expect_null(ctx);
    unsetenv("MCRX_TEST_IOURING_FAIL");
}

Test(iouring, default_falls_back_on_enomem) { falls_back_on("enomem", MCRX_E_NO_MEMORY, ENOMEM, 47); }
Test(iouring, default_falls_back_on_eventfd_registration)
{
    falls_back_on("eventfd", MCRX_E_WAIT, EBADF, 48);
}
