//! One walk: `status`, `clean --dry-run` and `compile --dry-run` see the same files of one
//! tree with a nested venv, a `.git`, a `.tox`, `node_modules` and a symlinked folder, by
//! default (those skipped, the link not entered) and with `--no-skip` (entered, the link still
//! not: compileall does not descend symlinked folders, and status follows them only with
//! `-L`). Whatever status calls missing or stale, compile would write; every cache file status
//! lists, clean would remove.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use pyc_testutil::{live_pythons, report_used};
use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pyc"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn norm(p: &str) -> String {
    p.strip_prefix("./").unwrap_or(p).to_string()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn status_clean_and_compile_walk_the_same_files() {
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        report_used("status_clean_and_compile_walk_the_same_files", &[]);
        return;
    };
    report_used(
        "status_clean_and_compile_walk_the_same_files",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let outside = tmp.path().join("outside");
    let tag = format!("cpython-{}", py.version.replace('.', ""));
    let cache = |dir: &str, name: &str| format!("{dir}/__pycache__/{name}.{tag}.pyc");
    for dir in [
        "pkg",
        "env/lib/site",
        ".git/hooks",
        ".tox/py",
        "node_modules/n",
    ] {
        write(&tree, &format!("{dir}/m.py"), "x = 1\n");
        write(&tree, &format!("{dir}/s.py"), "y = 2\n");
        // An orphan and a stale (truncated) cache file in each.
        write(&tree, &cache(dir, "gone"), "");
        write(&tree, &cache(dir, "s"), "");
    }
    write(&tree, "env/pyvenv.cfg", "home = /nowhere\n");
    write(&outside, "o.py", "z = 3\n");
    write(&outside, &cache(".", "gone"), "");
    std::os::unix::fs::symlink(&outside, tree.join("linked")).unwrap();

    for no_skip in [false, true] {
        let extra: &[&str] = if no_skip { &["--no-skip"] } else { &[] };
        let with = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let call = |args: Vec<String>| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&tree, &refs)
        };
        let status = call(with(&[
            "status",
            "--no-git",
            "--format",
            "json",
            "--python",
            &py.version,
        ]));
        let clean = call(with(&["clean", "--dry-run", "--format", "json"]));
        let compile = call(with(&[
            "compile",
            "--dry-run",
            "--format",
            "json",
            "--python",
            &py.version,
        ]));
        let records = status["records"].as_array().unwrap();
        let to_compile: BTreeSet<String> = records
            .iter()
            .filter(|r| r["state"] == "missing" || r["state"] == "stale")
            .map(|r| norm(r["source"].as_str().unwrap()))
            .collect();
        let cache_files: BTreeSet<String> = records
            .iter()
            .filter(|r| r["state"] != "missing" && r["state"] != "unwritable")
            .filter_map(|r| r["cache"].as_str().map(norm))
            .collect();
        let compiled: BTreeSet<String> = compile["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| norm(f["source"].as_str().unwrap()))
            .collect();
        let removed: BTreeSet<String> = clean["paths"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == "file")
            .map(|p| norm(p["path"].as_str().unwrap()))
            .collect();
        assert_eq!(to_compile, compiled, "no_skip={no_skip}: status vs compile");
        assert_eq!(cache_files, removed, "no_skip={no_skip}: status vs clean");
        // What was walked: pkg always; the skipped folders only with --no-skip; the link never.
        let dirs_seen: BTreeSet<&str> = ["pkg", "env", ".git", ".tox", "node_modules", "linked"]
            .into_iter()
            .filter(|d| to_compile.iter().any(|s| s.starts_with(&format!("{d}/"))))
            .collect();
        let want: BTreeSet<&str> = if no_skip {
            ["pkg", "env", ".git", ".tox", "node_modules"].into()
        } else {
            ["pkg"].into()
        };
        assert_eq!(dirs_seen, want, "no_skip={no_skip}: {to_compile:?}");
        assert_eq!(to_compile.len(), 2 * want.len(), "{to_compile:?}");
        assert_eq!(cache_files.len(), 2 * want.len(), "{cache_files:?}");
    }
    // A root that is itself a skipped folder is walked.
    let status = run(
        &tree,
        &[
            "status",
            "--no-git",
            "--format",
            "json",
            "--python",
            &py.version,
            "env",
            ".tox",
        ],
    );
    let n = status["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "missing")
        .count();
    assert_eq!(n, 2, "{status}");
}

/// A tmpfs mounted at `dir` for the life of the value (unmounted on drop, also on panic).
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &Path) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "pyc-test"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The mount rule (docs/status.md, "Which folders"): every tree-walking subcommand crosses
/// mount points, as the import system and compileall do (a project's `src/` may be a bind
/// mount or a container volume), and enters no symlinked folder (compileall, `find`; a clean
/// never reaches out of the tree through a link). A tmpfs mounted inside the tree is walked by
/// `status`, `clean --dry-run`, `compile --dry-run` and `normalize --dry-run` alike.
#[test]
fn mount_points_are_crossed_and_symlinked_folders_are_not_entered_by_every_walk() {
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        report_used("mount_points_are_crossed", &[]);
        return;
    };
    report_used("mount_points_are_crossed", std::slice::from_ref(py));
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let outside = tmp.path().join("outside");
    let mount = match Mount::tmpfs(&tree.join("mnt")) {
        Ok(m) => m,
        Err(e) => {
            // Mounting needs root (or CAP_SYS_ADMIN); CI runs as root, so there it must work.
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but a tmpfs could not be mounted: {e}"
            );
            eprintln!("mount_points_are_crossed: SKIPPED, cannot mount a tmpfs: {e}");
            return;
        }
    };
    let tag = format!("cpython-{}", py.version.replace('.', ""));
    let cache = |dir: &str, name: &str| format!("{dir}/__pycache__/{name}.{tag}.pyc");
    for dir in ["pkg", "mnt/sub", "mnt"] {
        write(&tree, &format!("{dir}/m.py"), "x = 1\n");
        write(&tree, &cache(dir, "gone"), "");
    }
    write(&outside, "o.py", "z = 3\n");
    write(&outside, &cache(".", "gone"), "");
    std::os::unix::fs::symlink(&outside, tree.join("mnt/linked")).unwrap();
    // The mount really is another file system.
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        std::fs::metadata(&tree).unwrap().dev(),
        std::fs::metadata(&mount.0).unwrap().dev()
    );

    let status = run(
        &tree,
        &[
            "status",
            "--no-git",
            "--format",
            "json",
            "--python",
            &py.version,
        ],
    );
    let compile = run(
        &tree,
        &[
            "compile",
            "--dry-run",
            "--format",
            "json",
            "--python",
            &py.version,
        ],
    );
    let clean = run(&tree, &["clean", "--dry-run", "--format", "json"]);
    let normalize = run(&tree, &["normalize", "--dry-run", "--format", "json"]);
    let paths = |v: &Value, list: &str, key: &str| -> BTreeSet<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("kind").is_none_or(|k| k == "file"))
            .filter_map(|f| f[key].as_str().map(norm))
            .collect()
    };
    let records = status["records"].as_array().unwrap();
    let missing: BTreeSet<String> = records
        .iter()
        .filter(|r| r["state"] == "missing")
        .map(|r| norm(r["source"].as_str().unwrap()))
        .collect();
    let orphans: BTreeSet<String> = records
        .iter()
        .filter(|r| r["state"] == "orphan")
        .map(|r| norm(r["cache"].as_str().unwrap()))
        .collect();
    let sources: BTreeSet<String> = ["pkg", "mnt/sub", "mnt"]
        .iter()
        .map(|d| format!("{d}/m.py"))
        .collect();
    let caches: BTreeSet<String> = ["pkg", "mnt/sub", "mnt"]
        .iter()
        .map(|d| cache(d, "gone"))
        .collect();
    assert_eq!(missing, sources, "status: {status}");
    assert_eq!(orphans, caches, "status: {status}");
    assert_eq!(
        paths(&compile, "files", "source"),
        sources,
        "compile: {compile}"
    );
    assert_eq!(paths(&clean, "paths", "path"), caches, "clean: {clean}");
    assert_eq!(
        paths(&normalize, "files", "path"),
        caches,
        "normalize: {normalize}"
    );
    drop(mount);
}
