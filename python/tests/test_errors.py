"""Every validation rule raises its own exception class (with the library's
status and message); bad Python arguments raise TypeError / ValueError; the
OS errors carry errno."""

import errno
import os
import socket

import pytest

import mcrx
from mcrx import errors


# (group, source, interface, interface_index, expected class, status)
RULES = [
    ("239.1.1.1", None, None, None, "port0", mcrx.PortZero, -2),
    ("10.1.1.1", None, None, None, None, mcrx.GroupNotMulticast, -3),
    ("232.1.1.1", "239.1.1.1", None, None, None, mcrx.SourceMulticast, -4),
    ("232.1.1.1", "0.0.0.0", None, None, None, mcrx.SourceUnspecified, -5),
    ("232.1.1.1", "255.255.255.255", None, None, None, mcrx.SourceBroadcast, -6),
    ("232.1.1.1", "2001:db8::1", None, None, None, mcrx.SourceFamilyMismatch, -7),
    ("239.1.1.1", None, "::1", None, None, mcrx.InterfaceFamilyMismatch, -18),
    ("239.1.1.1", "10.0.0.1", None, None, None, mcrx.SsmGroupV4Range, -8),
    ("232.1.1.1", None, None, None, None, mcrx.AsmOnSsmGroup, -9),
    ("ff3e::1", None, None, None, None, mcrx.AsmOnSsmGroup, -9),
    ("ff15::1", "2001:db8::1", None, None, None, mcrx.SsmGroupV6Range, -10),
    ("ff15::1", None, None, 0, None, mcrx.InterfaceIndexZero, -11),
    ("239.1.1.1", None, None, 1, None, mcrx.InterfaceIndexV4, -12),
    ("not-an-address", None, None, None, None, mcrx.BadAddress, -14),
    ("239.1.1.1", "bad source", None, None, None, mcrx.BadAddress, -14),
    ("239.1.1.1", None, "nosuchif0", None, None, mcrx.UnknownInterface, -15),
]


@pytest.mark.parametrize("group,source,iface,ifindex,special,cls,status", RULES,
                         ids=[f"{r[5].__name__}-{i}" for i, r in enumerate(RULES)])
def test_validation_rule(ctx, port, group, source, iface, ifindex, special, cls, status):
    p = 0 if special == "port0" else port()
    with pytest.raises(cls) as ei:
        ctx.add(group, p, source, iface, interface_index=ifindex)
    e = ei.value
    assert isinstance(e, mcrx.InvalidConfig) and isinstance(e, ValueError)
    assert isinstance(e, mcrx.Error)
    assert e.status == status
    assert e.status_name == mcrx.status_name(status)
    assert str(e) == f"{mcrx.strerror(status)} ({e.status_name})"
    assert len(ctx) == 0  # a failed call changes nothing


def test_duplicate(ctx, port):
    p = port()
    ctx.add("239.1.1.1", p)
    with pytest.raises(mcrx.Duplicate) as ei:
        ctx.add("239.1.1.1", p)
    assert ei.value.status == -13
    assert len(ctx) == 1


def test_bad_options(backend):
    for kw in ({"max_payload": 0}, {"max_payload": 65536}, {"max_batch": 0},
               {"turn_budget": 0}, {"sub_ring_size": 3}):
        with pytest.raises(mcrx.BadOption) as ei:
            mcrx.Context(backend=backend, **kw)
        assert isinstance(ei.value, ValueError) and ei.value.status == -16
    with pytest.raises(mcrx.BackendUnavailable) as ei:
        mcrx.Context(backend="no-such-backend")
    assert isinstance(ei.value, OSError) and ei.value.status == -43


def test_join_failure_carries_errno(ctx, port):
    # An interface index no interface has: the kernel refuses the join.
    sid = ctx.add("ff3e::8000:77", port(), "2001:db8:77::2", interface_index=9999)
    with pytest.raises(mcrx.JoinError) as ei:
        ctx.join(sid)
    e = ei.value
    assert isinstance(e, mcrx.OsError) and isinstance(e, OSError)
    assert e.errno == errno.ENODEV and e.status == -36
    assert "MCRX_E_JOIN" in str(e) and e.strerror.endswith(os.strerror(e.errno))
    assert ctx.get(sid).state == mcrx.SubscriptionState.BOUND


def test_every_status_has_a_class():
    statuses = [s for s in range(-1, -100, -1) if mcrx.status_name(s) != "MCRX_E_UNKNOWN"]
    assert set(statuses) == set(errors._STATUSES)  # the table covers mcrx.h
    for s in statuses:
        e = errors.error_for_status(s, errno.EPERM)
        assert isinstance(e, mcrx.Error) and type(e) is not mcrx.Error
        assert e.status == s and type(e).status == s
        assert mcrx.strerror(s) in str(e)
        if errors._mcrx.is_os_error(s):
            assert isinstance(e, OSError) and e.errno == errno.EPERM
    assert issubclass(mcrx.FamilyUnspec, mcrx.InvalidConfig)  # not reachable from text
    assert issubclass(mcrx.NotFound, LookupError)


@pytest.mark.parametrize("call,exc", [
    (lambda c: c.add("239.1.1.1", "5000"), TypeError),
    (lambda c: c.add("239.1.1.1", 70000), ValueError),
    (lambda c: c.add("239.1.1.1", -1), ValueError),
    (lambda c: c.add("239.1.1.1", True), TypeError),
    (lambda c: c.add(None, 5000), TypeError),
    (lambda c: c.add(239, 5000), TypeError),
    (lambda c: c.add(b"239.1.1.1", 5000), TypeError),
    (lambda c: c.add("239.1.1.1\0", 5000), ValueError),
    (lambda c: c.add("239.1.1.1", 5000, 5), TypeError),
    (lambda c: c.add("239.1.1.1", 5000, interface=1.5), TypeError),
    (lambda c: c.add("239.1.1.1", 5000, interface_index=-1), ValueError),
    (lambda c: c.add("239.1.1.1", 5000, interface_index="1"), TypeError),
    (lambda c: c.add(), TypeError),
    (lambda c: c.join("1"), TypeError),
    (lambda c: c.join(-1), ValueError),
    (lambda c: c.join(2 ** 64), ValueError),
    (lambda c: c.get(None), TypeError),
    (lambda c: c.recv_batch(-1), ValueError),
    (lambda c: c.recv_batch("many"), TypeError),
    (lambda c: c.wait(-1), ValueError),
    (lambda c: c.wait(float("nan")), ValueError),
    (lambda c: c.wait("soon"), TypeError),
    (lambda c: c.recv_into(b"read-only"), BufferError),
    (lambda c: c.recv_into(42), TypeError),
    (lambda c: c.add_with_socket(-5, "239.1.1.1", 5000), ValueError),
], ids=lambda v: "" if callable(v) else v.__name__)
def test_bad_arguments(ctx, call, exc):
    with pytest.raises(exc):
        call(ctx)
    assert len(ctx) == 0


def test_bad_context_arguments():
    with pytest.raises(TypeError):
        mcrx.Context(max_payload="big")
    with pytest.raises(ValueError):
        mcrx.Context(max_payload=-1)
    with pytest.raises(ValueError):
        mcrx.Context(rcvbuf_bytes=2 ** 32)
    with pytest.raises(TypeError):
        mcrx.Context(backend=1)
    with pytest.raises(TypeError):
        mcrx.Context("recvmmsg", 2048)  # options are keyword-only
    with pytest.raises(TypeError):
        mcrx.Packet()
    c = mcrx.Context(backend="recvmmsg")
    with pytest.raises(RuntimeError):
        c.__init__()
    c.close()


def test_ipaddress_objects_are_accepted(ctx, port):
    import ipaddress
    sid = ctx.add(ipaddress.ip_address("232.1.2.3"), port(),
                  ipaddress.ip_address("192.0.2.2"))
    assert ctx.get(sid).config.source == "192.0.2.2"


def test_borrowed_close_is_refused(ctx, port):
    sid = ctx.add("239.1.1.1", port())
    with pytest.raises(TypeError):
        ctx.get(sid).close()
    assert sid in ctx


def test_socket_fd_of_wrong_kind(ctx, port):
    # A UNIX socket is not UDP: refused before anything is set on it.
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(mcrx.SocketFamily):
            ctx.add_with_socket(a, "239.1.1.1", port())
        assert a.fileno() >= 0
