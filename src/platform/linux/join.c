/* Linux multicast joins and leaves (ASM/SSM, IPv4/IPv6).
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "platform/linux/plat.h"

/* The local address the kernel would use toward dst: connect() on a UDP
 * socket only selects a route, it sends nothing. */
static bool local_addr_toward(const mcrx_ip *dst, mcrx_ip *out)
{
    int fd = socket(mcrx_linux_af(dst), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return false;
    struct sockaddr_storage ss;
    socklen_t len = mcrx_linux_to_sockaddr(dst, 9, &ss);
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    uint16_t port;
    len = sizeof ss;
    ok = ok && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
         mcrx_linux_from_sockaddr((struct sockaddr *)&ss, out, &port);
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
                                               : mcrx_linux_ifindex_of_addr(&cfg->interface);
        if (!idx) {
            return mcrx_plat_fail_with(MCRX_E_UNKNOWN_INTERFACE, EADDRNOTAVAIL);
        }
        out->addr = cfg->interface;
        out->addr.scope_id = 0;
        out->ifindex = out->filter_ifindex = idx;
        return MCRX_OK;
    }
    /* IPv4 SSM without an interface: join where the source routes from
     * (as the Rust crate does); not enforced on receive. */
    if (cfg->group.family == MCRX_AF_INET && cfg->source.family != MCRX_AF_UNSPEC) {
        mcrx_ip local;
        if (local_addr_toward(&cfg->source, &local))
            out->addr = local;
    }
    return MCRX_OK;
}

static int membership(int fd, const mcrx_config *cfg,
                      const struct mcrx_join_if *jif, bool join)
{
    int rc;
    if (cfg->group.family == MCRX_AF_INET && cfg->source.family == MCRX_AF_UNSPEC) {
        struct ip_mreqn mr = {.imr_ifindex = 0};
        memcpy(&mr.imr_multiaddr, cfg->group.addr, 4);
        memcpy(&mr.imr_address, jif->addr.addr, 4);
        rc = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                        &mr, sizeof mr);
    } else if (cfg->group.family == MCRX_AF_INET) {
        struct ip_mreq_source ms;
        memcpy(&ms.imr_multiaddr, cfg->group.addr, 4);
        memcpy(&ms.imr_interface, jif->addr.addr, 4);
        memcpy(&ms.imr_sourceaddr, cfg->source.addr, 4);
        rc = setsockopt(fd, IPPROTO_IP,
                        join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP,
                        &ms, sizeof ms);
    } else if (cfg->source.family == MCRX_AF_UNSPEC) {
        struct ipv6_mreq mr;
        memcpy(&mr.ipv6mr_multiaddr, cfg->group.addr, 16);
        mr.ipv6mr_interface = jif->ifindex;
        rc = setsockopt(fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
                        &mr, sizeof mr);
    } else {
        struct group_source_req gsr;
        memset(&gsr, 0, sizeof gsr);
        gsr.gsr_interface = jif->ifindex;
        mcrx_linux_to_sockaddr(&cfg->group, 0, &gsr.gsr_group);
        mcrx_linux_to_sockaddr(&cfg->source, 0, &gsr.gsr_source);
        rc = setsockopt(fd, IPPROTO_IPV6,
                        join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
                        &gsr, sizeof gsr);
    }
    return rc == 0 ? MCRX_OK : mcrx_plat_fail(join ? MCRX_E_JOIN : MCRX_E_LEAVE);
}

int mcrx_plat_join(int fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    return membership(fd, cfg, jif, true);
}

int mcrx_plat_leave(int fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    return membership(fd, cfg, jif, false);
}
