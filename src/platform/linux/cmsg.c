/* Parsing of what Linux returns with a datagram: source name, pktinfo,
 * SO_TIMESTAMPNS and SO_RXQ_OVFL. Shared by the recvmmsg and io_uring
 * backends. SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "core/backend.h"
#include "platform/linux/plat.h"

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
    rx->dst.family = MCRX_AF_UNSPEC;
    if (namelen < sizeof(struct sockaddr_in) ||
        !mcrx_linux_from_sockaddr(name, &rx->src, &rx->src_port))
        memset(&rx->src, 0, sizeof rx->src);

    struct msghdr mh = {.msg_control = (void *)control, .msg_controllen = controllen};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            rx->dst.family = MCRX_AF_INET;
            rx->dst.scope_id = 0;
            memcpy(rx->dst.addr, &pi.ipi_addr, 4); /* header destination */
            rx->ifindex = (uint32_t)pi.ipi_ifindex;
            rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            rx->dst.family = MCRX_AF_INET6;
            rx->dst.scope_id = 0;
            memcpy(rx->dst.addr, &pi.ipi6_addr, 16);
            rx->ifindex = pi.ipi6_ifindex;
            rx->flags |= MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            rx->ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            rx->flags |= MCRX_RX_HAS_TS;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            memcpy(&rx->drops, CMSG_DATA(c), sizeof rx->drops);
        }
    }
}
