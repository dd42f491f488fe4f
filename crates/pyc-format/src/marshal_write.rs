//! The marshal writer, in canonical form.
//!
//! CPython's `marshal.dumps` sets `FLAG_REF` on every object whose reference count is above
//! one when it is written (and on interned strings), so the bytes of a pyc depend on what
//! else the compiling process holds: the same source compiled in a warm worker and in a
//! fresh process gives different pycs (python/cpython#78274, #98819, #129724; uv#10619).
//! The loaded code objects are equal; only the flags and back-reference numbers differ.
//!
//! The **canonical form** removes that noise, in the spirit of Fedora's add-determinism, as
//! a normal form of the loaded value (Python 3, marshal 3+):
//! * equal immutable values (str and bytes, ints, floats and complex by their bits, tuples,
//!   frozensets and slices of equal items) are one object, whichever equal objects the
//!   producing process happened to share;
//! * `FLAG_REF` only on objects that occur again later, and back-references numbered in
//!   order;
//! * what loading shows is kept as read: a str is written interned exactly when it was read
//!   interned (an interned string loads interned, `sys.intern(copy) is s`; an interned and a
//!   plain str of equal value stay two objects), and set and frozenset elements are written
//!   in the order read (the order iteration follows after loading; a frozenset is merged
//!   only with an equal one in the same order). Both are the interpreter's own answer, not
//!   noise: the compiler interns names and the names it makes (`<module>`, `<lambda>`), and
//!   marshal writes a set's elements in its iteration order (3.10 and older: hash order,
//!   which for text depends on the hash seed; 3.11+: sorted by each element's own dump);
//! * everything else exactly as CPython writes it for the given marshal version: the type
//!   code chosen by value (`i`/`I`/`l`, `z`/`a`/`u`, `)`/`(`...).
//!
//! Python 2 data (and Python 3 below marshal 3) has no references: it is written exactly as
//! CPython writes it (2.x keeps its `t`/`R` interned-string table), which is deterministic.
//! Tested live: the same module compiled by a fresh process and by a warm one (other modules
//! compiled first, another hash seed) gives different bytes on 3.6–3.11 and 3.13, and the
//! same canonical bytes on every interpreter.
//!
//! [`canonical_pyc`] rewrites a whole pyc (header kept byte for byte, any bytes after the
//! marshalled object dropped); [`is_canonical_pyc`] says whether a pyc already is canonical.

use std::cell::RefCell;
use std::collections::HashMap;

// Maps keyed by object addresses use FxHash: addresses are not chosen by the input, and the
// canonical rewrite of every compiled pyc hashes each object several times (SipHash was ~3%
// of a cold `pyc compile`). Maps keyed by bytes from the file keep std's keyed SipHash, so a
// hostile pyc cannot make them collide.
type PtrMap<V> = rustc_hash::FxHashMap<*const Object, V>;
use std::sync::Arc;

use num_bigint::Sign;

use crate::code::{Code, CodeFormat};
use crate::marshal::{read_pyc, type_code as tc, PycError};
use crate::object::{ObjRef, Object, PyStr};
use crate::version_info;

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// `marshal.version` of the target (0–6).
    pub marshal_version: u8,
    /// Code-object layout, and with it Python 2 or 3 semantics.
    pub format: CodeFormat,
}

/// An object the target marshal version cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("a {what} needs marshal version {needs}, writing version {version}")]
    NeedsVersion {
        what: &'static str,
        needs: u8,
        version: u8,
    },
    #[error("a shared container needs marshal references (version 3+ in Python 3)")]
    SharingNeedsRefs,
    #[error("the code object layout of the data differs from the target's ({0:?})")]
    CodeFormat(CodeFormat),
}

/// Canonical marshal bytes of `obj`.
pub fn dumps(obj: &ObjRef, options: WriteOptions) -> Result<Vec<u8>, WriteError> {
    let mut w = Writer::new(options);
    w.dump(obj)?;
    Ok(w.out)
}

/// The canonical form of a whole pyc: the header as is, then the canonical marshal body.
///
/// Data as CPython's compiler writes it goes the fast way ([`crate::canonical_fast`]: straight
/// from the bytes); anything that path declines is read into objects and written by
/// [`dumps`], which defines the form. Both give the same bytes.
pub fn canonical_pyc(data: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    if let Some(out) = canonical_pyc_fast(data) {
        return Ok(out);
    }
    canonical_pyc_general(data)
}

/// [`canonical_pyc`] by the fast path alone; `None` where it declines.
pub fn canonical_pyc_fast(data: &[u8]) -> Option<Vec<u8>> {
    use crate::magic::MagicKind;
    thread_local! {
        static SCRATCH: RefCell<crate::canonical_fast::Scratch> = RefCell::default();
    }
    let header = crate::header::Header::parse(data).ok()?;
    let MagicKind::Known(entry) = header.magic else {
        return None;
    };
    let format = crate::code::CodeFormat::for_magic(entry.magic, entry.version)?;
    let marshal_version = version_info(entry.version)?.marshal_version;
    let body = data.get(header.size..)?;
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(data.get(..header.size)?);
    SCRATCH.with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        let r = crate::canonical_fast::canonical_marshal(
            body,
            marshal_version,
            format,
            &mut scratch,
            &mut out,
        );
        scratch.trim();
        r
    })?;
    Some(out)
}

/// [`canonical_pyc`] by the general path alone (objects, then [`dumps`]).
pub fn canonical_pyc_general(data: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    let pyc = read_pyc(data)?;
    let version = pyc
        .header
        .magic
        .version()
        .and_then(version_info)
        .map_or(4, |v| v.marshal_version);
    let options = WriteOptions {
        marshal_version: version,
        format: pyc.format,
    };
    let mut out = data.get(..pyc.header.size).unwrap_or_default().to_vec();
    out.extend(dumps(&pyc.body, options)?);
    Ok(out)
}

/// Whether a pyc is in canonical form (its bytes equal [`canonical_pyc`] of them).
pub fn is_canonical_pyc(data: &[u8]) -> Result<bool, CanonicalError> {
    Ok(canonical_pyc(data)? == data)
}

/// Why a pyc could not be put in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("{0}")]
    Read(#[from] PycError),
    #[error("{0}")]
    Write(#[from] WriteError),
}

fn key(o: &ObjRef) -> *const Object {
    Arc::as_ptr(o)
}

enum Task<'a> {
    Obj(&'a ObjRef),
    Int(i32),
    Byte(u8),
}

struct Writer {
    options: WriteOptions,
    out: Vec<u8>,
    /// Objects seen more than once (pass 1) → their ref index once written (pass 2).
    shared: PtrMap<Option<u32>>,
    next_ref: u32,
    /// Each object equal to an earlier one → that one (Python 3, marshal 3+).
    canon: PtrMap<*const Object>,
    /// Python 2 interned strings written so far → their `R` index.
    strings: HashMap<Box<[u8]>, u32>,
}

impl Writer {
    fn new(options: WriteOptions) -> Writer {
        Writer {
            options,
            out: Vec::new(),
            shared: PtrMap::default(),
            next_ref: 0,
            canon: PtrMap::default(),
            strings: HashMap::new(),
        }
    }

    fn refs(&self) -> bool {
        self.options.marshal_version >= 3 && !self.options.format.python2()
    }

    fn dump(&mut self, obj: &ObjRef) -> Result<(), WriteError> {
        if self.refs() {
            self.dedup(obj);
        }
        self.find_shared(obj)?;
        self.write(obj)
    }

    /// The object that stands for `o`: its representative among equal immutable values.
    fn ident(&self, o: &ObjRef) -> *const Object {
        let p = key(o);
        self.canon.get(&p).copied().unwrap_or(p)
    }

    /// Equal immutable values (str of equal interning, bytes, ints, floats and complex by
    /// their bits, tuples, frozensets (in the same order) and slices of equal items) become
    /// one object,
    /// so the sharing in the output does not depend on which equal objects the producing
    /// process happened to share. Post-order, each distinct object once.
    fn dedup(&mut self, root: &ObjRef) {
        let mut by_value: HashMap<Vec<u8>, *const Object> = HashMap::new();
        let mut done: PtrMap<()> = PtrMap::default();
        let mut stack: Vec<(ObjRef, bool)> = vec![(root.clone(), false)];
        while let Some((o, expanded)) = stack.pop() {
            let p = key(&o);
            if !expanded {
                if done.contains_key(&p) {
                    continue;
                }
                stack.push((o.clone(), true));
                match &*o {
                    Object::Tuple(xs)
                    | Object::List(xs)
                    | Object::Set(xs)
                    | Object::FrozenSet(xs) => {
                        stack.extend(xs.iter().map(|x| (x.clone(), false)));
                    }
                    Object::Dict(kv) | Object::FrozenDict(kv) => {
                        for (k, v) in kv {
                            stack.push((k.clone(), false));
                            stack.push((v.clone(), false));
                        }
                    }
                    Object::Slice(parts) => stack.extend(parts.iter().map(|x| (x.clone(), false))),
                    Object::Code(c) => {
                        stack.extend(code_objects(c).into_iter().map(|x| (x, false)))
                    }
                    _ => {}
                }
                continue;
            }
            if done.insert(p, ()).is_some() {
                continue;
            }
            if let Some(vk) = self.value_key(&o) {
                let rep = *by_value.entry(vk).or_insert(p);
                if rep != p {
                    self.canon.insert(p, rep);
                }
            }
        }
    }

    /// A key equal for equal immutable values (items by their representatives); `None` for
    /// mutable containers, code objects and singletons.
    fn value_key(&self, o: &ObjRef) -> Option<Vec<u8>> {
        let ptrs = |tag: u8, xs: &mut dyn Iterator<Item = &ObjRef>| {
            let ids: Vec<usize> = xs.map(|x| self.ident(x) as usize).collect();
            let mut k = vec![tag];
            for id in ids {
                k.extend_from_slice(&id.to_le_bytes());
            }
            k
        };
        let mut k;
        match &**o {
            Object::Int(i) => {
                k = vec![b'i'];
                k.extend(num_bigint::BigInt::from(*i).to_signed_bytes_le());
            }
            Object::Long(b) => {
                k = vec![b'i'];
                k.extend(b.to_signed_bytes_le());
            }
            Object::Float(f) => {
                k = vec![b'g'];
                k.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Object::Complex(re, im) => {
                k = vec![b'y'];
                k.extend_from_slice(&re.to_bits().to_le_bytes());
                k.extend_from_slice(&im.to_bits().to_le_bytes());
            }
            Object::Bytes(b) => {
                k = vec![b's'];
                k.extend_from_slice(&b.data);
            }
            Object::Str(s) => {
                k = vec![if s.interned { b't' } else { b'u' }];
                k.extend_from_slice(s.utf8_bytes());
            }
            // Singletons are written by type code alone, but a container's key names its
            // items by identity: separate `None` objects must stand for one, or equal tuples
            // of them would stay apart (and merge only after a round trip).
            Object::None => k = vec![b'N'],
            Object::True => k = vec![b'T'],
            Object::False => k = vec![b'F'],
            Object::Ellipsis => k = vec![b'.'],
            Object::StopIteration => k = vec![b'S'],
            Object::Tuple(xs) => k = ptrs(b'(', &mut xs.iter()),
            Object::FrozenSet(xs) => k = ptrs(b'>', &mut xs.iter()),
            Object::Slice(parts) => k = ptrs(b':', &mut parts.iter()),
            _ => return None,
        }
        Some(k)
    }

    /// Pass 1: which objects occur more than once (children are visited at first sight only,
    /// as later occurrences become references).
    fn find_shared(&mut self, root: &ObjRef) -> Result<(), WriteError> {
        let mut seen: PtrMap<()> = PtrMap::default();
        let mut stack: Vec<ObjRef> = vec![root.clone()];
        while let Some(o) = stack.pop() {
            if o.is_singleton() {
                continue;
            }
            if seen.insert(self.ident(&o), ()).is_some() {
                let leaf = !matches!(
                    *o,
                    Object::Tuple(_)
                        | Object::List(_)
                        | Object::Set(_)
                        | Object::FrozenSet(_)
                        | Object::Dict(_)
                        | Object::FrozenDict(_)
                        | Object::Slice(_)
                        | Object::Code(_)
                );
                if !self.refs() && !leaf {
                    // Without references the copy could be exponentially large.
                    return Err(WriteError::SharingNeedsRefs);
                }
                self.shared.insert(self.ident(&o), None);
                continue;
            }
            // Push children in reverse so they are visited in write order.
            let mut children: Vec<ObjRef> = Vec::new();
            match &*o {
                Object::Tuple(xs) | Object::List(xs) | Object::Set(xs) | Object::FrozenSet(xs) => {
                    children.extend(xs.iter().cloned())
                }
                Object::Dict(kv) | Object::FrozenDict(kv) => {
                    for (k, v) in kv {
                        children.push(k.clone());
                        children.push(v.clone());
                    }
                }
                Object::Slice(p) => children.extend(p.iter().cloned()),
                Object::Code(c) => children.extend(code_objects(c)),
                _ => {}
            }
            stack.extend(children.into_iter().rev());
        }
        Ok(())
    }

    fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn len(&mut self, n: usize) {
        self.i32(i32::try_from(n).unwrap_or(i32::MAX));
    }

    fn need(&self, what: &'static str, needs: u8) -> Result<(), WriteError> {
        if self.options.marshal_version < needs {
            return Err(WriteError::NeedsVersion {
                what,
                needs,
                version: self.options.marshal_version,
            });
        }
        Ok(())
    }

    /// Pass 2.
    fn write<'a>(&mut self, root: &'a ObjRef) -> Result<(), WriteError> {
        let py2 = self.options.format.python2();
        let v = self.options.marshal_version;
        let mut stack: Vec<Task<'a>> = vec![Task::Obj(root)];
        while let Some(task) = stack.pop() {
            let o = match task {
                Task::Obj(o) => o,
                Task::Int(i) => {
                    if self.options.format.int_width() == 4 {
                        self.i32(i);
                    } else {
                        self.out.extend_from_slice(&(i as i16).to_le_bytes());
                    }
                    continue;
                }
                Task::Byte(b) => {
                    self.out.push(b);
                    continue;
                }
            };
            // References.
            let mut flag = 0u8;
            if self.refs() {
                let id = self.ident(o);
                if let Some(slot) = self.shared.get_mut(&id) {
                    match slot {
                        Some(i) => {
                            let i = *i;
                            self.out.push(tc::REF);
                            self.out.extend_from_slice(&i.to_le_bytes());
                            continue;
                        }
                        None => {
                            *slot = Some(self.next_ref);
                            self.next_ref += 1;
                            flag = tc::FLAG_REF;
                        }
                    }
                }
            }
            match &**o {
                Object::None => self.out.push(tc::NONE),
                Object::True => self.out.push(tc::TRUE),
                Object::False => self.out.push(tc::FALSE),
                Object::Ellipsis => self.out.push(tc::ELLIPSIS),
                Object::StopIteration => self.out.push(tc::STOPITER),
                Object::Int(i) => {
                    if let Ok(small) = i32::try_from(*i) {
                        self.out.push(tc::INT | flag);
                        self.i32(small);
                    } else if py2 {
                        self.out.push(tc::INT64 | flag);
                        self.out.extend_from_slice(&i.to_le_bytes());
                    } else {
                        self.out.push(tc::LONG | flag);
                        self.long(&num_bigint::BigInt::from(*i));
                    }
                }
                Object::Long(b) => match i32::try_from(b) {
                    Ok(small) if !py2 => {
                        self.out.push(tc::INT | flag);
                        self.i32(small);
                    }
                    _ => {
                        self.out.push(tc::LONG | flag);
                        self.long(b);
                    }
                },
                Object::Float(f) => {
                    if v > 1 {
                        self.out.push(tc::BINARY_FLOAT | flag);
                        self.out.extend_from_slice(&f.to_le_bytes());
                    } else {
                        self.out.push(tc::FLOAT | flag);
                        self.text_float(*f);
                    }
                }
                Object::Complex(re, im) => {
                    if v > 1 {
                        self.out.push(tc::BINARY_COMPLEX | flag);
                        self.out.extend_from_slice(&re.to_le_bytes());
                        self.out.extend_from_slice(&im.to_le_bytes());
                    } else {
                        self.out.push(tc::COMPLEX | flag);
                        self.text_float(*re);
                        self.text_float(*im);
                    }
                }
                Object::Bytes(b) => {
                    if py2 && b.interned && v >= 1 {
                        if let Some(&i) = self.strings.get(&b.data) {
                            self.out.push(tc::STRINGREF);
                            self.i32(i as i32);
                            continue;
                        }
                        let n = self.strings.len() as u32;
                        self.strings.insert(b.data.clone(), n);
                        self.out.push(tc::INTERNED | flag);
                    } else {
                        self.out.push(tc::STRING | flag);
                    }
                    self.len(b.data.len());
                    self.out.extend_from_slice(&b.data);
                }
                Object::Str(s) => self.str(s, flag),
                Object::Tuple(xs) => {
                    if v >= 4 && xs.len() < 256 {
                        self.out.push(tc::SMALL_TUPLE | flag);
                        self.out.push(xs.len() as u8);
                    } else {
                        self.out.push(tc::TUPLE | flag);
                        self.len(xs.len());
                    }
                    stack.extend(xs.iter().rev().map(Task::Obj));
                }
                Object::List(xs) => {
                    self.out.push(tc::LIST | flag);
                    self.len(xs.len());
                    stack.extend(xs.iter().rev().map(Task::Obj));
                }
                Object::Set(xs) | Object::FrozenSet(xs) => {
                    let frozen = matches!(**o, Object::FrozenSet(_));
                    self.out
                        .push(if frozen { tc::FROZENSET } else { tc::SET } | flag);
                    self.len(xs.len());
                    stack.extend(xs.iter().rev().map(Task::Obj));
                }
                Object::Dict(kv) | Object::FrozenDict(kv) => {
                    let frozen = matches!(**o, Object::FrozenDict(_));
                    if frozen {
                        self.need("frozendict", 6)?;
                    }
                    self.out
                        .push(if frozen { tc::FROZENDICT } else { tc::DICT } | flag);
                    stack.push(Task::Byte(tc::NULL));
                    for (k, val) in kv.iter().rev() {
                        stack.push(Task::Obj(val));
                        stack.push(Task::Obj(k));
                    }
                }
                Object::Slice(p) => {
                    self.need("slice", 5)?;
                    self.out.push(tc::SLICE | flag);
                    stack.extend(p.iter().rev().map(Task::Obj));
                }
                Object::Code(c) => {
                    if c.format.fields() != self.options.format.fields() {
                        return Err(WriteError::CodeFormat(c.format));
                    }
                    self.out.push(tc::CODE | flag);
                    stack.extend(code_tasks(c).into_iter().rev());
                }
            }
        }
        Ok(())
    }

    fn str(&mut self, s: &PyStr, flag: u8) {
        let v = self.options.marshal_version;
        let py2 = self.options.format.python2();
        let b = s.utf8_bytes();
        if !py2 && v >= 4 {
            write_str_v4(b, s.interned, flag, &mut self.out);
            return;
        }
        // Python 2 unicode (never interned by marshal), and marshal 3 (no ASCII type codes):
        // `t` for an interned str from marshal 3 on, `u` otherwise.
        let interned = !py2 && v >= 3 && s.interned;
        self.out
            .push(if interned { tc::INTERNED } else { tc::UNICODE } | flag);
        self.len(b.len());
        self.out.extend_from_slice(b);
    }

    /// `l`: digit count with the sign, then 15-bit digits, least significant first.
    fn long(&mut self, b: &num_bigint::BigInt) {
        let (sign, mag) = b.to_u32_digits();
        let mut digits: Vec<u16> = Vec::new();
        let (mut acc, mut bits) = (0u64, 0u32);
        for w in mag {
            acc |= u64::from(w) << bits;
            bits += 32;
            while bits >= 15 {
                digits.push((acc & 0x7fff) as u16);
                acc >>= 15;
                bits -= 15;
            }
        }
        while bits > 0 {
            digits.push((acc & 0x7fff) as u16);
            acc >>= 15;
            bits = bits.saturating_sub(15);
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let n = digits.len() as i32;
        self.i32(if sign == Sign::Minus { -n } else { n });
        for d in digits {
            self.out.extend_from_slice(&d.to_le_bytes());
        }
    }

    /// Marshal 0/1 text float: `PyOS_double_to_string(x, 'g', 17, 0)` (`%.17g`).
    fn text_float(&mut self, x: f64) {
        let s = format_g17(x);
        self.out.push(s.len() as u8);
        self.out.extend_from_slice(s.as_bytes());
    }
}

/// A Python 3 str (UTF-8 bytes `b`, surrogates allowed) as marshal 4+ writes it: ASCII text
/// under the ASCII type codes (short under 256 bytes; `A`/`Z` when interned), other text as
/// `t` when interned, else `u` (CPython's `w_object`).
pub(crate) fn write_str_v4(b: &[u8], interned: bool, flag: u8, out: &mut Vec<u8>) {
    if b.is_ascii() {
        let short = b.len() < 256;
        let code = match (interned, short) {
            (true, true) => tc::SHORT_ASCII_INTERNED,
            (true, false) => tc::ASCII_INTERNED,
            (false, true) => tc::SHORT_ASCII,
            (false, false) => tc::ASCII,
        };
        out.push(code | flag);
        if short {
            out.push(b.len() as u8);
        } else {
            out.extend_from_slice(&i32::try_from(b.len()).unwrap_or(i32::MAX).to_le_bytes());
        }
    } else {
        out.push(if interned { tc::INTERNED } else { tc::UNICODE } | flag);
        out.extend_from_slice(&i32::try_from(b.len()).unwrap_or(i32::MAX).to_le_bytes());
    }
    out.extend_from_slice(b);
}

/// `%.17g`.
fn format_g17(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    let e = format!("{:.16e}", x);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..17).contains(&exp) {
        let digits = digits.as_str();
        let s = if exp >= 0 {
            let p = (exp + 1) as usize;
            format!("{}.{}", &digits[..p], &digits[p..])
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        };
        let s = s.trim_end_matches('0').trim_end_matches('.');
        out.push_str(s);
    } else {
        let frac = digits[1..].trim_end_matches('0');
        out.push_str(&digits[..1]);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    }
    out
}

/// The object fields of a code object, in file order.
fn code_objects(c: &Code) -> Vec<ObjRef> {
    code_tasks(c)
        .into_iter()
        .filter_map(|t| match t {
            Task::Obj(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

fn code_tasks(c: &Code) -> Vec<Task<'_>> {
    use crate::code::FieldValue;
    c.format
        .fields()
        .iter()
        .filter_map(|&f| {
            Some(match c.field(f)? {
                // Integer fields are 32-bit in every format the writer handles (flags as the
                // same bits).
                FieldValue::Int(v) => Task::Int(v as i32),
                FieldValue::Obj(o) => Task::Obj(o),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marshal::loads;

    #[test]
    fn g17() {
        for (x, s) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_g17(x), s, "{x}");
        }
    }

    #[test]
    fn unused_refs_are_dropped_and_renumbered() {
        // [flagged 'a', ('b' flagged, r1)]: 'a' is never referenced, 'b' is; neither is
        // interned (`z`), and stays so.
        let data = b"[\x02\x00\x00\x00\xfa\x01a)\x02\xfa\x01br\x01\x00\x00\x00";
        let o = loads(data, CodeFormat::Py311).unwrap();
        let opts = WriteOptions {
            marshal_version: 4,
            format: CodeFormat::Py311,
        };
        let out = dumps(&o, opts).unwrap();
        assert_eq!(
            out,
            b"[\x02\x00\x00\x00z\x01a)\x02\xfa\x01br\x00\x00\x00\x00".to_vec()
        );
    }
}
