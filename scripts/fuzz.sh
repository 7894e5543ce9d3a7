#!/bin/sh
# Builds the libFuzzer targets (fuzz/) with clang under ASan+UBSan and runs
# each one for a fixed time budget inside the test namespace
# (scripts/mcrx-netns: interface names and indexes are those of the test
# bed; nothing is sent or joined). Prints per target the executions, the
# executions per second and the coverage libFuzzer reached ("cov:" =
# instrumented edges, "ft:" = features), and ends with a count line.
#
#   scripts/fuzz.sh [SECONDS_TOTAL]     (default 60, split evenly)
#   MCRX_FUZZ_TARGETS="config cmsg"     run only these
#   MCRX_FUZZ_BUILD=build-fuzz          build directory
#
# New inputs libFuzzer finds go to a scratch copy of the corpus (the seed
# corpus in fuzz/corpus/ stays as committed). A crash leaves its input in
# $BUILD/fuzz-artifacts/: copy it into fuzz/regress/<target>/ (replayed by
# `meson test`, suite fuzz) once it is fixed.
set -u
cd "$(dirname "$0")/.."
TOTAL=${1:-60}
TARGETS=${MCRX_FUZZ_TARGETS:-"config cmsg tools send"}
BUILD=${MCRX_FUZZ_BUILD:-build-fuzz}

if [ ! -f "$BUILD/build.ninja" ]; then
    CC=${CC:-$(command -v clang-14 || echo clang)} meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dtests=false -Dbench=false -Dtools=false \
        >"$BUILD.setup.log" 2>&1 || { tail -30 "$BUILD.setup.log"; exit 1; }
fi
meson compile -C "$BUILD" >"$BUILD.compile.log" 2>&1 || { tail -30 "$BUILD.compile.log"; exit 1; }

n=0
for t in $TARGETS; do n=$((n + 1)); done
PER=$((TOTAL / n))
[ "$PER" -ge 1 ] || PER=1
ART="$BUILD/fuzz-artifacts"
mkdir -p "$ART"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

ok=0
bad=0
for t in $TARGETS; do
    work="$BUILD/fuzz-corpus/$t"
    rm -rf "$work"
    mkdir -p "$work"
    cp fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
    log="$BUILD/fuzz-$t.log"
    # -close_fd_mask=3: the tools print usage errors on every bad input;
    # libFuzzer and the sanitizers keep their own copy of stderr.
    scripts/mcrx-netns "$BUILD/fuzz/fuzz_$t" -max_total_time="$PER" \
        -print_final_stats=1 -close_fd_mask=3 -max_len=4096 -timeout=10 \
        -artifact_prefix="$ART/$t-" "$work" fuzz/regress/"$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(ls "$work" | wc -l)
    if [ "$rc" = 0 ]; then
        ok=$((ok + 1))
        echo "fuzz $t: ok, ${PER}s, execs=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corp"
    else
        bad=$((bad + 1))
        echo "fuzz $t: FAILED (exit $rc), execs=${execs:-?} cov=${cov:-?}; log $log, input in $ART/"
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
    fi
done
echo "$ok passed, $bad failed (fuzz targets, ${PER}s each)"
[ "$bad" = 0 ]
