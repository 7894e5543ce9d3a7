#!/bin/sh
# Installs the Debian 12 packages mcrx-core needs to build, test, demo and
# benchmark, if they are missing. Uses sudo when not root.
set -eu
PKGS="meson ninja-build pkg-config gcc liburing-dev libcriterion-dev libuv1-dev
iproute2 util-linux python3 iperf socat hyperfine gnuplot-nox
python3-dev python3-pytest python3-mesonpy python3-pip python3-venv"
# metrics tests: promtool (prometheus) checks the Prometheus text export,
# prometheus_client's parser the OpenMetrics one (tests/test_metrics.c)
PKGS="$PKGS prometheus python3-prometheus-client"
# zig for the macOS cross builds comes from the npm registry (scripts/build-macos.sh)
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
# Windows cross build and its tests under Wine (scripts/test-windows.sh)
PKGS="$PKGS gcc-mingw-w64 wine wine64"
# fuzzing (scripts/fuzz.sh) and valgrind (scripts/test.sh --valgrind)
PKGS="$PKGS clang-14 libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "deps: installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
