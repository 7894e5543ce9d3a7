"""Lifecycle: add / join / leave / remove / get / take / into_socket, ids,
borrowed subscriptions outliving their id or their context."""

import socket

import pytest

import mcrx
from conftest import V4_RX, V4_TX, recv_n, recv_sub, subscribe


def test_ids_start_at_one_and_are_never_reused(ctx, port):
    p = port()
    a = ctx.add("239.77.45.1", p)
    b = ctx.add("239.77.45.2", p)
    assert (a, b) == (1, 2)
    ctx.remove(a)
    c = ctx.add("239.77.45.1", p)
    assert c == 3
    assert ctx.ids() == [2, 3]
    assert len(ctx) == 2
    assert 2 in ctx and 1 not in ctx and "x" not in ctx


def test_state_machine(ctx, port):
    sid = ctx.add("239.77.45.3", port(), None, V4_RX)
    sub = ctx.get(sid)
    assert sub.state == mcrx.SubscriptionState.BOUND
    with pytest.raises(mcrx.NotJoined) as ei:
        ctx.leave(sid)
    assert ei.value.status == -21 and "MCRX_E_NOT_JOINED" in str(ei.value)
    ctx.join(sid)
    assert sub.state == mcrx.SubscriptionState.JOINED
    with pytest.raises(mcrx.AlreadyJoined):
        ctx.join(sid)
    with pytest.raises(mcrx.AlreadyJoined):
        sub.join()
    sub.leave()
    assert sub.state is mcrx.SubscriptionState.BOUND
    sub.join()
    assert sub.stats().joins == 2 and sub.stats().leaves == 1
    ctx.remove(sid)
    with pytest.raises(mcrx.NotFound):
        ctx.remove(sid)


def test_unknown_ids(ctx):
    for fn in (ctx.join, ctx.leave, ctx.remove, ctx.take):
        with pytest.raises(mcrx.NotFound) as ei:
            fn(99)
        assert isinstance(ei.value, LookupError)
    assert ctx.get(99) is None


def test_subscription_properties(ctx, port):
    p = port()
    sid = ctx.add("232.77.45.9", p, V4_TX, V4_RX)
    sub = ctx.get(sid)
    assert sub.id == sid and not sub.owned and not sub.closed
    assert sub.config == mcrx.Config(("232.77.45.9", p, V4_TX, V4_RX, None))
    assert sub.config.source == V4_TX
    assert sub.local_addr == ("0.0.0.0", p)
    assert sub.rcvbuf > 0
    assert sub.fileno() >= 0
    assert "borrowed" in repr(sub)


def test_borrowed_subscription_after_remove_take_and_close(ctx, port):
    sid = ctx.add("239.77.45.4", port())
    sub = ctx.get(sid)
    ctx.remove(sid)
    assert sub.closed
    with pytest.raises(mcrx.NotFound):
        sub.join()
    sid2 = ctx.add("239.77.45.5", port())
    sub2 = ctx.get(sid2)
    owned = ctx.take(sid2)
    with pytest.raises(mcrx.NotFound):
        sub2.stats()
    assert owned.owned and owned.id == sid2
    owned.close()
    assert owned.closed
    with pytest.raises(mcrx.ClosedError):
        owned.join()
    sid3 = ctx.add("239.77.45.6", port())
    sub3 = ctx.get(sid3)
    ctx.close()
    with pytest.raises(mcrx.ClosedError):
        sub3.state
    with pytest.raises(mcrx.ClosedError):
        ctx.add("239.77.45.7", port())
    with pytest.raises(mcrx.ClosedError):
        len(ctx)
    ctx.close()  # twice is fine


def test_borrowed_subscription_keeps_its_context_alive(backend, port):
    c = mcrx.Context(backend=backend)
    sid = c.add("239.77.45.8", port())
    sub = c.get(sid)
    del c  # the subscription still holds it
    assert sub.state == mcrx.SubscriptionState.BOUND
    assert sub.id == sid


def test_taken_subscription_keeps_receiving(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-ssm", p)
    sub = ctx.take(sid)
    assert sid not in ctx and sub.state == mcrx.SubscriptionState.JOINED
    s = sender(tx)
    s.send(group, p, b"after take", 3)
    got = recv_sub(sub, 3)
    assert [g.payload for g in got] == [b"after take"] * 3
    assert all(g.sub_id == sid for g in got)
    with sub:
        pass
    assert sub.closed


def test_into_socket_gives_a_joined_socket(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)
    sock = ctx.get(sid).into_socket()
    assert isinstance(sock, socket.socket)
    assert sid not in ctx
    with sock:
        sender(tx).send(group, p, b"raw")
        sock.settimeout(5)
        data, addr = sock.recvfrom(100)
        assert data == b"raw" and addr[0] == tx


def test_owned_into_socket(ctx, port):
    sid = ctx.add("239.77.45.10", port())
    sub = ctx.take(sid)
    sock = sub.into_socket()
    sock.close()
    assert sub.closed
    with pytest.raises(mcrx.ClosedError):
        sub.into_socket()


def test_add_with_socket_object_and_fd(ctx, port, sender):
    p = port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p))
    sid = ctx.add_with_socket(s, "239.77.45.11", p, None, V4_RX)
    assert s.fileno() == -1  # detached: the context owns the fd now
    ctx.join(sid)
    sender(V4_TX).send("239.77.45.11", p, b"mine")
    assert [x.payload for x in recv_n(ctx, 1)] == [b"mine"]

    p2 = port()
    s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s2.bind(("0.0.0.0", p2))
    fd = s2.detach()
    sid2 = ctx.add_with_socket(fd, "239.77.45.12", p2)
    assert ctx.get(sid2).fileno() == fd


def test_add_with_socket_failures_leave_the_socket_to_the_caller(ctx, port):
    p = port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", p + 1))
        with pytest.raises(mcrx.SocketPort) as ei:
            ctx.add_with_socket(s, "239.77.45.13", p)
        assert isinstance(ei.value, mcrx.InvalidSocket)
        assert s.fileno() >= 0  # still ours
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
        s6.bind(("::", p))
        with pytest.raises(mcrx.SocketFamily):
            ctx.add_with_socket(s6, "239.77.45.13", p)
        assert s6.fileno() >= 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        t.bind(("0.0.0.0", p))
        with pytest.raises(mcrx.SocketFamily):
            ctx.add_with_socket(t, "239.77.45.13", p)
    with pytest.raises(TypeError):
        ctx.add_with_socket("not a socket", "239.77.45.13", p)
    assert len(ctx) == 0


def test_context_properties(backend):
    with mcrx.Context(backend=backend, max_payload=1500, max_batch=32, turn_budget=8,
                      timestamps=False) as c:
        o = c.options
        assert (o["max_payload"], o["max_batch"], o["turn_budget"], o["timestamps"]) == \
            (1500, 32, 8, False)
        assert c.backend == backend.replace("iouring", "io_uring")
        assert c.backend_fell_back is False
        assert c.fileno() >= 0 and not c.closed
    assert c.closed and "closed" in repr(c)


def test_default_backend_is_one_of_the_compiled():
    with mcrx.Context() as c:
        assert c.backend in mcrx.backends()
