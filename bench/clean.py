#!/usr/bin/env python3
"""Benchmark `pyc clean` against pyclean and the `find` floor on a compiled ~100,000-file tree.

The tree is the one bench/status.py builds (CPython 3.12's standard library, with its cache
files for -O 0, 1 and 2, hard-linked N times). Before each timed run a fresh hard-linked copy
is made (not timed: only the clean is), so every tool removes the same files:
  floor    find COPY -name __pycache__ -prune -exec rm -rf {} +
  pyc      pyc clean COPY -q
  pyclean  pyclean COPY -q        (PyPI pyclean in a virtualenv; --pyclean to name one)
Prints seconds (best of --repeat) and ratios, and checks that no cache file is left.

    python3 bench/clean.py [--files 100000] [--repeat 2] [--pyclean PATH]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import status as sb  # noqa: E402


def pyclean_exe(given):
    if given:
        return given
    venv = os.path.join(sb.WORK, "pyclean-venv")
    exe = os.path.join(venv, "bin", "pyclean")
    if not os.path.exists(exe):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([os.path.join(venv, "bin", "pip"), "install", "-q", "pyclean"])
    return exe


def left_caches(tree):
    n = 0
    for _, dirs, files in os.walk(tree):
        n += sum(1 for f in files if f.endswith((".pyc", ".pyo")))
        n += sum(1 for d in dirs if d == "__pycache__")
    return n


def run(cmd, tree, repeat, cwd=None):
    best = None
    for _ in range(repeat):
        copy = tree + ".copy"
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.check_call(["cp", "-al", tree, copy])
        full = [c.replace("{TREE}", copy) for c in cmd]
        t = time.perf_counter()
        p = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            print("  ! %s exited %d: %s" % (cmd[0], p.returncode, p.stderr.decode()[-300:]))
        left = left_caches(copy)
        if left:
            print("  ! %s left %d cache files/folders" % (cmd[0], left))
        shutil.rmtree(copy, ignore_errors=True)
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--pyc", default=os.path.join(sb.ROOT, "target", "release", "pyc"))
    ap.add_argument("--pyclean")
    a = ap.parse_args()
    py = sb.pyenv_python()
    os.makedirs(sb.WORK, exist_ok=True)
    tpl = sb.build_template(py)
    tree, n = sb.build_tree(tpl, a.files)
    caches = left_caches(tree)
    print("tree: %s: %d .py files, %d cache files and folders, %d cpus" % (tree, n, caches, os.cpu_count()))
    rows = [
        ("floor: find -prune -exec rm -rf", run(["find", "{TREE}", "-name", "__pycache__", "-prune", "-exec", "rm", "-rf", "{}", "+"], tree, a.repeat)),
        ("pyc clean", run([a.pyc, "clean", "{TREE}", "-q"], tree, a.repeat)),
        ("pyclean", run([pyclean_exe(a.pyclean), "{TREE}", "-q"], tree, 1)),
    ]
    floor, pyc = rows[0][1], rows[1][1]
    print("%-34s %9s %10s %10s" % ("command", "seconds", "vs floor", "vs pyc"))
    for name, t in rows:
        print("%-34s %9.3f %9.2fx %9.2fx" % (name, t, t / floor, t / pyc))


if __name__ == "__main__":
    main()
