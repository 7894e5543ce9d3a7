#!/bin/sh
# bench/uv_compare.sh: the libuv adapter against the library's own batch
# call and libuv's own UDP receive (UV_UDP_RECVMMSG), drain mode, in one
# sitting, rounds interleaved (every receiver once per round, in turn).
#
#   bench/uv_compare.sh [BUILD_DIR] [ROUNDS] [extra mcrx_bench args...]
#
# Runs itself inside scripts/mcrx-netns. Prints each run's Mpps (wall
# clock) and cpu Mpps (datagrams per second of the receiver's own CPU
# time, less sensitive to being descheduled on a busy machine) and, per
# ratio, the median over rounds and the min-max spread. Ratios are taken
# within a round, and each round starts with the next receiver in turn, so
# drift of a shared machine and position in the round hit all alike.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
ROUNDS=${2:-5}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
if [ "${MCRX_NETNS_READY:-}" != 1 ]; then
    exec "$ROOT/scripts/mcrx-netns" sh "$0" "$BUILD" "$ROUNDS" "$@"
fi
BENCH=$BUILD/bench/mcrx_bench
RUNS="recvmmsg:batch recvmmsg:uv iouring:batch iouring:uv libuv:-"
OUT=$(mktemp)
r=1
while [ "$r" -le "$ROUNDS" ]; do
    # rotate: round r starts with receiver r (mod 5)
    order=$(echo $RUNS | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i = 0; i < NR; i++) print a[(r - 1 + i) % NR + 1]}')
    for run in $order; do
        be=${run%%:*} api=${run#*:}
        if [ "$api" = - ]; then
            line=$("$BENCH" drain --backend "$be" "$@")
        else
            line=$("$BENCH" drain --backend "$be" --api "$api" "$@")
        fi
        mpps=$(echo "$line" | sed -n 's/.* mpps=\([0-9.]*\).*/\1/p')
        cpu=$(echo "$line" | sed -n 's/.* cpu_mpps=\([0-9.]*\).*/\1/p')
        lost=$(echo "$line" | sed -n 's/.* lost=\([0-9]*\).*/\1/p')
        echo "round $r $be api=$api mpps=$mpps cpu_mpps=$cpu lost=$lost"
        echo "$r $be:$api $mpps $cpu" >>"$OUT"
    done
    r=$((r + 1))
done
python3 - "$OUT" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    r, k, v, c = line.split()
    rows.setdefault(int(r), {})[k] = (float(v), float(c))
def ratio(a, b, i):
    xs = [rows[r][a][i] / rows[r][b][i] for r in sorted(rows) if rows[r][b][i]]
    return "%.3f (min %.3f, max %.3f)" % (st.median(xs), min(xs), max(xs))
for k in ["recvmmsg:batch", "recvmmsg:uv", "iouring:batch", "iouring:uv", "libuv:-"]:
    for i, what in ((0, "Mpps"), (1, "cpu Mpps")):
        xs = [rows[r][k][i] for r in sorted(rows)]
        print("%-15s %-8s median %.3f (min %.3f, max %.3f)" % (k, what, st.median(xs), min(xs), max(xs)))
print("ratios over %d rounds: median (min, max); wall-clock Mpps | cpu Mpps" % len(rows))
for a, b, what in (("recvmmsg:uv", "recvmmsg:batch", "uv adapter / library batch, recvmmsg"),
                   ("iouring:uv", "iouring:batch", "uv adapter / library batch, io_uring"),
                   ("recvmmsg:uv", "libuv:-", "uv adapter (recvmmsg) / libuv UDP"),
                   ("iouring:uv", "libuv:-", "uv adapter (io_uring) / libuv UDP")):
    print("%-38s %s | %s" % (what, ratio(a, b, 0), ratio(a, b, 1)))
PY
rm -f "$OUT"
