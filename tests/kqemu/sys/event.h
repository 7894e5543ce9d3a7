/*
 * TEST-ONLY kevent layer over epoll ("kqueue-on-epoll (emulation)").
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Lets src/backend/kqueue/kqueue.c be compiled and run on Linux, so the
 * behavioural suite exercises the backend's own logic (harvesting, the
 * hold event, the byte-bounded read loop, attach/detach). It is never part
 * of the library, and it is not macOS: only the subset of kqueue that
 * kqueue.c uses is emulated, with these semantics:
 * - kqueue(): an epoll fd (so the context's wait object is a real fd that
 *   polls readable like a kqueue with active events).
 * - EVFILT_READ, EV_ADD / EV_DELETE: the socket in the epoll set,
 *   level-triggered; a harvested event's data is the socket's receive
 *   memory in use (SO_MEMINFO), an overestimate of the payload bytes
 *   macOS/FreeBSD report (Linux has no exact count: FIONREAD is the first
 *   datagram only). So here the read loop always ends at EAGAIN or the
 *   batch size; its early stop at the exact byte count is checked by
 *   test_kqueue_unit.c, which sets the count itself.
 * - EVFILT_USER, EV_ADD / EV_DELETE / NOTE_TRIGGER (no EV_CLEAR): an
 *   eventfd in the epoll set, readable from the trigger until deleted.
 * - close() of a kqueue fd also frees the emulation's state (the macro
 *   below: kqueue.c's own close(kq) reaches it).
 * Anything else fails with EINVAL.
 */
#ifndef MCRX_TESTS_KQEMU_SYS_EVENT_H
#define MCRX_TESTS_KQEMU_SYS_EVENT_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

struct kevent {
    uintptr_t ident;
    short filter;
    unsigned short flags;
    unsigned int fflags;
    intptr_t data;
    void *udata;
};

#define EVFILT_READ (-1)
#define EVFILT_USER (-11)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_CLEAR 0x0020
#define EV_ERROR 0x4000

#define NOTE_TRIGGER 0x01000000u

#define EV_SET(kevp, a, b, c, d, e, f) do {   \
        struct kevent *kev_ = (kevp);          \
        kev_->ident = (a);                     \
        kev_->filter = (short)(b);             \
        kev_->flags = (unsigned short)(c);     \
        kev_->fflags = (d);                    \
        kev_->data = (e);                      \
        kev_->udata = (f);                     \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
           struct kevent *eventlist, int nevents, const struct timespec *timeout);
int mcrx_kqemu_close(int fd);
#define close(fd) mcrx_kqemu_close(fd)

#endif
