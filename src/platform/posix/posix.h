/* Internals shared by the POSIX platform folders (src/platform/linux and
 * src/platform/bsd): address conversion, interface lookups, the join
 * interface, OS errors and the bounds-checked walk over received control
 * data. Only what is the same on every POSIX system lives here; each
 * platform folder keeps what differs (socket options, join calls, the
 * control messages it asks for). SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_POSIX_H
#define MCRX_PLATFORM_POSIX_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/platform.h"

int mcrx_posix_af(const mcrx_ip *ip); /* AF_INET / AF_INET6 / AF_UNSPEC */
/* mcrx_ip + port -> sockaddr; returns its length. */
socklen_t mcrx_posix_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                                 struct sockaddr_storage *ss);
/* sockaddr -> mcrx_ip + port; false for other families. */
bool mcrx_posix_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip,
                              uint16_t *port);
/* Index of the interface that owns addr; 0 if none. */
unsigned mcrx_posix_ifindex_of_addr(const mcrx_ip *addr);

/* One control message as the walk hands it over: c is a copy of its
 * header, data its payload (datalen bytes, already bounded by both
 * cmsg_len and the end of the area, possibly unaligned: memcpy it). */
typedef void (*mcrx_posix_cmsg_fn)(const struct cmsghdr *c, const uint8_t *data,
                                   size_t datalen, struct mcrx_rx *rx);
/* What mcrx_plat_parse_rx() does on every POSIX system: source name,
 * MSG_TRUNC, a bounds-checked walk that hands each message to one_msg,
 * and MSG_CTRUNC = destination and interface unknown. rx->flags start as
 * base_flags (e.g. MCRX_RX_HAS_DROPS where every datagram tells). */
void mcrx_posix_parse_rx(const void *name, uint32_t namelen, const void *control,
                         size_t controllen, int msg_flags, uint32_t base_flags,
                         mcrx_posix_cmsg_fn one_msg, struct mcrx_rx *rx);

#endif
