//! From a code object to resolved instructions: arguments, jump targets, line starts, labels,
//! exactly as the version's `dis` computes them. The text and JSON formatters only print this.

use std::collections::{HashMap, HashSet};

use crate::decode::{self, Defect, Instr};
use crate::lines::{self, ExceptionEntry, Positions};
use crate::model::Code;
use crate::style::{DisStyle, LineTable, NullStyle};
use crate::tables::Opcodes;

/// The resolved value of an argument (`Instruction.argval`).
#[derive(Debug, Clone, PartialEq)]
pub enum ArgVal {
    None,
    Int(i64),
    /// A constant, by its repr.
    Const(String),
    Name(String),
    Names(String, String),
    /// A jump target offset.
    Offset(i64),
    Text(String),
}

/// One instruction with everything `dis` shows about it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub ins: Instr,
    pub opname: &'static str,
    pub argval: ArgVal,
    pub argrepr: String,
    /// The instruction starts a source line (it is in `findlinestarts`).
    pub starts_line: bool,
    /// The line `findlinestarts` gives at this offset (None: 3.13+ "no line").
    pub line_start: Option<i64>,
    /// The current line (carried forward from the last line start).
    pub line: Option<i64>,
    /// `>>` (≤3.12): something jumps here.
    pub is_jump_target: bool,
    /// 3.13+: the label number.
    pub label: Option<usize>,
    pub jump_target: Option<i64>,
    /// 3.11+: `co_positions()` of the instruction and of each of its caches.
    pub positions: Option<Positions>,
    pub cache_positions: Vec<Positions>,
    /// Why `dis` itself would fail here (bad index, truncated code, ...).
    pub problem: Option<String>,
    /// 2.7 prints `(argrepr)` for these argument kinds even when it is empty.
    pub argrepr_always: bool,
}

/// A whole code object, resolved.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub instrs: Vec<Resolved>,
    /// `dict(findlinestarts(co))`, in order.
    pub linestarts: Vec<(u32, Option<i64>)>,
    pub exceptions: Vec<ExceptionEntry>,
    /// Offset → label number (3.13+).
    pub labels: HashMap<i64, usize>,
    /// All `co_positions()` (3.11+), one per code unit.
    pub positions: Vec<Positions>,
    pub problems: Vec<String>,
}

pub struct Analyzer {
    pub style: &'static DisStyle,
    pub ops: &'static Opcodes,
}

fn get<'s>(list: &'s [String], i: i64, what: &str) -> Result<&'s str, String> {
    usize::try_from(i)
        .ok()
        .and_then(|i| list.get(i))
        .map(String::as_str)
        .ok_or_else(|| format!("{what} index {i} out of range ({} entries)", list.len()))
}

impl Analyzer {
    fn linestarts(&self, code: &Code) -> (lines::LineStarts, Vec<Positions>, Vec<String>) {
        let mut problems = Vec::new();
        match self.style.line_table {
            LineTable::Lnotab {
                signed,
                stop_at_end,
            } => {
                if code.linetable.len() & 1 == 1 {
                    problems.push("line table (co_lnotab) has an odd length".into());
                }
                (
                    lines::lnotab_linestarts(
                        &code.linetable,
                        code.firstlineno,
                        code.code.len(),
                        signed,
                        stop_at_end,
                    ),
                    Vec::new(),
                    problems,
                )
            }
            LineTable::Pep626 => {
                let r = lines::pep626_lines(&code.linetable, code.firstlineno);
                (
                    lines::linestarts_from_ranges(&r, false),
                    Vec::new(),
                    problems,
                )
            }
            LineTable::Pep657 => {
                let t = lines::pep657_entries(&code.linetable, code.firstlineno);
                if t.truncated {
                    problems.push("location table (co_linetable) ends inside an entry".into());
                }
                let keep_none = matches!(self.style.layout, crate::style::Layout::Labels);
                let starts = lines::linestarts_from_ranges(&t.lines(), keep_none);
                (starts, t.positions(code.code.len() / 2), problems)
            }
        }
    }

    pub fn analyze(&self, code: &Code) -> Analysis {
        let style = self.style;
        let ops = self.ops;
        let (linestarts, positions, mut problems) = self.linestarts(code);
        let starts_map: HashMap<u32, Option<i64>> = linestarts.iter().copied().collect();
        let decoded = decode::decode(&code.code, ops, style);
        let exceptions = if style.exc_table == crate::style::ExcTable::None {
            Vec::new()
        } else {
            lines::parse_exception_table(&code.exceptiontable)
        };
        let found = decode::find_labels(&decoded, &code.code, ops, style);
        let mut targets: HashSet<i64> = found.iter().copied().collect();
        let mut labels = HashMap::new();
        match style.exc_table {
            crate::style::ExcTable::Labels => {
                for e in &exceptions {
                    for o in [e.start, e.end, e.target] {
                        targets.insert(o as i64);
                    }
                }
                let mut sorted: Vec<i64> = targets.iter().copied().collect();
                sorted.sort_unstable();
                for (i, o) in sorted.into_iter().enumerate() {
                    labels.insert(o, i + 1);
                }
            }
            _ if style.exc_targets_marked => {
                for e in &exceptions {
                    if e.start < e.end {
                        targets.insert(e.target as i64);
                    }
                }
            }
            _ => {}
        }

        let mut instrs = Vec::with_capacity(decoded.len());
        let mut line: Option<i64> = None;
        for ins in decoded {
            let (starts_line, line_start) = match starts_map.get(&ins.offset) {
                Some(&l) => {
                    line = l;
                    (true, l)
                }
                None => (false, None),
            };
            let jump_target = decode::jump_target(&ins, ops, style);
            if let Some(t) = jump_target {
                // `dis` prints such a jump without complaint; we print it the same way and
                // report it.
                if t < 0 || t >= code.code.len() as i64 {
                    problems.push(format!(
                        "jump target {t} of the instruction at offset {} is outside the code \
                         ({} bytes)",
                        ins.offset,
                        code.code.len()
                    ));
                }
            }
            let (argval, argrepr, mut problem) =
                match self.resolve(&ins, code, jump_target, &labels) {
                    Ok((v, r)) => (v, r, None),
                    Err(e) => (
                        ArgVal::Int(ins.arg.unwrap_or(0)),
                        format!("!! {e}"),
                        Some(e),
                    ),
                };
            match ins.defect {
                Some(Defect::Truncated) => {
                    problem = Some(format!(
                        "code ends inside the instruction at offset {}",
                        ins.offset
                    ))
                }
                Some(Defect::ArgOverflow) => {
                    problem = Some(format!(
                        "EXTENDED_ARG prefixes overflow the argument at offset {}",
                        ins.offset
                    ))
                }
                _ => {}
            }
            if let Some(p) = &problem {
                problems.push(p.clone());
            }
            let unit = (ins.offset / 2) as usize;
            let (pos, cache_positions) = if style.line_table == LineTable::Pep657 {
                let at = |u: usize| positions.get(u).copied().unwrap_or_default();
                (
                    Some(at(unit)),
                    (1..=ins.caches as usize).map(|k| at(unit + k)).collect(),
                )
            } else {
                (None, Vec::new())
            };
            let fl = ops.flags[ins.op as usize];
            let argrepr_always = style.layout == crate::style::Layout::Py2
                && ins.arg.is_some()
                && (fl.konst || fl.name || fl.jrel || fl.local || fl.compare || fl.free);
            instrs.push(Resolved {
                argrepr_always,
                opname: ops.name(ins.op),
                is_jump_target: targets.contains(&i64::from(ins.offset)),
                label: labels.get(&i64::from(ins.offset)).copied(),
                ins,
                argval,
                argrepr,
                starts_line,
                line_start,
                line,
                jump_target,
                positions: pos,
                cache_positions,
                problem,
            });
        }
        Analysis {
            instrs,
            linestarts,
            exceptions,
            labels,
            positions,
            problems,
        }
    }

    /// `argval, argrepr` of one instruction (`_get_instructions_bytes` / `ArgResolver`).
    fn resolve(
        &self,
        ins: &Instr,
        code: &Code,
        target: Option<i64>,
        labels: &HashMap<i64, usize>,
    ) -> Result<(ArgVal, String), String> {
        let Some(arg) = ins.arg else {
            return Ok((ArgVal::None, String::new()));
        };
        let style = self.style;
        let ops = self.ops;
        let op = ins.op;
        let f = ops.flags[op as usize];
        let is = |name: &str| ops.op(name) == Some(op);
        let name_info = |i: i64| -> Result<(ArgVal, String), String> {
            let n = get(&code.names, i, "name")?;
            Ok((ArgVal::Name(n.to_string()), n.to_string()))
        };
        if f.konst {
            if style.only_load_const && !is("LOAD_CONST") {
                return Ok((ArgVal::Int(arg), String::new()));
            }
            let c = usize::try_from(arg)
                .ok()
                .and_then(|i| code.consts.get(i))
                .ok_or_else(|| {
                    format!(
                        "constant index {arg} out of range ({} constants)",
                        code.consts.len()
                    )
                })?;
            return Ok((ArgVal::Const(c.repr.clone()), c.repr.clone()));
        }
        if f.name {
            let with_flag = |index: i64, bit: bool, flag: &str| {
                let (v, r) = name_info(index)?;
                // `if (arg & 1) and argrepr:` — an empty name gets no suffix.
                let r = match (bit && !r.is_empty(), style.null_style) {
                    (true, NullStyle::Prefix) => format!("{flag} + {r}"),
                    (true, NullStyle::Suffix) => format!("{r} + {flag}"),
                    _ => r,
                };
                Ok((v, r))
            };
            if style.null_style != NullStyle::None && is("LOAD_GLOBAL") {
                return with_flag(arg >> 1, arg & 1 != 0, "NULL");
            }
            if style.attr_null && is("LOAD_ATTR") {
                return with_flag(arg >> 1, arg & 1 != 0, "NULL|self");
            }
            if style.attr_null && is("LOAD_SUPER_ATTR") {
                return with_flag(arg >> 2, arg & 1 != 0, "NULL|self");
            }
            if style.import_name_flags && is("IMPORT_NAME") {
                let (v, r) = name_info(arg >> 2)?;
                let r = if r.is_empty() {
                    r
                } else if arg & 1 != 0 {
                    format!("{r} + lazy")
                } else if arg & 2 != 0 {
                    format!("{r} + eager")
                } else {
                    r
                };
                return Ok((v, r));
            }
            return name_info(arg);
        }
        // Jumps. ≤3.9 absolute jumps show nothing; 3.13+ show labels.
        if let Some(t) = target {
            if f.jabs && !style.jabs_argrepr {
                return Ok((ArgVal::Int(arg), String::new()));
            }
            if let crate::style::Layout::Labels = style.layout {
                let l = labels
                    .get(&t)
                    .ok_or_else(|| format!("jump target {t} has no label"))?;
                let prep = if is("END_ASYNC_FOR") { "from" } else { "to" };
                return Ok((ArgVal::Offset(t), format!("{prep} L{l}")));
            }
            return Ok((ArgVal::Offset(t), format!("to {t}")));
        }
        if is("LOAD_FAST_LOAD_FAST")
            || is("LOAD_FAST_BORROW_LOAD_FAST_BORROW")
            || is("STORE_FAST_LOAD_FAST")
            || is("STORE_FAST_STORE_FAST")
        {
            let a = get(&code.varnames, arg >> 4, "local")?;
            let b = get(&code.varnames, arg & 15, "local")?;
            return Ok((
                ArgVal::Names(a.to_string(), b.to_string()),
                format!("{a}, {b}"),
            ));
        }
        let wordcode_locals = style.line_table == LineTable::Pep657;
        if f.local || (f.free && wordcode_locals) {
            let n = get(&code.varnames, arg, "local")?;
            return Ok((ArgVal::Name(n.to_string()), n.to_string()));
        }
        if f.compare {
            let i = arg >> style.cmp_shift;
            let c = get(&ops.table.cmp_op, i, "comparison")?;
            let r = if style.cmp_bool && arg & 16 != 0 {
                format!("bool({c})")
            } else {
                c.to_string()
            };
            return Ok((ArgVal::Text(c.to_string()), r));
        }
        if f.free {
            let n = get(&code.cellfree, arg, "cell/free variable")?;
            return Ok((ArgVal::Name(n.to_string()), n.to_string()));
        }
        if style.format_value && is("FORMAT_VALUE") {
            let mut r = ["", "str", "repr", "ascii"][(arg & 3) as usize].to_string();
            if arg & 4 != 0 {
                if !r.is_empty() {
                    r.push_str(", ");
                }
                r.push_str("with format");
            }
            return Ok((ArgVal::Int(arg), r));
        }
        if is("CONVERT_VALUE") {
            let r = ["", "str", "repr", "ascii"]
                .get(arg as usize)
                .ok_or_else(|| format!("CONVERT_VALUE argument {arg} out of range"))?;
            return Ok((ArgVal::Text(r.to_string()), r.to_string()));
        }
        if (style.function_flags && is("MAKE_FUNCTION")) || is("SET_FUNCTION_ATTRIBUTE") {
            if let Some(flags) = &ops.table.function_flags {
                let r: Vec<&str> = flags
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| arg & (1 << i) != 0)
                    .map(|(_, s)| s.as_str())
                    .collect();
                return Ok((ArgVal::Int(arg), r.join(", ")));
            }
        }
        if is("BINARY_OP") {
            if let Some(nb) = &ops.table.nb_ops {
                let (_, sym) = usize::try_from(arg)
                    .ok()
                    .and_then(|i| nb.get(i))
                    .ok_or_else(|| format!("BINARY_OP argument {arg} out of range"))?;
                return Ok((ArgVal::Int(arg), sym.clone()));
            }
        }
        for (name, list) in [
            ("CALL_INTRINSIC_1", &ops.table.intrinsic_1),
            ("CALL_INTRINSIC_2", &ops.table.intrinsic_2),
            ("LOAD_SPECIAL", &ops.table.special_method_names),
        ] {
            if let (true, Some(list)) = (is(name), list) {
                let r = get(list, arg, name)?;
                return Ok((ArgVal::Int(arg), r.to_string()));
            }
        }
        if is("LOAD_COMMON_CONSTANT") {
            if let Some(cc) = &ops.table.common_constants {
                let c = usize::try_from(arg)
                    .ok()
                    .and_then(|i| cc.get(i))
                    .ok_or_else(|| format!("LOAD_COMMON_CONSTANT argument {arg} out of range"))?;
                return Ok((ArgVal::Text(c.argrepr.clone()), c.argrepr.clone()));
            }
        }
        if style.is_contains && is("IS_OP") {
            let r = if arg != 0 { "is not" } else { "is" };
            return Ok((ArgVal::Int(arg), r.into()));
        }
        if style.is_contains && is("CONTAINS_OP") {
            let r = if arg != 0 { "not in" } else { "in" };
            return Ok((ArgVal::Int(arg), r.into()));
        }
        Ok((ArgVal::Int(arg), String::new()))
    }
}
