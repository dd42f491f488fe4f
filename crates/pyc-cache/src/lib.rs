//! # pyc-cache
//!
//! The bytecode cache as the interpreter sees it: where a source's cache file lives for each
//! CPython version ([`paths`]), walking trees fast ([`walk`]), deciding exactly as the
//! interpreter would whether each cache file is fresh ([`classify`]: the one classification
//! that `status`, `clean` and `compile` share) and what a clean removes ([`clean`]).
//!
//! ```no_run
//! use pyc_cache::classify::{Classifier, ClassifyOptions, Target};
//! let target = Target::for_version("3.12".parse().unwrap()).unwrap();
//! let classifier = Classifier::new(vec![target], ClassifyOptions::default());
//! for record in classifier.classify_tree(&[std::path::Path::new(".")]).records {
//!     println!("{:?} {}", record.state, record.source_display());
//! }
//! ```

pub mod classify;
pub mod clean;
pub mod git;
pub mod paths;
pub mod platform;
pub mod walk;

pub use paths::{cache_from_source, source_from_cache, CacheOptions, PathError};

/// Bytes of a path, as the OS has them.
pub fn path_bytes(p: &std::path::Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

/// A path from bytes.
pub fn bytes_path(b: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(b))
}
