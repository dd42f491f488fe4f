#!/usr/bin/env python3
"""Record what each real CPython does on import with a given source and cache file.

For every installed interpreter (pyenv's 2.7 and 3.6+) and every scenario below, this builds a
folder with `m.py` and/or a cache file, then runs `python -B -v -c "import m"` (with
`--check-hash-based-pycs MODE` for 3.7+, `PYTHONPYCACHEPREFIX` for prefix scenarios) and records
whether the interpreter loaded the cache file (`-v` logs "code object from '<pyc>'", 2.7 logs
"# precompiled from"), compiled the source, or found no module, plus its own log line giving
the reason (bad magic, EOF, invalid flags, stale, hash mismatch, bad mtime).

Pycs are made from the interpreter's own pieces (magic number, `marshal.dumps` of the code, and
`importlib.util.source_hash`) with the header of each scenario. 3.14 and 3.15 run under pyodide,
which has no subprocess: there the same scenarios are judged in-process by importlib itself
(`PathFinder.find_spec`, then the loader's `get_code` with `source_to_code` watched, after setting
`_imp.check_hash_based_pycs` and `sys.pycache_prefix` as the command-line options would); its
file system keeps mtimes in milliseconds and no negative ones, so the recorded mtime is what
`os.stat` reports there and the negative-mtime scenarios are skipped.

Writes tests/fixtures/status/<X.Y>.json; `crates/pyc-cache/tests/status_fixtures.rs` rebuilds
every scenario and checks that pyc's verdict equals the interpreter's.

    python3 scripts/gen_status.py
"""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pythons import interpreters  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "status")

A = b"x = 1\n"
B = b"x = 22\n"   # different size
C = b"x = 2\n"    # same size as A, different content
T = 1700000000    # a plain mtime (2023)
SEC = 10 ** 9

PREP = r"""
import sys, marshal, json, base64
try:
    import importlib.util as u
    magic = u.MAGIC_NUMBER
    tag = sys.implementation.cache_tag
except Exception:
    import imp
    magic = imp.get_magic()
    tag = None
out = {'magic': base64.b64encode(magic).decode(), 'tag': tag, 'bodies': {}, 'hashes': {},
       'int_body': base64.b64encode(marshal.dumps(1)).decode()}
for name, src in SOURCES.items():
    code = compile(src, 'm.py', 'exec')
    out['bodies'][name] = base64.b64encode(marshal.dumps(code)).decode()
    if sys.version_info >= (3, 7):
        out['hashes'][name] = base64.b64encode(u.source_hash(src)).decode()
print(json.dumps(out))
"""

HASH_SAMPLES = [b"", b"x = 1\n", b"a" * 7, b"b" * 8, b"c" * 9, bytes(range(256)) * 3]


def b64(b):
    return base64.b64encode(b).decode()


def layout(version):
    if version.startswith("2."):
        return "import2"
    if version == "3.6":
        return "bytecode12"
    return "pep552"


def header(version, magic, mtime=T, size=None, flags=0, hash_=None):
    lay = layout(version)
    if lay == "import2":
        return magic + struct.pack("<I", mtime & 0xFFFFFFFF)
    if lay == "bytecode12":
        return magic + struct.pack("<II", mtime & 0xFFFFFFFF, size & 0xFFFFFFFF)
    if hash_ is not None:
        return magic + struct.pack("<I", flags) + hash_
    return magic + struct.pack("<III", flags, mtime & 0xFFFFFFFF, size & 0xFFFFFFFF)


def scenarios(version, prep):
    magic = base64.b64decode(prep["magic"])
    body = {k: base64.b64decode(v) for k, v in prep["bodies"].items()}
    hashes = {k: base64.b64decode(v) for k, v in prep["hashes"].items()}
    lay = layout(version)
    py3 = lay != "import2"
    out = []

    def add(name, source, mtime_ns, pyc, place="default", mode=None, prefix=False, note=""):
        out.append(dict(name=name, source=source, mtime_ns=mtime_ns, pyc=pyc, place=place,
                        mode=mode, prefix=prefix, note=note))

    def ts(src_for_body=A, **kw):
        kw.setdefault("size", len(A))
        return header(version, magic, **kw) + body["A" if src_for_body is A else "C"]

    add("fresh", A, T * SEC, ts())
    add("touched_same_content", A, (T + 10) * SEC, ts(), note="mtime moved, same bytes")
    add("size_change_same_mtime", B, T * SEC, ts(), note="size differs, mtime equal")
    add("same_size_same_mtime_new_content", C, T * SEC, ts(),
        note="the one-second blind spot: nothing the header records changed")
    add("mtime_beyond_2_32", A, (2 ** 32 + 100) * SEC, ts(mtime=2 ** 32 + 100))
    add("mtime_at_2_31", A, (2 ** 31 + 100) * SEC, ts(mtime=2 ** 31 + 100),
        note="2038: 2.7 reads the header mtime as a signed 32-bit number")
    add("fractional_mtime", A, T * SEC + SEC // 2, ts(mtime=T))
    add("fractional_999999999_header_floor", A, T * SEC + 999999999, ts(mtime=T),
        note="st_mtime as a double rounds up to the next second")
    add("fractional_999999999_header_ceil", A, T * SEC + 999999999, ts(mtime=T + 1))
    add("negative_mtime_truncated", A, -100 * SEC - SEC // 2, ts(mtime=-100),
        note="int(-100.5) is -100")
    add("negative_mtime_floor", A, -100 * SEC - SEC // 2, ts(mtime=-101))
    wrong = bytearray(magic)
    wrong[0] = (wrong[0] + 1) & 0xFF
    add("wrong_magic", A, T * SEC, bytes(wrong) + ts()[4:])
    add("truncated_header", A, T * SEC, ts()[:len(header(version, magic, size=1)) - 2])
    add("three_bytes", A, T * SEC, ts()[:3])
    add("empty_pyc", A, T * SEC, b"")
    add("missing", A, T * SEC, None)
    # A good header and a body the interpreter cannot load: the import fails (nothing falls
    # back to the source), on every start. `pyc status --verify` calls these broken.
    good = ts()
    hsize = len(good) - len(body["A"])
    add("truncated_body", A, T * SEC, good[:hsize + len(body["A"]) // 2],
        note="header intact, body cut in half")
    add("garbage_body", A, T * SEC, good[:hsize] + b"\x00\x00\x00\x00",
        note="marshal type code 0")
    add("non_code_body", A, T * SEC, good[:hsize] + base64.b64decode(prep["int_body"]),
        note="marshal.dumps(1): not a code object")
    # A sourceless pyc (legacy name beside no source) and an orphan (__pycache__, no source).
    add("sourceless", None, None, ts(), place="beside")
    if py3:
        add("orphan", None, None, ts(), place="pycache")
        add("legacy_beside_source", A, T * SEC, ts(), place="beside",
            note="3.x ignores NAME.pyc when NAME.py exists")
    if lay == "pep552":
        add("unknown_flag_bit", A, T * SEC, ts(flags=0b100))
        add("check_source_bit_alone", A, T * SEC, ts(flags=0b10),
            note="bit 1 without bit 0 is a timestamp pyc")
        for mode in ("default", "always", "never"):
            for kind, flags in (("checked", 0b11), ("unchecked", 0b01)):
                for changed in (False, True):
                    src = C if changed else A
                    pyc = header(version, magic, flags=flags, hash_=hashes["A"]) + body["A"]
                    add("%s_hash_%s_%s" % (kind, "changed" if changed else "unchanged", mode),
                        src, T * SEC, pyc, mode=mode)
    if tuple(int(x) for x in version.split(".")) >= (3, 8):
        add("prefix_fresh", A, T * SEC, ts(), place="prefix", prefix=True)
        add("prefix_stale", A, (T + 5) * SEC, ts(), place="prefix", prefix=True)
        add("prefix_set_pyc_in_pycache", A, T * SEC, ts(), place="pycache", prefix=True,
            note="with a prefix, __pycache__ is not read")
    return out


def pyc_path(version, tag, place, work, prefix_dir):
    if place == "beside" or (place == "default" and layout(version) == "import2"):
        return os.path.join(work, "m.pyc")
    name = "m.%s.pyc" % tag
    if place == "prefix":
        return os.path.join(prefix_dir, work.lstrip("/"), name)
    return os.path.join(work, "__pycache__", name)


REASON_PATTERNS = [
    ("magic", re.compile(r"bad magic")),
    ("eof", re.compile(r"EOF")),
    ("flags", re.compile(r"invalid flags")),
    ("hash", re.compile(r"hash in bytecode doesn't match")),
    ("stale", re.compile(r"bytecode is stale|has bad mtime")),
]


def run_scenario(py, prep, sc):
    tmp = tempfile.mkdtemp(prefix="pyc-status-")
    try:
        work = os.path.join(tmp, "work")
        prefix_dir = os.path.join(tmp, "prefix")
        os.makedirs(work)
        if sc["source"] is not None:
            with open(os.path.join(work, "m.py"), "wb") as f:
                f.write(sc["source"])
        if sc["pyc"] is not None:
            p = pyc_path(py.version, prep["tag"], sc["place"], work, prefix_dir)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(sc["pyc"])
        mtime_ns = None
        if sc["source"] is not None:
            src = os.path.join(work, "m.py")
            os.utime(src, ns=(sc["mtime_ns"], sc["mtime_ns"]))
            mtime_ns = os.stat(src).st_mtime_ns
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
        env["PYTHONHASHSEED"] = "0"
        if sc["prefix"]:
            env["PYTHONPYCACHEPREFIX"] = prefix_dir
        cmd = [py.path, "-B", "-v"]
        if sc["mode"]:
            cmd += ["--check-hash-based-pycs", sc["mode"]]
        cmd += ["-c", "import m"]
        r = subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode("utf-8", "replace")
        mine = [ln for ln in err.splitlines()
                if work in ln or "'m'" in ln or re.search(r"\bm\.py[co]?\b", ln)]
        if r.returncode != 0:
            outcome = "not-found" if "No module named" in err else "error"
        elif any(re.search(r"code object from '?\S*\.pyc'?$", ln) or "precompiled from" in ln
                 for ln in mine):
            outcome = "cache"
        else:
            outcome = "compiled"
        reason = None
        for key, pat in REASON_PATTERNS:
            if any(pat.search(ln) for ln in mine):
                reason = key
                break
        log = [ln.replace(tmp, "<tmp>") for ln in mine if any(p.search(ln) for _, p in REASON_PATTERNS)]
        if outcome == "error":
            # The exception the import ended with (a body that does not load).
            last = [ln for ln in err.splitlines() if re.match(r"\w*(Error|Exception)\b", ln)][-1:]
            log = [ln.replace(tmp, "<tmp>") for ln in last]
            reason = "load-failed"
        return outcome, reason, log, mtime_ns
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


PYODIDE_DRIVER = r"""
import base64, json, os, sys, _imp, importlib.machinery as M
sys.dont_write_bytecode = True
results = []
calls = []
orig = M.SourceFileLoader.source_to_code
def watched(self, *a, **k):
    calls.append(1)
    return orig(self, *a, **k)
M.SourceFileLoader.source_to_code = watched
for i, sc in enumerate(SCENARIOS):
    work = '/sc/%d/work' % i
    prefix = '/sc/%d/prefix' % i
    os.makedirs(work)
    if sc['source'] is not None:
        with open(work + '/m.py', 'wb') as f:
            f.write(base64.b64decode(sc['source']))
    if sc['pyc'] is not None:
        place = sc['place']
        if place == 'beside':
            p = work + '/m.pyc'
        elif place == 'prefix':
            p = prefix + work + '/m.%s.pyc' % sys.implementation.cache_tag
        else:
            p = work + '/__pycache__/m.%s.pyc' % sys.implementation.cache_tag
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(base64.b64decode(sc['pyc']))
    mtime_ns = None
    if sc['source'] is not None:
        os.utime(work + '/m.py', ns=(sc['mtime_ns'], sc['mtime_ns']))
        mtime_ns = os.stat(work + '/m.py').st_mtime_ns
    _imp.check_hash_based_pycs = sc['mode'] or 'default'
    sys.pycache_prefix = prefix if sc['prefix'] else None
    M.PathFinder.invalidate_caches()
    error = None
    spec = M.PathFinder.find_spec('m', [work])
    if spec is None:
        outcome = 'not-found'
    elif isinstance(spec.loader, M.SourcelessFileLoader):
        try:
            spec.loader.get_code('m')
            outcome = 'cache'
        except Exception as e:
            outcome, error = 'error', '%s: %s' % (type(e).__name__, e)
    else:
        del calls[:]
        try:
            spec.loader.get_code('m')
            outcome = 'compiled' if calls else 'cache'
        except Exception as e:
            outcome, error = 'error', '%s: %s' % (type(e).__name__, e)
    results.append({'outcome': outcome, 'mtime_ns': mtime_ns, 'error': error})
print(json.dumps(results))
"""


def run_pyodide(py):
    r = py.run("SOURCES = %r\n" % {"A": A, "B": B, "C": C} + PREP)
    if r.error:
        raise RuntimeError(r.error + r.stderr[-300:])
    prep = json.loads(r.stdout.strip().splitlines()[-1])
    scs = [sc for sc in scenarios(py.version, prep) if sc["mtime_ns"] is None or sc["mtime_ns"] >= 0]
    payload = [{"source": b64(sc["source"]) if sc["source"] is not None else None,
                "pyc": b64(sc["pyc"]) if sc["pyc"] is not None else None,
                "place": sc["place"], "mtime_ns": sc["mtime_ns"], "mode": sc["mode"],
                "prefix": sc["prefix"]} for sc in scs]
    r = py.run("import json\nSCENARIOS = json.loads(%r)\n" % json.dumps(payload) + PYODIDE_DRIVER)
    if r.error:
        raise RuntimeError(r.error + r.stderr[-500:])
    res = json.loads(r.stdout.strip().splitlines()[-1])
    recs = []
    for sc, rr in zip(scs, res):
        recs.append({
            "name": sc["name"], "note": sc["note"],
            "source": b64(sc["source"]) if sc["source"] is not None else None,
            "source_mtime_ns": rr["mtime_ns"],
            "pyc": b64(sc["pyc"]) if sc["pyc"] is not None else None,
            "place": sc["place"], "check_hash_based_pycs": sc["mode"],
            "pycache_prefix": sc["prefix"],
            "interpreter_outcome": rr["outcome"], "interpreter_reason": None,
            "interpreter_log": ["in-process: importlib PathFinder + get_code (pyodide)"]
            + ([rr["error"].replace("/sc/", "<tmp>/sc/")] if rr.get("error") else []),
        })
        print(py.version, sc["name"], rr["outcome"], file=sys.stderr)
    return prep, recs


def main():
    os.makedirs(OUT, exist_ok=True)
    for py in interpreters():
        if py.kind == "pyodide":
            code = ("import importlib.util as u, base64, json\n"
                    "print(json.dumps([base64.b64encode(u.source_hash(base64.b64decode(s))).decode() for s in %r]))\n"
                    % [b64(s) for s in HASH_SAMPLES])
            r = py.run(code)
            if r.error:
                print("skip", py, r.error, r.stderr[-300:], file=sys.stderr)
                continue
            hashes = json.loads(r.stdout.strip().splitlines()[-1])
            prep, recs = run_pyodide(py)
            doc = {"version": py.version, "interpreter": py.full, "scenarios": recs,
                   "magic": prep["magic"], "tag": prep["tag"],
                   "source_hashes": [{"source": b64(s), "hash": h} for s, h in zip(HASH_SAMPLES, hashes)]}
        else:
            prep_code = "SOURCES = %r\n" % {"A": A, "B": B, "C": C} + PREP
            r = subprocess.run([py.path, "-c", prep_code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0:
                print("skip", py, r.stderr.decode()[-300:], file=sys.stderr)
                continue
            prep = json.loads(r.stdout)
            recs = []
            for sc in scenarios(py.version, prep):
                outcome, reason, log, mtime_ns = run_scenario(py, prep, sc)
                recs.append({
                    "name": sc["name"],
                    "note": sc["note"],
                    "source": b64(sc["source"]) if sc["source"] is not None else None,
                    "source_mtime_ns": mtime_ns,
                    "pyc": b64(sc["pyc"]) if sc["pyc"] is not None else None,
                    "place": sc["place"],
                    "check_hash_based_pycs": sc["mode"],
                    "pycache_prefix": sc["prefix"],
                    "interpreter_outcome": outcome,
                    "interpreter_reason": reason,
                    "interpreter_log": log,
                })
                print(py.version, sc["name"], outcome, reason or "", file=sys.stderr)
            hashes = []
            if layout(py.version) == "pep552":
                code = ("import importlib.util as u, base64, json\n"
                        "print(json.dumps([base64.b64encode(u.source_hash(base64.b64decode(s))).decode() for s in %r]))\n"
                        % [b64(s) for s in HASH_SAMPLES])
                hr = subprocess.run([py.path, "-c", code], stdout=subprocess.PIPE, check=True)
                hashes = [{"source": b64(s), "hash": h}
                          for s, h in zip(HASH_SAMPLES, json.loads(hr.stdout))]
            doc = {"version": py.version, "interpreter": py.full,
                   "magic": prep["magic"], "tag": prep["tag"],
                   "scenarios": recs, "source_hashes": hashes}
        with open(os.path.join(OUT, "%s.json" % py.version), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", py.version, file=sys.stderr)


if __name__ == "__main__":
    main()
