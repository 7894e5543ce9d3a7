#!/bin/sh
# pip_install.sh PYTHON SOURCE_ROOT WORKDIR
# `pip install ./python` the way python/README.md says (Debian's
# python3-mesonpy, no build isolation, nothing downloaded) into a fresh
# virtual environment, then import the installed package and check it is
# the installed copy with the extension. No network traffic: no namespace.
set -eu
py=$1 root=$2 work=$3
rm -rf "$work"
"$py" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --no-build-isolation --no-index --quiet "$root/python"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import mcrx, mcrx.aio, mcrx.recv, sys
assert mcrx.__file__.startswith(sys.prefix), mcrx.__file__
assert mcrx._mcrx.__file__.endswith(".so")
ctx = mcrx.Context(backend="recvmmsg")
ctx.close()
print("installed:", mcrx.__file__, "backends:", ", ".join(mcrx.backends()))
PY
rm -rf "$work"
