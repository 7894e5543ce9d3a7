"""asyncio: AsyncSubscription and add_reader receive bursts of 1..1000,
cancel, close while waiting, and stay idle (no busy loop) when nothing
comes. Every await is bounded by asyncio.wait_for, so a stall fails the
test instead of hanging it."""

import asyncio

import pytest

import mcrx
from mcrx import aio
from conftest import subscribe

BURSTS = [1, 10, 100, 1000]
LIMIT = 10.0  # seconds any await may take before the test fails


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def until(cond, limit=LIMIT):
    """Let the loop run until cond() holds (at most limit seconds)."""
    deadline = asyncio.get_running_loop().time() + limit
    while not cond() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


def burst(sender, tx, group, p, n):
    s = sender(tx)
    for i in range(n):
        s.send(group, p, b"%d" % i)


@pytest.mark.parametrize("n", BURSTS)
def test_async_subscription_recv_batch(ctx, port, sender, n):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-ssm", p)

    async def main():
        async with aio.AsyncSubscription.take(ctx, sid) as asub:
            assert asub.id == sid
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, burst, sender, tx, group, p, n)
            got = []
            while len(got) < n:
                got += await asyncio.wait_for(asub.recv_batch(64), LIMIT)
            return got
    got = run(main())
    assert [g.payload for g in got] == [b"%d" % i for i in range(n)]


@pytest.mark.parametrize("n", [1, 100])
def test_async_subscription_recv_and_iteration(ctx, port, sender, n):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v6-ssm", p)

    async def main():
        asub = aio.AsyncSubscription(ctx.take(sid))
        asyncio.get_running_loop().call_later(0.05, burst, sender, tx, group, p, n)
        first = await asyncio.wait_for(asub.recv(), LIMIT)
        rest = []
        if n > 1:
            async for pkt in asub:
                rest.append(pkt)
                if len(rest) == n - 1:
                    break
        burst(sender, tx, group, p, 1)
        pkt, md = await asyncio.wait_for(asub.recv_with_metadata(), LIMIT)
        asub.close()
        return [first] + rest, md
    got, md = run(main())
    assert [g.payload for g in got] == [b"%d" % i for i in range(n)]
    assert md.destination == group


def test_async_subscription_rules(ctx, port):
    sid = ctx.add("239.77.45.200", port())
    with pytest.raises(TypeError):
        aio.AsyncSubscription(ctx.get(sid))  # borrowed: not allowed
    with pytest.raises(TypeError):
        aio.AsyncSubscription("x")
    ctx.join(sid)

    async def main():
        asub = aio.AsyncSubscription.take(ctx, sid)
        t1 = asyncio.ensure_future(asub.recv())
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError):  # one consumer
            await asyncio.wait_for(asub.recv(), LIMIT)
        asub.close()  # wakes the waiter with ClosedError
        with pytest.raises(mcrx.ClosedError):
            await asyncio.wait_for(t1, LIMIT)
        with pytest.raises(ValueError):
            await asub.recv_batch(0)
        with pytest.raises(StopAsyncIteration):
            await asub.__anext__()
    run(main())


def test_async_recv_cancel(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)

    async def main():
        asub = aio.AsyncSubscription.take(ctx, sid)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asub.recv(), 0.1)  # cancels the waiting recv
        burst(sender, tx, group, p, 1)
        pkt = await asyncio.wait_for(asub.recv(), LIMIT)  # usable after a cancel
        asub.close()
        return pkt
    assert run(main()).payload == b"0"


def test_async_subscription_idle_is_not_a_busy_loop(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-ssm", p)

    async def main():
        asub = aio.AsyncSubscription.take(ctx, sid)
        wakes = []
        real = asub._wake
        asub._wake = lambda: (wakes.append(1), real())[1]
        task = asyncio.ensure_future(asub.recv())
        await asyncio.sleep(0.3)
        idle_wakes = len(wakes)
        burst(sender, tx, group, p, 1)
        pkt = await asyncio.wait_for(task, LIMIT)
        asub.close()
        return idle_wakes, pkt
    idle_wakes, pkt = run(main())
    assert idle_wakes == 0 and pkt.payload == b"0"


@pytest.mark.parametrize("n", BURSTS)
def test_add_reader_bursts(ctx, port, sender, n):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v6-asm", p)

    async def main():
        loop = asyncio.get_running_loop()
        got = []
        done = loop.create_future()

        def on_packet(pkt):
            got.append(pkt)
            if len(got) == n and not done.done():
                done.set_result(None)
        handle = aio.add_reader(loop, ctx, on_packet, max_batch=32)
        loop.call_later(0.05, burst, sender, tx, group, p, n)
        await asyncio.wait_for(done, LIMIT)
        handle.cancel()
        return got
    got = run(main())
    assert [g.payload for g in got] == [b"%d" % i for i in range(n)]


def test_add_reader_batches_and_metadata(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-ssm", p)

    async def main():
        loop = asyncio.get_running_loop()
        batches, pairs = [], []
        h1 = aio.add_reader(loop, ctx, batches.append, batch=True)
        burst(sender, tx, group, p, 50)
        await until(lambda: sum(map(len, batches)) >= 50)
        h1.cancel()
        h2 = aio.add_reader(loop, ctx, lambda pkt, md: pairs.append((pkt, md)),
                            with_metadata=True)
        burst(sender, tx, group, p, 3)
        await until(lambda: len(pairs) >= 3)
        h2.cancel()
        return batches, pairs
    batches, pairs = run(main())
    assert sum(map(len, batches)) == 50 and all(isinstance(b, list) for b in batches)
    assert len(pairs) == 3 and pairs[0][1].destination == group


def test_add_reader_cancel_and_idle(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)

    async def main():
        loop = asyncio.get_running_loop()
        got = []
        handle = aio.add_reader(loop, ctx, got.append)
        calls = []
        real = handle._on_ready
        handle._on_ready = lambda: (calls.append(1), real())
        loop.remove_reader(ctx.fileno())
        loop.add_reader(ctx.fileno(), handle._on_ready)
        burst(sender, tx, group, p, 5)
        await until(lambda: len(got) >= 5)
        before = len(calls)
        await asyncio.sleep(0.3)  # idle: the reader must not run
        idle_calls = len(calls) - before
        handle.cancel()
        handle.cancel()  # idempotent
        burst(sender, tx, group, p, 5)
        await asyncio.sleep(0.3)
        return got, idle_calls, handle.cancelled
    got, idle_calls, cancelled = run(main())
    assert len(got) == 5 and cancelled
    assert idle_calls <= 1  # one spurious wakeup after the last datagram is allowed
    # the 5 sent after cancel are still queued for the next reader
    assert len([g for g in (ctx.recv_batch() if ctx.wait(2) else [])]) == 5


def test_add_reader_callback_errors_do_not_stop_it(ctx, port, sender):
    p = port()
    sid, group, _, tx = subscribe(ctx, "v4-asm", p)

    async def main():
        loop = asyncio.get_running_loop()
        errors, got = [], []
        loop.set_exception_handler(lambda lp, c: errors.append(c["exception"]))

        def cb(pkt):
            got.append(pkt)
            raise KeyError("callback bug")
        handle = aio.add_reader(loop, ctx, cb)
        burst(sender, tx, group, p, 3)
        await until(lambda: len(got) >= 3)
        handle.cancel()
        return errors, got
    errors, got = run(main())
    assert len(got) == 3 and len(errors) == 3
    assert all(isinstance(e, KeyError) for e in errors)


def test_add_reader_stops_when_the_context_closes(backend, port):
    async def main():
        loop = asyncio.get_running_loop()
        reported = []
        loop.set_exception_handler(lambda lp, c: reported.append(c["exception"]))
        ctx = mcrx.Context(backend=backend)
        handle = aio.add_reader(loop, ctx, lambda pkt: None)
        fd = ctx.fileno()
        loop.remove_reader(fd)  # closing the fd under the selector is the caller's bug;
        ctx.close()              # here only the handle's own reaction is checked
        handle._on_ready()
        return handle.cancelled, reported
    cancelled, reported = run(main())
    assert cancelled and isinstance(reported[0], mcrx.ClosedError)


def test_add_reader_bad_arguments(ctx):
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(TypeError):
            aio.add_reader(loop, ctx, "not callable")
        with pytest.raises(ValueError):
            aio.add_reader(loop, ctx, print, rounds=0)
        with pytest.raises(ValueError):
            aio.add_reader(loop, ctx, print, max_batch=0)
    finally:
        loop.close()
