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
use rustix::fs::{accessat, openat, statat, Access, AtFlags, FileType, Mode, OFlags, CWD};

use crate::paths::{cache_from_source, path_join, CacheOptions};
use crate::walk::{self, join, open_dir_at, read_entries, DirListing, Entry, EntryKind};

// The rooms: targets (who judges), records (what is said), the verdict (the version rules),
// and below, the per-folder driver that walks and calls them.
mod record;
mod target;
mod verdict;

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

/// A cache folder's content (`__pycache__`, a prefix-tree folder, or the source folder).
struct Listing {
    path: Vec<u8>,
    /// Open, when it could be opened.
    fd: Option<OwnedFd>,
    /// Sorted by name; `None` when the folder exists but cannot be listed.
    entries: Option<Vec<Entry>>,
    used: Vec<bool>,
    via_symlink: bool,
    place: Place,
}

impl Listing {
    fn new(path: Vec<u8>, fd: Option<OwnedFd>, via_symlink: bool, place: Place) -> Listing {
        let entries = fd.as_ref().and_then(|fd| {
            read_entries(fd.as_fd()).ok().map(|mut e| {
                e.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                e
            })
        });
        let n = entries.as_ref().map_or(0, Vec::len);
        Listing {
            path,
            fd,
            entries,
            used: vec![false; n],
            via_symlink,
            place,
        }
    }

    fn find(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .as_ref()?
            .binary_search_by(|e| e.name.as_slice().cmp(name))
            .ok()
    }
}

/// A parsed `__pycache__` file name.
enum CacheName<'a> {
    /// `STEM.TAG[.opt-N].pyc` (or `.pyo`).
    Cache {
        stem: &'a [u8],
        tag: &'a [u8],
        opt: Option<&'a [u8]>,
    },
    /// `NAME.pyc.NNN`: `_write_atomic`'s temp file; or `NAME.pyc.PID.N.pyc-tmp`,
    /// `pyc compile`'s (left only by a kill between creating and renaming it).
    Leftover { base: &'a [u8] },
    /// A `.pyc`/`.pyo` name CPython never writes in `__pycache__`.
    OddPyc,
    /// Not a cache file at all.
    Other,
}

fn is_pyc_name(n: &[u8]) -> bool {
    n.len() > 4 && (n.ends_with(b".pyc") || n.ends_with(b".pyo"))
}

fn rsplit_dot(s: &[u8]) -> Option<(&[u8], &[u8])> {
    s.iter()
        .rposition(|&b| b == b'.')
        .map(|i| (&s[..i], &s[i + 1..]))
}

/// `BASE.DIGITS` → `BASE`.
fn strip_dot_digits(s: &[u8]) -> Option<&[u8]> {
    let (base, digits) = rsplit_dot(s)?;
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(base)
}

fn parse_cache_name(name: &[u8]) -> CacheName<'_> {
    if let Some(base) = strip_dot_digits(name).filter(|b| is_pyc_name(b)) {
        return CacheName::Leftover { base };
    }
    if let Some(base) = name
        .strip_suffix(b".pyc-tmp")
        .and_then(strip_dot_digits)
        .and_then(strip_dot_digits)
        .filter(|b| is_pyc_name(b))
    {
        return CacheName::Leftover { base };
    }
    if !is_pyc_name(name) {
        return CacheName::Other;
    }
    let body = &name[..name.len() - 4];
    let Some((rest, last)) = rsplit_dot(body) else {
        return CacheName::OddPyc;
    };
    let (rest, tag, opt) = if let Some(level) = last.strip_prefix(b"opt-") {
        match rsplit_dot(rest) {
            Some((r, tag)) => (r, tag, Some(level)),
            None => return CacheName::OddPyc,
        }
    } else {
        (rest, last, None)
    };
    if rest.is_empty() || tag.is_empty() {
        return CacheName::OddPyc;
    }
    CacheName::Cache {
        stem: rest,
        tag,
        opt,
    }
}

fn open_nonblocking(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    // O_NONBLOCK: a FIFO that appeared since listing must not hang us.
    openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Read up to `buf.len()` bytes from the start of a file.
fn read_head(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn read_all(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match rustix::io::read(fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The largest cache file `--verify` reads whole (1 GiB).
const VERIFY_MAX_BYTES: u64 = 1 << 30;

/// Why a cache file that passed the header check would not be loaded after all, if so: its
/// body, read as that version's `marshal.loads` reads it, must be a code object (`broken`
/// otherwise), and it must be readable (`stale`, unreadable, otherwise).
fn verify_body(cache: &[u8]) -> Option<(State, Reason, String)> {
    // Non-blocking open: a FIFO must not hang the run (verify_fd reads regular files only).
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match openat(CWD, crate::bytes_path(cache), flags, Mode::empty()) {
        Ok(fd) => verify_fd(fd.as_fd()),
        // `get_data` raising OSError: the importer compiles the source instead (stale).
        Err(e) => Some((
            State::Stale,
            Reason::Unreadable,
            format!("cannot read the body: {}", errno_text(e)),
        )),
    }
}

/// [`verify_body`] on an open cache file (read whole from offset 0, whatever was read from
/// it before): `None` when it loads as a code object, or when it is not a regular file or is
/// larger than 1 GiB (no real pyc comes near; left to the header check's verdict). Shared
/// with `pyc compile --verify`, which opened the file for its header check.
pub fn verify_fd(fd: BorrowedFd<'_>) -> Option<(State, Reason, String)> {
    let unreadable = |e: rustix::io::Errno| {
        Some((
            State::Stale,
            Reason::Unreadable,
            format!("cannot read the body: {}", errno_text(e)),
        ))
    };
    let st = match rustix::fs::fstat(fd) {
        Ok(st) => st,
        Err(e) => return unreadable(e),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_size as u64 > VERIFY_MAX_BYTES
    {
        return None;
    }
    let mut data = Vec::with_capacity(st.st_size as usize);
    let mut buf = [0u8; 65536];
    loop {
        match rustix::io::pread(fd, &mut buf, data.len() as u64) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return unreadable(e),
        }
        if data.len() as u64 > VERIFY_MAX_BYTES {
            return None;
        }
    }
    match pyc_format::read_pyc(&data) {
        Ok(_) => None,
        Err(pyc_format::PycError::NotCode(what)) => Some((
            State::Broken,
            Reason::NotCode,
            format!("the body is a {what}, not a code object"),
        )),
        Err(e) => Some((State::Broken, Reason::BadMarshal, e.to_string())),
    }
}

fn errno_text(e: rustix::io::Errno) -> String {
    let s = std::io::Error::from(e).to_string();
    s.split(" (os error").next().unwrap_or("").to_lowercase()
}

/// The result of looking a cache file up and reading its head.
enum Head {
    Missing,
    Read { bytes: [u8; 16], len: usize },
    Unreadable(String),
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

    fn abs(&self, p: &[u8]) -> Vec<u8> {
        if p.starts_with(b"/") {
            p.to_vec()
        } else {
            let p = p.strip_prefix(b"./").unwrap_or(p);
            if p == b"." || p.is_empty() {
                self.opts.cwd.clone()
            } else {
                path_join(&[&self.opts.cwd, p])
            }
        }
    }

    /// The prefix-tree folder of source folder `dir`.
    fn prefix_dir(&self, prefix: &[u8], dir: &[u8]) -> Vec<u8> {
        let abs = self.abs(dir);
        let start = abs.iter().position(|&b| b != b'/').unwrap_or(abs.len());
        path_join(&[prefix, &abs[start..]])
    }

    fn prefix_orphans(&self, prefix: &[u8], roots: &[&Path], sink: &(dyn Fn(Vec<Record>) + Sync)) {
        let mirrors: Vec<Vec<u8>> = roots
            .iter()
            .map(|r| self.prefix_dir(prefix, crate::path_bytes(r)))
            .filter(|m| std::fs::metadata(crate::bytes_path(m)).is_ok_and(|m| m.is_dir()))
            .collect();
        let mirror_paths: Vec<&Path> = mirrors.iter().map(|m| crate::bytes_path(m)).collect();
        let prefix_trim = prefix.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let prefix = &prefix[..prefix_trim];
        let visit = |d: &DirListing<'_>| {
            // The source folder this prefix folder mirrors.
            let Some(rest) = d.path.strip_prefix(prefix) else {
                return;
            };
            let source_dir = if rest.is_empty() {
                b"/".to_vec()
            } else {
                rest.to_vec()
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

    /// Look a cache file up in `listing` and read its first 16 bytes.
    fn head(listing: &mut Listing, name: &[u8]) -> (Head, bool) {
        let mut is_symlink = false;
        if listing.entries.is_some() {
            let Some(i) = listing.find(name) else {
                return (Head::Missing, false);
            };
            listing.used[i] = true;
            let kind = listing
                .entries
                .as_ref()
                .map_or(EntryKind::File, |e| e[i].kind);
            match kind {
                EntryKind::File => {}
                EntryKind::Symlink => is_symlink = true,
                other => {
                    return (
                        Head::Unreadable(format!("not a regular file: {}", other.describe())),
                        false,
                    )
                }
            }
        }
        let fd = match &listing.fd {
            Some(dfd) => open_nonblocking(dfd.as_fd(), name),
            None => open_nonblocking(CWD, join(&listing.path, name).as_slice()),
        };
        let fd = match fd {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return (Head::Missing, is_symlink),
            Err(e) => return (Head::Unreadable(errno_text(e)), is_symlink),
        };
        if is_symlink {
            // Through a symlink: make sure it leads to a regular file.
            if let Ok(st) = rustix::fs::fstat(&fd) {
                let t = FileType::from_raw_mode(st.st_mode);
                if t != FileType::RegularFile {
                    return (
                        Head::Unreadable(format!("symlink to {:?}", t).to_lowercase()),
                        true,
                    );
                }
            }
        }
        let mut bytes = [0u8; 16];
        match read_head(fd.as_fd(), &mut bytes) {
            Ok(len) => (Head::Read { bytes, len }, is_symlink),
            Err(e) => (Head::Unreadable(errno_text(e)), is_symlink),
        }
    }

    fn classify_dir(&self, d: &DirListing<'_>) -> Vec<Record> {
        let mut out = Vec::new();
        let dirfd = d.fd;
        // Sources: `.py` names that are regular files (or symlinks to them), as FileFinder's
        // `_path_isfile` requires.
        let mut sources: Vec<&[u8]> = Vec::new();
        for e in d.entries {
            if let Some(only) = d.only {
                if e.name != only {
                    continue;
                }
            }
            if !(e.name.len() > 3 && e.name.ends_with(b".py")) {
                continue;
            }
            match e.kind {
                EntryKind::File => sources.push(&e.name),
                EntryKind::Symlink => match statat(dirfd, e.name.as_slice(), AtFlags::empty()) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                        sources.push(&e.name)
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let mut r = Record::new(State::Error);
                        r.source = Some(join(d.path, &e.name));
                        r.detail = Some(format!("broken symlink: {}", errno_text(err)));
                        out.push(r);
                    }
                },
                EntryKind::Dir => {}
                other => {
                    let mut r = Record::new(State::Error);
                    r.source = Some(join(d.path, &e.name));
                    r.detail = Some(format!(
                        "not a regular file ({}): not a module",
                        other.describe()
                    ));
                    out.push(r);
                }
            }
        }
        sources.sort_unstable();
        // Which sources exist, for the cache side (all of them, also when one file was given):
        // regular files, or symlinks to them, as FileFinder's `_path_isfile`. A dangling
        // `NAME.py` is no source: CPython imports a `NAME.pyc` beside it as sourceless, so
        // that pyc is no regenerable cache (issue 16).
        let mut present: Vec<&[u8]> = d
            .entries
            .iter()
            .filter(|e| e.name.len() > 3 && e.name.ends_with(b".py"))
            .filter(|e| match e.kind {
                EntryKind::File => true,
                EntryKind::Symlink => statat(dirfd, e.name.as_slice(), AtFlags::empty())
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile),
                _ => false,
            })
            .map(|e| e.name.as_slice())
            .collect();
        present.sort_unstable();
        // With a single file given, only its own cache files are listed.
        let only_stem: Option<&[u8]> = d.only.map(|o| o.strip_suffix(b".py").unwrap_or(o));
        let mine = |name: &[u8]| match only_stem {
            None => true,
            Some(stem) => {
                name.len() > stem.len() && name.starts_with(stem) && name[stem.len()] == b'.'
            }
        };

        // The folders where caches may be.
        let pycache_entry = d.entries.iter().find(|e| {
            e.name == b"__pycache__" && matches!(e.kind, EntryKind::Dir | EntryKind::Symlink)
        });
        let mut pycache = pycache_entry.map(|e| {
            let path = join(d.path, b"__pycache__");
            let fd = openat(
                dirfd,
                "__pycache__",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            match fd {
                Ok(fd) => {
                    Listing::new(path, Some(fd), e.kind == EntryKind::Symlink, Place::Pycache)
                }
                Err(_) => Listing {
                    path,
                    fd: None,
                    entries: None,
                    used: Vec::new(),
                    via_symlink: e.kind == EntryKind::Symlink,
                    place: Place::Pycache,
                },
            }
        });
        if pycache
            .as_ref()
            .is_some_and(|l| l.fd.is_none() && l.via_symlink)
        {
            pycache = None; // a symlink to nothing usable
        }
        // Prefix folders, one per distinct prefix.
        let mut prefix_listings: Vec<(Vec<u8>, Listing)> = Vec::new();
        for t in &self.targets {
            if let Some(prefix) = t.uses_prefix() {
                if prefix_listings.iter().any(|(p, _)| p.as_slice() == prefix) {
                    continue;
                }
                let path = self.prefix_dir(prefix, d.path);
                let fd = openat(
                    CWD,
                    path.as_slice(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                );
                let listing = match fd {
                    Ok(fd) => Listing::new(path, Some(fd), false, Place::Prefix),
                    Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => Listing {
                        path,
                        fd: None,
                        entries: Some(Vec::new()),
                        used: Vec::new(),
                        via_symlink: false,
                        place: Place::Prefix,
                    },
                    Err(_) => Listing {
                        path,
                        fd: None,
                        entries: None,
                        used: Vec::new(),
                        via_symlink: false,
                        place: Place::Prefix,
                    },
                };
                prefix_listings.push((prefix.to_vec(), listing));
            }
        }
        // Legacy pycs beside the sources: only the cache-looking entries, sorted.
        let mut beside_idx: Vec<usize> = d
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                (match d.only {
                    None => true,
                    // NAME.pyc beside a single given NAME.py
                    Some(o) => e.name.starts_with(o),
                }) && (is_pyc_name(&e.name)
                    || matches!(parse_cache_name(&e.name), CacheName::Leftover { .. }))
            })
            .map(|(i, _)| i)
            .collect();
        beside_idx.sort_unstable_by(|&a, &b| d.entries[a].name.cmp(&d.entries[b].name));
        let mut beside_used = vec![false; beside_idx.len()];

        // Per target: does any verdict here need a write?
        let mut needs_write = vec![false; self.targets.len()];

        for src in &sources {
            let source_path = join(d.path, src);
            let mut stat: Option<Result<SourceStat, String>> = None;
            let mut source_bytes: Option<Result<Vec<u8>, String>> = None;
            for (ti, t) in self.targets.iter().enumerate() {
                let mut seen: Vec<Vec<u8>> = Vec::new();
                for &level in &t.optimizations {
                    let optimization = if level == 0 {
                        String::new()
                    } else {
                        level.to_string()
                    };
                    let mut rec = Record::new(State::Missing);
                    rec.source = Some(source_path.clone());
                    rec.tag = Some(t.tag.clone());
                    rec.optimization = Some(level);
                    rec.target = Some(t.label.clone());
                    rec.target_index = Some(ti);
                    // The cache file name and the folder it is in.
                    let (name, listing): (Vec<u8>, Option<&mut Listing>) =
                        if t.info.cache_layout == CacheLayout::Legacy {
                            let mut n = src.to_vec();
                            n.push(if level == 0 { b'c' } else { b'o' });
                            (n, None)
                        } else {
                            let full = match cache_from_source(
                                t.info,
                                src,
                                CacheOptions {
                                    optimization: &optimization,
                                    prefix: None,
                                    cwd: b"",
                                },
                            ) {
                                Ok(f) => f,
                                Err(e) => {
                                    rec.state = State::Error;
                                    rec.detail = Some(e.to_string());
                                    out.push(rec);
                                    continue;
                                }
                            };
                            let n = full
                                .strip_prefix(b"__pycache__/".as_slice())
                                .unwrap_or(&full)
                                .to_vec();
                            let l = match t.uses_prefix() {
                                Some(p) => prefix_listings
                                    .iter_mut()
                                    .find(|(q, _)| q.as_slice() == p)
                                    .map(|(_, l)| l),
                                None => pycache.as_mut(),
                            };
                            (n, l)
                        };
                    if seen.contains(&name) {
                        continue; // 2.7 -O and -OO share NAME.pyo
                    }
                    seen.push(name.clone());
                    let (head, via_link) = if t.info.cache_layout == CacheLayout::Legacy {
                        rec.place = Place::Beside;
                        rec.cache = Some(join(d.path, &name));
                        match beside_idx
                            .binary_search_by(|&i| d.entries[i].name.as_slice().cmp(&name))
                        {
                            Err(_) => (Head::Missing, false),
                            Ok(k) => {
                                beside_used[k] = true;
                                let kind = d.entries[beside_idx[k]].kind;
                                if !matches!(kind, EntryKind::File | EntryKind::Symlink) {
                                    (
                                        Head::Unreadable(format!(
                                            "not a regular file: {}",
                                            kind.describe()
                                        )),
                                        false,
                                    )
                                } else {
                                    let r = match open_nonblocking(dirfd, &name) {
                                        Ok(fd) => {
                                            let mut bytes = [0u8; 16];
                                            match read_head(fd.as_fd(), &mut bytes) {
                                                Ok(len) => Head::Read { bytes, len },
                                                Err(e) => Head::Unreadable(errno_text(e)),
                                            }
                                        }
                                        Err(e) => Head::Unreadable(errno_text(e)),
                                    };
                                    (r, kind == EntryKind::Symlink)
                                }
                            }
                        }
                    } else {
                        match listing {
                            None => {
                                // No cache folder at all.
                                let dir = match t.uses_prefix() {
                                    Some(p) => self.prefix_dir(p, d.path),
                                    None => join(d.path, b"__pycache__"),
                                };
                                rec.place = if t.uses_prefix().is_some() {
                                    Place::Prefix
                                } else {
                                    Place::Pycache
                                };
                                rec.cache = Some(join(&dir, &name));
                                (Head::Missing, false)
                            }
                            Some(l) => {
                                rec.place = l.place;
                                rec.cache = Some(join(&l.path, &name));
                                let (h, s) = Self::head(l, &name);
                                (h, s || l.via_symlink)
                            }
                        }
                    };
                    rec.through_symlink = via_link;
                    match head {
                        Head::Missing => rec.state = State::Missing,
                        Head::Unreadable(msg) => {
                            rec.state = State::Stale;
                            rec.reason = Some(Reason::Unreadable);
                            rec.detail = Some(msg);
                        }
                        Head::Read { bytes, len } => {
                            let st = stat.get_or_insert_with(|| {
                                statat(dirfd, *src, AtFlags::empty())
                                    .map(|s| source_stat_of(&s))
                                    .map_err(errno_text)
                            });
                            match st {
                                Err(e) => {
                                    rec.state = State::Error;
                                    rec.detail = Some(format!("cannot stat the source: {e}"));
                                }
                                Ok(st) => {
                                    let mut read_source = || -> Result<Vec<u8>, String> {
                                        source_bytes
                                            .get_or_insert_with(|| {
                                                open_nonblocking(dirfd, src)
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
                            }
                        }
                    }
                    if matches!(rec.state, State::Missing | State::Stale) {
                        needs_write[ti] = true;
                    }
                    out.push(rec);
                }
            }
        }

        // Cache-side files no target claimed.
        let has_source = |stem: &[u8]| {
            let mut n = stem.to_vec();
            n.extend_from_slice(b".py");
            present.binary_search(&n.as_slice()).is_ok()
        };
        let cache_side = |l: &Listing, out: &mut Vec<Record>| {
            let Some(entries) = &l.entries else {
                if l.fd.is_some() || l.place == Place::Pycache {
                    let mut r = Record::new(State::Error);
                    r.cache = Some(l.path.clone());
                    r.detail = Some("cannot list the cache folder".into());
                    out.push(r);
                }
                return;
            };
            for (i, e) in entries.iter().enumerate() {
                if l.used.get(i).copied().unwrap_or(false)
                    || !matches!(e.kind, EntryKind::File | EntryKind::Symlink)
                    || !mine(&e.name)
                {
                    continue;
                }
                let mut r = Record::new(State::Orphan);
                r.cache = Some(join(&l.path, &e.name));
                r.place = l.place;
                r.through_symlink = l.via_symlink || e.kind == EntryKind::Symlink;
                match parse_cache_name(&e.name) {
                    CacheName::Other => continue,
                    CacheName::OddPyc => r.reason = Some(Reason::NotACacheName),
                    CacheName::Leftover { base } => {
                        r.state = State::Leftover;
                        if let CacheName::Cache { stem, tag, opt } = parse_cache_name(base) {
                            r.tag = Some(String::from_utf8_lossy(tag).into_owned());
                            r.optimization = opt.and_then(parse_level);
                            if has_source(stem) {
                                r.source = Some(join(d.path, &[stem, b".py"].concat()));
                            }
                        }
                    }
                    CacheName::Cache { stem, tag, opt } => {
                        let tag_s = String::from_utf8_lossy(tag).into_owned();
                        r.optimization = opt.and_then(parse_level);
                        if has_source(stem) {
                            r.source = Some(join(d.path, &[stem, b".py"].concat()));
                            r.state = State::Foreign;
                            let same_tag: Vec<&Target> =
                                self.targets.iter().filter(|t| t.tag == tag_s).collect();
                            r.reason = Some(if same_tag.is_empty() {
                                Reason::OtherTag
                            } else if l.place == Place::Pycache
                                && same_tag.iter().all(|t| t.uses_prefix().is_some())
                            {
                                Reason::PrefixInUse
                            } else {
                                Reason::OptimizationNotSelected
                            });
                        } else {
                            r.reason = Some(Reason::SourceGone);
                        }
                        r.tag = Some(tag_s);
                    }
                }
                out.push(r);
            }
        };
        if let Some(l) = &pycache {
            cache_side(l, &mut out);
        }
        for (_, l) in &prefix_listings {
            if l.fd.is_some() || l.entries.is_none() {
                cache_side(l, &mut out);
            }
        }
        // Beside the sources: legacy pycs no target read, leftovers, sourceless pycs.
        for (k, &i) in beside_idx.iter().enumerate() {
            let e = &d.entries[i];
            if beside_used[k] || !matches!(e.kind, EntryKind::File | EntryKind::Symlink) {
                continue;
            }
            let mut r = Record::new(State::Sourceless);
            r.cache = Some(join(d.path, &e.name));
            r.place = Place::Beside;
            r.through_symlink = e.kind == EntryKind::Symlink;
            if let CacheName::Leftover { base } = parse_cache_name(&e.name) {
                r.state = State::Leftover;
                let src = &base[..base.len() - 1];
                if present.binary_search(&src).is_ok() {
                    r.source = Some(join(d.path, src));
                }
                out.push(r);
                continue;
            }
            // The version that wrote it, from its magic.
            if let Ok(fd) = open_nonblocking(dirfd, &e.name) {
                let mut b = [0u8; 4];
                if let Ok(4) = read_head(fd.as_fd(), &mut b) {
                    if let Some(info) = pyc_format::classify(b).and_then(|k| k.version_info()) {
                        r.tag = Some(tag_for(info));
                    }
                }
            }
            let src = &e.name[..e.name.len() - 1];
            if present.binary_search(&src).is_ok() {
                r.state = State::Foreign;
                r.reason = Some(Reason::LegacyBesideSource);
                r.source = Some(join(d.path, src));
            }
            out.push(r);
        }

        // Unwritable cache folders, for targets that must write here.
        for (ti, t) in self.targets.iter().enumerate() {
            if !needs_write[ti] || t.dont_write_bytecode {
                continue;
            }
            let (dir, writable) = if t.info.cache_layout == CacheLayout::Legacy {
                (d.path.to_vec(), dir_writable(dirfd, "."))
            } else if let Some(p) = t.uses_prefix() {
                let dir = self.prefix_dir(p, d.path);
                let w = nearest_writable(&dir);
                (dir, w)
            } else {
                let dir = join(d.path, b"__pycache__");
                let w = if pycache.is_some() {
                    dir_writable(dirfd, "__pycache__")
                } else {
                    dir_writable(dirfd, ".")
                };
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
        out
    }
}

fn parse_level(opt: &[u8]) -> Option<u32> {
    std::str::from_utf8(opt).ok()?.parse().ok()
}

/// Can this process create files in the folder `name` (relative to `dirfd`)?
fn dir_writable(dirfd: BorrowedFd<'_>, name: &str) -> bool {
    accessat(
        dirfd,
        name,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .is_ok()
}

/// For a folder that may not exist: can the interpreter create it and write in it? It makes
/// the missing parents one by one, so the nearest existing ancestor decides.
fn nearest_writable(dir: &[u8]) -> bool {
    let mut p: &[u8] = dir;
    loop {
        match statat(CWD, p, AtFlags::empty()) {
            Ok(st) => {
                return FileType::from_raw_mode(st.st_mode) == FileType::Directory
                    && accessat(CWD, p, Access::WRITE_OK | Access::EXEC_OK, AtFlags::EACCESS)
                        .is_ok()
            }
            Err(_) => {
                let (head, _) = crate::paths::path_split(p);
                if head.is_empty() || head == p {
                    return false;
                }
                p = head;
            }
        }
    }
}

/// Open a folder below a walked folder without following symlinks (re-exported for clean).
pub fn open_subdir(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    open_dir_at(dirfd, name)
}
