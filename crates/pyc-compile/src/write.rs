//! Writing pyc files the way `importlib._bootstrap_external._write_atomic` does, and safer.
//!
//! * The data goes to a new temporary file in the target's own directory (created with
//!   `O_CREAT|O_EXCL`, mode `(source mode | 0o200) & 0o666` less the umask: CPython's
//!   `_calc_mode`), is written completely, and is then renamed over the target. A reader sees
//!   the old file or the new one, never a partial one.
//! * If anything fails, the temporary file is removed. The temporary name is
//!   `<target>.<pid>.<n>.pyc-tmp`, so a leftover (only possible if pyc is killed with SIGKILL in
//!   the instant between create and rename) can never be taken for a pyc.
//! * A temporary file exists only inside a [`WriteWindow`]: SIGINT and SIGTERM are blocked on
//!   the writing thread from create to rename, and [`exit_after_writes`] (what a second Ctrl-C
//!   runs, in a signal handler) waits for every open window to close before `_exit`, so a
//!   second Ctrl-C cannot leave a temporary file behind (issue 16: 1 run in 12 did).
//! * A target that is a symlink or exists as anything but a regular file is refused, with
//!   py_compile's own message (`FileExistsError`).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes between creating their temporary file and renaming (or removing) it.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Set by [`exit_after_writes`]: no new write may start.
static EXITING: AtomicBool = AtomicBool::new(false);

/// The span of one atomic write in which its temporary file exists: while it is open, this
/// thread does not take SIGINT or SIGTERM (another thread does, or the signal waits until the
/// window closes), and [`exit_after_writes`] waits for it.
pub struct WriteWindow {
    old_mask: libc::sigset_t,
}

impl WriteWindow {
    /// `None` once the process is exiting: start no write then.
    pub fn open() -> Option<WriteWindow> {
        // SAFETY: sigemptyset/sigaddset fill a sigset_t we own; pthread_sigmask changes only
        // this thread's mask and writes the old one into memory we own. They cannot fail with
        // these arguments (valid `how`, valid signal numbers).
        let old_mask = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            old
        };
        let w = WriteWindow { old_mask };
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        if EXITING.load(Ordering::SeqCst) {
            return None; // `w` is dropped: the count and the mask are restored.
        }
        Some(w)
    }
}

impl Drop for WriteWindow {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: restores this thread's mask saved in `open`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut());
        }
    }
}

/// End the process with `code` as soon as no write has a temporary file (at most 5 s: a write
/// stuck on a dead file system may then leave one). Async-signal-safe: atomics, `nanosleep`
/// and `_exit` only, so it can run in a signal handler.
pub fn exit_after_writes(code: i32) -> ! {
    EXITING.store(true, Ordering::SeqCst);
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    for _ in 0..5000 {
        if IN_FLIGHT.load(Ordering::SeqCst) == 0 {
            break;
        }
        // SAFETY: nanosleep is async-signal-safe; `pause` is valid, the remainder unused.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
    // SAFETY: _exit is async-signal-safe and ends the process without running destructors.
    unsafe { libc::_exit(code) }
}

fn exiting(path: &Path) -> WriteError {
    WriteError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::Interrupted, "pyc is exiting"),
    }
}

/// Why a pyc was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} is a symlink and will be changed into a regular file if import writes a byte-compiled file to it", .0.display())]
    Symlink(PathBuf),
    #[error("{} is a non-regular file and will be changed into a regular one if import writes a byte-compiled file to it", .0.display())]
    NotRegular(PathBuf),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuse targets py_compile refuses: a symlink, or something that is not a regular file.
pub fn check_target(path: &Path) -> Result<(), WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(path.to_path_buf())),
        Ok(m) if !m.is_file() => Err(WriteError::NotRegular(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// CPython's `_calc_mode`: the source's mode plus owner-write (0o666 if it cannot be read),
/// kept to the permission bits `_write_atomic` uses.
pub fn pyc_mode(source_mode: Option<u32>) -> u32 {
    source_mode.map_or(0o666, |m| m | 0o200) & 0o666
}

fn temp_name(path: &Path) -> PathBuf {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{pid}.{n}.pyc-tmp"));
    path.with_file_name(name)
}

fn ensure_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(io(dir)),
        _ => Ok(()),
    }
}

/// Write `data` to `path` atomically with permission bits `mode` (see the module docs).
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), WriteError> {
    check_target(path)?;
    let _window = WriteWindow::open().ok_or_else(|| exiting(path))?;
    let tmp = temp_name(path);
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
    };
    // The folder usually exists (it is created with its first file): only a missing one
    // costs a second try.
    let file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ensure_parent(path)?;
            create()
        }
        other => other,
    };
    finish(file, &tmp, path, data, None)
}

/// Replace the existing regular file `path` by `data` atomically (`pyc normalize`), with
/// exactly the permission bits `mode` (not less the umask: the file keeps its mode).
pub fn replace_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), WriteError> {
    check_target(path)?;
    let _window = WriteWindow::open().ok_or_else(|| exiting(path))?;
    let tmp = temp_name(path);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp);
    finish(file, &tmp, path, data, Some(mode))
}

/// Write `data` to the new temporary file `tmp` (`exact_mode`: then set its bits), rename it
/// over `path`; on any failure remove `tmp`.
fn finish(
    file: std::io::Result<std::fs::File>,
    tmp: &Path,
    path: &Path,
    data: &[u8],
    exact_mode: Option<u32>,
) -> Result<(), WriteError> {
    let result = (|| {
        let mut f = file?;
        f.write_all(data)?;
        if let Some(mode) = exact_mode {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        drop(f);
        std::fs::rename(tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        io(path)(e)
    })
}

/// Make `path` a hard link to `existing` (compileall's `--hardlink-dupes`), atomically: link
/// under a temporary name, then rename over `path`.
pub fn link_atomic(existing: &Path, path: &Path) -> Result<(), WriteError> {
    check_target(path)?;
    ensure_parent(path)?;
    let _window = WriteWindow::open().ok_or_else(|| exiting(path))?;
    let tmp = temp_name(path);
    let result = std::fs::hard_link(existing, &tmp).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn temporary_names_are_what_status_calls_leftovers() {
        // pyc-cache's classification knows `NAME.pyc.<digits>.<digits>.pyc-tmp` (tested there).
        let t = temp_name(Path::new("d/__pycache__/m.cpython-312.pyc"));
        let name = t.file_name().unwrap().to_str().unwrap();
        let rest = name.strip_prefix("m.cpython-312.pyc.").unwrap();
        let rest = rest.strip_suffix(".pyc-tmp").unwrap();
        let (pid, n) = rest.split_once('.').unwrap();
        assert!(
            pid.parse::<u32>().is_ok() && n.parse::<u64>().is_ok(),
            "{name}"
        );
        assert_eq!(t.parent(), Some(Path::new("d/__pycache__")));
    }

    #[test]
    fn writes_replace_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("__pycache__/m.cpython-312.pyc");
        write_atomic(&p, b"one", 0o644).unwrap();
        write_atomic(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn symlinks_and_directories_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("m.pyc");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            write_atomic(&link, b"x", 0o644),
            Err(WriteError::Symlink(_))
        ));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let d = dir.path().join("d.pyc");
        std::fs::create_dir(&d).unwrap();
        assert!(matches!(
            write_atomic(&d, b"x", 0o644),
            Err(WriteError::NotRegular(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn mode_is_source_mode_plus_owner_write() {
        assert_eq!(pyc_mode(Some(0o100444)), 0o644);
        assert_eq!(pyc_mode(Some(0o100755)), 0o644);
        assert_eq!(pyc_mode(Some(0o100400)), 0o600);
        assert_eq!(pyc_mode(None), 0o666);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.pyc");
        write_atomic(&p, b"x", 0o600).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
