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

/// `--invalidation-mode checked-hash` turns the interpreters' timestamp pycs into the bytes of
/// their own checked-hash pycs (canonical), for every 3.7+ fixture version; a stale pyc, a
/// sourceless one and a 3.6 one are reported and left as they were.
#[test]
fn timestamp_pycs_become_the_interpreters_hash_based_pycs() {
    let dir = pyc_testutil::fixtures("compile");
    let mut converted = 0;
    for version in ["3.7", "3.8", "3.11", "3.12", "3.13", "3.14", "3.15"] {
        let fx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{version}.json"))).unwrap())
                .unwrap();
        let mtime =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(fx["mtime"].as_u64().unwrap());
        let tag = format!("cpython-{}", version.replace('.', ""));
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(t.join("__pycache__")).unwrap();
        let mut expected = Vec::new();
        for (name, f) in fx["files"].as_object().unwrap() {
            let src = t.join(name);
            std::fs::copy(dir.join("corpus").join(name), &src).unwrap();
            let file = std::fs::File::options().write(true).open(&src).unwrap();
            file.set_modified(mtime).unwrap();
            let pyc =
                |key: &str| pyc_testutil::b64decode(f["pycs"][key].as_str().unwrap()).unwrap();
            let stem = name.strip_suffix(".py").unwrap();
            let cache = t.join("__pycache__").join(format!("{stem}.{tag}.pyc"));
            std::fs::write(&cache, pyc("opt0.timestamp")).unwrap();
            expected.push((
                cache,
                pyc_format::canonical_pyc(&pyc("opt0.checked-hash")).unwrap(),
            ));
        }
        let out = normalize(&["--invalidation-mode", "checked-hash"], &t);
        assert!(out.status.success(), "{version}: {}", stderr(&out));
        for (cache, want) in &expected {
            assert!(
                std::fs::read(cache).unwrap() == *want,
                "{version} {}: not the interpreter's checked-hash pyc",
                cache.display()
            );
            converted += 1;
        }
        // Stale: the source changed after compiling; sourceless: no source at all.
        let (cache, _) = &expected[0];
        let before = std::fs::read(cache).unwrap();
        let stale_src = t.join("stale.py");
        std::fs::write(&stale_src, "x = 1\n").unwrap();
        let stale = t.join("__pycache__").join(format!("stale.{tag}.pyc"));
        let ts = pyc_testutil::b64decode(
            fx["files"]["common_basic.py"]["pycs"]["opt0.timestamp"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        std::fs::write(&stale, &ts).unwrap();
        let orphan = t.join("__pycache__").join(format!("gone.{tag}.pyc"));
        std::fs::write(&orphan, &ts).unwrap();
        let out = normalize(
            &["--invalidation-mode", "unchecked-hash"],
            &t.join("__pycache__"),
        );
        assert_eq!(out.status.code(), Some(1), "{version}");
        let err = stderr(&out);
        assert!(
            err.lines()
                .any(|l| l.contains("stale.") && l.contains("stale for")),
            "{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.contains("gone.") && l.contains("source")),
            "{err}"
        );
        assert_eq!(std::fs::read(&stale).unwrap(), ts);
        assert_eq!(std::fs::read(&orphan).unwrap(), ts);
        // The fresh ones became unchecked-hash pycs (flags word 1).
        let now = std::fs::read(cache).unwrap();
        assert_eq!(&now[4..8], &[1, 0, 0, 0], "{version}");
        assert_eq!(now[8..], before[8..]);
    }
    assert!(converted > 50, "only {converted}");
    // 3.6 has no hash-based pycs.
    let fx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("3.6.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("m.pyc");
    let ts = pyc_testutil::b64decode(
        fx["files"]["common_basic.py"]["pycs"]["opt0.timestamp"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    std::fs::write(&p, &ts).unwrap();
    let out = normalize(&["--invalidation-mode", "checked-hash"], &p);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("3.7+"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), ts);
}
