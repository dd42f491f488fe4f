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
