//! What a file name in a cache folder says: a cache file of some source, tag and level
//! (`STEM.TAG[.opt-N].pyc`, PEP 3147/488), a temp file left by an interrupted write, or
//! something the interpreter never writes there.

/// A parsed `__pycache__` (or prefix-tree) file name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CacheName<'a> {
    /// `STEM.TAG[.opt-N].pyc` (or `.pyo`).
    Cache {
        stem: &'a [u8],
        tag: &'a [u8],
        opt: Option<&'a [u8]>,
    },
    /// `NAME.pyc.NNN`: `_write_atomic`'s temp file; or `NAME.pyc.PID.N.pyc-tmp`,
    /// `pyc compile`'s (left only by a kill between creating and renaming it).
    Leftover { base: &'a [u8] },
    /// A `.pyc`/`.pyo` name CPython never writes in `__pycache__`.
    OddPyc,
    /// Not a cache file at all.
    Other,
}

/// `NAME.pyc` or `NAME.pyo` with a non-empty `NAME`.
pub(crate) fn is_pyc_name(n: &[u8]) -> bool {
    n.len() > 4 && (n.ends_with(b".pyc") || n.ends_with(b".pyo"))
}

/// `NAME.py` with a non-empty `NAME`: what FileFinder takes for a source, by name.
pub(crate) fn is_source_name(n: &[u8]) -> bool {
    n.len() > 3 && n.ends_with(b".py")
}

fn rsplit_dot(s: &[u8]) -> Option<(&[u8], &[u8])> {
    s.iter()
        .rposition(|&b| b == b'.')
        .map(|i| (&s[..i], &s[i + 1..]))
}

/// `BASE.DIGITS` → `BASE`.
fn strip_dot_digits(s: &[u8]) -> Option<&[u8]> {
    let (base, digits) = rsplit_dot(s)?;
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(base)
}

pub(crate) fn parse_cache_name(name: &[u8]) -> CacheName<'_> {
    if let Some(base) = strip_dot_digits(name).filter(|b| is_pyc_name(b)) {
        return CacheName::Leftover { base };
    }
    if let Some(base) = name
        .strip_suffix(b".pyc-tmp")
        .and_then(strip_dot_digits)
        .and_then(strip_dot_digits)
        .filter(|b| is_pyc_name(b))
    {
        return CacheName::Leftover { base };
    }
    if !is_pyc_name(name) {
        return CacheName::Other;
    }
    let body = &name[..name.len() - 4];
    let Some((rest, last)) = rsplit_dot(body) else {
        return CacheName::OddPyc;
    };
    let (rest, tag, opt) = if let Some(level) = last.strip_prefix(b"opt-") {
        match rsplit_dot(rest) {
            Some((r, tag)) => (r, tag, Some(level)),
            None => return CacheName::OddPyc,
        }
    } else {
        (rest, last, None)
    };
    if rest.is_empty() || tag.is_empty() {
        return CacheName::OddPyc;
    }
    CacheName::Cache {
        stem: rest,
        tag,
        opt,
    }
}

/// The `N` of `.opt-N`, when it is a number.
pub(crate) fn parse_level(opt: &[u8]) -> Option<u32> {
    std::str::from_utf8(opt).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache<'a>(stem: &'a [u8], tag: &'a [u8], opt: Option<&'a [u8]>) -> CacheName<'a> {
        CacheName::Cache { stem, tag, opt }
    }

    #[test]
    fn cache_names_as_pep_3147_and_488_write_them() {
        assert_eq!(
            parse_cache_name(b"mod.cpython-312.pyc"),
            cache(b"mod", b"cpython-312", None)
        );
        assert_eq!(
            parse_cache_name(b"mod.cpython-312.opt-2.pyc"),
            cache(b"mod", b"cpython-312", Some(b"2"))
        );
        // 3.2-3.4 wrote `.pyo` for -O; a dotted stem keeps its dots.
        assert_eq!(
            parse_cache_name(b"a.b.cpython-34.pyo"),
            cache(b"a.b", b"cpython-34", None)
        );
    }

    #[test]
    fn leftovers_of_interrupted_writes() {
        // importlib's _write_atomic: `'{}.{}'.format(path, id(path))`.
        assert_eq!(
            parse_cache_name(b"mod.cpython-312.pyc.140234"),
            CacheName::Leftover {
                base: b"mod.cpython-312.pyc"
            }
        );
        // pyc compile's own temp file.
        assert_eq!(
            parse_cache_name(b"mod.cpython-312.pyc.77.3.pyc-tmp"),
            CacheName::Leftover {
                base: b"mod.cpython-312.pyc"
            }
        );
        assert_eq!(parse_cache_name(b"mod.pyc.12x"), CacheName::Other);
    }

    #[test]
    fn names_cpython_never_writes() {
        assert_eq!(parse_cache_name(b"mod.pyc"), CacheName::OddPyc);
        assert_eq!(parse_cache_name(b".cpython-312.pyc"), CacheName::OddPyc);
        assert_eq!(parse_cache_name(b"mod.opt-1.pyc"), CacheName::OddPyc);
        assert_eq!(parse_cache_name(b".pyc"), CacheName::Other);
        assert_eq!(parse_cache_name(b"mod.py"), CacheName::Other);
        assert_eq!(parse_cache_name(b"README"), CacheName::Other);
    }

    #[test]
    fn levels_and_source_names() {
        assert_eq!(parse_level(b"2"), Some(2));
        assert_eq!(parse_level(b"x"), None);
        assert!(is_source_name(b"a.py"));
        assert!(!is_source_name(b".py"));
        assert!(!is_source_name(b"a.pyc"));
    }
}
