#!/usr/bin/env python3
"""Benchmark the code cache's remote tier (issue 19): a fresh CI runner, a tree at a new path,
a warm Redis or S3 store, against the cold compilers, in one run, CPython 3.12 from pyenv.

    python3 bench/code_cache.py                  # 3 copies of the 3.12 stdlib, 5 rounds, Redis and S3
    python3 bench/code_cache.py --copies 20 --rounds 3 --store s3
    python3 bench/code_cache.py --pyc-before OLD/pyc   # also an older pyc, same run

S3 is moto's server (target/tools, `scripts/tools`), which answers far slower than a real S3
endpoint on the same machine would but, like one, is a round trip per request: what reads
ahead (up to 32 in flight) save shows best there.

1. The tree: the sources (`.py` files) of the 3.12 standard library (tests, idlelib and
   site-packages left out) copied --copies times into WORK/trees/A, each copy's files ending
   with a comment naming the copy (so every source is distinct and the store holds one entry
   per source, as for a real tree), compiled there once by `pyc compile --code-cache
   redis://...` (this fills the store), then copied to WORK/trees/B: another path, the same
   sources, no pycs. 160 copies are 100,160 sources (1.7 GB with their pycs).

   WORK is bench/work/cc, or --work. Use a fresh file system (`--work /dev/shm/pyc-cc`, a
   tmpfs): each round deletes every `__pycache__` of B before a run, and on an ext4 file
   system without a journal (this machine's) the kernel then skips recently freed inodes
   one by one on every create for a minute (`recently_deleted` in ext4_create), which made
   half of the warm run's time in an earlier measurement; a CI runner's fresh checkout has
   no such history.
2. Fresh runner, per round (pycs removed before each run): `pyc compile -q --python 3.12 B
   --code-cache redis://...` (no local folder: everything comes from Redis and is moved to
   B's paths) versus `python3.12 -m compileall -q -j0 B` and `serc compile --python-version
   3.12 B` (PyPI `serc`, pinned, in bench/work/serc-venv), both cold. pyc's JSON confirms that
   it started no interpreter.
3. No-op: B compiled, then `pyc compile -q B` versus `compileall -q -j1 B`, nothing to do,
   and the floor of any exact check (bench/noop_floor.c, built with `cc` when there is one).

redis-server (Debian's package) is started on a free loopback port and stopped at the end.
Times are medians; ratios are anchor time / pyc time (above 1 = pyc faster).
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "cc")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from pythons import pyenv_interpreters  # noqa: E402

SERC = "serc==0.1.8"


def env():
    e = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "SOURCE_DATE_EPOCH",
              "PYTHONOPTIMIZE", "PYC_CODE_CACHE"):
        e.pop(k, None)
    e["PYC_CACHE_DIR"] = os.path.join(WORK, "pyc-probes")
    return e


ENV = env()


def remove_pycs(tree):
    for d, subdirs, _ in os.walk(tree):
        if "__pycache__" in subdirs:
            shutil.rmtree(os.path.join(d, "__pycache__"))
            subdirs.remove("__pycache__")


SKIP = {"__pycache__", "site-packages", "test", "tests", "idlelib"}


def make_tree(stdlib, dest, copies):
    """The sources (only the `.py` files) of the standard library, `copies` times. Each copy's
    files end with a comment naming the copy, so every source is distinct, as in a real tree:
    the store holds one entry per source, none shared between copies."""
    n = 0
    for i in range(copies):
        for d, subdirs, files in os.walk(stdlib):
            subdirs[:] = sorted(s for s in subdirs if s not in SKIP)
            rel = os.path.relpath(d, stdlib)
            out = os.path.join(dest, f"copy{i}", rel)
            os.makedirs(out, exist_ok=True)
            for f in files:
                if not f.endswith(".py"):
                    continue
                with open(os.path.join(d, f), "rb") as src:
                    data = src.read()
                if data and not data.endswith(b"\n"):
                    data += b"\n"
                with open(os.path.join(out, f), "wb") as dst:
                    dst.write(data + b"# copy %d\n" % i)
                n += 1
    return n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def timed(cmd, **kw):
    start = time.perf_counter()
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pyc", help="the pyc binary (default target/release/pyc, else target/ci/pyc)")
    ap.add_argument("--pyc-before", help="another pyc binary, timed in the same rounds")
    ap.add_argument("--store", choices=["redis", "s3", "both"], default="both")
    ap.add_argument("--work", default=WORK,
                    help="where the trees go (default bench/work/cc); /dev/shm for a fresh "
                         "file system, see the docstring")
    args = ap.parse_args()
    # The release build if there is one, else the CI profile's (optimized, no LTO).
    pyc = args.pyc or next((p for p in (os.path.join(ROOT, "target", prof, "pyc")
                                        for prof in ("release", "ci")) if os.path.exists(p)), None)
    if not pyc:
        raise SystemExit("build pyc first: cargo build --release")
    pys = pyenv_interpreters()
    if "3.12" not in pys:
        raise SystemExit("needs pyenv's CPython 3.12")
    py = pys["3.12"].path
    stdlib = subprocess.check_output(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"], text=True).strip()

    os.makedirs(WORK, exist_ok=True)
    work = os.path.join(args.work, "trees")
    venv = os.path.join(WORK, "serc-venv")
    serc = os.path.join(venv, "bin", "serc")
    if not os.path.exists(serc):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", SERC], check=True)

    a, b = os.path.join(work, "A"), os.path.join(work, "B")
    for t in (a, b):
        shutil.rmtree(t, ignore_errors=True)
    n = make_tree(stdlib, a, args.copies)
    shutil.copytree(a, b, symlinks=True)

    servers = []
    try:
        stores = []
        if args.store in ("redis", "both"):
            port = free_port()
            servers.append(subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
            stores.append(("Redis", f"redis://127.0.0.1:{port}/0"))
        if args.store in ("s3", "both"):
            tools = subprocess.check_output([os.path.join(ROOT, "scripts", "tools")], text=True).strip()
            port = free_port()
            servers.append(subprocess.Popen(
                [os.path.join(tools, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
            ENV.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
            subprocess.run([os.path.join(tools, "python"), "-c",
                            "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:%d', "
                            "region_name='us-east-1', aws_access_key_id='bench', "
                            "aws_secret_access_key='bench').create_bucket(Bucket='bench')" % port],
                           check=True)
            stores.append(("S3 (moto)", "s3://bench/cc"))
        print(f"tree: {n} sources ({args.copies} copies of the 3.12 stdlib)")
        pycs = [("pyc", pyc)] + ([("pyc before", args.pyc_before)] if args.pyc_before else [])
        # Each binary fills the store itself: an older one may keep another entry format.
        for name, url in stores:
            for label, exe in pycs:
                remove_pycs(a)
                fill, _ = timed([exe, "compile", "-q", "--python", py, a, "--code-cache", url])
                print(f"{label} filling {name} from A took {fill:.2f}s")

        rows = {f"{label}, warm {name}": [] for name, _ in stores for label, _ in pycs}
        rows.update({"compileall -j0, cold": [], "serc, cold": []})
        for r in range(args.rounds):
            for name, url in stores:
                for label, exe in pycs:
                    remove_pycs(b)
                    t, p = timed([exe, "compile", "--format", "json", "--python", py, b,
                                  "--code-cache", url])
                    d = json.loads(p.stdout)
                    assert d["interpreters_started"] == 0, d["interpreters_started"]
                    assert d["code_cache"]["remote_hits"] >= n - 300, d["code_cache"]
                    rows[f"{label}, warm {name}"].append(t)
            remove_pycs(b)
            rows["compileall -j0, cold"].append(timed([py, "-m", "compileall", "-q", "-j0", b])[0])
            remove_pycs(b)
            rows["serc, cold"].append(timed([serc, "compile", "--python-version", "3.12", b])[0])
        remove_pycs(b)
        print("\nfresh runner, tree at a new path, no local tier (median of %d; ratio = time / "
              "the first row's: above 1 = slower than it):" % args.rounds)
        for name, _ in stores:
            base = statistics.median(rows[f"pyc, warm {name}"])
            print(f" against pyc, warm {name}:")
            for k, v in rows.items():
                m = statistics.median(v)
                print(f"  {k:28} {m:7.3f}s  ratio {m / base:6.1f}x")

        subprocess.run([pyc, "compile", "-q", "--python", py, b], env=ENV)
        # The floor of an exact check (bench/noop_floor.c): list, stat each source, read each
        # pyc's header, on 2 threads, nothing else.
        floor = os.path.join(HERE, "work", "noop_floor")
        cc = shutil.which("cc")
        if cc:
            subprocess.run([cc, "-O2", "-pthread", "-o", floor,
                            os.path.join(HERE, "noop_floor.c")], check=True)
        noop = {"pyc no-op": [], "compileall -j1 no-op": []}
        if cc:
            noop["floor (noop_floor.c, 2 threads)"] = []
        for r in range(args.rounds):
            t, p = timed([pyc, "compile", "--format", "json", "--python", py, b])
            assert json.loads(p.stdout)["interpreters_started"] == 0
            noop["pyc no-op"].append(t)
            noop["compileall -j1 no-op"].append(timed([py, "-m", "compileall", "-q", "-j1", b])[0])
            if cc:
                t, p = timed([floor, b, "cpython-312", "2"])
                assert p.stdout.startswith(b"%d sources, %d headers" % (n, n)), p.stdout
                noop["floor (noop_floor.c, 2 threads)"].append(t)
        base = statistics.median(noop["pyc no-op"])
        print("\nno-op (median of %d):" % args.rounds)
        for k, v in noop.items():
            m = statistics.median(v)
            print(f"  {k:34} {m:7.3f}s  ratio {m / base:6.1f}x")
    finally:
        for srv in servers:
            srv.kill()
            srv.wait()


if __name__ == "__main__":
    main()
