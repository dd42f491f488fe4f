#!/usr/bin/env python3
"""pyc's benchmark runner: pyc against an anchor, timed in the same run, ratios printed.

    bench/bench.py corpus [--files 100000]   # prepare bench/work/ (git-ignored)
    bench/bench.py run [NAME ...]            # run benchmarks (default: all), print ratios
    bench/bench.py list                      # the benchmarks there are

Corpus (bench/work/):
  pycs.txt        every .pyc of every pyenv CPython's standard library (one path a line)
  dl/             wheels fetched with `pip download --no-deps` (numpy, sympy, django, pandas)
  src/<name>/     the .py files of each standard library and each wheel
  corpus/         src/ replicated (hard links) to about --files .py files, in rep-N/ copies

Timing: hyperfine when installed (the script installs it with apt-get when it can), else an
own loop (warm-up, then N runs, min and median of wall time). Every benchmark runs pyc and its
anchor back to back in one invocation, so the ratio compares like with like on this machine.

Adding a benchmark (later issues): write a function that takes the Context and returns a
Bench(name, what, pyc_cmd, anchor_cmd, anchor_name), and decorate it with @benchmark.
Commands are shell strings run by `sh -c` from the repository root.
"""
import argparse
import glob
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
PYC = os.path.join(ROOT, "target", "release", "pyc")
PACKAGES = ["numpy", "sympy", "django", "pandas"]


class Bench:
    """`same_output`: the two commands must print exactly the same bytes (checked once)."""

    def __init__(self, name, what, pyc_cmd, anchor_cmd, anchor_name, same_output=False):
        self.name, self.what = name, what
        self.pyc_cmd, self.anchor_cmd, self.anchor_name = pyc_cmd, anchor_cmd, anchor_name
        self.same_output = same_output


BENCHMARKS = []


def benchmark(fn):
    BENCHMARKS.append(fn)
    return fn


def pyenv_root():
    try:
        return subprocess.check_output(["pyenv", "root"], text=True).strip()
    except Exception:
        return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def stdlib_dirs():
    """(version, path) of each pyenv CPython's standard library."""
    out = []
    for d in sorted(glob.glob(os.path.join(pyenv_root(), "versions", "*", "lib", "python*.*"))):
        name = os.path.basename(d)[len("python"):]
        if os.path.isdir(d) and name.replace(".", "").isdigit():
            out.append((name, d))
    return out


# --- corpus ---------------------------------------------------------------------------------

def stdlib_pycs():
    """Every pyc under each standard library, site-packages excluded."""
    found = []
    for _, d in stdlib_dirs():
        for root, dirs, files in os.walk(d):
            dirs[:] = [x for x in dirs if x != "site-packages"]
            found.extend(os.path.join(root, f) for f in files if f.endswith(".pyc"))
    return sorted(found)


def copy_py_tree(src, dst):
    n = 0
    for root, dirs, files in os.walk(src):
        dirs[:] = [x for x in dirs if x not in ("site-packages", "__pycache__")]
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(root, f), src)
                target = os.path.join(dst, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(os.path.join(root, f), target)
                n += 1
    return n


def download_packages(dl):
    """pip download --no-deps of each package's wheel; whichever exist (offline: none)."""
    os.makedirs(dl, exist_ok=True)
    for pkg in PACKAGES:
        if glob.glob(os.path.join(dl, pkg + "-*")):
            continue
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                            ":all:", "-q", "-d", dl, pkg])
        if r.returncode != 0:
            print("  (could not download %s; continuing without it)" % pkg)


def unpack_wheels(dl, src):
    n = 0
    for whl in sorted(glob.glob(os.path.join(dl, "*.whl"))):
        name = os.path.basename(whl).split("-")[0].lower()
        dst = os.path.join(src, "pypi-" + name)
        if os.path.isdir(dst):
            continue
        with zipfile.ZipFile(whl) as z:
            for member in z.namelist():
                if member.endswith(".py") and ".." not in member.split("/"):
                    z.extract(member, dst)
                    n += 1
    return n


def replicate(src, corpus, want):
    """Hard-link src/ into corpus/rep-N/ until about `want` .py files exist."""
    files = []
    for root, _, names in os.walk(src):
        files.extend(os.path.relpath(os.path.join(root, f), src) for f in names if f.endswith(".py"))
    if not files:
        return 0
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    total, rep = 0, 0
    while total < want:
        base = os.path.join(corpus, "rep-%d" % rep)
        for rel in files:
            if total >= want:
                break
            t = os.path.join(base, rel)
            os.makedirs(os.path.dirname(t), exist_ok=True)
            try:
                os.link(os.path.join(src, rel), t)
            except OSError:
                shutil.copy2(os.path.join(src, rel), t)
            total += 1
        rep += 1
    return total


def cmd_corpus(args):
    os.makedirs(WORK, exist_ok=True)
    pycs = stdlib_pycs()
    with open(os.path.join(WORK, "pycs.txt"), "w") as f:
        f.write("".join(p + "\n" for p in pycs))
    print("pycs.txt: %d standard-library pycs of %d versions" % (len(pycs), len(stdlib_dirs())))
    src = os.path.join(WORK, "src")
    for version, d in stdlib_dirs():
        dst = os.path.join(src, "stdlib-" + version)
        if not os.path.isdir(dst):
            print("src/stdlib-%s: %d .py files" % (version, copy_py_tree(d, dst)))
    if not args.no_download:
        download_packages(os.path.join(WORK, "dl"))
    print("unpacked %d .py files from wheels" % unpack_wheels(os.path.join(WORK, "dl"), src))
    corpus = os.path.join(WORK, "corpus")
    n = replicate(src, corpus, args.files)
    with open(os.path.join(WORK, "corpus.txt"), "w") as f:
        for root, _, names in os.walk(corpus):
            f.write("".join(os.path.join(root, x) + "\n" for x in sorted(names) if x.endswith(".py")))
    print("corpus/: %d .py files (listed in corpus.txt)" % n)


# --- timing ---------------------------------------------------------------------------------

def ensure_hyperfine():
    if shutil.which("hyperfine"):
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("installing hyperfine (apt-get) ...")
        subprocess.run(["apt-get", "install", "-y", "-qq", "hyperfine"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return bool(shutil.which("hyperfine"))


def time_hyperfine(cmds, runs):
    out = os.path.join(WORK, "hyperfine.json")
    argv = ["hyperfine", "--shell", "sh", "--warmup", "1", "--runs", str(runs),
            "--export-json", out, "--style", "none"] + cmds
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    with open(out) as f:
        res = json.load(f)["results"]
    return [(r["median"], r["user"] + r["system"]) for r in res]


def time_loop(cmds, runs):
    """(median wall seconds, mean CPU seconds (user + system) of the command and its children)."""
    import resource
    res = []
    for c in cmds:
        subprocess.run(c, shell=True, cwd=ROOT, stdout=subprocess.DEVNULL)  # warm-up
        ts = []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(c, shell=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            ts.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / runs
        res.append((statistics.median(ts), cpu))
    return res


def check_same_output(b):
    """Both sides must do the same work: compare their outputs once."""
    a = subprocess.run(b.pyc_cmd, shell=True, cwd=ROOT, capture_output=True)
    z = subprocess.run(b.anchor_cmd, shell=True, cwd=ROOT, capture_output=True)
    return a.returncode, z.returncode, a.stdout, z.stdout


class Context:
    def __init__(self):
        self.work = WORK
        self.pyc = PYC
        self.python = shutil.which("python3") or sys.executable

    def path(self, *parts):
        return os.path.join(WORK, *parts)


# --- benchmarks -----------------------------------------------------------------------------

@benchmark
def show_stdlib(ctx):
    """pyc show --format json over every standard-library pyc vs Python reading the same
    headers with struct.unpack in one process (both print one JSON object per file)."""
    lst = ctx.path("pycs.txt")
    anchor = os.path.join(HERE, "anchors", "show_headers.py")
    return Bench(
        "show-stdlib",
        "header of every stdlib pyc (%s files), JSON lines" % count_lines(lst),
        # xargs with large batches: a few pyc processes for the whole list.
        "xargs -s 1000000 -d '\\n' -a %s %s show --format json" % (shlex.quote(lst), shlex.quote(ctx.pyc)),
        "%s %s %s" % (shlex.quote(ctx.python), shlex.quote(anchor), shlex.quote(lst)),
        "python3 struct.unpack",
    )


@benchmark
def path_corpus(ctx):
    """pyc path --to-cache over every corpus source vs importlib.util.cache_from_source in one
    process of the python3 on PATH; pyc is asked for that same version, so the outputs must
    be identical."""
    lst = ctx.path("corpus.txt")
    anchor = os.path.join(HERE, "anchors", "cache_paths.py")
    version = subprocess.run([ctx.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    return Bench(
        "path-corpus",
        "cache_from_source of every corpus source (%s paths), CPython %s" % (count_lines(lst), version),
        "xargs -s 1000000 -d '\\n' -a %s %s path --python %s --to-cache" % (
            shlex.quote(lst), shlex.quote(ctx.pyc), version),
        "%s %s %s" % (shlex.quote(ctx.python), shlex.quote(anchor), shlex.quote(lst)),
        "importlib.util",
        same_output=True,
    )


def count_lines(p):
    try:
        with open(p) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def cmd_run(args):
    if not os.path.exists(os.path.join(WORK, "pycs.txt")):
        sys.exit("no corpus: run `bench/bench.py corpus` first")
    print("building pyc (release) ...")
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "pyc"], cwd=ROOT, check=True)
    ctx = Context()
    use_hf = not args.no_hyperfine and ensure_hyperfine()
    print("timing with %s, %d runs each\n" % ("hyperfine" if use_hf else "own loop", args.runs))
    print("load average before: %.1f on %d cores (wall times suffer under load; CPU times less)"
          % (os.getloadavg()[0], os.cpu_count() or 0))
    print("%-14s %-22s %9s %9s %7s %9s %9s %7s" % (
        "benchmark", "anchor", "pyc wall", "anch wall", "ratio", "pyc cpu", "anch cpu", "ratio"))
    for fn in BENCHMARKS:
        b = fn(ctx)
        if args.names and b.name not in args.names:
            continue
        rc_a, rc_z, out_a, out_z = check_same_output(b)
        if rc_a not in (0, 1) or rc_z != 0:
            print("%-16s skipped: pyc exit %s, anchor exit %s" % (b.name, rc_a, rc_z))
            continue
        if b.same_output and out_a != out_z:
            print("%-16s FAILED: pyc and the anchor print different answers" % b.name)
            continue
        if out_a.count(b"\n") != out_z.count(b"\n"):
            print("%-16s WARNING: pyc printed %d lines, the anchor %d" % (
                b.name, out_a.count(b"\n"), out_z.count(b"\n")))
        cmds = [b.pyc_cmd, b.anchor_cmd]
        (pw, pc), (aw, ac) = (time_hyperfine if use_hf else time_loop)(cmds, args.runs)
        print("%-14s %-22s %8.3fs %8.3fs %6.1fx %8.3fs %8.3fs %6.1fx" % (
            b.name, b.anchor_name, pw, aw, aw / pw, pc, ac, ac / max(pc, 1e-9)))
        print("  %s" % b.what)
    print("\nwall: median of the runs; cpu: mean user+system time; ratio = anchor / pyc "
          "(above 1: pyc is faster)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("--files", type=int, default=100000)
    c.add_argument("--no-download", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("names", nargs="*")
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--no-hyperfine", action="store_true")
    sub.add_parser("list")
    args = ap.parse_args()
    if args.cmd == "corpus":
        cmd_corpus(args)
    elif args.cmd == "run":
        cmd_run(args)
    else:
        ctx = Context()
        for fn in BENCHMARKS:
            b = fn(ctx)
            print("%-16s %s (anchor: %s)" % (b.name, b.what, b.anchor_name))


if __name__ == "__main__":
    main()
