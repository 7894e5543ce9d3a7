#!/usr/bin/env bash
# bench/run.sh: run the mcrx-core benchmark suite and write the results.
#
#   bench/run.sh [--quick] [--runs N] [--build-dir DIR] [--no-build]
#                [--profile] [--no-profile] [--report-only] [--only LIST]
#
# One command: builds mcrx_bench (meson, release, in build-bench/ unless
# --build-dir), re-executes itself inside a private network namespace
# (scripts/mcrx-netns: nothing is ever sent or joined on the machine's own
# network), runs every mode against every receiver in one sitting, and
# writes
#   bench/results/latest.md        tables, targets met/missed, the machine
#   bench/results/drain.png        Mpps per backend (64 and 1200 bytes)
#   bench/results/scale.png        per-datagram cost versus subscriptions
#   bench/results/latency.png      latency percentiles versus rate
#   bench/results/data/            raw result lines, hyperfine JSON, profiles
#
# The drain matrix is driven by hyperfine (--runs 1 per round, the backends
# interleaved within each round so that drift on a shared VM hits them all
# alike; one JSON export per round); every other mode by the script's own
# interleaved loop. Medians are over the rounds (5, or --runs N; --quick: 3
# rounds and smaller counts). Full suite: ~12 minutes on a 2-core VM.
# --only LIST (comma list of drain, sustained, scale, fairness, allocs,
# profile, latency, soak) measures those modes only and keeps the other modes'
# data of the earlier sitting in results/data/ (the report says so).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=0
RUNS=
BUILD=
NO_BUILD=0
PROFILE=1
IN_NETNS=0
REPORT_ONLY=0
ONLY=

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    --no-build) NO_BUILD=1 ;;
    --profile) PROFILE=1 ;;
    --no-profile) PROFILE=0 ;;
    --in-netns) IN_NETNS=1 ;;
    --report-only) REPORT_ONLY=1 ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# Wait (up to 30 s) for a one-second window in which the machine is >= 85 %
# idle, so that other work on a shared VM does not land inside a round.
cpu_idle_pct() {
    local a b
    a=($(sed -n 's/^cpu  //p' /proc/stat))
    sleep 1
    b=($(sed -n 's/^cpu  //p' /proc/stat))
    local tot=0 idle i
    for i in "${!a[@]}"; do tot=$((tot + b[i] - a[i])); done
    idle=$((b[3] - a[3] + b[4] - a[4]))
    [ "$tot" -gt 0 ] && echo $((idle * 100 / tot)) || echo 100
}
wait_quiet() {
    local t=0 p
    while :; do
        p=$(cpu_idle_pct)
        [ "$p" -ge 85 ] && return 0
        t=$((t + 1))
        if [ "$t" -ge 30 ]; then
            log "machine still busy (${p}% idle): measuring anyway"
            echo "$(date +%T) busy ${p}% idle before: $*" >>"$DATA/contention.txt"
            return 0
        fi
    done
}

BUILD=${BUILD:-$ROOT/build-bench}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac

if [ "$IN_NETNS" = 0 ] && [ "$REPORT_ONLY" = 0 ]; then
    if [ "$NO_BUILD" = 0 ]; then
        if [ ! -f "$BUILD/build.ninja" ]; then
            meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dbench=true >/dev/null
        fi
        ninja -C "$BUILD" bench/mcrx_bench bench/libmcrx_alloccount.so >/dev/null
    fi
    args=(--in-netns --build-dir "$BUILD" --runs "${RUNS:-}")
    [ "$QUICK" = 1 ] && args+=(--quick)
    [ "$PROFILE" = 1 ] && args+=(--profile) || args+=(--no-profile)
    [ -n "$ONLY" ] && args+=(--only "$ONLY")
    exec "$ROOT/scripts/mcrx-netns" bash "$HERE/run.sh" "${args[@]}"
fi

# ---------------------------------------------------------------- in netns
B=$BUILD/bench/mcrx_bench
SHIM=$BUILD/bench/libmcrx_alloccount.so
OUT=$HERE/results
DATA=$OUT/data
if [ "$REPORT_ONLY" = 0 ]; then
[ "${MCRX_NETNS_READY:-}" = 1 ] || { echo "run.sh: not in the test namespace" >&2; exit 2; }
[ -x "$B" ] || { echo "run.sh: $B not built" >&2; exit 2; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
if [ -z "$ONLY" ]; then
    rm -rf "$DATA"
else # measure some modes again, keep the others' data
    for m in ${ONLY//,/ }; do
        case "$m" in
        drain) rm -f "$DATA"/drain.txt "$DATA"/hyperfine-drain-* ;;
        sustained) rm -f "$DATA"/sustained.txt "$DATA"/efficiency.txt ;;
        profile) rm -f "$DATA"/profile-* "$DATA"/cmsg.txt ;;
        latency|scale|fairness|allocs|soak) rm -f "$DATA/$m.txt" ;;
        *) echo "run.sh: --only: unknown mode $m" >&2; exit 2 ;;
        esac
    done
fi
mkdir -p "$DATA"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- src include meson.build 2>/dev/null | grep -q . && echo " (library sources with uncommitted changes)" || true)

if [ "$QUICK" = 1 ]; then
    RUNS=${RUNS:-3}
    DRAIN_N=200000; SCALE_N=50000; FAIR_N=100000; FAIR_RUNS=1
    RATES="100000 200000 300000"; SUS_SECS=0.5; LAT_SECS=0.5
    SCALE_SET="1:1 1000:1 1000:10"
else
    RUNS=${RUNS:-5}
    DRAIN_N=500000; SCALE_N=100000; FAIR_N=200000; FAIR_RUNS=3
    RATES="100000 150000 200000 250000 300000 350000 400000"; SUS_SECS=1; LAT_SECS=1
    SCALE_SET="1:1 10:1 10:10 100:1 100:10 1000:1 1000:10"
fi


# Receivers available here (77 = not compiled / not usable on this kernel).
BACKENDS=()
for be in raw-recvmmsg naive libuv recvmmsg iouring; do
    if "$B" drain --backend "$be" --count 100 >/dev/null 2>"$DATA/probe-$be.err"; then
        BACKENDS+=("$be")
    else
        log "backend $be not available: $(tail -1 "$DATA/probe-$be.err")"
    fi
done
LIB_BACKENDS=()
for be in "${BACKENDS[@]}"; do
    case "$be" in recvmmsg|iouring) LIB_BACKENDS+=("$be") ;; esac
done
# receiver configurations: backend[:api][:nots][:cmsg=LIST]
CFGS=()
for be in "${BACKENDS[@]}"; do
    case "$be" in
    recvmmsg|iouring) CFGS+=("$be:batch" "$be:single") ;;
    *) CFGS+=("$be") ;;
    esac
done
# The drain matrix adds the library with timestamps off (--no-timestamps:
# no SO_TIMESTAMPNS) and the raw reference with the library's control
# messages (with and without timestamps), for like-for-like ratios. The
# default rows stay: they are what users get.
DRAIN_CFGS=()
for c in "${CFGS[@]}"; do
    DRAIN_CFGS+=("$c")
    case "$c" in
    raw-recvmmsg) DRAIN_CFGS+=("raw-recvmmsg:cmsg=pktinfo,ts,ovfl" "raw-recvmmsg:cmsg=pktinfo,ovfl") ;;
    recvmmsg:batch|iouring:batch) DRAIN_CFGS+=("$c:nots") ;;
    esac
done
log "receivers: ${DRAIN_CFGS[*]}; rounds: $RUNS"

cfg_args() { # backend[:api][:nots][:cmsg=LIST] -> mcrx_bench arguments
    local IFS=: tok first=1
    for tok in $1; do
        if [ "$first" = 1 ]; then
            printf '%s\n' --backend "$tok"
            first=0
            continue
        fi
        case "$tok" in
        batch|single|uv) printf '%s\n' --api "$tok" ;;
        nots) printf '%s\n' --no-timestamps ;;
        cmsg=*) printf '%s\n' --raw-cmsg "${tok#cmsg=}" ;;
        co=*) printf '%s\n' --coalesce-us "${tok#co=}" ;;
        bp=*) printf '%s\n' --busy-poll-us "${tok#bp=}" ;;
        *) echo "run.sh: bad configuration $1" >&2; exit 2 ;;
        esac
    done
    return 0
}

# ------------------------------------------------------------------ drain
want drain && for r in $(seq 1 "$RUNS"); do
    for L in 64 1200; do
        cmds=()
        for c in "${DRAIN_CFGS[@]}"; do
            mapfile -t a < <(cfg_args "$c")
            cmds+=(-n "$c len=$L" "$B drain ${a[*]} --len $L --count $DRAIN_N --out $DATA/drain.txt")
        done
        log "drain round $r/$RUNS, $L bytes"
        wait_quiet "drain round $r L=$L"
        hyperfine -N -i --runs 1 --style none \
            --export-json "$DATA/hyperfine-drain-L$L-r$r.json" "${cmds[@]}" \
            >/dev/null 2>>"$DATA/hyperfine.err" || true
    done
done

# -------------------------------------------------------------- sustained
# Highest zero-drop rate: step up until a step drops (or loses) datagrams or
# the sender cannot reach the rate (then the result is ">= sender limit").
want sustained && wait_quiet sustained
want sustained && for c in "${BACKENDS[@]}"; do
    mapfile -t a < <(cfg_args "$c")
    for rate in $RATES; do
        log "sustained $c $rate/s"
        line=$("$B" sustained "${a[@]}" --rate "$rate" --seconds "$SUS_SECS" \
            --out "$DATA/sustained.txt" 2>>"$DATA/sustained.err" || true)
        drops=$(sed -n 's/.* drops=\([0-9]*\).*/\1/p' <<<"$line")
        lost=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$line")
        sent_rate=$(sed -n 's/.* rate_sent=\([0-9]*\).*/\1/p' <<<"$line")
        [ -z "$drops" ] && break
        [ "$drops" != 0 ] || [ "$lost" != 0 ] && break
        [ "$sent_rate" -lt $((rate * 95 / 100)) ] && break
    done
done

# Receiver CPU per datagram at a fixed moderate rate (every backend keeps
# up): the cost of the wake-up path, median of a few runs.
EFF_RATE=150000
EFF_RUNS=$([ "$QUICK" = 1 ] && echo 1 || echo 3)
want sustained && for r in $(seq 1 "$EFF_RUNS"); do
    for c in "${BACKENDS[@]}"; do
        mapfile -t a < <(cfg_args "$c")
        log "sustained efficiency $c $EFF_RATE/s ($r/$EFF_RUNS)"
        "$B" sustained "${a[@]}" --rate "$EFF_RATE" --seconds "$SUS_SECS" \
            --out "$DATA/efficiency.txt" >/dev/null 2>>"$DATA/sustained.err" || true
    done
done

# ------------------------------------------------------------------ scale
SCALE_CFGS=()
for be in "${BACKENDS[@]}"; do
    case "$be" in recvmmsg|iouring) SCALE_CFGS+=("$be:batch") ;; *) SCALE_CFGS+=("$be") ;; esac
done
want scale && for r in $(seq 1 "$RUNS"); do
    log "scale round $r/$RUNS"
    wait_quiet "scale round $r"
    for ka in $SCALE_SET; do
        k=${ka%%:*}; act=${ka#*:}
        for c in "${SCALE_CFGS[@]}"; do
            mapfile -t a < <(cfg_args "$c")
            "$B" scale "${a[@]}" --subs "$k" --active "$act" --count "$SCALE_N" \
                --out "$DATA/scale.txt" >/dev/null 2>>"$DATA/scale.err" || true
        done
    done
done

# --------------------------------------------------------------- fairness
FAIR_CFGS=()
for c in "${CFGS[@]}"; do
    case "$c" in naive) ;; *) FAIR_CFGS+=("$c") ;; esac
done
want fairness && for r in $(seq 1 "$FAIR_RUNS"); do
    log "fairness round $r/$FAIR_RUNS"
    wait_quiet "fairness round $r"
    for c in "${FAIR_CFGS[@]}"; do
        mapfile -t a < <(cfg_args "$c")
        "$B" fairness "${a[@]}" --subs 10 --count "$FAIR_N" \
            --out "$DATA/fairness.txt" >/dev/null 2>>"$DATA/fairness.err" || true
    done
done

# ---------------------------------------------------------- allocations
want allocs && log "allocation counts (LD_PRELOAD shim)"
want allocs && for c in "${CFGS[@]}"; do
    mapfile -t a < <(cfg_args "$c")
    LD_PRELOAD=$SHIM "$B" drain "${a[@]}" --count 100000 \
        --out "$DATA/allocs.txt" >/dev/null 2>>"$DATA/allocs.err" || true
    LD_PRELOAD=$SHIM "$B" sustained "${a[@]}" --rate 100000 --seconds 0.5 \
        --out "$DATA/allocs.txt" >/dev/null 2>>"$DATA/allocs.err" || true
done

# ------------------------------------------------------------------ soak
# Churn soak (bench/soak.c): 5 minutes per library backend (--quick: 30 s;
# MCRX_SOAK_SECONDS overrides): exact accounting per subscription
# lifetime, RSS flat after warm-up, descriptors back to the start.
SOAK_SECS=${MCRX_SOAK_SECONDS:-300}
[ "$QUICK" = 1 ] && SOAK_SECS=${MCRX_SOAK_SECONDS:-30}
want soak && for be in "${LIB_BACKENDS[@]}"; do
    log "soak $be, ${SOAK_SECS} s"
    "$B" soak --backend "$be" --seconds "$SOAK_SECS" >>"$DATA/soak.txt" 2>>"$DATA/soak.err" || true
done

# --------------------------------------------------------------- profiles
if want profile && [ "$PROFILE" = 1 ] && perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
    for c in "${DRAIN_CFGS[@]}"; do
        case "$c" in naive|libuv|raw-recvmmsg:cmsg=pktinfo,ovfl) continue ;; esac
        mapfile -t a < <(cfg_args "$c")
        n=${c//:/-}; n=${n//,/-}; n=${n//=/-}
        [ -e "$DATA/profile-$n.txt" ] && continue
        log "profile $c"
        ctl=$DATA/perf-ctl.$$; ack=$DATA/perf-ack.$$
        rm -f "$ctl" "$ack"; mkfifo "$ctl" "$ack"
        perf record -q -e cpu-clock -g -D -1 --control "fifo:$ctl,$ack" \
            -o "$DATA/perf-$n.data" -- "$B" drain "${a[@]}" --count "$DRAIN_N" \
            --perf-ctl "$ctl,$ack" --out "$DATA/profile-runs.txt" >/dev/null 2>&1 || true
        rm -f "$ctl" "$ack"
        {
            echo "# perf record -e cpu-clock -g, timed drain loop only: $c, 64 bytes"
            perf report -i "$DATA/perf-$n.data" --stdio --no-children -g none \
                --percent-limit 0.5 --sort dso,sym 2>/dev/null | grep -v '^$'
        } >"$DATA/profile-$n.txt" || true
        rm -f "$DATA/perf-$n.data" "$DATA/perf-$n.data.old"
    done
    # cost of each control message, for the record (reference receiver)
    for cm in none pktinfo pktinfo,ts pktinfo,ovfl all; do
        for r in $(seq 1 "$RUNS"); do
            "$B" drain --backend raw-recvmmsg --raw-cmsg "$cm" --count "$DRAIN_N" \
                --out "$DATA/cmsg.txt" >/dev/null 2>&1 || true
        done
    done
fi

# ---------------------------------------------------------------- latency
# A paced sender (core 1) stamps CLOCK_MONOTONIC into each datagram just
# before its own sendmsg; the receiver (core 0) notes receive - send per
# datagram. Rates: 10k, 100k, 150k (the issue's reference rate) and 1M/s,
# which no sender here reaches: "max" = the highest the sender does. Every
# receiver and API, plus the library's opt-ins (co=: coalesce_us, bp=:
# busy_poll_us), interleaved within each round.
LAT_RATES="10000 100000 150000 1000000"
LAT_CFGS=("${CFGS[@]}")
for be in "${LIB_BACKENDS[@]}"; do
    LAT_CFGS+=("$be:uv" "$be:batch:co=50" "$be:batch:co=200")
done
want latency && for r in $(seq 1 "$RUNS"); do
    log "latency round $r/$RUNS"
    wait_quiet "latency round $r"
    for rate in $LAT_RATES; do
        for c in "${LAT_CFGS[@]}"; do
            mapfile -t a < <(cfg_args "$c")
            "$B" latency "${a[@]}" --rate "$rate" --seconds "$LAT_SECS" \
                --out "$DATA/latency.txt" >/dev/null 2>>"$DATA/latency.err" || true
        done
    done
done

{
    printf 'ONLY=%q\n' "$ONLY"
    printf 'QUICK=%s RUNS=%s DRAIN_N=%s SCALE_N=%s FAIR_N=%s FAIR_RUNS=%s SUS_SECS=%s LAT_SECS=%s\n' \
        "$QUICK" "$RUNS" "$DRAIN_N" "$SCALE_N" "$FAIR_N" "$FAIR_RUNS" "$SUS_SECS" "$LAT_SECS"
    printf 'STARTED=%q\nCOMMIT=%q\nDIRTY=%q\n' "$STARTED" "$COMMIT" "$DIRTY"
} >"$DATA/params.env"
find "$DATA" -name '*.err' -empty -delete
fi # REPORT_ONLY

# ------------------------------------------------------------------ report
[ -f "$DATA/params.env" ] || { echo "run.sh: no data in $DATA" >&2; exit 2; }
. "$DATA/params.env"
MACHINE_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
export MACHINE_NPROC=$(nproc) MACHINE_KERNEL=$(uname -r) MACHINE_CPU
export BENCH_QUICK=$QUICK BENCH_RUNS=$RUNS BENCH_DRAIN_N=$DRAIN_N BENCH_SCALE_N=$SCALE_N
export BENCH_FAIR_N=$FAIR_N BENCH_FAIR_RUNS=$FAIR_RUNS BENCH_SUS_SECS=$SUS_SECS
export BENCH_ONLY=${ONLY:-} BENCH_LAT_SECS=${LAT_SECS:-1}
export BENCH_COMMIT=${COMMIT:-unknown} BENCH_DIRTY=${DIRTY:-} BENCH_STARTED=${STARTED:-unknown}
export BENCH_LIBUV=$(sed -n 's/.*libuv=\([^ ]*\).*/\1/p' "$DATA/drain.txt" | head -1)
log "writing $OUT/latest.md"
python3 - "$DATA" "$OUT" <<'PY'
import os, sys, statistics, json, glob, math, datetime
data, out = sys.argv[1], sys.argv[2]
E = os.environ

def load(name):
    rows = []
    p = os.path.join(data, name)
    if not os.path.exists(p):
        return rows
    for line in open(p):
        d = {}
        for tok in line.split():
            if '=' in tok:
                k, v = tok.split('=', 1)
                d[k] = v
        if d:
            rows.append(d)
    return rows

def cfg(d):
    be = d['backend']
    k = be + (':' + d['api'] if 'api' in d else '')
    if d.get('timestamps') == '0':
        k += ':nots'
    cm = d.get('cmsg', '').rstrip(',')
    if be in ('raw-recvmmsg', 'naive') and cm and cm != 'pktinfo':
        k += ':cmsg=' + cm
    if f(d, 'coalesce_us') > 0:
        k += ':co=' + d['coalesce_us']
    if f(d, 'busy_poll_us') > 0:
        k += ':bp=' + d['busy_poll_us']
    return k

def f(d, k, default=0.0):
    try:
        return float(d.get(k, default))
    except ValueError:
        return default

def med(xs):
    return statistics.median(xs) if xs else float('nan')

RAW_ALL = 'raw-recvmmsg:cmsg=pktinfo,ts,ovfl'   # the library's control messages
RAW_OVFL = 'raw-recvmmsg:cmsg=pktinfo,ovfl'     # ... with timestamps off
ORDER = ['raw-recvmmsg', RAW_ALL, RAW_OVFL, 'naive', 'libuv',
         'recvmmsg:batch', 'recvmmsg:batch:nots', 'recvmmsg:single',
         'iouring:batch', 'iouring:batch:nots', 'iouring:single']
def order(keys):
    return sorted(keys, key=lambda k: (ORDER.index(k) if k in ORDER else 99, k))

NAMES = {'raw-recvmmsg': 'raw-recvmmsg (reference)',
         RAW_ALL: 'raw-recvmmsg + SO_TIMESTAMPNS + SO_RXQ_OVFL',
         RAW_OVFL: 'raw-recvmmsg + SO_RXQ_OVFL',
         'recvmmsg:batch:nots': 'mcrx recvmmsg, batch, timestamps off',
         'iouring:batch:nots': 'mcrx io_uring, batch, timestamps off',
         'naive': 'naive recvmsg',
         'libuv': 'libuv ' + E.get('BENCH_LIBUV', ''),
         'recvmmsg:batch': 'mcrx recvmmsg, batch', 'recvmmsg:single': 'mcrx recvmmsg, single',
         'iouring:batch': 'mcrx io_uring, batch', 'iouring:single': 'mcrx io_uring, single',
         'recvmmsg:batch:co=50': 'mcrx recvmmsg, batch, coalesce_us 50',
         'iouring:batch:co=50': 'mcrx io_uring, batch, coalesce_us 50',
         'recvmmsg:batch:co=200': 'mcrx recvmmsg, batch, coalesce_us 200',
         'recvmmsg:uv': 'mcrx recvmmsg, libuv adapter', 'iouring:uv': 'mcrx io_uring, libuv adapter',
         'iouring:batch:co=200': 'mcrx io_uring, batch, coalesce_us 200'}

md = []
w = md.append
now = E.get('BENCH_STARTED', 'unknown')
w('# mcrx-core benchmark results (latest run)\n')
w(f"Measured {now} on commit {E.get('BENCH_COMMIT')}{E.get('BENCH_DIRTY','')} with `bench/run.sh"
  f"{' --quick' if E.get('BENCH_QUICK')=='1' else ''}"
  f"{' --only ' + E['BENCH_ONLY'] if E.get('BENCH_ONLY') else ''}`.\n")
if E.get('BENCH_ONLY'):
    w(f"**Only {E['BENCH_ONLY']} measured in this sitting**; the other sections come from the "
      "data of an earlier sitting kept in data/ (older library commit: compare within a "
      "section only).\n")
w('| machine | |\n|---|---|')
w(f"| CPU | {E.get('MACHINE_CPU')} |")
w(f"| cores (`nproc`) | {E.get('MACHINE_NPROC')} |")
w(f"| kernel (`uname -r`) | {E.get('MACHINE_KERNEL')} |")
w(f"| test bed | private network namespace (scripts/mcrx-netns), loopback, receiver pinned to core 0 |\n")

# ---------------- drain
drain = [d for d in load('drain.txt') if d.get('mode') == 'drain']
by = {}
for d in drain:
    by.setdefault((cfg(d), int(d['len'])), []).append(d)
results = {}
w('## Drain: receive-path throughput\n')
w(f"{E.get('BENCH_DRAIN_N')} datagrams queued into a 1 GiB receive buffer on 239.1.1.1:5000, then "
  "drained on one pinned core; only the drain loop is timed. Median of "
  f"{E.get('BENCH_RUNS')} interleaved rounds (hyperfine, JSON in data/). `cpu` = the "
  "receiver's own CPU time per datagram (getrusage), immune to preemption by other "
  "load on the VM; `preempted` = involuntary context switches during the timed loops "
  "(median); `idle waits` = receive passes that found nothing and waited (median; the "
  "queue is full, so anything above 0 is the receiver stalling). `x raw` compares with the "
  "reference as the issue defines it (pktinfo only); `x raw, same cmsgs` compares each "
  "library row with the raw loop given the control messages that row's sockets get "
  "(library default: pktinfo + SO_TIMESTAMPNS + SO_RXQ_OVFL; timestamps off: pktinfo + "
  "SO_RXQ_OVFL), i.e. the cost of the library itself.\n")
def like_ref(k):
    if k.split(':')[0] not in ('recvmmsg', 'iouring'):
        return None
    return RAW_OVFL if k.endswith(':nots') else RAW_ALL
for L in (64, 1200):
    keys = order({k[0] for k in by if k[1] == L})
    if not keys:
        continue
    ref = med([f(d, 'mpps') for d in by.get(('raw-recvmmsg', L), [])])
    refc = med([f(d, 'cpu_mpps') for d in by.get(('raw-recvmmsg', L), [])])
    w(f"### {L}-byte datagrams\n")
    w('| receiver | Mpps (median) | min..max | x raw | x raw, same cmsgs | ns/datagram | cpu Mpps | cpu x raw | preempted | idle waits | runs | drops+lost |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for k in keys:
        rows = by[(k, L)]
        m = med([f(d, 'mpps') for d in rows])
        mc = med([f(d, 'cpu_mpps') for d in rows])
        results[(k, L)] = (m, mc)
        lr = like_ref(k)
        lrows = by.get((lr, L), []) if lr else []
        like = f"{m / med([f(d, 'mpps') for d in lrows]):.3f}" if lrows else '-'
        w(f"| {NAMES.get(k,k)} | {m:.3f} | {min(f(d,'mpps') for d in rows):.3f}..{max(f(d,'mpps') for d in rows):.3f} "
          f"| {m/ref:.3f} | {like} | {1e3/m:.0f} | {mc:.3f} | {mc/refc:.3f} | {med([f(d,'invol_cs') for d in rows]):.0f} "
          f"| {med([f(d,'idle') for d in rows]):.0f} "
          f"| {len(rows)} | {sum(int(f(d,'drops')) + int(f(d,'lost')) for d in rows)} |")
    w('')

# ---------------- sustained
sus = load('sustained.txt')
w('## Sustained: highest zero-drop rate\n')
w(f"A sender child on core 1 sends 64-byte datagrams at a fixed rate for {E.get('BENCH_SUS_SECS')} s "
  "per step (4 MiB receive buffer requested, the library default); the rate steps up "
  "until a step shows kernel drops. On this VM the sender itself tops out near "
  "0.25-0.3 Mpps (each loopback send also runs the kernel's receive path on the "
  "sender's core), so a backend that never dropped is reported as \">= sender limit\". "
  "CPU ns/datagram is the receiver's own CPU time (getrusage) per datagram at 150k/s "
  "(median of separate runs: the wake-up path, where few datagrams are ready per wake-up).\n")
w('| receiver | highest zero-drop rate | limited by | receiver CPU ns/datagram @150k/s | CPU util @150k/s |')
w('|---|---|---|---|---|')
eff_by = {}
for d in load('efficiency.txt'):
    eff_by.setdefault(cfg(d), []).append(d)
sus_by = {}
for d in sus:
    sus_by.setdefault(cfg(d), []).append(d)
for k in order(sus_by):
    rows = sus_by[k]
    ok = [d for d in rows if f(d, 'drops') == 0 and f(d, 'lost') == 0]
    best = max(ok, key=lambda d: f(d, 'rate')) if ok else None
    last = rows[-1]
    if last in ok and f(last, 'rate_sent') < 0.95 * f(last, 'rate'):
        lim = f"sender ({f(last,'rate_sent')/1e3:.0f}k/s max)"
        txt = f">= {f(last,'rate_sent')/1e3:.0f}k/s"
    elif last in ok:
        lim = 'steps ended'
        txt = f">= {f(best,'rate')/1e3:.0f}k/s"
    else:
        lim = f"receiver (drops at {f(last,'rate')/1e3:.0f}k/s: {int(f(last,'drops'))})"
        txt = f"{f(best,'rate')/1e3:.0f}k/s" if best else 'none'
    at = eff_by.get(k, [])
    cpu = f"{med([f(d,'cpu_ns_per_pkt') for d in at]):.0f}" if at else '-'
    util = f"{med([f(d,'cpu_util') for d in at]):.2f}" if at else '-'
    w(f"| {NAMES.get(k,k)} | {txt} | {lim} | {cpu} | {util} |")
w('')

# ---------------- scale
sc = load('scale.txt')
w('## Scale: per-datagram cost versus subscriptions\n')
w(f"K subscriptions (one socket each, group 239.1.x.y, port 5000+i), A of them active; "
  f"{E.get('BENCH_SCALE_N')} 64-byte datagrams queued round-robin over the active ones, then "
  f"drained and timed. ns per datagram, median of {E.get('BENCH_RUNS')} rounds "
  "(wall clock; cpu in brackets).\n")
sby = {}
for d in sc:
    sby.setdefault((cfg(d), int(d['subs']), int(d['active'])), []).append(d)
ka = sorted({(k[1], k[2]) for k in sby}, key=lambda x: (x[1], x[0]))
skeys = order({k[0] for k in sby})
scale_med = {}
if ka:
    w('| receiver | ' + ' | '.join(f"K={k} A={a}" for k, a in ka) + ' | K=1000/K=1 (A=1) |')
    w('|---|' + '---|' * (len(ka) + 1))
    for c in skeys:
        cells = []
        for k, a in ka:
            rows = sby.get((c, k, a), [])
            if rows:
                m = med([f(d, 'ns_per_pkt') for d in rows])
                mc = med([f(d, 'cpu_ns_per_pkt') for d in rows])
                lost = sum(int(f(d, 'lost')) for d in rows)
                if lost:
                    cells.append(f"**FAIL**: {lost} lost")
                    continue
                scale_med[(c, k, a)] = (m, mc)
                cells.append(f"{m:.0f} ({mc:.0f})")
            else:
                cells.append('-')
        r1 = scale_med.get((c, 1, 1)); r1000 = scale_med.get((c, 1000, 1))
        ratio = f"{r1000[0]/r1[0]:.3f} (cpu {r1000[1]/r1[1]:.3f})" if r1 and r1000 else '-'
        w(f"| {NAMES.get(c,c)} | " + ' | '.join(cells) + f" | {ratio} |")
    w('')

# ---------------- fairness
fa = load('fairness.txt')
w('## Fairness\n')
w(f"10 subscriptions. (A) equal loads: {E.get('BENCH_FAIR_N')} datagrams queued evenly, "
  "Jain's index of the per-subscription counts at half-way and the lowest over windows "
  "of 5 % of the datagrams. (B) flood + quiet: subscription 1 has "
  f"{E.get('BENCH_FAIR_N')} datagrams queued, the other 9 get one datagram every 500 us "
  "from a sender on core 1 while the flood drains. The flood datagrams delivered ahead of "
  "a quiet datagram after it entered its socket queue are bracketed: `lb` = delivered by "
  "receive calls that started after its sendmsg returned (it was queued by then); `ub` = "
  "delivered since the start of the receive call in progress when its sendmsg was called, "
  "that call counted whole (a batch call may have served up to max_batch - 1 = 255 "
  "datagrams before the quiet one existed, so `ub` is loose for the batch API); `slack` = "
  "the widest ub - lb of one datagram. Rounds = ceil(flood datagrams / turn), a round "
  "being one flood turn (library turn_budget 64; raw loop 64; libuv reads ~40 per "
  "wakeup, shown as 32). The target is judged on `lb`: more than 64 there proves a wait "
  f"of more than one round. Worst over {E.get('BENCH_FAIR_RUNS')} runs.\n")
w('| receiver | Jain (equal loads) | lowest window | flood share | quiet delivered | max wait lb (flood datagrams) | lb rounds | ub | ub rounds | slack | mean wait (datagrams) | max wait (us) |')
w('|---|---|---|---|---|---|---|---|---|---|---|---|')
fby = {}
for d in fa:
    fby.setdefault(cfg(d), []).append(d)
fair_res = {}
for c in order(fby):
    rows = fby[c]
    j = min(f(d, 'jain') for d in rows)
    jw = min(f(d, 'jain_min_window') for d in rows)
    mw = max(int(f(d, 'max_wait_flood')) for d in rows)
    ub = max(int(f(d, 'max_wait_flood_ub')) for d in rows)
    rd = max(int(f(d, 'max_wait_rounds')) for d in rows)
    rdu = max(int(f(d, 'max_wait_rounds_ub')) for d in rows)
    sl = max(int(f(d, 'max_wait_slack')) for d in rows)
    fair_res[c] = (j, jw, mw, rd, ub, rdu)
    qs = sum(int(f(d, 'quiet_sent')) for d in rows); qr = sum(int(f(d, 'quiet_rx')) for d in rows)
    w(f"| {NAMES.get(c,c)} | {j:.5f} | {jw:.5f} | {med([f(d,'flood_share') for d in rows]):.4f} | {qr}/{qs} "
      f"| {mw} | {rd} | {ub} | {rdu} | {sl} | {med([f(d,'mean_wait_pkts') for d in rows]):.0f} | {max(f(d,'max_wait_us') for d in rows):.0f} |")
w('')

# ---------------- allocations
al = load('allocs.txt')
w('## Heap allocations in the receive loop\n')
w("LD_PRELOAD=libmcrx_alloccount.so counts malloc/calloc/realloc/aligned allocations. "
  "`loop` = during the whole timed receive loop (drain: 100000 datagrams; sustained: "
  "100k/s for 0.5 s, including every wait); `steady` = after the first 10 % of the drain.\n")
w('| receiver | mode | datagrams | allocs in loop | steady-state allocs | allocs/datagram |')
w('|---|---|---|---|---|---|')
alloc_res = {}
for d in sorted(al, key=lambda d: (ORDER.index(cfg(d)) if cfg(d) in ORDER else 99, d['mode'])):
    c = cfg(d)
    alloc_res.setdefault(c, []).append(int(f(d, 'allocs_steady')))
    w(f"| {NAMES.get(c,c)} | {d['mode']} | {d['pkts']} | {d.get('allocs_loop','?')} | {d.get('allocs_steady','?')} | {d.get('allocs_per_pkt','?')} |")
w('')

# ---------------- control-message cost
cm = load('cmsg.txt')
if cm:
    w('## What each control message costs (raw-recvmmsg reference, 64 bytes)\n')
    w(f"Median of {E.get('BENCH_RUNS')} drains each, receiver CPU time per datagram; the library "
      "enables pktinfo and SO_RXQ_OVFL on every socket and, by default (option `timestamps`), "
      "SO_TIMESTAMPNS: the last row by default, `pktinfo,ovfl` with timestamps off.\n")
    w('| control messages | Mpps (wall) | CPU ns/datagram | delta vs pktinfo only |')
    w('|---|---|---|---|')
    cby = {}
    for d in cm:
        cby.setdefault(d.get('cmsg', '?').rstrip(','), []).append(d)
    base = med([f(d, 'cpu_ns_per_pkt') for d in cby.get('pktinfo', [])])
    for k in ['none', 'pktinfo', 'pktinfo,ts', 'pktinfo,ovfl', 'pktinfo,ts,ovfl']:
        if k in cby:
            m = med([f(d, 'mpps') for d in cby[k]])
            c = med([f(d, 'cpu_ns_per_pkt') for d in cby[k]])
            w(f"| {k} | {m:.3f} | {c:.0f} | {c - base:+.0f} ns |")
    w('')

# ---------------- latency (issue 14)
lat = [d for d in load('latency.txt') if d.get('mode') == 'latency']
lat_rows = {}   # (cfg, rate) -> rows in file order (round i = i-th row)
for d in lat:
    # the library's default is timestamps off since contract v2: no suffix
    lat_rows.setdefault((cfg(d).replace(':nots', ''), int(f(d, 'rate'))), []).append(d)
lat_med = {}
def spread(xs, fmt='{:.0f}'):
    return (fmt + '..' + fmt).format(min(xs), max(xs)) if xs else '-'
def round_ratios(a, b, key):
    # per-round ratio a/b (rows paired by round: the i-th row of each)
    return [f(x, key) / f(y, key) for x, y in zip(a, b) if f(y, key) > 0]
if lat:
    LAT_ORDER = ORDER + [k for k in sorted({c for c, r in lat_rows}) if k not in ORDER]
    rates = sorted({r for c, r in lat_rows})
    w('## Latency: receive time minus send time, and the wake-up cost\n')
    w("A sender on core 1 sends one 64-byte datagram per `sendmsg` at a fixed rate, evenly spaced "
      "(it spins to each datagram's due time: no bursts, no timer slack), and stamps "
      "CLOCK_MONOTONIC into it just before the call; the receiver on core 0 blocks when idle "
      "(epoll / `mcrx_ctx_wait` / the libuv loop) and notes, per datagram, the time it got it "
      "minus the stamp (one `clock_gettime` per datagram: the same work for every receiver). "
      f"{E.get('BENCH_LAT_SECS')} s per run, {E.get('BENCH_RUNS')} rounds, every receiver and rate "
      "interleaved within a round. Percentiles are over all datagrams of a run; the table gives "
      "the median over rounds and the min..max over rounds. `CPU ns/dgram` is the receiver's own "
      "CPU time (getrusage) per datagram: the wake-up path; `wake-ups` = voluntary context "
      "switches per 1000 datagrams. The 1M/s row is \"as fast as the sender goes\" (`sent/s`). "
      "`co=50`: `coalesce_us = 50`; `bp=N`: `busy_poll_us = N`. The VM has 2 cores that other "
      "work shared during the run: latency tails above ~100 us are mostly scheduling delays of "
      "the receiver or the sender, not the receive path.\n")
    for rate in rates:
        label = 'max (1M/s asked)' if rate >= 1000000 else f"{rate // 1000}k/s"
        w(f"### {label}\n")
        w('| receiver | sent/s | p50 us | p99 us | p99.9 us | max us | CPU ns/dgram | CPU x raw (rounds) | p99 x raw (rounds) | wake-ups /1000 | drops+lost |')
        w('|---|---|---|---|---|---|---|---|---|---|---|')
        ref = lat_rows.get(('raw-recvmmsg', rate), [])
        for c in sorted({c for c, r in lat_rows if r == rate}, key=lambda k: (LAT_ORDER.index(k), k)):
            rows = lat_rows[(c, rate)]
            g = lambda k: [f(d, k) for d in rows]
            m = {k: med(g(k)) for k in ('lat_p50_us', 'lat_p99_us', 'lat_p999_us', 'lat_max_us', 'cpu_ns_per_pkt', 'rate_sent', 'wakeups_per_kpkt')}
            lat_med[(c, rate)] = (m, rows)
            dl = sum(int(f(d, 'drops') + f(d, 'lost')) for d in rows)
            cx = px = '-'
            if ref and c != 'raw-recvmmsg':
                rc = round_ratios(rows, ref, 'cpu_ns_per_pkt')
                rp = round_ratios(rows, ref, 'lat_p99_us')
                cx = f"{m['cpu_ns_per_pkt'] / med([f(d, 'cpu_ns_per_pkt') for d in ref]):.2f} ({spread(rc, '{:.2f}')})"
                px = f"{m['lat_p99_us'] / med([f(d, 'lat_p99_us') for d in ref]):.2f} ({spread(rp, '{:.2f}')})"
            w(f"| {NAMES.get(c, c)} | {m['rate_sent'] / 1e3:.0f}k | {m['lat_p50_us']:.0f} ({spread(g('lat_p50_us'))}) "
              f"| {m['lat_p99_us']:.0f} ({spread(g('lat_p99_us'))}) | {m['lat_p999_us']:.0f} "
              f"| {m['lat_max_us']:.0f} (worst {max(g('lat_max_us')):.0f}) "
              f"| {m['cpu_ns_per_pkt']:.0f} ({spread(g('cpu_ns_per_pkt'))}) | {cx} | {px} "
              f"| {m['wakeups_per_kpkt']:.1f} | {dl} |")
        w('')
    # targets of issue 14 (150k/s)
    R = 150000
    ref = lat_med.get(('raw-recvmmsg', R))
    if ref:
        w('### Targets (issue 14, 150k/s, ratios to raw-recvmmsg in the same rounds)\n')
        rm_, rrows = ref
        reached = rm_['rate_sent'] >= 0.9 * R
        if not reached:
            w(f"The sender reached only {rm_['rate_sent'] / 1e3:.0f}k/s of the 150k/s asked (other "
              "load on the VM): the verdicts below are for that rate and marked so.\n")
        def verdict(ok):
            v = 'met' if ok else '**missed**'
            return v if reached else v + f" (at {rm_['rate_sent'] / 1e3:.0f}k/s)"
        w('| target | measured: median (min..max over rounds) | verdict |')
        w('|---|---|---|')
        for be in ('recvmmsg', 'iouring'):
            v = lat_med.get((be + ':batch', R))
            if not v:
                continue
            m, rows = v
            cx = m['cpu_ns_per_pkt'] / rm_['cpu_ns_per_pkt']
            px = m['lat_p99_us'] / rm_['lat_p99_us']
            w(f"| {be} (batch, defaults): CPU/datagram <= 1.0 x raw | {cx:.2f} x ({spread(round_ratios(rows, rrows, 'cpu_ns_per_pkt'), '{:.2f}')}); {m['cpu_ns_per_pkt']:.0f} vs {rm_['cpu_ns_per_pkt']:.0f} ns | {verdict(cx <= 1.0)} |")
            w(f"| {be} (batch, defaults): p99 latency <= 1.1 x raw | {px:.2f} x ({spread(round_ratios(rows, rrows, 'lat_p99_us'), '{:.2f}')}); {m['lat_p99_us']:.0f} vs {rm_['lat_p99_us']:.0f} us | {verdict(px <= 1.1)} |")
            co = lat_med.get((be + ':batch:co=50', R))
            if co:
                cm, crows = co
                cx = cm['cpu_ns_per_pkt'] / rm_['cpu_ns_per_pkt']
                added = cm['lat_p99_us'] - m['lat_p99_us']
                adds = [f(x, 'lat_p99_us') - f(y, 'lat_p99_us') for x, y in zip(crows, rows)]
                w(f"| {be}, coalesce_us = 50: CPU/datagram <= 0.5 x raw | {cx:.2f} x ({spread(round_ratios(crows, rrows, 'cpu_ns_per_pkt'), '{:.2f}')}); {cm['cpu_ns_per_pkt']:.0f} ns | {verdict(cx <= 0.5)} |")
                w(f"| {be}, coalesce_us = 50: p99 latency added <= 60 us (vs the same backend, defaults) | {added:+.0f} us ({spread(adds, '{:+.0f}')}) | {verdict(added <= 60)} |")
        w('')

# ---------------- targets
contended_file = os.path.exists(os.path.join(data, 'contention.txt'))
w('## Targets (issue 4)\n')
w('Verdicts use the wall-clock medians. When a wall-clock ratio misses but the same ratio '
  'computed from the receiver\'s CPU time meets it and the run was disturbed by other load '
  '(involuntary context switches in the timed loops, or a busy machine before a round), '
  'the verdict is "inconclusive".\n')
w('| target | measured (wall) | measured (CPU time) | verdict |')
w('|---|---|---|---|')
def judge(wall_ok, cpu_ok, contended):
    if wall_ok:
        return 'met'
    if cpu_ok and contended:
        return 'inconclusive (contended run)'
    return '**missed**'
def rget(k, L=64):
    return results.get((k, L))
def contended(*keys, L=64):
    return contended_file or any(med([f(d, 'invol_cs') for d in by.get((k, L), [])]) > 20 for k in keys)
raw = rget('raw-recvmmsg')
if raw:
    def drain_target(label, k, lim):
        v = rget(k)
        if not v:
            return False
        x, xc = v[0] / raw[0], v[1] / raw[1]
        w(f"| {label} >= {lim} x raw-recvmmsg | {x:.3f} x | {xc:.3f} x | {judge(x >= lim, xc >= lim, contended('raw-recvmmsg', k))} |")
        # the same library row against the raw loop with its control messages
        lr = like_ref(k)
        lv = rget(lr) if lr else None
        if lv:
            y, yc = v[0] / lv[0], v[1] / lv[1]
            w(f"| &nbsp;&nbsp;like for like: vs {NAMES[lr]} (informational) | {y:.3f} x | {yc:.3f} x | {'would meet' if y >= lim else 'would miss'} |")
        return True
    for be, label, lim in (('recvmmsg', 'recvmmsg backend', 0.97), ('iouring', 'io_uring backend', 1.05)):
        ok = drain_target(f"{label}, batch API, 64 B drain (default: timestamps on)", f"{be}:batch", lim)
        drain_target(f"&nbsp;&nbsp;{label}, batch API, 64 B drain, timestamps off", f"{be}:batch:nots", lim)
        if not ok:
            w(f"| {label}, 64 B drain >= {lim} x raw-recvmmsg | not built / not available | | **not measured** |")
    libs = [(k, v) for (k, L), v in results.items()
            if L == 64 and k.split(':')[0] in ('recvmmsg', 'iouring') and not k.endswith(':nots')]
    if libs:
        bk, bv = max(libs, key=lambda kv: kv[1][0])
        for peer, lim, strict in (('naive', 1.4, False), ('libuv', 1.0, True)):
            pv = rget(peer)
            if not pv:
                continue
            x, xc = bv[0] / pv[0], bv[1] / pv[1]
            ok = (lambda v: v > lim) if strict else (lambda v: v >= lim)
            w(f"| best backend vs {peer} {'>' if strict else '>='} {lim} x | {NAMES.get(bk,bk)}: {x:.3f} x | {xc:.3f} x | {judge(ok(x), ok(xc), contended(bk, peer))} |")
            nts = [(k, v) for (k, L), v in results.items() if L == 64 and k.endswith(':nots')]
            if nts:
                nk, nv = max(nts, key=lambda kv: kv[1][0])
                y, yc = nv[0] / pv[0], nv[1] / pv[1]
                w(f"| &nbsp;&nbsp;best with timestamps off vs {peer} (informational) | {NAMES.get(nk,nk)}: {y:.3f} x | {yc:.3f} x | {'would meet' if ok(y) else 'would miss'} |")
for c in skeys:
    if c.split(':')[0] in ('recvmmsg', 'iouring'):
        r1 = scale_med.get((c, 1, 1)); r1000 = scale_med.get((c, 1000, 1))
        if r1 and r1000:
            x, xc = r1000[0] / r1[0], r1000[1] / r1[1]
            w(f"| scale: {NAMES.get(c,c)}, cost at K=1000 (A=1) <= 1.15 x K=1 | {x:.3f} x | {xc:.3f} x | {judge(x <= 1.15, xc <= 1.15, contended_file)} |")
        bad = [k for (cc, k, a), rows in sby.items() if cc == c and any(f(d, 'lost') > 0 for d in rows)]
        if bad:
            w(f"| scale: {NAMES.get(c,c)} delivers every datagram | lost datagrams at K={sorted(set(bad))} | | **failed** |")
for c, v in alloc_res.items():
    if c.split(':')[0] in ('recvmmsg', 'iouring'):
        w(f"| zero heap allocations per datagram, {NAMES.get(c,c)} | {sum(v)} steady-state allocations | | {'met' if sum(v) == 0 else '**missed**'} |")
for c, (j, jw, mw, rd, ub, rdu) in fair_res.items():
    if c.split(':')[0] in ('recvmmsg', 'iouring'):
        w(f"| fairness: Jain >= 0.99 (equal loads), {NAMES.get(c,c)} | {j:.5f} (lowest window {jw:.5f}) | | {'met' if j >= 0.99 else '**missed**'} |")
        w(f"| fairness: quiet datagram waits <= 1 round behind a flood, {NAMES.get(c,c)} | lb {mw} flood datagrams = {rd} round{'s' if rd != 1 else ''} (ub {ub} = {rdu}, counting the call in flight whole) | | {'met' if rd <= 1 else '**missed**'} |")
w('')

# ---------------- profiles
profs = sorted(glob.glob(os.path.join(data, 'profile-*.txt')))
if profs:
    w('## Profiles (timed drain loop only, 64 bytes)\n')
    w('`perf record -e cpu-clock -g` enabled only around the drain loop (`--perf-ctl`); top entries. Full reports in data/.\n')
    for p in profs:
        lines = [l.rstrip() for l in open(p) if l.strip() and not l.startswith('#')]
        w(f"<details><summary>{os.path.basename(p)}</summary>\n\n```")
        md.extend(lines[:25])
        w('```\n</details>\n')

soak = os.path.join(data, 'soak.txt')
if os.path.exists(soak):
    w('## Churn soak (`mcrx_bench soak`, bench/soak.c)\n')
    w('result=ok: every subscription lifetime balanced exactly, RSS flat after warm-up, no descriptor leaked.\n')
    w('```')
    md.extend(l.rstrip() for l in open(soak) if l.strip())
    w('```\n')

w('## Charts\n')
w('![Mpps per receiver](drain.png)\n')
w('![per-datagram cost versus subscriptions](scale.png)\n')
if lat:
    w('![latency percentiles versus rate](latency.png)\n')
open(os.path.join(out, 'latest.md'), 'w').write('\n'.join(md) + '\n')

# ---------------- gnuplot data
with open(os.path.join(data, 'drain.dat'), 'w') as fh:
    fh.write('# receiver mpps64 mpps1200\n')
    for k in order({k for k, L in results}):
        a = results.get((k, 64), (float('nan'),))[0]
        b = results.get((k, 1200), (float('nan'),))[0]
        fh.write(f'"{NAMES.get(k,k)}" {a:.4f} {b:.4f}\n')
for a in (1, 10):
    with open(os.path.join(data, f'scale-A{a}.dat'), 'w') as fh:
        for c in skeys:
            fh.write(f'# {NAMES.get(c,c)}\n')
            for k in sorted({k for (cc, k, aa) in scale_med if cc == c and aa == a}):
                fh.write(f'{k} {scale_med[(c, k, a)][0]:.1f}\n')
            fh.write('\n\n')
with open(os.path.join(data, 'latency.dat'), 'w') as fh, \
        open(os.path.join(data, 'latency-names.txt'), 'w') as fn:
    for c in sorted({c for c, r in lat_med}, key=lambda k: (LAT_ORDER.index(k), k)):
        fh.write(f'# {NAMES.get(c, c)}: step, rate asked, p50 p99 p99.9 (us, medians), sent/s\n')
        fn.write(NAMES.get(c, c) + '\n')
        for i, r in enumerate(sorted({r for cc, r in lat_med})):
            if (c, r) not in lat_med:
                continue
            m = lat_med[(c, r)][0]
            lbl = 'max' if r >= 1000000 else f'{r // 1000}k'
            fh.write(f"{i} \"{lbl}\" {m['lat_p50_us']:.1f} {m['lat_p99_us']:.1f} {m['lat_p999_us']:.1f} {m['rate_sent']:.0f}\n")
        fh.write('\n\n')
with open(os.path.join(data, 'scale-names.txt'), 'w') as fh:
    for c in skeys:
        fh.write(NAMES.get(c, c) + '\n')
PY

# ------------------------------------------------------------------ charts
if command -v gnuplot >/dev/null; then
    log "charts"
    gnuplot <<EOF || log "gnuplot failed"
set terminal pngcairo size 1000,520 font ",10" noenhanced
set output "$OUT/drain.png"
set title "drain: Mpps per receiver (median, $(nproc)-core VM, kernel $(uname -r))"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "million datagrams / s"
set yrange [0:*]
set grid ytics
set xtics rotate by -20 scale 0
set key outside top center horizontal
plot "$DATA/drain.dat" using 2:xtic(1) title "64 bytes", "" using 3 title "1200 bytes"
EOF
    # one line per receiver, A=1
    plotcmd=""
    i=0
    while IFS= read -r name; do
        [ -n "$plotcmd" ] && plotcmd="$plotcmd, "
        plotcmd="$plotcmd\"$DATA/scale-A1.dat\" index $i using 1:2 with linespoints title \"$name\""
        i=$((i + 1))
    done <"$DATA/scale-names.txt"
    if [ -n "$plotcmd" ]; then
        gnuplot <<EOF || log "gnuplot failed"
set terminal pngcairo size 1000,520 font ",10" noenhanced
set output "$OUT/scale.png"
set title "scale: ns per datagram vs subscriptions (one active), median"
set logscale x
set xlabel "subscriptions K"
set ylabel "ns per datagram"
set yrange [0:*]
set grid
set key outside right
plot $plotcmd
EOF
    fi
    # latency: p50 and p99 versus the rate actually sent, one line per receiver
    p50=""; p99=""
    i=0
    while IFS= read -r name; do
        [ -n "$p50" ] && p50="$p50, " && p99="$p99, "
        p50="$p50\"$DATA/latency.dat\" index $i using 1:3:xtic(2) with linespoints title \"$name\""
        p99="$p99\"$DATA/latency.dat\" index $i using 1:4:xtic(2) with linespoints notitle"
        i=$((i + 1))
    done < <(cat "$DATA/latency-names.txt" 2>/dev/null)
    if [ -n "$p50" ]; then
        gnuplot <<EOF || log "gnuplot failed"
set terminal pngcairo size 1300,560 font ",10" noenhanced
set output "$OUT/latency.png"
set multiplot layout 1,2 title "latency (receive - send) vs rate, median of rounds, 64 B, $(nproc)-core VM shared with other work"
set logscale y
set xrange [-0.3:*]
set xlabel "rate asked (max: as fast as the sender goes; see latest.md for the rate reached)"
set ylabel "microseconds"
set grid
set key top left font ",8"
set title "p50"
plot $p50
set title "p99"
unset key
plot $p99
unset multiplot
EOF
    fi
fi
log "done: $OUT/latest.md"
