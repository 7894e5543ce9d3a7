"""Resources and threads: context-manager cleanup, no fd leak over 1,000
cycles, memory and reference counts stable over 100,000 receives, the GIL
released while waiting, concurrent use detected."""

import gc
import signal
import socket
import sys
import threading
import time
import tracemalloc

import pytest

import mcrx
from conftest import V4_RX, open_fds, recv_n, subscribe


def _hexgroup(group):
    """A group as /proc/net/igmp writes it (host-order hex)."""
    return "%08X" % int.from_bytes(socket.inet_aton(group), "little")


def test_context_manager_closes_everything(backend, port, sender):
    fds = open_fds()
    p = port()
    with mcrx.Context(backend=backend) as ctx:
        for i in range(5):
            ctx.join(ctx.add(f"239.77.45.{i + 1}", p, None, V4_RX))
        owned = ctx.take(1)
        assert open_fds() >= fds + 5
        with open("/proc/net/igmp") as f:
            assert _hexgroup("239.77.45.2") in f.read()  # joined now
    assert ctx.closed
    owned.close()
    assert open_fds() == fds
    # The groups were left: a new socket on the port sees nothing of them.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", p))
        with open("/proc/net/igmp") as f:
            text = f.read()
        assert _hexgroup("239.77.45.1") not in text and _hexgroup("239.77.45.2") not in text


def test_exception_inside_with_still_closes(backend, port):
    fds = open_fds()
    with pytest.raises(KeyError):
        with mcrx.Context(backend=backend) as ctx:
            ctx.add("239.77.45.9", port())
            raise KeyError("boom")
    assert ctx.closed and open_fds() == fds


def test_no_fd_leak_over_1000_cycles(backend, port, sender):
    p = port()
    s = sender()
    group = "239.77.45.77"
    for _ in range(5):  # warm up (first io_uring set-up, lazy imports)
        with mcrx.Context(backend=backend) as c:
            c.join(c.add(group, p, None, V4_RX))
    fds = open_fds()
    for i in range(1000):
        with mcrx.Context(backend=backend, max_batch=8) as c:
            sid = c.add(group, p, None, V4_RX)
            c.join(sid)
            if i % 3 == 0:
                s.send(group, p, b"x")
                assert len(recv_n(c, 1)) == 1
            elif i % 3 == 1:
                c.take(sid).close()
            else:
                c.get(sid).into_socket().close()
    assert open_fds() == fds


def _drain(ctx, s, group, p, total, chunk=500):
    got = 0
    while got < total:
        s.send(group, p, b"payload-64-bytes".ljust(64, b"."), chunk)
        want = got + chunk
        while got < want:
            if ctx.wait(5):
                got += len(ctx.recv_batch())
            else:
                raise AssertionError(f"stalled at {got} of {total}")
    return got


def test_memory_stable_over_100000_receives(backend, port, sender):
    with mcrx.Context(backend=backend, timestamps=False) as ctx:
        p = port()
        sid, group, _, tx = subscribe(ctx, "v4-asm", p)
        s = sender(tx)
        _drain(ctx, s, group, p, 10_000)  # warm up: caches, free lists
        gc.collect()
        total_refs = getattr(sys, "gettotalrefcount", None)  # debug builds only
        refs0 = total_refs() if total_refs else 0
        blocks0 = sys.getallocatedblocks()
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
        assert _drain(ctx, s, group, p, 100_000) == 100_000
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(st.size_diff for st in snap1.compare_to(snap0, "filename"))
        blocks = sys.getallocatedblocks() - blocks0
        assert grown < 64 * 1024, f"traced memory grew {grown} bytes"
        assert blocks < 1000, f"{blocks} more allocated blocks (a leaked object per packet " \
                              f"would be ~100,000)"
        if total_refs:
            assert total_refs() - refs0 < 1000
        assert ctx.get(sid).stats().packets == 110_000


def test_refcounts_of_returned_objects(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)
    sender(tx).send(group, p, b"rc", 3)
    pkts = recv_n(ctx, 3)
    payload = pkts[0].payload
    assert sys.getrefcount(payload) == 3  # packet, local, argument
    sub = ctx.get(sid)
    before = sys.getrefcount(ctx)
    subs = [ctx.get(sid) for _ in range(100)]
    assert sys.getrefcount(ctx) == before + 100
    del subs
    assert sys.getrefcount(ctx) == before
    del sub


def test_wait_releases_the_gil(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)
    result = []
    t = threading.Thread(target=lambda: result.append(ctx.wait(10)))
    t.start()
    spins = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # runs only if the waiter let the GIL go
        spins += 1
    sender(tx).send(group, p, b"wake")
    t.join(10)
    assert result == [True] and spins > 1000


def test_concurrent_use_is_detected(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)
    t = threading.Thread(target=ctx.wait, args=(10,))
    t.start()
    seen = None
    deadline = time.monotonic() + 5
    while seen is None and time.monotonic() < deadline:
        try:
            ctx.try_recv_any()  # None until the thread is inside wait()
        except mcrx.ConcurrentUseError as exc:
            seen = exc
    for call in (ctx.recv_batch, lambda: ctx.get(sid), ctx.close, ctx.ids,
                 lambda: len(ctx), lambda: sid in ctx, lambda: ctx.add("239.1.1.1", p)):
        with pytest.raises(mcrx.ConcurrentUseError):
            call()
    sender(tx).send(group, p, b"wake")
    t.join(10)
    assert isinstance(seen, RuntimeError) and "thread" in str(seen)
    assert len(recv_n(ctx, 1)) == 1  # usable again afterwards


def test_wait_runs_signal_handlers(ctx, port):
    ctx.join(ctx.add("239.77.45.90", port(), None, V4_RX))

    class Alarm(Exception):
        pass

    def raising(sig, frame):
        raise Alarm()
    calls = []
    old = signal.signal(signal.SIGALRM, raising)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(Alarm):  # the handler's exception ends the wait
            ctx.wait(30)
        signal.signal(signal.SIGALRM, lambda sig, frame: calls.append(sig))
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert ctx.wait(0.3) is False  # a handler that returns: the wait goes on (PEP 475)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert calls == [signal.SIGALRM]
    assert ctx.try_recv_any() is None  # still usable
