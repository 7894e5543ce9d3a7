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
typedef int mcrx_socklen;

int mcrx_sa_family(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
mcrx_socklen mcrx_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                              struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip, uint16_t *port);

/* ---- interface look-ups (ifaddr.c, join.c) used by iface.c ---- */

/* Index of the interface that owns addr; 0 if none. */
unsigned mcrx_os_ifindex_of_addr(const mcrx_ip *addr);
/* Index of the interface named text ("eth0", or "7" if that index
 * exists), as the group's family counts it; 0 if none. */
unsigned mcrx_os_ifindex_of_text(const char *text, int family);
/* First IPv4 address of interface ifindex. */
bool mcrx_os_first_v4_of(unsigned ifindex, mcrx_ip *out);
/* The local address the stack would use toward dst. */
bool mcrx_os_local_addr_toward(const mcrx_ip *dst, mcrx_ip *out);
/* The OS error code for "no such address here" (EADDRNOTAVAIL). */
int mcrx_os_err_addr_not_avail(void);

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
