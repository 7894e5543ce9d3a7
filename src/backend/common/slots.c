/* The slot ring of the readiness backends; see slots.h.
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/common/slots.h"

void mcrx_slots_free(struct mcrx_slots *r)
{
    free(r->payload);
    free(r->names);
    free(r->controls);
    free(r->iov);
    free(r->msgs);
    memset(r, 0, sizeof *r);
}

int mcrx_slots_init(struct mcrx_slots *r, uint32_t nslots, uint32_t max_payload)
{
    memset(r, 0, sizeof *r);
    r->nslots = nslots;
    r->max_payload = max_payload;
    r->payload = malloc((size_t)nslots * max_payload);
    r->names = calloc(nslots, sizeof *r->names);
    r->controls = calloc(nslots, sizeof *r->controls);
    r->iov = calloc(nslots, sizeof *r->iov);
    r->msgs = calloc(nslots, sizeof *r->msgs);
    if (!r->payload || !r->names || !r->controls || !r->iov || !r->msgs) {
        mcrx_slots_free(r);
        return mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ENOMEM);
    }
    for (uint32_t i = 0; i < nslots; i++) {
        r->iov[i].iov_base = r->payload + (size_t)i * max_payload;
        r->iov[i].iov_len = max_payload;
        r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
        r->msgs[i].msg_hdr.msg_iovlen = 1;
        r->msgs[i].msg_hdr.msg_name = &r->names[i];
        r->msgs[i].msg_hdr.msg_control = r->controls[i].buf;
    }
    return MCRX_OK;
}

void mcrx_slots_release(struct mcrx_slots *r, uint64_t keep_from)
{
    r->tail = keep_from; /* record n lives in slot (n - base) % nslots */
    if (r->tail == r->head) /* nothing kept: restart at slot 0, so a */
        r->base = r->head;  /* drain reuses the same, cache-warm slots */
}

/* One read into the contiguous slots [first, first + n). */
static int read_run(struct mcrx_slots *r, int fd, mcrx_slots_reader read, void *ctx,
                    uint32_t first, unsigned n, struct mcrx_rx *out)
{
    mcrx_slot_msg *m = &r->msgs[first];
    for (unsigned i = 0; i < n; i++) { /* the kernel rewrites these */
        m[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
        m[i].msg_hdr.msg_controllen = MCRX_PLAT_CONTROL_LEN;
        m[i].msg_hdr.msg_flags = 0;
    }
    int got = read(ctx, fd, m, n);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : mcrx_plat_fail(MCRX_E_RECV);
    for (int i = 0; i < got; i++) {
        struct msghdr *h = &m[i].msg_hdr;
        struct mcrx_rx *rx = &out[i];
        mcrx_plat_parse_rx(h->msg_name, h->msg_namelen, h->msg_control,
                           h->msg_controllen, h->msg_flags, rx);
        rx->payload = h->msg_iov->iov_base;
        rx->wire_len = m[i].msg_len;
        rx->len = m[i].msg_len < r->max_payload ? m[i].msg_len : r->max_payload;
    }
    return got;
}

int mcrx_slots_recv(struct mcrx_slots *r, int fd, mcrx_slots_reader read, void *ctx,
                    struct mcrx_rx *out, unsigned max)
{
    unsigned room = r->nslots - (unsigned)(r->head - r->tail);
    unsigned n = max < room ? max : room;
    uint32_t first = (uint32_t)((r->head - r->base) % r->nslots);
    unsigned run = n < r->nslots - first ? n : r->nslots - first;
    int got = run ? read_run(r, fd, read, ctx, first, run, out) : 0;
    if (got == (int)run && n > run) { /* the batch wraps around the ring */
        int more = read_run(r, fd, read, ctx, 0, n - run, out + run);
        if (more < 0 && got == 0)
            return more;
        got += more > 0 ? more : 0;
    }
    if (got > 0)
        r->head += (uint64_t)got;
    return got;
}
