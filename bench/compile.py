#!/usr/bin/env python3
"""Benchmark `pyc compile` against `python -m compileall` and uv's bytecode compilation, in one
run, same interpreter (CPython 3.12 from pyenv), same trees, same core count.

    python3 bench/compile.py            # everything (first run downloads sympy, django, uv)
    python3 bench/compile.py --rounds 1 --copies 8 --skip-uv

1. Cold compile of the standard library plus large PyPI packages (sympy, django, their
   dependencies): `python -m compileall -q -j0 TREE` versus `pyc compile -q --python 3.12 TREE`
   (both default to one worker per core). Every __pycache__ is moved away before each run
   (see clear_caches: why not deleted, and --delete). The same rounds time the floor,
   bench/compile_floor.py: one bare process per core running compile() + marshal.dumps on a
   balanced share of the files, writing nothing (what any tool that uses the real compiler
   pays), and the same writing each pyc (what any tool that writes pycs pays). Ratios are
   given both of the medians and as the median of each round's ratio. Also timed: pyc with
   its code cache (`--code-cache`) filled by an earlier run, the same cold tree otherwise.
2. uv: its compile step cannot be run alone, so it is isolated by difference:
   `uv pip install --reinstall --compile-bytecode` minus `uv pip install --reinstall
   --no-compile` on the same venv (the reinstall comes from uv's cache). pyc and compileall
   compile the same site-packages.
3. No-op: the tree compiled, then copied (hard links) until it holds about 100,000 sources;
   `compileall -q -j1` and `-j0` versus `pyc compile -q`, nothing to do. pyc's JSON output
   confirms that it started no interpreter.

Work files live in bench/work/ (git-ignored). Times are medians of --rounds runs; ratios are
anchor time / pyc time (above 1 = pyc faster).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from pythons import pyenv_interpreters  # noqa: E402

PACKAGES = ["sympy", "django"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def env_for_runs():
    e = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "SOURCE_DATE_EPOCH", "PYTHONOPTIMIZE"):
        e.pop(k, None)
    e["PYC_CACHE_DIR"] = os.path.join(WORK, "pyc-cache")
    e["UV_CACHE_DIR"] = os.path.join(WORK, "uv-cache")
    return e


ENV = env_for_runs()


class Done:
    def __init__(self, returncode, stdout, stderr, cpu):
        self.returncode, self.stdout, self.stderr, self.cpu = returncode, stdout, stderr, cpu


def timed(cmd, cwd=None):
    """Wall time and the result; `cpu` is user+sys of the process and the children it reaped
    (compileall -j0's forkserver workers are not its children: not counted)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, Done(p.returncode, out.read(), err.read(), ru.ru_utime + ru.ru_stime)


TRASH = os.path.join(WORK, "trash")
DELETE = False  # --delete: clear caches by deleting them right before each run


def clear_caches(tree):
    """Remove every __pycache__ from `tree` before a cold run.

    By default they are moved into bench/work/trash/ (deleted when the bench ends), not
    deleted. This machine's ext4 runs without a journal, and without a journal ext4 will not
    reuse an inode deleted in the last 60 seconds (`recently_deleted()` in fs/ext4/ialloc.c):
    every file created after a big delete scans past all the freed inodes, a cost that grows
    with the square of the files deleted. A real cold compile (a fresh checkout, a container
    build) does not follow thousands of deletions, and journaled ext4, xfs, btrfs and overlayfs
    never pay it, so by default the bench keeps it out of both tools' times. `--delete` puts
    it back (both tools pay it equally)."""
    if not DELETE:
        os.makedirs(TRASH, exist_ok=True)
        bin_ = tempfile.mkdtemp(dir=TRASH)
    n = 0
    for root, dirs, _ in os.walk(tree):
        if "__pycache__" in dirs:
            src = os.path.join(root, "__pycache__")
            if DELETE:
                shutil.rmtree(src)
            else:
                os.rename(src, os.path.join(bin_, str(n)))
                n += 1
            dirs.remove("__pycache__")
    # Settle the deletions before the timed run, so that neither tool pays for the other's
    # pending writeback.
    subprocess.call(["sync"])


def empty_trash():
    shutil.rmtree(TRASH, ignore_errors=True)


def count(tree, suffix):
    n = 0
    for _, _, files in os.walk(tree):
        n += sum(1 for f in files if f.endswith(suffix))
    return n


def pyc_binary():
    exe = os.path.join(ROOT, "target", "release", "pyc")
    sh(["cargo", "build", "--release", "--bin", "pyc", "-q"], cwd=ROOT)
    return exe


def setup(py):
    venv = os.path.join(WORK, "venv")
    if not os.path.exists(os.path.join(venv, "bin", "uv")):
        sh([py, "-m", "venv", venv])
        sh([os.path.join(venv, "bin", "pip"), "install", "-q"] + PACKAGES + ["uv"])
    site = os.path.join(venv, "lib", "python3.12", "site-packages")
    tree = os.path.join(WORK, "tree")
    if not os.path.isdir(tree):
        stdlib = subprocess.check_output([py, "-c", "import os; print(os.path.dirname(os.__file__))"]).decode().strip()
        ignore = shutil.ignore_patterns("__pycache__", "site-packages", "*.pyc")
        shutil.copytree(stdlib, os.path.join(tree, "stdlib"), ignore=ignore, symlinks=True)
        shutil.copytree(site, os.path.join(tree, "site-packages"), ignore=ignore, symlinks=True)
    return venv, site, tree


def median(xs):
    return statistics.median(xs)


CPU = {}
TIMES = {}  # name -> wall time of each round, in round order


def paired(anchor, ours):
    """The median of the per-round ratios anchor/ours: the runs of one round are back to back,
    so a host that slows down for a while slows both."""
    return median([a / o for a, o in zip(TIMES[anchor], TIMES[ours]) if o > 0])


def race(label, runs, rounds, prepare):
    """runs: {name: cmd}; returns {name: median seconds}. Rounds alternate the tools. The median
    CPU time (user+sys, process and reaped children) is kept in CPU[name]."""
    times = {name: [] for name in runs}
    cpus = {name: [] for name in runs}
    for _ in range(rounds):
        for name, cmd in runs.items():
            prepare()
            t, p = timed(cmd)
            times[name].append(t)
            cpus[name].append(p.cpu)
            if p.returncode not in (0, 1):
                print("  %s failed (%d): %s" % (name, p.returncode, p.stderr.decode()[-500:]))
    out = {name: median(ts) for name, ts in times.items()}
    TIMES.update(times)
    print("\n## %s" % label)
    for name, t in out.items():
        CPU[name] = median(cpus[name])
        print("  %-46s %7.2f s wall, %7.2f s cpu   (wall runs: %s)" % (
            name, t, CPU[name], ", ".join("%.2f" % x for x in times[name])))
    return out


def ratio(anchor, ours):
    return anchor / ours if ours > 0 else float("inf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--copies", type=int, default=0, help="copies for the no-op tree (default: ~100k sources)")
    ap.add_argument("--skip-uv", action="store_true")
    ap.add_argument("--only", choices=["cold", "uv", "noop"], help="run one part")
    ap.add_argument("--delete", action="store_true",
                    help="clear caches by deleting them just before each cold run (see clear_caches)")
    args = ap.parse_args()
    global DELETE
    DELETE = args.delete
    if os.path.isdir(TRASH):
        empty_trash()
        print("emptied the trash of an earlier run; waiting 65 s for ext4 to reuse its inodes")
        time.sleep(65)
    try:
        run(args)
    finally:
        empty_trash()


WARM = "pyc compile -q --code-cache (warm)"
FLOOR = "floor: bare compile(), %d processes, no files"
FLOOR_W = "floor: bare compile(), %d processes, writing pycs"


def run(args):
    os.makedirs(WORK, exist_ok=True)
    pys = pyenv_interpreters()
    if "3.12" not in pys:
        raise SystemExit("needs pyenv's CPython 3.12")
    py = pys["3.12"].path
    pyc = pyc_binary()
    venv, site, tree = setup(py)
    cores = os.cpu_count()
    print("CPython %s, %d cores, pyc %s, load average %s" % (
        pys["3.12"].full, cores, pyc, " ".join("%.1f" % x for x in os.getloadavg())))

    # Files that do not compile (lib2to3/test data) would make every run start an interpreter;
    # they are removed from the tree once, so both tools see the same clean tree.
    clear_caches(tree)
    p = subprocess.run([pyc, "compile", "--python", py, "--format", "json", tree],
                       env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for f in json.loads(p.stdout)["failures"]:
        if os.path.exists(f["source"]):
            os.remove(f["source"])
    sources = count(tree, ".py")
    print("tree: %s, %d sources (stdlib + %s and dependencies)" % (tree, sources, ", ".join(PACKAGES)))

    only = lambda part: args.only in (None, part)
    if only("cold"):
        # The code cache (--code-cache), filled once: a cold tree (no pycs) whose sources pyc
        # compiled before, at the same paths (a fresh checkout, a new container layer).
        codes = os.path.join(WORK, "code-cache")
        shutil.rmtree(codes, ignore_errors=True)
        clear_caches(tree)
        sh([pyc, "compile", "-q", "--python", py, "--code-cache", codes, tree], env=ENV)
        cold = race(
            "cold compile, stdlib + packages (%d sources)" % sources,
            {
                "python -m compileall -q -j0": [py, "-m", "compileall", "-q", "-j0", tree],
                "pyc compile -q": [pyc, "compile", "-q", "--python", py, tree],
                WARM: [pyc, "compile", "-q", "--python", py, "--code-cache", codes, tree],
                # What any tool using the real compiler pays: bench/compile_floor.py.
                FLOOR % cores: [py, os.path.join(HERE, "compile_floor.py"), tree, str(cores)],
                FLOOR_W % cores:
                    [py, os.path.join(HERE, "compile_floor.py"), "--write", tree, str(cores)],
            },
            args.rounds,
            lambda: clear_caches(tree),
        )
        a, o = cold["python -m compileall -q -j0"], cold["pyc compile -q"]
        f, fw = cold[FLOOR % cores], cold[FLOOR_W % cores]
        print("  ratio compileall/pyc: %.2fx of the medians, %.2fx median of the rounds' ratios "
              "(goal >= 1.3x)" % (
                  ratio(a, o), paired("python -m compileall -q -j0", "pyc compile -q")))
        print("  with a warm code cache: compileall/pyc %.2fx (no source compiled)" % (
            ratio(a, cold[WARM])))
        print("  above the floor: compileall +%.2f s, pyc +%.2f s; best possible ratio on this "
              "host: %.2fx without files, %.2fx writing them (median of the rounds' ratios "
              "%.2fx)" % (a - f, o - f, ratio(a, f), ratio(a, fw),
                          paired("python -m compileall -q -j0", FLOOR_W % cores)))

    if not args.skip_uv and only("uv"):
        uv = os.path.join(venv, "bin", "uv")
        vpy = os.path.join(venv, "bin", "python")
        # Every distribution in the venv, so uv (which compiles what it installed) compiles the
        # same files as the others.
        pkgs = PACKAGES + ["uv", "pip"]
        base = [uv, "pip", "install", "--python", vpy, "--reinstall"] + pkgs
        sh(base + ["--no-compile"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site_sources = count(site, ".py")
        res = race(
            "site-packages only (%d sources): uv's compile step isolated by difference" % site_sources,
            {
                "uv pip install --reinstall --no-compile": base + ["--no-compile"],
                "uv pip install --reinstall --compile-bytecode": base + ["--compile-bytecode"],
                "python -m compileall -q -j0": [py, "-m", "compileall", "-q", "-j0", site],
                "pyc compile -q": [pyc, "compile", "-q", "--python", py, site],
            },
            args.rounds,
            lambda: clear_caches(site),
        )
        clear_caches(site)
        sh(base + ["--compile-bytecode"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uv_pycs = count(site, ".pyc")
        clear_caches(site)
        sh([pyc, "compile", "-q", "--python", py, site], env=ENV)
        print("  pycs written: uv %d, pyc %d" % (uv_pycs, count(site, ".pyc")))
        uv_compile = res["uv pip install --reinstall --compile-bytecode"] - res["uv pip install --reinstall --no-compile"]
        o = res["pyc compile -q"]
        print("  uv compile step (difference): %.2f s" % uv_compile)
        print("  ratio uv/pyc: %.2fx; compileall/pyc: %.2fx" % (ratio(uv_compile, o), ratio(res["python -m compileall -q -j0"], o)))

    if not only("noop"):
        return
    # No-op on ~100k sources: compile once, then hard-link copies (mtimes are shared).
    big = os.path.join(WORK, "big")
    copies = args.copies or max(1, round(100000 / sources))
    stamp = os.path.join(big, ".copies")
    if not (os.path.exists(stamp) and open(stamp).read() == "%d %d" % (copies, sources)):
        shutil.rmtree(big, ignore_errors=True)
        os.makedirs(big)
        clear_caches(tree)
        sh([pyc, "compile", "-q", "--python", py, tree], env=ENV)
        for i in range(copies):
            sh(["cp", "-al", tree, os.path.join(big, "copy%03d" % i)])
        with open(stamp, "w") as f:
            f.write("%d %d" % (copies, sources))
    big_sources = count(big, ".py")
    noop = race(
        "no-op, %d sources (%d copies), everything up to date" % (big_sources, copies),
        {
            "python -m compileall -q -j1": [py, "-m", "compileall", "-q", "-j1", big],
            "python -m compileall -q -j0": [py, "-m", "compileall", "-q", "-j0", big],
            "pyc compile -q": [pyc, "compile", "-q", "--python", py, big],
        },
        args.rounds,
        lambda: None,
    )
    p = subprocess.run([pyc, "compile", "--python", py, "--format", "json", big], env=ENV,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rep = json.loads(p.stdout)
    best_anchor = min(noop["python -m compileall -q -j1"], noop["python -m compileall -q -j0"])
    print("  pyc: %d up to date, %d written, interpreters started: %d" % (
        rep["up_to_date"], rep["written"], rep["interpreters_started"]))
    print("  ratio (faster compileall)/pyc: %.1fx wall (goal >= 5x, no interpreter started)" % ratio(best_anchor, noop["pyc compile -q"]))
    print("  cpu: compileall -j1 %.2f s, pyc %.2f s: %.1fx" % (
        CPU["python -m compileall -q -j1"], CPU["pyc compile -q"],
        ratio(CPU["python -m compileall -q -j1"], CPU["pyc compile -q"])))
    print("  load average at the end: %s" % " ".join("%.1f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
