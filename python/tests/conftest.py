"""Shared fixtures of the mcrx Python test suite.

Every test runs inside the private network namespace made by
scripts/mcrx-netns (refused otherwise: no test may join or send multicast on
the machine's own network). The `backend` fixture runs a test once per
backend: MCRX_TEST_BACKEND when set (meson registers one run per backend),
else every compiled one.

Ports: 45000-45999 (the C suite uses 30000-43999), one fresh port per call
of `port()`. Senders use Python's own socket module, as a second opinion.
"""

from __future__ import annotations

import os
import select
import socket
import time
from typing import List

import pytest

import mcrx

V4_RX = os.environ.get("MCRX_TEST_V4_RX", "192.0.2.1")
V4_TX = os.environ.get("MCRX_TEST_V4_TX", "192.0.2.2")
V4_TX2 = os.environ.get("MCRX_TEST_V4_TX2", "192.0.2.3")
V6_RX = os.environ.get("MCRX_TEST_V6_RX", "2001:db8:77::1")
V6_TX = os.environ.get("MCRX_TEST_V6_TX", "2001:db8:77::2")
V6_TX2 = os.environ.get("MCRX_TEST_V6_TX2", "2001:db8:77::3")
IF_RX = os.environ.get("MCRX_TEST_IF_RX", "v0")
IF_TX = os.environ.get("MCRX_TEST_IF_TX", "v1")


def pytest_configure(config):
    if os.environ.get("MCRX_NETNS_READY") != "1":
        pytest.exit("refusing to run: not inside scripts/mcrx-netns (the tests join and "
                    "send multicast)", returncode=99)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        env = os.environ.get("MCRX_TEST_BACKEND")
        names = [env] if env else mcrx.backends()
        metafunc.parametrize("backend", names)


_next_port = [45000]


@pytest.fixture
def port():
    """A function returning a port no other test of this run uses."""
    def take() -> int:
        _next_port[0] += 1
        assert _next_port[0] < 46000
        return _next_port[0]
    return take


@pytest.fixture
def ctx(backend):
    """A context on the backend under test (timestamps on, the default)."""
    with mcrx.Context(backend=backend) as c:
        yield c


class Sender:
    """A plain UDP socket bound to a sender-host address on v1."""

    def __init__(self, src: str) -> None:
        self.v6 = ":" in src
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((src, 0))
        if self.v6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,
                                 socket.if_nametoindex(IF_TX))
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        else:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                 socket.inet_aton(src))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.port = self.sock.getsockname()[1]

    def send(self, group: str, port: int, payload: bytes, count: int = 1) -> None:
        for _ in range(count):
            self.sock.sendto(payload, (group, port))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sender():
    """sender(src) -> Sender, closed after the test."""
    made: List[Sender] = []

    def make(src: str = V4_TX) -> Sender:
        s = Sender(src)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def recv_n(ctx: mcrx.Context, n: int, timeout: float = 5.0, meta: bool = False) -> list:
    """Receive until n packets came or timeout seconds passed."""
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if ctx.wait(min(left, 0.5)):
            got += ctx.recv_batch_with_metadata() if meta else ctx.recv_batch()
    return got


def recv_sub(sub: mcrx.Subscription, n: int, timeout: float = 5.0) -> list:
    """Receive from an owned subscription: drain, then wait on its socket
    (the library may hold read-ahead datagrams, so drain first)."""
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n and (left := deadline - time.monotonic()) > 0:
        batch = sub.recv_batch()
        got += batch
        if not batch:
            select.select([sub.fileno()], [], [], min(left, 0.5))
    return got


def quiet(ctx: mcrx.Context, seconds: float = 0.2) -> list:
    """What arrives within `seconds` (for checks that nothing does)."""
    got: list = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if ctx.wait(left):
            got += ctx.recv_batch()
    return got


# (family, group, source or None, interface, sender address) per delivery kind.
def kinds(p: int):
    return {
        "v4-asm": (f"239.77.45.{p % 250}", None, V4_RX, V4_TX),
        "v4-ssm": (f"232.77.45.{p % 250}", V4_TX, V4_RX, V4_TX),
        "v6-asm": (f"ff15::77:{p:x}", None, IF_RX, V6_TX),
        "v6-ssm": (f"ff3e::8000:{p:x}", V6_TX, IF_RX, V6_TX),
    }


def subscribe(ctx: mcrx.Context, kind: str, p: int, **kw) -> tuple:
    """add + join for a kind of kinds(); returns (id, group, source, sender_addr)."""
    group, source, iface, tx = kinds(p)[kind]
    sid = ctx.add(group, p, source, iface, **kw)
    ctx.join(sid)
    return sid, group, source, tx


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
