//! The interpreter features `pyc importtime` depends on, one row each: data, not `if`s.

/// A feature and the first CPython (major, minor) that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `-X importtime` and `PYTHONPROFILEIMPORTTIME` (bpo-31415).
    ImportTime,
    /// `PYTHONPYCACHEPREFIX` / `-X pycache_prefix` (PEP-less, bpo-33499): caches read and
    /// written only under the prefix.
    PycachePrefix,
    /// `-X importtime=2`: also a `cached` row for each import of an already-imported module
    /// (gh-118655).
    ImportTimeCached,
}

/// (feature, since).
pub const FEATURES: &[(Feature, (u8, u8))] = &[
    (Feature::ImportTime, (3, 7)),
    (Feature::PycachePrefix, (3, 8)),
    (Feature::ImportTimeCached, (3, 14)),
];

/// Whether CPython `version` has `feature`.
pub fn has(version: (u8, u8), feature: Feature) -> bool {
    FEATURES
        .iter()
        .any(|(f, since)| *f == feature && version >= *since)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rows() {
        assert!(!has((3, 6), Feature::ImportTime));
        assert!(has((3, 7), Feature::ImportTime));
        assert!(!has((3, 7), Feature::PycachePrefix));
        assert!(has((3, 13), Feature::PycachePrefix));
        assert!(!has((3, 13), Feature::ImportTimeCached));
        assert!(has((3, 15), Feature::ImportTimeCached));
    }
}
