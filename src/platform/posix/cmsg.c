/* The walk over what recvmsg returns with a datagram, the same on every
 * POSIX system. SPDX-License-Identifier: BSD-2-Clause
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
#define _GNU_SOURCE
#include <string.h>

#include "core/backend.h"
#include "platform/posix/posix.h"

void mcrx_posix_parse_rx(const void *name, uint32_t namelen, const void *control,
                         size_t controllen, int msg_flags, uint32_t base_flags,
                         mcrx_posix_cmsg_fn one_msg, struct mcrx_rx *rx)
{
    rx->flags = base_flags | ((msg_flags & MSG_TRUNC) ? MCRX_RX_TRUNC : 0);
    rx->drops = 0;
    rx->ts_ns = 0;
    rx->ifindex = 0;
    rx->src_port = 0;
    rx->dst.family = MCRX_AF_UNSPEC; /* the rest is set with the family */
    if (namelen < sizeof(struct sockaddr_in) ||
        !mcrx_posix_from_sockaddr(name, &rx->src, &rx->src_port))
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
