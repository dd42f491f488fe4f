//! Opcode tables of each CPython version, as data.
//!
//! `data/opcodes-X.Y.json` is written by `scripts/gen_opcodes.py` from each interpreter's own
//! `opcode` and `dis` modules (2.7 and 3.6-3.13 from pyenv, 3.14 and 3.15 under pyodide) and
//! is never edited by hand. This module only reads it.

use std::sync::OnceLock;

use pyc_format::PyVersion;
use serde::Deserialize;

/// One version's opcode metadata, in the words of its `opcode`/`dis` modules.
#[derive(Debug, Deserialize)]
pub struct OpTable {
    /// `sys.version` of the interpreter that produced the table.
    pub python: String,
    pub magic: u16,
    pub have_argument: u8,
    pub extended_arg: u8,
    /// `opcode.opname` (base names; `<N>` for unused numbers).
    pub opname: Vec<String>,
    /// `dis._all_opname` (3.11+: specialized names filled in), else `opname`.
    pub all_opname: Vec<String>,
    /// Specialized opcode → base opcode (`dis.deoptmap`), keys as decimal strings.
    pub deopt: std::collections::HashMap<String, u8>,
    pub hasarg: Vec<u8>,
    pub hasconst: Vec<u8>,
    pub hasname: Vec<u8>,
    pub hasjrel: Vec<u8>,
    pub hasjabs: Vec<u8>,
    pub hasjump: Option<Vec<u8>>,
    pub hasexc: Option<Vec<u8>>,
    pub haslocal: Vec<u8>,
    pub hasfree: Vec<u8>,
    pub hascompare: Vec<u8>,
    /// Opcodes for which `dis._is_backward_jump` is true.
    pub backward_jumps: Vec<u8>,
    /// Inline cache code units per opcode (`_inline_cache_entries`), 0 before 3.11.
    pub cache_entries: Vec<u8>,
    /// `_cache_format`: opname → [(field, size)].
    pub cache_format: std::collections::HashMap<String, Vec<(String, u8)>>,
    pub cmp_op: Vec<String>,
    /// `_nb_ops`: (name, symbol).
    pub nb_ops: Option<Vec<(String, String)>>,
    pub intrinsic_1: Option<Vec<String>>,
    pub intrinsic_2: Option<Vec<String>>,
    /// `MAKE_FUNCTION_FLAGS` / `FUNCTION_ATTR_FLAGS`.
    pub function_flags: Option<Vec<String>>,
    /// `_common_constants`, as `dis` shows them.
    pub common_constants: Option<Vec<CommonConstant>>,
    pub special_method_names: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct CommonConstant {
    pub argrepr: String,
}

/// Membership flags per opcode, computed once from the lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpFlags {
    pub arg: bool,
    pub konst: bool,
    pub name: bool,
    pub jrel: bool,
    pub jabs: bool,
    pub jump: bool,
    pub exc: bool,
    pub local: bool,
    pub free: bool,
    pub compare: bool,
    pub backward: bool,
}

/// Opcodes whose argument `dis` shows in a way of its own, found by name once per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Special {
    #[default]
    None,
    LoadConst,
    LoadGlobal,
    LoadAttr,
    LoadSuperAttr,
    ImportName,
    EndAsyncFor,
    /// LOAD_FAST_LOAD_FAST and the other two-locals superinstructions (3.13+).
    TwoLocals,
    FormatValue,
    ConvertValue,
    MakeFunction,
    SetFunctionAttribute,
    BinaryOp,
    CallIntrinsic1,
    CallIntrinsic2,
    LoadSpecial,
    LoadCommonConstant,
    IsOp,
    ContainsOp,
}

const SPECIAL_NAMES: &[(&str, Special)] = &[
    ("LOAD_CONST", Special::LoadConst),
    ("LOAD_GLOBAL", Special::LoadGlobal),
    ("LOAD_ATTR", Special::LoadAttr),
    ("LOAD_SUPER_ATTR", Special::LoadSuperAttr),
    ("IMPORT_NAME", Special::ImportName),
    ("END_ASYNC_FOR", Special::EndAsyncFor),
    ("LOAD_FAST_LOAD_FAST", Special::TwoLocals),
    ("LOAD_FAST_BORROW_LOAD_FAST_BORROW", Special::TwoLocals),
    ("STORE_FAST_LOAD_FAST", Special::TwoLocals),
    ("STORE_FAST_STORE_FAST", Special::TwoLocals),
    ("FORMAT_VALUE", Special::FormatValue),
    ("CONVERT_VALUE", Special::ConvertValue),
    ("MAKE_FUNCTION", Special::MakeFunction),
    ("SET_FUNCTION_ATTRIBUTE", Special::SetFunctionAttribute),
    ("BINARY_OP", Special::BinaryOp),
    ("CALL_INTRINSIC_1", Special::CallIntrinsic1),
    ("CALL_INTRINSIC_2", Special::CallIntrinsic2),
    ("LOAD_SPECIAL", Special::LoadSpecial),
    ("LOAD_COMMON_CONSTANT", Special::LoadCommonConstant),
    ("IS_OP", Special::IsOp),
    ("CONTAINS_OP", Special::ContainsOp),
];

/// A loaded table with per-opcode lookups.
#[derive(Debug)]
pub struct Opcodes {
    pub table: OpTable,
    pub flags: [OpFlags; 256],
    /// Base opcode for every opcode (identity when not specialized).
    pub deopt: [u8; 256],
    pub special: [Special; 256],
    /// The opcode has a name (not `<N>`).
    defined: [bool; 256],
    /// Inline cache entries after the opcode (3.11+).
    caches: [u8; 256],
    /// Opcode numbers by base name (`opmap`).
    by_name: std::collections::HashMap<String, u8>,
}

impl Opcodes {
    fn build(table: OpTable) -> Opcodes {
        let mut flags = [OpFlags::default(); 256];
        let set = |list: &[u8], f: &mut [OpFlags; 256], g: fn(&mut OpFlags)| {
            for &op in list {
                g(&mut f[op as usize]);
            }
        };
        set(&table.hasarg, &mut flags, |f| f.arg = true);
        set(&table.hasconst, &mut flags, |f| f.konst = true);
        set(&table.hasname, &mut flags, |f| f.name = true);
        set(&table.hasjrel, &mut flags, |f| f.jrel = true);
        set(&table.hasjabs, &mut flags, |f| f.jabs = true);
        set(table.hasjump.as_deref().unwrap_or(&[]), &mut flags, |f| {
            f.jump = true
        });
        set(table.hasexc.as_deref().unwrap_or(&[]), &mut flags, |f| {
            f.exc = true
        });
        set(&table.haslocal, &mut flags, |f| f.local = true);
        set(&table.hasfree, &mut flags, |f| f.free = true);
        set(&table.hascompare, &mut flags, |f| f.compare = true);
        set(&table.backward_jumps, &mut flags, |f| f.backward = true);
        let mut deopt = [0u8; 256];
        for (i, d) in deopt.iter_mut().enumerate() {
            *d = i as u8;
        }
        for (k, &v) in &table.deopt {
            if let Ok(k) = k.parse::<u8>() {
                deopt[k as usize] = v;
            }
        }
        let mut by_name = std::collections::HashMap::new();
        for (i, n) in table.opname.iter().enumerate() {
            if !n.starts_with('<') {
                by_name.insert(n.clone(), i as u8);
            }
        }
        let mut special = [Special::None; 256];
        for &(name, sp) in SPECIAL_NAMES {
            if let Some(&op) = by_name.get(name) {
                special[op as usize] = sp;
            }
        }
        let mut defined = [false; 256];
        let mut caches = [0u8; 256];
        for (op, (d, c)) in defined.iter_mut().zip(caches.iter_mut()).enumerate() {
            let name = table
                .all_opname
                .get(op)
                .map(String::as_str)
                .unwrap_or("<?>");
            *d = !name.starts_with('<');
            *c = table.cache_entries.get(op).copied().unwrap_or(0);
        }
        Opcodes {
            table,
            flags,
            deopt,
            special,
            defined,
            caches,
            by_name,
        }
    }

    /// `opmap[name]`, if this version has that opcode.
    pub fn op(&self, name: &str) -> Option<u8> {
        self.by_name.get(name).copied()
    }

    /// The name `dis` prints for an opcode number (`_all_opname`).
    pub fn name(&self, op: u8) -> &str {
        self.table
            .all_opname
            .get(op as usize)
            .map(String::as_str)
            .unwrap_or("<?>")
    }

    /// Base name (`opname`).
    pub fn base_name(&self, op: u8) -> &str {
        self.table
            .opname
            .get(op as usize)
            .map(String::as_str)
            .unwrap_or("<?>")
    }

    /// Whether the number names an opcode at all in this version.
    pub fn is_defined(&self, op: u8) -> bool {
        self.defined[op as usize]
    }

    pub fn cache_entries(&self, op: u8) -> usize {
        usize::from(self.caches[op as usize])
    }

    pub fn cache_format(&self, op: u8) -> &[(String, u8)] {
        self.table
            .cache_format
            .get(self.base_name(op))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

macro_rules! tables {
    ($(($ma:literal, $mi:literal) => $file:literal),* $(,)?) => {
        /// The opcode table of CPython `v`, if generated.
        pub fn opcodes_for(v: PyVersion) -> Option<&'static Opcodes> {
            $(
                if v == PyVersion::new($ma, $mi) {
                    static CELL: OnceLock<Opcodes> = OnceLock::new();
                    return Some(CELL.get_or_init(|| {
                        let t: OpTable = serde_json::from_str(include_str!(concat!("../data/", $file)))
                            .expect("generated opcode table is valid JSON");
                        Opcodes::build(t)
                    }));
                }
            )*
            None
        }
        /// Versions that have a table.
        pub const TABLE_VERSIONS: &[PyVersion] = &[$(PyVersion::new($ma, $mi)),*];
    };
}

/// [`opcodes_for`] of `major.minor`.
pub fn opcodes(major: u8, minor: u8) -> Option<&'static Opcodes> {
    opcodes_for(PyVersion::new(major, minor))
}

tables! {
    (2, 7) => "opcodes-2.7.json",
    (3, 6) => "opcodes-3.6.json",
    (3, 7) => "opcodes-3.7.json",
    (3, 8) => "opcodes-3.8.json",
    (3, 9) => "opcodes-3.9.json",
    (3, 10) => "opcodes-3.10.json",
    (3, 11) => "opcodes-3.11.json",
    (3, 12) => "opcodes-3.12.json",
    (3, 13) => "opcodes-3.13.json",
    (3, 14) => "opcodes-3.14.json",
    (3, 15) => "opcodes-3.15.json",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_loads_and_names_its_opcodes() {
        for &v in TABLE_VERSIONS {
            let (ma, mi) = (v.major, v.minor);
            let t = opcodes_for(v).unwrap();
            assert!(t.table.python.starts_with(&format!("{ma}.{mi}.")));
            assert_eq!(t.table.all_opname.len(), 256);
            let la = t.op("LOAD_CONST").unwrap();
            assert!(t.flags[la as usize].konst, "{ma}.{mi}");
            assert_eq!(t.name(t.table.extended_arg), "EXTENDED_ARG");
        }
        // 3.13 renumbered everything: RESUME is 149 there, 151 in 3.12 (opcode.opmap).
        assert_eq!(opcodes(3, 12).unwrap().op("RESUME"), Some(151));
        assert_eq!(opcodes(3, 13).unwrap().op("RESUME"), Some(149));
        assert_eq!(opcodes(3, 14).unwrap().op("RESUME"), Some(128));
    }
}
