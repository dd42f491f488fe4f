#!/usr/bin/env python3
"""Render `pyc importtime`'s SVG and HTML charts in real headless Chromium and check that the
named modules are drawn.

    python3 scripts/check_importtime_render.py [--python X.Y|PATH] [--code CODE]
                                               [--out DIR] [--png FILE]

Needs Debian's `chromium` (apt-get install -y chromium) and a CPython 3.8+. Steps:
  1. builds pyc (cargo build --bin pyc) and runs
     `pyc importtime -n 3 --format json --svg S --html H -c CODE`;
  2. from the JSON, picks the modules wide enough to carry a label (their median cold
     cumulative time is at least 8% of the panel's scale);
  3. Chromium --dump-dom on the SVG and on the HTML: each picked module has its box
     (<g data-module=...><rect>) and a <text> with its name (or its name cut with '…');
  4. Chromium --screenshot of the SVG: every picked module's box, read from the PNG's pixels,
     shows its fill colour and dark text pixels (so the label is really painted), and both
     panels (cold left, warm right) are painted.
Exit 0 when all checks pass, 1 with the failures listed otherwise. --png copies the
screenshot (e.g. to docs/importtime.png).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PANEL_W = 640.0  # crates/pyc-importtime/src/render.rs
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    sys.exit("no chromium found: apt-get update && apt-get install -y chromium")


def run_chromium(args, profile):
    cmd = [chromium()] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        sys.exit("chromium failed: %s" % p.stderr.decode(errors="replace")[-2000:])
    return p.stdout.decode("utf-8", "replace")


class Boxes(HTMLParser):
    """Collects each <g data-module> with its first <rect> and its <text> content."""

    def __init__(self):
        super().__init__()
        self.boxes = []  # (module, panel, rect attrs, text)
        self.panel = None
        self.cur = None
        self.in_text = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "g" and "panel" in (a.get("class") or ""):
            self.panel = "warm" if "warm" in a["class"] else "cold"
        elif tag == "g" and "data-module" in a:
            self.cur = {"module": a["data-module"], "panel": self.panel, "rect": None, "text": ""}
        elif tag == "rect" and self.cur is not None and self.cur["rect"] is None:
            self.cur["rect"] = {k: float(a[k]) for k in ("x", "y", "width", "height")}
            self.cur["fill"] = a.get("fill")
        elif tag == "text" and self.cur is not None:
            self.in_text = True

    def handle_endtag(self, tag):
        if tag == "text":
            self.in_text = False
        elif tag == "g" and self.cur is not None:
            self.boxes.append(self.cur)
            self.cur = None

    def handle_data(self, data):
        if self.in_text and self.cur is not None:
            self.cur["text"] += data


def read_png(path):
    """(width, height, rows of RGB(A) tuples) of an 8-bit RGB/RGBA non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def hex_rgb(s):
    s = s.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def close(c1, c2, tol=12):
    return all(abs(a - b) <= tol for a, b in zip(c1, c2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default=None)
    ap.add_argument("--code", default="import json, email.message")
    ap.add_argument("--out", default=None, help="keep the SVG/HTML/PNG here")
    ap.add_argument("--png", default=None, help="copy the screenshot here")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "-q", "--bin", "pyc"], cwd=ROOT, check=True)
    pyc = os.path.join(ROOT, "target", "debug", "pyc")
    out = args.out or tempfile.mkdtemp(prefix="pyc-render-")
    os.makedirs(out, exist_ok=True)
    svg, html = os.path.join(out, "importtime.svg"), os.path.join(out, "importtime.html")
    cmd = [pyc, "importtime", "-n", "3", "--format", "json", "--svg", svg, "--html", html]
    if args.python:
        cmd += ["--python", args.python]
    p = subprocess.run(cmd + ["-c", args.code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("pyc importtime failed: " + p.stderr.decode(errors="replace"))
    report = json.loads(p.stdout)["reports"][0]

    # The modules whose cold box is wide enough for a label.
    total = max(sum(m["cold_cumulative"]["median"] for m in report["modules"]),
                sum(m["warm_cumulative"]["median"] for m in report["modules"]))
    picked = []

    def walk(ms):
        for m in ms:
            if m["cold_cumulative"]["median"] / total * PANEL_W >= 0.08 * PANEL_W:
                picked.append(m["name"])
            walk(m["children"])
    walk(report["modules"])
    failures = []
    if len(picked) < 3:
        failures.append("too few wide modules to check: %r" % picked)

    profile = tempfile.mkdtemp(prefix="pyc-chromium-")
    try:
        for path in (svg, html):
            dom = run_chromium(["--dump-dom", "file://" + path], profile)
            parser = Boxes()
            parser.feed(dom)
            cold = {b["module"]: b for b in parser.boxes if b["panel"] == "cold"}
            for name in picked:
                b = cold.get(name)
                if b is None:
                    failures.append("%s: no box for %s" % (os.path.basename(path), name))
                    continue
                t = b["text"]
                if not (t == name or (t.endswith("…") and name.startswith(t[:-1]) and len(t) > 3)):
                    failures.append("%s: box of %s is labelled %r" % (os.path.basename(path), name, t))
            if not any(b["panel"] == "warm" for b in parser.boxes):
                failures.append("%s: the warm panel is empty" % os.path.basename(path))
            if path == svg:
                svg_boxes = parser.boxes
        png = os.path.join(out, "importtime.png")
        with open(svg, encoding="utf-8") as f:
            head = f.read(400)
        size = [int(float(head.split(k + '="', 1)[1].split('"', 1)[0])) for k in ("width", "height")]
        run_chromium(["--screenshot=" + png, "--window-size=%d,%d" % tuple(size),
                      "file://" + svg], profile)
    finally:
        shutil.rmtree(profile, ignore_errors=True)

    w, h, rows = read_png(png)
    cold = {b["module"]: b for b in svg_boxes if b["panel"] == "cold"}
    for name in picked:
        b = cold.get(name)
        if b is None:
            continue
        r = b["rect"]
        x0, x1 = int(r["x"]) + 1, int(r["x"] + r["width"]) - 1
        y0, y1 = int(r["y"]) + 1, int(r["y"] + r["height"]) - 1
        px = [rows[y][x] for y in range(y0, min(y1, h)) for x in range(x0, min(x1, w))]
        fill = hex_rgb(b["fill"])
        filled = sum(close(c, fill) for c in px)
        dark = sum(sum(c) < 3 * 90 for c in px)
        if filled < len(px) * 0.3:
            failures.append("png: %s's box is not painted in %s" % (name, b["fill"]))
        if dark < 5:
            failures.append("png: %s's label is not painted" % name)
    for panel in ("cold", "warm"):
        bs = [b for b in svg_boxes if b["panel"] == panel and b["rect"]["width"] >= 3]
        ok = any(close(rows[int(b["rect"]["y"]) + 4][int(b["rect"]["x"]) + 1], hex_rgb(b["fill"]))
                 for b in bs)
        if not ok:
            failures.append("png: nothing painted in the %s panel" % panel)
    if args.png:
        shutil.copyfile(png, args.png)
    print("checked %d labelled modules in %s (SVG and HTML DOM, screenshot pixels): %s"
          % (len(picked), out, ", ".join(picked)))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
