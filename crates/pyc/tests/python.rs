//! `pyc python` and `--python` resolution, against the interpreters on this machine.

use std::process::Command;

use pyc_testutil::{live_pythons, report_used};

fn pyc(args: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(args)
        .env("PYC_CACHE_DIR", cache.path())
        .output()
        .unwrap()
}

/// Every live interpreter is listed (pyenv), with the version, tag and magic it reports.
#[test]
fn lists_the_live_interpreters() {
    let pythons = live_pythons();
    report_used("lists_the_live_interpreters", &pythons);
    if pythons.is_empty() {
        return;
    }
    let mut args = vec!["python", "--format", "json"];
    let paths: Vec<String> = pythons
        .iter()
        .map(|p| p.path.to_string_lossy().into_owned())
        .collect();
    for p in &paths {
        args.extend(["--python", p.as_str()]);
    }
    let out = pyc(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["interpreters"].as_array().unwrap();
    for py in &pythons {
        let row = rows
            .iter()
            .find(|r| r["path"] == py.path.to_string_lossy().as_ref())
            .unwrap_or_else(|| panic!("{} not listed", py.path.display()));
        let version = row["version"].as_str().unwrap();
        assert!(version.starts_with(&format!("{}.", py.version)), "{row}");
        let info = pyc_format::version_info(py.version.parse().unwrap()).unwrap();
        assert_eq!(row["magic"], info.magic, "{row}");
        assert_eq!(row["cache_tag"].as_str(), info.cache_tag, "{row}");
        assert_eq!(row["implementation"], "cpython");
    }
}

/// A version that is not installed is a usage error that says where pyc looked.
#[test]
fn a_missing_version_says_where_pyc_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = pyc(&["compile", "--python", "3.1", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no CPython 3.1 found; looked in: "), "{err}");
    assert!(err.contains("on PATH"), "{err}");
    assert!(err.contains("pyenv"), "{err}");
    assert!(err.contains("uv managed pythons"), "{err}");
}
