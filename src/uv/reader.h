/* The drain engine shared by both mcrx-uv handles (internal).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A reader owns a uv_poll_t on a descriptor and a uv_idle_t. The poll
 * wakes it; the idle keeps it reading on later loop iterations once a
 * wake-up's budget is spent, without blocking in between. The descriptor
 * would wake it too (contract v2 keeps it signalled while the library
 * holds data), but an extracted sub's socket does not signal for a carry
 * the library read ahead, and the idle costs nothing while unused. */
#ifndef MCRX_UV_READER_H
#define MCRX_UV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mcrx/mcrx_uv.h"

struct mcrx_uv_reader;

/* What a handle plugs into its reader. */
struct mcrx_uv_reader_ops {
    /* One library batch call into r->pkts / r->meta: count or status. */
    int (*recv)(struct mcrx_uv_reader *r, size_t max);
    /* Hand a batch (or a status with n = 0) to the user's callback. */
    void (*deliver)(struct mcrx_uv_reader *r, int status, size_t n);
    /* Both uv handles are closed: call the user's close cb and free. */
    void (*closed)(struct mcrx_uv_reader *r);
};

struct mcrx_uv_reader {
    const struct mcrx_uv_reader_ops *ops;
    uv_poll_t poll;
    uv_idle_t idle;
    mcrx_packet *pkts;
    mcrx_metadata *meta;   /* NULL unless options.metadata */
    uint32_t batch, budget;
    bool reading;          /* started, not stopped or closing */
    bool continuing;       /* budget spent: the idle drains next */
    bool closing;
    unsigned open_handles; /* uv handles not yet closed */
    void *data;            /* the user's pointer */
};

/* Check options (NULL: defaults) into *out. MCRX_OK or MCRX_E_BAD_OPTION. */
int mcrx_uv_reader_options(const mcrx_uv_options *opts, uint32_t batch_cap,
                           mcrx_uv_options *out);
/* Initialise r on loop watching fd; allocates the batch arrays. On failure
 * nothing is left to free. */
int mcrx_uv_reader_init(struct mcrx_uv_reader *r, uv_loop_t *loop, int fd,
                        const mcrx_uv_options *opts,
                        const struct mcrx_uv_reader_ops *ops);
int mcrx_uv_reader_start(struct mcrx_uv_reader *r);
void mcrx_uv_reader_stop(struct mcrx_uv_reader *r);
/* Stop and close both uv handles; ops->closed runs once both are closed. */
void mcrx_uv_reader_close(struct mcrx_uv_reader *r);
/* Free the batch arrays (from ops->closed, before freeing the handle). */
void mcrx_uv_reader_free(struct mcrx_uv_reader *r);

#endif
