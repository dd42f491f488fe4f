//! Why two pycs differ: which header fields, and whether the bodies hold different code or
//! the same code written differently.
//!
//! Two compilations of one source often give pycs that differ in bytes only: CPython's marshal
//! flags an object for back-references by its reference count in the compiling process, so a
//! long-lived `compileall` worker and a fresh `py_compile` write the same code objects with
//! `FLAG_REF` on different objects (python/cpython#78274). [`compare_pycs`] tells that apart
//! from a real difference by the canonical form ([`crate::canonical_pyc`]), and names the
//! first field that differs when the code itself does.

use std::collections::HashMap;
use std::sync::Arc;

use crate::code::{Code, CodeField, FieldValue};
use crate::header::{Header, HeaderError, Invalidation};
use crate::magic::MagicKind;
use crate::object::{ObjRef, Object};
use crate::{canonical_pyc, read_pyc, utc_datetime, Repr};

/// One header field that differs: its name and both values, as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldDiff {
    pub field: &'static str,
    pub a: String,
    pub b: String,
}

/// How the bodies (the marshal data after the header) compare.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum BodyDiff {
    /// The same bytes.
    Identical,
    /// Different bytes, the same canonical form: only which objects carry `FLAG_REF` and how
    /// back-references are numbered differ (the compiling process's reference counts), or
    /// bytes after the marshalled object that CPython ignores.
    References,
    /// The same code objects and values, written with other marshal type codes (for example
    /// a string stored as interned in one and not in the other).
    Encoding,
    /// The code differs; the first difference, depth first in file order.
    Code {
        /// The code object: qualified name (or the chain of names before 3.11) and first line.
        code: String,
        /// `co_consts[2]`, `co_code`...
        field: String,
        a: String,
        b: String,
    },
    /// The canonical forms differ, but the first difference was not found within the
    /// comparison's limits (a pyc whose objects are shared over and over, or nested very
    /// deep).
    NotLocated,
    /// The pycs are for different Python versions: the bodies are not compared field by field.
    Versions,
    /// A body that does not load (`a` or `b`), with the reason.
    Unreadable { side: char, error: String },
}

/// The comparison of two pycs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PycDiff {
    /// Header fields that differ (empty: the same header).
    pub header: Vec<FieldDiff>,
    pub body: BodyDiff,
}

impl PycDiff {
    /// The same bytes.
    pub fn identical(&self) -> bool {
        self.header.is_empty() && self.body == BodyDiff::Identical
    }
}

/// Compare two whole pycs. An error when a header cannot be read (`'a'` or `'b'`).
pub fn compare_pycs(a: &[u8], b: &[u8]) -> Result<PycDiff, (char, HeaderError)> {
    let ha = Header::parse(a).map_err(|e| ('a', e))?;
    let hb = Header::parse(b).map_err(|e| ('b', e))?;
    let header = header_diffs(&ha, &hb);
    let (body_a, body_b) = (&a[ha.size.min(a.len())..], &b[hb.size.min(b.len())..]);
    let body = if body_a == body_b {
        BodyDiff::Identical
    } else {
        compare_bodies(a, b)
    };
    Ok(PycDiff { header, body })
}

fn header_diffs(a: &Header, b: &Header) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut push = |field, x: String, y: String| {
        if x != y {
            out.push(FieldDiff { field, a: x, b: y });
        }
    };
    let magic = |h: &Header| match h.magic {
        MagicKind::Known(e) => format!("{} (CPython {})", e.magic, e.version),
        other => format!("{} (unknown)", other.magic()),
    };
    push("magic", magic(a), magic(b));
    let mode = |h: &Header| match h.invalidation {
        Invalidation::Timestamp { .. } => "timestamp",
        Invalidation::CheckedHash { .. } => "checked-hash",
        Invalidation::UncheckedHash { .. } => "unchecked-hash",
    };
    push("invalidation", mode(a).into(), mode(b).into());
    push(
        "unknown flags",
        format!("{:#x}", a.unknown_flags),
        format!("{:#x}", b.unknown_flags),
    );
    match (&a.invalidation, &b.invalidation) {
        (
            Invalidation::Timestamp {
                mtime: ma,
                source_size: sa,
            },
            Invalidation::Timestamp {
                mtime: mb,
                source_size: sb,
            },
        ) => {
            let t = |m: u32| format!("{m} ({})", utc_datetime(i64::from(m)));
            push("mtime", t(*ma), t(*mb));
            let size = |s: &Option<u32>| s.map_or("-".into(), |s| s.to_string());
            push("source size", size(sa), size(sb));
        }
        (
            Invalidation::CheckedHash { hash: x } | Invalidation::UncheckedHash { hash: x },
            Invalidation::CheckedHash { hash: y } | Invalidation::UncheckedHash { hash: y },
        ) => push("source hash", crate::hex(x), crate::hex(y)),
        _ => {}
    }
    out
}

fn compare_bodies(a: &[u8], b: &[u8]) -> BodyDiff {
    let pa = match read_pyc(a) {
        Ok(p) => p,
        Err(e) => return unreadable('a', e),
    };
    let pb = match read_pyc(b) {
        Ok(p) => p,
        Err(e) => return unreadable('b', e),
    };
    if pa.header.magic.version() != pb.header.magic.version() || pa.format != pb.format {
        return BodyDiff::Versions;
    }
    let canonical = |data: &[u8], size: usize| {
        canonical_pyc(data)
            .ok()
            .map(|c| c.get(size..).unwrap_or_default().to_vec())
    };
    let (ca, cb) = (canonical(a, pa.header.size), canonical(b, pb.header.size));
    if ca.is_some() && ca == cb {
        return BodyDiff::References;
    }
    let version = pa
        .header
        .magic
        .version()
        .unwrap_or(crate::PyVersion::new(3, 0));
    let mut walk = Walk {
        version,
        names: Vec::new(),
        equal: HashMap::new(),
    };
    match walk.first_diff(&pa.code, &pb.code, 0) {
        Ok(Some(d)) => d,
        Ok(None) => BodyDiff::Encoding,
        Err(TooMany) => BodyDiff::NotLocated,
    }
}

fn unreadable(side: char, e: crate::PycError) -> BodyDiff {
    BodyDiff::Unreadable {
        side,
        error: e.to_string(),
    }
}

/// Nesting followed before giving up (marshal itself allows 2,000 levels).
const MAX_NESTING: usize = 200;

/// Pairs of objects compared before giving up: a hostile pyc can share objects through
/// back-references so that walking it as a tree would never end; pairs are remembered, so
/// each pair is compared once, and there are at most this many.
const MAX_PAIRS: usize = 1 << 21;

/// The comparison gave up ([`MAX_PAIRS`], [`MAX_NESTING`]).
struct TooMany;

/// The walk over two code trees: the chain of code object names so far, and the verdicts on
/// the pairs of objects compared (by address: both trees are alive for the whole walk).
struct Walk {
    version: crate::PyVersion,
    names: Vec<String>,
    equal: HashMap<(*const Object, *const Object), bool>,
}

impl Walk {
    /// Whether two values are equal (as [`Object`]'s `==`), each pair compared once.
    fn same(&mut self, a: &ObjRef, b: &ObjRef) -> Result<bool, TooMany> {
        let key = (Arc::as_ptr(a), Arc::as_ptr(b));
        if let Some(&r) = self.equal.get(&key) {
            return Ok(r);
        }
        if self.equal.len() >= MAX_PAIRS {
            return Err(TooMany);
        }
        use Object::*;
        let r = match (&**a, &**b) {
            (Tuple(x), Tuple(y))
            | (List(x), List(y))
            | (Set(x), Set(y))
            | (FrozenSet(x), FrozenSet(y)) => self.all_same(x.iter().zip(y), x.len() == y.len())?,
            (Dict(x), Dict(y)) | (FrozenDict(x), FrozenDict(y)) => self.all_same(
                x.iter()
                    .zip(y)
                    .flat_map(|((k, v), (l, w))| [(k, l), (v, w)]),
                x.len() == y.len(),
            )?,
            (Slice(x), Slice(y)) => self.all_same(x.iter().zip(y.iter()), true)?,
            (Code(x), Code(y)) => self.same_code(x, y)?,
            // Leaves, and values of different kinds.
            (x, y) => x == y,
        };
        self.equal.insert(key, r);
        Ok(r)
    }

    fn all_same<'o>(
        &mut self,
        pairs: impl Iterator<Item = (&'o ObjRef, &'o ObjRef)>,
        same_len: bool,
    ) -> Result<bool, TooMany> {
        if !same_len {
            return Ok(false);
        }
        for (x, y) in pairs {
            if !self.same(x, y)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn same_field(
        &mut self,
        x: Option<FieldValue<'_>>,
        y: Option<FieldValue<'_>>,
    ) -> Result<bool, TooMany> {
        Ok(match (x, y) {
            (Some(FieldValue::Obj(x)), Some(FieldValue::Obj(y))) => self.same(x, y)?,
            (x, y) => x == y,
        })
    }

    fn same_code(&mut self, a: &Code, b: &Code) -> Result<bool, TooMany> {
        if a.format != b.format {
            return Ok(false);
        }
        for &f in a.format.fields() {
            if !self.same_field(a.field(f), b.field(f))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The first difference between two code objects, depth first in file order.
    fn first_diff(
        &mut self,
        a: &Code,
        b: &Code,
        depth: usize,
    ) -> Result<Option<BodyDiff>, TooMany> {
        if depth > MAX_NESTING {
            return Err(TooMany);
        }
        self.names.push(a.name().into_owned());
        let here = match &a.qualname {
            Some(_) => format!("{} (line {})", a.qualname(), a.firstlineno),
            None => format!("{} (line {})", self.names.join("."), a.firstlineno),
        };
        let version = self.version;
        let show = |o: &Object| short_repr(o, version);
        let diff = |field: String, x: String, y: String| {
            Ok(Some(BodyDiff::Code {
                code: here.clone(),
                field,
                a: x,
                b: y,
            }))
        };
        for &field in a.format.fields() {
            let (x, y) = (a.field(field), b.field(field));
            if self.same_field(x, y)? {
                continue;
            }
            if let (CodeField::Consts, Some(FieldValue::Obj(x)), Some(FieldValue::Obj(y))) =
                (field, x, y)
            {
                if let (Some(xs), Some(ys)) = (x.as_tuple(), y.as_tuple()) {
                    for (i, (p, q)) in xs.iter().zip(ys).enumerate() {
                        if self.same(p, q)? {
                            continue;
                        }
                        if let (Object::Code(cp), Object::Code(cq)) = (&**p, &**q) {
                            match self.first_diff(cp, cq, depth + 1)? {
                                Some(d) => return Ok(Some(d)),
                                None => continue,
                            }
                        }
                        return diff(format!("co_consts[{i}]"), show(p), show(q));
                    }
                    if xs.len() != ys.len() {
                        return diff(
                            "len(co_consts)".into(),
                            xs.len().to_string(),
                            ys.len().to_string(),
                        );
                    }
                    continue;
                }
            }
            let value = |v: Option<FieldValue<'_>>| match v {
                Some(FieldValue::Int(i)) if field == CodeField::Flags => format!("{i:#x}"),
                Some(FieldValue::Int(i)) => i.to_string(),
                Some(FieldValue::Obj(o)) => show(o),
                None => "-".into(),
            };
            return diff(field.attr().into(), value(x), value(y));
        }
        self.names.pop();
        Ok(None)
    }
}

/// A value's repr, cut to about 100 characters.
fn short_repr(o: &Object, version: crate::PyVersion) -> String {
    const MAX: usize = 100;
    let mut r = Repr::new(version);
    r.max_len = 4 * MAX;
    let text = r.repr(o).unwrap_or_else(|e| format!("<{e}>"));
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3.12 pyc (header of `header`) whose module code has `consts` as its constants.
    fn with_consts(header: &[u8], consts: ObjRef) -> Vec<u8> {
        let pyc = read_pyc(header).unwrap();
        let mut code = (*pyc.code).clone();
        code.consts = consts;
        let body = crate::marshal_write::dumps(
            &Arc::new(Object::Code(Arc::new(code))),
            crate::marshal_write::WriteOptions {
                marshal_version: 4,
                format: pyc.format,
            },
        )
        .unwrap();
        [&header[..pyc.header.size], &body[..]].concat()
    }

    #[test]
    fn shared_objects_are_compared_once() {
        // Constants that are a tuple of two references to a tuple of two references... 64
        // levels deep: 2**64 leaves as a tree, 65 objects as marshal stores them. The two
        // pycs differ only in the innermost leaf.
        let fixture =
            std::fs::read(pyc_testutil::fixtures("headers/3.12").join("ts-mtime0.pyc")).unwrap();
        let dag = |leaf: i64| {
            let mut t = Arc::new(Object::Int(leaf));
            for _ in 0..64 {
                t = Arc::new(Object::Tuple(vec![t.clone(), t]));
            }
            Arc::new(Object::Tuple(vec![Arc::new(Object::None), t]))
        };
        let (a, b) = (with_consts(&fixture, dag(1)), with_consts(&fixture, dag(2)));
        assert!(a.len() < 2000, "{}", a.len());
        let d = compare_pycs(&a, &b).unwrap();
        let BodyDiff::Code { field, .. } = &d.body else {
            panic!("{d:?}");
        };
        assert_eq!(field, "co_consts[1]");
        assert!(compare_pycs(&a, &a).unwrap().identical());
    }

    #[test]
    fn a_bad_header_names_its_side() {
        let pyc = {
            let mut v = crate::magic_bytes(3531).to_vec();
            v.extend([0u8; 12]);
            v
        };
        assert_eq!(compare_pycs(b"xx", &pyc).unwrap_err().0, 'a');
        assert_eq!(compare_pycs(&pyc, b"").unwrap_err().0, 'b');
        // Two readable headers whose bodies do not load: the first unreadable side is named.
        let d = compare_pycs(&pyc, &[pyc.clone(), vec![b'c']].concat()).unwrap();
        assert!(d.header.is_empty());
        assert!(matches!(d.body, BodyDiff::Unreadable { side: 'a', .. }));
    }
}
