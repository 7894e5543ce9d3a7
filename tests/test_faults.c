/*
 * Fault injection: what the library does when the world goes wrong under
 * it. Each test states the promise it checks (docs/reliability.md lists
 * them):
 * - the join interface is deleted while joined and receiving;
 * - the interface's address goes away and comes back;
 * - the process runs out of file descriptors (RLIMIT_NOFILE) during add,
 *   take and context creation;
 * - io_uring cannot be set up (test hooks, and a real RLIMIT_MEMLOCK of 0
 *   without CAP_IPC_LOCK);
 * - every allocation of ctx_new / add / join / take fails in turn, and
 *   receive / remove / free run with every allocation failing.
 * Runs once per backend, in the test namespace; the interface tests make
 * their own veth pair f0/f1 there (198.51.100.0/24, 2001:db8:99::/64) so
 * they can delete it.
 *
 * Allocation failures: this program is linked with -Wl,--wrap for malloc,
 * calloc, realloc and posix_memalign (tests/meson.build), so every call
 * the static library makes lands in the __wrap_ functions below, which fail
 * the Nth call after fault_arm(N). Nothing in the library changes for it,
 * and only this program sees the hook.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FILE_NO 19
#define PORT(t) ((uint16_t)(MT_PORT_BASE_FAULTS + 10 * (t)))

TestSuite(faults, .timeout = 120);

/* ------------------------------------------------------------------ */
/* The allocator hook                                                  */
/* ------------------------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

static bool g_armed;
static bool g_fail_all;    /* every allocation fails while armed */
static unsigned g_fail_at; /* else: the g_fail_at-th one fails */
static unsigned g_seen;    /* allocations since fault_arm() */

static bool fault_hit(void)
{
    if (!g_armed)
        return false;
    g_seen++;
    return g_fail_all || g_seen == g_fail_at;
}

void *__wrap_malloc(size_t n) { return fault_hit() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size)
{
    return fault_hit() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    return fault_hit() ? NULL : __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    return fault_hit() ? ENOMEM : __real_posix_memalign(p, align, n);
}

/* Fail the nth allocation from now on (0: every one). */
static void fault_arm(unsigned nth)
{
    g_seen = 0;
    g_fail_at = nth;
    g_fail_all = nth == 0;
    g_armed = true;
}

/* Stop failing; returns how many allocations were made while armed. */
static unsigned fault_disarm(void)
{
    g_armed = false;
    return g_seen;
}

/* ------------------------------------------------------------------ */
/* Test-bed helpers                                                    */
/* ------------------------------------------------------------------ */

#define F0_V4 "198.51.100.1"
#define F1_V4 "198.51.100.2"
#define F0_V6 "2001:db8:99::1"
#define F1_V6 "2001:db8:99::2"

static void sh(const char *cmd)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    cr_assert_eq(mt_run(argv, true), 0, "command failed: %s", cmd);
}

/* A second veth pair f0 (receiver side) / f1 (sender side), configured
 * like v0/v1 by scripts/mcrx-netns. */
static void pair_up(void)
{
    sh("ip link add f0 type veth peer name f1 && "
       "for i in f0 f1; do "
       "  for k in ipv4/conf/$i/rp_filter:0 ipv4/conf/$i/accept_local:1 "
       "           ipv6/conf/$i/accept_dad:0; do "
       "    echo ${k#*:} > /proc/sys/net/${k%:*}; done; "
       "  ip link set $i multicast on up; done && "
       "ip addr add " F0_V4 "/24 dev f0 && ip addr add " F1_V4 "/24 dev f1 && "
       "ip -6 addr add " F0_V6 "/64 dev f0 nodad && "
       "ip -6 addr add " F1_V6 "/64 dev f1 nodad");
}

/* Send "tag-i" datagrams until sub id of ctx got one (the new link may
 * need a moment), at most ~5 s. Everything received is dropped. */
static void until_flowing(mcrx_ctx *ctx, uint64_t id, const mt_sender *s,
                          const char *group, uint16_t port)
{
    for (int i = 0; i < 50; i++) {
        mt_send(s, group, port, "warm", 4);
        int64_t end = mt_now_ms() + 100;
        while (mt_now_ms() < end) {
            mt_pkt k = {0};
            int rc = mt_recv(ctx, &k, false, 20);
            cr_assert_geq(rc, 0, "receive: %s", mcrx_status_name(rc));
            if (rc == 1) {
                bool mine = k.p.sub_id == id;
                mt_pkt_free(&k);
                if (mine) {
                    mt_drain_count(ctx, 50);
                    return;
                }
            }
        }
    }
    cr_assert_fail("no datagram reached sub %llu on %s", (unsigned long long)id,
                   group);
}

/* Receive until quiet for quiet_ms; counts per sub id (ids < 8). Any
 * negative receive status fails the test: none is expected here. */
static void drain_by_id(mcrx_ctx *ctx, unsigned counts[8], int quiet_ms)
{
    mcrx_packet pkts[64];
    int64_t last = mt_now_ms();
    while (mt_now_ms() - last < quiet_ms) {
        int rc = mcrx_ctx_wait(ctx, 10);
        cr_assert_geq(rc, 0, "wait: %s", mcrx_status_name(rc));
        int n = mcrx_ctx_recv_batch(ctx, pkts, 64);
        cr_assert_geq(n, 0, "receive: %s (errno %d)", mcrx_status_name(n),
                      mcrx_last_os_error());
        for (int i = 0; i < n; i++)
            if (pkts[i].sub_id < 8)
                counts[pkts[i].sub_id]++;
        if (n > 0)
            last = mt_now_ms();
    }
}

/* ------------------------------------------------------------------ */
/* Interfaces                                                          */
/* ------------------------------------------------------------------ */

/* The kernel drops a deleted device's memberships; the sockets stay. The
 * subscriptions on it go quiet, the others keep receiving, every receive
 * call keeps returning counts (no error, no hang), and leave, remove and
 * free still work without leaking a descriptor. */
Test(faults, join_interface_deleted_while_joined_and_receiving)
{
    int fds0 = mt_count_fds();
    pair_up();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g4 = mt_group_asm4(FILE_NO, 1), *g6 = mt_group_asm6(FILE_NO, 1);
    const char *gb = mt_group_asm4(FILE_NO, 2);
    mcrx_config c4 = mt_cfg_asm4(g4, PORT(1), F0_V4);
    mcrx_config c6 = mt_cfg_asm6(g6, PORT(1), "f0");
    mcrx_config cb = mt_cfg_asm4(gb, PORT(1) + 1, MT_V4_RX);
    uint64_t a4 = mt_add_join(ctx, &c4), a6 = mt_add_join(ctx, &c6);
    uint64_t b = mt_add_join(ctx, &cb);
    cr_assert(a4 < 8 && a6 < 8 && b < 8);

    mt_sender s4 = mt_sender_v4(F1_V4, "f1"), s6 = mt_sender_v6(F1_V6, "f1");
    mt_sender sb = mt_sender_v4(MT_V4_TX, MT_IF_TX);
    until_flowing(ctx, a4, &s4, g4, PORT(1));
    until_flowing(ctx, a6, &s6, g6, PORT(1));
    until_flowing(ctx, b, &sb, gb, PORT(1) + 1);

    /* Traffic in flight on both pairs, then the pair goes away. */
    mt_send_seq(&s4, g4, PORT(1), "f4", 0, 50);
    mt_send_seq(&s6, g6, PORT(1), "f6", 0, 50);
    mt_send_seq(&sb, gb, PORT(1) + 1, "b", 0, 50);
    mt_sender_close(&s4);
    mt_sender_close(&s6);
    sh("ip link del f0");

    unsigned got[8] = {0};
    drain_by_id(ctx, got, 300);
    cr_expect_eq(got[b], 50u, "the other subscription got %u of 50", got[b]);
    /* Queued before the deletion: still delivered (the socket kept them). */
    cr_expect_leq(got[a4], 50u);
    cr_expect_leq(got[a6], 50u);

    /* The survivor keeps being served, receive after receive. */
    memset(got, 0, sizeof got);
    for (int round = 0; round < 5; round++)
        mt_send_seq(&sb, gb, PORT(1) + 1, "b2", 100u * (unsigned)round, 100);
    drain_by_id(ctx, got, 300);
    cr_expect_eq(got[b], 500u, "after the deletion: %u of 500", got[b]);
    cr_expect_eq(got[a4] + got[a6], 0u, "a deleted interface delivered");

    /* Leave on a gone interface: OK (the kernel finds the membership by
     * address / index) or MCRX_E_LEAVE with the OS error; either way the
     * state is consistent and remove works. */
    int rc4 = mcrx_ctx_leave(ctx, a4);
    int err4 = mcrx_last_os_error();
    int rc6 = mcrx_ctx_leave(ctx, a6);
    int err6 = mcrx_last_os_error();
    fprintf(stderr, "[faults] leave after ip link del: IPv4 %s (%s), IPv6 %s (%s)\n",
            mcrx_status_name(rc4), rc4 ? strerror(err4) : "-",
            mcrx_status_name(rc6), rc6 ? strerror(err6) : "-");
    cr_expect(rc4 == MCRX_OK || rc4 == MCRX_E_LEAVE, "IPv4 leave: %s", mcrx_status_name(rc4));
    cr_expect(rc6 == MCRX_OK || rc6 == MCRX_E_LEAVE, "IPv6 leave: %s", mcrx_status_name(rc6));
    cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, a4)),
                 rc4 == MCRX_OK ? MCRX_SUB_BOUND : MCRX_SUB_JOINED);
    cr_expect_eq(mcrx_ctx_remove(ctx, a4), MCRX_OK);
    cr_expect_eq(mcrx_ctx_remove(ctx, a6), MCRX_OK);

    /* A new subscription on the gone interface: a clear status, nothing
     * added. */
    uint64_t id = 0;
    size_t n = mcrx_ctx_count(ctx);
    int rc = mcrx_ctx_add(ctx, &c4, &id);
    cr_expect_eq(rc, MCRX_E_UNKNOWN_INTERFACE, "add on a deleted interface: %s",
                 mcrx_status_name(rc));
    cr_expect_eq(mcrx_ctx_count(ctx), n);

    mt_send(&sb, gb, PORT(1) + 1, "last", 4);
    mt_pkt k = {0};
    cr_expect_eq(mt_recv(ctx, &k, false, 2000), 1);
    if (k.data)
        mt_pkt_free(&k);
    mt_sender_close(&sb);
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), fds0, "descriptors leaked");
    MT_EXPECT_NO_LEAK();
}

/* The membership lives on the interface, not on its address: with the
 * address gone and back, the subscription receives again and leaves
 * cleanly. While it is gone, a new add naming it is refused clearly. */
Test(faults, interface_address_removed_and_added_back)
{
    int fds0 = mt_count_fds();
    pair_up();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 3);
    mcrx_config c = mt_cfg_asm4(g, PORT(3), F0_V4);
    uint64_t id = mt_add_join(ctx, &c);
    cr_assert_lt(id, 8u);
    mt_sender s = mt_sender_v4(F1_V4, "f1");
    until_flowing(ctx, id, &s, g, PORT(3));

    sh("ip addr del " F0_V4 "/24 dev f0");
    mt_send_seq(&s, g, PORT(3), "gone", 0, 20);
    unsigned got[8] = {0};
    drain_by_id(ctx, got, 200);
    fprintf(stderr, "[faults] address removed: %u of 20 still delivered\n", got[id]);

    uint64_t other = 0;
    mcrx_config c2 = mt_cfg_asm4(mt_group_asm4(FILE_NO, 4), PORT(3) + 1, F0_V4);
    int fds = mt_count_fds();
    cr_expect_eq(mcrx_ctx_add(ctx, &c2, &other), MCRX_E_UNKNOWN_INTERFACE);
    cr_expect_eq(mcrx_ctx_count(ctx), 1u);
    cr_expect_eq(mt_count_fds(), fds, "a refused add left a descriptor");

    sh("ip addr add " F0_V4 "/24 dev f0");
    memset(got, 0, sizeof got);
    mt_send_seq(&s, g, PORT(3), "back", 0, 20);
    drain_by_id(ctx, got, 300);
    cr_expect_eq(got[id], 20u, "after the address came back: %u of 20", got[id]);
    cr_expect_eq(mcrx_ctx_leave(ctx, id), MCRX_OK);
    cr_expect_eq(mcrx_ctx_join(ctx, id), MCRX_OK, "join again");
    cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    mt_sender_close(&s);
    sh("ip link del f0");
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), fds0);
    MT_EXPECT_NO_LEAK();
}

/* ------------------------------------------------------------------ */
/* Descriptors                                                         */
/* ------------------------------------------------------------------ */

/* Lowest descriptor number not in use: with RLIMIT_NOFILE set to it, the
 * next descriptor the process asks for fails with EMFILE. */
static int lowest_free_fd(void)
{
    int fd = 0;
    while (fcntl(fd, F_GETFD) != -1)
        fd++;
    return fd;
}

static void nofile(rlim_t soft)
{
    struct rlimit r;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    r.rlim_cur = soft;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &r), 0, "setrlimit: %s", strerror(errno));
}

Test(faults, emfile_during_add_take_and_ctx_new)
{
    struct rlimit saved;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 5);
    mcrx_config c = mt_cfg_asm4(g, PORT(5), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");

    int fds = mt_count_fds();
    nofile((rlim_t)lowest_free_fd());

    /* add: the socket cannot be created */
    uint64_t id2 = 0;
    mcrx_config c2 = mt_cfg_asm4(mt_group_asm4(FILE_NO, 6), PORT(5) + 1, NULL);
    int rc = mcrx_ctx_add(ctx, &c2, &id2);
    cr_expect_eq(rc, MCRX_E_SOCKET_CREATE, "add at EMFILE: %s", mcrx_status_name(rc));
    cr_expect_eq(mcrx_last_os_error(), EMFILE, "os error %d", mcrx_last_os_error());
    cr_expect_eq(mcrx_ctx_count(ctx), 1u, "something was added");

    /* take: the extracted sub's receiver needs an epoll descriptor */
    mt_send_seq(&s, g, PORT(5), "t", 0, 10);
    mcrx_sub *sub = NULL;
    rc = mcrx_ctx_take(ctx, id, &sub);
    cr_expect_lt(rc, 0, "take at EMFILE: %s", mcrx_status_name(rc));
    cr_expect_null(sub);
    cr_expect(mcrx_ctx_contains(ctx, id), "a failed take removed the sub");
    cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, id)), MCRX_SUB_JOINED);

    /* ctx_new: explicit backend and default (with fallback) both fail */
    mcrx_ctx *c3 = NULL;
    mcrx_ctx_options o = mt_opts();
    rc = mcrx_ctx_new(&c3, &o);
    cr_expect_lt(rc, 0, "ctx_new at EMFILE: %s", mcrx_status_name(rc));
    cr_expect_null(c3);
    fprintf(stderr, "[faults] at EMFILE: add %s, take/ctx_new %s (%s)\n",
            mcrx_status_name(MCRX_E_SOCKET_CREATE), mcrx_status_name(rc),
            strerror(mcrx_last_os_error()));

    /* Back to normal: nothing was left behind or lost; all works. */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    cr_expect_eq(mt_count_fds(), fds, "descriptors changed at EMFILE");
    unsigned got[8] = {0};
    drain_by_id(ctx, got, 200);
    cr_expect_eq(got[id], 10u, "datagrams around the failed take: %u of 10", got[id]);
    cr_expect_eq(mcrx_ctx_add(ctx, &c2, &id2), MCRX_OK);
    cr_expect_eq(mcrx_ctx_take(ctx, id, &sub), MCRX_OK);
    cr_expect_eq(mcrx_sub_free(sub), MCRX_OK);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    MT_EXPECT_NO_LEAK();
}

/* ------------------------------------------------------------------ */
/* io_uring set-up                                                     */
/* ------------------------------------------------------------------ */

/* Receives one datagram on a fresh subscription of ctx. */
static void works(mcrx_ctx *ctx, unsigned test)
{
    const char *g = mt_group_asm4(FILE_NO, test);
    mcrx_config c = mt_cfg_asm4(g, PORT(test), NULL);
    uint64_t id = mt_add_join(ctx, &c);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(test), "x", 1);
    mt_pkt k = {0};
    cr_expect_eq(mt_recv(ctx, &k, false, 2000), 1, "nothing received");
    if (k.data)
        mt_pkt_free(&k);
    mt_sender_close(&s);
    cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
}

static void skip_unless_iouring(void)
{
    if (!mcrx_backend_compiled(MCRX_BACKEND_IOURING))
        cr_skip_test("io_uring is not compiled into this build");
    if (mt_backend() != MCRX_BACKEND_IOURING)
        cr_skip_test("io_uring set-up faults run once, in the iouring run");
}

/* The test hooks of the io_uring backend (iouring.c): the default backend
 * falls back to recvmmsg and says why; an explicit io_uring fails with
 * that reason. */
Test(faults, iouring_setup_failure_hooks)
{
    skip_unless_iouring();
    static const struct {
        const char *var, *val;
        int status, os_error;
    } hooks[] = {
        {"MCRX_TEST_IOURING_UNAVAILABLE", "1", MCRX_E_BACKEND_UNAVAILABLE, ENOSYS},
        {"MCRX_TEST_IOURING_FAIL", "enomem", MCRX_E_NO_MEMORY, ENOMEM},
        {"MCRX_TEST_IOURING_FAIL", "eventfd", 0, 0}, /* any status */
    };
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++) {
        setenv(hooks[i].var, hooks[i].val, 1);
        mcrx_ctx_options o = mt_opts();
        o.backend = MCRX_BACKEND_IOURING;
        mcrx_ctx *ctx = NULL;
        int rc = mcrx_ctx_new(&ctx, &o);
        cr_expect_lt(rc, 0, "%s=%s: explicit io_uring came up", hooks[i].var, hooks[i].val);
        cr_expect_null(ctx);
        if (hooks[i].status) {
            cr_expect_eq(rc, hooks[i].status, "%s: %s", hooks[i].val, mcrx_status_name(rc));
            cr_expect_eq(mcrx_last_os_error(), hooks[i].os_error);
        }
        o.backend = MCRX_BACKEND_DEFAULT;
        rc = mcrx_ctx_new(&ctx, &o);
        cr_assert_eq(rc, MCRX_OK, "default backend with %s=%s: %s", hooks[i].var,
                     hooks[i].val, mcrx_status_name(rc));
        if (mcrx_ctx_backend(ctx) != MCRX_BACKEND_IOURING) {
            int os_error = -1;
            cr_expect(mcrx_ctx_backend_fell_back(ctx));
            int why = mcrx_ctx_fallback_reason(ctx, &os_error);
            cr_expect_lt(why, 0, "no reason given for the fallback");
            if (hooks[i].status)
                cr_expect_eq(why, hooks[i].status);
        }
        works(ctx, 7);
        mcrx_ctx_free(ctx);
        unsetenv(hooks[i].var);
    }
}

/* Drop CAP_IPC_LOCK from the effective set: as root, memlock limits do not
 * apply otherwise. */
static bool drop_ipc_lock(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return false;
    d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    return syscall(SYS_capset, &h, d) == 0;
}

/* A real RLIMIT_MEMLOCK of 0 without CAP_IPC_LOCK. What the kernel does is
 * reported (since 5.12 rings are charged to the memory cgroup, not to
 * memlock, so set-up usually succeeds); either way: an explicit io_uring
 * context works or fails with a status at ctx_new or join (and then
 * leaves nothing behind), and the default backend ends up working. */
Test(faults, iouring_with_memlock_zero)
{
    skip_unless_iouring();
    cr_assert(drop_ipc_lock(), "capset: %s", strerror(errno));
    struct rlimit r = {0, 0};
    cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &r), 0, "setrlimit: %s", strerror(errno));
    int fds = mt_count_fds();

    mcrx_ctx_options o = mt_opts();
    o.backend = MCRX_BACKEND_IOURING;
    mcrx_ctx *ctx = NULL;
    int rc = mcrx_ctx_new(&ctx, &o);
    if (rc != MCRX_OK) {
        fprintf(stderr, "[faults] memlock 0: io_uring ctx_new %s (%s)\n",
                mcrx_status_name(rc), strerror(mcrx_last_os_error()));
        cr_expect(rc == MCRX_E_NO_MEMORY || rc == MCRX_E_BACKEND_UNAVAILABLE,
                  "%s", mcrx_status_name(rc));
        cr_expect_eq(mt_count_fds(), fds);
        o.backend = MCRX_BACKEND_DEFAULT;
        cr_assert_eq(mcrx_ctx_new(&ctx, &o), MCRX_OK);
        cr_expect(mcrx_ctx_backend_fell_back(ctx));
        works(ctx, 8);
        mcrx_ctx_free(ctx);
        return;
    }
    /* The buffers are registered at join: the other place it can fail. */
    const char *g = mt_group_asm4(FILE_NO, 8);
    mcrx_config c = mt_cfg_asm4(g, PORT(8), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    rc = mcrx_ctx_join(ctx, id);
    fprintf(stderr, "[faults] memlock 0 without CAP_IPC_LOCK: io_uring ctx_new "
                    "MCRX_OK, join %s%s%s\n", mcrx_status_name(rc),
            rc ? ": " : "", rc ? strerror(mcrx_last_os_error()) : "");
    if (rc == MCRX_OK) {
        cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
        works(ctx, 9);
    } else {
        cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, id)), MCRX_SUB_BOUND);
        cr_expect_not(mt_igmp_has("lo", g), "a failed join left the membership");
        cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
    }
    mcrx_ctx_free(ctx);
    cr_expect_eq(mt_count_fds(), fds);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

/* The only statuses a failed allocation may produce. */
static bool alloc_status(int rc)
{
    return rc == MCRX_E_NO_MEMORY;
}

Test(faults, every_allocation_of_ctx_new_fails_in_turn)
{
    int fds = mt_count_fds();
    unsigned n;
    for (n = 1; n < 1000; n++) {
        mcrx_ctx_options o = mt_opts();
        o.backend = mt_backend();
        mcrx_ctx *ctx = NULL;
        fault_arm(n);
        int rc = mcrx_ctx_new(&ctx, &o);
        unsigned seen = fault_disarm();
        if (rc == MCRX_OK) {
            /* Past the last allocation, or the default backend fell back
             * past the failure: a working context either way. */
            cr_expect(seen < n || mcrx_ctx_backend_fell_back(ctx),
                      "allocation %u failed, yet ctx_new said OK", n);
            works(ctx, 10);
            mcrx_ctx_free(ctx);
            if (seen < n)
                break;
        } else {
            cr_expect(alloc_status(rc), "allocation %u: %s", n, mcrx_status_name(rc));
            cr_expect_null(ctx);
        }
        cr_expect_eq(mt_count_fds(), fds, "allocation %u: descriptors leaked", n);
    }
    fprintf(stderr, "[faults] ctx_new: %u allocations, each failed once\n", n - 1);
    cr_expect_gt(n, 1u);
    MT_EXPECT_NO_LEAK();
}

/* A context with subscriptions and the paths of add and join. */
Test(faults, every_allocation_of_add_and_join_fails_in_turn)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    /* 20 subs first, so add crosses a growth of the id table (16). */
    mcrx_config base[20];
    for (unsigned i = 0; i < 16; i++) {
        base[i] = mt_cfg_asm4(mt_group_asm4(FILE_NO, 20 + i), PORT(11), NULL);
        mt_add_join(ctx, &base[i]);
    }
    int fds = mt_count_fds();
    const char *g = mt_group_asm4(FILE_NO, 11);
    mcrx_config c = mt_cfg_asm4(g, PORT(11), NULL);
    unsigned adds = 0, joins = 0;
    for (unsigned n = 1; n < 1000; n++) {
        uint64_t id = 0;
        size_t count = mcrx_ctx_count(ctx);
        fault_arm(n);
        int rc = mcrx_ctx_add(ctx, &c, &id);
        unsigned seen = fault_disarm();
        adds = seen > adds ? seen : adds;
        if (rc != MCRX_OK) {
            cr_expect(alloc_status(rc), "add, allocation %u: %s", n, mcrx_status_name(rc));
            cr_expect_eq(mcrx_ctx_count(ctx), count, "a failed add left a sub");
            cr_expect_eq(mt_count_fds(), fds, "a failed add left a descriptor");
            continue;
        }
        /* join of the new sub, failing its nth allocation in turn */
        for (unsigned j = 1; j < 1000; j++) {
            fault_arm(j);
            rc = mcrx_ctx_join(ctx, id);
            seen = fault_disarm();
            joins = seen > joins ? seen : joins;
            if (rc == MCRX_OK)
                break;
            cr_expect(alloc_status(rc), "join, allocation %u: %s", j, mcrx_status_name(rc));
            cr_expect_eq(mcrx_sub_get_state(mcrx_ctx_get(ctx, id)), MCRX_SUB_BOUND);
            cr_expect_not(mt_igmp_has("lo", g), "a failed join kept the membership");
        }
        mt_send(&s, g, PORT(11), "j", 1);
        mt_pkt k = {0};
        cr_expect_eq(mt_recv(ctx, &k, false, 2000), 1, "joined sub receives");
        if (k.data)
            mt_pkt_free(&k);
        cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
        if (adds < n)
            break; /* the add made fewer than n allocations: all done */
    }
    fprintf(stderr, "[faults] add: up to %u allocations, join: up to %u, each failed once\n",
            adds, joins);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    MT_EXPECT_NO_LEAK();
}

/* take with datagrams already read for the sub (a carry in the core, or
 * completions in io_uring's buffers): a failed take changes nothing and
 * loses nothing; a successful one moves every datagram along. */
Test(faults, every_allocation_of_take_fails_in_turn)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    const char *g = mt_group_asm4(FILE_NO, 12);
    mcrx_config c = mt_cfg_asm4(g, PORT(12), NULL);
    unsigned n;
    for (n = 1; n < 1000; n++) {
        uint64_t id = mt_add_join(ctx, &c);
        mt_send_seq(&s, g, PORT(12), "t", 0, 10);
        mt_pkt k = {0};
        cr_assert_eq(mt_recv(ctx, &k, false, 2000), 1);
        mt_pkt_free(&k);
        mcrx_sub *sub = NULL;
        fault_arm(n);
        int rc = mcrx_ctx_take(ctx, id, &sub);
        unsigned seen = fault_disarm();
        long rest;
        if (rc != MCRX_OK) {
            cr_expect(alloc_status(rc), "take, allocation %u: %s", n, mcrx_status_name(rc));
            cr_expect_null(sub);
            cr_expect(mcrx_ctx_contains(ctx, id));
            rest = mt_drain_count(ctx, 100);
            cr_expect_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
        } else {
            rest = 0;
            while (mt_sub_recv(sub, NULL, &k, false, 100) == 1) {
                rest++;
                mt_pkt_free(&k);
            }
            mcrx_sub_stats st;
            cr_expect_eq(mcrx_sub_get_stats(sub, &st), MCRX_OK);
            rest += (long)st.discarded;
            cr_expect_eq(mcrx_sub_free(sub), MCRX_OK);
        }
        cr_expect_eq(rest, 9, "allocation %u: %ld of the 9 left", n, rest);
        if (rc == MCRX_OK && seen < n)
            break;
    }
    fprintf(stderr, "[faults] take: %u allocations, each failed once\n", n - 1);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
    MT_EXPECT_NO_LEAK();
}

/* Receiving, leaving, removing, freeing an extracted sub and freeing the
 * context need no memory: they work with every allocation failing. */
Test(faults, receive_and_free_paths_need_no_allocation)
{
    int fds = mt_count_fds();
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    const char *g1 = mt_group_asm4(FILE_NO, 13), *g2 = mt_group_asm4(FILE_NO, 14);
    mcrx_config c1 = mt_cfg_asm4(g1, PORT(13), NULL), c2 = mt_cfg_asm4(g2, PORT(14), NULL);
    uint64_t a = mt_add_join(ctx, &c1), b = mt_add_join(ctx, &c2);
    mcrx_sub *taken = NULL;
    cr_assert_eq(mcrx_ctx_take(ctx, b, &taken), MCRX_OK);
    mt_send_seq(&s, g1, PORT(13), "a", 0, 300);
    mt_send_seq(&s, g2, PORT(14), "b", 0, 5);

    fault_arm(0);
    long got = mt_drain_count(ctx, 100);
    long got_b = 0; /* no copies here: the test's helpers allocate */
    for (;;) {
        mcrx_packet p;
        int r = mcrx_sub_try_recv(taken, &p);
        if (r == 1) {
            got_b++;
            continue;
        }
        struct pollfd pfd = {.fd = mcrx_sub_fd(taken), .events = POLLIN};
        if (r < 0 || poll(&pfd, 1, 100) <= 0)
            break;
    }
    int leave = mcrx_ctx_leave(ctx, a);
    int rm = mcrx_ctx_remove(ctx, a);
    int fr = mcrx_sub_free(taken);
    mcrx_ctx_free(ctx);
    unsigned seen = fault_disarm();
    cr_expect_eq(got, 300, "received %ld of 300 with allocations failing", got);
    cr_expect_eq(got_b, 5);
    cr_expect_eq(leave, MCRX_OK);
    cr_expect_eq(rm, MCRX_OK);
    cr_expect_eq(fr, MCRX_OK);
    fprintf(stderr, "[faults] receive/leave/remove/free: %u allocation attempts\n", seen);
    mt_sender_close(&s);
    cr_expect_eq(mt_count_fds(), fds);
    MT_EXPECT_NO_LEAK();
}
