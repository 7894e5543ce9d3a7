#!/usr/bin/python3
"""py_drain.py: how fast Python drains multicast with mcrx, against the
plain ways, on the same datagrams, in one sitting.

    scripts/mcrx-netns /usr/bin/python3 bench/py_drain.py --build-dir build

Workload ("drain", as mcrx_bench drain): the receiver joins 239.1.1.1 on lo
(a fresh port per run) with a 1 GiB receive buffer; the process (pinned to
one core) queues N datagrams of L bytes, waits until the queue stops
growing, then times only the drain. Every receiver does the same work per
datagram: count it and add its payload length (touching the payload).

Receivers (--modes):
  mcrx-recvmmsg, mcrx-iouring  Context.recv_batch() (256 per call), pktinfo
                               destination checked for every datagram by the
                               library, timestamps off
  plain                        socket.recv_into() per datagram into one
                               bytearray, non-blocking, no pktinfo, no checks
  asyncio                      loop.create_datagram_endpoint(DatagramProtocol)
                               on the same kind of socket (datagram_received)
  c-recvmmsg, c-iouring        the C library itself: mcrx_bench drain --backend
                               B --no-timestamps (same workload, its own process,
                               pinned to the same core): what the Python layer
                               adds on top

Rounds interleave the receivers (the order rotates each round). Ratios are
per round (receivers of the same round), reported as median and min-max,
from wall-clock rates (Mpps) and from CPU time (cpu Mpps = 1000 /
cpu_ns_per_pkt: the receiver's own CPU time, getrusage, which preemption by
other load on a shared machine does not inflate). Other work shows up as
spread and in invol_cs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import select
import socket
import statistics
import sys
import time

GROUP = "239.1.1.1"
IFADDR = "127.0.0.1"
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF = 1 << 30
BASE_PORT = 47000


def plain_socket(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.bind(("0.0.0.0", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(GROUP) + socket.inet_aton(IFADDR))
    s.setblocking(False)
    return s


def fill(port: int, n: int, length: int) -> None:
    """Queue n datagrams and wait until the kernel has delivered them all."""
    payload = bytes(range(256)) * (length // 256 + 1)
    payload = payload[:length]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(IFADDR))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        dst = (GROUP, port)
        for _ in range(n):
            tx.sendto(payload, dst)
    last, stable = -1, 0
    while stable < 3:  # loopback delivers in softirq: wait for a quiet queue
        time.sleep(0.02)
        q = rx_queue(port)
        stable = stable + 1 if q == last else 0
        last = q


def rx_queue(port: int) -> int:
    """Bytes queued on the port's sockets (/proc/net/udp)."""
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if int(cols[1].split(":")[1], 16) == port:
                total += int(cols[4].split(":")[1], 16)
    return total


class Timer:
    def __enter__(self):
        self.ru0 = resource.getrusage(resource.RUSAGE_SELF)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.secs = time.perf_counter() - self.t0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu = (ru.ru_utime - self.ru0.ru_utime) + (ru.ru_stime - self.ru0.ru_stime)
        self.invol = ru.ru_nivcsw - self.ru0.ru_nivcsw


def drain_mcrx(backend: str, port: int, n: int, length: int):
    import mcrx
    with mcrx.Context(backend=backend, rcvbuf_bytes=RCVBUF, timestamps=False) as ctx:
        sid = ctx.add(GROUP, port, None, IFADDR)
        ctx.join(sid)
        fill(port, n, length)
        got = total = 0
        with Timer() as t:
            recv = ctx.recv_batch
            while got < n:
                pkts = recv()
                if not pkts:
                    if not ctx.wait(1.0):
                        break  # the rest was dropped
                    continue
                for p in pkts:
                    total += len(p.payload)
                got += len(pkts)
        st = ctx.get(sid).stats()
        return got, total, t, st.kernel_drops, ctx.backend


def drain_plain(port: int, n: int, length: int):
    s = plain_socket(port)
    with s:
        fill(port, n, length)
        buf = bytearray(65536)
        got = total = 0
        with Timer() as t:
            recv_into = s.recv_into
            while got < n:
                try:
                    total += recv_into(buf)
                except BlockingIOError:
                    if not select.select([s], [], [], 1.0)[0]:
                        break
                    continue
                got += 1
    return got, total, t, n - got, "socket"


def drain_asyncio(port: int, n: int, length: int):
    s = plain_socket(port)

    class Proto(asyncio.DatagramProtocol):
        got = total = 0
        done: asyncio.Future

        def datagram_received(self, data, addr):
            self.total += len(data)
            self.got += 1
            if self.got == n:
                self.done.set_result(None)

    async def run():
        loop = asyncio.get_running_loop()
        proto = Proto()
        proto.done = loop.create_future()
        fill(port, n, length)
        with Timer() as t:
            transport, _ = await loop.create_datagram_endpoint(lambda: proto, sock=s)
            last = -1
            while not proto.done.done() and proto.got != last:  # stop when it stalls
                last = proto.got
                await asyncio.wait([proto.done], timeout=1.0)
        transport.close()
        return proto.got, proto.total, t, n - proto.got, "asyncio"

    return asyncio.run(run())


class CRun:
    """Timer-like record of a mcrx_bench run."""

    def __init__(self, fields):
        self.secs = float(fields["secs"])
        self.cpu = float(fields["cpu_ns_per_pkt"]) * int(fields["pkts"]) / 1e9
        self.invol = int(fields["invol_cs"])


BENCH_EXE = None


def drain_c(backend: str, port: int, n: int, length: int):
    import subprocess
    out = subprocess.run([BENCH_EXE, "drain", "--backend", backend, "--no-timestamps",
                          "--count", str(n), "--len", str(length),
                          "--cpu-rx", str(CPU if CPU >= 0 else 0)],
                         capture_output=True, text=True, timeout=300)
    line = [x for x in out.stdout.splitlines() if x.startswith("mode=drain")]
    if out.returncode != 0 or not line:
        raise SystemExit(f"mcrx_bench failed ({out.returncode}): {out.stdout}{out.stderr}")
    fields = dict(kv.split("=", 1) for kv in line[0].split() if "=" in kv)
    got = int(fields["pkts"])
    return got, got * length, CRun(fields), int(fields["drops"]), "mcrx_bench"


CPU = 0


def measure(mode: str, port: int, n: int, length: int):
    if mode.startswith("c-"):
        return drain_c(mode[2:], port, n, length)
    if mode.startswith("mcrx-"):
        return drain_mcrx(mode[5:], port, n, length)
    if mode == "plain":
        return drain_plain(port, n, length)
    if mode == "asyncio":
        return drain_asyncio(port, n, length)
    raise SystemExit(f"unknown mode {mode}")


def spread(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200_000, help="datagrams per run")
    ap.add_argument("--len", type=int, default=64, dest="length", help="payload bytes")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--modes",
                    default="mcrx-recvmmsg,mcrx-iouring,plain,asyncio,c-recvmmsg,c-iouring")
    ap.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: none)")
    ap.add_argument("--build-dir", help="import mcrx from BUILD_DIR/python")
    a = ap.parse_args()
    if os.environ.get("MCRX_NETNS_READY") != "1":
        print("py_drain: run me inside scripts/mcrx-netns", file=sys.stderr)
        return 2
    global BENCH_EXE, CPU
    CPU = a.cpu
    if a.build_dir:
        sys.path.insert(0, os.path.join(a.build_dir, "python"))
        exe = os.path.join(a.build_dir, "bench", "mcrx_bench")
        BENCH_EXE = exe if os.access(exe, os.X_OK) else None
    import mcrx
    modes = a.modes.split(",")
    compiled = {b.replace("io_uring", "iouring") for b in mcrx.backends()}
    modes = [m for m in modes if not m.startswith(("mcrx-", "c-")) or
             m.split("-", 1)[1] in compiled]
    if not BENCH_EXE:
        modes = [m for m in modes if not m.startswith("c-")]
    if a.cpu >= 0:
        os.sched_setaffinity(0, {a.cpu})
    print(f"# py_drain: count={a.count} len={a.length} rounds={a.rounds} cpu={a.cpu} "
          f"python={sys.executable} {sys.version.split()[0]} mcrx={mcrx.__file__}")
    print(f"# command: {' '.join(sys.argv)}")
    mpps = {m: [] for m in modes}
    cpu_mpps = {m: [] for m in modes}
    port = BASE_PORT
    for r in range(a.rounds):
        order = modes[r % len(modes):] + modes[:r % len(modes)]
        for m in order:
            port += 1
            got, total, t, drops, name = measure(m, port, a.count, a.length)
            rate = got / t.secs / 1e6
            mpps[m].append(rate)
            cpu_mpps[m].append(got / t.cpu / 1e6 if t.cpu > 0 else 0.0)
            print(f"round={r + 1} mode={m} impl={name} pkts={got} drops={drops} "
                  f"bytes={total} secs={t.secs:.3f} mpps={rate:.3f} "
                  f"cpu_ns_per_pkt={t.cpu / max(got, 1) * 1e9:.0f} invol_cs={t.invol}",
                  flush=True)
            if got != a.count:
                print(f"#   warning: {a.count - got} datagrams missing", flush=True)
    print("\n# median (min-max) over rounds")
    print(f"{'receiver':14s} {'Mpps (wall)':22s} cpu Mpps")
    for m in modes:
        print(f"{m:14s} {spread(mpps[m]):22s} {spread(cpu_mpps[m])}")
    print("\n# ratios per round, median (min-max): wall | cpu")
    for m in modes:
        if not m.startswith("mcrx-"):
            continue
        refs = ["plain", "asyncio", "c-" + m[5:]]
        for ref in refs:
            if ref in mpps:
                wall = [x / y for x, y in zip(mpps[m], mpps[ref])]
                cpu = [x / y for x, y in zip(cpu_mpps[m], cpu_mpps[ref])]
                print(f"{m} / {ref}: {spread(wall)} x | {spread(cpu)} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
