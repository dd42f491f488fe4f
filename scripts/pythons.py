"""Find the real CPython interpreters that fixture scripts use.

Every fixture generator imports this module. Interpreters come from pyenv (2.7, 3.6-3.13 on the
project's machines) and from pyodide under Node for 3.14 and 3.15. Run from any Python 3.8+.

    from pythons import interpreters
    for py in interpreters():          # oldest first
        out = py.run(code, files={"m.py": b"x = 1\n"}, collect=True)
        out.stdout, out.files          # files written under the work dir, relative names
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node")
# Inside pyodide the work dir is always this path, so recorded paths are comparable.
PYODIDE_WORK = "/work"


class Result:
    def __init__(self, stdout, stderr, files, error=None):
        self.stdout, self.stderr, self.files, self.error = stdout, stderr, files, error


class Interpreter:
    """One CPython: `version` is "X.Y", `full` the full version string."""

    def __init__(self, version, full, kind, path=None):
        self.version, self.full, self.kind, self.path = version, full, kind, path

    def __repr__(self):
        return "<%s %s %s>" % (self.kind, self.full, self.path or "")

    def run(self, code, files=None, env=None, collect=False, cwd_name="work"):
        """Run `code` with the current directory set to a fresh work dir holding `files`
        (relative name -> bytes). Returns stdout, stderr and, with collect, every file under
        the work dir afterwards (relative name -> bytes). Bytecode writing is enabled."""
        files = files or {}
        if self.kind == "pyodide":
            return self._run_pyodide(code, files, collect)
        with tempfile.TemporaryDirectory() as tmp:
            work = os.path.join(tmp, cwd_name)
            os.makedirs(work)
            for name, data in files.items():
                p = os.path.join(work, name)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(data)
            e = dict(os.environ)
            e.pop("PYTHONDONTWRITEBYTECODE", None)
            e.pop("PYTHONPYCACHEPREFIX", None)
            e["PYTHONHASHSEED"] = "0"
            e.update(env or {})
            p = subprocess.run([self.path, "-c", code], cwd=work, env=e,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out = {}
            if collect:
                for root, _, names in os.walk(work):
                    for n in names:
                        full = os.path.join(root, n)
                        with open(full, "rb") as f:
                            out[os.path.relpath(full, work)] = f.read()
            return Result(p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                          out, None if p.returncode == 0 else "exit %d" % p.returncode)

    def _run_pyodide(self, code, files, collect):
        prologue = ("import os, sys\nsys.dont_write_bytecode = False\n"
                    "os.makedirs(%r, exist_ok=True)\nos.chdir(%r)\n" % (PYODIDE_WORK, PYODIDE_WORK))
        req = {
            "code": prologue + code,
            "files": {PYODIDE_WORK + "/" + n: base64.b64encode(d).decode() for n, d in files.items()},
            "collect": [PYODIDE_WORK] if collect else [],
        }
        p = subprocess.run(["node", os.path.join(NODE_DIR, "run.mjs"), self.version],
                           input=json.dumps(req).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=NODE_DIR)
        if p.returncode != 0:
            return Result("", p.stderr.decode("utf-8", "replace"), {}, "node exit %d" % p.returncode)
        resp = json.loads(p.stdout)
        out = {os.path.relpath(k, PYODIDE_WORK): base64.b64decode(v) for k, v in resp["files"].items()}
        return Result(resp["stdout"], resp["stderr"], out, resp["error"])


def pyenv_interpreters():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if shutil.which("pyenv"):
        try:
            root = subprocess.check_output(["pyenv", "root"]).decode().strip()
        except Exception:
            pass
    found = {}
    vdir = os.path.join(root, "versions")
    for name in sorted(os.listdir(vdir)) if os.path.isdir(vdir) else []:
        parts = name.split(".")
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
            continue
        exe = os.path.join(vdir, name, "bin", "python")
        if os.access(exe, os.X_OK):
            found["%s.%s" % (parts[0], parts[1])] = Interpreter("%s.%s" % (parts[0], parts[1]), name, "pyenv", exe)
    return found


def ensure_pyodide():
    """Install the pyodide packages (npm) if they are not there; False if that is impossible."""
    if not shutil.which("node") or not shutil.which("npm"):
        return False
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "pyodide315")):
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR)
        if r.returncode != 0:
            return False
    return True


def interpreters(pyodide=True):
    """Every interpreter found, oldest first: pyenv's, then 3.14/3.15 under pyodide."""
    found = pyenv_interpreters()
    if pyodide and ensure_pyodide():
        found.setdefault("3.14", Interpreter("3.14", "3.14.2 (pyodide 314.0.7)", "pyodide"))
        found.setdefault("3.15", Interpreter("3.15", "3.15.0rc1 (pyodide 315.0.0-alpha.2)", "pyodide"))
    key = lambda v: tuple(int(x) for x in v.split("."))
    return [found[v] for v in sorted(found, key=key)]


if __name__ == "__main__":
    for py in interpreters():
        r = py.run("import sys; print(sys.version.split()[0])")
        print(py.version, py.kind, r.stdout.strip() or r.error)
