//! Python values as marshal stores them, for every CPython version.
//!
//! [`Object`] has one variant per kind of value marshal can hold. It keeps what a faithful
//! `repr` and a byte-exact writer need and nothing more:
//!
//! * ints keep Python 2's `int`/`long` split ([`Object::Int`] from `i`/`I`, [`Object::Long`]
//!   from `l`); in Python 3 both are `int`.
//! * [`Object::Bytes`] is Python 3 `bytes` or Python 2 `str` (type codes `s`, and 2.x `t`);
//!   [`Object::Str`] is Python 3 `str` or Python 2 `unicode`. Both keep their exact content
//!   ([`PyStr`] allows the lone surrogates that marshal's `surrogatepass` UTF-8 can carry) and
//!   whether they were interned, which decides the type code a writer uses.
//! * Containers hold [`ObjRef`]s, shared `Arc`s: a marshal back-reference (`r`, or 2.x `R`)
//!   shares the object it points to instead of copying it, so a hostile file cannot make the
//!   reader build an exponentially large tree. A writer finds sharing with [`Arc::ptr_eq`].
//!   Walking a shared DAG as a tree can still take exponential time; code that prints whole
//!   trees (repr, JSON) bounds its output.
//!
//! Values compare by content ([`PartialEq`]); floats compare by their bits, so `nan == nan`
//! and `0.0 != -0.0`, which is what "the same marshal value" means.

use std::fmt;
use std::sync::Arc;

use num_bigint::BigInt;

use crate::code::Code;

/// A shared, immutable marshal value.
pub type ObjRef = Arc<Object>;

/// One marshal value.
#[derive(Debug, Clone)]
pub enum Object {
    /// `N`
    None,
    /// `T`
    True,
    /// `F`
    False,
    /// `.`
    Ellipsis,
    /// `S`: the `StopIteration` class.
    StopIteration,
    /// `i` (32-bit) or `I` (64-bit): Python 2 `int`, Python 3 `int`.
    Int(i64),
    /// `l`: Python 2 `long` (repr `10L`), Python 3 `int` that does not fit in 32 bits.
    Long(BigInt),
    /// `g` (binary) or `f` (text).
    Float(f64),
    /// `y` (binary) or `x` (text): real, imaginary.
    Complex(f64, f64),
    /// Python 3 `bytes`, Python 2 `str`.
    Bytes(PyBytes),
    /// Python 3 `str`, Python 2 `unicode`.
    Str(PyStr),
    /// `(` or `)`
    Tuple(Vec<ObjRef>),
    /// `[`
    List(Vec<ObjRef>),
    /// `{`: key, value pairs in file order.
    Dict(Vec<(ObjRef, ObjRef)>),
    /// `<`: elements in file order.
    Set(Vec<ObjRef>),
    /// `>`: elements in file order.
    FrozenSet(Vec<ObjRef>),
    /// `:` (marshal 5, 3.14+): start, stop, step.
    Slice(Box<[ObjRef; 3]>),
    /// `}` (marshal 6, 3.15+): key, value pairs in file order.
    FrozenDict(Vec<(ObjRef, ObjRef)>),
    /// `c`
    Code(Arc<Code>),
}

/// Python 3 `bytes` / Python 2 `str`. Equality and hashing look at the content only.
#[derive(Debug, Clone)]
pub struct PyBytes {
    pub data: Box<[u8]>,
    /// Python 2 only: read from `t` (or `R`), so written as `t`/`R`.
    pub interned: bool,
}

/// Python 3 `str` / Python 2 `unicode`, kept losslessly.
///
/// `utf8` is the content encoded the way marshal encodes it: UTF-8 with `surrogatepass`, so
/// each code point, a lone surrogate included, has its own 1–4 byte sequence (a surrogate
/// pair stays two code points, as in CPython). For text without surrogates this is ordinary
/// UTF-8 and [`PyStr::as_str`] returns it.
#[derive(Clone)]
pub struct PyStr {
    utf8: Box<[u8]>,
    /// Read from an interned type code (`t`, `A`, `Z`); a writer writes it as one.
    pub interned: bool,
}

impl PartialEq for PyBytes {
    fn eq(&self, other: &PyBytes) -> bool {
        self.data == other.data
    }
}
impl Eq for PyBytes {}
impl std::hash::Hash for PyBytes {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.data.hash(h)
    }
}

impl PartialEq for PyStr {
    fn eq(&self, other: &PyStr) -> bool {
        self.utf8 == other.utf8
    }
}
impl Eq for PyStr {}
impl std::hash::Hash for PyStr {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.utf8.hash(h)
    }
}

impl PyStr {
    /// A str from Rust text.
    pub fn new(s: &str, interned: bool) -> PyStr {
        PyStr {
            utf8: s.as_bytes().into(),
            interned,
        }
    }

    /// A str from marshal's `surrogatepass` UTF-8; `None` if the bytes are not that.
    pub fn from_utf8_surrogatepass(bytes: &[u8], interned: bool) -> Option<PyStr> {
        if std::str::from_utf8(bytes).is_ok() || valid_surrogatepass(bytes) {
            Some(PyStr {
                utf8: bytes.into(),
                interned,
            })
        } else {
            None
        }
    }

    /// A str from Latin-1 bytes (marshal's `a`/`A`/`z`/`Z`, which CPython decodes as Latin-1).
    pub fn from_latin1(bytes: &[u8], interned: bool) -> PyStr {
        let utf8: Box<[u8]> = if bytes.is_ascii() {
            bytes.into()
        } else {
            bytes
                .iter()
                .map(|&b| char::from(b))
                .collect::<String>()
                .into_bytes()
                .into()
        };
        PyStr { utf8, interned }
    }

    /// A str from code points (surrogates allowed); `None` for a value above U+10FFFF.
    pub fn from_code_points(cps: &[u32], interned: bool) -> Option<PyStr> {
        let mut out = Vec::with_capacity(cps.len());
        for &c in cps {
            push_code_point(&mut out, c)?;
        }
        Some(PyStr {
            utf8: out.into(),
            interned,
        })
    }

    /// The `surrogatepass` UTF-8 bytes, exactly as marshal writes them with `u`/`t`.
    pub fn utf8_bytes(&self) -> &[u8] {
        &self.utf8
    }

    /// The text, if it has no lone surrogates.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.utf8).ok()
    }

    /// The text, surrogates replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        match self.as_str() {
            Some(s) => s.to_string(),
            None => self
                .code_points()
                .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect(),
        }
    }

    /// The code points, surrogates included.
    pub fn code_points(&self) -> CodePoints<'_> {
        CodePoints { rest: &self.utf8 }
    }

    /// Number of code points (`len()` in Python).
    pub fn len(&self) -> usize {
        self.utf8.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
    }

    pub fn is_empty(&self) -> bool {
        self.utf8.is_empty()
    }

    /// All code points below 128 (CPython writes such a str with `a`/`z`).
    pub fn is_ascii(&self) -> bool {
        self.utf8.is_ascii()
    }
}

impl fmt::Debug for PyStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())?;
        if self.interned {
            f.write_str("(interned)")?;
        }
        Ok(())
    }
}

/// Iterator over the code points of a [`PyStr`].
pub struct CodePoints<'a> {
    rest: &'a [u8],
}

impl<'a> CodePoints<'a> {
    /// The code points of `surrogatepass` UTF-8 bytes.
    pub(crate) fn over(bytes: &'a [u8]) -> Self {
        CodePoints { rest: bytes }
    }

    /// The bytes not yet decoded.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl Iterator for CodePoints<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (&b0, tail) = self.rest.split_first()?;
        let (len, init) = match b0 {
            0x00..=0x7F => (1, u32::from(b0)),
            0xC0..=0xDF => (2, u32::from(b0 & 0x1F)),
            0xE0..=0xEF => (3, u32::from(b0 & 0x0F)),
            _ => (4, u32::from(b0 & 0x07)),
        };
        let n = (len - 1).min(tail.len());
        let mut c = init;
        for &b in &tail[..n] {
            c = (c << 6) | u32::from(b & 0x3F);
        }
        self.rest = &tail[n..];
        Some(c)
    }
}

/// Appends one code point in `surrogatepass` UTF-8; `None` above U+10FFFF.
pub(crate) fn push_code_point(out: &mut Vec<u8>, c: u32) -> Option<()> {
    match c {
        0..=0x7F => out.push(c as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]),
        0x10000..=0x10FFFF => out.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            0x80 | ((c >> 12) & 0x3F) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]),
        _ => return None,
    }
    Some(())
}

/// UTF-8 where encoded surrogates (ED A0..BF xx) are allowed, as CPython's `surrogatepass`.
pub(crate) fn valid_surrogatepass(b: &[u8]) -> bool {
    let mut i = 0;
    let cont = |x: Option<&u8>| matches!(x, Some(0x80..=0xBF));
    while let Some(&b0) = b.get(i) {
        let n = match b0 {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0 => {
                if !matches!(b.get(i + 1), Some(0xA0..=0xBF)) {
                    return false;
                }
                3
            }
            0xE1..=0xEF => 3,
            0xF0 => {
                if !matches!(b.get(i + 1), Some(0x90..=0xBF)) {
                    return false;
                }
                4
            }
            0xF1..=0xF3 => 4,
            0xF4 => {
                if !matches!(b.get(i + 1), Some(0x80..=0x8F)) {
                    return false;
                }
                4
            }
            _ => return false,
        };
        for k in 1..n {
            if !cont(b.get(i + k)) {
                return false;
            }
        }
        i += n;
    }
    true
}

impl Object {
    /// CPython's type name for the value, as the given Python major version calls it.
    pub fn type_name(&self, python2: bool) -> &'static str {
        match self {
            Object::None => "NoneType",
            Object::True | Object::False => "bool",
            Object::Ellipsis => "ellipsis",
            Object::StopIteration => "type",
            Object::Int(_) => "int",
            Object::Long(_) if python2 => "long",
            Object::Long(_) => "int",
            Object::Float(_) => "float",
            Object::Complex(..) => "complex",
            Object::Bytes(_) if python2 => "str",
            Object::Bytes(_) => "bytes",
            Object::Str(_) if python2 => "unicode",
            Object::Str(_) => "str",
            Object::Tuple(_) => "tuple",
            Object::List(_) => "list",
            Object::Dict(_) => "dict",
            Object::Set(_) => "set",
            Object::FrozenSet(_) => "frozenset",
            Object::Slice(_) => "slice",
            Object::FrozenDict(_) => "frozendict",
            Object::Code(_) => "code",
        }
    }

    /// The elements of a tuple.
    pub fn as_tuple(&self) -> Option<&[ObjRef]> {
        match self {
            Object::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The content of `bytes` (2.x `str`).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Object::Bytes(b) => Some(&b.data),
            _ => None,
        }
    }

    pub fn as_code(&self) -> Option<&Code> {
        match self {
            Object::Code(c) => Some(c),
            _ => None,
        }
    }

    /// A name-like string: a 3.x `str`, or a 2.x `str` (bytes) / `unicode`. Lossy for
    /// surrogates and non-UTF-8 bytes (names are identifiers, so in practice lossless).
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Object::Str(s) => Some(match s.as_str() {
                Some(t) => t.into(),
                None => s.to_string_lossy().into(),
            }),
            Object::Bytes(b) => Some(String::from_utf8_lossy(&b.data)),
            _ => None,
        }
    }

    /// True for `None`, `True`, `False`, `Ellipsis`, `StopIteration`: values marshal never
    /// gives a reference flag.
    pub fn is_singleton(&self) -> bool {
        matches!(
            self,
            Object::None | Object::True | Object::False | Object::Ellipsis | Object::StopIteration
        )
    }
}

/// Dropping a graph nested through back-references (issue 16): the derived drop would recurse
/// once per level, and a 200 KB pyc can nest 30,000 levels. This drop moves the children of
/// each object it is the last owner of onto a heap stack instead, so the native stack stays
/// flat whatever the depth.
impl Drop for Object {
    fn drop(&mut self) {
        let mut stack = Vec::new();
        take_children(self, &mut stack);
        while let Some(child) = stack.pop() {
            // Only the last owner walks on; a shared child just loses one reference.
            if let Some(mut inner) = Arc::into_inner(child) {
                take_children(&mut inner, &mut stack);
            }
        }
    }
}

/// A cheap stand-in for a field moved out of an object being dropped.
fn placeholder() -> ObjRef {
    static NONE: std::sync::OnceLock<ObjRef> = std::sync::OnceLock::new();
    NONE.get_or_init(|| Arc::new(Object::None)).clone()
}

/// Moves the children of `o` onto `stack`, leaving `o` shallow.
fn take_children(o: &mut Object, stack: &mut Vec<ObjRef>) {
    match o {
        Object::Tuple(v) | Object::List(v) | Object::Set(v) | Object::FrozenSet(v) => {
            stack.append(v)
        }
        Object::Dict(v) | Object::FrozenDict(v) => {
            for (k, x) in v.drain(..) {
                stack.push(k);
                stack.push(x);
            }
        }
        Object::Slice(parts) => {
            for p in parts.iter_mut() {
                if !p.is_singleton() {
                    stack.push(std::mem::replace(p, placeholder()));
                }
            }
        }
        Object::Code(c) => {
            if let Some(code) = Arc::get_mut(c) {
                for f in [
                    &mut code.code,
                    &mut code.consts,
                    &mut code.names,
                    &mut code.filename,
                    &mut code.name,
                    &mut code.linetable,
                ] {
                    stack.push(std::mem::replace(f, placeholder()));
                }
                for f in [
                    &mut code.varnames,
                    &mut code.freevars,
                    &mut code.cellvars,
                    &mut code.localsplusnames,
                    &mut code.localspluskinds,
                    &mut code.qualname,
                    &mut code.exceptiontable,
                ] {
                    stack.extend(f.take());
                }
            }
        }
        _ => {}
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        let mut memo = std::collections::HashMap::new();
        graph_eq(self, other, &mut memo, usize::MAX).unwrap_or(false)
    }
}

/// What comparing two objects needs: a verdict, or the pairs of their children.
enum Step {
    Known(bool),
    Children(Vec<(ObjRef, ObjRef)>),
}

/// The verdict on two objects of which at most one level is looked at.
fn step(a: &Object, b: &Object) -> Step {
    use Object::*;
    let zip = |x: &[ObjRef], y: &[ObjRef]| {
        if x.len() != y.len() {
            return Step::Known(false);
        }
        Step::Children(x.iter().cloned().zip(y.iter().cloned()).collect())
    };
    match (a, b) {
        (None, None)
        | (True, True)
        | (False, False)
        | (Ellipsis, Ellipsis)
        | (StopIteration, StopIteration) => Step::Known(true),
        (Int(a), Int(b)) => Step::Known(a == b),
        (Long(a), Long(b)) => Step::Known(a == b),
        (Float(a), Float(b)) => Step::Known(same_f64(*a, *b)),
        (Complex(a, b), Complex(c, d)) => Step::Known(same_f64(*a, *c) && same_f64(*b, *d)),
        (Bytes(a), Bytes(b)) => Step::Known(a == b),
        (Str(a), Str(b)) => Step::Known(a == b),
        (Tuple(a), Tuple(b))
        | (List(a), List(b))
        | (Set(a), Set(b))
        | (FrozenSet(a), FrozenSet(b)) => zip(a, b),
        (Dict(a), Dict(b)) | (FrozenDict(a), FrozenDict(b)) => {
            if a.len() != b.len() {
                return Step::Known(false);
            }
            Step::Children(
                a.iter()
                    .zip(b)
                    .flat_map(|((k, v), (l, w))| [(k.clone(), l.clone()), (v.clone(), w.clone())])
                    .collect(),
            )
        }
        (Slice(a), Slice(b)) => zip(&a[..], &b[..]),
        (Code(a), Code(b)) => code_step(a, b),
        _ => Step::Known(false),
    }
}

/// Two code objects: their integer fields here, their object fields as children.
fn code_step(a: &Code, b: &Code) -> Step {
    let ints = |c: &Code| {
        (
            c.format,
            c.version,
            [
                c.argcount,
                c.posonlyargcount,
                c.kwonlyargcount,
                c.nlocals,
                c.stacksize,
                c.flags as i32,
                c.firstlineno,
            ],
        )
    };
    if ints(a) != ints(b) {
        return Step::Known(false);
    }
    let mut kids = Vec::with_capacity(13);
    for (x, y) in [
        (&a.code, &b.code),
        (&a.consts, &b.consts),
        (&a.names, &b.names),
        (&a.filename, &b.filename),
        (&a.name, &b.name),
        (&a.linetable, &b.linetable),
    ] {
        kids.push((x.clone(), y.clone()));
    }
    for (x, y) in [
        (&a.varnames, &b.varnames),
        (&a.freevars, &b.freevars),
        (&a.cellvars, &b.cellvars),
        (&a.localsplusnames, &b.localsplusnames),
        (&a.localspluskinds, &b.localspluskinds),
        (&a.qualname, &b.qualname),
        (&a.exceptiontable, &b.exceptiontable),
    ] {
        match (x, y) {
            (Some(x), Some(y)) => kids.push((x.clone(), y.clone())),
            (Option::None, Option::None) => {}
            _ => return Step::Known(false),
        }
    }
    Step::Children(kids)
}

/// The key of a pair of objects in a [`graph_eq`] memo.
pub type PairKey = (*const Object, *const Object);

/// Whether `a` and `b` are equal values (as `==`), walking both graphs on a heap stack (a
/// hostile pyc nests as deep as it is long, through back-references) and comparing each pair
/// of shared objects once: `memo` keeps the verdict on every pair of containers compared, so
/// a caller can keep it across calls. `None` when `memo` would grow beyond `max_pairs`.
pub fn graph_eq(
    a: &Object,
    b: &Object,
    memo: &mut std::collections::HashMap<PairKey, bool>,
    max_pairs: usize,
) -> Option<bool> {
    struct Frame {
        key: PairKey,
        kids: Vec<(ObjRef, ObjRef)>,
        next: usize,
    }
    let key = |a: &Object, b: &Object| (a as *const Object, b as *const Object);
    if std::ptr::eq(a, b) {
        return Some(true);
    }
    if let Some(&r) = memo.get(&key(a, b)) {
        return Some(r);
    }
    let kids = match step(a, b) {
        Step::Known(r) => return Some(r),
        Step::Children(kids) => kids,
    };
    let mut stack = vec![Frame {
        key: key(a, b),
        kids,
        next: 0,
    }];
    // The verdict on the pair just finished, for the frame below it.
    let mut last = true;
    while let Some(top) = stack.last_mut() {
        if !last || top.next == top.kids.len() {
            memo.insert(top.key, last);
            stack.pop();
            continue;
        }
        let (x, y) = &top.kids[top.next];
        top.next += 1;
        if Arc::ptr_eq(x, y) {
            continue;
        }
        let k = key(x, y);
        if let Some(&r) = memo.get(&k) {
            last = r;
            continue;
        }
        match step(x, y) {
            Step::Known(r) => last = r,
            Step::Children(kids) => {
                if memo.len() >= max_pairs {
                    return None;
                }
                stack.push(Frame {
                    key: k,
                    kids,
                    next: 0,
                });
            }
        }
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogatepass_round_trip() {
        let s = PyStr::from_code_points(&[0x61, 0xD800, 0x1F600, 0xDC00], false).unwrap();
        assert_eq!(
            s.code_points().collect::<Vec<_>>(),
            vec![0x61, 0xD800, 0x1F600, 0xDC00]
        );
        assert!(s.as_str().is_none());
        assert_eq!(s.len(), 4);
        assert!(PyStr::from_utf8_surrogatepass(s.utf8_bytes(), false).is_some());
        assert!(PyStr::from_utf8_surrogatepass(b"\xc3(", false).is_none());
        assert!(PyStr::from_utf8_surrogatepass(b"\xed\xa0", false).is_none());
    }

    #[test]
    fn latin1() {
        let s = PyStr::from_latin1(b"caf\xe9", false);
        assert_eq!(s.as_str(), Some("café"));
        assert!(!s.is_ascii());
    }
}
