//! Targets: the interpreters whose verdict is wanted, and the validation rule of each version
//! (the rows of [`RULES`]).

use std::str::FromStr;

use pyc_format::{version_info, PyVersion, VersionInfo};
use serde::Serialize;

/// `--check-hash-based-pycs` (`_imp.check_hash_based_pycs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CheckHashBasedPycs {
    #[default]
    Default,
    Always,
    Never,
}

impl FromStr for CheckHashBasedPycs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(Self::Default),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err(format!(
                "{s:?} is not a check-hash-based-pycs mode (default, always, never)"
            )),
        }
    }
}

/// How a version decides whether a cache file still matches its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validation {
    /// 2.x `import.c`: 8 bytes, masked `st_mtime` against the sign-extended header mtime.
    Import2,
    /// 3.3–3.6 `_validate_bytecode_header`: 12 bytes, `int(st_mtime)` unmasked, size masked.
    Bytecode12,
    /// 3.7+ PEP 552: 16 bytes, flags, masked mtime and size, or the source hash.
    Pep552,
}

/// One row: the versions `from..=to` validate cache files by `validation`.
pub struct Rule {
    pub from: PyVersion,
    pub to: PyVersion,
    pub validation: Validation,
}

/// The validation rule of each CPython version pyc can judge. 3.0–3.2 are not modelled.
pub static RULES: &[Rule] = &[
    Rule {
        from: PyVersion::new(2, 0),
        to: PyVersion::new(2, 7),
        validation: Validation::Import2,
    },
    Rule {
        from: PyVersion::new(3, 3),
        to: PyVersion::new(3, 6),
        validation: Validation::Bytecode12,
    },
    Rule {
        from: PyVersion::new(3, 7),
        to: PyVersion::new(3, 99),
        validation: Validation::Pep552,
    },
];

/// The rule for a version.
pub fn validation_for(v: PyVersion) -> Option<Validation> {
    RULES
        .iter()
        .find(|r| r.from <= v && v <= r.to)
        .map(|r| r.validation)
}

/// The tag pyc shows for a version: its `cache_tag`, or `cpython-27`-style for versions
/// without one (their caches sit beside the source).
pub fn tag_for(info: &VersionInfo) -> String {
    match info.cache_tag {
        Some(t) => t.to_string(),
        None => format!("cpython-{}{}", info.version.major, info.version.minor),
    }
}

/// An interpreter whose verdict is wanted.
#[derive(Debug, Clone)]
pub struct Target {
    /// For people: "3.12" or "/usr/bin/python3 (3.12)".
    pub label: String,
    /// Why this interpreter was chosen, when pyc chose it ("from ./.venv").
    pub chosen: Option<String>,
    pub info: &'static VersionInfo,
    /// The magic number this interpreter accepts.
    pub magic: u16,
    /// `sys.implementation.cache_tag` (or `cpython-27` for 2.7).
    pub tag: String,
    /// Optimization levels that count (0 = none, 1 = `-O`, 2 = `-OO`).
    pub optimizations: Vec<u32>,
    /// `sys.pycache_prefix` (absolute), 3.8+.
    pub prefix: Option<Vec<u8>>,
    pub check_hash_based_pycs: CheckHashBasedPycs,
    /// `sys.dont_write_bytecode`: the target never writes caches.
    pub dont_write_bytecode: bool,
    pub validation: Validation,
}

/// Why a target cannot be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error("pyc does not know CPython {0}")]
    Unknown(PyVersion),
    #[error("pyc does not model the cache validation of CPython {0} (2.x and 3.3+ only)")]
    NotModelled(PyVersion),
}

impl Target {
    /// A target from the version table alone (no interpreter needed): level 0, no prefix,
    /// check mode `default`, writes bytecode.
    pub fn for_version(v: PyVersion) -> Result<Target, TargetError> {
        let info = version_info(v).ok_or(TargetError::Unknown(v))?;
        let validation = validation_for(v).ok_or(TargetError::NotModelled(v))?;
        Ok(Target {
            label: v.to_string(),
            chosen: None,
            info,
            magic: info.magic,
            tag: tag_for(info),
            optimizations: vec![0],
            prefix: None,
            check_hash_based_pycs: CheckHashBasedPycs::Default,
            dont_write_bytecode: false,
            validation,
        })
    }

    pub(crate) fn uses_prefix(&self) -> Option<&[u8]> {
        if self.info.pycache_prefix {
            self.prefix.as_deref()
        } else {
            None
        }
    }
}
