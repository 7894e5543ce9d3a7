/* Socket addresses <-> mcrx_ip: the same with BSD sockets (Linux, macOS,
 * FreeBSD) and Winsock. SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "platform/common/net.h"

int mcrx_sa_family(const mcrx_ip *ip)
{
    return ip->family == MCRX_AF_INET ? AF_INET
         : ip->family == MCRX_AF_INET6 ? AF_INET6 : AF_UNSPEC;
}

socklen_t mcrx_to_sockaddr(const mcrx_ip *ip, uint16_t port,
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

bool mcrx_from_sockaddr(const struct sockaddr *sa, mcrx_ip *ip, uint16_t *port)
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
