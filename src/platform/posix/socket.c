/* Opening and adopting subscription sockets: the steps every POSIX system
 * shares. What differs (socket flags, port sharing, the receive options,
 * how a caller's socket tells its kind) is the platform's socket.c, behind
 * the mcrx_os_* hooks of posix.h. SPDX-License-Identifier: BSD-2-Clause */
#include "platform/posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int mcrx_posix_setopt(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value);
}

/* The platform's receive options, and non-blocking (a caller's socket may
 * be blocking). */
static int receive_options(int fd, int af, const struct mcrx_sock_opts *so,
                           uint32_t *granted)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_OPTION);
    return mcrx_os_receive_options(fd, af, so, granted);
}

int mcrx_plat_socket_open(const mcrx_config *cfg, const struct mcrx_sock_opts *so,
                          mcrx_socket_t *fd_out, uint32_t *rcvbuf_granted)
{
    int af = mcrx_sa_family(&cfg->group);
    int fd = mcrx_os_udp_socket(af);
    if (fd < 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_CREATE);
    int st = MCRX_OK;
    if ((af == AF_INET6 && mcrx_posix_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0) ||
        mcrx_os_share_port(fd) != 0)
        st = MCRX_E_SOCKET_OPTION;
    if (st == MCRX_OK)
        st = receive_options(fd, af, so, rcvbuf_granted);
    if (st == MCRX_OK) {
        mcrx_ip any = {.family = cfg->group.family};
        struct sockaddr_storage ss;
        socklen_t len = mcrx_to_sockaddr(&any, cfg->dst_port, &ss);
        if (bind(fd, (struct sockaddr *)&ss, len) != 0)
            st = MCRX_E_SOCKET_BIND;
    }
    if (st != MCRX_OK) {
        int saved = errno;
        close(fd);
        errno = saved;
        return mcrx_plat_fail(st);
    }
    *fd_out = fd;
    return MCRX_OK;
}

int mcrx_plat_socket_adopt(mcrx_socket_t fd, const mcrx_config *cfg,
                           const struct mcrx_sock_opts *so, uint32_t *rcvbuf_granted)
{
    int af = mcrx_os_udp_family(fd);
    if (af < 0)
        return mcrx_plat_fail(MCRX_E_SOCKET_FAMILY); /* not a socket (ENOTSOCK) or bad fd */
    if (af != mcrx_sa_family(&cfg->group)) {
        errno = EPROTOTYPE;
        return mcrx_plat_fail(MCRX_E_SOCKET_FAMILY);
    }
    mcrx_ip ip;
    uint16_t port = 0;
    if (mcrx_plat_local_addr(fd, &ip, &port) != MCRX_OK)
        return mcrx_plat_fail(MCRX_E_LOCAL_ADDR);
    if (port != cfg->dst_port) {
        errno = EADDRNOTAVAIL;
        return mcrx_plat_fail(MCRX_E_SOCKET_PORT);
    }
    return receive_options(fd, af, so, rcvbuf_granted);
}
