//! `repr()` of marshalled constants as each CPython version prints them (what `dis` shows for
//! `LOAD_CONST`).
//!
//! Printability of non-ASCII characters in Python 3 `str` follows Rust's Unicode tables
//! (`char::escape_debug`, built from the same categories as CPython's
//! `Py_UNICODE_ISPRINTABLE`); versions whose Unicode database is older can differ for
//! characters assigned since.

use std::fmt::Write;

use pyc_format::{Object, PyVersion};

/// The address printed in code-object reprs: real addresses cannot be known.
pub const PLACEHOLDER_ADDRESS: &str = "0x0";

/// Output beyond this many bytes is cut with `...` (shared references can make a small file
/// describe an enormous tree).
const MAX_REPR: usize = 1 << 20;

/// `repr(obj)` in CPython `version`.
pub fn repr(obj: &Object, version: PyVersion) -> String {
    let mut out = String::new();
    write_repr(obj, version, &mut out, 0);
    out
}

fn py2(v: PyVersion) -> bool {
    v.major < 3
}

fn write_repr(obj: &Object, v: PyVersion, out: &mut String, depth: usize) {
    if out.len() > MAX_REPR || depth > 200 {
        out.push_str("...");
        return;
    }
    match obj {
        Object::None => out.push_str("None"),
        Object::True => out.push_str("True"),
        Object::False => out.push_str("False"),
        Object::Ellipsis => out.push_str("Ellipsis"),
        Object::StopIteration => out.push_str(if py2(v) {
            "<type 'exceptions.StopIteration'>"
        } else {
            "<class 'StopIteration'>"
        }),
        Object::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Long(b) => {
            let _ = write!(out, "{b}");
            if py2(v) {
                out.push('L');
            }
        }
        Object::Float(f) => out.push_str(&float_repr(*f)),
        Object::Complex(re, im) => out.push_str(&complex_repr(*re, *im)),
        Object::Bytes(b) => {
            if !py2(v) {
                out.push('b');
            }
            bytes_repr(&b.data, out);
        }
        Object::Str(s) => {
            let cps: Vec<u32> = s.code_points().collect();
            if py2(v) {
                out.push('u');
                unicode_repr(&cps, out, false);
            } else {
                unicode_repr(&cps, out, true);
            }
        }
        Object::Tuple(items) => {
            out.push('(');
            seq(items.iter().map(|o| &**o), v, out, depth);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Object::List(items) => {
            out.push('[');
            seq(items.iter().map(|o| &**o), v, out, depth);
            out.push(']');
        }
        Object::Set(items) | Object::FrozenSet(items) => {
            let frozen = matches!(obj, Object::FrozenSet(_));
            match (items.is_empty(), py2(v), frozen) {
                (true, false, true) => out.push_str("frozenset()"),
                (true, false, false) => out.push_str("set()"),
                (true, true, _) => out.push_str(if frozen { "frozenset([])" } else { "set([])" }),
                (false, false, true) => {
                    out.push_str("frozenset({");
                    seq(items.iter().map(|o| &**o), v, out, depth);
                    out.push_str("})");
                }
                (false, false, false) => {
                    out.push('{');
                    seq(items.iter().map(|o| &**o), v, out, depth);
                    out.push('}');
                }
                (false, true, _) => {
                    out.push_str(if frozen { "frozenset([" } else { "set([" });
                    seq(items.iter().map(|o| &**o), v, out, depth);
                    out.push_str("])");
                }
            }
        }
        Object::Dict(items) | Object::FrozenDict(items) => {
            let frozen = matches!(obj, Object::FrozenDict(_));
            if frozen {
                out.push_str("frozendict(");
            }
            out.push('{');
            for (i, (k, val)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(k, v, out, depth + 1);
                out.push_str(": ");
                write_repr(val, v, out, depth + 1);
            }
            out.push('}');
            if frozen {
                out.push(')');
            }
        }
        Object::Slice(parts) => {
            out.push_str("slice(");
            seq(parts.iter().map(|o| &**o), v, out, depth);
            out.push(')');
        }
        Object::Code(c) => {
            let _ = write!(
                out,
                "<code object {} at {}, file \"{}\", line {}>",
                c.name(),
                PLACEHOLDER_ADDRESS,
                c.filename(),
                c.firstlineno
            );
        }
    }
}

fn seq<'a>(items: impl Iterator<Item = &'a Object>, v: PyVersion, out: &mut String, depth: usize) {
    for (i, o) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(o, v, out, depth + 1);
    }
}

/// Python 3 `bytes` / Python 2 `str` repr (without the `b`).
fn bytes_repr(data: &[u8], out: &mut String) {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote as u8 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
}

/// Python 3 `str` repr (`printable`: keep printable non-ASCII) or Python 2 `unicode` repr
/// (every non-ASCII character escaped).
fn unicode_repr(cps: &[u32], out: &mut String, printable: bool) {
    let has_sq = cps.contains(&0x27);
    let has_dq = cps.contains(&0x22);
    let quote = if has_sq && !has_dq { '"' } else { '\'' };
    out.push(quote);
    for &c in cps {
        match c {
            0x5c => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            _ if c == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(c as u8)),
            _ if c < 0x7f => {
                let _ = write!(out, "\\x{c:02x}");
            }
            _ => {
                let keep = printable && c > 0x7f && is_printable(c);
                if keep {
                    if let Some(ch) = char::from_u32(c) {
                        out.push(ch);
                        continue;
                    }
                }
                if c <= 0xff {
                    let _ = write!(out, "\\x{c:02x}");
                } else if c <= 0xffff {
                    let _ = write!(out, "\\u{c:04x}");
                } else {
                    let _ = write!(out, "\\U{c:08x}");
                }
            }
        }
    }
    out.push(quote);
}

fn is_printable(c: u32) -> bool {
    let Some(ch) = char::from_u32(c) else {
        return false; // surrogates
    };
    // `str::escape_debug` escapes non-printable characters; grapheme extenders are escaped
    // only at the start of a string, so put one printable character first.
    let s = format!("a{ch}");
    let mut e = s.escape_debug();
    e.next() == Some('a') && e.eq(std::iter::once(ch))
}

/// `repr(float)`: the shortest round-tripping digits, `float_repr_style = 'short'`.
pub fn float_repr(f: f64) -> String {
    format_short(f, true)
}

fn format_short(f: f64, add_dot_0: bool) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: d.ddde[-]x
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = if f == 0.0 { "0".to_string() } else { digits };
    let decpt = exp + 1; // value = 0.DIGITS * 10^decpt
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let n = digits.len() as i32;
    let body = if decpt <= -4 || decpt > 16 {
        let mut m = digits[..1].to_string();
        if n > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let x = decpt - 1;
        format!("{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs())
    } else if decpt <= 0 {
        format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
    } else if decpt >= n {
        let mut s = format!("{}{}", digits, "0".repeat((decpt - n) as usize));
        if add_dot_0 {
            s.push_str(".0");
        }
        s
    } else {
        format!(
            "{}.{}",
            &digits[..decpt as usize],
            &digits[decpt as usize..]
        )
    };
    format!("{sign}{body}")
}

/// `repr(complex)`.
pub fn complex_repr(re: f64, im: f64) -> String {
    let imag = |x: f64| -> String { format_short(x, false) };
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", imag(im))
    } else {
        let re_s = format_short(re, false);
        let im_s = imag(im);
        let sign = if im_s.starts_with('-') { "" } else { "+" };
        format!("({re_s}{sign}{im_s}j)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python() {
        for (f, s) in [
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (123.0, "123.0"),
            (1.2345678901234567e-7, "1.2345678901234568e-07"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(float_repr(f), s);
        }
        assert_eq!(complex_repr(0.0, 2.0), "2j");
        assert_eq!(complex_repr(1.0, -2.0), "(1-2j)");
        assert_eq!(complex_repr(-0.0, 1.5), "(-0+1.5j)");
    }
}
