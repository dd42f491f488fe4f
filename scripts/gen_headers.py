#!/usr/bin/env python3
"""Regenerate tests/fixtures/headers/: small pycs written by every real CPython, with what each
interpreter itself reads from them.

For every interpreter that scripts/pythons.py finds (2.7, 3.6-3.13 from pyenv; 3.14 and 3.15
under pyodide) this compiles small sources with `py_compile` in every invalidation mode the
version has (timestamp; checked-hash and unchecked-hash from 3.7), at optimization levels 0-2
(3.x), with chosen source mtimes (0, 2**31, 2**32-1, >= 2**32, negative where the OS stores
them), and records, in the interpreter's own words:

* `importlib.util.MAGIC_NUMBER` (`imp.get_magic()` on 2.7), `_RAW_MAGIC_NUMBER`,
  `sys.implementation.cache_tag`, `marshal.version`;
* per pyc: the header size (the offset at which the interpreter's `marshal.loads` gives back
  exactly the code that its `compile` makes from the source), the flags word as
  `_classify_pyc` returns it (3.7+), mtime / source size / hash as `_bootstrap_external`'s own
  readers (`_unpack_uint32`, `_r_long`; `struct` on 2.7) see them, and whether the
  interpreter's own validator (`_validate_timestamp_pyc`, `_validate_hash_pyc`,
  `_validate_bytecode_header`) accepts the pyc for its source;
* crafted variants (a real pyc with other flag bits) and `_classify_pyc`'s verdict on them;
* `importlib.util.source_hash` of a few inputs (3.7+).

Writes tests/fixtures/headers/<X.Y>/<case>.pyc and tests/fixtures/headers/<X.Y>/readings.json.
Usage: scripts/gen_headers.py [X.Y ...]   (default: every interpreter found)
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pythons import interpreters  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "headers")

SOURCES = {
    # A docstring and an assert, so optimization levels 1 and 2 give different bodies.
    "doc": b'"""Module doc."""\nimport sys\nassert sys\nx = 1\n',
    "empty": b"",
}

# Source mtimes (seconds). The OS or pyodide may refuse some; those are recorded as skipped.
MTIMES = [0, 1, 1600000000, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1234567, -1, -31536000]

SOURCE_HASH_INPUTS = [
    b"", b"a", b"1234567", b"12345678", b"123456789", b"x = 1\n",
    b"\xff\x00\xfe\x80", bytes(bytearray(range(256))) * 2,
]

# Runs inside every interpreter: Python 2.7 and 3.6+ syntax.
CODE = r'''
import sys, os, json, marshal, struct, binascii, py_compile, time
V = sys.version_info[:2]
PY3 = V[0] >= 3
SOURCES = json.loads(%(sources)r)
MTIMES = %(mtimes)r
HASH_INPUTS = json.loads(%(hash_inputs)r)

def b(h):
    return binascii.unhexlify(h.encode('ascii'))

def hx(data):
    return binascii.hexlify(bytes(data)).decode('ascii')

if PY3:
    import importlib.util, importlib._bootstrap_external as be
    magic = importlib.util.MAGIC_NUMBER
else:
    import imp
    be = None
    magic = imp.get_magic()
out = {
    'version': '%%d.%%d' %% V,
    'full_version': sys.version.split()[0],
    'magic_hex': hx(magic),
    'magic': bytearray(magic)[0] | (bytearray(magic)[1] << 8),
    'raw_magic_number': getattr(be, '_RAW_MAGIC_NUMBER', None),
    'cache_tag': getattr(getattr(sys, 'implementation', None), 'cache_tag', None),
    'marshal_version': marshal.version,
    'cases': [],
    'crafted': [],
    'source_hash': [],
}
have_modes = hasattr(py_compile, 'PycInvalidationMode')
u32 = getattr(be, '_unpack_uint32', None) or getattr(be, '_r_long', None)
if u32 is None:
    u32 = lambda d: struct.unpack('<I', bytes(d))[0]
    reader = 'struct'
else:
    reader = 'importlib._bootstrap_external.' + u32.__name__
out['reader'] = reader

def compiled(src, opt):
    if PY3:
        return compile(src, 'src.py', 'exec', dont_inherit=True, optimize=opt)
    return compile(src, 'src.py', 'exec', 0, True)

def header_size(data, code):
    found = []
    for k in (8, 12, 16):
        try:
            c = marshal.loads(bytes(data[k:]))
        except Exception:
            continue
        if c == code:
            found.append(k)
    return found

def validate(fn, *args):
    # 'ok', or the ImportError the interpreter's own validator raises for this source.
    try:
        fn(*args)
        return 'ok'
    except ImportError as e:
        return '%%s: %%s' %% (type(e).__name__, e)

def read_header(data, src, st, opt, name):
    r = {}
    sizes = header_size(data, compiled(src, opt))
    r['header_size_candidates'] = sizes
    exc = {'name': 'src', 'path': name}
    if hasattr(be, '_classify_pyc'):
        flags = be._classify_pyc(data, 'src', exc)
        r['flags'] = flags
        if flags & 1:
            r['mode'] = 'checked-hash' if flags & 2 else 'unchecked-hash'
            r['source_hash'] = hx(data[8:16])
            r['validation'] = validate(be._validate_hash_pyc, data, importlib.util.source_hash(src), 'src', exc)
        else:
            r['mode'] = 'timestamp'
            r['mtime'] = u32(data[8:12])
            r['source_size'] = u32(data[12:16])
            r['validation'] = validate(be._validate_timestamp_pyc, data, int(st.st_mtime), st.st_size, 'src', exc)
        r['validated_by'] = 'importlib._bootstrap_external._validate_*_pyc'
    elif be is not None:
        r['mode'] = 'timestamp'
        r['mtime'] = u32(data[4:8])
        r['source_size'] = u32(data[8:12])
        r['validation'] = validate(be._validate_bytecode_header, data, {'mtime': int(st.st_mtime), 'size': st.st_size}, 'src', name)
        # With no source stats the validator checks the magic only and returns the body.
        r['body_offset_by_validator'] = len(data) - len(be._validate_bytecode_header(data))
        r['validated_by'] = 'importlib._bootstrap_external._validate_bytecode_header'
    else:
        # Python 2.7's import.c: magic, then the mtime as a 4-byte little-endian long.
        r['mode'] = 'timestamp'
        r['mtime'] = u32(data[4:8])
        r['magic_matches_imp'] = data[:4] == magic
    if 'mtime' in r:
        r['mtime_utc'] = time.strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', time.gmtime(r['mtime']))
    return r

os.makedirs('out')
def compile_case(name, srcname, mtime, opt, mode):
    src = b(SOURCES[srcname])
    with open('src.py', 'wb') as f:
        f.write(src)
    try:
        os.utime('src.py', (mtime, mtime))
    except Exception as e:
        return {'name': name, 'skipped': 'utime(%%d): %%s' %% (mtime, e)}
    st = os.stat('src.py')
    if int(st.st_mtime) != mtime:
        return {'name': name, 'skipped': 'utime(%%d) stored %%r' %% (mtime, st.st_mtime)}
    cfile = 'out/' + name + '.pyc'
    kw = {}
    if PY3:
        kw['optimize'] = opt
    if have_modes:
        kw['invalidation_mode'] = getattr(py_compile.PycInvalidationMode, mode.upper().replace('-', '_'))
    py_compile.compile('src.py', cfile, doraise=True, **kw)
    with open(cfile, 'rb') as f:
        data = f.read()
    case = {'name': name, 'file': name + '.pyc', 'source': srcname, 'source_mtime': mtime,
            'source_size': st.st_size, 'optimize': opt, 'requested_mode': mode,
            'file_size': len(data)}
    case['reading'] = read_header(data, src, st, opt, cfile)
    return case

modes = ['timestamp'] + (['checked-hash', 'unchecked-hash'] if have_modes else [])
for t in MTIMES:
    out['cases'].append(compile_case('ts-mtime%%d' %% t, 'doc', t, 0, 'timestamp'))
out['cases'].append(compile_case('ts-empty', 'empty', 1600000000, 0, 'timestamp'))
for opt in ((1, 2) if PY3 else ()):
    out['cases'].append(compile_case('ts-opt%%d' %% opt, 'doc', 1600000000, opt, 'timestamp'))
for mode in modes[1:]:
    for srcname in sorted(SOURCES):
        out['cases'].append(compile_case('%%s-%%s' %% (mode, srcname), srcname, 1600000000, 0, mode))
    out['cases'].append(compile_case('%%s-opt2' %% mode, 'doc', 1600000000, 2, mode))

# Crafted: a real timestamp pyc with other flag words, and what _classify_pyc says of them.
if hasattr(be, '_classify_pyc'):
    with open('out/ts-mtime1600000000.pyc', 'rb') as f:
        base = f.read()
    for flags in (2, 3, 4, 5, 0x80000000):
        data = base[:4] + struct.pack('<I', flags) + base[8:]
        name = 'crafted-flags%%d' %% flags
        with open('out/' + name + '.pyc', 'wb') as f:
            f.write(data)
        c = {'name': name, 'file': name + '.pyc', 'flags': flags}
        try:
            c['classify'] = be._classify_pyc(data, 'src', {'name': 'src', 'path': name})
        except ImportError as e:
            c['classify_error'] = '%%s: %%s' %% (type(e).__name__, e)
        out['crafted'].append(c)

if PY3 and hasattr(importlib.util, 'source_hash'):
    for h in HASH_INPUTS:
        out['source_hash'].append({'input_hex': h, 'hash': hx(importlib.util.source_hash(b(h)))})
    out['source_hash_of_sources'] = dict((k, hx(importlib.util.source_hash(b(v)))) for k, v in SOURCES.items())

print('JSON:' + json.dumps(out, sort_keys=True))
'''


def main(argv):
    want = set(argv)
    code = CODE % {
        "sources": json.dumps({k: v.hex() for k, v in SOURCES.items()}),
        "mtimes": MTIMES,
        "hash_inputs": json.dumps([h.hex() for h in SOURCE_HASH_INPUTS]),
    }
    found = interpreters()
    failed = False
    for py in found:
        if want and py.version not in want:
            continue
        r = py.run(code, collect=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("JSON:")]
        if r.error or not line:
            print("%s: FAILED %s\n%s" % (py.version, r.error, r.stderr), file=sys.stderr)
            failed = True
            continue
        data = json.loads(line[0][5:])
        data["interpreter"] = py.full
        data["sources_hex"] = {k: v.hex() for k, v in SOURCES.items()}
        data["generated_by"] = "scripts/gen_headers.py"
        d = os.path.join(OUT, py.version)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        n = 0
        for rel, blob in sorted(r.files.items()):
            if rel.startswith("out" + os.sep) and rel.endswith(".pyc"):
                with open(os.path.join(d, os.path.basename(rel)), "wb") as f:
                    f.write(blob)
                n += 1
        with open(os.path.join(d, "readings.json"), "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        skipped = [c["name"] for c in data["cases"] if "skipped" in c]
        print("%-5s %-40s magic %d, %d pycs%s" % (
            py.version, py.full, data["magic"], n,
            ", skipped: " + " ".join(skipped) if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
