//! Instruction decoding for every era: 2.7 variable-length bytecode, 3.6+ wordcode, 3.11+
//! inline caches; EXTENDED_ARG folding, de-specialization and jump targets, each the way
//! that version's `dis._unpack_opargs` / `findlabels` does it.

use crate::style::DisStyle;
use crate::tables::Opcodes;

/// How the argument of an instruction is written by `repr(arg)` in that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Int,
    /// 2.7: an argument that went through EXTENDED_ARG is a `long` (`70000L`).
    Long,
}

/// A decoding problem that `dis` itself would trip over; shown on the instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// The code ends inside the instruction's argument.
    Truncated,
    /// The opcode number names no instruction in this version.
    UnknownOpcode,
    /// EXTENDED_ARG prefixes make the argument too large to represent.
    ArgOverflow,
}

/// One decoded instruction (caches not included).
#[derive(Debug, Clone, Copy)]
pub struct Instr {
    /// Byte offset of the opcode.
    pub offset: u32,
    /// Offset of the first EXTENDED_ARG before it (3.13 `start_offset`).
    pub start_offset: u32,
    /// The opcode `dis` shows: as in the file up to 3.10, de-specialized from 3.11 (CPython's
    /// `co_code` de-specializes every instruction).
    pub op: u8,
    pub arg: Option<i64>,
    pub arg_kind: ArgKind,
    /// Inline cache code units after the instruction (3.11+).
    pub caches: u32,
    pub defect: Option<Defect>,
}

/// Decode a code string. Never panics; problems are recorded on the instruction they hit.
pub fn decode(code: &[u8], ops: &Opcodes, style: &DisStyle) -> Vec<Instr> {
    if style.wordcode {
        decode_wordcode(code, ops, style)
    } else {
        decode_py2(code, ops)
    }
}

fn decode_py2(code: &[u8], ops: &Opcodes) -> Vec<Instr> {
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut extended: Option<i64> = None; // Some after EXTENDED_ARG: the arg becomes a long
    let ext = ops.table.extended_arg;
    while i < code.len() {
        let op = code[i];
        let offset = i as u32;
        i += 1;
        let mut ins = Instr {
            offset,
            start_offset: offset,
            op,
            arg: None,
            arg_kind: ArgKind::Int,
            caches: 0,
            defect: (!ops.is_defined(op)).then_some(Defect::UnknownOpcode),
        };
        if op >= ops.table.have_argument {
            if i + 2 > code.len() {
                ins.defect = Some(Defect::Truncated);
                out.push(ins);
                break;
            }
            let raw = i64::from(code[i]) + i64::from(code[i + 1]) * 256;
            i += 2;
            let (arg, kind) = match extended.take() {
                Some(e) => match raw.checked_add(e) {
                    Some(a) => (a, ArgKind::Long),
                    None => {
                        ins.defect = Some(Defect::ArgOverflow);
                        (raw, ArgKind::Long)
                    }
                },
                None => (raw, ArgKind::Int),
            };
            if op == ext {
                match arg.checked_mul(65536) {
                    Some(e) => extended = Some(e),
                    None => ins.defect = Some(Defect::ArgOverflow),
                }
            }
            ins.arg = Some(arg);
            ins.arg_kind = kind;
        }
        out.push(ins);
    }
    out
}

fn decode_wordcode(code: &[u8], ops: &Opcodes, style: &DisStyle) -> Vec<Instr> {
    let mut out = Vec::with_capacity(code.len() / 2);
    let mut extended: i64 = 0;
    let mut caches = 0u32;
    let mut ext_count = 0u32;
    let ext_op = ops.table.extended_arg;
    let mut i = 0usize;
    while i < code.len() {
        if caches > 0 {
            caches -= 1;
            i += 2;
            continue;
        }
        let raw_op = code[i];
        let op = ops.deopt[raw_op as usize];
        let offset = i as u32;
        let mut ins = Instr {
            offset,
            start_offset: offset,
            op,
            arg: None,
            arg_kind: ArgKind::Int,
            caches: ops.cache_entries(op) as u32,
            defect: (!ops.is_defined(op)).then_some(Defect::UnknownOpcode),
        };
        caches = ins.caches;
        let has_arg = ops.flags[op as usize].arg;
        if has_arg {
            let Some(&b) = code.get(i + 1) else {
                ins.defect = Some(Defect::Truncated);
                out.push(ins);
                break;
            };
            let arg = i64::from(b) | extended;
            ins.arg = Some(arg);
            if op == ext_op {
                match arg.checked_mul(256) {
                    Some(mut e) => {
                        if style.signed_oparg && e >= 1 << 31 {
                            e -= 1 << 32;
                        }
                        if e.unsigned_abs() > 1 << 56 {
                            ins.defect = Some(Defect::ArgOverflow);
                            e = 0;
                        }
                        extended = e;
                    }
                    None => {
                        ins.defect = Some(Defect::ArgOverflow);
                        extended = 0;
                    }
                }
            } else {
                extended = 0;
            }
        } else {
            if style.reset_extended_arg {
                extended = 0;
            }
            if i + 1 >= code.len() {
                ins.defect = Some(Defect::Truncated);
            }
        }
        if op == ext_op {
            ext_count += 1;
        } else {
            ins.start_offset = offset.saturating_sub(ext_count * 2);
            ext_count = 0;
        }
        out.push(ins);
        i += 2;
    }
    out
}

/// The jump target of an instruction, as `dis` computes it for that version (`findlabels`
/// and the `to N` argrepr), or None if it is not a jump.
pub fn jump_target(ins: &Instr, ops: &Opcodes, style: &DisStyle) -> Option<i64> {
    let arg = ins.arg?;
    let f = ops.flags[ins.op as usize];
    let unit = if style.jump_units { 2 } else { 1 };
    if f.jrel {
        let size = if style.wordcode { 2 } else { 3 };
        let signed = if f.backward { -arg } else { arg };
        let caches = if style.jump_skips_caches {
            i64::from(ins.caches) * 2
        } else {
            0
        };
        Some(i64::from(ins.offset) + size + signed * unit + caches)
    } else if f.jabs {
        Some(arg * unit)
    } else {
        None
    }
}

/// `dis.findlabels`: the offsets jumped to (unordered, possibly repeated).
pub fn find_labels(instrs: &[Instr], code: &[u8], ops: &Opcodes, style: &DisStyle) -> Vec<i64> {
    let mut labels: Vec<i64> = Vec::new();
    for ins in instrs {
        let target = if style.wordcode {
            jump_target(ins, ops, style)
        } else {
            // 2.7 `findlabels` ignores EXTENDED_ARG: it reads the two argument bytes only.
            ins.arg.and_then(|_| {
                let i = ins.offset as usize;
                let raw = i64::from(*code.get(i + 1)?) + i64::from(*code.get(i + 2)?) * 256;
                let raw_ins = Instr {
                    arg: Some(raw),
                    ..*ins
                };
                jump_target(&raw_ins, ops, style).filter(|&t| t >= 0)
            })
        };
        labels.extend(target);
    }
    labels
}
