/*
 * _mcrx value types: Packet and ReceiveMetadata, and the builders the
 * receive calls share (copy a packet, place it in a caller's buffer).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "_mcrx.h"

#include <structmember.h>

#include <string.h>

/* ------------------------------------------------------------------ */
/* Packet                                                              */
/* ------------------------------------------------------------------ */

static McrxPacket *packet_alloc(const mcrx_packet *pkt)
{
    McrxPacket *p = PyObject_New(McrxPacket, &McrxPacket_Type);
    if (!p)
        return NULL;
    p->sub_id = pkt->sub_id;
    p->source = pkt->source;
    p->group = pkt->group;
    p->source_port = pkt->source_port;
    p->dst_port = pkt->dst_port;
    p->flags = pkt->flags;
    p->len = (Py_ssize_t)pkt->len;
    p->wire_len = (Py_ssize_t)pkt->wire_len;
    p->payload = NULL;
    return p;
}

PyObject *mcrxpy_packet_new(const mcrx_packet *pkt, PyObject *payload_obj)
{
    if (!payload_obj) {
        payload_obj = PyBytes_FromStringAndSize((const char *)pkt->payload,
                                                (Py_ssize_t)pkt->len);
        if (!payload_obj)
            return NULL;
    }
    McrxPacket *p = packet_alloc(pkt);
    if (!p) {
        Py_DECREF(payload_obj);
        return NULL;
    }
    p->payload = payload_obj;
    return (PyObject *)p;
}

int mcrxpy_check_writable(PyObject *buffer)
{
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0)
        return -1;
    PyBuffer_Release(&view);
    return 0;
}

PyObject *mcrxpy_bytes_view(PyObject *buffer, Py_buffer *view)
{
    if (PyObject_GetBuffer(buffer, view, PyBUF_WRITABLE) < 0)
        return NULL;
    PyObject *mv = PyMemoryView_FromObject(buffer);
    if (mv && view->itemsize != 1) /* e.g. array('i'): slice by bytes, not items */
        Py_SETREF(mv, PyObject_CallMethod(mv, "cast", "s", "B"));
    if (!mv)
        PyBuffer_Release(view);
    return mv;
}

PyObject *mcrxpy_packet_at(const mcrx_packet *pkt, Py_buffer *view, PyObject *mv,
                           Py_ssize_t off)
{
    Py_ssize_t room = view->len - off;
    Py_ssize_t n = (Py_ssize_t)pkt->len < room ? (Py_ssize_t)pkt->len : room;
    memcpy((char *)view->buf + off, pkt->payload, (size_t)n);
    PyObject *slice = PySequence_GetSlice(mv, off, off + n);
    if (!slice)
        return NULL;
    McrxPacket *p = (McrxPacket *)mcrxpy_packet_new(pkt, slice);
    if (p && n < (Py_ssize_t)pkt->len) {
        p->len = n;
        p->flags |= MCRX_PKT_TRUNCATED;
    }
    return (PyObject *)p;
}

static PyObject *packet_into(const mcrx_packet *pkt, PyObject *buffer)
{
    Py_buffer view;
    PyObject *mv = mcrxpy_bytes_view(buffer, &view);
    if (!mv)
        return NULL;
    PyObject *p = mcrxpy_packet_at(pkt, &view, mv, 0);
    PyBuffer_Release(&view);
    Py_DECREF(mv);
    return p;
}

PyObject *mcrxpy_recv_result(int n, int err, const mcrx_packet *pkt,
                             const mcrx_metadata *md, PyObject *buffer)
{
    if (n < 0)
        return mcrxpy_raise(n, err);
    if (n == 0)
        Py_RETURN_NONE;
    if (buffer)
        return packet_into(pkt, buffer);
    return md ? mcrxpy_packet_meta_pair(pkt, md) : mcrxpy_packet_new(pkt, NULL);
}

static void packet_dealloc(McrxPacket *self)
{
    Py_XDECREF(self->payload);
    PyObject_Free(self);
}

static PyObject *packet_source(McrxPacket *self, void *c)
{
    (void)c;
    return mcrxpy_ip_str(&self->source);
}

static PyObject *packet_group(McrxPacket *self, void *c)
{
    (void)c;
    return mcrxpy_ip_str(&self->group);
}

static PyObject *packet_truncated(McrxPacket *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->flags & MCRX_PKT_TRUNCATED);
}

static PyObject *packet_repr(McrxPacket *self)
{
    char src[MCRX_IP_STRLEN] = "?", grp[MCRX_IP_STRLEN] = "?";
    mcrx_ip_format(&self->source, src, sizeof src);
    mcrx_ip_format(&self->group, grp, sizeof grp);
    return PyUnicode_FromFormat(
        "Packet(sub_id=%llu, source='%s', source_port=%u, group='%s', "
        "dst_port=%u, len=%zd, wire_len=%zd%s)",
        (unsigned long long)self->sub_id, src, (unsigned)self->source_port, grp,
        (unsigned)self->dst_port, self->len, self->wire_len,
        (self->flags & MCRX_PKT_TRUNCATED) ? ", truncated=True" : "");
}

static PyMemberDef packet_members[] = {
    {"sub_id", T_ULONGLONG, offsetof(McrxPacket, sub_id), READONLY,
     "id of the subscription that received it"},
    {"source_port", T_USHORT, offsetof(McrxPacket, source_port), READONLY,
     "sender's UDP port"},
    {"dst_port", T_USHORT, offsetof(McrxPacket, dst_port), READONLY,
     "UDP destination port"},
    {"len", T_PYSSIZET, offsetof(McrxPacket, len), READONLY,
     "payload bytes delivered (< wire_len when truncated)"},
    {"wire_len", T_PYSSIZET, offsetof(McrxPacket, wire_len), READONLY,
     "the datagram's real length"},
    /* A member, not a getter: the cheapest attribute access per packet. */
    {"payload", T_OBJECT_EX, offsetof(McrxPacket, payload), READONLY,
     "the payload: bytes (a copy), or a memoryview of the caller's buffer for "
     "recv_into()"},
    {NULL}};

static PyGetSetDef packet_getset[] = {
    {"source", (getter)packet_source, NULL, "sender address (str)", NULL},
    {"group", (getter)packet_group, NULL, "the subscription's group (str)", NULL},
    {"truncated", (getter)packet_truncated, NULL,
     "True when the datagram was longer than max_payload (or the buffer) and "
     "was cut", NULL},
    {NULL}};

PyTypeObject McrxPacket_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcrx.Packet",
    .tp_doc = PyDoc_STR("One received datagram (read-only). Created by the "
                        "receive calls, never by the caller."),
    .tp_basicsize = sizeof(McrxPacket),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)packet_dealloc,
    .tp_repr = (reprfunc)packet_repr,
    .tp_members = packet_members,
    .tp_getset = packet_getset,
};

/* ------------------------------------------------------------------ */
/* ReceiveMetadata                                                     */
/* ------------------------------------------------------------------ */

PyObject *mcrxpy_meta_new(const mcrx_metadata *meta)
{
    McrxMeta *m = PyObject_New(McrxMeta, &McrxMeta_Type);
    if (m)
        m->meta = *meta;
    return (PyObject *)m;
}

PyObject *mcrxpy_packet_meta_pair(const mcrx_packet *pkt, const mcrx_metadata *meta)
{
    PyObject *p = mcrxpy_packet_new(pkt, NULL);
    if (!p)
        return NULL;
    PyObject *m = mcrxpy_meta_new(meta);
    if (!m) {
        Py_DECREF(p);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(2, p, m);
    Py_DECREF(p);
    Py_DECREF(m);
    return t;
}

static void meta_dealloc(McrxMeta *self) { PyObject_Free(self); }

/* The fields the platform may or may not deliver: None unless flag is set. */
typedef struct {
    uint32_t flag;
    enum { F_IP, F_U32, F_I64 } kind;
    size_t offset; /* in mcrx_metadata */
} meta_field;

static const meta_field MF_DESTINATION = {MCRX_META_DESTINATION, F_IP,
                                          offsetof(mcrx_metadata, destination)};
static const meta_field MF_IFINDEX = {MCRX_META_IFINDEX, F_U32,
                                      offsetof(mcrx_metadata, ingress_ifindex)};
static const meta_field MF_TIMESTAMP = {MCRX_META_TIMESTAMP, F_I64,
                                        offsetof(mcrx_metadata, timestamp_ns)};
static const meta_field MF_DROPS = {MCRX_META_DROPS, F_U32,
                                    offsetof(mcrx_metadata, kernel_drops)};

static PyObject *meta_flagged(McrxMeta *self, void *closure)
{
    const meta_field *f = closure;
    const char *at = (const char *)&self->meta + f->offset;
    if (!(self->meta.flags & f->flag))
        Py_RETURN_NONE;
    switch (f->kind) {
    case F_IP:
        return mcrxpy_ip_str((const mcrx_ip *)(const void *)at);
    case F_U32:
        return PyLong_FromUnsignedLong(*(const uint32_t *)(const void *)at);
    default:
        return PyLong_FromLongLong(*(const int64_t *)(const void *)at);
    }
}

static PyObject *meta_local(McrxMeta *self, void *c)
{
    (void)c;
    PyObject *a = mcrxpy_ip_str(&self->meta.socket_local_addr);
    return a ? Py_BuildValue("(Ni)", a, (int)self->meta.socket_local_port) : NULL;
}

static PyObject *meta_cfg_if(McrxMeta *self, void *c)
{
    (void)c;
    return mcrxpy_ip_str(&self->meta.configured_interface);
}

static PyObject *meta_cfg_ifindex(McrxMeta *self, void *c)
{
    (void)c;
    if (!self->meta.configured_interface_index)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->meta.configured_interface_index);
}

static PyObject *meta_repr(McrxMeta *self)
{
    PyObject *d = meta_flagged(self, (void *)&MF_DESTINATION);
    PyObject *i = meta_flagged(self, (void *)&MF_IFINDEX);
    PyObject *l = meta_local(self, NULL);
    PyObject *r = NULL;
    if (d && i && l)
        r = PyUnicode_FromFormat("ReceiveMetadata(destination=%R, ingress_ifindex=%R, "
                                 "socket_local_addr=%R)", d, i, l);
    Py_XDECREF(d);
    Py_XDECREF(i);
    Py_XDECREF(l);
    return r;
}

static PyMemberDef meta_members[] = {
    {"flags", T_UINT, offsetof(McrxMeta, meta.flags), READONLY,
     "MCRX_META_* bits: which fields the platform delivered"},
    {NULL}};

static PyGetSetDef meta_getset[] = {
    {"destination", (getter)meta_flagged, NULL,
     "pktinfo destination address (the group), or None", (void *)&MF_DESTINATION},
    {"ingress_ifindex", (getter)meta_flagged, NULL,
     "pktinfo ingress interface index, or None", (void *)&MF_IFINDEX},
    {"timestamp_ns", (getter)meta_flagged, NULL,
     "kernel receive time (CLOCK_REALTIME ns), or None (timestamps off)",
     (void *)&MF_TIMESTAMP},
    {"kernel_drops", (getter)meta_flagged, NULL,
     "socket's cumulative kernel drop count as of this datagram, or None",
     (void *)&MF_DROPS},
    {"socket_local_addr", (getter)meta_local, NULL,
     "(address, port) the socket is bound to", NULL},
    {"configured_interface", (getter)meta_cfg_if, NULL,
     "interface address from the config, or None", NULL},
    {"configured_interface_index", (getter)meta_cfg_ifindex, NULL,
     "interface index from the config, or None", NULL},
    {NULL}};

PyTypeObject McrxMeta_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcrx.ReceiveMetadata",
    .tp_doc = PyDoc_STR("Receive metadata of one datagram (read-only)."),
    .tp_basicsize = sizeof(McrxMeta),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)meta_dealloc,
    .tp_repr = (reprfunc)meta_repr,
    .tp_members = meta_members,
    .tp_getset = meta_getset,
};
