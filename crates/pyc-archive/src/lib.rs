//! # pyc-archive
//!
//! Will the pycs in this zip, wheel, zipapp, egg or tar be used? Archives are read in place
//! ([`read`]: the zip directory, or one pass over a tar stream, with limits so that a zip bomb
//! is refused, never unpacked), and every source is judged for each target interpreter under
//! the chosen use of the archive ([`Use`]): imported from the zip by zipimport ([`zipimport`]:
//! each version's own rules), or unpacked by `tar`, Info-ZIP's `unzip` or Python's `zipfile`
//! and then imported from disk (importlib's verdict, from `pyc_cache::classify::judge`, with
//! the mtimes each extractor gives).
//!
//! ```no_run
//! use pyc_archive::{judge_archive, read::{Archive, Limits}, Use};
//! use pyc_cache::classify::Target;
//! let mut a = Archive::open("app.pyz".as_ref(), Limits::default()).unwrap();
//! let t = Target::for_version("3.12".parse().unwrap()).unwrap();
//! for r in judge_archive(&mut a, &[t], Use::ZipImport, "pyc compile app.pyz").unwrap() {
//!     println!("{} {:?} {:?}", r.state.as_str(), r.source, r.detail);
//! }
//! ```

pub mod dostime;
pub mod read;
pub mod rewrite;
mod tarwrite;
pub mod verdict;
pub mod zipimport;

pub use verdict::{default_use, judge_archive, Record, State, Use};

/// Is this path one `pyc status` and `pyc compile` treat as an archive (by its name)?
pub fn is_archive_name(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [
        ".zip", ".whl", ".pyz", ".pyzw", ".egg", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
        ".tar.xz", ".txz", ".tar.zst", ".tzst",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}
