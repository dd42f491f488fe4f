#!/usr/bin/env python3
"""Peak memory on hostile input (issue 16), pyc against an anchor in the same run.

  status    pyc status TREE --python 3.12 (summary, -O 0 and -O 0,1,2) and --format jsonl, on
            trees of N empty sources with no caches (every verdict `missing`), N = 30,000 and
            300,000 (folders of 100). Anchor: bench/status_byhand.py (importlib's check by
            hand in CPython 3.12), which keeps only counts.
  show-json pyc show --code --format json on the amplification files of
            crates/pyc-testutil/src/hostile.rs (`wide_refs`: one 100,000-int tuple referenced
            100,000 times, 1 MB; `fat_refs`), written by `cargo run -p pyc-testutil --example
            hostile`. Anchor: CPython 3.12's marshal.loads of the same file (it shares the
            references; the JSON view expands them up to its byte cap). Output bytes too.

Peak memory is GNU time's maximum resident set size (`time` package), in MiB.

    python3 bench/hostile_memory.py [--pyc target/release/pyc] [--sizes 30000,300000]
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.environ.get("PYC_BENCH_DIR", "/tmp/pyc-bench-hostile")


def pyenv_python(minor="3.12"):
    root = subprocess.check_output(["pyenv", "root"]).decode().strip()
    for name in sorted(os.listdir(os.path.join(root, "versions"))):
        if name.startswith(minor + "."):
            return os.path.join(root, "versions", name, "bin", "python")
    sys.exit("no pyenv CPython %s" % minor)


def peak(cmd, env=None):
    """(peak RSS MiB, stdout bytes, exit code) of one run, from GNU time's %M: a child's
    ru_maxrss counts the memory of the process it was forked from (this Python), so the
    measuring parent must be small."""
    r, w = os.pipe()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.PIPE,
                         stderr=w, env=env)
    os.close(w)
    n = 0
    while True:
        b = p.stdout.read(1 << 16)
        if not b:
            break
        n += len(b)
    err = b""
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        err += b
    os.close(r)
    p.wait()
    kib = int(err.decode().strip().splitlines()[-1])
    return kib / 1024.0, n, p.returncode


def tree(n):
    path = os.path.join(WORK, "missing-%d" % n)
    if os.path.isdir(path):
        return path
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for i in range(n):
        d = os.path.join(tmp, "pkg%05d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d)
        open(os.path.join(d, "module_%03d.py" % (i % 100)), "w").close()
    os.rename(tmp, path)
    return path


def hostile(kind, *args):
    out = os.path.join(WORK, "%s-%s.pyc" % (kind, "-".join(map(str, args))))
    if not os.path.exists(out):
        subprocess.check_call(["cargo", "run", "-q", "--profile", "ci", "-p", "pyc-testutil",
                               "--example", "hostile", "--", kind] + [str(a) for a in args] + [out],
                              cwd=ROOT)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyc", default=None)
    ap.add_argument("--sizes", default="30000,300000")
    a = ap.parse_args()
    pyc = a.pyc or next((os.path.join(ROOT, "target", p, "pyc") for p in ("release", "ci")
                         if os.path.exists(os.path.join(ROOT, "target", p, "pyc"))), None)
    if not pyc:
        sys.exit("build pyc first (cargo build --release)")
    py = pyenv_python()
    os.makedirs(WORK, exist_ok=True)
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    print("pyc: %s, %d cpus" % (pyc, os.cpu_count()))
    print("%-44s %10s %10s %8s" % ("status on N missing sources", "pyc MiB", "anchor MiB", "ratio"))
    for n in [int(x) for x in a.sizes.split(",")]:
        t = tree(n)
        anchor, _, _ = peak([py, os.path.join(HERE, "status_byhand.py"), t], env)
        for label, extra in (("summary", []), ("summary -O 0,1,2", ["-O", "0,1,2"]),
                             ("--format jsonl", ["--format", "jsonl"]),
                             ("--format jsonl -O 0,1,2", ["--format", "jsonl", "-O", "0,1,2"]),
                             ("--format json (sorted in memory)", ["--format", "json"])):
            m, _, code = peak([pyc, "status", t, "--python", "3.12", "--no-git"] + extra, env)
            assert code in (0, 1), (label, code)
            print("%-44s %10.1f %10.1f %7.2fx" % ("%d: %s" % (n, label), m, anchor, m / anchor))
    print()
    print("%-44s %10s %10s %8s %12s" % ("show --code --format json", "pyc MiB", "anchor MiB", "ratio", "JSON bytes"))
    for kind, args in (("wide", (100000, 100000)), ("fat", (16, 4096, 20000)), ("doubling", (60,))):
        f = hostile(kind, *args)
        m, n, code = peak([pyc, "show", "--code", "--format", "json", f])
        assert code == 0, (kind, code)
        anchor, _, _ = peak([py, "-c", "import marshal, sys; marshal.loads(open(sys.argv[1], 'rb').read()[16:])", f])
        print("%-44s %10.1f %10.1f %7.2fx %12d" % ("%s%s (%d bytes)" % (kind, args, os.path.getsize(f)), m, anchor, m / anchor, n))


if __name__ == "__main__":
    main()
