//! Is an existing pyc what `pyc compile` would write now? Compile asks the one shared
//! classification ([`pyc_cache::classify::judge`], the verdict `pyc status` reports, the
//! interpreter's own rule per version), per source, interpreter and optimization level, and
//! only what is not [`Verdict::Fresh`] starts a worker.
//!
//! Compile adds two conditions of its own: the pyc must be of the invalidation mode asked for
//! (compileall accepts any up-to-date timestamp pyc for a hash request, python/cpython#117204,
//! and recompiles every hash pyc every time, #121577; pyc does neither), and a hash-based pyc
//! is always checked against its source (judged as under `--check-hash-based-pycs always`):
//! the import system trusts an unchecked-hash pyc, but a compile run exists to bring it up to
//! date.

use std::os::fd::AsFd;
use std::path::Path;

use pyc_cache::classify::{judge, CheckHashBasedPycs, State, Target};
use pyc_format::header::{FLAG_CHECK_SOURCE, FLAG_HASH_BASED};
use pyc_format::{header_size, Header, Invalidation};

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

/// The source facts a pyc header records (`st_mtime`, `st_size`) and the mode the pyc
/// inherits: the shared classification's own.
pub use pyc_cache::classify::SourceStat;

/// The verdict on one cache file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Importable as it is and of the asked mode: nothing to do.
    Fresh,
    /// There but not what would be written now.
    Stale,
    /// Not there.
    Missing,
    /// A symlink where the pyc goes: py_compile refuses to replace it, and so does pyc.
    Symlink,
}

/// The header pyc writes for `magic` (its size decides the layout: 8, 12 or 16 bytes; the
/// invalidation mode counts from 3.7's 16-byte header on, before it a pyc is timestamped).
pub fn header(magic: u16, mode: InvalidationMode, stat: &SourceStat, hash: [u8; 8]) -> Vec<u8> {
    let timestamp = Invalidation::Timestamp {
        mtime: (stat.int_st_mtime() as u64 & 0xFFFF_FFFF) as u32,
        source_size: Some((stat.size & 0xFFFF_FFFF) as u32),
    };
    let invalidation = match mode {
        _ if header_size(magic) < 16 => timestamp,
        InvalidationMode::Timestamp => timestamp,
        InvalidationMode::CheckedHash => Invalidation::CheckedHash { hash },
        InvalidationMode::UncheckedHash => Invalidation::UncheckedHash { hash },
    };
    Header::bytes_for(magic, invalidation)
}

/// Classify the cache file `cfile` for a source with `stat`, for `target` (the shared
/// classification's view of the interpreter), asked to write `mode`. `source` reads the
/// source; it is called only for hash-based pycs.
pub fn classify(
    cfile: &Path,
    target: &Target,
    mode: InvalidationMode,
    stat: &SourceStat,
    verify: bool,
    source: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> Verdict {
    classify_at(rustix::fs::CWD, cfile, target, mode, stat, verify, source)
}

/// [`classify`] for `name` relative to the open directory `dir` (one path component to look up
/// instead of the whole path: the no-op run opens each cache folder once).
pub fn classify_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &Path,
    target: &Target,
    mode: InvalidationMode,
    stat: &SourceStat,
    verify: bool,
    source: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> Verdict {
    use rustix::fs::{openat, Mode, OFlags};
    use rustix::io::Errno;
    // O_NOFOLLOW: a symlink is reported, not read through; O_NONBLOCK: a FIFO cannot hang us
    // (a non-regular file reads short and is refused when written).
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Verdict::Missing,
        Err(Errno::LOOP) => return Verdict::Symlink,
        Err(_) => return Verdict::Stale,
    };
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(&fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(Errno::INTR) => continue,
            Err(_) => return Verdict::Stale,
        }
    }
    let head = &buf[..got];
    if judge(target, head, stat, source).0 != State::Fresh {
        return Verdict::Stale;
    }
    // Fresh for the interpreter; is it also of the asked kind (the flags word from 3.7 on)?
    match Header::parse(head) {
        Ok(h) if h.flags.is_none_or(|f| f == mode.flags()) => {}
        _ => return Verdict::Stale,
    }
    // --verify: the body must load too (the check `pyc status --verify` makes).
    if verify && pyc_cache::classify::verify_fd(fd.as_fd()).is_some() {
        return Verdict::Stale;
    }
    Verdict::Fresh
}

/// The shared classification's target for an interpreter with `magic` (its version's rules),
/// judging hash-based pycs always against the source.
pub fn target_for(info: &'static pyc_format::VersionInfo, magic: u16) -> Option<Target> {
    let mut t = Target::for_version(info.version).ok()?;
    t.magic = magic;
    t.check_hash_based_pycs = CheckHashBasedPycs::Always;
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_by_layout() {
        let st = SourceStat::at(0x1_0000_0005, 7);
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
        let st = SourceStat::at(100, 3);
        let t312 = target_for(
            pyc_format::version_info(pyc_format::PyVersion::new(3, 12)).unwrap(),
            3531,
        )
        .unwrap();
        let t313 = target_for(
            pyc_format::version_info(pyc_format::PyVersion::new(3, 13)).unwrap(),
            3571,
        )
        .unwrap();
        let mut no_source = || -> Result<Vec<u8>, String> { panic!("source not needed") };
        let mut verdict = |t: &Target, mode: InvalidationMode, st: &SourceStat| {
            classify(&p, t, mode, st, false, &mut no_source)
        };
        use InvalidationMode::{CheckedHash, Timestamp};
        assert_eq!(verdict(&t312, Timestamp, &st), Verdict::Missing);
        let mut data = header(3531, Timestamp, &st, [0; 8]);
        data.extend(b"body");
        std::fs::write(&p, &data).unwrap();
        assert_eq!(verdict(&t312, Timestamp, &st), Verdict::Fresh);
        // Same mtime, other size: stale (compileall would skip it).
        let st2 = SourceStat { size: 4, ..st };
        assert_eq!(verdict(&t312, Timestamp, &st2), Verdict::Stale);
        // A timestamp pyc does not satisfy a hash request.
        assert_eq!(verdict(&t312, CheckedHash, &st), Verdict::Stale);
        // Another interpreter's magic is stale.
        assert_eq!(verdict(&t313, Timestamp, &st), Verdict::Stale);
        std::fs::write(&p, b"\xcb\x0d").unwrap();
        assert_eq!(verdict(&t312, Timestamp, &st), Verdict::Stale);
    }
}
