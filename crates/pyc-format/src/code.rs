//! Code objects of every CPython version behind one view.
//!
//! [`Code`] holds the fields of a marshalled code object as read (each an [`ObjRef`], so a
//! writer can reproduce the file's sharing) plus the integer fields. Fields a version does not
//! have are `None` or 0; the accessors derive the missing views the way CPython does:
//!
//! * ≤3.10 store `co_varnames`, `co_freevars`, `co_cellvars`; 3.11+ store
//!   `co_localsplusnames` + `co_localspluskinds` and derive the three tuples from the kinds
//!   (`Objects/codeobject.c`). [`Code::varnames`], [`Code::cellvars`], [`Code::freevars`] and
//!   [`Code::localsplus`] work for every version.
//! * `co_nlocals` is stored up to 3.10 and derived (number of `CO_FAST_LOCAL` names) from 3.11.
//! * `co_lnotab` (≤3.9), `co_linetable` (3.10 PEP 626, 3.11+ PEP 657 location table) are all in
//!   [`Code::linetable`]; [`CodeFormat`] says which.
//!
//! Which field layout a pyc uses is decided by its magic number: [`CodeFormat::for_magic`].

use std::borrow::Cow;

use crate::object::ObjRef;
use crate::version::{CodeLayout, PyVersion};
use crate::{lookup_magic, version_info};

/// The field layout of a marshalled code object (finer than [`CodeLayout`]: it also knows
/// the pre-release magics whose layout differs from their final release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeFormat {
    /// 1.5–2.0: i16 argcount, nlocals, stacksize, flags; no free/cell vars; i16 firstlineno.
    Py15,
    /// 2.1–2.2: as 1.5 plus freevars, cellvars.
    Py21,
    /// 2.3–2.7: i32 counts.
    Py23,
    /// 3.0–3.7 (and 3.8 pre-release magics 3400, 3401): adds kwonlyargcount.
    Py30,
    /// 3.8–3.9 (from magic 3410): adds posonlyargcount.
    Py38,
    /// 3.10: `co_linetable` (PEP 626) in place of `co_lnotab`, same position.
    Py310,
    /// 3.11+ (from magic 3494): no nlocals; localsplus names + kinds, qualname, PEP 657
    /// location table, exception table.
    Py311,
}

impl CodeFormat {
    /// The layout for a magic number, `None` where pyc does not model it (the 3.11 alphas
    /// 3450–3493, whose layouts changed every few magics).
    pub fn for_magic(magic: u16, version: PyVersion) -> Option<CodeFormat> {
        // Pre-release overrides: rows of (first magic, last magic, layout).
        const OVERRIDES: &[(u16, u16, Option<CodeFormat>)] = &[
            (3400, 3401, Some(CodeFormat::Py30)), // 3.8a1 before PEP 570
            (3450, 3493, None),                   // 3.11 alphas
        ];
        if let Some(&(_, _, f)) = OVERRIDES
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&magic))
        {
            return f;
        }
        let version = lookup_magic(magic).map(|e| e.version).unwrap_or(version);
        let layout = version_info(version).map(|v| v.code_layout)?;
        Some(match layout {
            CodeLayout::Py15 if version >= PyVersion::new(2, 1) => CodeFormat::Py21,
            CodeLayout::Py15 => CodeFormat::Py15,
            CodeLayout::Py23 => CodeFormat::Py23,
            CodeLayout::Py30 => CodeFormat::Py30,
            CodeLayout::Py38 => CodeFormat::Py38,
            CodeLayout::Py310 => CodeFormat::Py310,
            CodeLayout::Py311 => CodeFormat::Py311,
        })
    }

    /// Python 2 (or older): `s` is `str`, names are `str` (bytes), `t`/`R` are interned strings.
    pub fn python2(self) -> bool {
        self <= CodeFormat::Py23
    }

    pub fn has_kwonly(self) -> bool {
        self >= CodeFormat::Py30
    }

    pub fn has_posonly(self) -> bool {
        self >= CodeFormat::Py38
    }

    pub fn has_localsplus(self) -> bool {
        self >= CodeFormat::Py311
    }
}

/// One field of a marshalled code object, in CPython's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeField {
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    FreeVars,
    CellVars,
    LocalsPlusNames,
    LocalsPlusKinds,
    Filename,
    Name,
    QualName,
    FirstLineNo,
    LineTable,
    ExceptionTable,
}

impl CodeField {
    /// An integer field (i16 before 2.3, i32 after), not a nested object.
    pub fn is_int(self) -> bool {
        use CodeField::*;
        matches!(
            self,
            ArgCount | PosOnlyArgCount | KwOnlyArgCount | NLocals | StackSize | Flags | FirstLineNo
        )
    }

    /// The attribute name as the code objects of `format` call it: the line table was
    /// `co_lnotab` before 3.10.
    pub fn attr_in(self, format: CodeFormat) -> &'static str {
        match self {
            CodeField::LineTable if format < CodeFormat::Py310 => "co_lnotab",
            _ => self.attr(),
        }
    }

    /// The attribute name (`co_argcount`...), as the newest versions call it.
    pub fn attr(self) -> &'static str {
        use CodeField::*;
        match self {
            ArgCount => "co_argcount",
            PosOnlyArgCount => "co_posonlyargcount",
            KwOnlyArgCount => "co_kwonlyargcount",
            NLocals => "co_nlocals",
            StackSize => "co_stacksize",
            Flags => "co_flags",
            Code => "co_code",
            Consts => "co_consts",
            Names => "co_names",
            VarNames => "co_varnames",
            FreeVars => "co_freevars",
            CellVars => "co_cellvars",
            LocalsPlusNames => "co_localsplusnames",
            LocalsPlusKinds => "co_localspluskinds",
            Filename => "co_filename",
            Name => "co_name",
            QualName => "co_qualname",
            FirstLineNo => "co_firstlineno",
            LineTable => "co_linetable",
            ExceptionTable => "co_exceptiontable",
        }
    }
}

mod fields {
    use super::CodeField;
    use super::CodeField::*;
    pub static PY15: &[CodeField] = &[
        ArgCount,
        NLocals,
        StackSize,
        Flags,
        Code,
        Consts,
        Names,
        VarNames,
        Filename,
        Name,
        FirstLineNo,
        LineTable,
    ];
    pub static PY21: &[CodeField] = &[
        ArgCount,
        NLocals,
        StackSize,
        Flags,
        Code,
        Consts,
        Names,
        VarNames,
        FreeVars,
        CellVars,
        Filename,
        Name,
        FirstLineNo,
        LineTable,
    ];
    pub static PY30: &[CodeField] = &[
        ArgCount,
        KwOnlyArgCount,
        NLocals,
        StackSize,
        Flags,
        Code,
        Consts,
        Names,
        VarNames,
        FreeVars,
        CellVars,
        Filename,
        Name,
        FirstLineNo,
        LineTable,
    ];
    pub static PY38: &[CodeField] = &[
        ArgCount,
        PosOnlyArgCount,
        KwOnlyArgCount,
        NLocals,
        StackSize,
        Flags,
        Code,
        Consts,
        Names,
        VarNames,
        FreeVars,
        CellVars,
        Filename,
        Name,
        FirstLineNo,
        LineTable,
    ];
    pub static PY311: &[CodeField] = &[
        ArgCount,
        PosOnlyArgCount,
        KwOnlyArgCount,
        StackSize,
        Flags,
        Code,
        Consts,
        Names,
        LocalsPlusNames,
        LocalsPlusKinds,
        Filename,
        Name,
        QualName,
        FirstLineNo,
        LineTable,
        ExceptionTable,
    ];
}

impl CodeFormat {
    /// The fields in file order (`Python/marshal.c`, `r_object` case `TYPE_CODE`).
    pub fn fields(self) -> &'static [CodeField] {
        match self {
            CodeFormat::Py15 => fields::PY15,
            CodeFormat::Py21 | CodeFormat::Py23 => fields::PY21,
            CodeFormat::Py30 => fields::PY30,
            CodeFormat::Py38 | CodeFormat::Py310 => fields::PY38,
            CodeFormat::Py311 => fields::PY311,
        }
    }

    /// Bytes per integer field: 2 before 2.3, 4 after.
    pub fn int_width(self) -> usize {
        if self >= CodeFormat::Py23 {
            4
        } else {
            2
        }
    }
}

/// `co_flags` bits for `*args` and `**kwargs` (the same value in every version).
pub const CO_VARARGS: u32 = 0x0004;
pub const CO_VARKEYWORDS: u32 = 0x0008;

/// `co_localspluskinds` bits (`Include/internal/pycore_code.h`, 3.11+).
pub const CO_FAST_HIDDEN: u8 = 0x10;
pub const CO_FAST_LOCAL: u8 = 0x20;
pub const CO_FAST_CELL: u8 = 0x40;
pub const CO_FAST_FREE: u8 = 0x80;

/// One code object.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub format: CodeFormat,
    /// The Python version of the pyc it was read from (`None` for bare marshal data read
    /// with [`crate::marshal::loads`]).
    pub version: Option<PyVersion>,
    pub argcount: i32,
    /// 0 before 3.8.
    pub posonlyargcount: i32,
    /// 0 before 3.0.
    pub kwonlyargcount: i32,
    /// Stored up to 3.10; from 3.11 the number of `CO_FAST_LOCAL` names.
    pub nlocals: i32,
    pub stacksize: i32,
    pub flags: u32,
    /// `co_code`: bytes.
    pub code: ObjRef,
    /// `co_consts`: tuple.
    pub consts: ObjRef,
    /// `co_names`: tuple of str.
    pub names: ObjRef,
    /// ≤3.10: `co_varnames`, `co_freevars`, `co_cellvars` (free/cell from 2.1).
    pub varnames: Option<ObjRef>,
    pub freevars: Option<ObjRef>,
    pub cellvars: Option<ObjRef>,
    /// 3.11+: `co_localsplusnames` (tuple of str), `co_localspluskinds` (bytes).
    pub localsplusnames: Option<ObjRef>,
    pub localspluskinds: Option<ObjRef>,
    pub filename: ObjRef,
    pub name: ObjRef,
    /// 3.11+.
    pub qualname: Option<ObjRef>,
    pub firstlineno: i32,
    /// `co_lnotab` up to 3.9, `co_linetable` from 3.10: bytes.
    pub linetable: ObjRef,
    /// 3.11+: `co_exceptiontable`, bytes.
    pub exceptiontable: Option<ObjRef>,
}

fn tuple(o: &ObjRef) -> &[ObjRef] {
    o.as_tuple().unwrap_or(&[])
}

fn bytes(o: &ObjRef) -> &[u8] {
    o.as_bytes().unwrap_or(&[])
}

fn text(o: &ObjRef) -> Cow<'_, str> {
    o.as_text().unwrap_or(Cow::Borrowed(""))
}

/// The value of one field of a code object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Int(i64),
    Obj(&'a ObjRef),
}

impl Code {
    /// The value of `field`, `None` for a field this code object's format does not have.
    pub fn field(&self, field: CodeField) -> Option<FieldValue<'_>> {
        use FieldValue::{Int, Obj};
        Some(match field {
            CodeField::ArgCount => Int(self.argcount.into()),
            CodeField::PosOnlyArgCount => Int(self.posonlyargcount.into()),
            CodeField::KwOnlyArgCount => Int(self.kwonlyargcount.into()),
            CodeField::NLocals => Int(self.nlocals.into()),
            CodeField::StackSize => Int(self.stacksize.into()),
            CodeField::Flags => Int(self.flags.into()),
            CodeField::FirstLineNo => Int(self.firstlineno.into()),
            CodeField::Code => Obj(&self.code),
            CodeField::Consts => Obj(&self.consts),
            CodeField::Names => Obj(&self.names),
            CodeField::VarNames => Obj(self.varnames.as_ref()?),
            CodeField::FreeVars => Obj(self.freevars.as_ref()?),
            CodeField::CellVars => Obj(self.cellvars.as_ref()?),
            CodeField::LocalsPlusNames => Obj(self.localsplusnames.as_ref()?),
            CodeField::LocalsPlusKinds => Obj(self.localspluskinds.as_ref()?),
            CodeField::Filename => Obj(&self.filename),
            CodeField::Name => Obj(&self.name),
            CodeField::QualName => Obj(self.qualname.as_ref()?),
            CodeField::LineTable => Obj(&self.linetable),
            CodeField::ExceptionTable => Obj(self.exceptiontable.as_ref()?),
        })
    }

    /// `co_code`.
    pub fn co_code(&self) -> &[u8] {
        bytes(&self.code)
    }

    /// `co_consts`.
    pub fn consts(&self) -> &[ObjRef] {
        tuple(&self.consts)
    }

    /// `co_names`.
    pub fn names(&self) -> &[ObjRef] {
        tuple(&self.names)
    }

    /// `co_name`.
    pub fn name(&self) -> Cow<'_, str> {
        text(&self.name)
    }

    /// `co_qualname` (3.11+), else `co_name`.
    pub fn qualname(&self) -> Cow<'_, str> {
        match &self.qualname {
            Some(q) => text(q),
            None => self.name(),
        }
    }

    /// `co_filename`.
    pub fn filename(&self) -> Cow<'_, str> {
        text(&self.filename)
    }

    /// `co_lnotab` (≤3.9) or `co_linetable` (3.10+).
    pub fn linetable_bytes(&self) -> &[u8] {
        bytes(&self.linetable)
    }

    /// `co_exceptiontable` (3.11+; empty before).
    pub fn exceptiontable_bytes(&self) -> &[u8] {
        self.exceptiontable.as_ref().map(bytes).unwrap_or(&[])
    }

    /// `co_localspluskinds` (3.11+; empty before).
    pub fn localspluskinds_bytes(&self) -> &[u8] {
        self.localspluskinds.as_ref().map(bytes).unwrap_or(&[])
    }

    fn localsplus_with(&self, mask: u8) -> Vec<ObjRef> {
        let names = self.localsplusnames.as_ref().map(tuple).unwrap_or(&[]);
        let kinds = self.localspluskinds_bytes();
        names
            .iter()
            .zip(kinds)
            .filter(|(_, &k)| k & mask != 0)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// `co_varnames`, for every version.
    pub fn varnames(&self) -> Vec<ObjRef> {
        match &self.varnames {
            Some(v) => tuple(v).to_vec(),
            None => self.localsplus_with(CO_FAST_LOCAL),
        }
    }

    /// `co_cellvars`, for every version.
    pub fn cellvars(&self) -> Vec<ObjRef> {
        if self.format.has_localsplus() {
            self.localsplus_with(CO_FAST_CELL)
        } else {
            self.cellvars.as_ref().map(tuple).unwrap_or(&[]).to_vec()
        }
    }

    /// `co_freevars`, for every version.
    pub fn freevars(&self) -> Vec<ObjRef> {
        if self.format.has_localsplus() {
            self.localsplus_with(CO_FAST_FREE)
        } else {
            self.freevars.as_ref().map(tuple).unwrap_or(&[]).to_vec()
        }
    }

    /// Locals-plus names and kinds, for every version. 3.11+: as stored. ≤3.10: built as
    /// 3.11's compiler does: varnames (`CO_FAST_LOCAL`, plus `CO_FAST_CELL` for an argument
    /// that is also a cell), the other cellvars, then freevars.
    pub fn localsplus(&self) -> Vec<(ObjRef, u8)> {
        if let (Some(names), Some(_)) = (&self.localsplusnames, &self.localspluskinds) {
            return tuple(names)
                .iter()
                .cloned()
                .zip(self.localspluskinds_bytes().iter().copied())
                .collect();
        }
        let cells = self.cellvars();
        let varnames = self.varnames();
        let mut out: Vec<(ObjRef, u8)> = varnames
            .iter()
            .map(|v| {
                let cell = cells.iter().any(|c| c == v);
                (
                    v.clone(),
                    CO_FAST_LOCAL | if cell { CO_FAST_CELL } else { 0 },
                )
            })
            .collect();
        out.extend(
            cells
                .iter()
                .filter(|c| !varnames.contains(c))
                .map(|c| (c.clone(), CO_FAST_CELL)),
        );
        out.extend(self.freevars().into_iter().map(|f| (f, CO_FAST_FREE)));
        out
    }

    /// The code objects among `co_consts`, in order.
    pub fn nested_code(&self) -> impl Iterator<Item = &Code> {
        self.consts().iter().filter_map(|c| c.as_code())
    }
}

/// Names of `co_flags` bits as `dis.COMPILER_FLAG_NAMES` of a version has them; rows are
/// (first version, bit, name), checked against each interpreter by `scripts/gen_marshal.py`.
pub static COMPILER_FLAG_NAMES: &[(PyVersion, u32, &str)] = &[
    (PyVersion::new(2, 0), 0x0001, "OPTIMIZED"),
    (PyVersion::new(2, 0), 0x0002, "NEWLOCALS"),
    (PyVersion::new(2, 0), 0x0004, "VARARGS"),
    (PyVersion::new(2, 0), 0x0008, "VARKEYWORDS"),
    (PyVersion::new(2, 0), 0x0010, "NESTED"),
    (PyVersion::new(2, 0), 0x0020, "GENERATOR"),
    (PyVersion::new(2, 0), 0x0040, "NOFREE"),
    (PyVersion::new(3, 5), 0x0080, "COROUTINE"),
    (PyVersion::new(3, 5), 0x0100, "ITERABLE_COROUTINE"),
    (PyVersion::new(3, 6), 0x0200, "ASYNC_GENERATOR"),
    (PyVersion::new(3, 14), 0x0400_0000, "HAS_DOCSTRING"),
    (PyVersion::new(3, 14), 0x0800_0000, "METHOD"),
];

/// `dis.pretty_flags(flags)` of the given version: each set bit, low to high, by its name or
/// as `hex(bit)`; `0x0` for no flags. (2.7's `dis` has no pretty_flags; its `inspect` names the
/// same bits.)
pub fn pretty_flags(flags: u32, version: PyVersion) -> String {
    if flags == 0 {
        return "0x0".to_string();
    }
    let mut names = Vec::new();
    for i in 0..32 {
        let bit = 1u32 << i;
        if flags & bit == 0 {
            continue;
        }
        match COMPILER_FLAG_NAMES
            .iter()
            .find(|(since, b, _)| *b == bit && version >= *since)
        {
            Some((_, _, n)) => names.push(n.to_string()),
            None => names.push(format!("{bit:#x}")),
        }
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_magic() {
        let f = |m, a, b| CodeFormat::for_magic(m, PyVersion::new(a, b));
        assert_eq!(f(62211, 2, 7), Some(CodeFormat::Py23));
        assert_eq!(f(60202, 2, 1), Some(CodeFormat::Py21));
        assert_eq!(f(3394, 3, 7), Some(CodeFormat::Py30));
        assert_eq!(f(3401, 3, 8), Some(CodeFormat::Py30));
        assert_eq!(f(3413, 3, 8), Some(CodeFormat::Py38));
        assert_eq!(f(3439, 3, 10), Some(CodeFormat::Py310));
        assert_eq!(f(3460, 3, 11), None);
        assert_eq!(f(3495, 3, 11), Some(CodeFormat::Py311));
        assert_eq!(f(3627, 3, 14), Some(CodeFormat::Py311));
    }

    #[test]
    fn flags() {
        let v = PyVersion::new(3, 12);
        assert_eq!(pretty_flags(0x3, v), "OPTIMIZED, NEWLOCALS");
        assert_eq!(pretty_flags(0, v), "0x0");
        assert_eq!(pretty_flags(0x1000040, v), "NOFREE, 0x1000000");
    }
}
