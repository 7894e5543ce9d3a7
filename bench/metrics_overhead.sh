#!/bin/sh
# Metrics overhead: drain rate of a -Dmetrics=true build that takes a
# metrics snapshot + delta every 100 ms from its receive loop, against a
# -Dmetrics=false build running the same loop (its snapshot calls return
# MCRX_E_METRICS_DISABLED at once), same sitting, interleaved rounds (the
# order alternates each round). Prints per-configuration ratio on/off:
# median of the per-round ratios and the min-max spread.
#
#   bench/metrics_overhead.sh [ROUNDS] [COUNT]      (defaults 5, 500000)
#
# Builds build-bench-on/ and build-bench-off/ (release, bench only) if
# missing, then runs everything inside scripts/mcrx-netns.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-5}
COUNT=${2:-500000}
if [ "${MCRX_NETNS_READY:-}" != 1 ]; then
    for v in on off; do
        m=true; [ $v = off ] && m=false
        [ -d "$ROOT/build-bench-$v" ] ||
            meson setup "$ROOT/build-bench-$v" "$ROOT" -Dbuildtype=release \
                -Dtests=false -Dtools=false -Dmetrics=$m >/dev/null
        ninja -C "$ROOT/build-bench-$v" bench/mcrx_bench >/dev/null
    done
    exec "$ROOT/scripts/mcrx-netns" "$0" "$ROUNDS" "$COUNT"
fi
OUT=$(mktemp)
echo "# round backend api build mpps snapshot-status samples cpu_mpps invol_cs"
CONFIGS="recvmmsg:batch iouring:batch recvmmsg:single"
r=1
while [ $r -le "$ROUNDS" ]; do
    for cfg in $CONFIGS; do
        be=${cfg%:*}; api=${cfg#*:}
        order="on off"; [ $((r % 2)) = 0 ] && order="off on"
        for v in $order; do
            line=$("$ROOT/build-bench-$v/bench/mcrx_bench" drain --backend "$be" \
                --api "$api" --count "$COUNT" --metrics-sample-ms 100)
            mpps=$(echo "$line" | sed -n 's/.* mpps=\([0-9.]*\).*/\1/p')
            st=$(echo "$line" | sed -n 's/.* metrics_status=\([A-Z_]*\).*/\1/p')
            n=$(echo "$line" | sed -n 's/.* metrics_samples=\([0-9]*\).*/\1/p')
            cpu=$(echo "$line" | sed -n 's/.* cpu_mpps=\([0-9.]*\).*/\1/p')
            ics=$(echo "$line" | sed -n 's/.* invol_cs=\([0-9]*\).*/\1/p')
            echo "$r $be $api $v $mpps $st $n $cpu $ics" | tee -a "$OUT"
        done
    done
    r=$((r + 1))
done
echo "# config: drain rate ratio on/off, median [min-max] over rounds; the same"
echo "# for the receiver's CPU rate (datagrams per CPU-second, getrusage), which"
echo "# other load on the machine disturbs less; medians of the Mpps"
python3 - "$OUT" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
cfgs = sorted({(r[1], r[2]) for r in rows})
for be, api in cfgs:
    on = {r[0]: float(r[4]) for r in rows if (r[1], r[2], r[3]) == (be, api, "on")}
    off = {r[0]: float(r[4]) for r in rows if (r[1], r[2], r[3]) == (be, api, "off")}
    con = {r[0]: float(r[7]) for r in rows if (r[1], r[2], r[3]) == (be, api, "on")}
    coff = {r[0]: float(r[7]) for r in rows if (r[1], r[2], r[3]) == (be, api, "off")}
    ratios = [on[k] / off[k] for k in on if k in off]
    cratios = [con[k] / coff[k] for k in con if k in coff]
    print(f"{be}:{api}  rate {st.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}]"
          f"  cpu-rate {st.median(cratios):.3f} [{min(cratios):.3f}-{max(cratios):.3f}]"
          f"  mpps on {st.median(on.values()):.3f} off {st.median(off.values()):.3f}"
          f" (ratio of medians {st.median(on.values()) / st.median(off.values()):.3f})"
          f"  rounds={len(ratios)}")
PY
rm -f "$OUT"
