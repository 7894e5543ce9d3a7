/* Core internals: shared by the files of src/core only.
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_CORE_INTERNAL_H
#define MCRX_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/backend.h"
#include "core/metrics_int.h"
#include "core/platform.h"
#include "mcrx/mcrx.h"

/* A receiver: one backend instance plus the fair scheduler over the
 * subscriptions attached to it. A context has one; an extracted
 * subscription gets its own, so it can live on another thread. */
struct mcrx_engine {
    const struct mcrx_backend_ops *ops;
    struct mcrx_backend *be;
    /* Ready subscriptions in deficit-round-robin order; head has the turn.*/
    struct mcrx_sub *head, *tail;
    struct mcrx_sub *last_rotated; /* sub sent to the tail last; subs that
                                      turn ready queue up in front of it */
    uint32_t active_count;
    uint32_t attached;    /* subs attached to the backend */
    uint32_t round;       /* number of the current round */
    uint32_t round_left;  /* turns still due in this round; 0: poll again */
    /* The last receive call ended because every ready sub ran dry: the
     * next one returns 0 without polling (see mcrx_engine_recv). */
    bool all_dry;
    /* Thread that must make every call (a thread-bound backend: see
     * backend.h thread_bound); 0 = any. */
    uintptr_t owner;
    uint32_t turn_budget;
    uint32_t max_batch;
    /* Datagrams read for the head sub's turn and not yet delivered: a
     * one-packet call reads a whole turn at once and serves the next calls
     * from here, without a syscall; release() keeps the carry's views. */
    struct mcrx_rx *rx;        /* max_batch records */
    uint32_t carry_pos, carry_end;
    bool carry_drained;        /* the read behind the carry came back short */
    uint64_t seq;              /* records the backend has handed out */
    uint64_t carry_seq;        /* number of rx[0] */
    uint32_t outstanding;      /* records whose views are still valid */
    void *adopted;             /* copies of a carry moved in by take */
    bool carry_adopted;        /* the carry is those copies */
    struct mcrx_sub **ready;   /* poll() scratch */
};

struct mcrx_sub {
    uint64_t id;
    mcrx_config cfg;
    mcrx_socket_t fd;
    mcrx_sub_state state;
    struct mcrx_join_if jif;
    mcrx_ip local_addr;
    uint16_t local_port;
    uint32_t rcvbuf;
    struct mcrx_ctx *ctx;            /* owner; NULL once extracted */
    struct mcrx_engine *engine;      /* receiver used while joined */
    struct mcrx_engine *own_engine;  /* extracted subs only */
    struct mcrx_backend_sub *bsub;   /* non-NULL while attached */
    struct mcrx_sub *next_active, *prev_active;
    bool active;
    uint32_t turn_left;
    uint32_t turn_round;             /* round of its last finished turn */
    mcrx_sub_stats stats;
    struct mcrx_sub_mx mx;       /* metrics beyond stats (metrics_int.h) */
};

struct mcrx_ctx {
    mcrx_ctx_options opts;
    bool fell_back;
    int fallback_status;             /* why the preferred backend failed */
    int fallback_os_error;
    struct mcrx_engine engine;
    struct mcrx_sub **subs; /* ascending id */
    size_t count, cap;
    uint64_t next_id;
    struct mcrx_ctx_mx mx;       /* metrics (metrics_int.h) */
};

/* status.c. Return status; on an OS-class status make errno match
 * mcrx_last_os_error() again (for callers that read errno). */
int mcrx_os_status(int status);

/* config.c */
bool mcrx_config_is_ssm(const mcrx_config *cfg);
/* Interface 0.0.0.0 / :: -> no interface. */
void mcrx_config_normalize(mcrx_config *cfg);
bool mcrx_config_same(const mcrx_config *a, const mcrx_config *b);

/* registry.c */
/* Set up e with the backend `want`; for MCRX_BACKEND_DEFAULT the build's
 * choice first, then the others, past any failure. On a fallback
 * *fb_status / *fb_os_error say why the preferred one failed (else
 * MCRX_OK / 0). */
int mcrx_registry_create(mcrx_backend_kind want, const mcrx_ctx_options *opts,
                         struct mcrx_engine *e, int *fb_status, int *fb_os_error);
/* A backend whose sockets stay pollable (for extracted subscriptions). */
const struct mcrx_backend_ops *mcrx_registry_socket_ready(void);
void mcrx_backend_params_from(const mcrx_ctx_options *o,
                              struct mcrx_backend_params *p);

/* sched.c */
int mcrx_engine_init(struct mcrx_engine *e, const struct mcrx_backend_ops *ops,
                     const mcrx_ctx_options *opts);
void mcrx_engine_destroy(struct mcrx_engine *e);
/* MCRX_OK, or MCRX_E_WRONG_THREAD when e is bound to another thread. */
int mcrx_engine_thread_check(const struct mcrx_engine *e);
int mcrx_engine_attach(struct mcrx_engine *e, struct mcrx_sub *s);
void mcrx_engine_detach(struct mcrx_sub *s);
/* Records read for s and not yet delivered: the core's read-ahead plus,
 * on a read-ahead backend, what the backend holds. */
uint32_t mcrx_engine_unread_of(const struct mcrx_engine *e, const struct mcrx_sub *s);
/* Move a joined sub to another receiver (sized for unread_of() records),
 * with what was read for it. On failure nothing changed. */
int mcrx_engine_move(struct mcrx_sub *s, struct mcrx_engine *to);
int mcrx_engine_recv(struct mcrx_engine *e, mcrx_packet *out,
                     mcrx_metadata *meta, size_t max);
int mcrx_engine_recv_sub(struct mcrx_sub *s, mcrx_packet *out,
                         mcrx_metadata *meta);
int mcrx_engine_wait(struct mcrx_engine *e, int timeout_ms);

/* subscription.c */
int mcrx_sub_create(const mcrx_config *cfg, mcrx_socket_t fd, bool adopt,
                    const mcrx_ctx_options *opts, struct mcrx_sub **out);
void mcrx_sub_destroy(struct mcrx_sub *s);

/* mcrx_ip_equal() for the per-datagram filter: inline (no call through
 * the exported symbol's PLT entry) and IPv4 as one 32-bit compare. */
static inline bool mcrx_ip_same(const mcrx_ip *a, const mcrx_ip *b)
{
    if (a->family != b->family)
        return false;
    if (a->family == MCRX_AF_INET) {
        uint32_t x, y;
        memcpy(&x, a->addr, 4);
        memcpy(&y, b->addr, 4);
        return x == y;
    }
    return a->family != MCRX_AF_INET6 || memcmp(a->addr, b->addr, 16) == 0;
}

#endif
