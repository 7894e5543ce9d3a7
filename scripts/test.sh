#!/bin/sh
# Runs the whole test suite, each in a fresh build directory:
#   1. default build (every compiled backend; tests run once per backend),
#   2. a build without io_uring (what a machine without liburing gets),
#   3. the default build under AddressSanitizer + UndefinedBehaviorSanitizer
#      (with the io_uring CQ-bound checks),
#   4. windows: the mingw-w64 cross build, its tests under Wine (iocp and
#      wsapoll backends), and winterop: the Linux <-> Windows interop matrix,
#   5. fuzz: every libFuzzer target for a share of 60 s (scripts/fuzz.sh),
#   6. macos: the zig cross builds for x86_64 and arm64 macOS (built and
#      checked, never run: no macOS here).
# Every test program runs inside a private network namespace
# (scripts/mcrx-netns); nothing joins or sends on the machine's own network.
# Ends with the line "N passed, N failed, N skipped" (Criterion cases,
# pytest cases of the Python bindings, and whole programs for tests that are
# neither); every skip is listed with its reason and never counted as passed.
set -u
cd "$(dirname "$0")/.."
PASS=0
FAIL=0
SKIP=0
SUITES=${MCRX_TEST_SUITES:-"default windows winterop nouring asan fuzz macos"}
# --valgrind: instead, the suite once under valgrind memcheck (recvmmsg
# backend; docs/reliability.md). Any memcheck error or definite leak fails
# the program (exit 42).
[ "${1:-}" = "--valgrind" ] && SUITES=valgrind
TEST_ARGS=

run() { # name builddir meson-options...
    name=$1 dir=$2
    shift 2
    echo "=== $name: meson setup $dir $*"
    rm -rf "$dir"
    if ! meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || ! meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
        cat "$dir.setup.log" "$dir.compile.log" 2>/dev/null | tail -40
        echo "=== $name: BUILD FAILED"
        FAIL=$((FAIL + 1))
        return
    fi
    meson test -C "$dir" --num-processes 1 --print-errorlogs $TEST_ARGS
    # Count Criterion cases where a program reports them ("Synthesis:"
    # line), whole programs otherwise (bench smoke runs, the quick start).
    counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, re, sys
ok = bad = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    passed = t["result"] in ("OK", "EXPECTEDFAIL")
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    # --valgrind: Criterion ignores a worker's exit status once its test
    # reported, so memcheck's reports ("==PID== ...") are found in the output.
    if re.search(r"^==\d+== \S", out, re.M):
        print(f"    valgrind reports in {t['name']} (see its log)", file=sys.stderr)
        passed = False  # counted once below, like any program failure
    skips = re.findall(r"\[SKIP\] (\S+): (.*)", out)
    for name, why in skips:
        print(f"    skipped {name}: {why}", file=sys.stderr)
    m = re.search(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", out)
    # pytest (python/tests): "1 failed, 106 passed, 2 skipped in 10.92s";
    # -rs lists each skip as "SKIPPED [1] file:line: reason".
    py = re.findall(r"^=*\s*((?:\d+ \w+, )*\d+ \w+) in [\d.]+s", out, re.M)
    if py and not m:
        for why in re.findall(r"^SKIPPED \[\d+\] (.*)", out, re.M):
            print(f"    skipped {t['name']}: {why}", file=sys.stderr)
        n = {k: int(v) for v, k in re.findall(r"(\d+) (\w+)", py[-1])}
        failed = n.get("failed", 0) + n.get("error", 0) + n.get("errors", 0)
        ok += n.get("passed", 0)
        bad += failed
        skipped += n.get("skipped", 0)
        if not passed and failed == 0:
            bad += 1  # the run failed outside its cases (collection, timeout)
    elif m:
        ok += int(m.group(2))
        bad += int(m.group(3)) + int(m.group(4))
        skipped += len(skips)
        if not passed and int(m.group(3)) + int(m.group(4)) == 0:
            bad += 1  # the program failed outside its cases (sanitizer, crash)
    elif t["result"] == "SKIP":
        skipped += 1
        print(f"    skipped {t['name']}: exit 77 (see its log)", file=sys.stderr)
    elif passed:
        ok += 1
    else:
        bad += 1
print(ok, bad, skipped)
PY
)
    set -- $counts
    echo "=== $name: $1 passed, $2 failed, $3 skipped (Criterion and pytest cases, plus whole programs that have neither)"
    PASS=$((PASS + $1))
    FAIL=$((FAIL + $2))
    SKIP=$((SKIP + $3))
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

for s in $SUITES; do
    case $s in
    default) run default build-test ;;
    nouring) run nouring build-test-nouring -Diouring=disabled ;;
    # Windows: mingw-w64 cross build, its suite under Wine in the netns
    # (scripts/test-windows.sh adds the interop matrix).
    windows) run windows build-test-win --cross-file cross/x86_64-w64-mingw32.txt ;;
    winterop) # Linux <-> Windows (Wine) interop matrix, with the tools of
        # the default and windows suites' builds (run those first)
        echo "=== winterop: scripts/interop-windows.sh build-test build-test-win"
        if [ -x build-test/tools/mcrx_send ] && [ -x build-test-win/tools/mcrx_recv.exe ]; then
            out=$(sh scripts/interop-windows.sh build-test build-test-win 2>&1)
            echo "$out"
            PASS=$((PASS + $(echo "$out" | grep -c '| PASS')))
            FAIL=$((FAIL + $(echo "$out" | grep -c '| FAIL')))
            SKIP=$((SKIP + $(echo "$out" | grep -c '| SKIP')))
        else
            echo "=== winterop: the default and windows builds are missing"
            FAIL=$((FAIL + 1))
        fi ;;
    fuzz) # each libFuzzer target for a share of 60 s under ASan+UBSan
        echo "=== fuzz: scripts/fuzz.sh 60"
        out=$(sh scripts/fuzz.sh 60 2>&1)
        echo "$out"
        set -- $(echo "$out" | tail -n 1 | tr -d ',')
        PASS=$((PASS + ${1:-0})); FAIL=$((FAIL + ${3:-1})) ;;
    macos) # cross builds for macOS (zig 0.11): built and checked, never run
        echo "=== macos: scripts/build-macos.sh"
        out=$(sh scripts/build-macos.sh 2>&1)
        echo "$out"
        set -- $(echo "$out" | tail -n 1 | tr -d ',')
        PASS=$((PASS + $1)); FAIL=$((FAIL + $3)); SKIP=$((SKIP + $5)) ;;
    # Criterion re-executes itself for each test, so children are traced;
    # the helper commands tests run (ip, sh, python3) are not ours.
    valgrind) export MCRX_NETNS_WRAPPER="valgrind -q --error-exitcode=42 \
--leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
--trace-children=yes --trace-children-skip=*/ip,*/sh,*/python3*,*/dash \
--suppressions=$PWD/scripts/valgrind.supp"
          # python: CPython itself leaves "definitely lost" blocks at exit
          # (none in the extension: docs/reliability.md).
          TEST_ARGS="--no-suite iouring --no-suite bench-smoke --no-suite python --timeout-multiplier 20"
          run valgrind build-test-valgrind -Dbench=false
          TEST_ARGS= ; unset MCRX_NETNS_WRAPPER ;;
    # The sanitized build also checks the io_uring CQ bound on every
    # submission (MCRX_IOURING_DEBUG aborts when it is broken). bench is
    # built for the churn soak (30 s under ASan, suite soak); the bench
    # smoke runs are timing-sensitive and stay out.
    asan) TEST_ARGS="--no-suite bench-smoke"
          run asan build-test-asan -Db_sanitize=address,undefined -Db_lundef=false \
              -Dc_args=-DMCRX_IOURING_DEBUG
          TEST_ARGS= ;;
    esac
done
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
