#!/usr/bin/env python3
"""Regenerate tests/fixtures/compile/<X.Y>.json: pycs written by each real interpreter's own
py_compile for the corpus in tests/fixtures/compile/corpus/.

For every interpreter (pyenv's 2.7, 3.6-3.13; 3.14 and 3.15 under pyodide) and every corpus file
its grammar accepts (the name's prefix says from which version: common_ = 2.7, py36_, py38_,
py310_, py312_), with the source mtime set to a fixed value:

* one process per file: py_compile at level 0 in timestamp mode first (a fresh process), then
  levels 1 and 2 (3.2+; 2.7 takes its level from -O, so only level 0 there) and the
  checked-hash and unchecked-hash modes at level 0 (3.7+);
* one "dirty" process per interpreter that first compiles every corpus file and keeps the code
  objects alive, then runs py_compile on each file again: what a long-lived worker writes.

The Rust tests check against these: the header pyc writes (mtime, size, SipHash source hash),
the freshness verdicts, that the canonical marshal form is idempotent on every version's
data, and that the dirty and the fresh pyc of a file have the same canonical form.

    python3 scripts/gen_compile.py
"""
import base64
import json
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pythons import interpreters  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "compile")
CORPUS = os.path.join(OUT, "corpus")
MTIME = 1700000000
MIN_VERSION = {"common": (2, 7), "py36": (3, 6), "py38": (3, 8), "py310": (3, 10), "py311": (3, 11), "py312": (3, 12)}

FRESH = r'''
import os, sys, py_compile
name = %(name)r
os.utime(name, (%(mtime)d, %(mtime)d))
try:
    os.makedirs('out')
except OSError:
    pass
jobs = [(0, 'timestamp')]
if sys.version_info >= (3, 2):
    jobs += [(1, 'timestamp'), (2, 'timestamp')]
if sys.version_info >= (3, 7):
    jobs += [(0, 'checked-hash'), (0, 'unchecked-hash')]
for level, mode in jobs:
    cfile = 'out/%%s.opt%%d.%%s.pyc' %% (name, level, mode)
    if sys.version_info >= (3, 7):
        m = getattr(py_compile.PycInvalidationMode, mode.replace('-', '_').upper())
        py_compile.compile(name, cfile=cfile, doraise=True, optimize=level, invalidation_mode=m)
    elif sys.version_info >= (3, 2):
        py_compile.compile(name, cfile=cfile, doraise=True, optimize=level)
    else:
        py_compile.compile(name, cfile=cfile, doraise=True)
'''

DIRTY = r'''
import os, sys, py_compile
names = %(names)r
for n in names:
    os.utime(n, (%(mtime)d, %(mtime)d))
try:
    os.makedirs('out')
except OSError:
    pass
keep = []
for n in names:
    with open(n, 'rb') as f:
        keep.append(compile(f.read(), n, 'exec'))
for n in names:
    if sys.version_info >= (3, 7):
        py_compile.compile(n, cfile='out/%%s.dirty.pyc' %% n, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    else:
        py_compile.compile(n, cfile='out/%%s.dirty.pyc' %% n, doraise=True)
'''


def corpus_for(version):
    v = tuple(int(x) for x in version.split("."))
    out = {}
    for name in sorted(os.listdir(CORPUS)):
        prefix = name.split("_")[0]
        if name.endswith(".py") and v >= MIN_VERSION[prefix]:
            with open(os.path.join(CORPUS, name), "rb") as f:
                out[name] = f.read()
    return out


def generate(py):
    files = corpus_for(py.version)
    result = {"version": py.version, "full": py.full, "mtime": MTIME, "files": {}}
    for name, data in files.items():
        r = py.run(FRESH % {"name": name, "mtime": MTIME}, files={name: data}, collect=True)
        if r.error:
            raise SystemExit("%s %s: %s\n%s" % (py.version, name, r.error, r.stderr))
        pycs = {}
        for rel, blob in r.files.items():
            if rel.startswith("out" + os.sep):
                key = rel[len("out/") + len(name) + 1:-len(".pyc")]  # opt0.timestamp
                pycs[key] = base64.b64encode(blob).decode()
        result["files"][name] = {"size": len(data), "pycs": pycs}
    r = py.run(DIRTY % {"names": sorted(files), "mtime": MTIME}, files=files, collect=True)
    if r.error:
        raise SystemExit("%s dirty: %s\n%s" % (py.version, r.error, r.stderr))
    for rel, blob in r.files.items():
        if rel.startswith("out" + os.sep) and rel.endswith(".dirty.pyc"):
            name = rel[len("out/"):-len(".dirty.pyc")]
            result["files"][name]["pycs"]["opt0.timestamp.dirty"] = base64.b64encode(blob).decode()
    path = os.path.join(OUT, "%s.json" % py.version)
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s (%s): %d files -> %s" % (py.version, py.full, len(files), os.path.relpath(path, ROOT)))


def main():
    threads = [threading.Thread(target=generate, args=(py,)) for py in interpreters()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
