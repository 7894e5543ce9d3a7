/* Interfaces of a subscription, on every platform: the text of
 * mcrx_config_parse() and the join interface, on top of each OS's
 * look-ups (mcrx_os_* in net.h). SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "platform/common/net.h"

int mcrx_plat_parse_interface(const char *text, int family, mcrx_ip *addr,
                              uint32_t *index, bool *has_index)
{
    mcrx_ip ip;
    const char *zone = strchr(text, '%');
    if (zone) { /* "fe80::1%eth0" / "fe80::1%7" */
        char head[MCRX_IP_STRLEN];
        size_t n = (size_t)(zone - text);
        if (n == 0 || n >= sizeof head)
            return MCRX_E_BAD_ADDRESS;
        memcpy(head, text, n);
        head[n] = '\0';
        if (mcrx_ip_parse(&ip, head) != MCRX_OK)
            return MCRX_E_BAD_ADDRESS;
        if (ip.family != family)
            return MCRX_E_INTERFACE_FAMILY_MISMATCH;
        unsigned idx = mcrx_os_ifindex_of_text(zone + 1, MCRX_AF_INET6);
        if (!idx)
            return MCRX_E_UNKNOWN_INTERFACE;
        if (family == MCRX_AF_INET)
            return MCRX_E_BAD_ADDRESS; /* IPv4 has no zones */
        *addr = ip;
        addr->scope_id = idx;
        *index = idx;
        *has_index = true;
        return MCRX_OK;
    }
    if (mcrx_ip_parse(&ip, text) == MCRX_OK) {
        static const uint8_t zero[16];
        if (memcmp(ip.addr, zero, sizeof zero) == 0)
            return MCRX_OK; /* 0.0.0.0 or ::: no interface, as in the crate */
        if (ip.family != family)
            return MCRX_E_INTERFACE_FAMILY_MISMATCH;
        *addr = ip;
        return MCRX_OK;
    }
    unsigned idx = mcrx_os_ifindex_of_text(text, family);
    if (!idx)
        return MCRX_E_UNKNOWN_INTERFACE;
    if (family == MCRX_AF_INET6) {
        *index = idx;
        *has_index = true;
        return MCRX_OK;
    }
    if (!mcrx_os_first_v4_of(idx, &ip))
        return MCRX_E_UNKNOWN_INTERFACE;
    *addr = ip;
    return MCRX_OK;
}

int mcrx_plat_resolve_join_if(const mcrx_config *cfg, struct mcrx_join_if *out)
{
    memset(out, 0, sizeof *out);
    out->addr.family = cfg->group.family; /* wildcard: the OS picks */
    if (cfg->has_interface_index) {
        out->ifindex = out->filter_ifindex = cfg->interface_index;
        return MCRX_OK;
    }
    if (cfg->interface.family != MCRX_AF_UNSPEC) {
        unsigned idx = cfg->interface.scope_id ? cfg->interface.scope_id
                                               : mcrx_os_ifindex_of_addr(&cfg->interface);
        if (!idx)
            return mcrx_plat_fail_with(MCRX_E_UNKNOWN_INTERFACE,
                                       mcrx_os_err_addr_not_avail());
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
        if (mcrx_os_local_addr_toward(&cfg->source, &local))
            out->addr = local;
    }
    return MCRX_OK;
}
