#!/usr/bin/env python3
"""Golden fixtures for `pyc dis`: pycs and their real `dis` text, from every interpreter.

For each interpreter found by scripts/pythons.py (2.7, 3.6-3.13 pyenv; 3.14, 3.15 pyodide)
this compiles a set of small sources covering what `dis` shows (jumps, closures, exception
tables, comprehensions, EXTENDED_ARG, wide line numbers, constants of every type, pattern
matching, ...) plus two small modules of that interpreter's own standard library, writes
tests/fixtures/dis/<version>/<case>.pyc and the interpreter's own output:

    <case>.dis            dis.dis(code)  (2.7/3.6: nested code objects the 3.7 way)
    <case>.caches.dis     dis.dis(code, show_caches=True)      3.11+
    <case>.offsets.dis    dis.dis(code, show_offsets=True)     3.13+
    <case>.positions.dis  dis.dis(code, show_positions=True)   3.14+
    <case>.depth0.dis     dis.dis(code, depth=0)               3.7+

Sources a version refuses are skipped for that version. PYTHONHASHSEED=0.

    python3 scripts/gen_dis_goldens.py [X.Y ...]
"""
import base64
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pythons import interpreters  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "fixtures", "dis")

CASES = {
    # Runs on every version (2.7 syntax too).
    "basic": '''\
import os
def f(a, b=2, *args, **kw):
    total = 0
    for i in range(a):
        if i % 2 and kw.get('k') in (1, 2, 3):
            total += i * b
        elif i > 10:
            break
        else:
            continue
    try:
        return os.path.join(str(total), 'out')
    except (TypeError, ValueError) as e:
        return [x for x in args if x is not None], e
    finally:
        total = None

class C(object):
    """doc"""
    x = {1: 'a', 2: 'b'}
    def m(self):
        def inner(y):
            return self.x[y]
        return inner
    @staticmethod
    def s(*a):
        while a:
            a = a[1:]
        with open('f') as fh:
            fh.read()
        return lambda q: q + 1

g = (i * i for i in range(10) if i)
s = {i for i in 'abc'}
d = {k: v for k, v in zip('ab', 'cd')}
del d
assert s, 'message'
x = not (1 < 2 < 3)
y = -x if x is not None else ~1
z = x[1:2], x[::2]
u = u'caf\\xe9 \\u20ac \\U0001f600'
b = b'\\x00\\xff\\'"'
fl = (1.5, -0.0, 1e16, 1e-5, 2.5e-08, float('inf'), 1j, (1+2j), -3j, 10**20, 2**63, -1)
fs = x in frozenset([1, 2, 3])
nested = ((1, (2, 3)), [], None, True, False, Ellipsis)
print(u, b, fl, fs, nested)
''',
    # Python 3 syntax (3.6+).
    "py3": '''\
import asyncio
def outer(a, *, k=1, **kw) -> int:
    n = 0
    def mid():
        nonlocal n
        def inner():
            return n + a + k
        n += 1
        return inner
    return mid

async def co(xs):
    async with xs as c:
        async for v in c:
            await asyncio.sleep(v)
    return [v async for v in xs]

def gen():
    yield 1
    x = yield from range(3)
    return x

def fmt(name, v):
    return f"{name!r}: {v:>10} {v!s:{name}} {v!a}"

def star(*a, **k):
    return star(*a, 1, *a, **k, z=2), {**k, 'a': 1}, [*a, *a]

class K:
    y: int = 3
    def m(self):
        return super().m()
    def __init__(self):
        try:
            pass
        except Exception:
            raise ValueError('x') from None
''',
    "py38": '''\
def f(a, b, /, c, *, d):
    if (n := len(a)) > 10:
        return n
    return [y for x in b if (y := x)]
''',
    "py310": '''\
def m(cmd):
    match cmd:
        case [x, y, *rest]:
            return x
        case {"k": v, **others}:
            return v
        case Point(x=0, y=yy) | Point(x=yy):
            return yy
        case str() as s if s:
            return s
        case _:
            return None
''',
    "py311": '''\
def g():
    try:
        pass
    except* ValueError as e:
        r = e
    except* (TypeError, KeyError):
        r = None
    return r
''',
    "py312": '''\
type Alias[T] = list[T]
def ident[T: int](x: T) -> T:
    return x
class Box[T]:
    def get(self) -> T: ...
''',
    "py314": '''\
def t(name):
    return t"hello {name!r:>10}"
''',
}


def generated_cases():
    # Wide line numbers (>= 1000) and EXTENDED_ARG (more than 256 constants).
    consts = ", ".join("%d.5" % i for i in range(270))
    big = "\n" * 1000 + "def big():\n    return [" + consts + "]\n" + "\n" * 10 + "big()\n"
    return {"wide": big}


STDLIB = ["colorsys.py", "bisect.py"]

DRIVER = r'''
import sys, os, marshal, dis, json, base64
PY = sys.version_info[:2]
if PY >= (3, 0):
    import io, importlib.util
    MAGIC = importlib.util.MAGIC_NUMBER
else:
    import imp, StringIO
    MAGIC = imp.get_magic()

def header(size):
    import struct
    if PY < (3, 7):
        return MAGIC + struct.pack("<II", 0, size & 0xffffffff) if PY >= (3, 3) else MAGIC + struct.pack("<I", 0)
    return MAGIC + struct.pack("<III", 0, 0, size & 0xffffffff)

def capture(fn):
    if PY >= (3, 0):
        buf = io.StringIO()
        fn(buf)
        return buf.getvalue()
    buf = StringIO.StringIO()
    old = sys.stdout
    sys.stdout = buf
    try:
        fn(None)
    finally:
        sys.stdout = old
    return buf.getvalue()

def rec(co, f):
    if PY >= (3, 0):
        dis.disassemble(co, file=f)
    else:
        dis.disassemble(co)
    w = f.write if f is not None else sys.stdout.write
    for x in co.co_consts:
        if hasattr(x, "co_code"):
            w("\n")
            w("Disassembly of %r:\n" % (x,))
            rec(x, f)

def variants(co):
    out = {}
    if PY >= (3, 7):
        out["dis"] = capture(lambda f: dis.dis(co, file=f))
        out["depth0.dis"] = capture(lambda f: dis.dis(co, file=f, depth=0))
    else:
        out["dis"] = capture(lambda f: rec(co, f))
    if PY >= (3, 11):
        out["caches.dis"] = capture(lambda f: dis.dis(co, file=f, show_caches=True))
    if PY >= (3, 13):
        out["offsets.dis"] = capture(lambda f: dis.dis(co, file=f, show_offsets=True))
    if PY >= (3, 14):
        out["positions.dis"] = capture(lambda f: dis.dis(co, file=f, show_positions=True))
    return out

res = {}
for name, (src, fname) in sorted(CASES.items()):
    if src is None:
        try:
            import zipfile, glob
            zs = glob.glob("/lib/python3*.zip")
            if zs:
                src = zipfile.ZipFile(zs[0]).read(fname)
            else:
                import sysconfig
                with open(os.path.join(sysconfig.get_paths()["stdlib"], fname), "rb") as fh:
                    src = fh.read()
        except Exception:
            continue
    else:
        src = base64.b64decode(src)
    try:
        co = compile(src, fname, "exec", 0, True)
    except SyntaxError:
        continue
    data = marshal.dumps(co)
    texts = variants(marshal.loads(data))
    entry = {"pyc": base64.b64encode(header(len(src)) + data).decode("ascii")}
    for k, v in texts.items():
        if not isinstance(v, bytes):
            v = v.encode("utf-8")
        entry[k] = base64.b64encode(v).decode("ascii")
    res[name] = entry
sys.stdout.write(json.dumps(res) + "\n")
'''


def main(argv):
    cases = dict(CASES)
    cases.update(generated_cases())
    spec = {name: (base64.b64encode(src.encode()).decode(), name + ".py") for name, src in cases.items()}
    for mod in STDLIB:
        spec["stdlib_" + mod[:-3]] = (None, mod)
    for py in interpreters():
        if argv and py.version not in argv:
            continue
        if py.version != "2.7" and tuple(map(int, py.version.split("."))) < (3, 6):
            continue
        r = py.run("CASES = %r\n" % (spec,) + DRIVER)
        if r.error:
            sys.exit("%s: %s\n%s" % (py, r.error, r.stderr))
        res = json.loads(r.stdout)
        d = os.path.join(OUT, py.version)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, entry in sorted(res.items()):
            for k, v in entry.items():
                ext = "pyc" if k == "pyc" else k
                with open(os.path.join(d, "%s.%s" % (name, ext)), "wb") as f:
                    f.write(base64.b64decode(v))
        with open(os.path.join(d, "INTERPRETER"), "w") as f:
            f.write(py.full + "\n")
        print("%s: %s" % (py.version, ", ".join(sorted(res))))


if __name__ == "__main__":
    main(sys.argv[1:])
