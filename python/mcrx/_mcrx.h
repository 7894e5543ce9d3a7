/*
 * _mcrx: the CPython extension behind the `mcrx` package.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Four files share this header:
 *   _mcrx_module.c   module init, error mapping, Config and Stats, argument
 *                    helpers
 *   _mcrx_packet.c   Packet, ReceiveMetadata and their builders
 *   _mcrx_context.c  the Context type
 *   _mcrx_sub.c      the Subscription type
 *
 * Threading: the GIL is released around every library call that may make a
 * syscall. A context (and the subscriptions borrowed from it) is not
 * thread-safe in C; here every such call first sets a busy flag (checked and
 * set while holding the GIL, so the check is race-free between Python
 * threads) and a second thread that comes in meanwhile gets
 * mcrx.ConcurrentUseError instead of corrupting memory.
 */
#ifndef MCRX_PY_MCRX_H
#define MCRX_PY_MCRX_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <mcrx/mcrx.h>

#include <errno.h>

/* A context. ctx is NULL once closed. */
typedef struct {
    PyObject_HEAD
    mcrx_ctx *ctx;
    int busy;              /* a thread is inside the library (GIL released) */
    uint32_t max_batch;    /* size of pkts / metas */
    uint32_t max_payload;
    mcrx_packet *pkts;     /* receive arrays, reused by every call */
    mcrx_metadata *metas;
} McrxContext;

/* A subscription: either borrowed from a context (owner set, looked up by id
 * on every call, so a removed or taken one raises NotFound instead of
 * touching freed memory) or owned (taken out of its context: sub set). */
typedef struct {
    PyObject_HEAD
    McrxContext *owner;    /* strong reference; NULL when owned */
    mcrx_sub *sub;         /* owned sub; NULL when borrowed or closed */
    uint64_t id;
    int busy;              /* owned only; borrowed ones use owner->busy */
} McrxSub;

typedef struct {
    PyObject_HEAD
    uint64_t sub_id;
    mcrx_ip source;
    mcrx_ip group;
    uint16_t source_port;
    uint16_t dst_port;
    uint32_t flags;
    Py_ssize_t len;        /* payload bytes delivered */
    Py_ssize_t wire_len;   /* the datagram's real length */
    PyObject *payload;     /* bytes, or a memoryview of the caller's buffer */
} McrxPacket;

typedef struct {
    PyObject_HEAD
    mcrx_metadata meta;
} McrxMeta;

extern PyTypeObject McrxContext_Type;
extern PyTypeObject McrxSub_Type;
extern PyTypeObject McrxPacket_Type;
extern PyTypeObject McrxMeta_Type;

/* Run one library call with the GIL released; st gets its result, err the
 * OS error it left (read on this thread before the GIL is taken back). */
#define MCRXPY_NOGIL(st, err, call) \
    do {                            \
        Py_BEGIN_ALLOW_THREADS      \
        (st) = (call);              \
        (err) = (st) < 0 ? mcrx_last_os_error() : 0; \
        Py_END_ALLOW_THREADS        \
    } while (0)

/* ---- errors (_mcrx_module.c) ---- */

/* Raise the mcrx.Error subclass for status (os_err: the OS error, 0 if
 * none). Always returns NULL. */
PyObject *mcrxpy_raise(int status, int os_err);
/* Same, returning -1 (for int-returning helpers). */
int mcrxpy_raise_int(int status, int os_err);
/* mcrx.ConcurrentUseError / mcrx.ClosedError with a message; NULL. */
PyObject *mcrxpy_raise_concurrent(void);
PyObject *mcrxpy_raise_closed(const char *what);

/* Enter / leave a library call on an object guarded by *busy. */
int mcrxpy_busy_enter(int *busy);
static inline void mcrxpy_busy_exit(int *busy) { *busy = 0; }

/* ---- values (_mcrx_packet.c; Config, Stats, state: _mcrx_module.c) ---- */

/* A new Packet; payload_obj (a new reference, stolen) becomes its payload,
 * or, when NULL, a bytes copy of pkt->payload is made. */
PyObject *mcrxpy_packet_new(const mcrx_packet *pkt, PyObject *payload_obj);
PyObject *mcrxpy_meta_new(const mcrx_metadata *meta);
/* (Packet, ReceiveMetadata) */
PyObject *mcrxpy_packet_meta_pair(const mcrx_packet *pkt,
                                  const mcrx_metadata *meta);
/* A caller's writable buffer as a memoryview of bytes (new reference), with
 * *view held (release it after the last mcrxpy_packet_at()). */
PyObject *mcrxpy_bytes_view(PyObject *buffer, Py_buffer *view);
/* One received packet copied into view at off: the Packet's payload is
 * mv[off:off+len] (no bytes object); a datagram longer than the room left
 * is cut and flagged truncated. */
PyObject *mcrxpy_packet_at(const mcrx_packet *pkt, Py_buffer *view, PyObject *mv,
                           Py_ssize_t off);
/* 0 when buffer is a writable buffer, else -1 with TypeError/BufferError:
 * checked before receiving, so no datagram is taken and then lost. */
int mcrxpy_check_writable(PyObject *buffer);

/* The Python result of a one-packet receive that returned n (err: its OS
 * error): raise, None, a Packet (copied, or into buffer when given) or a
 * (Packet, ReceiveMetadata) pair when md is given. */
PyObject *mcrxpy_recv_result(int n, int err, const mcrx_packet *pkt,
                             const mcrx_metadata *md, PyObject *buffer);

PyObject *mcrxpy_ip_str(const mcrx_ip *ip); /* str, or None for no family */
PyObject *mcrxpy_config_tuple(const mcrx_config *cfg);
PyObject *mcrxpy_stats_tuple(const mcrx_sub_stats *st);
PyObject *mcrxpy_state_value(mcrx_sub_state state);

/* Parse (group, port, source=None, interface=None, interface_index=None)
 * into cfg with mcrx_config_parse (GIL released: interface names are looked
 * up). interface_index, when not None, is set afterwards (IPv6: it wins
 * over the interface address); the library validates it on add. -1 with an
 * exception set on failure. */
int mcrxpy_parse_config(PyObject *group, PyObject *port, PyObject *source,
                        PyObject *interface, PyObject *ifindex, mcrx_config *cfg);
/* An optional uint32 argument: 0 when None (*out untouched), 1 when set,
 * -1 with TypeError / ValueError. */
int mcrxpy_parse_u32(PyObject *obj, const char *what, uint32_t *out);
/* A subscription id argument: int in 1..2**64-1 (0 is never an id, but is
 * accepted and answered with NotFound by the library). */
int mcrxpy_parse_id(PyObject *obj, uint64_t *id);
/* Optional count argument: None -> dflt; else 0..limit (ValueError). */
int mcrxpy_parse_count(PyObject *obj, Py_ssize_t dflt, Py_ssize_t limit,
                       const char *what, Py_ssize_t *out);

/* socket.socket(fileno=fd): the caller owns the new socket object. On
 * failure fd is closed and NULL returned. */
PyObject *mcrxpy_socket_from_fd(int fd);

/* ---- constructors used across files ---- */

/* A borrowed Subscription of ctx for id (new reference). */
PyObject *mcrxpy_sub_borrowed(McrxContext *ctx, uint64_t id);
/* An owned Subscription wrapping an extracted sub (new reference); on
 * failure the sub is freed. */
PyObject *mcrxpy_sub_owned(mcrx_sub *sub);

#endif /* MCRX_PY_MCRX_H */
