/* macOS and FreeBSD platform internals (src/platform/bsd); the POSIX
 * pieces are in src/platform/posix. SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_BSD_PLAT_H
#define MCRX_PLATFORM_BSD_PLAT_H

#include "platform/posix/posix.h"

#endif
