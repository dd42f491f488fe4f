//! The verdict: the one place the version rules are applied to a cache file's header and its
//! source's `stat` (see the rules in the module docs of [`super`]).

use pyc_format::{magic_bytes, source_hash};

use super::*;

/// The source facts the interpreter uses: `st_mtime` (as seconds and nanoseconds) and size;
/// and `st_mode`, which a pyc written for the source inherits (`_calc_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStat {
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub size: u64,
    pub mode: u32,
}

impl SourceStat {
    /// A stat with these times and size, and the mode of a file made with umask 022.
    pub fn new(mtime_sec: i64, mtime_nsec: i64, size: u64) -> SourceStat {
        SourceStat {
            mtime_sec,
            mtime_nsec,
            size,
            mode: 0o100644,
        }
    }

    /// A stat with a whole-second mtime (tests, fixtures, archive entries).
    pub fn at(mtime: i64, size: u64) -> SourceStat {
        SourceStat::new(mtime, 0, size)
    }

    #[allow(clippy::unnecessary_cast)] // field types differ between architectures
    pub fn from_stat(st: &rustix::fs::Stat) -> SourceStat {
        SourceStat {
            mtime_sec: st.st_mtime as i64,
            mtime_nsec: st.st_mtime_nsec as i64,
            size: st.st_size as u64,
            mode: st.st_mode as u32,
        }
    }

    pub fn from_metadata(m: &std::fs::Metadata) -> SourceStat {
        use std::os::unix::fs::MetadataExt;
        SourceStat {
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            size: m.len(),
            mode: m.mode(),
        }
    }

    /// `int(os.stat(path).st_mtime)`: the double `sec + nsec * 1e-9`, truncated toward zero.
    pub fn int_st_mtime(&self) -> i64 {
        let f = self.mtime_sec as f64 + self.mtime_nsec as f64 * 1e-9;
        f.trunc() as i64
    }
}

pub(crate) fn source_stat_of(st: &rustix::fs::Stat) -> SourceStat {
    SourceStat::from_stat(st)
}

pub(crate) fn u32_le(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

/// The verdict of `target` on a cache file whose first bytes are `header` (at most 16 are
/// needed), for a source with `stat`; `source` is called to read the source only when a
/// checked hash must be computed.
pub fn judge(
    target: &Target,
    header: &[u8],
    stat: &SourceStat,
    source: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> (State, Option<Reason>, Option<String>) {
    let stale = |r: Reason, d: String| (State::Stale, Some(r), Some(d));
    let want = magic_bytes(target.magic);
    if header.len() < 4 {
        return stale(Reason::Truncated, format!("{} bytes", header.len()));
    }
    if header[..4] != want {
        let got = u16::from_le_bytes([header[0], header[1]]);
        let what = pyc_format::classify([header[0], header[1], header[2], header[3]])
            .and_then(|k| k.version())
            .map(|v| format!("magic {got} (CPython {v})"))
            .unwrap_or_else(|| format!("bytes {}", pyc_format::hex(&header[..4])));
        return stale(Reason::Magic, format!("{what}, expected {}", target.magic));
    }
    let need = match target.validation {
        Validation::Import2 => 8,
        Validation::Bytecode12 => 12,
        Validation::Pep552 => 16,
    };
    if header.len() < need {
        return stale(
            Reason::Truncated,
            format!("{}-byte header, {need} needed", header.len()),
        );
    }
    let mtime_mismatch = |pyc: String, src: String| {
        stale(Reason::Mtime, format!("pyc has mtime {pyc}, source {src}"))
    };
    let size_check = |at: usize| {
        let pyc = u32_le(&header[at..]);
        let src = (stat.size & 0xFFFF_FFFF) as u32;
        if pyc != src {
            stale(
                Reason::Size,
                format!("pyc has size {pyc}, source {}", stat.size),
            )
        } else {
            (State::Fresh, None, None)
        }
    };
    match target.validation {
        Validation::Import2 => {
            // time_t masked to 32 bits; the header read as a signed long.
            let src = stat.mtime_sec & 0xFFFF_FFFF;
            let pyc = i64::from(u32_le(&header[4..]) as i32);
            if pyc != src {
                return mtime_mismatch(pyc.to_string(), stat.mtime_sec.to_string());
            }
            (State::Fresh, None, None)
        }
        Validation::Bytecode12 => {
            let src = stat.int_st_mtime();
            let pyc = i64::from(u32_le(&header[4..]));
            if pyc != src {
                return mtime_mismatch(pyc.to_string(), src.to_string());
            }
            size_check(8)
        }
        Validation::Pep552 => {
            let flags = u32_le(&header[4..]);
            if flags & !0b11 != 0 {
                return stale(Reason::Flags, format!("flags {flags:#x}"));
            }
            if flags & 0b01 != 0 {
                let check_source = flags & 0b10 != 0;
                let mode = target.check_hash_based_pycs;
                if mode != CheckHashBasedPycs::Never
                    && (check_source || mode == CheckHashBasedPycs::Always)
                {
                    let Some(variant) = target.info.source_hash else {
                        return stale(Reason::Flags, "hash-based pyc before 3.7".into());
                    };
                    let bytes = match source() {
                        Ok(b) => b,
                        Err(e) => return stale(Reason::Unreadable, format!("source: {e}")),
                    };
                    let h = source_hash(variant, target.magic, &bytes);
                    if h[..] != header[8..16] {
                        return stale(
                            Reason::Hash,
                            format!(
                                "pyc has hash {}, source {}",
                                pyc_format::hex(&header[8..16]),
                                pyc_format::hex(&h)
                            ),
                        );
                    }
                    return (State::Fresh, None, Some("checked hash".into()));
                }
                return (
                    State::Fresh,
                    Some(Reason::Unchecked),
                    Some(if check_source {
                        "checked hash, not checked: --check-hash-based-pycs never".into()
                    } else {
                        "unchecked hash: trusted without reading the source".into()
                    }),
                );
            }
            let src = stat.int_st_mtime();
            let pyc = u32_le(&header[8..]);
            if i64::from(pyc) != src & 0xFFFF_FFFF {
                return mtime_mismatch(pyc.to_string(), src.to_string());
            }
            size_check(12)
        }
    }
}
