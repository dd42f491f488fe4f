#!/usr/bin/env python3
"""Benchmark `pyc clean` against pyclean and the `find` floor on a compiled ~100,000-file tree.

The tree is the one bench/status.py builds (CPython 3.12's standard library, with its cache
files for -O 0, 1 and 2, hard-linked N times). Before each timed run a fresh hard-linked copy
is made (not timed: only the clean is), so every tool removes the same files:
  floor    find COPY -name __pycache__ -prune -exec rm -rf {} +
  pyc      pyc clean COPY -q
  pyclean  pyclean COPY -q        (PyPI pyclean in a virtualenv; --pyclean to name one)
  xargs    find COPY -name __pycache__ -prune -print0 | xargs -0 -P NCPU -n 200 rm -rf
           (not the issue's floor: the same removal spread over every core, for reference)
Two trees: the bench/status.py tree as pyenv installed it (caches for -O 0, 1 and 2: three
cache files per source), and the same tree with only the -O 0 caches (what one `compileall`
run leaves). Prints seconds (best of --repeat) and ratios, and checks that no cache file is
left (the stdlib's own `venv` package is in every tool's default ignore list: its 7 cache
entries per copy stay, for every tool alike).

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


def left_caches(tree, ignored=()):
    """Cache files and __pycache__ folders under `tree`, not counting folders named in `ignored`."""
    n = 0
    for _, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in ignored]
        n += sum(1 for f in files if f.endswith((".pyc", ".pyo")))
        n += sum(1 for d in dirs if d == "__pycache__")
    return n


def run(cmd, tree, repeat, cwd=None):
    best = None
    for _ in range(repeat):
        copy = tree + ".copy"
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.check_call(["cp", "-al", tree, copy])
        subprocess.check_call(["sync"])
        full = [c.replace("{TREE}", copy) for c in cmd]
        t = time.perf_counter()
        p = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            print("  ! %s exited %d: %s" % (cmd[0], p.returncode, p.stderr.decode()[-300:]))
        # Every tool's default ignore list has `venv` (the stdlib's venv package): not counted.
        left = left_caches(copy, ignored=("venv",))
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
    ap.add_argument("--anchor-repeat", type=int, default=1, help="runs of pyclean (slow) per tree")
    a = ap.parse_args()
    py = sb.pyenv_python()
    os.makedirs(sb.WORK, exist_ok=True)
    tpl = sb.build_template(py)
    tree, n = sb.build_tree(tpl, a.files)
    opt0 = tree + "-opt0"
    if not os.path.isdir(opt0):
        subprocess.check_call(["cp", "-al", tree, opt0 + ".tmp"])
        for root, _, files in os.walk(opt0 + ".tmp"):
            for f in files:
                if ".opt-" in f and f.endswith(".pyc"):
                    os.unlink(os.path.join(root, f))
        os.rename(opt0 + ".tmp", opt0)
    ncpu = os.cpu_count() or 1
    for label, t in (("caches for -O 0, 1, 2 (pyenv's install)", tree), ("caches for -O 0 only (one compileall run)", opt0)):
        caches = left_caches(t)
        print("\ntree: %s: %d .py files, %d cache files and folders, %s, %d cpus" % (t, n, caches, label, ncpu))
        rows = [
            ("floor: find -prune -exec rm -rf", run(["find", "{TREE}", "-name", "__pycache__", "-prune", "-exec", "rm", "-rf", "{}", "+"], t, a.repeat)),
            ("pyc clean -q", run([a.pyc, "clean", "{TREE}", "-q"], t, a.repeat)),
            ("pyc clean (summary, bytes counted)", run([a.pyc, "clean", "{TREE}"], t, a.repeat)),
            ("pyclean -q", run([pyclean_exe(a.pyclean), "{TREE}", "-q"], t, a.anchor_repeat)),
            ("find | xargs -P%d rm -rf" % ncpu, run(["sh", "-c", "find \"$1\" -name __pycache__ -prune -print0 | xargs -0 -P%d -n 200 rm -rf" % ncpu, "sh", "{TREE}"], t, a.repeat)),
        ]
        floor, pyc = rows[0][1], rows[1][1]
        print("%-38s %9s %10s %10s" % ("command", "seconds", "vs floor", "vs pyc -q"))
        for name, secs in rows:
            print("%-38s %9.3f %9.2fx %9.2fx" % (name, secs, secs / floor, secs / pyc))
    print("load average at the end: %s" % " ".join("%.1f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
