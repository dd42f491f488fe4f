//! The folders a source folder's caches may be in, listed once per walked folder: its
//! `__pycache__`, one prefix-tree folder per distinct `pycache_prefix`, and the cache-looking
//! names beside the sources (2.x's `NAME.pyc`). Each listing remembers which entries a
//! target claimed, so that what is left over is the cache side's (orphans, foreign files).

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{openat, FileType, Mode, OFlags, CWD};

use super::io::{errno_text, open_nonblocking, read_head};
use super::names::{is_pyc_name, parse_cache_name, CacheName};
use super::{Classifier, Place, Target};
use crate::walk::{join, read_entries, DirListing, Entry, EntryKind};

/// A cache folder's content (`__pycache__` or a prefix-tree folder).
pub(crate) struct Listing {
    pub path: Vec<u8>,
    /// Open, when it could be opened.
    pub fd: Option<OwnedFd>,
    /// Sorted by name; `None` when the folder exists but cannot be listed.
    pub entries: Option<Vec<Entry>>,
    /// Which entries a target looked up.
    pub used: Vec<bool>,
    pub via_symlink: bool,
    pub place: Place,
}

/// The result of looking a cache file up and reading its head.
pub(crate) enum Head {
    Missing,
    Read { bytes: [u8; 16], len: usize },
    Unreadable(String),
}

fn open_dir(dirfd: rustix::fd::BorrowedFd<'_>, path: &[u8]) -> rustix::io::Result<OwnedFd> {
    openat(
        dirfd,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Read the first 16 bytes of an open cache file.
fn read_16(fd: rustix::io::Result<OwnedFd>) -> Head {
    match fd {
        Ok(fd) => {
            let mut bytes = [0u8; 16];
            match read_head(fd.as_fd(), &mut bytes) {
                Ok(len) => Head::Read { bytes, len },
                Err(e) => Head::Unreadable(errno_text(e)),
            }
        }
        Err(e) => Head::Unreadable(errno_text(e)),
    }
}

fn not_regular(kind: EntryKind) -> Head {
    Head::Unreadable(format!("not a regular file: {}", kind.describe()))
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

    /// A folder that is there but could not be opened (`entries: None`), or is not there
    /// (`entries: Some(empty)`).
    fn closed(path: Vec<u8>, listable: bool, via_symlink: bool, place: Place) -> Listing {
        Listing {
            path,
            fd: None,
            entries: if listable { Some(Vec::new()) } else { None },
            used: Vec::new(),
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

    /// Look a cache file up, mark it claimed and read its first 16 bytes; also whether it
    /// was reached through a symlink.
    pub fn head(&mut self, name: &[u8]) -> (Head, bool) {
        let mut is_symlink = false;
        if let Some(entries) = &self.entries {
            let Some(i) = self.find(name) else {
                return (Head::Missing, false);
            };
            let kind = entries[i].kind;
            self.used[i] = true;
            match kind {
                EntryKind::File => {}
                EntryKind::Symlink => is_symlink = true,
                other => return (not_regular(other), false),
            }
        }
        let fd = match &self.fd {
            Some(dfd) => open_nonblocking(dfd.as_fd(), name),
            None => open_nonblocking(CWD, join(&self.path, name).as_slice()),
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
        (read_16(Ok(fd)), is_symlink)
    }
}

/// Cache-looking names beside the sources (legacy pycs, leftovers), as indexes into the
/// walked folder's entries sorted by name, and which of them a target claimed.
pub(crate) struct Beside {
    pub idx: Vec<usize>,
    pub used: Vec<bool>,
}

impl Beside {
    fn list(d: &DirListing<'_>) -> Beside {
        let mut idx: Vec<usize> = d
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
        idx.sort_unstable_by(|&a, &b| d.entries[a].name.cmp(&d.entries[b].name));
        let used = vec![false; idx.len()];
        Beside { idx, used }
    }

    /// Look a legacy cache file up beside the sources, mark it claimed, read its head.
    pub fn head(&mut self, d: &DirListing<'_>, name: &[u8]) -> (Head, bool) {
        let Ok(k) = self
            .idx
            .binary_search_by(|&i| d.entries[i].name.as_slice().cmp(name))
        else {
            return (Head::Missing, false);
        };
        self.used[k] = true;
        let kind = d.entries[self.idx[k]].kind;
        if !matches!(kind, EntryKind::File | EntryKind::Symlink) {
            return (not_regular(kind), false);
        }
        (
            read_16(open_nonblocking(d.fd, name)),
            kind == EntryKind::Symlink,
        )
    }
}

/// Every folder one walked folder's caches may be in.
pub(crate) struct CacheFolders {
    pub pycache: Option<Listing>,
    /// One per distinct prefix, with the prefix.
    pub prefixes: Vec<(Vec<u8>, Listing)>,
    pub beside: Beside,
}

impl CacheFolders {
    pub fn open(c: &Classifier, d: &DirListing<'_>) -> CacheFolders {
        CacheFolders {
            pycache: open_pycache(d),
            prefixes: open_prefixes(c, d),
            beside: Beside::list(d),
        }
    }

    /// The listing target `t` reads its `__pycache__`-layout caches from, if any.
    pub fn listing_for(&mut self, t: &Target) -> Option<&mut Listing> {
        match t.uses_prefix() {
            Some(p) => self
                .prefixes
                .iter_mut()
                .find(|(q, _)| q.as_slice() == p)
                .map(|(_, l)| l),
            None => self.pycache.as_mut(),
        }
    }
}

/// The walked folder's `__pycache__`, when it has one (a folder or a symlink to one).
fn open_pycache(d: &DirListing<'_>) -> Option<Listing> {
    let e = d.entries.iter().find(|e| {
        e.name == b"__pycache__" && matches!(e.kind, EntryKind::Dir | EntryKind::Symlink)
    })?;
    let via_symlink = e.kind == EntryKind::Symlink;
    let path = join(d.path, b"__pycache__");
    match open_dir(d.fd, b"__pycache__") {
        Ok(fd) => Some(Listing::new(path, Some(fd), via_symlink, Place::Pycache)),
        // A symlink to nothing usable is no cache folder.
        Err(_) if via_symlink => None,
        Err(_) => Some(Listing::closed(path, false, false, Place::Pycache)),
    }
}

/// The prefix-tree folder of the walked folder, one per distinct prefix of the targets.
fn open_prefixes(c: &Classifier, d: &DirListing<'_>) -> Vec<(Vec<u8>, Listing)> {
    let mut out: Vec<(Vec<u8>, Listing)> = Vec::new();
    for prefix in c.targets.iter().filter_map(Target::uses_prefix) {
        if out.iter().any(|(p, _)| p.as_slice() == prefix) {
            continue;
        }
        let path = c.prefix_dir(prefix, d.path);
        let listing = match open_dir(CWD, &path) {
            Ok(fd) => Listing::new(path, Some(fd), false, Place::Prefix),
            Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => {
                Listing::closed(path, true, false, Place::Prefix)
            }
            Err(_) => Listing::closed(path, false, false, Place::Prefix),
        };
        out.push((prefix.to_vec(), listing));
    }
    out
}
