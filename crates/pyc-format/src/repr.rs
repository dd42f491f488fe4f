//! `repr()` of marshal values as the pyc's own Python version prints it.
//!
//! * str (3.x): CPython's quote choice (`"` only when the text has `'` and no `"`), `\t \n \r`,
//!   `\xhh` below space and for DEL, and for other code points the version's own idea of
//!   printable (`str.isprintable()`, generated per version from the interpreters into
//!   `printable.rs` by `scripts/gen_printable.py`): printable ones as is, others as `\xhh`,
//!   `\uhhhh` or `\Uhhhhhhhh`. Lone surrogates are never printable.
//! * 2.x `unicode`: `u'...'` with every non-ASCII code point escaped; 2.x `str` and 3.x `bytes`
//!   as bytes (`b` prefix in 3.x).
//! * ints in decimal; Python 2 `long` with `L`; an int with more digits than the output may
//!   hold ([`Repr::max_len`]) is not converted (decimal conversion is quadratic) and shows as
//!   `<int of N digits or more>`. CPython 3.11+ (and 3.7.14+/3.8.14+/3.9.14+/
//!   3.10.7+) raise `ValueError` for ints of more than 4300 decimal digits;
//!   [`Repr::repr`] reports that as [`ReprError::IntTooLarge`], while the convenience
//!   [`repr`] prints all the digits.
//! * floats in shortest round-trip form with Python's exponent rule (exponent when the decimal
//!   point position is below -3 or above 16: `1e+16`, `1e-05`), `inf`, `nan`, `-0.0`; complex
//!   as CPython's `complex_repr` (`1j`, `(1+2j)`, `(-0-0j)`, `(nan+nanj)`).
//! * tuples with the one-element comma, frozensets (`frozenset({1, 2})` in 3.x,
//!   `frozenset([1, 2])` in 2.x), sets, dicts, slices, frozendicts, `Ellipsis`,
//!   `<class 'StopIteration'>`, and code objects as `<code object NAME at 0x0, file "F", line N>`
//!   (the address is a placeholder, [`Repr::code_address`]).
//!
//! Sets and frozensets are printed in the order the marshal data lists them; CPython prints a
//! loaded set in its hash-table order, which depends on the hash seed.
//!
//! Output is bounded ([`Repr::max_len`]): shared references can make a small file describe a
//! huge tree, so past the limit the text ends with `...`.

use std::fmt::Write;

use crate::object::{Object, PyStr};
use crate::printable::PRINTABLE;
use crate::version::PyVersion;

/// CPython's default `sys.int_info.default_max_str_digits`.
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// Why CPython's repr would fail, or pyc's output was cut.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReprError {
    #[error("Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: value has {digits} digits")]
    IntTooLarge { digits: usize },
    /// CPython's check on the size alone, before any conversion (`long_to_decimal_string_internal`):
    /// the int is so large that its digits are not even counted.
    #[error("Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit")]
    IntFarTooLarge,
    #[error("repr longer than {0} bytes")]
    TooLong(usize),
}

/// [`Repr::max_len`] of [`Repr::new`]: 1 MiB.
const DEFAULT_MAX_LEN: usize = 1 << 20;

/// repr settings.
#[derive(Debug, Clone)]
pub struct Repr {
    pub version: PyVersion,
    /// Printed for code objects' `at 0x...`.
    pub code_address: String,
    /// Stop after this many bytes (the result then ends with `...`, or is an error in
    /// [`Repr::repr`]).
    pub max_len: usize,
    /// Apply the 4300-digit int limit where the version has it.
    pub int_limit: bool,
}

/// repr as `version` prints it; never fails (all digits of big ints; `...` past 1 MiB).
pub fn repr(obj: &Object, version: PyVersion) -> String {
    // The most common constants: a 3.x str, whose repr is `str_repr` unless it is cut, and
    // None and ints, which are never cut.
    match obj {
        Object::Str(s) if version.major >= 3 => {
            let out = str_repr(s, version);
            if out.len() <= DEFAULT_MAX_LEN {
                return out;
            }
        }
        Object::None => return "None".to_string(),
        Object::Int(i) => return i.to_string(),
        _ => {}
    }
    let r = Repr {
        int_limit: false,
        ..Repr::new(version)
    };
    let mut w = W {
        out: String::with_capacity(32),
        max: r.max_len,
        cut: false,
        err: None,
    };
    r.write(&mut w, obj, 0);
    if w.cut {
        w.out.push_str("...");
    }
    w.out
}

struct W {
    out: String,
    max: usize,
    cut: bool,
    err: Option<ReprError>,
}

impl W {
    fn push(&mut self, s: &str) {
        if self.cut {
            return;
        }
        if self.out.len() + s.len() > self.max {
            let mut end = self.max.saturating_sub(self.out.len()).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.out.push_str(&s[..end]);
            self.cut = true;
        } else {
            self.out.push_str(s);
        }
    }
    fn done(&self) -> bool {
        self.cut || self.err.is_some()
    }
}

/// Deeper than this, containers print as `...` (CPython's repr would hit RecursionError).
const MAX_DEPTH: usize = 1000;

impl Repr {
    pub fn new(version: PyVersion) -> Repr {
        Repr {
            version,
            code_address: "0x0".to_string(),
            max_len: DEFAULT_MAX_LEN,
            int_limit: true,
        }
    }

    fn python2(&self) -> bool {
        self.version.major < 3
    }

    /// repr, or why CPython would raise (big int) or the output would pass `max_len`.
    pub fn repr(&self, obj: &Object) -> Result<String, ReprError> {
        let mut w = W {
            out: String::new(),
            max: self.max_len,
            cut: false,
            err: None,
        };
        self.write(&mut w, obj, 0);
        if let Some(e) = w.err {
            return Err(e);
        }
        if w.cut {
            return Err(ReprError::TooLong(self.max_len));
        }
        Ok(w.out)
    }

    fn has_int_limit(&self) -> bool {
        // 3.11, and the security releases of 3.7-3.10 (pyc cannot tell micro versions apart;
        // every 3.7-3.10 tested here has the limit, 3.6 does not).
        self.int_limit && self.version >= PyVersion::new(3, 7)
    }

    fn write(&self, w: &mut W, obj: &Object, depth: usize) {
        if w.done() {
            return;
        }
        if depth > MAX_DEPTH {
            w.push("...");
            return;
        }
        let py2 = self.python2();
        match obj {
            Object::None => w.push("None"),
            Object::True => w.push("True"),
            Object::False => w.push("False"),
            Object::Ellipsis => w.push("Ellipsis"),
            Object::StopIteration if py2 => w.push("<type 'exceptions.StopIteration'>"),
            Object::StopIteration => w.push("<class 'StopIteration'>"),
            Object::Int(i) => w.push(&i.to_string()),
            Object::Long(b) => {
                // Decide on the size first, as CPython does: converting a huge int to decimal
                // takes time quadratic in its length (minutes for a 20 MB int).
                if !py2 && self.has_int_limit() && min_decimal_digits(b) > INT_MAX_STR_DIGITS {
                    w.err = Some(ReprError::IntFarTooLarge);
                    return;
                }
                // Versions without the limit (2.7, 3.6) print every digit, but pyc's output
                // is cut at `max_len`: an int surely longer than that is not converted (that
                // would take minutes), and a marker with its size stands in its place.
                let at_least = min_decimal_digits(b);
                if at_least > w.max {
                    w.push(&format!("<int of {at_least} digits or more>"));
                    return;
                }
                let s = b.to_string();
                let digits = s.trim_start_matches('-').len();
                if !py2 && self.has_int_limit() && digits > INT_MAX_STR_DIGITS {
                    w.err = Some(ReprError::IntTooLarge { digits });
                    return;
                }
                w.push(&s);
                if py2 {
                    w.push("L");
                }
            }
            Object::Float(f) => w.push(&float_repr(*f)),
            Object::Complex(re, im) => w.push(&complex_repr(*re, *im)),
            Object::Bytes(b) => {
                if !py2 {
                    w.push("b");
                }
                w.push(&bytes_repr(&b.data));
            }
            Object::Str(s) if py2 => {
                w.push("u");
                w.push(&unicode_repr_py2(s));
            }
            Object::Str(s) => w.push(&str_repr(s, self.version)),
            Object::Tuple(items) => {
                w.push("(");
                self.items(w, items.iter().map(|o| &**o), depth);
                if items.len() == 1 {
                    w.push(",");
                }
                w.push(")");
            }
            Object::List(items) => {
                w.push("[");
                self.items(w, items.iter().map(|o| &**o), depth);
                w.push("]");
            }
            Object::Dict(items) => {
                w.push("{");
                self.pairs(w, items, depth);
                w.push("}");
            }
            Object::FrozenDict(items) => {
                if items.is_empty() {
                    w.push("frozendict()");
                } else {
                    w.push("frozendict({");
                    self.pairs(w, items, depth);
                    w.push("})");
                }
            }
            Object::Set(items) | Object::FrozenSet(items) => {
                let name = if matches!(obj, Object::Set(_)) {
                    "set"
                } else {
                    "frozenset"
                };
                let it = items.iter().map(|o| &**o);
                match (py2, items.is_empty()) {
                    (true, _) => {
                        w.push(name);
                        w.push("([");
                        self.items(w, it, depth);
                        w.push("])");
                    }
                    (false, true) => {
                        w.push(name);
                        w.push("()");
                    }
                    (false, false) => {
                        if name == "frozenset" {
                            w.push("frozenset(");
                        }
                        w.push("{");
                        self.items(w, it, depth);
                        w.push("}");
                        if name == "frozenset" {
                            w.push(")");
                        }
                    }
                }
            }
            Object::Slice(parts) => {
                w.push("slice(");
                self.items(w, parts.iter().map(|o| &**o), depth);
                w.push(")");
            }
            Object::Code(c) => {
                let mut name = c.name().into_owned();
                let mut file = c.filename().into_owned();
                if py2 {
                    // `%.100s` and `%.300s` in 2.7's code_repr (bytes).
                    truncate_bytes(&mut name, 100);
                    truncate_bytes(&mut file, 300);
                }
                let s = format!(
                    "<code object {} at {}, file \"{}\", line {}>",
                    name, self.code_address, file, c.firstlineno
                );
                w.push(&s);
            }
        }
    }

    fn items<'a>(&self, w: &mut W, items: impl Iterator<Item = &'a Object>, depth: usize) {
        for (i, o) in items.enumerate() {
            if i > 0 {
                w.push(", ");
            }
            self.write(w, o, depth + 1);
            if w.done() {
                return;
            }
        }
    }

    fn pairs(&self, w: &mut W, items: &[(crate::ObjRef, crate::ObjRef)], depth: usize) {
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            self.write(w, k, depth + 1);
            w.push(": ");
            self.write(w, v, depth + 1);
            if w.done() {
                return;
            }
        }
    }
}

/// A lower bound on the number of decimal digits of `b` (its sign excluded), from its bit
/// length: `10^(d-1) <= |b| < 2^bits` gives at least `floor((bits - 1) * log10(2)) + 1`.
pub fn min_decimal_digits(b: &num_bigint::BigInt) -> usize {
    let bits = b.bits();
    if bits == 0 {
        return 1;
    }
    ((bits - 1) as f64 * std::f64::consts::LOG10_2) as usize + 1
}

/// [`repr`] with the version's 4,300-digit limit on int conversion (3.7+ as pyc models it):
/// the error CPython's `repr` raises, decided on the size alone for huge ints. Long output is
/// cut with `...` as in [`repr`].
pub fn repr_limited(obj: &Object, version: PyVersion) -> Result<String, ReprError> {
    let r = Repr::new(version);
    let mut w = W {
        out: String::with_capacity(32),
        max: r.max_len,
        cut: false,
        err: None,
    };
    r.write(&mut w, obj, 0);
    if let Some(e) = w.err {
        return Err(e);
    }
    if w.cut {
        w.out.push_str("...");
    }
    Ok(w.out)
}

fn truncate_bytes(s: &mut String, n: usize) {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The quote CPython picks: `"` when the text has `'` and no `"`.
fn pick_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// repr of 3.x bytes without the `b` (also 2.x `str`).
pub fn bytes_repr(data: &[u8]) -> String {
    let q = pick_quote(data.contains(&b'\''), data.contains(&b'"'));
    let mut out = String::with_capacity(data.len() + 2);
    out.push(q);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == q as u8 => {
                out.push('\\');
                out.push(q);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(q);
    out
}

/// Whether CPython `version` prints code point `c` unescaped in a str repr.
pub fn is_printable(c: u32, version: PyVersion) -> bool {
    if c < 0x80 {
        return (0x20..0x7f).contains(&c);
    }
    // The table of this version, or of the nearest older one pyc has.
    let table = PRINTABLE
        .iter()
        .rev()
        .find(|(v, _, _)| *v <= version)
        .or_else(|| PRINTABLE.first())
        .map(|(_, _, t)| *t)
        .unwrap_or(&[]);
    let i = table.partition_point(|&(_, hi)| hi < c);
    table.get(i).is_some_and(|&(lo, _)| lo <= c)
}

/// repr of a 3.x str.
pub fn str_repr(s: &PyStr, version: PyVersion) -> String {
    // `'` and `"` are one byte each and never inside a longer UTF-8 sequence.
    let bytes = s.utf8_bytes();
    let q = pick_quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(q);
    // Printable ASCII other than the quote and the backslash stands for itself: copy such
    // runs whole, escape the rest one code point at a time.
    let plain = |b: &u8| (0x20..=0x7e).contains(b) && *b != b'\\' && *b != q as u8;
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rest.iter().position(|b| !plain(b)).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(n);
        out.push_str(std::str::from_utf8(run).unwrap_or_default());
        let mut cps = crate::object::CodePoints::over(tail);
        if let Some(c) = cps.next() {
            str_repr_code_point(&mut out, c, q, version);
        }
        rest = cps.remaining();
    }
    out.push(q);
    out
}

/// One code point of a 3.x str repr that is not printable ASCII, or is the quote or `\`.
fn str_repr_code_point(out: &mut String, c: u32, q: char, version: PyVersion) {
    match c {
        0x5c => out.push_str("\\\\"),
        0x09 => out.push_str("\\t"),
        0x0a => out.push_str("\\n"),
        0x0d => out.push_str("\\r"),
        _ if c == q as u32 => {
            out.push('\\');
            out.push(q);
        }
        0x20..=0x7e => out.push(c as u8 as char),
        _ if c < 0x80 => {
            let _ = write!(out, "\\x{c:02x}");
        }
        _ if is_printable(c, version) => match char::from_u32(c) {
            Some(ch) => out.push(ch),
            None => {
                let _ = write!(out, "\\u{c:04x}");
            }
        },
        0x80..=0xff => {
            let _ = write!(out, "\\x{c:02x}");
        }
        0x100..=0xffff => {
            let _ = write!(out, "\\u{c:04x}");
        }
        _ => {
            let _ = write!(out, "\\U{c:08x}");
        }
    }
}

/// repr of a 2.x unicode without the `u`: every non-ASCII code point escaped.
fn unicode_repr_py2(s: &PyStr) -> String {
    let (mut single, mut double) = (false, false);
    for c in s.code_points() {
        single |= c == u32::from(b'\'');
        double |= c == u32::from(b'"');
    }
    let q = pick_quote(single, double);
    let mut out = String::new();
    out.push(q);
    for c in s.code_points() {
        match c {
            _ if c == q as u32 || c == 0x5c => {
                out.push('\\');
                out.push(c as u8 as char);
            }
            0x10000.. => {
                let _ = write!(out, "\\U{c:08x}");
            }
            0x100.. => {
                let _ = write!(out, "\\u{c:04x}");
            }
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as u8 as char),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(q);
    out
}

/// Python's `repr(float)`: shortest round-trip digits, `.0` on integral values.
pub fn float_repr(x: f64) -> String {
    format_float(x, true, false)
}

/// `PyOS_double_to_string(x, 'r', 0, flags)`: `add_dot_0` (Py_DTSF_ADD_DOT_0) and `sign`
/// (Py_DTSF_SIGN, a `+` on non-negative values, NaN included).
fn format_float(x: f64, add_dot_0: bool, sign: bool) -> String {
    if x.is_nan() {
        return if sign { "+nan" } else { "nan" }.to_string();
    }
    let neg = x.is_sign_negative();
    let mut out = String::new();
    if neg {
        out.push('-');
    } else if sign {
        out.push('+');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return out;
    }
    // The shortest correctly rounded digits that read back as `x`, as dtoa's mode 0 gives
    // CPython ("1.2345e-5", "0e0"). Rust's `{:e}` is not that on exact ties (2**-25 gives
    // ...313 where CPython prints ...312), so search the precision with exact `{:.Ne}`.
    let e = shortest_e(x.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0".to_string(),
        d => d.to_string(),
    };
    let decpt = exp + 1; // position of the decimal point relative to the digits
    let n = digits.len() as i32;
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-decpt) as usize));
            out.push_str(&digits);
        } else if decpt >= n {
            out.push_str(&digits);
            out.push_str(&"0".repeat((decpt - n) as usize));
            if add_dot_0 {
                out.push_str(".0");
            }
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

/// `d.ddde±x` with the fewest digits that read back as `a` (>= 0, finite).
fn shortest_e(a: f64) -> String {
    (0..17)
        .find_map(|p| shortest_at(a, p))
        .unwrap_or_else(|| format!("{a:.16e}"))
}

/// The `p+1`-digit decimal that reads back as `a`, if any: the correctly rounded one, or
/// else its neighbour on the other side (near powers of two the round-trip interval is
/// lopsided, and dtoa's shortest mode finds that neighbour: 2**-24 is 5.960464477539063e-08).
fn shortest_at(a: f64, p: usize) -> Option<String> {
    let s = format!("{a:.p$e}");
    if s.parse::<f64>().ok() == Some(a) {
        return Some(s);
    }
    let (mant, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let m: u64 = mant.replace('.', "").parse().ok()?;
    for cand in [m.checked_add(1), m.checked_sub(1)].into_iter().flatten() {
        if format!("{cand}e{}", exp - p as i32).parse::<f64>().ok() == Some(a) {
            let digits = cand.to_string();
            let e2 = exp + (digits.len() as i32 - (p as i32 + 1));
            let (h, t) = digits.split_at(1);
            return Some(if t.is_empty() {
                format!("{h}e{e2}")
            } else {
                format!("{h}.{t}e{e2}")
            });
        }
    }
    None
}

/// CPython's `complex_repr`.
pub fn complex_repr(re: f64, im: f64) -> String {
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", format_float(im, false, false))
    } else {
        format!(
            "({}{}j)",
            format_float(re, false, false),
            format_float(im, false, true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        for (x, s) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.0 / 3.0, "0.3333333333333333"),
            (5e-324, "5e-324"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(float_repr(x), s);
        }
        assert_eq!(complex_repr(0.0, 1.0), "1j");
        assert_eq!(complex_repr(-0.0, -0.0), "(-0-0j)");
        assert_eq!(complex_repr(f64::NAN, f64::NAN), "(nan+nanj)");
        assert_eq!(complex_repr(1e16, 1e-5), "(1e+16+1e-05j)");
    }

    #[test]
    fn bytes_quotes() {
        assert_eq!(bytes_repr(b"it's"), "\"it's\"");
        assert_eq!(bytes_repr(b"'\""), "'\\'\"'");
        assert_eq!(bytes_repr(b"\x00\xff\t"), "'\\x00\\xff\\t'");
    }
}
