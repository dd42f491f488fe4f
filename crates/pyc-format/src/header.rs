//! The pyc header: magic, then (by version) the source mtime, the source size, or the PEP 552
//! flags word followed by either mtime+size or an 8-byte source hash.
//!
//! | magic            | size | layout (u32 little-endian)                       |
//! |------------------|------|--------------------------------------------------|
//! | 2.x, 3.0 .. 3209 | 8    | magic, mtime                                     |
//! | 3210 .. 3391     | 12   | magic, mtime, source size mod 2**32              |
//! | 3392 ..          | 16   | magic, flags, then mtime+size or source hash     |
//!
//! See PEP 552 and `_classify_pyc` in `Lib/importlib/_bootstrap_external.py`.

use serde::Serialize;

use crate::magic::{classify, header_size, MagicKind};

/// PEP 552 flag bit 0: the pyc is hash-based.
pub const FLAG_HASH_BASED: u32 = 0b01;
/// PEP 552 flag bit 1: check the hash against the source (meaningful only with bit 0).
pub const FLAG_CHECK_SOURCE: u32 = 0b10;

/// How the interpreter decides whether the pyc still matches its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Invalidation {
    /// Source mtime (seconds, mod 2**32) and, from 3.3, source size (mod 2**32).
    Timestamp {
        mtime: u32,
        source_size: Option<u32>,
    },
    /// Hash of the source, compared with the source on import (flags = 0b11).
    CheckedHash {
        #[serde(serialize_with = "hex8")]
        hash: [u8; 8],
    },
    /// Hash of the source, trusted without reading the source (flags = 0b01).
    UncheckedHash {
        #[serde(serialize_with = "hex8")]
        hash: [u8; 8],
    },
}

fn hex8<S: serde::Serializer>(h: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(h))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A parsed pyc header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Header {
    pub magic: MagicKind,
    /// 8, 12 or 16.
    pub size: usize,
    /// The PEP 552 flags word (16-byte headers only).
    pub flags: Option<u32>,
    /// Flag bits CPython does not define; any of them makes CPython reject the pyc
    /// (`ImportError: invalid flags`).
    pub unknown_flags: u32,
    pub invalidation: Invalidation,
}

/// Why the first bytes of a file are not a readable CPython pyc header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("empty file")]
    Empty,
    #[error("{got} bytes, too short for a magic number (4 bytes)")]
    TooShortForMagic { got: usize },
    #[error("not a pyc file: bytes 0-3 are {}, not a CPython magic number", hex(.first4))]
    NotPyc { first4: [u8; 4] },
    #[error("magic {magic} is {implementation}, not a CPython 1.5+ pyc; not read")]
    Foreign {
        magic: u16,
        implementation: &'static str,
    },
    #[error(
        "truncated header: {got} bytes, but magic {magic} ({version}) has a {needed}-byte header"
    )]
    Truncated {
        magic: u16,
        version: String,
        needed: usize,
        got: usize,
    },
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(b)
}

impl Header {
    /// Parse the header at the start of `data` (the whole file or at least its first 16 bytes).
    pub fn parse(data: &[u8]) -> Result<Header, HeaderError> {
        if data.is_empty() {
            return Err(HeaderError::Empty);
        }
        if data.len() < 4 {
            return Err(HeaderError::TooShortForMagic { got: data.len() });
        }
        let first4 = [data[0], data[1], data[2], data[3]];
        let magic = classify(first4).ok_or(HeaderError::NotPyc { first4 })?;
        if let MagicKind::Foreign {
            magic,
            implementation,
        } = magic
        {
            return Err(HeaderError::Foreign {
                magic,
                implementation,
            });
        }
        let size = header_size(magic.magic());
        if data.len() < size {
            return Err(HeaderError::Truncated {
                magic: magic.magic(),
                version: magic.version().map(|v| v.to_string()).unwrap_or_default(),
                needed: size,
                got: data.len(),
            });
        }
        let (flags, unknown_flags, invalidation) = match size {
            8 => (
                None,
                0,
                Invalidation::Timestamp {
                    mtime: u32_at(data, 4),
                    source_size: None,
                },
            ),
            12 => (
                None,
                0,
                Invalidation::Timestamp {
                    mtime: u32_at(data, 4),
                    source_size: Some(u32_at(data, 8)),
                },
            ),
            _ => {
                let flags = u32_at(data, 4);
                let mut hash = [0u8; 8];
                hash.copy_from_slice(&data[8..16]);
                let inv = if flags & FLAG_HASH_BASED == 0 {
                    Invalidation::Timestamp {
                        mtime: u32_at(data, 8),
                        source_size: Some(u32_at(data, 12)),
                    }
                } else if flags & FLAG_CHECK_SOURCE != 0 {
                    Invalidation::CheckedHash { hash }
                } else {
                    Invalidation::UncheckedHash { hash }
                };
                (
                    Some(flags),
                    flags & !(FLAG_HASH_BASED | FLAG_CHECK_SOURCE),
                    inv,
                )
            }
        };
        Ok(Header {
            magic,
            size,
            flags,
            unknown_flags,
            invalidation,
        })
    }

    /// The header bytes CPython would write (for a 16-byte header, `invalidation` decides the
    /// flags; unknown flag bits are not written).
    pub fn to_bytes(&self) -> Vec<u8> {
        write_header(self.magic.magic(), self.size, self.invalidation)
    }

    /// The header CPython writes for a pyc with `magic` (its size, 8, 12 or 16 bytes, follows
    /// from the magic): `py_compile` / `_code_to_timestamp_pyc` / `_code_to_hash_pyc`. An
    /// 8-byte header has no size; a 12- or 16-byte timestamp header without one writes 0.
    pub fn bytes_for(magic: u16, invalidation: Invalidation) -> Vec<u8> {
        write_header(magic, header_size(magic), invalidation)
    }
}

fn write_header(magic: u16, size: usize, invalidation: Invalidation) -> Vec<u8> {
    let mut out = crate::magic::magic_bytes(magic).to_vec();
    match (size, invalidation) {
        (8, Invalidation::Timestamp { mtime, .. }) => out.extend(mtime.to_le_bytes()),
        (12, Invalidation::Timestamp { mtime, source_size }) => {
            out.extend(mtime.to_le_bytes());
            out.extend(source_size.unwrap_or(0).to_le_bytes());
        }
        (_, Invalidation::Timestamp { mtime, source_size }) => {
            out.extend(0u32.to_le_bytes());
            out.extend(mtime.to_le_bytes());
            out.extend(source_size.unwrap_or(0).to_le_bytes());
        }
        (_, Invalidation::CheckedHash { hash }) => {
            out.extend((FLAG_HASH_BASED | FLAG_CHECK_SOURCE).to_le_bytes());
            out.extend(hash);
        }
        (_, Invalidation::UncheckedHash { hash }) => {
            out.extend(FLAG_HASH_BASED.to_le_bytes());
            out.extend(hash);
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian, UTC).
pub fn utc_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_known_points() {
        assert_eq!(utc_datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_datetime(4_294_967_295), "2106-02-07T06:28:15Z");
        assert_eq!(utc_datetime(-1), "1969-12-31T23:59:59Z");
    }

    proptest::proptest! {
        /// Any bytes: a header or an error, never a panic; a header writes back its own bytes
        /// (flag words with unknown bits aside, which `to_bytes` does not write).
        #[test]
        fn any_bytes_parse_or_fail_cleanly(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            if let Ok(h) = Header::parse(&data) {
                proptest::prop_assert!(h.size <= data.len());
                if h.unknown_flags == 0 && !matches!(h.flags, Some(f) if f & FLAG_HASH_BASED == 0 && f != 0) {
                    proptest::prop_assert_eq!(h.to_bytes(), data[..h.size].to_vec());
                }
            }
        }

        /// Every known magic with arbitrary header fields parses at the size its version uses.
        #[test]
        fn known_magics_parse(i in 0usize..crate::version::MAGICS.len(), rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 12)) {
            let e = &crate::version::MAGICS[i];
            let mut data = crate::magic::magic_bytes(e.magic).to_vec();
            data.extend(rest);
            let h = Header::parse(&data).unwrap();
            proptest::prop_assert_eq!(h.magic, MagicKind::Known(e));
            proptest::prop_assert_eq!(h.size, header_size(e.magic));
        }
    }

    #[test]
    fn short_inputs_are_errors_not_panics() {
        assert_eq!(Header::parse(b""), Err(HeaderError::Empty));
        assert_eq!(
            Header::parse(b"\xf3"),
            Err(HeaderError::TooShortForMagic { got: 1 })
        );
        assert!(matches!(
            Header::parse(b"\xf3\x0d\x0d\x0a\0\0\0"),
            Err(HeaderError::Truncated {
                needed: 16,
                got: 7,
                ..
            })
        ));
        assert!(matches!(
            Header::parse(b"abcd"),
            Err(HeaderError::NotPyc { .. })
        ));
    }
}
