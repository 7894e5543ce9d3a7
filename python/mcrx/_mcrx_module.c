/*
 * _mcrx module: init, error mapping, Config / Stats, argument helpers.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "_mcrx.h"

#include <structmember.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Set by mcrx/__init__.py through _mcrx._init(): the exception classes live
 * in pure Python (mcrx/errors.py); C only asks the factory for an instance. */
static PyObject *g_error_factory;   /* (status, os_errno) -> exception */
static PyObject *g_concurrent_cls;  /* mcrx.ConcurrentUseError */
static PyObject *g_closed_cls;      /* mcrx.ClosedError */
static PyObject *g_state_enum;      /* mcrx.SubscriptionState */

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

PyObject *mcrxpy_raise(int status, int os_err)
{
    if (!g_error_factory) {
        PyErr_Format(PyExc_RuntimeError, "%s (%s)", mcrx_strerror(status),
                     mcrx_status_name(status));
        return NULL;
    }
    PyObject *exc = PyObject_CallFunction(g_error_factory, "ii", status, os_err);
    if (!exc)
        return NULL; /* the factory's own failure is what gets raised */
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

int mcrxpy_raise_int(int status, int os_err)
{
    mcrxpy_raise(status, os_err);
    return -1;
}

PyObject *mcrxpy_raise_concurrent(void)
{
    PyErr_SetString(g_concurrent_cls ? g_concurrent_cls : PyExc_RuntimeError,
                    "this mcrx object is in use by another thread (a Context "
                    "and its subscriptions are not thread-safe: use one per "
                    "thread, or a lock)");
    return NULL;
}

PyObject *mcrxpy_raise_closed(const char *what)
{
    PyErr_Format(g_closed_cls ? g_closed_cls : PyExc_ValueError, "%s is closed", what);
    return NULL;
}

int mcrxpy_busy_enter(int *busy)
{
    if (*busy) {
        mcrxpy_raise_concurrent();
        return -1;
    }
    *busy = 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Addresses and struct sequences                                      */
/* ------------------------------------------------------------------ */

PyObject *mcrxpy_ip_str(const mcrx_ip *ip)
{
    char buf[MCRX_IP_STRLEN];
    if (ip->family == MCRX_AF_UNSPEC || mcrx_ip_format(ip, buf, sizeof buf) != MCRX_OK)
        Py_RETURN_NONE;
    return PyUnicode_FromString(buf);
}

static PyStructSequence_Field config_fields[] = {
    {"group", "multicast group address"},
    {"port", "UDP destination port"},
    {"source", "SSM source address, None for ASM (any source)"},
    {"interface", "join interface address, or None"},
    {"interface_index", "join interface index (IPv6), or None"},
    {NULL, NULL}};
static PyStructSequence_Desc config_desc = {
    "mcrx.Config", "A subscription's configuration (read-only).", config_fields, 5};
static PyTypeObject *Config_Type;

static PyStructSequence_Field stats_fields[] = {
    {"packets", "datagrams delivered"},
    {"bytes", "payload bytes delivered (wire length)"},
    {"truncated", "delivered cut to max_payload"},
    {"filtered_group", "pktinfo destination was not the group"},
    {"filtered_source", "SSM: source was not the configured one"},
    {"filtered_interface", "ingress interface was not the configured one"},
    {"filtered_no_pktinfo", "no pktinfo: destination unknown"},
    {"discarded", "read by the library, never delivered"},
    {"kernel_drops", "socket's kernel drop count (queue full)"},
    {"backend_drop_events", "io_uring: buffer ring ran empty (not a loss)"},
    {"recv_errors", "receive errors"},
    {"joins", "joins"},
    {"leaves", "leaves"},
    {NULL, NULL}};
static PyStructSequence_Desc stats_desc = {
    "mcrx.Stats", "A subscription's counters (a snapshot).", stats_fields, 13};
static PyTypeObject *Stats_Type;

static int seq_set(PyObject *seq, Py_ssize_t i, PyObject *v)
{
    if (!v)
        return -1;
    PyStructSequence_SetItem(seq, i, v);
    return 0;
}

PyObject *mcrxpy_config_tuple(const mcrx_config *cfg)
{
    PyObject *t = PyStructSequence_New(Config_Type);
    if (!t)
        return NULL;
    if (seq_set(t, 0, mcrxpy_ip_str(&cfg->group)) ||
        seq_set(t, 1, PyLong_FromLong(cfg->dst_port)) ||
        seq_set(t, 2, mcrxpy_ip_str(&cfg->source)) ||
        seq_set(t, 3, mcrxpy_ip_str(&cfg->interface)) ||
        seq_set(t, 4, cfg->has_interface_index
                          ? PyLong_FromUnsignedLong(cfg->interface_index)
                          : Py_NewRef(Py_None))) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

PyObject *mcrxpy_stats_tuple(const mcrx_sub_stats *s)
{
    const uint64_t v[] = {s->packets, s->bytes, s->truncated, s->filtered_group,
                          s->filtered_source, s->filtered_interface,
                          s->filtered_no_pktinfo, s->discarded, s->kernel_drops,
                          s->backend_drop_events, s->recv_errors, s->joins,
                          s->leaves};
    PyObject *t = PyStructSequence_New(Stats_Type);
    if (!t)
        return NULL;
    for (Py_ssize_t i = 0; i < (Py_ssize_t)(sizeof v / sizeof v[0]); i++) {
        if (seq_set(t, i, PyLong_FromUnsignedLongLong(v[i]))) {
            Py_DECREF(t);
            return NULL;
        }
    }
    return t;
}

PyObject *mcrxpy_state_value(mcrx_sub_state state)
{
    if (g_state_enum)
        return PyObject_CallFunction(g_state_enum, "i", (int)state);
    return PyLong_FromLong(state);
}

/* ------------------------------------------------------------------ */
/* Argument helpers                                                    */
/* ------------------------------------------------------------------ */

/* Text of an address or interface argument: str, an ipaddress object (its
 * str()), or for interfaces an int index. NULL text = not given (None).
 * *keep holds the object the text lives in. */
static int arg_text(PyObject *obj, const char *what, bool allow_int,
                    PyObject **keep, const char **text)
{
    *keep = NULL;
    *text = NULL;
    if (obj == NULL || obj == Py_None)
        return 0;
    if (PyUnicode_Check(obj)) {
        *keep = Py_NewRef(obj);
    } else if ((allow_int && PyLong_Check(obj) && !PyBool_Check(obj)) ||
               PyObject_HasAttrString(obj, "packed")) {
        *keep = PyObject_Str(obj); /* interface index / ipaddress object */
        if (!*keep)
            return -1;
    } else {
        PyErr_Format(PyExc_TypeError, "%s must be str%s or None, not %.100s",
                     what, allow_int ? ", int" : " or an ipaddress address",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    *text = PyUnicode_AsUTF8AndSize(*keep, &n);
    if (!*text)
        goto fail;
    if ((size_t)n != strlen(*text)) {
        PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
        goto fail;
    }
    return 0;
fail:
    Py_CLEAR(*keep);
    *text = NULL;
    return -1;
}

static int parse_port(PyObject *obj, uint16_t *out)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "port must be int, not %.100s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v > 65535) {
        PyErr_Format(PyExc_ValueError, "port must be in 0..65535, not %ld", v);
        return -1;
    }
    *out = (uint16_t)v; /* 0 is left to the library: mcrx.PortZero */
    return 0;
}

int mcrxpy_parse_u32(PyObject *obj, const char *what, uint32_t *out)
{
    if (!obj || obj == Py_None)
        return 0;
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be int or None, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if ((v == (unsigned long long)-1 && PyErr_Occurred()) || v > UINT32_MAX) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be in 0..2**32-1", what);
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}

/* interface_index: set after parsing; 0 is left to the library to refuse. */
static int parse_ifindex(PyObject *obj, mcrx_config *cfg)
{
    int set = mcrxpy_parse_u32(obj, "interface_index", &cfg->interface_index);
    if (set > 0)
        cfg->has_interface_index = true;
    return set < 0 ? -1 : 0;
}

int mcrxpy_parse_config(PyObject *group, PyObject *port, PyObject *source,
                        PyObject *interface, PyObject *ifindex, mcrx_config *cfg)
{
    uint16_t p;
    PyObject *kg = NULL, *ks = NULL, *ki = NULL;
    const char *g, *s, *i;
    int rc = -1;
    if (parse_port(port, &p) || arg_text(group, "group", false, &kg, &g) ||
        arg_text(source, "source", false, &ks, &s) ||
        arg_text(interface, "interface", true, &ki, &i))
        goto out;
    if (!g) {
        PyErr_SetString(PyExc_TypeError, "group must be str, not None");
        goto out;
    }
    int st, err;
    MCRXPY_NOGIL(st, err, mcrx_config_parse(cfg, g, p, s, i));
    rc = st == MCRX_OK ? parse_ifindex(ifindex, cfg) : mcrxpy_raise_int(st, err);
out:
    Py_XDECREF(kg);
    Py_XDECREF(ks);
    Py_XDECREF(ki);
    return rc;
}

int mcrxpy_parse_id(PyObject *obj, uint64_t *id)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "subscription id must be int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "subscription id must be in 0..2**64-1");
        return -1;
    }
    *id = v;
    return 0;
}

int mcrxpy_parse_count(PyObject *obj, Py_ssize_t dflt, Py_ssize_t limit,
                       const char *what, Py_ssize_t *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = dflt;
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be int or None, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t v = PyLong_AsSsize_t(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0, not %zd", what, v);
        return -1;
    }
    *out = v < limit ? v : limit;
    return 0;
}

PyObject *mcrxpy_socket_from_fd(int fd)
{
    PyObject *mod = PyImport_ImportModule("socket");
    PyObject *sock = NULL;
    if (mod) {
        PyObject *cls = PyObject_GetAttrString(mod, "socket");
        if (cls) {
            PyObject *kw = Py_BuildValue("{s:i}", "fileno", fd);
            PyObject *noargs = PyTuple_New(0);
            if (kw && noargs)
                sock = PyObject_Call(cls, noargs, kw);
            Py_XDECREF(kw);
            Py_XDECREF(noargs);
            Py_DECREF(cls);
        }
        Py_DECREF(mod);
    }
    if (!sock)
        close(fd); /* nobody else owns it any more */
    return sock;
}

/* ------------------------------------------------------------------ */
/* Module functions                                                    */
/* ------------------------------------------------------------------ */

static PyObject *mod_init_hooks(PyObject *m, PyObject *args)
{
    (void)m;
    PyObject *factory, *concurrent, *closed, *state;
    if (!PyArg_ParseTuple(args, "OOOO:_init", &factory, &concurrent, &closed, &state))
        return NULL;
    Py_XSETREF(g_error_factory, Py_NewRef(factory));
    Py_XSETREF(g_concurrent_cls, Py_NewRef(concurrent));
    Py_XSETREF(g_closed_cls, Py_NewRef(closed));
    Py_XSETREF(g_state_enum, Py_NewRef(state));
    Py_RETURN_NONE;
}

static PyObject *mod_strerror(PyObject *m, PyObject *arg)
{
    (void)m;
    int st;
    return PyArg_Parse(arg, "i", &st) ? PyUnicode_FromString(mcrx_strerror(st)) : NULL;
}

static PyObject *mod_status_name(PyObject *m, PyObject *arg)
{
    (void)m;
    int st;
    return PyArg_Parse(arg, "i", &st) ? PyUnicode_FromString(mcrx_status_name(st)) : NULL;
}

static PyObject *mod_is_os_error(PyObject *m, PyObject *arg)
{
    (void)m;
    int st;
    return PyArg_Parse(arg, "i", &st) ? PyBool_FromLong(mcrx_status_is_os_error(st)) : NULL;
}

static PyObject *mod_backends(PyObject *m, PyObject *noargs)
{
    (void)m;
    (void)noargs;
    PyObject *list = PyList_New(0);
    for (int k = MCRX_BACKEND_RECVMMSG; list && k <= MCRX_BACKEND_IOCP; k++) {
        if (!mcrx_backend_compiled((mcrx_backend_kind)k))
            continue;
        PyObject *name = PyUnicode_FromString(mcrx_backend_name((mcrx_backend_kind)k));
        if (!name || PyList_Append(list, name) < 0)
            Py_CLEAR(list);
        Py_XDECREF(name);
    }
    return list;
}

static PyMethodDef mod_methods[] = {
    {"_init", mod_init_hooks, METH_VARARGS,
     "_init(error_factory, ConcurrentUseError, ClosedError, SubscriptionState)"},
    {"strerror", mod_strerror, METH_O, "strerror(status) -> the library's message"},
    {"status_name", mod_status_name, METH_O, "status_name(status) -> 'MCRX_E_...'"},
    {"is_os_error", mod_is_os_error, METH_O,
     "is_os_error(status) -> True when the status carries an OS errno"},
    {"backends", mod_backends, METH_NOARGS,
     "backends() -> names of the backends compiled into this build"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef mod_def = {
    PyModuleDef_HEAD_INIT, "_mcrx",
    "The C extension behind the mcrx package (use `import mcrx`).", -1, mod_methods,
    NULL, NULL, NULL, NULL};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) < 0)
        return -1;
    return PyModule_AddObjectRef(m, name, (PyObject *)t);
}

static int add_constants(PyObject *m)
{
    static const struct { const char *name; long v; } k[] = {
        {"PKT_TRUNCATED", MCRX_PKT_TRUNCATED},
        {"META_DESTINATION", MCRX_META_DESTINATION},
        {"META_IFINDEX", MCRX_META_IFINDEX},
        {"META_TIMESTAMP", MCRX_META_TIMESTAMP},
        {"META_DROPS", MCRX_META_DROPS},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (PyModule_AddIntConstant(m, k[i].name, k[i].v) < 0)
            return -1;
    return PyModule_AddStringConstant(m, "LIB_VERSION",
                                      Py_STRINGIFY(MCRX_VERSION_MAJOR) "."
                                      Py_STRINGIFY(MCRX_VERSION_MINOR) "."
                                      Py_STRINGIFY(MCRX_VERSION_PATCH));
}

PyMODINIT_FUNC PyInit__mcrx(void)
{
    PyObject *m = PyModule_Create(&mod_def);
    if (!m)
        return NULL;
    Config_Type = PyStructSequence_NewType(&config_desc);
    Stats_Type = PyStructSequence_NewType(&stats_desc);
    if (!Config_Type || !Stats_Type ||
        add_type(m, &McrxPacket_Type, "Packet") < 0 ||
        add_type(m, &McrxMeta_Type, "ReceiveMetadata") < 0 ||
        add_type(m, &McrxContext_Type, "Context") < 0 ||
        add_type(m, &McrxSub_Type, "Subscription") < 0 ||
        PyModule_AddObjectRef(m, "Config", (PyObject *)Config_Type) < 0 ||
        PyModule_AddObjectRef(m, "Stats", (PyObject *)Stats_Type) < 0 ||
        add_constants(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
