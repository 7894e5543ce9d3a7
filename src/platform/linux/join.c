/* Linux multicast joins and leaves (ASM/SSM, IPv4/IPv6).
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "platform/linux/plat.h"

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
        mcrx_to_sockaddr(&cfg->group, 0, &gsr.gsr_group);
        mcrx_to_sockaddr(&cfg->source, 0, &gsr.gsr_source);
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
