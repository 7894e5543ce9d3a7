/* Portable IP address values. SPDX-License-Identifier: BSD-2-Clause
 * inet_pton/inet_ntop are pure libc conversions, not OS calls. */
#ifdef _WIN32
#include <ws2tcpip.h> /* inet_pton/inet_ntop (Windows Vista and later) */
#else
#include <arpa/inet.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int mcrx_ip_parse(mcrx_ip *out, const char *text)
{
    if (!out || !text)
        return MCRX_E_INVALID_ARG;
    mcrx_ip ip = {0};
    char buf[MCRX_IP_STRLEN];
    const char *zone = strchr(text, '%');
    size_t addrlen = zone ? (size_t)(zone - text) : strlen(text);
    if (addrlen == 0 || addrlen >= sizeof buf)
        return MCRX_E_BAD_ADDRESS;
    memcpy(buf, text, addrlen);
    buf[addrlen] = '\0';

    if (!zone && inet_pton(AF_INET, buf, ip.addr) == 1) {
        ip.family = MCRX_AF_INET;
    } else if (inet_pton(AF_INET6, buf, ip.addr) == 1) {
        ip.family = MCRX_AF_INET6;
        if (zone) { /* numeric zone only; names need the OS */
            char *end;
            unsigned long z = strtoul(zone + 1, &end, 10);
            if (zone[1] == '\0' || *end != '\0' || z == 0 || z > UINT32_MAX)
                return MCRX_E_BAD_ADDRESS;
            ip.scope_id = (uint32_t)z;
        }
    } else {
        return MCRX_E_BAD_ADDRESS;
    }
    *out = ip;
    return MCRX_OK;
}

int mcrx_ip_format(const mcrx_ip *ip, char *buf, size_t buflen)
{
    if (!ip || !buf || buflen == 0)
        return MCRX_E_INVALID_ARG;
    char tmp[MCRX_IP_STRLEN];
    int af = ip->family == MCRX_AF_INET ? AF_INET
           : ip->family == MCRX_AF_INET6 ? AF_INET6 : 0;
    if (!af || !inet_ntop(af, ip->addr, tmp, sizeof tmp))
        return MCRX_E_INVALID_ARG;
    int n = ip->scope_id && af == AF_INET6
                ? snprintf(buf, buflen, "%s%%%u", tmp, (unsigned)ip->scope_id)
                : snprintf(buf, buflen, "%s", tmp);
    return n < 0 || (size_t)n >= buflen ? MCRX_E_INVALID_ARG : MCRX_OK;
}

mcrx_ip mcrx_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    mcrx_ip ip = {.family = MCRX_AF_INET, .addr = {a, b, c, d}};
    return ip;
}

bool mcrx_ip_equal(const mcrx_ip *a, const mcrx_ip *b)
{
    return mcrx_ip_same(a, b);
}
