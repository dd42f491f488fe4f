//! The classification's raw file access: reading a cache file's head without hanging on a
//! FIFO, reading a source whole, `--verify`'s body check, and whether a folder is writable.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{accessat, openat, statat, Access, AtFlags, FileType, Mode, OFlags, CWD};

use super::{Reason, State};

pub(crate) fn open_nonblocking(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    // O_NONBLOCK: a FIFO that appeared since listing must not hang us.
    openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Read up to `buf.len()` bytes from the start of a file.
pub(crate) fn read_head(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
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

pub(crate) fn read_all(fd: BorrowedFd<'_>) -> rustix::io::Result<Vec<u8>> {
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
pub(crate) fn verify_body(cache: &[u8]) -> Option<(State, Reason, String)> {
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

/// The OS's phrase for an error, once, without "(os error N)".
pub(crate) fn errno_text(e: rustix::io::Errno) -> String {
    let s = std::io::Error::from(e).to_string();
    s.split(" (os error").next().unwrap_or("").to_lowercase()
}

/// Can this process create files in the folder `name` (relative to `dirfd`)?
pub(crate) fn dir_writable(dirfd: BorrowedFd<'_>, name: &str) -> bool {
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
pub(crate) fn nearest_writable(dir: &[u8]) -> bool {
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

/// Is `name` in `dirfd` a regular file, following a symlink (FileFinder's `_path_isfile`)?
pub(crate) fn is_regular_file_at(dirfd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<bool> {
    statat(dirfd, name, AtFlags::empty())
        .map(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_says_the_phrase_once() {
        assert_eq!(
            errno_text(rustix::io::Errno::NOENT),
            "no such file or directory"
        );
    }

    #[test]
    fn a_missing_folder_is_judged_by_its_nearest_ancestor() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        assert!(nearest_writable(crate::path_bytes(&deep)));
        let file = tmp.path().join("f");
        std::fs::write(&file, b"").unwrap();
        // Below a regular file nothing can be made.
        assert!(!nearest_writable(crate::path_bytes(&file.join("x"))));
    }

    #[test]
    fn heads_stop_at_the_end_of_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("short"), b"abc").unwrap();
        let dir = rustix::fs::open(
            tmp.path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let fd = open_nonblocking(dir.as_fd(), b"short").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(read_head(fd.as_fd(), &mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        assert!(is_regular_file_at(dir.as_fd(), b"short").unwrap());
        assert!(is_regular_file_at(dir.as_fd(), b"gone").is_err());
    }
}
