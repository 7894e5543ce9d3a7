/*
 * The receive-backend operations table (internal).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Each backend lives in one folder under src/backend/ and exports exactly
 * one `const struct mcrx_backend_ops`. Generic code branches on the
 * capability flags, never on the OS or the backend's name (the nginx
 * event-module pattern). The core's registry (registry.c) alone picks one.
 *
 * The table fits both kinds of backend:
 * - readiness-based (recvmmsg): poll() asks the kernel which sockets are
 *   readable; recv() makes the read syscall into the backend's slots.
 * - completion-based (io_uring, IOCP): the kernel fills the backend's
 *   buffers ahead of time; poll() harvests completions and reports the
 *   subscriptions that have some; recv() hands out what was harvested.
 * Either way the core sees the same thing: a set of ready subscriptions and
 * per-subscription batches of parsed datagrams (struct mcrx_rx) that are
 * views into backend memory.
 *
 * Records are numbered in the order recv() hands them out, from 0 at
 * create() (every backend counts the same way). begin_call(keep_from)
 * releases the records numbered below keep_from; those from keep_from on
 * stay valid. The core keeps the records it read ahead for a turn but has
 * not delivered yet, and never has more than max_batch records
 * outstanding, so a backend needs max_batch slots per instance at most.
 */
#ifndef MCRX_CORE_BACKEND_H
#define MCRX_CORE_BACKEND_H

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

/* Capability flags (struct mcrx_backend_ops.caps). */
enum {
    /* recv() performs the read syscall itself (readiness model). */
    MCRX_CAP_READINESS = 1u << 0,
    /* datagrams land in backend buffers before recv() (completion model);
     * such a backend may hold datagrams read but not yet delivered. */
    MCRX_CAP_COMPLETION = 1u << 1,
    /* one syscall moves many datagrams. */
    MCRX_CAP_BATCH = 1u << 2,
    /* the socket fd's own readability tells whether data is pending, so a
     * caller's event loop may watch mcrx_sub_fd(); extracted subscriptions
     * are given a receiver of a backend with this flag. */
    MCRX_CAP_SOCKET_READY = 1u << 3
};

/* Parameters a backend instance is created with (from mcrx_ctx_options). */
struct mcrx_backend_params {
    uint32_t max_payload;   /* payload bytes per slot */
    uint32_t max_batch;     /* datagrams handed out per call, at most */
    uint32_t sub_ring_size; /* completion backends: buffers per sub */
};

struct mcrx_backend;     /* one backend instance (per context) */
struct mcrx_backend_sub; /* a backend's per-subscription state */
struct mcrx_sub;         /* the core's subscription: an opaque cookie here */

struct mcrx_backend_ops {
    const char *name;       /* "recvmmsg", "io_uring" */
    mcrx_backend_kind kind;
    unsigned caps;          /* MCRX_CAP_* */

    /* Create an instance. MCRX_E_BACKEND_UNAVAILABLE when the running
     * kernel cannot support it (the registry then may fall back). */
    int (*create)(struct mcrx_backend **out,
                  const struct mcrx_backend_params *params);
    /* Destroy an instance; every sub has been detached before. */
    void (*destroy)(struct mcrx_backend *b);
    /* fd that polls readable while some attached sub may have data. */
    int (*wait_fd)(const struct mcrx_backend *b);

    /* Start receiving on a joined socket. cookie is returned by poll(). */
    int (*attach)(struct mcrx_backend *b, int fd, struct mcrx_sub *cookie,
                  struct mcrx_backend_sub **out);
    /* Stop receiving. On return the kernel no longer touches the sub's
     * buffers and no datagram of it remains in the backend; the number of
     * datagrams read but never handed out is returned (the core counts
     * them as discarded). The socket stays open (the core owns it). */
    uint32_t (*detach)(struct mcrx_backend *b, struct mcrx_backend_sub *s);

    /* A receive call starts: records numbered below keep_from expire and
     * their buffers may be reused; later ones stay valid. */
    void (*begin_call)(struct mcrx_backend *b, uint64_t keep_from);
    /* Report subscriptions that have (or may have) data, at most max,
     * waiting up to timeout_ms (0: do not block, -1: forever). Returns the
     * count or a negative status. A sub may be reported again while the
     * core still considers it ready; the core ignores repeats. */
    int (*poll)(struct mcrx_backend *b, struct mcrx_sub **ready,
                unsigned max, int timeout_ms);
    /* Hand out up to max datagrams of one subscription (the core never
     * asks for more than max_batch minus its outstanding records). Returns
     * the count (fewer than max: the sub is drained for now) or a negative
     * status (errno set). Views stay valid as begin_call() says. */
    int (*recv)(struct mcrx_backend *b, struct mcrx_backend_sub *s,
                struct mcrx_rx *out, unsigned max);
    /* Backend-specific drop events of a sub so far (e.g. io_uring buffer
     * ring empty); may be NULL when the backend has none. */
    uint64_t (*drop_events)(const struct mcrx_backend_sub *s);
};

#endif /* MCRX_CORE_BACKEND_H */
