#!/usr/bin/env python3
"""The shared library exports exactly the functions its public headers mark
MCRX_API: nothing internal (mcrx_engine_*, mcrx_plat_*, backend tables)
leaks out, and nothing public is missing.

usage: check_exports.py NM LIBRARY HEADER...
"""
import re
import subprocess
import sys


def declared(headers):
    names = set()
    for h in headers:
        text = open(h, encoding="utf-8").read()
        for m in re.finditer(r"^MCRX_API\b[^;(]*?\b(mcrx_\w+)\s*\(", text, re.M):
            names.add(m.group(1))
    return names


def exported(nm, lib):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDRBW":
            names.add(parts[2])
    return names


def main():
    nm, lib, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
    want, got = declared(headers), exported(nm, lib)
    extra, missing = sorted(got - want), sorted(want - got)
    print(f"{len(want)} public functions declared, {len(got)} symbols exported")
    for n in extra:
        print(f"exported but not public: {n}")
    for n in missing:
        print(f"public but not exported: {n}")
    if not want:
        print("no MCRX_API declarations found: header parsing is broken")
        return 1
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
