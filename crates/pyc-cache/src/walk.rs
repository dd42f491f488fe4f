//! A parallel directory walker built for cache classification.
//!
//! One task per directory on rayon's pool. Each directory is opened once (`O_DIRECTORY`,
//! `O_NOFOLLOW` below the roots) and read with `getdents` (or `readdir`, see
//! [`crate::platform`]); entry kinds come from `d_type`, so no file is stat-ed by the walker. The visitor gets the directory's descriptor and can
//! open or stat entries relative to it (`openat`/`statat`) without re-resolving the path.
//!
//! Symlinked folders are not descended (a root given as a symlink is, as `find -H` does),
//! unless [`WalkOptions::follow_links`] asks for it (`find -L`): then a symlink to a folder is
//! walked like a folder (a folder reached by two paths is walked under both, as the importer
//! would import it under both), and a link back to one of its own ancestors (by device and
//! inode) is reported as a loop, not followed.
//! Problems (unreadable folders, entries of unknown type that cannot be stat-ed) are reported
//! per path through the `issue` callback and never stop the walk.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use globset::GlobSet;
use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, CWD};

/// What a directory entry is, from `d_type` (never following a symlink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl EntryKind {
    fn from_file_type(t: FileType) -> EntryKind {
        match t {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::Fifo => EntryKind::Fifo,
            FileType::Socket => EntryKind::Socket,
            FileType::CharacterDevice => EntryKind::CharDevice,
            FileType::BlockDevice => EntryKind::BlockDevice,
            FileType::Unknown => EntryKind::Unknown,
        }
    }

    /// A short name for messages ("a FIFO", "a socket", ...).
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "a regular file",
            EntryKind::Dir => "a directory",
            EntryKind::Symlink => "a symlink",
            EntryKind::Fifo => "a FIFO",
            EntryKind::Socket => "a socket",
            EntryKind::CharDevice => "a character device",
            EntryKind::BlockDevice => "a block device",
            EntryKind::Unknown => "of unknown type",
        }
    }
}

/// One entry of a directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: EntryKind,
}

/// A directory as the visitor sees it.
pub struct DirListing<'a> {
    /// The directory's path as walked (the root as given, joined with entry names).
    pub path: &'a [u8],
    /// Its open descriptor, for `openat`/`statat` relative to it.
    pub fd: BorrowedFd<'a>,
    /// Entries other than `.` and `..`, in directory order.
    pub entries: &'a [Entry],
    /// Only these names count (a root that was a file): the directory is not descended.
    pub only: Option<&'a [u8]>,
}

/// A problem met while walking, reported for one path.
#[derive(Debug, Clone)]
pub struct WalkIssue {
    pub path: Vec<u8>,
    pub message: String,
}

/// Folders that `status`, `clean`, `compile` and `normalize` do not walk into by default
/// (below a root; a root is always walked, so `pyc status .tox/py312` works):
///
/// * version-control folders (`.git`, `.hg`, `.svn`, `.bzr`, `.jj`): never imported from;
/// * `.tox`, `.nox`, `.direnv`: tool environments with their own interpreters;
/// * `node_modules`: no importer looks there, and it can be huge; ruff and pyclean both skip it.
///
/// Virtual environments are found by their `pyvenv.cfg` (PEP 405), not by name (see
/// [`VENV_MARKER`]). `.gitignore`d folders are walked: caches are themselves ignored there, and
/// an ignored `build/` or `src/generated/` is still imported from (ruff honours `.gitignore`
/// because it lints sources; pyclean, which cleans caches, does not).
pub const SKIPPED_DIRS: &[&str] = &[
    ".bzr",
    ".direnv",
    ".git",
    ".hg",
    ".jj",
    ".nox",
    ".svn",
    ".tox",
    "node_modules",
];

/// A folder holding this file is a virtual environment (PEP 405). Below a root, one is skipped
/// by default: it belongs to another interpreter, and names such as `venv` are not reliable
/// (CPython's standard library has a `venv` package).
pub const VENV_MARKER: &[u8] = b"pyvenv.cfg";

/// Which folders to skip.
#[derive(Default, Clone)]
pub struct WalkOptions {
    /// Skip nested virtual environments (folders holding [`VENV_MARKER`]) below a root.
    pub skip_venvs: bool,
    /// Globs matched against a path (as walked) and against its bare name: a match is skipped,
    /// files and folders alike.
    pub exclude: Option<GlobSet>,
    /// Folder names (or `a/b` multi-part tails) never descended.
    pub ignore: Vec<Vec<u8>>,
    /// Folder names descended by the visitor itself, not by the walker (`__pycache__`).
    pub not_descended: Vec<Vec<u8>>,
    /// Walk into symlinked folders too (loops reported, not followed).
    pub follow_links: bool,
}

impl WalkOptions {
    /// The default skips of every tree-walking subcommand ([`SKIPPED_DIRS`], nested venvs);
    /// `--no-skip` leaves them out.
    pub fn default_skips(mut self, on: bool) -> Self {
        if on {
            self.ignore
                .extend(SKIPPED_DIRS.iter().map(|d| d.as_bytes().to_vec()));
            self.skip_venvs = true;
        }
        self
    }

    /// Is this listing (of a folder below a root) a virtual environment to skip?
    pub fn skips_listing(&self, entries: &[Entry]) -> bool {
        self.skip_venvs
            && entries
                .iter()
                .any(|e| e.name == VENV_MARKER && e.kind != EntryKind::Dir)
    }

    /// Is the entry `name` at `path` excluded by a glob?
    pub fn excluded(&self, path: &[u8], name: &[u8]) -> bool {
        match &self.exclude {
            None => false,
            Some(set) => {
                set.is_match(crate::bytes_path(path)) || set.is_match(crate::bytes_path(name))
            }
        }
    }

    fn ignored_dir(&self, path: &[u8], name: &[u8]) -> bool {
        self.ignore.iter().any(|ig| {
            if ig.contains(&b'/') {
                path.ends_with(ig)
                    && (path.len() == ig.len() || path[path.len() - ig.len() - 1] == b'/')
            } else {
                ig.as_slice() == name
            }
        }) || self.not_descended.iter().any(|n| n.as_slice() == name)
    }
}

/// `parent/name` as bytes.
pub fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(parent.len() + 1 + name.len());
    p.extend_from_slice(parent);
    if !parent.is_empty() && !parent.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// An OS error as one short phrase, as every pyc message says it: "permission denied", without
/// Rust's "(os error 13)" tail.
pub fn io_message(e: rustix::io::Errno) -> String {
    let text = std::io::Error::from(e).to_string();
    let text = text.split(" (os error").next().unwrap_or("");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Open a directory entry below a walked folder: never through a symlink.
pub fn open_dir_at(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Read every entry of a directory just opened (a fresh descriptor lists everything). With the
/// Linux reader ([`crate::platform`]), `getdents64` on the descriptor itself: no duplicate
/// descriptor per folder, as `Dir::read_from` would make (an `fcntl`, an `openat` and a
/// `close` more per folder, 20% of a status run's system calls); the descriptor is left at the
/// end. The portable reader is that `Dir`.
pub fn read_entries(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<Entry>> {
    match crate::platform::fs_backend() {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        crate::platform::FsBackend::Linux => read_entries_getdents(fd),
        _ => read_entries_portable(fd),
    }
}

fn push_entry(out: &mut Vec<Entry>, name: &CStr, kind: FileType) {
    let name = name.to_bytes();
    if name != b"." && name != b".." {
        out.push(Entry {
            name: name.to_vec(),
            kind: EntryKind::from_file_type(kind),
        });
    }
}

/// `opendir`/`readdir` (rustix `Dir`): every Unix.
fn read_entries_portable(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<Entry>> {
    let mut dir = rustix::fs::Dir::read_from(fd)?;
    let mut out = Vec::new();
    while let Some(e) = dir.read() {
        let e = e?;
        push_entry(&mut out, e.file_name(), e.file_type());
    }
    Ok(out)
}

/// `getdents64` on the walker's own descriptor: Linux.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_entries_getdents(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<Entry>> {
    use std::mem::MaybeUninit;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<MaybeUninit<u8>>> =
            std::cell::RefCell::new(vec![MaybeUninit::uninit(); 32 * 1024]);
    }
    BUF.with(|buf| {
        let mut own;
        // Re-entrant use on one thread (not expected) gets a buffer of its own.
        let mut borrowed = buf.try_borrow_mut();
        let buf: &mut [MaybeUninit<u8>] = match borrowed.as_mut() {
            Ok(b) => b.as_mut_slice(),
            Err(_) => {
                own = vec![MaybeUninit::uninit(); 32 * 1024];
                own.as_mut_slice()
            }
        };
        let mut dir = rustix::fs::RawDir::new(fd, buf);
        let mut out = Vec::new();
        while let Some(e) = dir.next() {
            let e = e?;
            push_entry(&mut out, e.file_name(), e.file_type());
        }
        Ok(out)
    })
}

/// [`read_entries`], with every `DT_UNKNOWN` kind (some file systems) resolved by one `lstat`
/// relative to the folder: the listing the walker itself uses.
pub fn list_dir(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<Entry>> {
    let mut entries = read_entries(fd)?;
    resolve_unknown(fd, &mut entries);
    Ok(entries)
}

/// Resolve `d_type == DT_UNKNOWN` (some file systems) with one `lstat`.
fn resolve_unknown(fd: BorrowedFd<'_>, entries: &mut [Entry]) {
    for e in entries.iter_mut().filter(|e| e.kind == EntryKind::Unknown) {
        if let Ok(st) = statat(fd, e.name.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
            e.kind = EntryKind::from_file_type(FileType::from_raw_mode(st.st_mode));
        }
    }
}

struct Ctx<'v> {
    opts: &'v WalkOptions,
    visit: &'v (dyn Fn(&DirListing<'_>) + Sync),
    issue: &'v (dyn Fn(WalkIssue) + Sync),
}

/// The folders from a root down to one folder, by (device, inode): kept only when links are
/// followed, to find loops (a link to an ancestor).
type Ancestors = Option<Arc<Vec<(u64, u64)>>>;

/// With `follow_links`: may the folder open as `fd` be walked? One that is among its own
/// `ancestors` is a loop, reported and not walked. Returns the ancestors of its children.
fn admit(ctx: &Ctx<'_>, path: &[u8], fd: &OwnedFd, ancestors: &Ancestors) -> Option<Ancestors> {
    if !ctx.opts.follow_links {
        return Some(None);
    }
    let id = match rustix::fs::fstat(fd) {
        Ok(st) => (st.st_dev, st.st_ino),
        Err(_) => return Some(None),
    };
    let chain = ancestors.as_deref().map(Vec::as_slice).unwrap_or(&[]);
    if chain.contains(&id) {
        (ctx.issue)(WalkIssue {
            path: path.to_vec(),
            message: "symlink loop: a link to a folder above it, not followed".into(),
        });
        return None;
    }
    let mut next = chain.to_vec();
    next.push(id);
    Some(Some(Arc::new(next)))
}

/// Walk `roots` in parallel, calling `visit` once per directory (roots that are files are
/// visited as their parent folder restricted to that one name).
pub fn walk(
    roots: &[&Path],
    opts: &WalkOptions,
    visit: &(dyn Fn(&DirListing<'_>) + Sync),
    issue: &(dyn Fn(WalkIssue) + Sync),
) {
    let ctx = Ctx { opts, visit, issue };
    rayon::scope(|scope| {
        for root in roots {
            let path = crate::path_bytes(root).to_vec();
            let open_path: &[u8] = if path.is_empty() { b"." } else { &path };
            match openat(
                CWD,
                open_path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => {
                    let ctx = &ctx;
                    // `.` walks as bare names (`pkg/m.py`, not `./pkg/m.py`), as find would not.
                    let path = if path == b"." { Vec::new() } else { path };
                    if let Some(anc) = admit(ctx, &path, &fd, &None) {
                        scope.spawn(move |s| walk_dir(s, ctx, path, Arc::new(fd), anc, true));
                    }
                }
                Err(rustix::io::Errno::NOTDIR) => visit_single_file(&ctx, &path),
                Err(e) => (ctx.issue)(WalkIssue {
                    path,
                    message: io_message(e),
                }),
            }
        }
    });
}

fn visit_single_file(ctx: &Ctx<'_>, path: &[u8]) {
    let (parent, name) = crate::paths::path_split(path);
    let parent_open: &[u8] = if parent.is_empty() { b"." } else { parent };
    let fd = match openat(
        CWD,
        parent_open,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            return (ctx.issue)(WalkIssue {
                path: path.to_vec(),
                message: io_message(e),
            })
        }
    };
    match list_dir(fd.as_fd()) {
        Ok(entries) => {
            (ctx.visit)(&DirListing {
                path: parent,
                fd: fd.as_fd(),
                entries: &entries,
                only: Some(name),
            });
        }
        Err(e) => (ctx.issue)(WalkIssue {
            path: parent.to_vec(),
            message: format!("cannot list: {}", io_message(e)),
        }),
    }
}

fn walk_dir<'s>(
    scope: &rayon::Scope<'s>,
    ctx: &'s Ctx<'s>,
    path: Vec<u8>,
    fd: Arc<OwnedFd>,
    ancestors: Ancestors,
    root: bool,
) {
    let mut entries = match list_dir(fd.as_fd()) {
        Ok(e) => e,
        Err(e) => {
            return (ctx.issue)(WalkIssue {
                path,
                message: format!("cannot list folder: {}", io_message(e)),
            })
        }
    };
    if !root && ctx.opts.skips_listing(&entries) {
        return;
    }
    entries.retain(|e| !ctx.opts.excluded(&join(&path, &e.name), &e.name));
    (ctx.visit)(&DirListing {
        path: &path,
        fd: fd.as_fd(),
        entries: &entries,
        only: None,
    });
    let follow = ctx.opts.follow_links;
    for e in entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir || (follow && e.kind == EntryKind::Symlink))
    {
        let child = join(&path, &e.name);
        if ctx.opts.ignored_dir(&child, &e.name) {
            continue;
        }
        let opened = if e.kind == EntryKind::Symlink {
            // Only with follow_links: the link's target, if it is a folder.
            match openat(
                fd.as_fd(),
                e.name.as_slice(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(cfd) => Ok(cfd),
                // A link to a file, or a broken link: not a folder (the visitor reports it).
                Err(rustix::io::Errno::NOTDIR) | Err(rustix::io::Errno::NOENT) => continue,
                Err(err) => Err(err),
            }
        } else {
            open_dir_at(fd.as_fd(), &e.name)
        };
        match opened {
            Ok(cfd) => {
                if let Some(anc) = admit(ctx, &child, &cfd, &ancestors) {
                    scope.spawn(move |s| walk_dir(s, ctx, child, Arc::new(cfd), anc, false))
                }
            }
            // Replaced by a symlink since it was listed: not followed.
            Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NOTDIR) => {}
            Err(rustix::io::Errno::NOENT) => {}
            Err(err) => (ctx.issue)(WalkIssue {
                path: child,
                message: format!("cannot open folder: {}", io_message(err)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(entries: rustix::io::Result<Vec<Entry>>) -> Vec<(Vec<u8>, EntryKind)> {
        let mut v: Vec<_> = entries
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Both readers list the same names and kinds (the portable one is what macOS and the
    /// BSDs run; `PYC_FS_BACKEND=portable` runs every other test on it too).
    #[test]
    fn portable_reader_lists_what_getdents_lists() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("__pycache__")).unwrap();
        std::fs::write(d.join("m.py"), "").unwrap();
        std::fs::write(d.join("n\u{e9}.py"), "").unwrap();
        std::os::unix::fs::symlink("m.py", d.join("link.py")).unwrap();
        for i in 0..2000 {
            std::fs::write(d.join(format!("f{i:04}.txt")), "").unwrap();
        }
        let fd = rustix::fs::open(
            d,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let portable = listing(read_entries_portable(fd.as_fd()));
        assert_eq!(portable.len(), 2004);
        assert!(portable.contains(&(b"__pycache__".to_vec(), EntryKind::Dir)));
        assert!(portable.contains(&(b"link.py".to_vec(), EntryKind::Symlink)));
        assert!(portable.contains(&(b"m.py".to_vec(), EntryKind::File)));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(listing(read_entries_getdents(fd.as_fd())), portable);
    }
}
