/*
 * Metrics (include/mcrx/mcrx_metrics.h): counters against exact traffic,
 * filtered counts by reason against deliberately wrong traffic, kernel
 * drops against the kernel's own count, delta and rate arithmetic (resets
 * after remove included), the thread rule, and the text exports checked by
 * independent parsers (Python's json, promtool, prometheus_client).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcrx/mcrx_metrics.h"

#define FILE_NO 15
#define PORT(t) ((uint16_t)(MT_PORT_BASE_METRICS + 10 * (t)))

TestSuite(metrics, .timeout = 60);

/* ---- helpers ---- */

/* Skip the test in a -Dmetrics=false build (where only the "disabled"
 * test below has something to check). */
static void need_metrics(mcrx_ctx *ctx, mcrx_metrics_snapshot *snap)
{
    int st = mcrx_ctx_metrics_snapshot(ctx, snap);
    if (st == MCRX_E_METRICS_DISABLED)
        cr_skip_test("library built with -Dmetrics=false");
    cr_assert_eq(st, MCRX_OK, "snapshot: %s", mcrx_status_name(st));
}

static mcrx_metrics_snapshot *snap_new(void)
{
    mcrx_metrics_snapshot *s = NULL;
    cr_assert_eq(mcrx_metrics_snapshot_new(&s), MCRX_OK);
    return s;
}

static void snap_take(mcrx_ctx *ctx, mcrx_metrics_snapshot *s)
{
    int st = mcrx_ctx_metrics_snapshot(ctx, s);
    cr_assert_eq(st, MCRX_OK, "snapshot: %s", mcrx_status_name(st));
}

static const mcrx_sub_metrics *sub_of(const mcrx_metrics_snapshot *s, uint64_t id)
{
    for (size_t i = 0; i < s->sub_count; i++)
        if (s->subs[i].id == id)
            return &s->subs[i];
    return NULL;
}

/* A UDP socket on port that already holds an SSM membership of (group,
 * source) on ifname: added to the library with the library's own source,
 * the kernel then admits both sources and the library must tell them
 * apart (filtered_source). */
static int socket_with_source(int family, uint16_t port, const char *group,
                              const char *source, const char *ifname)
{
    int fd = mt_udp_socket(family, port);
    struct group_source_req r;
    memset(&r, 0, sizeof r);
    r.gsr_interface = mt_ifindex(ifname);
    if (family == AF_INET) {
        struct sockaddr_in *g = (struct sockaddr_in *)&r.gsr_group;
        struct sockaddr_in *s = (struct sockaddr_in *)&r.gsr_source;
        g->sin_family = s->sin_family = AF_INET;
        cr_assert_eq(inet_pton(AF_INET, group, &g->sin_addr), 1);
        cr_assert_eq(inet_pton(AF_INET, source, &s->sin_addr), 1);
    } else {
        struct sockaddr_in6 *g = (struct sockaddr_in6 *)&r.gsr_group;
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&r.gsr_source;
        g->sin6_family = s->sin6_family = AF_INET6;
        cr_assert_eq(inet_pton(AF_INET6, group, &g->sin6_addr), 1);
        cr_assert_eq(inet_pton(AF_INET6, source, &s->sin6_addr), 1);
    }
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    cr_assert_eq(setsockopt(fd, level, MCAST_JOIN_SOURCE_GROUP, &r, sizeof r), 0,
                 "extra (%s, %s) membership: %s", source, group, strerror(errno));
    return fd;
}

/* The socket also joins (ASM) another group: datagrams to it reach the
 * socket, and the library must drop them by destination (filtered_group). */
static void join_other_group(int fd, bool v6, const char *group, const char *ifname)
{
    int rc;
    if (v6) {
        struct ipv6_mreq mr;
        memset(&mr, 0, sizeof mr);
        cr_assert_eq(inet_pton(AF_INET6, group, &mr.ipv6mr_multiaddr), 1);
        mr.ipv6mr_interface = mt_ifindex(ifname);
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr);
    } else {
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof mr);
        cr_assert_eq(inet_pton(AF_INET, group, &mr.imr_multiaddr), 1);
        mr.imr_ifindex = (int)mt_ifindex(ifname);
        rc = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr);
    }
    cr_assert_eq(rc, 0, "extra membership of %s: %s", group, strerror(errno));
}

/* Drops column of /proc/net/udp(6) for the socket fd (by inode). */
static long proc_udp_drops(int fd, bool v6)
{
    struct stat sb;
    cr_assert_eq(fstat(fd, &sb), 0);
    FILE *f = fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "r");
    cr_assert_not_null(f);
    char line[512];
    long drops = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long inode;
        long d;
        /* sl local rem st tx:rx tr:when retr uid timeout inode ref ptr drops */
        if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %ld",
                   &inode, &d) == 2 && inode == (unsigned long)sb.st_ino) {
            drops = d;
            break;
        }
    }
    fclose(f);
    return drops;
}

static uint32_t so_meminfo_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof mem;
    cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len), 0);
    return mem[SK_MEMINFO_DROPS];
}

/* ---- exact counts ---- */

static void exact_counts(unsigned test, bool v6)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *s0 = snap_new(), *s1 = snap_new();
    need_metrics(ctx, s0);
    const char *g = v6 ? mt_group_asm6(FILE_NO, test) : mt_group_asm4(FILE_NO, test);
    mcrx_config c = v6 ? mt_cfg_asm6(g, PORT(test), "v0") : mt_cfg_asm4(g, PORT(test), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = v6 ? mt_sender_v6(MT_V6_TX, "v1") : mt_sender_v4(MT_V4_TX, "v1");

    const unsigned n = 300;
    uint8_t payload[400];
    memset(payload, 'm', sizeof payload);
    uint64_t bytes = 0;
    size_t last_len = 0;
    int64_t t0 = mt_realtime_ns();
    for (unsigned i = 0; i < n; i++) {
        last_len = 1 + (i * 37) % sizeof payload;
        mt_send(&s, g, PORT(test), payload, last_len);
        bytes += last_len;
    }
    long got = mt_drain_count(ctx, 300);
    int64_t t1 = mt_realtime_ns();
    cr_assert_eq(got, (long)n, "delivered %ld of %u", got, n);

    snap_take(ctx, s1);
    const mcrx_sub_metrics *m = sub_of(s1, id);
    cr_assert_not_null(m);
    cr_expect_eq(m->counter[MCRX_SC_PACKETS], n);
    cr_expect_eq(m->counter[MCRX_SC_BYTES], bytes, "bytes %llu, sent %llu",
                 (unsigned long long)m->counter[MCRX_SC_BYTES], (unsigned long long)bytes);
    cr_expect_eq(m->counter[MCRX_SC_KERNEL_DROPS], 0u);
    cr_expect_eq(m->counter[MCRX_SC_JOINS], 1u);
    cr_expect_geq(m->counter[MCRX_SC_WOULD_BLOCK], 1u, "the drain ended on an empty queue");
    cr_expect_eq(m->last_payload_len, last_len);
    cr_expect(mcrx_ip_equal(&m->last_source, &s.src), "last source %s, sender %s",
              mt_ipstr(&m->last_source), mt_ipstr(&s.src));
    cr_expect_eq(m->last_source_port, s.port);
    /* coarse clock: up to a few ms behind the precise one */
    cr_expect(m->last_rx_unix_ns >= t0 - 50000000 && m->last_rx_unix_ns <= t1,
              "last receive %lld not in [%lld, %lld]", (long long)m->last_rx_unix_ns,
              (long long)t0, (long long)t1);
    cr_expect_eq(m->state, MCRX_SUB_JOINED);
    cr_expect_eq(s1->total[MCRX_SC_PACKETS], n);
    cr_expect_eq(s1->total[MCRX_SC_BYTES], bytes);
    cr_expect_eq(s1->ctx_counter[MCRX_CC_RECV_PACKETS], n);
    cr_expect_eq(s1->ctx_counter[MCRX_CC_SUBS_ADDED], 1u);
    cr_expect_geq(s1->ctx_counter[MCRX_CC_RECV_EMPTY], 1u);
    cr_expect_eq(s1->active_subs, 1u);
    cr_expect_eq(s1->joined_subs, 1u);
    cr_expect_eq(s1->backend, mcrx_ctx_backend(ctx));

    mcrx_metrics_interval *d = NULL;
    cr_assert_eq(mcrx_metrics_interval_new(&d), MCRX_OK);
    cr_assert_eq(mcrx_metrics_delta(s0, s1, d), MCRX_OK);
    cr_expect_eq(d->total[MCRX_SC_PACKETS], n);
    cr_expect_eq(d->sub_count, 1u);
    cr_expect(d->subs[0].fresh, "the sub did not exist at s0");
    cr_expect_eq(d->subs[0].counter[MCRX_SC_BYTES], bytes);
    cr_expect(!d->reset);
    mcrx_metrics_interval_free(d);
    mcrx_metrics_snapshot_free(s0);
    mcrx_metrics_snapshot_free(s1);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

Test(metrics, v4_counts_exact_traffic) { exact_counts(1, false); }
Test(metrics, v6_counts_exact_traffic) { exact_counts(2, true); }

/* ---- filtered, by reason ----
 * The caller's socket holds an SSM membership of the same group with the
 * wrong source, and an ASM membership of another group, so the kernel hands
 * it both kinds of wrong traffic and the library must count each by its
 * reason: 150 wrong-source, 100 wrong-group, 50 delivered. */

static void filtered_by_reason(unsigned test, bool v6)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *snap = snap_new();
    need_metrics(ctx, snap);
    int fam = v6 ? AF_INET6 : AF_INET;
    const char *g = v6 ? mt_group_ssm6(FILE_NO, test) : mt_group_ssm4(FILE_NO, test);
    const char *good_src = v6 ? MT_V6_TX : MT_V4_TX;
    const char *bad_src = v6 ? MT_V6_TX2 : MT_V4_TX2;
    mcrx_config c = v6 ? mt_cfg_ssm6(g, good_src, PORT(test), "v0")
                       : mt_cfg_ssm4(g, good_src, PORT(test), MT_V4_RX);
    int fd = socket_with_source(fam, PORT(test), g, bad_src, "v0");
    const char *other = v6 ? mt_group_asm6(FILE_NO, 100 + test) : mt_group_asm4(FILE_NO, 100 + test);
    join_other_group(fd, v6, other, "v0");
    uint64_t id = mt_add_join_socket(ctx, &c, fd);
    mt_sender good = v6 ? mt_sender_v6(good_src, "v1") : mt_sender_v4(good_src, "v1");
    mt_sender bad = v6 ? mt_sender_v6(bad_src, "v1") : mt_sender_v4(bad_src, "v1");
    for (unsigned i = 0; i < 50; i++) {
        mt_send_seq(&bad, g, PORT(test), "bad", i, 3);
        mt_send_seq(&good, other, PORT(test), "other", i, 2);
        mt_send_seq(&good, g, PORT(test), "good", i, 1);
    }
    long got = mt_drain_count(ctx, 300);
    cr_expect_eq(got, 50);
    snap_take(ctx, snap);
    const mcrx_sub_metrics *m = sub_of(snap, id);
    cr_assert_not_null(m);
    cr_expect_eq(m->counter[MCRX_SC_PACKETS], 50u);
    cr_expect_eq(m->counter[MCRX_SC_FILTERED_SOURCE], 150u, "filtered_source %llu",
                 (unsigned long long)m->counter[MCRX_SC_FILTERED_SOURCE]);
    cr_expect_eq(m->counter[MCRX_SC_FILTERED_GROUP], 100u, "filtered_group %llu",
                 (unsigned long long)m->counter[MCRX_SC_FILTERED_GROUP]);
    cr_expect_eq(m->counter[MCRX_SC_FILTERED_INTERFACE], 0u);
    cr_expect_eq(m->counter[MCRX_SC_FILTERED_NO_PKTINFO], 0u);
    cr_expect(mcrx_ip_equal(&m->last_source, &good.src),
              "last source %s is the filtered one?", mt_ipstr(&m->last_source));
    cr_expect_eq(snap->total[MCRX_SC_FILTERED_SOURCE], 150u);
    cr_expect_eq(snap->total[MCRX_SC_FILTERED_GROUP], 100u);
    mt_sender_close(&good);
    mt_sender_close(&bad);
    mcrx_metrics_snapshot_free(snap);
    mcrx_ctx_free(ctx);
}

Test(metrics, v4_wrong_source_and_group_counted_by_reason) { filtered_by_reason(3, false); }
Test(metrics, v6_wrong_source_and_group_counted_by_reason) { filtered_by_reason(4, true); }

/* ---- kernel drops ---- */

static void kernel_drops(unsigned test, bool v6)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 4096;
    o.sub_ring_size = 16;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    mcrx_metrics_snapshot *snap = snap_new();
    need_metrics(ctx, snap);
    const char *g = v6 ? mt_group_asm6(FILE_NO, test) : mt_group_asm4(FILE_NO, test);
    mcrx_config c = v6 ? mt_cfg_asm6(g, PORT(test), "v0") : mt_cfg_asm4(g, PORT(test), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    int fd = mcrx_sub_fd(mcrx_ctx_get(ctx, id));
    mt_sender s = v6 ? mt_sender_v6(MT_V6_TX, "v1") : mt_sender_v4(MT_V4_TX, "v1");
    uint8_t payload[300];
    memset(payload, 'd', sizeof payload);
    const unsigned n = 800;
    for (unsigned i = 0; i < n; i++) /* nobody reads: the queue overflows */
        mt_send(&s, g, PORT(test), payload, sizeof payload);
    long got = mt_drain_count(ctx, 300);
    snap_take(ctx, snap);
    const mcrx_sub_metrics *m = sub_of(snap, id);
    cr_assert_not_null(m);
    uint64_t drops = m->counter[MCRX_SC_KERNEL_DROPS];
    long proc = proc_udp_drops(fd, v6);
    cr_expect_gt(drops, 0u, "an %u-datagram burst into a 4 KiB queue dropped nothing", n);
    cr_expect_eq(drops, so_meminfo_drops(fd), "SO_MEMINFO says %u", so_meminfo_drops(fd));
    cr_expect_eq((long)drops, proc, "/proc/net/udp%s drops column says %ld", v6 ? "6" : "", proc);
    cr_expect_eq(m->counter[MCRX_SC_PACKETS], (uint64_t)got);
    cr_expect_eq(m->counter[MCRX_SC_PACKETS] + drops, n,
                 "delivered %ld + drops %llu != sent %u", got, (unsigned long long)drops, n);
    cr_expect_eq(snap->total[MCRX_SC_KERNEL_DROPS], drops);
    mt_sender_close(&s);
    mcrx_metrics_snapshot_free(snap);
    mcrx_ctx_free(ctx);
}

Test(metrics, v4_kernel_drops_equal_kernel_count) { kernel_drops(6, false); }
Test(metrics, v6_kernel_drops_equal_kernel_count) { kernel_drops(7, true); }

/* ---- deltas and rates ---- */

static mcrx_sub_metrics fake_sub(uint64_t id, uint64_t packets, uint64_t bytes)
{
    mcrx_sub_metrics m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.counter[MCRX_SC_PACKETS] = packets;
    m.counter[MCRX_SC_BYTES] = bytes;
    return m;
}

/* Pure arithmetic on hand-made snapshots (no context). */
Test(metrics, delta_arithmetic_and_rates)
{
    mcrx_sub_metrics pa[2] = {fake_sub(1, 100, 1000), fake_sub(2, 10, 500)};
    mcrx_sub_metrics ca[2] = {fake_sub(2, 30, 900), fake_sub(3, 8, 80)};
    mcrx_metrics_snapshot prev, cur;
    memset(&prev, 0, sizeof prev);
    memset(&cur, 0, sizeof cur);
    prev.mono_ns = 5000000000;
    cur.mono_ns = 9000000000; /* 4 s later */
    prev.total[MCRX_SC_PACKETS] = 110;
    cur.total[MCRX_SC_PACKETS] = 138;
    prev.ctx_counter[MCRX_CC_SUBS_REMOVED] = 0;
    cur.ctx_counter[MCRX_CC_SUBS_REMOVED] = 1;
    prev.process.counter[MCRX_PC_CPU_USER_NS] = 1000000000;
    cur.process.counter[MCRX_PC_CPU_USER_NS] = 3000000000; /* 2 s of 4 */
    prev.subs = pa;
    prev.sub_count = 2;
    cur.subs = ca;
    cur.sub_count = 2;
    mcrx_metrics_interval *d = NULL;
    cr_assert_eq(mcrx_metrics_interval_new(&d), MCRX_OK);
    cr_assert_eq(mcrx_metrics_delta(&prev, &cur, d), MCRX_OK);
    cr_expect_eq(d->interval_s, 4.0);
    cr_expect(!d->reset);
    cr_expect_eq(d->total[MCRX_SC_PACKETS], 28u);
    cr_expect_eq(d->total_rate[MCRX_SC_PACKETS], 7.0);
    cr_expect_eq(d->ctx_counter[MCRX_CC_SUBS_REMOVED], 1u);
    cr_expect_eq(d->cpu_percent, 50.0);
    cr_expect_eq(d->subs_gone, 1u, "sub 1 was removed");
    cr_assert_eq(d->sub_count, 2u);
    cr_expect_eq(d->subs[0].id, 2u);
    cr_expect(!d->subs[0].fresh);
    cr_expect_eq(d->subs[0].counter[MCRX_SC_PACKETS], 20u);
    cr_expect_eq(d->subs[0].rate[MCRX_SC_PACKETS], 5.0);
    cr_expect_eq(d->subs[0].rate[MCRX_SC_BYTES], 100.0);
    cr_expect_eq(d->subs[1].id, 3u);
    cr_expect(d->subs[1].fresh, "sub 3 was added in the interval");
    cr_expect_eq(d->subs[1].counter[MCRX_SC_PACKETS], 8u, "fresh: counted from 0");
    cr_expect_eq(d->subs[1].rate[MCRX_SC_BYTES], 20.0);

    /* A counter that went down (e.g. prev from another context): counted
     * from 0 like a Prometheus reset, and flagged. */
    ca[0].counter[MCRX_SC_PACKETS] = 4;
    cr_assert_eq(mcrx_metrics_delta(&prev, &cur, d), MCRX_OK);
    cr_expect(d->reset);
    cr_expect_eq(d->subs[0].counter[MCRX_SC_PACKETS], 4u);
    /* Zero interval: rates 0, never a division by zero. */
    cr_assert_eq(mcrx_metrics_delta(&cur, &cur, d), MCRX_OK);
    cr_expect_eq(d->interval_s, 0.0);
    cr_expect_eq(d->subs[0].rate[MCRX_SC_PACKETS], 0.0);
    cr_expect_eq(d->total[MCRX_SC_PACKETS], 0u);
    cr_expect_eq(mcrx_metrics_delta(NULL, &cur, d), MCRX_E_INVALID_ARG);
    mcrx_metrics_interval_free(d);
}

/* Remove keeps the totals; a re-added sub (new id) counts from 0. */
Test(metrics, totals_survive_remove_and_new_sub_starts_at_zero)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *a = snap_new(), *b = snap_new(), *c = snap_new();
    need_metrics(ctx, a);
    const char *g = mt_group_asm4(FILE_NO, 8);
    const char *g2 = mt_group_asm4(FILE_NO, 108);
    mcrx_config c1 = mt_cfg_asm4(g, PORT(8), MT_V4_RX);
    mcrx_config c2 = mt_cfg_asm4(g2, PORT(8) + 1, MT_V4_RX);
    uint64_t id1 = mt_add_join(ctx, &c1);
    uint64_t id2 = mt_add_join(ctx, &c2);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, PORT(8), "a", 0, 40);
    mt_send_seq(&s, g2, PORT(8) + 1, "b", 0, 25);
    cr_assert_eq(mt_drain_count(ctx, 300), 65);
    snap_take(ctx, a);
    cr_expect_eq(a->total[MCRX_SC_PACKETS], 65u);

    cr_assert_eq(mcrx_ctx_remove(ctx, id1), MCRX_OK);
    snap_take(ctx, b);
    mcrx_metrics_interval *d = NULL;
    cr_assert_eq(mcrx_metrics_interval_new(&d), MCRX_OK);
    cr_assert_eq(mcrx_metrics_delta(a, b, d), MCRX_OK);
    cr_expect_eq(b->total[MCRX_SC_PACKETS], 65u, "totals kept after remove");
    cr_expect_eq(b->total[MCRX_SC_JOINS], 2u);
    cr_expect_eq(d->total[MCRX_SC_PACKETS], 0u);
    cr_expect(!d->reset, "remove must not look like a counter reset");
    cr_expect_eq(d->subs_gone, 1u);
    cr_expect_eq(d->ctx_counter[MCRX_CC_SUBS_REMOVED], 1u);
    cr_expect_eq(b->active_subs, 1u);
    cr_assert_eq(b->sub_count, 1u);
    cr_expect_eq(b->subs[0].id, id2);

    uint64_t id3 = mt_add_join(ctx, &c1); /* same config, new id */
    cr_expect_neq(id3, id1);
    mt_send_seq(&s, g, PORT(8), "c", 0, 12);
    cr_assert_eq(mt_drain_count(ctx, 300), 12);
    snap_take(ctx, c);
    cr_assert_eq(mcrx_metrics_delta(b, c, d), MCRX_OK);
    cr_expect_eq(c->total[MCRX_SC_PACKETS], 77u);
    cr_expect_eq(d->total[MCRX_SC_PACKETS], 12u);
    const mcrx_sub_metrics *m3 = sub_of(c, id3);
    cr_assert_not_null(m3);
    cr_expect_eq(m3->counter[MCRX_SC_PACKETS], 12u, "a new sub starts from 0");
    cr_assert_eq(d->sub_count, 2u);
    cr_expect(d->subs[1].fresh);
    cr_expect_eq(d->subs[1].counter[MCRX_SC_PACKETS], 12u);

    /* take: the sub leaves with its counts; the context keeps them. */
    mcrx_sub *taken = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, id2, &taken), MCRX_OK);
    snap_take(ctx, a);
    cr_expect_eq(a->total[MCRX_SC_PACKETS], 77u);
    cr_expect_eq(a->ctx_counter[MCRX_CC_SUBS_TAKEN], 1u);
    cr_expect_eq(a->sub_count, 1u);
    mcrx_sub_free(taken);
    mcrx_metrics_interval_free(d);
    mcrx_metrics_snapshot_free(a);
    mcrx_metrics_snapshot_free(b);
    mcrx_metrics_snapshot_free(c);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* ---- threads ---- */

static void *snap_thread(void *arg)
{
    mcrx_ctx *ctx = arg;
    mcrx_metrics_snapshot *s = NULL;
    if (mcrx_metrics_snapshot_new(&s) != MCRX_OK)
        return (void *)(intptr_t)MCRX_E_NO_MEMORY;
    intptr_t st = mcrx_ctx_metrics_snapshot(ctx, s);
    mcrx_metrics_snapshot_free(s);
    return (void *)st;
}

Test(metrics, snapshot_off_the_receive_thread_is_refused)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *snap = snap_new();
    need_metrics(ctx, snap);
    pthread_t t;
    void *res;
    /* never received on: any owning thread may sample */
    cr_assert_eq(pthread_create(&t, NULL, snap_thread, ctx), 0);
    pthread_join(t, &res);
    cr_expect_eq((int)(intptr_t)res, MCRX_OK);
    mcrx_packet p;
    cr_assert_eq(mcrx_ctx_try_recv_any(ctx, &p), 0);
    cr_assert_eq(pthread_create(&t, NULL, snap_thread, ctx), 0);
    pthread_join(t, &res);
    cr_expect_eq((int)(intptr_t)res, MCRX_E_METRICS_WRONG_THREAD, "got %s",
                 mcrx_status_name((int)(intptr_t)res));
    cr_expect_str_eq(mcrx_status_name(MCRX_E_METRICS_WRONG_THREAD),
                     "MCRX_E_METRICS_WRONG_THREAD");
    snap_take(ctx, snap); /* the receiving thread may */
    mcrx_metrics_snapshot_free(snap);
    mcrx_ctx_free(ctx);
}

/* ---- process metrics ---- */

Test(metrics, process_metrics)
{
    mcrx_process_metrics p;
    cr_assert_eq(mcrx_process_metrics_read(&p), MCRX_OK);
    cr_assert(p.available);
    cr_expect_gt(p.gauge[MCRX_PG_RSS_BYTES], 0u);
    cr_expect_geq(p.gauge[MCRX_PG_THREADS], 1u);
    int fds = mt_count_fds();
    cr_expect_eq(p.gauge[MCRX_PG_OPEN_FDS], (uint64_t)fds, "open_fds %llu, /proc says %d",
                 (unsigned long long)p.gauge[MCRX_PG_OPEN_FDS], fds);
    int fd = dup(0);
    mcrx_process_metrics q;
    cr_assert_eq(mcrx_process_metrics_read(&q), MCRX_OK);
    cr_expect_eq(q.gauge[MCRX_PG_OPEN_FDS], p.gauge[MCRX_PG_OPEN_FDS] + 1);
    close(fd);
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 30000000; i++)
        x += i;
    cr_assert_eq(mcrx_process_metrics_read(&q), MCRX_OK);
    cr_expect_gt(q.counter[MCRX_PC_CPU_USER_NS] + q.counter[MCRX_PC_CPU_SYSTEM_NS],
                 p.counter[MCRX_PC_CPU_USER_NS] + p.counter[MCRX_PC_CPU_SYSTEM_NS],
                 "a busy loop used no CPU time?");
    cr_expect_geq(q.counter[MCRX_PC_MINOR_FAULTS], p.counter[MCRX_PC_MINOR_FAULTS]);
}

/* ---- text exports, checked by independent parsers ---- */

/* A context with two subs (ASM v4, SSM v6) that received something. */
static mcrx_ctx *busy_ctx(unsigned test, mcrx_metrics_snapshot *a,
                          mcrx_metrics_snapshot *b)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    need_metrics(ctx, a);
    const char *g4 = mt_group_asm4(FILE_NO, test);
    const char *g6 = mt_group_ssm6(FILE_NO, test);
    mcrx_config c4 = mt_cfg_asm4(g4, PORT(test), MT_V4_RX);
    mcrx_config c6 = mt_cfg_ssm6(g6, MT_V6_TX, PORT(test) + 1, "v0");
    mt_add_join(ctx, &c4);
    mt_add_join(ctx, &c6);
    mt_sender s4 = mt_sender_v4(MT_V4_TX, "v1"), s6 = mt_sender_v6(MT_V6_TX, "v1");
    mt_send_seq(&s4, g4, PORT(test), "p", 0, 20);
    mt_send_seq(&s6, g6, PORT(test) + 1, "q", 0, 10);
    cr_assert_eq(mt_drain_count(ctx, 300), 30);
    snap_take(ctx, b);
    mt_sender_close(&s4);
    mt_sender_close(&s6);
    return ctx;
}

/* Format into a malloc'd string, asking for the size first. */
static char *format_om(const mcrx_metrics_snapshot *s, mcrx_metrics_text_dialect d)
{
    size_t need = 0;
    cr_assert_eq(mcrx_metrics_format_openmetrics(s, d, "node \"7\"", NULL, 0, &need),
                 MCRX_E_NO_MEMORY);
    char *buf = malloc(need + 1);
    size_t len = 0;
    cr_assert_eq(mcrx_metrics_format_openmetrics(s, d, "node \"7\"", buf, need + 1, &len),
                 MCRX_OK);
    cr_assert_eq(len, need);
    cr_assert_eq(strlen(buf), len);
    return buf;
}

static char *write_temp(const char *text, const char *suffix)
{
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/mcrx-metrics-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    cr_assert_geq(fd, 0);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Run sh -c cmd; its exit status (127: not found). */
static int sh(const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    return mt_run(argv, true);
}

static const char *find_promtool(void)
{
    const char *env = getenv("MCRX_PROMTOOL");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    return access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool" : NULL;
}

/* Write text to a temp file, run the checker command (cmd_fmt with one %s
 * for the path) and expect it to succeed; the file stays for a post-mortem
 * when it fails. */
static void check_text(const char *text, const char *suffix, const char *cmd_fmt,
                       const char *what)
{
    char *path = write_temp(text, suffix);
    size_t n = strlen(cmd_fmt) + strlen(path) + 1;
    char *cmd = malloc(n);
    snprintf(cmd, n, cmd_fmt, path);
    int rc = sh(cmd);
    cr_expect_eq(rc, 0, "%s failed (%d) on %s", what, rc, path);
    if (rc == 0)
        unlink(path);
    free(cmd);
    free(path);
}

static void busy_free(mcrx_ctx *ctx, mcrx_metrics_snapshot *a, mcrx_metrics_snapshot *b)
{
    mcrx_metrics_snapshot_free(a);
    mcrx_metrics_snapshot_free(b);
    mcrx_ctx_free(ctx);
}

Test(metrics, prometheus_text_passes_promtool)
{
    const char *promtool = find_promtool(); /* skip before allocating */
    if (!promtool)
        cr_skip_test("promtool not found (apt-get install prometheus, or set MCRX_PROMTOOL)");
    mcrx_metrics_snapshot *a = snap_new(), *b = snap_new();
    mcrx_ctx *ctx = busy_ctx(9, a, b);
    char *text = format_om(b, MCRX_TEXT_PROMETHEUS);
    cr_expect(strstr(text, "mcrx_sub_packets_total{sub_id=\"1\",group=\""), "%s", text);
    cr_expect(strstr(text, "# TYPE mcrx_sub_packets_total counter\n"));
    cr_expect(!strstr(text, "# EOF"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s check metrics < %%s", promtool);
    check_text(text, ".prom", cmd, "promtool check metrics");
    free(text);
    busy_free(ctx, a, b);
}

/* Strict OpenMetrics 1.0: checked with prometheus_client's OpenMetrics
 * parser (Debian python3-prometheus-client), which rejects what the
 * standard forbids (a counter family named ..._total, missing # EOF). */
Test(metrics, openmetrics_passes_strict_parser)
{
    if (sh("/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser'") != 0)
        cr_skip_test("/usr/bin/python3 has no prometheus_client (apt-get install "
                     "python3-prometheus-client)");
    mcrx_metrics_snapshot *a = snap_new(), *b = snap_new();
    mcrx_ctx *ctx = busy_ctx(10, a, b);
    char *text = format_om(b, MCRX_TEXT_OPENMETRICS);
    size_t len = strlen(text);
    cr_expect(len > 6 && strcmp(text + len - 6, "# EOF\n") == 0, "no # EOF at the end");
    cr_expect(strstr(text, "# TYPE mcrx_sub_packets counter\n"));
    cr_expect(strstr(text, "# UNIT mcrx_sub_bytes bytes\n"));
    check_text(text, ".txt",
             "/usr/bin/python3 -c '\n"
             "import sys\n"
             "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
             "fams = {f.name: f for f in p(open(sys.argv[1]).read())}\n"
             "f = fams[\"mcrx_sub_packets\"]\n"
             "assert f.type == \"counter\", f.type\n"
             "v = {s.labels[\"sub_id\"]: s.value for s in f.samples}\n"
             "assert v == {\"1\": 20.0, \"2\": 10.0}, v\n"
             "assert all(s.labels[\"node\"] == \"node \\\"7\\\"\" for s in f.samples)\n"
             "assert fams[\"mcrx_packets\"].samples[0].value == 30.0\n"
             "assert fams[\"mcrx_subscriptions_joined\"].type == \"gauge\"\n"
             "' %s", "OpenMetrics parser");
    free(text);
    busy_free(ctx, a, b);
}

Test(metrics, json_lines_parse_with_python)
{
    mcrx_metrics_snapshot *a = snap_new(), *b = snap_new();
    mcrx_ctx *ctx = busy_ctx(11, a, b);
    mcrx_metrics_interval *d = NULL;
    cr_assert_eq(mcrx_metrics_interval_new(&d), MCRX_OK);
    cr_assert_eq(mcrx_metrics_delta(a, b, d), MCRX_OK);
    mcrx_metrics_json_opts o = {"client-\"1\"\n", "{\"transport\":\"udp\",\"n\":2}"};
    char line1[16384], line2[16384];
    size_t l1, l2;
    cr_assert_eq(mcrx_metrics_format_json(b, d, &o, line1, sizeof line1, &l1), MCRX_OK);
    cr_assert_eq(mcrx_metrics_format_json(b, NULL, NULL, line2, sizeof line2, &l2), MCRX_OK);
    cr_expect_eq(line1[l1 - 1], '\n');
    cr_expect_eq(strchr(line1, '\n'), line1 + l1 - 1, "one line per record");
    size_t need;
    cr_expect_eq(mcrx_metrics_format_json(b, d, &o, line2, 10, &need), MCRX_E_NO_MEMORY);
    cr_expect_eq(need, l1);
    cr_assert_eq(mcrx_metrics_format_json(b, NULL, NULL, line2, sizeof line2, &l2), MCRX_OK);
    /* flags_json is copied verbatim, so it is validated */
    static const char *const bad_flags[] = {
        "[1]", "{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} {}", "{\"a\":01}",
        "{\"a\":\"x\ny\"}", "{\"a\":1}\n{}", "{\"a\":tru}", "{\"a\":\"\\q\"}", "{\"a\" 1}",
        "{\"a\":[1,2}", "{\"a\":1.}", "",
    };
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        mcrx_metrics_json_opts bad = {NULL, bad_flags[i]};
        cr_expect_eq(mcrx_metrics_format_json(b, d, &bad, line2, sizeof line2, &need),
                     MCRX_E_INVALID_ARG, "flags %s accepted", bad_flags[i]);
    }
    static const char *const good_flags[] = {
        "{}", " { \"a\" : [1, -2.5e3, true, false, null, {\"b\": \"\\u00e9\\n\"}] } ",
        "{\"transport\":\"quic\",\"experiment\":\"baseline-a\"}",
    };
    for (size_t i = 0; i < sizeof good_flags / sizeof good_flags[0]; i++) {
        mcrx_metrics_json_opts good = {NULL, good_flags[i]};
        cr_expect_eq(mcrx_metrics_format_json(b, d, &good, NULL, 0, &need),
                     MCRX_E_NO_MEMORY, "flags %s rejected", good_flags[i]);
    }
    char *both = malloc(l1 + l2 + 1);
    memcpy(both, line1, l1);
    memcpy(both + l1, line2, l2 + 1);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import json, sys\n"
             "lines = open(sys.argv[1]).read().splitlines()\n"
             "assert len(lines) == 2, len(lines)\n"
             "r = json.loads(lines[0]); q = json.loads(lines[1])\n"
             "assert r[\"node_id\"] == \"client-\\\"1\\\"\\n\", r[\"node_id\"]\n"
             "assert r[\"flags\"] == {\"transport\": \"udp\", \"n\": 2}\n"
             "assert r[\"packets_received_total\"] == 30\n"
             "assert r[\"packets_received_delta\"] == 30\n"
             "assert r[\"packets_per_sec\"] > 0\n"
             "assert r[\"active_subscriptions\"] == 2 and r[\"joined_subscriptions\"] == 2\n"
             "assert r[\"batch_packets_received_total\"] == 30\n"
             "s = r[\"subscriptions\"]\n"
             "assert [x[\"packets_received_total\"] for x in s] == [20, 10]\n"
             "assert s[0][\"source\"] is None and s[1][\"source\"] == \"%s\"\n"
             "assert s[0][\"last_source\"] == \"%s\" and s[0][\"fresh\"] is True\n"
             "assert r[\"process\"][\"rss_bytes\"] > 0\n"
             "assert \"packets_received_delta\" not in q and q[\"packets_received_total\"] == 30\n"
             "' %%s",
             MT_V6_TX, MT_V4_TX);
    check_text(both, ".jsonl", cmd, "python json check");
    free(both);
    mcrx_metrics_interval_free(d);
    busy_free(ctx, a, b);
}

/* ---- names and the disabled build ---- */

Test(metrics, names_and_statuses)
{
    for (int i = 0; i < MCRX_SC_COUNT; i++)
        cr_expect_not_null(mcrx_sub_counter_name(i));
    for (int i = 0; i < MCRX_CC_COUNT; i++)
        cr_expect_not_null(mcrx_ctx_counter_name(i));
    for (int i = 0; i < MCRX_PC_COUNT; i++)
        cr_expect_not_null(mcrx_proc_counter_name(i));
    for (int i = 0; i < MCRX_PG_COUNT; i++)
        cr_expect_not_null(mcrx_proc_gauge_name(i));
    cr_expect_null(mcrx_sub_counter_name(MCRX_SC_COUNT));
    cr_expect_str_eq(mcrx_sub_counter_name(MCRX_SC_WOULD_BLOCK), "would_block");
    cr_expect_str_eq(mcrx_status_name(MCRX_E_METRICS_DISABLED), "MCRX_E_METRICS_DISABLED");
    cr_expect(!mcrx_status_is_os_error(MCRX_E_METRICS_DISABLED));
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *s = snap_new();
    int st = mcrx_ctx_metrics_snapshot(ctx, s);
    cr_expect(st == MCRX_OK || st == MCRX_E_METRICS_DISABLED, "%s", mcrx_status_name(st));
    cr_expect_eq(mcrx_ctx_metrics_snapshot(NULL, s), MCRX_E_INVALID_ARG);
    mcrx_metrics_snapshot_free(s);
    mcrx_ctx_free(ctx);
}

/* ---- the receivers' metrics options ---- */

/* mcrx_recv / mcrx_recv_meta with every metrics output: the JSONL file
 * parses and its last line has the exact totals, the text files pass
 * their checkers, and no temp file is left behind. */
static void tool_outputs(unsigned test, const char *tool_env)
{
    const char *tool = getenv(tool_env);
    if (!tool)
        cr_skip_test("%s not set: no tool for this run (tools not built, or the kqueue-on-epoll emulation, which has no tools of its own)", tool_env);
    const char *promtool = find_promtool();
    if (!promtool)
        cr_skip_test("promtool not found (apt-get install prometheus, or set "
                     "MCRX_PROMTOOL): the tool's Prometheus file cannot be checked");
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_metrics_snapshot *snap = snap_new();
    need_metrics(ctx, snap); /* the tools' metrics need it too */
    mcrx_metrics_snapshot_free(snap);
    mcrx_ctx_free(ctx);
    char dir[] = "/tmp/mcrx-metrics-tool-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *g = mt_group_asm4(FILE_NO, test);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "MCRX_METRICS_NODE_ID=rx-%u exec %s %s %u --interface %s --quiet --count 40 "
             "--timeout 20 --metrics-interval 0.2 --metrics-jsonl %s/m.jsonl "
             "--metrics-openmetrics %s/m.om --metrics-prom %s/m.prom",
             test, tool, g, (unsigned)PORT(test), MT_V4_RX, dir, dir, dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[512];
    bool ready = false;
    while (!ready && fgets(line, sizeof line, p))
        ready = strncmp(line, "[ready]", 7) == 0;
    cr_assert(ready, "no [ready] line from %s", tool);
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    for (unsigned i = 0; i < 40; i++)
        mt_send(&s, g, PORT(test), "0123456789", 10);
    while (fgets(line, sizeof line, p))
        ;
    int status = pclose(p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited %d", tool, status);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import json, sys\n"
             "lines = [json.loads(l) for l in open(sys.argv[1])]\n"
             "assert len(lines) >= 1\n"
             "r = lines[-1]\n"
             "assert r[\"packets_received_total\"] == 40, r[\"packets_received_total\"]\n"
             "assert r[\"bytes_received_total\"] == 400\n"
             "assert sum(l[\"packets_received_delta\"] for l in lines) == 40\n"
             "assert r[\"node_id\"] == \"rx-%u\"\n"
             "' %s/m.jsonl",
             test, dir);
    cr_expect_eq(sh(cmd), 0, "JSONL check failed: %s/m.jsonl", dir);
    snprintf(cmd, sizeof cmd, "%s check metrics < %s/m.prom", promtool, dir);
    cr_expect_eq(sh(cmd), 0, "promtool failed on %s/m.prom", dir);
    snprintf(cmd, sizeof cmd, "grep -q '^mcrx_sub_packets_total{sub_id=\"1\",.*} 40$' %s/m.om"
                              " && tail -n1 %s/m.om | grep -qx '# EOF'"
                              " && test \"$(ls %s | wc -l)\" = 3", dir, dir, dir);
    cr_expect_eq(sh(cmd), 0, "OpenMetrics file or leftover temp files in %s", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
    mt_sender_close(&s);
}

Test(metrics, recv_tool_writes_every_output) { tool_outputs(12, "MCRX_TOOL_RECV"); }
Test(metrics, recv_meta_tool_writes_every_output) { tool_outputs(13, "MCRX_TOOL_RECV_META"); }
Test(metrics, recv_async_tool_writes_every_output) { tool_outputs(14, "MCRX_TOOL_RECV_ASYNC"); }
