/* Windows multicast joins and leaves (ASM/SSM, IPv4/IPv6).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * IPv4 uses IP_ADD_MEMBERSHIP / IP_ADD_SOURCE_MEMBERSHIP with an interface
 * address. Windows' struct ip_mreq_source is ordered (group, source,
 * interface), Linux's (group, interface, source): the fields are set by
 * name, never by position. IPv6 ASM uses IPV6_ADD_MEMBERSHIP, IPv6 SSM
 * MCAST_JOIN_SOURCE_GROUP (RFC 3678) at IPPROTO_IPV6. Wine 8 answers the
 * MCAST_* options with WSAENOPROTOOPT: IPv6 SSM fails there with
 * MCRX_E_JOIN and that error (docs/platforms.md). */
#include <string.h>

#include "platform/windows/plat.h"

/* The local address the stack would use toward dst: connect() on a UDP
 * socket only selects a route, it sends nothing. */
bool mcrx_os_local_addr_toward(const mcrx_ip *dst, mcrx_ip *out)
{
    if (mcrx_win_wsa_acquire(MCRX_E_SOCKET_CREATE) != MCRX_OK)
        return false;
    SOCKET fd = socket(mcrx_sa_family(dst), SOCK_DGRAM, IPPROTO_UDP);
    bool ok = fd != INVALID_SOCKET;
    struct sockaddr_storage ss;
    uint16_t port;
    if (ok) {
        int len = mcrx_to_sockaddr(dst, 9, &ss);
        ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
        len = sizeof ss;
        ok = ok && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
             mcrx_from_sockaddr((struct sockaddr *)&ss, out, &port);
        closesocket(fd);
    }
    mcrx_win_wsa_release();
    return ok;
}

int mcrx_os_err_addr_not_avail(void) { return WSAEADDRNOTAVAIL; }

/* Wine 8 hands struct ip_mreq_source to Linux unchanged, so Linux reads
 * the source as the interface and the interface as the source (seen in
 * /proc/net/mcfilter: the filter lands on the source's interface). Under
 * Wine the struct is therefore written in Linux order; real Windows gets
 * its own order. */
static bool under_wine(void)
{
    static int wine = -1;
    if (wine < 0) {
        HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
        wine = ntdll && GetProcAddress(ntdll, "wine_get_version") ? 1 : 0;
    }
    return wine == 1;
}

static int join_v4(SOCKET fd, const mcrx_config *cfg, const struct mcrx_join_if *jif,
                   bool join)
{
    if (cfg->source.family == MCRX_AF_UNSPEC) {
        struct ip_mreq mr;
        memcpy(&mr.imr_multiaddr, cfg->group.addr, 4);
        memcpy(&mr.imr_interface, jif->addr.addr, 4);
        return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                          (const char *)&mr, sizeof mr);
    }
    struct ip_mreq_source ms; /* by name: the order differs from Linux */
    memcpy(&ms.imr_multiaddr, cfg->group.addr, 4);
    memcpy(&ms.imr_sourceaddr, cfg->source.addr, 4);
    memcpy(&ms.imr_interface, jif->addr.addr, 4);
    if (under_wine()) { /* Linux order: group, interface, source */
        memcpy(&ms.imr_sourceaddr, jif->addr.addr, 4);
        memcpy(&ms.imr_interface, cfg->source.addr, 4);
    }
    return setsockopt(fd, IPPROTO_IP,
                      join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP,
                      (const char *)&ms, sizeof ms);
}

static int join_v6(SOCKET fd, const mcrx_config *cfg, const struct mcrx_join_if *jif,
                   bool join)
{
    if (cfg->source.family == MCRX_AF_UNSPEC) {
        struct ipv6_mreq mr;
        memcpy(&mr.ipv6mr_multiaddr, cfg->group.addr, 16);
        mr.ipv6mr_interface = jif->ifindex;
        return setsockopt(fd, IPPROTO_IPV6,
                          join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
                          (const char *)&mr, sizeof mr);
    }
    struct group_source_req gsr;
    memset(&gsr, 0, sizeof gsr);
    gsr.gsr_interface = jif->ifindex;
    mcrx_to_sockaddr(&cfg->group, 0, &gsr.gsr_group);
    mcrx_to_sockaddr(&cfg->source, 0, &gsr.gsr_source);
    return setsockopt(fd, IPPROTO_IPV6,
                      join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
                      (const char *)&gsr, sizeof gsr);
}

static int membership(SOCKET fd, const mcrx_config *cfg,
                      const struct mcrx_join_if *jif, bool join)
{
    int rc = cfg->group.family == MCRX_AF_INET ? join_v4(fd, cfg, jif, join)
                                               : join_v6(fd, cfg, jif, join);
    return rc == 0 ? MCRX_OK
                   : mcrx_plat_fail_with(join ? MCRX_E_JOIN : MCRX_E_LEAVE,
                                         WSAGetLastError());
}

int mcrx_plat_join(mcrx_socket_t fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    return membership(fd, cfg, jif, true);
}

int mcrx_plat_leave(mcrx_socket_t fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    return membership(fd, cfg, jif, false);
}
