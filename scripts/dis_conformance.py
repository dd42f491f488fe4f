#!/usr/bin/env python3
"""Compare `pyc dis` with each CPython's own `dis.dis` over its whole standard library.

For every interpreter found by scripts/pythons.py (2.7, 3.6-3.13 from pyenv; 3.14 and 3.15
under pyodide, whose stdlib is python_stdlib.zip): compile EVERY .py file of its standard
library with that interpreter (files it refuses are counted as skipped), write the pyc, run
that version's own `dis.dis` on the code loaded back from the pyc (PYTHONHASHSEED=0), then run
one `pyc dis` over all the pycs of the version and compare file by file, after replacing
code-object addresses and sorting frozenset elements on both sides. 2.7 and 3.6, whose
`dis.dis(code)` does not descend into nested code objects, are driven the 3.7 way: each nested
code object is printed after a "Disassembly of %r:" header with the version's own
`dis.disassemble`.

    python3 scripts/dis_conformance.py                     # every version
    python3 scripts/dis_conformance.py 3.12 3.13           # some
    python3 scripts/dis_conformance.py --limit 50 3.12     # first 50 files only
    options: --work DIR (default /tmp/pyc-dis-conformance), --pyc PATH (default
             target/release/pyc), --keep (reuse the reference outputs of an earlier run)

Prints a table of identical/total per version; differing files are listed in
WORK/<version>/DIFFS.txt with the first differing lines.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from pythons import interpreters  # noqa: E402

# Runs inside the target interpreter (Python 2.7 syntax too).
DRIVER = r'''
import sys, os, marshal, dis, zlib, traceback
PY = sys.version_info[:2]
if PY >= (3, 0):
    import io, importlib.util
    MAGIC = importlib.util.MAGIC_NUMBER
else:
    import imp, StringIO
    MAGIC = imp.get_magic()

def header(size):
    import struct
    if PY < (3, 3):
        return MAGIC + struct.pack("<I", 0)
    if PY < (3, 7):
        return MAGIC + struct.pack("<II", 0, size & 0xffffffff)
    return MAGIC + struct.pack("<III", 0, 0, size & 0xffffffff)

def dis_text(co):
    if PY >= (3, 7):
        buf = io.StringIO()
        dis.dis(co, file=buf)
        return buf.getvalue()
    if PY >= (3, 0):
        buf = io.StringIO()
        def rec(c):
            dis.disassemble(c, file=buf)
            for x in c.co_consts:
                if hasattr(x, "co_code"):
                    buf.write("\n")
                    buf.write("Disassembly of %r:\n" % (x,))
                    rec(x)
        rec(co)
        return buf.getvalue()
    buf = StringIO.StringIO()
    old = sys.stdout
    sys.stdout = buf
    try:
        def rec(c):
            dis.disassemble(c)
            for x in c.co_consts:
                if hasattr(x, "co_code"):
                    sys.stdout.write("\n")
                    sys.stdout.write("Disassembly of %r:\n" % (x,))
                    rec(x)
        rec(co)
    finally:
        sys.stdout = old
    return buf.getvalue()

def run(jobs, read, out):
    for rel, path in jobs:
        base = os.path.join(out, rel)
        d = os.path.dirname(base)
        if not os.path.isdir(d):
            os.makedirs(d)
        try:
            src = read(rel)
            co = compile(src, path, "exec", 0, True)
            data = marshal.dumps(co)
        except Exception as e:
            with open(base + ".skip", "wb") as f:
                f.write(("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace"))
            continue
        with open(base + ".pyc", "wb") as f:
            f.write(header(len(src)) + data)
        try:
            text = dis_text(marshal.loads(data))
            if not isinstance(text, bytes):
                text = text.encode("utf-8", "surrogateescape")
            with open(base + ".dis.z", "wb") as f:
                f.write(zlib.compress(text))
        except Exception:
            with open(base + ".err", "wb") as f:
                f.write(traceback.format_exc().encode("utf-8", "replace"))
'''

PYENV_MAIN = DRIVER + r'''
def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()
ROOT, OUT, LIST = sys.argv[1], sys.argv[2], sys.argv[3]
with open(LIST) as f:
    rels = [l.rstrip("\n") for l in f if l.strip()]
run([(r, os.path.join(ROOT, r)) for r in rels], read, OUT)
'''

PYODIDE_MAIN = DRIVER + r'''
import zipfile, glob
ZIP = glob.glob("/lib/python3*.zip")[0]
z = zipfile.ZipFile(ZIP)
STD = "/lib/python%d.%d" % PY
def read(rel):
    return z.read(rel)
run([(r, STD + "/" + r) for r in RELS], read, "/work/out")
'''

ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def sort_frozensets(text):
    """Sort the elements of every frozenset({...}) / frozenset([...]) repr."""
    out = []
    i = 0
    while True:
        j = text.find("frozenset(", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        k = j + len("frozenset(")
        out.append(text[i:k])
        if k >= len(text) or text[k] not in "{[":
            i = k
            continue
        close = "}" if text[k] == "{" else "]"
        depth, m, quote = 0, k, None
        while m < len(text):
            c = text[m]
            if quote:
                if c == "\\":
                    m += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    break
            elif c == "\n":
                break
            m += 1
        if m >= len(text) or text[m] != close:
            i = k
            continue
        inner = text[k + 1:m]
        parts, depth, start, quote, p = [], 0, 0, None, 0
        while p < len(inner):
            c = inner[p]
            if quote:
                if c == "\\":
                    p += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "," and depth == 0:
                parts.append(inner[start:p].strip())
                start = p + 1
            p += 1
        parts.append(inner[start:].strip())
        parts = [sort_frozensets(x) for x in parts if x]
        out.append(text[k] + ", ".join(sorted(parts)) + close)
        i = m + 1


def normalise(text):
    return sort_frozensets(ADDR.sub(" at 0xADDR", text))


def stdlib_files(py):
    """(root, [relative .py paths]) of an interpreter's standard library."""
    if py.kind == "pyodide":
        pkg = {"3.14": "pyodide314", "3.15": "pyodide315"}[py.version]
        z = zipfile.ZipFile(os.path.join(HERE, "node", "node_modules", pkg, "python_stdlib.zip"))
        return None, sorted(n for n in z.namelist() if n.endswith(".py"))
    out = subprocess.check_output([py.path, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
    root = out.decode().strip()
    rels = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("site-packages", "__pycache__"))
        for n in sorted(names):
            if n.endswith(".py"):
                rels.append(os.path.relpath(os.path.join(d, n), root))
    return root, rels


def make_reference(py, root, rels, out):
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONHASHSEED"] = "0"
    os.makedirs(out, exist_ok=True)
    if py.kind != "pyodide":
        lst = os.path.join(out, "FILES.txt")
        with open(lst, "w") as f:
            f.write("\n".join(rels) + "\n")
        drv = os.path.join(out, "driver.py")
        with open(drv, "w") as f:
            f.write(PYENV_MAIN)
        subprocess.run([py.path, drv, root, out, lst], env=env, check=True)
        return
    batch = 120
    for s in range(0, len(rels), batch):
        part = rels[s:s + batch]
        code = "RELS = %r\n" % (part,) + PYODIDE_MAIN
        r = py.run(code, collect=True)
        if r.error:
            print("  pyodide batch %d: %s %s" % (s, r.error, r.stderr[-500:]), file=sys.stderr)
        for name, data in r.files.items():
            if not name.startswith("out/"):
                continue
            p = os.path.join(out, name[4:])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)


HEADER = re.compile(r"^==> (.*) <==$", re.M)


def run_pyc(pyc, files):
    """One `pyc dis` run over all files; returns {path: text}."""
    p = subprocess.run([pyc, "dis", "--"] + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode("utf-8", "surrogateescape")
    res = {}
    heads = list(HEADER.finditer(out))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(out)
        chunk = out[m.end() + 1:end]
        if i + 1 < len(heads) and chunk.endswith("\n"):
            chunk = chunk[:-1]
        res[m.group(1)] = chunk
    return res, p.stderr.decode("utf-8", "replace")


def first_diff(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<end>"
        y = bl[i] if i < len(bl) else "<end>"
        if x != y:
            return i + 1, x, y
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("versions", nargs="*")
    ap.add_argument("--work", default="/tmp/pyc-dis-conformance")
    ap.add_argument("--pyc", default=os.path.join(ROOT, "target", "release", "pyc"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reference-only", action="store_true")
    args = ap.parse_args()
    rows = []
    for py in interpreters():
        if args.versions and py.version not in args.versions:
            continue
        if py.version != "2.7" and tuple(map(int, py.version.split("."))) < (3, 6):
            continue
        out = os.path.join(args.work, py.version)
        root, rels = stdlib_files(py)
        if args.limit:
            rels = rels[:args.limit]
        if not (args.keep and os.path.isdir(out)):
            if os.path.isdir(out):
                subprocess.run(["rm", "-rf", out], check=True)
            print("%s: compiling and disassembling %d files with %s" % (py.version, len(rels), py.full),
                  file=sys.stderr)
            make_reference(py, root, rels, out)
        if args.reference_only:
            continue
        pycs, skipped, errors = [], 0, 0
        for rel in rels:
            base = os.path.join(out, rel)
            if os.path.exists(base + ".skip"):
                skipped += 1
            elif os.path.exists(base + ".err"):
                errors += 1
            elif os.path.exists(base + ".pyc") and os.path.exists(base + ".dis.z"):
                pycs.append(rel)
        got, stderr = run_pyc(args.pyc, [os.path.join(out, r + ".pyc") for r in pycs])
        same, diffs = 0, []
        for rel in pycs:
            with open(os.path.join(out, rel + ".dis.z"), "rb") as f:
                want = zlib.decompress(f.read()).decode("utf-8", "surrogateescape")
            have = got.get(os.path.join(out, rel + ".pyc"))
            if have is not None and normalise(want) == normalise(have):
                same += 1
            else:
                d = first_diff(normalise(want), normalise(have or "<no output>"))
                diffs.append((rel, d))
        with open(os.path.join(out, "DIFFS.txt"), "w") as f:
            for rel, d in diffs:
                f.write("%s\n" % rel)
                if d:
                    f.write("  line %d\n  dis: %r\n  pyc: %r\n" % d)
            if stderr:
                f.write("\n-- pyc stderr --\n" + stderr)
        rows.append((py.version, py.full, len(rels), skipped, errors, len(pycs), same))
        print("%s: %d/%d identical" % (py.version, same, len(pycs)), file=sys.stderr)
    print("| version | interpreter | .py files | not accepted | dis failed | compared | identical |")
    print("|---|---|---|---|---|---|---|")
    for v, full, n, sk, er, comp, same in rows:
        pct = 100.0 * same / comp if comp else 0.0
        print("| %s | %s | %d | %d | %d | %d | %d (%.2f%%) |" % (v, full, n, sk, er, comp, same, pct))


if __name__ == "__main__":
    main()
