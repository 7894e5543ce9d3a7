/*
 * epoll_loop: mcrx-core inside your own epoll loop.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 *   epoll_loop GROUP PORT COUNT [TIMEOUT_MS]
 *
 * Joins GROUP:PORT (ASM), prints "ready", then waits on its own epoll set,
 * where the context's descriptor (mcrx_ctx_fd()) sits beside whatever else
 * the program watches (here: a timerfd that ends the run). Prints
 * "received N wakeups W spurious S" and exits 0 once COUNT datagrams
 * arrived, 1 at the timeout (default 10 s). MCRX_BACKEND picks the
 * backend, as for the tools.
 *
 * The rules (docs/usage.md, "Event loops"):
 * 1. The descriptor is level-triggered readiness: register it with EPOLLIN,
 *    without EPOLLET, and never read or close it.
 * 2. On a wake-up, call mcrx_ctx_recv_batch() until it returns fewer
 *    packets than asked: that is "drained". Stopping earlier (a budget, to
 *    be fair to other work) is fine: the descriptor stays readable while
 *    the library holds data; here the loop just polls without blocking
 *    while it knows work is left.
 * 3. A wake-up whose first call returns 0 is spurious (the library checked
 *    and found nothing, e.g. a datagram filtered out); just wait again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <mcrx/mcrx.h>

#define BATCH 64
#define BUDGET 1024 /* packets per wake-up before other work gets a turn */

static mcrx_ctx *join(const char *group, unsigned port)
{
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    const char *be = getenv("MCRX_BACKEND");
    if (be && *be && mcrx_backend_parse(be, &o.backend) != MCRX_OK)
        return NULL;
    mcrx_ctx *ctx;
    mcrx_config cfg;
    uint64_t id;
    if (mcrx_ctx_new(&ctx, &o) != MCRX_OK)
        return NULL;
    int rc = mcrx_config_parse(&cfg, group, (uint16_t)port, NULL, NULL);
    if (rc == MCRX_OK)
        rc = mcrx_ctx_add(ctx, &cfg, &id);
    if (rc == MCRX_OK)
        rc = mcrx_ctx_join(ctx, id);
    if (rc != MCRX_OK) {
        fprintf(stderr, "%s:%u: %s\n", group, port, mcrx_strerror(rc));
        mcrx_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Rule 2: drain, at most BUDGET packets. Returns the packets received, or
 * a negative status. *more is set when the budget ran out first. */
static long drain(mcrx_ctx *ctx, int *more)
{
    mcrx_packet pkts[BATCH];
    long total = 0;
    *more = 0;
    for (;;) {
        int n = mcrx_ctx_recv_batch(ctx, pkts, BATCH);
        if (n < 0)
            return n;
        /* ... use pkts[0..n) here: the views expire at the next call ... */
        total += n;
        if (n < BATCH)
            return total;
        if (total >= BUDGET) {
            *more = 1;
            return total;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s GROUP PORT COUNT [TIMEOUT_MS]\n", argv[0]);
        return 2;
    }
    long want = atol(argv[3]);
    int timeout_ms = argc > 4 ? atoi(argv[4]) : 10000;
    mcrx_ctx *ctx = join(argv[1], (unsigned)atoi(argv[2]));
    if (!ctx)
        return 1;

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {.it_value = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L}};
    timerfd_settime(tfd, 0, &its, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = mcrx_ctx_fd(ctx)};
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev); /* rule 1: level, no ET */
    ev.data.fd = tfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    printf("ready\n");
    fflush(stdout);

    long got = 0, wakeups = 0, spurious = 0;
    int more = 0, timed_out = 0, rc = 0;
    while (got < want && !timed_out) {
        struct epoll_event evs[4];
        /* with work left over, only look (timeout 0): rule 2 */
        int n = epoll_wait(ep, evs, 4, more ? 0 : -1);
        if (n < 0 && errno == EINTR)
            continue;
        int ctx_ready = more;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == tfd)
                timed_out = 1;
            else
                ctx_ready = 1;
        }
        if (!ctx_ready)
            continue;
        wakeups++;
        long r = drain(ctx, &more);
        if (r < 0) {
            fprintf(stderr, "receive: %s\n", mcrx_strerror((int)r));
            rc = 1;
            break;
        }
        if (r == 0)
            spurious++; /* rule 3 */
        got += r;
    }
    printf("received %ld wakeups %ld spurious %ld\n", got, wakeups, spurious);
    close(tfd);
    close(ep);
    mcrx_ctx_free(ctx);
    return rc ? rc : (got >= want ? 0 : 1);
}
