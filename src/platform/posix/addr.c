/* The local address of a socket, the route toward a source and OS errors:
 * the same on Linux, macOS and FreeBSD (address conversion and the join
 * interface: src/platform/common). SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "platform/posix/posix.h"

void mcrx_plat_socket_close(mcrx_socket_t fd)
{
    if (fd >= 0)
        close(fd);
}

int mcrx_plat_local_addr(mcrx_socket_t fd, mcrx_ip *addr, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return mcrx_plat_fail(MCRX_E_LOCAL_ADDR);
    if (!mcrx_from_sockaddr((struct sockaddr *)&ss, addr, port)) {
        errno = EAFNOSUPPORT;
        return mcrx_plat_fail(MCRX_E_LOCAL_ADDR);
    }
    return MCRX_OK;
}

/* ---- for the join interface (src/platform/common/iface.c) ---- */

/* The local address the kernel would use toward dst: connect() on a UDP
 * socket only selects a route, it sends nothing. */
bool mcrx_os_local_addr_toward(const mcrx_ip *dst, mcrx_ip *out)
{
#ifdef SOCK_CLOEXEC /* Linux, FreeBSD; macOS has no socket() flags */
    int fd = socket(mcrx_sa_family(dst), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
#else
    int fd = socket(mcrx_sa_family(dst), SOCK_DGRAM, IPPROTO_UDP);
#endif
    if (fd < 0)
        return false;
    struct sockaddr_storage ss;
    socklen_t len = mcrx_to_sockaddr(dst, 9, &ss);
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    uint16_t port;
    len = sizeof ss;
    ok = ok && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
         mcrx_from_sockaddr((struct sockaddr *)&ss, out, &port);
    close(fd);
    return ok;
}

int mcrx_os_err_addr_not_avail(void) { return EADDRNOTAVAIL; }

/* ---- OS errors (platform.h) ---- */

int mcrx_plat_fail(int status)
{
    mcrx_os_error_set(errno);
    return status;
}

int mcrx_plat_fail_with(int status, int os_error)
{
    mcrx_os_error_set(os_error);
    errno = os_error;
    return status;
}

void mcrx_plat_os_error_restore(void)
{
    errno = mcrx_last_os_error();
}
