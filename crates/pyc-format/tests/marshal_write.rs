//! The canonical writer: against the interpreters' own bytes where CPython's output carries
//! no refcount noise, round trips over every fixture pyc, proptest round trips, and (live)
//! the real interpreters loading canonical pycs as equal to the originals.

use std::path::Path;
use std::sync::Arc;

use num_bigint::BigInt;
use proptest::prelude::*;
use pyc_format::{
    canonical_pyc, dumps, is_canonical_pyc, loads, read_pyc, CodeFormat, ObjRef, Object, PyBytes,
    PyStr, PyVersion, WriteError, WriteOptions,
};
use serde_json::Value;

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn fixture_dirs() -> Vec<(PyVersion, std::path::PathBuf)> {
    let root = pyc_testutil::fixtures("marshal");
    let mut out: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let v = p.file_name()?.to_str()?.strip_prefix("py")?.parse().ok()?;
            Some((v, p))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 11);
    out
}

#[test]
fn canonical_pycs_read_back_equal() {
    for (version, dir) in fixture_dirs() {
        let data = std::fs::read(dir.join("era.pyc")).unwrap();
        let canon = canonical_pyc(&data).unwrap();
        let a = read_pyc(&data).unwrap();
        let b = read_pyc(&canon).unwrap();
        // Exactly equal: interned flags and set element order included.
        assert!(
            pyc_format::identical(&a.body, &b.body),
            "{version}: canonical pyc reads differently"
        );
        assert!(
            is_canonical_pyc(&canon).unwrap(),
            "{version}: not idempotent"
        );
        assert!(canon.len() <= data.len(), "{version}: canonical form grew");
        if version.major == 2 {
            // 2.x marshal has no refcount-dependent refs: CPython's bytes are canonical.
            assert_eq!(canon, data, "{version}: 2.x pyc rewritten differently");
        } else {
            // 3.x pycs from py_compile carry unused FLAG_REFs.
            assert!(
                !is_canonical_pyc(&data).unwrap(),
                "{version}: expected noise"
            );
        }
    }
}

/// Where CPython writes no refs (Python 2, marshal < 3), its bytes are the canonical form:
/// our writer must give exactly the same bytes.
#[test]
fn writer_equals_cpython_without_refs() {
    let mut checked = 0;
    for (version, dir) in fixture_dirs() {
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("values.json")).unwrap()).unwrap();
        let info = pyc_format::version_info(version).unwrap();
        let format = CodeFormat::for_magic(info.magic, version).unwrap();
        for entry in exp["values"].as_array().unwrap() {
            let (Some(data), Some(mv)) = (entry["data"].as_str(), entry["version"].as_u64()) else {
                continue;
            };
            if version.major == 3 && mv >= 3 {
                continue;
            }
            let data = hex_bytes(data);
            let Ok(obj) = loads(&data, format) else {
                continue;
            };
            let opts = WriteOptions {
                marshal_version: mv as u8,
                format,
            };
            let ours = dumps(&obj, opts).unwrap();
            assert_eq!(ours, data, "{version} marshal {mv}: {obj:?}");
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked}");
}

// ---- proptest round trips ------------------------------------------------------------------

fn leaf(py2: bool, text_floats: bool) -> impl Strategy<Value = Object> {
    let float = if text_floats {
        // Text floats (%.17g) keep every finite value; NaN loses its payload.
        any::<f64>()
            .prop_map(|f| if f.is_nan() { f64::NAN } else { f })
            .boxed()
    } else {
        any::<f64>().boxed()
    };
    prop_oneof![
        Just(Object::None),
        Just(Object::True),
        Just(Object::False),
        Just(Object::Ellipsis),
        Just(Object::StopIteration),
        any::<i32>().prop_map(|i| Object::Int(i64::from(i))),
        any::<i64>().prop_map(move |i| if py2 || i32::try_from(i).is_ok() {
            Object::Int(i)
        } else {
            Object::Long(BigInt::from(i))
        }),
        proptest::collection::vec(any::<u32>(), 0..6).prop_map(move |d| {
            let b = BigInt::from_slice(num_bigint::Sign::Minus, &d);
            match i32::try_from(&b) {
                // Python 3 has one int type: small values are written as `i`.
                Ok(i) if !py2 => Object::Int(i64::from(i)),
                _ => Object::Long(b),
            }
        }),
        float.clone().prop_map(Object::Float),
        (float.clone(), float).prop_map(|(a, b)| Object::Complex(a, b)),
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>()
        )
            .prop_map(move |(d, i)| Object::Bytes(PyBytes {
                data: d.into(),
                interned: py2 && i,
            })),
        (
            proptest::collection::vec(
                prop_oneof![0u32..128, 0u32..0x800, 0xd800u32..0xe000, 0u32..0x110000],
                0..300
            ),
            any::<bool>()
        )
            // Python 2 unicode is never interned.
            .prop_map(move |(cps, i)| Object::Str(
                PyStr::from_code_points(&cps, i && !py2).unwrap()
            )),
    ]
}

fn tree(py2: bool, text_floats: bool) -> impl Strategy<Value = ObjRef> {
    leaf(py2, text_floats)
        .prop_map(Arc::new)
        .prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8)
                    .prop_map(|v| Arc::new(Object::Tuple(v))),
                proptest::collection::vec(inner.clone(), 0..8)
                    .prop_map(|v| Arc::new(Object::List(v))),
                proptest::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| Arc::new(Object::FrozenSet(v))),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(|v| Arc::new(Object::Dict(v))),
                // Sharing: the same object twice.
                inner.prop_map(|x| Arc::new(Object::Tuple(vec![x.clone(), x]))),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn round_trip_py3(o in tree(false, false), v in 3u8..=6) {
        let opts = WriteOptions { marshal_version: v, format: CodeFormat::Py311 };
        let bytes = dumps(&o, opts).unwrap();
        let back = loads(&bytes, opts.format).unwrap();
        // What was written is what was read: values, interning and set element order (the
        // loaded code must be the interpreter's, observably), and the bytes are a fixed point.
        prop_assert!(pyc_format::identical(&back, &o));
        prop_assert_eq!(dumps(&back, opts).unwrap(), bytes);
    }

    #[test]
    fn round_trip_old_versions(o in tree(true, true), v in 0u8..=2, py2 in any::<bool>()) {
        let format = if py2 { CodeFormat::Py23 } else { CodeFormat::Py30 };
        let opts = WriteOptions { marshal_version: v, format };
        // Without references a shared container cannot be written (the copy could be
        // exponentially large): the writer refuses instead.
        let bytes = match dumps(&o, opts) {
            Err(WriteError::SharingNeedsRefs) => return Ok(()),
            r => r.unwrap(),
        };
        let back = loads(&bytes, format).unwrap();
        prop_assert_eq!(dumps(&back, opts).unwrap(), bytes);
        if py2 && v >= 2 {
            prop_assert_eq!(&back, &o);
        }
    }

    #[test]
    fn reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = loads(&data, CodeFormat::Py311);
        let _ = loads(&data, CodeFormat::Py23);
    }
}

// ---- live: the interpreters load canonical pycs as the originals, observably ---------------

fn observe(py: &pyc_testutil::LivePython, a: &Path, b: &Path) -> Result<(), String> {
    pyc_testutil::observe(py, &[a.to_path_buf(), b.to_path_buf()])
}

#[test]
fn live_interpreters_load_canonical_pycs_as_the_originals() {
    let pythons = pyc_testutil::live_pythons();
    let dirs = fixture_dirs();
    let tmp = tempfile::tempdir().unwrap();
    let mut used = Vec::new();
    for py in &pythons {
        let Some((_, dir)) = dirs.iter().find(|(v, _)| v.to_string() == py.version) else {
            continue;
        };
        let orig = dir.join("era.pyc");
        let data = std::fs::read(&orig).unwrap();
        let canon = tmp.path().join(format!("canon-{}.pyc", py.version));
        std::fs::write(&canon, canonical_pyc(&data).unwrap()).unwrap();
        if let Err(diff) = observe(py, &orig, &canon) {
            panic!(
                "{}: canonical pyc loads different code:\n{diff}",
                py.version
            );
        }
        used.push(py.clone());
    }
    pyc_testutil::report_used("canonical pycs load as the originals", &used);
}

/// The point of the canonical form: a pyc written by a fresh interpreter process and one
/// written by a warm process (other modules compiled and imported first) may differ in bytes
/// (refcount-dependent FLAG_REFs before 3.12); the canonical forms are equal exactly when the
/// loaded code is observably the same. The interpreter's own answer can depend on history (a
/// 3.13 process that imported argparse writes some qualname constants non-interned): the
/// canonical form keeps such a difference rather than hiding it.
const FRESH_VS_WARM: &str = r#"
import glob, os, py_compile, sys
stdlib = os.path.dirname(os.__file__)
targets = ["argparse.py", "json/decoder.py", "ast.py", "inspect.py"]
out = sys.argv[2]
if sys.argv[1] == "warm":
    for f in sorted(glob.glob(os.path.join(stdlib, "*.py")))[:40]:
        try:
            py_compile.compile(f, cfile=os.path.join(out, "junk.pyc"), doraise=True)
        except Exception:
            pass
    import argparse, json, inspect
for t in targets:
    py_compile.compile(os.path.join(stdlib, t), cfile=os.path.join(out, t.replace("/", "_") + "c"),
                       doraise=True)
"#;

#[test]
fn live_canonical_forms_are_equal_exactly_when_the_loaded_code_is() {
    let pythons = pyc_testutil::live_pythons();
    let mut used = Vec::new();
    let (mut raw_differences, mut observed_differences) = (0, 0);
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        for mode in ["fresh", "warm"] {
            let dir = tmp.path().join(mode);
            std::fs::create_dir(&dir).unwrap();
            let out = std::process::Command::new(&py.path)
                .arg("-c")
                .arg(FRESH_VS_WARM)
                .arg(mode)
                .arg(&dir)
                // One seed for both: text sets before 3.11 follow the seed (pyc compile uses 0).
                .env("PYTHONHASHSEED", "0")
                .env_remove("PYTHONDONTWRITEBYTECODE")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                py.version,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for name in ["argparse.pyc", "json_decoder.pyc", "ast.pyc", "inspect.pyc"] {
            let path = |mode: &str| tmp.path().join(mode).join(name);
            let (a, b) = (
                std::fs::read(path("fresh")).unwrap(),
                std::fs::read(path("warm")).unwrap(),
            );
            raw_differences += usize::from(a != b);
            let (ca, cb) = (canonical_pyc(&a).unwrap(), canonical_pyc(&b).unwrap());
            let (pa, pb) = (tmp.path().join("ca.pyc"), tmp.path().join("cb.pyc"));
            std::fs::write(&pa, &ca).unwrap();
            std::fs::write(&pb, &cb).unwrap();
            // The canonical form loads as the original did ...
            for (orig, canon) in [(path("fresh"), &pa), (path("warm"), &pb)] {
                if let Err(diff) = observe(py, &orig, canon) {
                    panic!(
                        "{} {name}: canonical pyc loads different code:\n{diff}",
                        py.version
                    );
                }
            }
            // ... and removes nothing but what cannot be observed.
            let same = observe(py, &path("fresh"), &path("warm")).is_ok();
            observed_differences += usize::from(!same);
            assert_eq!(
                ca == cb,
                same,
                "{} {name}: canonical forms equal: {}, loaded code observably the same: {same}",
                py.version,
                ca == cb
            );
        }
        used.push(py.clone());
    }
    if used
        .iter()
        .any(|p| p.version.as_str() < "3.12" && p.version.starts_with('3'))
    {
        // 3.6-3.11 write refcount-dependent bytes: the test has teeth.
        assert!(raw_differences > 0, "expected raw differences");
    }
    eprintln!(
        "fresh vs warm: {raw_differences} differ in bytes, {observed_differences} observably"
    );
    pyc_testutil::report_used("fresh vs warm compiles, canonical", &used);
}

#[test]
fn equal_tuples_of_separate_singletons_are_one_object() {
    // Found by round_trip_py3: two `(None, None)` tuples built from separate `None` objects
    // were kept apart, while after a round trip (the reader shares `None`) they merged, so
    // the canonical form was not a fixed point.
    let n = || Arc::new(Object::None);
    let t = || Arc::new(Object::Tuple(vec![n(), n()]));
    let o = Arc::new(Object::Dict(vec![(t(), n()), (n(), t())]));
    let opts = WriteOptions {
        marshal_version: 3,
        format: CodeFormat::Py311,
    };
    let bytes = dumps(&o, opts).unwrap();
    // CPython 3.12: t = (None, None); marshal.dumps({t: None, None: t}, 3)
    assert_eq!(bytes, b"{\xa8\x02\0\0\0NNNNr\0\0\0\x000");
    let back = loads(&bytes, opts.format).unwrap();
    assert_eq!(dumps(&back, opts).unwrap(), bytes);
}
