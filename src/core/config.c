/* Subscription configs: construction and validation (pure: no OS calls
 * except through platform.h for interface names).
 * SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "core/internal.h"
#include "core/platform.h"

void mcrx_config_asm(mcrx_config *cfg, const mcrx_ip *group, uint16_t port)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->group = *group;
    cfg->dst_port = port;
}

void mcrx_config_ssm(mcrx_config *cfg, const mcrx_ip *group,
                     const mcrx_ip *source, uint16_t port)
{
    mcrx_config_asm(cfg, group, port);
    cfg->source = *source;
}

static bool ip_is_multicast(const mcrx_ip *ip)
{
    return ip->family == MCRX_AF_INET ? (ip->addr[0] & 0xf0) == 0xe0
                                      : ip->addr[0] == 0xff;
}

static bool ip_is_unspecified(const mcrx_ip *ip)
{
    static const uint8_t zero[16];
    return memcmp(ip->addr, zero, ip->family == MCRX_AF_INET ? 4 : 16) == 0;
}

static bool ip_is_broadcast(const mcrx_ip *ip)
{
    static const uint8_t ones[4] = {255, 255, 255, 255};
    return ip->family == MCRX_AF_INET && memcmp(ip->addr, ones, 4) == 0;
}

/* IPv4 SSM range 232/8; IPv6 SSM range ff3x::/32 (RFC 4607: ff3x with a
 * zero prefix length and prefix, i.e. bytes 2-3 zero). */
static bool group_in_ssm_range(const mcrx_ip *g)
{
    if (g->family == MCRX_AF_INET)
        return g->addr[0] == 232;
    return (g->addr[1] & 0xf0) == 0x30 && g->addr[2] == 0 && g->addr[3] == 0;
}

bool mcrx_config_is_ssm(const mcrx_config *cfg)
{
    return cfg->source.family != MCRX_AF_UNSPEC;
}

/* An interface of 0.0.0.0 or :: means "no interface", as in the crate. */
static bool interface_given(const mcrx_ip *ifa)
{
    return ifa->family != MCRX_AF_UNSPEC && !ip_is_unspecified(ifa);
}

void mcrx_config_normalize(mcrx_config *cfg)
{
    if (!interface_given(&cfg->interface))
        memset(&cfg->interface, 0, sizeof cfg->interface);
}

/* The crate's order (docs/usage.md): port, group multicast, ASM on an SSM
 * group, source validity, source family, SSM ranges, interface family,
 * interface index. */
int mcrx_config_validate(const mcrx_config *cfg)
{
    if (!cfg)
        return MCRX_E_INVALID_ARG;
    const mcrx_ip *g = &cfg->group, *s = &cfg->source;
    bool ssm = mcrx_config_is_ssm(cfg);

    if (cfg->dst_port == 0)
        return MCRX_E_PORT_ZERO;
    if (g->family != MCRX_AF_INET && g->family != MCRX_AF_INET6)
        return MCRX_E_FAMILY_UNSPEC;
    if (!ip_is_multicast(g))
        return MCRX_E_GROUP_NOT_MULTICAST;
    if (!ssm && group_in_ssm_range(g))
        return MCRX_E_ASM_ON_SSM_GROUP;
    if (ssm && s->family != MCRX_AF_INET && s->family != MCRX_AF_INET6)
        return MCRX_E_FAMILY_UNSPEC;
    if (ssm && ip_is_multicast(s))
        return MCRX_E_SOURCE_MULTICAST;
    if (ssm && ip_is_unspecified(s))
        return MCRX_E_SOURCE_UNSPECIFIED;
    if (ssm && ip_is_broadcast(s))
        return MCRX_E_SOURCE_BROADCAST;
    if (ssm && s->family != g->family)
        return MCRX_E_SOURCE_FAMILY_MISMATCH;
    if (ssm && g->family == MCRX_AF_INET && !group_in_ssm_range(g))
        return MCRX_E_SSM_GROUP_V4_RANGE;
    if (ssm && g->family == MCRX_AF_INET6 && !group_in_ssm_range(g))
        return MCRX_E_SSM_GROUP_V6_RANGE;
    if (interface_given(&cfg->interface) && cfg->interface.family != g->family)
        return MCRX_E_INTERFACE_FAMILY_MISMATCH;
    if (cfg->has_interface_index && cfg->interface_index == 0)
        return MCRX_E_INTERFACE_INDEX_ZERO;
    if (cfg->has_interface_index && g->family == MCRX_AF_INET)
        return MCRX_E_INTERFACE_INDEX_V4;
    return MCRX_OK;
}

/* Two configs name the same subscription (interfaces compared as given). */
bool mcrx_config_same(const mcrx_config *a, const mcrx_config *b)
{
    return a->dst_port == b->dst_port && mcrx_ip_equal(&a->group, &b->group) &&
           mcrx_ip_equal(&a->source, &b->source) &&
           mcrx_ip_equal(&a->interface, &b->interface) &&
           a->has_interface_index == b->has_interface_index &&
           (!a->has_interface_index || a->interface_index == b->interface_index);
}

static bool text_empty(const char *t) { return !t || !*t; }

int mcrx_config_parse(mcrx_config *out, const char *group, uint16_t port,
                      const char *source, const char *interface)
{
    if (!out || !group)
        return MCRX_E_INVALID_ARG;
    mcrx_config cfg;
    mcrx_ip g, s = {0};
    int st = mcrx_ip_parse(&g, group);
    if (st == MCRX_OK && !text_empty(source))
        st = mcrx_ip_parse(&s, source);
    if (st != MCRX_OK)
        return st;
    g.scope_id = 0;
    mcrx_config_ssm(&cfg, &g, &s, port);
    if (!text_empty(interface)) {
        st = mcrx_plat_parse_interface(interface, g.family, &cfg.interface,
                                       &cfg.interface_index,
                                       &cfg.has_interface_index);
        if (st != MCRX_OK)
            return st;
    }
    mcrx_config_normalize(&cfg);
    st = mcrx_config_validate(&cfg);
    if (st == MCRX_OK)
        *out = cfg;
    return st;
}
