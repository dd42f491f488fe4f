//! `pyc importtime` end to end: output formats, exit codes, and that the temporary cache
//! prefixes are gone afterwards in every way a run can end (done, failed, timed out, Ctrl-C).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use pyc_testutil::{live_pythons, report_used, LivePython};

/// The newest live CPython that can isolate its cache (3.8+).
fn python() -> Option<LivePython> {
    live_pythons()
        .into_iter()
        .rev()
        .find(|p| !matches!(p.version.as_str(), "2.7" | "3.6" | "3.7"))
}

/// `pyc importtime ...` with TMPDIR pointing at `tmp`, so leftovers can be seen.
fn pyc(tmp: &Path) -> Command {
    let mut c = Command::cargo_bin("pyc").unwrap();
    c.arg("importtime").env("TMPDIR", tmp);
    c
}

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pyc-importtime-"))
        .collect()
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pyc(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to run"));
    let out = pyc(tmp.path())
        .args(["--python", "/no/such/python", "-c", "pass"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/python"));
    let out = pyc(tmp.path())
        .args(["-c", "pass", "-m", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_text_svg_and_html() {
    let Some(py) = python() else { return };
    report_used("importtime cli", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("chart.svg");
    let html = tmp.path().join("chart.html");
    let out = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args(["-n", "2", "--format", "json", "--svg"])
        .arg(&svg)
        .arg("--html")
        .arg(&html)
        .args(["--", "-c", "import json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["reports"][0];
    assert_eq!(r["runs"], 2);
    assert!(r["cold"]["wall"]["median"].as_f64().unwrap() > 0.0);
    assert!(r["cold"]["cache_files"].as_u64().unwrap() > 0);
    let json = r["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "json")
        .expect("json at the top level");
    assert_eq!(json["kind"], "source");
    assert!(json["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "json.decoder"));
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg"));
    assert!(svg_text.contains("data-module=\"json.decoder\""));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    assert!(leftovers(tmp.path()).is_empty());

    let out = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args(["-n", "1", "--all", "--sort", "saved", "-c", "import json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cold/warm"), "{text}");
    assert!(text.contains("json.decoder"), "{text}");
}

#[test]
fn a_failing_program_exits_1_with_its_traceback() {
    let Some(py) = python() else { return };
    report_used("importtime cli failure", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let out = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args(["-c", "import json\n1/0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ZeroDivisionError"), "{err}");
    assert!(leftovers(tmp.path()).is_empty());

    let out = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args(["--timeout", "1", "-c", "import time; time.sleep(60)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
    assert!(leftovers(tmp.path()).is_empty());
}

/// SIGINT to pyc alone (not to the program): pyc kills the run, removes its folders, exits 130.
#[test]
fn ctrl_c_removes_the_prefixes() {
    let Some(py) = python() else { return };
    report_used("importtime cli ctrl-c", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let child = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args(["-c", "import json, time; time.sleep(60)"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run is under way (its folder exists).
    let start = Instant::now();
    while leftovers(tmp.path()).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!leftovers(tmp.path()).is_empty(), "the run never started");
    std::thread::sleep(Duration::from_millis(300));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "did not stop promptly"
    );
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
}

/// `--cached-rows` needs 3.14's `-X importtime=2`; older interpreters are refused up front.
/// `-m MODULE -- ARGS` runs a module with its arguments.
#[test]
fn cached_rows_refused_before_3_14_and_module_args() {
    let Some(py) = python() else { return };
    report_used("importtime cli -m", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let major_minor: Vec<u32> = py.version.split('.').map(|x| x.parse().unwrap()).collect();
    if (major_minor[0], major_minor[1]) < (3, 14) {
        let out = pyc(tmp.path())
            .arg("--python")
            .arg(&py.path)
            .args(["--cached-rows", "-c", "pass"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("3.14"));
    }
    let out = pyc(tmp.path())
        .arg("--python")
        .arg(&py.path)
        .args([
            "-n",
            "1",
            "--format",
            "json",
            "-m",
            "json.tool",
            "--",
            "--help",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reports"][0]["program"]["kind"], "module");
    assert!(leftovers(tmp.path()).is_empty());
}
