//! Decimal integers without going through `fmt` (hot in the formatters).

/// A buffer for [`Digits::format`].
pub(crate) struct Digits([u8; 20]);

impl Digits {
    pub(crate) fn new() -> Self {
        Digits([0; 20])
    }

    /// `str(n)`.
    pub(crate) fn format(&mut self, n: i64) -> &str {
        let buf = &mut self.0;
        let mut i = buf.len();
        let mut v = n.unsigned_abs();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        ascii(&buf[i..])
    }
}

/// `bytes` as text; callers must pass only ASCII bytes.
pub(crate) fn ascii(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: ASCII bytes are valid UTF-8, and the (crate-private) callers only pass the
    // digits, '-' and spaces they wrote themselves. This skips UTF-8 validation, which
    // showed up in profiles of number formatting.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// The concatenation of `parts`, allocated once.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_str() {
        for n in [0, 7, -7, 10, 99, 1000, -1234567, i64::MAX, i64::MIN] {
            assert_eq!(Digits::new().format(n), n.to_string());
        }
        assert_eq!(concat(&["to ", "12", ""]), "to 12");
    }
}
