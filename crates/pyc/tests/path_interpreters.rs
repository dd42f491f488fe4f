//! `pyc path` (the CLI) against every real interpreter's own `cache_from_source` /
//! `source_from_cache` answers, including the exceptions: `tests/fixtures/paths/<X.Y>.json`,
//! made by `scripts/gen_paths.py` (2.7, 3.6-3.13 from pyenv, 3.14/3.15 from pyodide).
//!
//! Answers are asked in batches (one `pyc path` run per version, direction, optimization,
//! prefix and working directory): answers go to stdout in order, refusals to stderr in order.

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;

const VERSIONS: &[&str] = &[
    "2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15",
];

fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[test]
fn pyc_path_equals_importlib_util() {
    let mut checked = 0;
    let mut failures: Vec<String> = Vec::new();
    for &version in VERSIONS {
        let p = pyc_testutil::fixtures("paths").join(format!("{version}.json"));
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        // Group the answers that one `pyc path` run can give.
        let mut groups: BTreeMap<(String, String, Option<String>, String), Vec<&Value>> =
            BTreeMap::new();
        for a in data["answers"].as_array().unwrap() {
            let op = a["op"].as_str().unwrap().to_string();
            let opt = py_str(&a["optimization"]);
            // `--optimization` passes CPython's `optimization=` as is (`0` included: `.opt-0`).
            let prefix = a["prefix"].as_str().map(String::from);
            let cwd = a["cwd"].as_str().unwrap_or("/").to_string();
            groups.entry((op, opt, prefix, cwd)).or_default().push(a);
        }
        for ((op, opt, prefix, cwd), answers) in &groups {
            let command = |json: bool| {
                let mut cmd = Command::cargo_bin("pyc").unwrap();
                cmd.current_dir(cwd)
                    .env_remove("PYTHONPYCACHEPREFIX")
                    .args(["path", "--python", version]);
                cmd.arg(if op == "cache_from_source" {
                    "--to-cache"
                } else {
                    "--to-source"
                });
                if !opt.is_empty() {
                    cmd.arg(format!("--optimization={opt}"));
                }
                if let Some(prefix) = prefix {
                    cmd.args(["--prefix", prefix]);
                }
                if json {
                    cmd.arg("--format=json");
                }
                cmd.arg("--");
                cmd.args(answers.iter().map(|a| a["path"].as_str().unwrap()));
                cmd
            };
            let mut cmd = command(false);
            let out = cmd.output().unwrap();
            let stdout = String::from_utf8(out.stdout).unwrap();
            let stderr = String::from_utf8(out.stderr).unwrap();
            let mut ok_lines = stdout.lines();
            let mut err_lines = stderr.lines();
            let mut any_error = false;
            for a in answers {
                let what = format!("{version} {op} -O {opt:?} --prefix {prefix:?} in {cwd}: {a}");
                if let Some(want) = a["result"].as_str() {
                    let got = ok_lines.next();
                    if got != Some(want) {
                        failures.push(format!("{what}\n    got {got:?}"));
                    }
                } else {
                    any_error = true;
                    let want = a["error"].as_str().unwrap();
                    let got = err_lines.next().unwrap_or("");
                    let path = a["path"].as_str().unwrap();
                    let ok = got.starts_with(&format!("pyc: {path}: CPython {version} raises "))
                        && got.ends_with(want);
                    if !ok {
                        failures.push(format!("{what}\n    got {got:?}"));
                    }
                }
                checked += 1;
            }
            let code = out.status.code();
            if code != Some(if any_error { 1 } else { 0 }) {
                failures.push(format!("{version} {op} {opt} {prefix:?}: exit {code:?}"));
            }
            assert!(
                ok_lines.next().is_none() && err_lines.next().is_none(),
                "{version} extra output"
            );

            // The same run with --format json: one object per path, answer or error.
            let out = command(true).output().unwrap();
            let objects: Vec<Value> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(objects.len(), answers.len(), "{version} {op} json");
            for (a, o) in answers.iter().zip(&objects) {
                let same = o["path"] == a["path"]
                    && o["function"].as_str() == Some(op.as_str())
                    && o["version"] == version
                    && o["result"] == *a.get("result").unwrap_or(&Value::Null)
                    && o["error"] == *a.get("error").unwrap_or(&Value::Null);
                if !same {
                    failures.push(format!("{version} json: {a}\n    got {o}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    assert!(checked > 5000, "only {checked}");
}
