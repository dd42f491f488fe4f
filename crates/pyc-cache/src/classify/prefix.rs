//! `sys.pycache_prefix` (3.8+): where a source folder's prefix-tree folder is, and the
//! prefix-tree folders whose source folder is gone entirely (their files are orphans, found
//! by walking the mirror of each root).

use std::path::Path;

use super::names::{parse_cache_name, parse_level, CacheName};
use super::{Classifier, Place, Reason, Record, State};
use crate::paths::path_join;
use crate::walk::{self, join, DirListing, EntryKind};

/// `p` made absolute against `cwd` (`./x` and `.` as the interpreter's `_path_abspath`).
pub(crate) fn absolute(cwd: &[u8], p: &[u8]) -> Vec<u8> {
    if p.starts_with(b"/") {
        p.to_vec()
    } else {
        let p = p.strip_prefix(b"./").unwrap_or(p);
        if p == b"." || p.is_empty() {
            cwd.to_vec()
        } else {
            path_join(&[cwd, p])
        }
    }
}

/// The prefix-tree folder of source folder `dir`: the prefix joined with `dir`'s absolute
/// path without its leading slashes (as `cache_from_source` does).
pub(crate) fn prefix_dir(prefix: &[u8], cwd: &[u8], dir: &[u8]) -> Vec<u8> {
    let abs = absolute(cwd, dir);
    let start = abs.iter().position(|&b| b != b'/').unwrap_or(abs.len());
    path_join(&[prefix, &abs[start..]])
}

/// The source folder a prefix-tree folder mirrors, when `path` is below `prefix` (given
/// without trailing slashes).
fn mirrored_source_dir(prefix: &[u8], path: &[u8]) -> Option<Vec<u8>> {
    let rest = path.strip_prefix(prefix)?;
    Some(if rest.is_empty() {
        b"/".to_vec()
    } else {
        rest.to_vec()
    })
}

impl Classifier {
    /// The prefix-tree folder of source folder `dir`.
    pub(crate) fn prefix_dir(&self, prefix: &[u8], dir: &[u8]) -> Vec<u8> {
        prefix_dir(prefix, &self.opts.cwd, dir)
    }

    /// Records for the files of prefix-tree folders whose source folder is gone.
    pub(crate) fn prefix_orphans(
        &self,
        prefix: &[u8],
        roots: &[&Path],
        sink: &(dyn Fn(Vec<Record>) + Sync),
    ) {
        let mirrors: Vec<Vec<u8>> = roots
            .iter()
            .map(|r| self.prefix_dir(prefix, crate::path_bytes(r)))
            .filter(|m| std::fs::metadata(crate::bytes_path(m)).is_ok_and(|m| m.is_dir()))
            .collect();
        let mirror_paths: Vec<&Path> = mirrors.iter().map(|m| crate::bytes_path(m)).collect();
        let prefix_trim = prefix.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let prefix = &prefix[..prefix_trim];
        let visit = |d: &DirListing<'_>| {
            let Some(source_dir) = mirrored_source_dir(prefix, d.path) else {
                return;
            };
            if std::fs::metadata(crate::bytes_path(&source_dir)).is_ok_and(|m| m.is_dir()) {
                return; // classified with its source folder
            }
            let mut out = Vec::new();
            for e in d.entries {
                if !matches!(e.kind, EntryKind::File | EntryKind::Symlink) {
                    continue;
                }
                let (state, reason, tag, opt) = match parse_cache_name(&e.name) {
                    CacheName::Cache { tag, opt, .. } => (
                        State::Orphan,
                        Reason::SourceGone,
                        Some(String::from_utf8_lossy(tag).into_owned()),
                        opt.and_then(parse_level),
                    ),
                    CacheName::Leftover { .. } => (State::Leftover, Reason::SourceGone, None, None),
                    CacheName::OddPyc => (State::Orphan, Reason::NotACacheName, None, None),
                    CacheName::Other => continue,
                };
                let mut r = Record::new(state);
                r.cache = Some(join(d.path, &e.name));
                r.reason = if state == State::Leftover {
                    None
                } else {
                    Some(reason)
                };
                r.tag = tag;
                r.optimization = opt;
                r.place = Place::Prefix;
                r.through_symlink = e.kind == EntryKind::Symlink;
                out.push(r);
            }
            if !out.is_empty() {
                sink(out);
            }
        };
        let issue = |i: walk::WalkIssue| {
            let mut r = Record::new(State::Error);
            r.cache = Some(i.path);
            r.detail = Some(i.message);
            sink(vec![r]);
        };
        walk::walk(&mirror_paths, &walk::WalkOptions::default(), &visit, &issue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_folders_mirror_absolute_paths() {
        // importlib: _path_join(sys.pycache_prefix, head.lstrip(path_separators), ...)
        assert_eq!(
            prefix_dir(b"/pfx", b"/home/u", b"src/pkg"),
            b"/pfx/home/u/src/pkg"
        );
        assert_eq!(
            prefix_dir(b"/pfx", b"/home/u", b"./src"),
            b"/pfx/home/u/src"
        );
        assert_eq!(prefix_dir(b"/pfx", b"/home/u", b"."), b"/pfx/home/u");
        assert_eq!(prefix_dir(b"/pfx", b"/home/u", b"/abs"), b"/pfx/abs");
        assert_eq!(prefix_dir(b"/pfx", b"/home/u", b"//abs"), b"/pfx/abs");
    }

    #[test]
    fn a_prefix_folder_names_the_source_folder_it_mirrors() {
        assert_eq!(
            mirrored_source_dir(b"/pfx", b"/pfx/home/u").as_deref(),
            Some(b"/home/u".as_slice())
        );
        assert_eq!(
            mirrored_source_dir(b"/pfx", b"/pfx").as_deref(),
            Some(b"/".as_slice())
        );
        assert_eq!(mirrored_source_dir(b"/pfx", b"/other/x"), None);
    }
}
