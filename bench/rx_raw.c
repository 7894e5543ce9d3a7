/*
 * mcrx_bench reference receivers that do not use the library:
 *   raw-recvmmsg  hand-written recvmmsg loop, pktinfo, 32 per call: the
 *                 kernel-path reference (practical ceiling for a socket
 *                 receiver)
 *   naive         recvmsg per datagram with pktinfo (what people write)
 * Both: one socket per subscription (SO_REUSEADDR, IP_PKTINFO,
 * IP_MULTICAST_ALL=0, receive buffer forced, bound to the wildcard and the
 * port, IP_ADD_MEMBERSHIP on lo). With one socket the loop reads until
 * EAGAIN and only then blocks in epoll; with several it asks epoll which are
 * ready and reads each for at most 64 datagrams (a round-robin budget).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAW_SLOT 2048          /* payload bytes per slot (library default) */
#define RAW_CTRL 128           /* control bytes per datagram */
#define RAW_BUDGET 64          /* datagrams per socket per round (K > 1) */
#define NAIVE_BUF 65536

struct raw_state {
    int *fds;
    int epfd;
    struct epoll_event *evs;
    uint32_t nevs;
    uint32_t vlen;
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_in *names;
    uint8_t *bufs;
    uint8_t *ctrl;
};

static int raw_open_common(struct bench *b, uint32_t vlen, size_t slot)
{
    struct raw_state *s = calloc(1, sizeof *s);
    if (!s)
        bench_die("calloc");
    b->priv = s;
    s->vlen = vlen;
    s->fds = calloc(b->nsubs, sizeof *s->fds);
    s->nevs = b->nsubs < 1024 ? b->nsubs : 1024;
    s->evs = calloc(s->nevs, sizeof *s->evs);
    s->msgs = calloc(vlen, sizeof *s->msgs);
    s->iov = calloc(vlen, sizeof *s->iov);
    s->names = calloc(vlen, sizeof *s->names);
    s->bufs = aligned_alloc(64, (size_t)vlen * slot);
    s->ctrl = aligned_alloc(64, (size_t)vlen * RAW_CTRL);
    if (!s->fds || !s->evs || !s->msgs || !s->iov || !s->names || !s->bufs ||
        !s->ctrl)
        bench_die("calloc");
    for (uint32_t i = 0; i < vlen; i++) {
        s->iov[i].iov_base = s->bufs + (size_t)i * slot;
        s->iov[i].iov_len = slot;
        s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
        s->msgs[i].msg_hdr.msg_iovlen = 1;
        s->msgs[i].msg_hdr.msg_name = &s->names[i];
        s->msgs[i].msg_hdr.msg_namelen = sizeof s->names[i];
        s->msgs[i].msg_hdr.msg_control = s->ctrl + (size_t)i * RAW_CTRL;
        s->msgs[i].msg_hdr.msg_controllen = RAW_CTRL;
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        bench_die("epoll_create1");

    unsigned lo = if_nametoindex("lo");
    for (uint32_t i = 0; i < b->nsubs; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            bench_die("socket");
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if ((b->o.raw_cmsg & RAW_CMSG_PKTINFO) &&
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0)
            bench_die("IP_PKTINFO");
        if ((b->o.raw_cmsg & RAW_CMSG_TIMESTAMP) &&
            setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0)
            bench_die("SO_TIMESTAMPNS");
        if ((b->o.raw_cmsg & RAW_CMSG_OVFL) &&
            setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
            bench_die("SO_RXQ_OVFL");
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
        bench_set_rcvbuf(fd, b->o.rcvbuf);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(b->subs[i].port),
                                .sin_addr.s_addr = htonl(INADDR_ANY)};
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
            bench_die("bind");
        struct ip_mreqn mr = {.imr_multiaddr.s_addr = b->subs[i].group_be,
                              .imr_address.s_addr = htonl(INADDR_LOOPBACK),
                              .imr_ifindex = (int)lo};
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
            bench_die("IP_ADD_MEMBERSHIP");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            bench_die("epoll_ctl");
        s->fds[i] = fd;
    }
    return 0;
}

static int raw_open(struct bench *b)
{
    return raw_open_common(b, b->o.vlen, RAW_SLOT);
}

static int naive_open(struct bench *b)
{
    return raw_open_common(b, 1, NAIVE_BUF);
}

static int raw_fd(struct bench *b, uint32_t i)
{
    struct raw_state *s = b->priv;
    return s->fds[i];
}

static uint64_t raw_drops(struct bench *b)
{
    struct raw_state *s = b->priv;
    uint64_t d = 0;
    for (uint32_t i = 0; i < b->nsubs; i++)
        d += bench_sock_drops(s->fds[i]);
    return d;
}

static void raw_close(struct bench *b)
{
    struct raw_state *s = b->priv;
    if (!s)
        return;
    for (uint32_t i = 0; i < b->nsubs; i++)
        close(s->fds[i]);
    close(s->epfd);
    free(s->fds);
    free(s->evs);
    free(s->msgs);
    free(s->iov);
    free(s->names);
    free(s->bufs);
    free(s->ctrl);
    free(s);
    b->priv = NULL;
}

/* Destination address from IP_PKTINFO; 0 if absent. Without pktinfo
 * (--raw-cmsg none) the check is skipped: returns the group. */
static inline uint32_t pktinfo_dst(struct msghdr *mh, uint32_t group,
                                   bool want)
{
    if (!want)
        return group;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            return pi.ipi_addr.s_addr;
        }
    }
    return 0;
}

/* One recvmmsg on socket i; returns datagrams read, 0 on EAGAIN. */
static inline int raw_read(struct bench *b, struct raw_state *s, uint32_t i)
{
    bench_call(b);
    int n = recvmmsg(s->fds[i], s->msgs, s->vlen, MSG_DONTWAIT, NULL);
    if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            bench_die("recvmmsg");
        return 0;
    }
    uint32_t group = b->subs[i].group_be;
    bool pi = b->o.raw_cmsg & RAW_CMSG_PKTINFO;
    for (int k = 0; k < n; k++) {
        struct msghdr *mh = &s->msgs[k].msg_hdr;
        if (__builtin_expect(pktinfo_dst(mh, group, pi) != group, 0))
            b->bad_dst++;
        else
            bench_pkt(b, i, s->iov[k].iov_base, s->msgs[k].msg_len);
        mh->msg_controllen = RAW_CTRL;
        mh->msg_namelen = sizeof(struct sockaddr_in);
    }
    return n;
}

/* One recvmsg on socket i; 1 or 0 on EAGAIN. */
static inline int naive_read(struct bench *b, struct raw_state *s, uint32_t i)
{
    struct msghdr *mh = &s->msgs[0].msg_hdr;
    bench_call(b);
    ssize_t n = recvmsg(s->fds[i], mh, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            bench_die("recvmsg");
        return 0;
    }
    uint32_t group = b->subs[i].group_be;
    if (__builtin_expect(pktinfo_dst(mh, group,
                                     b->o.raw_cmsg & RAW_CMSG_PKTINFO) !=
                             group,
                         0))
        b->bad_dst++;
    else
        bench_pkt(b, i, s->iov[0].iov_base, (size_t)n);
    mh->msg_controllen = RAW_CTRL;
    mh->msg_namelen = sizeof(struct sockaddr_in);
    return 1;
}

#define DEFINE_RUN(NAME, READ, GREEDY_FULL)                                    \
    static int NAME(struct bench *b)                                           \
    {                                                                          \
        struct raw_state *s = b->priv;                                         \
        if (b->nsubs == 1) {                                                   \
            while (b->rx < b->target) {                                        \
                if (READ(b, s, 0) > 0)                                         \
                    continue;                                                  \
                int t = bench_idle(b);                                         \
                if (t < 0)                                                     \
                    break;                                                     \
                epoll_wait(s->epfd, s->evs, 1, t);                             \
            }                                                                  \
            return 0;                                                          \
        }                                                                      \
        int timeout = 0;                                                       \
        while (b->rx < b->target) {                                            \
            int n = epoll_wait(s->epfd, s->evs, (int)s->nevs, timeout);        \
            if (n <= 0) {                                                      \
                if (timeout == 0) {                                            \
                    int t = bench_idle(b);                                     \
                    if (t < 0)                                                 \
                        break;                                                 \
                    timeout = t;                                               \
                } else {                                                       \
                    timeout = 0;                                               \
                }                                                              \
                continue;                                                      \
            }                                                                  \
            timeout = 0;                                                       \
            for (int e = 0; e < n; e++) {                                      \
                uint32_t i = s->evs[e].data.u32;                               \
                int got = 0, r;                                                \
                do {                                                           \
                    r = READ(b, s, i);                                         \
                    got += r;                                                  \
                } while (r == GREEDY_FULL && got < RAW_BUDGET);                \
            }                                                                  \
        }                                                                      \
        return 0;                                                              \
    }

DEFINE_RUN(raw_run_impl, raw_read, (int)s->vlen)
DEFINE_RUN(naive_run_impl, naive_read, 1)

static void raw_describe(struct bench *b, char *buf, size_t len)
{
    unsigned c = b->o.raw_cmsg;
    struct raw_state *s = b->priv;
    snprintf(buf, len, "vlen=%u cmsg=%s%s%s%s", s->vlen,
             c & RAW_CMSG_PKTINFO ? "pktinfo," : "",
             c & RAW_CMSG_TIMESTAMP ? "ts," : "", c & RAW_CMSG_OVFL ? "ovfl," : "",
             c ? "" : "none");
}

const struct bench_backend bench_backend_raw_recvmmsg = {
    .name = "raw-recvmmsg",
    .open = raw_open,
    .fd = raw_fd,
    .kernel_drops = raw_drops,
    .run = raw_run_impl,
    .close = raw_close,
    .describe = raw_describe,
};

const struct bench_backend bench_backend_naive = {
    .name = "naive",
    .open = naive_open,
    .fd = raw_fd,
    .kernel_drops = raw_drops,
    .run = naive_run_impl,
    .close = raw_close,
    .describe = raw_describe,
};
