//! Shared output conventions: formats, exit codes, path display.

use std::path::Path;

/// Everything asked for was done and nothing was found wrong.
pub const EXIT_OK: u8 = 0;
/// Some input was bad (a file that is not a readable pyc) or, with `--check`, a finding.
pub const EXIT_FAILURE: u8 = 1;
/// The command line or the environment is wrong (unknown option, no interpreter, ...).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// A path for humans: lossy UTF-8.
pub fn show_path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A byte path for humans.
pub fn show_bytes(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Bytes of a path, as the OS has them.
pub fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

/// A path from bytes.
pub fn bytes_path(b: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(b))
}

/// An I/O error as one short phrase ("no such file", "is a directory", ...), without Rust's
/// "(os error N)" tail.
pub fn io_error(e: std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        IsADirectory => "is a directory, not a file".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}
