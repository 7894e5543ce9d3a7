#!/bin/sh
# interop-windows.sh LINUX_BUILD WINDOWS_BUILD
#
# The interoperability matrix: Linux sender -> Windows receiver (under
# Wine) and Windows sender (under Wine) -> Linux receiver, for IPv4 ASM,
# IPv4 SSM, IPv6 ASM and IPv6 SSM, with the demo tools (mcrx_send,
# mcrx_recv) of both builds. Runs itself inside scripts/mcrx-netns.
# Prints a table; a cell is PASS (3 datagrams arrived), FAIL, or SKIP with
# the reason (IPv6 SSM joins answer WSAENOPROTOOPT under Wine 8). Exit
# status 1 when a cell failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "${MCRX_NETNS_READY:-}" != "1" ]; then
    exec "$here/mcrx-netns" sh "$0" "$@"
fi
lin=$(cd "${1:-build}" && pwd)
win=$(cd "${2:-build-win}" && pwd)
export MCRX_WINE_KEEP=1 # one wineserver for the whole matrix
W="$here/mcrx-wine"
out=${TMPDIR:-/tmp}/mcrx-interop.$$
mkdir -p "$out"
port=45500
fails=0

# cell NAME GROUP SOURCE IFACE_RX IFACE_TX DIRECTION
cell() {
    name=$1 group=$2 src=$3 ifrx=$4 iftx=$5 dir=$6
    port=$((port + 1))
    if [ "$dir" = "lin->win" ]; then
        recv="$W $win/tools/mcrx_recv.exe" send="$lin/tools/mcrx_send"
    else
        recv="$lin/tools/mcrx_recv" send="$W $win/tools/mcrx_send.exe"
    fi
    sendsrc=""
    [ -n "$src" ] && sendsrc="--source-addr $src"
    # The receiver joins first ([ready] line), then the sender starts.
    $recv "$group" $port "$src" "$ifrx" --count 3 --timeout 25 >"$out/r" 2>"$out/re" &
    rpid=$!
    i=0
    while ! grep -q '^\[ready\]' "$out/r" 2>/dev/null && kill -0 $rpid 2>/dev/null && [ $i -lt 200 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ -n "$src" ]; then
        $send "$group" $port "interop" 100 $sendsrc --count 60 --quiet >/dev/null 2>"$out/se" &
    else
        $send "$group" $port "interop" 100 "$iftx" --count 60 --quiet >/dev/null 2>"$out/se" &
    fi
    spid=$!
    wait $rpid
    rc=$?
    kill $spid 2>/dev/null
    wait $spid 2>/dev/null
    if [ $rc = 0 ] && grep -q 'received=3' "$out/r"; then
        res=PASS
    elif grep -q 'WSAENOPROTOOPT\|10042' "$out/re" "$out/se" 2>/dev/null; then
        res="SKIP (Wine 8: IPv6 MCAST_JOIN_SOURCE_GROUP -> WSAENOPROTOOPT)"
    else
        res="FAIL (rc $rc: $(tail -1 "$out/re" "$out/se" 2>/dev/null | tr '\n' ' ' | cut -c1-80))"
        fails=$((fails + 1))
    fi
    printf '| %-9s | %-28s | %s |\n' "$name" "$dir" "$res"
}

echo "| case      | direction                    | result |"
echo "|-----------|------------------------------|--------|"
for dir in "lin->win" "win->lin"; do
    cell "IPv4 ASM" 239.77.90.1 "" "$MCRX_TEST_V4_RX" "$MCRX_TEST_IF_TX" "$dir"
    cell "IPv4 SSM" 232.77.90.2 "$MCRX_TEST_V4_TX" "$MCRX_TEST_V4_RX" "$MCRX_TEST_IF_TX" "$dir"
    cell "IPv6 ASM" ff15::77:9001 "" "$MCRX_TEST_IF_RX" "$MCRX_TEST_IF_TX" "$dir"
    cell "IPv6 SSM" ff3e::8000:9002 "$MCRX_TEST_V6_TX" "$MCRX_TEST_IF_RX" "$MCRX_TEST_IF_TX" "$dir"
done
wineserver -k 2>/dev/null
wineserver -w 2>/dev/null
rm -rf "$out"
echo "interop: $fails failed"
[ $fails = 0 ]
