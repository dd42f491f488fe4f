// Run Python code in CPython 3.14 or 3.15 (pyodide) with `-X importtime[=N]` given as an
// interpreter argument, so the import-time rows of pyodide's own start-up and of the code are
// written to stderr. Used by scripts/gen_importtime.py.
// Usage: node importtime.mjs 3.14|3.15 importtime|importtime=2 < request.json > response.json
// request:  {"code": "...python...", "files": {"/work/a.py": "<base64>"}}
// response: {"stdout": "...", "stderr": "...", "error": null|"..."}
import { readFileSync } from "node:fs";

const which = process.argv[2];
const xopt = process.argv[3] || "importtime";
const pkg = { "3.14": "pyodide314", "3.15": "pyodide315" }[which];
if (!pkg) {
  console.error("usage: node importtime.mjs 3.14|3.15 importtime[=N] < request.json");
  process.exit(2);
}
const { loadPyodide } = await import(pkg);
const req = JSON.parse(readFileSync(0, "utf8"));
let stdout = "", stderr = "";
const py = await loadPyodide({
  args: ["-X", xopt],
  stdout: (s) => { stdout += s + "\n"; },
  stderr: (s) => { stderr += s + "\n"; },
});
const FS = py.FS;
function mkdirs(p) {
  let cur = "";
  for (const part of p.split("/").filter(Boolean)) {
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
process.stdout.write(JSON.stringify({ stdout, stderr, error }));
