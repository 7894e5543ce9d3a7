/*
 * The IOCP backend (Windows, completion-based).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * How it receives
 * ---------------
 * One I/O completion port per backend instance (per context). Every
 * attached (joined) subscription gets a ring of sub_ring_size buffers, each
 * with its own OVERLAPPED, WSAMSG, source-name and control area. When a
 * buffer is to be given to the kernel, the backend first reads what the
 * socket already holds into it (WSARecvMsg without an OVERLAPPED: the
 * socket is non-blocking); once the socket is empty and none of its
 * receives is posted any more, the buffers left get a WSARecvMsg posted on
 * the port (the function is obtained through
 * SIO_GET_EXTENSION_FUNCTION_POINTER). So a queue that is already there
 * costs one call per datagram, as a plain receive loop, with no event
 * signalling, completion packet or dequeue per datagram (under Wine 8 that
 * halved the drain rate), and datagrams that arrive while nobody reads
 * complete into posted buffers (up to sub_ring_size of them; the rest
 * waits in the socket's queue, as with a readiness backend). A flooded subscription can only fill its
 * own buffers, so it never starves the others of buffers; the core's
 * deficit round robin does the rest.
 *
 * Buffer states. Every buffer of a sub is in exactly one state:
 *   kernel  - a WSARecvMsg is posted on it (in_kernel counts them)
 *   pending - its completion was harvested; FIFO per sub, waits for recv()
 *   handed  - handed out by recv() as a view, numbered; valid until
 *             release() passes its number
 *   spare   - ours, to be read into or posted by the next service() or
 *             poll() (see post_spares())
 * GetQueuedCompletionStatusEx harvests completions in batches (poll(), and
 * recv() when the sub has fewer pending than asked): kernel -> pending.
 * recv(): pending -> handed. release(): handed -> spare. service() reads
 * into or posts the spare buffers before the receive call returns, so
 * re-posting never waits for the application's next call. poll() does too
 * before it blocks (a wait right after a release must not sleep with the
 * buffers unposted).
 *
 * Datagram length: Windows reports no "real length" of a cut datagram, so
 * each receive gets a second WSABUF after the payload: a scratch area,
 * shared by all buffers of the instance and never read, that makes the
 * buffer 64 KiB long in all. The byte count of a completion is then the
 * datagram's real length (wire_len); len is cut at max_payload.
 *
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on each socket (when the
 * system accepts it): a receive posted just as a datagram arrives
 * completes at once, with no completion packet. Order: the stack hands
 * datagrams to a socket's receives in the order they were issued (posted
 * or synchronous: a synchronous read finds data only when no posted
 * receive is waiting), so each gets a number (pseq) and the pending FIFO
 * is kept sorted by it; after a pass that read or completed anything at
 * once, the port is harvested before anything is handed out, so the
 * completion of an earlier receive (queued on the port before the later
 * read was issued) cannot be overtaken. No receive posted on the port
 * (kernel_total 0): no dequeue at all.
 *
 * Wait object: a manual-reset event set in every OVERLAPPED.hEvent, so the
 * stack signals it whenever a posted receive completes (completions still
 * go to the port; synchronous reads do not touch it). Posting a receive
 * resets it (the I/O manager resets hEvent when an operation starts), so
 * service() settles it after posting (SetEvent only when it is not known
 * to be set already):
 * signalled while a sub has harvested datagrams, the core holds read-ahead
 * records (hold), a sub has nothing posted because all its buffers are out
 * as views, or an error waits to be reported; otherwise it resets the
 * event and harvests once more, so a completion that came in before the
 * reset is not lost (it is harvested, and the event set again).
 *
 * Detach: CancelIoEx on the socket, then completions are harvested (those
 * of other subs are queued for them as usual) until the sub has no receive
 * left in the kernel; datagrams that completed meanwhile are counted with
 * the harvested ones as read but never handed out. Buffers handed out in
 * the current call stay allocated until the next release().
 *
 * A socket stays bound to the first port it was associated with (Windows
 * cannot undo that): a leave + join on the same context re-uses the
 * association; a socket associated with some other port is refused
 * (MCRX_E_WAIT, ERROR_INVALID_PARAMETER). Extracted subscriptions (take)
 * are served by the wsapoll backend, with synchronous reads.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "platform/windows/plat.h"

#define HARVEST_CAP 256u
#define WIRE_MAX 65536u /* payload + scratch: any UDP datagram fits */
#define DETACH_WAIT_MS 10000u

union control_buf {
    char buf[MCRX_PLAT_CONTROL_LEN];
    WSACMSGHDR align;
};

struct slot {
    OVERLAPPED ov; /* first member: a completion's OVERLAPPED is the slot */
    struct mcrx_backend_sub *sub;
    WSAMSG msg;
    WSABUF bufs[2]; /* payload, then the shared scratch area */
    struct sockaddr_in6 name;
    union control_buf control;
    DWORD bytes;
    uint64_t pseq; /* post number within the sub: datagram order */
};

/* A FIFO of buffer indexes (capacity = the sub's ring size). */
struct fifo {
    uint32_t *idx;
    uint64_t *seq; /* handed FIFO only: record numbers */
    uint32_t head, count;
};

struct mcrx_backend_sub {
    struct mcrx_backend *b;
    struct mcrx_sub *cookie;
    SOCKET fd;
    LPFN_WSARECVMSG recvmsg;
    uint32_t nbufs;
    struct slot *slots;
    uint8_t *mem;          /* nbufs * max_payload */
    uint32_t in_kernel;
    struct fifo pending, handed;
    uint32_t *spare;
    uint32_t s_count;
    int err;               /* WSA error of a failed receive, for recv() */
    uint64_t next_pseq;    /* number of the next post */
    bool skip;             /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is on */
    bool detaching;
    bool listed;           /* in b's not-yet-reported ready list */
    bool dirty;            /* in b's list of subs with handed buffers */
    bool to_post;          /* in b's list of subs with spare buffers */
    struct mcrx_backend_sub *next_ready, *next_dirty, *next_post, *next_zombie;
};

struct mcrx_backend {
    HANDLE port;
    HANDLE event;
    uint8_t *scratch;
    uint32_t max_payload;
    uint32_t ring;
    uint64_t seq;               /* number of the next record handed out */
    uint64_t pending_total;     /* harvested, not handed out (all subs) */
    uint64_t kernel_total;      /* receives posted on the port (all subs):
                                   0 = no completion can come, no dequeue */
    bool event_set;             /* we set the event, and no post reset it */
    HANDLE linger_timer;        /* coalescing (coalesce_us), else NULL */
    int64_t coalesce_ns;
    struct mcrx_backend_sub *ready, *ready_tail;
    struct mcrx_backend_sub *dirty, *post, *zombies;
    SOCKET *assoc;              /* sockets associated with this port */
    size_t n_assoc, cap_assoc;
    OVERLAPPED_ENTRY entries[HARVEST_CAP];
};

/* ---- small lists ---- */

static void fifo_push(struct fifo *f, uint32_t n, uint32_t i, uint64_t seq)
{
    uint32_t at = (f->head + f->count++) % n;
    f->idx[at] = i;
    if (f->seq)
        f->seq[at] = seq;
}

/* Pending FIFO: append slot i of s, then move it ahead of any later post
 * (an inline completion can come after an earlier one was queued). */
static void pending_push(struct mcrx_backend_sub *s, uint32_t i)
{
    struct fifo *f = &s->pending;
    uint32_t n = s->nbufs, at = (f->head + f->count++) % n;
    while (at != f->head) {
        uint32_t prev = (at + n - 1) % n;
        if (s->slots[f->idx[prev]].pseq < s->slots[i].pseq)
            break;
        f->idx[at] = f->idx[prev];
        at = prev;
    }
    f->idx[at] = i;
}

static uint32_t fifo_pop(struct fifo *f, uint32_t n)
{
    uint32_t i = f->idx[f->head];
    f->head = (f->head + 1) % n;
    f->count--;
    return i;
}

static void list_ready(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    if (s->listed || s->detaching)
        return;
    s->listed = true;
    s->next_ready = NULL;
    if (b->ready_tail)
        b->ready_tail->next_ready = s;
    else
        b->ready = s;
    b->ready_tail = s;
}

static void unlist_ready(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    struct mcrx_backend_sub **pp = &b->ready, *prev = NULL;
    while (*pp && *pp != s) {
        prev = *pp;
        pp = &(*pp)->next_ready;
    }
    if (*pp) {
        *pp = s->next_ready;
        if (b->ready_tail == s)
            b->ready_tail = prev;
    }
    s->listed = false;
}

/* Remove s from a singly linked list threaded through field `next`. */
#define UNLINK(head, s, next)                                  \
    do {                                                       \
        struct mcrx_backend_sub **pp_ = &(head);               \
        while (*pp_ && *pp_ != (s))                            \
            pp_ = &(*pp_)->next;                               \
        if (*pp_)                                              \
            *pp_ = (s)->next;                                  \
    } while (0)

static void give_spare(struct mcrx_backend *b, struct mcrx_backend_sub *s, uint32_t i)
{
    s->spare[s->s_count++] = i;
    if (!s->to_post && !s->detaching) {
        s->to_post = true;
        s->next_post = b->post;
        b->post = s;
    }
}

/* ---- completions ---- */

/* Slot i of s holds a datagram of `bytes` bytes: pending. */
static void got_datagram(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                         uint32_t i, DWORD bytes)
{
    s->slots[i].bytes = bytes;
    pending_push(s, i);
    if (!s->detaching) /* a detaching sub's count was taken off already */
        b->pending_total++;
    list_ready(b, s);
}

static void complete(struct mcrx_backend *b, const OVERLAPPED_ENTRY *e)
{
    struct slot *sl = (struct slot *)e->lpOverlapped;
    struct mcrx_backend_sub *s = sl->sub;
    uint32_t i = (uint32_t)(sl - s->slots);
    s->in_kernel--;
    b->kernel_total--;
    int err = 0;
    DWORD bytes = e->dwNumberOfBytesTransferred, flags = 0;
    if (sl->ov.Internal != 0 && /* not STATUS_SUCCESS: ask Winsock why */
        !WSAGetOverlappedResult(s->fd, &sl->ov, &bytes, FALSE, &flags))
        err = WSAGetLastError();
    if (err == WSAEMSGSIZE) { /* longer than payload + scratch: cut */
        sl->msg.dwFlags |= MSG_TRUNC;
        err = 0;
    }
    if (err) {
        if (err != WSA_OPERATION_ABORTED && !s->detaching) {
            s->err = err;
            list_ready(b, s);
        }
        give_spare(b, s, i);
        return;
    }
    got_datagram(b, s, i, bytes);
}

/* Harvest what the port has (waiting up to timeout_ms for the first
 * completion). Returns the number harvested or a negative status. */
static int harvest(struct mcrx_backend *b, DWORD timeout_ms)
{
    int total = 0;
    if (b->kernel_total == 0 && timeout_ms == 0)
        return 0; /* nothing posted: no completion can come */
    for (;;) {
        ULONG got = 0;
        if (!GetQueuedCompletionStatusEx(b->port, b->entries, HARVEST_CAP, &got,
                                         total ? 0 : timeout_ms, FALSE)) {
            DWORD err = GetLastError();
            if (err == WAIT_TIMEOUT)
                return total;
            return total ? total : mcrx_plat_fail_with(MCRX_E_WAIT, (int)err);
        }
        for (ULONG k = 0; k < got; k++)
            complete(b, &b->entries[k]);
        total += (int)got;
        if (got < HARVEST_CAP)
            return total;
    }
}

/* ---- posting ---- */

static void slot_prepare(struct mcrx_backend_sub *s, struct slot *sl)
{
    sl->pseq = s->next_pseq++;
    sl->msg.name = (LPSOCKADDR)&sl->name;
    sl->msg.namelen = sizeof sl->name;
    sl->msg.lpBuffers = sl->bufs;
    sl->msg.dwBufferCount = sl->bufs[1].len ? 2 : 1;
    sl->msg.Control.buf = sl->control.buf;
    sl->msg.Control.len = MCRX_PLAT_CONTROL_LEN;
    sl->msg.dwFlags = 0;
}

/* Read a datagram the socket already holds into slot i, synchronously
 * (no OVERLAPPED: no event, no packet). Returns 1 (pending now), 0 (none
 * queued) or the WSA error. */
static int read_now(struct mcrx_backend *b, struct mcrx_backend_sub *s, uint32_t i)
{
    struct slot *sl = &s->slots[i];
    slot_prepare(s, sl);
    DWORD bytes = 0;
    if (s->recvmsg(s->fd, &sl->msg, &bytes, NULL, NULL) != 0) {
        int err = WSAGetLastError();
        if (err == WSAEWOULDBLOCK) {
            s->next_pseq--; /* not used */
            return 0;
        }
        if (err != WSAEMSGSIZE)
            return err;
        sl->msg.dwFlags |= MSG_TRUNC;
    }
    got_datagram(b, s, i, bytes);
    return 1;
}

/* Post a receive on slot i. Returns 0 (posted), -1 (completed at once:
 * pending already) or the WSA error. */
static int post_one(struct mcrx_backend *b, struct mcrx_backend_sub *s, uint32_t i)
{
    struct slot *sl = &s->slots[i];
    memset(&sl->ov, 0, sizeof sl->ov);
    slot_prepare(s, sl);
    sl->ov.hEvent = b->event;
    DWORD bytes = 0;
    int rc = s->recvmsg(s->fd, &sl->msg, &bytes, &sl->ov, NULL);
    int err = rc == 0 ? 0 : WSAGetLastError();
    if (s->skip && (rc == 0 || err == WSAEMSGSIZE)) { /* no packet queued */
        if (err)
            sl->msg.dwFlags |= MSG_TRUNC;
        got_datagram(b, s, i, bytes);
        return -1;
    }
    if (rc == 0 || err == WSA_IO_PENDING) {
        s->in_kernel++; /* completes through the port */
        b->kernel_total++;
        b->event_set = false; /* starting an operation resets hEvent */
        return 0;
    }
    return err;
}

/* Post a receive on every spare buffer of s. Returns 0 or the WSA error
 * (that buffer stays spare); *inline_done when one completed at once. */
static int post_all(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                    bool *inline_done)
{
    while (s->s_count) {
        int err = post_one(b, s, s->spare[--s->s_count]);
        if (err > 0) {
            s->s_count++;
            return err;
        }
        *inline_done |= err == -1;
    }
    return 0;
}

/* Give the subs with spare buffers their receives: first what each
 * socket already holds (read now), then, once the socket is empty and no
 * receive of it is posted, a WSARecvMsg posted on every buffer left.
 * Receives still posted complete (and signal) with the next datagram;
 * posting more then would only move the coming backlog onto the slower
 * completion path (Wine 8 even answers the synchronous read "would block"
 * while posted receives are being completed). A failure leaves the buffer
 * spare, the error for recv() to report, and the sub listed again. */
static void post_spares(struct mcrx_backend *b)
{
    bool inline_done = false;
    struct mcrx_backend_sub *again = NULL;
    while (b->post) {
        struct mcrx_backend_sub *s = b->post;
        b->post = s->next_post;
        s->to_post = false;
        int got = 1;
        while (s->s_count && got == 1) {
            if ((got = read_now(b, s, s->spare[s->s_count - 1])) == 1) {
                s->s_count--;
                inline_done = true;
            }
        }
        int err = got > 1 ? got : 0;
        if (got == 0 && s->in_kernel == 0)
            err = post_all(b, s, &inline_done);
        if (err) {
            s->err = err;
            list_ready(b, s);
            s->to_post = true;
            s->next_post = again;
            again = s;
        }
    }
    b->post = again;
    if (inline_done) /* earlier completions before the inline ones */
        (void)harvest(b, 0);
}

/* ---- ops ---- */

static void sub_free(struct mcrx_backend_sub *s)
{
    free(s->slots);
    free(s->mem);
    free(s->pending.idx);
    free(s->handed.idx);
    free(s->handed.seq);
    free(s->spare);
    free(s);
}

static void iocp_destroy(struct mcrx_backend *b)
{
    while (b->zombies) {
        struct mcrx_backend_sub *z = b->zombies;
        b->zombies = z->next_zombie;
        sub_free(z);
    }
    if (b->port)
        CloseHandle(b->port);
    if (b->event)
        CloseHandle(b->event);
    if (b->linger_timer)
        CloseHandle(b->linger_timer);
    free(b->scratch);
    free(b->assoc);
    mcrx_win_backend_free(b);
}

static int iocp_create(struct mcrx_backend **out, const struct mcrx_backend_params *p)
{
    int st;
    struct mcrx_backend *b = mcrx_win_backend_alloc(sizeof *b, &st);
    if (!b)
        return st;
    b->max_payload = p->max_payload;
    b->ring = p->sub_ring_size;
    b->coalesce_ns = (int64_t)p->coalesce_us * 1000;
    b->linger_timer = mcrx_win_linger_timer(b->coalesce_ns);
    b->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!b->port)
        st = mcrx_plat_fail_with(MCRX_E_BACKEND_UNAVAILABLE, (int)GetLastError());
    b->event = st == MCRX_OK ? CreateEventW(NULL, TRUE, FALSE, NULL) : NULL;
    if (st == MCRX_OK && !b->event)
        st = mcrx_plat_fail_with(MCRX_E_WAIT, (int)GetLastError());
    if (st == MCRX_OK && b->max_payload < WIRE_MAX &&
        !(b->scratch = malloc(WIRE_MAX - b->max_payload)))
        st = mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
    if (st != MCRX_OK) {
        iocp_destroy(b);
        return st;
    }
    *out = b;
    return MCRX_OK;
}

static mcrx_wait_handle_t iocp_wait_handle(const struct mcrx_backend *b)
{
    return b->event;
}

static bool was_associated(const struct mcrx_backend *b, SOCKET fd)
{
    for (size_t i = 0; i < b->n_assoc; i++)
        if (b->assoc[i] == fd)
            return true;
    return false;
}

/* Bind fd to the port once (see the top comment). */
static int associate(struct mcrx_backend *b, SOCKET fd)
{
    if (CreateIoCompletionPort((HANDLE)fd, b->port, 0, 0) == NULL) {
        DWORD err = GetLastError();
        return err == ERROR_INVALID_PARAMETER && was_associated(b, fd)
                   ? MCRX_OK : mcrx_plat_fail_with(MCRX_E_WAIT, (int)err);
    }
    if (was_associated(b, fd)) /* an old socket's handle value, reused */
        return MCRX_OK;
    if (b->n_assoc == b->cap_assoc) {
        size_t cap = b->cap_assoc ? b->cap_assoc * 2 : 16;
        SOCKET *a = realloc(b->assoc, cap * sizeof *a);
        if (!a)
            return MCRX_OK; /* only a later re-join could then fail */
        b->assoc = a;
        b->cap_assoc = cap;
    }
    b->assoc[b->n_assoc++] = fd;
    return MCRX_OK;
}

static int get_recvmsg(SOCKET fd, LPFN_WSARECVMSG *fn)
{
    GUID guid = WSAID_WSARECVMSG;
    DWORD bytes = 0;
    if (WSAIoctl(fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, fn,
                 sizeof *fn, &bytes, NULL, NULL) != 0)
        return mcrx_plat_fail_with(MCRX_E_BACKEND_UNAVAILABLE, WSAGetLastError());
    return MCRX_OK;
}

static int iocp_attach(struct mcrx_backend *b, mcrx_socket_t fd, struct mcrx_sub *cookie,
                       struct mcrx_backend_sub **out)
{
    struct mcrx_backend_sub *s = calloc(1, sizeof *s);
    uint32_t n = b->ring;
    if (s) {
        s->slots = calloc(n, sizeof *s->slots);
        s->mem = malloc((size_t)n * b->max_payload);
        s->pending.idx = calloc(n, sizeof(uint32_t));
        s->handed.idx = calloc(n, sizeof(uint32_t));
        s->handed.seq = calloc(n, sizeof(uint64_t));
        s->spare = calloc(n, sizeof(uint32_t));
    }
    if (!s || !s->slots || !s->mem || !s->pending.idx || !s->handed.idx ||
        !s->handed.seq || !s->spare) {
        if (s)
            sub_free(s);
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
    }
    int st = get_recvmsg(fd, &s->recvmsg);
    if (st == MCRX_OK)
        st = associate(b, fd);
    /* Inline completions (see the top comment); an error only costs the
     * saving. The mode stays on the socket after detach. */
    s->skip = st == MCRX_OK &&
              SetFileCompletionNotificationModes((HANDLE)fd,
                                                 FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
    if (st != MCRX_OK) {
        sub_free(s);
        return st;
    }
    s->b = b;
    s->cookie = cookie;
    s->fd = fd;
    s->nbufs = n;
    for (uint32_t i = 0; i < n; i++) {
        struct slot *sl = &s->slots[i];
        sl->sub = s;
        sl->bufs[0].buf = (char *)s->mem + (size_t)i * b->max_payload;
        sl->bufs[0].len = b->max_payload;
        sl->bufs[1].buf = (char *)b->scratch;
        sl->bufs[1].len = b->scratch ? WIRE_MAX - b->max_payload : 0;
        give_spare(b, s, n - 1 - i); /* posted in order 0, 1, ... */
    }
    *out = s;
    return MCRX_OK;
}

static uint32_t iocp_detach(struct mcrx_backend *b, struct mcrx_backend_sub *s)
{
    unlist_ready(b, s);
    if (s->to_post) {
        UNLINK(b->post, s, next_post);
        s->to_post = false;
    }
    s->detaching = true;
    b->pending_total -= s->pending.count;
    if (s->in_kernel)
        CancelIoEx((HANDLE)s->fd, NULL);
    DWORD start = GetTickCount();
    while (s->in_kernel && GetTickCount() - start < DETACH_WAIT_MS)
        if (harvest(b, 100) < 0)
            break;
    uint32_t unread = s->pending.count;
    if (s->in_kernel) { /* the stack still owns buffers: never free them */
        s->handed.count = UINT32_MAX;
    }
    if (s->handed.count) { /* views of this call stay valid: freed later */
        s->next_zombie = b->zombies;
        b->zombies = s;
    } else {
        if (s->dirty)
            UNLINK(b->dirty, s, next_dirty);
        sub_free(s);
    }
    return unread;
}

static void iocp_release(struct mcrx_backend *b, uint64_t keep_from)
{
    struct mcrx_backend_sub **pp = &b->dirty;
    while (*pp) {
        struct mcrx_backend_sub *s = *pp;
        while (s->handed.count && s->handed.count != UINT32_MAX &&
               s->handed.seq[s->handed.head] < keep_from) {
            uint32_t i = fifo_pop(&s->handed, s->nbufs);
            if (!s->detaching)
                give_spare(b, s, i);
        }
        if (s->handed.count == 0) {
            *pp = s->next_dirty;
            s->dirty = false;
        } else {
            pp = &s->next_dirty;
        }
    }
    struct mcrx_backend_sub **zp = &b->zombies;
    while (*zp) {
        struct mcrx_backend_sub *z = *zp;
        if (z->handed.count == 0 && !z->dirty) {
            *zp = z->next_zombie;
            sub_free(z);
        } else {
            zp = &z->next_zombie;
        }
    }
}

/* Something for the next receive call: see "Wait object" above. */
static bool needs_call(const struct mcrx_backend *b, bool hold)
{
    if (hold || b->pending_total || b->ready)
        return true;
    for (const struct mcrx_backend_sub *s = b->dirty; s; s = s->next_dirty)
        if (!s->detaching && s->in_kernel == 0)
            return true; /* all its buffers are out as views */
    return false;
}

static void iocp_service(struct mcrx_backend *b, bool hold)
{
    post_spares(b);
    if (!needs_call(b, hold)) {
        ResetEvent(b->event);
        b->event_set = false;
        if (harvest(b, 0) <= 0 && !needs_call(b, hold))
            return;
    }
    if (!b->event_set) /* a completion may have set it too: harmless */
        SetEvent(b->event);
    b->event_set = true;
}

static int iocp_poll(struct mcrx_backend *b, struct mcrx_sub **ready, unsigned max,
                     int timeout_ms)
{
    post_spares(b);
    int st = harvest(b, 0);
    if (st >= 0 && !b->ready && timeout_ms != 0) {
        int64_t t0 = b->linger_timer ? mcrx_plat_mono_ns() : 0;
        st = harvest(b, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        if (st > 0 && t0) { /* coalescing: let more arrive, then read */
            mcrx_win_linger(b->linger_timer, t0, b->coalesce_ns);
            post_spares(b);
            (void)harvest(b, 0);
        }
    }
    if (st < 0)
        return st;
    unsigned k = 0;
    while (b->ready && k < max) {
        struct mcrx_backend_sub *s = b->ready;
        b->ready = s->next_ready;
        if (!b->ready)
            b->ready_tail = NULL;
        s->listed = false;
        ready[k++] = s->cookie;
    }
    return (int)k;
}

static int iocp_recv(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                     struct mcrx_rx *out, unsigned max)
{
    if (s->pending.count < max) {
        int st = harvest(b, 0);
        if (st < 0 && s->pending.count == 0)
            return st;
    }
    if (s->pending.count == 0 && s->err) {
        int err = s->err;
        s->err = 0;
        return mcrx_plat_fail_with(MCRX_E_RECV, err);
    }
    unsigned n = s->pending.count < max ? s->pending.count : max;
    for (unsigned k = 0; k < n; k++) {
        uint32_t i = fifo_pop(&s->pending, s->nbufs);
        struct slot *sl = &s->slots[i];
        struct mcrx_rx *rx = &out[k];
        mcrx_plat_parse_rx(&sl->name, (uint32_t)sl->msg.namelen, sl->control.buf,
                           sl->msg.Control.len, (int)sl->msg.dwFlags, rx);
        rx->payload = (const uint8_t *)sl->bufs[0].buf;
        rx->wire_len = sl->bytes;
        rx->len = sl->bytes < b->max_payload ? sl->bytes : b->max_payload;
        if (sl->bytes > b->max_payload)
            rx->flags |= MCRX_RX_TRUNC;
        fifo_push(&s->handed, s->nbufs, i, b->seq++);
    }
    b->pending_total -= n;
    if (n && !s->dirty) {
        s->dirty = true;
        s->next_dirty = b->dirty;
        b->dirty = s;
    }
    return (int)n;
}

static uint32_t iocp_held(const struct mcrx_backend_sub *s)
{
    return s->pending.count;
}

const struct mcrx_backend_ops mcrx_backend_iocp = {
    .name = "iocp",
    .kind = MCRX_BACKEND_IOCP,
    .caps = MCRX_CAP_READ_AHEAD | MCRX_CAP_SERVICE,
    .create = iocp_create,
    .destroy = iocp_destroy,
    .wait_handle = iocp_wait_handle,
    .attach = iocp_attach,
    .detach = iocp_detach,
    .release = iocp_release,
    .service = iocp_service,
    .poll = iocp_poll,
    .recv = iocp_recv,
    .held = iocp_held,
    .drop_events = NULL,
};
