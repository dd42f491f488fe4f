//! `dis.dis` text, in the layout of each version.

use std::fmt::Write;

use crate::analyze::{Analyzer, Prepared, Resolved};
use crate::decode::ArgKind;
use crate::lines::Positions;
use crate::model::Code;
use crate::style::{ExcTable, Layout};

/// The options of `dis.dis` that `pyc dis` offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `show_caches=True` (3.11+).
    pub show_caches: bool,
    /// `show_offsets=True` (3.13+; earlier versions always show offsets).
    pub show_offsets: bool,
    /// `show_positions=True` (3.14+).
    pub show_positions: bool,
    /// `depth=N`: how deep to descend into nested code objects (None: all).
    pub depth: Option<usize>,
}

impl Options {
    /// Every display option on, all nesting: the most output a code object gives (tests and
    /// fuzzing go through every formatting path with it and with the default).
    pub fn everything() -> Options {
        Options {
            show_caches: true,
            show_offsets: true,
            show_positions: true,
            depth: None,
        }
    }
}

const OPNAME_WIDTH: usize = 20;
/// A pyc can share one nested code object many times over through marshal references, so
/// that printing every occurrence (as `dis` would) takes exponential time; stop here.
pub const MAX_CODE_OBJECTS: usize = 100_000;
const OPARG_WIDTH: usize = 5;
const NO_LINENO: &str = "  --";

fn rjust(out: &mut String, s: &str, width: usize) {
    spaces(out, width.saturating_sub(text_width(s)));
    out.push_str(s);
}

fn text_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `str(n).rjust(width)` without going through `fmt` (digits from [`crate::num::Digits`]).
fn rjust_num(out: &mut String, n: impl Into<i64>, width: usize) {
    let mut digits = crate::num::Digits::new();
    let text = digits.format(n.into());
    spaces(out, width.saturating_sub(text.len()));
    out.push_str(text);
}

const SPACES: &str = "                                                                ";

fn spaces(out: &mut String, n: usize) {
    if n <= SPACES.len() {
        out.push_str(&SPACES[..n]);
    } else {
        out.extend(std::iter::repeat_n(' ', n));
    }
}

/// `repr(instr.arg).rjust(width)`.
fn rjust_arg(out: &mut String, r: &Resolved, width: usize) {
    if let Some(a) = r.ins.arg {
        match r.ins.arg_kind {
            ArgKind::Int => rjust_num(out, a, width),
            ArgKind::Long => rjust(out, &format!("{a}L"), width),
        }
    }
}

fn ljust(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    spaces(out, width.saturating_sub(text_width(s)));
}

/// `.rstrip()` of the line that starts at `start` (its padding is spaces).
fn rstrip_from(out: &mut String, start: usize) {
    while out.len() > start && out.ends_with(' ') {
        out.pop();
    }
}

/// A visible line after an instruction that `dis` itself could not have shown.
fn mark_problem(r: &Resolved, out: &mut String) {
    if let Some(p) = &r.problem {
        if r.ins.arg.is_none() || !r.argrepr.starts_with("!!") {
            let _ = writeln!(out, "!! {p}");
        }
    }
}

/// One instruction line of the 3.6-3.12 layout (`Instruction._disassemble`), newline
/// included.
fn marker_line(r: &Resolved, lineno_width: usize, offset_width: usize, out: &mut String) {
    let start = out.len();
    let line = &mut *out;
    if lineno_width > 0 {
        if r.starts_line {
            rjust_num(line, r.line_start.unwrap_or(0), lineno_width);
        } else {
            spaces(line, lineno_width);
        }
        line.push(' ');
    }
    line.push_str(if r.is_jump_target {
        "    >> "
    } else {
        "       "
    });
    rjust_num(line, r.ins.offset, offset_width);
    line.push(' ');
    ljust(line, r.opname, OPNAME_WIDTH);
    if r.ins.arg.is_some() {
        line.push(' ');
        rjust_arg(line, r, OPARG_WIDTH);
        if !r.argrepr.is_empty() {
            line.push_str(" (");
            line.push_str(&r.argrepr);
            line.push(')');
        }
    }
    rstrip_from(out, start);
    out.push('\n');
}

/// [`marker_line`] with its fixed-width part assembled in a buffer on the stack and copied
/// once (the hottest loop of `pyc dis`). False, with nothing written, where that part does
/// not fit or is not plain ASCII: then [`marker_line`] prints it.
fn marker_line_fast(
    r: &Resolved,
    lineno_width: usize,
    offset_width: usize,
    out: &mut String,
) -> bool {
    let mut b = LineBuf::new();
    let ok = (lineno_width == 0
        || (if r.starts_line {
            b.rjust_num(r.line_start.unwrap_or(0), lineno_width)
        } else {
            b.skip(lineno_width)
        }) && b.skip(1))
        && b.put(if r.is_jump_target {
            b"    >> "
        } else {
            b"       "
        })
        && b.rjust_num(i64::from(r.ins.offset), offset_width)
        && b.skip(1)
        && r.opname.is_ascii()
        && match r.ins.arg {
            // `ljust` then `rstrip()`: no padding when nothing follows.
            None => b.put(r.opname.as_bytes()),
            Some(arg) => {
                r.ins.arg_kind == ArgKind::Int
                    && b.put(r.opname.as_bytes())
                    && b.skip(OPNAME_WIDTH.saturating_sub(r.opname.len()) + 1)
                    && b.rjust_num(arg, OPARG_WIDTH)
            }
        };
    if !ok {
        return false;
    }
    out.push_str(b.trimmed());
    if r.ins.arg.is_some() && !r.argrepr.is_empty() {
        out.push_str(" (");
        out.push_str(&r.argrepr);
        out.push(')');
    }
    out.push('\n');
    true
}

/// A line's fixed-width ASCII part, on the stack: starts as all spaces, so padding is
/// only a move of the end.
struct LineBuf {
    buf: [u8; 128],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [b' '; 128],
            len: 0,
        }
    }

    /// `n` spaces; false if they do not fit.
    fn skip(&mut self, n: usize) -> bool {
        match self.len.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                self.len = end;
                true
            }
            _ => false,
        }
    }

    /// ASCII bytes; false if they do not fit.
    fn put(&mut self, s: &[u8]) -> bool {
        let start = self.len;
        match self.buf.get_mut(start..start.saturating_add(s.len())) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.len += s.len();
                true
            }
            None => false,
        }
    }

    /// `str(n).rjust(width)`: the digits written in place, from the right.
    fn rjust_num(&mut self, n: i64, width: usize) -> bool {
        let mut v = n.unsigned_abs();
        let mut len = usize::from(n < 0) + 1;
        let mut rest = v / 10;
        while rest > 0 {
            len += 1;
            rest /= 10;
        }
        let Some(end) = self.len.checked_add(len.max(width)) else {
            return false;
        };
        let Some(field) = self.buf.get_mut(self.len..end) else {
            return false;
        };
        let mut i = field.len();
        loop {
            i -= 1;
            field[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            field[i - 1] = b'-';
        }
        self.len = end;
        true
    }

    /// The text without trailing spaces (`rstrip()`).
    fn trimmed(&self) -> &str {
        let mut end = self.len;
        while end > 0 && self.buf[end - 1] == b' ' {
            end -= 1;
        }
        // Only spaces, digits, '-', '>' and strings checked to be ASCII were written.
        crate::num::ascii(&self.buf[..end])
    }
}

impl Analyzer {
    /// `dis.dis(code)`: the code object, then (depth permitting) every nested code object in
    /// `co_consts` order, each after a `Disassembly of <code object ...>:` header. 2.7 and
    /// 3.6 do not descend themselves; pyc prints their nested code objects the 3.7 way.
    pub fn dis(&self, code: &Code, opts: &Options, out: &mut String) -> Vec<String> {
        let mut problems = Vec::new();
        let mut budget = MAX_CODE_OBJECTS;
        // Depth first, in `co_consts` order, on a heap stack: code objects can nest as deep
        // as the pyc's back-references chain them (issue 16), so no native recursion.
        let mut stack: Vec<(&Code, Option<usize>, bool)> = vec![(code, opts.depth, false)];
        while let Some((c, depth, header)) = stack.pop() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            if header {
                out.push('\n');
                let _ = writeln!(out, "Disassembly of {}:", c.repr);
            }
            problems.extend(self.disassemble(c, opts, out));
            if depth != Some(0) {
                let depth = depth.map(|d| d - 1);
                let at = stack.len();
                stack.extend(c.nested().map(|n| (n, depth, true)));
                stack[at..].reverse();
            }
        }
        if budget == 0 && !stack.is_empty() {
            problems.push(format!(
                "more than {MAX_CODE_OBJECTS} code objects to print (shared nested code \
                 objects); output cut"
            ));
        }
        problems
    }

    /// `dis.disassemble(code)`: one code object. Instructions `dis` itself could not show
    /// (truncated code, an index out of range) are followed by a line starting with `!!`.
    pub fn disassemble(&self, code: &Code, opts: &Options, out: &mut String) -> Vec<String> {
        let positions = opts.show_positions && self.style.show_positions;
        let mut a = self.prepare(code, positions);
        let mut problems = std::mem::take(&mut a.problems);
        out.reserve(a.decoded.len() * 48);
        match self.style.layout {
            Layout::Py2 => self.text_py2(code, &a, &mut problems, out),
            Layout::Markers { dynamic_widths } => {
                self.text_markers(code, &a, opts, dynamic_widths, &mut problems, out)
            }
            Layout::Labels => self.text_labels(code, &a, opts, &mut problems, out),
        }
        problems
    }

    fn text_py2(&self, code: &Code, a: &Prepared, problems: &mut Vec<String>, out: &mut String) {
        self.resolve_each(code, a, problems, |r| {
            let r = &r;
            if r.starts_line {
                if r.ins.offset > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "{:>3}", r.line_start.unwrap_or(0));
            } else {
                out.push_str("   ");
            }
            out.push_str("     ");
            out.push_str(if r.is_jump_target { ">>" } else { "  " });
            out.push(' ');
            rjust_num(out, r.ins.offset, 4);
            out.push(' ');
            ljust(out, r.opname, OPNAME_WIDTH);
            if r.ins.arg.is_some() {
                out.push(' ');
                rjust_arg(out, r, OPARG_WIDTH);
                if !r.argrepr.is_empty() || r.argrepr_always {
                    let _ = write!(out, " ({})", r.argrepr);
                }
            }
            out.push('\n');
            mark_problem(r, out);
        });
    }

    fn text_markers(
        &self,
        code: &Code,
        a: &Prepared,
        opts: &Options,
        dynamic_widths: bool,
        problems: &mut Vec<String>,
        out: &mut String,
    ) {
        // 3.6-3.9: the column is always there; 3.10+: only when there are line starts.
        let show_lineno = !a.linestarts.is_empty() || self.style.lineno_column_always;
        let mut lineno_width = if show_lineno { 3 } else { 0 };
        let mut offset_width = 4;
        if dynamic_widths {
            let maxline = a.linestarts.iter().filter_map(|&(_, l)| l).max();
            if let Some(m) = maxline {
                if m >= 1000 {
                    lineno_width = m.to_string().len();
                }
            }
            let maxoffset = code.code.len() as i64 - 2;
            if maxoffset >= 10000 {
                offset_width = maxoffset.to_string().len();
            }
        }
        self.resolve_each(code, a, problems, |r| {
            let r = &r;
            if show_lineno && r.starts_line && r.ins.offset > 0 {
                out.push('\n');
            }
            if !marker_line_fast(r, lineno_width, offset_width, out) {
                marker_line(r, lineno_width, offset_width, out);
            }
            mark_problem(r, out);
            if opts.show_caches && r.ins.caches > 0 {
                self.caches_markers(r, lineno_width, offset_width, out);
            }
        });
        if self.style.exc_table == ExcTable::Offsets && !a.exceptions.is_empty() {
            out.push_str("ExceptionTable:\n");
            for e in &a.exceptions {
                // "  {start} to {end - 2} -> {target} [{depth}]{lasti}"
                let mut d = crate::num::Digits::new();
                out.push_str("  ");
                out.push_str(d.format(e.start as i64));
                out.push_str(" to ");
                out.push_str(d.format(e.end as i64 - 2));
                out.push_str(" -> ");
                out.push_str(d.format(e.target as i64));
                out.push_str(" [");
                out.push_str(d.format(e.depth as i64));
                out.push_str(if e.lasti { "] lasti\n" } else { "]\n" });
            }
        }
    }

    /// 3.11/3.12 `show_caches`: a `CACHE` line per cache code unit.
    fn caches_markers(
        &self,
        r: &Resolved,
        lineno_width: usize,
        offset_width: usize,
        out: &mut String,
    ) {
        let mut offset = r.ins.offset;
        let named = self.style.named_caches;
        for (name, size) in self.ops.cache_format(r.ins.op) {
            for i in 0..*size {
                offset += 2;
                let mut line = String::new();
                if lineno_width > 0 {
                    spaces(&mut line, lineno_width);
                    line.push(' ');
                }
                line.push_str("       ");
                rjust_num(&mut line, offset, offset_width);
                line.push(' ');
                ljust(&mut line, "CACHE", OPNAME_WIDTH);
                line.push(' ');
                rjust(&mut line, "0", OPARG_WIDTH);
                if i == 0 && named {
                    let _ = write!(line, " ({name}: 0)");
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }

    fn text_labels(
        &self,
        code: &Code,
        a: &Prepared,
        opts: &Options,
        problems: &mut Vec<String>,
        out: &mut String,
    ) {
        let show_positions = opts.show_positions && self.style.show_positions;
        let lineno_width = if show_positions {
            positions_width(&a.locations, a.n_units)
        } else {
            let maxline = a
                .linestarts
                .iter()
                .filter_map(|&(_, l)| l)
                .filter(|&l| l != 0)
                .max()
                .unwrap_or(-1);
            match maxline {
                -1 => 0,
                m => {
                    let mut w = 3.max(m.to_string().len());
                    if w < NO_LINENO.len() && a.linestarts.iter().any(|&(_, l)| l.is_none()) {
                        w = NO_LINENO.len();
                    }
                    w
                }
            }
        };
        let label_width = 4 + a.labels().len().to_string().len();
        let offset_width = if opts.show_offsets {
            (code.code.len() as i64 - 2).max(9999).to_string().len()
        } else {
            0
        };
        let ctx = LabelCtx {
            lineno_width,
            label_width,
            offset_width,
            show_positions,
        };
        self.resolve_each(code, a, problems, |r| {
            let r = &r;
            ctx.line(
                out,
                r.starts_line,
                r.line_start,
                r.label,
                r.ins.offset,
                r.opname,
                r.ins.arg,
                &r.argrepr,
                r.positions,
            );
            mark_problem(r, out);
            if opts.show_caches && r.ins.caches > 0 {
                let mut offset = r.ins.offset;
                for (name, size) in self.ops.cache_format(r.ins.op) {
                    for i in 0..*size {
                        offset += 2;
                        let argrepr = if i == 0 {
                            format!("{name}: 0")
                        } else {
                            String::new()
                        };
                        ctx.line(
                            out,
                            false,
                            None,
                            None,
                            offset,
                            "CACHE",
                            Some(0),
                            &argrepr,
                            r.positions,
                        );
                    }
                }
            }
        });
        if !a.exceptions.is_empty() {
            out.push_str("ExceptionTable:\n");
            for e in &a.exceptions {
                let lasti = if e.lasti { " lasti" } else { "" };
                let l = |o: u64| a.labels().label(o as i64).unwrap_or(0);
                let _ = writeln!(
                    out,
                    "  L{} to L{} -> L{} [{}]{}",
                    l(e.start),
                    l(e.end),
                    l(e.target),
                    e.depth,
                    lasti
                );
            }
        }
    }
}

struct LabelCtx {
    lineno_width: usize,
    label_width: usize,
    offset_width: usize,
    show_positions: bool,
}

impl LabelCtx {
    #[allow(clippy::too_many_arguments)]
    fn line(
        &self,
        out: &mut String,
        starts_line: bool,
        line_number: Option<i64>,
        label: Option<usize>,
        offset: u32,
        opname: &str,
        arg: Option<i64>,
        argrepr: &str,
        positions: Option<Positions>,
    ) {
        if self.lineno_width > 0 && starts_line && offset > 0 {
            out.push('\n');
        }
        let start = out.len();
        let line = &mut *out;
        if self.lineno_width > 0 {
            if self.show_positions {
                match positions {
                    Some(p) => {
                        let all = [p.lineno, p.end_lineno, p.col_offset, p.end_col_offset];
                        let s = if all.iter().all(Option::is_none) {
                            NO_LINENO.to_string()
                        } else {
                            let q = |v: Option<i64>| v.map_or("?".to_string(), |v| v.to_string());
                            format!(
                                "{}:{}-{}:{}",
                                q(p.lineno),
                                q(p.col_offset),
                                q(p.end_lineno),
                                q(p.end_col_offset)
                            )
                        };
                        ljust(line, &s, self.lineno_width);
                    }
                    None => spaces(line, self.lineno_width),
                }
            } else if starts_line {
                match line_number {
                    Some(n) => rjust_num(line, n, self.lineno_width),
                    None => rjust(line, NO_LINENO, self.lineno_width),
                }
            } else {
                spaces(line, self.lineno_width);
            }
            line.push(' ');
        }
        match label {
            Some(l) => {
                let len = 2 + l.to_string().len();
                spaces(line, self.label_width.saturating_sub(len));
                let _ = write!(line, "L{l}:");
            }
            None => spaces(line, self.label_width),
        }
        line.push(' ');
        if self.offset_width > 0 {
            rjust_num(line, offset, self.offset_width);
            line.push_str("   ");
        }
        line.push_str("    ");
        ljust(line, opname, OPNAME_WIDTH);
        if let Some(arg) = arg {
            let excess = opname.chars().count().saturating_sub(OPNAME_WIDTH);
            line.push(' ');
            rjust_num(line, arg, OPARG_WIDTH.saturating_sub(excess));
            if !argrepr.is_empty() {
                line.push_str(" (");
                line.push_str(argrepr);
                line.push(')');
            }
        }
        while out.len() > start && out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }
}

/// `dis._get_positions_width` (3.14+).
fn positions_width(entries: &[crate::lines::LocationEntry], n_units: usize) -> usize {
    let mut has_value = false;
    let mut values_width = 0;
    let mut units = 0usize;
    for e in entries {
        // co_positions() yields one item per code unit, and no more than there are.
        if units >= n_units {
            break;
        }
        units += e.units as usize;
        let p = &e.positions;
        let all = [p.lineno, p.end_lineno, p.col_offset, p.end_col_offset];
        has_value |= all.iter().any(Option::is_some);
        let w: usize = all
            .iter()
            .map(|v| v.map_or(1, |v| v.to_string().len()))
            .sum();
        values_width = values_width.max(w);
    }
    if has_value {
        1 + NO_LINENO.len().max(3 + values_width)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::ArgVal;
    use crate::decode::Instr;
    use std::borrow::Cow;

    fn resolved(
        opname: &'static str,
        arg: Option<i64>,
        argrepr: &'static str,
        line: Option<i64>,
    ) -> Resolved<'static> {
        Resolved {
            ins: Instr {
                offset: 1234,
                start_offset: 1234,
                op: 100,
                arg,
                arg_kind: ArgKind::Int,
                caches: 0,
                defect: None,
            },
            opname,
            argval: ArgVal::None,
            argrepr: Cow::Borrowed(argrepr),
            starts_line: line.is_some(),
            line_start: line,
            line,
            is_jump_target: line == Some(7),
            label: None,
            jump_target: None,
            positions: None,
            problem: None,
            argrepr_always: false,
        }
    }

    /// The stack-buffer line is the plain one, and too long a line falls back to it.
    #[test]
    fn fast_marker_line_is_the_plain_one() {
        let long: &'static str = concat!(
            "AN_OPNAME_LONGER_THAN_ANY_TABLE_HAS_SO_THAT_THE_FIXED_PART_OF_THE_LINE_",
            "DOES_NOT_FIT_THE_BUFFER_ON_THE_STACK"
        );
        let (mut checked, mut fell_back) = (0, 0);
        for opname in [
            "LOAD_CONST",
            "RETURN_VALUE",
            "A_VERY_LONG_OPNAME_OF_30_CHARS",
            long,
        ] {
            for arg in [
                None,
                Some(0),
                Some(7),
                Some(10),
                Some(99),
                Some(100),
                Some(123456),
                Some(1000000),
                Some(-3),
                Some(-10),
                Some(i64::MAX),
                Some(i64::MIN),
            ] {
                for argrepr in ["", "'x'", "naïve"] {
                    for line in [None, Some(7), Some(10), Some(123456789), Some(-1)] {
                        for (lw, ow) in [(0, 4), (3, 4), (9, 6), (20, 20)] {
                            let r = resolved(opname, arg, argrepr, line);
                            let (mut fast, mut plain) = (String::new(), String::new());
                            marker_line(&r, lw, ow, &mut plain);
                            if marker_line_fast(&r, lw, ow, &mut fast) {
                                assert_eq!(fast, plain);
                                checked += 1;
                            } else {
                                assert!(fast.is_empty() && opname == long, "{plain}");
                                fell_back += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100 && fell_back > 0);
    }
}
