/*
 * The Windows control-data parser (src/platform/windows/cmsg.c) on crafted
 * WSAMSG areas: the same bounds and MSG_CTRUNC rules as the Linux parser
 * (tests/test_cmsg.c covers that one against the kernel).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <criterion/criterion.h>

#include "core/backend.h"
#include "platform/windows/plat.h"

TestSuite(cmsg_win, .timeout = 30);

#define HDR WSA_CMSG_LEN(0) /* header plus alignment: where data starts */

union area {
    uint8_t b[MCRX_PLAT_CONTROL_LEN];
    WSACMSGHDR align;
};

/* Append a message (level, type, data of len bytes, cmsg_len claimed) at
 * *off; returns a pointer to its header. */
static WSACMSGHDR *put(union area *a, size_t *off, int level, int type,
                       const void *data, size_t len, size_t claimed)
{
    WSACMSGHDR *c = (WSACMSGHDR *)(a->b + *off);
    c->cmsg_len = claimed;
    c->cmsg_level = level;
    c->cmsg_type = type;
    memcpy(a->b + *off + HDR, data, len);
    *off += WSA_CMSGHDR_ALIGN(HDR + len);
    return c;
}

static IN_PKTINFO pi4(const char *dst, ULONG ifindex)
{
    IN_PKTINFO p;
    cr_assert_eq(inet_pton(AF_INET, dst, &p.ipi_addr), 1);
    p.ipi_ifindex = ifindex;
    return p;
}

static struct sockaddr_in src4(void)
{
    struct sockaddr_in s = {0};
    s.sin_family = AF_INET;
    s.sin_port = htons(4242);
    inet_pton(AF_INET, "192.0.2.2", &s.sin_addr);
    return s;
}

static void parse(const union area *a, size_t len, int flags, struct mcrx_rx *rx)
{
    struct sockaddr_in s = src4();
    memset(rx, 0xa5, sizeof *rx); /* every field must be set */
    mcrx_plat_parse_rx(&s, sizeof s, a->b, len, flags, rx);
}

static void expect_dst4(const struct mcrx_rx *rx, const char *dst, uint32_t ifindex)
{
    mcrx_ip want;
    cr_assert_eq(mcrx_ip_parse(&want, dst), MCRX_OK);
    cr_expect(rx->flags & MCRX_RX_HAS_DST);
    cr_expect(rx->flags & MCRX_RX_HAS_IFINDEX);
    cr_expect(mcrx_ip_equal(&rx->dst, &want));
    cr_expect_eq(rx->ifindex, ifindex);
}

static void expect_no_dst(const struct mcrx_rx *rx)
{
    cr_expect_not(rx->flags & (MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX));
    cr_expect_eq(rx->dst.family, MCRX_AF_UNSPEC);
    cr_expect_eq(rx->ifindex, 0u);
}

Test(cmsg_win, ipv4_pktinfo_and_source)
{
    union area a;
    size_t off = 0;
    IN_PKTINFO p = pi4("239.1.2.3", 7);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off, 0, &rx);
    expect_dst4(&rx, "239.1.2.3", 7);
    mcrx_ip s;
    cr_assert_eq(mcrx_ip_parse(&s, "192.0.2.2"), MCRX_OK);
    cr_expect(mcrx_ip_equal(&rx.src, &s));
    cr_expect_eq(rx.src_port, 4242);
    cr_expect_not(rx.flags & (MCRX_RX_TRUNC | MCRX_RX_HAS_TS | MCRX_RX_HAS_DROPS),
                  "Windows has no timestamps or drop counts here");
    cr_expect_eq(rx.ts_ns, 0);
    cr_expect_eq(rx.drops, 0u);
}

Test(cmsg_win, ipv6_pktinfo)
{
    union area a;
    size_t off = 0;
    IN6_PKTINFO p;
    cr_assert_eq(inet_pton(AF_INET6, "ff3e::8000:1", &p.ipi6_addr), 1);
    p.ipi6_ifindex = 3;
    put(&a, &off, IPPROTO_IPV6, IPV6_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off, 0, &rx);
    mcrx_ip want;
    cr_assert_eq(mcrx_ip_parse(&want, "ff3e::8000:1"), MCRX_OK);
    cr_expect(rx.flags & MCRX_RX_HAS_DST);
    cr_expect(mcrx_ip_equal(&rx.dst, &want));
    cr_expect_eq(rx.ifindex, 3u);
}

Test(cmsg_win, foreign_message_first_is_skipped)
{
    union area a;
    size_t off = 0;
    uint8_t junk[12] = {1, 2, 3};
    put(&a, &off, SOL_SOCKET, 0x7777, junk, sizeof junk, HDR + sizeof junk);
    IN_PKTINFO p = pi4("239.9.9.9", 2);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off, 0, &rx);
    expect_dst4(&rx, "239.9.9.9", 2);
}

Test(cmsg_win, pktinfo_cut_to_a_bare_header)
{
    union area a;
    size_t off = 0;
    IN_PKTINFO p = pi4("239.1.2.3", 7);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR); /* no data */
    struct mcrx_rx rx;
    parse(&a, off, 0, &rx);
    expect_no_dst(&rx);
}

Test(cmsg_win, ctrunc_means_destination_unknown)
{
    union area a;
    size_t off = 0;
    IN_PKTINFO p = pi4("239.1.2.3", 7);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off, MSG_CTRUNC, &rx);
    expect_no_dst(&rx);
}

Test(cmsg_win, length_beyond_the_area_is_not_read)
{
    union area a;
    size_t off = 0;
    IN_PKTINFO p = pi4("239.1.2.3", 7);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off - 4, 0, &rx); /* the area ends inside the data */
    expect_no_dst(&rx);
    memset(&a, 0, sizeof a);
    off = 0;
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, 4096); /* claims too much */
    parse(&a, off, 0, &rx);
    expect_no_dst(&rx);
}

Test(cmsg_win, malformed_length_stops_the_walk)
{
    union area a;
    size_t off = 0;
    uint8_t junk[8] = {0};
    put(&a, &off, SOL_SOCKET, 1, junk, sizeof junk, 3); /* < header */
    IN_PKTINFO p = pi4("239.1.2.3", 7);
    put(&a, &off, IPPROTO_IP, IP_PKTINFO, &p, sizeof p, HDR + sizeof p);
    struct mcrx_rx rx;
    parse(&a, off, 0, &rx);
    expect_no_dst(&rx);
}

Test(cmsg_win, no_control_data_and_trunc_flag)
{
    struct sockaddr_in s = src4();
    struct mcrx_rx rx;
    memset(&rx, 0xa5, sizeof rx);
    mcrx_plat_parse_rx(&s, sizeof s, NULL, 0, MSG_TRUNC, &rx);
    expect_no_dst(&rx);
    cr_expect(rx.flags & MCRX_RX_TRUNC);
    memset(&rx, 0xa5, sizeof rx);
    mcrx_plat_parse_rx(&s, 2, NULL, 0, 0, &rx); /* name too short */
    cr_expect_eq(rx.src.family, MCRX_AF_UNSPEC);
    cr_expect_eq(rx.src_port, 0);
}
