/*
 * Shared helpers of the mcrx-core Criterion test suite.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32 /* Winsock through tests/compat/win/mt_win_posix.h */
#define MT_WIN_SKIP(what)                                                      \
    cr_skip_test("%s: Linux-only test helper (the Windows build runs under " \
                 "Wine, which has no fork/exec of Linux programs)", what)
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------ */
/* The network rule: refuse to run outside the private namespace.      */
/* ------------------------------------------------------------------ */

/* Index of an interface by name; 0 if none. Windows: through the
 * library's own lookup (GetAdaptersAddresses; Wine's if_nametoindex does
 * not know Linux names). */
static unsigned mt_ifindex_of(const char *ifname)
{
#ifdef _WIN32
    mcrx_config cfg;
    return mcrx_config_parse(&cfg, "ff15::1", 1, NULL, ifname) == MCRX_OK
               ? cfg.interface_index : 0;
#else
    return if_nametoindex(ifname);
#endif
}

__attribute__((constructor)) static void mt_require_netns(void)
{
    const char *ready = getenv("MCRX_NETNS_READY");
    if (ready == NULL || strcmp(ready, "1") != 0) {
        fprintf(stderr,
                "mcrx tests: REFUSING TO RUN: MCRX_NETNS_READY is not 1.\n"
                "These tests join and send multicast; they must run inside the\n"
                "private namespace made by scripts/mcrx-netns (meson test does\n"
                "that). Run: scripts/mcrx-netns %s\n",
                "<test-binary>");
        _exit(99);
    }
#ifndef _WIN32 /* Wine: the wrapper (scripts/mcrx-wine) checked the netns */
    /* Belt and braces: the namespace must not be the one of pid 1 (the
     * machine's, unless we run in a container that has its own). */
    char self[64] = "", init[64] = "";
    ssize_t a = readlink("/proc/self/ns/net", self, sizeof self - 1);
    ssize_t b = readlink("/proc/1/ns/net", init, sizeof init - 1);
    if (a > 0 && b > 0 && strcmp(self, init) == 0) {
        fprintf(stderr, "mcrx tests: REFUSING TO RUN: MCRX_NETNS_READY=1 but this "
                        "is pid 1's network namespace (%s)\n", self);
        _exit(99);
    }
#endif
    if (mt_ifindex_of("v0") == 0 || mt_ifindex_of("v1") == 0) {
        fprintf(stderr, "mcrx tests: REFUSING TO RUN: no v0/v1 veth pair here; "
                        "use scripts/mcrx-netns\n");
        _exit(99);
    }
}

const char *mt_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : fallback;
}

unsigned mt_ifindex(const char *ifname)
{
    unsigned idx = mt_ifindex_of(ifname);
    cr_assert_neq(idx, 0u, "no interface %s in the test namespace", ifname);
    return idx;
}

/* ------------------------------------------------------------------ */
/* Addresses and configs                                               */
/* ------------------------------------------------------------------ */

static char *mt_rotbuf(void)
{
    static char bufs[8][MCRX_IP_STRLEN + 16];
    static unsigned next;
    return bufs[next++ % 8];
}

mcrx_ip mt_ip(const char *text)
{
    mcrx_ip ip;
    memset(&ip, 0, sizeof ip);
    int rc = mcrx_ip_parse(&ip, text);
    cr_assert_eq(rc, MCRX_OK, "mcrx_ip_parse(\"%s\") = %s", text,
                 mcrx_status_name(rc));
    return ip;
}

const char *mt_ipstr(const mcrx_ip *ip)
{
    char *buf = mt_rotbuf();
    if (mcrx_ip_format(ip, buf, MCRX_IP_STRLEN) != MCRX_OK)
        snprintf(buf, MCRX_IP_STRLEN, "<family %u>", ip->family);
    return buf;
}

const char *mt_group_asm4(unsigned file, unsigned test)
{
    char *buf = mt_rotbuf();
    snprintf(buf, MCRX_IP_STRLEN, "239.77.%u.%u", file % 256, test % 256);
    return buf;
}

const char *mt_group_ssm4(unsigned file, unsigned test)
{
    char *buf = mt_rotbuf();
    snprintf(buf, MCRX_IP_STRLEN, "232.77.%u.%u", file % 256, test % 256);
    return buf;
}

const char *mt_group_asm6(unsigned file, unsigned test)
{
    char *buf = mt_rotbuf();
    snprintf(buf, MCRX_IP_STRLEN, "ff15::77:%02x%02x", file % 256, test % 256);
    return buf;
}

const char *mt_group_ssm6(unsigned file, unsigned test)
{
    char *buf = mt_rotbuf();
    snprintf(buf, MCRX_IP_STRLEN, "ff3e::8000:%02x%02x", file % 256, test % 256);
    return buf;
}

mcrx_config mt_cfg_asm4(const char *group, uint16_t port, const char *ifaddr)
{
    mcrx_config cfg;
    mcrx_ip g = mt_ip(group);
    mcrx_config_asm(&cfg, &g, port);
    if (ifaddr != NULL)
        cfg.interface = mt_ip(ifaddr);
    return cfg;
}

mcrx_config mt_cfg_ssm4(const char *group, const char *source, uint16_t port,
                        const char *ifaddr)
{
    mcrx_config cfg;
    mcrx_ip g = mt_ip(group), s = mt_ip(source);
    mcrx_config_ssm(&cfg, &g, &s, port);
    if (ifaddr != NULL)
        cfg.interface = mt_ip(ifaddr);
    return cfg;
}

mcrx_config mt_cfg_asm6(const char *group, uint16_t port, const char *ifname)
{
    mcrx_config cfg;
    mcrx_ip g = mt_ip(group);
    mcrx_config_asm(&cfg, &g, port);
    if (ifname != NULL) {
        cfg.interface_index = mt_ifindex(ifname);
        cfg.has_interface_index = true;
    }
    return cfg;
}

mcrx_config mt_cfg_ssm6(const char *group, const char *source, uint16_t port,
                        const char *ifname)
{
    mcrx_config cfg;
    mcrx_ip g = mt_ip(group), s = mt_ip(source);
    mcrx_config_ssm(&cfg, &g, &s, port);
    if (ifname != NULL) {
        cfg.interface_index = mt_ifindex(ifname);
        cfg.has_interface_index = true;
    }
    return cfg;
}

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

mcrx_backend_kind mt_backend(void)
{
    const char *name = getenv("MCRX_TEST_BACKEND");
    if (name == NULL || *name == '\0')
        return MCRX_BACKEND_DEFAULT;
    mcrx_backend_kind kind = MCRX_BACKEND_DEFAULT;
    int rc = mcrx_backend_parse(name, &kind);
    cr_assert_eq(rc, MCRX_OK, "MCRX_TEST_BACKEND=%s: mcrx_backend_parse = %s",
                 name, mcrx_status_name(rc));
    return kind;
}

mcrx_ctx_options mt_opts(void)
{
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    o.backend = mt_backend();
    return o;
}

mcrx_ctx *mt_ctx_new(const mcrx_ctx_options *opts)
{
    mcrx_ctx_options o = opts != NULL ? *opts : mt_opts();
    o.backend = mt_backend();
    mcrx_ctx *ctx = NULL;
    int rc = mcrx_ctx_new(&ctx, &o);
    cr_assert_eq(rc, MCRX_OK, "mcrx_ctx_new(backend %s) = %s (%s), errno %d",
                 mcrx_backend_name(o.backend), mcrx_status_name(rc),
                 mcrx_strerror(rc), errno);
    cr_assert_not_null(ctx);
    if (o.backend != MCRX_BACKEND_DEFAULT)
        cr_assert_eq(mcrx_ctx_backend(ctx), o.backend,
                     "asked for backend %s, context runs %s",
                     mcrx_backend_name(o.backend),
                     mcrx_backend_name(mcrx_ctx_backend(ctx)));
    return ctx;
}

void mt_skip_unsupported_join(int rc, const mcrx_config *cfg)
{
#ifdef _WIN32
    if (rc == MCRX_E_JOIN && mcrx_last_os_error() == WSAENOPROTOOPT &&
        cfg->group.family == MCRX_AF_INET6 && cfg->source.family != MCRX_AF_UNSPEC)
        cr_skip_test("IPv6 SSM join (MCAST_JOIN_SOURCE_GROUP) answered "
                     "WSAENOPROTOOPT: Wine 8 lacks it; unverified on Windows");
#else
    (void)rc, (void)cfg;
#endif
}

uint64_t mt_add_join(mcrx_ctx *ctx, const mcrx_config *cfg)
{
    uint64_t id = 0;
    int rc = mcrx_ctx_add(ctx, cfg, &id);
    cr_assert_eq(rc, MCRX_OK, "mcrx_ctx_add(%s:%u) = %s, errno %d (%s)",
                 mt_ipstr(&cfg->group), cfg->dst_port, mcrx_status_name(rc),
                 errno, strerror(errno));
    cr_assert_neq(id, 0u);
    rc = mcrx_ctx_join(ctx, id);
    mt_skip_unsupported_join(rc, cfg);
    cr_assert_eq(rc, MCRX_OK, "mcrx_ctx_join(%s) = %s, errno %d (%s)",
                 mt_ipstr(&cfg->group), mcrx_status_name(rc), errno,
                 strerror(errno));
    return id;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

int64_t mt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mt_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mt_pkt_copy(mt_pkt *dst, const mcrx_packet *p, const mcrx_metadata *m)
{
    memset(dst, 0, sizeof *dst);
    dst->p = *p;
    if (m != NULL)
        dst->m = *m;
    dst->data = malloc(p->len + 1); /* NUL-terminated for convenience */
    cr_assert_not_null(dst->data);
    dst->data[p->len] = '\0';
    if (p->len > 0) {
        cr_assert_not_null(p->payload, "packet of %zu bytes with NULL payload",
                           p->len);
        memcpy(dst->data, p->payload, p->len);
    }
    dst->p.payload = dst->data;
}

void mt_pkt_free(mt_pkt *pkt)
{
    if (pkt == NULL)
        return;
    free(pkt->data);
    pkt->data = NULL;
    pkt->p.payload = NULL;
}

/* Receive one packet with sub's try_recv (sub != NULL) or the context's
 * try_recv_any, waiting with mcrx_ctx_wait (ctx != NULL) or poll(2) on the
 * subscription's socket, until timeout_ms passes. */
static int recv_one(mcrx_ctx *ctx, mcrx_sub *sub, mt_pkt *out, bool meta,
                    int timeout_ms)
{
    int64_t deadline = mt_now_ms() + timeout_ms;
    for (;;) {
        mcrx_packet p;
        mcrx_metadata m;
        memset(&p, 0, sizeof p);
        memset(&m, 0, sizeof m);
        mcrx_metadata *mp = meta ? &m : NULL;
        int r = sub ? mcrx_sub_try_recv_meta(sub, &p, mp)
                    : mcrx_ctx_try_recv_any_meta(ctx, &p, mp);
        if (r < 0)
            return r;
        cr_assert_leq(r, 1, "try_recv returned %d (> 1)", r);
        if (r == 1) {
            mt_pkt_copy(out, &p, mp);
            return 1;
        }
        int64_t left = deadline - mt_now_ms();
        if (left <= 0)
            return 0;
        if (ctx != NULL) {
            r = mcrx_ctx_wait(ctx, (int)left);
            if (r < 0)
                return r;
            cr_assert_leq(r, 1, "mcrx_ctx_wait returned %d (> 1)", r);
        } else {
            struct pollfd pfd = { .fd = mcrx_sub_fd(sub), .events = POLLIN };
            r = poll(&pfd, 1, (int)left);
            if (r < 0 && errno != EINTR)
                return MCRX_E_WAIT;
        }
    }
}

int mt_recv(mcrx_ctx *ctx, mt_pkt *out, bool meta, int timeout_ms)
{
    return recv_one(ctx, NULL, out, meta, timeout_ms);
}

int mt_sub_recv(mcrx_sub *sub, mcrx_ctx *ctx, mt_pkt *out, bool meta,
                int timeout_ms)
{
    return recv_one(ctx, sub, out, meta, timeout_ms);
}

int mt_drain(mcrx_ctx *ctx, mt_pkt *out, size_t max, int quiet_ms)
{
    size_t n = 0;
    mcrx_packet batch[64];
    for (;;) {
        size_t want = max - n < 64 ? max - n : 64;
        if (want == 0)
            return (int)n;
        int r = mcrx_ctx_recv_batch(ctx, batch, want);
        if (r < 0)
            return r;
        cr_assert_leq((size_t)r, want, "recv_batch returned %d > max %zu", r,
                      want);
        for (int i = 0; i < r; i++)
            mt_pkt_copy(&out[n + (size_t)i], &batch[i], NULL);
        n += (size_t)r;
        if (r == 0) {
            r = mcrx_ctx_wait(ctx, quiet_ms);
            if (r < 0)
                return r;
            if (r == 0)
                return (int)n;
        }
    }
}

long mt_drain_count(mcrx_ctx *ctx, int quiet_ms)
{
    long n = 0;
    mcrx_packet batch[64];
    for (;;) {
        int r = mcrx_ctx_recv_batch(ctx, batch, 64);
        if (r < 0)
            return r;
        n += r;
        if (r == 0) {
            r = mcrx_ctx_wait(ctx, quiet_ms);
            if (r < 0)
                return r;
            if (r == 0)
                return n;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Our own sender                                                      */
/* ------------------------------------------------------------------ */

static void mt_sender_fill_local(mt_sender *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&ss, &sl), 0);
    if (ss.ss_family == AF_INET)
        s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else
        s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

mt_sender mt_sender_v4(const char *src, const char *ifname)
{
    mt_sender s;
    memset(&s, 0, sizeof s);
    s.family = AF_INET;
    s.src = mt_ip(src);
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s.fd, 0, "socket: %s", strerror(errno));

    struct sockaddr_in sin = { .sin_family = AF_INET };
    cr_assert_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
    cr_assert_eq(bind(s.fd, (struct sockaddr *)&sin, sizeof sin), 0,
                 "bind sender to %s: %s", src, strerror(errno));

    unsigned char ttl = 1, loop = 1;
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl), 0);
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop), 0);
#ifdef _WIN32 /* Windows picks the interface by address (Wine 8 ignores
               * the 0.0.0.<index> form, and Linux would make any other
               * address the datagrams' source): the bound one, which the
               * test beds always put on ifname. */
    struct in_addr mr = sin.sin_addr;
    (void)mt_ifindex(ifname);
#else
    struct ip_mreqn mr;
    memset(&mr, 0, sizeof mr);
    mr.imr_address = sin.sin_addr;
    mr.imr_ifindex = (int)mt_ifindex(ifname);
#endif
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr), 0,
                 "IP_MULTICAST_IF %s: %s", ifname, strerror(errno));
    int sndbuf = 1 << 20;
    (void)setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    mt_sender_fill_local(&s);
    return s;
}

mt_sender mt_sender_v6(const char *src, const char *ifname)
{
    mt_sender s;
    memset(&s, 0, sizeof s);
    s.family = AF_INET6;
    s.src = mt_ip(src);
    s.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s.fd, 0, "socket: %s", strerror(errno));

    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    cr_assert_eq(inet_pton(AF_INET6, src, &sin6.sin6_addr), 1);
    cr_assert_eq(bind(s.fd, (struct sockaddr *)&sin6, sizeof sin6), 0,
                 "bind sender to %s: %s", src, strerror(errno));

    int hops = 1, loop = 1;
    unsigned idx = mt_ifindex(ifname);
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops), 0);
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop), 0);
    cr_assert_eq(setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx), 0,
                 "IPV6_MULTICAST_IF %s: %s", ifname, strerror(errno));
    int sndbuf = 1 << 20;
    (void)setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    mt_sender_fill_local(&s);
    return s;
}

void mt_send(const mt_sender *s, const char *group, uint16_t port,
             const void *data, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (s->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET, group, &sin->sin_addr), 1, "group %s", group);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET6, group, &sin6->sin6_addr), 1, "group %s", group);
        sl = sizeof *sin6;
    }
    ssize_t n;
    do {
        n = sendto(s->fd, data, len, 0, (struct sockaddr *)&ss, sl);
    } while (n < 0 && errno == EINTR);
    cr_assert_eq(n, (ssize_t)len, "sendto %s:%u (%zu bytes): %s", group, port,
                 len, n < 0 ? strerror(errno) : "short");
}

void mt_send_seq(const mt_sender *s, const char *group, uint16_t port,
                 const char *tag, unsigned first, unsigned count)
{
    char buf[128];
    for (unsigned i = first; i < first + count; i++) {
        int n = snprintf(buf, sizeof buf, "%s-%u", tag, i);
        mt_send(s, group, port, buf, (size_t)n);
    }
}

void mt_sender_close(mt_sender *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

long mt_seq_of(const mt_pkt *pkt, const char *tag)
{
    size_t tl = strlen(tag);
    if (pkt->p.len <= tl + 1 || pkt->p.len > 100)
        return -1;
    if (memcmp(pkt->data, tag, tl) != 0 || pkt->data[tl] != '-')
        return -1;
    char buf[101];
    memcpy(buf, pkt->data, pkt->p.len);
    buf[pkt->p.len] = '\0';
    char *end = NULL;
    long v = strtol(buf + tl + 1, &end, 10);
    if (end == buf + tl + 1 || *end != '\0')
        return -1;
    return v;
}

/* ------------------------------------------------------------------ */
/* Independent senders                                                 */
/* ------------------------------------------------------------------ */

static const char mt_python_script[] =
    "import os, socket, sys\n"
    "if os.environ.get('MCRX_NETNS_READY') != '1':\n"
    "    sys.exit('refusing to send multicast outside the test namespace')\n"
    "group, port, src, ifname, payload, count = sys.argv[1:7]\n"
    "if ':' in group:\n"
    "    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
    "    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)\n"
    "    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)\n"
    "    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,\n"
    "                 socket.if_nametoindex(ifname))\n"
    "    s.bind((src, 0, 0, 0))\n"
    "else:\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)\n"
    "    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)\n"
    "    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,\n"
    "                 socket.inet_aton(src))\n"
    "    s.bind((src, 0))\n"
    "for _ in range(int(count)):\n"
    "    s.sendto(payload.encode(), (group, int(port)))\n"
    "print(s.getsockname()[1])\n";

int mt_python_send_port(const char *group, uint16_t port, const char *src,
                        const char *ifname, const char *payload,
                        unsigned count, uint16_t *src_port)
{
#ifdef _WIN32
    (void)group, (void)port, (void)src, (void)ifname, (void)payload, (void)count,
        (void)src_port;
    MT_WIN_SKIP("python3 sender");
#else
    char portbuf[16], countbuf[16];
    snprintf(portbuf, sizeof portbuf, "%u", port);
    snprintf(countbuf, sizeof countbuf, "%u", count);
    int pfd[2];
    cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        char *argv[] = { "python3", "-c", (char *)mt_python_script,
                         (char *)group, portbuf, (char *)src, (char *)ifname,
                         (char *)payload, countbuf, NULL };
        execvp("python3", argv);
        _exit(127);
    }
    close(pfd[1]);
    char out[64] = { 0 };
    size_t got = 0;
    for (;;) {
        ssize_t n = read(pfd[0], out + got, sizeof out - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof out - 1)
            break;
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        return -1;
    if (src_port != NULL)
        *src_port = (uint16_t)strtoul(out, NULL, 10);
    return WEXITSTATUS(status);
#endif
}

int mt_python_send(const char *group, uint16_t port, const char *src,
                   const char *ifname, const char *payload, unsigned count)
{
    return mt_python_send_port(group, port, src, ifname, payload, count, NULL);
}

int mt_run(char *const argv[], bool verbose)
{
#ifdef _WIN32
    (void)argv, (void)verbose;
    MT_WIN_SKIP("running a program");
#else
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!verbose) {
            int nul = open("/dev/null", O_WRONLY);
            if (nul >= 0) {
                dup2(nul, STDOUT_FILENO);
                dup2(nul, STDERR_FILENO);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#endif
}

/* ------------------------------------------------------------------ */
/* Kernel membership                                                   */
/* ------------------------------------------------------------------ */

/* /proc/net/igmp:
 *   Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter
 *   3\tv0        :     2      V3
 *   \t\t\t\t030201E8     1 0:00000000\t\t0
 * The group is the __be32 printed with %08X (host order of the raw bytes):
 * on little-endian 232.1.2.3 reads 030201E8. Comparing the parsed integer
 * with in_addr.s_addr is byte-order independent. */
bool mt_igmp_has(const char *ifname, const char *group)
{
    struct in_addr want;
    cr_assert_eq(inet_pton(AF_INET, group, &want), 1, "group %s", group);
    FILE *f = fopen("/proc/net/igmp", "r");
    cr_assert_not_null(f, "/proc/net/igmp: %s", strerror(errno));
    char line[512], dev[64] = "";
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] >= '0' && line[0] <= '9') {
            int idx;
            if (sscanf(line, "%d %63s", &idx, dev) != 2)
                dev[0] = '\0';
            char *colon = strchr(dev, ':');
            if (colon != NULL)
                *colon = '\0';
        } else if (line[0] == '\t') {
            unsigned long v;
            if (sscanf(line, " %lx", &v) == 1 && strcmp(dev, ifname) == 0 &&
                (uint32_t)v == want.s_addr)
                found = true;
        }
    }
    fclose(f);
    return found;
}

/* /proc/net/mcfilter: "%3d %6.6s 0x%08x 0x%08x %6lu %6lu" idx, device
 * (cut at 6 characters), group and source in host order (ntohl), INC, EXC. */
bool mt_mcfilter_has(const char *ifname, const char *group, const char *source)
{
    struct in_addr g, s;
    cr_assert_eq(inet_pton(AF_INET, group, &g), 1);
    cr_assert_eq(inet_pton(AF_INET, source, &s), 1);
    FILE *f = fopen("/proc/net/mcfilter", "r");
    cr_assert_not_null(f, "/proc/net/mcfilter: %s", strerror(errno));
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        int idx;
        char dev[64];
        unsigned long mg, ms, inc, exc;
        if (sscanf(line, "%d %63s %lx %lx %lu %lu", &idx, dev, &mg, &ms, &inc,
                   &exc) != 6)
            continue;
        if (strncmp(dev, ifname, 6) == 0 && mg == ntohl(g.s_addr) &&
            ms == ntohl(s.s_addr) && inc > 0)
            found = true;
    }
    fclose(f);
    return found;
}

static void mt_hex6(const char *text, char out[33])
{
    struct in6_addr a;
    cr_assert_eq(inet_pton(AF_INET6, text, &a), 1, "IPv6 address %s", text);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", a.s6_addr[i]);
}

/* /proc/net/igmp6: "%-4d %-15s %pi6 %5d %08X %ld" (address as 32 hex). */
bool mt_igmp6_has(const char *ifname, const char *group)
{
    char want[33];
    mt_hex6(group, want);
    FILE *f = fopen("/proc/net/igmp6", "r");
    cr_assert_not_null(f, "/proc/net/igmp6: %s", strerror(errno));
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        int idx;
        char dev[64], addr[64];
        if (sscanf(line, "%d %63s %63s", &idx, dev, addr) != 3)
            continue;
        if (strcmp(dev, ifname) == 0 && strcasecmp(addr, want) == 0)
            found = true;
    }
    fclose(f);
    return found;
}

/* /proc/net/mcfilter6: "%3d %6.6s %pi6 %pi6 %6lu %6lu". */
bool mt_mcfilter6_has(const char *ifname, const char *group,
                      const char *source)
{
    char wg[33], ws[33];
    mt_hex6(group, wg);
    mt_hex6(source, ws);
    FILE *f = fopen("/proc/net/mcfilter6", "r");
    cr_assert_not_null(f, "/proc/net/mcfilter6: %s", strerror(errno));
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        int idx;
        char dev[64], g[64], s[64];
        unsigned long inc, exc;
        if (sscanf(line, "%d %63s %63s %63s %lu %lu", &idx, dev, g, s, &inc,
                   &exc) != 6)
            continue;
        if (strncmp(dev, ifname, 6) == 0 && strcasecmp(g, wg) == 0 &&
            strcasecmp(s, ws) == 0 && inc > 0)
            found = true;
    }
    fclose(f);
    return found;
}

void mt_dump_membership(void)
{
    static const char *files[] = { "/proc/net/igmp", "/proc/net/mcfilter",
                                   "/proc/net/igmp6", "/proc/net/mcfilter6" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i], "r");
        if (f == NULL)
            continue;
        fprintf(stderr, "---- %s\n", files[i]);
        char line[512];
        while (fgets(line, sizeof line, f) != NULL)
            fputs(line, stderr);
        fclose(f);
    }
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                    */
/* ------------------------------------------------------------------ */

int mt_count_fds(void)
{
#ifdef _WIN32
    MT_WIN_SKIP("counting open descriptors");
#else
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d, "/proc/self/fd: %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
#endif
}

bool mt_fd_open(int fd)
{
#ifdef _WIN32 /* sockets only: a closed SOCKET answers WSAENOTSOCK */
    int type = 0, len = sizeof type;
    return getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
#else
    return fcntl(fd, F_GETFD) != -1;
#endif
}

int mt_udp_socket(int family, uint16_t port)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    int one = 1;
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    if (family == AF_INET6)
        cr_assert_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one), 0);
    if (port != 0) {
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof ss);
        if (family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            sin->sin_port = htons(port);
            sl = sizeof *sin;
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons(port);
            sl = sizeof *sin6;
        }
        cr_assert_eq(bind(fd, (struct sockaddr *)&ss, sl), 0, "bind port %u: %s",
                     port, strerror(errno));
    }
    return fd;
}

/* ------------------------------------------------------------------ */
/* LeakSanitizer                                                       */
/* ------------------------------------------------------------------ */

/* Present (from libasan/liblsan) only in sanitized builds. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

int mt_leak_check(void)
{
    if (__lsan_do_recoverable_leak_check == NULL)
        return -1;
    return __lsan_do_recoverable_leak_check();
}

int mt_udp_socket_joined4(uint16_t port, const char *group, const char *ifname)
{
    int fd = mt_udp_socket(AF_INET, port);
#ifdef _WIN32 /* ip_mreq with the interface's address */
    struct ip_mreq mr;
    mcrx_config ifc;
    cr_assert_eq(mcrx_config_parse(&ifc, "239.0.0.1", 1, NULL, ifname), MCRX_OK);
    memcpy(&mr.imr_interface, ifc.interface.addr, 4);
#else
    struct ip_mreqn mr;
    memset(&mr, 0, sizeof mr);
    mr.imr_ifindex = (int)mt_ifindex(ifname);
#endif
    cr_assert_eq(inet_pton(AF_INET, group, &mr.imr_multiaddr), 1);
    cr_assert_eq(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr), 0,
                 "extra membership of %s on %s: %s", group, ifname, strerror(errno));
    return fd;
}

uint64_t mt_add_join_socket(mcrx_ctx *ctx, const mcrx_config *cfg, int fd)
{
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add_with_socket(ctx, cfg, fd, &id), MCRX_OK);
    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    return id;
}
