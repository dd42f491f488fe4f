//! Is an existing pyc what `pyc compile` would write now? The boundary to the one shared
//! classification (pyc-cache, `pyc status`): compile asks, per source, interpreter and
//! optimization level, and only what is not [`Verdict::Fresh`] starts a worker.
//!
//! The rule is the import system's (`SourceLoader.get_code`, `_validate_timestamp_pyc`,
//! `_validate_hash_pyc`) plus one condition of compile's own: the pyc must also be of the
//! invalidation mode asked for (compileall accepts any up-to-date timestamp pyc for a hash
//! request, python/cpython#117204, and recompiles every hash pyc every time, #121577; pyc does
//! neither). An unchecked-hash pyc is checked against the source too: the import system trusts
//! it, but a compile run exists to bring it up to date.

use std::io::Read;
use std::path::Path;

use pyc_format::header::{FLAG_CHECK_SOURCE, FLAG_HASH_BASED};
use pyc_format::{header_size, magic_bytes};

/// compileall's `--invalidation-mode` (`py_compile.PycInvalidationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvalidationMode {
    Timestamp,
    CheckedHash,
    UncheckedHash,
}

impl InvalidationMode {
    /// py_compile's default: checked-hash when `SOURCE_DATE_EPOCH` is set (3.7.2+, bpo-34022),
    /// else timestamp.
    pub fn default_from_env() -> InvalidationMode {
        if std::env::var_os("SOURCE_DATE_EPOCH").is_some_and(|v| !v.is_empty()) {
            InvalidationMode::CheckedHash
        } else {
            InvalidationMode::Timestamp
        }
    }

    /// The PEP 552 flags word.
    pub fn flags(self) -> u32 {
        match self {
            InvalidationMode::Timestamp => 0,
            InvalidationMode::CheckedHash => FLAG_HASH_BASED | FLAG_CHECK_SOURCE,
            InvalidationMode::UncheckedHash => FLAG_HASH_BASED,
        }
    }
}

/// The source facts a pyc header records: `int(st_mtime)` and `st_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStat {
    /// `int(st_mtime)`: seconds, truncated toward zero as Python's `int(float)` does.
    pub mtime: i64,
    pub size: u64,
    pub mode: u32,
}

impl SourceStat {
    pub fn from_metadata(m: &std::fs::Metadata) -> SourceStat {
        use std::os::unix::fs::MetadataExt;
        let (sec, nsec) = (m.mtime(), m.mtime_nsec());
        // st_mtime as a float is sec + nsec/1e9; int() truncates toward zero.
        let mtime = if sec < 0 && nsec > 0 { sec + 1 } else { sec };
        SourceStat {
            mtime,
            size: m.len(),
            mode: m.mode(),
        }
    }
}

/// The verdict on one cache file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Importable as it is and of the asked mode: nothing to do.
    Fresh,
    /// There but not what would be written now.
    Stale,
    /// Not there.
    Missing,
}

/// The header pyc writes for `magic` (its size decides the layout: 8, 12 or 16 bytes).
pub fn header(magic: u16, mode: InvalidationMode, stat: &SourceStat, hash: [u8; 8]) -> Vec<u8> {
    let size = header_size(magic);
    let mut out = Vec::with_capacity(size);
    out.extend(magic_bytes(magic));
    let mtime = (stat.mtime as u64 & 0xFFFF_FFFF) as u32;
    let src_size = (stat.size & 0xFFFF_FFFF) as u32;
    match size {
        8 => out.extend(mtime.to_le_bytes()),
        12 => {
            out.extend(mtime.to_le_bytes());
            out.extend(src_size.to_le_bytes());
        }
        _ => {
            out.extend(mode.flags().to_le_bytes());
            if mode == InvalidationMode::Timestamp {
                out.extend(mtime.to_le_bytes());
                out.extend(src_size.to_le_bytes());
            } else {
                out.extend(hash);
            }
        }
    }
    out
}

/// Classify the cache file `cfile` for a source with `stat`, for an interpreter with `magic`,
/// asked to write `mode`. `hash` is called only for hash-based modes.
pub fn classify(
    cfile: &Path,
    magic: u16,
    mode: InvalidationMode,
    stat: &SourceStat,
    hash: &mut dyn FnMut() -> Option<[u8; 8]>,
) -> Verdict {
    let size = header_size(magic);
    let mut buf = [0u8; 16];
    let got = match std::fs::File::open(cfile) {
        Ok(mut f) => {
            let mut n = 0;
            while n < size {
                match f.read(&mut buf[n..size]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(_) => return Verdict::Stale,
                }
            }
            n
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Verdict::Missing,
        Err(_) => return Verdict::Stale,
    };
    if got < size {
        return Verdict::Stale;
    }
    let want_hash = if mode == InvalidationMode::Timestamp || size < 16 {
        [0u8; 8]
    } else {
        match hash() {
            Some(h) => h,
            None => return Verdict::Stale,
        }
    };
    let mode = if size < 16 {
        InvalidationMode::Timestamp
    } else {
        mode
    };
    if buf[..size] == header(magic, mode, stat, want_hash)[..] {
        Verdict::Fresh
    } else {
        Verdict::Stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_by_layout() {
        let st = SourceStat {
            mtime: 0x1_0000_0005,
            size: 7,
            mode: 0o644,
        };
        // 2.7: magic + mtime (masked to 32 bits).
        assert_eq!(
            header(62211, InvalidationMode::Timestamp, &st, [0; 8]),
            b"\x03\xf3\x0d\x0a\x05\0\0\0"
        );
        // 3.6: + size.
        assert_eq!(
            header(3379, InvalidationMode::Timestamp, &st, [0; 8]),
            b"\x33\x0d\x0d\x0a\x05\0\0\0\x07\0\0\0"
        );
        // 3.12 checked hash.
        assert_eq!(
            header(3531, InvalidationMode::CheckedHash, &st, [9; 8]),
            b"\xcb\x0d\x0d\x0a\x03\0\0\0\x09\x09\x09\x09\x09\x09\x09\x09"
        );
    }

    #[test]
    fn verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.pyc");
        let st = SourceStat {
            mtime: 100,
            size: 3,
            mode: 0o644,
        };
        let mut no_hash = || -> Option<[u8; 8]> { panic!("hash not needed") };
        assert_eq!(
            classify(&p, 3531, InvalidationMode::Timestamp, &st, &mut no_hash),
            Verdict::Missing
        );
        let mut data = header(3531, InvalidationMode::Timestamp, &st, [0; 8]);
        data.extend(b"body");
        std::fs::write(&p, &data).unwrap();
        assert_eq!(
            classify(&p, 3531, InvalidationMode::Timestamp, &st, &mut no_hash),
            Verdict::Fresh
        );
        // Same mtime, other size: stale (compileall would skip it).
        let st2 = SourceStat { size: 4, ..st };
        assert_eq!(
            classify(&p, 3531, InvalidationMode::Timestamp, &st2, &mut no_hash),
            Verdict::Stale
        );
        // A timestamp pyc does not satisfy a hash request.
        assert_eq!(
            classify(&p, 3531, InvalidationMode::CheckedHash, &st, &mut || Some(
                [1; 8]
            )),
            Verdict::Stale
        );
        // Another interpreter's magic is stale.
        assert_eq!(
            classify(&p, 3571, InvalidationMode::Timestamp, &st, &mut no_hash),
            Verdict::Stale
        );
        std::fs::write(&p, b"\xcb\x0d").unwrap();
        assert_eq!(
            classify(&p, 3531, InvalidationMode::Timestamp, &st, &mut no_hash),
            Verdict::Stale
        );
    }
}
