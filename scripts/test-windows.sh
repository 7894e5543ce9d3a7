#!/bin/sh
# test-windows.sh: the Windows build (mingw-w64) and its tests under Wine.
#   1. scripts/test.sh's "windows" suite: meson setup/compile
#      build-test-win with cross/x86_64-w64-mingw32.txt (mcrx.dll, import
#      and static libraries, tools, test programs), then meson test: the
#      behavioural tests once per Windows backend (iocp, wsapoll), each in
#      scripts/mcrx-netns under scripts/mcrx-wine;
#   2. the interop matrix (scripts/interop-windows.sh) against the Linux
#      tools of build-test (test.sh's default suite) or of its own native
#      build (build-test-win-linux).
# Ends with "N passed, N failed, N skipped" (test cases, plus one per
# interop cell). Needs gcc-mingw-w64, wine, wine64 (scripts/deps.sh).
set -u
cd "$(dirname "$0")/.."
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
    echo "=== windows: gcc-mingw-w64 or wine missing (scripts/deps.sh installs them)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
MCRX_TEST_SUITES=windows sh scripts/test.sh | tee build-test-win.log
set -- $(tail -1 build-test-win.log | tr -d ',' | awk '{print $1, $3, $5}')
PASS=${1:-0} FAIL=${2:-1} SKIP=${3:-0}

lin=${MCRX_WIN_LINUX_BUILD:-build-test}
if [ ! -x "$lin/tools/mcrx_send" ]; then
    lin=build-test-win-linux
    rm -rf "$lin"
    meson setup "$lin" -Dtests=false -Dbench=false >/dev/null 2>&1 &&
        meson compile -C "$lin" >/dev/null 2>&1
fi
if [ -x "$lin/tools/mcrx_send" ] && [ -x build-test-win/tools/mcrx_recv.exe ]; then
    scripts/interop-windows.sh "$lin" build-test-win | tee build-test-win.interop.txt
    PASS=$((PASS + $(grep -c '| PASS' build-test-win.interop.txt)))
    FAIL=$((FAIL + $(grep -c '| FAIL' build-test-win.interop.txt)))
    SKIP=$((SKIP + $(grep -c '| SKIP' build-test-win.interop.txt)))
else
    echo "=== interop: no Linux or Windows tools built"
    FAIL=$((FAIL + 1))
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
