//! The pyc header, magic table and `source_hash` against what each real interpreter says.
//!
//! Fixtures: `tests/fixtures/headers/<X.Y>/` (pycs written by `py_compile` of that version and
//! `readings.json`, the interpreter's own reading of them), made by `scripts/gen_headers.py`
//! with 2.7, 3.6-3.13 (pyenv) and 3.14, 3.15 (pyodide).

use std::path::PathBuf;

use pyc_format::{
    lookup_magic, magic_token, source_hash, version_info, Header, Invalidation, PyVersion,
};
use serde_json::Value;

/// Every version the fixtures must cover: a missing directory is a failure, not a skip.
const VERSIONS: &[&str] = &[
    "2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15",
];

fn dir(version: &str) -> PathBuf {
    pyc_testutil::fixtures("headers").join(version)
}

fn readings(version: &str) -> Value {
    let p = dir(version).join("readings.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn u32_of(v: &Value) -> Option<u32> {
    v.as_u64().map(|n| u32::try_from(n).expect("u32"))
}

#[test]
fn every_interpreter_magic_is_in_the_table_with_its_version() {
    for &version in VERSIONS {
        let r = readings(version);
        assert_eq!(r["version"], version);
        let magic = r["magic"].as_u64().unwrap() as u16;
        let entry =
            lookup_magic(magic).unwrap_or_else(|| panic!("{version}: magic {magic} not in MAGICS"));
        assert_eq!(entry.version.to_string(), version, "magic {magic}");
        let v: PyVersion = version.parse().unwrap();
        let info = version_info(v).unwrap();
        assert_eq!(info.magic, magic, "{version}: VersionInfo.magic");
        assert_eq!(
            info.cache_tag,
            r["cache_tag"].as_str(),
            "{version}: cache_tag"
        );
        assert_eq!(
            u64::from(info.marshal_version),
            r["marshal_version"].as_u64().unwrap(),
            "{version}: marshal.version"
        );
        assert_eq!(
            pyc_format::hex(&pyc_format::magic_bytes(magic)),
            r["magic_hex"].as_str().unwrap(),
            "{version}: MAGIC_NUMBER bytes"
        );
        if let Some(raw) = r["raw_magic_number"].as_u64() {
            assert_eq!(
                u64::from(magic_token(magic)),
                raw,
                "{version}: _RAW_MAGIC_NUMBER"
            );
        }
        assert_eq!(
            info.source_hash.is_some(),
            !r["source_hash"].as_array().unwrap().is_empty(),
            "{version}: has importlib.util.source_hash"
        );
    }
}

#[test]
fn header_fields_equal_the_interpreters_reading() {
    let mut checked = 0;
    for &version in VERSIONS {
        let r = readings(version);
        let magic = r["magic"].as_u64().unwrap() as u16;
        for case in r["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            if case.get("skipped").is_some() {
                continue;
            }
            let file = dir(version).join(case["file"].as_str().unwrap());
            let data = std::fs::read(&file).unwrap();
            let what = format!("{version} {name}");
            let h = Header::parse(&data).unwrap_or_else(|e| panic!("{what}: {e}"));
            let reading = &case["reading"];
            assert_eq!(h.magic.magic(), magic, "{what}: magic");
            assert_eq!(
                h.magic.version().map(|v| v.to_string()).as_deref(),
                Some(version),
                "{what}: version"
            );
            assert!(
                matches!(h.magic, pyc_format::MagicKind::Known(_)),
                "{what}: known"
            );
            let sizes: Vec<u64> = reading["header_size_candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(sizes, vec![h.size as u64], "{what}: header size");
            if let Some(off) = reading["body_offset_by_validator"].as_u64() {
                assert_eq!(off, h.size as u64, "{what}: body offset");
            }
            assert_eq!(h.flags, u32_of(&reading["flags"]), "{what}: flags");
            assert_eq!(h.unknown_flags, 0, "{what}: unknown flags");
            match h.invalidation {
                Invalidation::Timestamp { mtime, source_size } => {
                    assert_eq!(reading["mode"], "timestamp", "{what}: mode");
                    assert_eq!(Some(mtime), u32_of(&reading["mtime"]), "{what}: mtime");
                    assert_eq!(
                        source_size,
                        u32_of(&reading["source_size"]),
                        "{what}: source size"
                    );
                    // The interpreter stores the source mtime modulo 2**32.
                    let t = case["source_mtime"].as_i64().unwrap();
                    assert_eq!(i64::from(mtime), t.rem_euclid(1 << 32), "{what}: mtime mod");
                }
                Invalidation::CheckedHash { hash } | Invalidation::UncheckedHash { hash } => {
                    let mode = if matches!(h.invalidation, Invalidation::CheckedHash { .. }) {
                        "checked-hash"
                    } else {
                        "unchecked-hash"
                    };
                    assert_eq!(reading["mode"], mode, "{what}: mode");
                    assert_eq!(
                        pyc_format::hex(&hash),
                        reading["source_hash"].as_str().unwrap(),
                        "{what}: hash"
                    );
                    // And our source_hash of the source gives the hash the interpreter stored.
                    let src = unhex(
                        r["sources_hex"][case["source"].as_str().unwrap()]
                            .as_str()
                            .unwrap(),
                    );
                    let variant = h.magic.version_info().unwrap().source_hash.unwrap();
                    assert_eq!(
                        source_hash(variant, magic, &src),
                        hash,
                        "{what}: source_hash"
                    );
                }
            }
            // Writing the header back gives the interpreter's bytes.
            assert_eq!(h.to_bytes(), data[..h.size], "{what}: to_bytes");
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} pycs checked");
}

#[test]
fn flag_words_are_classified_as_the_interpreter_classifies_them() {
    let mut checked = 0;
    for &version in VERSIONS {
        let r = readings(version);
        for c in r["crafted"].as_array().unwrap() {
            let what = format!("{version} {}", c["name"]);
            let data = std::fs::read(dir(version).join(c["file"].as_str().unwrap())).unwrap();
            let h = Header::parse(&data).unwrap();
            let flags = u32_of(&c["flags"]).unwrap();
            assert_eq!(h.flags, Some(flags), "{what}");
            if let Some(classified) = u32_of(&c["classify"]) {
                // _classify_pyc accepted it: no unknown bits, and the same mode.
                assert_eq!(h.unknown_flags, 0, "{what}");
                let hash_based = classified & 1 != 0;
                assert_eq!(
                    !matches!(h.invalidation, Invalidation::Timestamp { .. }),
                    hash_based,
                    "{what}"
                );
            } else {
                let err = c["classify_error"].as_str().unwrap();
                assert!(err.starts_with("ImportError: invalid flags"), "{what}");
                assert_ne!(h.unknown_flags, 0, "{what}: unknown bits reported");
            }
            checked += 1;
        }
    }
    assert!(checked >= 9 * 5, "only {checked} crafted pycs checked");
}

#[test]
fn source_hash_equals_importlib_util_source_hash() {
    let mut checked = 0;
    for &version in VERSIONS {
        let r = readings(version);
        let v: PyVersion = version.parse().unwrap();
        let info = version_info(v).unwrap();
        for vector in r["source_hash"].as_array().unwrap() {
            let input = unhex(vector["input_hex"].as_str().unwrap());
            let want = vector["hash"].as_str().unwrap();
            let got = source_hash(info.source_hash.unwrap(), info.magic, &input);
            assert_eq!(
                pyc_format::hex(&got),
                want,
                "{version}: source_hash of {} bytes",
                input.len()
            );
            checked += 1;
        }
    }
    // 3.7-3.15: nine versions, both SipHash variants.
    assert!(checked >= 9 * 8, "only {checked} vectors");
}
