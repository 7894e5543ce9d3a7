/* Windows interface lookups (IP Helper: GetAdaptersAddresses).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * An interface is named by its friendly name ("Ethernet", under Wine the
 * Linux name "v0"), its adapter name (a GUID on Windows) or its index.
 * IPv4 and IPv6 have separate indexes on Windows (IfIndex, Ipv6IfIndex);
 * the family of the group decides which one counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/windows/plat.h"

#include <iphlpapi.h> /* after winsock2.h (plat.h) */

typedef bool (*adapter_fn)(const IP_ADAPTER_ADDRESSES *a, void *ud);

/* Call fn for each adapter until it returns true; false if none did (or
 * the list could not be read). */
static bool each_adapter(adapter_fn fn, void *ud)
{
    ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
                  GAA_FLAG_SKIP_DNS_SERVER;
    ULONG size = 16384;
    IP_ADAPTER_ADDRESSES *list = NULL;
    ULONG rc = ERROR_BUFFER_OVERFLOW;
    for (int tries = 0; rc == ERROR_BUFFER_OVERFLOW && tries < 4; tries++) {
        free(list);
        list = malloc(size);
        if (!list)
            return false;
        rc = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, list, &size);
    }
    bool found = false;
    for (IP_ADAPTER_ADDRESSES *a = rc == NO_ERROR ? list : NULL; a && !found; a = a->Next)
        found = fn(a, ud);
    free(list);
    return found;
}

/* Since Vista one index serves both families; Wine 8 leaves Ipv6IfIndex
 * at 0 even for adapters with IPv6 addresses, so IfIndex stands in. */
static unsigned index_for(const IP_ADAPTER_ADDRESSES *a, int family)
{
    return family == MCRX_AF_INET6 && a->Ipv6IfIndex ? a->Ipv6IfIndex : a->IfIndex;
}

struct addr_query {
    const mcrx_ip *addr;
    unsigned index;
};

static bool owns_addr(const IP_ADAPTER_ADDRESSES *a, void *ud)
{
    struct addr_query *q = ud;
    for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u; u = u->Next) {
        mcrx_ip ip;
        uint16_t port;
        if (mcrx_from_sockaddr(u->Address.lpSockaddr, &ip, &port) &&
            mcrx_ip_equal(&ip, q->addr)) {
            q->index = index_for(a, q->addr->family);
            return true;
        }
    }
    return false;
}

unsigned mcrx_os_ifindex_of_addr(const mcrx_ip *addr)
{
    struct addr_query q = {addr, 0};
    return each_adapter(owns_addr, &q) ? q.index : 0;
}

struct name_query {
    const char *text;  /* name, or NULL to match by index */
    unsigned index;    /* in: index to match; out: the index found */
    int family;
    mcrx_ip first_v4;  /* out: the adapter's first IPv4 address */
};

static bool name_matches(const IP_ADAPTER_ADDRESSES *a, const char *text)
{
    char friendly[256];
    if (a->AdapterName && strcmp(a->AdapterName, text) == 0)
        return true;
    return a->FriendlyName &&
           WideCharToMultiByte(CP_UTF8, 0, a->FriendlyName, -1, friendly,
                               sizeof friendly, NULL, NULL) > 0 &&
           strcmp(friendly, text) == 0;
}

static bool adapter_matches(const IP_ADAPTER_ADDRESSES *a, void *ud)
{
    struct name_query *q = ud;
    unsigned idx = index_for(a, q->family);
    if (q->text ? !name_matches(a, q->text) : (idx == 0 || idx != q->index))
        return false;
    q->index = idx;
    memset(&q->first_v4, 0, sizeof q->first_v4);
    for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u; u = u->Next) {
        uint16_t port;
        if (u->Address.lpSockaddr->sa_family == AF_INET &&
            mcrx_from_sockaddr(u->Address.lpSockaddr, &q->first_v4, &port))
            break;
    }
    return idx != 0;
}

/* "7" or a name -> the adapter (index and first IPv4 address). */
static bool find_interface(const char *text, int family, struct name_query *q)
{
    char *end;
    unsigned long n = strtoul(text, &end, 10);
    memset(q, 0, sizeof *q);
    q->family = family;
    if (*text && *end == '\0')
        q->index = n <= UINT32_MAX ? (unsigned)n : 0;
    else
        q->text = text;
    return (q->text || q->index) && each_adapter(adapter_matches, q);
}

unsigned mcrx_os_ifindex_of_text(const char *text, int family)
{
    struct name_query q;
    return find_interface(text, family, &q) ? q.index : 0;
}

bool mcrx_os_first_v4_of(unsigned ifindex, mcrx_ip *out)
{
    struct name_query q;
    char text[16];
    snprintf(text, sizeof text, "%u", ifindex);
    if (!find_interface(text, MCRX_AF_INET, &q) || q.first_v4.family != MCRX_AF_INET)
        return false;
    *out = q.first_v4;
    return true;
}
