"""Anchor for `pyc path --to-cache`: importlib.util.cache_from_source for every path in a list
file, in one Python process, one answer a line."""
import importlib.util
import sys

out = sys.stdout
cache_from_source = importlib.util.cache_from_source
with open(sys.argv[1]) as f:
    for line in f:
        out.write(cache_from_source(line.rstrip("\n")) + "\n")
