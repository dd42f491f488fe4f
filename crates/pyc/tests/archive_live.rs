//! `pyc status ARCHIVE` against the live interpreters: `scripts/archive_cases.py` builds
//! zips and tars whose cache files each test one rule (zipimport: fresh, DOS time off by 1, 2
//! and 3 seconds, size changed, bad magic, an archive comment (unreadable before 3.8), checked and unchecked hash-based, `__pycache__`
//! only, sourceless, sources dated 1980; extraction by Info-ZIP `unzip`, Python's `zipfile`
//! and GNU `tar`: timestamp and hash-based pycs), imports every module with the real
//! interpreter (a decoy body in each cache file shows whether the pyc or the source ran), and
//! `pyc status --python <it> --as <use>` must say the same of every module. Run in two time
//! zones (DOS times are local): one with a half-hour offset, one with summer time.

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
    for tz in ["IST-5:30", "EST5EDT"] {
        for py in &pythons {
            let tmp = tempfile::tempdir().unwrap();
            let out = Command::new(&py3)
                .arg(&script)
                .arg(&py.path)
                .arg(tmp.path())
                .env("TZ", tz)
                .output()
                .expect("python3 runs scripts/archive_cases.py");
            assert!(
                out.status.success(),
                "{} {tz}: archive_cases.py: {}",
                py.version,
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
                    .arg(&py.path)
                    .arg(archive)
                    .env("TZ", tz)
                    .output()
                    .unwrap();
                assert!(
                    st.status.success(),
                    "{} {how}: pyc status failed: {}",
                    py.version,
                    String::from_utf8_lossy(&st.stderr)
                );
                assert!(
                    !expect.is_empty(),
                    "{} {how}: no module imported",
                    py.version
                );
                let records: Vec<Value> = serde_json::from_slice(&st.stdout).unwrap();
                let got = pyc_view(&records);
                for (module, ran) in &expect {
                    let said = got.get(module).map(String::as_str).unwrap_or("nothing");
                    if said != ran {
                        failures.push(format!(
                            "{} TZ={tz} --as {how}: {module}: the interpreter ran the {ran}, pyc says {said}",
                            py.version
                        ));
                    }
                }
            }
            if !used
                .iter()
                .any(|u: &pyc_testutil::LivePython| u.version == py.version)
            {
                used.push(py.clone());
            }
        }
    }
    pyc_testutil::report_used("archive_live", &used);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
