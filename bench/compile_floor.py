#!/usr/bin/env python3
"""The floor of a cold compile: what any tool that uses the real compiler pays on this machine.

    python3.12 bench/compile_floor.py [--write] TREE [JOBS]

Lists the `.py` files of TREE, deals them largest first to JOBS processes (default: one per
core) so that each gets about the same number of bytes, and has each process run what
py_compile runs for every file, `marshal.dumps(compile(source, path, 'exec', dont_inherit=True))`,
writing nothing. The wall time of the whole is the floor a compiling tool could reach with
perfect scheduling and free file handling, run by bench/compile.py next to compileall and pyc.

With --write, each process also writes every pyc as a tool must: header (magic, flags, the
source's mtime and size from the open file), the marshal bytes as they come (not made
reproducible), into a new temporary file in `__pycache__` renamed over the target, with the
fewest system calls Python allows. That is the floor of any tool that writes pycs with the
real compiler: compile, and create the files.
"""
import marshal
import os
import struct
import subprocess
import sys
import warnings


def child(paths, write):
    warnings.simplefilter("ignore")
    from importlib.util import MAGIC_NUMBER, cache_from_source
    made = set()
    for p in paths:
        with open(p, "rb") as f:
            source = f.read()
            st = os.fstat(f.fileno())
        try:
            data = marshal.dumps(compile(source, p, "exec", 0, True))
        except (SyntaxError, ValueError):
            continue
        if not write:
            continue
        cfile = cache_from_source(p)
        folder = os.path.dirname(cfile)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        header = MAGIC_NUMBER + struct.pack(
            "<III", 0, int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)
        tmp = "%s.%d.tmp" % (cfile, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(header + data)
        os.replace(tmp, cfile)


def main():
    args = sys.argv[1:]
    if args[0] == "--child":
        child(sys.stdin.read().splitlines(), args[1] == "write")
        return
    write = args[0] == "--write"
    if write:
        args = args[1:]
    tree = args[0]
    jobs = int(args[1]) if len(args) > 1 else os.cpu_count()
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
        subprocess.Popen([sys.executable, "-S", "-s", __file__, "--child", "write" if write else "none"], stdin=subprocess.PIPE)
        for _ in bins
    ]
    for p, (_, paths) in zip(procs, bins):
        p.stdin.write("\n".join(paths).encode())
        p.stdin.close()
    sys.exit(max(p.wait() for p in procs))


if __name__ == "__main__":
    main()
