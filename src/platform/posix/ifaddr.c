/* Interface lookups shared by Linux, macOS and FreeBSD (getifaddrs,
 * if_nametoindex): names, indexes and addresses, the mcrx_os_* look-ups of
 * src/platform/common/net.h. SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "platform/posix/posix.h"

unsigned mcrx_os_ifindex_of_addr(const mcrx_ip *addr)
{
    struct ifaddrs *list, *it;
    unsigned idx = 0;
    if (getifaddrs(&list) != 0)
        return 0;
    for (it = list; it && !idx; it = it->ifa_next) {
        mcrx_ip ip;
        uint16_t port;
        if (it->ifa_addr && mcrx_from_sockaddr(it->ifa_addr, &ip, &port) &&
            mcrx_ip_equal(&ip, addr))
            idx = if_nametoindex(it->ifa_name);
    }
    freeifaddrs(list);
    return idx;
}

/* First IPv4 address of interface ifindex. */
bool mcrx_os_first_v4_of(unsigned ifindex, mcrx_ip *out)
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
            found = mcrx_from_sockaddr(it->ifa_addr, out, &port);
    }
    freeifaddrs(list);
    return found;
}

/* "7" -> 7; "eth0" -> its index; 0 when neither. One index serves both
 * families here. */
unsigned mcrx_os_ifindex_of_text(const char *text, int family)
{
    (void)family;
    char *end;
    unsigned long n = strtoul(text, &end, 10);
    if (*text && *end == '\0')
        return n <= UINT32_MAX && if_indextoname((unsigned)n, (char[IF_NAMESIZE]){0})
                   ? (unsigned)n : 0;
    return if_nametoindex(text);
}
