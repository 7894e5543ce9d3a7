/* Parsing of what Linux returns with a datagram: source name, pktinfo,
 * SO_TIMESTAMPNS and SO_RXQ_OVFL. Shared by the recvmmsg and io_uring
 * backends. SPDX-License-Identifier: BSD-2-Clause
 *
 * The control area is untrusted input: a caller's socket may carry control
 * messages we did not ask for (SO_TIMESTAMPING, SO_RCVMARK...), and when
 * the area runs out the kernel cuts the last message (often IP_PKTINFO,
 * which comes after the socket-level ones) down to a bare header and sets
 * MSG_CTRUNC. Every message is therefore bounds-checked against both its
 * own cmsg_len and the area, and truncated control data means "destination
 * unknown": such a datagram is filtered (filtered_no_pktinfo), never
 * matched against bytes that lie beyond the message. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "core/backend.h"
#include "platform/linux/plat.h"

/* The data of the message at msg (header c) if it carries at least want
 * bytes within the avail bytes left of the area, else NULL. */
static const void *cmsg_payload(const struct cmsghdr *c, const uint8_t *msg,
                                size_t avail, size_t want)
{
    size_t hdr = CMSG_LEN(0);
    if (c->cmsg_len < hdr + want || c->cmsg_len > avail)
        return NULL;
    return msg + hdr;
}

static void parse_one(const struct cmsghdr *c, const uint8_t *msg, size_t avail,
                      struct mcrx_rx *rx)
{
    const void *d;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo pi;
        if (!(d = cmsg_payload(c, msg, avail, sizeof pi)))
            return;
        memcpy(&pi, d, sizeof pi);
        rx->dst.family = MCRX_AF_INET;
        rx->dst.scope_id = 0;
        memcpy(rx->dst.addr, &pi.ipi_addr, 4); /* header destination */
        rx->ifindex = (uint32_t)pi.ipi_ifindex;
        rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo pi;
        if (!(d = cmsg_payload(c, msg, avail, sizeof pi)))
            return;
        memcpy(&pi, d, sizeof pi);
        rx->dst.family = MCRX_AF_INET6;
        rx->dst.scope_id = 0;
        memcpy(rx->dst.addr, &pi.ipi6_addr, 16);
        rx->ifindex = pi.ipi6_ifindex;
        rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        if (!(d = cmsg_payload(c, msg, avail, sizeof ts)))
            return;
        memcpy(&ts, d, sizeof ts);
        rx->ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        rx->flags |= MCRX_RX_HAS_TS;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        if ((d = cmsg_payload(c, msg, avail, sizeof rx->drops)))
            memcpy(&rx->drops, d, sizeof rx->drops);
    }
}

void mcrx_plat_parse_rx(const void *name, uint32_t namelen, const void *control,
                        size_t controllen, int msg_flags, struct mcrx_rx *rx)
{
    /* Every socket has SO_RXQ_OVFL on, and Linux attaches the count only
     * once it is non-zero: no cmsg means no drop so far. */
    rx->flags = MCRX_RX_HAS_DROPS | ((msg_flags & MSG_TRUNC) ? MCRX_RX_TRUNC : 0);
    rx->drops = 0;
    rx->ts_ns = 0;
    rx->ifindex = 0;
    rx->src_port = 0;
    rx->dst.family = MCRX_AF_UNSPEC; /* the rest is set with the family */
    if (namelen < sizeof(struct sockaddr_in) ||
        !mcrx_linux_from_sockaddr(name, &rx->src, &rx->src_port))
        memset(&rx->src, 0, sizeof rx->src);

    const uint8_t *base = control;
    size_t off = 0;
    while (control && off + sizeof(struct cmsghdr) <= controllen) {
        struct cmsghdr c; /* copied: the area need not be aligned */
        memcpy(&c, base + off, sizeof c);
        if (c.cmsg_len < sizeof c)
            break; /* malformed: nothing after it can be trusted */
        parse_one(&c, base + off, controllen - off, rx);
        size_t step = CMSG_ALIGN(c.cmsg_len);
        if (step > controllen - off)
            break;
        off += step;
    }
    if (msg_flags & MSG_CTRUNC) { /* some control data was cut off */
        rx->flags &= ~(uint32_t)(MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX);
        rx->dst.family = MCRX_AF_UNSPEC;
        rx->ifindex = 0;
    }
}
