#!/usr/bin/env python3
"""Regenerate tests/fixtures/marshal/: pycs and marshal data made by every real interpreter,
with what that interpreter's own marshal.loads gives, field by field, and repr() of every
constant.

For each interpreter (2.7, 3.6-3.13 from pyenv; 3.14, 3.15 in pyodide):
  py<X.Y>/era.py       the source: everything that era's syntax allows (see SOURCES)
  py<X.Y>/era.pyc      py_compile.compile of it
  py<X.Y>/era.json     the loaded code object tree (every field, constants typed, repr)
  py<X.Y>/values.json  marshal.dumps of assorted values in every marshal version the
                       interpreter writes, and what marshal.loads gives back for them

Encoding of a value (JSON): {"t": type name, ...} with ints as hex() strings (exact, and not
subject to 3.11's int-to-str limit), floats as float.hex(), str as hex of UTF-8 with
surrogatepass, bytes as hex, containers as "items" in iteration order, and "repr": repr(value)
(or "repr_error" when repr raises, e.g. ints over 4300 digits on 3.11+). Code objects' repr
addresses are replaced by 0x0 (they differ every run).

Run:  python3 scripts/gen_marshal.py            (all interpreters found)
"""
import base64
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pythons import interpreters  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "fixtures", "marshal")

# ---------------------------------------------------------------------------------------------
# Sources, per syntax era. Each interpreter compiles the parts whose minimum version it meets.

PY2 = r'''# -*- coding: utf-8 -*-
"""Module docstring, 2.x"""
import os
import os.path as osp
from sys import path as p, argv
A = 1; B = -1; C = 2147483647; D = -2147483648; E = 2147483648; F = 9223372036854775807
G = 9223372036854775808; H = 10L; I = -10L; J = 10 ** 40; K = -(10 ** 40); L0 = 0L
M = 0777; N = 0x7f; O = 1 << 62
F1 = 0.0; F2 = -0.0; F3 = 1.5; F4 = 1e16; F5 = 1e15; F6 = 1e-5; F7 = 0.0001; F8 = 1e400
F9 = -1e400; F10 = 1.0 / 3; F11 = 5e-324; F12 = 123456789012345678.0; F13 = 1e22; F14 = 2.5e-300
F15 = 1e400 - 1e400
C1 = 1j; C2 = 2 + 3j; C3 = -1j; C4 = 1.5e20j; C5 = 0j; C6 = 1e400j; C7 = -(1 + 2j)
S1 = 'abc'; S2 = "it's"; S3 = 'say "hi"'; S4 = 'both \' and "'; S5 = '\t\n\r\x00\x7f\\'
S6 = 'caf\xe9'; S7 = 'é'; S8 = ''; S9 = 'x' * 300; S10 = '\x80\xff'
U1 = u'abc'; U2 = u'caf\xe9'; U3 = u'\u20ac'; U4 = u'\U0001f600'; U5 = u"it's"; U6 = u'\ud800'
U7 = u'\t\n\x00\x7f'; U8 = u''; U9 = u'\u0378\u2028\xa0\xad'
T1 = (1, 2); T2 = (1,); T3 = (); T4 = ('a', (1, 2.5, None, True, False))
T5 = (1L, u'x', 'y', 1j)
def f(a, b=1, *args, **kw):
    "docstring"
    x = a + b
    def g(y):
        return x + y
    return g
def tup((a, b), c=(1, 2)):
    return a, b, c
def gen(n):
    for i in range(n):
        yield i
    else:
        pass
lam = lambda x, y=3: x * y
class K(object):
    """class doc"""
    attr = 5
    def m(self):
        return super(K, self).__init__()
    @staticmethod
    def s():
        global A
        A = 2
    @property
    def p(self):
        return self.attr
def comps(xs):
    a = [x for x in xs if x]
    b = {x: x for x in xs}
    c = {x for x in xs}
    d = (x for x in xs)
    return a, b, c, d
def flow(x):
    try:
        if x in (1, 2, 3):
            pass
        elif x in {4, 5}:
            pass
        elif x in ['a', 'b']:
            pass
        while x:
            x -= 1
            if x == 5:
                continue
            if x == 2:
                break
        else:
            pass
    except (ValueError, TypeError), e:
        raise ValueError, "msg"
    except Exception:
        pass
    else:
        pass
    finally:
        del x
    with open('f') as fh, open('g') as gh:
        print >> fh, "x",
    print 'a', 1
    assert x, "assertion"
    exec "y = 1"
    return `x`, x[...], x[1:2], x[1:2:3], x[::], not x, -x, ~x, x if x else x, 1 < x < 3
'''

PY3_BASE = r'''# -*- coding: utf-8 -*-
"""Module docstring with ünïcödé"""
import os
import os.path as osp
from sys import path as p, argv
from . import sibling
A = 1; B = -1; C = 2147483647; D = -2147483648; E = 2147483648; F = 9223372036854775807
G = 9223372036854775808; J = 10 ** 40; K = -(10 ** 40); M = 0o777; N = 0x7f; O = 1 << 62
P = 1_000_000; Q = 0
BIG = 0x%(bighex)s
F1 = 0.0; F2 = -0.0; F3 = 1.5; F4 = 1e16; F5 = 1e15; F6 = 1e-5; F7 = 0.0001; F8 = 1e400
F9 = -1e400; F10 = 1 / 3; F11 = 5e-324; F12 = 123456789012345678.0; F13 = 1e22; F14 = 2.5e-300
F15 = 1e400 - 1e400; F16 = 1_0.5
C1 = 1j; C2 = 2 + 3j; C3 = -1j; C4 = 1.5e20j; C5 = 0j; C6 = 1e400j; C7 = -(1 + 2j)
C8 = (1e400 - 1e400) * 1j; C9 = -0.0 + 1j
S1 = 'abc'; S2 = "it's"; S3 = 'say "hi"'; S4 = 'both \' and "'; S5 = '\t\n\r\x00\x7f\\'
S6 = 'café'; S7 = '\xa0\xad\x85'; S8 = ''; S9 = 'x' * 300; S10 = 'é' * 300
S11 = '\u0378\u2028\u2029\ufeff\U000e0001\u0301a\u0301'
S12 = '\U0001f600\U0001f97a\u0870\U0001fae8\U0001fac8\U0001fa89\u1c89\U00011f00'
S13 = '\ud800'; S14 = '\udc80x\udfff'; S15 = '\U0010ffff\U000f0000\ue000'
S16 = '\u00ff\u0100\uffff\U00010000'; S17 = '\x1b[0m'; S18 = "\"'"
B1 = b'abc'; B2 = b''; B3 = b'\x00\xff\'"'; B4 = b"it's"; B5 = b'\t\n\r\\\x7f\x80'
T1 = (1, 2); T2 = (1,); T3 = (); T4 = ('a', (1, 2.5, None, True, False, ...))
T5 = (b'x', 'y', 1j, 10 ** 30)
E1 = ...
def f(a, b=1, *args, c, d=2, **kw) -> 'ret':
    "docstring"
    x = a + b
    def g(y: int) -> str:
        nonlocal x
        x += y
        return x
    return g
def gen(n):
    for i in range(n):
        yield i
    yield from range(3)
lam = lambda x, y=3: x * y
class K:
    """class doc"""
    attr: int = 5
    def m(self):
        return super().m()
    @staticmethod
    def s():
        global A
        A = 2
    @property
    def p(self):
        return self.attr
async def co(x):
    await x
    async for i in x:
        pass
    async with x as y:
        pass
    return [i async for i in x]
async def agen():
    yield 1
def comps(xs):
    a = [x for x in xs if x]
    b = {x: x for x in xs}
    c = {x for x in xs}
    d = (x for x in xs)
    e = [[y for y in x] for x in xs]
    return a, b, c, d, e
def flow(x, *a, **k):
    try:
        if x in (1, 2, 3):
            pass
        elif x in {4, 5, 6}:
            pass
        elif x in {'a', 'b'}:
            pass
        elif x in {1.5, 'a', None, b'b', (1, 2)}:
            pass
        while x:
            x -= 1
            if x == 5:
                continue
            if x == 2:
                break
        else:
            pass
        for i in x:
            pass
        else:
            pass
    except (ValueError, TypeError) as e:
        raise ValueError("msg") from e
    except Exception:
        pass
    else:
        pass
    finally:
        del x
    with open('f') as fh, open('g') as gh:
        print("x", file=fh)
    assert x, "assertion"
    a, *b = x
    y: int
    f(*a, **k, z=1)
    return (f'{x!r:>10}{x}{x:{x}}', x[...], x[1:2], x[1:2:3], not x, -x, ~x, x @ x,
            x if x else x, 1 < x < 3, {**k}, [*a], (*a,), x.y, x[0])
'''

PY38 = r'''
def po(a, b=2, /, c=3, *, d):
    if (n := len(a)) > 10:
        return f'{n=}'
    return lambda q, /: q
'''

PY310 = r'''
def matcher(cmd):
    match cmd:
        case [x, y, *rest]:
            return 1
        case {"k": v, **kw}:
            return 2
        case K(attr=3) | K(attr=4) as kk if kk:
            return 3
        case 1 | 2.5 | "s" | b"b" | None | True:
            return 4
        case -1j:
            return 5
        case _:
            return 6
    with (open('a') as a, open('b') as b):
        pass
'''

PY311 = r'''
def star():
    try:
        pass
    except* ValueError as eg:
        pass
    except* (TypeError, KeyError):
        pass
'''

PY312 = r'''
type Point = tuple[float, float]
type Gen[T] = list[T]
def ident[T: int, *Ts, **P](x: T) -> T:
    return x
class Box[T]:
    def get(self) -> T:
        return f"{'nested' + f'{"deep"}'}"
'''

PY314 = r'''
def tstr(x):
    return t"hello {x!r:>5}", x[1:2], x[:3], x[::2], x[1:2:3], x["a":"b"]
def exc():
    try:
        pass
    except ValueError, TypeError:
        pass
'''

PY315 = r'''
lazy import json
lazy from os import sep
'''

ERAS = [
    ((3, 8), PY38),
    ((3, 10), PY310),
    ((3, 11), PY311),
    ((3, 12), PY312),
    ((3, 14), PY314),
    ((3, 15), PY315),
]


def source_for(version):
    v = tuple(int(x) for x in version.split("."))
    if v[0] == 2:
        return PY2
    src = PY3_BASE % {"bighex": "f" * 4200}
    for since, part in ERAS:
        if v >= since:
            src += part
    return src


# ---------------------------------------------------------------------------------------------
# The dumper runs inside each interpreter (2.7-compatible).

DUMPER = r'''
import binascii, json, marshal, py_compile, re, sys
PY2 = sys.version_info[0] == 2
ADDR = re.compile(r" at 0x[0-9a-fA-F]+")

def hx(b):
    return binascii.hexlify(b).decode("ascii")

def text(s):
    if isinstance(s, bytes):
        return s.decode("latin-1")
    return s

def rep(o, d):
    try:
        d["repr"] = ADDR.sub(" at 0x0", repr(o))
    except Exception as e:
        d["repr_error"] = "%s: %s" % (type(e).__name__, e)
    return d

def ustr(s):
    if PY2:
        return hx(s.encode("utf-8"))
    return hx(s.encode("utf-8", "surrogatepass"))

def enc(o):
    t = type(o).__name__
    d = {"t": t}
    if o is None or o is Ellipsis or isinstance(o, bool):
        pass
    elif o is StopIteration:
        d["t"] = "StopIteration"
    elif isinstance(o, int) or (PY2 and isinstance(o, long)):
        d["v"] = hex(o).rstrip("L")
    elif isinstance(o, float):
        d["v"] = o.hex()
    elif isinstance(o, complex):
        d["re"] = o.real.hex(); d["im"] = o.imag.hex()
    elif isinstance(o, bytes):
        d["hex"] = hx(o)
    elif (not PY2 and isinstance(o, str)) or (PY2 and isinstance(o, unicode)):
        d["u8"] = ustr(o)
    elif isinstance(o, (tuple, list, set, frozenset)):
        d["items"] = [enc(x) for x in o]
    elif isinstance(o, dict) or t == "frozendict":
        d["items"] = [[enc(k), enc(v)] for k, v in o.items()]
    elif isinstance(o, slice):
        d["items"] = [enc(o.start), enc(o.stop), enc(o.step)]
    elif t == "code":
        return code(o)
    else:
        d["unknown"] = True
    return rep(o, d)

def code(c):
    d = {"t": "code"}
    d["argcount"] = c.co_argcount
    d["posonlyargcount"] = getattr(c, "co_posonlyargcount", 0)
    d["kwonlyargcount"] = getattr(c, "co_kwonlyargcount", 0)
    d["nlocals"] = c.co_nlocals
    d["stacksize"] = c.co_stacksize
    d["flags"] = c.co_flags
    try:
        import dis
        d["pretty_flags"] = dis.pretty_flags(c.co_flags)
    except Exception:
        pass
    d["code"] = hx(c.co_code)
    d["consts"] = [enc(x) for x in c.co_consts]
    d["names"] = [text(x) for x in c.co_names]
    d["varnames"] = [text(x) for x in c.co_varnames]
    d["freevars"] = [text(x) for x in c.co_freevars]
    d["cellvars"] = [text(x) for x in c.co_cellvars]
    d["filename"] = text(c.co_filename)
    d["name"] = text(c.co_name)
    d["qualname"] = getattr(c, "co_qualname", None)
    d["firstlineno"] = c.co_firstlineno
    if sys.version_info >= (3, 10):
        d["linetable"] = hx(c.co_linetable)
    else:
        d["linetable"] = hx(c.co_lnotab)
    if sys.version_info >= (3, 11):
        d["exceptiontable"] = hx(c.co_exceptiontable)
    try:
        import dis
        d["code_info"] = ADDR.sub(" at 0x0", dis.code_info(c))
    except (ImportError, AttributeError):
        pass
    except ValueError as e:  # a constant over the int-to-str limit
        d["code_info_error"] = "%s: %s" % (type(e).__name__, e)
    return rep(c, d)

VALUES = [None, True, False, Ellipsis, StopIteration, 0, 1, -1, 2**31 - 1, -2**31, 2**31, 2**62,
          -2**63, 2**64, 10**30, -(10**30), 2**15, 2**30, 2**45 - 1,
          0.0, -0.0, 1.5, 1e300, float("inf"), -float("inf"), float("nan"), 1e-310, 0.1,
          complex(1, 2), complex(-0.0, 0.0), complex(0.0, -1.5),
          b"", b"abc", b"\x00\xff", u"", u"abc", u"caf\xe9", u"\u20ac" * 300, u"x" * 300,
          (), (1,), (1, (2, (3,))), [], [1, [2]], {}, {1: "a", "b": (2,)}, set(), set([1]),
          frozenset(), frozenset([1, 2, 3]), frozenset([u"a", (1, 2)])]
if PY2:
    VALUES += [10 ** 0 * long(1), long(2) ** 70, intern("interned"), ("ab", intern("cd"), intern("cd"))]
else:
    VALUES += ["\ud800x", sys.intern("interned_str"), ("ab", sys.intern("cd"), sys.intern("cd"))]
if sys.version_info >= (3, 14):
    VALUES += [slice(1, None, "a"), (slice(0, 1), slice(0, 1))]
if sys.version_info >= (3, 15):
    VALUES += [eval("frozendict({1: 2, 'a': (3,)})"), eval("frozendict()")]
shared = (1, 2)
VALUES += [[shared, shared], {"k": shared, "j": shared}]

def values():
    out = []
    for v in VALUES:
        for ver in range(0, marshal.version + 1):
            try:
                data = marshal.dumps(v, ver)
            except Exception as e:
                out.append({"version": ver, "dumps_error": "%s: %s" % (type(e).__name__, e)})
                continue
            entry = {"version": ver, "data": hx(data)}
            try:
                entry["loads"] = enc(marshal.loads(data))
            except Exception as e:
                entry["loads_error"] = "%s: %s" % (type(e).__name__, e)
            out.append(entry)
    return out

def main():
    py_compile.compile("era.py", cfile="era.pyc", dfile="era.py", doraise=True)
    with open("era.pyc", "rb") as f:
        data = f.read()
    if sys.version_info >= (3, 7):
        hsize = 16
    elif sys.version_info >= (3, 3):
        hsize = 12
    else:
        hsize = 8
    top = marshal.loads(data[hsize:])
    info = {"version": "%d.%d" % sys.version_info[:2], "full_version": sys.version.split()[0],
            "marshal_version": marshal.version, "header_size": hsize,
            "code": enc(top)}
    try:
        import dis
        info["compiler_flag_names"] = sorted([k, v] for k, v in dis.COMPILER_FLAG_NAMES.items())
    except Exception:
        pass
    try:
        import unicodedata
        info["unidata_version"] = unicodedata.unidata_version
    except Exception:
        pass
    with open("era.json", "w") as f:
        json.dump(info, f, indent=0, sort_keys=True)
    with open("values.json", "w") as f:
        json.dump({"version": info["version"], "values": values()}, f, indent=0, sort_keys=True)
main()
'''


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    used = []
    for py in interpreters():
        v = py.version
        if v.startswith("3.") and int(v.split(".")[1]) < 6:
            continue
        src = source_for(v).encode("utf-8")
        r = py.run(DUMPER, files={"era.py": src}, collect=True)
        if r.error:
            sys.exit("%s: %s\n%s" % (py, r.error, r.stderr))
        d = os.path.join(OUT, "py" + v)
        os.makedirs(d)
        for name in ("era.py", "era.pyc", "era.json", "values.json"):
            data = r.files.get(name)
            if data is None:
                sys.exit("%s did not write %s\n%s" % (py, name, r.stderr))
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        used.append(py.full)
        print("%s: %d-byte pyc" % (py.full, len(r.files["era.pyc"])))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("Made by `scripts/gen_marshal.py` (do not edit) with: %s.\n" % ", ".join(used))


if __name__ == "__main__":
    main()
