#!/usr/bin/env python3
"""Benchmark `pyc status` against its anchors on a warm tree of ~100,000 real `.py` files.

The tree is CPython 3.12's own standard library (pyenv's install, caches already compiled by
the installer: timestamp pycs at -O 0, 1 and 2) hard-linked N times (hard links keep mtimes, so
every cache stays fresh, and cost no disk). Files that 3.12 cannot compile (the deliberate
syntax-error test files) are dropped so that compileall really has nothing to do.

Compared, in one run, best of --repeat runs each (warm page cache):
  floor     find TREE -printf '%s %T@ %p\\n'        (walk and stat every file)
  pyc       pyc status TREE --python 3.12 --check   (all verdicts, summary output)
  pyc-json  pyc status TREE --python 3.12 --format json
  cl-j1     python3.12 -m compileall -q -j1 TREE   (no-op: everything fresh)
  cl-j0     python3.12 -m compileall -q -j0 TREE
  byhand    a Python script doing importlib's check by hand (bench/status_byhand.py)
Peak memory (max RSS, /usr/bin/time -v) of `pyc status` at 10k and 100k files.

    python3 bench/status.py [--files 100000] [--repeat 3] [--pyc target/release/pyc]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.environ.get("PYC_BENCH_DIR", "/tmp/pyc-bench-status")


def pyenv_python(minor="3.12"):
    root = subprocess.check_output(["pyenv", "root"]).decode().strip()
    for name in sorted(os.listdir(os.path.join(root, "versions"))):
        if name.startswith(minor + "."):
            return os.path.join(root, "versions", name, "bin", "python")
    sys.exit("no pyenv CPython %s" % minor)


def count_py(tree):
    n = 0
    for _, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        n += sum(1 for f in files if f.endswith(".py"))
    return n


def build_template(py):
    lib = subprocess.check_output([py, "-c", "import os,sysconfig;print(sysconfig.get_paths()['stdlib'])"]).decode().strip()
    tpl = os.path.join(WORK, "template")
    if os.path.isdir(tpl):
        return tpl
    tmp = tpl + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    # Hard links where possible (same file system), else a real copy (e.g. PYC_BENCH_DIR on tmpfs).
    if subprocess.run(["cp", "-al", lib, tmp], stderr=subprocess.DEVNULL).returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.check_call(["cp", "-a", lib, tmp])
    shutil.rmtree(os.path.join(tmp, "site-packages"), ignore_errors=True)
    # Drop what 3.12 cannot compile, so a compileall run has nothing to do.
    env = dict(os.environ)
    r = subprocess.run([py, "-m", "compileall", "-q", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    for m in re.finditer(r"\*\*\* Error compiling '([^']+)'", r.stdout.decode("utf-8", "replace")):
        try:
            os.unlink(m.group(1))
        except OSError:
            pass
    # compileall may have rewritten pycs of files whose hard links kept a different mtime: fine,
    # it wrote new files (atomic rename), never touching pyenv's.
    os.rename(tmp, tpl)
    return tpl


def build_tree(tpl, files):
    per = count_py(tpl)
    copies = max(1, round(files / per))
    tree = os.path.join(WORK, "tree-%d" % copies)
    if not os.path.isdir(tree):
        tmp = tree + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for i in range(copies):
            subprocess.check_call(["cp", "-al", tpl, os.path.join(tmp, "copy%03d" % i)])
        os.rename(tmp, tree)
    return tree, per * copies


def timed(cmd, repeat, **kw):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        dt = time.perf_counter() - t
        if p.returncode not in (0, 1):
            print("  ! %s exited %d: %s" % (cmd[0], p.returncode, p.stderr.decode()[-300:]))
        best = dt if best is None else min(best, dt)
    return best


def max_rss_kb(cmd):
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr.decode())
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pyc", default=os.path.join(ROOT, "target", "release", "pyc"))
    ap.add_argument("--skip-compileall", action="store_true")
    a = ap.parse_args()
    py = pyenv_python()
    os.makedirs(WORK, exist_ok=True)
    tpl = build_template(py)
    tree, n = build_tree(tpl, a.files)
    small, n_small = build_tree(tpl, a.files // 10)
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    print("tree: %s: %d .py files (%d copies of the 3.12 stdlib), %d cpus" % (tree, n, n // count_py(tpl), os.cpu_count()))
    # Warm the page cache.
    subprocess.run(["find", tree, "-printf", ""], stdout=subprocess.DEVNULL)
    rows = []
    rows.append(("floor: find -printf", timed(["find", tree, "-printf", "%s %T@ %p\n"], a.repeat)))
    rows.append(("pyc status", timed([a.pyc, "status", tree, "--python", "3.12", "--check"], a.repeat, env=env)))
    rows.append(("pyc status -O 0,1,2", timed([a.pyc, "status", tree, "--python", "3.12", "-O", "0,1,2"], a.repeat, env=env)))
    rows.append(("pyc status --format json", timed([a.pyc, "status", tree, "--python", "3.12", "--format", "json"], a.repeat, env=env)))
    rows.append(("pyc status (1 thread)", timed([a.pyc, "status", tree, "--python", "3.12"], a.repeat,
                                                 env=dict(env, RAYON_NUM_THREADS="1"))))
    rows.append(("by hand (importlib check, Python)", timed([py, os.path.join(HERE, "status_byhand.py"), tree], a.repeat, env=env)))
    if not a.skip_compileall:
        rows.append(("compileall -q -j1 (no-op)", timed([py, "-m", "compileall", "-q", "-j1", tree], 1, env=env)))
        rows.append(("compileall -q -j0 (no-op)", timed([py, "-m", "compileall", "-q", "-j0", tree], 1, env=env)))
    floor = rows[0][1]
    pyc = rows[1][1]
    print("%-36s %9s %12s %12s" % ("command", "seconds", "vs floor", "vs pyc"))
    for name, t in rows:
        print("%-36s %9.3f %11.2fx %11.2fx" % (name, t, t / floor, t / pyc))
    for label, tr, nn in (("10k", small, n_small), ("100k", tree, n)):
        rss = max_rss_kb([a.pyc, "status", tr, "--python", "3.12"])
        rss_j = max_rss_kb([a.pyc, "status", tr, "--python", "3.12", "--format", "json"])
        print("peak memory at %s (%d files): summary %s MiB, json %s MiB" % (
            label, nn, rss and round(rss / 1024, 1), rss_j and round(rss_j / 1024, 1)))


if __name__ == "__main__":
    main()
