//! `pyc path`: how versions, interpreters and defaults are chosen, and usage errors (exit 2).
//! The answers themselves are checked against every interpreter in `path_interpreters.rs`.

use assert_cmd::Command;

fn pyc() -> Command {
    let mut c = Command::cargo_bin("pyc").unwrap();
    c.env_remove("PYTHONPYCACHEPREFIX");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// What CPython X.Y answers, from the committed fixtures (`scripts/gen_paths.py`).
fn recorded(version: &str, op: &str, path: &str, opt: &str, prefix: Option<&str>) -> String {
    let p = pyc_testutil::fixtures("paths").join(format!("{version}.json"));
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    data["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["op"] == op
                && a["path"] == path
                && a["prefix"].as_str() == prefix
                && a["cwd"].as_str().unwrap_or("/tmp") == "/tmp"
                && (op == "source_from_cache"
                    || a["optimization"].as_str() == Some(opt)
                    || a["optimization"].as_u64().map(|n| n.to_string()).as_deref() == Some(opt))
        })
        .unwrap_or_else(|| panic!("no recorded answer for {version} {op} {path}"))["result"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_cache_name_carries_its_version() {
    // No --python: the tag in the name decides (no interpreter needed).
    let (code, out, _) = run(pyc().args(["path", "pkg/__pycache__/m.cpython-312.opt-1.pyc"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        recorded(
            "3.12",
            "source_from_cache",
            "pkg/__pycache__/m.cpython-312.opt-1.pyc",
            "",
            None
        )
    );
}

#[test]
fn the_environment_prefix_applies_to_a_version() {
    let (code, out, _) = run(pyc()
        .current_dir("/tmp")
        .env("PYTHONPYCACHEPREFIX", "/pfx")
        .args(["path", "pkg/m.py", "--python", "3.12"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        recorded("3.12", "cache_from_source", "pkg/m.py", "", Some("/pfx"))
    );
}

#[test]
fn python_2_7_names_caches_beside_the_source() {
    let (_, out, _) = run(pyc().args(["path", "pkg/m.py", "--python", "2.7", "-O", "2"]));
    assert_eq!(
        out.trim(),
        recorded("2.7", "cache_from_source", "pkg/m.py", "2", None)
    );
    let (_, out, _) = run(pyc().args(["path", "pkg/m.pyo", "--python", "2.7"]));
    assert_eq!(
        out.trim(),
        recorded("2.7", "source_from_cache", "pkg/m.pyo", "", None)
    );
}

#[test]
fn usage_and_environment_errors_exit_2() {
    for args in [
        vec!["path"],
        vec!["path", "m.py", "--python", "9.9"],
        vec!["path", "m.py", "--python", "3.7", "--prefix", "/p"],
        vec![
            "path",
            "m.py",
            "--to-cache",
            "--to-source",
            "--python",
            "3.12",
        ],
        vec!["path", "m.py", "--python", "/nonexistent/python"],
    ] {
        let (code, _, err) = run(pyc().args(&args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // No --python and no python3 on PATH: a clear error, not a guess.
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = run(pyc().env("PATH", empty.path()).args(["path", "m.py"]));
    assert_eq!(code, 2);
    assert!(err.contains("no `python3` found on PATH"), "{err}");
}

#[test]
fn refusals_name_the_path_and_the_others_are_still_answered() {
    let (code, out, err) = run(pyc().args([
        "path",
        "--python",
        "3.12",
        "--to-source",
        "m.pyc",
        "pkg/__pycache__/m.cpython-312.pyc",
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        out.trim(),
        recorded(
            "3.12",
            "source_from_cache",
            "pkg/__pycache__/m.cpython-312.pyc",
            "",
            None
        )
    );
    assert_eq!(
        err.trim(),
        "pyc: m.pyc: CPython 3.12 raises ValueError: __pycache__ not bottom-level directory in 'm.pyc'"
    );
}

/// Live: `--python INTERPRETER` asks that interpreter's version and settings; the answer must
/// equal what the interpreter itself computes right now.
#[test]
fn an_interpreter_answers_like_itself() {
    let pythons = pyc_testutil::live_pythons();
    let mut used = Vec::new();
    for py in &pythons {
        if py.version == "2.7" {
            continue;
        }
        let out = std::process::Command::new(&py.path)
            .args([
                "-c",
                "import importlib.util as u; print(u.cache_from_source('pkg/m.py'))",
            ])
            .env_remove("PYTHONPYCACHEPREFIX")
            .env("PYTHONOPTIMIZE", "2")
            .output()
            .unwrap();
        let want = String::from_utf8(out.stdout).unwrap();
        let (code, got, err) = run(pyc()
            .env("PYTHONOPTIMIZE", "2")
            .arg("path")
            .arg("pkg/m.py")
            .arg("--python")
            .arg(&py.path));
        assert_eq!(code, 0, "{err}");
        assert_eq!(got.trim(), want.trim(), "{}", py.version);
        used.push(py.clone());
    }
    pyc_testutil::report_used("an_interpreter_answers_like_itself", &used);
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let names: Vec<String> = (0..20000).map(|i| format!("m{i}.py")).collect();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(["path", "--python", "3.12"])
        .args(&names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // (The answers themselves are checked in path_interpreters.rs.)
    assert!(first.ends_with(".pyc\n"), "{first:?}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn several_versions_and_levels_answer_once_each() {
    // As in status, clean and compile: --python repeats, -O takes levels (comma-separated or
    // repeated); one answer per version and level, in the order given.
    let (code, out, err) = run(pyc().current_dir("/tmp").args([
        "path", "pkg/m.py", "--python", "3.12", "--python", "2.7", "-O", "0,1",
    ]));
    assert_eq!(code, 0, "{err}");
    let want = [
        recorded("3.12", "cache_from_source", "pkg/m.py", "", None),
        recorded("3.12", "cache_from_source", "pkg/m.py", "1", None),
        recorded("2.7", "cache_from_source", "pkg/m.py", "", None),
        recorded("2.7", "cache_from_source", "pkg/m.py", "1", None),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    // CPython's own `optimization=` string is still there to ask about.
    let (code, out, _) = run(pyc().current_dir("/tmp").args([
        "path",
        "pkg/m.py",
        "--python",
        "3.12",
        "--optimization",
        "opt",
    ]));
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        recorded("3.12", "cache_from_source", "pkg/m.py", "opt", None)
    );
}
