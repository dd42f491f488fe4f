// Run Python code in CPython 3.14 or 3.15 (pyodide) and exchange files through pyodide.FS.
// Usage: node run.mjs 3.14|3.15 < request.json > response.json
// request:  {"code": "...python...", "files": {"/work/a.py": "<base64>"}, "collect": ["/work"]}
// response: {"stdout": "...", "stderr": "...", "error": null|"...", "files": {"/work/x.pyc": "<base64>"}}
import { readFileSync } from "node:fs";

const which = process.argv[2];
const pkg = { "3.14": "pyodide314", "3.15": "pyodide315" }[which];
if (!pkg) {
  console.error("usage: node run.mjs 3.14|3.15 < request.json");
  process.exit(2);
}
const { loadPyodide } = await import(pkg);
const req = JSON.parse(readFileSync(0, "utf8"));
let stdout = "", stderr = "";
const py = await loadPyodide({
  stdout: (s) => { stdout += s + "\n"; },
  stderr: (s) => { stderr += s + "\n"; },
});
const FS = py.FS;
function mkdirs(p) {
  const parts = p.split("/").filter(Boolean);
  let cur = "";
  for (const part of parts) {
    cur += "/" + part;
    try { FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}
for (const [path, b64] of Object.entries(req.files || {})) {
  mkdirs(path.substring(0, path.lastIndexOf("/")));
  FS.writeFile(path, Buffer.from(b64, "base64"));
}
let error = null;
try {
  py.runPython(req.code);
} catch (e) {
  error = String(e);
}
const files = {};
function walk(dir) {
  let names;
  try { names = FS.readdir(dir); } catch (e) { return; }
  for (const name of names) {
    if (name === "." || name === "..") continue;
    const p = dir + "/" + name;
    const st = FS.stat(p);
    if (FS.isDir(st.mode)) walk(p);
    else files[p] = Buffer.from(FS.readFile(p)).toString("base64");
  }
}
for (const d of req.collect || []) walk(d);
process.stdout.write(JSON.stringify({ stdout, stderr, error, files }));
