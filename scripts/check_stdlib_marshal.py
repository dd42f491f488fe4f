#!/usr/bin/env python3
"""Load every pyc of every installed interpreter's standard library with pyc's marshal reader
and report counts (a conformance run too slow for the default test suite).

For pyenv's interpreters the pycs their installation wrote are used (if an installation has
none, its stdlib is compiled first into a temporary directory). Pyodide's 3.14/3.15 ship
sources only: they are compiled inside pyodide (py_compile, every module of the stdlib zip)
and the pycs collected.

Each pyc must load; its canonical form (pyc_format::canonical_pyc) must be a fixed point and
read back to a tree of the same shape; every constant's repr is computed.

Run:  python3 scripts/check_stdlib_marshal.py      (builds the check_pycs example, release)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from pythons import interpreters  # noqa: E402

PYODIDE_COMPILE = r'''
import os, py_compile, sys, zipfile
src = [p for p in sys.path if p.endswith('.zip')][0]
z = zipfile.ZipFile(src)
n = 0
for name in z.namelist():
    if not name.endswith('.py'):
        continue
    out = '/work/pycs/' + name + 'c'
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = '/tmp/src/' + name
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, 'wb') as f:
        f.write(z.read(name))
    try:
        py_compile.compile(tmp, cfile=out, dfile=name, doraise=True)
        n += 1
    except py_compile.PyCompileError as e:
        print('skip', name, e)
print('compiled', n)
'''


def main():
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "pyc-format",
                           "--example", "check_pycs"], cwd=ROOT)
    exe = os.path.join(ROOT, "target", "release", "examples", "check_pycs")
    failed = False
    for py in interpreters():
        tmp = None
        if py.kind == "pyodide":
            r = py.run(PYODIDE_COMPILE, collect=True)
            if r.error:
                print(py.full, "compile failed:", r.error, r.stderr[-500:])
                failed = True
                continue
            tmp = tempfile.mkdtemp()
            for name, data in r.files.items():
                if name.endswith(".pyc"):
                    p = os.path.join(tmp, name)
                    os.makedirs(os.path.dirname(p), exist_ok=True)
                    with open(p, "wb") as f:
                        f.write(data)
            dirs = [tmp]
        else:
            stdlib = subprocess.check_output(
                [py.path, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]
            ).decode().strip()
            dirs = [stdlib]
            has = any(n.endswith(".pyc") for _, _, ns in os.walk(stdlib) for n in ns)
            if not has:
                tmp = tempfile.mkdtemp()
                shutil.copytree(stdlib, os.path.join(tmp, "lib"))
                subprocess.call([py.path, "-m", "compileall", "-q", os.path.join(tmp, "lib")])
                dirs = [os.path.join(tmp, "lib")]
        p = subprocess.run([exe] + dirs, stdout=subprocess.PIPE)
        report = json.loads(p.stdout.decode())
        print("%-40s %s" % (py.full, json.dumps(report)))
        failed |= p.returncode != 0
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
