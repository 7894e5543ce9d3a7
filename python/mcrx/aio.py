"""asyncio on top of mcrx: both helpers wait with ``loop.add_reader`` and
never poll, so an idle receiver costs nothing.

* :class:`AsyncSubscription`: an owned subscription (``Context.take``) with
  one consumer: ``await recv()``, ``await recv_batch(n)``, ``async for``.
* :func:`add_reader`: callback style over a whole :class:`mcrx.Context`;
  every packet of every joined subscription is handed to ``callback``.

Both drain the library before they wait again: the library reads ahead (a
whole turn per syscall), so the file descriptor alone does not say whether
packets are waiting.
"""

from __future__ import annotations

import asyncio
from typing import Callable, List, Optional, Tuple

from . import Context, Packet, ReceiveMetadata, Subscription
from .errors import ClosedError, Error

__all__ = ["AsyncSubscription", "ReaderHandle", "add_reader"]


class AsyncSubscription:
    """An owned subscription received from with ``await``.

    ``sub`` must be owned (from ``Context.take(id)``); the AsyncSubscription
    becomes its only user and closes it in :meth:`close`. One consumer: a
    second coroutine waiting at the same time gets ``RuntimeError``.
    """

    def __init__(self, sub: Subscription) -> None:
        if not isinstance(sub, Subscription):
            raise TypeError(f"sub must be an mcrx.Subscription, not {type(sub).__name__}")
        if not sub.owned:
            raise TypeError("AsyncSubscription needs an owned subscription: use "
                            "AsyncSubscription.take(ctx, id) or Context.take(id)")
        self._sub = sub
        self._fd = sub.fileno()
        self._waiter: Optional[asyncio.Future] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def take(cls, ctx: Context, sub_id: int) -> "AsyncSubscription":
        """Take subscription ``sub_id`` out of ``ctx`` and wrap it."""
        return cls(ctx.take(sub_id))

    @property
    def subscription(self) -> Subscription:
        """The wrapped (owned) subscription."""
        return self._sub

    @property
    def id(self) -> int:
        return self._sub.id

    async def recv(self) -> Packet:
        """The next packet; waits (without polling) until one arrives."""
        while True:
            pkt = self._sub.try_recv()
            if pkt is not None:
                return pkt
            await self._readable()

    async def recv_with_metadata(self) -> Tuple[Packet, ReceiveMetadata]:
        """The next ``(Packet, ReceiveMetadata)``."""
        while True:
            pair = self._sub.try_recv_with_metadata()
            if pair is not None:
                return pair
            await self._readable()

    async def recv_batch(self, n: int = 256) -> List[Packet]:
        """Between 1 and ``n`` packets: what is there now, or the first
        ones to arrive."""
        if n < 1:
            raise ValueError("n must be >= 1")
        while True:
            pkts = self._sub.recv_batch(n)
            if pkts:
                return pkts
            await self._readable()

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> Packet:
        if self._sub.closed:
            raise StopAsyncIteration
        return await self.recv()

    async def _readable(self) -> None:
        """Wait until the socket is readable. The reader is registered only
        while someone waits: a level-triggered reader left behind would fire
        on every loop turn while datagrams sit unread (a busy loop)."""
        if self._waiter is not None:
            raise RuntimeError("AsyncSubscription has one consumer: another "
                               "coroutine is already waiting on it")
        if self._sub.closed:
            raise ClosedError("Subscription is closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiter, self._loop = fut, loop
        loop.add_reader(self._fd, self._wake)
        try:
            await fut
        finally:
            if self._waiter is fut:  # close() has not unregistered it already
                loop.remove_reader(self._fd)
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        """Close the subscription (leave, close the socket). A coroutine
        waiting in recv() gets ClosedError."""
        waiter = self._waiter
        if waiter is not None:
            # Unregister before the socket closes: its fd number may be reused.
            self._loop.remove_reader(self._fd)
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(ClosedError("Subscription closed while waiting"))
        self._sub.close()

    async def __aenter__(self) -> "AsyncSubscription":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()


Callback = Callable[..., object]


class ReaderHandle:
    """What :func:`add_reader` returns; :meth:`cancel` stops the reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ctx: Context, callback: Callback,
                 max_batch: Optional[int], with_metadata: bool, batch: bool,
                 rounds: int) -> None:
        self._loop = loop
        self._ctx = ctx
        self._callback = callback
        self._max = max_batch if max_batch is not None else ctx.options["max_batch"]
        self._recv = ctx.recv_batch_with_metadata if with_metadata else ctx.recv_batch
        self._meta = with_metadata
        self._batch = batch
        self._rounds = rounds
        self._fd = ctx.fileno()
        self._again: Optional[asyncio.Handle] = None
        self._cancelled = False
        loop.add_reader(self._fd, self._on_ready)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop: no callback runs after this returns. Idempotent."""
        if self._cancelled:
            return
        self._cancelled = True
        self._loop.remove_reader(self._fd)
        if self._again is not None:
            self._again.cancel()
            self._again = None

    def _call(self, *args) -> None:
        try:
            self._callback(*args)
        except Exception as exc:  # report, and keep delivering the batch
            self._loop.call_exception_handler({
                "message": "exception in mcrx.aio reader callback",
                "exception": exc, "handle": self})

    def _deliver(self, items: list) -> None:
        if self._batch:
            self._call(items)
            return
        for item in items:
            if self._meta:
                self._call(*item)
            else:
                self._call(item)
            if self._cancelled:
                return

    def _on_ready(self) -> None:
        self._again = None
        if self._cancelled:
            return
        for _ in range(self._rounds):
            try:
                items = self._recv(self._max)
            except Error as exc:  # context closed, receive failed: stop
                self.cancel()
                self._loop.call_exception_handler({
                    "message": "mcrx.aio reader stopped", "exception": exc,
                    "handle": self})
                return
            if items:
                self._deliver(items)
            if self._cancelled or len(items) < self._max:
                return  # drained: the fd tells when more comes
        # Budget spent, data left: let other callbacks run, then go on (the
        # library may hold read-ahead datagrams the fd does not announce).
        self._again = self._loop.call_soon(self._on_ready)


def add_reader(loop: asyncio.AbstractEventLoop, ctx: Context, callback: Callback, *,
               max_batch: Optional[int] = None, with_metadata: bool = False,
               batch: bool = False, rounds: int = 16) -> ReaderHandle:
    """Call ``callback`` for every packet ``ctx`` receives, from ``loop``.

    ``callback(packet)`` per packet; ``callback(packet, metadata)`` with
    ``with_metadata=True``; ``callback(list)`` once per batch with
    ``batch=True``. Each readiness drains up to ``rounds`` batches of
    ``max_batch`` (default: the context's) and stops as soon as a batch comes
    back short; when the budget runs out first the rest follows on the next
    loop turn, so a flood cannot starve other tasks. Exceptions from
    ``callback`` go to the loop's exception handler and the reader stays;
    a library error (e.g. the context was closed) cancels it.
    Cancel the handle before closing the context.
    """
    if not callable(callback):
        raise TypeError("callback must be callable")
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    if max_batch is not None and max_batch < 1:
        raise ValueError("max_batch must be >= 1")
    return ReaderHandle(loop, ctx, callback, max_batch, with_metadata, batch, rounds)

