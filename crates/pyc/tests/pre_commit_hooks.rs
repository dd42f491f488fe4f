//! The hooks of `.pre-commit-hooks.yaml`, run by real pre-commit (`pre-commit try-repo` on
//! this repository, which installs it as a user's pre-commit would: `pip install .`, maturin,
//! cargo) on a clean repository and on one with a tracked `__pycache__` file.
//!
//! pre-commit comes from `PYC_TEST_PRE_COMMIT` (scripts/test sets it from scripts/tools). Without
//! it the test says so and passes, except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn pre_commit() -> Option<PathBuf> {
    match std::env::var_os("PYC_TEST_PRE_COMMIT") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but PYC_TEST_PRE_COMMIT is not set (scripts/test sets it)")
        }
        _ => {
            eprintln!("pre-commit hooks: not tested, PYC_TEST_PRE_COMMIT is not set");
            None
        }
    }
}

const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "pyc"),
    ("GIT_AUTHOR_EMAIL", "pyc@example.invalid"),
    ("GIT_COMMITTER_NAME", "pyc"),
    ("GIT_COMMITTER_EMAIL", "pyc@example.invalid"),
];

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(IDENTITY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `pre-commit try-repo <this repository> --all-files` in `repo`: every hook, each reported on
/// its own line.
fn try_repo(pre_commit: &Path, repo: &Path) -> (Option<i32>, String) {
    // Kept between runs: pre-commit builds the hook environment once per revision, and cargo
    // reuses what it compiled. The ci profile skips LTO: the hooks' behaviour is what is tested.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = Command::new(pre_commit)
        .arg("try-repo")
        .arg(pyc_testutil::repo_root())
        .args(["--all-files", "--color", "never"])
        .current_dir(repo)
        .envs(IDENTITY)
        .env("PRE_COMMIT_HOME", keep.join("pre-commit-home"))
        .env("CARGO_TARGET_DIR", keep.join("pre-commit-cargo"))
        .env("MATURIN_PEP517_ARGS", "--profile ci")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn hook_line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{out}"))
}

#[test]
fn hooks_pass_on_a_clean_repo_and_fail_on_a_tracked_pycache() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::write(repo.join("x.py"), "x = 1\n").unwrap();
    std::fs::write(
        repo.join("shipped.pyc"),
        b"a sourceless pyc, shipped on purpose",
    )
    .unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "clean"]);

    let (code, out) = try_repo(&pre_commit, repo);
    assert_eq!(code, Some(0), "{out}");
    // No cache files among the tracked ones: the file hook has nothing to look at.
    assert!(
        hook_line(&out, "no bytecode caches committed").ends_with("Skipped")
            || hook_line(&out, "no bytecode caches committed").ends_with("Passed"),
        "{out}"
    );
    assert!(
        hook_line(&out, "pyc status --check").ends_with("Passed"),
        "{out}"
    );

    std::fs::create_dir(repo.join("__pycache__")).unwrap();
    std::fs::write(repo.join("__pycache__/x.cpython-312.pyc"), b"not a pyc").unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "a cache"]);
    let (code, out) = try_repo(&pre_commit, repo);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        hook_line(&out, "no bytecode caches committed").ends_with("Failed"),
        "{out}"
    );
    assert!(
        out.contains("__pycache__/x.cpython-312.pyc: bytecode cache"),
        "{out}"
    );
    assert!(
        hook_line(&out, "pyc status --check").ends_with("Failed"),
        "{out}"
    );
    assert!(out.contains("git-tracked (1)"), "{out}");
}
