/* Parsing of what WSARecvMsg returns with a datagram: source name and
 * IP_PKTINFO / IPV6_PKTINFO. Shared by the iocp and wsapoll backends.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Same rules as the Linux parser (src/platform/linux/cmsg.c): the control
 * area is untrusted (a caller's socket may carry options we did not ask
 * for), every WSACMSGHDR is checked against its own cmsg_len and the bytes
 * left, and MSG_CTRUNC means "destination unknown" (the datagram is then
 * filtered as filtered_no_pktinfo). Windows has no per-socket drop count
 * and no receive timestamps here: MCRX_RX_HAS_DROPS / HAS_TS stay clear. */
#include <string.h>

#include "core/backend.h"
#include "platform/windows/plat.h"

/* Offset of a message's data from its header (WSA_CMSG_DATA). */
#define DATA_OFF WSA_CMSGDATA_ALIGN(sizeof(WSACMSGHDR))

/* Copy want bytes of data of the message at msg (header c) into dst if the
 * message carries that many within the avail bytes left of the area. */
static bool take_data(const WSACMSGHDR *c, const uint8_t *msg, size_t avail,
                      void *dst, size_t want)
{
    if (c->cmsg_len < DATA_OFF + want || c->cmsg_len > avail)
        return false;
    memcpy(dst, msg + DATA_OFF, want);
    return true;
}

static void pktinfo_of(const WSACMSGHDR *c, const uint8_t *msg, size_t avail,
                       struct mcrx_rx *rx)
{
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        IN_PKTINFO pi;
        if (!take_data(c, msg, avail, &pi, sizeof pi))
            return;
        rx->dst.family = MCRX_AF_INET;
        memcpy(rx->dst.addr, &pi.ipi_addr, 4);
        rx->ifindex = (uint32_t)pi.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        IN6_PKTINFO pi;
        if (!take_data(c, msg, avail, &pi, sizeof pi))
            return;
        rx->dst.family = MCRX_AF_INET6;
        memcpy(rx->dst.addr, &pi.ipi6_addr, 16);
        rx->ifindex = (uint32_t)pi.ipi6_ifindex;
    } else {
        return;
    }
    rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
}

void mcrx_plat_parse_rx(const void *name, uint32_t namelen, const void *control,
                        size_t controllen, int msg_flags, struct mcrx_rx *rx)
{
    rx->flags = (msg_flags & MSG_TRUNC) ? MCRX_RX_TRUNC : 0;
    rx->drops = 0;
    rx->ts_ns = 0;
    rx->ifindex = 0;
    rx->src_port = 0;
    memset(&rx->dst, 0, sizeof rx->dst);
    if (namelen < sizeof(struct sockaddr_in) ||
        !mcrx_from_sockaddr(name, &rx->src, &rx->src_port))
        memset(&rx->src, 0, sizeof rx->src);
    if (msg_flags & MSG_CTRUNC)
        return; /* cut control data: destination unknown */

    const uint8_t *base = control;
    for (size_t off = 0; control && controllen - off >= sizeof(WSACMSGHDR);) {
        WSACMSGHDR c; /* copied: the area need not be aligned */
        memcpy(&c, base + off, sizeof c);
        if (c.cmsg_len < sizeof c)
            break; /* malformed: nothing after it can be trusted */
        pktinfo_of(&c, base + off, controllen - off, rx);
        size_t step = WSA_CMSGHDR_ALIGN(c.cmsg_len);
        if (step > controllen - off)
            break;
        off += step;
    }
}
