//! `pyc status ARCHIVE` against the live interpreters: `scripts/archive_cases.py` builds
//! zips and tars whose cache files each test one rule (zipimport: fresh, DOS time off by 1, 2
//! and 3 seconds, size changed, bad magic, an archive comment (unreadable before 3.8), checked and unchecked hash-based, `__pycache__`
//! only, sourceless, sources dated 1980; extraction by Info-ZIP `unzip`, Python's `zipfile`
//! and GNU `tar`: timestamp and hash-based pycs), imports every module with the real
//! interpreter (a decoy body in each cache file shows whether the pyc or the source ran), and
//! `pyc status --python <it> --as <use>` must say the same of every module. Run in two time
//! zones (DOS times are local): one with a half-hour offset, one with summer time. 3.14 and
//! 3.15 run under pyodide (zipimport cases only, UTC) when node and its packages are there.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// What pyc says each module will do: "pyc" (its cache file is used), "src" (the source is
/// compiled) or "fail" (a sourceless module the interpreter refuses).
fn pyc_view(records: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in records {
        let state = r["state"].as_str().unwrap();
        let (path, what) = match (r["source"].as_str(), r["cache"].as_str()) {
            (Some(s), _) => (
                s.trim_end_matches(".py").to_string(),
                if state == "fresh" { "pyc" } else { "src" },
            ),
            (None, Some(c)) if state == "sourceless" => (c[..c.len() - 4].to_string(), "pyc"),
            (None, Some(c)) if state == "stale" => (c[..c.len() - 4].to_string(), "fail"),
            _ => continue,
        };
        let module = path
            .replace('/', ".")
            .trim_end_matches(".__init__")
            .to_string();
        out.insert(module, what.to_string());
    }
    if records.iter().any(|r| r["reason"] == "archive-comment") {
        // The interpreter cannot open the archive: every import fails.
        for v in out.values_mut() {
            *v = "fail".into();
        }
    }
    out
}

#[test]
fn status_agrees_with_every_interpreter_importing_from_archives() {
    let pythons = pyc_testutil::live_pythons();
    let py3 = std::env::var("PYC_TEST_PY3").unwrap_or_else(|_| "python3".into());
    let script = pyc_testutil::repo_root().join("scripts/archive_cases.py");
    let mut used = Vec::new();
    let mut failures = Vec::new();
    // (what the script runs, what pyc is told, time zone, name): pyenv's interpreters in two
    // zones, then 3.14 and 3.15 under pyodide (zipimport only; its libc knows UTC only).
    let mut runs: Vec<(String, String, &str, String)> = Vec::new();
    for tz in ["IST-5:30", "EST5EDT"] {
        for py in &pythons {
            let p = py.path.display().to_string();
            runs.push((p.clone(), p, tz, py.version.clone()));
        }
    }
    for v in ["3.14", "3.15"] {
        runs.push((
            format!("pyodide:{v}"),
            v.to_string(),
            "UTC",
            format!("{v} (pyodide)"),
        ));
    }
    let mut pyodide_used = Vec::new();
    for (run, python, tz, name) in &runs {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::new(&py3)
            .arg(&script)
            .arg(run)
            .arg(tmp.path())
            .env("TZ", tz)
            .output()
            .expect("python3 runs scripts/archive_cases.py");
        if run.starts_with("pyodide:") && out.status.code() == Some(3) {
            eprintln!("{name}: pyodide not available, not run");
            continue;
        }
        assert!(
            out.status.success(),
            "{name} {tz}: archive_cases.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cases: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        for case in &cases {
            let archive = case["archive"].as_str().unwrap();
            let how = case["as"].as_str().unwrap();
            let expect: BTreeMap<String, String> =
                serde_json::from_value(case["expect"].clone()).unwrap();
            let st = Command::new(env!("CARGO_BIN_EXE_pyc"))
                .args(["status", "--format", "json", "--as", how, "--python"])
                .arg(python)
                .arg(archive)
                .env("TZ", tz)
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{name} {how}: pyc status failed: {}",
                String::from_utf8_lossy(&st.stderr)
            );
            assert!(!expect.is_empty(), "{name} {how}: no module imported");
            let doc: Value = serde_json::from_slice(&st.stdout).unwrap();
            assert_eq!(doc["schema"], "pyc-status/1");
            let records: Vec<Value> = doc["records"].as_array().cloned().unwrap_or_default();
            let got = pyc_view(&records);
            for (module, ran) in &expect {
                let said = got.get(module).map(String::as_str).unwrap_or("nothing");
                if said != ran {
                    failures.push(format!(
                            "{name} TZ={tz} --as {how}: {module}: the interpreter ran the {ran}, pyc says {said}"
                        ));
                }
            }
        }
        if let Some(py) = pythons
            .iter()
            .find(|p| p.path.display().to_string() == *python)
        {
            if !used
                .iter()
                .any(|u: &pyc_testutil::LivePython| u.version == py.version)
            {
                used.push(py.clone());
            }
        } else {
            pyodide_used.push(name.clone());
        }
    }
    pyc_testutil::report_used("archive_live", &used);
    eprintln!("archive_live: under pyodide: {}", pyodide_used.join(", "));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
