/* What macOS and FreeBSD return with a datagram: IP_PKTINFO (macOS) or
 * IP_RECVDSTADDR + IP_RECVIF, IPV6_PKTINFO and SCM_TIMESTAMP. The bounds
 * and MSG_CTRUNC rules are the POSIX walk's (src/platform/posix/cmsg.h).
 * SPDX-License-Identifier: BSD-2-Clause */
#include "platform/bsd/plat.h"
#include "platform/posix/cmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <net/if_dl.h>

#include "core/backend.h"

static void parse_v4(const struct cmsghdr *c, const uint8_t *d, size_t len,
                     struct mcrx_rx *rx)
{
    if (c->cmsg_type == IP_RECVDSTADDR && len >= sizeof(struct in_addr)) {
        rx->dst.family = MCRX_AF_INET;
        rx->dst.scope_id = 0;
        memcpy(rx->dst.addr, d, 4); /* header destination */
        rx->flags |= MCRX_RX_HAS_DST;
    } else if (c->cmsg_type == IP_RECVIF &&
               len >= offsetof(struct sockaddr_dl, sdl_index) + sizeof(u_short)) {
        struct sockaddr_dl sdl; /* only its head is needed */
        memset(&sdl, 0, sizeof sdl);
        memcpy(&sdl, d, len < sizeof sdl ? len : sizeof sdl);
        if (sdl.sdl_family == AF_LINK) {
            rx->ifindex = sdl.sdl_index;
            rx->flags |= MCRX_RX_HAS_IFINDEX;
        }
    }
#ifdef IP_PKTINFO /* macOS */
    else if (c->cmsg_type == IP_PKTINFO)
        mcrx_posix_ip_pktinfo(d, len, rx);
#endif
}

static void parse_one(const struct cmsghdr *c, const uint8_t *d, size_t len,
                      struct mcrx_rx *rx)
{
    if (c->cmsg_level == IPPROTO_IP) {
        parse_v4(c, d, len, rx);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        mcrx_posix_ipv6_pktinfo(d, len, rx);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMP) {
        struct timeval tv;
        if (len < sizeof tv)
            return;
        memcpy(&tv, d, sizeof tv);
        /* Only a time the kernel can give (the Linux parser's overflow,
         * found by fuzz/fuzz_cmsg.c). */
        if (tv.tv_sec < 0 || tv.tv_sec >= INT64_MAX / 1000000000 ||
            tv.tv_usec < 0 || tv.tv_usec >= 1000000)
            return;
        rx->ts_ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
        rx->flags |= MCRX_RX_HAS_TS;
    }
}

void mcrx_plat_parse_rx(const void *name, uint32_t namelen, const void *control,
                        size_t controllen, int msg_flags, struct mcrx_rx *rx)
{
    /* No per-socket drop count on these systems: never MCRX_RX_HAS_DROPS. */
    mcrx_posix_parse_rx(name, namelen, control, controllen, msg_flags, 0,
                        parse_one, rx);
}
