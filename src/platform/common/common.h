/* Platform code shared by the POSIX and Windows layers (internal): the
 * socket-address conversions (Winsock and POSIX agree on sockaddr_in and
 * sockaddr_in6) and the interface logic on top of a few OS look-ups each
 * platform provides (the mcrx_os_* functions below).
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_COMMON_H
#define MCRX_PLATFORM_COMMON_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#undef interface /* a COM macro; mcrx_config has a field of that name */
typedef int mcrx_socklen;
#else
#include <netinet/in.h>
#include <sys/socket.h>
typedef socklen_t mcrx_socklen;
#endif

#include "core/platform.h"

int mcrx_sa_family(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
mcrx_socklen mcrx_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                              struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip, uint16_t *port);

/* ---- what each platform provides ---- */

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
