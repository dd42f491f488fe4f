//! From a code object to resolved instructions: arguments, jump targets, line starts, labels,
//! exactly as the version's `dis` computes them. The text and JSON formatters only print this.

use std::borrow::Cow;

use crate::decode::{self, Defect, Instr};
use crate::lines::{self, ExceptionEntry, Positions};
use crate::model::Code;
use crate::num::{concat, Digits};
use crate::style::{DisStyle, LineTable, NullStyle};
use crate::tables::{Opcodes, Special};

/// The resolved value of an argument (`Instruction.argval`).
#[derive(Debug, Clone, PartialEq)]
pub enum ArgVal<'a> {
    None,
    Int(i64),
    /// A constant, by its repr.
    Const(&'a str),
    Name(&'a str),
    Names(&'a str, &'a str),
    /// A jump target offset.
    Offset(i64),
    Text(&'a str),
}

/// One instruction with everything `dis` shows about it.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    pub ins: Instr,
    pub opname: &'static str,
    pub argval: ArgVal<'a>,
    pub argrepr: Cow<'a, str>,
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
    /// 3.11+: `co_positions()` of the instruction.
    pub positions: Option<Positions>,
    /// Why `dis` itself would fail here (bad index, truncated code, ...).
    pub problem: Option<String>,
    /// 2.7 prints `(argrepr)` for these argument kinds even when it is empty.
    pub argrepr_always: bool,
}

/// A whole code object, resolved.
#[derive(Debug, Clone)]
pub struct Analysis<'a> {
    pub instrs: Vec<Resolved<'a>>,
    /// `dict(findlinestarts(co))`, in order.
    pub linestarts: Vec<(u32, Option<i64>)>,
    pub exceptions: Vec<ExceptionEntry>,
    /// Jump targets (and 3.13+ exception table offsets), sorted; 3.13+ label N is the
    /// N-th of them.
    pub labels: Labels,
    /// The 3.11+ location table (`co_positions()`), empty before.
    pub locations: Vec<lines::LocationEntry>,
    /// Code units in `co_code`.
    pub n_units: usize,
    pub problems: Vec<String>,
}

/// What is known about a code object before its instructions are resolved one by one:
/// what the formatters need for their column widths, and the decoded instructions.
/// [`Analyzer::prepare`] makes it, [`Analyzer::resolve_each`] walks it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub decoded: Vec<Instr>,
    /// `dict(findlinestarts(co))`, in order.
    pub linestarts: Vec<(u32, Option<i64>)>,
    pub exceptions: Vec<ExceptionEntry>,
    /// Every offset marked as a jump target (`>>`) or labelled, sorted.
    pub targets: Labels,
    /// 3.13+: the targets are numbered labels.
    pub numbered: bool,
    /// [`Resolved::positions`] are wanted (3.11+), from `locations`.
    pub positions: bool,
    /// The 3.11+ location table (`co_positions()`), empty before.
    pub locations: Vec<lines::LocationEntry>,
    /// Code units in `co_code`.
    pub n_units: usize,
    /// Problems found so far; [`Analyzer::resolve_each`] adds those of the instructions.
    pub problems: Vec<String>,
}

impl Prepared {
    /// The numbered labels (3.13+), else none.
    pub fn labels(&self) -> &Labels {
        static NONE: Labels = Labels(Vec::new());
        if self.numbered {
            &self.targets
        } else {
            &NONE
        }
    }
}

/// A sorted set of offsets.
#[derive(Debug, Clone, Default)]
pub struct Labels(Vec<i64>);

impl Labels {
    pub fn contains(&self, offset: i64) -> bool {
        self.0.binary_search(&offset).is_ok()
    }
    /// The 3.13+ label number of an offset (1-based).
    pub fn label(&self, offset: i64) -> Option<usize> {
        self.0.binary_search(&offset).ok().map(|i| i + 1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub struct Analyzer {
    pub style: &'static DisStyle,
    pub ops: &'static Opcodes,
}

fn get<'s, T: AsRef<str>>(list: &'s [T], i: i64, what: &str) -> Result<&'s str, String> {
    usize::try_from(i)
        .ok()
        .and_then(|i| list.get(i))
        .map(AsRef::as_ref)
        .ok_or_else(|| format!("{what} index {i} out of range ({} entries)", list.len()))
}

impl Analyzer {
    /// Line starts, the location table when `positions` asks for it, and problems.
    fn linestarts(
        &self,
        code: &Code,
        positions: bool,
    ) -> (lines::LineStarts, Vec<lines::LocationEntry>, Vec<String>) {
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
                let keep_none = matches!(self.style.layout, crate::style::Layout::Labels);
                let (starts, entries, truncated) = if positions {
                    let t = lines::pep657_entries(&code.linetable, code.firstlineno);
                    let starts = lines::linestarts_from_ranges(&t.lines(), keep_none);
                    (starts, t.entries, t.truncated)
                } else {
                    let (starts, truncated) =
                        lines::pep657_linestarts(&code.linetable, code.firstlineno, keep_none);
                    (starts, Vec::new(), truncated)
                };
                if truncated {
                    problems.push("location table (co_linetable) ends inside an entry".into());
                }
                (starts, entries, problems)
            }
        }
    }

    /// Everything about `code` but the per-instruction resolution. `positions`: keep the
    /// 3.11+ location table, for [`Resolved::positions`] (else those are `None`).
    pub fn prepare(&self, code: &Code, positions: bool) -> Prepared {
        let style = self.style;
        let ops = self.ops;
        let (linestarts, locations, problems) = self.linestarts(code, positions);
        let decoded = decode::decode(&code.code, ops, style);
        let exceptions = if style.exc_table == crate::style::ExcTable::None {
            Vec::new()
        } else {
            lines::parse_exception_table(&code.exceptiontable)
        };
        let mut targets = decode::find_labels(&decoded, &code.code, ops, style);
        match style.exc_table {
            crate::style::ExcTable::Labels => {
                for e in &exceptions {
                    targets.extend([e.start as i64, e.end as i64, e.target as i64]);
                }
            }
            _ if style.exc_targets_marked => {
                for e in &exceptions {
                    if e.start < e.end {
                        targets.push(e.target as i64);
                    }
                }
            }
            _ => {}
        }
        targets.sort_unstable();
        targets.dedup();
        Prepared {
            decoded,
            linestarts,
            exceptions,
            targets: Labels(targets),
            numbered: style.exc_table == crate::style::ExcTable::Labels,
            positions: positions && style.line_table == LineTable::Pep657,
            locations,
            n_units: code.code.len() / 2,
            problems,
        }
    }

    /// The whole analysis of `code`, every instruction resolved (the JSON view uses it).
    pub fn analyze<'a>(&self, code: &'a Code) -> Analysis<'a> {
        let mut p = self.prepare(code, true);
        let mut instrs = Vec::with_capacity(p.decoded.len());
        let mut problems = std::mem::take(&mut p.problems);
        self.resolve_each(code, &p, &mut problems, |r| instrs.push(r));
        Analysis {
            instrs,
            labels: if p.numbered {
                p.targets
            } else {
                Labels::default()
            },
            linestarts: p.linestarts,
            exceptions: p.exceptions,
            locations: p.locations,
            n_units: p.n_units,
            problems,
        }
    }

    /// Resolve the instructions of `code` in order, handing each to `each` (the text
    /// formatter prints it at once: no record of every instruction is kept). Problems of
    /// the instructions are added to `problems`.
    pub fn resolve_each<'a>(
        &self,
        code: &'a Code,
        p: &Prepared,
        problems: &mut Vec<String>,
        mut each: impl FnMut(Resolved<'a>),
    ) {
        let style = self.style;
        let ops = self.ops;
        let linestarts = &p.linestarts;
        let locations = &p.locations;
        let targets = &p.targets;
        let numbered = p.numbered;
        let mut line: Option<i64> = None;
        // Line starts are in increasing offset order, as the instructions are.
        let mut cursor = 0usize;
        // Location entries, walked alongside: (index, first code unit of that entry).
        let (mut loc, mut loc_start) = (0usize, 0usize);
        // Jump targets are sorted too: walk them alongside instead of searching.
        let mut tcursor = 0usize;
        let tlist = &targets.0;
        for &ins in &p.decoded {
            while cursor < linestarts.len() && linestarts[cursor].0 < ins.offset {
                cursor += 1;
            }
            let (starts_line, line_start) =
                if cursor < linestarts.len() && linestarts[cursor].0 == ins.offset {
                    // dict(): the last pair for an offset wins.
                    while cursor + 1 < linestarts.len() && linestarts[cursor + 1].0 == ins.offset {
                        cursor += 1;
                    }
                    line = linestarts[cursor].1;
                    (true, line)
                } else {
                    (false, None)
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
                match self.resolve(&ins, code, jump_target, targets) {
                    Ok((v, r)) => (v, r, None),
                    Err(e) => (
                        ArgVal::Int(ins.arg.unwrap_or(0)),
                        Cow::Owned(format!("!! {e}")),
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
            let pos = p.positions.then(|| {
                while loc < locations.len() && loc_start + locations[loc].units as usize <= unit {
                    loc_start += locations[loc].units as usize;
                    loc += 1;
                }
                match locations.get(loc) {
                    Some(e) if loc_start <= unit => e.positions,
                    _ => Positions::default(),
                }
            });
            let fl = ops.flags[ins.op as usize];
            let argrepr_always = style.layout == crate::style::Layout::Py2
                && ins.arg.is_some()
                && (fl.konst || fl.name || fl.jrel || fl.local || fl.compare || fl.free);
            let off = i64::from(ins.offset);
            while tcursor < tlist.len() && tlist[tcursor] < off {
                tcursor += 1;
            }
            let is_jump_target = tlist.get(tcursor) == Some(&off);
            each(Resolved {
                argrepr_always,
                opname: ops.name(ins.op),
                is_jump_target,
                label: (numbered && is_jump_target).then_some(tcursor + 1),
                ins,
                argval,
                argrepr,
                starts_line,
                line_start,
                line,
                jump_target,
                positions: pos,
                problem,
            });
        }
    }

    /// `argval, argrepr` of one instruction (`_get_instructions_bytes` / `ArgResolver`).
    fn resolve<'a>(
        &self,
        ins: &Instr,
        code: &'a Code,
        target: Option<i64>,
        labels: &Labels,
    ) -> Result<(ArgVal<'a>, Cow<'a, str>), String> {
        let Some(arg) = ins.arg else {
            return Ok((ArgVal::None, Cow::Borrowed("")));
        };
        let style = self.style;
        let ops = self.ops;
        let op = ins.op;
        let f = ops.flags[op as usize];
        let sp = ops.special[op as usize];
        let name_info = |i: i64| -> Result<(ArgVal<'a>, Cow<'a, str>), String> {
            let n = get(&code.names, i, "name")?;
            Ok((ArgVal::Name(n), Cow::Borrowed(n)))
        };
        let text = |s: &'static str| Ok((ArgVal::Int(arg), Cow::Borrowed(s)));
        if f.konst {
            if style.only_load_const && sp != Special::LoadConst {
                return text("");
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
            return Ok((ArgVal::Const(&c.repr), Cow::Borrowed(&c.repr)));
        }
        if f.name {
            let with_flag = |index: i64, bit: bool, flag: &str| {
                let (v, r) = name_info(index)?;
                // `if (arg & 1) and argrepr:` — an empty name gets no suffix.
                let r = match (bit && !r.is_empty(), style.null_style) {
                    (true, NullStyle::Prefix) => Cow::Owned(concat(&[flag, " + ", &r])),
                    (true, NullStyle::Suffix) => Cow::Owned(concat(&[&r, " + ", flag])),
                    _ => r,
                };
                Ok((v, r))
            };
            match sp {
                Special::LoadGlobal if style.null_style != NullStyle::None => {
                    return with_flag(arg >> 1, arg & 1 != 0, "NULL")
                }
                Special::LoadAttr if style.attr_null => {
                    return with_flag(arg >> 1, arg & 1 != 0, "NULL|self")
                }
                Special::LoadSuperAttr if style.attr_null => {
                    return with_flag(arg >> 2, arg & 1 != 0, "NULL|self")
                }
                Special::ImportName if style.import_name_flags => {
                    let (v, r) = name_info(arg >> 2)?;
                    let r = if r.is_empty() {
                        r
                    } else if arg & 1 != 0 {
                        Cow::Owned(format!("{r} + lazy"))
                    } else if arg & 2 != 0 {
                        Cow::Owned(format!("{r} + eager"))
                    } else {
                        r
                    };
                    return Ok((v, r));
                }
                _ => return name_info(arg),
            }
        }
        // Jumps. ≤3.9 absolute jumps show nothing; 3.13+ show labels.
        if let Some(t) = target {
            if f.jabs && !style.jabs_argrepr {
                return text("");
            }
            if let crate::style::Layout::Labels = style.layout {
                let l = labels
                    .label(t)
                    .ok_or_else(|| format!("jump target {t} has no label"))?;
                let prep = if sp == Special::EndAsyncFor {
                    "from"
                } else {
                    "to"
                };
                return Ok((
                    ArgVal::Offset(t),
                    Cow::Owned(concat(&[prep, " L", Digits::new().format(l as i64)])),
                ));
            }
            return Ok((
                ArgVal::Offset(t),
                Cow::Owned(concat(&["to ", Digits::new().format(t)])),
            ));
        }
        if sp == Special::TwoLocals {
            let a = get(&code.varnames, arg >> 4, "local")?;
            let b = get(&code.varnames, arg & 15, "local")?;
            return Ok((ArgVal::Names(a, b), Cow::Owned(concat(&[a, ", ", b]))));
        }
        let wordcode_locals = style.line_table == LineTable::Pep657;
        if f.local || (f.free && wordcode_locals) {
            let n = get(&code.varnames, arg, "local")?;
            return Ok((ArgVal::Name(n), Cow::Borrowed(n)));
        }
        if f.compare {
            let i = arg >> style.cmp_shift;
            let c: &'static str = get(&ops.table.cmp_op, i, "comparison")?;
            let r = if style.cmp_bool && arg & 16 != 0 {
                Cow::Owned(format!("bool({c})"))
            } else {
                Cow::Borrowed(c)
            };
            return Ok((ArgVal::Text(c), r));
        }
        if f.free {
            let n = get(&code.cellfree, arg, "cell/free variable")?;
            return Ok((ArgVal::Name(n), Cow::Borrowed(n)));
        }
        const CONVERSIONS: [&str; 4] = ["", "str", "repr", "ascii"];
        match sp {
            Special::FormatValue if style.format_value => {
                let conv = CONVERSIONS[(arg & 3) as usize];
                if arg & 4 == 0 {
                    return text(conv);
                }
                let sep = if conv.is_empty() { "" } else { ", " };
                Ok((
                    ArgVal::Int(arg),
                    Cow::Owned(format!("{conv}{sep}with format")),
                ))
            }
            Special::ConvertValue => {
                let r = CONVERSIONS
                    .get(arg as usize)
                    .ok_or_else(|| format!("CONVERT_VALUE argument {arg} out of range"))?;
                Ok((ArgVal::Text(r), Cow::Borrowed(*r)))
            }
            Special::MakeFunction | Special::SetFunctionAttribute
                if style.function_flags || sp == Special::SetFunctionAttribute =>
            {
                let Some(flags) = &ops.table.function_flags else {
                    return text("");
                };
                let r: Vec<&str> = flags
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 63 && arg & (1 << i) != 0)
                    .map(|(_, s)| s.as_str())
                    .collect();
                Ok((ArgVal::Int(arg), Cow::Owned(r.join(", "))))
            }
            Special::BinaryOp => match &ops.table.nb_ops {
                Some(nb) => {
                    let (_, sym) = usize::try_from(arg)
                        .ok()
                        .and_then(|i| nb.get(i))
                        .ok_or_else(|| format!("BINARY_OP argument {arg} out of range"))?;
                    Ok((ArgVal::Int(arg), Cow::Borrowed(sym.as_str())))
                }
                None => text(""),
            },
            Special::CallIntrinsic1 | Special::CallIntrinsic2 | Special::LoadSpecial => {
                let (list, name) = match sp {
                    Special::CallIntrinsic1 => (&ops.table.intrinsic_1, "CALL_INTRINSIC_1"),
                    Special::CallIntrinsic2 => (&ops.table.intrinsic_2, "CALL_INTRINSIC_2"),
                    _ => (&ops.table.special_method_names, "LOAD_SPECIAL"),
                };
                match list {
                    Some(list) => {
                        let r: &'static str = get(list, arg, name)?;
                        Ok((ArgVal::Int(arg), Cow::Borrowed(r)))
                    }
                    None => text(""),
                }
            }
            Special::LoadCommonConstant => match &ops.table.common_constants {
                Some(cc) => {
                    let c = usize::try_from(arg)
                        .ok()
                        .and_then(|i| cc.get(i))
                        .ok_or_else(|| {
                            format!("LOAD_COMMON_CONSTANT argument {arg} out of range")
                        })?;
                    Ok((ArgVal::Text(&c.argrepr), Cow::Borrowed(c.argrepr.as_str())))
                }
                None => text(""),
            },
            Special::IsOp if style.is_contains => text(if arg != 0 { "is not" } else { "is" }),
            Special::ContainsOp if style.is_contains => {
                text(if arg != 0 { "not in" } else { "in" })
            }
            _ => text(""),
        }
    }
}
