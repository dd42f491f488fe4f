//! Why two pycs differ: which header fields, and whether the bodies hold different code or
//! the same code written differently.
//!
//! Two compilations of one source often give pycs that differ in bytes only: CPython's marshal
//! flags an object for back-references by its reference count in the compiling process, so a
//! long-lived `compileall` worker and a fresh `py_compile` write the same code objects with
//! `FLAG_REF` on different objects (python/cpython#78274). [`compare_pycs`] tells that apart
//! from a real difference by the canonical form ([`crate::canonical_pyc`]) and, when the code
//! itself differs, lists every code object that differs and how: the fields that differ, or
//! that it exists in one pyc only (nested code objects are paired by name, so a function
//! added in the middle of a module does not make all the ones after it differ).

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
    /// The code differs: every code object that differs, depth first in file order.
    Code {
        objects: Vec<CodeDiff>,
        /// The walk stopped at its limits ([`MAX_REPORTED`] code objects, or the work limits
        /// of [`BodyDiff::NotLocated`]): more may differ.
        truncated: bool,
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

/// One code object that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeDiff {
    /// Qualified name (or the chain of names before 3.11) and first line, as in the pyc that
    /// has it (`a` when both do).
    pub code: String,
    /// Set when the code object exists in one pyc only (`a` or `b`): it has no fields then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only_in: Option<char>,
    /// The fields that differ, in the code object's order; a constant that is not a code
    /// object is its own field (`co_consts[2]`, numbered as in `a`; `co_consts` when the
    /// numbers of such constants differ). Nested code objects are compared on their own.
    pub fields: Vec<CodeFieldDiff>,
}

/// One field of a code object that differs, with both values (reprs cut to about 100
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeFieldDiff {
    pub field: String,
    pub a: String,
    pub b: String,
}

/// Code objects reported at most (the rest is [`BodyDiff::Code`]'s `truncated`).
pub const MAX_REPORTED: usize = 1000;

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
        walked: Default::default(),
        found: Vec::new(),
    };
    let done = walk.code_diffs(&pa.code, &pb.code, 0);
    match (done, walk.found.is_empty()) {
        (Ok(()), true) => BodyDiff::Encoding,
        (Err(TooMany), true) => BodyDiff::NotLocated,
        (done, false) => BodyDiff::Code {
            objects: walk.found,
            truncated: done.is_err(),
        },
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

/// The comparison gave up ([`MAX_PAIRS`], [`MAX_NESTING`], [`MAX_REPORTED`]).
struct TooMany;

/// The walk over two code trees: the chain of code object names so far, the verdicts on the
/// pairs of objects compared (by address: both trees are alive for the whole walk), and the
/// code objects found to differ.
struct Walk {
    version: crate::PyVersion,
    names: Vec<String>,
    equal: HashMap<(*const Object, *const Object), bool>,
    /// Pairs of code objects walked: each is walked once (a hostile pyc can share one code
    /// object over and over through back-references).
    walked: std::collections::HashSet<(*const Code, *const Code)>,
    found: Vec<CodeDiff>,
}

impl Walk {
    /// Whether two values are equal (as [`Object`]'s `==`), each pair compared once, on a
    /// heap stack (nesting through back-references is as deep as the file is long).
    fn same(&mut self, a: &ObjRef, b: &ObjRef) -> Result<bool, TooMany> {
        crate::object::graph_eq(a, b, &mut self.equal, MAX_PAIRS).ok_or(TooMany)
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

    /// Where a code object is, for the report: its qualified name (3.11+) or the chain of
    /// names to it, and its first line.
    fn place(&self, c: &Code) -> String {
        match &c.qualname {
            Some(_) => format!("{} (line {})", c.qualname(), c.firstlineno),
            None if self.names.is_empty() => format!("{} (line {})", c.name(), c.firstlineno),
            None => format!(
                "{}.{} (line {})",
                self.names.join("."),
                c.name(),
                c.firstlineno
            ),
        }
    }

    fn report(&mut self, d: CodeDiff) -> Result<(), TooMany> {
        if self.found.len() >= MAX_REPORTED {
            return Err(TooMany);
        }
        self.found.push(d);
        Ok(())
    }

    /// Report `a` and `b` if they differ, then the nested code objects, paired by name and
    /// order among those of the same name.
    fn code_diffs(&mut self, a: &Code, b: &Code, depth: usize) -> Result<(), TooMany> {
        if depth > MAX_NESTING {
            return Err(TooMany);
        }
        let version = self.version;
        let show = |o: &Object| short_repr(o, version);
        let mut fields = Vec::new();
        let mut nested: [Vec<&Arc<Code>>; 2] = [Vec::new(), Vec::new()];
        for &field in a.format.fields() {
            let (x, y) = (a.field(field), b.field(field));
            if field == CodeField::Consts {
                if let (Some(FieldValue::Obj(x)), Some(FieldValue::Obj(y))) = (x, y) {
                    if let (Some(xs), Some(ys)) = (x.as_tuple(), y.as_tuple()) {
                        self.const_diffs(xs, ys, &mut fields, &mut nested)?;
                        continue;
                    }
                }
            }
            if self.same_field(x, y)? {
                continue;
            }
            let value = |v: Option<FieldValue<'_>>| match v {
                Some(FieldValue::Int(i)) if field == CodeField::Flags => format!("{i:#x}"),
                Some(FieldValue::Int(i)) => i.to_string(),
                Some(FieldValue::Obj(o)) => show(o),
                None => "-".into(),
            };
            fields.push(CodeFieldDiff {
                field: field.attr_in(a.format).into(),
                a: value(x),
                b: value(y),
            });
        }
        if !fields.is_empty() {
            let code = self.place(a);
            self.report(CodeDiff {
                code,
                only_in: None,
                fields,
            })?;
        }
        self.names.push(a.name().into_owned());
        let [xs, ys] = nested;
        // Each code object of b by name, in order: the n-th `<lambda>` of a goes with the n-th
        // of b.
        let mut by_name: HashMap<std::borrow::Cow<'_, str>, std::collections::VecDeque<usize>> =
            HashMap::new();
        for (j, y) in ys.iter().enumerate() {
            by_name.entry(y.name()).or_default().push_back(j);
        }
        let mut taken = vec![false; ys.len()];
        for x in &xs {
            match by_name.get_mut(&x.name()).and_then(|js| js.pop_front()) {
                Some(j) => {
                    taken[j] = true;
                    let y = ys[j];
                    if self.walked.len() >= MAX_PAIRS {
                        return Err(TooMany);
                    }
                    let first_time = self.walked.insert((Arc::as_ptr(x), Arc::as_ptr(y)));
                    if first_time && !self.same_code(x, y)? {
                        self.code_diffs(x, y, depth + 1)?;
                    }
                }
                None => {
                    let code = self.place(x);
                    self.report(CodeDiff {
                        code,
                        only_in: Some('a'),
                        fields: Vec::new(),
                    })?;
                }
            }
        }
        for (y, _) in ys.iter().zip(&taken).filter(|(_, &t)| !t) {
            let code = self.place(y);
            self.report(CodeDiff {
                code,
                only_in: Some('b'),
                fields: Vec::new(),
            })?;
        }
        self.names.pop();
        Ok(())
    }

    /// Compare two `co_consts`: the constants that are not code objects are aligned (a
    /// constant inserted or removed is reported as such, not as a change of every one after
    /// it), each that differs is a field; the code objects are kept in `nested`, to be paired
    /// by name.
    fn const_diffs<'c>(
        &mut self,
        xs: &'c [ObjRef],
        ys: &'c [ObjRef],
        fields: &mut Vec<CodeFieldDiff>,
        nested: &mut [Vec<&'c Arc<Code>>; 2],
    ) -> Result<(), TooMany> {
        let version = self.version;
        let split = |cs: &'c [ObjRef], nested: &mut Vec<&'c Arc<Code>>| {
            let mut values = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                match &**c {
                    Object::Code(code) => nested.push(code),
                    _ => values.push((i, c)),
                }
            }
            values
        };
        let [na, nb] = nested;
        let (va, vb) = (split(xs, na), split(ys, nb));
        // Usually only nested code differs: then there is nothing to align.
        if va.len() == vb.len()
            && self.all_same(va.iter().zip(&vb).map(|(p, q)| (p.1, q.1)), true)?
        {
            return Ok(());
        }
        let show = |o: &Object| short_repr(o, version);
        for op in align(&va, &vb, version) {
            match op {
                (Some(&(i, p)), Some(&(j, q))) => {
                    if !self.same(p, q)? {
                        let field = if i == j {
                            format!("co_consts[{i}]")
                        } else {
                            format!("co_consts[{i}]/[{j}]")
                        };
                        fields.push(CodeFieldDiff {
                            field,
                            a: show(p),
                            b: show(q),
                        });
                    }
                }
                (Some(&(i, p)), None) => fields.push(CodeFieldDiff {
                    field: format!("co_consts[{i}]"),
                    a: show(p),
                    b: ABSENT.into(),
                }),
                (None, Some(&(j, q))) => fields.push(CodeFieldDiff {
                    field: format!("co_consts[{j}] (b)"),
                    a: ABSENT.into(),
                    b: show(q),
                }),
                (None, None) => {}
            }
        }
        Ok(())
    }
}

/// The value shown for a constant one side does not have.
const ABSENT: &str = "(none)";

/// Constants aligned beyond this many on both sides together are paired in order instead
/// (the alignment's cost grows with the product of the differences).
const MAX_ALIGNED: usize = 4000;

/// A constant that is not a code object: its index in `co_consts`, its value.
type Const<'c> = (usize, &'c ObjRef);

/// A pair of aligned constants, or one without a partner.
type Aligned<'v, 'c> = (Option<&'v Const<'c>>, Option<&'v Const<'c>>);

/// Pair two lists of constants in order, as a line diff pairs lines (Myers' algorithm, from
/// `similar`, on the values' reprs): equal values go together, a run replaced by another is
/// paired item by item, and what is left over is on one side only.
fn align<'v, 'c>(
    a: &'v [Const<'c>],
    b: &'v [Const<'c>],
    version: crate::PyVersion,
) -> Vec<Aligned<'v, 'c>> {
    if a.len() + b.len() > MAX_ALIGNED {
        return (0..a.len().max(b.len()))
            .map(|k| (a.get(k), b.get(k)))
            .collect();
    }
    let key = |c: &Const<'_>| {
        let mut r = Repr::new(version);
        r.max_len = 4096;
        r.repr(c.1).unwrap_or_else(|e| format!("<{e}>"))
    };
    let (ka, kb): (Vec<String>, Vec<String>) =
        (a.iter().map(key).collect(), b.iter().map(key).collect());
    let mut out = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ka, &kb) {
        let (ia, na, ib, nb) = match op {
            similar::DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => (old_index, len, new_index, len),
            similar::DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index, old_len, new_index, 0),
            similar::DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index, new_len),
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len),
        };
        for k in 0..na.max(nb) {
            out.push((
                a.get(ia + k).filter(|_| k < na),
                b.get(ib + k).filter(|_| k < nb),
            ));
        }
    }
    out
}

/// A value's repr, cut to about 100 characters. Long bytes and strings show their start
/// (`b'\x97\x00d\x00...` and their length); other values too long to repr whole show their
/// type and size.
fn short_repr(o: &Object, version: crate::PyVersion) -> String {
    const MAX: usize = 100;
    let cut = |text: String| {
        if text.chars().count() <= MAX {
            return text;
        }
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    };
    if let Object::Long(b) = o {
        // Only the first digits are shown; converting a huge int takes quadratic time.
        let digits = crate::repr::min_decimal_digits(b);
        if digits > 4 * MAX {
            return format!("<int of {digits} digits or more>");
        }
    }
    let mut r = Repr::new(version);
    r.max_len = 4 * MAX;
    if let Ok(text) = r.repr(o) {
        return cut(text);
    }
    let python2 = version.major < 3;
    let kind = o.type_name(python2);
    let prefix = match o {
        Object::Bytes(b) => Object::Bytes(crate::object::PyBytes {
            data: b.data.iter().take(MAX).copied().collect(),
            interned: b.interned,
        }),
        Object::Str(t) => {
            let head: String = t.to_string_lossy().chars().take(MAX).collect();
            Object::Str(crate::object::PyStr::new(&head, t.interned))
        }
        Object::Tuple(v) | Object::List(v) | Object::Set(v) | Object::FrozenSet(v) => {
            return format!("<{kind} of {} items>", v.len())
        }
        Object::Dict(v) | Object::FrozenDict(v) => return format!("<{kind} of {} items>", v.len()),
        _ => return format!("<{kind}>"),
    };
    let len = match o {
        Object::Bytes(b) => b.data.len(),
        Object::Str(t) => t.len(),
        _ => 0,
    };
    match r.repr(&prefix) {
        Ok(text) => format!("{} ({kind} of length {len})", cut(text)),
        Err(_) => format!("<{kind} of length {len}>"),
    }
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

    /// The one field of the one code object in which `a` and `b` differ.
    fn only_difference(a: &[u8], b: &[u8]) -> CodeFieldDiff {
        let d = compare_pycs(a, b).unwrap();
        let BodyDiff::Code { objects, truncated } = &d.body else {
            panic!("{d:?}");
        };
        assert!(!truncated);
        assert_eq!(objects.len(), 1, "{d:?}");
        assert_eq!(objects[0].fields.len(), 1, "{d:?}");
        objects[0].fields[0].clone()
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
        assert_eq!(only_difference(&a, &b).field, "co_consts[1]");
        assert!(compare_pycs(&a, &a).unwrap().identical());
    }

    #[test]
    fn shared_code_objects_are_walked_once() {
        // Each level's constants hold the level below twice (one object, a back-reference
        // the second time), 64 levels: 2**64 code objects as a tree. Only the innermost
        // constant differs: one code object is reported, after 64 pairs walked.
        let fixture =
            std::fs::read(pyc_testutil::fixtures("headers/3.12").join("ts-mtime0.pyc")).unwrap();
        let pyc = read_pyc(&fixture).unwrap();
        let nest = |leaf: i64| {
            let mut c = (*pyc.code).clone();
            c.consts = Arc::new(Object::Tuple(vec![Arc::new(Object::Int(leaf))]));
            let mut code = Arc::new(Object::Code(Arc::new(c)));
            for _ in 0..64 {
                let mut c = (*pyc.code).clone();
                c.consts = Arc::new(Object::Tuple(vec![code.clone(), code]));
                code = Arc::new(Object::Code(Arc::new(c)));
            }
            Arc::new(Object::Tuple(vec![code]))
        };
        let (a, b) = (
            with_consts(&fixture, nest(1)),
            with_consts(&fixture, nest(2)),
        );
        assert!(a.len() < 20_000, "{}", a.len());
        let f = only_difference(&a, &b);
        assert_eq!(f.field, "co_consts[0]");
        assert_eq!((f.a.as_str(), f.b.as_str()), ("1", "2"));
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
