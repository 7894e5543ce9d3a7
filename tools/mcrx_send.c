/*
 * mcrx_send: send UDP datagrams to a multicast group (test sender).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The library is receive-only; this tool uses plain sockets on purpose, so
 * that it checks the receivers independently of the library. TTL / hop
 * limit 1, multicast loopback on. With --source-addr the socket is bound to
 * that local address, so SSM receivers see it as the source, and the
 * multicast interface is the one owning that address.
 */
#include "common.h"
#include "compat.h"

#include <errno.h>
#ifndef _WIN32
#include <fcntl.h>
#endif
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifndef IF_NAMESIZE
#define IF_NAMESIZE 256
#endif

static const char send_usage[] =
    "Usage: mcrx_send GROUP PORT MESSAGE [INTERVAL_MS] [INTERFACE] [options]\n"
    "\n"
    "Sends MESSAGE to GROUP:PORT (TTL / hop limit 1, multicast loopback on).\n"
    "Without INTERVAL_MS (or with 0) and without --rate it sends once;\n"
    "with an interval or a rate it sends until --count is reached (or\n"
    "forever when --count is not given; stop with Ctrl-C).\n"
    "\n"
    "  INTERVAL_MS        pause between datagrams in milliseconds\n"
    "  INTERFACE          outgoing interface: local address (192.0.2.1,\n"
    "                     2001:db8::1, fe80::1%eth0), name (eth0) or index\n"
    "Options (may be mixed with the positionals):\n"
    "  --interface I      same as INTERFACE\n"
    "  --count N          send N datagrams\n"
    "  --rate PPS         datagrams per second (instead of INTERVAL_MS;\n"
    "                     fractional ok)\n"
    "  --len BYTES        payload length: MESSAGE repeated or cut to fit\n"
    "                     (zeros when MESSAGE is empty); 0..65535\n"
    "  --source-addr A    bind to local address A (the SSM source the\n"
    "                     receivers see); also picks the interface owning A\n"
    "                     unless INTERFACE is given\n"
    "  --quiet            no per-datagram lines\n"
    "  -h, --help         this text\n"
    "Exit status: 0 ok, 1 send failure, 2 usage\n"
    "Examples:\n"
    "  mcrx_send 239.1.2.3 5000 hello\n"
    "  mcrx_send 239.1.2.3 5000 hello 1000 192.0.2.1\n"
    "  mcrx_send 232.1.2.3 5000 hello 200 --count 3 --source-addr 192.0.2.2\n"
    "  mcrx_send ff3e::8000:1234 5000 hello 200 eth0 --source-addr 2001:db8::2\n";

enum { OPT_INTERFACE, OPT_COUNT, OPT_RATE, OPT_LEN, OPT_SOURCE_ADDR,
       OPT_QUIET };

static const struct tool_opt send_opts[] = {
    {"interface", true, OPT_INTERFACE},
    {"count", true, OPT_COUNT},
    {"rate", true, OPT_RATE},
    {"len", true, OPT_LEN},
    {"source-addr", true, OPT_SOURCE_ADDR},
    {"quiet", false, OPT_QUIET},
};

struct send_args {
    const char *group, *message, *interface, *source_addr;
    uint16_t port;
    bool has_interval;
    uint64_t interval_ms;
    double rate;        /* 0: none */
    uint64_t count;     /* 0: not given */
    bool has_len;
    size_t len;
    bool quiet;
};

static void send_opt(void *ud, int id, const char *name, const char *value)
{
    struct send_args *a = ud;
    switch (id) {
    case OPT_INTERFACE:
        tool_set_once(&a->interface, name, value);
        break;
    case OPT_COUNT:
        a->count = tool_parse_u64("--count", value, 1, UINT64_MAX);
        break;
    case OPT_RATE:
        a->rate = tool_parse_positive_double("--rate", value);
        break;
    case OPT_LEN:
        a->has_len = true;
        a->len = (size_t)tool_parse_u64("--len", value, 0, 65535);
        break;
    case OPT_SOURCE_ADDR:
        a->source_addr = value;
        break;
    case OPT_QUIET:
        a->quiet = true;
        break;
    }
}

/* ---- addresses ------------------------------------------------------- */

struct addr {
    int family; /* AF_INET / AF_INET6 */
    struct in_addr v4;
    struct in6_addr v6;
    uint32_t zone; /* IPv6 "%zone" as an index; 0 = none */
};

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Parse "192.0.2.1", "2001:db8::1" or "fe80::1%eth0" / "fe80::1%7". */
static bool parse_addr(const char *text, struct addr *out)
{
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (strlen(text) >= sizeof buf)
        return false;
    strcpy(buf, text);
    char *zone = strchr(buf, '%');
    if (zone)
        *zone++ = '\0';
    memset(out, 0, sizeof *out);
    if (!zone && inet_pton(AF_INET, buf, &out->v4) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, &out->v6) != 1)
        return false;
    out->family = AF_INET6;
    if (zone) {
        if (all_digits(zone))
            out->zone = (uint32_t)tool_parse_u64("zone", zone, 1, UINT32_MAX);
        else if ((out->zone = tool_ifindex_by_name(zone)) == 0)
            tool_usage_error("unknown interface '%s' in '%s'", zone, text);
    }
    return true;
}

/* Index of the interface that owns the IPv6 address a; 0 if none. */
static unsigned v6_owner_index(const struct in6_addr *a)
{
    return tool_ifindex_of_v6(a);
}

/* The outgoing multicast interface. */
struct out_if {
    bool set;
    struct in_addr v4;  /* IPv4 by address (ip_mreqn.imr_address) */
    unsigned ifindex;   /* by index (IPv4 ip_mreqn.imr_ifindex, IPv6) */
};

static bool addr_unspecified(const struct addr *a)
{
    static const uint8_t zero[16];
    return a->family == AF_INET ? a->v4.s_addr == htonl(INADDR_ANY)
                                : memcmp(&a->v6, zero, 16) == 0;
}

static void resolve_interface(const char *text, int family, struct out_if *o)
{
    struct addr ad;
    memset(o, 0, sizeof *o);
    if (all_digits(text)) {
        o->ifindex = (unsigned)tool_parse_u64("interface index", text, 1, UINT32_MAX);
        o->set = true;
        return;
    }
    if (parse_addr(text, &ad)) {
        if (addr_unspecified(&ad))
            return; /* 0.0.0.0 or ::: no interface, as in the crate */
        if (ad.family != family)
            tool_usage_error("interface '%s' is not an %s address", text,
                             family == AF_INET ? "IPv4" : "IPv6");
        if (family == AF_INET) {
            o->v4 = ad.v4;
            o->set = true;
        } else if (ad.zone) {
            o->ifindex = ad.zone;
            o->set = true;
        } else if (!addr_unspecified(&ad)) {
            o->ifindex = v6_owner_index(&ad.v6);
            if (!o->ifindex)
                tool_usage_error("no interface has the address '%s'", text);
            o->set = true;
        }
        return;
    }
    o->ifindex = tool_ifindex_by_name(text);
    if (!o->ifindex)
        tool_usage_error("unknown interface '%s'", text);
    o->set = true;
}

/* ---- sending --------------------------------------------------------- */

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int fail_errno(const char *what)
{
    tool_err("%s: %s", what, tool_os_strerror(tool_sock_error()));
    return TOOL_EXIT_FAIL;
}

static tool_sock setup_socket(const struct send_args *a, const struct addr *grp,
                        const struct out_if *oif, const struct addr *src)
{
#if defined(SOCK_CLOEXEC)
    tool_sock fd = socket(grp->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#else /* macOS, Windows: no socket() flags; a short-lived tool, no fork */
    tool_sock fd = socket(grp->family, SOCK_DGRAM, 0);
#ifndef _WIN32
    if (fd >= 0)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
#endif
    if (fd == TOOL_BAD_SOCK)
        return fail_errno("socket"), TOOL_BAD_SOCK;

    int one = 1;
    bool ok;
    if (grp->family == AF_INET) {
        ok = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, (const void *)&one, sizeof one) == 0 &&
             setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, (const void *)&one, sizeof one) == 0;
        if (ok && oif->set) {
#ifdef _WIN32 /* by address: the interface's first IPv4 address for an
               * index or name (Wine 8 ignores the 0.0.0.<index> form) */
            struct in_addr m = oif->v4;
            mcrx_config ifc;
            char idx[16];
            snprintf(idx, sizeof idx, "%u", oif->ifindex);
            if (oif->ifindex &&
                mcrx_config_parse(&ifc, "239.0.0.1", 1, NULL, idx) == MCRX_OK)
                memcpy(&m, ifc.interface.addr, 4);
#else
            struct ip_mreqn m;
            memset(&m, 0, sizeof m);
            m.imr_address = oif->v4;
            m.imr_ifindex = (int)oif->ifindex;
#endif
            ok = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, (const void *)&m, sizeof m) == 0;
        }
    } else {
        unsigned uone = 1;
        ok = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, (const void *)&one, sizeof one) == 0 &&
             setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, (const void *)&uone, sizeof uone) == 0;
        if (ok && oif->ifindex)
            ok = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (const void *)&oif->ifindex,
                            sizeof oif->ifindex) == 0;
    }
    if (!ok) {
        fail_errno("setsockopt (multicast TTL / loopback / interface)");
        tool_sock_close(fd);
        return TOOL_BAD_SOCK;
    }

    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (grp->family == AF_INET) {
        struct sockaddr_in *s4 = (void *)&ss;
        s4->sin_family = AF_INET;
        if (src)
            s4->sin_addr = src->v4;
        sl = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (void *)&ss;
        s6->sin6_family = AF_INET6;
        if (src) {
            s6->sin6_addr = src->v6;
            s6->sin6_scope_id = src->zone;
        }
        sl = sizeof *s6;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        char what[128];
        snprintf(what, sizeof what, "bind to %s",
                 a->source_addr ? a->source_addr : src ? a->interface : "wildcard");
        fail_errno(what);
        tool_sock_close(fd);
        return TOOL_BAD_SOCK;
    }
    return fd;
}

/* The options into *a, the positionals into pos[0..5); returns how many
 * positionals there were (usage errors exit 2). Also fuzz/fuzz_send.c's. */
static int send_parse_cli(int argc, char **argv, struct send_args *a,
                          const char *pos[5])
{
    memset(a, 0, sizeof *a);
    return tool_parse_cli(argc, argv, send_opts,
                          sizeof send_opts / sizeof send_opts[0], send_opt, a,
                          pos, 5);
}

int main(int argc, char **argv)
{
    tool_cli_init("mcrx_send", send_usage);
    tool_net_init();

    struct send_args a;
    const char *pos[5] = {0};
    int npos = send_parse_cli(argc, argv, &a, pos);
    if (npos < 3)
        tool_usage_error("missing %s", npos == 0   ? "GROUP, PORT and MESSAGE"
                                        : npos == 1 ? "PORT and MESSAGE"
                                                    : "MESSAGE");
    a.group = pos[0];
    a.port = tool_parse_port(pos[1]);
    a.message = pos[2];
    if (npos >= 4) {
        a.has_interval = true;
        a.interval_ms = tool_parse_u64("INTERVAL_MS", pos[3], 0, 86400000);
    }
    if (npos >= 5) {
        if (a.interface)
            tool_usage_error("INTERFACE given both as argument and --interface");
        a.interface = pos[4];
    }
    if (a.rate > 0 && a.has_interval && a.interval_ms > 0)
        tool_usage_error("give either INTERVAL_MS or --rate, not both");

    struct addr grp, src;
    if (!parse_addr(a.group, &grp))
        tool_usage_error("bad group '%s': not an IPv4/IPv6 address", a.group);
    bool mc = grp.family == AF_INET ? IN_MULTICAST(ntohl(grp.v4.s_addr))
                                    : IN6_IS_ADDR_MULTICAST(&grp.v6);
    if (!mc)
        tool_usage_error("bad group '%s': not a multicast address", a.group);
    if (a.source_addr) {
        if (!parse_addr(a.source_addr, &src))
            tool_usage_error("bad --source-addr '%s': not an IPv4/IPv6 address",
                             a.source_addr);
        if (src.family != grp.family)
            tool_usage_error("--source-addr '%s' and group '%s' differ in family",
                             a.source_addr, a.group);
    }

    /* As in the crate: an address given as INTERFACE is also the address
     * the socket binds to, so SSM receivers see it as the source. */
    struct addr ifaddr;
    bool bind_src = a.source_addr != NULL;
    if (!bind_src && a.interface && parse_addr(a.interface, &ifaddr) &&
        ifaddr.family == grp.family && !addr_unspecified(&ifaddr)) {
        src = ifaddr;
        bind_src = true;
    }

    struct out_if oif;
    memset(&oif, 0, sizeof oif);
    if (a.interface && *a.interface) {
        resolve_interface(a.interface, grp.family, &oif);
    } else if (a.source_addr) {
        if (grp.family == AF_INET) {
            oif.v4 = src.v4;
            oif.set = true;
        } else {
            oif.ifindex = src.zone ? src.zone : v6_owner_index(&src.v6);
            oif.set = oif.ifindex != 0; /* else bind() reports it */
        }
    } else if (grp.family == AF_INET6 && grp.zone) {
        oif.ifindex = grp.zone;
        oif.set = true;
    }

    /* Payload. */
    size_t mlen = strlen(a.message);
    size_t plen = a.has_len ? a.len : mlen;
    uint8_t *payload = calloc(plen ? plen : 1, 1);
    if (!payload)
        return tool_err("out of memory"), TOOL_EXIT_FAIL;
    for (size_t i = 0; mlen && i < plen; i++)
        payload[i] = (uint8_t)a.message[i % mlen];

    /* Pacing and count. */
    uint64_t period_ns = 0;
    if (a.rate > 0)
        period_ns = (uint64_t)(1e9 / a.rate);
    else if (a.has_interval)
        period_ns = a.interval_ms * 1000000u;
    bool paced = a.rate > 0 || (a.has_interval && a.interval_ms > 0);
    uint64_t count = a.count ? a.count : (paced ? 0 : 1); /* 0: forever */

    tool_on_interrupt(on_signal);

    tool_sock fd = setup_socket(&a, &grp, &oif, bind_src ? &src : NULL);
    if (fd == TOOL_BAD_SOCK) {
        free(payload);
        return TOOL_EXIT_FAIL;
    }

    struct sockaddr_storage dst;
    socklen_t dlen;
    memset(&dst, 0, sizeof dst);
    char dst_text[TOOL_ADDR_STRLEN], gtext[INET6_ADDRSTRLEN];
    if (grp.family == AF_INET) {
        struct sockaddr_in *d4 = (void *)&dst;
        d4->sin_family = AF_INET;
        d4->sin_addr = grp.v4;
        d4->sin_port = htons(a.port);
        dlen = sizeof *d4;
        inet_ntop(AF_INET, &grp.v4, gtext, sizeof gtext);
        snprintf(dst_text, sizeof dst_text, "%s:%u", gtext, (unsigned)a.port);
    } else {
        struct sockaddr_in6 *d6 = (void *)&dst;
        d6->sin6_family = AF_INET6;
        d6->sin6_addr = grp.v6;
        d6->sin6_port = htons(a.port);
        d6->sin6_scope_id = grp.zone ? grp.zone : oif.ifindex;
        dlen = sizeof *d6;
        inet_ntop(AF_INET6, &grp.v6, gtext, sizeof gtext);
        snprintf(dst_text, sizeof dst_text, "[%s]:%u", gtext, (unsigned)a.port);
    }

    char src_text[TOOL_ADDR_STRLEN + 6] = "";
    if (a.source_addr) {
        struct sockaddr_storage ls;
        socklen_t ll = sizeof ls;
        char h[INET6_ADDRSTRLEN] = "?";
        unsigned lport = 0;
        if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) {
            if (ls.ss_family == AF_INET) {
                const struct sockaddr_in *l4 = (const void *)&ls;
                inet_ntop(AF_INET, &l4->sin_addr, h, sizeof h);
                lport = ntohs(l4->sin_port);
                snprintf(src_text, sizeof src_text, " src=%s:%u", h, lport);
            } else {
                const struct sockaddr_in6 *l6 = (const void *)&ls;
                inet_ntop(AF_INET6, &l6->sin6_addr, h, sizeof h);
                lport = ntohs(l6->sin6_port);
                snprintf(src_text, sizeof src_text, " src=[%s]:%u", h, lport);
            }
        }
    }

    int rc = TOOL_EXIT_OK;
    uint64_t sent = 0;
    uint64_t next = tool_mono_ns();
    while (!g_stop && (count == 0 || sent < count)) {
        if (sent > 0 && period_ns) {
            next += period_ns;
            tool_sleep_until_ns(next, &g_stop);
            if (g_stop)
                break;
        }
        long r = (long)sendto(fd, (const void *)payload, (int)plen, 0,
                              (struct sockaddr *)&dst, dlen);
        if (r < 0) {
            int err = tool_sock_error();
            if (err == TOOL_E_INTR)
                continue;
            if (err == TOOL_E_NOBUFS || err == TOOL_E_AGAIN) {
                tool_sleep_until_ns(tool_mono_ns() + 100000u, &g_stop);
                continue;
            }
            char what[128];
            snprintf(what, sizeof what, "send to %s", dst_text);
            rc = fail_errno(what);
            break;
        }
        sent++;
        if (!a.quiet) {
            printf("[send] n=%" PRIu64 " dst=%s%s len=%ld\n", sent, dst_text,
                   src_text, r);
            fflush(stdout);
        }
    }

    printf("[send] done sent=%" PRIu64 "\n", sent);
    fflush(stdout);
    tool_sock_close(fd);
    free(payload);
    return rc;
}
