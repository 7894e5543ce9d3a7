/* What Linux returns with a datagram: pktinfo, SO_TIMESTAMPNS and
 * SO_RXQ_OVFL. Shared by the recvmmsg and io_uring backends; the bounds
 * and MSG_CTRUNC rules are the POSIX walk's (src/platform/posix/cmsg.h).
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/backend.h"
#include "platform/linux/plat.h"
#include "platform/posix/cmsg.h"

static void parse_one(const struct cmsghdr *c, const uint8_t *d, size_t len,
                      struct mcrx_rx *rx)
{
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        mcrx_posix_ip_pktinfo(d, len, rx);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        mcrx_posix_ipv6_pktinfo(d, len, rx);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        if (len < sizeof ts)
            return;
        memcpy(&ts, d, sizeof ts);
        /* Only a time the kernel can give (found by fuzz/fuzz_cmsg.c: a
         * hostile tv_sec overflowed the nanosecond product). */
        if (ts.tv_sec < 0 || ts.tv_sec >= INT64_MAX / 1000000000 ||
            ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return;
        rx->ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        rx->flags |= MCRX_RX_HAS_TS;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        if (len >= sizeof rx->drops)
            memcpy(&rx->drops, d, sizeof rx->drops);
    }
}

void mcrx_plat_parse_rx(const void *name, uint32_t namelen, const void *control,
                        size_t controllen, int msg_flags, struct mcrx_rx *rx)
{
    /* Every socket has SO_RXQ_OVFL on, and Linux attaches the count only
     * once it is non-zero: no cmsg means no drop so far. */
    mcrx_posix_parse_rx(name, namelen, control, controllen, msg_flags,
                        MCRX_RX_HAS_DROPS, parse_one, rx);
}
