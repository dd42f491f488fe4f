//! Building the disassembler's [`model::Code`] from a marshalled code object.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use pyc_format::{ObjRef, PyVersion};

use crate::model::{Blob, Code, Const, Name};
use crate::num::{concat, Digits};
use pyc_format::repr_limited;

/// Names of a pyc, by the address of their marshal object: shared strings are converted once.
type Names = FxHashMap<*const pyc_format::Object, Name>;

fn texts(items: &[ObjRef], names: &mut Names) -> Vec<Name> {
    items.iter().map(|o| text(o, names)).collect()
}

fn text(o: &ObjRef, names: &mut Names) -> Name {
    names
        .entry(Arc::as_ptr(o))
        .or_insert_with(|| Name::from(o.as_text().unwrap_or_default().as_ref()))
        .clone()
}

/// The address printed in code-object reprs: real addresses cannot be known (the same
/// placeholder as `pyc_format::repr`).
pub const PLACEHOLDER_ADDRESS: &str = "0x0";

/// `repr(code)`: `<code object NAME at 0x..., file "FILE", line N>`.
pub fn code_repr(c: &pyc_format::Code, version: PyVersion) -> String {
    let (name, file) = (c.name(), c.filename());
    let (name, file): (&str, &str) = if version.major < 3 {
        // 2.7 formats with %.100s and %.300s.
        (prefix_chars(&name, 100), prefix_chars(&file, 300))
    } else {
        (&name, &file)
    };
    let mut line = Digits::new();
    concat(&[
        "<code object ",
        name,
        " at ",
        PLACEHOLDER_ADDRESS,
        ", file \"",
        file,
        "\", line ",
        line.format(i64::from(c.firstlineno)),
        ">",
    ])
}

/// The first `n` characters of `s`.
fn prefix_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The disassembler's view of `c`, a code object of CPython `version`, with its nested code
/// objects. A code object shared through marshal references is converted once and shared.
///
/// A constant whose `repr` the version refuses (an int past 3.7+'s 4,300-digit limit) gets an
/// empty repr here; [`from_marshal_checked`] says so instead.
pub fn from_marshal(c: &pyc_format::Code, version: PyVersion) -> Code {
    let mut memo = Memo::new();
    convert(c, version, &mut memo)
}

/// [`from_marshal`], or the `ValueError` CPython's `dis` of `version` raises on the way: the
/// `repr` of a constant that is an int of more than 4,300 digits (3.7+), decided on the
/// int's size without converting it (issue 16: a 2 MB int took minutes to print).
pub fn from_marshal_checked(
    c: &pyc_format::Code,
    version: PyVersion,
) -> Result<Code, pyc_format::ReprError> {
    let mut memo = Memo::new();
    let code = convert(c, version, &mut memo);
    match memo.repr_error {
        Some(e) => Err(e),
        None => Ok(code),
    }
}

struct Memo {
    codes: FxHashMap<*const pyc_format::Code, Arc<Code>>,
    names: Names,
    /// The first constant whose repr the version refuses.
    repr_error: Option<pyc_format::ReprError>,
}

impl Memo {
    fn new() -> Memo {
        Memo {
            codes: FxHashMap::default(),
            // Room for the names of a typical module from the start (no rehashing as it grows).
            names: Names::with_capacity_and_hasher(512, Default::default()),
            repr_error: None,
        }
    }
}

/// The code objects in `c`'s `co_consts`.
fn nested_codes(c: &pyc_format::Code) -> impl Iterator<Item = &pyc_format::Code> {
    c.consts().iter().filter_map(|o| o.as_code())
}

/// Converts `c` after every code object nested in it, innermost first, on a heap stack: code
/// objects can nest as deep as the pyc's back-references chain them (issue 16), so there is
/// no native recursion here.
fn convert(c: &pyc_format::Code, version: PyVersion, memo: &mut Memo) -> Code {
    let mut stack: Vec<(&pyc_format::Code, bool)> = nested_codes(c).map(|n| (n, false)).collect();
    while let Some((n, children_done)) = stack.pop() {
        let key = n as *const pyc_format::Code;
        if memo.codes.contains_key(&key) {
            continue;
        }
        if children_done {
            let done = Arc::new(convert_one(n, version, memo));
            memo.codes.insert(key, done);
        } else {
            stack.push((n, true));
            let pending = nested_codes(n)
                .filter(|m| !memo.codes.contains_key(&(*m as *const pyc_format::Code)));
            stack.extend(pending.map(|m| (m, false)).collect::<Vec<_>>());
        }
    }
    convert_one(c, version, memo)
}

/// One code object, whose nested code objects [`convert`] has already converted.
fn convert_one(c: &pyc_format::Code, version: PyVersion, memo: &mut Memo) -> Code {
    let consts = c
        .consts()
        .iter()
        .map(|o| {
            let code = o.as_code().map(|inner| {
                let key = inner as *const pyc_format::Code;
                // Always there (marshal graphs have no cycles); a stand-in otherwise.
                memo.codes.get(&key).cloned().unwrap_or_default()
            });
            Const {
                // A code constant's repr is the one its conversion made.
                repr: match &code {
                    Some(inner) => inner.repr.clone(),
                    None => match repr_limited(o, version) {
                        Ok(text) => text,
                        Err(e) => {
                            memo.repr_error.get_or_insert(e);
                            String::new()
                        }
                    },
                },
                code,
            }
        })
        .collect();
    let localsplus = c.format.has_localsplus();
    let varnames = if localsplus {
        texts(
            c.localsplusnames
                .as_ref()
                .and_then(|o| o.as_tuple())
                .unwrap_or(&[]),
            &mut memo.names,
        )
    } else {
        texts(&c.varnames(), &mut memo.names)
    };
    let cellfree = if localsplus {
        Vec::new()
    } else {
        let mut cellfree = texts(&c.cellvars(), &mut memo.names);
        cellfree.extend(texts(&c.freevars(), &mut memo.names));
        cellfree
    };
    let name = text(&c.name, &mut memo.names);
    Code {
        code: Blob::Shared(c.code.clone()),
        firstlineno: i64::from(c.firstlineno),
        linetable: Blob::Shared(c.linetable.clone()),
        exceptiontable: c
            .exceptiontable
            .clone()
            .map(Blob::Shared)
            .unwrap_or_default(),
        consts,
        names: texts(c.names(), &mut memo.names),
        varnames,
        cellfree,
        qualname: match &c.qualname {
            Some(q) => text(q, &mut memo.names),
            None => name.clone(),
        },
        name,
        filename: text(&c.filename, &mut memo.names),
        repr: code_repr(c, version),
    }
}
