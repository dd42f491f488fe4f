//! Clean plans: what `pyc clean` removes, built from the same classification as `pyc status`
//! ([`crate::classify`]), plus pyclean's debris topics, free-form `--erase` globs and empty
//! folders. A plan is a list of paths in removal order (files first, then folders deepest
//! first); [`execute`] carries it out, never following a symlink and never leaving the roots.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use globset::{GlobBuilder, GlobMatcher, GlobSet};
use serde::Serialize;

use crate::classify::{Classifier, Place, Record, State};
use crate::walk::{self, join, DirListing, EntryKind, WalkOptions};

/// Which cache files to remove.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Sourceless pycs too (`--sourceless`).
    pub sourceless: bool,
    pub orphans: bool,
    pub stale: bool,
    pub foreign: bool,
    pub leftovers: bool,
    /// Cache files with one of these tags (`--tag cpython-311`).
    pub tags: Vec<String>,
}

impl Selection {
    /// No selective mode given: everything the interpreter can regenerate.
    pub fn is_default(&self) -> bool {
        !(self.orphans || self.stale || self.foreign || self.leftovers || !self.tags.is_empty())
    }

    /// Does this record name a cache file to remove?
    pub fn wants(&self, r: &Record) -> bool {
        if r.cache.is_none() || r.place == Place::None {
            return false;
        }
        // Missing has no file; unwritable and errors are not files to remove.
        if matches!(r.state, State::Missing | State::Unwritable | State::Error) {
            return false;
        }
        if r.state == State::Sourceless {
            return self.sourceless;
        }
        if self.is_default() {
            return true;
        }
        (self.orphans && r.state == State::Orphan)
            || (self.stale && r.state == State::Stale)
            || (self.foreign && r.state == State::Foreign)
            || (self.leftovers && r.state == State::Leftover)
            || r.tag.as_ref().is_some_and(|t| self.tags.contains(t))
    }
}

/// How an item is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// `unlink` (a symlink is removed itself, never its target).
    File,
    /// `rmdir`; a folder that is not empty is an error.
    Dir,
    /// `rmdir` if empty; kept silently otherwise (`__pycache__`, `--folders`).
    DirIfEmpty,
}

/// One path to remove and why.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    #[serde(serialize_with = "ser_bytes")]
    pub path: Vec<u8>,
    pub kind: ItemKind,
    /// "cache" (a cache file, no targets given), "orphan", "stale", "foreign", "leftover",
    /// "sourceless", "fresh", "debris:pytest", "erase", "empty __pycache__", "empty folder".
    pub why: String,
}

fn ser_bytes<S: serde::Serializer>(p: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(p))
}

/// A path that will not be removed, and why (through a symlink, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "ser_bytes")]
    pub path: Vec<u8>,
    pub why: String,
}

/// What to remove, in order.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
    pub skipped: Vec<Skipped>,
}

/// What a debris pattern removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebrisKind {
    /// The folder and everything in it.
    Tree,
    /// A file.
    File,
    /// The folder, if it is empty once the rest is gone.
    EmptyDir,
}

/// One debris pattern: an optional parent folder name, a glob on the name, and the kind.
pub struct DebrisPattern {
    pub parent: Option<&'static str>,
    pub name: &'static str,
    pub kind: DebrisKind,
}

const fn tree(name: &'static str) -> DebrisPattern {
    DebrisPattern {
        parent: None,
        name,
        kind: DebrisKind::Tree,
    }
}
const fn file(name: &'static str) -> DebrisPattern {
    DebrisPattern {
        parent: None,
        name,
        kind: DebrisKind::File,
    }
}

/// pyclean 3.7's debris topics (`pyclean/debris.py`), as data: `X/**/*` plus `X/` is a tree.
pub static DEBRIS_TOPICS: &[(&str, &[DebrisPattern])] = &[
    ("cache", &[tree(".cache")]),
    ("complexipy", &[tree(".complexipy_cache")]),
    (
        "coverage",
        &[
            file(".coverage"),
            file("coverage.json"),
            file("coverage.lcov"),
            file("coverage.xml"),
            tree("htmlcov"),
        ],
    ),
    ("jupyter", &[tree(".ipynb_checkpoints")]),
    ("mypy", &[tree(".mypy_cache")]),
    (
        "package",
        &[
            DebrisPattern {
                parent: Some("build"),
                name: "bdist.*",
                kind: DebrisKind::Tree,
            },
            DebrisPattern {
                parent: Some("build"),
                name: "lib",
                kind: DebrisKind::Tree,
            },
            DebrisPattern {
                parent: None,
                name: "build",
                kind: DebrisKind::EmptyDir,
            },
            tree("dist"),
            tree("sdist"),
            tree("*.egg-info"),
        ],
    ),
    (
        "pyright",
        &[
            tree(".pyright-app-cache-*"),
            tree(".pyright-stubs-*"),
            DebrisPattern {
                parent: None,
                name: ".pyright",
                kind: DebrisKind::EmptyDir,
            },
        ],
    ),
    ("pytest", &[tree(".pytest_cache"), file("pytestdebug.log")]),
    ("ruff", &[tree(".ruff_cache")]),
    ("tox", &[tree(".tox")]),
];

/// Topics a bare `--debris` selects (pyclean's defaults).
pub const DEBRIS_DEFAULT: &[&str] = &["cache", "coverage", "package", "pytest", "ruff"];

fn glob(pat: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pat)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Add every file and folder under `dir` (post-order: contents before the folder) to `out`,
/// never following symlinks.
fn expand_tree(
    dirfd: rustix::fd::BorrowedFd<'_>,
    path: &[u8],
    name: &[u8],
    why: &str,
    out: &mut Vec<Item>,
    skipped: &mut Vec<Skipped>,
) {
    let full = join(path, name);
    match walk::open_dir_at(dirfd, name) {
        Ok(fd) => match walk::read_entries(rustix::fd::AsFd::as_fd(&fd)) {
            Ok(mut entries) => {
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                for e in &entries {
                    if e.kind == EntryKind::Dir {
                        expand_tree(
                            rustix::fd::AsFd::as_fd(&fd),
                            &full,
                            &e.name,
                            why,
                            out,
                            skipped,
                        );
                    } else {
                        out.push(Item {
                            path: join(&full, &e.name),
                            kind: ItemKind::File,
                            why: why.to_string(),
                        });
                    }
                }
                out.push(Item {
                    path: full,
                    kind: ItemKind::Dir,
                    why: why.to_string(),
                });
            }
            Err(e) => skipped.push(Skipped {
                path: full,
                why: format!("cannot list: {}", std::io::Error::from(e)),
            }),
        },
        // A symlink (or a file) where a folder was expected: remove the link, not its target.
        Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NOTDIR) => out.push(Item {
            path: full,
            kind: ItemKind::File,
            why: why.to_string(),
        }),
        Err(e) => skipped.push(Skipped {
            path: full,
            why: format!("cannot open: {}", std::io::Error::from(e)),
        }),
    }
}

/// Debris of the given topics under the roots: every level of the tree is searched, ignored
/// folders are not descended, and a removed folder is not searched further.
pub fn debris_items(roots: &[&Path], topics: &[String], walk_opts: &WalkOptions) -> Plan {
    let patterns: Vec<(&str, &DebrisPattern, GlobMatcher)> = DEBRIS_TOPICS
        .iter()
        .filter(|(t, _)| topics.iter().any(|x| x == t))
        .flat_map(|(t, ps)| {
            ps.iter()
                .filter_map(move |p| glob(p.name).map(|m| (*t, p, m)))
        })
        .collect();
    let found = Mutex::new(Plan::default());
    let mut opts = walk_opts.clone();
    // Folders that will be removed as a whole are not walked into.
    opts.not_descended.extend(
        DEBRIS_TOPICS
            .iter()
            .filter(|(t, _)| topics.iter().any(|x| x == t))
            .flat_map(|(_, ps)| ps.iter())
            .filter(|p| p.kind == DebrisKind::Tree && p.parent.is_none() && !p.name.contains('*'))
            .map(|p| p.name.as_bytes().to_vec()),
    );
    let ignored = |name: &[u8]| walk_opts.ignore.iter().any(|i| i.as_slice() == name);
    let visit = |d: &DirListing<'_>| {
        let mut items = Vec::new();
        let mut skipped = Vec::new();
        // pyclean drops matches that are in its ignore list (so `.tox` needs `--no-ignore .tox`).
        let mut sorted: Vec<&walk::Entry> =
            d.entries.iter().filter(|e| !ignored(&e.name)).collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for (topic, p, m) in &patterns {
            let why = format!("debris:{topic}");
            match p.parent {
                Some(parent) => {
                    let Some(pe) = sorted
                        .iter()
                        .find(|e| e.name == parent.as_bytes() && e.kind == EntryKind::Dir)
                    else {
                        continue;
                    };
                    let Ok(pfd) = walk::open_dir_at(d.fd, &pe.name) else {
                        continue;
                    };
                    let Ok(mut sub) = walk::read_entries(rustix::fd::AsFd::as_fd(&pfd)) else {
                        continue;
                    };
                    sub.sort_by(|a, b| a.name.cmp(&b.name));
                    let ppath = join(d.path, &pe.name);
                    for e in sub
                        .iter()
                        .filter(|e| m.is_match(crate::bytes_path(&e.name)))
                    {
                        if e.kind == EntryKind::Dir {
                            expand_tree(
                                rustix::fd::AsFd::as_fd(&pfd),
                                &ppath,
                                &e.name,
                                &why,
                                &mut items,
                                &mut skipped,
                            );
                        }
                    }
                }
                None => {
                    for e in sorted
                        .iter()
                        .filter(|e| m.is_match(crate::bytes_path(&e.name)))
                    {
                        match (p.kind, e.kind) {
                            (DebrisKind::Tree, EntryKind::Dir) => {
                                expand_tree(d.fd, d.path, &e.name, &why, &mut items, &mut skipped)
                            }
                            (DebrisKind::Tree, EntryKind::Symlink) => items.push(Item {
                                path: join(d.path, &e.name),
                                kind: ItemKind::File,
                                why: why.clone(),
                            }),
                            (DebrisKind::File, k) if k != EntryKind::Dir => items.push(Item {
                                path: join(d.path, &e.name),
                                kind: ItemKind::File,
                                why: why.clone(),
                            }),
                            (DebrisKind::EmptyDir, EntryKind::Dir) => items.push(Item {
                                path: join(d.path, &e.name),
                                kind: ItemKind::DirIfEmpty,
                                why: why.clone(),
                            }),
                            _ => {}
                        }
                    }
                }
            }
        }
        if !items.is_empty() || !skipped.is_empty() {
            let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
            f.items.extend(items);
            f.skipped.extend(skipped);
        }
    };
    let issue = |i: walk::WalkIssue| {
        let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
        f.skipped.push(Skipped {
            path: i.path,
            why: i.message,
        });
    };
    walk::walk(roots, &opts, &visit, &issue);
    let mut plan = found.into_inner().unwrap_or_else(|e| e.into_inner());
    order(&mut plan.items);
    plan
}

/// `--erase GLOB`: paths under each root (relative, `**` crosses folders) matching a glob.
/// Files are removed; folders only if empty (pyclean's rule: list `dir/**/*` and `dir`).
pub fn erase_items(roots: &[&Path], globs: &GlobSet, walk_opts: &WalkOptions) -> Plan {
    let found = Mutex::new(Plan::default());
    for root in roots {
        let rb = crate::path_bytes(root);
        let rb: &[u8] = if rb == b"." { b"" } else { rb };
        let rel = |p: &[u8]| -> Vec<u8> {
            let r = p.strip_prefix(rb).unwrap_or(p);
            r.strip_prefix(b"/").unwrap_or(r).to_vec()
        };
        let visit = |d: &DirListing<'_>| {
            let mut items = Vec::new();
            for e in d.entries {
                let full = join(d.path, &e.name);
                if globs.is_match(crate::bytes_path(&rel(&full))) {
                    items.push(Item {
                        path: full,
                        kind: if e.kind == EntryKind::Dir {
                            ItemKind::Dir
                        } else {
                            ItemKind::File
                        },
                        why: "erase".into(),
                    });
                }
            }
            if !items.is_empty() {
                found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .items
                    .extend(items);
            }
        };
        let issue = |i: walk::WalkIssue| {
            found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .skipped
                .push(Skipped {
                    path: i.path,
                    why: i.message,
                });
        };
        walk::walk(&[root], walk_opts, &visit, &issue);
    }
    let mut plan = found.into_inner().unwrap_or_else(|e| e.into_inner());
    order(&mut plan.items);
    plan
}

/// Every folder under the roots (not the roots), deepest first, to remove if empty.
pub fn empty_folder_items(roots: &[&Path], walk_opts: &WalkOptions) -> Plan {
    let found = Mutex::new(Vec::new());
    let visit = |d: &DirListing<'_>| {
        let dirs: Vec<Item> = d
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Dir)
            .map(|e| Item {
                path: join(d.path, &e.name),
                kind: ItemKind::DirIfEmpty,
                why: "empty folder".into(),
            })
            .collect();
        found.lock().unwrap_or_else(|e| e.into_inner()).extend(dirs);
    };
    let mut opts = walk_opts.clone();
    opts.not_descended.clear();
    walk::walk(roots, &opts, &visit, &|_| {});
    let mut items = found.into_inner().unwrap_or_else(|e| e.into_inner());
    order(&mut items);
    Plan {
        items,
        skipped: Vec::new(),
    }
}

/// Removal order: files first (by path), then folders deepest first.
pub fn order(items: &mut Vec<Item>) {
    items.sort_by(|a, b| removal_order(a.kind, &a.path, b.kind, &b.path));
    items.dedup_by(|a, b| a.path == b.path);
}

/// What happened to one item.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(serialize_with = "ser_bytes")]
    pub path: Vec<u8>,
    pub kind: ItemKind,
    pub why: Cow<'static, str>,
    /// "removed", "would-remove", "kept-not-empty", "failed", "refused".
    pub result: &'static str,
    pub bytes: u64,
    pub error: Option<String>,
}

/// Is `path` inside one of `roots` (or a root itself, which is never removed)?
fn inside(path: &[u8], roots: &[Vec<u8>]) -> bool {
    roots.iter().any(|r| {
        if r.is_empty() {
            // root ".": relative paths not climbing out.
            !path.starts_with(b"/") && !path.starts_with(b"../") && path != b".."
        } else {
            path.len() > r.len()
                && path.starts_with(r)
                && (r.ends_with(b"/") || path[r.len()] == b'/')
        }
    }) && !path.split(|&c| c == b'/').any(|c| c == b"..")
}

/// Remove `name` relative to its parent folder, which is opened with `O_NOFOLLOW`: a parent
/// swapped for a symlink since the walk is refused (`ELOOP`), not followed. Returns the size
/// of what was removed (a file's length; 0 for a folder or a symlink's target).
fn remove_at(
    path: &[u8],
    is_dir: bool,
    parent: &mut Option<(Vec<u8>, rustix::fd::OwnedFd)>,
    measure: bool,
) -> std::io::Result<u64> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    let (dir, name) = crate::paths::path_split(path);
    let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
    if parent.as_ref().map(|(d, _)| d.as_slice()) != Some(dir) {
        *parent = None;
        let fd = openat(
            CWD,
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        *parent = Some((dir.to_vec(), fd));
    }
    let Some((_, fd)) = parent.as_ref() else {
        return Err(std::io::ErrorKind::NotFound.into());
    };
    remove_in(rustix::fd::AsFd::as_fd(fd), name, is_dir, false, measure)
}

/// Remove (or, `dry_run`, only look at) `name` in the open folder `dirfd`: never through a
/// symlink (the link itself is what goes). Returns the bytes freed: the file's length when
/// this was its last link (removing one of several hard links frees nothing), when `measure`.
fn remove_in(
    dirfd: rustix::fd::BorrowedFd<'_>,
    name: &[u8],
    is_dir: bool,
    dry_run: bool,
    measure: bool,
) -> std::io::Result<u64> {
    use rustix::fs::{statat, unlinkat, AtFlags, FileType};
    if !(dry_run || measure || is_dir) {
        // A file (or a symlink: unlink removes the link, not its target).
        unlinkat(dirfd, name, AtFlags::empty())?;
        return Ok(0);
    }
    let st = statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let is_file = FileType::from_raw_mode(st.st_mode) != FileType::Directory;
    let bytes = if is_file && !is_dir && st.st_nlink <= 1 {
        st.st_size as u64
    } else {
        0
    };
    if !dry_run {
        // A folder to remove that is now a symlink: the symlink goes, not what it points to.
        // Anything else that was listed as a folder gets `rmdir` (a file there: ENOTDIR).
        let is_link = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
        let flags = if is_dir && !is_link {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        unlinkat(dirfd, name, flags)?;
    }
    Ok(bytes)
}

fn error_text(e: &std::io::Error) -> String {
    e.to_string()
        .split(" (os error")
        .next()
        .unwrap_or("")
        .to_string()
}

/// How a clean is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Only say what would go.
    pub dry_run: bool,
    /// Count the bytes freed (one `stat` per file; a quiet run that shows no totals skips it).
    pub measure: bool,
    /// Keep the outcome of every path (for listings); otherwise a sweep keeps only failures
    /// and counts the rest in [`Swept::counted`], so memory does not grow with the tree.
    pub list: bool,
}

/// Totals of what was removed (or would be).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub files: u64,
    pub folders: u64,
    pub bytes: u64,
}

impl Totals {
    /// Add the outcomes that removed something (or would).
    pub fn add(&mut self, outcomes: &[Outcome]) {
        for o in outcomes.iter().filter(|o| o.is_done()) {
            if o.kind == ItemKind::File {
                self.files += 1;
            } else {
                self.folders += 1;
            }
            self.bytes += o.bytes;
        }
    }
}

impl Outcome {
    /// Removed, or would be in a dry run.
    pub fn is_done(&self) -> bool {
        self.result == "removed" || self.result == "would-remove"
    }

    /// Could not be removed (or was refused).
    pub fn is_failure(&self) -> bool {
        self.result == "failed" || self.result == "refused"
    }
}

/// Carry out a plan (or, with `dry_run`, only say what would go). A path outside the roots
/// is refused; an error on one path is recorded and the rest goes on. Files are removed in
/// parallel (unlink dominates on most file systems), then folders deepest first. `before` are
/// the outcomes of an earlier step of the same run (a dry run counts what they would have
/// removed when it predicts which folders end up empty).
pub fn execute(plan: &Plan, roots: &[Vec<u8>], run: Run, before: &[Outcome]) -> Vec<Outcome> {
    if run.dry_run {
        let gone: HashSet<Vec<u8>> = before
            .iter()
            .filter(|o| o.result == "would-remove")
            .map(|o| o.path.clone())
            .collect();
        return execute_in_order(&plan.items, roots, Some(gone), true);
    }
    use rayon::prelude::*;
    let split = plan
        .items
        .iter()
        .position(|i| i.kind != ItemKind::File)
        .unwrap_or(plan.items.len());
    let (files, dirs) = plan.items.split_at(split);
    let mut out: Vec<Outcome> = files
        .par_chunks(256)
        .flat_map_iter(|chunk| execute_in_order(chunk, roots, None, run.measure))
        .collect();
    out.extend(execute_in_order(dirs, roots, None, run.measure));
    out
}

/// Carry out items in order; `gone` is `Some` for a dry run: the paths it would have removed.
fn execute_in_order(
    items: &[Item],
    roots: &[Vec<u8>],
    mut gone: Option<HashSet<Vec<u8>>>,
    measure: bool,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(items.len());
    // The open parent folder of the last removal (items are sorted, so siblings share it).
    let mut parent: Option<(Vec<u8>, rustix::fd::OwnedFd)> = None;
    for it in items {
        let mut o = Outcome {
            path: it.path.clone(),
            kind: it.kind,
            why: Cow::Owned(it.why.clone()),
            result: "removed",
            bytes: 0,
            error: None,
        };
        if !inside(&it.path, roots) {
            o.result = "refused";
            o.error = Some("outside the given roots".into());
            out.push(o);
            continue;
        }
        if let Some(gone) = gone.as_mut() {
            let p = crate::bytes_path(&it.path);
            let meta = std::fs::symlink_metadata(p);
            o.result = "would-remove";
            match &meta {
                Ok(m)
                    if it.kind == ItemKind::File
                        && std::os::unix::fs::MetadataExt::nlink(m) <= 1 =>
                {
                    o.bytes = m.len()
                }
                _ => {}
            }
            let is_dir = it.kind != ItemKind::File
                && !meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
            if is_dir {
                let empty = match std::fs::read_dir(p) {
                    Ok(rd) => rd
                        .flatten()
                        .all(|e| gone.contains(crate::path_bytes(&p.join(e.file_name())))),
                    Err(_) => false,
                };
                if !empty {
                    if it.kind == ItemKind::DirIfEmpty {
                        o.result = "kept-not-empty";
                    } else {
                        o.result = "failed";
                        o.error = Some("directory not empty".into());
                    }
                }
            } else if meta.is_err() {
                o.result = "failed";
                o.error = Some("no such file or directory".into());
            }
            if o.result == "would-remove" {
                gone.insert(it.path.clone());
            }
            out.push(o);
            continue;
        }
        match remove_at(&it.path, it.kind != ItemKind::File, &mut parent, measure) {
            Ok(bytes) => o.bytes = bytes,
            Err(e) => settle_error(&mut o, &e),
        }
        out.push(o);
    }
    out
}

/// The outcome of a removal that failed: a folder kept because it is not empty (or already
/// gone) is not a failure when it was only to go if empty.
fn settle_error(o: &mut Outcome, e: &std::io::Error) {
    let not_empty = e.kind() == std::io::ErrorKind::DirectoryNotEmpty
        || e.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error())
        || e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error());
    if o.kind == ItemKind::DirIfEmpty && (not_empty || e.kind() == std::io::ErrorKind::NotFound) {
        o.result = "kept-not-empty";
    } else {
        o.result = "failed";
        o.bytes = 0;
        o.error = Some(error_text(e));
    }
}

/// What a sweep found and did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Every outcome with [`Run::list`]; otherwise only those that are not done.
    pub outcomes: Vec<Outcome>,
    /// What was done and not kept in `outcomes`.
    pub counted: Totals,
    pub skipped: Vec<Skipped>,
    /// Records the classification could not make (unreadable folders, broken symlinks, ...).
    pub errors: Vec<Record>,
}

/// Classify the trees and remove (or, `dry_run`, list) the cache files `sel` wants, folder by
/// folder while the walk goes on, in parallel: a folder's cache files are removed by name,
/// relative to the descriptors the walk opened (never by path, never through a symlink),
/// then its `__pycache__` if that is left empty. The outcomes are those of [`execute`] on
/// the same selection, in no particular order (sort them with [`order_outcomes`]).
pub fn sweep_bytecode(
    classifier: &Classifier,
    roots: &[&Path],
    sel: &Selection,
    safe_roots: &[Vec<u8>],
    run: Run,
) -> Swept {
    sweep_bytecode_with_progress(classifier, roots, sel, safe_roots, run, &|_| {})
}

/// [`sweep_bytecode`], telling `progress` how many records each folder had (for a progress
/// bar), from the walking threads.
pub fn sweep_bytecode_with_progress(
    classifier: &Classifier,
    roots: &[&Path],
    sel: &Selection,
    safe_roots: &[Vec<u8>],
    run: Run,
    progress: &(dyn Fn(u64) + Sync),
) -> Swept {
    let dry_run = run.dry_run;
    let no_targets = classifier.targets.is_empty();
    let found = Mutex::new(Swept::default());
    let sink = |d: Option<&walk::DirListing<'_>>, records: Vec<Record>| {
        progress(records.len() as u64);
        let mut batch = Swept::default();
        let mut here: Vec<(Place, Vec<u8>, &'static str)> = Vec::new();
        for r in records {
            if r.state == State::Error {
                batch.errors.push(r);
                continue;
            }
            if !sel.wants(&r) {
                continue;
            }
            let Some(cache) = r.cache else { continue };
            if r.through_symlink {
                batch.skipped.push(Skipped {
                    path: cache,
                    why: "reached through a symlink: not removed".into(),
                });
                continue;
            }
            // With no targets every cache file is "foreign" to none in particular: it is
            // simply a cache file.
            let why = if no_targets && r.state == State::Foreign {
                "cache"
            } else {
                r.state.as_str()
            };
            here.push((r.place, cache, why));
        }
        here.sort_by(|a, b| a.1.cmp(&b.1));
        here.dedup_by(|a, b| a.1 == b.1);
        if !here.is_empty() {
            match d {
                Some(d) => sweep_folder(d, here, safe_roots, run, &mut batch.outcomes),
                // Not in a walked folder (prefix-tree orphans): by path, parent `O_NOFOLLOW`.
                None => {
                    let items: Vec<Item> = here
                        .into_iter()
                        .map(|(_, path, why)| Item {
                            path,
                            kind: ItemKind::File,
                            why: why.to_string(),
                        })
                        .collect();
                    let gone = dry_run.then(HashSet::new);
                    batch.outcomes = execute_in_order(&items, safe_roots, gone, run.measure);
                }
            }
        }
        if !run.list {
            batch.counted.add(&batch.outcomes);
            batch.outcomes.retain(|o| !o.is_done());
        }
        if batch.counted != Totals::default()
            || !(batch.outcomes.is_empty() && batch.skipped.is_empty() && batch.errors.is_empty())
        {
            let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
            f.counted.files += batch.counted.files;
            f.counted.folders += batch.counted.folders;
            f.counted.bytes += batch.counted.bytes;
            f.outcomes.append(&mut batch.outcomes);
            f.skipped.append(&mut batch.skipped);
            f.errors.append(&mut batch.errors);
        }
    };
    classifier.classify_each_in(roots, &sink);
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Remove one walked folder's selected cache files: those beside the sources relative to the
/// folder, those in its `__pycache__` relative to that (opened without following a symlink),
/// then the `__pycache__` itself if it is left empty. Other places (a prefix tree) go by path.
fn sweep_folder(
    d: &walk::DirListing<'_>,
    files: Vec<(Place, Vec<u8>, &'static str)>,
    safe_roots: &[Vec<u8>],
    run: Run,
    out: &mut Vec<Outcome>,
) {
    let dry_run = run.dry_run;
    let pycache_path = join(d.path, b"__pycache__");
    let mut pycache: Option<std::io::Result<rustix::fd::OwnedFd>> = None;
    let mut in_pycache: Vec<Vec<u8>> = Vec::new();
    let mut by_path = Vec::new();
    for (place, path, why) in files {
        let (dir, name) = crate::paths::path_split(&path);
        let mut o = Outcome {
            path: Vec::new(),
            kind: ItemKind::File,
            why: Cow::Borrowed(why),
            result: if dry_run { "would-remove" } else { "removed" },
            bytes: 0,
            error: None,
        };
        let r = if place == Place::Pycache && dir == pycache_path.as_slice() {
            let fd = pycache.get_or_insert_with(|| {
                walk::open_dir_at(d.fd, b"__pycache__").map_err(std::io::Error::from)
            });
            match fd {
                Ok(fd) => {
                    in_pycache.push(name.to_vec());
                    remove_in(
                        rustix::fd::AsFd::as_fd(fd),
                        name,
                        false,
                        dry_run,
                        run.measure,
                    )
                }
                Err(e) => Err(std::io::Error::new(e.kind(), error_text(e))),
            }
        } else if place == Place::Beside && dir == d.path {
            remove_in(d.fd, name, false, dry_run, run.measure)
        } else {
            by_path.push(Item {
                path,
                kind: ItemKind::File,
                why: why.to_string(),
            });
            continue;
        };
        match r {
            Ok(bytes) => o.bytes = bytes,
            Err(e) => {
                settle_error(&mut o, &e);
                in_pycache.retain(|n| n.as_slice() != name);
            }
        }
        o.path = path;
        out.push(o);
    }
    if !by_path.is_empty() {
        out.extend(execute_in_order(
            &by_path,
            safe_roots,
            dry_run.then(HashSet::new),
            run.measure,
        ));
    }
    // The `__pycache__` that held them, if now empty.
    if let Some(Ok(fd)) = pycache {
        let mut o = Outcome {
            path: pycache_path,
            kind: ItemKind::DirIfEmpty,
            why: Cow::Borrowed("empty __pycache__"),
            result: if dry_run { "would-remove" } else { "removed" },
            bytes: 0,
            error: None,
        };
        if dry_run {
            let gone: HashSet<&[u8]> = in_pycache.iter().map(Vec::as_slice).collect();
            let empty = walk::read_entries(rustix::fd::AsFd::as_fd(&fd))
                .is_ok_and(|es| es.iter().all(|e| gone.contains(e.name.as_slice())));
            if !empty {
                o.result = "kept-not-empty";
            }
        } else {
            drop(fd);
            if let Err(e) =
                rustix::fs::unlinkat(d.fd, "__pycache__", rustix::fs::AtFlags::REMOVEDIR)
            {
                settle_error(&mut o, &std::io::Error::from(e));
            }
        }
        out.push(o);
    }
}

/// Sort outcomes as a plan is ordered: files by path, then folders deepest first.
pub fn order_outcomes(v: &mut [Outcome]) {
    v.sort_by(|a, b| removal_order(a.kind, &a.path, b.kind, &b.path));
}

fn removal_order(ka: ItemKind, a: &[u8], kb: ItemKind, b: &[u8]) -> std::cmp::Ordering {
    let da = ka != ItemKind::File;
    let db = kb != ItemKind::File;
    da.cmp(&db).then_with(|| {
        if da {
            let depth = |p: &[u8]| p.iter().filter(|&&c| c == b'/').count();
            depth(b).cmp(&depth(a)).then_with(|| b.cmp(a))
        } else {
            a.cmp(b)
        }
    })
}
