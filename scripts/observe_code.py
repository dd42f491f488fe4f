"""What a user can observe of the code in pycs, as the interpreter running this script loads it.

    python observe_code.py A.pyc [B.pyc ...]          # one JSON document per file, in order
    python observe_code.py --compare A1 B1 [A2 B2 ...]  # exit 1 and list what differs, per pair
                                                      # (exit 2: it could not tell)

For each pyc the body is loaded with this interpreter's own `marshal.loads` (so run it with
the interpreter that wrote the pycs) and every code object is walked, nested ones included.
The record says, per place (`co_consts[2].co_consts[0].co_name`):
* every `co_*` data field (its repr; bytes fields such as `co_code` and the line table too);
* for every str, its value and whether it loaded **interned** (`sys.intern` of an equal copy
  returns this very object);
* for every frozenset, its elements **in iteration order** (what a `for` over the literal
  sees), each described the same way.

Every pyc is loaded before any string is checked, so checking cannot intern what a later
load would have found interned. Works on CPython 2.7 and 3.x (pyodide included).
"""
import json
import marshal
import sys

PY3 = sys.version_info[0] >= 3
text_type = str if PY3 else unicode  # noqa: F821 (Python 2)
long_type = int if PY3 else long  # noqa: F821 (Python 2)


def header_size(data):
    if not PY3:
        return 8
    v = sys.version_info[:2]
    if v >= (3, 7):
        return 16
    if v >= (3, 3):
        return 12
    return 8


def copy_of(s):
    # A new object with the same value (slicing or ''.join may return the same object).
    return s[:1] + s[1:] if len(s) > 1 else (s + "x")[:1] if s else "".join([])


def is_interned(s):
    if len(s) == 0:
        # There is one empty str; interned or not, every '' is that object.
        return "empty"
    c = copy_of(s)
    if c is s:
        return "unknown"
    return sys.intern(c) is s if PY3 else intern(c) is s  # noqa: F821


CODE_FIELDS_SKIP = {"co_lnotab"}  # derived from co_linetable from 3.10 (and warns from 3.12)


def code_fields(code):
    names = [n for n in dir(code) if n.startswith("co_")]
    if "co_linetable" in names:
        names = [n for n in names if n not in CODE_FIELDS_SKIP]
    return sorted(n for n in names if not callable(getattr(code, n, None)))


def describe(root):
    """A list of (place, description) for everything observable under `root` (iterative)."""
    out = []
    stack = [("", root)]
    while stack:
        place, o = stack.pop()
        t = type(o)
        if t is type(root) and hasattr(o, "co_code"):
            fields = code_fields(o)
            out.append((place or "<code>", "code"))
            for name in reversed(fields):
                stack.append(((place + "." if place else "") + name, getattr(o, name)))
        elif t is text_type:
            out.append((place, "str %r interned=%s" % (o, is_interned(o) if PY3 else "n/a")))
        elif not PY3 and t is bytes:
            out.append((place, "bytes %r interned=%s" % (o, is_interned(o))))
        elif t is tuple:
            out.append((place, "tuple len=%d" % len(o)))
            for i in reversed(range(len(o))):
                stack.append(("%s[%d]" % (place, i), o[i]))
        elif t is frozenset:
            items = list(o)
            out.append((place, "frozenset len=%d (iteration order below)" % len(items)))
            for i in reversed(range(len(items))):
                stack.append(("%s{%d}" % (place, i), items[i]))
        else:
            # Ints by hex: repr may refuse big ones (the 4300-digit limit, backported to 3.7+).
            r = hex(o) if t in (int, long_type) else repr(o)
            if t is float:
                r = "%s %s" % (r, o.hex())
            elif t is complex:
                r = "%s %s %s" % (r, o.real.hex(), o.imag.hex())
            out.append((place, "%s %s" % (t.__name__, r)))
    return out


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    return marshal.loads(data[header_size(data):])


def differences(a, b, limit=20):
    """Lines naming the first places where two descriptions differ."""
    lines = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            lines.append("- %r\n+ %r" % (x, y))
            if len(lines) >= limit:
                lines.append("... (more differences)")
                break
    return lines


def main(argv):
    compare = argv[:1] == ["--compare"]
    paths = argv[1:] if compare else argv
    if compare and len(paths) % 2:
        sys.stderr.write("--compare takes pairs of pycs\n")
        return 2
    codes = [load(p) for p in paths]  # all loaded before any check
    docs = [describe(c) for c in codes]
    if not compare:
        for p, d in zip(paths, docs):
            sys.stdout.write(json.dumps({"pyc": p, "observed": d}) + "\n")
        return 0
    status = 0
    for i in range(0, len(paths), 2):
        lines = differences(docs[i], docs[i + 1])
        if lines:
            status = 1
            sys.stdout.write("%s vs %s:\n%s\n" % (paths[i], paths[i + 1], "\n".join(lines)))
    if status == 0:
        sys.stdout.write("same %d\n" % (len(paths) // 2))
    return status


if __name__ == "__main__":
    # Exit 1 means "they differ": anything that goes wrong is 2, never 1.
    try:
        status = main(sys.argv[1:])
    except BaseException as e:  # noqa: B902 (report everything, including SystemExit)
        sys.stderr.write("observe_code: %s: %s\n" % (type(e).__name__, e))
        status = 2
    sys.exit(status)
