/* Linux platform internals shared by the files of src/platform/linux and
 * the Linux backends; the POSIX pieces are in src/platform/posix.
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_LINUX_PLAT_H
#define MCRX_PLATFORM_LINUX_PLAT_H

#include "platform/posix/posix.h"

#endif
