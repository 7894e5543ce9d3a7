#!/bin/sh
# scripts/demo.sh: the live demo of mcrx-core.
#
# Builds the tools if needed, then, inside ONE private network namespace
# made by scripts/mcrx-netns (nothing reaches the machine's own network),
# runs three scenarios, each with a receiver (mcrx_recv --count 3
# --timeout 10) and a sender (mcrx_send):
#   1. IPv4 ASM  239.1.2.3:5000 on lo
#   2. IPv4 SSM  232.1.2.3:5001, source 192.0.2.2, joined on v0; a second
#      sender from 192.0.2.3 must NOT be received
#   3. IPv6 SSM  [ff3e::8000:1234]:5002, source 2001:db8:77::2, joined on
#      v0; a second sender from 2001:db8:77::3 must NOT be received
# Exit status 0 when every receiver got exactly what it should.
#
# Environment:
#   BUILD_DIR     Meson build directory (default: <repo>/build; set up with
#                 `meson setup` when missing)
#   MCRX_BACKEND  receive backend for mcrx_recv (recvmmsg|iouring|default)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case $BUILD_DIR in
    /*) ;;
    *) BUILD_DIR=$(pwd)/$BUILD_DIR ;;
esac
export BUILD_DIR

# ---- outside the namespace: build, then re-run this script inside one ----
if [ "${MCRX_DEMO_INNER:-}" != "1" ]; then
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        echo "== meson setup $BUILD_DIR"
        meson setup "$BUILD_DIR" "$ROOT"
    fi
    echo "== meson compile -C $BUILD_DIR (demo tools)"
    if ! meson compile -C "$BUILD_DIR" mcrx_recv mcrx_send; then
        echo "demo: building the tools in $BUILD_DIR failed (configured with -Dtools=false?)" >&2
        exit 1
    fi
    if [ "${MCRX_NETNS_READY:-}" = "1" ]; then
        # Already inside a namespace made by mcrx-netns.
        MCRX_DEMO_INNER=1 exec sh "$ROOT/scripts/demo.sh" "$@"
    fi
    exec sh "$ROOT/scripts/mcrx-netns" env MCRX_DEMO_INNER=1 sh "$ROOT/scripts/demo.sh" "$@"
fi

# ---- inside the private namespace ----------------------------------------
RECV=$BUILD_DIR/tools/mcrx_recv
SEND=$BUILD_DIR/tools/mcrx_send
for t in "$RECV" "$SEND"; do
    if [ ! -x "$t" ]; then
        echo "demo: $t is missing (was the build configured with -Dtools=false?)" >&2
        exit 1
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcrx-demo.XXXXXX")
RPID=
# shellcheck disable=SC2317 # called through trap
cleanup() {
    if [ -n "$RPID" ]; then kill "$RPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILED=0
PASSED=0

indent() { sed 's/^/    /'; }

# show CMD ARGS...: print a command line, quoting arguments with spaces.
show() {
    line=
    for arg in "$@"; do
        case $arg in
            *' '* | '') line="$line '$arg'" ;;
            *) line="$line $arg" ;;
        esac
    done
    echo "  \$$line"
}

# start_receiver NAME ARGS...: mcrx_recv in the background, output in a file.
start_receiver() {
    name=$1
    shift
    show mcrx_recv "$@" --count 3 --timeout 10
    "$RECV" "$@" --count 3 --timeout 10 >"$TMP/$name.out" 2>&1 &
    RPID=$!
    # Wait (bounded: 10 s) for the ready banner, i.e. for the join.
    i=0
    while ! grep -q '^\[ready\]' "$TMP/$name.out" 2>/dev/null; do
        if ! kill -0 "$RPID" 2>/dev/null; then
            break # exited early: reported by finish_receiver
        fi
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "  receiver printed no ready banner within 10 s" >&2
            break
        fi
        sleep 0.1
    done
}

# send ARGS...: run mcrx_send in the foreground.
send() {
    show mcrx_send "$@"
    src=0
    "$SEND" "$@" >"$TMP/send.out" 2>&1 || src=$?
    indent <"$TMP/send.out"
    if [ "$src" -ne 0 ]; then
        echo "  (sender failed: exit $src)"
    fi
}

# finish_receiver NAME WRONG_SOURCE: wait for the receiver, show what it
# printed, and check it: exit 0, 3 packets, none from WRONG_SOURCE.
finish_receiver() {
    name=$1
    wrong=${2:-}
    rc=0
    wait "$RPID" || rc=$?
    RPID=
    echo "  receiver output:"
    indent <"$TMP/$name.out"
    got=$(grep -c '^\[recv\]' "$TMP/$name.out" || true)
    bad=0
    if [ -n "$wrong" ] && grep '^\[recv\]' "$TMP/$name.out" |
        grep -q -F -e "src=$wrong:" -e "src=[$wrong]:"; then
        bad=1
    fi
    if [ "$rc" -eq 0 ] && [ "$got" -eq 3 ] && [ "$bad" -eq 0 ]; then
        echo "  => OK: 3 packets received${wrong:+, none from $wrong}"
        PASSED=$((PASSED + 1))
    else
        echo "  => FAILED: receiver exit $rc, $got packet(s)${wrong:+, from $wrong: $bad}"
        FAILED=$((FAILED + 1))
    fi
    echo
}

echo
echo "mcrx-core demo, inside a private network namespace:"
echo "  lo 127.0.0.1 | v0 192.0.2.1, 2001:db8:77::1 <-> v1 192.0.2.2, .3, 2001:db8:77::2, ::3"
echo

echo "== 1. IPv4 ASM: 239.1.2.3:5000 on lo"
start_receiver asm4 239.1.2.3 5000 --interface 127.0.0.1
send 239.1.2.3 5000 "hello ASM" 200 127.0.0.1 --count 3
finish_receiver asm4

echo "== 2. IPv4 SSM: (192.0.2.2, 232.1.2.3):5001 joined on v0 (192.0.2.1)"
start_receiver ssm4 232.1.2.3 5001 192.0.2.2 192.0.2.1
echo "  -- wrong source 192.0.2.3 first: must not arrive"
send 232.1.2.3 5001 "wrong source" 100 --count 3 --source-addr 192.0.2.3
echo "  -- right source 192.0.2.2"
send 232.1.2.3 5001 "hello SSM" 200 --count 3 --source-addr 192.0.2.2
finish_receiver ssm4 192.0.2.3

echo "== 3. IPv6 SSM: (2001:db8:77::2, ff3e::8000:1234):5002 joined on v0"
start_receiver ssm6 ff3e::8000:1234 5002 --source 2001:db8:77::2 --interface v0
echo "  -- wrong source 2001:db8:77::3 first: must not arrive"
send ff3e::8000:1234 5002 "wrong source" 100 v1 --count 3 --source-addr 2001:db8:77::3
echo "  -- right source 2001:db8:77::2"
send ff3e::8000:1234 5002 "hello IPv6 SSM" 200 v1 --count 3 --source-addr 2001:db8:77::2
finish_receiver ssm6 2001:db8:77::3

if [ "$FAILED" -eq 0 ]; then
    echo "demo: all $PASSED scenarios passed"
    exit 0
fi
echo "demo: $FAILED of $((PASSED + FAILED)) scenarios FAILED" >&2
exit 1
