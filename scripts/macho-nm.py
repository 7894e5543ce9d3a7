#!/usr/bin/env python3
"""The symbols a 64-bit Mach-O file (a macOS .dylib) exports, printed like
`nm -D --defined-only` ("ADDRESS T NAME", C names without Mach-O's leading
underscore), so tests/check_exports.py can check a cross-built macOS
library on Linux, where binutils' nm does not read Mach-O.

usage: [MACHO_NM_PREFIX=mcrx_] macho-nm.py [nm options, ignored] FILE

MACHO_NM_PREFIX lists only the names with that prefix: a zig 0.11 build in
an optimized mode also exports zig's compiler-rt (memcpy, sin, __divti3...,
ziglang/zig#11883) from every .dylib, which Apple's toolchain does not do;
scripts/build-macos.sh checks the library's own namespace with it.
"""
import os
import struct
import sys

LC_SYMTAB = 0x2
N_STAB, N_PEXT, N_TYPE, N_EXT, N_SECT = 0xE0, 0x10, 0x0E, 0x01, 0x0E


def exports(data):
    magic, _cpu, _sub, _ftype, ncmds, _size, _flags, _res = struct.unpack_from("<8I", data, 0)
    if magic != 0xFEEDFACF:
        raise SystemExit("not a 64-bit little-endian Mach-O file")
    off = 32
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from("<2I", data, off)
        if cmd == LC_SYMTAB:
            symoff, nsyms, stroff, _strsize = struct.unpack_from("<4I", data, off + 8)
            for i in range(nsyms):
                strx, ntype, _sect, _desc, value = struct.unpack_from("<IBBHQ", data, symoff + 16 * i)
                if ntype & N_STAB or not ntype & N_EXT or ntype & N_PEXT:
                    continue
                if ntype & N_TYPE != N_SECT:
                    continue  # undefined or absolute
                end = data.index(b"\0", stroff + strx)
                name = data[stroff + strx:end].decode()
                yield value, name[1:] if name.startswith("_") else name
        off += cmdsize


def main():
    with open(sys.argv[-1], "rb") as f:
        data = f.read()
    prefix = os.environ.get("MACHO_NM_PREFIX", "")
    for value, name in sorted(exports(data), key=lambda e: e[1]):
        if name.startswith(prefix):
            print(f"{value:016x} T {name}")


if __name__ == "__main__":
    main()
