//! Platform facts, in one place: which directory reader the walkers use.
//!
//! Every walk (status, clean, compile) opens folders itself (`openat` with `O_DIRECTORY`, and
//! `O_NOFOLLOW` below the roots) and stats relative to them (`fstatat`): POSIX calls that
//! rustix provides on Linux, macOS and the BSDs alike. Only the listing differs:
//!
//! * [`FsBackend::Linux`]: `getdents64` on the walker's own descriptor (rustix `RawDir`), no
//!   second descriptor per folder: the fast path, Linux only.
//! * [`FsBackend::Portable`]: `opendir`/`readdir` (rustix `Dir`, which opens the folder once
//!   more as `.`), on every Unix. The only reader off Linux; on Linux `PYC_FS_BACKEND=portable`
//!   forces it (`.ci/run` runs the tree-walking tests with it).
//!
//! Windows paths and file systems are not modelled anywhere in pyc (paths are bytes, POSIX
//! rules): a Windows build is out of reach, not one module away.

use std::sync::OnceLock;

/// The directory reader in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsBackend {
    Linux,
    Portable,
}

impl FsBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            FsBackend::Linux => "linux",
            FsBackend::Portable => "portable",
        }
    }
}

/// The environment variable that forces the portable reader (`PYC_FS_BACKEND=portable`).
pub const FS_BACKEND_ENV: &str = "PYC_FS_BACKEND";

/// The reader this process uses: read once, the first time a folder is listed.
pub fn fs_backend() -> FsBackend {
    static BACKEND: OnceLock<FsBackend> = OnceLock::new();
    *BACKEND.get_or_init(|| {
        let forced = std::env::var_os(FS_BACKEND_ENV).is_some_and(|v| v == "portable");
        if forced || !cfg!(any(target_os = "linux", target_os = "android")) {
            FsBackend::Portable
        } else {
            FsBackend::Linux
        }
    })
}
