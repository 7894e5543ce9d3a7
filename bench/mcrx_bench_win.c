/*
 * mcrx_bench.exe (Windows build): the drain workload only, for the
 * library's Windows backends against a hand-written WSARecvMsg loop, in
 * interleaved rounds within one process (bench/mcrx_bench.c is POSIX).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 *   mcrx_bench drain [--count N] [--len L] [--chunk C] [--rounds R]
 *                    [--receivers iocp,wsapoll,raw-wsarecvmsg]
 *
 * Drain: a receiver joins 239.77.99.1 on 127.0.0.1; datagrams are queued
 * from a sender socket in this process, C at a time (Linux clamps the
 * receive buffer of Wine's socket to net.core.rmem_max, so a whole
 * N-datagram queue does not fit), and after each chunk the receiver
 * drains it; only the drains are timed. Receivers:
 *   iocp, wsapoll     the library (mcrx_ctx_recv_batch, 256 per call,
 *                     mcrx_ctx_wait when empty)
 *   raw-wsarecvmsg    hand-written: one non-blocking socket with
 *                     IP_PKTINFO, synchronous WSARecvMsg per datagram with
 *                     the pktinfo destination checked, WSAPoll when empty
 * Prints one line per receiver and round (Mpps), then per receiver the
 * median, min-max and the ratio of medians to raw-wsarecvmsg. Exit 1 when
 * a datagram was lost (the chunks fit the receive buffer: none should).
 * Note: the iocp backend may complete up to sub_ring_size (64) datagrams
 * of a chunk while the chunk is being sent (outside the timed drain); with
 * the default chunk of 4000 that is at most 1.6 % of a chunk.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#undef interface

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcrx/mcrx.h"

#define GROUP "239.77.99.1"
#define PORT_BASE 45900
#define MAX_RECV 8

static double now_s(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
}

static void die(const char *what)
{
    fprintf(stderr, "mcrx_bench: %s failed (error %d)\n", what, WSAGetLastError());
    exit(1);
}

struct opts {
    unsigned long count, len, chunk, rounds;
    const char *receivers[MAX_RECV];
    int nrecv;
};

static SOCKET sender_open(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    DWORD ttl = 1, loop = 1, buf = 4u << 20;
    if (s == INVALID_SOCKET || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, (char *)&ttl, sizeof ttl) != 0 ||
        setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, (char *)&loop, sizeof loop) != 0 ||
        setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, (char *)&a.sin_addr, sizeof a.sin_addr) != 0)
        die("sender socket");
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, (char *)&buf, sizeof buf);
    return s;
}

static void send_chunk(SOCKET s, uint16_t port, const char *payload, int len, unsigned long n)
{
    struct sockaddr_in d = {0};
    d.sin_family = AF_INET;
    d.sin_port = htons(port);
    inet_pton(AF_INET, GROUP, &d.sin_addr);
    for (unsigned long i = 0; i < n;) {
        if (sendto(s, payload, len, 0, (struct sockaddr *)&d, sizeof d) == len)
            i++;
        else if (WSAGetLastError() != WSAENOBUFS && WSAGetLastError() != WSAEWOULDBLOCK)
            die("sendto");
    }
}

/* ---- receiver: the library ---- */

struct lib_rx {
    mcrx_ctx *ctx;
    mcrx_packet pkts[256];
};

static void lib_open(struct lib_rx *r, const char *backend, uint16_t port)
{
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    if (mcrx_backend_parse(backend, &o.backend) != MCRX_OK ||
        mcrx_ctx_new(&r->ctx, &o) != MCRX_OK)
        die("mcrx_ctx_new");
    mcrx_config c;
    uint64_t id;
    if (mcrx_config_parse(&c, GROUP, port, NULL, "127.0.0.1") != MCRX_OK ||
        mcrx_ctx_add(r->ctx, &c, &id) != MCRX_OK || mcrx_ctx_join(r->ctx, id) != MCRX_OK)
        die("mcrx add/join");
}

static unsigned long lib_drain(struct lib_rx *r, unsigned long want)
{
    unsigned long got = 0;
    while (got < want) {
        int n = mcrx_ctx_recv_batch(r->ctx, r->pkts, 256);
        if (n < 0)
            die("mcrx_ctx_recv_batch");
        got += (unsigned long)n;
        if (n == 0 && mcrx_ctx_wait(r->ctx, 1000) == 0)
            break; /* a second without data: the rest was lost */
    }
    return got;
}

/* ---- receiver: hand-written WSARecvMsg loop ---- */

struct raw_rx {
    SOCKET s;
    LPFN_WSARECVMSG recvmsg;
    struct in_addr group;
    char payload[9216], control[128];
    struct sockaddr_in6 name;
};

static void raw_open(struct raw_rx *r, uint16_t port)
{
    r->s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    DWORD one = 1, buf = 4u << 20;
    u_long nb = 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    struct ip_mreq m;
    inet_pton(AF_INET, GROUP, &m.imr_multiaddr);
    inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
    r->group = m.imr_multiaddr;
    GUID guid = WSAID_WSARECVMSG;
    DWORD bytes;
    if (r->s == INVALID_SOCKET ||
        setsockopt(r->s, SOL_SOCKET, SO_REUSEADDR, (char *)&one, sizeof one) != 0 ||
        setsockopt(r->s, IPPROTO_IP, IP_PKTINFO, (char *)&one, sizeof one) != 0 ||
        setsockopt(r->s, SOL_SOCKET, SO_RCVBUF, (char *)&buf, sizeof buf) != 0 ||
        ioctlsocket(r->s, FIONBIO, &nb) != 0 ||
        bind(r->s, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(r->s, IPPROTO_IP, IP_ADD_MEMBERSHIP, (char *)&m, sizeof m) != 0 ||
        WSAIoctl(r->s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid,
                 &r->recvmsg, sizeof r->recvmsg, &bytes, NULL, NULL) != 0)
        die("raw socket");
}

/* The pktinfo destination is the group (what the library checks too). */
static int raw_dst_ok(const struct raw_rx *r, const WSAMSG *msg)
{
    WSACMSGHDR *c = WSA_CMSG_FIRSTHDR(msg);
    for (; c; c = WSA_CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            IN_PKTINFO pi;
            memcpy(&pi, WSA_CMSG_DATA(c), sizeof pi);
            return pi.ipi_addr.s_addr == r->group.s_addr;
        }
    }
    return 0;
}

static unsigned long raw_drain(struct raw_rx *r, unsigned long want)
{
    unsigned long got = 0;
    while (got < want) {
        WSABUF b = {sizeof r->payload, r->payload};
        WSAMSG msg = {(LPSOCKADDR)&r->name, sizeof r->name, &b, 1,
                      {sizeof r->control, r->control}, 0};
        DWORD n = 0;
        if (r->recvmsg(r->s, &msg, &n, NULL, NULL) == 0) {
            got += (unsigned long)raw_dst_ok(r, &msg);
            continue;
        }
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            die("WSARecvMsg");
        WSAPOLLFD p = {r->s, POLLRDNORM, 0};
        if (WSAPoll(&p, 1, 1000) == 0)
            break;
    }
    return got;
}

/* ---- rounds ---- */

static double run_one(const struct opts *o, const char *rx, unsigned round, int k,
                      unsigned long *lost)
{
    uint16_t port = (uint16_t)(PORT_BASE + round * MAX_RECV + (unsigned)k);
    bool raw = strcmp(rx, "raw-wsarecvmsg") == 0;
    static struct lib_rx lr;
    static struct raw_rx rr;
    if (raw)
        raw_open(&rr, port);
    else
        lib_open(&lr, rx, port);
    SOCKET tx = sender_open();
    char *payload = calloc(1, o->len ? o->len : 1);
    double busy = 0;
    unsigned long done = 0, got = 0;
    while (done < o->count) {
        unsigned long n = o->count - done < o->chunk ? o->count - done : o->chunk;
        send_chunk(tx, port, payload, (int)o->len, n);
        double t0 = now_s();
        got += raw ? raw_drain(&rr, n) : lib_drain(&lr, n);
        busy += now_s() - t0;
        done += n;
    }
    *lost = done - got;
    free(payload);
    closesocket(tx);
    if (raw)
        closesocket(rr.s);
    else
        mcrx_ctx_free(lr.ctx);
    return (double)got / busy / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void parse(int argc, char **argv, struct opts *o)
{
    static char list[256] = "iocp,raw-wsarecvmsg";
    o->count = 200000;
    o->len = 64;
    o->chunk = 4000;
    o->rounds = 3;
    if (argc < 2 || strcmp(argv[1], "drain") != 0) {
        fprintf(stderr, "usage: mcrx_bench drain [--count N] [--len L] [--chunk C] "
                        "[--rounds R] [--receivers iocp,wsapoll,raw-wsarecvmsg]\n");
        exit(2);
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--count")) o->count = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--len")) o->len = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--chunk")) o->chunk = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rounds")) o->rounds = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--receivers")) snprintf(list, sizeof list, "%s", argv[i + 1]);
        else { fprintf(stderr, "mcrx_bench: unknown option %s\n", argv[i]); exit(2); }
    }
    if (!o->count || !o->chunk || !o->rounds || o->rounds > 50 || o->len > 9216) {
        fprintf(stderr, "mcrx_bench: bad option value\n");
        exit(2);
    }
    for (char *t = strtok(list, ","); t && o->nrecv < MAX_RECV; t = strtok(NULL, ","))
        o->receivers[o->nrecv++] = t;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    parse(argc, argv, &o);
    /* It joins and sends multicast: only inside scripts/mcrx-netns (run it
     * there through scripts/mcrx-wine, so the wineserver is there too). */
    const char *ready = getenv("MCRX_NETNS_READY");
    if (!ready || strcmp(ready, "1") != 0) {
        fprintf(stderr, "mcrx_bench: refusing to run: MCRX_NETNS_READY is not 1 "
                        "(run: scripts/mcrx-netns scripts/mcrx-wine mcrx_bench.exe ...)\n");
        return 3;
    }
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d);
    static double mpps[MAX_RECV][50];
    unsigned long lost_total = 0;
    printf("drain: %lu datagrams of %lu bytes, chunks of %lu, %lu interleaved rounds\n",
           o.count, o.len, o.chunk, o.rounds);
    for (unsigned r = 0; r < o.rounds; r++) {
        for (int k = 0; k < o.nrecv; k++) {
            unsigned long lost = 0;
            mpps[k][r] = run_one(&o, o.receivers[k], r, k, &lost);
            lost_total += lost;
            printf("round %u %-15s %.4f Mpps lost %lu\n", r + 1, o.receivers[k],
                   mpps[k][r], lost);
            fflush(stdout);
        }
    }
    double ref = 0;
    for (int k = 0; k < o.nrecv; k++)
        if (!strcmp(o.receivers[k], "raw-wsarecvmsg")) {
            double s[50];
            memcpy(s, mpps[k], o.rounds * sizeof s[0]);
            qsort(s, o.rounds, sizeof s[0], cmp_d);
            ref = s[o.rounds / 2];
        }
    for (int k = 0; k < o.nrecv; k++) {
        double s[50];
        memcpy(s, mpps[k], o.rounds * sizeof s[0]);
        qsort(s, o.rounds, sizeof s[0], cmp_d);
        printf("%-15s median %.4f Mpps  min-max %.4f-%.4f", o.receivers[k],
               s[o.rounds / 2], s[0], s[o.rounds - 1]);
        if (ref > 0)
            printf("  ratio to raw-wsarecvmsg %.3f (min-max of per-round ratios ",
                   s[o.rounds / 2] / ref);
        if (ref > 0) {
            int raw = 0;
            for (int j = 0; j < o.nrecv; j++)
                if (!strcmp(o.receivers[j], "raw-wsarecvmsg"))
                    raw = j;
            double q[50];
            for (unsigned r = 0; r < o.rounds; r++)
                q[r] = mpps[k][r] / mpps[raw][r];
            qsort(q, o.rounds, sizeof q[0], cmp_d);
            printf("%.3f-%.3f, median %.3f)", q[0], q[o.rounds - 1], q[o.rounds / 2]);
        }
        printf("\n");
    }
    return lost_total ? 1 : 0; /* every datagram must be accounted for */
}
