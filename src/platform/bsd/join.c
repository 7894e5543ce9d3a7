/* macOS / FreeBSD multicast joins and leaves (ASM/SSM, IPv4/IPv6).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * IPv4 uses the address-based requests (struct ip_mreq, ip_mreq_source)
 * on both systems: macOS takes IPv4 source-specific joins through
 * IP_ADD_SOURCE_MEMBERSHIP but not MCAST_JOIN_SOURCE_GROUP, and the
 * address form also carries the "join where the source routes from"
 * address that mcrx_plat_resolve_join_if() picks for SSM without an
 * interface. IPv6 uses the protocol-independent MCAST_JOIN_GROUP /
 * MCAST_JOIN_SOURCE_GROUP with the interface index (macOS: IPv6 SSM needs
 * one; the resolver refuses a config without it). */
#include "platform/bsd/plat.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static int v4_membership(int fd, const mcrx_config *cfg,
                         const struct mcrx_join_if *jif, bool join)
{
    if (cfg->source.family == MCRX_AF_UNSPEC) {
        struct ip_mreq mr;
        memcpy(&mr.imr_multiaddr, cfg->group.addr, 4);
        memcpy(&mr.imr_interface, jif->addr.addr, 4);
        return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                          &mr, sizeof mr);
    }
    struct ip_mreq_source ms;
    memset(&ms, 0, sizeof ms);
    memcpy(&ms.imr_multiaddr, cfg->group.addr, 4);
    memcpy(&ms.imr_interface, jif->addr.addr, 4);
    memcpy(&ms.imr_sourceaddr, cfg->source.addr, 4);
    return setsockopt(fd, IPPROTO_IP,
                      join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP,
                      &ms, sizeof ms);
}

static int v6_membership(int fd, const mcrx_config *cfg,
                         const struct mcrx_join_if *jif, bool join)
{
    if (cfg->source.family == MCRX_AF_UNSPEC) {
        struct group_req gr;
        memset(&gr, 0, sizeof gr);
        gr.gr_interface = jif->ifindex;
        mcrx_to_sockaddr(&cfg->group, 0, &gr.gr_group);
        return setsockopt(fd, IPPROTO_IPV6, join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP,
                          &gr, sizeof gr);
    }
    struct group_source_req gsr;
    memset(&gsr, 0, sizeof gsr);
    gsr.gsr_interface = jif->ifindex;
    mcrx_to_sockaddr(&cfg->group, 0, &gsr.gsr_group);
    mcrx_to_sockaddr(&cfg->source, 0, &gsr.gsr_source);
    return setsockopt(fd, IPPROTO_IPV6,
                      join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
                      &gsr, sizeof gsr);
}

static int membership(int fd, const mcrx_config *cfg,
                      const struct mcrx_join_if *jif, bool join)
{
    return cfg->group.family == MCRX_AF_INET ? v4_membership(fd, cfg, jif, join)
                                             : v6_membership(fd, cfg, jif, join);
}

int mcrx_plat_join(mcrx_socket_t fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    int rc = membership(fd, cfg, jif, true);
#ifdef __APPLE__
    /* macOS may answer EBUSY to a source-specific join right after the
     * host left (*,G) of the same group, until its IGMP/MLD state for the
     * group is gone: retry a few times, 10 ms apart (at most 50 ms). */
    for (int i = 0; i < 5 && rc != 0 && errno == EBUSY &&
                    cfg->source.family != MCRX_AF_UNSPEC; i++) {
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000}, NULL);
        rc = membership(fd, cfg, jif, true);
    }
#endif
    return rc == 0 ? MCRX_OK : mcrx_plat_fail(MCRX_E_JOIN);
}

int mcrx_plat_leave(mcrx_socket_t fd, const mcrx_config *cfg, const struct mcrx_join_if *jif)
{
    return membership(fd, cfg, jif, false) == 0 ? MCRX_OK : mcrx_plat_fail(MCRX_E_LEAVE);
}
