//! Git hygiene in `pyc status` (cache files git tracks, cache folders `.gitignore` does not
//! ignore, the lines to add), `pyc clean --git-tracked`, and the `pyc hook no-bytecode` check,
//! on real git repositories made here.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=pyc",
            "-c",
            "user.email=pyc@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git is needed for these tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pyc(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(args)
        .current_dir(dir)
        // No repository above the temporary folders counts.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A repository with `x.py`, and `__pycache__/x.cpython-312.pyc` committed.
fn repo_with_tracked_pyc() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    std::fs::write(d.join("x.py"), "x = 1\n").unwrap();
    std::fs::create_dir(d.join("__pycache__")).unwrap();
    std::fs::write(d.join("__pycache__/x.cpython-312.pyc"), b"not a pyc").unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "caches"]);
    dir
}

fn json(out: &str) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["schema"], "pyc-status/1", "{out}");
    doc["records"].as_array().cloned().unwrap_or_default()
}

fn git_states(rows: &[serde_json::Value]) -> Vec<(String, String)> {
    rows.iter()
        .filter(|r| r["state"].as_str().is_some_and(|s| s.starts_with("git-")))
        .map(|r| {
            (
                r["state"].as_str().unwrap().to_string(),
                r["cache"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn tracked_pyc_without_gitignore_is_reported_with_the_lines_to_add() {
    let repo = repo_with_tracked_pyc();
    let d = repo.path();
    let (code, text) = pyc(d, &["status", "--python", "3.12"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("git-tracked (1)"), "{text}");
    assert!(text.contains("  __pycache__/x.cpython-312.pyc\n"), "{text}");
    assert!(text.contains("git-not-ignored (1)"), "{text}");
    assert!(
        text.contains("add these lines to .gitignore:\n  __pycache__/\n  *.py[cod]\n"),
        "{text}"
    );

    let (code, out) = pyc(d, &["status", "--python", "3.12", "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let rows = json(&out);
    assert_eq!(
        git_states(&rows),
        [
            ("git-tracked".into(), "__pycache__/x.cpython-312.pyc".into()),
            ("git-not-ignored".into(), "__pycache__".into()),
        ]
    );
    let not_ignored = rows
        .iter()
        .find(|r| r["state"] == "git-not-ignored")
        .unwrap();
    assert_eq!(
        not_ignored["suggest"],
        serde_json::json!(["__pycache__/", "*.py[cod]"])
    );

    // Both are findings for --check, even with no verdict to fail on.
    let (code, out) = pyc(d, &["status", "--check", "--python", "all", "-O", "1"]);
    assert_eq!(code, Some(1), "{out}");
    // --no-git asks git nothing.
    let (code, out) = pyc(d, &["status", "--no-git", "--python", "3.12"]);
    assert_eq!(code, Some(0));
    assert!(!out.contains("git-"), "{out}");
}

#[test]
fn a_gitignore_that_covers_caches_leaves_only_the_tracked_file() {
    let repo = repo_with_tracked_pyc();
    let d = repo.path();
    std::fs::write(d.join(".gitignore"), "__pycache__/\n*.py[cod]\n").unwrap();
    let (_, out) = pyc(d, &["status", "--python", "3.12", "--format", "json"]);
    assert_eq!(
        git_states(&json(&out)),
        [("git-tracked".into(), "__pycache__/x.cpython-312.pyc".into())]
    );
    // Once removed from git, nothing extra is left, though the ignored caches are still there.
    git(
        d,
        &["rm", "-q", "--cached", "__pycache__/x.cpython-312.pyc"],
    );
    std::fs::create_dir_all(d.join("pkg/__pycache__")).unwrap();
    std::fs::write(d.join("pkg/m.py"), "").unwrap();
    std::fs::write(d.join("pkg/__pycache__/m.cpython-312.pyc"), b"x").unwrap();
    let (code, out) = pyc(d, &["status", "--python", "3.12", "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(git_states(&json(&out)), []);
    let (_, text) = pyc(d, &["status", "--python", "3.12"]);
    assert!(!text.contains("git-"), "{text}");
}

#[test]
fn untracked_caches_that_git_would_add_are_reported_by_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    std::fs::create_dir_all(d.join("a/b/__pycache__/deeper")).unwrap();
    std::fs::write(d.join("a/b/m.py"), "").unwrap();
    std::fs::write(d.join("a/b/__pycache__/m.cpython-312.pyc"), b"x").unwrap();
    std::fs::write(d.join("a/b/__pycache__/deeper/n.pyc"), b"x").unwrap();
    // 2.7's layout: a pyc beside its source; and a sourceless pyc, which may be shipped.
    std::fs::write(d.join("old.py"), "").unwrap();
    std::fs::write(d.join("old.pyc"), b"x").unwrap();
    std::fs::write(d.join("shipped.pyc"), b"x").unwrap();
    let (_, out) = pyc(d, &["status", "--python", "3.12", "--format", "json"]);
    assert_eq!(
        git_states(&json(&out)),
        [
            ("git-not-ignored".into(), "a/b/__pycache__".into()),
            ("git-not-ignored".into(), "old.pyc".into()),
        ]
    );
    // A tree given by path is reported under that path.
    let (_, out) = pyc(
        d.parent().unwrap(),
        &[
            "status",
            "--python",
            "3.12",
            "--format",
            "json",
            d.file_name().unwrap().to_str().unwrap(),
        ],
    );
    let name = d.file_name().unwrap().to_str().unwrap();
    assert!(git_states(&json(&out))
        .contains(&("git-not-ignored".into(), format!("{name}/a/b/__pycache__"))));
}

#[test]
fn outside_git_nothing_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("__pycache__")).unwrap();
    std::fs::write(d.join("x.py"), "").unwrap();
    std::fs::write(d.join("__pycache__/x.cpython-312.pyc"), b"x").unwrap();
    let (code, text) = pyc(d, &["status", "--python", "all"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("git"), "{text}");
    let (_, out) = pyc(d, &["status", "--python", "3.12", "--format", "json"]);
    assert_eq!(git_states(&json(&out)), []);
}

#[test]
fn hook_no_bytecode_fails_on_caches_with_a_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("old.py"), "").unwrap();
    let (code, out) = pyc(d, &["hook", "no-bytecode", "x.py", "shipped.pyc", "README"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "");
    let (code, out) = pyc(
        d,
        &[
            "hook",
            "no-bytecode",
            "__pycache__/x.cpython-312.pyc",
            "old.pyc",
            "shipped.pyc",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("__pycache__/x.cpython-312.pyc: bytecode cache"),
        "{out}"
    );
    assert!(out.contains("old.pyc: bytecode cache"), "{out}");
    assert!(!out.contains("shipped.pyc"), "{out}");
    assert!(out.contains("2 cache files must not be committed"), "{out}");
}

#[test]
fn clean_git_tracked_removes_tracked_caches_from_index_and_tree_only_when_asked() {
    let repo = repo_with_tracked_pyc();
    let d = repo.path();
    std::fs::write(d.join("shipped.pyc"), b"sourceless, shipped").unwrap();
    std::fs::create_dir(d.join("[odd]")).unwrap();
    std::fs::write(d.join("[odd]/m.py"), "").unwrap();
    std::fs::create_dir(d.join("[odd]/__pycache__")).unwrap();
    std::fs::write(d.join("[odd]/__pycache__/m.cpython-312.pyc"), b"x").unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "more"]);
    let tracked = || {
        let out = Command::new("git")
            .arg("-C")
            .arg(d)
            .args(["ls-files"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let before = tracked();
    // A plain clean removes the files but leaves git's index alone.
    let (code, out) = pyc(d, &["clean", "--dry-run"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("git rm"), "{out}");
    let (code, out) = pyc(d, &["clean", "--git-tracked", "--dry-run"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("would git rm __pycache__/x.cpython-312.pyc"),
        "{out}"
    );
    assert!(
        out.contains("would git rm [odd]/__pycache__/m.cpython-312.pyc"),
        "{out}"
    );
    assert_eq!(tracked(), before);
    let (code, out) = pyc(d, &["clean", "--git-tracked", "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["git_untracked"].as_array().map(Vec::len),
        Some(2),
        "{doc}"
    );
    assert_eq!(tracked(), "[odd]/m.py\nshipped.pyc\nx.py\n");
    assert!(!d.join("__pycache__/x.cpython-312.pyc").exists());
    assert!(d.join("shipped.pyc").exists());
}
