/*
 * The recvmmsg backend (Linux, readiness-based).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * How it receives: a level-triggered epoll set holds every joined socket;
 * poll() is epoll_wait. recv() reads a batch with one recvmmsg(MSG_DONTWAIT
 * | MSG_TRUNC) straight into the next free slots of the slot ring
 * (src/backend/common/slots.h, shared with the kqueue backend). Data not
 * asked for stays in the socket's kernel queue, where SO_RXQ_OVFL accounts
 * for any overflow.
 *
 * Wait object: the epoll fd. Sockets make it readable while they hold
 * data (level-triggered). An eventfd in the same set covers the one case
 * the sockets cannot: the core holds datagrams it read ahead for a turn
 * but has not delivered (service(hold)); it is written when that starts
 * and read when it ends, so the hot path makes no extra syscall.
 *
 * Coalescing (coalesce_us > 0): a blocking poll() that wakes up less than
 * coalesce_us after it began sleeps on a timerfd until then, so the
 * datagrams arriving meanwhile are read in one batch (no wake-up each).
 * A timerfd, not nanosleep: its expiry gets no timer slack (50 us by
 * default for nanosleep/poll), so the added latency stays <= coalesce_us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/platform.h"
#include "backend/common/slots.h"

#define EVENTS_CAP 256

struct mcrx_backend {
    int epfd;
    int efd;              /* "the core holds data" signal, in the epoll set */
    bool hold_set;        /* efd's counter is non-zero */
    int tfd;              /* coalescing timer, -1 without coalesce_us */
    int64_t coalesce_ns;
    struct mcrx_slots slots;
    struct epoll_event events[EVENTS_CAP];
};

struct mcrx_backend_sub {
    int fd;
    struct mcrx_sub *cookie;
};

static void rm_destroy(struct mcrx_backend *b)
{
    if (b->epfd >= 0)
        close(b->epfd);
    if (b->efd >= 0)
        close(b->efd);
    if (b->tfd >= 0)
        close(b->tfd);
    mcrx_slots_free(&b->slots);
    free(b);
}

static int rm_create(struct mcrx_backend **out, const struct mcrx_backend_params *p)
{
    struct mcrx_backend *b = calloc(1, sizeof *b);
    if (!b)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    b->efd = -1;
    b->tfd = -1;
    b->coalesce_ns = (int64_t)p->coalesce_us * 1000;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    int os_error = errno;
    b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->efd < 0)
        os_error = errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (b->epfd >= 0 && b->efd >= 0 && epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->efd, &ev) != 0) {
        os_error = errno;
        close(b->efd);
        b->efd = -1;
    }
    if (b->coalesce_ns && b->epfd >= 0 && b->efd >= 0) {
        b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        if (b->tfd < 0) {
            os_error = errno;
            close(b->efd);
            b->efd = -1;
        }
    }
    if (b->epfd < 0 || b->efd < 0) {
        rm_destroy(b);
        return mcrx_plat_fail_with(MCRX_E_WAIT, os_error);
    }
    int st = mcrx_slots_init(&b->slots, p->max_batch, p->max_payload);
    if (st != MCRX_OK) {
        rm_destroy(b);
        return st;
    }
    *out = b;
    return MCRX_OK;
}

static mcrx_wait_handle_t rm_wait_handle(const struct mcrx_backend *b) { return b->epfd; }

static int rm_attach(struct mcrx_backend *b, mcrx_socket_t fd, struct mcrx_sub *cookie,
                     struct mcrx_backend_sub **out)
{
    struct mcrx_backend_sub *s = malloc(sizeof *s);
    if (!s)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    s->fd = fd;
    s->cookie = cookie;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int st = mcrx_plat_fail(MCRX_E_WAIT);
        free(s);
        return st;
    }
    *out = s;
    return MCRX_OK;
}

static uint32_t rm_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    epoll_ctl(b->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    free(s);
    return 0; /* nothing is ever read ahead */
}

static void rm_release(struct mcrx_backend *b, uint64_t keep_from)
{
    mcrx_slots_release(&b->slots, keep_from);
}

/* Coalescing: sleep until coalesce_ns after the wait began (t0). A
 * failure or a signal only ends the sleep early. */
static void linger(struct mcrx_backend *b, int64_t t0)
{
    int64_t until = t0 + b->coalesce_ns;
    if (until - mcrx_plat_mono_ns() < 2000)
        return; /* not worth a timer */
    struct itimerspec its = {.it_value = {.tv_sec = until / 1000000000,
                                          .tv_nsec = until % 1000000000}};
    uint64_t expirations;
    if (timerfd_settime(b->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0 &&
        read(b->tfd, &expirations, sizeof expirations) < 0) {
        /* EINTR: hand out what there is */
    }
}

static int rm_poll(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max,
                   int timeout_ms)
{
    if (max > EVENTS_CAP)
        max = EVENTS_CAP;
    int64_t t0 = b->tfd >= 0 && timeout_ms != 0 ? mcrx_plat_mono_ns() : 0;
    int n = epoll_wait(b->epfd, b->events, (int)max, timeout_ms);
    if (n < 0)
        return errno == EINTR ? MCRX_E_INTERRUPTED : mcrx_plat_fail(MCRX_E_WAIT);
    if (n > 0 && t0)
        linger(b, t0);
    int k = 0;
    for (int i = 0; i < n; i++) {
        struct mcrx_backend_sub *s = b->events[i].data.ptr;
        if (s) /* NULL: the hold eventfd; the core knows what it holds */
            ready[k++] = s->cookie;
    }
    return k;
}

static void rm_service(struct mcrx_backend *b, bool hold)
{
    if (hold == b->hold_set)
        return;
    uint64_t v = 1;
    ssize_t r;
    do /* write raises the counter, read clears it */
        r = hold ? write(b->efd, &v, sizeof v) : read(b->efd, &v, sizeof v);
    while (r < 0 && errno == EINTR);
    b->hold_set = hold;
}

static int read_mmsg(void *ctx, int fd, mcrx_slot_msg *msgs, unsigned n)
{
    (void)ctx;
    return recvmmsg(fd, msgs, n, MSG_DONTWAIT | MSG_TRUNC, NULL);
}

static int rm_recv(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                   struct mcrx_rx *out, unsigned max)
{
    return mcrx_slots_recv(&b->slots, s->fd, read_mmsg, NULL, out, max);
}

const struct mcrx_backend_ops mcrx_backend_recvmmsg = {
    .name = "recvmmsg",
    .kind = MCRX_BACKEND_RECVMMSG,
    .caps = MCRX_CAP_SOCKET_READY | MCRX_CAP_SERVICE,
    .create = rm_create,
    .destroy = rm_destroy,
    .wait_handle = rm_wait_handle,
    .attach = rm_attach,
    .detach = rm_detach,
    .release = rm_release,
    .service = rm_service,
    .poll = rm_poll,
    .recv = rm_recv,
    .held = NULL,
    .drop_events = NULL,
};
