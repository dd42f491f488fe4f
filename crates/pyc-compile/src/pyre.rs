//! compileall's `-x REGEX`: `re.search(rx, fullname)` on Python's `str` form of the path.
//!
//! Python decodes a path (and its own argv, so the pattern too) from the file system encoding
//! with `surrogateescape`: every byte that is not part of valid UTF-8 becomes the lone
//! surrogate U+DC80–U+DCFF. A Rust string cannot hold a surrogate, so both the path and the
//! pattern are decoded here with one stand-in for every surrogate: U+D800 + k becomes the
//! supplementary private-use character U+10F000 + k. A pattern then sees one character per
//! undecodable byte, as Python's does: `.` and `[^/]` match it, `\w`, `\s` and `\d` do not,
//! and the escapes `\udcff` / `\U0000dcff` in the pattern name it. (A real U+10F000–U+10F7FF
//! in a file name would be taken for a surrogate: private use, never seen in practice.)
//!
//! The regular expression engine is fancy-regex: Python-like syntax with look-around,
//! back-references and `\Z`.

use std::borrow::Cow;

/// A compiled `-x` pattern.
#[derive(Debug, Clone)]
pub struct ExcludeRegex(fancy_regex::Regex);

/// The stand-in for the surrogate `s` (U+D800–U+DFFF).
fn stand_in(s: u32) -> char {
    char::from_u32(0x10F000 + (s - 0xD800)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// `os.fsdecode` on a UTF-8 file system, with surrogates replaced by their stand-ins.
pub fn fsdecode(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        out.push_str(chunk.valid());
        // surrogateescape: each undecodable byte (always >= 0x80) on its own.
        out.extend(
            chunk
                .invalid()
                .iter()
                .map(|&x| stand_in(0xDC00 + u32::from(x))),
        );
    }
    Cow::Owned(out)
}

/// The pattern with `\uXXXX` and `\UXXXXXXXX` escapes that name surrogates replaced by their
/// stand-ins (other escapes, including an escaped backslash, are kept as they are).
fn translate_escapes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let esc = &rest[at..];
        let hex = |digits: usize| {
            esc.get(2..2 + digits)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .filter(|v| (0xD800..=0xDFFF).contains(v))
        };
        let (taken, surrogate) = match esc.as_bytes().get(1) {
            Some(b'u') => (6, hex(4)),
            Some(b'U') => (10, hex(8)),
            _ => (0, None),
        };
        match surrogate {
            Some(s) => {
                out.push(stand_in(s));
                rest = &esc[taken..];
            }
            None => {
                // The backslash and the character it escapes, unchanged.
                let len = esc[1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&esc[..1 + len]);
                rest = &esc[1 + len..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl ExcludeRegex {
    /// Compile a pattern given as the bytes of a command-line argument.
    pub fn new(pattern: &[u8]) -> Result<ExcludeRegex, fancy_regex::Error> {
        let text = translate_escapes(&fsdecode(pattern));
        fancy_regex::Regex::new(&text).map(ExcludeRegex)
    }

    /// `re.search(pattern, fsdecode(path))`. A search that gives up (fancy-regex's
    /// backtracking limit) is no match.
    pub fn search(&self, path: &[u8]) -> bool {
        self.0.is_match(fsdecode(path).as_ref()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_bytes_become_stand_ins() {
        // Which names and patterns match is checked against compileall itself in the CLI
        // tests (exclude_matches_compileall_on_undecodable_names); here, the mapping.
        assert_eq!(fsdecode(b"a.py"), "a.py");
        assert_eq!(fsdecode(b"a\xff"), "a\u{10F4FF}");
        assert_eq!(fsdecode(b"x\xe2\x82A"), "x\u{10F4E2}\u{10F482}A");
        assert_eq!(
            ExcludeRegex::new(br"\udcff").unwrap().0.as_str(),
            "\u{10F4FF}"
        );
        assert!(ExcludeRegex::new(b"a\xff").unwrap().search(b"/t/a\xff.py"));
        assert!(ExcludeRegex::new(b"(").is_err());
    }

    #[test]
    fn translation_keeps_everything_else() {
        for p in [r"a\.b", r"(?<!x)y\Z", r"\\", "é\\", r"\u12", r"\U0001F600"] {
            assert_eq!(translate_escapes(p), p);
        }
        assert_eq!(
            translate_escapes(r"x\ud800y"),
            format!("x{}y", '\u{10F000}')
        );
    }
}
