#!/usr/bin/env python3
"""The floor of a cold compile: what any tool that uses the real compiler pays on this machine.

    python3.12 bench/compile_floor.py TREE [JOBS]

Lists the `.py` files of TREE, deals them largest first to JOBS processes (default: one per
core) so that each gets about the same number of bytes, and has each process run what
py_compile runs for every file, `marshal.dumps(compile(source, path, 'exec', dont_inherit=True))`,
writing nothing. The wall time of the whole is the floor a compiling tool could reach with
perfect scheduling and free file handling, run by bench/compile.py next to compileall and pyc.
"""
import marshal
import os
import subprocess
import sys
import warnings


def child(paths):
    warnings.simplefilter("ignore")
    for p in paths:
        with open(p, "rb") as f:
            source = f.read()
        try:
            marshal.dumps(compile(source, p, "exec", 0, True))
        except (SyntaxError, ValueError):
            pass


def main():
    if sys.argv[1] == "--child":
        child(sys.stdin.read().splitlines())
        return
    tree = sys.argv[1]
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    files = []
    for root, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [os.path.join(root, n) for n in names if n.endswith(".py")]
    files.sort(key=os.path.getsize, reverse=True)
    bins = [[0, []] for _ in range(jobs)]
    for p in files:
        b = min(bins, key=lambda b: b[0])
        b[0] += os.path.getsize(p)
        b[1].append(p)
    procs = [
        subprocess.Popen([sys.executable, "-S", "-s", __file__, "--child"], stdin=subprocess.PIPE)
        for _ in bins
    ]
    for p, (_, paths) in zip(procs, bins):
        p.stdin.write("\n".join(paths).encode())
        p.stdin.close()
    sys.exit(max(p.wait() for p in procs))


if __name__ == "__main__":
    main()
