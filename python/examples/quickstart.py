"""Python quick start: join an ASM group, wait for one datagram, print it."""
import sys

import mcrx

group = sys.argv[1] if len(sys.argv) > 1 else "239.1.2.3"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5000

with mcrx.Context() as ctx:  # default options and backend; closes everything
    try:
        sid = ctx.add(group, port)  # any source; source="192.0.2.2" for SSM
        ctx.join(sid)
    except mcrx.Error as exc:
        sys.exit(f"{group}:{port}: {exc}")

    # Wait (up to 10 s at a time) until a packet is there.
    pkt = None
    while pkt is None and ctx.wait(10.0):
        pkt = ctx.try_recv_any()

    if pkt is None:
        sys.exit("no packet: timeout")
    text = pkt.payload.decode("utf-8", "replace")
    print(f"{pkt.len} bytes from {pkt.source}:{pkt.source_port}: {text}")
