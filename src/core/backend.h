/*
 * The receive-backend operations table, contract v2 (internal).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Each backend lives in one folder under src/backend/ and exports exactly
 * one `const struct mcrx_backend_ops`. Generic code branches on the
 * capability flags, never on the OS or the backend's name (the nginx
 * event-module pattern). The core's registry (registry.c) alone picks one.
 *
 * The table fits every model:
 * - readiness (recvmmsg/epoll, kqueue): poll() asks the kernel which
 *   sockets are readable; recv() makes the read syscall into the backend's
 *   slots.
 * - completion (io_uring, IOCP): the kernel fills the backend's buffers
 *   ahead of time; poll() harvests completions and reports the
 *   subscriptions that have some; recv() hands out what was harvested.
 * Either way the core sees the same thing: a set of ready subscriptions and
 * per-subscription batches of parsed datagrams (struct mcrx_rx) that are
 * views into backend memory.
 *
 * One receive call of the core (recv_batch, try_recv, a borrowed sub's
 * try_recv, wait) runs:
 *
 *     release(keep_from)  views of earlier calls expire
 *     poll() / recv() ... as often as the call needs
 *     service(hold)       re-post, re-arm, submit; settle the wait object
 *
 * and detach() is followed by service() too. So re-posting buffers and
 * re-arming receives never waits for the application's *next* call: it
 * happens before the current one returns. Records are numbered in the
 * order recv() hands them out, from 0 at create() (every backend counts the
 * same way); release(keep_from) releases the records numbered below
 * keep_from, those from keep_from on stay valid (the core's read-ahead).
 * The core never has more than max_batch records outstanding, so a backend
 * needs max_batch slots per instance at most.
 *
 * The wait object (wait_handle()) must be signalled after service() while
 *   - a joined sub has data the backend knows of (harvested completions,
 *     or a readable socket for readiness backends), or
 *   - hold is true (the core holds records it read ahead and has not
 *     delivered), or
 *   - the backend "needs service": some attached sub could not be re-armed
 *     (its buffers are all out as views), so only the next call can make
 *     progress;
 * and it should not be signalled otherwise (at most one spurious wake-up
 * after the last datagram). That is the promise of mcrx_ctx_fd().
 *
 * Errors: an op that fails with an OS-class status records the OS error
 * with mcrx_os_error_capture() (platform.h) at the failing call.
 */
#ifndef MCRX_CORE_BACKEND_H
#define MCRX_CORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "mcrx/mcrx.h"

/* Flags of one received datagram (struct mcrx_rx.flags). */
enum {
    MCRX_RX_TRUNC = 1u << 0,       /* payload cut at max_payload */
    MCRX_RX_HAS_DST = 1u << 1,     /* dst from pktinfo */
    MCRX_RX_HAS_IFINDEX = 1u << 2, /* ifindex from pktinfo */
    MCRX_RX_HAS_TS = 1u << 3,      /* ts_ns from SO_TIMESTAMPNS */
    MCRX_RX_HAS_DROPS = 1u << 4    /* drops from SO_RXQ_OVFL */
};

/* One datagram as a backend hands it to the core. */
struct mcrx_rx {
    const uint8_t *payload; /* view into backend memory */
    uint32_t len;           /* bytes at payload */
    uint32_t wire_len;      /* real datagram length */
    uint32_t flags;         /* MCRX_RX_* */
    uint16_t src_port;
    mcrx_ip src;
    mcrx_ip dst;
    uint32_t ifindex;
    uint32_t drops;         /* cumulative kernel drops of the socket */
    int64_t ts_ns;
};

/* Capability flags (struct mcrx_backend_ops.caps). Each one is asked by
 * generic code; a flag nothing asks does not exist. */
enum {
    /* The socket's own readability tells whether data is pending, so a
     * caller's event loop may watch mcrx_sub_fd(): the registry gives
     * extracted subscriptions a receiver of such a backend (take). */
    MCRX_CAP_SOCKET_READY = 1u << 0,
    /* The backend reads ahead (completion model): datagrams sit in its
     * buffers before recv() hands them out; held() counts them, and take
     * moves them along instead of discarding them. */
    MCRX_CAP_READ_AHEAD = 1u << 1,
    /* service() has work to do (re-post buffers, re-arm requests, settle
     * an eventfd); the core skips the call for backends without it. */
    MCRX_CAP_SERVICE = 1u << 2
};

/* Parameters a backend instance is created with (from mcrx_ctx_options). */
struct mcrx_backend_params {
    uint32_t max_payload;   /* payload bytes per slot */
    uint32_t max_batch;     /* datagrams handed out per call, at most */
    uint32_t sub_ring_size; /* completion backends: buffers per sub */
    uint32_t coalesce_us;   /* poll() with a timeout: a wake-up earlier
                               than coalesce_us after the wait began waits
                               on until then (mcrx_ctx_options.coalesce_us) */
};

struct mcrx_backend;     /* one backend instance (per context) */
struct mcrx_backend_sub; /* a backend's per-subscription state */
struct mcrx_sub;         /* the core's subscription: an opaque cookie here */

struct mcrx_backend_ops {
    const char *name;       /* "recvmmsg", "io_uring" */
    mcrx_backend_kind kind;
    unsigned caps;          /* MCRX_CAP_* */

    /* Create an instance. Any failure is a status (the registry falls back
     * to the next backend for MCRX_BACKEND_DEFAULT, whatever the reason). */
    int (*create)(struct mcrx_backend **out,
                  const struct mcrx_backend_params *params);
    /* Destroy an instance; every sub has been detached before. */
    void (*destroy)(struct mcrx_backend *b);
    /* The wait object; see "The wait object" above. */
    mcrx_wait_handle_t (*wait_handle)(const struct mcrx_backend *b);

    /* Start receiving on a joined socket. cookie is returned by poll(). */
    int (*attach)(struct mcrx_backend *b, mcrx_socket_t sock,
                  struct mcrx_sub *cookie, struct mcrx_backend_sub **out);
    /* Stop receiving. On return the kernel no longer touches the sub's
     * buffers (outstanding receives are cancelled and completed) and no
     * datagram of it remains in the backend; the number of datagrams read
     * but never handed out is returned (the core counts them as discarded;
     * take empties held() first). The socket stays open (the core owns it).
     * Views of the sub handed out in this call stay valid until the next
     * release(). */
    uint32_t (*detach)(struct mcrx_backend *b, struct mcrx_backend_sub *s);

    /* A receive call starts: records numbered below keep_from expire and
     * their buffers may be reused; later ones stay valid. No syscall. */
    void (*release)(struct mcrx_backend *b, uint64_t keep_from);
    /* A receive call ends (or a sub was detached): re-post free buffers,
     * re-arm ended receives, submit, and settle the wait object; hold says
     * the core keeps undelivered records. Only called with
     * MCRX_CAP_SERVICE; may be NULL otherwise. */
    void (*service)(struct mcrx_backend *b, bool hold);
    /* Report subscriptions that have (or may have) data, at most max,
     * waiting up to timeout_ms (0: do not block, -1: forever). Returns the
     * count or a negative status: MCRX_E_INTERRUPTED when a signal ended
     * the wait. A sub may be reported again while the core still considers
     * it ready; the core ignores repeats. */
    int (*poll)(struct mcrx_backend *b, struct mcrx_sub **ready,
                unsigned max, int timeout_ms);
    /* Hand out up to max datagrams of one subscription (the core never
     * asks for more than max_batch minus its outstanding records). Returns
     * the count (fewer than max: the sub is drained for now) or a negative
     * status (OS error captured). Views stay valid as release() says. */
    int (*recv)(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                struct mcrx_rx *out, unsigned max);
    /* MCRX_CAP_READ_AHEAD: datagrams the backend holds for s that recv()
     * has not handed out yet. NULL otherwise. */
    uint32_t (*held)(const struct mcrx_backend_sub *s);
    /* Backend-specific drop events of a sub so far (e.g. io_uring buffer
     * ring empty); may be NULL when the backend has none. */
    uint64_t (*drop_events)(const struct mcrx_backend_sub *s);
    /* True when this instance may only be driven from the thread that
     * created it (io_uring with coalescing: DEFER_TASKRUN needs a single
     * issuer). The core then refuses calls from other threads with
     * MCRX_E_WRONG_THREAD before touching anything. NULL: never bound. */
    bool (*thread_bound)(const struct mcrx_backend *b);
};

#endif /* MCRX_CORE_BACKEND_H */
