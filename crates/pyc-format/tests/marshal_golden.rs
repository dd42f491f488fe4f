//! Golden tests: pycs and marshal data made by every real interpreter (2.7, 3.6–3.15), read by
//! pyc and compared field by field, value by value, repr by repr with what that interpreter's
//! own `marshal.loads` gave (`tests/fixtures/marshal/`, made by `scripts/gen_marshal.py`).

use std::sync::Arc;

use num_bigint::BigInt;
use num_traits::Num;
use pyc_format::code::pretty_flags;
use pyc_format::{loads, read_pyc, CodeFormat, ObjRef, Object, PyVersion, Repr, ReprError};
use serde_json::Value;

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// `hex(int)` output ("-0x1f") to a BigInt.
fn hex_int(s: &str) -> BigInt {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s),
    };
    let v = BigInt::from_str_radix(t.trim_start_matches("0x"), 16).unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// `float.hex()` output to f64 ("0x1.8000000000000p+0", "-inf", "nan").
fn hex_float(s: &str) -> f64 {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s),
    };
    let v = match t {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let t = t.trim_start_matches("0x");
            let (mant, exp) = t.split_once('p').unwrap();
            let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
            let m = u64::from_str_radix(&format!("{int}{frac}"), 16).unwrap();
            let e: i32 = exp.parse::<i32>().unwrap() - 4 * frac.len() as i32;
            // m < 2^53 and the result is representable: exact in two steps.
            let half = e / 2;
            (m as f64) * 2f64.powi(half) * 2f64.powi(e - half)
        }
    };
    if neg {
        -v
    } else {
        v
    }
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

struct Ctx {
    version: PyVersion,
    errs: Vec<String>,
}

impl Ctx {
    fn py2(&self) -> bool {
        self.version.major < 3
    }

    fn err(&mut self, path: &str, msg: String) {
        self.errs.push(format!("{} {path}: {msg}", self.version));
    }

    fn matches(&self, ours: &ObjRef, exp: &Value) -> bool {
        let mut c = Ctx {
            version: self.version,
            errs: Vec::new(),
        };
        c.check(ours, exp, "", false);
        c.errs.is_empty()
    }

    /// Our items matched to the expected (iteration-order) items; None if they differ.
    fn match_unordered<'a>(&self, ours: &'a [ObjRef], exp: &[Value]) -> Option<Vec<&'a ObjRef>> {
        if ours.len() != exp.len() {
            return None;
        }
        let mut used = vec![false; ours.len()];
        let mut out = Vec::new();
        for e in exp {
            let i = (0..ours.len()).find(|&i| !used[i] && self.matches(&ours[i], e))?;
            used[i] = true;
            out.push(&ours[i]);
        }
        Some(out)
    }

    /// A copy of `ours` with sets, frozensets and dicts in the interpreter's iteration order,
    /// so that repr can be compared (our order is the file's; CPython's is its hash table's).
    fn reorder(&self, ours: &ObjRef, exp: &Value) -> ObjRef {
        let items = exp["items"].as_array();
        match (&**ours, items) {
            (Object::Set(xs) | Object::FrozenSet(xs), Some(es)) => {
                let Some(m) = self.match_unordered(xs, es) else {
                    return ours.clone();
                };
                let v = m.iter().zip(es).map(|(o, e)| self.reorder(o, e)).collect();
                Arc::new(if matches!(**ours, Object::Set(_)) {
                    Object::Set(v)
                } else {
                    Object::FrozenSet(v)
                })
            }
            (Object::Tuple(xs), Some(es)) if xs.len() == es.len() => Arc::new(Object::Tuple(
                xs.iter().zip(es).map(|(o, e)| self.reorder(o, e)).collect(),
            )),
            (Object::Dict(kv) | Object::FrozenDict(kv), Some(es)) if kv.len() == es.len() => {
                let keys: Vec<ObjRef> = kv.iter().map(|(k, _)| k.clone()).collect();
                let ekeys: Vec<Value> = es.iter().map(|p| p[0].clone()).collect();
                let Some(m) = self.match_unordered(&keys, &ekeys) else {
                    return ours.clone();
                };
                let v = m
                    .iter()
                    .zip(es)
                    .map(|(k, p)| {
                        let val = &kv.iter().find(|(kk, _)| Arc::ptr_eq(kk, k)).unwrap().1;
                        (self.reorder(k, &p[0]), self.reorder(val, &p[1]))
                    })
                    .collect();
                Arc::new(if matches!(**ours, Object::Dict(_)) {
                    Object::Dict(v)
                } else {
                    Object::FrozenDict(v)
                })
            }
            _ => ours.clone(),
        }
    }

    fn check(&mut self, ours: &ObjRef, exp: &Value, path: &str, with_repr: bool) {
        let t = exp["t"].as_str().unwrap_or("?");
        let our_t = match &**ours {
            Object::StopIteration => "StopIteration",
            o => o.type_name(self.py2()),
        };
        if t != our_t {
            self.err(path, format!("type {our_t}, expected {t}"));
            return;
        }
        match &**ours {
            Object::Int(i) if BigInt::from(*i) != hex_int(exp["v"].as_str().unwrap()) => {
                self.err(path, format!("int {i}, expected {}", exp["v"]));
            }
            Object::Long(b) if *b != hex_int(exp["v"].as_str().unwrap()) => {
                self.err(path, format!("long {b}, expected {}", exp["v"]));
            }
            Object::Float(f) => {
                let e = hex_float(exp["v"].as_str().unwrap());
                if !same_float(*f, e) {
                    self.err(path, format!("float {f:?}, expected {e:?}"));
                }
            }
            Object::Complex(re, im) => {
                let (er, ei) = (
                    hex_float(exp["re"].as_str().unwrap()),
                    hex_float(exp["im"].as_str().unwrap()),
                );
                if !same_float(*re, er) || !same_float(*im, ei) {
                    self.err(
                        path,
                        format!("complex {re:?} {im:?}, expected {er:?} {ei:?}"),
                    );
                }
            }
            Object::Bytes(b) if *b.data != *hex_bytes(exp["hex"].as_str().unwrap()) => {
                self.err(path, format!("bytes {:?}, expected {}", b.data, exp["hex"]));
            }
            Object::Str(s) if s.utf8_bytes() != hex_bytes(exp["u8"].as_str().unwrap()) => {
                self.err(path, format!("str {s:?}, expected {}", exp["u8"]));
            }
            Object::Tuple(xs) | Object::List(xs) => {
                let es = exp["items"].as_array().unwrap();
                if xs.len() != es.len() {
                    self.err(path, format!("{} items, expected {}", xs.len(), es.len()));
                } else {
                    for (i, (o, e)) in xs.iter().zip(es).enumerate() {
                        self.check(o, e, &format!("{path}[{i}]"), with_repr);
                    }
                }
            }
            Object::Slice(parts) => {
                let es = exp["items"].as_array().unwrap();
                for (i, (o, e)) in parts.iter().zip(es).enumerate() {
                    self.check(o, e, &format!("{path}.slice{i}"), with_repr);
                }
            }
            Object::Set(xs) | Object::FrozenSet(xs) => {
                let es = exp["items"].as_array().unwrap();
                if self.match_unordered(xs, es).is_none() {
                    self.err(path, format!("set {ours:?} differs from {es:?}"));
                }
            }
            Object::Dict(kv) | Object::FrozenDict(kv) => {
                let es = exp["items"].as_array().unwrap();
                let ok = kv.len() == es.len()
                    && es.iter().all(|p| {
                        kv.iter()
                            .any(|(k, v)| self.matches(k, &p[0]) && self.matches(v, &p[1]))
                    });
                if !ok {
                    self.err(path, format!("dict {ours:?} differs from {es:?}"));
                }
            }
            Object::Code(_) => self.check_code(ours, exp, path, with_repr),
            _ => {}
        }
        if !with_repr {
            return;
        }
        let r = Repr::new(self.version);
        let shown = r.repr(&self.reorder(ours, exp));
        match (shown, exp.get("repr"), exp.get("repr_error")) {
            (Ok(s), Some(e), _) if s == e.as_str().unwrap() => {}
            (Err(ReprError::IntTooLarge { .. } | ReprError::IntFarTooLarge), None, Some(e))
                if e.as_str().unwrap().contains("Exceeds the limit") => {}
            (got, e, ee) => self.err(path, format!("repr {got:?}, expected {e:?} {ee:?}")),
        }
    }

    fn check_code(&mut self, ours: &ObjRef, exp: &Value, path: &str, with_repr: bool) {
        let Object::Code(c) = &**ours else { return };
        let path = format!("{path}<{}>", c.name());
        let ints = [
            ("argcount", c.argcount),
            ("posonlyargcount", c.posonlyargcount),
            ("kwonlyargcount", c.kwonlyargcount),
            ("nlocals", c.nlocals),
            ("stacksize", c.stacksize),
            ("firstlineno", c.firstlineno),
        ];
        for (name, v) in ints {
            if exp[name].as_i64() != Some(i64::from(v)) {
                self.err(&path, format!("{name} {v}, expected {}", exp[name]));
            }
        }
        if exp["flags"].as_u64() != Some(u64::from(c.flags)) {
            self.err(
                &path,
                format!("flags {:#x}, expected {}", c.flags, exp["flags"]),
            );
        }
        if let Some(pf) = exp["pretty_flags"].as_str() {
            let ours = pretty_flags(c.flags, self.version);
            if ours != pf {
                self.err(&path, format!("pretty_flags {ours:?}, expected {pf:?}"));
            }
        }
        let hexes = [
            ("code", c.co_code().to_vec()),
            ("linetable", c.linetable_bytes().to_vec()),
            ("exceptiontable", c.exceptiontable_bytes().to_vec()),
        ];
        for (name, v) in hexes {
            let e = exp[name].as_str().map(hex_bytes).unwrap_or_default();
            if v != e {
                self.err(&path, format!("{name} differs: {v:02x?} vs {e:02x?}"));
            }
        }
        let texts = |v: Vec<ObjRef>| -> Vec<String> {
            v.iter()
                .map(|o| o.as_text().unwrap_or_default().into_owned())
                .collect()
        };
        let lists = [
            ("names", texts(c.names().to_vec())),
            ("varnames", texts(c.varnames())),
            ("freevars", texts(c.freevars())),
            ("cellvars", texts(c.cellvars())),
        ];
        for (name, v) in lists {
            let e: Vec<String> = exp[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            if v != e {
                self.err(&path, format!("{name} {v:?}, expected {e:?}"));
            }
        }
        if exp["filename"].as_str() != Some(&c.filename()) {
            self.err(&path, format!("filename {}", c.filename()));
        }
        if exp["name"].as_str() != Some(&c.name()) {
            self.err(&path, format!("name {}", c.name()));
        }
        match (exp["qualname"].as_str(), &c.qualname) {
            (Some(q), Some(_)) if q == c.qualname() => {}
            (None, None) => {}
            (q, _) => self.err(&path, format!("qualname {}, expected {q:?}", c.qualname())),
        }
        let es = exp["consts"].as_array().unwrap();
        if c.consts().len() != es.len() {
            self.err(
                &path,
                format!("{} consts, expected {}", c.consts().len(), es.len()),
            );
            return;
        }
        for (i, (o, e)) in c.consts().iter().zip(es).enumerate() {
            self.check(o, e, &format!("{path}.consts[{i}]"), with_repr);
        }
    }
}

fn version_dirs() -> Vec<(PyVersion, std::path::PathBuf)> {
    let root = pyc_testutil::fixtures("marshal");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).expect("tests/fixtures/marshal") {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(v) = name.strip_prefix("py") {
            out.push((v.parse().unwrap(), p));
        }
    }
    out.sort();
    assert!(out.len() >= 11, "fixtures for 2.7 and 3.6-3.15 expected");
    out
}

#[test]
fn era_pycs_equal_marshal_loads() {
    let mut errs = Vec::new();
    let mut consts = 0;
    for (version, dir) in version_dirs() {
        let data = std::fs::read(dir.join("era.pyc")).unwrap();
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("era.json")).unwrap()).unwrap();
        let pyc = read_pyc(&data).unwrap_or_else(|e| panic!("{version}: {e}"));
        let mut ctx = Ctx {
            version,
            errs: Vec::new(),
        };
        ctx.check(&pyc.body, &exp["code"], "", true);
        // Every flag name the version has is in our table.
        if let Some(names) = exp["compiler_flag_names"].as_array() {
            for pair in names {
                let bit = pair[0].as_u64().unwrap() as u32;
                let got = pretty_flags(bit, version);
                if got != pair[1].as_str().unwrap() {
                    ctx.err(
                        "flags",
                        format!("{bit:#x} named {got}, expected {}", pair[1]),
                    );
                }
            }
        }
        consts += count_consts(&pyc.body);
        errs.extend(ctx.errs);
    }
    assert!(consts > 1000, "only {consts} constants checked");
    assert!(
        errs.is_empty(),
        "{} mismatches:\n{}",
        errs.len(),
        errs[..errs.len().min(40)].join("\n")
    );
}

fn count_consts(o: &ObjRef) -> usize {
    match &**o {
        Object::Code(c) => c.consts().iter().map(|x| 1 + count_consts(x)).sum(),
        _ => 0,
    }
}

#[test]
fn marshal_values_equal_marshal_loads() {
    let mut errs = Vec::new();
    let mut checked = 0;
    for (version, dir) in version_dirs() {
        let exp: Value =
            serde_json::from_slice(&std::fs::read(dir.join("values.json")).unwrap()).unwrap();
        let info = pyc_format::version_info(version).unwrap();
        let format = CodeFormat::for_magic(info.magic, version).unwrap();
        let mut ctx = Ctx {
            version,
            errs: Vec::new(),
        };
        for (i, entry) in exp["values"].as_array().unwrap().iter().enumerate() {
            let Some(data) = entry["data"].as_str() else {
                continue;
            };
            let data = hex_bytes(data);
            let path = format!("value {i} (marshal {})", entry["version"]);
            match (loads(&data, format), entry.get("loads")) {
                (Ok(o), Some(e)) => {
                    checked += 1;
                    ctx.check(&o, e, &path, true)
                }
                (Err(_), None) => {}
                (r, _) => ctx.err(&path, format!("got {r:?}, expected {entry}")),
            }
        }
        errs.extend(ctx.errs);
    }
    assert!(checked > 500, "only {checked} values checked");
    assert!(
        errs.is_empty(),
        "{} mismatches:\n{}",
        errs.len(),
        errs[..errs.len().min(40)].join("\n")
    );
}

fn with_magic(data: &[u8], magic: u16) -> Vec<u8> {
    let mut d = data.to_vec();
    d[..2].copy_from_slice(&magic.to_le_bytes());
    d
}

/// Layouts that belong to a magic, not to a version: 3.8's first alphas (3400, 3401) wrote
/// code objects without posonlyargcount, as 3.7 did; the 3.11 alphas before 3494 are refused.
#[test]
fn code_layout_follows_the_magic() {
    let dir = pyc_testutil::fixtures("marshal");
    let py37 = std::fs::read(dir.join("py3.7/era.pyc")).unwrap();
    let original = read_pyc(&py37).unwrap();
    // 3.7 and 3.8 both have 16-byte headers, so only the magic changes.
    for magic in [3400u16, 3401] {
        let as38a = read_pyc(&with_magic(&py37, magic)).unwrap();
        assert_eq!(as38a.format, CodeFormat::Py30);
        assert_eq!(as38a.code.version, Some(PyVersion::new(3, 8)));
        // The same values (Code::version aside, which says where each was read from).
        let opts = pyc_format::WriteOptions {
            marshal_version: 4,
            format: CodeFormat::Py30,
        };
        let same = pyc_format::dumps(&as38a.body, opts) == pyc_format::dumps(&original.body, opts);
        assert!(same, "magic {magic}");
    }
    // Read with 3.8's final layout, the same bytes are not a valid code object.
    assert!(read_pyc(&with_magic(&py37, 3413)).is_err());
    let py311 = std::fs::read(dir.join("py3.11/era.pyc")).unwrap();
    let err = read_pyc(&with_magic(&py311, 3470)).unwrap_err().to_string();
    assert!(err.contains("3470") && err.contains("byte 16"), "{err}");
}

/// Errors name the byte offset in the file (header included) and what was expected.
#[test]
fn errors_carry_file_offsets() {
    let dir = pyc_testutil::fixtures("marshal");
    for (v, header) in [("2.7", 8), ("3.6", 12), ("3.12", 16)] {
        let data = std::fs::read(dir.join(format!("py{v}/era.pyc"))).unwrap();
        for cut in [
            header,
            header + 1,
            header + 5,
            data.len() / 2,
            data.len() - 1,
        ] {
            let err = read_pyc(&data[..cut]).unwrap_err();
            let pyc_format::PycError::Marshal(m) = &err else {
                panic!("{v} cut at {cut}: {err}")
            };
            assert!(m.offset <= cut && m.offset >= header, "{v} {cut}: {err}");
            assert!(err.to_string().contains("too short"), "{v} {cut}: {err}");
        }
        let mut bad = data.clone();
        bad[header] = b'?';
        let err = read_pyc(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("byte {header}: bad marshal data (unknown type code 0x3f '?')")
        );
    }
}
