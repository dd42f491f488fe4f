//! pyc's magic-number table against the tables the real interpreters ship: the "Known values"
//! comment block of each pyenv CPython's own `importlib/_bootstrap_external.py` (3.6-3.13),
//! recorded by `scripts/gen_magics.py` in `tests/fixtures/magics/<X.Y>.json`.

use std::collections::BTreeMap;

use pyc_format::{lookup_magic, PyVersion, MAGICS};
use serde_json::Value;

const VERSIONS: &[&str] = &["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"];

/// The version a release label of CPython's table names: "3.6rc1" -> 3.6, "1.5.1" -> 1.5,
/// "3000" (the 3.0 development series) -> 3.0.
fn version_of(release: &str) -> PyVersion {
    if release == "3000" {
        return PyVersion::new(3, 0);
    }
    let mut parts = release.split('.');
    let major: u8 = parts.next().unwrap().parse().unwrap();
    let minor: String = parts
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    PyVersion::new(major, minor.parse().unwrap())
}

/// magic -> the release labels the interpreters' tables give it, newest interpreter last.
fn tables() -> BTreeMap<u16, Vec<String>> {
    let mut all: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for v in VERSIONS {
        let p = pyc_testutil::fixtures("magics").join(format!("{v}.json"));
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let table = data["table"].as_array().unwrap();
        assert!(table.len() > 70, "{v}: table of {} entries", table.len());
        // The interpreter's own magic is the last entry of its table.
        assert_eq!(table.last().unwrap()["magic"], data["magic"], "{v}");
        for e in table {
            let magic = e["magic"].as_u64().unwrap() as u16;
            all.entry(magic)
                .or_default()
                .push(e["release"].as_str().unwrap().to_string());
        }
    }
    all
}

#[test]
fn every_magic_cpython_lists_is_known_with_its_version() {
    let tables = tables();
    assert!(tables.len() > 190, "{} magics", tables.len());
    for (magic, releases) in &tables {
        let entry = lookup_magic(*magic)
            .unwrap_or_else(|| panic!("magic {magic} ({releases:?}) missing from MAGICS"));
        let newest = releases.last().unwrap();
        assert_eq!(
            entry.version,
            version_of(newest),
            "magic {magic} ({newest})"
        );
        assert!(
            entry.release.contains(newest.as_str()),
            "magic {magic}: release {:?}, CPython 3.13's table says {newest:?}",
            entry.release
        );
    }
}

#[test]
fn pyc_lists_no_magic_up_to_3_13_that_cpython_does_not() {
    let tables = tables();
    for e in MAGICS.iter().filter(|e| e.version <= PyVersion::new(3, 13)) {
        assert!(
            tables.contains_key(&e.magic),
            "MAGICS has {} ({}) but no interpreter's table does",
            e.magic,
            e.release
        );
    }
}
