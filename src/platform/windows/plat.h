/* Windows platform internals shared by the files of src/platform/windows
 * and the Windows backends (iocp, wsapoll). SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_WINDOWS_PLAT_H
#define MCRX_PLATFORM_WINDOWS_PLAT_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#undef interface /* a COM macro; mcrx_config has a field of that name */

#include "core/platform.h"
/* mcrx_ip <-> sockaddr (shared with the POSIX systems); the interface
 * look-ups ifaddr.c and join.c provide for src/platform/common/iface.c */
#include "platform/common/net.h"

/* Winsock start-up: every WSAStartup is paired with one WSACleanup
 * (Winsock counts the pairs itself, so the library's users may start and
 * clean up Winsock on their own as they like). Each socket the library
 * opens or adopts, and each backend instance, holds one pair. */
int mcrx_win_wsa_acquire(int status_on_failure);
void mcrx_win_wsa_release(void);
/* Coalescing (mcrx_ctx_options.coalesce_us): a timer for linger(), NULL
 * when coalesce_ns is 0 or no timer could be made (then no coalescing). */
HANDLE mcrx_win_linger_timer(int64_t coalesce_ns);
/* A blocking wait that began at t0 (mcrx_plat_mono_ns) and woke up with
 * data waits on until t0 + coalesce_ns, so more datagrams arrive per
 * wake-up; nothing when that time has passed. */
void mcrx_win_linger(HANDLE timer, int64_t t0, int64_t coalesce_ns);

/* A backend instance of size bytes, zeroed, holding one Winsock pair;
 * NULL with *st set on failure. Freed with mcrx_win_backend_free(). */
void *mcrx_win_backend_alloc(size_t size, int *st);
void mcrx_win_backend_free(void *b);

#endif
