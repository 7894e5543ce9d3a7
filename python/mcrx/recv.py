"""python3 -m mcrx.recv GROUP PORT [SOURCE] [INTERFACE] [options]

Joins GROUP (ASM, or SSM when SOURCE is given) and prints every datagram in
the format of the C tool mcrx_recv (tools/README.md):

    [ready] group=232.1.2.3 dst_port=5001 source=192.0.2.2 interface=192.0.2.1 backend: recvmmsg
    [recv] sub=1 src=192.0.2.2:33406 group=232.1.2.3 dst_port=5001 len=9
           payload: hello SSM
    [done] received=3

MCRX_BACKEND=recvmmsg|iouring|default picks the backend. Exit status: 0 ok,
1 failure or --count not reached, 2 bad command line, 3 backend unavailable.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import List, Optional

import mcrx

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_BACKEND = 0, 1, 2, 3
PREVIEW_MAX = 64


def addr_str(ip: Optional[str], port: int) -> str:
    ip = ip or "none"
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def packet_lines(pkt: mcrx.Packet) -> str:
    """The two lines mcrx_recv prints for a packet."""
    head = (f"[recv] sub={pkt.sub_id} src={addr_str(pkt.source, pkt.source_port)} "
            f"group={pkt.group} dst_port={pkt.dst_port} len={pkt.len}")
    if pkt.truncated:
        head += f" truncated wire_len={pkt.wire_len}"
    data = bytes(pkt.payload)
    shown = data[:PREVIEW_MAX]
    if not data:
        preview = "(empty)"
    elif all(0x20 <= b <= 0x7E for b in shown):
        preview = shown.decode("ascii")
    else:
        preview = "hex " + " ".join(f"{b:02x}" for b in shown)
    if len(data) > len(shown):
        preview += f" ... ({len(data)} bytes)"
    return f"{head}\n       payload: {preview}\n"


class StatsPrinter:
    """The [stats] line of mcrx_recv, from the subscription's counters."""

    def __init__(self, sub: mcrx.Subscription, out) -> None:
        self.sub, self.out = sub, out
        self.t, self.packets, self.bytes = time.monotonic(), 0, 0

    def print(self) -> None:
        s = self.sub.stats()
        now = time.monotonic()
        dt = max(now - self.t, 1e-9)
        filtered = (s.filtered_group + s.filtered_source + s.filtered_interface +
                    s.filtered_no_pktinfo)
        self.out.write(f"[stats] pkts/s={(s.packets - self.packets) / dt:.0f} "
                       f"Mbit/s={(s.bytes - self.bytes) * 8 / dt / 1e6:.3f} "
                       f"drops={s.kernel_drops + filtered} (kernel={s.kernel_drops} "
                       f"filtered={filtered}) backend_events={s.backend_drop_events} "
                       f"total={s.packets}\n")
        self.out.flush()
        self.t, self.packets, self.bytes = now, s.packets, s.bytes


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m mcrx.recv",
        description="Join GROUP (ASM, or SSM when SOURCE is given) on UDP port PORT "
                    "and print every datagram (the output of the C tool mcrx_recv).")
    p.add_argument("group")
    p.add_argument("port", type=int)
    p.add_argument("source_pos", nargs="?", metavar="SOURCE",
                   help='SSM source address ("any" or "" = ASM)')
    p.add_argument("interface_pos", nargs="?", metavar="INTERFACE",
                   help="join interface: address, name or index")
    p.add_argument("--source")
    p.add_argument("--interface")
    p.add_argument("--count", type=int, default=0, help="exit 0 after N packets")
    p.add_argument("--timeout", type=float, default=None,
                   help="total seconds allowed; with --count, exit 1 if fewer arrived")
    p.add_argument("--quiet", action="store_true", help="no per-packet lines")
    p.add_argument("--stats", action="store_true",
                   help="once a second: [stats] pkts/s=.. Mbit/s=.. drops=.. (cumulative "
                        "kernel drops + datagrams filtered out by the library)")
    p.add_argument("--max-payload", type=int, default=None,
                   help="bytes kept per datagram (1..65535)")
    a = p.parse_args(argv)
    for pos, opt in (("source_pos", "source"), ("interface_pos", "interface")):
        if getattr(a, pos) is not None:
            if getattr(a, opt) is not None:
                p.error(f"{opt.upper()} given both as argument and --{opt}")
            setattr(a, opt, getattr(a, pos))
    if a.source in ("", "any"):
        a.source = None
    if a.interface == "":
        a.interface = None
    if not 1 <= a.port <= 65535:
        p.error("port must be in 1..65535")
    if a.count < 0 or (a.timeout is not None and a.timeout <= 0):
        p.error("--count must be >= 0 and --timeout > 0")
    return a


def make_context(max_payload: Optional[int]) -> mcrx.Context:
    backend = os.environ.get("MCRX_BACKEND") or None
    try:
        return mcrx.Context(backend=backend, max_payload=max_payload)
    except mcrx.BackendUnavailable as exc:
        print(f"mcrx.recv: backend {backend or 'default'} cannot run here: {exc}",
              file=sys.stderr)
        sys.exit(EXIT_BACKEND)


def main(argv: Optional[List[str]] = None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ctx = make_context(a.max_payload)
    with ctx:
        try:
            sid = ctx.add(a.group, a.port, a.source, a.interface)
        except (mcrx.InvalidConfig, ValueError, TypeError) as exc:
            print(f"mcrx.recv: bad subscription: {exc}", file=sys.stderr)
            return EXIT_USAGE
        try:
            ctx.join(sid)
        except mcrx.Error as exc:
            print(f"mcrx.recv: cannot join: {exc}", file=sys.stderr)
            return EXIT_FAIL
        out = sys.stdout
        out.write(f"[ready] group={ctx.get(sid).config.group} dst_port={a.port} "
                  f"source={a.source or 'any'} interface={a.interface or 'default'} "
                  f"backend: {ctx.backend}\n")
        out.flush()
        got = 0
        now = time.monotonic()
        deadline = None if a.timeout is None else now + a.timeout
        stats = StatsPrinter(ctx.get(sid), out) if a.stats else None
        next_stats = now + 1.0
        try:
            while not stop and (a.count == 0 or got < a.count):
                now = time.monotonic()
                if stats and now >= next_stats:
                    stats.print()
                    next_stats = max(next_stats + 1.0, now + 0.001)
                left = None if deadline is None else deadline - now
                if left is not None and left <= 0:
                    break
                if stats:
                    left = min(next_stats - now, left if left is not None else 1.0)
                if not ctx.wait(left):
                    continue
                for pkt in ctx.recv_batch():
                    if a.count and got >= a.count:
                        break
                    got += 1
                    if not a.quiet:
                        out.write(packet_lines(pkt))
                        out.flush()
        except KeyboardInterrupt:
            pass
        if stats:
            stats.print()
        out.write(f"[done] received={got}\n")
        out.flush()
    if a.count and got < a.count:
        print(f"mcrx.recv: received {got} of {a.count} packets", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
