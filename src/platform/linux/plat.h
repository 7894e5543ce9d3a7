/* Linux platform internals shared by the files of src/platform/linux and
 * the Linux backends. SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_LINUX_PLAT_H
#define MCRX_PLATFORM_LINUX_PLAT_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/platform.h"

int mcrx_linux_af(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
socklen_t mcrx_linux_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                                 struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_linux_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip,
                              uint16_t *port);
/* Index of the interface that owns addr; 0 if none. */
unsigned mcrx_linux_ifindex_of_addr(const mcrx_ip *addr);

#endif
