//! Moving compiled code to another path: the code cache's entries hold code compiled at one
//! file name, and a hit at another path needs the code the interpreter would give there.
//!
//! What a compile gives depends on the path only through `co_filename`, which the compiler
//! gives every code object of the module (`c_filename` in `Python/compile.c`: one str shared
//! by all of them from 3.0, a new 2.x `str` per code object in 2.7). A constant of equal value
//! is a separate object in the interpreter (checked live, 3.6–3.13), so moving the code is:
//! read the canonical body, give every `co_filename` slot a str with the new name (interned
//! or not as the old one), keep every other object, write the canonical form again. That
//! form is a normal form of the loaded value (equal values are one object, see
//! [`pyc_format::marshal_write`]), so a constant that equals the old name (merged with the
//! file name in the entry) stays behind as its own object, and one that equals the new name
//! is merged with it, exactly as in the canonical form of a compile at the new path (the
//! live tests compare the bytes for sources whose constants hold either name).
//!
//! It refuses (the caller compiles) where the model does not hold: code objects naming
//! different files, a file name that is not a str, a new name that is not ASCII (its str
//! then depends on the file system encoding of the worker) or that is identifier-like (such
//! strs can be interned by value). It also verifies: an entry that does not load is
//! [`Refused::Damaged`].
//!
//! The walks are iterative (no recursion whose depth the data controls), and shared objects
//! stay shared.

use std::collections::HashMap;
use std::sync::Arc;

use pyc_format::code::Code;
use pyc_format::marshal_write::{dumps, WriteOptions};
use pyc_format::object::PyBytes;
use pyc_format::{CodeFormat, ObjRef, Object, PyStr};

/// Why an entry was not moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The entry does not read as marshal data of this version (damaged or foreign).
    #[error("the entry does not load: {0}")]
    Damaged(String),
    /// The entry loads but moving it could differ from a compile at the new path.
    #[error("{0}")]
    NotMovable(&'static str),
}

fn ptr(o: &ObjRef) -> *const Object {
    Arc::as_ptr(o)
}

fn children(o: &Object) -> Vec<&ObjRef> {
    match o {
        Object::Tuple(v) | Object::List(v) | Object::Set(v) | Object::FrozenSet(v) => {
            v.iter().collect()
        }
        Object::Dict(kv) | Object::FrozenDict(kv) => kv.iter().flat_map(|(k, v)| [k, v]).collect(),
        Object::Slice(s) => s.iter().collect(),
        Object::Code(c) => code_fields(c).into_iter().map(|(_, o)| o).collect(),
        _ => Vec::new(),
    }
}

/// Every object field of a code object, with whether it is `co_filename`.
fn code_fields(c: &Code) -> Vec<(bool, &ObjRef)> {
    let mut v = vec![
        (false, &c.code),
        (false, &c.consts),
        (false, &c.names),
        (true, &c.filename),
        (false, &c.name),
        (false, &c.linetable),
    ];
    for o in [
        &c.varnames,
        &c.freevars,
        &c.cellvars,
        &c.localsplusnames,
        &c.localspluskinds,
        &c.qualname,
        &c.exceptiontable,
    ]
    .into_iter()
    .flatten()
    {
        v.push((false, o));
    }
    v
}

/// The text of a str or 2.x str, as marshal stores it.
fn text_bytes(o: &Object) -> Option<&[u8]> {
    match o {
        Object::Str(s) => Some(s.utf8_bytes()),
        Object::Bytes(b) => Some(&b.data),
        _ => None,
    }
}

fn identifier_like(b: &[u8]) -> bool {
    b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The canonical marshal body of `body` (canonical marshal data of a module's code, as the
/// code cache keeps it) compiled as `dfile` instead of the name it holds.
pub fn relocate(
    body: &[u8],
    format: CodeFormat,
    marshal_version: u8,
    dfile: &[u8],
) -> Result<Vec<u8>, Refused> {
    let root =
        pyc_format::marshal::loads(body, format).map_err(|e| Refused::Damaged(e.to_string()))?;
    let Object::Code(top) = &*root else {
        return Err(Refused::Damaged("not a code object".into()));
    };
    let old_text = text_bytes(&top.filename)
        .ok_or(Refused::NotMovable("co_filename is not a str"))?
        .to_vec();
    if !dfile.is_ascii() {
        return Err(Refused::NotMovable("the new file name is not ASCII"));
    }
    if identifier_like(dfile) || identifier_like(&old_text) {
        return Err(Refused::NotMovable("an identifier-like file name"));
    }
    let options = WriteOptions {
        marshal_version,
        format,
    };
    if old_text == dfile {
        // Loaded (verified) and the same name: the body as the writer gives it.
        return dumps(&root, options).map_err(|e| Refused::Damaged(e.to_string()));
    }

    // Pass 1: every distinct object once (depth-first, heap stack), to find the file-name
    // objects (one shared by all code objects from 3.0, one per code object in 2.7), which
    // must all hold the old name.
    let mut filenames: HashMap<*const Object, ObjRef> = HashMap::new();
    let mut seen: HashMap<*const Object, ()> = HashMap::new();
    let mut stack = vec![root.clone()];
    seen.insert(ptr(&root), ());
    while let Some(o) = stack.pop() {
        let edges: Vec<(bool, &ObjRef)> = match &*o {
            Object::Code(c) => code_fields(c),
            other => children(other).into_iter().map(|c| (false, c)).collect(),
        };
        for (is_filename, ch) in edges {
            if is_filename {
                if text_bytes(ch) != Some(old_text.as_slice()) {
                    return Err(Refused::NotMovable("the code objects name different files"));
                }
                filenames.insert(ptr(ch), ch.clone());
            }
            if seen.insert(ptr(ch), ()).is_none() {
                stack.push(ch.clone());
            }
        }
    }

    // The new file-name objects, for the `co_filename` slots only: an equal constant merged
    // with the old one in the entry keeps its value.
    let mut renamed: HashMap<*const Object, ObjRef> = HashMap::new();
    for (p, old) in &filenames {
        let value = match &**old {
            Object::Str(s) => {
                let text = std::str::from_utf8(dfile)
                    .map_err(|_| Refused::NotMovable("the new file name is not ASCII"))?;
                Object::Str(PyStr::new(text, s.interned))
            }
            Object::Bytes(b) => Object::Bytes(PyBytes {
                data: dfile.into(),
                interned: b.interned,
            }),
            _ => return Err(Refused::NotMovable("co_filename is not a str")),
        };
        renamed.insert(*p, Arc::new(value));
    }

    // Pass 2: rebuild the code objects and what contains them, children before parents;
    // every other object is kept as it is (the same `Arc`, so sharing is unchanged).
    let mut new: HashMap<*const Object, ObjRef> = HashMap::new();
    let map = |o: &ObjRef, new: &HashMap<*const Object, ObjRef>| -> ObjRef {
        new.get(&ptr(o)).cloned().unwrap_or_else(|| o.clone())
    };
    for o in post_order(&root) {
        let rebuilt = match &*o {
            Object::Code(c) => {
                let m = |f: &ObjRef| map(f, &new);
                let mo = |f: &Option<ObjRef>| f.as_ref().map(|f| map(f, &new));
                Some(Object::Code(Arc::new(Code {
                    code: m(&c.code),
                    consts: m(&c.consts),
                    names: m(&c.names),
                    varnames: mo(&c.varnames),
                    freevars: mo(&c.freevars),
                    cellvars: mo(&c.cellvars),
                    localsplusnames: mo(&c.localsplusnames),
                    localspluskinds: mo(&c.localspluskinds),
                    filename: renamed
                        .get(&ptr(&c.filename))
                        .cloned()
                        .unwrap_or_else(|| c.filename.clone()),
                    name: m(&c.name),
                    qualname: mo(&c.qualname),
                    linetable: m(&c.linetable),
                    exceptiontable: mo(&c.exceptiontable),
                    ..(**c).clone()
                })))
            }
            other => {
                let kids = children(other);
                if kids.iter().any(|k| new.contains_key(&ptr(k))) {
                    let m = |f: &ObjRef| map(f, &new);
                    Some(match other {
                        Object::Tuple(v) => Object::Tuple(v.iter().map(m).collect()),
                        Object::List(v) => Object::List(v.iter().map(m).collect()),
                        Object::Set(v) => Object::Set(v.iter().map(m).collect()),
                        Object::FrozenSet(v) => Object::FrozenSet(v.iter().map(m).collect()),
                        Object::Dict(kv) => {
                            Object::Dict(kv.iter().map(|(k, v)| (m(k), m(v))).collect())
                        }
                        Object::FrozenDict(kv) => {
                            Object::FrozenDict(kv.iter().map(|(k, v)| (m(k), m(v))).collect())
                        }
                        Object::Slice(s) => Object::Slice(Box::new([m(&s[0]), m(&s[1]), m(&s[2])])),
                        _ => continue,
                    })
                } else {
                    None
                }
            }
        };
        if let Some(r) = rebuilt {
            new.insert(ptr(&o), Arc::new(r));
        }
    }
    let root = map(&root, &new);
    dumps(&root, options).map_err(|e| Refused::Damaged(e.to_string()))
}

/// Every distinct object below `root`, each after all its children (iterative).
fn post_order(root: &ObjRef) -> Vec<ObjRef> {
    let mut out = Vec::new();
    let mut done: HashMap<*const Object, ()> = HashMap::new();
    // (object, children pushed yet)
    let mut stack: Vec<(ObjRef, bool)> = vec![(root.clone(), false)];
    while let Some((o, expanded)) = stack.pop() {
        if done.contains_key(&ptr(&o)) {
            continue;
        }
        if expanded {
            done.insert(ptr(&o), ());
            out.push(o);
            continue;
        }
        stack.push((o.clone(), true));
        for ch in children(&o) {
            if !done.contains_key(&ptr(ch)) {
                stack.push((ch.clone(), false));
            }
        }
    }
    out
}

/// The file name entries are kept under: made from the entry's key, which hashes the source,
/// so no constant of the source can equal it (it would have to contain the hash of itself),
/// and it is never merged with a constant in the canonical form. ASCII, under 256 bytes, not
/// identifier-like.
pub fn neutral_name(key_hex: &str) -> Vec<u8> {
    format!("<pyc code cache {key_hex}>").into_bytes()
}

/// [`relocate`] for an entry kept under [`neutral_name`] `from`, straight on the bytes
/// (3.x, marshal 4+): the one short-ASCII str record holding `from` is replaced by one holding
/// `dfile` (same interning, same reference flag; back-reference numbers do not depend on
/// string contents), and the result is read in full by the fast canonical reader
/// ([`pyc_format::canonical_fast::check_marshal`]: every object, every code field's type,
/// nothing after the code object). The result is the canonical form at `dfile` without
/// computing it again: the entry was stored in canonical form ([`relocate`] to `from`), and
/// the swap makes no two values equal that were not (no str equals `dfile`: its bytes occur
/// nowhere in the entry) nor parts two that were (`from` occurs once). `None` where that
/// does not apply (a constant equal to the new name, which the canonical form would merge
/// with it; 2.7; the read fails): the caller then takes [`relocate`].
pub fn relocate_fast(
    body: &[u8],
    format: CodeFormat,
    marshal_version: u8,
    from: &[u8],
    dfile: &[u8],
) -> Option<Vec<u8>> {
    use pyc_format::marshal::type_code as tc;
    if format.python2() || !(4..=6).contains(&marshal_version) {
        return None;
    }
    if !dfile.is_ascii() || identifier_like(dfile) || from.len() >= 256 {
        return None;
    }
    if memchr::memmem::find(body, dfile).is_some() {
        return None;
    }
    let mut found = memchr::memmem::find_iter(body, from);
    let at = found.next()?;
    if found.next().is_some() || at < 2 || usize::from(body[at - 1]) != from.len() {
        return None;
    }
    let code = body[at - 2];
    let flag = code & tc::FLAG_REF;
    let interned = match code & !tc::FLAG_REF {
        tc::SHORT_ASCII => false,
        tc::SHORT_ASCII_INTERNED => true,
        _ => return None,
    };
    let mut out = Vec::with_capacity(body.len() + dfile.len() + 3);
    out.extend_from_slice(&body[..at - 2]);
    match (u8::try_from(dfile.len()), interned) {
        (Ok(n), false) => out.extend([tc::SHORT_ASCII | flag, n]),
        (Ok(n), true) => out.extend([tc::SHORT_ASCII_INTERNED | flag, n]),
        (Err(_), i) => {
            out.push(if i { tc::ASCII_INTERNED } else { tc::ASCII } | flag);
            out.extend_from_slice(&(dfile.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(dfile);
    out.extend_from_slice(&body[at + from.len()..]);
    thread_local! {
        static SCRATCH: std::cell::RefCell<pyc_format::canonical_fast::Scratch> =
            std::cell::RefCell::default();
    }
    let end = SCRATCH.with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        let r =
            pyc_format::canonical_fast::check_marshal(&out, marshal_version, format, &mut scratch);
        scratch.trim();
        r
    })?;
    (end == out.len()).then_some(out)
}
