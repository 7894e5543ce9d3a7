/* Linux socket options and kinds behind posix/socket.c (which opens and
 * adopts subscription sockets), shared by every Linux backend.
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <string.h>
#include <unistd.h>

#include "platform/linux/plat.h"

#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

/* Ask for rcvbuf bytes; fall back to SO_RCVBUFFORCE (CAP_NET_ADMIN) when
 * net.core.rmem_max clamps the request. Reports what the kernel granted. */
static int set_rcvbuf(int fd, uint32_t want, uint32_t *granted)
{
    int got = 0;
    socklen_t len = sizeof got;
    if (want) {
        int req = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;
        if (mcrx_posix_setopt(fd, SOL_SOCKET, SO_RCVBUF, req) != 0)
            return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
            return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
        if ((uint32_t)got / 2 < want) /* the kernel reports double */
            (void)mcrx_posix_setopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, req); /* EPERM: keep */
    }
    len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    *granted = (uint32_t)got;
    return MCRX_OK;
}

/* Receive options every subscription socket gets, caller's or ours. */
int mcrx_os_receive_options(int fd, int af, const struct mcrx_sock_opts *so,
                            uint32_t *granted)
{
    int ok = af == AF_INET
        ? mcrx_posix_setopt(fd, IPPROTO_IP, IP_PKTINFO, 1) == 0 &&
          mcrx_posix_setopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0) == 0
        : mcrx_posix_setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0 &&
          (mcrx_posix_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0) == 0 ||
           errno == ENOPROTOOPT); /* older kernels: pktinfo still filters */
    ok = ok && mcrx_posix_setopt(fd, SOL_SOCKET, SO_RXQ_OVFL, 1) == 0 &&
         mcrx_posix_setopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, so->timestamps) == 0 &&
         (so->busy_poll_us == 0 ||
          mcrx_posix_setopt(fd, SOL_SOCKET, SO_BUSY_POLL, (int)so->busy_poll_us) == 0);
    if (!ok)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    return set_rcvbuf(fd, so->rcvbuf, granted);
}

int mcrx_os_udp_socket(int af)
{
    return socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
}

/* SO_REUSEADDR alone lets any number of UDP sockets share the port on
 * Linux. No SO_REUSEPORT (the Rust crate sets it): with a reuseport group
 * the kernel hands an IPv4 multicast datagram arriving on a real interface
 * to ONE socket of the group picked by flow hash, possibly one that never
 * joined that group, and the datagram is lost (tests/test_delivery.c:
 * v4_two_groups_same_port_never_mix). */
int mcrx_os_share_port(int fd)
{
    return mcrx_posix_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
}

int mcrx_os_udp_family(int fd)
{
    int domain = 0, type = 0, proto = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        return -1;
    len = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof proto;
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
    return type == SOCK_DGRAM && proto == IPPROTO_UDP ? domain : AF_UNSPEC;
}

uint32_t mcrx_plat_socket_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof mem;
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof mem[0])
        return 0;
    return mem[SK_MEMINFO_DROPS];
}
