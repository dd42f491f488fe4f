//! What the first four bytes of a file say: a CPython magic number (known or not), another
//! Python implementation's magic, or not a pyc at all.

use serde::Serialize;

use crate::version::{version_info, MagicEntry, PyVersion, VersionInfo, MAGICS};

/// Magic numbers of other implementations and of CPython before 1.5. They are named and refused:
/// their bytecode is not CPython's. Sources: xdis `magics.py`, RustPython, PyPy's `pycode.py`.
static OTHER_MAGICS: &[(u16, &str)] = &[
    (39170, "CPython 1.0"),
    (39171, "CPython 1.1/1.2"),
    (11913, "CPython 1.3"),
    (5892, "CPython 1.4"),
    (62218, "PyPy 2.7"),
    (3187, "PyPy 3.2"),
    (48, "PyPy 3.x"),
    (64, "PyPy 3.x"),
    (112, "PyPy 3.x"),
    (160, "PyPy 3.x"),
    (192, "PyPy 3.x"),
    (224, "PyPy 3.x"),
    (240, "PyPy 3.x"),
    (256, "PyPy 3.x"),
    (320, "PyPy 3.x"),
    (336, "PyPy 3.x"),
    (384, "PyPy 3.x"),
    (416, "PyPy 3.x"),
    (22138, "Pyston 2.7"),
    (2657, "Pyston 2.7 (0.6.1)"),
    (62135, "Dropbox Python 2.5"),
    (1011, "Jython"),
    (65226, "Jython"),
    (21150, "GraalPy"),
    (21260, "GraalPy"),
    (21280, "GraalPy"),
    (21290, "GraalPy"),
    (12641, "RustPython"),
    (12897, "RustPython"),
    (24881, "RustPython"),
    (35310, "RustPython"),
];

/// What a magic number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MagicKind {
    /// A magic number in CPython's own list.
    Known(&'static MagicEntry),
    /// Followed by `\r\n` like a CPython magic, in the 3.x range (3000-3999) but in no list:
    /// a pre-release or a newer CPython. `nearest` is the closest known 3.x magic.
    Unknown {
        magic: u16,
        nearest: &'static MagicEntry,
    },
    /// Another implementation (PyPy, Jython, GraalPy, RustPython, Pyston) or CPython before
    /// 1.5: named, not read.
    Foreign {
        magic: u16,
        implementation: &'static str,
    },
}

impl MagicKind {
    /// The CPython version this magic belongs to (for an unknown magic, the nearest known one).
    pub fn version(&self) -> Option<PyVersion> {
        match self {
            MagicKind::Known(e) => Some(e.version),
            MagicKind::Unknown { nearest, .. } => Some(nearest.version),
            MagicKind::Foreign { .. } => None,
        }
    }

    pub fn magic(&self) -> u16 {
        match *self {
            MagicKind::Known(e) => e.magic,
            MagicKind::Unknown { magic, .. } | MagicKind::Foreign { magic, .. } => magic,
        }
    }

    /// The version row for this magic, when it is CPython's (nearest version if unknown).
    pub fn version_info(&self) -> Option<&'static VersionInfo> {
        self.version().and_then(version_info)
    }
}

/// The known entry for a CPython magic number.
pub fn lookup_magic(magic: u16) -> Option<&'static MagicEntry> {
    // Asked once per pyc read (a no-op over 100k sources asks 100k times): a binary search
    // over the magics sorted once, each to its first row in `MAGICS`.
    static BY_MAGIC: std::sync::OnceLock<Vec<(u16, usize)>> = std::sync::OnceLock::new();
    let index = BY_MAGIC.get_or_init(|| {
        let mut v: Vec<(u16, usize)> = MAGICS
            .iter()
            .enumerate()
            .map(|(i, e)| (e.magic, i))
            .collect();
        v.sort();
        v.dedup_by_key(|(m, _)| *m);
        v
    });
    let i = index.binary_search_by_key(&magic, |&(m, _)| m).ok()?;
    MAGICS.get(index[i].1)
}

/// Python 2 and 1.x magics are 5-digit numbers; Python 3's are 4-digit (3000..).
fn is_py2_series(magic: u16) -> bool {
    magic >= 20000
}

/// Where a magic CPython does not list can still be CPython's: the 3.x series, which keeps
/// growing (3.16 starts at 3700). The 1.x/2.x series is closed and every magic it ever used
/// is listed, so anything else there (a text file starting with two letters and CRLF, say)
/// is not a pyc.
const UNLISTED_CPYTHON: std::ops::RangeInclusive<u16> = 3000..=3999;

/// Classify the first four bytes of a file. `None` when they cannot be a pyc (no `\r\n`
/// after the number, and not one of the old or foreign magics).
pub fn classify(first4: [u8; 4]) -> Option<MagicKind> {
    let magic = u16::from_le_bytes([first4[0], first4[1]]);
    if let Some(&(_, implementation)) = OTHER_MAGICS.iter().find(|(m, _)| *m == magic) {
        return Some(MagicKind::Foreign {
            magic,
            implementation,
        });
    }
    if first4[2..] != *b"\r\n" {
        return None;
    }
    if let Some(e) = lookup_magic(magic) {
        return Some(MagicKind::Known(e));
    }
    if !UNLISTED_CPYTHON.contains(&magic) {
        return None;
    }
    // The closest listed 3.x magic; on a tie, the newer one.
    let nearest = MAGICS
        .iter()
        .filter(|e| !is_py2_series(e.magic))
        .min_by_key(|e| ((e.magic as i32 - magic as i32).abs(), -(e.magic as i32)))?;
    Some(MagicKind::Unknown { magic, nearest })
}

/// Header size that a CPython with this magic writes: 8 bytes up to 3.2 (and 3.3a1's early
/// magics), 12 from magic 3210 (source size added), 16 from magic 3392 (PEP 552 flags).
pub fn header_size(magic: u16) -> usize {
    if is_py2_series(magic) || magic < 3210 {
        8
    } else if magic < 3392 {
        12
    } else {
        16
    }
}

/// The four bytes CPython writes for a magic number.
pub fn magic_bytes(magic: u16) -> [u8; 4] {
    let [a, b] = magic.to_le_bytes();
    [a, b, b'\r', b'\n']
}

/// The 32-bit "magic token" (`_RAW_MAGIC_NUMBER` / `_imp.pyc_magic_number_token`) that keys
/// `source_hash`.
pub fn magic_token(magic: u16) -> u32 {
    u32::from_le_bytes(magic_bytes(magic))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lookup_magic_finds_the_first_row_of_every_magic() {
        for magic in 0..=u16::MAX {
            let first = super::MAGICS.iter().find(|e| e.magic == magic);
            assert_eq!(
                super::lookup_magic(magic).map(|e| e as *const _),
                first.map(|e| e as *const _),
                "{magic}"
            );
        }
    }

    use super::*;

    #[test]
    fn unlisted_magics() {
        // 3.16 will start at 3700: unknown, nearest 3.15.
        let k = classify(magic_bytes(3700)).unwrap();
        assert!(matches!(k, MagicKind::Unknown { magic: 3700, .. }));
        assert_eq!(k.version(), Some(crate::PyVersion::new(3, 15)));
        // Between 3.12's last (3531) and 3.13's first (3550): nearest wins.
        assert_eq!(
            classify(magic_bytes(3535)).unwrap().version(),
            Some(crate::PyVersion::new(3, 12))
        );
        // Two ASCII letters and CRLF: not a pyc.
        assert_eq!(classify(*b"ab\r\n"), None);
        // Foreign magics are named whatever follows them.
        assert!(matches!(
            classify(magic_bytes(62218)),
            Some(MagicKind::Foreign {
                implementation: "PyPy 2.7",
                ..
            })
        ));
    }
}
