"""mcrx: high-rate IPv4/IPv6 multicast receive (ASM and SSM) for Python.

Python bindings of the mcrx-core C library: batch receive (recvmmsg or
io_uring), exact delivery (pktinfo destination, SSM source and ingress
interface checked for every datagram), per-subscription accounting.

Quick start::

    import mcrx
    with mcrx.Context() as ctx:
        sid = ctx.add("239.1.2.3", 5000)        # ASM; source="..." for SSM
        ctx.join(sid)
        while ctx.wait(10.0):
            for pkt in ctx.recv_batch():
                print(pkt.source, pkt.source_port, pkt.payload)

Threading: a :class:`Context` (and the subscriptions borrowed from it) is
used by one thread at a time. The GIL is released while the library works;
a second thread calling in meanwhile gets :class:`ConcurrentUseError`
(nothing is done), never memory corruption. A subscription taken out with
:meth:`Context.take` may be used from another thread.

asyncio: see :mod:`mcrx.aio`.
"""

from __future__ import annotations

import enum as _enum

from . import _mcrx
from .errors import *  # noqa: F401,F403  (every exception class)
from .errors import __all__ as _errors_all
from .errors import ClosedError, ConcurrentUseError, error_for_status

__version__ = "0.1.0"


class SubscriptionState(_enum.IntEnum):
    """Subscription.state: BOUND (socket bound, not joined) or JOINED."""

    BOUND = 1
    JOINED = 2


_mcrx._init(error_for_status, ConcurrentUseError, ClosedError, SubscriptionState)

Context = _mcrx.Context
Subscription = _mcrx.Subscription
Packet = _mcrx.Packet
ReceiveMetadata = _mcrx.ReceiveMetadata
Config = _mcrx.Config
Stats = _mcrx.Stats
backends = _mcrx.backends
strerror = _mcrx.strerror
status_name = _mcrx.status_name
LIB_VERSION = _mcrx.LIB_VERSION

__all__ = [
    "Context", "Subscription", "Packet", "ReceiveMetadata", "Config", "Stats",
    "SubscriptionState", "backends", "strerror", "status_name", "LIB_VERSION",
    *_errors_all,
]
