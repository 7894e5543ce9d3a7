"""The README's Python quick start (python/examples/quickstart.py, shown
verbatim in README.md) and the mcrx.recv demo, run as programs."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import V4_RX, V4_TX

HERE = Path(__file__).resolve().parent
QUICKSTART = HERE.parent / "examples" / "quickstart.py"
ROOT = Path(os.environ.get("MCRX_SOURCE_ROOT", HERE.parent.parent))


def _hexgroup(group):
    return "%08X" % int.from_bytes(socket.inet_aton(group), "little")


def _joined(group):
    with open("/proc/net/igmp") as f:
        return any(_hexgroup(group) in line for line in f)


def _wait_joined(group, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _joined(group):
            return True
        time.sleep(0.02)
    return False


def test_readme_shows_the_quickstart_verbatim():
    readme = (ROOT / "README.md").read_text()
    prog = QUICKSTART.read_text()
    assert f"```python\n{prog}```" in readme, "README's Python quick start is not " \
                                              "python/examples/quickstart.py"


def test_quickstart_receives_and_prints(port, backend):
    p = port()
    group = "239.77.45.150"
    proc = subprocess.Popen([sys.executable, str(QUICKSTART), group, str(p)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_joined(group, proc), "quickstart never joined"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.sendto(b"hello", (group, p))
            sport = s.getsockname()[1]
            out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == f"5 bytes from 127.0.0.1:{sport}: hello\n"
    assert not _joined(group), "quickstart left its membership behind"


def test_quickstart_reports_a_bad_group(port):
    r = subprocess.run([sys.executable, str(QUICKSTART), "10.1.2.3", str(port())],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "MCRX_E_GROUP_NOT_MULTICAST" in r.stderr


def _start_receiver(cmd, backend):
    env = dict(os.environ, MCRX_BACKEND=backend)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    ready = proc.stdout.readline()
    assert ready.startswith("[ready] "), ready + proc.stderr.read()
    return proc, ready


def _run_receivers(cmds, backend, group, p):
    """Start each receiver command, send three datagrams (text, binary > 64
    bytes, empty) from one SSM source, return (outputs, sender port)."""
    args = [group, str(p), V4_TX, V4_RX, "--count", "3", "--timeout", "10"]
    procs = [_start_receiver(cmd + args, backend) for cmd in cmds]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((V4_TX, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(V4_TX))
        sport = s.getsockname()[1]
        for data in (b"hello SSM", bytes(range(70)), b""):
            s.sendto(data, (group, p))
    outs = []
    for proc, ready in procs:
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        outs.append(ready + out)
    return outs, sport


def test_recv_demo_output(port, backend):
    p = port()
    group = "232.77.45.151"
    (out,), sport = _run_receivers([[sys.executable, "-m", "mcrx.recv"]], backend, group, p)
    src = f"src={V4_TX}:{sport} group={group} dst_port={p}"
    assert out == (
        f"[ready] group={group} dst_port={p} source={V4_TX} interface={V4_RX} "
        f"backend: {backend.replace('iouring', 'io_uring')}\n"
        f"[recv] sub=1 {src} len=9\n"
        f"       payload: hello SSM\n"
        f"[recv] sub=1 {src} len=70\n"
        f"       payload: hex " + " ".join(f"{b:02x}" for b in range(64)) +
        " ... (70 bytes)\n"
        f"[recv] sub=1 {src} len=0\n"
        f"       payload: (empty)\n"
        f"[done] received=3\n")


def test_recv_demo_matches_the_c_tool(port, backend):
    tool = os.environ.get("MCRX_TOOL_RECV")
    if not tool:
        pytest.skip("MCRX_TOOL_RECV (path of tools/mcrx_recv) unset: built with -Dtools=false?")
    (py_out, c_out), _ = _run_receivers([[sys.executable, "-m", "mcrx.recv"], [tool]],
                                        backend, "232.77.45.152", port())
    assert py_out == c_out


def test_recv_demo_stats_line(port, backend):
    p = port()
    group = "239.77.45.153"
    proc, ready = _start_receiver([sys.executable, "-m", "mcrx.recv", group, str(p),
                                   "--interface", V4_RX, "--stats", "--quiet",
                                   "--count", "2", "--timeout", "10"], backend)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((V4_TX, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(V4_TX))
        s.sendto(b"abc", (group, p))
        s.sendto(b"defg", (group, p))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "[done] received=2"
    assert lines[-2].startswith("[stats] pkts/s=") and lines[-2].endswith(
        " drops=0 (kernel=0 filtered=0) backend_events=0 total=2")


def test_recv_demo_usage_errors():
    r = subprocess.run([sys.executable, "-m", "mcrx.recv", "10.0.0.1", "5000"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "GROUP_NOT_MULTICAST" in r.stderr
    r = subprocess.run([sys.executable, "-m", "mcrx.recv", "239.1.1.1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run([sys.executable, "-m", "mcrx.recv", "239.1.1.1", "5000"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, MCRX_BACKEND="nope"))
    assert r.returncode == 3
