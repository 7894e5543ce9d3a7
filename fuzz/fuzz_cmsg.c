/*
 * libFuzzer target: the Linux control-message parser mcrx_plat_parse_rx()
 * (src/platform/linux/cmsg.c on the POSIX walk of src/platform/posix/cmsg.h), i.e. what recvmmsg/io_uring hand back with
 * each datagram, taken as hostile: any name length and bytes, any control
 * area with any cmsg_len values, MSG_TRUNC / MSG_CTRUNC in any
 * combination. Internal: links the static library.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Input layout: byte 0 = flags (bit 0 MSG_TRUNC, bit 1 MSG_CTRUNC, bit 2
 * "no control pointer"), byte 1 = name length (clamped to what is left),
 * then the name bytes, then the control area (the rest). Name and control
 * each get an exact-size heap buffer, so ASan sees any read past them.
 *
 * Properties: MSG_CTRUNC never leaves a destination or interface behind;
 * MSG_TRUNC and only it sets MCRX_RX_TRUNC; a destination, when present,
 * has a family.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/backend.h"
#include "core/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0];
    size_t namelen = data[1];
    data += 2;
    size -= 2;
    if (namelen > size)
        namelen = size;
    size_t ctrllen = size - namelen;

    uint8_t *name = malloc(namelen ? namelen : 1);
    uint8_t *ctrl = malloc(ctrllen ? ctrllen : 1);
    if (!name || !ctrl)
        goto out;
    memcpy(name, data, namelen);
    memcpy(ctrl, data + namelen, ctrllen);

    int flags = ((mode & 1) ? MSG_TRUNC : 0) | ((mode & 2) ? MSG_CTRUNC : 0);
    struct mcrx_rx rx;
    memset(&rx, 0xcc, sizeof rx);
    mcrx_plat_parse_rx(name, (uint32_t)namelen, (mode & 4) ? NULL : ctrl,
                       (mode & 4) ? 0 : ctrllen, flags, &rx);

    if ((flags & MSG_CTRUNC) && (rx.flags & (MCRX_RX_HAS_DST | MCRX_RX_HAS_IFINDEX)))
        abort();
    if (!!(flags & MSG_TRUNC) != !!(rx.flags & MCRX_RX_TRUNC))
        abort();
    if ((rx.flags & MCRX_RX_HAS_DST) && rx.dst.family != MCRX_AF_INET &&
        rx.dst.family != MCRX_AF_INET6)
        abort();
    if (rx.src.family != MCRX_AF_UNSPEC && rx.src.family != MCRX_AF_INET &&
        rx.src.family != MCRX_AF_INET6)
        abort();
out:
    free(name);
    free(ctrl);
    return 0;
}
