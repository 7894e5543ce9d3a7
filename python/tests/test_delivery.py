"""Delivery: IPv4/IPv6, ASM/SSM, exact filtering, metadata, truncation,
zero-copy receive into a caller's buffer. Senders: Python's socket module."""

import array
import socket

import pytest

import mcrx
from conftest import (IF_RX, V4_TX2, V6_TX2, kinds, quiet, recv_n, recv_sub,
                      subscribe)

KINDS = ["v4-asm", "v4-ssm", "v6-asm", "v6-ssm"]


@pytest.mark.parametrize("kind", KINDS)
def test_delivery(ctx, port, sender, kind):
    p = port()
    sid, group, source, tx = subscribe(ctx, kind, p)
    s = sender(tx)
    payloads = [b"%s #%d" % (kind.encode(), i) for i in range(20)]
    for data in payloads:
        s.send(group, p, data)
    got = recv_n(ctx, len(payloads))
    assert [g.payload for g in got] == payloads
    for g in got:
        assert (g.sub_id, g.source, g.source_port, g.group, g.dst_port) == \
            (sid, tx, s.port, group, p)
        assert isinstance(g.payload, bytes) and not g.truncated
        assert g.len == g.wire_len == len(g.payload)
    st = ctx.get(sid).stats()
    assert st.packets == 20 and st.bytes == sum(map(len, payloads))
    assert quiet(ctx) == []


@pytest.mark.parametrize("kind", ["v4-ssm", "v6-ssm"])
def test_wrong_source_is_not_delivered(ctx, port, sender, kind):
    p = port()
    sid, group, source, tx = subscribe(ctx, kind, p)
    wrong = sender(V6_TX2 if ":" in tx else V4_TX2)
    right = sender(tx)
    wrong.send(group, p, b"wrong", 5)
    right.send(group, p, b"right", 2)
    wrong.send(group, p, b"wrong", 5)
    got = recv_n(ctx, 2) + quiet(ctx)
    assert [(g.payload, g.source) for g in got] == [(b"right", tx)] * 2


def test_two_groups_on_one_port_do_not_mix(ctx, port, sender):
    p = port()
    a = ctx.add("239.77.45.101", p, None, kinds(p)["v4-asm"][2])
    b = ctx.add("239.77.45.102", p, None, kinds(p)["v4-asm"][2])
    ctx.join(a)
    ctx.join(b)
    s = sender()
    s.send("239.77.45.101", p, b"to a", 3)
    s.send("239.77.45.102", p, b"to b", 2)
    got = recv_n(ctx, 5) + quiet(ctx)
    assert sorted((g.sub_id, g.group, g.payload) for g in got) == \
        [(a, "239.77.45.101", b"to a")] * 3 + [(b, "239.77.45.102", b"to b")] * 2


@pytest.mark.parametrize("kind", ["v4-ssm", "v6-asm"])
def test_metadata(backend, port, sender, kind):
    with mcrx.Context(backend=backend, timestamps=True) as ctx:
        p = port()
        sid, group, source, tx = subscribe(ctx, kind, p)
        sender(tx).send(group, p, b"meta", 2)
        got = recv_n(ctx, 2, meta=True)
        assert len(got) == 2
        pkt, md = got[0]
        assert pkt.payload == b"meta"
        assert md.destination == group
        assert md.ingress_ifindex == socket.if_nametoindex(IF_RX)
        assert md.socket_local_addr == (("::" if ":" in group else "0.0.0.0"), p)
        assert md.timestamp_ns is not None and md.timestamp_ns > 1_600_000_000 * 10**9
        assert md.kernel_drops == 0
        assert md.flags & mcrx._mcrx.META_DESTINATION
        if ":" in group:
            assert md.configured_interface_index == socket.if_nametoindex(IF_RX)
        else:
            assert md.configured_interface == kinds(p)[kind][2]
            assert md.configured_interface_index is None
        assert "ReceiveMetadata(" in repr(md)
        sender(tx).send(group, p, b"one")
        assert ctx.wait(5)
        pair = ctx.try_recv_any_with_metadata()
        assert pair[0].payload == b"one" and pair[1].destination == group
        sender(tx).send(group, p, b"sub")
        assert ctx.wait(5)
        pair = ctx.get(sid).try_recv_with_metadata()
        assert pair[0].payload == b"sub" and pair[1].destination == group


def test_timestamps_off(backend, port, sender):
    with mcrx.Context(backend=backend, timestamps=False) as ctx:
        p = port()
        sid, group, source, tx = subscribe(ctx, "v4-asm", p)
        sender(tx).send(group, p, b"no ts")
        (pkt, md), = recv_n(ctx, 1, meta=True)
        assert md.timestamp_ns is None
        assert not md.flags & mcrx._mcrx.META_TIMESTAMP


def test_truncation(backend, port, sender):
    with mcrx.Context(backend=backend, max_payload=16) as ctx:
        p = port()
        sid, group, source, tx = subscribe(ctx, "v4-asm", p)
        data = bytes(range(100))
        sender(tx).send(group, p, data)
        sender(tx).send(group, p, b"short")
        got = recv_n(ctx, 2)
        assert [g.payload for g in got] == [data[:16], b"short"]
        assert got[0].truncated and got[0].wire_len == 100 and got[0].len == 16
        assert not got[1].truncated
        assert "truncated=True" in repr(got[0])
        assert ctx.get(sid).stats().truncated == 1


def test_single_receive_calls(ctx, port, sender):
    p = port()
    sid, group, source, tx = subscribe(ctx, "v6-ssm", p)
    assert ctx.try_recv_any() is None
    assert ctx.get(sid).try_recv() is None
    assert ctx.recv_batch() == [] and ctx.recv_batch(0) == []
    s = sender(tx)
    s.send(group, p, b"a")
    assert ctx.wait(5) is True
    assert ctx.try_recv_any().payload == b"a"
    s.send(group, p, b"b", 3)
    assert ctx.wait(5)
    assert ctx.get(sid).try_recv().payload == b"b"
    assert [g.payload for g in ctx.get(sid).recv_batch(10)] == [b"b", b"b"]
    assert ctx.wait(0) in (False, True)  # may be spurious once (documented)
    assert ctx.wait(0.05) is False


def test_recv_into_caller_buffer(ctx, port, sender):
    p = port()
    sid, group, source, tx = subscribe(ctx, "v4-ssm", p)
    s = sender(tx)
    buf = bytearray(64)
    assert ctx.recv_into(buf) is None
    s.send(group, p, b"zero-copy")
    assert ctx.wait(5)
    pkt = ctx.recv_into(buf)
    assert isinstance(pkt.payload, memoryview)
    assert pkt.payload == b"zero-copy" and bytes(buf[:9]) == b"zero-copy"
    assert pkt.len == 9 and pkt.source == tx and not pkt.truncated
    del pkt
    small = bytearray(4)
    s.send(group, p, b"too long for it")
    assert ctx.wait(5)
    pkt = ctx.get(sid).recv_into(small)
    assert pkt.truncated and pkt.len == 4 and pkt.wire_len == 15
    assert bytes(small) == b"too "
    mv = memoryview(bytearray(32))
    s.send(group, p, b"view")
    assert ctx.wait(5)
    assert ctx.recv_into(mv[8:]).payload == b"view"
    ints = array.array("i", [0] * 4)  # items of 4 bytes: payload still in bytes
    s.send(group, p, b"\x01\x00\x00\x00\x02")
    assert ctx.wait(5)
    pkt = ctx.recv_into(ints)
    assert pkt.payload == b"\x01\x00\x00\x00\x02" and ints[0] == 1 and ints[1] == 2


def test_owned_subscription_receives_alone(ctx, port, sender):
    p = port()
    sid, group, source, tx = subscribe(ctx, "v6-ssm", p)
    other, g2, _, tx2 = subscribe(ctx, "v4-ssm", port())
    sub = ctx.take(sid)
    sender(tx).send(group, p, b"owned", 4)
    sender(tx2).send(g2, other and ctx.get(other).config.port, b"ctx", 2)
    got = recv_sub(sub, 4)
    assert [g.payload for g in got] == [b"owned"] * 4
    assert [g.payload for g in recv_n(ctx, 2)] == [b"ctx"] * 2
    pairs = sub.recv_batch_with_metadata()
    assert pairs == []
    sub.close()


def test_recv_batch_into_packs_payloads(backend, port, sender):
    with mcrx.Context(backend=backend, max_payload=100) as ctx:
        p = port()
        sid, group, _, tx = subscribe(ctx, "v4-ssm", p)
        s = sender(tx)
        sizes = [10, 0, 100, 37, 5]
        for i, n in enumerate(sizes):
            s.send(group, p, bytes([i]) * n)
        buf = bytearray(1000)
        assert ctx.wait(5)
        got = []
        while len(got) < 5 and ctx.wait(5):
            got += ctx.recv_batch_into(buf)
        assert [g.len for g in got] == sizes
        assert [bytes(g.payload) for g in got] == [bytes([i]) * n for i, n in enumerate(sizes)]
        assert bytes(buf[:sum(sizes)]) == b"".join(bytes(g.payload) for g in got)
        assert all(isinstance(g.payload, memoryview) and not g.truncated for g in got)
        del got
        # Room for one max_payload datagram only: one per call, the rest stays.
        for i in range(3):
            s.send(group, p, b"x" * 100)
        small = bytearray(150)
        assert ctx.wait(5)
        assert len(ctx.recv_batch_into(small)) == 1
        assert ctx.recv_batch_into(bytearray(99)) == []  # not even one surely fits
        assert len(ctx.recv_batch_into(bytearray(1000), max=1)) == 1
        assert len(ctx.recv_batch_into(bytearray(1000))) == 1
        with pytest.raises(BufferError):
            ctx.recv_batch_into(b"read-only")
