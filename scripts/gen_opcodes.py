#!/usr/bin/env python3
"""Dump each interpreter's own opcode metadata to crates/pyc-dis/data/opcodes-X.Y.json.

Every fact in the tables comes from the interpreter's own `opcode` and `dis` modules (2.7 and
3.6-3.13 from pyenv, 3.14 and 3.15 under pyodide, see scripts/pythons.py). Nothing is typed by
hand; pyc-dis reads these files with include_str! and serde.

    python3 scripts/gen_opcodes.py            # all interpreters found
    python3 scripts/gen_opcodes.py 3.12 3.13  # only these
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pythons import interpreters  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "pyc-dis", "data")

# Runs inside the interpreter (Python 2.7 syntax too). Normalises the different shapes the
# metadata has had over the versions into one layout; the values are the interpreter's own.
DUMP = r'''
import dis, json, opcode, sys
try:
    import importlib.util as _u
    magic = int.from_bytes(_u.MAGIC_NUMBER[:2], "little")
except Exception:
    import imp, struct
    magic = struct.unpack("<H", imp.get_magic()[:2])[0]

def g(name, default=None):
    for m in (dis, opcode):
        if hasattr(m, name):
            return getattr(m, name)
    return default

def ops(name):
    v = g(name)
    if v is None:
        return None
    return sorted(set(int(x) for x in v if int(x) < 256))

opname = list(opcode.opname)[:256]
all_opname = list(g("_all_opname", opname))[:256]
opmap = dict(opcode.opmap)
all_opmap = dict(g("_all_opmap", opmap))
have_argument = opcode.HAVE_ARGUMENT
hasarg = ops("hasarg")
if hasarg is None:
    hasarg = [op for op in range(256) if op >= have_argument]

deopt = {}
deoptmap = g("deoptmap")
if deoptmap:
    for spec, base in deoptmap.items():
        if spec in all_opmap and all_opmap[spec] < 256:
            deopt[str(all_opmap[spec])] = all_opmap[base]

cache_entries = [0] * 256
ice = g("_inline_cache_entries")
if hasattr(ice, "items"):
    for name, n in ice.items():
        if name in opmap and opmap[name] < 256:
            cache_entries[opmap[name]] = n
elif ice is not None:
    for op, n in enumerate(list(ice)[:256]):
        cache_entries[op] = n

cache_format = {}
for name, fields in (g("_cache_format") or {}).items():
    cache_format[name] = [[k, v] for k, v in fields.items()]

backward = []
ibj = g("_is_backward_jump")
if ibj is not None:
    for op in range(256):
        try:
            if ibj(op):
                backward.append(op)
        except Exception:
            pass

def reprs(seq):
    out = []
    for obj in seq:
        if isinstance(obj, type):
            out.append(obj.__name__)
        else:
            out.append(repr(obj))
    return out

cc = g("_common_constants")
common = None
if cc is not None:
    common = []
    for i, obj in enumerate(cc):
        # dis: argrepr is the type's __name__ or repr(obj); argval known for literals only
        common.append({"argrepr": obj.__name__ if isinstance(obj, type) else repr(obj)})

nb = g("_nb_ops")
out = {
    "python": sys.version.split()[0],
    "magic": magic,
    "have_argument": have_argument,
    "extended_arg": opcode.EXTENDED_ARG,
    "opname": opname,
    "all_opname": all_opname,
    "deopt": deopt,
    "hasarg": hasarg,
    "hasconst": ops("hasconst"),
    "hasname": ops("hasname"),
    "hasjrel": ops("hasjrel"),
    "hasjabs": ops("hasjabs") or [],
    "hasjump": ops("hasjump"),
    "hasexc": ops("hasexc"),
    "haslocal": ops("haslocal"),
    "hasfree": ops("hasfree"),
    "hascompare": ops("hascompare"),
    "hasnargs": ops("hasnargs"),
    "backward_jumps": backward,
    "cache_entries": cache_entries,
    "cache_format": cache_format,
    "cmp_op": list(opcode.cmp_op),
    "nb_ops": [[a, b] for a, b in nb] if nb else None,
    "intrinsic_1": list(g("_intrinsic_1_descs") or []) or None,
    "intrinsic_2": list(g("_intrinsic_2_descs") or []) or None,
    "function_flags": list(g("FUNCTION_ATTR_FLAGS") or g("MAKE_FUNCTION_FLAGS") or []) or None,
    "common_constants": common,
    "special_method_names": list(g("_special_method_names") or []) or None,
}
sys.stdout.write(json.dumps(out, indent=1, sort_keys=True) + "\n")
'''


def main(argv):
    want = set(argv)
    os.makedirs(OUT, exist_ok=True)
    for py in interpreters():
        if want and py.version not in want:
            continue
        if py.version not in ("2.7",) and tuple(map(int, py.version.split("."))) < (3, 6):
            continue
        r = py.run(DUMP)
        if r.error:
            sys.exit("%s: %s\n%s" % (py, r.error, r.stderr))
        data = json.loads(r.stdout)
        path = os.path.join(OUT, "opcodes-%s.json" % py.version)
        with open(path, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%s %s magic %d -> %s" % (py.version, data["python"], data["magic"], os.path.relpath(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
