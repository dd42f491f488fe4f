#!/usr/bin/env python3
"""Record what pyclean (PyPI `pyclean`, run from a virtualenv) removes from a test tree.

The tree has bytecode in every shape (`__pycache__` pycs of two tags, legacy pycs beside their
sources, a sourceless pyc, an interrupted-write temp file, an orphan) and the debris of every
pyclean topic at the top and nested levels, plus ignored folders (.git, .tox, venv,
node_modules) holding the same debris. For each invocation below, pyclean runs on a fresh copy
and the paths that disappeared are recorded in tests/fixtures/status/pyclean.json;
crates/pyc/tests/clean.rs builds the same tree and compares `pyc clean`.

    python3 scripts/gen_clean.py [--pyclean /path/to/venv/bin/pyclean]

Without --pyclean, a virtualenv is made in a temporary folder and `pyclean` installed into it
with pip.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "status", "pyclean.json")

# Relative paths; a trailing "/" is an empty folder.
TREE = [
    "pkg/__init__.py",
    "pkg/mod.py",
    "pkg/__pycache__/__init__.cpython-312.pyc",
    "pkg/__pycache__/mod.cpython-312.pyc",
    "pkg/__pycache__/mod.cpython-311.opt-1.pyc",
    "pkg/__pycache__/gone.cpython-312.pyc",
    "pkg/__pycache__/mod.cpython-312.pyc.140234567",
    "pkg/legacy.py",
    "pkg/legacy.pyc",
    "pkg/old.pyo",
    "deploy/only.pyc",
    "deploy/data.txt",
    "empty/",
    "nested/deeper/",
    ".cache/pip/x",
    ".complexipy_cache/a",
    ".coverage",
    "coverage.json",
    "coverage.lcov",
    "coverage.xml",
    "htmlcov/index.html",
    ".ipynb_checkpoints/n.ipynb",
    ".mypy_cache/3.12/a.json",
    "build/lib/pkg/mod.py",
    "build/bdist.linux-x86_64/x",
    "build/keep.txt",
    "dist/pkg-1.0.tar.gz",
    "sdist/x",
    "pkg.egg-info/PKG-INFO",
    ".pyright-app-cache-1/x",
    ".pyright-stubs-2/x",
    ".pyright/",
    ".pytest_cache/v/cache/lastfailed",
    "pytestdebug.log",
    ".ruff_cache/0.1/x",
    ".tox/py312/x",
    "sub/.pytest_cache/v/x",
    "sub/.mypy_cache/x",
    "sub/build/lib/y",
    "sub/dist/z",
    "sub/htmlcov/i.html",
    "sub/.coverage",
    "sub/__pycache__/orphan.cpython-312.pyc",
    ".git/objects/x.pyc",
    ".git/.pytest_cache/x",
    "venv/lib/site.pyc",
    "venv/.mypy_cache/x",
    "node_modules/m/.cache/x",
]

RUNS = {
    "bytecode": [],
    "debris": ["--debris"],
    "debris_all": ["--debris", "all"],
    "debris_mypy_tox": ["--debris", "mypy", "tox"],
    "folders": ["--folders"],
}


def make_tree(root):
    for rel in TREE:
        p = os.path.join(root, rel)
        if rel.endswith("/"):
            os.makedirs(p, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(b"x = 1\n" if rel.endswith(".py") else b"data\n")


def listing(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyclean")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyc-gen-clean-")
    try:
        exe = a.pyclean
        if not exe:
            venv = os.path.join(tmp, "venv")
            subprocess.check_call([sys.executable, "-m", "venv", venv])
            subprocess.check_call([os.path.join(venv, "bin", "pip"), "install", "-q", "pyclean"])
            exe = os.path.join(venv, "bin", "pyclean")
        version = subprocess.check_output([exe, "--version"]).decode().strip()
        runs = {}
        for name, extra in RUNS.items():
            work = os.path.join(tmp, "tree-" + name)
            make_tree(work)
            before = listing(work)
            r = subprocess.run([exe, work] + extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            after = listing(work)
            runs[name] = {"args": extra, "exit": r.returncode, "removed": sorted(before - after)}
            print(name, len(before - after), "removed", file=sys.stderr)
        doc = {"pyclean": version, "tree": TREE, "runs": runs}
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
