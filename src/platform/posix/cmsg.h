/* The walk over what recvmsg returns with a datagram, the same on every
 * POSIX system (inline: each platform's parser inlines its own message
 * handler into it, as fast as a hand-written loop). SPDX-License-Identifier: BSD-2-Clause
 *
 * The control area is untrusted input: a caller's socket may carry control
 * messages we did not ask for (SO_TIMESTAMPING, SO_RCVMARK...), and when
 * the area runs out the kernel cuts the last message (often the pktinfo,
 * which comes after the socket-level ones) down to a bare header and sets
 * MSG_CTRUNC. Every message is therefore bounds-checked against both its
 * own cmsg_len and the area, and truncated control data means "destination
 * unknown": such a datagram is filtered (filtered_no_pktinfo), never
 * matched against bytes that lie beyond the message. Which messages mean
 * what is the platform's business (its one_msg). */
#ifndef MCRX_PLATFORM_POSIX_CMSG_H
#define MCRX_PLATFORM_POSIX_CMSG_H

#include "platform/posix/posix.h"

#include <string.h>

#include "core/backend.h"

/* One control message as the walk hands it over: c is a copy of its
 * header, data its payload (datalen bytes, already bounded by both
 * cmsg_len and the end of the area, possibly unaligned: memcpy it). */
typedef void (*mcrx_posix_cmsg_fn)(const struct cmsghdr *c, const uint8_t *data,
                                   size_t datalen, struct mcrx_rx *rx);

/* The IPv6 pktinfo (and, where the system has it, the IPv4 one) into rx:
 * destination and interface, when len covers the structure. */
static inline void mcrx_posix_ipv6_pktinfo(const uint8_t *d, size_t len, struct mcrx_rx *rx)
{
    struct in6_pktinfo pi;
    if (len < sizeof pi)
        return;
    memcpy(&pi, d, sizeof pi);
    rx->dst.family = MCRX_AF_INET6;
    rx->dst.scope_id = 0;
    memcpy(rx->dst.addr, &pi.ipi6_addr, 16);
    rx->ifindex = pi.ipi6_ifindex;
    rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
}

#ifdef IP_PKTINFO /* Linux, macOS */
static inline void mcrx_posix_ip_pktinfo(const uint8_t *d, size_t len, struct mcrx_rx *rx)
{
    struct in_pktinfo pi;
    if (len < sizeof pi)
        return;
    memcpy(&pi, d, sizeof pi);
    rx->dst.family = MCRX_AF_INET;
    rx->dst.scope_id = 0;
    memcpy(rx->dst.addr, &pi.ipi_addr, 4); /* header destination */
    rx->ifindex = (uint32_t)pi.ipi_ifindex;
    rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
}
#endif

/* The name holds a whole address of the family it names. Checked per
 * family (found by fuzz/fuzz_cmsg.c): a name of 16 to 27 bytes saying
 * AF_INET6 used to be read as a 28-byte sockaddr_in6, past its end. */
static inline bool mcrx_posix_name_whole(const void *name, uint32_t namelen)
{
    sa_family_t family;
    if (!name || namelen < sizeof family)
        return false;
    memcpy(&family, name, sizeof family);
    return (family == AF_INET && namelen >= sizeof(struct sockaddr_in)) ||
           (family == AF_INET6 && namelen >= sizeof(struct sockaddr_in6));
}

/* What mcrx_plat_parse_rx() does on every POSIX system: source name,
 * MSG_TRUNC, a bounds-checked walk that hands each message to one_msg,
 * and MSG_CTRUNC = destination and interface unknown. rx->flags start as
 * base_flags (e.g. MCRX_RX_HAS_DROPS where every datagram tells). */
static inline void mcrx_posix_parse_rx(const void *name, uint32_t namelen, const void *control,
                         size_t controllen, int msg_flags, uint32_t base_flags,
                         mcrx_posix_cmsg_fn one_msg, struct mcrx_rx *rx)
{
    rx->flags = base_flags | ((msg_flags & MSG_TRUNC) ? MCRX_RX_TRUNC : 0);
    rx->drops = 0;
    rx->ts_ns = 0;
    rx->ifindex = 0;
    rx->src_port = 0;
    rx->dst.family = MCRX_AF_UNSPEC; /* the rest is set with the family */
    if (!mcrx_posix_name_whole(name, namelen) ||
        !mcrx_from_sockaddr(name, &rx->src, &rx->src_port))
        memset(&rx->src, 0, sizeof rx->src);

    const uint8_t *base = control;
    const size_t hdr = CMSG_LEN(0); /* header plus its padding */
    size_t off = 0;
    while (control && off + sizeof(struct cmsghdr) <= controllen) {
        struct cmsghdr c; /* copied: the area need not be aligned */
        memcpy(&c, base + off, sizeof c);
        if (c.cmsg_len < hdr)
            break; /* malformed: nothing after it can be trusted */
        size_t avail = controllen - off;
        if (c.cmsg_len <= avail) /* else cut short: its data is not there */
            one_msg(&c, base + off + hdr, c.cmsg_len - hdr, rx);
        /* Compared before aligning (found by fuzz/fuzz_cmsg.c): a cmsg_len
         * near SIZE_MAX aligned up to 0, and the walk never ended. */
        if (c.cmsg_len > avail)
            break;
        size_t step = CMSG_SPACE(c.cmsg_len - hdr); /* CMSG_ALIGN(cmsg_len) */
        if (step > avail)
            break;
        off += step;
    }
    if (msg_flags & MSG_CTRUNC) { /* some control data was cut off */
        rx->flags &= ~(uint32_t)(MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX);
        rx->dst.family = MCRX_AF_UNSPEC;
        rx->ifindex = 0;
    }
}

#endif
