//! `pyc status` command line: JSON records, `--check`, `--python all`, prefix trees,
//! the no-write notice, and bad input reported per path (exit 2), never a crash or a hang.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn pyc(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyc"));
    c.current_dir(dir)
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("NO_COLOR", "1");
    c
}

/// A 3.12 timestamp pyc header matching `src` (mtime, size) followed by no code.
fn fresh_header(src: &Path, magic: u16) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(src).unwrap();
    let mut h = magic.to_le_bytes().to_vec();
    h.extend_from_slice(b"\r\n");
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&(m.mtime() as u32).to_le_bytes());
    h.extend_from_slice(&(m.size() as u32).to_le_bytes());
    h
}

fn json(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))["records"]
        .as_array()
        .unwrap()
        .clone()
}

fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("pkg/__pycache__")).unwrap();
    fs::write(d.join("pkg/a.py"), "x = 1\n").unwrap();
    fs::write(d.join("pkg/b.py"), "x = 2\n").unwrap();
    let h = fresh_header(&d.join("pkg/a.py"), 3531);
    fs::write(d.join("pkg/__pycache__/a.cpython-312.pyc"), h).unwrap();
    fs::write(d.join("pkg/__pycache__/a.cpython-311.pyc"), b"").unwrap();
    tmp
}

#[test]
fn json_records_and_check_exit() {
    let t = tree();
    let out = pyc(t.path())
        .args(["status", "--python", "3.12", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = json(&out);
    let find = |src: &str, state: &str| {
        recs.iter().any(|r| {
            r["source"].as_str() == Some(src)
                && r["state"] == state
                && r["tag"] == "cpython-312"
                && r["optimization"] == 0
        })
    };
    assert!(find("pkg/a.py", "fresh"), "{recs:?}");
    assert!(find("pkg/b.py", "missing"), "{recs:?}");
    assert!(recs
        .iter()
        .any(|r| r["cache"] == "pkg/__pycache__/a.cpython-311.pyc"
            && r["state"] == "foreign"
            && r["reason"] == "other-tag"));
    for r in &recs {
        for k in ["source", "cache", "tag", "optimization", "state", "reason"] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
    }
    let out = pyc(t.path())
        .args(["status", "--python", "3.12", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 fresh, 1 missing"), "{text}");
    assert!(!text.contains('\x1b'), "NO_COLOR: {text}");
    // With b compiled too, --check passes.
    let h = fresh_header(&t.path().join("pkg/b.py"), 3531);
    fs::write(t.path().join("pkg/__pycache__/b.cpython-312.pyc"), h).unwrap();
    let out = pyc(t.path())
        .args(["status", "--python", "3.12", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn python_all_uses_every_tag_in_the_tree() {
    let t = tree();
    let out = pyc(t.path())
        .args(["status", "--python", "all", "--format", "json"])
        .output()
        .unwrap();
    let recs = json(&out);
    let mut tags: Vec<&str> = recs
        .iter()
        .filter(|r| !r["target"].is_null())
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags, ["cpython-311", "cpython-312"]);
    // The empty 3.11 file is a truncated header.
    assert!(recs
        .iter()
        .any(|r| r["tag"] == "cpython-311" && r["state"] == "stale" && r["reason"] == "truncated"));
}

#[test]
fn prefix_tree_from_the_environment() {
    let t = tree();
    let prefix = t.path().join("prefix");
    let abs = t.path().canonicalize().unwrap();
    let cache_dir = prefix.join(abs.strip_prefix("/").unwrap()).join("pkg");
    fs::create_dir_all(&cache_dir).unwrap();
    let h = fresh_header(&abs.join("pkg/b.py"), 3531);
    fs::write(cache_dir.join("b.cpython-312.pyc"), h).unwrap();
    fs::write(cache_dir.join("gone.cpython-312.pyc"), b"").unwrap();
    let out = pyc(&abs)
        .env("PYTHONPYCACHEPREFIX", &prefix)
        .args(["status", "--python", "3.12", "--format", "json"])
        .output()
        .unwrap();
    let recs = json(&out);
    let state = |src: &str| {
        recs.iter()
            .find(|r| r["source"].as_str() == Some(src) && !r["target"].is_null())
            .map(|r| r["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state("pkg/b.py").as_deref(), Some("fresh"), "{recs:?}");
    // a's pyc is in __pycache__, which a prefix makes the interpreter ignore.
    assert_eq!(state("pkg/a.py").as_deref(), Some("missing"));
    assert!(recs.iter().any(|r| r["state"] == "orphan"
        && r["cache"]
            .as_str()
            .unwrap()
            .ends_with("gone.cpython-312.pyc")));
    assert!(recs
        .iter()
        .any(|r| r["state"] == "foreign" && r["reason"] == "prefix-in-use"));
}

#[test]
fn no_write_notice() {
    let t = tree();
    let out = pyc(t.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(["status", "--python", "3.12"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("does not write bytecode"), "{text}");
}

#[test]
fn bad_input_is_reported_per_path() {
    use std::os::unix::ffi::OsStrExt;
    let t = tree();
    let d = t.path();
    std::os::unix::fs::symlink("nowhere.py", d.join("pkg/broken.py")).unwrap();
    std::os::unix::fs::symlink(".", d.join("pkg/loop")).unwrap();
    let fifo = d.join("pkg/__pycache__/b.cpython-312.pyc");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let odd = std::ffi::OsStr::from_bytes(b"pkg/caf\xe9.py");
    fs::write(d.join(odd), "x = 1\n").unwrap();
    let out = pyc(d)
        .args(["status", "--python", "3.12", "--format", "json"])
        .output()
        .unwrap();
    // What cannot be read is a bad input file: exit 1 (the one scheme, issue 17).
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let recs = json(&out);
    assert!(recs.iter().any(|r| r["state"] == "error"
        && r["source"] == "pkg/broken.py"
        && r["detail"].as_str().unwrap().contains("broken symlink")));
    if ok {
        assert!(recs.iter().any(|r| r["source"] == "pkg/b.py"
            && r["state"] == "stale"
            && r["reason"] == "unreadable"));
    }
    assert!(recs
        .iter()
        .any(|r| r["source"] == "pkg/caf\u{fffd}.py" && r["state"] == "missing"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn unwritable_folder_and_exclude() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("ro")).unwrap();
    fs::create_dir_all(d.join("skipme")).unwrap();
    fs::write(d.join("ro/m.py"), "x = 1\n").unwrap();
    fs::write(d.join("skipme/n.py"), "x = 1\n").unwrap();
    let locked = d.join("ro");
    let root = running_as_root();
    let ok = if root {
        Command::new("chattr")
            .arg("+i")
            .arg(&locked)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).is_ok()
    };
    let out = pyc(d)
        .args([
            "status",
            "--python",
            "3.12",
            "--format",
            "json",
            "--exclude",
            "skipme",
        ])
        .output()
        .unwrap();
    if root {
        let _ = Command::new("chattr").arg("-i").arg(&locked).status();
    } else {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&locked, fs::Permissions::from_mode(0o755));
    }
    let recs = json(&out);
    assert!(
        !recs.iter().any(|r| r["source"] == "skipme/n.py"),
        "{recs:?}"
    );
    assert!(recs
        .iter()
        .any(|r| r["source"] == "ro/m.py" && r["state"] == "missing"));
    if ok {
        assert!(
            recs.iter()
                .any(|r| r["state"] == "unwritable" && r["cache"] == "ro/__pycache__"),
            "{recs:?}"
        );
    } else {
        eprintln!("cannot lock a folder here: unwritable not checked");
    }
}

#[test]
fn a_single_file_lists_only_its_own_cache_files() {
    let t = tree();
    fs::write(t.path().join("pkg/__pycache__/gone.cpython-312.pyc"), b"").unwrap();
    let out = pyc(t.path())
        .args(["status", "pkg/b.py", "--python", "3.12", "--format", "json"])
        .output()
        .unwrap();
    let recs = json(&out);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["source"], "pkg/b.py");
    assert_eq!(recs[0]["state"], "missing");
}

/// A root that does not exist is one line on stderr naming it, exit 2, and no report
/// (before, it only appeared as a record inside the report, invisible with `--format json`).
#[test]
fn missing_root_is_one_stderr_line_and_exit_2() {
    for format in ["text", "json"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pyc"))
            .args([
                "status",
                "/nonexistent/pyc-test-root",
                "--python",
                "3.12",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "format {format}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim(),
            "pyc: /nonexistent/pyc-test-root: no such file or directory",
            "format {format}"
        );
        assert!(out.stdout.is_empty(), "format {format}: no report expected");
    }
}

#[test]
fn verify_finds_bodies_that_would_not_load() {
    // A real 3.12 module body (made by CPython 3.12, scripts/gen_dis_goldens.py), behind
    // headers that match the sources: whole for a.py, cut in half for b.py.
    let real = fs::read(pyc_testutil::fixtures("dis/3.12/basic.pyc")).unwrap();
    let body = &real[16..];
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir_all(d.join("pkg/__pycache__")).unwrap();
    fs::write(d.join("pkg/a.py"), "x = 1\n").unwrap();
    fs::write(d.join("pkg/b.py"), "x = 2\n").unwrap();
    let mut a = fresh_header(&d.join("pkg/a.py"), 3531);
    a.extend_from_slice(body);
    fs::write(d.join("pkg/__pycache__/a.cpython-312.pyc"), a).unwrap();
    let mut b = fresh_header(&d.join("pkg/b.py"), 3531);
    b.extend_from_slice(&body[..body.len() / 2]);
    fs::write(d.join("pkg/__pycache__/b.cpython-312.pyc"), b).unwrap();

    let states = |verify: bool| {
        let mut c = pyc(d);
        c.args(["status", "--python", "3.12", "--format", "json", "--check"]);
        if verify {
            c.arg("--verify");
        }
        let out = c.output().unwrap();
        let recs = json(&out);
        let mut s: Vec<(String, String, String)> = recs
            .iter()
            .filter(|r| r["target"].is_string())
            .map(|r| {
                (
                    r["source"].as_str().unwrap().to_string(),
                    r["state"].as_str().unwrap().to_string(),
                    r["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        s.sort();
        (out.status.code(), s)
    };
    // The header check alone: both load by the interpreter's freshness rules.
    let (code, s) = states(false);
    assert_eq!(code, Some(0));
    assert_eq!(s[0].1, "fresh");
    assert_eq!(s[1].1, "fresh");
    // Reading the bodies: b's import would fail (EOFError), on every start.
    let (code, s) = states(true);
    assert_eq!(code, Some(1), "{s:?}");
    assert_eq!(s[0], ("pkg/a.py".into(), "fresh".into(), "".into()));
    assert_eq!(
        s[1],
        ("pkg/b.py".into(), "broken".into(), "bad-marshal".into())
    );
    let out = pyc(d)
        .args(["status", "--python", "3.12", "--verify"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 fresh") && text.contains("1 broken"),
        "{text}"
    );
    assert!(text.contains("pkg/b.py  [3.12]  bad-marshal"), "{text}");
}

#[test]
fn symlinked_folders_only_with_follow_links_and_loops_are_cut() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir_all(d.join("tree/pkg")).unwrap();
    fs::create_dir_all(d.join("outside/lib")).unwrap();
    fs::write(d.join("outside/lib/m.py"), "x = 1\n").unwrap();
    fs::write(d.join("tree/pkg/a.py"), "y = 1\n").unwrap();
    std::os::unix::fs::symlink("../../outside/lib", d.join("tree/pkg/lib")).unwrap();
    std::os::unix::fs::symlink("..", d.join("tree/pkg/up")).unwrap();
    let sources = |follow: bool| {
        let mut c = pyc(d);
        c.args(["status", "tree", "--python", "3.12", "--format", "json"]);
        if follow {
            c.arg("-L");
        }
        let out = c.output().unwrap();
        let recs = json(&out);
        let mut srcs: Vec<String> = recs
            .iter()
            .filter(|r| r["state"] == "missing")
            .map(|r| r["source"].as_str().unwrap().to_string())
            .collect();
        srcs.sort();
        let errors: Vec<String> = recs
            .iter()
            .filter(|r| r["state"] == "error")
            .map(|r| format!("{} {}", r["source"], r["detail"]))
            .collect();
        (out.status.code(), srcs, errors)
    };
    // Default: nothing out of the tree, no loop met.
    let (code, srcs, errors) = sources(false);
    assert_eq!(code, Some(0));
    assert_eq!(srcs, ["tree/pkg/a.py"]);
    assert!(errors.is_empty(), "{errors:?}");
    // -L: the linked folder's module too; the link to an ancestor is a loop, reported once.
    let (code, srcs, errors) = sources(true);
    assert_eq!(code, Some(1), "a loop is an error (a bad input, exit 1)");
    assert_eq!(srcs, ["tree/pkg/a.py", "tree/pkg/lib/m.py"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("tree/pkg/up") && errors[0].contains("loop"),
        "{errors:?}"
    );
}

/// Most caches foreign and written by one other version: the report says which and names the
/// flag; with that version as the target, no hint.
#[test]
fn a_tree_cached_by_another_version_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("pkg/__pycache__")).unwrap();
    for i in 0..5 {
        fs::write(d.join(format!("pkg/m{i}.py")), "x = 1\n").unwrap();
        fs::write(d.join(format!("pkg/__pycache__/m{i}.cpython-312.pyc")), b"").unwrap();
    }
    fs::write(d.join("pkg/__pycache__/m0.cpython-311.pyc"), b"").unwrap();
    let run = |py: &str| {
        let out = pyc(d)
            .args(["status", "--no-git", "--python", py])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run("3.11");
    assert!(
        err.contains("most caches here are cpython-312 (5 of 6)")
            && err.contains("use --python 3.12"),
        "{err}"
    );
    assert!(!run("3.12").contains("hint"), "the right target: no hint");
}
