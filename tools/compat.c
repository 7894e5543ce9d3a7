/*
 * OS glue of the demo tools (see compat.h).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "compat.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <iphlpapi.h>

void tool_net_init(void)
{
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d);
}

int tool_sock_error(void) { return WSAGetLastError(); }

const char *tool_os_strerror(int err)
{
    static char buf[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, (DWORD)err, 0, buf, sizeof buf, NULL);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    if (n == 0)
        snprintf(buf, sizeof buf, "error %d", err);
    return buf;
}

void tool_on_interrupt(void (*fn)(int))
{
    signal(SIGINT, fn); /* the C runtime maps Ctrl-C to SIGINT */
    signal(SIGTERM, fn);
}

uint64_t tool_mono_ns(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
}

void tool_sleep_until_ns(uint64_t t, volatile const int *stop)
{
    for (uint64_t now; !*stop && (now = tool_mono_ns()) < t;) {
        uint64_t ms = (t - now) / 1000000u;
        Sleep(ms ? (DWORD)ms : 0);
    }
}

/* Walk the adapters; fn returns the index to stop with, 0 to go on. */
static unsigned each_adapter(unsigned (*fn)(IP_ADAPTER_ADDRESSES *, const void *),
                             const void *ud)
{
    ULONG size = 16384;
    IP_ADAPTER_ADDRESSES *list = malloc(size);
    if (list && GetAdaptersAddresses(AF_UNSPEC, 0, NULL, list, &size) == ERROR_BUFFER_OVERFLOW) {
        free(list);
        list = malloc(size);
        if (list && GetAdaptersAddresses(AF_UNSPEC, 0, NULL, list, &size) != NO_ERROR) {
            free(list);
            list = NULL;
        }
    }
    unsigned idx = 0;
    for (IP_ADAPTER_ADDRESSES *a = list; a && !idx; a = a->Next)
        idx = fn(a, ud);
    free(list);
    return idx;
}

static unsigned by_name(IP_ADAPTER_ADDRESSES *a, const void *ud)
{
    char friendly[256];
    if (WideCharToMultiByte(CP_UTF8, 0, a->FriendlyName, -1, friendly, sizeof friendly,
                            NULL, NULL) > 0 && strcmp(friendly, ud) == 0)
        return a->Ipv6IfIndex ? a->Ipv6IfIndex : a->IfIndex;
    return 0;
}

static unsigned by_v6(IP_ADAPTER_ADDRESSES *a, const void *ud)
{
    for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u; u = u->Next) {
        const struct sockaddr_in6 *s = (const void *)u->Address.lpSockaddr;
        if (s->sin6_family == AF_INET6 && memcmp(&s->sin6_addr, ud, 16) == 0)
            return a->Ipv6IfIndex ? a->Ipv6IfIndex : a->IfIndex; /* Wine: 0 */
    }
    return 0;
}

unsigned tool_ifindex_by_name(const char *name)
{
    unsigned idx = each_adapter(by_name, name);
    return idx ? idx : if_nametoindex(name);
}

unsigned tool_ifindex_of_v6(const void *addr16) { return each_adapter(by_v6, addr16); }

#else /* POSIX */
#include <ifaddrs.h>

void tool_net_init(void) {}

int tool_sock_error(void) { return errno; }

const char *tool_os_strerror(int err) { return strerror(err); }

void tool_on_interrupt(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn; /* no SA_RESTART: a wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

uint64_t tool_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tool_sleep_until_ns(uint64_t t, volatile const int *stop)
{
#ifdef TIMER_ABSTIME
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
#else /* macOS has no clock_nanosleep: sleep what remains, relative */
    for (uint64_t now; !*stop && (now = tool_mono_ns()) < t;) {
        struct timespec rel = {(time_t)((t - now) / 1000000000u),
                               (long)((t - now) % 1000000000u)};
        if (nanosleep(&rel, NULL) == 0)
            break;
    }
#endif
}

unsigned tool_ifindex_by_name(const char *name) { return if_nametoindex(name); }

unsigned tool_ifindex_of_v6(const void *addr16)
{
    struct ifaddrs *list = NULL;
    unsigned idx = 0;
    if (getifaddrs(&list) != 0)
        return 0;
    for (struct ifaddrs *i = list; i && !idx; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6)
            continue;
        const struct sockaddr_in6 *s = (const void *)i->ifa_addr;
        if (memcmp(&s->sin6_addr, addr16, 16) == 0)
            idx = if_nametoindex(i->ifa_name);
    }
    freeifaddrs(list);
    return idx;
}
#endif
