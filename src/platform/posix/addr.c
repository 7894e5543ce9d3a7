/* Address conversion, the local address, the join interface and OS errors:
 * the same on Linux, macOS and FreeBSD. SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "platform/posix/posix.h"

int mcrx_posix_af(const mcrx_ip *ip)
{
    return ip->family == MCRX_AF_INET ? AF_INET
         : ip->family == MCRX_AF_INET6 ? AF_INET6 : AF_UNSPEC;
}

socklen_t mcrx_posix_to_sockaddr(const mcrx_ip *ip, uint16_t port,
                                 struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ip->family == MCRX_AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, ip->addr, 4);
#if defined(__APPLE__) || defined(__FreeBSD__)
        sin->sin_len = sizeof *sin;
#endif
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, ip->addr, 16);
    sin6->sin6_scope_id = ip->scope_id;
#if defined(__APPLE__) || defined(__FreeBSD__)
    sin6->sin6_len = sizeof *sin6;
#endif
    return sizeof *sin6;
}

bool mcrx_posix_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip, uint16_t *port)
{
    memset(ip, 0, sizeof *ip);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        ip->family = MCRX_AF_INET;
        memcpy(ip->addr, &sin->sin_addr, 4);
        *port = ntohs(sin->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        ip->family = MCRX_AF_INET6;
        memcpy(ip->addr, &sin6->sin6_addr, 16);
        ip->scope_id = sin6->sin6_scope_id;
        *port = ntohs(sin6->sin6_port);
        return true;
    }
    return false;
}

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
    if (!mcrx_posix_from_sockaddr((struct sockaddr *)&ss, addr, port)) {
        errno = EAFNOSUPPORT;
        return mcrx_plat_fail(MCRX_E_LOCAL_ADDR);
    }
    return MCRX_OK;
}

/* ---- the join interface ---- */

/* The local address the kernel would use toward dst: connect() on a UDP
 * socket only selects a route, it sends nothing. */
static bool local_addr_toward(const mcrx_ip *dst, mcrx_ip *out)
{
#ifdef SOCK_CLOEXEC /* Linux, FreeBSD; macOS has no socket() flags */
    int fd = socket(mcrx_posix_af(dst), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
#else
    int fd = socket(mcrx_posix_af(dst), SOCK_DGRAM, IPPROTO_UDP);
#endif
    if (fd < 0)
        return false;
    struct sockaddr_storage ss;
    socklen_t len = mcrx_posix_to_sockaddr(dst, 9, &ss);
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    uint16_t port;
    len = sizeof ss;
    ok = ok && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
         mcrx_posix_from_sockaddr((struct sockaddr *)&ss, out, &port);
    close(fd);
    return ok;
}

int mcrx_plat_resolve_join_if(const mcrx_config *cfg, struct mcrx_join_if *out)
{
    memset(out, 0, sizeof *out);
    out->addr.family = cfg->group.family; /* wildcard: the kernel picks */
    if (cfg->has_interface_index) {
        out->ifindex = out->filter_ifindex = cfg->interface_index;
        return MCRX_OK;
    }
    if (cfg->interface.family != MCRX_AF_UNSPEC) {
        unsigned idx = cfg->interface.scope_id ? cfg->interface.scope_id
                                               : mcrx_posix_ifindex_of_addr(&cfg->interface);
        if (!idx) {
            return mcrx_plat_fail_with(MCRX_E_UNKNOWN_INTERFACE, EADDRNOTAVAIL);
        }
        out->addr = cfg->interface;
        out->addr.scope_id = 0;
        out->ifindex = out->filter_ifindex = idx;
        return MCRX_OK;
    }
#ifdef __APPLE__
    /* macOS joins an IPv6 source-specific group only on an explicit
     * interface (interface 0 fails or joins nowhere useful): say so at add
     * time instead of failing later. */
    if (cfg->group.family == MCRX_AF_INET6 && cfg->source.family != MCRX_AF_UNSPEC)
        return MCRX_E_V6_SSM_NEEDS_INTERFACE; /* a config check: no OS error */
#endif
    /* IPv4 SSM without an interface: join where the source routes from
     * (as the Rust crate does); not enforced on receive. */
    if (cfg->group.family == MCRX_AF_INET && cfg->source.family != MCRX_AF_UNSPEC) {
        mcrx_ip local;
        if (local_addr_toward(&cfg->source, &local))
            out->addr = local;
    }
    return MCRX_OK;
}

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
