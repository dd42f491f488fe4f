//! The view of a code object that disassembly needs, for every version.
//!
//! Built from a marshalled code object (see `from_marshal`); every string is already what that
//! version's `dis` prints (`repr(const)` of the target version, raw names).

/// Bytes of a code object (`co_code`, line and exception tables): owned, or shared with the
/// marshal object they were read into (no copy).
#[derive(Debug, Clone, Default)]
pub enum Blob {
    #[default]
    Empty,
    Owned(Vec<u8>),
    Shared(pyc_format::ObjRef),
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Empty => &[],
            Blob::Owned(v) => v,
            Blob::Shared(o) => o.as_bytes().unwrap_or(&[]),
        }
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Blob {
        Blob::Owned(v)
    }
}

/// A name (`co_names`, `co_varnames`, ...). Shared: each distinct name object of a pyc is
/// converted once.
pub type Name = std::sync::Arc<str>;

/// A constant of `co_consts`.
#[derive(Debug, Clone)]
pub struct Const {
    /// `repr(const)` as the code's own CPython prints it.
    pub repr: String,
    /// The constant is itself a code object.
    pub code: Option<std::sync::Arc<Code>>,
}

/// A code object, as `dis` uses it.
#[derive(Debug, Clone, Default)]
pub struct Code {
    /// `co_code`.
    pub code: Blob,
    pub firstlineno: i64,
    /// `co_lnotab` (≤3.9) or `co_linetable` (3.10+).
    pub linetable: Blob,
    /// `co_exceptiontable` (3.11+), else empty.
    pub exceptiontable: Blob,
    pub consts: Vec<Const>,
    pub names: Vec<Name>,
    /// ≤3.10 `co_varnames`; 3.11+ `co_localsplusnames` (`_varname_from_oparg`).
    pub varnames: Vec<Name>,
    /// ≤3.10 `co_cellvars + co_freevars` (the names of `hasfree` arguments); 3.11+
    /// `hasfree` arguments index `varnames`, and this is left empty.
    pub cellfree: Vec<Name>,
    pub name: Name,
    /// `co_qualname` (3.11+), else `co_name`.
    pub qualname: Name,
    /// Shared by the code objects of a pyc (one marshal object, converted once).
    pub filename: Name,
    /// `repr(code)`: `<code object NAME at 0x..., file "FILE", line N>`.
    pub repr: String,
}

/// Dropping code objects nested through back-references: the derived drop would recurse once
/// per level (issue 16). A constant's code object, when this is its last owner, is taken apart
/// on a heap stack instead (on `Const`, not `Code`, so that `Code { .., ..Code::default() }`
/// still works).
impl Drop for Const {
    fn drop(&mut self) {
        let mut stack: Vec<std::sync::Arc<Code>> = self.code.take().into_iter().collect();
        while let Some(child) = stack.pop() {
            if let Some(mut inner) = std::sync::Arc::into_inner(child) {
                // `inner` drops at the end of this turn with no nested code left in it.
                stack.extend(inner.consts.iter_mut().filter_map(|k| k.code.take()));
            }
        }
    }
}

impl Code {
    /// Nested code objects in `co_consts` order.
    pub fn nested(&self) -> impl Iterator<Item = &Code> {
        self.consts.iter().filter_map(|c| c.code.as_deref())
    }
}
