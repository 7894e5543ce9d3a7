/* macOS and FreeBSD platform internals (src/platform/bsd); the POSIX
 * pieces are in src/platform/posix. SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_BSD_PLAT_H
#define MCRX_PLATFORM_BSD_PLAT_H

/* macOS declares IPV6_RECVPKTINFO and struct in6_pktinfo (RFC 3542) only
 * when asked; FreeBSD ignores this. Must come before any system header. */
#ifndef __APPLE_USE_RFC_3542
#define __APPLE_USE_RFC_3542 1
#endif

#include "platform/posix/posix.h"

#endif
