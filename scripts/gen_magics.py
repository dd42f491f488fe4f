#!/usr/bin/env python3
"""Regenerate tests/fixtures/magics/<X.Y>.json: the magic-number table each real interpreter
ships, as (magic, release) pairs.

Each pyenv CPython (3.6-3.13) is asked for the text of its own
`importlib/_bootstrap_external.py`; the "Known values" comment block (1.5 to that version) is
parsed into one entry per listed magic number, and the interpreter's `MAGIC_NUMBER` is recorded
with it. (3.14 and 3.15 moved the table to `Include/internal/pycore_magic_number.h`, which
pyodide does not ship; their own magic numbers are in tests/fixtures/headers/.)

pyc-format's tests check that every magic listed by any interpreter is in pyc's table with the
version its release names, and that pyc's table lists no magic (up to 3.13) that no
interpreter's table has.

Usage: scripts/gen_magics.py
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pythons import interpreters  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "magics")

CODE = r'''
import importlib, importlib.util, os, json, sys
p = os.path.join(os.path.dirname(importlib.__file__), '_bootstrap_external.py')
with open(p, encoding='utf-8') as f:
    text = f.read()
print('JSON:' + json.dumps({'version': '%d.%d' % sys.version_info[:2],
                            'magic': int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'),
                            'source': text}))
'''

# "#     Python 3.6rc1  3379 (more ...)", "#  Python 1.5:   20121", "#     Python 3000:   3000"
HEAD = re.compile(r"^#\s+Python\s+([0-9][0-9a-z.]*):?\s+(\d+)\b")
# "#                    3010 (removed UNARY_CONVERT)": a further magic of the release above.
CONT = re.compile(r"^#\s{10,}(\d{4,5})\s+\(")


def parse(source):
    entries, release, inside = [], None, False
    for line in source.splitlines():
        if line.startswith("# Known values:"):
            inside = True
            continue
        if not inside:
            continue
        if not line.startswith("#"):
            if entries and not line.strip().startswith("#"):
                break
            continue
        m = HEAD.match(line)
        if m:
            release = m.group(1)
            entries.append({"release": release, "magic": int(m.group(2))})
            continue
        m = CONT.match(line)
        if m and release:
            entries.append({"release": release, "magic": int(m.group(1))})
    return entries


def main():
    os.makedirs(OUT, exist_ok=True)
    for py in interpreters(pyodide=False):
        if py.version == "2.7":
            continue  # 2.7's magics live in C (Python/import.c), not in a Python table.
        r = py.run(CODE)
        line = [l for l in r.stdout.splitlines() if l.startswith("JSON:")]
        if r.error or not line:
            print("%s: FAILED %s\n%s" % (py.version, r.error, r.stderr), file=sys.stderr)
            return 1
        data = json.loads(line[0][5:])
        entries = parse(data.pop("source"))
        data["interpreter"] = py.full
        data["generated_by"] = "scripts/gen_magics.py"
        data["table"] = entries
        with open(os.path.join(OUT, py.version + ".json"), "w") as f:
            json.dump(data, f, indent=0, sort_keys=True)
            f.write("\n")
        print("%-5s magic %d, table of %d entries (last %s)" % (
            py.version, data["magic"], len(entries), entries[-1] if entries else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
