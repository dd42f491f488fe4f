//! `--format json`: the instructions of each code object with everything `dis` knows about
//! them (`dis.Instruction` fields), plus the exception table.

use serde::Serialize;

use crate::analyze::{Analyzer, ArgVal};
use crate::lines::ExceptionEntry;
use crate::model::Code;

#[derive(Serialize)]
pub struct JsonPositions {
    pub lineno: Option<i64>,
    pub end_lineno: Option<i64>,
    pub col_offset: Option<i64>,
    pub end_col_offset: Option<i64>,
}

#[derive(Serialize)]
pub struct JsonInstruction {
    pub offset: u32,
    pub start_offset: u32,
    pub opname: &'static str,
    pub opcode: u8,
    pub arg: Option<i64>,
    pub argval: serde_json::Value,
    pub argrepr: String,
    pub starts_line: bool,
    pub line: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<JsonPositions>,
    pub is_jump_target: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<usize>,
    pub jump_target: Option<i64>,
    pub cache_entries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Serialize)]
pub struct JsonCode {
    pub name: String,
    pub qualname: String,
    pub filename: String,
    pub firstlineno: i64,
    pub instructions: Vec<JsonInstruction>,
    pub exception_table: Vec<ExceptionEntry>,
    pub children: Vec<JsonCode>,
    /// Some nested code objects are left out: nested more than [`MAX_JSON_NESTING`] deep, or
    /// past [`crate::format::MAX_CODE_OBJECTS`] in all.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// How deep `children` nest in the JSON view. Real code nests a few levels; a pyc can chain
/// code objects through back-references as deep as it is long (issue 16), and building and
/// writing nested JSON recurses once per level, so deeper ones are cut (`truncated`).
pub const MAX_JSON_NESTING: usize = 256;

impl Analyzer {
    /// The JSON view of a code object and (depth permitting) its nested code objects.
    pub fn to_json(&self, code: &Code, depth: Option<usize>) -> JsonCode {
        let mut budget = crate::format::MAX_CODE_OBJECTS;
        self.to_json_budget(code, depth, &mut budget, 0)
    }

    fn to_json_budget(
        &self,
        code: &Code,
        depth: Option<usize>,
        budget: &mut usize,
        level: usize,
    ) -> JsonCode {
        *budget = budget.saturating_sub(1);
        let a = self.analyze(code);
        let instructions = a
            .instrs
            .iter()
            .map(|r| JsonInstruction {
                offset: r.ins.offset,
                start_offset: r.ins.start_offset,
                opname: r.opname,
                opcode: r.ins.op,
                arg: r.ins.arg,
                argval: match &r.argval {
                    ArgVal::None => serde_json::Value::Null,
                    ArgVal::Int(i) | ArgVal::Offset(i) => (*i).into(),
                    ArgVal::Const(s) | ArgVal::Name(s) | ArgVal::Text(s) => (*s).into(),
                    ArgVal::Names(a, b) => serde_json::json!([a, b]),
                },
                argrepr: r.argrepr.to_string(),
                starts_line: r.starts_line,
                line: r.line,
                positions: r.positions.map(|p| JsonPositions {
                    lineno: p.lineno,
                    end_lineno: p.end_lineno,
                    col_offset: p.col_offset,
                    end_col_offset: p.end_col_offset,
                }),
                is_jump_target: r.is_jump_target,
                label: r.label,
                jump_target: r.jump_target,
                cache_entries: r.ins.caches,
                problem: r.problem.clone(),
            })
            .collect();
        let mut children = Vec::new();
        let mut truncated = false;
        if depth != Some(0) {
            for c in code.nested() {
                // Recursion bounded by MAX_JSON_NESTING, not by the input.
                if *budget == 0 || level >= MAX_JSON_NESTING {
                    truncated = true;
                    break;
                }
                children.push(self.to_json_budget(c, depth.map(|d| d - 1), budget, level + 1));
            }
        }
        JsonCode {
            name: code.name.to_string(),
            qualname: code.qualname.to_string(),
            filename: code.filename.to_string(),
            firstlineno: code.firstlineno,
            instructions,
            exception_table: a.exceptions,
            children,
            truncated,
        }
    }
}
