#!/usr/bin/env python3
"""Did a change slow pyc down? Two pyc binaries and the anchors, timed in the same rounds.

    python3 bench/regress.py --before /tmp/pyc-before --after target/release/pyc [--rounds 5]

Uses the status benchmark's tree (bench/status.py: CPython 3.12's standard library, compiled
at -O 0, 1 and 2, hard-linked to ~--files sources), on which every cache is fresh, and times
per round, back to back:
  status   floor `find -printf` (walk and stat) | pyc status --check, before and after
  compile  `python3.12 -m compileall -q -j0` (no-op) | pyc compile -q (no-op), before and after
  clean    floor `find -name __pycache__ -prune -exec rm -rf` | pyclean -q | pyc clean -q,
           before and after (each on a fresh hard-linked copy of the tree)
Prints each command's median wall time, and for each pyc the median over rounds of
anchor / pyc (above 1: pyc is faster) and after / before, in wall and CPU time (the
regression figure; the runs of one round are back to back, so a host that slows down for
a while slows both; on a shared machine the CPU ratio is the steadier one).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clean as cb  # noqa: E402
import status as sb  # noqa: E402


def once(cmd, env, prepare=None):
    arg = prepare() if prepare else None
    full = [c.replace("{TREE}", arg) if arg else c for c in cmd]
    t = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    rc = os.waitstatus_to_exitcode(status)
    if rc not in (0, 1):
        print("  ! %s exited %d" % (full[0], rc))
    if arg:
        shutil.rmtree(arg, ignore_errors=True)
    # CPU: user + system of the process and the children it reaped (compileall -j0's
    # forkserver workers are not its children: its CPU is undercounted).
    return dt, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", choices=["status", "compile", "clean"], action="append")
    a = ap.parse_args()
    py = sb.pyenv_python()
    os.makedirs(sb.WORK, exist_ok=True)
    tree, n = sb.build_tree(sb.build_template(py), a.files)
    env = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE", "SOURCE_DATE_EPOCH"):
        env.pop(k, None)

    def fresh_copy():
        copy = tree + ".copy"
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.check_call(["cp", "-al", tree, copy])
        subprocess.check_call(["sync"])
        return copy

    groups = {
        "status": [
            ("floor: find -printf", ["find", tree, "-printf", "%s %T@ %p\n"], None),
            ("before: pyc status --check", [a.before, "status", tree, "--python", "3.12", "--check"], None),
            ("after: pyc status --check", [a.after, "status", tree, "--python", "3.12", "--check"], None),
        ],
        "compile": [
            ("compileall -q -j0 (no-op)", [py, "-m", "compileall", "-q", "-j0", tree], None),
            ("before: pyc compile -q (no-op)", [a.before, "compile", "-q", "--python", py, tree], None),
            ("after: pyc compile -q (no-op)", [a.after, "compile", "-q", "--python", py, tree], None),
        ],
        "clean": [
            ("floor: find -prune -exec rm -rf", ["find", "{TREE}", "-name", "__pycache__", "-prune", "-exec", "rm", "-rf", "{}", "+"], fresh_copy),
            ("pyclean -q", [cb.pyclean_exe(None), "{TREE}", "-q"], fresh_copy),
            ("before: pyc clean -q", [a.before, "clean", "{TREE}", "-q"], fresh_copy),
            ("after: pyc clean -q", [a.after, "clean", "{TREE}", "-q"], fresh_copy),
        ],
    }
    print("tree: %s: %d .py files; %d rounds; load average %s" % (
        tree, n, a.rounds, " ".join("%.1f" % x for x in os.getloadavg())))
    subprocess.run(["find", tree, "-printf", ""], stdout=subprocess.DEVNULL)
    for group, cmds in groups.items():
        if a.only and group not in a.only:
            continue
        times = {name: [] for name, _, _ in cmds}
        cpus = {name: [] for name, _, _ in cmds}
        for _ in range(a.rounds):
            for name, cmd, prepare in cmds:
                wall, cpu = once(cmd, env, prepare)
                times[name].append(wall)
                cpus[name].append(cpu)
        anchor = cmds[0][0] if group != "clean" else "pyclean -q"
        print("\n## %s (anchor: %s)" % (group, anchor))
        for name, ts in times.items():
            line = "  %-34s %7.3f s median  (%s)" % (name, statistics.median(ts), " ".join("%.2f" % t for t in ts))
            if name.startswith(("before", "after")):
                line += "  anchor/pyc %.2fx" % statistics.median([x / y for x, y in zip(times[anchor], ts)])
            print(line)
        b = [n for n in times if n.startswith("before")][0]
        f = [n for n in times if n.startswith("after")][0]
        print("  after/before: %.3f wall, %.3f cpu (medians of per-round ratios; cpu: %.3f s vs %.3f s)" % (
            statistics.median([y / x for x, y in zip(times[b], times[f])]),
            statistics.median([y / x for x, y in zip(cpus[b], cpus[f])]),
            statistics.median(cpus[f]), statistics.median(cpus[b])))
    print("\nload average at the end: %s" % " ".join("%.1f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
