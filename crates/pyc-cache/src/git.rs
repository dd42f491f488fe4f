//! Git hygiene, the advice every article about `__pycache__` gives: caches are not committed,
//! and `.gitignore` ignores them. [`hygiene`] finds cache files that git tracks and cache
//! folders that `git add` would pick up; [`is_committed_cache`] is the rule for both, and for
//! the `pyc-no-bytecode` pre-commit hook.
//!
//! It asks the `git` on PATH (`git ls-files`, `git check-ignore`), which reads the index and
//! every ignore source (`.gitignore` files, `.git/info/exclude`, `core.excludesFile`) exactly as
//! `git add` will. No git on PATH, or a tree outside any repository, is no error: there is
//! nothing to report.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `.gitignore` lines that keep every bytecode cache out of git (as GitHub's
/// `Python.gitignore` has them).
pub const IGNORE_LINES: [&str; 2] = ["__pycache__/", "*.py[cod]"];

/// Every file that may be a cache file, as git pathspecs.
const PATHSPECS: [&str; 3] = [
    ":(glob)**/__pycache__/**",
    ":(glob)**/*.pyc",
    ":(glob)**/*.pyo",
];

/// Whether a file (a path inside a tree) is a cache that must not be committed: anything in a
/// `__pycache__` folder, or a legacy `x.pyc` / `x.pyo` beside its `x.py` (2.7's layout).
/// A sourceless pyc is allowed: some projects ship them on purpose.
pub fn is_committed_cache(path: &Path, source_exists: impl Fn(&Path) -> bool) -> bool {
    let in_pycache = path
        .parent()
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "__pycache__"));
    if in_pycache {
        return true;
    }
    match path.extension().and_then(OsStr::to_str) {
        Some("pyc" | "pyo") => source_exists(&path.with_extension("py")),
        _ => false,
    }
}

/// What git makes of the caches in one tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hygiene {
    /// Cache files in git's index (by [`is_committed_cache`]), sorted.
    pub tracked: Vec<PathBuf>,
    /// Cache folders (`__pycache__`, the outermost one) and legacy cache files that no ignore
    /// rule covers, tracked or not, sorted: `git add` would take the untracked ones.
    pub not_ignored: Vec<PathBuf>,
}

impl Hygiene {
    pub fn is_clean(&self) -> bool {
        self.tracked.is_empty() && self.not_ignored.is_empty()
    }
}

/// Run git in `dir`; `None` when git is not there or fails (exit 1 of `check-ignore`, "nothing
/// ignored", is success here).
fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().ok()?;
    let out = std::thread::scope(|s| {
        // Write from another thread: git answers while it reads, and a long answer would fill
        // the stdout pipe while a long question still waits to be written.
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            s.spawn(move || pipe.write_all(input));
        }
        child.wait_with_output()
    })
    .ok()?;
    let nothing_ignored = args.first() == Some(&"check-ignore") && out.status.code() == Some(1);
    (out.status.success() || nothing_ignored).then_some(out.stdout)
}

fn split_nul(bytes: &[u8]) -> Vec<PathBuf> {
    bytes
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect()
}

/// The folder to report for a cache file that is not ignored: its outermost `__pycache__`
/// folder, or the file itself for a legacy pyc.
fn reported_folder(rel: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in rel.components() {
        out.push(c);
        if c.as_os_str() == "__pycache__" {
            return out;
        }
    }
    rel.to_path_buf()
}

/// Git's view of the caches under `root` (a folder). `None` outside a git work tree, without
/// git, or when git fails. Paths are `root` joined with the path inside it (bare when `root`
/// is `.`).
pub fn hygiene(root: &Path) -> Option<Hygiene> {
    if !root.is_dir() {
        return None;
    }
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"], None)?;
    if inside.trim_ascii() != b"true" {
        return None;
    }
    let exists = |p: &Path| root.join(p).symlink_metadata().is_ok();
    let ls = |extra: &[&str]| -> Option<Vec<PathBuf>> {
        let mut args = vec!["ls-files", "-z"];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(&PATHSPECS);
        let out = git(root, &args, None)?;
        Some(
            split_nul(&out)
                .into_iter()
                .filter(|p| is_committed_cache(p, exists))
                .collect(),
        )
    };
    let tracked = ls(&["--cached"])?;
    let untracked = ls(&["--others", "--exclude-standard"])?;
    // Tracked files are never "ignored" for git add; ask the ignore rules alone.
    let tracked_ignored = if tracked.is_empty() {
        Vec::new()
    } else {
        let mut input = Vec::new();
        for p in &tracked {
            input.extend_from_slice(p.as_os_str().as_bytes());
            input.push(0);
        }
        split_nul(&git(
            root,
            &["check-ignore", "--no-index", "-z", "--stdin"],
            Some(&input),
        )?)
    };
    let mut not_ignored: Vec<PathBuf> = untracked
        .iter()
        .chain(tracked.iter().filter(|p| !tracked_ignored.contains(p)))
        .map(|p| reported_folder(p))
        .collect();
    not_ignored.sort();
    not_ignored.dedup();
    let shown = |p: PathBuf| {
        if root == Path::new(".") {
            p
        } else {
            root.join(p)
        }
    };
    let mut tracked: Vec<PathBuf> = tracked.into_iter().map(shown).collect();
    tracked.sort();
    Some(Hygiene {
        tracked,
        not_ignored: not_ignored.into_iter().map(shown).collect(),
    })
}

/// `git rm` the given tracked cache files under `root`: out of the index and the tree. Used by
/// `pyc clean --git-tracked`, and only then.
pub fn remove_tracked(root: &Path, files: &[PathBuf]) -> std::io::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    // Names go through stdin, NUL-separated and literal (no glob magic, no argv limit).
    let mut input = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        input.extend_from_slice(rel.as_os_str().as_bytes());
        input.push(0);
    }
    let mut child = Command::new("git")
        .arg("--literal-pathspecs")
        .arg("-C")
        .arg(root)
        .args([
            "rm",
            "-q",
            "--ignore-unmatch",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = std::thread::scope(|s| {
        if let Some(mut pipe) = child.stdin.take() {
            s.spawn(move || pipe.write_all(&input));
        }
        child.wait_with_output()
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "git rm failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_for_committed_caches() {
        let no_source = |_: &Path| false;
        let has_source = |_: &Path| true;
        assert!(is_committed_cache(
            Path::new("__pycache__/x.cpython-312.pyc"),
            no_source
        ));
        assert!(is_committed_cache(
            Path::new("a/__pycache__/notes.txt"),
            no_source
        ));
        assert!(is_committed_cache(Path::new("a/x.pyc"), has_source));
        assert!(is_committed_cache(Path::new("a/x.pyo"), has_source));
        // Sourceless pycs may be shipped.
        assert!(!is_committed_cache(Path::new("a/x.pyc"), no_source));
        assert!(!is_committed_cache(Path::new("a/x.py"), has_source));
        assert!(!is_committed_cache(Path::new("__pycache__"), has_source));
    }

    #[test]
    fn folders_reported() {
        assert_eq!(
            reported_folder(Path::new("a/__pycache__/x.cpython-312.pyc")),
            Path::new("a/__pycache__")
        );
        assert_eq!(reported_folder(Path::new("a/x.pyc")), Path::new("a/x.pyc"));
    }
}
