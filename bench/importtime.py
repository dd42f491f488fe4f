#!/usr/bin/env python3
"""pyc importtime against the anchor importtime-waterfall (asottile, PyPI), in one run.

    python3 bench/importtime.py [--python PATH] [--module json] [--runs 6]

importtime-waterfall runs `python -X importtime -c 'import MODULE'` 6 times and keeps the
fastest; it does not control the cache, so on an installed interpreter it measures the warm
state (the stdlib's own pycs). pyc importtime measures both states with the cache isolated.
Printed, for the same interpreter and module, measured one after the other:
  * waterfall's best-of-6 cumulative time of MODULE, and pyc's warm minimum for it (the same
    statistic; they should agree within the noise), and pyc's cold minimum and median;
  * the ratio cold/warm, which no anchor reports;
  * how long each tool took to run.
importtime-waterfall is installed into a temporary venv with pip (from PyPI).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=None, help="interpreter (default: the newest pyenv 3.8+)")
    ap.add_argument("--module", default="json")
    ap.add_argument("--runs", type=int, default=6)
    a = ap.parse_args()
    py = a.python
    if py is None:
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        from pythons import pyenv_interpreters
        found = pyenv_interpreters()
        best = max((v for v in found if tuple(map(int, v.split("."))) >= (3, 8)),
                   key=lambda v: tuple(map(int, v.split("."))))
        py = found[best].path
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    subprocess.run(["cargo", "build", "-q", "--release", "--bin", "pyc"], cwd=ROOT, check=True)
    pyc = os.path.join(ROOT, "target", "release", "pyc")

    with tempfile.TemporaryDirectory() as tmp:
        venv = os.path.join(tmp, "venv")
        subprocess.run([py, "-m", "venv", venv], check=True, env=env)
        vpy = os.path.join(venv, "bin", "python")
        subprocess.run([vpy, "-m", "pip", "install", "-q", "importtime-waterfall==1.0.0"],
                       check=True, env=env)

        t0 = time.perf_counter()
        w = subprocess.run([vpy, "-m", "importtime_waterfall", a.module], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        t_waterfall = time.perf_counter() - t0
        # Its tree (--graph, the default) shows each module's self time in microseconds,
        # indented two spaces per level; MODULE's cumulative time is the sum over its subtree.
        text = w.stdout.decode()
        waterfall_us, inside = None, False
        for line in text.splitlines():
            m = re.match(r"^( *)(\S+) \((\d+)\)$", line)
            if not m:
                continue
            if not m.group(1):
                inside = m.group(2) == a.module
                if inside:
                    waterfall_us = 0
            if inside:
                waterfall_us += int(m.group(3))

        t0 = time.perf_counter()
        p = subprocess.run([pyc, "importtime", "--python", vpy, "-n", str(a.runs), "--format",
                            "json", "-c", "import %s" % a.module], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t_pyc = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(p.stderr.decode())
        r = json.loads(p.stdout)["reports"][0]
        mod = next(x for x in r["modules"] if x["name"] == a.module)

    print("interpreter %s, `import %s`" % (r["interpreter"]["version"], a.module))
    print("  importtime-waterfall best of 6 (warm, cache not controlled): %s"
          % ("%.1f ms" % (waterfall_us / 1000) if waterfall_us else "unparsed:\n" + text[:400]))
    print("  pyc warm  min %.1f ms, median %.1f ms" % (mod["warm_cumulative"]["min"] / 1000,
                                                      mod["warm_cumulative"]["median"] / 1000))
    print("  pyc cold  min %.1f ms, median %.1f ms" % (mod["cold_cumulative"]["min"] / 1000,
                                                      mod["cold_cumulative"]["median"] / 1000))
    if waterfall_us:
        print("  pyc warm min / waterfall best: %.2f" % (mod["warm_cumulative"]["min"] / waterfall_us))
    print("  cold/warm (medians, this import): %.2fx; whole process: %.2fx"
          % (mod["cold_cumulative"]["median"] / max(mod["warm_cumulative"]["median"], 1),
             r["cold_warm_ratio"]))
    print("  tool run time: waterfall %.2f s (6 runs), pyc %.2f s (%d cold + %d warm + 1 fill + probe)"
          % (t_waterfall, t_pyc, a.runs, a.runs))


if __name__ == "__main__":
    main()
