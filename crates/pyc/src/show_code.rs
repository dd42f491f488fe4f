//! The body part of `pyc show`: the module code object.
//!
//! * default: a summary of the module code object (name, qualname, file, first line, flags
//!   as CPython names them, argument counts, stack size, counts of constants, names, locals,
//!   cells, free vars and nested code objects) and whether the marshal data is in pyc's
//!   canonical form (FLAG_REF only on shared objects, see `pyc_format::marshal_write`);
//! * `--code`: every code object of the tree, pre-order, each as `dis.code_info` prints it
//!   (constants as the pyc's own Python version reprs them);
//! * `--format json`: the same tree as JSON, constants typed (see [`const_json`]).

use pyc_format::code::{pretty_flags, Code};
use pyc_format::{canonical_pyc, float_repr, read_pyc, ObjRef, Object, PyVersion, Pyc, Repr};
use serde_json::{json, Map, Value};
use std::io::Write;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct CodeArgs {
    /// Print the whole code object tree, each code object as `dis.show_code` does.
    #[arg(long)]
    pub code: bool,
}

/// A read pyc body.
pub struct Body {
    pyc: Pyc,
    version: PyVersion,
    canonical: bool,
}

/// Reads the body of a pyc (its header was parsed already); the error is one line.
pub fn read_body(data: &[u8]) -> Result<Body, String> {
    let pyc = read_pyc(data).map_err(|e| e.to_string())?;
    let version = pyc.header.magic.version().unwrap_or(PyVersion::new(3, 0));
    let canonical = canonical_pyc(data).map(|c| c == data).unwrap_or(false);
    Ok(Body {
        pyc,
        version,
        canonical,
    })
}

/// At most this many bytes go into one `--code` listing, and about `MAX_JSON_BYTES` into one
/// JSON document (built in memory as a tree, several times its text size, hence smaller):
/// shared references let a small file describe an enormous tree (issue 16: a 1 MB pyc
/// expanded to 2.1 GB of JSON). Past the limit, text ends with a line saying so and JSON
/// containers stop with `"truncated": true`.
pub const MAX_TEXT: usize = 64 << 20;
const MAX_JSON_BYTES: usize = 16 << 20;

/// What is left of the JSON document's byte budget. Each value is charged what it adds to the
/// document (its strings plus a fixed overhead per object), so the document stays within
/// about [`MAX_JSON_BYTES`] whatever the graph.
pub struct Budget {
    bytes: usize,
    /// Something was left out.
    pub truncated: bool,
}

impl Budget {
    pub fn new(bytes: usize) -> Budget {
        Budget {
            bytes,
            truncated: false,
        }
    }

    fn spent(&self) -> bool {
        self.bytes == 0
    }

    fn charge(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
    }
}

/// What one JSON object costs beyond its strings (keys, quotes, braces).
const OBJECT_OVERHEAD: usize = 48;

/// Number of code objects in the tree under `c` (itself excluded), counting shared ones once
/// per occurrence as CPython's tree does, computed once per distinct object. Iterative (a
/// post-order walk on a heap stack): code objects chained through back-references can nest
/// as deep as the file is long.
fn count_nested(root: &Code) -> usize {
    use std::collections::HashMap;
    let key = |c: &Code| c as *const Code;
    let mut memo: HashMap<*const Code, usize> = HashMap::new();
    let mut stack: Vec<(&Code, bool)> = vec![(root, false)];
    while let Some((c, children_done)) = stack.pop() {
        if memo.contains_key(&key(c)) {
            continue;
        }
        if children_done {
            let n = c.nested_code().fold(0usize, |acc, k| {
                let below = memo.get(&key(k)).copied().unwrap_or(0);
                acc.saturating_add(1).saturating_add(below)
            });
            memo.insert(key(c), n);
        } else {
            stack.push((c, true));
            stack.extend(
                c.nested_code()
                    .filter(|k| !memo.contains_key(&key(k)))
                    .map(|k| (k, false)),
            );
        }
    }
    memo.get(&key(root)).copied().unwrap_or(0)
}

fn names(v: &[ObjRef]) -> Vec<String> {
    v.iter()
        .map(|o| o.as_text().unwrap_or_default().into_owned())
        .collect()
}

/// The summary lines (text output, after the header lines) and, with `--code`, the tree.
/// Written to `out` as it goes; the first write error (a closed pipe) ends it.
pub fn write_text(out: &mut dyn Write, body: &Body, args: &CodeArgs) -> std::io::Result<()> {
    let c = &*body.pyc.code;
    let canonical = if body.canonical {
        "yes"
    } else {
        "no (reference flags, sharing or interning differ from the canonical form)"
    };
    writeln!(out, "  canonical    {canonical}")?;
    // co_qualname exists from 3.11.
    let qualname = match &c.qualname {
        Some(_) => format!(" (qualname {})", c.qualname()),
        None => String::new(),
    };
    writeln!(
        out,
        "  code         {}{qualname}, file \"{}\", line {}",
        c.name(),
        c.filename(),
        c.firstlineno
    )?;
    match c.flags {
        0 => writeln!(out, "  co_flags     0x0")?,
        f => writeln!(
            out,
            "  co_flags     {f:#x}: {}",
            pretty_flags(f, body.version)
        )?,
    }
    writeln!(
        out,
        "  arguments    {} ({} positional-only, {} keyword-only), stack size {}",
        c.argcount, c.posonlyargcount, c.kwonlyargcount, c.stacksize
    )?;
    writeln!(
        out,
        "  counts       {} consts, {} names, {} locals, {} cells, {} free vars, {} nested code objects",
        c.consts().len(),
        c.names().len(),
        c.nlocals,
        c.cellvars().len(),
        c.freevars().len(),
        count_nested(c)
    )?;
    if args.code {
        writeln!(out)?;
        let mut budget = MAX_TEXT;
        let mut first = true;
        let mut result = Ok(());
        walk(c, &mut |code| {
            if budget == 0 {
                return false;
            }
            let info = code_info(code, body.version);
            budget = budget.saturating_sub(info.len().max(1));
            let sep = if first { "" } else { "\n" };
            first = false;
            result = write!(out, "{sep}{info}");
            result.is_ok()
        });
        result?;
        if budget == 0 {
            writeln!(out, "... (output limit of {MAX_TEXT} bytes reached)")?;
        }
    }
    Ok(())
}

/// Pre-order walk over the code object tree, until `f` returns false.
fn walk<'a>(c: &'a Code, f: &mut dyn FnMut(&'a Code) -> bool) {
    let mut stack = vec![c];
    while let Some(c) = stack.pop() {
        if !f(c) {
            return;
        }
        let nested: Vec<&Code> = c.nested_code().collect();
        stack.extend(nested.into_iter().rev());
    }
}

/// `dis.code_info(code)` plus a newline, as the pyc's Python version prints it (2.7 has no
/// `code_info`; it gets 3.0's layout).
pub fn code_info(c: &Code, version: PyVersion) -> String {
    use std::fmt::Write as _;
    let r = Repr::new(version);
    let mut s = String::new();
    let _ = writeln!(s, "Name:              {}", c.name());
    let _ = writeln!(s, "Filename:          {}", c.filename());
    let _ = writeln!(s, "Argument count:    {}", c.argcount);
    if c.format.has_posonly() {
        let _ = writeln!(s, "Positional-only arguments: {}", c.posonlyargcount);
    }
    if c.format.has_kwonly() {
        let _ = writeln!(s, "Kw-only arguments: {}", c.kwonlyargcount);
    }
    let _ = writeln!(s, "Number of locals:  {}", c.nlocals);
    let _ = writeln!(s, "Stack size:        {}", c.stacksize);
    let _ = writeln!(s, "Flags:             {}", pretty_flags(c.flags, version));
    if !c.consts().is_empty() {
        s.push_str("Constants:\n");
        for (i, k) in c.consts().iter().enumerate() {
            if s.len() > MAX_TEXT {
                s.push_str("   ... (output limit reached)\n");
                break;
            }
            // What the version's `dis.code_info` prints, or the ValueError it raises (an int
            // past 3.7+'s 4,300-digit limit) in its place.
            let shown = match r.repr(k) {
                Ok(text) => text,
                Err(pyc_format::ReprError::TooLong(_)) => pyc_format::repr_limited(k, version)
                    .unwrap_or_else(|e| format!("<ValueError: {e}>")),
                Err(e) => format!("<ValueError: {e}>"),
            };
            let _ = writeln!(s, "{i:4}: {shown}");
        }
    }
    let lists = [
        ("Names", names(c.names())),
        ("Variable names", names(&c.varnames())),
        ("Free variables", names(&c.freevars())),
        ("Cell variables", names(&c.cellvars())),
    ];
    for (title, items) in lists {
        if !items.is_empty() {
            let _ = writeln!(s, "{title}:");
            for (i, n) in items.iter().enumerate() {
                let _ = writeln!(s, "{i:4}: {n}");
            }
        }
    }
    s
}

fn hex(b: &[u8]) -> String {
    pyc_format::hex(b)
}

/// The JSON object for `pyc show --format json`: the header report plus `"body"`.
pub fn json<T: serde::Serialize>(
    report: &T,
    body: &Result<Body, String>,
    args: &CodeArgs,
) -> serde_json::Result<String> {
    let mut v = serde_json::to_value(report)?;
    if let Value::Object(m) = &mut v {
        match body {
            Ok(b) => {
                m.insert("canonical".into(), Value::Bool(b.canonical));
                let mut budget = Budget::new(MAX_JSON_BYTES);
                let tree = code_json(&b.pyc.code, b.version, args.code, &mut budget, 0);
                m.insert("code".into(), tree);
                if budget.truncated {
                    m.insert("truncated".into(), Value::Bool(true));
                }
            }
            Err(e) => {
                m.insert("body_error".into(), Value::String(e.clone()));
            }
        }
    }
    crate::output::json_line(crate::output::schema::SHOW, &v)
}

/// One code object: the summary fields; with `full`, also constants (typed), names,
/// variables, raw tables, recursively.
fn code_json(c: &Code, version: PyVersion, full: bool, budget: &mut Budget, depth: usize) -> Value {
    budget.charge(16 * OBJECT_OVERHEAD);
    let mut m = Map::new();
    m.insert("type".into(), json!("code"));
    m.insert("name".into(), json!(c.name()));
    // None before 3.11, which has no co_qualname.
    let qualname = c.qualname.as_ref().map(|_| c.qualname());
    m.insert("qualname".into(), json!(qualname));
    m.insert("filename".into(), json!(c.filename()));
    m.insert("firstlineno".into(), json!(c.firstlineno));
    m.insert("argcount".into(), json!(c.argcount));
    m.insert("posonlyargcount".into(), json!(c.posonlyargcount));
    m.insert("kwonlyargcount".into(), json!(c.kwonlyargcount));
    m.insert("nlocals".into(), json!(c.nlocals));
    m.insert("stacksize".into(), json!(c.stacksize));
    m.insert("flags".into(), json!(c.flags));
    m.insert("flag_names".into(), json!(pretty_flags(c.flags, version)));
    if !full {
        m.insert("consts".into(), json!(c.consts().len()));
        m.insert("names".into(), json!(c.names().len()));
        m.insert("cellvars".into(), json!(c.cellvars().len()));
        m.insert("freevars".into(), json!(c.freevars().len()));
        m.insert("nested_code_objects".into(), json!(count_nested(c)));
        return Value::Object(m);
    }
    let consts = items_json(c.consts(), version, budget, depth + 1);
    if consts
        .as_array()
        .is_some_and(|a| a.len() < c.consts().len())
    {
        m.insert("truncated".into(), Value::Bool(true));
    }
    m.insert("consts".into(), consts);
    m.insert("names".into(), json!(names(c.names())));
    m.insert("varnames".into(), json!(names(&c.varnames())));
    m.insert("cellvars".into(), json!(names(&c.cellvars())));
    m.insert("freevars".into(), json!(names(&c.freevars())));
    if c.format.has_localsplus() {
        let lp: Vec<Value> = c
            .localsplus()
            .iter()
            .map(|(n, k)| json!({"name": n.as_text().unwrap_or_default(), "kind": k}))
            .collect();
        m.insert("localsplus".into(), Value::Array(lp));
    }
    budget.charge(2 * (c.co_code().len() + c.linetable_bytes().len()));
    m.insert("code".into(), json!(hex(c.co_code())));
    let table = if c.format >= pyc_format::CodeFormat::Py310 {
        "linetable"
    } else {
        "lnotab"
    };
    m.insert(table.into(), json!(hex(c.linetable_bytes())));
    if c.exceptiontable.is_some() {
        m.insert(
            "exceptiontable".into(),
            json!(hex(c.exceptiontable_bytes())),
        );
    }
    Value::Object(m)
}

/// Beyond this nesting, constants are cut (`"truncated": true`).
const MAX_JSON_DEPTH: usize = 500;

/// A constant as typed JSON: `{"type": T, ...}` with T the Python type name of the pyc's
/// version (`int`, `long`, `float`, `str`, `unicode`, `bytes`, `tuple`, `frozenset`, `code`...)
/// and:
/// * ints: `"value"`, a JSON number when |v| ≤ 2^53, else the exact decimal string; past
///   4,300 digits `"hex"` instead (`0x…`, `-0x…`: decimal conversion is quadratic);
/// * floats: `"value"`, Python's repr (shortest, round-trips exactly; `inf`, `nan`, `-0.0`);
///   complex: `"real"`, `"imag"` likewise;
/// * str: `"value"` when it has no lone surrogates, else `"surrogatepass_hex"` (UTF-8 with
///   surrogatepass, lossless); bytes (and 2.x str): `"hex"`;
/// * containers: `"items"` (dicts: `[key, value]` pairs); slices: `"start"`, `"stop"`, `"step"`;
/// * every constant but code objects also has `"repr"`.
pub fn const_json(o: &ObjRef, version: PyVersion, budget: &mut Budget, depth: usize) -> Value {
    let py2 = version.major < 3;
    let t = match &**o {
        Object::StopIteration => "StopIteration",
        other => other.type_name(py2),
    };
    if budget.spent() || depth > MAX_JSON_DEPTH {
        budget.truncated = true;
        budget.charge(OBJECT_OVERHEAD);
        return json!({"type": t, "truncated": true});
    }
    budget.charge(OBJECT_OVERHEAD);
    let mut m = Map::new();
    m.insert("type".into(), json!(t));
    let items = |xs: &[ObjRef], budget: &mut Budget| items_json(xs, version, budget, depth + 1);
    match &**o {
        Object::Int(i) => {
            m.insert("value".into(), int_json(&i.to_string()));
        }
        Object::Long(b) => {
            // Past 4,300 digits, hexadecimal: it takes linear time, decimal quadratic.
            if pyc_format::repr::min_decimal_digits(b) > pyc_format::repr::INT_MAX_STR_DIGITS {
                let hex = format!("{b:#x}");
                budget.charge(hex.len());
                m.insert("hex".into(), json!(hex));
            } else {
                let decimal = b.to_string();
                budget.charge(decimal.len());
                m.insert("value".into(), int_json(&decimal));
            }
        }
        Object::Float(f) => {
            m.insert("value".into(), json!(float_repr(*f)));
        }
        Object::Complex(re, im) => {
            m.insert("real".into(), json!(float_repr(*re)));
            m.insert("imag".into(), json!(float_repr(*im)));
        }
        Object::Bytes(b) => {
            budget.charge(2 * b.data.len());
            m.insert("hex".into(), json!(hex(&b.data)));
        }
        Object::Str(s) => match s.as_str() {
            Some(t) => {
                budget.charge(t.len());
                m.insert("value".into(), json!(t));
            }
            None => {
                budget.charge(2 * s.utf8_bytes().len());
                m.insert("surrogatepass_hex".into(), json!(hex(s.utf8_bytes())));
            }
        },
        Object::Tuple(xs) | Object::List(xs) | Object::Set(xs) | Object::FrozenSet(xs) => {
            let v = items(xs, budget);
            if v.as_array().is_some_and(|a| a.len() < xs.len()) {
                m.insert("truncated".into(), Value::Bool(true));
            }
            m.insert("items".into(), v);
        }
        Object::Dict(kv) | Object::FrozenDict(kv) => {
            let mut v: Vec<Value> = Vec::new();
            for (k, val) in kv {
                if budget.spent() {
                    budget.truncated = true;
                    m.insert("truncated".into(), Value::Bool(true));
                    break;
                }
                v.push(json!([
                    const_json(k, version, budget, depth + 1),
                    const_json(val, version, budget, depth + 1)
                ]));
            }
            m.insert("items".into(), Value::Array(v));
        }
        Object::Slice(p) => {
            for (name, x) in ["start", "stop", "step"].iter().zip(p.iter()) {
                m.insert((*name).into(), const_json(x, version, budget, depth + 1));
            }
        }
        Object::Code(c) => return code_json(c, version, true, budget, depth),
        _ => {}
    }
    let mut r = Repr::new(version);
    r.max_len = budget.bytes.clamp(1, 1 << 16);
    let shown = match &**o {
        // Too long to show whole, and too long to convert just to cut (quadratic time), in
        // versions without 3.7+'s 4,300-digit limit (which refuses it by size at once).
        Object::Long(b)
            if version < PyVersion::new(3, 7)
                && pyc_format::repr::min_decimal_digits(b) > r.max_len =>
        {
            format!("<{}>", pyc_format::ReprError::TooLong(r.max_len))
        }
        _ => match r.repr(o) {
            Ok(s) => s,
            Err(e) => format!("<{e}>"),
        },
    };
    budget.charge(shown.len());
    m.insert("repr".into(), json!(shown));
    Value::Object(m)
}

/// The elements of a container, until the budget is spent (then the array is shorter than
/// the container, and the caller marks it `"truncated"`).
fn items_json(xs: &[ObjRef], version: PyVersion, budget: &mut Budget, depth: usize) -> Value {
    let mut out = Vec::new();
    for x in xs {
        if budget.spent() {
            budget.truncated = true;
            break;
        }
        out.push(const_json(x, version, budget, depth));
    }
    Value::Array(out)
}

fn int_json(decimal: &str) -> Value {
    const LIMIT: i64 = 1 << 53;
    match decimal.parse::<i64>() {
        Ok(i) if (-LIMIT..=LIMIT).contains(&i) => json!(i),
        _ => json!(decimal),
    }
}
