/*
 * _mcrx.Context: a context and the subscriptions it owns.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Every method that calls the library goes through ctx_enter() (closed and
 * busy checks), releases the GIL for the call, and builds its Python result
 * before ctx_leave(): packet views stay valid until the next library call on
 * the context, and the busy flag keeps any other thread out until the
 * payloads are copied.
 */
#include "_mcrx.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <time.h>

static int ctx_enter(McrxContext *self)
{
    if (!self->ctx) {
        mcrxpy_raise_closed("Context");
        return -1;
    }
    return mcrxpy_busy_enter(&self->busy);
}

static void ctx_leave(McrxContext *self) { mcrxpy_busy_exit(&self->busy); }

/* For calls that read the subscription registry without releasing the GIL
 * (get, ids, len, in): the registry must not be read while another thread
 * is changing it inside the library. */
static int ctx_check_idle(McrxContext *self)
{
    if (!self->ctx) {
        mcrxpy_raise_closed("Context");
        return -1;
    }
    if (self->busy) {
        mcrxpy_raise_concurrent();
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Creation and closing                                                */
/* ------------------------------------------------------------------ */

/* An option value: None keeps the default, else an int in 0..2**32-1 (the
 * library checks the real range and answers mcrx.BadOption). */
static int opt_u32(PyObject *obj, const char *name, uint32_t *out)
{
    return mcrxpy_parse_u32(obj, name, out) < 0 ? -1 : 0;
}

static int opt_backend(PyObject *obj, mcrx_backend_kind *out)
{
    if (!obj || obj == Py_None)
        return 0;
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "backend must be str or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *name = PyUnicode_AsUTF8(obj);
    if (!name)
        return -1;
    int st = mcrx_backend_parse(name, out);
    return st == MCRX_OK ? 0 : mcrxpy_raise_int(st, 0);
}

static int ctx_init(McrxContext *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"backend", "max_payload", "max_batch", "turn_budget",
                             "rcvbuf_bytes", "sub_ring_size", "timestamps", NULL};
    PyObject *backend = NULL, *max_payload = NULL, *max_batch = NULL, *budget = NULL,
             *rcvbuf = NULL, *ring = NULL, *ts = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$OOOOOO:Context", kwlist, &backend,
                                     &max_payload, &max_batch, &budget, &rcvbuf,
                                     &ring, &ts))
        return -1;
    if (self->ctx || self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Context.__init__ called twice");
        return -1;
    }
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
    if (opt_backend(backend, &o.backend) || opt_u32(max_payload, "max_payload", &o.max_payload) ||
        opt_u32(max_batch, "max_batch", &o.max_batch) ||
        opt_u32(budget, "turn_budget", &o.turn_budget) ||
        opt_u32(rcvbuf, "rcvbuf_bytes", &o.rcvbuf_bytes) ||
        opt_u32(ring, "sub_ring_size", &o.sub_ring_size))
        return -1;
    if (ts && ts != Py_None) {
        int t = PyObject_IsTrue(ts);
        if (t < 0)
            return -1;
        o.timestamps = t;
    }
    mcrx_ctx *ctx = NULL;
    int st, err;
    MCRXPY_NOGIL(st, err, mcrx_ctx_new(&ctx, &o));
    if (st != MCRX_OK)
        return mcrxpy_raise_int(st, err);
    mcrx_ctx_get_options(ctx, &o);
    self->pkts = PyMem_Calloc(o.max_batch, sizeof *self->pkts);
    self->metas = PyMem_Calloc(o.max_batch, sizeof *self->metas);
    if (!self->pkts || !self->metas) {
        PyMem_Free(self->pkts);
        PyMem_Free(self->metas);
        self->pkts = NULL;
        self->metas = NULL;
        mcrx_ctx_free(ctx);
        PyErr_NoMemory();
        return -1;
    }
    self->ctx = ctx;
    self->max_batch = o.max_batch;
    self->max_payload = o.max_payload;
    return 0;
}

static void ctx_release(McrxContext *self)
{
    mcrx_ctx *ctx = self->ctx;
    self->ctx = NULL;
    if (ctx) {
        Py_BEGIN_ALLOW_THREADS
        mcrx_ctx_free(ctx); /* leaves joined groups, closes sockets */
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(self->pkts);
    PyMem_Free(self->metas);
    self->pkts = NULL;
    self->metas = NULL;
}

static void ctx_dealloc(McrxContext *self)
{
    ctx_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *ctx_close(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    if (self->busy)
        return mcrxpy_raise_concurrent();
    ctx_release(self);
    Py_RETURN_NONE;
}

static PyObject *ctx_enter_cm(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    if (!self->ctx)
        return mcrxpy_raise_closed("Context");
    return Py_NewRef(self);
}

static PyObject *ctx_exit_cm(McrxContext *self, PyObject *args)
{
    (void)args;
    return ctx_close(self, NULL);
}

/* ------------------------------------------------------------------ */
/* Subscriptions                                                       */
/* ------------------------------------------------------------------ */

static PyObject *ctx_add(McrxContext *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"group", "port", "source", "interface", "interface_index",
                             NULL};
    PyObject *group, *port, *source = Py_None, *iface = Py_None, *ifindex = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO$O:add", kwlist, &group, &port,
                                     &source, &iface, &ifindex))
        return NULL;
    mcrx_config cfg;
    if (ctx_enter(self))
        return NULL;
    uint64_t id = 0;
    int st = MCRX_OK, err = 0;
    int bad = mcrxpy_parse_config(group, port, source, iface, ifindex, &cfg);
    if (!bad)
        MCRXPY_NOGIL(st, err, mcrx_ctx_add(self->ctx, &cfg, &id));
    ctx_leave(self);
    if (bad)
        return NULL;
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    return PyLong_FromUnsignedLongLong(id);
}

/* A socket argument: an int fd, or an object with fileno() (socket.socket).
 * *detach is set for the latter: on success the Python object must let go
 * of the fd, which the context now owns. */
static int socket_arg(PyObject *obj, int *fd, bool *detach)
{
    *detach = !PyLong_Check(obj);
    if (PyBool_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "sock must be a socket or an int fd, not bool");
        return -1;
    }
    *fd = PyObject_AsFileDescriptor(obj);
    return *fd < 0 ? -1 : 0;
}

static PyObject *ctx_add_with_socket(McrxContext *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"sock", "group", "port", "source", "interface",
                             "interface_index", NULL};
    PyObject *sock, *group, *port, *source = Py_None, *iface = Py_None, *ifindex = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OO$O:add_with_socket", kwlist, &sock,
                                     &group, &port, &source, &iface, &ifindex))
        return NULL;
    int fd;
    bool detach;
    mcrx_config cfg;
    if (socket_arg(sock, &fd, &detach) || ctx_enter(self))
        return NULL;
    uint64_t id = 0;
    int st = MCRX_OK, err = 0;
    int bad = mcrxpy_parse_config(group, port, source, iface, ifindex, &cfg);
    if (!bad)
        MCRXPY_NOGIL(st, err, mcrx_ctx_add_with_socket(self->ctx, &cfg, fd, &id));
    ctx_leave(self);
    if (bad)
        return NULL;
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    if (detach) {
        /* The context closes the fd now; the socket object must not. */
        PyObject *r = PyObject_CallMethod(sock, "detach", NULL);
        if (!r)
            PyErr_Clear(); /* no detach(): the caller was told to let go */
        Py_XDECREF(r);
    }
    return PyLong_FromUnsignedLongLong(id);
}

typedef int (*ctx_id_fn)(mcrx_ctx *, uint64_t);

/* join / leave / remove: one id, no result. */
static PyObject *ctx_id_call(McrxContext *self, PyObject *arg, ctx_id_fn fn)
{
    uint64_t id;
    if (mcrxpy_parse_id(arg, &id) || ctx_enter(self))
        return NULL;
    int st, err;
    MCRXPY_NOGIL(st, err, fn(self->ctx, id));
    ctx_leave(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    Py_RETURN_NONE;
}

static PyObject *ctx_join(McrxContext *self, PyObject *arg)
{
    return ctx_id_call(self, arg, mcrx_ctx_join);
}

static PyObject *ctx_leave_m(McrxContext *self, PyObject *arg)
{
    return ctx_id_call(self, arg, mcrx_ctx_leave);
}

static PyObject *ctx_remove(McrxContext *self, PyObject *arg)
{
    return ctx_id_call(self, arg, mcrx_ctx_remove);
}

static PyObject *ctx_get(McrxContext *self, PyObject *arg)
{
    uint64_t id;
    if (mcrxpy_parse_id(arg, &id) || ctx_check_idle(self))
        return NULL;
    if (!mcrx_ctx_contains(self->ctx, id))
        Py_RETURN_NONE;
    return mcrxpy_sub_borrowed(self, id);
}

static PyObject *ctx_take(McrxContext *self, PyObject *arg)
{
    uint64_t id;
    if (mcrxpy_parse_id(arg, &id) || ctx_enter(self))
        return NULL;
    mcrx_sub *sub = NULL;
    int st, err;
    MCRXPY_NOGIL(st, err, mcrx_ctx_take(self->ctx, id, &sub));
    ctx_leave(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    return mcrxpy_sub_owned(sub);
}

static PyObject *ctx_ids(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    if (ctx_check_idle(self))
        return NULL;
    size_t n = mcrx_ctx_count(self->ctx);
    uint64_t *ids = PyMem_Calloc(n ? n : 1, sizeof *ids);
    if (!ids)
        return PyErr_NoMemory();
    n = mcrx_ctx_list(self->ctx, ids, n);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(ids[i]);
        if (!v)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    PyMem_Free(ids);
    return list;
}

static Py_ssize_t ctx_len(McrxContext *self)
{
    if (ctx_check_idle(self))
        return -1;
    return (Py_ssize_t)mcrx_ctx_count(self->ctx);
}

static int ctx_contains(McrxContext *self, PyObject *arg)
{
    uint64_t id;
    if (!PyLong_Check(arg) || PyBool_Check(arg))
        return 0;
    if (mcrxpy_parse_id(arg, &id)) {
        PyErr_Clear();
        return 0;
    }
    if (ctx_check_idle(self))
        return -1;
    return mcrx_ctx_contains(self->ctx, id);
}

/* ------------------------------------------------------------------ */
/* Waiting and receiving                                               */
/* ------------------------------------------------------------------ */

static PyObject *ctx_fileno(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    if (!self->ctx)
        return mcrxpy_raise_closed("Context");
    return PyLong_FromLong(mcrx_ctx_fd(self->ctx));
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* timeout in seconds (None: forever) -> milliseconds, rounded up. */
static int timeout_ms_arg(PyObject *obj, double *deadline_s, int *ms)
{
    *deadline_s = -1;
    *ms = -1;
    if (!obj || obj == Py_None)
        return 0;
    double t = PyFloat_AsDouble(obj);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(t) || t < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout must be >= 0 or None");
        return -1;
    }
    double m = ceil(t * 1000.0);
    *ms = m > INT_MAX ? INT_MAX : (int)m;
    *deadline_s = t;
    return 0;
}

static PyObject *ctx_wait(McrxContext *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait", kwlist, &timeout))
        return NULL;
    double secs;
    int ms;
    if (timeout_ms_arg(timeout, &secs, &ms))
        return NULL;
    double start = mono_now();
    for (;;) {
        if (ctx_enter(self))
            return NULL;
        int st, err;
        MCRXPY_NOGIL(st, err, mcrx_ctx_wait(self->ctx, ms));
        ctx_leave(self);
        if (st >= 0)
            return PyBool_FromLong(st > 0);
        if (st != MCRX_E_INTERRUPTED && err != EINTR)
            return mcrxpy_raise(st, err);
        /* PEP 475: run signal handlers, then wait for what is left. */
        if (PyErr_CheckSignals() < 0)
            return NULL;
        if (ms > 0) {
            double left = secs - (mono_now() - start);
            ms = left <= 0 ? 0 : (int)ceil(left * 1000.0 > INT_MAX ? INT_MAX : left * 1000.0);
        }
    }
}

/* One packet (try_recv_any, with or without metadata, or into a buffer). */
static PyObject *ctx_recv_one(McrxContext *self, bool meta, PyObject *buffer)
{
    if (ctx_enter(self))
        return NULL;
    int n, err;
    MCRXPY_NOGIL(n, err, meta ? mcrx_ctx_try_recv_any_meta(self->ctx, self->pkts, self->metas)
                              : mcrx_ctx_try_recv_any(self->ctx, self->pkts));
    PyObject *r = mcrxpy_recv_result(n, err, self->pkts, meta ? self->metas : NULL, buffer);
    ctx_leave(self);
    return r;
}

static PyObject *ctx_try_recv_any(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    return ctx_recv_one(self, false, NULL);
}

static PyObject *ctx_try_recv_any_meta(McrxContext *self, PyObject *noargs)
{
    (void)noargs;
    return ctx_recv_one(self, true, NULL);
}

static PyObject *ctx_recv_into(McrxContext *self, PyObject *buffer)
{
    if (mcrxpy_check_writable(buffer) < 0)
        return NULL;
    return ctx_recv_one(self, false, buffer);
}

static PyObject *ctx_recv_batch_impl(McrxContext *self, PyObject *args, PyObject *kw,
                                     bool meta)
{
    static char *kwlist[] = {"max", NULL};
    PyObject *maxobj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, meta ? "|O:recv_batch_with_metadata"
                                                    : "|O:recv_batch",
                                     kwlist, &maxobj))
        return NULL;
    Py_ssize_t max;
    if (ctx_enter(self))
        return NULL;
    if (mcrxpy_parse_count(maxobj, self->max_batch, self->max_batch, "max", &max)) {
        ctx_leave(self);
        return NULL;
    }
    int n = 0, err = 0;
    if (max > 0)
        MCRXPY_NOGIL(n, err, meta ? mcrx_ctx_recv_batch_meta(self->ctx, self->pkts,
                                                             self->metas, (size_t)max)
                                  : mcrx_ctx_recv_batch(self->ctx, self->pkts, (size_t)max));
    PyObject *list = n < 0 ? mcrxpy_raise(n, err) : PyList_New(n);
    for (int i = 0; list && i < n; i++) {
        PyObject *p = meta ? mcrxpy_packet_meta_pair(&self->pkts[i], &self->metas[i])
                           : mcrxpy_packet_new(&self->pkts[i], NULL);
        if (!p)
            Py_CLEAR(list); /* the packets handed out so far are lost */
        else
            PyList_SET_ITEM(list, i, p);
    }
    ctx_leave(self);
    return list;
}

/* Packets copied back to back into the caller's buffer: as many batches as
 * fit whole (each payload is at most max_payload bytes), so nothing is cut
 * and nothing taken from the library is left behind. */
static PyObject *fill_into(McrxContext *self, Py_buffer *view, PyObject *mv, Py_ssize_t max)
{
    PyObject *list = PyList_New(0);
    Py_ssize_t off = 0, count = 0;
    while (list && count < max) {
        Py_ssize_t k = (view->len - off) / (Py_ssize_t)self->max_payload;
        if (k > max - count)
            k = max - count;
        if (k <= 0)
            break;
        int n, err;
        MCRXPY_NOGIL(n, err, mcrx_ctx_recv_batch(self->ctx, self->pkts, (size_t)k));
        if (n < 0) {
            if (count == 0)
                Py_SETREF(list, mcrxpy_raise(n, err));
            break; /* what came is delivered; the next call reports it */
        }
        for (int i = 0; list && i < n; i++) {
            PyObject *p = mcrxpy_packet_at(&self->pkts[i], view, mv, off);
            off += (Py_ssize_t)self->pkts[i].len;
            if (!p || PyList_Append(list, p) < 0)
                Py_CLEAR(list);
            Py_XDECREF(p);
        }
        count += n;
        if (n < k)
            break;
    }
    return list;
}

static PyObject *ctx_recv_batch_into(McrxContext *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"buffer", "max", NULL};
    PyObject *buffer, *maxobj = Py_None;
    Py_ssize_t max;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:recv_batch_into", kwlist, &buffer,
                                     &maxobj) ||
        mcrxpy_parse_count(maxobj, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, "max", &max))
        return NULL;
    Py_buffer view;
    PyObject *mv = mcrxpy_bytes_view(buffer, &view); /* held: no resize meanwhile */
    if (!mv)
        return NULL;
    PyObject *list = NULL;
    if (ctx_enter(self) == 0) {
        list = fill_into(self, &view, mv, max);
        ctx_leave(self);
    }
    PyBuffer_Release(&view);
    Py_DECREF(mv);
    return list;
}

static PyObject *ctx_recv_batch(McrxContext *self, PyObject *args, PyObject *kw)
{
    return ctx_recv_batch_impl(self, args, kw, false);
}

static PyObject *ctx_recv_batch_meta(McrxContext *self, PyObject *args, PyObject *kw)
{
    return ctx_recv_batch_impl(self, args, kw, true);
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */
/* ------------------------------------------------------------------ */

static PyObject *ctx_backend(McrxContext *self, void *c)
{
    (void)c;
    if (!self->ctx)
        return mcrxpy_raise_closed("Context");
    return PyUnicode_FromString(mcrx_backend_name(mcrx_ctx_backend(self->ctx)));
}

static PyObject *ctx_fell_back(McrxContext *self, void *c)
{
    (void)c;
    if (!self->ctx)
        return mcrxpy_raise_closed("Context");
    return PyBool_FromLong(mcrx_ctx_backend_fell_back(self->ctx));
}

static PyObject *ctx_options(McrxContext *self, void *c)
{
    (void)c;
    if (!self->ctx)
        return mcrxpy_raise_closed("Context");
    mcrx_ctx_options o;
    mcrx_ctx_get_options(self->ctx, &o);
    return Py_BuildValue("{s:s,s:I,s:I,s:I,s:I,s:I,s:O}", "backend",
                         mcrx_backend_name(mcrx_ctx_backend(self->ctx)), "max_payload",
                         o.max_payload, "max_batch", o.max_batch, "turn_budget",
                         o.turn_budget, "rcvbuf_bytes", o.rcvbuf_bytes, "sub_ring_size",
                         o.sub_ring_size, "timestamps", o.timestamps ? Py_True : Py_False);
}

static PyObject *ctx_closed(McrxContext *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->ctx == NULL);
}

static PyObject *ctx_repr(McrxContext *self)
{
    if (!self->ctx)
        return PyUnicode_FromString("<mcrx.Context closed>");
    return PyUnicode_FromFormat("<mcrx.Context backend=%s subscriptions=%zu>",
                                mcrx_backend_name(mcrx_ctx_backend(self->ctx)),
                                mcrx_ctx_count(self->ctx));
}

static PyGetSetDef ctx_getset[] = {
    {"backend", (getter)ctx_backend, NULL, "active backend name ('recvmmsg', 'io_uring')", NULL},
    {"backend_fell_back", (getter)ctx_fell_back, NULL,
     "True when the default backend could not run here and another was used", NULL},
    {"options", (getter)ctx_options, NULL, "the options in effect (dict)", NULL},
    {"closed", (getter)ctx_closed, NULL, "True after close()", NULL},
    {NULL}};

#define KW (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef ctx_methods[] = {
    {"add", (PyCFunction)(void (*)(void))ctx_add, KW,
     "add(group, port, source=None, interface=None, *, interface_index=None) -> id\n\n"
     "Validate, open a UDP socket bound to port and add it (state BOUND). interface: "
     "address, name or index (str or int); interface_index (IPv6) wins over it."},
    {"add_with_socket", (PyCFunction)(void (*)(void))ctx_add_with_socket, KW,
     "add_with_socket(sock, group, port, source=None, interface=None, *, "
     "interface_index=None) -> id\n\nLike add() "
     "with your bound UDP socket (socket.socket or fd). On success the context owns it "
     "(a socket.socket is detached); on failure you still do."},
    {"join", (PyCFunction)ctx_join, METH_O, "join(id): join the group (BOUND -> JOINED)"},
    {"leave", (PyCFunction)ctx_leave_m, METH_O, "leave(id): leave (JOINED -> BOUND)"},
    {"remove", (PyCFunction)ctx_remove, METH_O,
     "remove(id): leave if joined, close the socket, forget the id"},
    {"get", (PyCFunction)ctx_get, METH_O,
     "get(id) -> Subscription or None (borrowed: it stays in the context)"},
    {"take", (PyCFunction)ctx_take, METH_O,
     "take(id) -> Subscription (owned: out of the context, with its own receiver)"},
    {"ids", (PyCFunction)ctx_ids, METH_NOARGS, "ids() -> list of ids, ascending"},
    {"fileno", (PyCFunction)ctx_fileno, METH_NOARGS,
     "fileno() -> fd that polls readable while a subscription may have data (do not "
     "read or close it)"},
    {"wait", (PyCFunction)(void (*)(void))ctx_wait, KW,
     "wait(timeout=None) -> bool: block (GIL released) until data may be ready or "
     "timeout seconds pass"},
    {"try_recv_any", (PyCFunction)ctx_try_recv_any, METH_NOARGS,
     "try_recv_any() -> Packet or None"},
    {"try_recv_any_with_metadata", (PyCFunction)ctx_try_recv_any_meta, METH_NOARGS,
     "try_recv_any_with_metadata() -> (Packet, ReceiveMetadata) or None"},
    {"recv_into", (PyCFunction)ctx_recv_into, METH_O,
     "recv_into(buffer) -> Packet or None: the payload is copied into buffer (a "
     "writable buffer such as bytearray) and Packet.payload is a memoryview of it; a "
     "datagram longer than buffer is cut and flagged truncated"},
    {"recv_batch", (PyCFunction)(void (*)(void))ctx_recv_batch, KW,
     "recv_batch(max=None) -> list of Packet (at most max, default and cap: max_batch; "
     "[] when nothing is ready)"},
    {"recv_batch_into", (PyCFunction)(void (*)(void))ctx_recv_batch_into, KW,
     "recv_batch_into(buffer, max=None) -> list of Packet: payloads copied back to back "
     "into buffer (no bytes objects; each Packet.payload is a memoryview of its part). "
     "Takes as many datagrams as surely fit: while at least max_payload bytes are "
     "left, so size buffer in multiples of max_payload (a small max_payload helps)."},
    {"recv_batch_with_metadata", (PyCFunction)(void (*)(void))ctx_recv_batch_meta, KW,
     "recv_batch_with_metadata(max=None) -> list of (Packet, ReceiveMetadata)"},
    {"close", (PyCFunction)ctx_close, METH_NOARGS,
     "close(): remove every subscription (leave, close sockets) and free the context"},
    {"__enter__", (PyCFunction)ctx_enter_cm, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)ctx_exit_cm, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PySequenceMethods ctx_as_sequence = {
    .sq_length = (lenfunc)ctx_len,
    .sq_contains = (objobjproc)ctx_contains,
};

PyTypeObject McrxContext_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcrx.Context",
    .tp_doc = PyDoc_STR(
        "Context(backend=None, *, max_payload=None, max_batch=None, turn_budget=None,\n"
        "        rcvbuf_bytes=None, sub_ring_size=None, timestamps=None)\n\n"
        "Owns subscriptions and a receive backend ('recvmmsg', 'io_uring' or None for "
        "the build's default with fallback). Not thread-safe: use it from one thread "
        "at a time; a second thread calling in while the first is inside the library "
        "gets mcrx.ConcurrentUseError."),
    .tp_basicsize = sizeof(McrxContext),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)ctx_init,
    .tp_dealloc = (destructor)ctx_dealloc,
    .tp_repr = (reprfunc)ctx_repr,
    .tp_methods = ctx_methods,
    .tp_getset = ctx_getset,
    .tp_as_sequence = &ctx_as_sequence,
};
