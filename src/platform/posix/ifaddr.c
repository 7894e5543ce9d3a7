/* Interface lookups shared by Linux, macOS and FreeBSD (getifaddrs,
 * if_nametoindex): names, indexes and addresses.
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "platform/posix/posix.h"

unsigned mcrx_posix_ifindex_of_addr(const mcrx_ip *addr)
{
    struct ifaddrs *list, *it;
    unsigned idx = 0;
    if (getifaddrs(&list) != 0)
        return 0;
    for (it = list; it && !idx; it = it->ifa_next) {
        mcrx_ip ip;
        uint16_t port;
        if (it->ifa_addr && mcrx_posix_from_sockaddr(it->ifa_addr, &ip, &port) &&
            mcrx_ip_equal(&ip, addr))
            idx = if_nametoindex(it->ifa_name);
    }
    freeifaddrs(list);
    return idx;
}

/* First IPv4 address of interface ifindex. */
static bool first_v4_of(unsigned ifindex, mcrx_ip *out)
{
    char name[IF_NAMESIZE];
    struct ifaddrs *list, *it;
    bool found = false;
    if (!if_indextoname(ifindex, name) || getifaddrs(&list) != 0)
        return false;
    for (it = list; it && !found; it = it->ifa_next) {
        uint16_t port;
        if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
            strcmp(it->ifa_name, name) == 0)
            found = mcrx_posix_from_sockaddr(it->ifa_addr, out, &port);
    }
    freeifaddrs(list);
    return found;
}

/* "7" -> 7; "eth0" -> its index; 0 when neither. */
static unsigned index_of(const char *text)
{
    char *end;
    unsigned long n = strtoul(text, &end, 10);
    if (*text && *end == '\0')
        return n <= UINT32_MAX && if_indextoname((unsigned)n, (char[IF_NAMESIZE]){0})
                   ? (unsigned)n : 0;
    return if_nametoindex(text);
}

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
        unsigned idx = index_of(zone + 1);
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
    unsigned idx = index_of(text);
    if (!idx)
        return MCRX_E_UNKNOWN_INTERFACE;
    if (family == MCRX_AF_INET6) {
        *index = idx;
        *has_index = true;
        return MCRX_OK;
    }
    if (!first_v4_of(idx, &ip))
        return MCRX_E_UNKNOWN_INTERFACE;
    *addr = ip;
    return MCRX_OK;
}
