//! The one classification of a tree's bytecode cache, shared by `pyc status`, `pyc clean`
//! and `pyc compile`: for every source, target interpreter and optimization level, the verdict
//! the interpreter itself would reach on import, and for every cache file, what it is.
//!
//! ## The rules, per version (rows of [`RULES`])
//!
//! * **2.x** (`Python/import.c`, `load_source_module` / `check_compiled_module`): the cache
//!   is `NAME.pyc` (`NAME.pyo` under `-O`) beside the source, 8-byte header. The source's
//!   `st_mtime` (whole seconds) is masked to 32 bits and compared with the header's mtime read
//!   by `PyMarshal_ReadLongFromFile`, which sign-extends it: so a source mtime whose low 32
//!   bits are 2**31 or more never matches and the module is recompiled on every import.
//! * **3.3–3.6** (`_validate_bytecode_header`): 12-byte header; `int(st_mtime)` (the float,
//!   truncated) compared with the header mtime *unmasked*, so mtimes before 1970 or from 2106
//!   on never match; the size is compared masked to 32 bits.
//! * **3.7+** (PEP 552, `_classify_pyc`, `_validate_timestamp_pyc`, `_validate_hash_pyc`):
//!   16-byte header; magic, then unknown flag bits are rejected; timestamp pycs compare
//!   `int(st_mtime) & 0xFFFFFFFF` and `st_size & 0xFFFFFFFF`; hash-based pycs are checked
//!   (reading and hashing the source) only when `check_hash_based_pycs` is not `never` and
//!   either the pyc's `check_source` bit is set or the mode is `always`.
//!
//! `int(st_mtime)` is computed as CPython does: `st_mtime` is the double
//! `sec + nsec * 1e-9` (`fill_time` in `Modules/posixmodule.c`), which rounds up to the next
//! second for nanosecond parts close to one, and `int()` truncates toward zero.
//!
//! On the cache side: `orphan` (a `__pycache__` or prefix-tree file whose source is gone:
//! never imported), `foreign` (a cache file of a source that exists, for an interpreter or
//! level that is not a target: listed, not judged), `leftover` (`NAME.pyc.NNN`, the temp file
//! of an interrupted `_write_atomic`), `sourceless` (a `NAME.pyc` beside no `NAME.py`, which
//! CPython imports as is), and `unwritable` (a folder where a target must write a cache file
//! and cannot: it recompiles on every start).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;

use pyc_format::CacheLayout;
use rustix::fs::{statat, AtFlags};

use crate::paths::{cache_from_source, CacheOptions};
use crate::walk::{self, join, open_dir_at, DirListing, EntryKind};

// The rooms: targets (who judges), records (what is said), the verdict (the version rules);
// below them the per-folder driver's phases: which files are sources (here), the folders
// their caches may be in (`folders`), cache file names (`names`), raw file access (`io`), the
// files no target claimed (`orphans`) and `pycache_prefix` trees (`prefix`).
mod folders;
mod io;
mod names;
mod orphans;
mod prefix;
mod record;
mod target;
mod verdict;

use folders::{CacheFolders, Head};
pub use io::verify_fd;
use io::{
    dir_writable, errno_text, is_regular_file_at, nearest_writable, open_nonblocking, read_all,
    verify_body,
};
use names::is_source_name;
use orphans::Present;
pub use record::*;
pub use target::*;
pub(crate) use verdict::source_stat_of;
pub use verdict::*;

/// Options of a classification besides the targets.
#[derive(Default, Clone)]
pub struct ClassifyOptions {
    pub walk: walk::WalkOptions,
    /// The working directory (for prefix trees of relative roots); `std::env::current_dir`
    /// when empty.
    pub cwd: Vec<u8>,
    /// Read every fresh cache file whole and unmarshal its body: one the interpreter would
    /// accept by its header but fail to load is `broken` (costs a read and a parse per file).
    pub verify: bool,
}

/// The classification of one or more trees for a set of targets.
pub struct Classifier {
    pub targets: Vec<Target>,
    opts: ClassifyOptions,
}

/// A finished classification, records sorted by path.
pub struct Classification {
    pub records: Vec<Record>,
}

impl Classifier {
    pub fn new(targets: Vec<Target>, opts: ClassifyOptions) -> Classifier {
        let mut opts = opts;
        if opts.cwd.is_empty() {
            if let Ok(c) = std::env::current_dir() {
                opts.cwd = crate::path_bytes(&c).to_vec();
            }
        }
        opts.walk.not_descended.push(b"__pycache__".to_vec());
        Classifier { targets, opts }
    }

    /// Classify the trees and return every record, sorted by source then cache path.
    pub fn classify_tree(&self, roots: &[&Path]) -> Classification {
        let out = Mutex::new(Vec::new());
        self.classify_each(roots, &|batch: Vec<Record>| {
            if let Ok(mut v) = out.lock() {
                v.extend(batch);
            }
        });
        let mut records = out.into_inner().unwrap_or_default();
        records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Classification { records }
    }

    /// Classify the trees, handing the records of each folder to `sink` as they are made
    /// (from several threads, in no particular order).
    pub fn classify_each(&self, roots: &[&Path], sink: &(dyn Fn(Vec<Record>) + Sync)) {
        self.classify_each_in(roots, &|_, records| sink(records));
    }

    /// As [`Classifier::classify_each`], also handing the sink the walked folder the records
    /// come from (its path, open descriptor and entries), or `None` for records that are not
    /// about one walked folder (walk problems, prefix-tree orphans). `pyc clean` removes cache
    /// files relative to that descriptor while the walk goes on.
    pub fn classify_each_in(
        &self,
        roots: &[&Path],
        sink: &(dyn Fn(Option<&DirListing<'_>>, Vec<Record>) + Sync),
    ) {
        let visit = |d: &DirListing<'_>| {
            let records = self.classify_dir(d);
            if !records.is_empty() {
                sink(Some(d), records);
            }
        };
        let issue = |i: walk::WalkIssue| {
            let mut r = Record::new(State::Error);
            r.source = Some(i.path);
            r.detail = Some(i.message);
            sink(None, vec![r]);
        };
        walk::walk(roots, &self.opts.walk, &visit, &issue);
        let sink: &(dyn Fn(Vec<Record>) + Sync) = &|records: Vec<Record>| sink(None, records);
        // Prefix-tree folders whose source folder is gone entirely.
        let mut prefixes: Vec<&[u8]> = self
            .targets
            .iter()
            .filter_map(Target::uses_prefix)
            .collect();
        prefixes.sort();
        prefixes.dedup();
        for prefix in prefixes {
            self.prefix_orphans(prefix, roots, sink);
        }
    }

    /// One walked folder, phase by phase: its sources, the folders their caches may be in,
    /// the verdict for each source, target and level, then the cache side (what no target
    /// claimed) and the folders targets must write in and cannot.
    fn classify_dir(&self, d: &DirListing<'_>) -> Vec<Record> {
        let mut out = Vec::new();
        let sources = list_sources(d, &mut out);
        let mut folders = CacheFolders::open(self, d);
        // Per target: does any verdict here need a write?
        let mut needs_write = vec![false; self.targets.len()];
        for src in &sources.judged {
            self.classify_source(d, src, &mut folders, &mut needs_write, &mut out);
        }
        if let Some(l) = &folders.pycache {
            orphans::unclaimed_in_cache_folder(&self.targets, d, &sources.present, l, &mut out);
        }
        for (_, l) in &folders.prefixes {
            if l.fd.is_some() || l.entries.is_none() {
                orphans::unclaimed_in_cache_folder(&self.targets, d, &sources.present, l, &mut out);
            }
        }
        orphans::unclaimed_beside(d, &sources.present, &folders.beside, &mut out);
        self.unwritable(d, folders.pycache.is_some(), &needs_write, &mut out);
        out
    }

    /// The records of one source: one per target and optimization level (2.7's `-O` and
    /// `-OO` share `NAME.pyo`: one record).
    fn classify_source(
        &self,
        d: &DirListing<'_>,
        src: &[u8],
        folders: &mut CacheFolders,
        needs_write: &mut [bool],
        out: &mut Vec<Record>,
    ) {
        let source_path = join(d.path, src);
        let mut facts = SourceFacts {
            dirfd: d.fd,
            name: src,
            stat: None,
            bytes: None,
        };
        for (ti, t) in self.targets.iter().enumerate() {
            let mut seen: Vec<Vec<u8>> = Vec::new();
            for &level in &t.optimizations {
                let mut rec = Record::new(State::Missing);
                rec.source = Some(source_path.clone());
                rec.tag = Some(t.tag.clone());
                rec.optimization = Some(level);
                rec.target = Some(t.label.clone());
                rec.target_index = Some(ti);
                let name = match cache_name(t, src, level) {
                    Ok(n) => n,
                    Err(e) => {
                        rec.state = State::Error;
                        rec.detail = Some(e);
                        out.push(rec);
                        continue;
                    }
                };
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name.clone());
                let (head, via_link) = self.look_up(d, t, &name, folders, &mut rec);
                rec.through_symlink = via_link;
                self.judge_head(t, head, &mut facts, &mut rec);
                if matches!(rec.state, State::Missing | State::Stale) {
                    needs_write[ti] = true;
                }
                out.push(rec);
            }
        }
    }

    /// Find target `t`'s cache file `name` of a source in `d` (setting the record's place and
    /// cache path) and read its head; also whether it was reached through a symlink.
    fn look_up(
        &self,
        d: &DirListing<'_>,
        t: &Target,
        name: &[u8],
        folders: &mut CacheFolders,
        rec: &mut Record,
    ) -> (Head, bool) {
        if t.info.cache_layout == CacheLayout::Legacy {
            rec.place = Place::Beside;
            rec.cache = Some(join(d.path, name));
            return folders.beside.head(d, name);
        }
        match folders.listing_for(t) {
            None => {
                // No cache folder at all.
                let (dir, place) = match t.uses_prefix() {
                    Some(p) => (self.prefix_dir(p, d.path), Place::Prefix),
                    None => (join(d.path, b"__pycache__"), Place::Pycache),
                };
                rec.place = place;
                rec.cache = Some(join(&dir, name));
                (Head::Missing, false)
            }
            Some(l) => {
                rec.place = l.place;
                rec.cache = Some(join(&l.path, name));
                let (h, s) = l.head(name);
                (h, s || l.via_symlink)
            }
        }
    }

    /// The verdict on a cache file's head: [`judge`] with the source's stat (and bytes, for a
    /// checked hash-based pyc), then `--verify`'s body check of a fresh one.
    fn judge_head(&self, t: &Target, head: Head, facts: &mut SourceFacts<'_>, rec: &mut Record) {
        let (bytes, len) = match head {
            Head::Missing => {
                rec.state = State::Missing;
                return;
            }
            Head::Unreadable(msg) => {
                rec.state = State::Stale;
                rec.reason = Some(Reason::Unreadable);
                rec.detail = Some(msg);
                return;
            }
            Head::Read { bytes, len } => (bytes, len),
        };
        let SourceFacts {
            dirfd,
            name,
            stat,
            bytes: source_bytes,
        } = facts;
        let (dirfd, name) = (*dirfd, *name);
        let st = stat.get_or_insert_with(|| {
            statat(dirfd, name, AtFlags::empty())
                .map(|s| source_stat_of(&s))
                .map_err(errno_text)
        });
        let st = match st {
            Err(e) => {
                rec.state = State::Error;
                rec.detail = Some(format!("cannot stat the source: {e}"));
                return;
            }
            Ok(st) => st,
        };
        let mut read_source = || -> Result<Vec<u8>, String> {
            source_bytes
                .get_or_insert_with(|| {
                    open_nonblocking(dirfd, name)
                        .and_then(|fd| read_all(fd.as_fd()))
                        .map_err(errno_text)
                })
                .clone()
        };
        let (s, r, det) = judge(t, &bytes[..len], st, &mut read_source);
        rec.state = s;
        rec.reason = r;
        rec.detail = det;
        if s == State::Fresh && self.opts.verify {
            if let Some(cache) = &rec.cache {
                if let Some((st, r, det)) = verify_body(cache) {
                    rec.state = st;
                    rec.reason = Some(r);
                    rec.detail = Some(det);
                }
            }
        }
    }

    /// Records for the cache folders of `d` where a target must write (it has a missing or
    /// stale cache here) and cannot: it recompiles on every start.
    fn unwritable(
        &self,
        d: &DirListing<'_>,
        has_pycache: bool,
        needs_write: &[bool],
        out: &mut Vec<Record>,
    ) {
        for (ti, t) in self.targets.iter().enumerate() {
            if !needs_write[ti] || t.dont_write_bytecode {
                continue;
            }
            let (dir, writable) = if t.info.cache_layout == CacheLayout::Legacy {
                (d.path.to_vec(), dir_writable(d.fd, "."))
            } else if let Some(p) = t.uses_prefix() {
                let dir = self.prefix_dir(p, d.path);
                let w = nearest_writable(&dir);
                (dir, w)
            } else {
                let dir = join(d.path, b"__pycache__");
                let w = dir_writable(d.fd, if has_pycache { "__pycache__" } else { "." });
                (dir, w)
            };
            if !writable {
                let mut r = Record::new(State::Unwritable);
                r.source = Some(d.path.to_vec());
                r.cache = Some(dir);
                r.tag = Some(t.tag.clone());
                r.target = Some(t.label.clone());
                r.target_index = Some(ti);
                r.detail = Some("cannot write cache files here: recompiled on every start".into());
                out.push(r);
            }
        }
    }
}

/// What the verdicts on one source read of it, at most once: its stat, and its bytes (for
/// checked hash-based pycs).
struct SourceFacts<'a> {
    dirfd: BorrowedFd<'a>,
    name: &'a [u8],
    stat: Option<Result<SourceStat, String>>,
    bytes: Option<Result<Vec<u8>, String>>,
}

/// The sources of a walked folder.
struct Sources<'a> {
    /// The sources to judge (all, or the one file given), sorted.
    judged: Vec<&'a [u8]>,
    /// Every source present, for the cache side (also when one file was given).
    present: Present<'a>,
}

/// Which entries of `d` are sources: `.py` names that are regular files or symlinks to them,
/// as FileFinder's `_path_isfile` requires. A dangling `NAME.py` is no source: CPython imports
/// a `NAME.pyc` beside it as sourceless, so that pyc is no regenerable cache (issue 16). Bad
/// entries among those to judge become error records.
fn list_sources<'a>(d: &DirListing<'a>, out: &mut Vec<Record>) -> Sources<'a> {
    let mut judged: Vec<&'a [u8]> = Vec::new();
    let mut present: Vec<&'a [u8]> = Vec::new();
    for e in d.entries {
        if !is_source_name(&e.name) {
            continue;
        }
        let wanted = d.only.is_none_or(|only| e.name == only);
        let error = |detail: String| {
            let mut r = Record::new(State::Error);
            r.source = Some(join(d.path, &e.name));
            r.detail = Some(detail);
            r
        };
        let is_source = match e.kind {
            EntryKind::File => true,
            EntryKind::Symlink => match is_regular_file_at(d.fd, &e.name) {
                Ok(regular) => regular,
                Err(err) => {
                    if wanted {
                        out.push(error(format!("broken symlink: {}", errno_text(err))));
                    }
                    false
                }
            },
            EntryKind::Dir => false,
            other => {
                if wanted {
                    out.push(error(format!(
                        "not a regular file ({}): not a module",
                        other.describe()
                    )));
                }
                false
            }
        };
        if is_source {
            present.push(&e.name);
            if wanted {
                judged.push(&e.name);
            }
        }
    }
    judged.sort_unstable();
    present.sort_unstable();
    Sources {
        judged,
        present: Present(present),
    }
}

/// The name of target `t`'s cache file of `src` at `level`, in its cache folder.
fn cache_name(t: &Target, src: &[u8], level: u32) -> Result<Vec<u8>, String> {
    if t.info.cache_layout == CacheLayout::Legacy {
        let mut n = src.to_vec();
        n.push(if level == 0 { b'c' } else { b'o' });
        return Ok(n);
    }
    let optimization = if level == 0 {
        String::new()
    } else {
        level.to_string()
    };
    let full = cache_from_source(
        t.info,
        src,
        CacheOptions {
            optimization: &optimization,
            prefix: None,
            cwd: b"",
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(full
        .strip_prefix(b"__pycache__/".as_slice())
        .unwrap_or(&full)
        .to_vec())
}

/// Open a folder below a walked folder without following symlinks (re-exported for clean).
pub fn open_subdir(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    open_dir_at(dirfd, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_per_layout() {
        let t = Target::for_version("3.12".parse().unwrap()).unwrap();
        assert_eq!(cache_name(&t, b"m.py", 0).unwrap(), b"m.cpython-312.pyc");
        assert_eq!(
            cache_name(&t, b"m.py", 2).unwrap(),
            b"m.cpython-312.opt-2.pyc"
        );
        let t = Target::for_version("2.7".parse().unwrap()).unwrap();
        assert_eq!(cache_name(&t, b"m.py", 0).unwrap(), b"m.pyc");
        assert_eq!(cache_name(&t, b"m.py", 1).unwrap(), b"m.pyo");
    }
}
