/*
 * The wsapoll backend (Windows, readiness-based).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Why it exists: a socket bound to an I/O completion port stays bound to
 * it, so a subscription extracted from an IOCP context (mcrx_ctx_take)
 * cannot move to another port. It gets a receiver of this backend instead:
 * readiness from WSAPoll, and synchronous (non-overlapped) WSARecvMsg on
 * the non-blocking socket, which Windows allows on a port-bound socket (no
 * completion is queued for a call without an OVERLAPPED; checked under
 * Wine 8 by tests/test_take.c). Its socket's readability means what it
 * says, so mcrx_sub_fd() can go into any WSAPoll/select loop
 * (MCRX_CAP_SOCKET_READY). It also serves as a context backend
 * (MCRX_BACKEND_WSAPOLL; the fallback when IOCP cannot be set up).
 *
 * recv() reads one datagram per WSARecvMsg (Windows has no recvmmsg) into
 * the next free slot of a ring of max_batch slots (record n in slot
 * n % max_batch), handed out as views and released in order. A second WSABUF (a scratch
 * area, never read) gives each read 64 KiB in all, so the byte count is
 * the datagram's real length (wire_len) and len is cut at max_payload.
 *
 * Wait object: a manual-reset event, given to every socket with
 * WSAEventSelect(FD_READ). service() settles it: set while a socket is
 * readable (one WSAPoll without waiting) or the core holds read-ahead
 * records; otherwise reset. FD_READ is re-armed by each read, so data
 * that arrives after the check sets it again.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "platform/windows/plat.h"

#define WIRE_MAX 65536u

union control_buf {
    char buf[MCRX_PLAT_CONTROL_LEN];
    WSACMSGHDR align;
};

struct mcrx_backend_sub {
    SOCKET fd;
    struct mcrx_sub *cookie;
    LPFN_WSARECVMSG recvmsg;
    uint32_t at; /* index in b->pfds / b->subs */
};

struct mcrx_backend {
    HANDLE event;
    uint32_t nslots;      /* max_batch */
    uint64_t head;        /* number of the next record handed out; record
                             n lives in slot n % nslots */
    uint64_t tail;        /* oldest record still valid */
    uint32_t max_payload;
    uint8_t *payload;     /* nslots * max_payload */
    uint8_t *scratch;     /* WIRE_MAX - max_payload, never read */
    struct sockaddr_in6 *names;
    union control_buf *controls;
    WSAPOLLFD *pfds;
    struct mcrx_backend_sub **subs;
    uint32_t n, cap;
    uint32_t scan;        /* where poll() starts reporting (rotates) */
    HANDLE linger_timer;  /* coalescing (coalesce_us), else NULL */
    int64_t coalesce_ns;
};

static void wp_destroy(struct mcrx_backend *b)
{
    if (b->event)
        CloseHandle(b->event);
    if (b->linger_timer)
        CloseHandle(b->linger_timer);
    free(b->payload);
    free(b->scratch);
    free(b->names);
    free(b->controls);
    free(b->pfds);
    free(b->subs);
    mcrx_win_backend_free(b);
}

static int wp_create(struct mcrx_backend **out, const struct mcrx_backend_params *p)
{
    int st;
    struct mcrx_backend *b = mcrx_win_backend_alloc(sizeof *b, &st);
    if (!b)
        return st;
    b->nslots = p->max_batch;
    b->max_payload = p->max_payload;
    b->coalesce_ns = (int64_t)p->coalesce_us * 1000;
    b->linger_timer = mcrx_win_linger_timer(b->coalesce_ns);
    b->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    int os_error = (int)GetLastError();
    b->payload = malloc((size_t)b->nslots * b->max_payload);
    b->scratch = b->max_payload < WIRE_MAX ? malloc(WIRE_MAX - b->max_payload) : NULL;
    b->names = calloc(b->nslots, sizeof *b->names);
    b->controls = calloc(b->nslots, sizeof *b->controls);
    if (!b->event || !b->payload || !b->names || !b->controls ||
        (b->max_payload < WIRE_MAX && !b->scratch)) {
        st = !b->event ? mcrx_plat_fail_with(MCRX_E_WAIT, os_error)
                       : mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
        wp_destroy(b);
        return st;
    }
    *out = b;
    return MCRX_OK;
}

static mcrx_wait_handle_t wp_wait_handle(const struct mcrx_backend *b) { return b->event; }

static int wp_attach(struct mcrx_backend *b, mcrx_socket_t fd, struct mcrx_sub *cookie,
                     struct mcrx_backend_sub **out)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 8;
        WSAPOLLFD *p = realloc(b->pfds, cap * sizeof *p);
        if (p)
            b->pfds = p;
        struct mcrx_backend_sub **s = p ? realloc(b->subs, cap * sizeof *s) : NULL;
        if (!s)
            return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
        b->subs = s;
        b->cap = cap;
    }
    struct mcrx_backend_sub *s = calloc(1, sizeof *s);
    if (!s)
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
    GUID guid = WSAID_WSARECVMSG;
    DWORD bytes = 0;
    if (WSAIoctl(fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid,
                 &s->recvmsg, sizeof s->recvmsg, &bytes, NULL, NULL) != 0 ||
        WSAEventSelect(fd, b->event, FD_READ) != 0) {
        int st = mcrx_plat_fail_with(MCRX_E_WAIT, WSAGetLastError());
        free(s);
        return st;
    }
    s->fd = fd;
    s->cookie = cookie;
    s->at = b->n++;
    b->pfds[s->at].fd = fd;
    b->pfds[s->at].events = POLLRDNORM;
    b->pfds[s->at].revents = 0;
    b->subs[s->at] = s;
    *out = s;
    return MCRX_OK;
}

static uint32_t wp_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    WSAEventSelect(s->fd, NULL, 0);
    uint32_t last = --b->n;
    if (s->at != last) {
        b->pfds[s->at] = b->pfds[last];
        b->subs[s->at] = b->subs[last];
        b->subs[s->at]->at = s->at;
    }
    free(s);
    return 0; /* nothing is ever read ahead */
}

static void wp_release(struct mcrx_backend *b, uint64_t keep_from)
{
    b->tail = keep_from; /* one datagram per read: any free slot will do */
}

/* WSAPoll without waiting (or up to timeout_ms); count of ready sockets. */
static int poll_sockets(struct mcrx_backend *b, int timeout_ms)
{
    if (b->n == 0) {
        if (timeout_ms != 0)
            WaitForSingleObject(b->event, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        return 0;
    }
    int n = WSAPoll(b->pfds, b->n, timeout_ms);
    return n >= 0 ? n : mcrx_plat_fail(MCRX_E_WAIT);
}

static int wp_poll(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max,
                   int timeout_ms)
{
    int64_t t0 = b->linger_timer && timeout_ms != 0 ? mcrx_plat_mono_ns() : 0;
    int n = poll_sockets(b, timeout_ms);
    if (n <= 0)
        return n;
    if (t0) { /* coalescing: let more arrive, then look again */
        mcrx_win_linger(b->linger_timer, t0, b->coalesce_ns);
        if ((n = poll_sockets(b, 0)) <= 0)
            return n;
    }
    /* Start where the last report stopped, so with more ready sockets
     * than max the next poll reports the others (as epoll rotates). */
    unsigned k = 0;
    uint32_t i = b->scan < b->n ? b->scan : 0;
    for (uint32_t seen = 0; seen < b->n && k < max; seen++, i = (i + 1) % b->n)
        if (b->pfds[i].revents)
            ready[k++] = b->subs[i]->cookie;
    b->scan = i;
    return (int)k;
}

static void wp_service(struct mcrx_backend *b, bool hold)
{
    ResetEvent(b->event);
    if (hold || poll_sockets(b, 0) > 0)
        SetEvent(b->event);
}

/* One synchronous WSARecvMsg into slot i: 1, 0 (nothing queued) or a
 * negative status. */
static int read_one(struct mcrx_backend *b, struct mcrx_backend_sub *s, uint32_t i,
                    struct mcrx_rx *rx)
{
    uint8_t *payload = b->payload + (size_t)i * b->max_payload;
    WSABUF bufs[2] = {{b->max_payload, (char *)payload},
                      {b->scratch ? WIRE_MAX - b->max_payload : 0, (char *)b->scratch}};
    WSAMSG msg = {(LPSOCKADDR)&b->names[i], sizeof b->names[i], bufs,
                  b->scratch ? 2 : 1, {MCRX_PLAT_CONTROL_LEN, b->controls[i].buf}, 0};
    DWORD bytes = 0;
    if (s->recvmsg(s->fd, &msg, &bytes, NULL, NULL) != 0) {
        int err = WSAGetLastError();
        if (err == WSAEWOULDBLOCK || err == WSAECONNRESET)
            return 0; /* ECONNRESET: an ICMP error of an earlier send */
        if (err != WSAEMSGSIZE)
            return mcrx_plat_fail_with(MCRX_E_RECV, err);
        msg.dwFlags |= MSG_TRUNC; /* longer than payload + scratch */
    }
    mcrx_plat_parse_rx(msg.name, (uint32_t)msg.namelen, msg.Control.buf,
                       msg.Control.len, (int)msg.dwFlags, rx);
    rx->payload = payload;
    rx->wire_len = bytes;
    rx->len = bytes < b->max_payload ? bytes : b->max_payload;
    if (bytes > b->max_payload)
        rx->flags |= MCRX_RX_TRUNC;
    return 1;
}

static int wp_recv(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                   struct mcrx_rx *out, unsigned max)
{
    unsigned room = b->nslots - (unsigned)(b->head - b->tail);
    unsigned n = max < room ? max : room, got = 0;
    while (got < n) {
        uint32_t i = (uint32_t)(b->head % b->nslots);
        int r = read_one(b, s, i, &out[got]);
        if (r < 0 && got == 0)
            return r;
        if (r <= 0)
            break;
        b->head++;
        got++;
    }
    return (int)got;
}

const struct mcrx_backend_ops mcrx_backend_wsapoll = {
    .name = "wsapoll",
    .kind = MCRX_BACKEND_WSAPOLL,
    .caps = MCRX_CAP_SOCKET_READY | MCRX_CAP_SERVICE,
    .create = wp_create,
    .destroy = wp_destroy,
    .wait_handle = wp_wait_handle,
    .attach = wp_attach,
    .detach = wp_detach,
    .release = wp_release,
    .service = wp_service,
    .poll = wp_poll,
    .recv = wp_recv,
    .held = NULL,
    .drop_events = NULL,
};
