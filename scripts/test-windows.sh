#!/bin/sh
# test-windows.sh: the Windows build (mingw-w64) and its suite under Wine.
#   1. meson setup/compile build-test-win with cross/x86_64-w64-mingw32.txt
#      (mcrx.dll + import and static libraries, tools, test programs),
#   2. meson test: the behavioural tests, once per Windows backend (iocp,
#      wsapoll), each in scripts/mcrx-netns under scripts/mcrx-wine,
#   3. the interop matrix (scripts/interop-windows.sh) against a Linux
#      build of the tools (build-test-win-linux).
# Ends with "N passed, N failed, N skipped" (Criterion-style cases, plus
# one per interop cell). Needs gcc-mingw-w64, wine, wine64 (scripts/deps.sh).
set -u
cd "$(dirname "$0")/.."
dir=${MCRX_WIN_BUILD:-build-test-win}
lin=${MCRX_WIN_LINUX_BUILD:-build-test-win-linux}
PASS=0 FAIL=0 SKIP=0
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
    echo "=== windows: gcc-mingw-w64 or wine missing (scripts/deps.sh installs them)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
rm -rf "$dir"
if ! meson setup "$dir" --cross-file cross/x86_64-w64-mingw32.txt -Dbench=false >"$dir.setup.log" 2>&1 ||
   ! meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
    cat "$dir.setup.log" "$dir.compile.log" 2>/dev/null | tail -40
    echo "=== windows: BUILD FAILED"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
ls "$dir"/*.dll "$dir"/*.dll.a "$dir"/*.a "$dir"/tools/*.exe
meson test -C "$dir" --num-processes 1 --print-errorlogs
set -- $(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, re, sys
ok = bad = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    skips = re.findall(r"\[SKIP\] (\S+): (.*)", out)
    for name, why in skips:
        print(f"    skipped {name}: {why}", file=sys.stderr)
    m = re.search(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", out)
    if m:
        ok += int(m.group(2)); bad += int(m.group(3)) + int(m.group(4)); skipped += len(skips)
        if t["result"] != "OK" and int(m.group(3)) + int(m.group(4)) == 0:
            bad += 1
    elif t["result"] == "OK":
        ok += 1
    else:
        bad += 1
print(ok, bad, skipped)
PY
)
PASS=$1 FAIL=$2 SKIP=$3
echo "=== windows suite under Wine: $PASS passed, $FAIL failed, $SKIP skipped"

# Interop: the Linux tools from a plain native build.
if [ ! -x "$lin/tools/mcrx_send" ]; then
    rm -rf "$lin"
    meson setup "$lin" -Dtests=false -Dbench=false >/dev/null 2>&1 && meson compile -C "$lin" >/dev/null 2>&1
fi
scripts/interop-windows.sh "$lin" "$dir" | tee "$dir.interop.txt"
p=$(grep -c '| PASS' "$dir.interop.txt")
f=$(grep -c '| FAIL' "$dir.interop.txt")
s=$(grep -c '| SKIP' "$dir.interop.txt")
PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + s))
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
