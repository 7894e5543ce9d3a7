/* macOS / FreeBSD socket set-up shared by their backends (kqueue).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What differs from Linux, and why:
 * - Destination and interface: IP_PKTINFO where the system has it for
 *   receiving (macOS), else IP_RECVDSTADDR + IP_RECVIF (FreeBSD); IPv6
 *   always IPV6_RECVPKTINFO. cmsg.c reads every one of these forms, so a
 *   caller's socket that has the other set on still parses.
 * - No IP_MULTICAST_ALL: the BSD stacks hand a multicast datagram to a
 *   socket bound to the port only if that socket joined the group (or has
 *   no membership at all); either way the core checks every datagram's
 *   destination against the group (exact delivery), which is what keeps
 *   two groups on one port apart whatever the kernel does.
 * - Several sockets on one wildcard port need SO_REUSEPORT on these systems
 *   (SO_REUSEADDR alone only shares a multicast-address bind). Unlike
 *   Linux, BSD SO_REUSEPORT gives every multicast datagram to every
 *   matching socket: no load balancing that could lose one.
 * - SO_TIMESTAMP (struct timeval, microseconds) instead of SO_TIMESTAMPNS.
 * - SO_RCVBUF beyond kern.ipc.maxsockbuf fails with ENOBUFS instead of
 *   being clamped: halve the request until the system takes it.
 * - No per-socket kernel drop count (see mcrx_plat_socket_drops below). */
#include "platform/bsd/plat.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Ask for rcvbuf bytes, halving on ENOBUFS (over the system maximum);
 * report what the system granted. */
static int set_rcvbuf(int fd, uint32_t want, uint32_t *granted)
{
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    int req = want > INT32_MAX ? INT32_MAX : (int)want;
    while (want && req > got && mcrx_posix_setopt(fd, SOL_SOCKET, SO_RCVBUF, req) != 0) {
        if (errno != ENOBUFS)
            return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
        req /= 2;
    }
    len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    *granted = (uint32_t)got;
    return MCRX_OK;
}

static bool want_destination(int fd, int af)
{
    if (af == AF_INET6)
        return mcrx_posix_setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0;
#ifdef IP_RECVPKTINFO /* macOS */
    return mcrx_posix_setopt(fd, IPPROTO_IP, IP_RECVPKTINFO, 1) == 0;
#else /* FreeBSD */
    return mcrx_posix_setopt(fd, IPPROTO_IP, IP_RECVDSTADDR, 1) == 0 &&
           mcrx_posix_setopt(fd, IPPROTO_IP, IP_RECVIF, 1) == 0;
#endif
}

/* Receive options every subscription socket gets, caller's or ours. */
int mcrx_os_receive_options(int fd, int af, const struct mcrx_sock_opts *so,
                            uint32_t *granted)
{
    if (!want_destination(fd, af) ||
        mcrx_posix_setopt(fd, SOL_SOCKET, SO_TIMESTAMP, so->timestamps) != 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    return set_rcvbuf(fd, so->rcvbuf, granted);
}

int mcrx_os_udp_socket(int af)
{
#ifdef SOCK_CLOEXEC /* FreeBSD */
    return socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
#else /* macOS: no socket() flags */
    int fd = socket(af, SOCK_DGRAM, IPPROTO_UDP);
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}

int mcrx_os_share_port(int fd)
{
    return mcrx_posix_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) == 0 &&
           mcrx_posix_setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1) == 0 ? 0 : -1;
}

/* macOS has no SO_DOMAIN / SO_PROTOCOL: the bound address gives the
 * family, SO_TYPE the type; a datagram socket of these families is UDP
 * unless it is an ICMP datagram socket, which has no port and so fails
 * the caller's port check. */
int mcrx_os_udp_family(int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    return type == SOCK_DGRAM ? ss.ss_family : AF_UNSPEC;
}

/* Neither macOS nor FreeBSD keeps a per-socket count of datagrams dropped
 * because the receive buffer was full: only the system-wide UDP counter
 * (netstat -s -p udp: "dropped due to full socket buffers"). So 0 here
 * means "unknown", never "no drops": no datagram carries MCRX_RX_HAS_DROPS
 * (no MCRX_META_DROPS in its metadata) on these systems, and docs/platforms.md
 * says that sub stats' kernel_drops stays 0 there. */
uint32_t mcrx_plat_socket_drops(mcrx_socket_t fd)
{
    (void)fd;
    return 0;
}
