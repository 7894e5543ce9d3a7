/*
 * The control-message parser (src/platform/linux/cmsg.c over the POSIX walk in src/platform/posix/cmsg.c) against truncated
 * and hostile control data. Before issue 7 it trusted cmsg_len and ignored
 * MSG_CTRUNC: an IP_PKTINFO cut to a bare header (what the kernel leaves
 * when a caller's extra control messages fill the area) was read 12 bytes
 * past its end, so the next slot's control data (recvmmsg) or the payload
 * (io_uring) became the "destination", and a unicast datagram could pass
 * the group filter.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#include <arpa/inet.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/platform.h"

#define FILE_NO 16
#define PORT(t) ((uint16_t)(MT_PORT_BASE_CMSG + 10 * (t)))

TestSuite(cmsg, .timeout = 60);

/* An aligned control area of 256 bytes; `used` is what the kernel said. */
union area {
    uint8_t b[256];
    struct cmsghdr align;
};

static size_t put(union area *a, size_t off, int level, int type,
                  const void *data, size_t len, size_t cmsg_len)
{
    struct cmsghdr h = {.cmsg_len = cmsg_len, .cmsg_level = level, .cmsg_type = type};
    memcpy(a->b + off, &h, sizeof h);
    if (data)
        memcpy(a->b + off + CMSG_LEN(0), data, len);
    return off + CMSG_ALIGN(cmsg_len);
}

static struct sockaddr_in src4(void)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(1234)};
    s.sin_addr.s_addr = htonl(0xc0000202);
    return s;
}

Test(cmsg, complete_pktinfo_is_parsed)
{
    union area a;
    memset(&a, 0, sizeof a);
    struct in_pktinfo pi = {.ipi_ifindex = 7};
    pi.ipi_addr.s_addr = htonl(0xef4d1001);
    size_t used = put(&a, 0, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi, CMSG_LEN(sizeof pi));
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, 0, &rx);
    cr_expect(rx.flags & MCRX_RX_HAS_DST);
    cr_expect_eq(rx.ifindex, 7u);
    cr_expect_arr_eq(rx.dst.addr, &pi.ipi_addr, 4);
}

/* The kernel's cut: 112 bytes of socket-level messages, then IP_PKTINFO
 * as a bare header (cmsg_len 16), MSG_CTRUNC; the 12 bytes after the area
 * hold a group address (the next slot, or the payload). */
Test(cmsg, bare_pktinfo_header_means_destination_unknown)
{
    union area a;
    memset(&a, 0, sizeof a);
    uint8_t ts[48] = {0}, mark[4] = {0}, ovfl[4] = {1, 0, 0, 0};
    size_t off = put(&a, 0, SOL_SOCKET, SO_TIMESTAMPING, ts, sizeof ts, CMSG_LEN(sizeof ts));
    off = put(&a, off, SOL_SOCKET, SO_MARK, mark, sizeof mark, CMSG_LEN(sizeof mark));
    off = put(&a, off, SOL_SOCKET, SO_RXQ_OVFL, ovfl, sizeof ovfl, CMSG_LEN(sizeof ovfl));
    cr_assert_eq(off, 112u);
    put(&a, off, IPPROTO_IP, IP_PKTINFO, NULL, 0, CMSG_LEN(0));
    struct in_pktinfo beyond = {.ipi_ifindex = 2};
    beyond.ipi_addr.s_addr = htonl(0xef4d1001); /* 239.77.16.1 */
    memcpy(a.b + 128, &beyond, sizeof beyond);
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(&s, sizeof s, a.b, 128, MSG_CTRUNC, &rx);
    cr_expect_not(rx.flags & MCRX_RX_HAS_DST, "a cut IP_PKTINFO gave a destination");
    cr_expect_not(rx.flags & MCRX_RX_HAS_IFINDEX);
    cr_expect_eq(rx.drops, 1u, "the complete SO_RXQ_OVFL before it is still read");
    /* the same without MSG_CTRUNC (cmsg_len alone must stop it) */
    mcrx_plat_parse_rx(&s, sizeof s, a.b, 128, 0, &rx);
    cr_expect_not(rx.flags & MCRX_RX_HAS_DST, "cmsg_len 16 IP_PKTINFO read past its end");
}

/* A complete pktinfo with MSG_CTRUNC (something after it was cut): the
 * control data is not whole, so the destination counts as unknown. */
Test(cmsg, ctrunc_means_destination_unknown)
{
    union area a;
    memset(&a, 0, sizeof a);
    struct in_pktinfo pi = {.ipi_ifindex = 7};
    pi.ipi_addr.s_addr = htonl(0xef4d1001);
    size_t used = put(&a, 0, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi, CMSG_LEN(sizeof pi));
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, MSG_CTRUNC, &rx);
    cr_expect_not(rx.flags & MCRX_RX_HAS_DST);
}

/* Hostile lengths: 0, less than a header, past the area, huge. No read
 * beyond controllen (ASan/valgrind watch), no destination. */
Test(cmsg, hostile_lengths_stay_inside_the_area)
{
    size_t lens[] = {0, 1, 15, 16, 27, 28 + 200, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *area = malloc(32); /* exactly the area: ASan sees overreads */
        cr_assert_not_null(area);
        memset(area, 0xff, 32);
        struct cmsghdr h = {.cmsg_len = lens[i], .cmsg_level = IPPROTO_IP,
                            .cmsg_type = IP_PKTINFO};
        memcpy(area, &h, sizeof h);
        struct sockaddr_in s = src4();
        struct mcrx_rx rx;
        mcrx_plat_parse_rx(&s, sizeof s, area, 16 + (lens[i] == 28 + 200 ? 16 : 0), 0, &rx);
        cr_expect_not(rx.flags & MCRX_RX_HAS_DST, "cmsg_len %zu", lens[i]);
        free(area);
    }
}

/* End to end: a caller's socket with SO_TIMESTAMPING and SO_RCVMARK, after
 * kernel drops (so SO_RXQ_OVFL is attached too), fills 112 of the 128
 * control bytes, so the kernel cuts IP_PKTINFO to a bare header. A unicast
 * datagram whose payload carries the group address where the parser used
 * to look must not be delivered; every datagram read is accounted for. */
Test(cmsg, caller_socket_extra_cmsgs_unicast_never_delivered)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 0; /* keep the caller's small buffer: drops happen */
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, 1);
    uint16_t port = PORT(1);
    int fd = mt_udp_socket(AF_INET, port);
    int small = 4096, one = 1;
    int tsflags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &tsflags, sizeof tsflags), 0);
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
    if (setsockopt(fd, SOL_SOCKET, SO_RCVMARK, &one, sizeof one) != 0)
        cr_skip_test("SO_RCVMARK not supported by this kernel: %s", strerror(errno));
    mcrx_config c = mt_cfg_asm4(g, port, MT_V4_RX);
    uint64_t id = mt_add_join_socket(ctx, &c, fd);

    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send_seq(&s, g, port, "flood", 0, 400); /* overflow: drops > 0 */
    long first = mt_drain_count(ctx, 200);
    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    cr_assert_gt(st.kernel_drops, 0, "no kernel drops: the test needs SO_RXQ_OVFL attached");

    /* unicast to the receiver host, payload = in_pktinfo with the group */
    struct in_pktinfo fake = {.ipi_ifindex = (int)mt_ifindex("v0")};
    mcrx_ip gi = mt_ip(g);
    memcpy(&fake.ipi_addr, gi.addr, 4);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, MT_V4_RX, &to.sin_addr);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(sendto(s.fd, &fake, sizeof fake, 0, (struct sockaddr *)&to,
                            sizeof to), (ssize_t)sizeof fake);
    mcrx_packet p;
    long unicast_delivered = 0, n = 0;
    for (int tries = 0; tries < 50; tries++) {
        int k = mcrx_ctx_try_recv_any(ctx, &p);
        cr_assert_geq(k, 0);
        if (k == 1 && p.len == sizeof fake)
            unicast_delivered++;
        n += k;
        if (k == 0 && mcrx_ctx_wait(ctx, 20) == 0)
            break;
    }
    cr_expect_eq(unicast_delivered, 0, "%ld unicast datagrams passed the group filter",
                 unicast_delivered);
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    uint64_t filtered = st.filtered_group + st.filtered_no_pktinfo +
                        st.filtered_source + st.filtered_interface;
    cr_expect_eq(st.packets + filtered + st.kernel_drops, 410u,
                 "delivered %llu + filtered %llu + drops %llu != 410 sent (first drain %ld)",
                 (unsigned long long)st.packets, (unsigned long long)filtered,
                 (unsigned long long)st.kernel_drops, first);
    mt_sender_close(&s);
    mcrx_ctx_free(ctx);
}

/* Found by fuzz/fuzz_cmsg.c (fuzz/regress/cmsg/): a source name that says
 * AF_INET6 but is shorter than a sockaddr_in6 was read as a whole one, so
 * the bytes after it (a stale slot) became the source address. */
Test(cmsg, short_ipv6_name_gives_no_source)
{
    union {
        uint8_t b[32];
        struct sockaddr_in6 align;
    } name;
    memset(&name, 0, sizeof name);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(1234)};
    memcpy(name.b, &s6, sizeof s6);
    memset(name.b + 20, 0xee, sizeof name.b - 20); /* beyond namelen */
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(name.b, 20, NULL, 0, 0, &rx);
    cr_expect_eq(rx.src.family, MCRX_AF_UNSPEC, "a 20-byte name gave a source");
    cr_expect_eq(rx.src_port, 0);
    mcrx_plat_parse_rx(name.b, sizeof s6, NULL, 0, 0, &rx);
    cr_expect_eq(rx.src.family, MCRX_AF_INET6, "a whole name is still read");
    cr_expect_eq(rx.src_port, 1234);
}

/* Found by fuzz/fuzz_cmsg.c (fuzz/regress/cmsg/): an SCM_TIMESTAMPNS with a
 * huge tv_sec overflowed the nanosecond product (undefined behaviour); a
 * time no kernel gives is now ignored. */
Test(cmsg, impossible_timestamp_is_ignored)
{
    union area a;
    memset(&a, 0, sizeof a);
    struct timespec ts = {.tv_sec = (time_t)1 << 48, .tv_nsec = 5};
    size_t used = put(&a, 0, SOL_SOCKET, SCM_TIMESTAMPNS, &ts, sizeof ts, CMSG_LEN(sizeof ts));
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, 0, &rx);
    cr_expect_not(rx.flags & MCRX_RX_HAS_TS, "an impossible time was taken");
    ts.tv_sec = 1700000000;
    used = put(&a, 0, SOL_SOCKET, SCM_TIMESTAMPNS, &ts, sizeof ts, CMSG_LEN(sizeof ts));
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, 0, &rx);
    cr_expect(rx.flags & MCRX_RX_HAS_TS);
    cr_expect_eq(rx.ts_ns, 1700000000LL * 1000000000LL + 5);
}

/* Found by fuzz/fuzz_cmsg.c (fuzz/regress/cmsg/): a cmsg_len of SIZE_MAX
 * aligned up to a step of 0 and the parser looped forever. The test's
 * timeout catches the hang. */
Test(cmsg, cmsg_len_near_size_max_ends_the_walk, .timeout = 10)
{
    union area a;
    memset(&a, 0, sizeof a);
    put(&a, 0, SOL_SOCKET, SO_RXQ_OVFL, NULL, 0, SIZE_MAX);
    uint32_t ovfl = 3;
    size_t used = put(&a, 16, SOL_SOCKET, SO_RXQ_OVFL, &ovfl, sizeof ovfl,
                      CMSG_LEN(sizeof ovfl));
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, 0, &rx);
    cr_expect_eq(rx.drops, 0u, "nothing after a malformed message is trusted");
    put(&a, 0, SOL_SOCKET, SO_RXQ_OVFL, NULL, 0, SIZE_MAX - 3);
    mcrx_plat_parse_rx(&s, sizeof s, a.b, used, 0, &rx);
    cr_expect_eq(rx.drops, 0u);
}
