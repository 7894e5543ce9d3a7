/*
 * TEST-ONLY kevent layer over epoll; see sys/event.h next to this file for
 * what is emulated and how. Never linked into the library.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>

#include "sys/event.h"
#undef close /* the real one, here */

struct knote {
    uintptr_t ident;
    short filter;
    void *udata;
    int efd; /* EVFILT_USER: its eventfd */
    struct knote *next;
};

struct kq {
    int epfd;
    struct knote *notes;
    struct kq *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kq *kqs;

static struct kq *find_kq(int fd)
{
    struct kq *q = kqs;
    while (q && q->epfd != fd)
        q = q->next;
    return q;
}

static struct knote **find_note(struct kq *q, uintptr_t ident, short filter)
{
    struct knote **p = &q->notes;
    while (*p && ((*p)->ident != ident || (*p)->filter != filter))
        p = &(*p)->next;
    return p;
}

static void free_note(struct kq *q, struct knote **p)
{
    struct knote *n = *p;
    int fd = n->filter == EVFILT_USER ? n->efd : (int)n->ident;
    epoll_ctl(q->epfd, EPOLL_CTL_DEL, fd, NULL); /* may be closed already */
    if (n->filter == EVFILT_USER)
        close(n->efd);
    *p = n->next;
    free(n);
}

int kqueue(void)
{
    struct kq *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (q->epfd < 0) {
        free(q);
        return -1;
    }
    pthread_mutex_lock(&lock);
    q->next = kqs;
    kqs = q;
    pthread_mutex_unlock(&lock);
    return q->epfd;
}

int mcrx_kqemu_close(int fd)
{
    pthread_mutex_lock(&lock);
    for (struct kq **p = &kqs; *p; p = &(*p)->next) {
        if ((*p)->epfd != fd)
            continue;
        struct kq *q = *p;
        while (q->notes)
            free_note(q, &q->notes);
        *p = q->next;
        free(q);
        break;
    }
    pthread_mutex_unlock(&lock);
    return close(fd);
}

/* Add (or re-point) a note watching fd; 0 or an errno value. */
static int add_note(struct kq *q, const struct kevent *ch, int fd)
{
    struct knote **p = find_note(q, ch->ident, ch->filter);
    struct knote *n = *p;
    if (!n && !(n = calloc(1, sizeof *n)))
        return ENOMEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = n};
    int rc = *p ? epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &ev) : -1;
    if (rc != 0) /* new, or its fd was closed and reused */
        rc = epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0) {
        int e = errno;
        if (!*p)
            free(n);
        return e;
    }
    n->ident = ch->ident;
    n->filter = ch->filter;
    n->udata = ch->udata;
    if (!*p)
        *p = n;
    return 0;
}

static int apply_user(struct kq *q, const struct kevent *ch)
{
    struct knote **p = find_note(q, ch->ident, EVFILT_USER);
    if (ch->flags & EV_DELETE) {
        if (!*p)
            return ENOENT;
        free_note(q, p);
        return 0;
    }
    if ((ch->flags & EV_ADD) && !*p) {
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
            return errno;
        int e = add_note(q, ch, efd);
        if (e) {
            close(efd);
            return e;
        }
        (*find_note(q, ch->ident, EVFILT_USER))->efd = efd;
    }
    if (!*p)
        return ENOENT;
    if (ch->fflags & NOTE_TRIGGER) {
        uint64_t one = 1;
        if (write((*p)->efd, &one, sizeof one) != sizeof one)
            return errno;
    }
    return 0;
}

static int apply(struct kq *q, const struct kevent *ch)
{
    if (ch->flags & ~(EV_ADD | EV_DELETE))
        return EINVAL; /* EV_CLEAR and the rest: not emulated */
    if (ch->filter == EVFILT_USER)
        return apply_user(q, ch);
    if (ch->filter != EVFILT_READ)
        return EINVAL;
    if (ch->flags & EV_DELETE) {
        struct knote **p = find_note(q, ch->ident, EVFILT_READ);
        if (!*p)
            return ENOENT;
        free_note(q, p);
        return 0;
    }
    return ch->flags & EV_ADD ? add_note(q, ch, (int)ch->ident) : EINVAL;
}

#define WAIT_CAP 512

/* What EVFILT_READ's data says here: the socket's receive memory in use
 * (SO_MEMINFO), which is at least the payload bytes queued. Linux has no
 * exact count of them (FIONREAD is the first datagram only), so this is an
 * overestimate: the backend's read loop ends at EAGAIN, never early. */
static intptr_t queued_bytes(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof mem;
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0)
        return 0;
    return (intptr_t)mem[SK_MEMINFO_RMEM_ALLOC];
}

int kevent(int kqfd, const struct kevent *changelist, int nchanges,
           struct kevent *eventlist, int nevents, const struct timespec *timeout)
{
    pthread_mutex_lock(&lock);
    struct kq *q = find_kq(kqfd);
    int e = q ? 0 : EBADF;
    for (int i = 0; i < nchanges && !e; i++)
        e = apply(q, &changelist[i]);
    pthread_mutex_unlock(&lock);
    if (e) {
        errno = e;
        return -1;
    }
    if (nevents <= 0)
        return 0;
    struct epoll_event evs[WAIT_CAP];
    int ms = !timeout ? -1
           : (int)(timeout->tv_sec * 1000 + (timeout->tv_nsec + 999999) / 1000000);
    int n = epoll_wait(kqfd, evs, nevents < WAIT_CAP ? nevents : WAIT_CAP, ms);
    for (int i = 0; i < n; i++) {
        const struct knote *k = evs[i].data.ptr;
        EV_SET(&eventlist[i], k->ident, k->filter, 0, 0,
               k->filter == EVFILT_READ ? queued_bytes((int)k->ident) : 0, k->udata);
    }
    return n;
}
