#!/bin/sh
# Builds tests/subproject/consumer with this source tree as its subproject
# subprojects/mcrx-core (a copy of the files git knows), runs its test.
# usage: run.sh SOURCE_ROOT
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/tests/subproject/consumer" "$tmp/consumer"
mkdir -p "$tmp/consumer/subprojects/mcrx-core"
(cd "$src" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
    xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$tmp/consumer/subprojects/mcrx-core"
[ -f "$tmp/consumer/subprojects/mcrx-core/meson.build" ] || {
    echo "could not copy the source tree (not a git checkout?)" >&2; exit 1; }
meson setup "$tmp/build" "$tmp/consumer" >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }
meson compile -C "$tmp/build" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; exit 1; }
meson test -C "$tmp/build" --print-errorlogs
