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

int mcrx_win_af(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
int mcrx_win_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                         struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_win_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip,
                            uint16_t *port);
/* Index of the interface that owns addr (IPv4 or IPv6 index); 0 if none. */
unsigned mcrx_win_ifindex_of_addr(const mcrx_ip *addr);

/* Winsock start-up: every WSAStartup is paired with one WSACleanup
 * (Winsock counts the pairs itself, so the library's users may start and
 * clean up Winsock on their own as they like). Each socket the library
 * opens or adopts, and each backend instance, holds one pair. */
int mcrx_win_wsa_acquire(int status_on_failure);
void mcrx_win_wsa_release(void);

#endif
