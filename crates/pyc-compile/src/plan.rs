//! Which files to compile, and the file name each gets inside its code objects: compileall's
//! walk (`_walk_dir`) and its `ddir` / `stripdir` / `prependdir` rules (`compile_file`), 3.9+.
//!
//! * A destination that is a file (symlinks followed) is compiled if its name ends in `.py`;
//!   anything else is walked as a directory.
//! * Walking lists each directory (names sorted), skips `__pycache__`, yields every entry that
//!   is not a directory, and descends into real (not symlinked) directories while the depth
//!   allows (`-r`; `-l` = 0). `-x REGEX` is searched in the full path; `-e DIR` drops symlinks
//!   that resolve outside DIR.
//! * `-d DDIR` on a file: `DDIR/<basename>`; on a directory it becomes `-s <dir> -p DDIR`, as in
//!   `compile_dir`. `-s` removes leading parts equal to the strip directory's parts, with
//!   compileall's exact quirk (`list.remove` drops the first part of that *value*).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pyc_cache::walk::EntryKind;
use rayon::prelude::*;

/// One source to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as compileall builds it (`os.path.join(dir, name)` from the argument).
    pub path: PathBuf,
    /// The file name to put in the code objects (`dfile`); the path itself when None.
    pub dfile: Option<Vec<u8>>,
}

impl SourceFile {
    /// The name compiled into the code objects.
    pub fn display_name(&self) -> &[u8] {
        self.dfile
            .as_deref()
            .unwrap_or_else(|| self.path.as_os_str().as_bytes())
    }
}

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// `-r`: how many directory levels to descend (None: unlimited; compileall 3.9+ uses the
    /// recursion limit, 1000).
    pub max_depth: Option<usize>,
    /// `-x`: skip files whose full path matches.
    pub exclude: Option<crate::pyre::ExcludeRegex>,
    /// `-e`: skip symlinks that resolve outside this directory.
    pub limit_symlinks_to: Option<PathBuf>,
    /// `-d`
    pub ddir: Option<Vec<u8>>,
    /// `-s`
    pub stripdir: Option<Vec<u8>>,
    /// `-p`
    pub prependdir: Option<Vec<u8>>,
    /// The walk's default skips, as status and clean ([`pyc_cache::walk::SKIPPED_DIRS`],
    /// nested virtual environments), below each directory named.
    pub default_skips: bool,
}

/// `posixpath.join(a, b)`.
pub fn py_join(a: &[u8], b: &[u8]) -> Vec<u8> {
    if b.starts_with(b"/") {
        return b.to_vec();
    }
    let mut out = a.to_vec();
    if !(a.is_empty() || a.ends_with(b"/")) {
        out.push(b'/');
    }
    out.extend_from_slice(b);
    out
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// `compile_file`'s dfile rules.
pub fn dfile_for(
    fullname: &[u8],
    ddir: Option<&[u8]>,
    stripdir: Option<&[u8]>,
    prependdir: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let name = fullname.rsplit(|&b| b == b'/').next().unwrap_or(fullname);
    let mut dfile = ddir.map(|d| py_join(d, name));
    if let Some(strip) = stripdir {
        let full_parts: Vec<&[u8]> = fullname.split(|&b| b == b'/').collect();
        let strip_parts: Vec<&[u8]> = strip.split(|&b| b == b'/').collect();
        let mut parts = full_parts.clone();
        for (s, o) in strip_parts.iter().zip(&full_parts) {
            if s == o {
                if let Some(i) = parts.iter().position(|p| p == s) {
                    parts.remove(i);
                }
            }
        }
        // os.path.join(*parts); with nothing left compileall raises, we keep the full name.
        dfile = parts
            .split_first()
            .map(|(first, rest)| rest.iter().fold(first.to_vec(), |acc, p| py_join(&acc, p)));
    }
    if let Some(prepend) = prependdir {
        dfile = Some(py_join(prepend, dfile.as_deref().unwrap_or(fullname)));
    }
    dfile
}

fn is_py(name: &[u8]) -> bool {
    name.len() >= 3 && name.ends_with(b".py")
}

impl WalkOptions {
    /// compile_file's filters. `regular` is true when the walk already knows the entry is a
    /// regular file and not a symlink (from the directory listing), which saves a stat.
    fn keep(&self, fullname: &Path, regular: bool) -> bool {
        let b = bytes(fullname);
        if !is_py(b.rsplit(|&c| c == b'/').next().unwrap_or(b)) {
            return false;
        }
        // compileall: `re.search(rx, fullname)` on the str path.
        if self.exclude.as_ref().is_some_and(|rx| rx.search(b)) {
            return false;
        }
        if regular {
            return true;
        }
        if let Some(limit) = &self.limit_symlinks_to {
            let is_link = std::fs::symlink_metadata(fullname)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if is_link {
                let (Ok(limit), Ok(real)) = (limit.canonicalize(), fullname.canonicalize()) else {
                    return false;
                };
                if !real.parent().is_some_and(|p| p.starts_with(&limit)) {
                    return false;
                }
            }
        }
        // compile_file: os.path.isfile (symlinks followed).
        std::fs::metadata(fullname).is_ok_and(|m| m.is_file())
    }
}

/// Walk `dir` as `_walk_dir` does; files in compileall's order (sorted names, depth first).
/// Each file comes with whether the listing showed a regular file (not a symlink). Only names
/// ending in `.py` are returned: compile_file ignores the others.
fn walk_dir(
    dir: &Path,
    levels: usize,
    skips: Option<&pyc_cache::walk::WalkOptions>,
    root: bool,
    errors: &std::sync::Mutex<Vec<String>>,
) -> Vec<(PathBuf, bool)> {
    // Listed as the cache walker lists (getdents on a descriptor of our own: std's read_dir
    // adds an fstat per folder through opendir); d_type gives the kind without a stat on most
    // file systems. Kinds other than file, folder and symlink go through compile_file's own
    // `isfile` check.
    let dir_bytes = bytes(dir);
    let listed = rustix::fs::openat(
        rustix::fs::CWD,
        if dir_bytes.is_empty() {
            &b"."[..]
        } else {
            dir_bytes
        },
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .and_then(|fd| pyc_cache::walk::list_dir(std::os::fd::AsFd::as_fd(&fd)));
    let entries = match listed {
        Ok(entries) => entries,
        Err(e) => {
            if let Ok(mut errs) = errors.lock() {
                errs.push(format!(
                    "{}: cannot list: {}",
                    dir.display(),
                    pyc_cache::walk::io_message(e)
                ));
            }
            return Vec::new();
        }
    };
    if let Some(w) = skips {
        if !root && w.skips_listing(&entries) {
            return Vec::new();
        }
    }
    let mut items: Vec<(Vec<u8>, EntryKind)> = entries
        .into_iter()
        .filter(|e| e.name != b"__pycache__")
        .map(|e| (e.name, e.kind))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    // Each entry: a file to yield, or a directory to descend into.
    enum Item {
        File(PathBuf, bool),
        Dir(PathBuf),
    }
    let plan: Vec<Item> = items
        .into_iter()
        .filter_map(|(name, kind)| {
            if kind == EntryKind::File {
                // Not a directory: yielded, and only `.py` names matter.
                return is_py(&name).then(|| {
                    Item::File(
                        PathBuf::from(OsStr::from_bytes(&py_join(dir_bytes, &name))),
                        true,
                    )
                });
            }
            let full = PathBuf::from(OsStr::from_bytes(&py_join(dir_bytes, &name)));
            let is_link = kind == EntryKind::Symlink;
            let is_dir = if is_link {
                std::fs::metadata(&full).is_ok_and(|m| m.is_dir())
            } else {
                kind == EntryKind::Dir
            };
            if !is_dir {
                is_py(&name).then_some(Item::File(full, false))
            } else if levels > 0
                && !is_link
                && name != b"."
                && name != b".."
                && !skips.is_some_and(|w| w.ignore.contains(&name))
            {
                Some(Item::Dir(full))
            } else {
                None
            }
        })
        .collect();
    let parts: Vec<Vec<(PathBuf, bool)>> = plan
        .into_par_iter()
        .map(|item| match item {
            Item::File(p, regular) => vec![(p, regular)],
            Item::Dir(d) => walk_dir(&d, levels - 1, skips, false, errors),
        })
        .collect();
    parts.into_iter().flatten().collect()
}

/// The sources named by `dests`, with their dfiles, in compileall's order; errors are
/// directories that could not be listed. A file named twice is compiled once.
pub fn collect(dests: &[PathBuf], opts: &WalkOptions) -> (Vec<SourceFile>, Vec<String>) {
    let errors = std::sync::Mutex::new(Vec::new());
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let skips = opts
        .default_skips
        .then(|| pyc_cache::walk::WalkOptions::default().default_skips(true));
    for dest in dests {
        let is_file = std::fs::metadata(dest).is_ok_and(|m| m.is_file());
        if is_file {
            if opts.keep(dest, false) && seen.insert(dest.clone()) {
                out.push(SourceFile {
                    dfile: dfile_for(
                        bytes(dest),
                        opts.ddir.as_deref(),
                        opts.stripdir.as_deref(),
                        opts.prependdir.as_deref(),
                    ),
                    path: dest.clone(),
                });
            }
            continue;
        }
        // compile_dir: -d DDIR means strip the directory, prepend DDIR.
        let (strip, prepend) = match &opts.ddir {
            Some(d) => (Some(bytes(dest).to_vec()), Some(d.clone())),
            None => (opts.stripdir.clone(), opts.prependdir.clone()),
        };
        let files = walk_dir(
            dest,
            opts.max_depth.unwrap_or(usize::MAX),
            skips.as_ref(),
            true,
            &errors,
        );
        let kept: Vec<SourceFile> = files
            .into_par_iter()
            .filter(|(f, regular)| opts.keep(f, *regular))
            .map(|(f, _)| SourceFile {
                dfile: dfile_for(bytes(&f), None, strip.as_deref(), prepend.as_deref()),
                path: f,
            })
            .collect();
        if dests.len() == 1 {
            // One tree: the walk names every file once.
            out.extend(kept);
        } else {
            for s in kept {
                if seen.insert(s.path.clone()) {
                    out.push(s);
                }
            }
        }
    }
    (out, errors.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(full: &str, ddir: Option<&str>, strip: Option<&str>, prepend: Option<&str>) -> String {
        dfile_for(
            full.as_bytes(),
            ddir.map(str::as_bytes),
            strip.map(str::as_bytes),
            prepend.map(str::as_bytes),
        )
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap_or_else(|| "<none>".into())
    }

    /// Expected values are what CPython 3.12's compileall.compile_file computes for the same
    /// arguments (its stripdir loop run by hand on these inputs).
    #[test]
    fn dfile_rules() {
        assert_eq!(d("pkg/m.py", None, None, None), "<none>");
        assert_eq!(d("pkg/sub/m.py", Some("/lib"), None, None), "/lib/m.py");
        assert_eq!(
            d("/build/root/pkg/m.py", None, Some("/build/root"), None),
            "pkg/m.py"
        );
        assert_eq!(
            d(
                "/build/root/pkg/m.py",
                None,
                Some("/build/root"),
                Some("/usr")
            ),
            "/usr/pkg/m.py"
        );
        assert_eq!(d("pkg/m.py", None, None, Some("/opt")), "/opt/pkg/m.py");
        // The list.remove quirk: the first "a" is removed, not the matching position.
        assert_eq!(d("a/b/a/m.py", None, Some("c/d/a"), None), "b/a/m.py");
    }

    #[test]
    fn join_is_posixpath_join() {
        assert_eq!(py_join(b"a", b"b"), b"a/b");
        assert_eq!(py_join(b"a/", b"b"), b"a/b");
        assert_eq!(py_join(b"", b"b"), b"b");
        assert_eq!(py_join(b"a", b"/b"), b"/b");
    }
}
