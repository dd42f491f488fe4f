//! How each version's `dis` shows things: one row per CPython minor version.
//!
//! Every field names a difference between `Lib/dis.py` of two versions; the rows say which
//! version has which behaviour, so the decoder and formatter never test version numbers.

use pyc_format::PyVersion;

/// The line-number source of a code object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTable {
    /// `co_lnotab` pairs; `signed` line deltas from 3.6; `stop_at_end`: 3.8+ `findlinestarts`
    /// stops once the address passes the end of the code.
    Lnotab { signed: bool, stop_at_end: bool },
    /// 3.10 `co_linetable` (PEP 626).
    Pep626,
    /// 3.11+ location table (PEP 657).
    Pep657,
}

/// The layout of the instruction listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 2.7: `print x,` columns, `>>` markers, no rstrip.
    Py2,
    /// 3.6-3.12: `Instruction._disassemble` with `>>` markers; `dynamic_widths` from 3.7.
    Markers { dynamic_widths: bool },
    /// 3.13+: the `Formatter` class, labels `L1:`.
    Labels,
}

/// How `LOAD_GLOBAL`/`LOAD_ATTR`/`LOAD_SUPER_ATTR` show their low-bit flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullStyle {
    /// Plain name index (≤3.10).
    None,
    /// `NULL + name` (3.11 LOAD_GLOBAL; 3.12 also `NULL|self + name`).
    Prefix,
    /// `name + NULL` (3.13+).
    Suffix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcTable {
    None,
    /// 3.11-3.12: `START to END-2 -> TARGET [DEPTH]`.
    Offsets,
    /// 3.13+: `L1 to L2 -> L3 [DEPTH]`.
    Labels,
}

#[derive(Debug, Clone, Copy)]
pub struct DisStyle {
    /// The row's key: this version's `dis`.
    pub version: PyVersion,
    /// 3.6+: two bytes per instruction.
    pub wordcode: bool,
    /// 3.10+: jump arguments count code units, not bytes.
    pub jump_units: bool,
    pub line_table: LineTable,
    pub layout: Layout,
    /// 3.7+: `dis.dis(code)` descends into nested code objects itself.
    pub recursive: bool,
    /// 3.10+: absolute jumps show `to N` (before: nothing).
    pub jabs_argrepr: bool,
    /// 3.10+: an instruction without argument resets a pending EXTENDED_ARG.
    pub reset_extended_arg: bool,
    /// 3.11+: args are C ints (wrap at 2**31).
    pub signed_oparg: bool,
    /// 3.6+: FORMAT_VALUE shows its conversion.
    pub format_value: bool,
    /// 3.8+: MAKE_FUNCTION (3.13+: SET_FUNCTION_ATTRIBUTE) shows its flags.
    pub function_flags: bool,
    /// COMPARE_OP: index = arg >> shift (0 up to 3.11, 4 in 3.12, 5 from 3.13).
    pub cmp_shift: u8,
    /// 3.13+: COMPARE_OP bit 16 shows `bool(op)`.
    pub cmp_bool: bool,
    pub null_style: NullStyle,
    /// 3.11: only LOAD_CONST resolves its constant (KW_NAMES shows nothing).
    pub only_load_const: bool,
    pub exc_table: ExcTable,
    /// 3.11-3.12: exception handler targets are marked `>>` (when their range is not empty).
    pub exc_targets_marked: bool,
    /// 3.12+: LOAD_ATTR/LOAD_SUPER_ATTR carry flags in the low bits of their argument.
    pub attr_null: bool,
    /// 3.12+: relative jumps skip the instruction's inline caches.
    pub jump_skips_caches: bool,
    /// 3.14+: IS_OP/CONTAINS_OP show `is`/`is not`, `in`/`not in`.
    pub is_contains: bool,
    /// 3.15: IMPORT_NAME carries lazy/eager flags in its two low bits.
    pub import_name_flags: bool,
    /// ≤3.9: the line-number column is printed even when there are no line starts.
    pub lineno_column_always: bool,
    /// 3.14+: `dis(show_positions=True)` exists (older versions ignore the option).
    pub show_positions: bool,
    /// 3.12+: `show_caches` names each cache entry (`CACHE 0 (counter: 0)`); 3.11 does not.
    pub named_caches: bool,
}

const fn row(minor: u8) -> DisStyle {
    let m = minor;
    DisStyle {
        version: PyVersion::new(3, minor),
        wordcode: true,
        jump_units: m >= 10,
        line_table: if m >= 11 {
            LineTable::Pep657
        } else if m == 10 {
            LineTable::Pep626
        } else {
            LineTable::Lnotab {
                signed: true,
                stop_at_end: m >= 8,
            }
        },
        layout: if m >= 13 {
            Layout::Labels
        } else {
            Layout::Markers {
                dynamic_widths: m >= 7,
            }
        },
        recursive: m >= 7,
        jabs_argrepr: m >= 10,
        reset_extended_arg: m >= 10,
        signed_oparg: m >= 11,
        format_value: true,
        function_flags: m >= 8,
        cmp_shift: if m >= 13 {
            5
        } else if m == 12 {
            4
        } else {
            0
        },
        cmp_bool: m >= 13,
        null_style: if m >= 13 {
            NullStyle::Suffix
        } else if m >= 11 {
            NullStyle::Prefix
        } else {
            NullStyle::None
        },
        only_load_const: m == 11,
        exc_table: if m >= 13 {
            ExcTable::Labels
        } else if m >= 11 {
            ExcTable::Offsets
        } else {
            ExcTable::None
        },
        exc_targets_marked: m == 11 || m == 12,
        attr_null: m >= 12,
        jump_skips_caches: m >= 12,
        is_contains: m >= 14,
        import_name_flags: m >= 15,
        lineno_column_always: m <= 9,
        show_positions: m >= 14,
        named_caches: m >= 12,
    }
}

pub const PY27: DisStyle = DisStyle {
    version: PyVersion::new(2, 7),
    wordcode: false,
    jump_units: false,
    line_table: LineTable::Lnotab {
        signed: false,
        stop_at_end: false,
    },
    layout: Layout::Py2,
    recursive: false,
    jabs_argrepr: false,
    reset_extended_arg: false,
    signed_oparg: false,
    format_value: false,
    function_flags: false,
    cmp_shift: 0,
    cmp_bool: false,
    null_style: NullStyle::None,
    only_load_const: false,
    exc_table: ExcTable::None,
    exc_targets_marked: false,
    attr_null: false,
    jump_skips_caches: false,
    is_contains: false,
    import_name_flags: false,
    lineno_column_always: true,
    show_positions: false,
    named_caches: false,
};

/// Every version `pyc dis` formats, oldest first.
pub const STYLES: &[DisStyle] = &[
    PY27,
    row(6),
    row(7),
    row(8),
    row(9),
    row(10),
    row(11),
    row(12),
    row(13),
    row(14),
    row(15),
];

/// The style of CPython `v`, if `pyc dis` supports it.
pub fn style(v: PyVersion) -> Option<&'static DisStyle> {
    STYLES.iter().find(|s| s.version == v)
}
