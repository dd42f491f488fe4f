"""importlib's freshness check done by hand in Python, as a script a user might write: walk the
tree, and for every .py stat it, find its cache file, read 16 bytes and apply
`_classify_pyc` + `_validate_timestamp_pyc` (3.7+ timestamp pycs; hash pycs are counted as
fresh without checking). Prints counts. Used by bench/status.py as an anchor."""
import importlib.util
import os
import sys

MAGIC = importlib.util.MAGIC_NUMBER


def main(root):
    fresh = stale = missing = 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            if not f.endswith(".py"):
                continue
            src = os.path.join(d, f)
            try:
                st = os.stat(src)
                with open(importlib.util.cache_from_source(src), "rb") as fh:
                    data = fh.read(16)
            except OSError:
                missing += 1
                continue
            if data[:4] != MAGIC or len(data) < 16:
                stale += 1
                continue
            flags = int.from_bytes(data[4:8], "little")
            if flags & ~0b11:
                stale += 1
            elif flags & 1:
                fresh += 1
            elif (int.from_bytes(data[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                  and int.from_bytes(data[12:16], "little") == st.st_size & 0xFFFFFFFF):
                fresh += 1
            else:
                stale += 1
    print("fresh", fresh, "stale", stale, "missing", missing)


if __name__ == "__main__":
    main(sys.argv[1])
