/* The slot ring of the readiness backends (recvmmsg on Linux, kqueue on
 * macOS/FreeBSD), internal. SPDX-License-Identifier: BSD-2-Clause
 *
 * max_batch slots, each with a payload buffer of max_payload bytes, a
 * source-name buffer, a control buffer and a prebuilt message header.
 * Slots are handed out in ring order as zero-copy views and released in
 * the same order by release(keep_from), so the free slots are always one
 * contiguous run of the ring (two reads when a batch wraps). Data not
 * asked for stays in the socket's kernel queue. What differs per backend
 * is only how a run of slots is filled: a reader callback. */
#ifndef MCRX_BACKEND_COMMON_SLOTS_H
#define MCRX_BACKEND_COMMON_SLOTS_H

#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "core/backend.h"
#include "core/platform.h"

#if defined(__linux__) || defined(__FreeBSD__)
typedef struct mmsghdr mcrx_slot_msg; /* what recvmmsg fills */
#else
typedef struct { /* the same two fields, for systems without recvmmsg */
    struct msghdr msg_hdr;
    unsigned int msg_len;
} mcrx_slot_msg;
#endif

union mcrx_slot_control {
    char buf[MCRX_PLAT_CONTROL_LEN];
    struct cmsghdr align;
};

struct mcrx_slots {
    uint32_t nslots;      /* max_batch */
    uint32_t max_payload;
    uint64_t head;        /* number of the next record handed out */
    uint64_t tail;        /* oldest record still valid */
    uint64_t base;        /* record number that lives in slot 0 */
    uint8_t *payload;     /* nslots * max_payload */
    struct sockaddr_in6 *names; /* big enough for both families */
    union mcrx_slot_control *controls;
    struct iovec *iov;
    mcrx_slot_msg *msgs;
};

/* Fill msgs[0..n) from fd without blocking (every header is reset for a
 * fresh read). Returns how many were filled (0: nothing there) or -1 with
 * errno set. ctx is the backend's. */
typedef int (*mcrx_slots_reader)(void *ctx, int fd, mcrx_slot_msg *msgs, unsigned n);

/* Allocate the ring; MCRX_E_NO_MEMORY (OS error captured) on failure, and
 * the ring is then freed already. */
int mcrx_slots_init(struct mcrx_slots *r, uint32_t nslots, uint32_t max_payload);
void mcrx_slots_free(struct mcrx_slots *r);
/* The backend's release(): records below keep_from expire. */
void mcrx_slots_release(struct mcrx_slots *r, uint64_t keep_from);
/* The backend's recv(): up to max datagrams of fd into free slots, parsed
 * into out. Returns the count or a negative status (OS error captured)
 * when the first read failed with anything but "nothing there". */
int mcrx_slots_recv(struct mcrx_slots *r, int fd, mcrx_slots_reader read, void *ctx,
                    struct mcrx_rx *out, unsigned max);

#endif
