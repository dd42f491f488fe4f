//! `pyc clean` on real trees: pyclean's observed behaviour (fixture made by
//! `scripts/gen_clean.py` running PyPI pyclean), sourceless deployments, orphans after a branch
//! switch, symlinks out of the tree, folders that cannot be changed, dry run = real run.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn pyc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyc"));
    c.env_remove("PYTHONPYCACHEPREFIX");
    c
}

fn listing(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn make_tree(root: &Path, tree: &[Value]) {
    for rel in tree {
        let rel = rel.as_str().unwrap();
        let p = root.join(rel);
        if rel.ends_with('/') {
            fs::create_dir_all(&p).unwrap();
        } else {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(
                &p,
                if rel.ends_with(".py") {
                    "x = 1\n"
                } else {
                    "data\n"
                },
            )
            .unwrap();
        }
    }
}

#[test]
fn matches_pyclean_on_the_same_tree() {
    let doc: Value = serde_json::from_str(
        &fs::read_to_string(pyc_testutil::fixtures("status/pyclean.json")).unwrap(),
    )
    .unwrap();
    let tree = doc["tree"].as_array().unwrap();
    // Where pyc differs from pyclean on purpose: pyc removes the interrupted-write temp file
    // (pyclean#55), so that __pycache__ becomes empty and goes too.
    let extra: BTreeSet<String> = [
        "pkg/__pycache__/mod.cpython-312.pyc.140234567",
        "pkg/__pycache__",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut runs = 0;
    for (name, run) in doc["runs"].as_object().unwrap() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("t");
        make_tree(&root, tree);
        // pyclean skips `venv` by name, pyc skips a virtual environment by its `pyvenv.cfg`
        // (CPython's own `Lib/venv` is a package): the tree's venv gets the file a real one has.
        if root.join("venv").is_dir() {
            std::fs::write(root.join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        }
        let before = listing(&root);
        let args: Vec<String> = run["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        // pyclean removes sourceless pycs; pyc does so only with --sourceless.
        let out = pyc()
            .arg("clean")
            .arg(&root)
            .arg("--sourceless")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        let after = listing(&root);
        let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
        let want: BTreeSet<String> = run["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .chain(extra.iter().cloned())
            .collect();
        assert_eq!(
            removed,
            want,
            "{name} ({args:?}): pyc removed {:?}, pyclean+expected {:?}",
            removed.difference(&want).collect::<Vec<_>>(),
            want.difference(&removed).collect::<Vec<_>>()
        );
        runs += 1;
    }
    assert!(runs >= 5);
}

fn pyc_file(p: &Path) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    // A 3.12 timestamp header; content does not matter to clean.
    fs::write(p, b"\xcb\x0d\x0d\x0a\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
}

#[test]
fn sourceless_deployment_survives_the_default_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    pyc_file(&r.join("app/main.pyc"));
    pyc_file(&r.join("app/util.pyc"));
    fs::write(r.join("app/src.py"), "x = 1\n").unwrap();
    pyc_file(&r.join("app/__pycache__/src.cpython-312.pyc"));
    let out = pyc().arg("clean").arg(r).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(r.join("app/main.pyc").exists());
    assert!(r.join("app/util.pyc").exists());
    assert!(!r.join("app/__pycache__").exists());
    let out = pyc()
        .arg("clean")
        .arg(r)
        .arg("--sourceless")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!r.join("app/main.pyc").exists());
}

/// CPython's FileFinder takes `NAME.py` only when `_path_isfile` says so: a dangling symlink
/// (or one to a folder) is no source, and `NAME.pyc` beside it is imported as sourceless
/// (issue 16). Removing it breaks `import NAME`.
#[test]
fn a_pyc_beside_a_source_that_cannot_be_read_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::create_dir(r.join("folder")).unwrap();
    for (name, target) in [("dangling", r.join("gone.py")), ("todir", r.join("folder"))] {
        std::os::unix::fs::symlink(&target, r.join(format!("{name}.py"))).unwrap();
        pyc_file(&r.join(format!("{name}.pyc")));
        pyc_file(&r.join(format!("__pycache__/{name}.cpython-312.pyc")));
    }
    // The dangling symlink is reported (exit 1), and nothing else.
    let cleaned = |out: std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr
                .lines()
                .all(|l| l.contains("dangling.py: broken symlink")),
            "{out:?}"
        );
        assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    };
    cleaned(pyc().arg("clean").arg(r).output().unwrap());
    for name in ["dangling", "todir"] {
        assert!(r.join(format!("{name}.pyc")).exists(), "{name}.pyc is kept");
        // A __pycache__ file is never imported without its source: an orphan.
        assert!(!r
            .join(format!("__pycache__/{name}.cpython-312.pyc"))
            .exists());
    }
    // And the interpreter agrees: it imports the kept pyc.
    if let Some(py) = pyc_testutil::live_python("3.12") {
        let src = r.join("real.py");
        fs::write(&src, "VALUE = 42\n").unwrap();
        let ok = std::process::Command::new(&py.path)
            .arg("-c")
            .arg("import py_compile, sys; py_compile.compile(sys.argv[1], sys.argv[2])")
            .arg(&src)
            .arg(r.join("dangling.pyc"))
            .status()
            .unwrap();
        assert!(ok.success());
        fs::remove_file(&src).unwrap();
        cleaned(pyc().arg("clean").arg(r).output().unwrap());
        let out = std::process::Command::new(&py.path)
            .args(["-c", "import dangling; print(dangling.VALUE)"])
            .current_dir(r)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{out:?}");
        pyc_testutil::report_used("a_pyc_beside_a_source_that_cannot_be_read_is_kept", &[py]);
    }
}

/// `--erase GLOB PATH` (issue 16): the word after the glob is the PATH, not a second glob, so
/// nothing outside PATH is erased; and a glob never matches the PATH itself.
#[test]
fn erase_takes_one_glob_and_stays_inside_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    for f in [
        "notes.txt",
        "other/thesis.txt",
        "project/a.txt",
        "project/sub/b.txt",
    ] {
        fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
        fs::write(r.join(f), "x").unwrap();
    }
    let out = pyc()
        .args(["clean", "-y", "--erase", "**/*.txt", "project"])
        .current_dir(r)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(r.join("notes.txt").exists());
    assert!(r.join("other/thesis.txt").exists());
    assert!(r.join("project").is_dir());
    assert!(!r.join("project/a.txt").exists());
    assert!(!r.join("project/sub/b.txt").exists());
    // Repeatable; --ignore takes one name too, so `project` stays the PATH.
    fs::write(r.join("project/c.log"), "x").unwrap();
    fs::write(r.join("project/sub/d.log"), "x").unwrap();
    let out = pyc()
        .args([
            "clean", "-y", "-e", "*.log", "-e", "**/*.log", "--ignore", "sub",
        ])
        .arg("project")
        .current_dir(r)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!r.join("project/c.log").exists());
    assert!(r.join("project/sub/d.log").exists(), "sub is ignored");
    assert!(r.join("notes.txt").exists());
    // A glob that matches everything empties PATH but never removes it.
    let out = pyc()
        .args(["clean", "-y", "-e", "**", "-e", "*", "project"])
        .current_dir(r)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(r.join("project").is_dir());
    assert!(r.join("notes.txt").exists());
}

#[test]
fn orphans_after_a_branch_switch_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    for m in ["a", "b", "c"] {
        fs::write(r.join(format!("{m}.py")), "x = 1\n").unwrap();
        pyc_file(&r.join(format!("__pycache__/{m}.cpython-312.pyc")));
        pyc_file(&r.join(format!("__pycache__/{m}.cpython-311.pyc")));
    }
    pyc_file(&r.join("__pycache__/b.cpython-312.pyc.77"));
    // The branch switch: b.py and c.py are gone.
    fs::remove_file(r.join("b.py")).unwrap();
    fs::remove_file(r.join("c.py")).unwrap();
    let before = listing(r);
    let out = pyc().arg("clean").arg(r).arg("--orphans").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let removed: BTreeSet<String> = before.difference(&listing(r)).cloned().collect();
    let want: BTreeSet<String> = [
        "__pycache__/b.cpython-312.pyc",
        "__pycache__/b.cpython-311.pyc",
        "__pycache__/c.cpython-312.pyc",
        "__pycache__/c.cpython-311.pyc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(removed, want);
}

/// A temporary file of an interrupted write, CPython's (`NAME.pyc.NNN`) or pyc compile's
/// (`NAME.pyc.PID.N.pyc-tmp`, left only by a kill between create and rename), is a leftover:
/// `pyc status` says so and the default clean removes it with the rest, so the `__pycache__`
/// is left empty and goes too.
#[test]
fn interrupted_writes_are_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::write(r.join("m.py"), "x = 1\n").unwrap();
    pyc_file(&r.join("__pycache__/m.cpython-312.pyc"));
    pyc_file(&r.join("__pycache__/m.cpython-312.pyc.140234"));
    pyc_file(&r.join("__pycache__/m.cpython-312.pyc.4242.0.pyc-tmp"));
    let out = pyc()
        .args(["status", "--python", "3.12", "--format", "json"])
        .arg(r)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let leftovers: BTreeSet<String> = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["state"] == "leftover")
        .map(|v| {
            v["cache"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        leftovers,
        BTreeSet::from([
            "m.cpython-312.pyc.140234".to_string(),
            "m.cpython-312.pyc.4242.0.pyc-tmp".to_string()
        ])
    );
    let before = listing(r);
    let out = pyc().arg("clean").arg(r).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let removed: BTreeSet<String> = before.difference(&listing(r)).cloned().collect();
    assert_eq!(
        removed,
        BTreeSet::from([
            "__pycache__".to_string(),
            "__pycache__/m.cpython-312.pyc".to_string(),
            "__pycache__/m.cpython-312.pyc.140234".to_string(),
            "__pycache__/m.cpython-312.pyc.4242.0.pyc-tmp".to_string()
        ])
    );
}

#[test]
fn symlinked_folder_outside_the_root_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let root = tmp.path().join("root");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("x.py"), "x = 1\n").unwrap();
    pyc_file(&outside.join("__pycache__/x.cpython-312.pyc"));
    pyc_file(&outside.join("__pycache__/gone.cpython-312.pyc"));
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    // A symlinked __pycache__ inside the root: its files are not deleted through it.
    fs::write(root.join("m.py"), "x = 1\n").unwrap();
    std::os::unix::fs::symlink(outside.join("__pycache__"), root.join("__pycache__")).unwrap();
    let out = pyc()
        .args(["clean", "--debris", "all", "--folders", "--sourceless"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{out:?}");
    assert!(outside.join("__pycache__/x.cpython-312.pyc").exists());
    assert!(outside.join("__pycache__/gone.cpython-312.pyc").exists());
    assert!(outside.join("x.py").exists());
}

#[test]
fn a_folder_that_cannot_be_changed_is_reported_and_the_rest_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    for d in ["a", "b", "c"] {
        fs::create_dir_all(r.join(d)).unwrap();
        fs::write(r.join(d).join("m.py"), "x = 1\n").unwrap();
        pyc_file(&r.join(d).join("__pycache__/m.cpython-312.pyc"));
    }
    let locked = r.join("b/__pycache__");
    let root_user = running_as_root();
    let lock_ok = if root_user {
        Command::new("chattr")
            .arg("+i")
            .arg(&locked)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).is_ok()
    };
    if !lock_ok {
        eprintln!("cannot make a folder unchangeable here (no chattr as root): skipped");
        return;
    }
    let out = pyc().arg("clean").arg(r).output().unwrap();
    // Unlock before asserting, so the temporary folder can be removed.
    if root_user {
        let _ = Command::new("chattr").arg("-i").arg(&locked).status();
    } else {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&locked, fs::Permissions::from_mode(0o755));
    }
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("b/__pycache__/m.cpython-312.pyc"),
        "{stderr}"
    );
    assert!(!r.join("a/__pycache__").exists());
    assert!(!r.join("c/__pycache__").exists());
    assert!(r.join("b/__pycache__/m.cpython-312.pyc").exists());
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn dry_run_lists_exactly_what_the_real_run_removes() {
    let doc: Value = serde_json::from_str(
        &fs::read_to_string(pyc_testutil::fixtures("status/pyclean.json")).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    make_tree(&root, doc["tree"].as_array().unwrap());
    let args = ["--debris", "all", "--folders", "--no-ignore", ".tox"];
    let dry = pyc()
        .arg("clean")
        .arg(&root)
        .args(args)
        .args(["--dry-run", "--format", "json"])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{dry:?}");
    let v: Value = serde_json::from_slice(&dry.stdout).unwrap();
    let listed: BTreeSet<String> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["result"] == "would-remove")
        .map(|p| {
            Path::new(p["path"].as_str().unwrap())
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let before = listing(&root);
    assert_eq!(before, listing(&root), "the dry run removed something");
    let real = pyc().arg("clean").arg(&root).args(args).output().unwrap();
    assert!(real.status.success(), "{real:?}");
    let removed: BTreeSet<String> = before.difference(&listing(&root)).cloned().collect();
    assert_eq!(listed, removed);
    assert!(
        removed.contains(".tox/py312/x"),
        "--no-ignore .tox drops the default"
    );
    assert!(!removed.contains("deploy/only.pyc"));
}

#[test]
fn prefix_tree_of_the_root_only() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let proj = base.join("proj");
    let other = base.join("other");
    let prefix = base.join("prefix");
    fs::create_dir_all(proj.join("pkg")).unwrap();
    fs::write(proj.join("pkg/m.py"), "x = 1\n").unwrap();
    let mirror = |p: &Path| prefix.join(p.strip_prefix("/").unwrap());
    pyc_file(&mirror(&proj.join("pkg")).join("m.cpython-312.pyc"));
    pyc_file(&mirror(&proj.join("pkg")).join("gone.cpython-312.pyc"));
    pyc_file(&mirror(&proj.join("deleted_dir")).join("x.cpython-312.pyc"));
    pyc_file(&mirror(&other).join("keep.cpython-312.pyc"));
    let out = pyc()
        .arg("clean")
        .arg(&proj)
        .arg("--orphans")
        .arg("--prefix")
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(mirror(&proj.join("pkg")).join("m.cpython-312.pyc").exists());
    assert!(!mirror(&proj.join("pkg"))
        .join("gone.cpython-312.pyc")
        .exists());
    assert!(!mirror(&proj.join("deleted_dir"))
        .join("x.cpython-312.pyc")
        .exists());
    assert!(mirror(&other).join("keep.cpython-312.pyc").exists());
    // The default clean takes the rest of the project's prefix tree, via the environment.
    let out = pyc()
        .arg("clean")
        .arg(&proj)
        .env("PYTHONPYCACHEPREFIX", &prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!mirror(&proj.join("pkg")).join("m.cpython-312.pyc").exists());
    assert!(mirror(&other).join("keep.cpython-312.pyc").exists());
}

#[test]
fn stale_for_a_target_only() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::write(r.join("a.py"), "x = 1\n").unwrap();
    fs::write(r.join("b.py"), "x = 1\n").unwrap();
    // a: a 3.12 pyc matching the source; b: one that does not (mtime 0).
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(r.join("a.py")).unwrap();
    let mut good = b"\xcb\x0d\x0d\x0a\0\0\0\0".to_vec();
    good.extend_from_slice(&(m.mtime() as u32).to_le_bytes());
    good.extend_from_slice(&(m.size() as u32).to_le_bytes());
    fs::create_dir_all(r.join("__pycache__")).unwrap();
    fs::write(r.join("__pycache__/a.cpython-312.pyc"), &good).unwrap();
    pyc_file(&r.join("__pycache__/b.cpython-312.pyc"));
    pyc_file(&r.join("__pycache__/b.cpython-311.pyc"));
    let out = pyc()
        .args(["clean", "--stale", "--python", "3.12"])
        .arg(r)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(r.join("__pycache__/a.cpython-312.pyc").exists());
    assert!(!r.join("__pycache__/b.cpython-312.pyc").exists());
    assert!(r.join("__pycache__/b.cpython-311.pyc").exists());
    let out = pyc()
        .args(["clean", "--foreign", "--python", "3.12"])
        .arg(r)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!r.join("__pycache__/b.cpython-311.pyc").exists());
    assert!(r.join("__pycache__/a.cpython-312.pyc").exists());
}

#[test]
fn bytes_freed_count_a_file_only_at_its_last_link() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("tree");
    fs::create_dir_all(r.join("pkg/__pycache__")).unwrap();
    fs::write(r.join("pkg/a.py"), "x = 1\n").unwrap();
    fs::write(r.join("pkg/b.py"), "x = 2\n").unwrap();
    let a = r.join("pkg/__pycache__/a.cpython-312.pyc");
    let b = r.join("pkg/__pycache__/b.cpython-312.pyc");
    fs::write(&a, vec![0u8; 1000]).unwrap();
    fs::write(&b, vec![0u8; 3000]).unwrap();
    // b has a second link outside the tree: removing the one inside frees nothing.
    fs::hard_link(&b, tmp.path().join("b-elsewhere.pyc")).unwrap();
    for dry in [true, false] {
        let mut c = pyc();
        c.arg("clean").arg(&r).args(["--format", "json"]);
        if dry {
            c.arg("--dry-run");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["removed_files"], 2, "{doc}");
        assert_eq!(doc["removed_folders"], 1, "{doc}");
        assert_eq!(doc["bytes_freed"], 1000, "{doc}");
        let sizes: Vec<u64> = doc["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["bytes"].as_u64().unwrap())
            .collect();
        assert_eq!(sizes, [1000, 0, 0], "{doc}");
    }
    assert!(!r.join("pkg/__pycache__").exists());
    assert!(tmp.path().join("b-elsewhere.pyc").exists());
}

#[test]
fn quiet_run_removes_the_same_as_a_listed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let trees: Vec<_> = ["quiet", "listed"]
        .iter()
        .map(|n| tmp.path().join(n))
        .collect();
    for r in &trees {
        for i in 0..40 {
            let d = r.join(format!("p{}", i % 7));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(format!("m{i}.py")), "x = 1\n").unwrap();
            pyc_file(&d.join(format!("__pycache__/m{i}.cpython-312.pyc")));
            pyc_file(&d.join(format!("__pycache__/m{i}.cpython-312.opt-1.pyc")));
        }
        // A folder that also holds something else keeps its __pycache__.
        fs::write(r.join("p3/__pycache__/notes.txt"), "keep\n").unwrap();
        pyc_file(&r.join("p5/sourceless.pyc"));
    }
    let q = pyc()
        .arg("clean")
        .arg(&trees[0])
        .arg("-q")
        .output()
        .unwrap();
    assert!(q.status.success(), "{q:?}");
    assert!(q.stdout.is_empty() && q.stderr.is_empty(), "{q:?}");
    let v = pyc()
        .arg("clean")
        .arg(&trees[1])
        .arg("-v")
        .output()
        .unwrap();
    assert!(v.status.success(), "{v:?}");
    assert_eq!(listing(&trees[0]), listing(&trees[1]));
    let left = listing(&trees[0]);
    assert!(left.contains("p3/__pycache__/notes.txt"), "{left:?}");
    assert!(left.contains("p5/sourceless.pyc"), "{left:?}");
    assert!(
        !left.iter().any(|p| p.ends_with(".cpython-312.pyc")),
        "{left:?}"
    );
    let removed = String::from_utf8_lossy(&v.stdout);
    assert_eq!(removed.matches("removed ").count(), 80 + 6, "{removed}");
    // With no targets a cache file is just that: not "foreign" to some interpreter.
    assert_eq!(removed.matches("(cache)").count(), 80, "{removed}");
    assert!(!removed.contains("(foreign)"), "{removed}");
}
