//! The interpreter features `pyc importtime` depends on, one row each: data, not `if`s.

use pyc_format::PyVersion;

/// A feature and the first CPython version that has it.
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
pub const FEATURES: &[(Feature, PyVersion)] = &[
    (Feature::ImportTime, PyVersion::new(3, 7)),
    (Feature::PycachePrefix, PyVersion::new(3, 8)),
    (Feature::ImportTimeCached, PyVersion::new(3, 14)),
];

/// Whether CPython `version` has `feature`.
pub fn has(version: PyVersion, feature: Feature) -> bool {
    FEATURES
        .iter()
        .any(|(f, since)| *f == feature && version >= *since)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rows() {
        assert!(!has(PyVersion::new(3, 6), Feature::ImportTime));
        assert!(has(PyVersion::new(3, 7), Feature::ImportTime));
        assert!(!has(PyVersion::new(3, 7), Feature::PycachePrefix));
        assert!(has(PyVersion::new(3, 13), Feature::PycachePrefix));
        assert!(!has(PyVersion::new(3, 13), Feature::ImportTimeCached));
        assert!(has(PyVersion::new(3, 15), Feature::ImportTimeCached));
    }
}
