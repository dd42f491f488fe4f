//! Why two pycs differ: which header fields, and whether the bodies hold different code or
//! the same code written differently.
//!
//! Two compilations of one source often give pycs that differ in bytes only: CPython's marshal
//! flags an object for back-references by its reference count in the compiling process, so a
//! long-lived `compileall` worker and a fresh `py_compile` write the same code objects with
//! `FLAG_REF` on different objects (python/cpython#78274). [`compare_pycs`] tells that apart
//! from a real difference by the canonical form ([`crate::canonical_pyc`]), and names the
//! first field that differs when the code itself does.

use crate::code::{Code, CodeField, FieldValue};
use crate::header::{Header, HeaderError, Invalidation};
use crate::magic::MagicKind;
use crate::object::Object;
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
    let mut names = Vec::new();
    match first_code_diff(&pa.code, &pb.code, version, &mut names, 0) {
        Some(d) => d,
        None => BodyDiff::Encoding,
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

fn first_code_diff(
    a: &Code,
    b: &Code,
    version: crate::PyVersion,
    names: &mut Vec<String>,
    depth: usize,
) -> Option<BodyDiff> {
    if depth > MAX_NESTING {
        return None;
    }
    names.push(a.name().into_owned());
    let here = match &a.qualname {
        Some(_) => format!("{} (line {})", a.qualname(), a.firstlineno),
        None => format!("{} (line {})", names.join("."), a.firstlineno),
    };
    let show = |o: &Object| short_repr(o, version);
    for &field in a.format.fields() {
        let (x, y) = (a.field(field), b.field(field));
        if x == y {
            continue;
        }
        let diff = |field: String, x: String, y: String| BodyDiff::Code {
            code: here.clone(),
            field,
            a: x,
            b: y,
        };
        let value = |v: Option<FieldValue<'_>>| match v {
            Some(FieldValue::Int(i)) if field == CodeField::Flags => format!("{i:#x}"),
            Some(FieldValue::Int(i)) => i.to_string(),
            Some(FieldValue::Obj(o)) => show(o),
            None => "-".into(),
        };
        if let (CodeField::Consts, Some(FieldValue::Obj(x)), Some(FieldValue::Obj(y))) =
            (field, x, y)
        {
            if let (Some(xs), Some(ys)) = (x.as_tuple(), y.as_tuple()) {
                for (i, (p, q)) in xs.iter().zip(ys).enumerate() {
                    if p == q {
                        continue;
                    }
                    if let (Object::Code(cp), Object::Code(cq)) = (&**p, &**q) {
                        if let Some(d) = first_code_diff(cp, cq, version, names, depth + 1) {
                            return Some(d);
                        }
                        continue;
                    }
                    return Some(diff(format!("co_consts[{i}]"), show(p), show(q)));
                }
                return Some(diff(
                    "len(co_consts)".into(),
                    xs.len().to_string(),
                    ys.len().to_string(),
                ));
            }
        }
        return Some(diff(field.attr().into(), value(x), value(y)));
    }
    names.pop();
    None
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
