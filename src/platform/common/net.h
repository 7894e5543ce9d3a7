/* What every platform layer (src/platform/linux, bsd, windows) shares:
 * mcrx_ip <-> socket addresses (sockaddr.c) and the interface of a
 * subscription, from mcrx_config_parse()'s text to the join interface
 * (iface.c), on top of the per-OS interface look-ups declared below. Only
 * what is the same with BSD sockets and Winsock lives here.
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_COMMON_NET_H
#define MCRX_PLATFORM_COMMON_NET_H

#ifdef _WIN32
#include <winsock2.h> /* before windows.h */
#include <ws2tcpip.h> /* socklen_t, sockaddr_in6 */
#undef interface /* a COM macro; mcrx_config has a field of that name */
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "core/platform.h"

int mcrx_sa_family(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
socklen_t mcrx_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                           struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip, uint16_t *port);

/* ---- interface look-ups, provided by each OS (src/platform/posix:
 * getifaddrs; src/platform/windows: GetAdaptersAddresses) for iface.c ---- */

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

#endif
