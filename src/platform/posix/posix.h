/* Internals shared by the POSIX platform folders (src/platform/linux and
 * src/platform/bsd): interface lookups, the local address, OS errors, and
 * opening and adopting sockets (the bounds-checked walk over received
 * control data: cmsg.h). Only what is the same on every POSIX system lives
 * here (what Windows shares too, address conversion and the join
 * interface, is in src/platform/common); each platform folder keeps what
 * differs (socket options, join calls, the control messages it asks for),
 * partly behind the mcrx_os_* hooks below. SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_POSIX_H
#define MCRX_PLATFORM_POSIX_H

/* macOS declares IPV6_RECVPKTINFO and struct in6_pktinfo (RFC 3542) only
 * when asked; other systems ignore this. Include this header first. */
#ifndef __APPLE_USE_RFC_3542
#define __APPLE_USE_RFC_3542 1
#endif

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/platform.h"
/* mcrx_ip <-> sockaddr; the interface look-ups ifaddr.c and addr.c provide */
#include "platform/common/net.h"

/* setsockopt of one int; 0 or -1 with errno. */
int mcrx_posix_setopt(int fd, int level, int name, int value);

/* ---- provided by each POSIX platform's socket.c (posix/socket.c opens
 * and adopts subscription sockets with them) ---- */

/* A new UDP socket of family af, close-on-exec; -1 with errno. */
int mcrx_os_udp_socket(int af);
/* What lets several sockets bind one port; 0 or -1 with errno. */
int mcrx_os_share_port(int fd);
/* The address family of fd if it is a UDP socket, AF_UNSPEC if it is some
 * other socket, -1 with errno if it is no socket. */
int mcrx_os_udp_family(int fd);
/* Every receive option a subscription socket gets (destination and
 * interface, timestamps as asked, drop counts, receive buffer); a status
 * with the OS error captured. */
int mcrx_os_receive_options(int fd, int af, const struct mcrx_sock_opts *so,
                            uint32_t *granted);

#endif
