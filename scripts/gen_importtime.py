"""Regenerate tests/fixtures/importtime/: raw `-X importtime` stderr of every installed 3.7+
CPython, with what the interpreter itself says about the same run.

For each interpreter and case this writes two files:

  <X.Y>-<case>.stderr   the raw stderr of `python -X importtime -c CODE`, byte for byte
  <X.Y>-<case>.json     facts from inside the same process: `sys.modules` in insertion order
                        (importlib moves a module to the end of sys.modules when its body has
                        run, so this is the finish order, like the rows), the order in which
                        imports started (an audit hook, 3.8+: the pre-order), the names that were imported but failed,
                        sys.builtin_module_names, the frozen modules among sys.modules
                        (`_imp.is_frozen`), the version, and the -X option used.

Cases:
  stdlib       `import json, email.message`
  interleaved  the program writes to stderr between imports (also a partial line with no
               newline just before an import) and tries an import that fails
  package      a generated package `pkg` (pkg -> pkg.a -> pkg.b, pkg.c imports pkg.a again)

3.14 and 3.15 run in pyodide under Node (scripts/node/importtime.mjs passes `-X importtime` as
an interpreter argument); there the cases also run with `-X importtime=2`, which adds the
`cached` rows for imports of modules already in sys.modules. Pyodide's output includes its own
start-up imports (pyodide, _pyodide, ...), which is what that interpreter really prints.

Run:  python3 scripts/gen_importtime.py
"""
import base64
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pythons import interpreters, NODE_DIR  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "fixtures", "importtime")

# Runs first: an audit hook (3.8+) records the "import" event that CPython raises when an
# import starts (import_find_and_load, the same place the -X importtime clock starts), so the
# start order (pre-order) is known from inside too. Extension modules raise it a second time.
HOOK = r"""
import sys as _s
_STARTS = None
if hasattr(_s, 'addaudithook'):
    _STARTS = []
    def _hook(ev, args, _add=_STARTS.append):
        if ev == 'import':
            _add(args[0])
    _s.addaudithook(_hook)
"""

# Valid on 3.7+: prints one JSON line of facts to stdout.
FACTS = r"""
_starts = None if _STARTS is None else list(_STARTS)
import sys as _s, json as _j
try:
    import _imp as _i
    _frozen = [m for m in list(_s.modules) if _i.is_frozen(m)]
except Exception:
    _frozen = []
_s.stdout.write(_j.dumps({
    'version': '%d.%d.%d' % _s.version_info[:3],
    'modules': list(_s.modules),
    'starts': _starts,
    'failed': _FAILED,
    'builtin_module_names': list(_s.builtin_module_names),
    'frozen': _frozen,
    'xoptions': dict(_s._xoptions),
}) + '\n')
"""

CASES = {
    "stdlib": ("_FAILED = []\nimport json, email.message\n", {}),
    "interleaved": (
        "_FAILED = []\n"
        "import sys\n"
        "sys.stderr.write('program: before the imports\\n'); sys.stderr.flush()\n"
        "import json\n"
        "sys.stderr.write('program: a line with | bars | like a row\\n'); sys.stderr.flush()\n"
        "sys.stderr.write('import time: not a row at all\\n'); sys.stderr.flush()\n"
        "sys.stderr.write('partial line without newline: '); sys.stderr.flush()\n"
        "import textwrap\n"
        "try:\n"
        "    import no_such_module_for_pyc_importtime\n"
        "except ImportError:\n"
        "    _FAILED.append('no_such_module_for_pyc_importtime')\n"
        "sys.stderr.write('\\nprogram: after the imports\\n'); sys.stderr.flush()\n",
        {},
    ),
    "package": (
        "_FAILED = []\nimport pkg\nimport pkg.c\n",
        {
            "pkg/__init__.py": b"from . import a\nVALUE = a.VALUE\n",
            "pkg/a.py": b"from . import b\nVALUE = b.VALUE + 1\n",
            "pkg/b.py": b"import json\nVALUE = len(json.dumps([1, 2]))\n",
            "pkg/c.py": b"from . import a\nimport pkg.b\nVALUE = a.VALUE * 2\n",
        },
    ),
}


# The interleaved case's own stderr lines, as the code above writes them.
PROGRAM_STDERR = {
    "interleaved": [
        "program: before the imports",
        "program: a line with | bars | like a row",
        "import time: not a row at all",
        "partial line without newline: ",
        "",
        "program: after the imports",
    ],
}


def run_native(py, code, files):
    """`python -X importtime -c code` in a fresh work dir holding files; raw stderr bytes."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            p = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        env["PYTHONHASHSEED"] = "0"
        p = subprocess.run([py.path, "-X", "importtime", "-c", code], cwd=tmp, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise SystemExit("%s failed: %s" % (py, p.stderr.decode()[-2000:]))
        return p.stdout.decode(), p.stderr


def run_pyodide(py, code, files, xopt):
    prologue = "import os, sys\nos.makedirs('/work', exist_ok=True)\nos.chdir('/work')\nsys.path.insert(0, '/work')\n"
    req = {"code": prologue + code,
           "files": {"/work/" + n: base64.b64encode(d).decode() for n, d in files.items()}}
    p = subprocess.run(["node", os.path.join(NODE_DIR, "importtime.mjs"), py.version, xopt],
                       input=json.dumps(req).encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=NODE_DIR)
    if p.returncode != 0:
        raise SystemExit("%s: node failed: %s" % (py, p.stderr.decode()[-2000:]))
    resp = json.loads(p.stdout)
    if resp["error"]:
        raise SystemExit("%s: %s" % (py, resp["error"]))
    return resp["stdout"], resp["stderr"].encode()


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    made = []
    for py in interpreters():
        if tuple(int(x) for x in py.version.split(".")) < (3, 7):
            continue  # -X importtime is new in 3.7
        runs = [("importtime", "")]
        if py.kind == "pyodide":
            runs.append(("importtime=2", "-x2"))
        for case, (code, files) in CASES.items():
            for xopt, suffix in runs:
                if py.kind == "pyodide":
                    stdout, stderr = run_pyodide(py, HOOK + code + FACTS, files, xopt)
                else:
                    stdout, stderr = run_native(py, HOOK + code + FACTS, files)
                facts = json.loads(stdout.strip().splitlines()[-1])
                facts["interpreter"] = py.full
                facts["kind"] = py.kind
                facts["case"] = case
                facts["xoption"] = xopt
                # What the program itself wrote to stderr, line by line (the rows aside).
                facts["program_stderr"] = PROGRAM_STDERR.get(case, [])
                base = "%s-%s%s" % (py.version, case, suffix)
                with open(os.path.join(OUT, base + ".stderr"), "wb") as f:
                    f.write(stderr)
                with open(os.path.join(OUT, base + ".json"), "w") as f:
                    json.dump(facts, f, indent=1, sort_keys=True)
                    f.write("\n")
                made.append(base)
    print("wrote %d fixtures to %s" % (len(made), os.path.normpath(OUT)))
    for m in made:
        print("  " + m)


if __name__ == "__main__":
    main()
