//! `pyc show` on the body: `--code` against each interpreter's own `dis.code_info`, the JSON
//! tree against the constants `marshal.loads` gave (tests/fixtures/marshal, made by
//! scripts/gen_marshal.py), and bad bodies.

use assert_cmd::Command;
use serde_json::Value;

fn fixture_dirs() -> Vec<(String, std::path::PathBuf)> {
    let root = pyc_testutil::fixtures("marshal");
    let mut out: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let v = p.file_name()?.to_str()?.strip_prefix("py")?.to_string();
            Some((v, p))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 11);
    out
}

fn pyc() -> Command {
    Command::cargo_bin("pyc").unwrap()
}

/// Code objects of the expected tree, pre-order.
fn codes(v: &Value, out: &mut Vec<Value>) {
    if v["t"] == "code" {
        out.push(v.clone());
        for c in v["consts"].as_array().unwrap() {
            codes(c, out);
        }
    }
}

/// Lines equal, or (frozenset lines, whose element order is the interpreter's hash order)
/// equal as multisets of characters.
fn same_line(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.contains("frozenset(") {
        let mut x: Vec<char> = a.chars().collect();
        let mut y: Vec<char> = b.chars().collect();
        x.sort();
        y.sort();
        return x == y;
    }
    false
}

#[test]
fn code_listing_equals_dis_code_info() {
    let mut compared = 0;
    for (version, dir) in fixture_dirs() {
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("era.json")).unwrap()).unwrap();
        let mut expected = Vec::new();
        codes(&exp["code"], &mut expected);
        let out = pyc()
            .args(["show", "--code"])
            .arg(dir.join("era.pyc"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{version}");
        let text = String::from_utf8(out.stdout).unwrap();
        // The summary, a blank line, then one code_info per code object, blank-separated.
        let mut blocks = text.split("\n\n").skip(1);
        for e in &expected {
            let ours = blocks
                .next()
                .unwrap_or_else(|| panic!("{version}: too few"));
            let Some(info) = e["code_info"].as_str() else {
                continue; // 2.7 has no dis.code_info; 3.10+ raises on the 5000-digit int
            };
            let ours: Vec<&str> = ours.trim_end().lines().collect();
            let theirs: Vec<&str> = info.lines().collect();
            assert_eq!(ours.len(), theirs.len(), "{version} {}", e["name"]);
            for (a, b) in ours.iter().zip(&theirs) {
                assert!(same_line(a, b), "{version} {}:\n{a}\n{b}", e["name"]);
            }
            compared += 1;
        }
        assert!(blocks.next().is_none(), "{version}: extra code objects");
    }
    assert!(compared > 150, "only {compared} compared");
}

fn check_const(ours: &Value, exp: &Value, version: &str, checked: &mut usize) {
    let t = exp["t"].as_str().unwrap();
    assert_eq!(
        ours["type"], t,
        "{version}: {} vs {}",
        ours["repr"], exp["repr"]
    );
    if t == "code" {
        let (a, b) = (
            ours["consts"].as_array().unwrap(),
            exp["consts"].as_array().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            check_const(x, y, version, checked);
        }
        return;
    }
    *checked += 1;
    if let (Some(r), false) = (exp["repr"].as_str(), t == "frozenset" || t == "set") {
        if !r.contains("frozenset(") {
            assert_eq!(ours["repr"], r, "{version}");
        }
    }
    match t {
        "int" | "long" => {
            // Past 4,300 digits the value is given in hex (linear time), else in decimal.
            let n: num_bigint::BigInt = match ours["hex"].as_str() {
                Some(h) => {
                    let (neg, h) = match h.strip_prefix('-') {
                        Some(h) => (true, h),
                        None => (false, h),
                    };
                    let m =
                        num_bigint::BigInt::parse_bytes(h.trim_start_matches("0x").as_bytes(), 16)
                            .unwrap();
                    if neg {
                        -m
                    } else {
                        m
                    }
                }
                None => {
                    let v = &ours["value"];
                    let s = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    s.parse().unwrap()
                }
            };
            let hex = exp["v"].as_str().unwrap();
            let (neg, h) = match hex.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, hex),
            };
            let mut e =
                num_bigint::BigInt::parse_bytes(h.trim_start_matches("0x").as_bytes(), 16).unwrap();
            if neg {
                e = -e;
            }
            assert_eq!(n, e, "{version}");
        }
        "str" | "unicode" if exp.get("u8").is_some() => {
            let u8hex = exp["u8"].as_str().unwrap();
            match ours["value"].as_str() {
                Some(s) => assert_eq!(pyc_format::hex(s.as_bytes()), u8hex),
                None => assert_eq!(ours["surrogatepass_hex"], u8hex),
            }
        }
        "bytes" | "str" => assert_eq!(ours["hex"], exp["hex"], "{version}"),
        _ => {}
    }
}

#[test]
fn json_tree_equals_marshal_loads() {
    let mut checked = 0;
    for (version, dir) in fixture_dirs() {
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("era.json")).unwrap()).unwrap();
        let out = pyc()
            .args(["show", "--code", "--format", "json"])
            .arg(dir.join("era.pyc"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{version}");
        let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ours["canonical"], version.starts_with('2'), "{version}");
        check_const(&ours["code"], &exp["code"], &version, &mut checked);
    }
    assert!(checked > 1000, "only {checked}");
}

#[test]
fn bad_bodies_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, fx) = fixture_dirs().into_iter().last().unwrap();
    let data = std::fs::read(fx.join("era.pyc")).unwrap();
    for (name, bytes) in [
        ("truncated.pyc", data[..data.len() / 2].to_vec()),
        ("garbage.pyc", [&data[..16], b"\x01\x02\x03"].concat()),
        ("empty-body.pyc", data[..16].to_vec()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = pyc().arg("show").arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name) && err.contains("byte "), "{name}: {err}");
    }
}

/// A small pyc whose shared references describe a tree of 2^60 constants and 2^40 code
/// objects: `pyc show` must finish with bounded output, as text and as JSON.
#[test]
fn shared_references_do_not_explode() {
    use std::sync::Arc;

    use pyc_format::{dumps, read_pyc, Object, WriteOptions};

    let (_, fx) = fixture_dirs()
        .into_iter()
        .find(|(v, _)| v == "3.12")
        .unwrap();
    let data = std::fs::read(fx.join("era.pyc")).unwrap();
    let read = read_pyc(&data).unwrap();
    let mut t = Arc::new(Object::Int(1));
    for _ in 0..60 {
        t = Arc::new(Object::Tuple(vec![t.clone(), t]));
    }
    let mut code = (*read.code).clone();
    code.consts = Arc::new(Object::Tuple(vec![t.clone()]));
    let mut c = Arc::new(Object::Code(Arc::new(code.clone())));
    for _ in 0..40 {
        let mut k = code.clone();
        k.consts = Arc::new(Object::Tuple(vec![c.clone(), c, t.clone()]));
        c = Arc::new(Object::Code(Arc::new(k)));
    }
    let opts = WriteOptions {
        marshal_version: 4,
        format: read.format,
    };
    let body = dumps(&c, opts).unwrap();
    assert!(body.len() < 100_000, "the file itself is small");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.pyc");
    std::fs::write(&p, [&data[..16], &body[..]].concat()).unwrap();
    for args in [
        &["show"][..],
        &["show", "--code"],
        &["show", "--code", "--format", "json"],
    ] {
        let out = pyc().args(args).arg(&p).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            out.stdout.len() < 200 << 20,
            "{args:?}: {} bytes",
            out.stdout.len()
        );
    }
}
