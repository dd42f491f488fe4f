#!/usr/bin/env python3
"""Benchmark: load every pyc of CPython 3.12's standard library with pyc's marshal reader
(pyc_format::read_pyc: header + marshal body into Objects and Code) and with CPython 3.12's own
marshal.loads, on the same files, in one run, and print the ratio.

Both sides read all files into memory first and time only the loading, single-threaded,
best of 5 rounds.

Run:  python3 bench/marshal.py [--python PATH_TO_PYTHON3.12]
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

CPYTHON_SIDE = r'''
import marshal, sys, time
files = open(sys.argv[1]).read().split("\n")
data = [open(f, "rb").read() for f in files if f]
best = None
for _ in range(5):
    t = time.perf_counter()
    ok = 0
    for d in data:
        marshal.loads(memoryview(d)[16:])
        ok += 1
    e = time.perf_counter() - t
    best = e if best is None else min(best, e)
print('{"files": %d, "ok": %d, "bytes": %d, "seconds": %.6f}'
      % (len(data), ok, sum(map(len, data)), best))
'''


def find_python312():
    if "--python" in sys.argv:
        return sys.argv[sys.argv.index("--python") + 1]
    from pythons import pyenv_interpreters
    py = pyenv_interpreters().get("3.12")
    if not py:
        sys.exit("no CPython 3.12 found (pass --python)")
    return py.path


def main():
    python = find_python312()
    stdlib = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]).decode().strip()
    files = sorted(os.path.join(r, n) for r, _, ns in os.walk(stdlib) for n in ns
                   if n.endswith(".cpython-312.pyc") and "site-packages" not in r)
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "pyc-format", "--example",
                           "check_pycs"], cwd=ROOT)
    exe = os.path.join(ROOT, "target", "release", "examples", "check_pycs")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(files))
        listing = f.name
    try:
        ours = json.loads(subprocess.check_output([exe, "--bench"] + files).decode())
        theirs = json.loads(subprocess.check_output([python, "-c", CPYTHON_SIDE, listing]).decode())
    finally:
        os.unlink(listing)
    mb = ours["bytes"] / 1e6
    print("3.12 stdlib: %d pycs (optimization level 0), %.1f MB" % (ours["files"], mb))
    print("  pyc read_pyc        %8.1f ms  (%d loaded)" % (ours["seconds"] * 1e3, ours["ok"]))
    print("  CPython marshal.loads %6.1f ms  (%d loaded)" % (theirs["seconds"] * 1e3, theirs["ok"]))
    print("  ratio (CPython / pyc): %.2fx" % (theirs["seconds"] / ours["seconds"]))


if __name__ == "__main__":
    main()
