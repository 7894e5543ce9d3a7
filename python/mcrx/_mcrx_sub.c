/*
 * _mcrx.Subscription: borrowed (looked up in its context by id on every
 * call) or owned (taken out of the context).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A borrowed Subscription holds a strong reference to its Context, so the
 * context cannot be freed under it; it never keeps the mcrx_sub pointer,
 * which dies when the subscription is removed or taken: it asks the context
 * for the id each time and raises mcrx.NotFound once it is gone.
 */
#include "_mcrx.h"

#include <structmember.h>

#define SUB_BATCH_DEFAULT 256
#define SUB_BATCH_LIMIT 4096

PyObject *mcrxpy_sub_borrowed(McrxContext *ctx, uint64_t id)
{
    McrxSub *s = PyObject_New(McrxSub, &McrxSub_Type);
    if (!s)
        return NULL;
    s->owner = (McrxContext *)Py_NewRef(ctx);
    s->sub = NULL;
    s->id = id;
    s->busy = 0;
    return (PyObject *)s;
}

PyObject *mcrxpy_sub_owned(mcrx_sub *sub)
{
    McrxSub *s = PyObject_New(McrxSub, &McrxSub_Type);
    if (!s) {
        mcrx_sub_free(sub);
        return NULL;
    }
    s->owner = NULL;
    s->sub = sub;
    s->id = mcrx_sub_id(sub);
    s->busy = 0;
    return (PyObject *)s;
}

/* The busy flag that guards this subscription: its context's when borrowed. */
static int *sub_busy(McrxSub *self)
{
    return self->owner ? &self->owner->busy : &self->busy;
}

/* Enter a call: closed / concurrent checks, then the sub pointer (looked up
 * by id for a borrowed one). NULL with an exception set when unusable. */
static mcrx_sub *sub_enter(McrxSub *self)
{
    if (self->owner && !self->owner->ctx) {
        mcrxpy_raise_closed("the subscription's Context");
        return NULL;
    }
    if (!self->owner && !self->sub) {
        mcrxpy_raise_closed("Subscription");
        return NULL;
    }
    if (mcrxpy_busy_enter(sub_busy(self)))
        return NULL;
    mcrx_sub *sub = self->owner ? mcrx_ctx_get(self->owner->ctx, self->id) : self->sub;
    if (!sub) {
        mcrxpy_busy_exit(sub_busy(self));
        mcrxpy_raise(MCRX_E_NOT_FOUND, 0);
    }
    return sub;
}

static void sub_leave_call(McrxSub *self) { mcrxpy_busy_exit(sub_busy(self)); }

static void sub_free_owned(McrxSub *self)
{
    mcrx_sub *sub = self->sub;
    self->sub = NULL;
    if (sub) {
        Py_BEGIN_ALLOW_THREADS
        mcrx_sub_free(sub); /* leaves if joined, closes the socket */
        Py_END_ALLOW_THREADS
    }
}

static void sub_dealloc(McrxSub *self)
{
    sub_free_owned(self);
    Py_XDECREF(self->owner);
    PyObject_Free(self);
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */
/* ------------------------------------------------------------------ */

static PyObject *sub_config(McrxSub *self, void *c)
{
    (void)c;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    PyObject *r = mcrxpy_config_tuple(mcrx_sub_config(sub));
    sub_leave_call(self);
    return r;
}

static PyObject *sub_state(McrxSub *self, void *c)
{
    (void)c;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    mcrx_sub_state st = mcrx_sub_get_state(sub);
    sub_leave_call(self);
    return mcrxpy_state_value(st);
}

static PyObject *sub_local_addr(McrxSub *self, void *c)
{
    (void)c;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    mcrx_ip ip;
    uint16_t port = 0;
    int st, err;
    MCRXPY_NOGIL(st, err, mcrx_sub_local_addr(sub, &ip, &port));
    sub_leave_call(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    PyObject *a = mcrxpy_ip_str(&ip);
    return a ? Py_BuildValue("(Ni)", a, (int)port) : NULL;
}

static PyObject *sub_rcvbuf(McrxSub *self, void *c)
{
    (void)c;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    uint32_t v;
    Py_BEGIN_ALLOW_THREADS
    v = mcrx_sub_rcvbuf(sub);
    Py_END_ALLOW_THREADS
    sub_leave_call(self);
    return PyLong_FromUnsignedLong(v);
}

static PyObject *sub_owned(McrxSub *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->owner == NULL);
}

static PyObject *sub_closed(McrxSub *self, void *c)
{
    (void)c;
    if (self->owner)
        return PyBool_FromLong(!self->owner->ctx ||
                               (!self->owner->busy &&
                                !mcrx_ctx_contains(self->owner->ctx, self->id)));
    return PyBool_FromLong(self->sub == NULL);
}

/* ------------------------------------------------------------------ */
/* Methods                                                             */
/* ------------------------------------------------------------------ */

static PyObject *sub_fileno(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    int fd = mcrx_sub_fd(sub);
    sub_leave_call(self);
    return PyLong_FromLong(fd);
}

static PyObject *sub_call(McrxSub *self, int (*fn)(mcrx_sub *))
{
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    int st, err;
    MCRXPY_NOGIL(st, err, fn(sub));
    sub_leave_call(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    Py_RETURN_NONE;
}

static PyObject *sub_join(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    return sub_call(self, mcrx_sub_join);
}

static PyObject *sub_leave(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    return sub_call(self, mcrx_sub_leave);
}

static PyObject *sub_stats(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    mcrx_sub_stats s;
    int st, err;
    MCRXPY_NOGIL(st, err, mcrx_sub_get_stats(sub, &s));
    sub_leave_call(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    return mcrxpy_stats_tuple(&s);
}

/* One receive on a sub that sub_enter() returned; result built while the
 * busy flag still protects the packet view. */
static PyObject *sub_recv_one(mcrx_sub *sub, bool meta, PyObject *buffer, int *got)
{
    mcrx_packet pkt;
    mcrx_metadata md;
    int n, err;
    MCRXPY_NOGIL(n, err, meta ? mcrx_sub_try_recv_meta(sub, &pkt, &md)
                              : mcrx_sub_try_recv(sub, &pkt));
    *got = n;
    return mcrxpy_recv_result(n, err, &pkt, meta ? &md : NULL, buffer);
}

static PyObject *sub_try_recv_impl(McrxSub *self, bool meta, PyObject *buffer)
{
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    int got;
    PyObject *r = sub_recv_one(sub, meta, buffer, &got);
    sub_leave_call(self);
    return r;
}

static PyObject *sub_try_recv(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    return sub_try_recv_impl(self, false, NULL);
}

static PyObject *sub_try_recv_meta(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    return sub_try_recv_impl(self, true, NULL);
}

static PyObject *sub_recv_into(McrxSub *self, PyObject *buffer)
{
    if (mcrxpy_check_writable(buffer) < 0)
        return NULL;
    return sub_try_recv_impl(self, false, buffer);
}

/* Up to max packets of this subscription in one Python call (the library
 * reads a whole turn per syscall, so this is one syscall per turn). */
static PyObject *sub_recv_batch_impl(McrxSub *self, PyObject *args, PyObject *kw, bool meta)
{
    static char *kwlist[] = {"max", NULL};
    PyObject *maxobj = Py_None;
    Py_ssize_t max;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:recv_batch", kwlist, &maxobj) ||
        mcrxpy_parse_count(maxobj, SUB_BATCH_DEFAULT, SUB_BATCH_LIMIT, "max", &max))
        return NULL;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    PyObject *list = PyList_New(0);
    for (Py_ssize_t i = 0; list && i < max; i++) {
        int got;
        PyObject *p = sub_recv_one(sub, meta, NULL, &got);
        if (!p) {
            if (PyList_GET_SIZE(list) > 0 && got < 0)
                PyErr_Clear(); /* deliver what came; the next call reports it */
            else
                Py_CLEAR(list);
            break;
        }
        if (p == Py_None) {
            Py_DECREF(p);
            break;
        }
        if (PyList_Append(list, p) < 0)
            Py_CLEAR(list);
        Py_DECREF(p);
    }
    sub_leave_call(self);
    return list;
}

static PyObject *sub_recv_batch(McrxSub *self, PyObject *args, PyObject *kw)
{
    return sub_recv_batch_impl(self, args, kw, false);
}

static PyObject *sub_recv_batch_meta(McrxSub *self, PyObject *args, PyObject *kw)
{
    return sub_recv_batch_impl(self, args, kw, true);
}

static PyObject *sub_into_socket(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    mcrx_sub *sub = sub_enter(self);
    if (!sub)
        return NULL;
    int st = MCRX_OK, err = 0;
    bool taken = false;
    if (self->owner) { /* only an extracted sub can be dismantled: take it first */
        MCRXPY_NOGIL(st, err, mcrx_ctx_take(self->owner->ctx, self->id, &sub));
        taken = st == MCRX_OK;
    }
    mcrx_sub_parts parts;
    if (st == MCRX_OK)
        MCRXPY_NOGIL(st, err, mcrx_sub_into_parts(sub, &parts));
    if (st != MCRX_OK && taken)
        mcrx_sub_free(sub); /* cannot happen for a just-taken sub; never leak it */
    sub_leave_call(self);
    if (st != MCRX_OK)
        return mcrxpy_raise(st, err);
    self->sub = NULL; /* owned: consumed; borrowed: its id is gone */
    return mcrxpy_socket_from_fd(parts.fd);
}

static PyObject *sub_close(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    if (self->owner) {
        PyErr_SetString(PyExc_TypeError,
                        "a borrowed Subscription belongs to its Context: use "
                        "Context.remove(id)");
        return NULL;
    }
    if (self->busy)
        return mcrxpy_raise_concurrent();
    sub_free_owned(self);
    Py_RETURN_NONE;
}

static PyObject *sub_enter_cm(McrxSub *self, PyObject *noargs)
{
    (void)noargs;
    return Py_NewRef(self);
}

static PyObject *sub_exit_cm(McrxSub *self, PyObject *args)
{
    (void)args;
    if (self->owner)
        Py_RETURN_NONE; /* borrowed: the context decides */
    return sub_close(self, NULL);
}

static PyObject *sub_repr(McrxSub *self)
{
    return PyUnicode_FromFormat("<mcrx.Subscription id=%llu %s>",
                                (unsigned long long)self->id,
                                self->owner ? "borrowed" : (self->sub ? "owned" : "closed"));
}

static PyMemberDef sub_members[] = {
    {"id", T_ULONGLONG, offsetof(McrxSub, id), READONLY, "subscription id (never reused)"},
    {NULL}};

static PyGetSetDef sub_getset[] = {
    {"config", (getter)sub_config, NULL, "mcrx.Config it was added with", NULL},
    {"state", (getter)sub_state, NULL, "SubscriptionState.BOUND or .JOINED", NULL},
    {"local_addr", (getter)sub_local_addr, NULL, "(address, port) the socket is bound to", NULL},
    {"rcvbuf", (getter)sub_rcvbuf, NULL, "receive buffer the kernel granted (bytes)", NULL},
    {"owned", (getter)sub_owned, NULL, "True when taken out of its context", NULL},
    {"closed", (getter)sub_closed, NULL,
     "True when closed, removed, taken (for a borrowed one) or its context closed", NULL},
    {NULL}};

#define KW (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef sub_methods[] = {
    {"fileno", (PyCFunction)sub_fileno, METH_NOARGS,
     "fileno() -> the socket fd (borrowed: do not read or close it). Readable means "
     "data in the kernel queue; an owned subscription may also hold read-ahead "
     "datagrams, so drain with try_recv() until None before waiting on it."},
    {"join", (PyCFunction)sub_join, METH_NOARGS, "join(): BOUND -> JOINED"},
    {"leave", (PyCFunction)sub_leave, METH_NOARGS, "leave(): JOINED -> BOUND"},
    {"stats", (PyCFunction)sub_stats, METH_NOARGS, "stats() -> mcrx.Stats"},
    {"try_recv", (PyCFunction)sub_try_recv, METH_NOARGS,
     "try_recv() -> Packet or None (this subscription only)"},
    {"try_recv_with_metadata", (PyCFunction)sub_try_recv_meta, METH_NOARGS,
     "try_recv_with_metadata() -> (Packet, ReceiveMetadata) or None"},
    {"recv_into", (PyCFunction)sub_recv_into, METH_O,
     "recv_into(buffer) -> Packet or None, payload copied into buffer (see "
     "Context.recv_into)"},
    {"recv_batch", (PyCFunction)(void (*)(void))sub_recv_batch, KW,
     "recv_batch(max=None) -> list of Packet (default 256, cap 4096)"},
    {"recv_batch_with_metadata", (PyCFunction)(void (*)(void))sub_recv_batch_meta, KW,
     "recv_batch_with_metadata(max=None) -> list of (Packet, ReceiveMetadata)"},
    {"into_socket", (PyCFunction)sub_into_socket, METH_NOARGS,
     "into_socket() -> socket.socket you own (still joined if it was; non-blocking). "
     "A borrowed subscription is taken out of its context first."},
    {"close", (PyCFunction)sub_close, METH_NOARGS,
     "close(): owned only: leave if joined and close the socket"},
    {"__enter__", (PyCFunction)sub_enter_cm, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)sub_exit_cm, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

PyTypeObject McrxSub_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcrx.Subscription",
    .tp_doc = PyDoc_STR(
        "A subscription, from Context.get() (borrowed: belongs to the context, "
        "raises NotFound once removed or taken) or Context.take() (owned: has its own "
        "receiver, may move to another thread; one thread at a time)."),
    .tp_basicsize = sizeof(McrxSub),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)sub_dealloc,
    .tp_repr = (reprfunc)sub_repr,
    .tp_members = sub_members,
    .tp_getset = sub_getset,
    .tp_methods = sub_methods,
};
