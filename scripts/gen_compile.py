#!/usr/bin/env python3
"""Regenerate tests/fixtures/compile/<X.Y>.json: pycs written by each real interpreter's own
py_compile for the corpus in tests/fixtures/compile/corpus/.

For every interpreter (pyenv's 2.7, 3.6-3.13; 3.14 and 3.15 under pyodide) and every corpus file
its grammar accepts (the name's prefix says from which version: common_ = 2.7, py36_, py38_,
py310_, py311_, py312_), with the source mtime set to a fixed value:

* one process per file: py_compile at level 0 in timestamp mode first (a fresh process), then
  levels 1 and 2 (3.2+; 2.7 takes its level from -O, so only level 0 there) and the
  checked-hash and unchecked-hash modes at level 0 (3.7+);
* one "dirty" process per interpreter that first compiles every corpus file and keeps the code
  objects alive, then runs py_compile on each file again: what a long-lived worker writes.

* then the interpreter loads the fresh and the dirty pyc of each file with scripts/observe_code.py
  and records what differs observably (fields, interning, frozenset order): usually nothing.

Every process runs with PYTHONHASHSEED=0 (what pyc compile's workers use).

The Rust tests check against these: the header pyc writes (mtime, size, SipHash source hash),
the freshness verdicts, that the canonical marshal form is idempotent on every version's
data and reads back exactly as the original (interned flags, set element order), and that the
dirty and the fresh pyc of a file have the same canonical form exactly when the interpreter
observed no difference between them.

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


OBSERVE = r'''
import json, sys
sys.path.insert(0, '.')
import observe_code as o
names = %(names)r
codes = [(o.load(n + '.fresh.pyc'), o.load(n + '.dirty.pyc')) for n in names]  # load all first
out = {}
for n, (a, b) in zip(names, codes):
    out[n] = o.differences(o.describe(a), o.describe(b))
print(json.dumps(out))
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
    # What the interpreter itself observes of the fresh and the dirty pyc of each file (every
    # code field, interning, frozenset iteration order): whether a long-lived process writes
    # code that loads differently. The canonical form must keep exactly these differences.
    with open(os.path.join(HERE, "observe_code.py"), "rb") as f:
        obs_files = {"observe_code.py": f.read()}
    for name, entry in result["files"].items():
        for key, suffix in [("opt0.timestamp", "fresh"), ("opt0.timestamp.dirty", "dirty")]:
            obs_files["%s.%s.pyc" % (name, suffix)] = base64.b64decode(entry["pycs"][key])
    r = py.run(OBSERVE % {"names": sorted(files)}, files=obs_files)
    if r.error:
        raise SystemExit("%s observe: %s\n%s" % (py.version, r.error, r.stderr))
    for name, diff in json.loads(r.stdout.strip().splitlines()[-1]).items():
        result["files"][name]["dirty_observed_differences"] = diff
    path = os.path.join(OUT, "%s.json" % py.version)
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s (%s): %d files -> %s" % (py.version, py.full, len(files), os.path.relpath(path, ROOT)))


def main():
    failed = []

    def one(py):
        try:
            generate(py)
        except BaseException as e:  # a failed interpreter must fail the whole run
            failed.append("%s: %s" % (py.version, e))

    threads = [threading.Thread(target=one, args=(py,)) for py in interpreters()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise SystemExit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
