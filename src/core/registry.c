/*
 * The backend registry: the only place that knows which backends exist.
 * Backends never include each other; the core picks one here, by kind or
 * by capability, and falls back when the preferred one cannot run.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "core/internal.h"
#include "mcrx_build_config.h"

extern const struct mcrx_backend_ops mcrx_backend_recvmmsg;
extern const struct mcrx_backend_ops mcrx_backend_iouring;
extern const struct mcrx_backend_ops mcrx_backend_kqueue;
extern const struct mcrx_backend_ops mcrx_backend_iocp;
extern const struct mcrx_backend_ops mcrx_backend_wsapoll;

/* What this build compiled, in order of preference for fallback. */
static const struct mcrx_backend_ops *const registry[] = {
#ifdef MCRX_HAVE_IOURING
    &mcrx_backend_iouring,
#endif
#ifdef MCRX_HAVE_RECVMMSG
    &mcrx_backend_recvmmsg,
#endif
#ifdef MCRX_HAVE_KQUEUE
    &mcrx_backend_kqueue,
#endif
#ifdef MCRX_HAVE_IOCP
    &mcrx_backend_iocp,
#endif
#ifdef MCRX_HAVE_WSAPOLL
    &mcrx_backend_wsapoll,
#endif
};
#define REGISTRY_LEN (sizeof registry / sizeof registry[0])

static const struct mcrx_backend_ops *find(mcrx_backend_kind kind)
{
    for (size_t i = 0; i < REGISTRY_LEN; i++)
        if (registry[i]->kind == kind)
            return registry[i];
    return NULL;
}

bool mcrx_backend_compiled(mcrx_backend_kind kind)
{
    return find(kind) != NULL;
}

const char *mcrx_backend_name(mcrx_backend_kind kind)
{
    switch (kind) {
    case MCRX_BACKEND_DEFAULT: return "default";
    case MCRX_BACKEND_RECVMMSG: return "recvmmsg";
    case MCRX_BACKEND_IOURING: return "io_uring";
    case MCRX_BACKEND_KQUEUE: return "kqueue";
    case MCRX_BACKEND_IOCP: return "iocp";
    case MCRX_BACKEND_WSAPOLL: return "wsapoll";
    }
    return "unknown";
}

int mcrx_backend_parse(const char *name, mcrx_backend_kind *out)
{
    static const struct { const char *name; mcrx_backend_kind kind; } names[] = {
        {"default", MCRX_BACKEND_DEFAULT}, {"", MCRX_BACKEND_DEFAULT},
        {"recvmmsg", MCRX_BACKEND_RECVMMSG}, {"iouring", MCRX_BACKEND_IOURING},
        {"io_uring", MCRX_BACKEND_IOURING}, {"kqueue", MCRX_BACKEND_KQUEUE},
        {"iocp", MCRX_BACKEND_IOCP}, {"wsapoll", MCRX_BACKEND_WSAPOLL},
    };
    if (!name || !out)
        return MCRX_E_INVALID_ARG;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) != 0)
            continue;
        if (names[i].kind != MCRX_BACKEND_DEFAULT && !find(names[i].kind))
            return MCRX_E_BACKEND_UNAVAILABLE;
        *out = names[i].kind;
        return MCRX_OK;
    }
    return MCRX_E_BACKEND_UNAVAILABLE;
}

const struct mcrx_backend_ops *mcrx_registry_socket_ready(void)
{
    for (size_t i = 0; i < REGISTRY_LEN; i++)
        if (registry[i]->caps & MCRX_CAP_SOCKET_READY)
            return registry[i];
    return NULL;
}

void mcrx_backend_params_from(const mcrx_ctx_options *o,
                              struct mcrx_backend_params *p)
{
    p->max_payload = o->max_payload;
    p->max_batch = o->max_batch;
    p->sub_ring_size = o->sub_ring_size;
    p->coalesce_us = o->coalesce_us;
}

int mcrx_registry_create(mcrx_backend_kind want, const mcrx_ctx_options *opts,
                         struct mcrx_engine *e, int *fb_status, int *fb_os_error)
{
    *fb_status = MCRX_OK;
    *fb_os_error = 0;
    if (want != MCRX_BACKEND_DEFAULT) {
        const struct mcrx_backend_ops *ops = find(want);
        return ops ? mcrx_engine_init(e, ops, opts) : MCRX_E_BACKEND_UNAVAILABLE;
    }
    /* Default: the build's choice first, then the rest in preference order,
     * past any set-up failure (not supported, ENOMEM from memlock or
     * accounting limits, eventfd registration...): a context that can run
     * on another backend should. */
    const struct mcrx_backend_ops *first = find(MCRX_DEFAULT_BACKEND);
    int st = mcrx_engine_init(e, first, opts);
    if (st == MCRX_OK)
        return MCRX_OK;
    *fb_status = st;
    *fb_os_error = mcrx_last_os_error();
    for (size_t i = 0; i < REGISTRY_LEN && st != MCRX_OK; i++)
        if (registry[i] != first)
            st = mcrx_engine_init(e, registry[i], opts);
    if (st != MCRX_OK) { /* report the preferred backend's failure */
        st = *fb_status;
        mcrx_os_error_set(*fb_os_error);
        *fb_status = MCRX_OK;
        *fb_os_error = 0;
    }
    return st;
}
