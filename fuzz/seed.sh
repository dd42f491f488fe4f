#!/bin/sh
# Seed the fuzz corpus from real pycs: the golden fixtures of every version and a sample of
# each installed interpreter's standard library (small files first, to keep runs fast).
set -e
cd "$(dirname "$0")"
mkdir -p corpus/marshal_read
for f in ../tests/fixtures/marshal/*/era.pyc; do
  cp "$f" "corpus/marshal_read/fixture-$(basename "$(dirname "$f")").pyc"
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for v in "$root"/versions/*; do
  find "$v/lib" -name '*.pyc' -size -8k 2>/dev/null | grep -v site-packages | head -150 |
    while read -r f; do cp "$f" "corpus/marshal_read/$(basename "$v")-$(echo "$f" | md5sum | cut -c1-12).pyc"; done
done
# The disassembler starts from the same real pycs.
mkdir -p corpus/dis_pyc
cp corpus/marshal_read/* corpus/dis_pyc/
ls corpus/marshal_read | wc -l
# pyc diff: pairs (2-byte length, then two pycs): each real pyc with itself, and with the
# next one of the same interpreter.
mkdir -p corpus/diff_pycs
python3 - <<'PY'
import os, struct
src = "corpus/marshal_read"
names = sorted(n for n in os.listdir(src) if os.path.getsize(os.path.join(src, n)) < 8000)
for a, b in zip(names, names[1:] + names[:1]):
    da, db = (open(os.path.join(src, n), "rb").read() for n in (a, b))
    for tag, other in (("self", da), ("next", db)):
        with open("corpus/diff_pycs/%s-%s" % (tag, a), "wb") as f:
            f.write(struct.pack("<H", len(da)) + da + other)
PY
ls corpus/diff_pycs | wc -l
