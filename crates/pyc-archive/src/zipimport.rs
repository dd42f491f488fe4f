//! zipimport's verdict on a cache file in a zip, per CPython version, as each version's own
//! code decides: `Modules/zipimport.c` (2.x–3.7: `get_module_code`, `unmarshal_code`,
//! `get_mtime_of_source`, `eq_mtime`) and `Lib/zipimport.py` (3.8+: `_get_module_code`,
//! `_unmarshal_code`, `_get_mtime_and_size_of_source`, `_eq_mtime`).
//!
//! Common to all: only `NAME.pyc` (2.x–3.4 also `NAME.pyo`) beside `NAME.py` is tried, never
//! `__pycache__`; a rejected cache file falls through to the source, which is compiled in
//! memory on every import and never written back; the source's time is the zip entry's DOS
//! date and time read in local time (`mktime`), compared with one second of slack because DOS
//! times have two-second resolution.

use pyc_cache::classify::{CheckHashBasedPycs, Target};
use pyc_format::PyVersion;

use crate::dostime::DosTime;

/// How a version treats hash-based pycs in a zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRule {
    /// No hash-based pycs (before 3.7): the flags word does not exist.
    None,
    /// 3.7: any non-zero flags word is hash-based; checked ones are refused (the source is
    /// never hashed) unless `--check-hash-based-pycs never`, unchecked ones accepted unless
    /// `always`.
    RefuseChecked,
    /// 3.8+: `_classify_pyc` (unknown flags rejected), checked ones validated against the
    /// source's hash when there is a source.
    Validate,
}

/// One row: what zipimport of `from..=to` does.
#[derive(Debug)]
pub struct ZipImportRule {
    pub from: PyVersion,
    pub to: PyVersion,
    /// Bytes of the header it reads.
    pub header: usize,
    /// Suffixes tried after the module's path, in order, without and with `-O`.
    pub bytecode: &'static [&'static str],
    pub bytecode_optimized: &'static [&'static str],
    /// The header mtime is read as a signed 32-bit number (2.x `get_long`).
    pub mtime_signed: bool,
    /// The header's source size is compared with the source entry's uncompressed size.
    pub checks_size: bool,
    pub hash: HashRule,
    /// It finds the end record of a zip with an archive comment (the C code of 2.x–3.7 reads
    /// only the last 22 bytes, so such a zip is not importable at all).
    pub reads_archive_comment: bool,
    /// Where the rule comes from.
    pub code: &'static str,
}

/// The rows, oldest first. 3.3–3.5 follow the C code of 3.6 (and 3.3/3.4 its `.pyo`
/// handling); only 2.7 and 3.6+ are checked against real interpreters.
pub static ZIPIMPORT_RULES: &[ZipImportRule] = &[
    ZipImportRule {
        from: PyVersion::new(2, 0),
        to: PyVersion::new(2, 7),
        header: 8,
        bytecode: &[".pyc", ".pyo"],
        bytecode_optimized: &[".pyo", ".pyc"],
        mtime_signed: true,
        checks_size: false,
        hash: HashRule::None,
        reads_archive_comment: false,
        code: "Modules/zipimport.c",
    },
    ZipImportRule {
        from: PyVersion::new(3, 3),
        to: PyVersion::new(3, 4),
        header: 12,
        bytecode: &[".pyc", ".pyo"],
        bytecode_optimized: &[".pyo", ".pyc"],
        mtime_signed: false,
        checks_size: false,
        hash: HashRule::None,
        reads_archive_comment: false,
        code: "Modules/zipimport.c",
    },
    ZipImportRule {
        from: PyVersion::new(3, 5),
        to: PyVersion::new(3, 6),
        header: 12,
        bytecode: &[".pyc"],
        bytecode_optimized: &[".pyc"],
        mtime_signed: false,
        checks_size: false,
        hash: HashRule::None,
        reads_archive_comment: false,
        code: "Modules/zipimport.c",
    },
    ZipImportRule {
        from: PyVersion::new(3, 7),
        to: PyVersion::new(3, 7),
        header: 16,
        bytecode: &[".pyc"],
        bytecode_optimized: &[".pyc"],
        mtime_signed: false,
        checks_size: false,
        hash: HashRule::RefuseChecked,
        reads_archive_comment: false,
        code: "Modules/zipimport.c",
    },
    ZipImportRule {
        from: PyVersion::new(3, 8),
        to: PyVersion::new(3, 99),
        header: 16,
        bytecode: &[".pyc"],
        bytecode_optimized: &[".pyc"],
        mtime_signed: false,
        checks_size: true,
        hash: HashRule::Validate,
        reads_archive_comment: true,
        code: "Lib/zipimport.py",
    },
];

/// The row of a version.
pub fn rule_for(v: PyVersion) -> Option<&'static ZipImportRule> {
    ZIPIMPORT_RULES.iter().find(|r| r.from <= v && v <= r.to)
}

impl ZipImportRule {
    /// The suffixes tried for `target` (its first optimization level decides 2.x's order).
    pub fn suffixes(&self, target: &Target) -> &'static [&'static str] {
        if target.optimizations.first().copied().unwrap_or(0) > 0 {
            self.bytecode_optimized
        } else {
            self.bytecode
        }
    }
}

/// What zipimport does with one cache file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Loaded; the detail says why when it is not the plain timestamp match.
    Accept(Option<String>),
    /// Skipped (the next name, or the source, is tried): reason and detail.
    Reject(&'static str, String),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The source beside a cache file, as zipimport sees it.
pub struct ZipSource<'a> {
    pub dos: DosTime,
    pub size: u64,
    /// The source's bytes, asked for only to check a hash.
    pub data: &'a mut dyn FnMut() -> Result<Vec<u8>, String>,
}

/// zipimport's decision on the cache file whose first bytes are `head`, beside `source`
/// (None: a sourceless module).
pub fn decide(
    rule: &ZipImportRule,
    target: &Target,
    head: &[u8],
    source: Option<ZipSource<'_>>,
) -> Decision {
    let want = target.magic.to_le_bytes();
    if head.len() < 4 || head[..2] != want || head[2..4] != [b'\r', b'\n'] {
        let got = if head.len() >= 2 {
            format!("magic {}", u16::from_le_bytes([head[0], head[1]]))
        } else {
            format!("{} bytes", head.len())
        };
        return Decision::Reject("magic", format!("{got}, expected {}", target.magic));
    }
    if head.len() < rule.header {
        return Decision::Reject(
            "truncated",
            format!("{} bytes, the header needs {}", head.len(), rule.header),
        );
    }
    let mode = target.check_hash_based_pycs;
    let mtime_at = if rule.header == 16 {
        let flags = u32_at(head, 4);
        match rule.hash {
            HashRule::RefuseChecked if flags != 0 => {
                let refused = mode != CheckHashBasedPycs::Never
                    && (flags != 1 || mode == CheckHashBasedPycs::Always);
                return if refused {
                    Decision::Reject(
                        "hash",
                        format!(
                            "hash-based pyc (flags {flags:#x}): 3.7's zipimport never hashes the source, it skips checked ones"
                        ),
                    )
                } else {
                    Decision::Accept(Some(format!(
                        "hash-based pyc (flags {flags:#x}), not checked"
                    )))
                };
            }
            HashRule::Validate => {
                if flags & !0b11 != 0 {
                    return Decision::Reject("flags", format!("invalid flags {flags:#x}"));
                }
                if flags & 1 != 0 {
                    let check_source = flags & 0b10 != 0;
                    if mode != CheckHashBasedPycs::Never
                        && (check_source || mode == CheckHashBasedPycs::Always)
                    {
                        if let Some(src) = source {
                            let variant = target.info.source_hash;
                            let data = match (src.data)() {
                                Ok(d) => d,
                                Err(e) => return Decision::Reject("unreadable", e),
                            };
                            let Some(variant) = variant else {
                                return Decision::Reject("hash", "no source hash".into());
                            };
                            let h = pyc_format::source_hash(variant, target.magic, &data);
                            if h[..] != head[8..16] {
                                return Decision::Reject(
                                    "hash",
                                    format!(
                                        "pyc has hash {}, source {}",
                                        pyc_format::hex(&head[8..16]),
                                        pyc_format::hex(&h)
                                    ),
                                );
                            }
                            return Decision::Accept(Some("checked hash matches".into()));
                        }
                    }
                    return Decision::Accept(Some("hash-based pyc, not checked".into()));
                }
            }
            _ => {}
        }
        8
    } else {
        4
    };
    let Some(src) = source else {
        return Decision::Accept(Some("sourceless: loaded as is".into()));
    };
    let raw = u32_at(head, mtime_at);
    let pyc = if rule.mtime_signed {
        i64::from(raw as i32)
    } else {
        i64::from(raw)
    };
    let Some(dos) = src.dos.local_epoch() else {
        return Decision::Reject(
            "mtime",
            format!(
                "DOS mtime {} cannot be read in local time",
                src.dos.display()
            ),
        );
    };
    // `if source_mtime:` / `mtime != 0`: a DOS time that is the epoch means "no time".
    if dos != 0 && (pyc - dos).abs() > 1 {
        return Decision::Reject(
            "mtime",
            format!(
                "DOS mtime {} ({dos} in local time) != pyc mtime {pyc} ({}), {} s apart; zipimport allows 1",
                src.dos.display(),
                pyc_format::utc_datetime(pyc),
                (pyc - dos).abs()
            ),
        );
    }
    if rule.checks_size && dos != 0 {
        let pyc_size = u32_at(head, 12);
        if u64::from(pyc_size) != src.size {
            return Decision::Reject(
                "size",
                format!("pyc has size {pyc_size}, source entry {}", src.size),
            );
        }
    }
    Decision::Accept(None)
}
