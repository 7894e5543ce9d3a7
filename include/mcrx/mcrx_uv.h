/*
 * mcrx-uv: mcrx-core on a libuv loop (optional library, pkg-config mcrx-uv).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Two handles, both opaque, both allocated by init and freed by the library
 * after their close callback returned (as libuv frees nothing itself, we
 * do: the caller never sees the uv_poll_t inside):
 *
 *   mcrx_uv_ctx  a context on a loop: watches mcrx_ctx_fd() and hands the
 *                packets of every joined subscription to a batch callback.
 *                It BORROWS the mcrx_ctx: the caller keeps owning it and
 *                frees it only after the close callback (the close callback
 *                itself is a good place).
 *   mcrx_uv_sub  an owned async subscription: it OWNS a subscription
 *                extracted with mcrx_ctx_take() (single consumer, like the
 *                Rust crate's TokioSubscription) and hands its packets to a
 *                batch callback. Closing it gives the plain subscription
 *                back (or frees it).
 *
 * Threading: a handle is used on its loop's thread only, like every libuv
 * handle. The context (and an owned subscription) must not be received
 * from by anyone else while the handle reads: the handle's callbacks are
 * the only consumer.
 *
 * Delivery: on a wake-up the handle calls the library's batch receive until
 * it returns fewer packets than asked (drained) or the per-wake-up budget
 * is spent. With the budget spent it goes on reading on the next loop
 * iteration, after the loop has served its timers and other handles,
 * without blocking in between (a uv_idle_t while work is left). So one busy
 * context cannot monopolise the loop, and none waits on a descriptor for
 * data the library already holds.
 *
 * Packet views (payload pointers) are valid during the callback only.
 *
 * Errors: a failed receive or a failed poll reaches the batch callback as
 * a negative mcrx_status with no packets (count 0); nothing is swallowed.
 * For MCRX_E_WAIT (the loop's poll failed) errno holds the OS error, and
 * the handle has stopped. After a failed receive the handle waits for the
 * descriptor again, so an error that lasts is reported once per wake-up:
 * stop or close the handle when it is not transient.
 *
 * Inside a batch callback the caller may: leave, join, remove or add
 * subscriptions of the context; stop or close the handle (no further
 * callback for the batch being drained); start/stop other handles. It must
 * not free the context (close the handle first).
 */
#ifndef MCRX_MCRX_UV_H
#define MCRX_MCRX_UV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mcrx/mcrx.h"

/* MCRX_UV_API marks mcrx-uv's exports (built with hidden visibility), as
 * MCRX_UV_API does for the core: on Windows dllexport while building
 * mcrx-uv, dllimport for its users (MCRX_UV_STATIC: the static library). */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(MCRX_UV_BUILDING_LIBRARY)
#    define MCRX_UV_API __declspec(dllexport)
#  elif defined(MCRX_UV_STATIC)
#    define MCRX_UV_API
#  else
#    define MCRX_UV_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define MCRX_UV_API __attribute__((visibility("default")))
#else
#  define MCRX_UV_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcrx_uv_options {
    uint32_t batch;    /* most packets per callback; default 64, 1..4096
                          (the context's max_batch caps it too). Above
                          the context's turn_budget (default 64) an
                          io_uring context often answers short while more
                          is pending: never a stall, but a loop iteration
                          per short batch (~5% in bench/README.md) */
    uint32_t budget;   /* most packets per handle per loop iteration;
                          default 1024, >= batch */
    bool metadata;     /* receive with metadata (the _meta calls); default
                          false: the callback's meta argument is NULL */
} mcrx_uv_options;

/* Fill opts with the defaults above. */
MCRX_UV_API void mcrx_uv_options_init(mcrx_uv_options *opts);

/* ------------------------------------------------------------------ */
/* A context on a loop                                                 */
/* ------------------------------------------------------------------ */

typedef struct mcrx_uv_ctx mcrx_uv_ctx;

/* One batch: packets[0..count) and, when the handle was made with
 * options.metadata, meta[0..count) (else meta is NULL). status is MCRX_OK
 * with count >= 1, or a negative mcrx_status with count 0. */
typedef void (*mcrx_uv_ctx_cb)(mcrx_uv_ctx *h, int status,
                               const mcrx_packet *packets,
                               const mcrx_metadata *meta, size_t count);
/* After close: the handle is freed when this returns. */
typedef void (*mcrx_uv_ctx_close_cb)(mcrx_uv_ctx *h);

/* Put ctx on loop (stopped). opts may be NULL (defaults). The handle
 * borrows ctx (see above). MCRX_OK, MCRX_E_INVALID_ARG, MCRX_E_BAD_OPTION,
 * MCRX_E_NO_MEMORY or MCRX_E_WAIT (libuv refused the descriptor; errno). */
MCRX_UV_API int mcrx_uv_ctx_init(uv_loop_t *loop, mcrx_ctx *ctx,
                              const mcrx_uv_options *opts, mcrx_uv_ctx **out);
/* Start (or restart with another callback) delivering to cb. Packets that
 * are already waiting are delivered on the next loop iteration. */
MCRX_UV_API int mcrx_uv_ctx_start(mcrx_uv_ctx *h, mcrx_uv_ctx_cb cb);
/* Stop delivering; packets stay queued (in the kernel or the library)
 * until a start or a receive call. Safe inside the callback. */
MCRX_UV_API int mcrx_uv_ctx_stop(mcrx_uv_ctx *h);
/* Stop and close; cb (may be NULL) runs on a later loop iteration, then
 * the handle is freed. The context is untouched. Safe inside the batch
 * callback. Closing twice is a no-op. */
MCRX_UV_API void mcrx_uv_ctx_close(mcrx_uv_ctx *h, mcrx_uv_ctx_close_cb cb);

MCRX_UV_API mcrx_ctx *mcrx_uv_ctx_context(const mcrx_uv_ctx *h);
MCRX_UV_API uv_loop_t *mcrx_uv_ctx_loop(const mcrx_uv_ctx *h);
/* A pointer for the caller (libuv's handle->data); NULL at init. */
MCRX_UV_API void mcrx_uv_ctx_set_data(mcrx_uv_ctx *h, void *data);
MCRX_UV_API void *mcrx_uv_ctx_get_data(const mcrx_uv_ctx *h);

/* ------------------------------------------------------------------ */
/* An owned async subscription                                         */
/* ------------------------------------------------------------------ */

typedef struct mcrx_uv_sub mcrx_uv_sub;

/* Same contract as mcrx_uv_ctx_cb. When the subscription is left (inside
 * a callback or elsewhere) reading stops and the callback gets
 * MCRX_E_NOT_JOINED once; mcrx_uv_sub_start() again after a join. */
typedef void (*mcrx_uv_sub_cb)(mcrx_uv_sub *h, int status,
                               const mcrx_packet *packets,
                               const mcrx_metadata *meta, size_t count);
/* After close: sub is the subscription the handle owned, now owned by the
 * callee again (free it with mcrx_sub_free(), or keep using it as a plain
 * extracted subscription). The handle is freed when this returns. */
typedef void (*mcrx_uv_sub_close_cb)(mcrx_uv_sub *h, mcrx_sub *sub);

/* Take ownership of sub, which must be extracted (mcrx_ctx_take()):
 * MCRX_E_OWNED_BY_CONTEXT otherwise, and then nothing changes. On any
 * failure the caller still owns sub. */
MCRX_UV_API int mcrx_uv_sub_init(uv_loop_t *loop, mcrx_sub *sub,
                              const mcrx_uv_options *opts, mcrx_uv_sub **out);
/* Start reading: MCRX_E_NOT_JOINED when the subscription is not joined. */
MCRX_UV_API int mcrx_uv_sub_start(mcrx_uv_sub *h, mcrx_uv_sub_cb cb);
MCRX_UV_API int mcrx_uv_sub_stop(mcrx_uv_sub *h);
/* Stop and close. cb NULL: the subscription is freed (left, socket
 * closed); otherwise cb gets it back. Safe inside the batch callback. */
MCRX_UV_API void mcrx_uv_sub_close(mcrx_uv_sub *h, mcrx_uv_sub_close_cb cb);

/* The owned subscription, borrowed (join/leave/stats through it are fine
 * on the loop's thread; do not free it or receive from it). */
MCRX_UV_API mcrx_sub *mcrx_uv_sub_subscription(const mcrx_uv_sub *h);
MCRX_UV_API uv_loop_t *mcrx_uv_sub_loop(const mcrx_uv_sub *h);
MCRX_UV_API void mcrx_uv_sub_set_data(mcrx_uv_sub *h, void *data);
MCRX_UV_API void *mcrx_uv_sub_get_data(const mcrx_uv_sub *h);

#ifdef __cplusplus
}
#endif

#endif /* MCRX_MCRX_UV_H */
