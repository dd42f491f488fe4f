"""Anchor for `pyc show --format json`: read the header of every pyc named in a list file with
struct.unpack, in one Python process, and print one JSON object per file with the same fields
(magic, header size, flags, mtime and its UTC time, source size or hash, body size)."""
import json
import os
import struct
import sys
import time


def header(path):
    with open(path, "rb") as f:
        data = f.read(16)
        size = os.fstat(f.fileno()).st_size
    magic, = struct.unpack("<H", data[:2])
    if magic >= 20000 or magic < 3210:
        hsize = 8
    elif magic < 3392:
        hsize = 12
    else:
        hsize = 16
    r = {"file": path, "magic": magic, "header_size": hsize, "flags": None, "mtime": None,
         "mtime_utc": None, "source_size": None, "source_hash": None}
    if hsize == 16:
        flags, = struct.unpack("<I", data[4:8])
        r["flags"] = flags
        if flags & 1:
            r["source_hash"] = data[8:16].hex()
        else:
            r["mtime"], r["source_size"] = struct.unpack("<II", data[8:16])
    else:
        r["mtime"], = struct.unpack("<I", data[4:8])
        if hsize == 12:
            r["source_size"], = struct.unpack("<I", data[8:12])
    if r["mtime"] is not None:
        r["mtime_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["mtime"]))
    r["body_size"] = size - hsize
    return r


def main():
    out = sys.stdout
    with open(sys.argv[1]) as f:
        for line in f:
            out.write(json.dumps(header(line.rstrip("\n"))) + "\n")


main()
