"""Build archives whose cache files each test one rule, and import from them with a real
interpreter: which modules ran their cached code and which compiled the source.

    python3 scripts/archive_cases.py PYTHON WORKDIR    (TZ should be set: DOS times are local)
    python3 scripts/archive_cases.py pyodide:3.14 WORKDIR   (zipimport only, under Node; UTC)

Prints a JSON list, one item per archive and use: {"archive", "as", "expect": {module: "pyc" |
"src" | "fail"}}. Every cached body is a decoy (`X = "pyc"`) compiled from a file of the same
size as the real source (`X = "src"`), so the value of `X` says what ran. Used by
crates/pyc/tests/archive_live.rs, which asks `pyc status` the same question. Runs on Python
3.8+; PYTHON may be any CPython from 2.7 on.
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile

REAL = b'X = "src"\n'
DECOY = b'X = "pyc"\n'


def run(py, code, cwd=None, files=None, collect=False):
    """Run `code` in `py`; under pyodide, `files` (names relative to `cwd`) are copied in and,
    with `collect`, the files it left are copied back into `cwd`."""
    if py.startswith("pyodide:"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import pythons
        if not pythons.ensure_pyodide():
            sys.stderr.write("pyodide is not available (node, npm)\n")
            raise SystemExit(3)
        interp = pythons.Interpreter(py.split(":", 1)[1], py, "pyodide")
        data = {}
        for n in files or []:
            with open(os.path.join(cwd, n), "rb") as f:
                data[n] = f.read()
        r = interp.run(code, files=data, collect=collect)
        if r.error:
            raise SystemExit("%s failed: %s %s" % (py, r.error, r.stderr))
        for n, d in r.files.items():
            with open(os.path.join(cwd, n), "wb") as f:
                f.write(d)
        return r.stdout
    env = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    out = subprocess.run([py, "-B", "-c", code], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if out.returncode != 0:
        raise SystemExit("%s failed: %s" % (py, out.stderr.decode()))
    return out.stdout.decode()


def probe(py, work):
    code = r'''
import sys, json, py_compile, os
info = {"version": list(sys.version_info[:2])}
info["tag"] = getattr(getattr(sys, "implementation", None), "cache_tag", None)
open("decoy.py", "wb").write(%r)
py_compile.compile("decoy.py", cfile="decoy.out", dfile="m.py", doraise=True)
if sys.version_info >= (3, 7):
    import importlib.util as u
    info["hash_real"] = list(bytearray(u.source_hash(%r)))
    info["hash_decoy"] = list(bytearray(u.source_hash(%r)))
print(json.dumps(info))
''' % (DECOY, REAL, DECOY)
    info = json.loads(run(py, code, cwd=work, collect=True))
    with open(os.path.join(work, "decoy.out"), "rb") as f:
        pyc = f.read()
    v = tuple(info["version"])
    hsize = 8 if v < (3, 3) else 12 if v < (3, 7) else 16
    info["magic"], info["body"], info["hsize"] = pyc[:4], pyc[hsize:], hsize
    return info


def pyc(info, mtime=None, size=None, flags=0, hash=None, magic=None):
    """A cache file with the decoy body and the header asked for."""
    m = magic or info["magic"]
    h = info["hsize"]
    if h == 8:
        head = m + struct.pack("<I", mtime & 0xFFFFFFFF)
    elif h == 12:
        head = m + struct.pack("<II", mtime & 0xFFFFFFFF, size)
    elif flags & 1:
        head = m + struct.pack("<I", flags) + bytes(bytearray(hash))
    else:
        head = m + struct.pack("<III", flags, mtime & 0xFFFFFFFF, size)
    return head + info["body"]


def importer(py, path, names, cwd):
    if py.startswith("pyodide:"):
        path = os.path.relpath(path, cwd)
    code = r'''
import sys, json, importlib
sys.path.insert(0, %r)
out = {}
for n in %r:
    try:
        out[n] = importlib.import_module(n).X
    except ImportError as e:
        out[n] = "fail"
print(json.dumps(out))
''' % (path, names)
    files = [path] if py.startswith("pyodide:") else None
    return json.loads(run(py, code, cwd=cwd, files=files))


def zipimport_case(py, info, work):
    v = tuple(info["version"])
    dos = (2024, 5, 1, 10, 0, 2)
    t = int(time.mktime(dos + (0, 0, -1)))
    size = len(REAL)
    files = []  # (name, data, date_time)
    mods = {
        "fresh": dict(mtime=t, size=size),
        "slack1": dict(mtime=t + 1, size=size),
        "minus1": dict(mtime=t - 1, size=size),
        "off2": dict(mtime=t + 2, size=size),
        "off3": dict(mtime=t + 3, size=size),
        "sizechg": dict(mtime=t, size=size + 1),
        "badmagic": dict(mtime=t, size=size, magic=b"\x00\x00\r\n"),
    }
    if v >= (3, 7):
        mods["hcheck_ok"] = dict(flags=3, hash=info["hash_real"])
        mods["hcheck_bad"] = dict(flags=3, hash=info["hash_decoy"])
        mods["hunchecked"] = dict(flags=1, hash=info["hash_decoy"])
    for name, hdr in mods.items():
        files.append((name + ".py", REAL, dos))
        files.append((name + ".pyc", pyc(info, **hdr), (2026, 1, 1, 0, 0, 0)))
    # The SAM case: sources dated 1980-01-01 00:00, pycs with the real mtime.
    files.append(("dos1980.py", REAL, (1980, 1, 1, 0, 0, 0)))
    files.append(("dos1980.pyc", pyc(info, mtime=t, size=size), (1980, 1, 1, 0, 0, 0)))
    files.append(("pkg/__init__.py", REAL, dos))
    files.append(("pkg/__init__.pyc", pyc(info, mtime=t, size=size), dos))
    files.append(("pkg/sub.py", REAL, dos))
    files.append(("pkg/sub.pyc", pyc(info, mtime=t + 2, size=size), dos))
    # A source with its cache file only in __pycache__ (what zipping a tree gives).
    tag = info["tag"] or "cpython-27"
    files.append(("pycache_only.py", REAL, dos))
    files.append(("__pycache__/pycache_only.%s.pyc" % tag, pyc(info, mtime=t, size=size), dos))
    files.append(("sourceless.pyc", pyc(info, mtime=12345, size=1), dos))
    files.append(("nosrc_badmagic.pyc", pyc(info, mtime=t, size=size, magic=b"\x00\x00\r\n"), dos))
    path = os.path.join(work, "app.zip")
    with zipfile.ZipFile(path, "w") as z:
        for name, data, dt in files:
            z.writestr(zipfile.ZipInfo(name, dt), data)
    names = sorted(set(n.rsplit(".", 1)[0].replace("/", ".").replace(".__init__", "")
                       for n, _, _ in files if "__pycache__" not in n))
    main = {"archive": path, "as": "zipimport", "expect": importer(py, path, names, work)}
    # An archive comment: zipimport before 3.8 cannot find the end record at all.
    cpath = os.path.join(work, "commented.zip")
    with zipfile.ZipFile(cpath, "w") as z:
        z.comment = b"built by a tool that signs its zips"
        z.writestr(zipfile.ZipInfo("cm.py", dos), REAL)
        z.writestr(zipfile.ZipInfo("cm.pyc", dos), pyc(info, mtime=t, size=size))
    commented = {"archive": cpath, "as": "zipimport", "expect": importer(py, cpath, ["cm"], work)}
    return [main, commented]


def cache_name(info, src):
    v = tuple(info["version"])
    if v < (3, 2):
        return src + "c"
    d, f = os.path.split(src)
    return os.path.join(d, "__pycache__", f[:-3] + "." + info["tag"] + ".pyc")


def extract_cases(py, info, work):
    v = tuple(info["version"])
    size = len(REAL)
    dos = (2024, 5, 1, 10, 0, 4)
    t_dos = int(time.mktime(dos + (0, 0, -1)))
    t_ut = 1_600_000_000  # UT mtime, far from the DOS fields: unzip must prefer it
    t_tar = 1_650_000_001  # odd: tar keeps whole seconds
    out = []

    def members(mtime):
        m = {"ts_ok": dict(mtime=mtime, size=size), "ts_bad": dict(mtime=mtime + 10, size=size)}
        if v >= (3, 7):
            m["hcheck_ok"] = dict(flags=3, hash=info["hash_real"])
            m["hcheck_bad"] = dict(flags=3, hash=info["hash_decoy"])
            m["hunchecked"] = dict(flags=1, hash=info["hash_decoy"])
        return m

    # zip: one archive for unzip and zipfile; ut_* entries carry an extended timestamp.
    zpath = os.path.join(work, "ext.zip")
    with zipfile.ZipFile(zpath, "w") as z:
        for name, hdr in members(t_dos).items():
            z.writestr(zipfile.ZipInfo(name + ".py", dos), REAL)
            z.writestr(zipfile.ZipInfo(cache_name(info, name + ".py"), dos), pyc(info, **hdr))
        for name, mt in (("ut_ok", t_ut), ("ut_bad", t_dos)):
            zi = zipfile.ZipInfo(name + ".py", dos)
            zi.extra = struct.pack("<HHBl", 0x5455, 5, 1, t_ut)
            z.writestr(zi, REAL)
            z.writestr(zipfile.ZipInfo(cache_name(info, name + ".py"), dos),
                       pyc(info, mtime=mt, size=size))
        z.writestr(zipfile.ZipInfo("sl.pyc", dos), pyc(info, mtime=1, size=1))
    names = sorted(set(list(members(0)) + ["ut_ok", "ut_bad", "sl"]))
    for use in ("unzip", "zipfile"):
        dest = os.path.join(work, "x-" + use)
        os.mkdir(dest)
        if use == "unzip":
            subprocess.run(["unzip", "-q", zpath, "-d", dest], check=True)
        else:
            with zipfile.ZipFile(zpath) as z:
                z.extractall(dest)
        out.append({"archive": zpath, "as": "extract=" + use,
                    "expect": importer(py, dest, names, work)})

    tpath = os.path.join(work, "ext.tar.gz")
    with tarfile.open(tpath, "w:gz", format=tarfile.GNU_FORMAT) as tf:
        def add(name, data, mtime):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), mtime, 0o644
            tf.addfile(ti, io.BytesIO(data))
        for name, hdr in members(t_tar).items():
            add(name + ".py", REAL, t_tar)
            add(cache_name(info, name + ".py"), pyc(info, **hdr), t_tar)
        add("sl.pyc", pyc(info, mtime=1, size=1), t_tar)
    dest = os.path.join(work, "x-tar")
    os.mkdir(dest)
    subprocess.run(["tar", "-xzf", tpath, "-C", dest], check=True)
    tnames = sorted(set(list(members(0)) + ["sl"]))
    out.append({"archive": tpath, "as": "extract=tar", "expect": importer(py, dest, tnames, work)})
    return out


def main():
    py, work = sys.argv[1], sys.argv[2]
    info = probe(py, work)
    cases = zipimport_case(py, info, work)
    if not py.startswith("pyodide:"):
        # Under pyodide there are no unzip/tar processes and files get the copy's mtime.
        cases += extract_cases(py, info, work)
    json.dump(cases, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
