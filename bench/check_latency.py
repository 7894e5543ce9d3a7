#!/usr/bin/env python3
"""Smoke test of `mcrx_bench latency` (meson test, suite bench-smoke).

Runs one short latency measurement and asserts that its result line is well
formed and that every datagram is accounted for: the fields are there and
numeric, received + kernel drops == sent, one latency per datagram, the
percentiles are ordered (p50 <= p99 <= p99.9 <= max) and not negative. No
timing thresholds: the figures themselves depend on the machine's load.

usage: check_latency.py MCRX_BENCH BACKEND [extra mcrx_bench options]
Run inside scripts/mcrx-netns (the bench refuses to run elsewhere).
Exit 77 (skipped) when the backend is not available here.
"""
import subprocess
import sys

KEYS = ['mode', 'backend', 'pkts', 'drops', 'sent', 'lost', 'rate', 'rate_sent',
        'lat_n', 'lat_p50_us', 'lat_p99_us', 'lat_p999_us', 'lat_max_us',
        'lat_mean_us', 'cpu_ns_per_pkt', 'wakeups_per_kpkt']


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    exe, backend = sys.argv[1], sys.argv[2]
    cmd = [exe, 'latency', '--backend', backend, '--rate', '20000',
           '--seconds', '0.3'] + sys.argv[3:]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    sys.stderr.write(p.stderr)
    print(p.stdout, end='')
    if p.returncode == 77:
        return 77
    if p.returncode != 0:
        print(f'FAIL: mcrx_bench exited {p.returncode}')
        return 1
    lines = [l for l in p.stdout.splitlines() if l.startswith('mode=')]
    if len(lines) != 1:
        print(f'FAIL: expected one result line, got {len(lines)}')
        return 1
    f = {}
    for tok in lines[0].split():
        if '=' not in tok:
            print(f'FAIL: malformed field {tok!r}')
            return 1
        k, v = tok.split('=', 1)
        f[k] = v
    missing = [k for k in KEYS if k not in f]
    if missing:
        print(f'FAIL: missing fields {missing}')
        return 1
    if f['mode'] != 'latency':
        print(f"FAIL: mode={f['mode']}")
        return 1
    num = {}
    for k in KEYS[2:]:
        try:
            num[k] = float(f[k])
        except ValueError:
            print(f'FAIL: {k}={f[k]!r} is not a number')
            return 1
    errors = []
    if num['sent'] <= 0 or num['pkts'] <= 0:
        errors.append('nothing sent or received')
    if num['pkts'] + num['drops'] != num['sent'] or num['lost'] != 0:
        errors.append('received + drops != sent')
    if num['lat_n'] != num['pkts']:
        errors.append('not one latency per datagram')
    p = [num['lat_p50_us'], num['lat_p99_us'], num['lat_p999_us'],
         num['lat_max_us']]
    if p != sorted(p) or p[0] < 0:
        errors.append(f'percentiles out of order: {p}')
    if num['cpu_ns_per_pkt'] <= 0:
        errors.append('no CPU time measured')
    for e in errors:
        print('FAIL: ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
