/*
 * Shared helpers of the mcrx-core Criterion test suite.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Every test program links common.c whole: its constructor refuses to run
 * (exit 99, a hard error for meson) unless scripts/mcrx-netns made the
 * private network namespace (MCRX_NETNS_READY=1). No test may join or send
 * multicast in the machine's own namespace.
 *
 * Conventions
 * - Ports: each test file owns a range of 1000 ports (MT_PORT_BASE_*), each
 *   test a slice of ten inside it, so tests never share a port even when
 *   run in parallel.
 * - Groups: 239.77.<file>.<test> (ASM v4), 232.77.<file>.<test> (SSM v4),
 *   ff15::77:<file><test> (ASM v6), ff3e::8000:<file><test> (SSM v6).
 * - The backend comes from MCRX_TEST_BACKEND ("recvmmsg", "iouring"; unset
 *   or empty = MCRX_BACKEND_DEFAULT), parsed with mcrx_backend_parse().
 */
#ifndef MCRX_TESTS_COMMON_H
#define MCRX_TESTS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include "mcrx/mcrx.h"

/* Port ranges per test file. */
enum {
    MT_PORT_BASE_VALIDATION = 30000,
    MT_PORT_BASE_STATE = 31000,
    MT_PORT_BASE_DELIVERY = 32000,
    MT_PORT_BASE_SOCKETS = 33000,
    MT_PORT_BASE_TAKE = 34000,
    MT_PORT_BASE_RECV = 35000,
    MT_PORT_BASE_ACCOUNTING = 36000,
    MT_PORT_BASE_FAIRNESS = 37000,
    MT_PORT_BASE_CTXFD = 38000,
    MT_PORT_BASE_LEAK = 39000,
    MT_PORT_BASE_SENDER = 40000,
    MT_PORT_BASE_QUICKSTART = 41000,
    MT_PORT_BASE_IOURING = 42000,
    MT_PORT_BASE_TOOLS = 43000,
    MT_PORT_BASE_UV = 44000,
    MT_PORT_BASE_METRICS = 45000,
    MT_PORT_BASE_EVENTLOOP = 46000,
    MT_PORT_BASE_CMSG = 47000,
    MT_PORT_BASE_MANY_SUBS = 48000, /* 300 ports */
    MT_PORT_BASE_FAULTS = 49000,
    MT_PORT_BASE_OVERLOAD = 49500 /* inside the faults range */
};

/* Test-bed addresses (exported by scripts/mcrx-netns; these are fallbacks
 * identical to what the script sets). */
const char *mt_env(const char *name, const char *fallback);
#define MT_IF_RX mt_env("MCRX_TEST_IF_RX", "v0")
#define MT_IF_TX mt_env("MCRX_TEST_IF_TX", "v1")
#define MT_V4_RX mt_env("MCRX_TEST_V4_RX", "192.0.2.1")
#define MT_V4_TX mt_env("MCRX_TEST_V4_TX", "192.0.2.2")
#define MT_V4_TX2 mt_env("MCRX_TEST_V4_TX2", "192.0.2.3")
#define MT_V6_RX mt_env("MCRX_TEST_V6_RX", "2001:db8:77::1")
#define MT_V6_TX mt_env("MCRX_TEST_V6_TX", "2001:db8:77::2")
#define MT_V6_TX2 mt_env("MCRX_TEST_V6_TX2", "2001:db8:77::3")

/* Index of a network interface; fails the test when it does not exist. */
unsigned mt_ifindex(const char *ifname);

/* ---- addresses and configs ---- */

/* Parse an address; fails the test on error. */
mcrx_ip mt_ip(const char *text);
/* Format an address into a static rotating buffer (for messages). */
const char *mt_ipstr(const mcrx_ip *ip);
/* "239.77.<a>.<b>" etc. as mcrx_ip / text (static rotating buffer). */
const char *mt_group_asm4(unsigned file, unsigned test);
const char *mt_group_ssm4(unsigned file, unsigned test);
const char *mt_group_asm6(unsigned file, unsigned test);
const char *mt_group_ssm6(unsigned file, unsigned test);

/* ASM v4 config joined on an interface address (NULL = let the kernel pick,
 * which is lo in the test bed). */
mcrx_config mt_cfg_asm4(const char *group, uint16_t port, const char *ifaddr);
mcrx_config mt_cfg_ssm4(const char *group, const char *source, uint16_t port,
                        const char *ifaddr);
/* IPv6 configs joined on an interface by name (index). */
mcrx_config mt_cfg_asm6(const char *group, uint16_t port, const char *ifname);
mcrx_config mt_cfg_ssm6(const char *group, const char *source, uint16_t port,
                        const char *ifname);

/* ---- contexts ---- */

/* The backend the suite runs against (MCRX_TEST_BACKEND). */
mcrx_backend_kind mt_backend(void);
/* Options with defaults and the test backend. */
mcrx_ctx_options mt_opts(void);
/* Create a context with opts (NULL: mt_opts()) and the test backend
 * forced in; fails the test on error, and when an explicit backend was
 * asked but another one runs. */
mcrx_ctx *mt_ctx_new(const mcrx_ctx_options *opts);
/* Skip the test (with the reason) when a join failed because the
 * platform lacks it: IPv6 SSM under Wine 8 (WSAENOPROTOOPT). */
void mt_skip_unsupported_join(int rc, const mcrx_config *cfg);
/* mcrx_ctx_add + mcrx_ctx_join, failing the test on error. */
uint64_t mt_add_join(mcrx_ctx *ctx, const mcrx_config *cfg);

/* ---- receiving ---- */

/* A received packet copied out of the library's views. */
typedef struct mt_pkt {
    mcrx_packet p;        /* p.payload points at data below */
    mcrx_metadata m;      /* zero unless received with metadata */
    uint8_t *data;        /* malloc'd copy of the payload, NUL-terminated */
} mt_pkt;

void mt_pkt_copy(mt_pkt *dst, const mcrx_packet *p, const mcrx_metadata *m);
void mt_pkt_free(mt_pkt *pkt);

/* Receive one packet from any subscription of ctx, waiting with
 * mcrx_ctx_wait() (never a sleep loop) up to timeout_ms. Returns 1 (copied
 * into *out, to free with mt_pkt_free), 0 on timeout, or a negative
 * status. meta selects mcrx_ctx_try_recv_any_meta. */
int mt_recv(mcrx_ctx *ctx, mt_pkt *out, bool meta, int timeout_ms);
/* Same for one subscription (borrowed or extracted): mcrx_sub_try_recv,
 * waiting with poll(2) on mcrx_sub_fd() for an extracted one, on
 * mcrx_ctx_fd() when ctx is given (borrowed sub). */
int mt_sub_recv(mcrx_sub *sub, mcrx_ctx *ctx, mt_pkt *out, bool meta,
                int timeout_ms);
/* Receive everything until nothing has arrived for quiet_ms, at most max
 * packets, with mcrx_ctx_recv_batch(). Returns the count copied into out
 * (an array of max), or a negative status. */
int mt_drain(mcrx_ctx *ctx, mt_pkt *out, size_t max, int quiet_ms);
/* Drain and discard; returns how many packets were received. */
long mt_drain_count(mcrx_ctx *ctx, int quiet_ms);

/* Milliseconds on CLOCK_MONOTONIC / nanoseconds of CLOCK_REALTIME. */
int64_t mt_now_ms(void);
int64_t mt_realtime_ns(void);

/* ---- our own sender (plain sockets) ---- */

typedef struct mt_sender {
    int fd;
    int family;       /* AF_INET / AF_INET6 */
    uint16_t port;    /* local (source) port */
    mcrx_ip src;      /* local (source) address */
} mt_sender;

/* IPv4 sender bound to src (port 0 = ephemeral), multicast out of ifname,
 * TTL 1, loop on. */
mt_sender mt_sender_v4(const char *src, const char *ifname);
/* IPv6 sender bound to src, multicast out of ifname, hops 1, loop on. */
mt_sender mt_sender_v6(const char *src, const char *ifname);
/* Send one datagram; fails the test on error. */
void mt_send(const mt_sender *s, const char *group, uint16_t port,
             const void *data, size_t len);
/* Send "<tag>-<i>" style numbered datagrams [first, first+count). */
void mt_send_seq(const mt_sender *s, const char *group, uint16_t port,
                 const char *tag, unsigned first, unsigned count);
void mt_sender_close(mt_sender *s);

/* Parse a "<tag>-<i>" payload; returns i or -1 when the tag differs. */
long mt_seq_of(const mt_pkt *pkt, const char *tag);

/* ---- an independent sender: python3's socket module ---- */

/* Run python3 -c <script> that sends count datagrams "<payload>" (each the
 * same text) to group:port from src (an address on ifname), TTL/hops 1.
 * Waits for python to exit; returns its exit status (0 = sent). */
int mt_python_send(const char *group, uint16_t port, const char *src,
                   const char *ifname, const char *payload, unsigned count);
/* Same, and *src_port gets the port python's socket sent from. */
int mt_python_send_port(const char *group, uint16_t port, const char *src,
                        const char *ifname, const char *payload,
                        unsigned count, uint16_t *src_port);

/* Run a command (argv, NULL-terminated) and wait; returns the exit status
 * or -1. stdout/stderr go to /dev/null unless verbose. */
int mt_run(char *const argv[], bool verbose);

/* ---- kernel membership (/proc/net/...) ---- */

/* Whether /proc/net/igmp lists group (IPv4 text) on ifname. */
bool mt_igmp_has(const char *ifname, const char *group);
/* Whether /proc/net/mcfilter lists (group, source) on ifname with an
 * INCLUDE count > 0. Note (kernel quirk, seen on 6.18): the kernel's
 * iterator only looks at the most recently joined group of each interface
 * to decide whether that interface has any source filter, so an SSM entry
 * is hidden while a later ASM group sits on the same interface. Tests check
 * mcfilter right after their SSM join. */
bool mt_mcfilter_has(const char *ifname, const char *group, const char *source);
/* Same for IPv6 (/proc/net/igmp6, /proc/net/mcfilter6). */
bool mt_igmp6_has(const char *ifname, const char *group);
bool mt_mcfilter6_has(const char *ifname, const char *group,
                      const char *source);
/* Dump the four files to stderr (for failure messages). */
void mt_dump_membership(void);

/* ---- file descriptors ---- */

/* Open file descriptors of this process (/proc/self/fd). */
int mt_count_fds(void);
/* Whether fd is open (fcntl F_GETFD). */
bool mt_fd_open(int fd);

/* A UDP socket of family (AF_INET/AF_INET6), SO_REUSEADDR, bound to the
 * wildcard and port (port 0 = do not bind). Fails the test on error. */
int mt_udp_socket(int family, uint16_t port);
/* mt_udp_socket(AF_INET, port) that also joined group (IPv4 ASM) on
 * interface ifname itself, behind the library's back. */
int mt_udp_socket_joined4(uint16_t port, const char *group, const char *ifname);
/* Add cfg with the caller's socket fd and join it; returns the id. */
uint64_t mt_add_join_socket(mcrx_ctx *ctx, const mcrx_config *cfg, int fd);

/* Run LeakSanitizer now (sanitized builds): 0 = no leak, > 0 = leaks were
 * reported on stderr, -1 = not a sanitized build. */
int mt_leak_check(void);
/* Fail the test if LeakSanitizer finds a leak (no-op without ASan). */
#define MT_EXPECT_NO_LEAK()                                                   \
    do {                                                                      \
        int mt_lk_ = mt_leak_check();                                         \
        if (mt_lk_ >= 0)                                                      \
            cr_expect_eq(mt_lk_, 0, "LeakSanitizer reports leaks (above)");   \
    } while (0)

#endif /* MCRX_TESTS_COMMON_H */
