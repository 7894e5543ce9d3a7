/* The drain engine shared by both mcrx-uv handles.
 * SPDX-License-Identifier: BSD-2-Clause */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>

#define BATCH_DEFAULT 64u
#define BATCH_LIMIT 4096u
#define BUDGET_DEFAULT 1024u

void mcrx_uv_options_init(mcrx_uv_options *o)
{
    o->batch = BATCH_DEFAULT;
    o->budget = BUDGET_DEFAULT;
    o->metadata = false;
}

int mcrx_uv_reader_options(const mcrx_uv_options *opts, uint32_t batch_cap,
                           mcrx_uv_options *out)
{
    if (opts)
        *out = *opts;
    else
        mcrx_uv_options_init(out);
    if (out->batch < 1 || out->batch > BATCH_LIMIT || out->budget < out->batch)
        return MCRX_E_BAD_OPTION;
    /* Never ask for more than one library call can return: a short count
     * must mean "drained", not "capped". */
    if (out->batch > batch_cap)
        out->batch = batch_cap;
    return MCRX_OK;
}

static void on_idle(uv_idle_t *idle);

/* Keep reading on the next loop iteration (the budget of this one is
 * spent); the idle handle also keeps the loop from blocking meanwhile. */
static void continue_later(struct mcrx_uv_reader *r, bool on)
{
    if (on == r->continuing)
        return;
    r->continuing = on;
    if (on)
        uv_idle_start(&r->idle, on_idle);
    else
        uv_idle_stop(&r->idle);
}

/* Read until the library returns fewer than asked (drained) or the budget
 * is spent. The user's callback may stop or close us: check after each. */
static void drain(struct mcrx_uv_reader *r)
{
    uint32_t spent = 0;
    while (r->reading) {
        uint32_t left = r->budget - spent;
        size_t want = left < r->batch ? left : r->batch;
        if (want == 0) {
            continue_later(r, true);
            return;
        }
        int n = r->ops->recv(r, want);
        if (n < 0) {
            /* Reported, then we wait for the descriptor again: a lasting
             * error must not turn into a busy loop of our own making. */
            continue_later(r, false);
            r->ops->deliver(r, n, 0);
            return;
        }
        if (n > 0)
            r->ops->deliver(r, MCRX_OK, (size_t)n);
        spent += (uint32_t)n;
        if ((size_t)n < want)
            break;
    }
    continue_later(r, false);
}

static void on_idle(uv_idle_t *idle)
{
    drain(idle->data);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    (void)events;
    struct mcrx_uv_reader *r = poll->data;
    if (status < 0) {
        /* libuv stopped the watcher (e.g. the descriptor went bad). */
        r->reading = false;
        continue_later(r, false);
        uv_poll_stop(&r->poll);
        errno = -status;
        r->ops->deliver(r, MCRX_E_WAIT, 0);
        return;
    }
    if (!r->continuing) /* else the idle drains this iteration anyway */
        drain(r);
}

int mcrx_uv_reader_init(struct mcrx_uv_reader *r, uv_loop_t *loop, int fd,
                        const mcrx_uv_options *opts,
                        const struct mcrx_uv_reader_ops *ops)
{
    r->ops = ops;
    r->batch = opts->batch;
    r->budget = opts->budget;
    r->pkts = calloc(r->batch, sizeof *r->pkts);
    r->meta = opts->metadata ? calloc(r->batch, sizeof *r->meta) : NULL;
    if (!r->pkts || (opts->metadata && !r->meta)) {
        mcrx_uv_reader_free(r);
        return MCRX_E_NO_MEMORY;
    }
    int rc = uv_poll_init(loop, &r->poll, fd);
    if (rc < 0) { /* libuv registers nothing on failure */
        mcrx_uv_reader_free(r);
        errno = -rc;
        return MCRX_E_WAIT;
    }
    uv_idle_init(loop, &r->idle); /* cannot fail */
    r->poll.data = r;
    r->idle.data = r;
    r->open_handles = 2;
    return MCRX_OK;
}

int mcrx_uv_reader_start(struct mcrx_uv_reader *r)
{
    if (r->closing)
        return MCRX_E_INVALID_ARG;
    int rc = uv_poll_start(&r->poll, UV_READABLE, on_poll);
    if (rc < 0) {
        errno = -rc;
        return MCRX_E_WAIT;
    }
    r->reading = true;
    /* Data the library holds already (an extracted sub's carry moved in
     * by take) does not make its socket signal: look once on the next
     * iteration. */
    continue_later(r, true);
    return MCRX_OK;
}

void mcrx_uv_reader_stop(struct mcrx_uv_reader *r)
{
    r->reading = false;
    continue_later(r, false);
    uv_poll_stop(&r->poll);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct mcrx_uv_reader *r = h->data;
    if (--r->open_handles == 0)
        r->ops->closed(r); /* frees r */
}

void mcrx_uv_reader_close(struct mcrx_uv_reader *r)
{
    if (r->closing)
        return;
    mcrx_uv_reader_stop(r);
    r->closing = true;
    uv_close((uv_handle_t *)&r->poll, on_handle_closed);
    uv_close((uv_handle_t *)&r->idle, on_handle_closed);
}

void mcrx_uv_reader_free(struct mcrx_uv_reader *r)
{
    free(r->pkts);
    free(r->meta);
    r->pkts = NULL;
    r->meta = NULL;
}
