//! `pyc normalize` without interpreters: on pycs the interpreters wrote (the marshal fixtures),
//! on what is not a pyc, on a pyc it cannot read, and through symlinks. The live comparison
//! with `pyc compile` is in `compile.rs` (`pycs_equal_py_compile_in_a_fresh_process`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn normalize(args: &[&str], path: &Path) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .arg("normalize")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every 3.x fixture pyc (written by that version's py_compile) is rewritten once, keeps its
/// permission bits, reads back as the same code (pyc_format::identical) and is canonical
/// after; 2.x pycs are canonical as written. A second run changes nothing.
#[test]
fn interpreters_pycs_are_normalized_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = pyc_testutil::fixtures("marshal");
    let mut originals = Vec::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(data) = std::fs::read(dir.join("era.pyc")) else {
            continue;
        };
        let path = tmp.path().join(format!("{name}.pyc"));
        std::fs::write(&path, &data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        originals.push((path, data));
    }
    assert!(originals.len() >= 11);
    let py3 = originals
        .iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("py2"))
        .count();
    let check = normalize(&["--check"], tmp.path());
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let listed = String::from_utf8_lossy(&check.stdout)
        .matches("not canonical ")
        .count();
    assert_eq!(listed, py3);
    // --check and --dry-run change nothing.
    assert_eq!(normalize(&["--dry-run"], tmp.path()).status.code(), Some(0));
    for (p, data) in &originals {
        assert_eq!(&std::fs::read(p).unwrap(), data);
    }
    let out = normalize(&["--format", "json"], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["normalized"], py3);
    for (p, data) in &originals {
        let now = std::fs::read(p).unwrap();
        let (a, b) = (
            pyc_format::read_pyc(data).unwrap(),
            pyc_format::read_pyc(&now).unwrap(),
        );
        assert!(pyc_format::identical(&a.body, &b.body), "{}", p.display());
        assert!(pyc_format::is_canonical_pyc(&now).unwrap());
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{}", p.display());
    }
    let again = normalize(&["--check"], tmp.path());
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    // No temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".pyc")), "{names:?}");
}

/// A pyc that cannot be read is left byte for byte, with one line naming it and exit 1; what
/// is not a pyc is skipped; a symlink is not followed; the other files are still normalized.
#[test]
fn bad_input_is_left_alone_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(pyc_testutil::fixtures("marshal").join("py3.12/era.pyc")).unwrap();
    let truncated = good[..good.len() / 2].to_vec();
    std::fs::write(tmp.path().join("truncated.pyc"), &truncated).unwrap();
    std::fs::write(tmp.path().join("text.pyc"), b"not a pyc at all\n").unwrap();
    std::fs::write(tmp.path().join("good.pyc"), &good).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.pyc"), &good).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("target.pyc"),
        tmp.path().join("link.pyc"),
    )
    .unwrap();
    let out = normalize(&[], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pyc: ") && l.contains("truncated.pyc")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("link.pyc") && l.contains("symlink")),
        "{err}"
    );
    assert_eq!(
        std::fs::read(tmp.path().join("truncated.pyc")).unwrap(),
        truncated
    );
    assert_eq!(
        std::fs::read(tmp.path().join("text.pyc")).unwrap(),
        b"not a pyc at all\n"
    );
    assert_eq!(
        std::fs::read(outside.path().join("target.pyc")).unwrap(),
        good
    );
    let now = std::fs::read(tmp.path().join("good.pyc")).unwrap();
    assert!(now != good && pyc_format::is_canonical_pyc(&now).unwrap());
    // A FIFO named on the command line is refused at once, not read.
    let fifo = tmp.path().join("fifo.pyc");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = normalize(&[], &fifo);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("fifo.pyc"));
}
