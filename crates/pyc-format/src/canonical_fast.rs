//! The canonical form of Python 3 marshal data (marshal 4+) written straight from the bytes.
//!
//! [`crate::marshal_write`] defines the canonical form and computes it for any value: it reads
//! the data into shared [`crate::Object`]s, merges equal immutable values, finds the values
//! that occur again, and writes. That costs an allocation and several hash lookups per
//! object, about 1 s for the 100 MB of pycs a cold `pyc compile` of the standard library
//! and two large packages writes.
//!
//! This module computes the same bytes for the data CPython's compiler produces, in three
//! passes over flat arrays:
//! 1. parse the bytes into nodes (one per object written, a back-reference reuses its node),
//!    giving every node a value id: equal immutable values share the id of the first such
//!    node (hash-consing over the input bytes, no per-object allocation); an interned and a
//!    plain str are different values, a frozenset equals only one with the same elements in
//!    the same order, and a code object is its own value;
//! 2. walk the values in write order and mark the ones that occur again;
//! 3. write, with `FLAG_REF` on the marked ones and back-references numbered in order.
//!
//! It declines (returns `None`) whatever it does not handle exactly like the general writer:
//! anything malformed, a back-reference to an unfinished container, lists, sets, dicts,
//! frozendicts, text floats, `I`, a `l` that fits in 32 bits, strings that are not valid
//! UTF-8 with surrogates (or Latin-1 beyond ASCII under an ASCII type code), code objects
//! whose fields do not have the types CPython gives them, nesting deeper than
//! [`MAX_DEPTH`]. The caller then uses the general path, which gives the same answer or the
//! error. Tests check that both paths agree on every pyc of every installed interpreter.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;

use crate::code::{CodeField, CodeFormat};
use crate::marshal::type_code as tc;

/// Nesting the parser follows before it declines (the general reader goes to 2,000).
pub const MAX_DEPTH: usize = 200;

/// What a node is (value classes; the type code written is chosen from the value).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `N`, `F`, `T`, `.`, `S`: nodes 0–4, never flagged, never references.
    Singleton,
    /// `a z u`: `data` is the UTF-8 content.
    Str,
    /// `A Z t`: the same, interned (a separate value: interning is observable).
    InternedStr,
    /// `s`
    Bytes,
    /// `i`: `data` is the 4 bytes.
    Int,
    /// `l` outside 32 bits, normalized: `data` is the count and digits as read.
    Long,
    /// `g`: 8 bytes.
    Float,
    /// `y`: 16 bytes.
    Complex,
    /// `(` `)`: `kids`.
    Tuple,
    /// `>`: `kids`, in the order read (the iteration order after loading).
    FrozenSet,
    /// `:`: 3 `kids`.
    Slice,
    /// `c`: `kids` are the object fields, `ints` the integer fields (4 bytes each).
    Code,
}

#[derive(Clone, Copy)]
struct Node {
    kind: Kind,
    /// Singletons: the type code.
    code: u8,
    /// Finished (a back-reference to an unfinished node is declined).
    done: bool,
    /// Leaves: the payload's range in the input. Containers: the range in `kids`.
    start: u32,
    len: u32,
    /// Code: the first of its integer fields in `ints`.
    ints: u32,
    /// The value id: the index of the first node with an equal value.
    val: u32,
}

/// Reusable working memory (kept per thread by the caller, so a run over thousands of pycs
/// allocates only while the largest one grows it).
#[derive(Default)]
pub struct Scratch {
    nodes: Vec<Node>,
    kids: Vec<u32>,
    ints: Vec<[u8; 4]>,
    /// Input back-reference slots → node.
    refs: Vec<u32>,
    /// Children of the containers being parsed.
    pending: Vec<u32>,
    /// Per value id: 0 unseen, 1 seen once, 2 occurs again (pass 2); the assigned reference
    /// index + 3 once written (pass 3).
    state: Vec<u32>,
    stack: Vec<Task>,
    values: HashTable<u32>,
}

impl Scratch {
    /// Give back memory a very large input made the buffers take (past ~1 million objects).
    pub fn trim(&mut self) {
        if self.nodes.capacity() > 1 << 20 {
            *self = Scratch::default();
        }
    }
}

#[derive(Clone, Copy)]
enum Task {
    Node(u32),
    Int([u8; 4]),
}

const SINGLETONS: [u8; 5] = [tc::NONE, tc::FALSE, tc::TRUE, tc::ELLIPSIS, tc::STOPITER];

struct Parser<'a, 's> {
    data: &'a [u8],
    pos: usize,
    format: CodeFormat,
    marshal_version: u8,
    s: &'s mut Scratch,
    hasher: &'s hashbrown::DefaultHashBuilder,
    /// Give nodes value ids (pass 1 of the canonical form); off for [`check_marshal`].
    values: bool,
}

/// Append the canonical form of the marshalled object at the start of `data` to `out`.
/// `None` (with `out` unchanged) when this path does not handle the data (see the module
/// docs); bytes after the object are ignored, as the general path does.
pub fn canonical_marshal(
    data: &[u8],
    marshal_version: u8,
    format: CodeFormat,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Option<()> {
    let root = parse(data, marshal_version, format, scratch, true)?.0;
    mark_shared(scratch, root);
    let start = out.len();
    if write(scratch, data, root, format, out).is_none() {
        out.truncate(start);
        return None;
    }
    Some(())
}

/// Read the code object marshalled at the start of `data` as [`canonical_marshal`] reads it
/// (every object and its payload, the types of every code field, back-references to
/// finished objects only, nesting up to [`MAX_DEPTH`]) without computing its canonical form:
/// the full marshal read of data whose form is known already (a code cache entry, made
/// canonical when it was stored). The number of bytes read; `None` where
/// [`canonical_marshal`] declines.
pub fn check_marshal(
    data: &[u8],
    marshal_version: u8,
    format: CodeFormat,
    scratch: &mut Scratch,
) -> Option<usize> {
    parse(data, marshal_version, format, scratch, false).map(|(_, end)| end)
}

/// Pass 1: the nodes (with value ids when `values`); the root code object's node and the
/// end of its bytes.
fn parse(
    data: &[u8],
    marshal_version: u8,
    format: CodeFormat,
    scratch: &mut Scratch,
    values: bool,
) -> Option<(u32, usize)> {
    if format.python2() || !(4..=6).contains(&marshal_version) {
        return None;
    }
    // One random seed per process: value ids do not depend on hash order, and a keyed hash
    // keeps crafted collisions out.
    static HASHER: std::sync::OnceLock<hashbrown::DefaultHashBuilder> = std::sync::OnceLock::new();
    let hasher = HASHER.get_or_init(Default::default);
    let s = scratch;
    s.nodes.clear();
    s.kids.clear();
    s.ints.clear();
    s.refs.clear();
    s.pending.clear();
    s.values.clear();
    for code in SINGLETONS {
        let i = s.nodes.len() as u32;
        s.nodes.push(Node {
            kind: Kind::Singleton,
            code,
            done: true,
            start: 0,
            len: 0,
            ints: 0,
            val: i,
        });
    }
    let mut p = Parser {
        data,
        pos: 0,
        format,
        marshal_version,
        s,
        hasher,
        values,
    };
    let root = p.object(1)?;
    if p.s.nodes[root as usize].kind != Kind::Code {
        return None;
    }
    Some((root, p.pos))
}

impl Parser<'_, '_> {
    fn take(&mut self, n: usize) -> Option<(usize, usize)> {
        let start = self.pos;
        let end = start.checked_add(n)?;
        if end > self.data.len() {
            return None;
        }
        self.pos = end;
        Some((start, n))
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn size(&mut self) -> Option<usize> {
        usize::try_from(self.i32()?).ok()
    }

    fn push_node(&mut self, kind: Kind, start: usize, len: usize, flag: bool) -> Option<u32> {
        let i = u32::try_from(self.s.nodes.len()).ok()?;
        self.s.nodes.push(Node {
            kind,
            code: 0,
            done: false,
            start: u32::try_from(start).ok()?,
            len: u32::try_from(len).ok()?,
            ints: 0,
            val: i,
        });
        if flag {
            self.s.refs.push(i);
        }
        Some(i)
    }

    /// A leaf: a finished node with its payload range, given its value id.
    fn leaf(&mut self, kind: Kind, (start, len): (usize, usize), flag: bool) -> Option<u32> {
        let i = self.push_node(kind, start, len, flag)?;
        self.finish(i);
        Some(i)
    }

    /// Read one object; its node.
    fn object(&mut self, depth: usize) -> Option<u32> {
        if depth > MAX_DEPTH {
            return None;
        }
        let code = self.byte()?;
        let flag = code & tc::FLAG_REF != 0;
        let ty = code & !tc::FLAG_REF;
        match ty {
            // The flag on a singleton registers nothing (CPython's r_object).
            tc::NONE => Some(0),
            tc::FALSE => Some(1),
            tc::TRUE => Some(2),
            tc::ELLIPSIS => Some(3),
            tc::STOPITER => Some(4),
            tc::INT => {
                let r = self.take(4)?;
                self.leaf(Kind::Int, r, flag)
            }
            tc::LONG => {
                let start = self.pos;
                let n = self.i32()?;
                let count = n.unsigned_abs() as usize;
                if n == 0 || n == i32::MIN || count > (self.data.len() - self.pos) / 2 {
                    return None;
                }
                let (dstart, _) = self.take(count * 2)?;
                let digit = |k: usize| {
                    u16::from_le_bytes([self.data[dstart + 2 * k], self.data[dstart + 2 * k + 1]])
                };
                if (0..count).any(|k| digit(k) > 0x7fff) || digit(count - 1) == 0 {
                    return None;
                }
                // Values that fit in 32 bits are written as `i` by the general writer.
                if count <= 3 {
                    let mag =
                        (0..count).fold(0i64, |acc, k| acc | (i64::from(digit(k)) << (15 * k)));
                    let v = if n < 0 { -mag } else { mag };
                    if i32::try_from(v).is_ok() {
                        return None;
                    }
                }
                self.leaf(Kind::Long, (start, 4 + count * 2), flag)
            }
            tc::BINARY_FLOAT => {
                let r = self.take(8)?;
                self.leaf(Kind::Float, r, flag)
            }
            tc::BINARY_COMPLEX => {
                let r = self.take(16)?;
                self.leaf(Kind::Complex, r, flag)
            }
            tc::STRING => {
                let n = self.size()?;
                let r = self.take(n)?;
                self.leaf(Kind::Bytes, r, flag)
            }
            tc::UNICODE | tc::INTERNED => {
                let n = self.size()?;
                let r = self.take(n)?;
                let text = &self.data[r.0..r.0 + r.1];
                // UTF-8, lone surrogates allowed (marshal's `surrogatepass`), as the reader.
                if std::str::from_utf8(text).is_err() && !crate::object::valid_surrogatepass(text) {
                    return None;
                }
                self.leaf(str_kind(ty == tc::INTERNED), r, flag)
            }
            tc::ASCII | tc::ASCII_INTERNED | tc::SHORT_ASCII | tc::SHORT_ASCII_INTERNED => {
                let n = if ty == tc::SHORT_ASCII || ty == tc::SHORT_ASCII_INTERNED {
                    usize::from(self.byte()?)
                } else {
                    self.size()?
                };
                let r = self.take(n)?;
                if !self.data[r.0..r.0 + r.1].is_ascii() {
                    return None;
                }
                let interned = ty == tc::ASCII_INTERNED || ty == tc::SHORT_ASCII_INTERNED;
                self.leaf(str_kind(interned), r, flag)
            }
            tc::REF => {
                let i = usize::try_from(self.i32()?).ok()?;
                let node = *self.s.refs.get(i)?;
                self.s.nodes[node as usize].done.then_some(node)
            }
            tc::TUPLE | tc::SMALL_TUPLE | tc::FROZENSET => {
                let n = if ty == tc::SMALL_TUPLE {
                    usize::from(self.byte()?)
                } else {
                    self.size()?
                };
                if n > self.data.len() - self.pos {
                    return None;
                }
                let kind = if ty == tc::FROZENSET {
                    Kind::FrozenSet
                } else {
                    Kind::Tuple
                };
                let me = self.push_node(kind, 0, 0, flag)?;
                let base = self.s.pending.len();
                for _ in 0..n {
                    let k = self.object(depth + 1)?;
                    self.s.pending.push(k);
                }
                self.close(me, base);
                self.finish(me);
                Some(me)
            }
            tc::SLICE if self.marshal_version >= 5 => {
                let me = self.push_node(Kind::Slice, 0, 0, flag)?;
                let base = self.s.pending.len();
                for _ in 0..3 {
                    let k = self.object(depth + 1)?;
                    self.s.pending.push(k);
                }
                self.close(me, base);
                self.finish(me);
                Some(me)
            }
            tc::CODE => self.code(depth, flag),
            _ => None,
        }
    }

    fn code(&mut self, depth: usize, flag: bool) -> Option<u32> {
        let me = self.push_node(Kind::Code, 0, 0, flag)?;
        let base = self.s.pending.len();
        let fields = self.format.fields();
        // The integer fields, kept together once the nested objects are read.
        let mut ints = [[0u8; 4]; 8];
        let mut nints = 0;
        for &field in fields {
            if field.is_int() {
                let b = self.data.get(self.pos..self.pos + 4)?;
                *ints.get_mut(nints)? = [b[0], b[1], b[2], b[3]];
                nints += 1;
                self.pos += 4;
            } else {
                let k = self.object(depth + 1)?;
                self.s.pending.push(k);
            }
        }
        // The field types CPython gives a code object (the general reader accepts a few
        // more, such as bytes names: those go the general way).
        let objs = &self.s.pending[base..];
        let nodes = &self.s.nodes;
        let kind = |k: u32| nodes[k as usize].kind;
        let is_str = |k: u32| matches!(kind(k), Kind::Str | Kind::InternedStr);
        let tuple_of_str = |k: u32| {
            let n = &nodes[k as usize];
            n.kind == Kind::Tuple
                && self.s.kids[n.start as usize..(n.start + n.len) as usize]
                    .iter()
                    .all(|&x| is_str(x))
        };
        let mut names_len = None;
        let mut kinds_len = None;
        for (field, &k) in fields.iter().filter(|f| !f.is_int()).zip(objs) {
            let ok = match field {
                CodeField::Code
                | CodeField::LineTable
                | CodeField::ExceptionTable
                | CodeField::LocalsPlusKinds => kind(k) == Kind::Bytes,
                CodeField::Consts => kind(k) == Kind::Tuple,
                CodeField::Names
                | CodeField::VarNames
                | CodeField::FreeVars
                | CodeField::CellVars
                | CodeField::LocalsPlusNames => tuple_of_str(k),
                CodeField::Filename | CodeField::Name | CodeField::QualName => is_str(k),
                _ => false,
            };
            if !ok {
                return None;
            }
            match field {
                CodeField::LocalsPlusNames => names_len = Some(nodes[k as usize].len),
                CodeField::LocalsPlusKinds => kinds_len = Some(nodes[k as usize].len),
                _ => {}
            }
        }
        if names_len != kinds_len {
            return None;
        }
        // What the code constructor refuses, the general path reports: decline it.
        let int = |f: CodeField| {
            fields
                .iter()
                .filter(|g| g.is_int())
                .position(|&g| g == f)
                .map(|i| i32::from_le_bytes(ints[i]))
        };
        let object = |f: CodeField| {
            fields
                .iter()
                .filter(|g| !g.is_int())
                .position(|&g| g == f)
                .map(|i| &nodes[objs[i] as usize])
        };
        let localsplus = self.format.has_localsplus();
        let names = if localsplus {
            object(CodeField::LocalsPlusKinds).map_or(0, |n| {
                let kinds = self
                    .data
                    .get(n.start as usize..(n.start + n.len) as usize)
                    .unwrap_or(&[]);
                kinds
                    .iter()
                    .filter(|&&k| k & crate::code::CO_FAST_LOCAL != 0)
                    .count() as i64
            })
        } else {
            object(CodeField::VarNames).map_or(0, |n| i64::from(n.len))
        };
        let counts = crate::marshal::CodeCounts {
            argcount: int(CodeField::ArgCount).unwrap_or(0),
            posonlyargcount: int(CodeField::PosOnlyArgCount).unwrap_or(0),
            kwonlyargcount: int(CodeField::KwOnlyArgCount).unwrap_or(0),
            nlocals: int(CodeField::NLocals),
            stacksize: int(CodeField::StackSize).unwrap_or(0),
            flags: int(CodeField::Flags).unwrap_or(0),
            names,
        };
        if counts.refused(localsplus, self.format.python2()).is_some() {
            return None;
        }
        self.close(me, base);
        let first = u32::try_from(self.s.ints.len()).ok()?;
        self.s.ints.extend_from_slice(&ints[..nints]);
        // A code object is its own value (never merged with an equal one).
        let n = &mut self.s.nodes[me as usize];
        n.ints = first;
        n.done = true;
        Some(me)
    }

    /// Move the children parsed since `base` into `kids`, as `me`'s.
    fn close(&mut self, me: u32, base: usize) {
        let start = self.s.kids.len() as u32;
        self.s.kids.extend(self.s.pending.drain(base..));
        let n = &mut self.s.nodes[me as usize];
        n.start = start;
        n.len = self.s.kids.len() as u32 - start;
    }

    /// Give a finished node its value id (the first equal node's) and mark it done.
    fn finish(&mut self, me: u32) {
        if !self.values {
            self.s.nodes[me as usize].done = true;
            return;
        }
        let s = &mut *self.s;
        let data = self.data;
        let h = value_hash(self.hasher, &s.nodes, &s.kids, data, me);
        let found = {
            let (nodes, kids) = (&s.nodes, &s.kids);
            s.values
                .find(h, |&rep| same_value(nodes, kids, data, rep, me))
                .copied()
        };
        let val = match found {
            Some(rep) => rep,
            None => {
                let hasher = self.hasher;
                let (nodes, kids) = (&s.nodes, &s.kids);
                s.values
                    .insert_unique(h, me, |&rep| value_hash(hasher, nodes, kids, data, rep));
                me
            }
        };
        let n = &mut s.nodes[me as usize];
        n.val = val;
        n.done = true;
    }
}

/// The kind of a str read under an interned type code or not.
fn str_kind(interned: bool) -> Kind {
    if interned {
        Kind::InternedStr
    } else {
        Kind::Str
    }
}

/// Hash of a node's value: kind and payload bytes, or kind and the value ids of the items in
/// order (a frozenset's too: two frozensets are one value only if they iterate alike).
fn value_hash(
    hasher: &hashbrown::DefaultHashBuilder,
    nodes: &[Node],
    kids: &[u32],
    data: &[u8],
    me: u32,
) -> u64 {
    let n = &nodes[me as usize];
    let mut h = hasher.build_hasher();
    (n.kind as u8).hash(&mut h);
    match n.kind {
        Kind::Tuple | Kind::FrozenSet | Kind::Slice => {
            for &k in &kids[n.start as usize..(n.start + n.len) as usize] {
                h.write_u32(nodes[k as usize].val);
            }
        }
        _ => h.write(&data[n.start as usize..(n.start + n.len) as usize]),
    }
    h.finish()
}

fn same_value(nodes: &[Node], kids: &[u32], data: &[u8], a: u32, b: u32) -> bool {
    let (x, y) = (&nodes[a as usize], &nodes[b as usize]);
    if x.kind != y.kind || x.len != y.len {
        return false;
    }
    match x.kind {
        Kind::Tuple | Kind::FrozenSet | Kind::Slice => {
            let xs = &kids[x.start as usize..(x.start + x.len) as usize];
            let ys = &kids[y.start as usize..(y.start + y.len) as usize];
            xs.iter()
                .zip(ys)
                .all(|(&p, &q)| nodes[p as usize].val == nodes[q as usize].val)
        }
        Kind::Code | Kind::Singleton => a == b,
        _ => {
            data[x.start as usize..(x.start + x.len) as usize]
                == data[y.start as usize..(y.start + y.len) as usize]
        }
    }
}

/// Pass 2: in write order, which values occur again (children are visited at a value's
/// first occurrence only; later ones become references).
fn mark_shared(s: &mut Scratch, root: u32) {
    let Scratch {
        nodes,
        kids,
        state,
        stack,
        ..
    } = s;
    state.clear();
    if state.len() < nodes.len() {
        state.resize(nodes.len(), 0);
    }
    stack.clear();
    stack.push(Task::Node(root));
    while let Some(t) = stack.pop() {
        let Task::Node(i) = t else { continue };
        let n = nodes[i as usize];
        if n.kind == Kind::Singleton {
            continue;
        }
        let st = &mut state[n.val as usize];
        if *st > 0 {
            *st = 2;
            continue;
        }
        *st = 1;
        if matches!(
            n.kind,
            Kind::Tuple | Kind::FrozenSet | Kind::Slice | Kind::Code
        ) {
            let ks = &kids[n.start as usize..(n.start + n.len) as usize];
            stack.extend(ks.iter().rev().map(|&k| Task::Node(k)));
        }
    }
}

/// Pass 3.
fn write(
    s: &mut Scratch,
    data: &[u8],
    root: u32,
    format: CodeFormat,
    out: &mut Vec<u8>,
) -> Option<()> {
    let Scratch {
        nodes,
        kids,
        ints,
        state,
        stack,
        ..
    } = s;
    let mut next_ref: u32 = 0;
    stack.clear();
    stack.push(Task::Node(root));
    while let Some(t) = stack.pop() {
        let i = match t {
            Task::Int(b) => {
                out.extend_from_slice(&b);
                continue;
            }
            Task::Node(i) => i,
        };
        let n = nodes[i as usize];
        if n.kind == Kind::Singleton {
            out.push(n.code);
            continue;
        }
        let st = state[n.val as usize];
        if st >= 3 {
            out.push(tc::REF);
            out.extend_from_slice(&(st - 3).to_le_bytes());
            continue;
        }
        let flag = if st == 2 {
            state[n.val as usize] = next_ref + 3;
            next_ref += 1;
            tc::FLAG_REF
        } else {
            0
        };
        let push_kids = |stack: &mut Vec<Task>| {
            let ks = &kids[n.start as usize..(n.start + n.len) as usize];
            stack.extend(ks.iter().rev().map(|&k| Task::Node(k)));
        };
        match n.kind {
            Kind::Tuple => {
                if n.len < 256 {
                    out.push(tc::SMALL_TUPLE | flag);
                    out.push(n.len as u8);
                } else {
                    out.push(tc::TUPLE | flag);
                    out.extend_from_slice(&n.len.to_le_bytes());
                }
                push_kids(stack);
            }
            Kind::FrozenSet => {
                out.push(tc::FROZENSET | flag);
                out.extend_from_slice(&n.len.to_le_bytes());
                push_kids(stack);
            }
            Kind::Slice => {
                out.push(tc::SLICE | flag);
                push_kids(stack);
            }
            Kind::Code => {
                out.push(tc::CODE | flag);
                // Fields in file order: integers inline, objects as children (pushed in
                // reverse, so they pop in order).
                let fields = format.fields();
                let mut oi = n.start + n.len;
                let mut ii = n.ints as usize + fields.iter().filter(|f| f.is_int()).count();
                for &field in fields.iter().rev() {
                    if field.is_int() {
                        ii -= 1;
                        stack.push(Task::Int(ints[ii]));
                    } else {
                        oi -= 1;
                        stack.push(Task::Node(kids[oi as usize]));
                    }
                }
            }
            _ => {
                if !write_leaf(&n, data, flag, out) {
                    return None;
                }
            }
        }
    }
    Some(())
}

fn write_leaf(n: &Node, data: &[u8], flag: u8, out: &mut Vec<u8>) -> bool {
    let payload = &data[n.start as usize..(n.start + n.len) as usize];
    match n.kind {
        Kind::Str => crate::marshal_write::write_str_v4(payload, false, flag, out),
        Kind::InternedStr => crate::marshal_write::write_str_v4(payload, true, flag, out),
        Kind::Bytes => {
            out.push(tc::STRING | flag);
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(payload);
        }
        // Payloads written as read (the parser checked them): the type code, then the bytes.
        Kind::Int | Kind::Long | Kind::Float | Kind::Complex => {
            let code = match n.kind {
                Kind::Int => tc::INT,
                Kind::Long => tc::LONG,
                Kind::Float => tc::BINARY_FLOAT,
                _ => tc::BINARY_COMPLEX,
            };
            out.push(code | flag);
            out.extend_from_slice(payload);
        }
        _ => return false,
    }
    true
}
