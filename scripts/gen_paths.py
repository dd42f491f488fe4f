#!/usr/bin/env python3
"""Regenerate tests/fixtures/paths/<X.Y>.json: every interpreter's own answers to
`importlib.util.cache_from_source` / `source_from_cache` for a varied set of paths.

3.6-3.15 (pyenv's 3.6-3.13, pyodide's 3.14/3.15): each answer, or the exception CPython raises
(type and message), for nested packages, dotted names, `__init__`, names without `.py`, names
with several or leading dots, absolute and relative paths, `./x`, `..`, doubled and trailing
slashes, every optimization level ('', 1, 2, '0', an alphanumeric word and non-alphanumeric
ones), and from 3.8 a `sys.pycache_prefix` (absolute, with a trailing slash, relative, `/`),
from two known working directories (`/tmp` and `/`, set with os.chdir before asking).

2.7 has no importlib.util: what it says is where `py_compile.compile(file)` actually writes
(run plainly, with -O and with -OO), and which source `inspect.getsourcefile` names for a
.pyc/.pyo module file.

Usage: scripts/gen_paths.py [X.Y ...]   (default: every interpreter found)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pythons import interpreters  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "paths")

SOURCES = [
    "m.py", "pkg/m.py", "a/b/c/mod.py", "pkg/__init__.py", "pkg/sub/__init__.py", "__init__.py",
    "name.with.dots.py", "pkg/a.b.c.py", "noext", "pkg/noext", "a.b", ".hidden.py", ".hidden",
    "pkg/.hidden.py", "pkg/.hidden", "..py", "...", "x.", "m.pyw", "m.PY", "m.py.py",
    "pkg.d/m.py", "pkg.d/noext", "/abs/pkg/m.py", "/m.py", "/noext", "./m.py", "./pkg/m.py",
    ".//m.py", "././m.py", "../up/m.py", "a/./b/m.py", "a/../b/m.py", "pkg/", "/abs/pkg/",
    "pkg//m.py", "//double/m.py", "/", ".", "", "weird name.py", "\u00fcn\u00efcode.py",
    "tab\tname.py", "quote'name.py", "back\\slash.py", "m.py/", "x",
]
OPTIMIZATIONS = ["", 1, 2, "0", 0, "opt", "a b", "-1"]

# With a pycache prefix: a smaller set of sources, from two working directories.
PREFIX_SOURCES = [
    "m.py", "pkg/m.py", "pkg/__init__.py", "noext", "name.with.dots.py", "/abs/pkg/m.py",
    "/m.py", "./m.py", "./pkg/m.py", ".//m.py", "././m.py", "../up/m.py", "a/./b/m.py",
    "pkg//m.py", "//double/m.py", "pkg/", "/abs/pkg/", "", ".", "/", "x",
]
PREFIXES = ["/pfx", "/pfx/", "relpfx", "/"]
CWDS = ["/tmp", "/"]

CACHES = [
    "__pycache__/m.cpython-312.pyc", "pkg/__pycache__/m.cpython-312.pyc",
    "pkg/__pycache__/m.cpython-312.opt-1.pyc", "pkg/__pycache__/m.cpython-312.opt-2.pyc",
    "/abs/pkg/__pycache__/m.cpython-36.pyc", "pkg/__pycache__/__init__.cpython-38.pyc",
    "pkg/__pycache__/m.anytag.pyc", "__pycache__/noextcpython-39.pyc",
    "pkg/__pycache__/name.with.dots.cpython-312.pyc", "pkg/__pycache__/m.cpython-312.opt-.pyc",
    "pkg/__pycache__/m.cpython-312.opt-a b.pyc", "pkg/__pycache__/m.cpython-312.foo.pyc",
    "pkg/__pycache__/m.cpython-312.opt-1.x.pyc", "pkg/__pycache__/.hidden.cpython-312.pyc",
    "pkg/__pycache__/m.pyc", "pkg/m.cpython-312.pyc", "m.pyc", "m.cpython-312.pyc",
    "pkg/__pycache__/", "__pycache__/m.cpython-312.pyo", "pkg/__pycache__//m.cpython-312.pyc",
    "pkg//__pycache__/m.cpython-312.pyc", "/__pycache__/m.cpython-312.pyc",
    "x/__pycache__/y/m.cpython-312.pyc",
    # Under a prefix (they are also asked without one).
    "/pfx/abs/pkg/m.cpython-312.pyc", "/pfx/tmp/m.cpython-312.opt-1.pyc", "/pfx/m.cpython-312.pyc",
    "relpfx/tmp/pkg/m.cpython-312.pyc", "/pfx/abs/__pycache__/m.cpython-312.pyc",
    "/pfxother/abs/m.cpython-312.pyc", "/pfx", "/pfx/",
]

CODE3 = r'''
import importlib.util as u, json, os, sys
SOURCES, OPTS, PSOURCES, PREFIXES, CWDS, CACHES = json.loads(%(data)r)
has_prefix = hasattr(sys, 'pycache_prefix')
out = []

def ask(entry, fn, *args, **kw):
    try:
        entry['result'] = fn(*args, **kw)
    except Exception as e:
        entry['error'] = '%%s: %%s' %% (type(e).__name__, e)
    out.append(entry)

os.chdir('/tmp')
for s in SOURCES:
    for o in OPTS:
        ask({'op': 'cache_from_source', 'path': s, 'optimization': o, 'prefix': None, 'cwd': '/tmp'},
            u.cache_from_source, s, optimization=o)
for c in CACHES:
    ask({'op': 'source_from_cache', 'path': c, 'prefix': None, 'cwd': '/tmp'}, u.source_from_cache, c)
if has_prefix:
    for cwd in CWDS:
        os.chdir(cwd)
        for p in PREFIXES:
            sys.pycache_prefix = p
            for s in PSOURCES:
                for o in ('', 1):
                    ask({'op': 'cache_from_source', 'path': s, 'optimization': o, 'prefix': p, 'cwd': cwd},
                        u.cache_from_source, s, optimization=o)
            if cwd == CWDS[0]:
                for c in CACHES:
                    ask({'op': 'source_from_cache', 'path': c, 'prefix': p, 'cwd': cwd}, u.source_from_cache, c)
    sys.pycache_prefix = None
print('JSON:' + json.dumps({'version': '%%d.%%d' %% sys.version_info[:2], 'full_version': sys.version.split()[0],
                            'cache_tag': sys.implementation.cache_tag, 'answers': out}))
'''

# Python 2.7: where py_compile writes, with -O and -OO too, and inspect.getsourcefile.
CODE27 = r'''
import json, os, sys, subprocess
SOURCES = %(sources)r
CACHES = %(caches)r
for s in SOURCES:
    d = os.path.dirname(s)
    if d and not os.path.isdir(d):
        os.makedirs(d)
    open(s, 'w').write('x = 1\n')
out = []
flags = {'': [], 1: ['-O'], 2: ['-OO']}
for o in ('', 1, 2):
    for s in SOURCES:
        before = set(os.listdir(os.path.dirname(s) or '.'))
        subprocess.check_call([sys.executable] + flags[o] + ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)', s])
        new = sorted(set(os.listdir(os.path.dirname(s) or '.')) - before)
        e = {'op': 'cache_from_source', 'path': s, 'optimization': o, 'prefix': None, 'cwd': None,
             'by': 'py_compile.compile'}
        if len(new) == 1:
            e['result'] = os.path.join(os.path.dirname(s), new[0])
            os.remove(e['result'])
        else:
            e['error'] = 'wrote %%r' %% (new,)
        out.append(e)
import inspect, types
for c in CACHES:
    m = types.ModuleType('m')
    m.__file__ = c
    e = {'op': 'source_from_cache', 'path': c, 'prefix': None, 'cwd': None, 'by': 'inspect.getsourcefile'}
    r = inspect.getsourcefile(m)
    if r is None:
        e['error'] = 'None'
    else:
        e['result'] = r
    out.append(e)
print('JSON:' + json.dumps({'version': '2.7', 'full_version': sys.version.split()[0], 'cache_tag': None, 'answers': out}))
'''
SOURCES27 = ["m.py", "pkg/m.py", "pkg/__init__.py", "name.with.dots.py", "noext", "pkg/noext",
             ".hidden.py", "m.pyw", "a.b"]
CACHES27 = ["m.pyc", "pkg/m.pyc", "pkg/m.pyo", "name.with.dots.pyc", "pkg/__init__.pyc", "m.pyo"]


def main(argv):
    want = set(argv)
    code3 = CODE3 % {"data": json.dumps([SOURCES, OPTIMIZATIONS, PREFIX_SOURCES, PREFIXES, CWDS, CACHES])}
    code27 = CODE27 % {"sources": SOURCES27, "caches": CACHES27}
    os.makedirs(OUT, exist_ok=True)
    failed = False
    for py in interpreters():
        if want and py.version not in want:
            continue
        r = py.run(code27 if py.version == "2.7" else code3)
        line = [l for l in r.stdout.splitlines() if l.startswith("JSON:")]
        if r.error or not line:
            print("%s: FAILED %s\n%s" % (py.version, r.error, r.stderr), file=sys.stderr)
            failed = True
            continue
        data = json.loads(line[0][5:])
        data["interpreter"] = py.full
        data["generated_by"] = "scripts/gen_paths.py"
        answers = data.pop("answers")
        with open(os.path.join(OUT, py.version + ".json"), "w", encoding="utf-8") as f:
            # One answer per line: small, and diffs between regenerations stay readable.
            head = json.dumps(data, sort_keys=True, ensure_ascii=False)
            f.write(head[:-1] + ', "answers": [\n')
            f.write(",\n".join(json.dumps(a, sort_keys=True, ensure_ascii=False) for a in answers))
            f.write("\n]}\n")
        data["answers"] = answers
        errors = sum(1 for a in data["answers"] if "error" in a)
        print("%-5s %-40s %4d answers, %3d raise" % (py.version, py.full, len(data["answers"]), errors))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
