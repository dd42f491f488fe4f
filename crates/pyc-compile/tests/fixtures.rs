//! Golden tests over pycs written by each real interpreter's py_compile
//! (`scripts/gen_compile.py` → `tests/fixtures/compile/<X.Y>.json`): 2.7, 3.6–3.13 and
//! 3.14/3.15 (pyodide). No Python needed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyc_compile::fresh::{classify, header, target_for, InvalidationMode, SourceStat, Verdict};
use pyc_format::{canonical_pyc, is_canonical_pyc, read_pyc};
use pyc_format::{header_size, version_info, PyVersion};

/// key ("opt0.timestamp", "opt0.timestamp.dirty", ...) -> pyc bytes
type Pycs = BTreeMap<String, Vec<u8>>;

struct Fixture {
    version: PyVersion,
    mtime: i64,
    /// file name -> (source bytes, key -> pyc bytes)
    files: BTreeMap<String, (Vec<u8>, Pycs)>,
    /// file name -> what the interpreter itself observed to differ between the code loaded
    /// from the fresh and the dirty pyc (fields, interning, frozenset order); usually nothing.
    dirty_observed: BTreeMap<String, Vec<String>>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = pyc_testutil::fixtures("compile");
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let version: PyVersion = v["version"].as_str().unwrap().parse().unwrap();
        let mut files = BTreeMap::new();
        let mut dirty_observed = BTreeMap::new();
        for (name, f) in v["files"].as_object().unwrap() {
            let source = std::fs::read(dir.join("corpus").join(name)).unwrap();
            assert_eq!(source.len() as u64, f["size"].as_u64().unwrap(), "{name}");
            let pycs = f["pycs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, b)| {
                    (
                        k.clone(),
                        pyc_testutil::b64decode(b.as_str().unwrap()).unwrap(),
                    )
                })
                .collect();
            files.insert(name.clone(), (source, pycs));
            let diff = f["dirty_observed_differences"]
                .as_array()
                .unwrap_or_else(|| panic!("{version} {name}: no observations (regenerate)"))
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            dirty_observed.insert(name.clone(), diff);
        }
        out.push(Fixture {
            version,
            mtime: v["mtime"].as_i64().unwrap(),
            files,
            dirty_observed,
        });
    }
    assert!(out.len() >= 11, "expected fixtures for 2.7 and 3.6-3.15");
    out
}

fn mode_of(key: &str) -> InvalidationMode {
    match key.split('.').nth(1) {
        Some("timestamp") => InvalidationMode::Timestamp,
        Some("checked-hash") => InvalidationMode::CheckedHash,
        Some("unchecked-hash") => InvalidationMode::UncheckedHash,
        other => panic!("unknown mode in {key}: {other:?}"),
    }
}

fn magic_of(pyc: &[u8]) -> u16 {
    u16::from_le_bytes([pyc[0], pyc[1]])
}

/// The header pyc writes (magic, flags, mtime and size, or the SipHash of the source) equals
/// the one each interpreter's py_compile wrote.
#[test]
fn headers_equal_py_compile() {
    let mut checked = 0;
    for fx in fixtures() {
        let info = version_info(fx.version).unwrap();
        for (name, (source, pycs)) in &fx.files {
            let stat = SourceStat::at(fx.mtime, source.len() as u64);
            for (key, pyc) in pycs {
                let magic = magic_of(pyc);
                let hash = info
                    .source_hash
                    .map(|v| pyc_format::source_hash(v, magic, source))
                    .unwrap_or([0; 8]);
                let h = header(magic, mode_of(key), &stat, hash);
                assert_eq!(
                    h[..],
                    pyc[..header_size(magic)],
                    "{} {name} {key}",
                    fx.version
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} pycs checked");
}

/// The canonical form (pyc-format's, which pyc compile writes) reads every version's data, is
/// a fixed point, and reads back as exactly the interpreter's pyc: every value, every string's
/// interned flag, every set's element order (what the loaded code exposes). A pyc compiled in
/// a process that compiled other things first ("dirty") has the same canonical form as the
/// fresh one exactly when the interpreter observed no difference between the two: the
/// canonical form removes refcount noise and nothing else.
#[test]
fn canonical_form_keeps_what_the_interpreter_observes() {
    let (mut raw_differences, mut observed_differences) = (0, 0);
    for fx in fixtures() {
        for (name, (_, pycs)) in &fx.files {
            let mut canon = BTreeMap::new();
            for (key, pyc) in pycs {
                let c = canonical_pyc(pyc)
                    .unwrap_or_else(|e| panic!("{} {name} {key}: {e}", fx.version));
                assert!(is_canonical_pyc(&c).unwrap(), "{} {name} {key}", fx.version);
                let (orig, back) = (read_pyc(pyc).unwrap(), read_pyc(&c).unwrap());
                assert!(
                    pyc_format::identical(&orig.body, &back.body),
                    "{} {name} {key}: canonical pyc reads differently",
                    fx.version
                );
                let h = header_size(magic_of(pyc));
                canon.insert(key.clone(), (pyc[h..].to_vec(), c[h..].to_vec()));
            }
            let (fresh_raw, fresh) = &canon["opt0.timestamp"];
            let (dirty_raw, dirty) = &canon["opt0.timestamp.dirty"];
            let observed = &fx.dirty_observed[name];
            assert_eq!(
                fresh == dirty,
                observed.is_empty(),
                "{} {name}: canonical forms equal: {}; the interpreter observed: {observed:?}",
                fx.version,
                fresh == dirty
            );
            raw_differences += usize::from(fresh_raw != dirty_raw);
            observed_differences += usize::from(!observed.is_empty());
            // Hash-based pycs carry the same code: same body.
            for mode in ["checked-hash", "unchecked-hash"] {
                if let Some((_, c)) = canon.get(&format!("opt0.{mode}")) {
                    assert_eq!(c, fresh, "{} {name} {mode}", fx.version);
                }
            }
        }
    }
    // The fixtures must show the problem the canonical form solves (3.6-3.11 do) ...
    assert!(
        raw_differences > 5,
        "only {raw_differences} dirty pycs differ in raw bytes"
    );
    // ... and a difference it must keep (3.13+: qualname constants interned or not).
    assert!(observed_differences > 0, "no observable difference to keep");
}

/// The freshness verdict: a pyc is fresh for the mode it was written in and stale for the
/// others, and stale once the source's size or mtime moves.
#[test]
fn freshness_verdicts_on_real_pycs() {
    let dir = tempfile::tempdir().unwrap();
    for fx in fixtures() {
        let info = version_info(fx.version).unwrap();
        for (name, (source, pycs)) in &fx.files {
            let stat = SourceStat::at(fx.mtime, source.len() as u64);
            for (key, pyc) in pycs {
                let magic = magic_of(pyc);
                let path = dir.path().join("x.pyc");
                std::fs::write(&path, pyc).unwrap();
                let target = target_for(info, magic).unwrap();
                let mut hash = || Ok(source.clone());
                let own = mode_of(key);
                assert_eq!(
                    classify(&path, &target, own, &stat, false, &mut hash),
                    Verdict::Fresh,
                    "{} {name} {key}",
                    fx.version
                );
                // The interpreter's own pyc also loads whole (--verify keeps it) ...
                assert_eq!(
                    classify(&path, &target, own, &stat, true, &mut hash),
                    Verdict::Fresh,
                    "{} {name} {key} --verify",
                    fx.version
                );
                // ... and one cut short behind its fresh header does not.
                std::fs::write(&path, &pyc[..pyc.len() - 1]).unwrap();
                assert_eq!(
                    classify(&path, &target, own, &stat, false, &mut hash),
                    Verdict::Fresh
                );
                assert_eq!(
                    classify(&path, &target, own, &stat, true, &mut hash),
                    Verdict::Stale,
                    "{} {name} {key}: truncated, --verify",
                    fx.version
                );
                std::fs::write(&path, pyc).unwrap();
                if info.source_hash.is_some() {
                    for other in [
                        InvalidationMode::Timestamp,
                        InvalidationMode::CheckedHash,
                        InvalidationMode::UncheckedHash,
                    ] {
                        if other != own {
                            assert_eq!(
                                classify(&path, &target, other, &stat, false, &mut hash),
                                Verdict::Stale,
                                "{} {name} {key} as {other:?}",
                                fx.version
                            );
                        }
                    }
                }
                if own == InvalidationMode::Timestamp {
                    let touched = SourceStat::at(fx.mtime + 1, source.len() as u64);
                    assert_eq!(
                        classify(&path, &target, own, &touched, false, &mut hash),
                        Verdict::Stale
                    );
                }
            }
        }
    }
}
