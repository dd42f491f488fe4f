//! One error style and one exit-code scheme over every subcommand: a missing path, an
//! unreadable folder, a bad `--python` and a bad option value each give the exit code of the
//! scheme (0 done, 1 a finding or a bad input file, 2 usage or environment, 130 interrupted;
//! `diff` keeps cmp's 1 = "they differ", so trouble is 2) and exactly one stderr line
//! `pyc: ...`, with no Rust "(os error N)" tail and no panic.

use std::path::Path;
use std::process::Command;

struct Row {
    args: Vec<String>,
    code: i32,
    /// Text the one stderr line must hold ("" for no stderr at all).
    says: &'static str,
}

fn row(args: &[&str], code: i32, says: &'static str) -> Row {
    Row {
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        says,
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `pyc ARGS` in `dir`; as root, run as `nobody` (setpriv) so that a mode-000 folder is
/// unreadable; None when that is not possible here.
fn pyc(dir: &Path, args: &[String], unprivileged: bool) -> Option<std::process::Output> {
    let exe = env!("CARGO_BIN_EXE_pyc");
    let mut c = if unprivileged && running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
        c
    } else {
        Command::new(exe)
    };
    c.current_dir(dir)
        .env("PYC_NO_PROBE_CACHE", "1")
        .env_remove("VIRTUAL_ENV")
        .args(args);
    c.output().ok()
}

fn check(dir: &Path, r: &Row, unprivileged: bool) -> Result<(), String> {
    let Some(out) = pyc(dir, &r.args, unprivileged) else {
        return Err("cannot run".into());
    };
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let ok_lines = if r.says.is_empty() {
        lines.is_empty()
    } else {
        lines.len() == 1
            && lines[0].starts_with("pyc: ")
            && lines[0].contains(r.says)
            && !lines[0].contains("os error")
    };
    if out.status.code() == Some(r.code) && ok_lines {
        Ok(())
    } else {
        Err(format!(
            "pyc {:?}: exit {:?} (want {}), stderr {err:?} (want one line with {:?})",
            r.args,
            out.status.code(),
            r.code,
            r.says
        ))
    }
}

#[test]
fn every_subcommand_fails_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("m.py"), "x = 1\n").unwrap();
    std::fs::write(d.join("a.pyc"), b"").unwrap();
    std::fs::create_dir(d.join("plain")).unwrap();
    let unr = d.join("unr");
    std::fs::create_dir(&unr).unwrap();
    std::fs::write(unr.join("m.py"), "x = 1\n").unwrap();
    std::fs::write(unr.join("m.pyc"), "").unwrap();
    std::fs::set_permissions(&unr, std::fs::Permissions::from_mode(0o000)).unwrap();

    const NOPE: &str = "no such file or directory";
    const PY: &str = "expected a version X.Y";
    const BAD: &str = "invalid value 'xml' for '--format";
    let missing = vec![
        row(&["show", "nope.pyc"], 2, NOPE),
        row(&["dis", "nope.pyc"], 2, NOPE),
        row(&["diff", "a.pyc", "nope.pyc"], 2, NOPE),
        row(&["status", "nope"], 2, NOPE),
        row(&["normalize", "nope"], 2, NOPE),
        row(&["clean", "nope"], 2, NOPE),
        row(&["compile", "--python", "3.12", "nope"], 2, NOPE),
        // `path` and the no-bytecode hook answer for names, whether or not they exist.
        row(&["path", "--python", "3.12", "nope.py"], 0, ""),
        row(&["hook", "no-bytecode", "nope.py"], 0, ""),
    ];
    let bad_python = vec![
        row(&["status", "--python", "3", "."], 2, PY),
        row(&["clean", "--python", "3", "."], 2, PY),
        row(&["compile", "--python", "3", "."], 2, PY),
        row(&["path", "--python", "3", "m.py"], 2, PY),
        row(&["dis", "--python", "3", "m.py"], 2, PY),
        row(&["python", "--python", "3"], 2, PY),
        row(&["importtime", "--python", "3", "-c", "pass"], 2, PY),
        row(
            &["status", "--python", "plain", "."],
            2,
            "is a folder, not an interpreter",
        ),
        row(
            &["status", "--python", "/nonexistent/python3", "."],
            2,
            "no such interpreter",
        ),
        // `path` takes the same --python / -O / --prefix as status, clean and compile (one
        // parser, crate::target): the same errors.
        row(
            &["path", "--python", "plain", "m.py"],
            2,
            "is a folder, not an interpreter",
        ),
        row(
            &["path", "--python", "/nonexistent/python3", "m.py"],
            2,
            "no such interpreter",
        ),
        row(
            &["path", "--python", "2.7", "--prefix", "/p", "m.py"],
            2,
            "--prefix /p: CPython 2.7 has no pycache prefix",
        ),
        row(
            &["compile", "--python", "2.7", "--prefix", "/p", "m.py"],
            2,
            "--prefix /p: CPython 2.7 has no pycache prefix",
        ),
        // Subcommands that run no interpreter have no --python.
        row(
            &["show", "--python", "3", "a.pyc"],
            2,
            "unexpected argument '--python'",
        ),
        row(
            &["normalize", "--python", "3"],
            2,
            "unexpected argument '--python'",
        ),
    ];
    let bad_option = vec![
        row(&["show", "--format", "xml", "a.pyc"], 2, BAD),
        row(&["dis", "--format", "xml", "a.pyc"], 2, BAD),
        row(&["diff", "--format", "xml", "a.pyc", "a.pyc"], 2, BAD),
        row(&["status", "--format", "xml"], 2, BAD),
        row(&["normalize", "--format", "xml"], 2, BAD),
        row(&["clean", "--format", "xml"], 2, BAD),
        row(&["compile", "--format", "xml"], 2, BAD),
        row(&["path", "--format", "xml", "m.py"], 2, BAD),
        row(&["python", "--format", "xml"], 2, BAD),
        row(
            &["status", "-O", "3"],
            2,
            "invalid value '3' for '--optimize",
        ),
        row(
            &["path", "-O", "3", "m.py"],
            2,
            "invalid value '3' for '--optimize",
        ),
        row(
            &["compile", "--timeout", "soon"],
            2,
            "invalid value 'soon' for '--timeout",
        ),
        row(&["hook", "nope"], 2, "unrecognized subcommand 'nope'"),
    ];
    let unreadable = vec![
        row(&["show", "unr/m.pyc"], 1, "permission denied"),
        row(&["dis", "unr"], 1, "permission denied"),
        row(&["diff", "unr/m.pyc", "a.pyc"], 2, "permission denied"),
        row(
            &["status", "--python", "3.12", "--no-git", "unr"],
            1,
            "permission denied",
        ),
        row(&["normalize", "unr"], 1, "permission denied"),
        row(&["clean", "unr"], 1, "permission denied"),
        // As `nobody`, pyenv's interpreters under /root cannot be run: the system's python3.
        row(
            &["compile", "--python", "/usr/bin/python3", "unr"],
            1,
            "permission denied",
        ),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in missing.iter().chain(&bad_python).chain(&bad_option) {
        // Rows that need an interpreter of a version: only where one is installed.
        if r.args.iter().any(|a| a == "3.12") && pyc_testutil::live_python("3.12").is_none() {
            continue;
        }
        checked += 1;
        if let Err(e) = check(d, r, false) {
            failures.push(e);
        }
    }
    let can_lock = !running_as_root()
        || Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if can_lock {
        for r in &unreadable {
            if r.args.iter().any(|a| a == "3.12") && pyc_testutil::live_python("3.12").is_none()
                || r.args
                    .iter()
                    .any(|a| a.starts_with('/') && !Path::new(a).exists())
            {
                continue;
            }
            checked += 1;
            if let Err(e) = check(d, r, true) {
                failures.push(e);
            }
        }
    } else {
        eprintln!("root without setpriv: the unreadable-folder rows are not checked");
    }
    std::fs::set_permissions(&unr, std::fs::Permissions::from_mode(0o755)).unwrap();
    eprintln!("every_subcommand_fails_alike: {checked} rows checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
