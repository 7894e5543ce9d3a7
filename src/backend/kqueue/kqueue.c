/*
 * The kqueue backend (macOS, FreeBSD; readiness-based).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * How it receives: one kqueue per context holds an EVFILT_READ filter for
 * every joined socket (level-triggered: no EV_CLEAR); poll() is one kevent
 * call that harvests up to max ready sockets at once. recv() reads into the
 * next free slots of the slot ring (src/backend/common/slots.h, shared
 * with recvmmsg): with recvmmsg(MSG_DONTWAIT) on FreeBSD, and elsewhere
 * (macOS) with a recvmsg loop bounded by the byte count of the socket's
 * last event (kevent's data: bytes queued when it was harvested; XNU's
 * read filter reports the receive buffer's bytes minus its control and
 * address bytes, i.e. the payload bytes). The
 * bound saves the read that would only say EAGAIN: once the bytes the
 * event announced are read, the loop stops, and a short count still means
 * "drained" as the contract wants. An overestimate just ends at EAGAIN;
 * once the bound is used up, later calls read until EAGAIN. Fairness
 * (turns, budgets, rounds) is the core's. Data not asked for stays in the
 * socket's queue.
 *
 * Wait object: the kqueue fd, readable while any filter in it is active.
 * The readable sockets keep it so; an EVFILT_USER event covers the one
 * case they cannot: the core holds datagrams it read ahead but has not
 * delivered (service(hold)). It is triggered when that starts and deleted
 * and re-added (untriggered) when it ends, so the hot path makes no extra
 * syscall. The same model as the recvmmsg backend's epoll set + eventfd.
 */
#define _GNU_SOURCE /* struct mmsghdr in the test build on Linux; no effect on BSD */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/platform.h"
#include "backend/common/slots.h"

#define EVENTS_CAP 256
#define HOLD_IDENT 1 /* ident of the EVFILT_USER "core holds data" event */

struct mcrx_backend {
    int kq;
    bool hold_set; /* the hold event is triggered */
    struct mcrx_slots slots;
    struct kevent events[EVENTS_CAP];
};

struct mcrx_backend_sub {
    int fd;
    struct mcrx_sub *cookie;
    int64_t budget; /* bytes the last event announced, minus those read */
};

/* Apply one change; 0 or -1 with errno. */
static int change(int kq, uintptr_t ident, short filter, unsigned short flags,
                  unsigned fflags, void *udata)
{
    struct kevent ch;
    EV_SET(&ch, ident, filter, flags, fflags, 0, udata);
    return kevent(kq, &ch, 1, NULL, 0, NULL);
}

static void kq_destroy(struct mcrx_backend *b)
{
    if (b->kq >= 0)
        close(b->kq);
    mcrx_slots_free(&b->slots);
    free(b);
}

/* The context's kqueue, close-on-exec (a kqueue is never inherited by
 * fork()), with the hold event in it, untriggered. */
static int open_kqueue(void)
{
    int kq = kqueue();
    if (kq >= 0 && (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0 ||
                    change(kq, HOLD_IDENT, EVFILT_USER, EV_ADD, 0, NULL) != 0)) {
        int saved = errno;
        close(kq);
        errno = saved;
        return -1;
    }
    return kq;
}

static int kq_create(struct mcrx_backend **out, const struct mcrx_backend_params *p)
{
    struct mcrx_backend *b = calloc(1, sizeof *b);
    if (!b)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    int st = mcrx_slots_init(&b->slots, p->max_batch, p->max_payload);
    b->kq = st == MCRX_OK ? open_kqueue() : -1;
    if (st == MCRX_OK && b->kq < 0)
        st = mcrx_plat_fail(MCRX_E_WAIT);
    if (st != MCRX_OK) { /* OS error captured above */
        kq_destroy(b);
        mcrx_plat_os_error_restore();
        return st;
    }
    *out = b;
    return MCRX_OK;
}

static mcrx_wait_handle_t kq_wait_handle(const struct mcrx_backend *b) { return b->kq; }

static int kq_attach(struct mcrx_backend *b, mcrx_socket_t fd, struct mcrx_sub *cookie,
                     struct mcrx_backend_sub **out)
{
    struct mcrx_backend_sub *s = calloc(1, sizeof *s);
    if (!s)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    *s = (struct mcrx_backend_sub){.fd = fd, .cookie = cookie, .budget = 0};
    int st = change(b->kq, (uintptr_t)fd, EVFILT_READ, EV_ADD, 0, s) == 0
                 ? MCRX_OK : mcrx_plat_fail(MCRX_E_WAIT);
    if (st == MCRX_OK)
        *out = s;
    else
        free(s);
    return st;
}

static uint32_t kq_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    change(b->kq, (uintptr_t)s->fd, EVFILT_READ, EV_DELETE, 0, NULL);
    free(s);
    return 0; /* nothing is ever read ahead */
}

static void kq_release(struct mcrx_backend *b, uint64_t keep_from)
{
    mcrx_slots_release(&b->slots, keep_from);
}

static int kq_poll(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max,
                   int timeout_ms)
{
    if (max > EVENTS_CAP)
        max = EVENTS_CAP;
    struct timespec ts = {.tv_sec = timeout_ms / 1000,
                          .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    int n = kevent(b->kq, NULL, 0, b->events, (int)max, timeout_ms < 0 ? NULL : &ts);
    if (n < 0)
        return errno == EINTR ? MCRX_E_INTERRUPTED : mcrx_plat_fail(MCRX_E_WAIT);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const struct kevent *ev = &b->events[i];
        if (ev->filter != EVFILT_READ || (ev->flags & EV_ERROR))
            continue; /* the hold event: the core knows what it holds */
        struct mcrx_backend_sub *s = ev->udata;
        s->budget = (int64_t)ev->data;
        ready[k++] = s->cookie;
    }
    return k;
}

static void kq_service(struct mcrx_backend *b, bool hold)
{
    if (hold == b->hold_set)
        return;
    if (hold) {
        change(b->kq, HOLD_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, NULL);
    } else { /* a user event stays triggered until deleted (no EV_CLEAR) */
        struct kevent ch[2];
        EV_SET(&ch[0], HOLD_IDENT, EVFILT_USER, EV_DELETE, 0, 0, NULL);
        EV_SET(&ch[1], HOLD_IDENT, EVFILT_USER, EV_ADD, 0, 0, NULL);
        kevent(b->kq, ch, 2, NULL, 0, NULL);
    }
    b->hold_set = hold;
}

#if defined(__FreeBSD__)
static int read_batch(void *ctx, int fd, mcrx_slot_msg *m, unsigned n)
{
    (void)ctx;
    return (int)recvmmsg(fd, m, n, MSG_DONTWAIT, NULL);
}
#else
/* recvmsg until n datagrams or EAGAIN; while the last event's bytes are
 * not all read, also stop once they are (the bound). Without a bound (all
 * announced bytes read, and the core asks again because the last read was
 * full) data that arrived since is read until EAGAIN, so a short count
 * always means "drained as far as anything told us". */
static int read_batch(void *ctx, int fd, mcrx_slot_msg *m, unsigned n)
{
    struct mcrx_backend_sub *s = ctx;
    bool bounded = s->budget > 0;
    unsigned got = 0;
    while (got < n && (!bounded || s->budget > 0)) {
        ssize_t r = recvmsg(fd, &m[got].msg_hdr, MSG_DONTWAIT);
        if (r < 0) {
            s->budget = 0;
            if (got == 0)
                return -1;
            break; /* keep what was read; the next call sees the error */
        }
        m[got++].msg_len = (unsigned)r;
        s->budget -= r > 0 ? r : 1; /* a truncated datagram counts as read */
    }
    return (int)got;
}
#endif

static int kq_recv(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                   struct mcrx_rx *out, unsigned max)
{
    return mcrx_slots_recv(&b->slots, s->fd, read_batch, s, out, max);
}

const struct mcrx_backend_ops mcrx_backend_kqueue = {
    .name = "kqueue",
    .kind = MCRX_BACKEND_KQUEUE,
    .caps = MCRX_CAP_SOCKET_READY | MCRX_CAP_SERVICE,
    .create = kq_create,
    .destroy = kq_destroy,
    .wait_handle = kq_wait_handle,
    .attach = kq_attach,
    .detach = kq_detach,
    .release = kq_release,
    .service = kq_service,
    .poll = kq_poll,
    .recv = kq_recv,
    .held = NULL,
    .drop_events = NULL,
};
