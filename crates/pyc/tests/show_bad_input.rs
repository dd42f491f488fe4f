//! `pyc show` on bad input: one stderr line per bad file naming it, exit 1 for bad files and
//! 2 for usage errors, the good files still shown, never a panic.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn pyc() -> Command {
    Command::cargo_bin("pyc").unwrap()
}

/// A real pyc written by CPython 3.12 (`scripts/gen_headers.py`).
fn real_312() -> PathBuf {
    pyc_testutil::fixtures("headers/3.12/ts-mtime1600000000.pyc")
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Run `pyc show` on `files`; return (exit code, stdout, stderr lines).
fn show(args: &[&Path], json: bool) -> (i32, String, Vec<String>) {
    let mut cmd = pyc();
    cmd.arg("show");
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        stderr.lines().map(String::from).collect(),
    )
}

#[test]
fn each_bad_file_gets_one_line_and_the_good_ones_are_still_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let real = std::fs::read(real_312()).unwrap();
    let missing = d.join("missing.pyc");
    let empty = write(d, "empty.pyc", b"");
    let three = write(d, "three.pyc", &real[..3]);
    let short = write(d, "short.pyc", &real[..10]);
    let text = write(d, "text.pyc", b"print('hello')\n");
    let crlf = write(d, "crlf.pyc", b"ab\r\nmore text\r\n");
    let subdir = d.join("subdir.pyc");
    std::fs::create_dir(&subdir).unwrap();
    let good = real_312();
    let cases: Vec<(&Path, &str)> = vec![
        (&missing, "no such file or directory"),
        (&empty, "empty file"),
        (&three, "3 bytes, too short for a magic number"),
        (
            &short,
            "truncated header: 10 bytes, but magic 3531 (3.12) has a 16-byte header",
        ),
        (&text, "not a pyc file"),
        (&crlf, "not a pyc file"),
        (&subdir, "is a directory"),
    ];
    let mut args: Vec<&Path> = vec![&good];
    args.extend(cases.iter().map(|(p, _)| *p));
    args.push(&good);
    for json in [false, true] {
        let (code, stdout, stderr) = show(&args, json);
        // Bad files exit 1, but a path that is not there is exit 2 in every subcommand.
        assert_eq!(code, 2, "a missing file among them exits 2");
        assert_eq!(
            stderr.len(),
            cases.len(),
            "one line per bad file: {stderr:#?}"
        );
        for ((path, why), line) in cases.iter().zip(&stderr) {
            let name = path.display().to_string();
            assert!(line.contains(&name), "{line:?} names {name}");
            assert!(line.contains(why), "{line:?} says {why:?}");
        }
        // Both good files are shown.
        if json {
            let objs: Vec<Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(objs.len(), 2);
            assert!(objs.iter().all(|o| o["version"] == "3.12"));
        } else {
            assert_eq!(stdout.matches("magic        3531").count(), 2, "{stdout}");
        }
    }
}

#[test]
fn foreign_magics_are_named_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = std::fs::read(real_312()).unwrap();
    // A real pyc's body behind other implementations' magic numbers.
    for (magic, name) in [
        (62218u16, "PyPy 2.7"),
        (3187, "PyPy 3.2"),
        (112, "PyPy 3.x"),
        (21150, "GraalPy"),
        (1011, "Jython"),
        (12897, "RustPython"),
        (22138, "Pyston 2.7"),
        (39170, "CPython 1.0"),
    ] {
        let mut data = real.clone();
        data[..2].copy_from_slice(&magic.to_le_bytes());
        let p = write(tmp.path(), &format!("m{magic}.pyc"), &data);
        let (code, stdout, stderr) = show(&[&p], false);
        assert_eq!(code, 1, "{name}");
        assert!(stdout.is_empty(), "{name}: nothing shown");
        assert_eq!(stderr.len(), 1);
        assert!(
            stderr[0].contains(&format!("magic {magic} is {name}")),
            "{stderr:?}"
        );
    }
}

#[test]
fn unknown_magics_are_shown_with_the_nearest_known_version() {
    let tmp = tempfile::tempdir().unwrap();
    // 3.15.0rc1's pyc (magic 3666, read by pyodide's CPython) with a magic no CPython lists.
    let real = std::fs::read(pyc_testutil::fixtures(
        "headers/3.15/ts-mtime1600000000.pyc",
    ))
    .unwrap();
    let mut data = real.clone();
    data[..2].copy_from_slice(&3700u16.to_le_bytes());
    let p = write(tmp.path(), "future.pyc", &data);
    let (code, stdout, stderr) = show(&[&p], true);
    assert_eq!(code, 0, "{stderr:?}");
    let o: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(o["magic"], 3700);
    assert_eq!(o["magic_status"], "unknown");
    assert_eq!(o["nearest_magic"], 3666);
    assert_eq!(o["version"], "3.15");
    assert_eq!(o["header_size"], 16);
    assert_eq!(o["mtime"], 1600000000);
    let (_, text, _) = show(&[&p], false);
    assert!(
        text.contains("3700 (unknown to pyc; nearest known is 3666, CPython 3.15)"),
        "{text}"
    );
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "secret.pyc",
        &std::fs::read(real_312()).unwrap(),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // root reads anything: the case cannot be made here.
        eprintln!("unreadable_file: running as root, permission case not testable");
        return;
    }
    let (code, _, stderr) = show(&[&p], false);
    assert_eq!(code, 1);
    assert_eq!(stderr.len(), 1);
    assert!(stderr[0].contains("secret.pyc") && stderr[0].contains("permission denied"));
}

#[test]
fn special_files_are_refused_not_read() {
    // /dev/zero would never end; /dev/null is not a pyc either.
    for dev in ["/dev/zero", "/dev/null"] {
        if !Path::new(dev).exists() {
            continue;
        }
        let (code, _, stderr) = show(&[Path::new(dev)], false);
        assert_eq!(code, 1);
        assert_eq!(stderr, vec![format!("pyc: {dev}: not a regular file")]);
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = pyc().arg("show").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no files");
    let out = pyc()
        .args(["show", "--format", "yaml"])
        .arg(real_312())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad --format");
    let out = pyc().args(["show", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown option");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // `pyc show ... | head -1`: far more output than a pipe buffer holds, the reader gone
    // after one line. pyc must end quietly, not panic.
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let good = real_312();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(["show", "--format", "json"])
        .args(std::iter::repeat_n(&good, 3000))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"version\":\"3.12\""), "{first}");
    // stdout is dropped (closed) here.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Every subcommand that can print a lot ends quietly with status 0 when its reader goes away
/// (`pyc ... | head`), instead of panicking (the std `println!` does) or reporting an error.
#[test]
fn closed_stdout_is_not_an_error_for_any_subcommand() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    // Enough sources and cache files that the output overflows a pipe buffer.
    for i in 0..3000 {
        std::fs::write(
            dir.path().join(format!("module_with_a_long_name_{i}.py")),
            "x = 1\n",
        )
        .unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["status", root, "--python", "3.12", "-v"],
        vec!["status", root, "--python", "3.12", "--format", "json"],
        vec!["clean", root, "--dry-run", "--folders", "-v"],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pyc"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // stdout is dropped here: the reader is gone.
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "pyc {args:?}: {status}, stderr: {err}"
        );
        assert!(!err.contains("panicked"), "pyc {args:?} panicked: {err}");
    }
}

/// `pyc diff` on bad input: a file that is missing, a directory or not a pyc is one stderr
/// line naming it and exit 2; a body that does not load is named (exit 1, the header still
/// compared); never a panic.
#[test]
fn diff_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(real_312()).unwrap();
    let truncated = write(dir.path(), "cut.pyc", &real[..real.len() - 7]);
    let text = write(dir.path(), "text.pyc", b"print('hello')\n");
    let missing = dir.path().join("missing.pyc");
    for (a, b, bad) in [
        (&missing, &real_312(), &missing),
        (&real_312(), &text, &text),
        (
            &dir.path().to_path_buf(),
            &real_312(),
            &dir.path().to_path_buf(),
        ),
    ] {
        let out = pyc().arg("diff").arg(a).arg(b).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&*bad.to_string_lossy()), "{err}");
    }
    let out = pyc()
        .args(["diff", "--format", "json"])
        .arg(real_312())
        .arg(&truncated)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        !err.contains("panicked") && err.contains("cut.pyc"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["body"]["verdict"], "unreadable");
    assert_eq!(v["body"]["side"], "b");
    assert_eq!(v["header"].as_array().unwrap().len(), 0);
}
