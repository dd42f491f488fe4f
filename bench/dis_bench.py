#!/usr/bin/env python3
"""Benchmark: `pyc dis` versus CPython's own `dis`, over every pyc of a standard library.

Compiles every .py of CPython 3.12's standard library with CPython 3.12 into a scratch
folder (nothing is written into the interpreter's tree), then, in the same run:

  * `pyc dis FOLDER`                     one process, all pycs (default threads, and 1 thread)
  * CPython 3.12, one process: for every pyc, marshal.loads + dis.dis(code) to /dev/null
  * `pycdas` on every pyc, if --pycdas PATH is given (one process per file: it takes one)

and prints wall times and ratios. Output of every tool goes to /dev/null.

    python3 bench/dis_bench.py [--python 3.12] [--pyc target/release/pyc] [--pycdas PATH]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from pythons import interpreters  # noqa: E402

COMPILE = r'''
import sys, os, marshal, importlib.util, struct, sysconfig
root = sysconfig.get_paths()["stdlib"]
out = sys.argv[1]
n = 0
for d, dirs, names in os.walk(root):
    dirs[:] = sorted(x for x in dirs if x not in ("site-packages", "__pycache__"))
    for name in sorted(names):
        if not name.endswith(".py"):
            continue
        p = os.path.join(d, name)
        try:
            src = open(p, "rb").read()
            co = compile(src, p, "exec", 0, True)
        except Exception:
            continue
        rel = os.path.relpath(p, root)
        q = os.path.join(out, rel + "c")
        os.makedirs(os.path.dirname(q), exist_ok=True)
        with open(q, "wb") as f:
            f.write(importlib.util.MAGIC_NUMBER + struct.pack("<III", 0, 0, len(src)) + marshal.dumps(co))
        n += 1
print(n)
'''

CPYTHON_DIS = r'''
import sys, os, marshal, dis, time
t0 = time.perf_counter()
files = []
for d, dirs, names in os.walk(sys.argv[1]):
    dirs.sort()
    files.extend(os.path.join(d, n) for n in sorted(names) if n.endswith(".pyc"))
with open(os.devnull, "w") as sink:
    for p in files:
        with open(p, "rb") as f:
            data = f.read()
        dis.dis(marshal.loads(data[16:]), file=sink)
print("%d %.3f" % (len(files), time.perf_counter() - t0))
'''


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, env=None, stdout=subprocess.DEVNULL):
    """Wall time, CPU time (user + system) and the finished process.

    Output goes to /dev/null, as CPython's below does: a pipe read by this script would
    make `pyc dis` wait for the reader (its ~190 MB of text), adding wall time that is
    neither tool's work."""
    c0, t0 = cpu_children(), time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    return time.perf_counter() - t0, cpu_children() - c0, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="3.12")
    ap.add_argument("--pyc", default=os.path.join(ROOT, "target", "release", "pyc"))
    ap.add_argument("--pycdas", default=None)
    args = ap.parse_args()
    py = next((p for p in interpreters(pyodide=False) if p.version == args.python), None)
    if py is None:
        sys.exit("no CPython %s found" % args.python)
    with tempfile.TemporaryDirectory() as tmp:
        n = subprocess.check_output([py.path, "-c", COMPILE, tmp]).decode().strip()
        print("CPython %s stdlib: %s pycs compiled into a scratch folder" % (py.full, n))
        # Warm the file cache once for everybody.
        timed([args.pyc, "dis", tmp])
        t_pyc, c_pyc, p = timed([args.pyc, "dis", tmp])
        if p.returncode != 0:
            sys.exit("pyc dis failed: %s" % p.stderr.decode()[-2000:])
        env1 = dict(os.environ, RAYON_NUM_THREADS="1")
        t_pyc1, c_pyc1, _ = timed([args.pyc, "dis", tmp], env=env1)
        t_cpy, c_cpy, p = timed([py.path, "-c", CPYTHON_DIS, tmp], stdout=subprocess.PIPE)
        files, inner = p.stdout.decode().split()
        load = os.getloadavg()[0]
        print("load average %.1f on %d cores (wall times suffer from other load; CPU times less)"
              % (load, os.cpu_count()))
        print("%-40s %9s %9s" % ("", "wall", "CPU"))
        print("%-40s %8.2fs %8.2fs" % ("pyc dis (all cores)", t_pyc, c_pyc))
        print("%-40s %8.2fs %8.2fs" % ("pyc dis (RAYON_NUM_THREADS=1)", t_pyc1, c_pyc1))
        print("%-40s %8.2fs %8.2fs" % ("CPython %s dis.dis, one process" % py.version, t_cpy, c_cpy))
        print("ratio CPython / pyc dis: wall %.1fx (1 thread %.1fx), CPU %.1fx (1 thread %.1fx)"
              % (t_cpy / t_pyc, t_cpy / t_pyc1, c_cpy / c_pyc, c_cpy / c_pyc1))
        if args.pycdas:
            pycs = []
            for d, _, names in os.walk(tmp):
                pycs.extend(os.path.join(d, x) for x in names if x.endswith(".pyc"))
            t0 = time.perf_counter()
            fails = 0
            for f in pycs:
                r = subprocess.run([args.pycdas, f], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                fails += r.returncode != 0
            t_das = time.perf_counter() - t0
            print("%-40s %8.2fs  (%d of %d files failed)" % ("pycdas, one process per file", t_das, fails, len(pycs)))
            print("ratio pycdas / pyc dis:             %6.1fx" % (t_das / t_pyc))


if __name__ == "__main__":
    main()
