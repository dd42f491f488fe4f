//! Cache file names, exactly as each CPython version computes them:
//! `importlib.util.cache_from_source` / `source_from_cache` (3.2+, PEP 3147 and PEP 488, the
//! `sys.pycache_prefix` layout of 3.8+), and the legacy `NAME.pyc` / `NAME.pyo` beside the
//! source of 2.x and 3.0–3.1.
//!
//! Paths are handled as bytes with POSIX separators, the way CPython's `_bootstrap_external`
//! handles `str` paths on POSIX (`_path_split`, `_path_join`): this works for names that are
//! not UTF-8 too. Windows drive handling is not modelled.

use pyc_format::{CacheLayout, PyVersion, VersionInfo};

/// Why CPython refuses to compute a path. The message is CPython's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("ValueError: {0}")]
    Value(String),
    #[error("NotImplementedError: {0}")]
    NotImplemented(String),
    #[error("IndexError: {0}")]
    Index(String),
}

/// What decides a cache path besides the source path.
#[derive(Debug, Clone, Copy)]
pub struct CacheOptions<'a> {
    /// `sys.flags.optimize`-style level as the string CPython puts after `opt-` ("" for none).
    pub optimization: &'a str,
    /// `sys.pycache_prefix` (3.8+ only; ignored by older versions, as they ignore the variable).
    pub prefix: Option<&'a [u8]>,
    /// The working directory, used to make relative paths absolute under a prefix.
    pub cwd: &'a [u8],
}

/// `_path_split`: split at the last `/`.
pub fn path_split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// `_path_join` on POSIX: join the non-empty parts with `/`, each stripped of trailing `/`.
pub fn path_join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut first = true;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if !first {
            out.push(b'/');
        }
        first = false;
        let end = part.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        out.extend_from_slice(&part[..end]);
    }
    out
}

fn rpartition(s: &[u8], sep: u8) -> (&[u8], &[u8], &[u8]) {
    match s.iter().rposition(|&b| b == sep) {
        Some(i) => (&s[..i], &s[i..=i], &s[i + 1..]),
        None => (&[], &[], s),
    }
}

/// Python's `repr` of a path string, for error messages.
pub fn py_repr(path: &[u8]) -> String {
    let s = String::from_utf8_lossy(path);
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c)
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn is_alnum(s: &[u8]) -> bool {
    // str.isalnum(): non-empty and every character alphanumeric.
    match std::str::from_utf8(s) {
        Ok(t) => !t.is_empty() && t.chars().all(char::is_alphanumeric),
        Err(_) => false,
    }
}

/// The cache file that `version` uses for `source`: `importlib.util.cache_from_source(source,
/// optimization=...)` for 3.2+, `source + "c"` (or `"o"` when optimizing) for older versions.
pub fn cache_from_source(
    info: &VersionInfo,
    source: &[u8],
    opts: CacheOptions<'_>,
) -> Result<Vec<u8>, PathError> {
    let Some(tag) = info.cache_tag else {
        // 2.x and 3.0/3.1: py_compile writes `file + (__debug__ and 'c' or 'o')`.
        let mut out = source.to_vec();
        out.push(if opts.optimization.is_empty() {
            b'c'
        } else {
            b'o'
        });
        return Ok(out);
    };
    let (head, tail) = path_split(source);
    let mut filename = Vec::with_capacity(tail.len() + 32);
    match info.cache_layout {
        CacheLayout::Pep3147 | CacheLayout::Legacy => {
            // 3.2-3.4: `tail.rpartition('.')` (3.4) / partition (3.2, 3.3); suffix .pyc or .pyo.
            let (base, sep, rest) = if info.version < PyVersion::new(3, 4) {
                match tail.iter().position(|&b| b == b'.') {
                    Some(i) => (&tail[..i], &tail[i..=i], &tail[i + 1..]),
                    None => (tail, &[][..], &[][..]),
                }
            } else {
                rpartition(tail, b'.')
            };
            let _ = rest;
            filename.extend_from_slice(base);
            filename.extend_from_slice(sep);
            filename.extend_from_slice(tag.as_bytes());
            filename.extend_from_slice(if opts.optimization.is_empty() {
                b".pyc"
            } else {
                b".pyo"
            });
        }
        CacheLayout::Pep488 => {
            let (base, sep, rest) = rpartition(tail, b'.');
            filename.extend_from_slice(if base.is_empty() { rest } else { base });
            filename.extend_from_slice(sep);
            filename.extend_from_slice(tag.as_bytes());
            if !opts.optimization.is_empty() {
                if !is_alnum(opts.optimization.as_bytes()) {
                    return Err(PathError::Value(format!(
                        "{} is not alphanumeric",
                        py_repr(opts.optimization.as_bytes())
                    )));
                }
                filename.extend_from_slice(b".opt-");
                filename.extend_from_slice(opts.optimization.as_bytes());
            }
            filename.extend_from_slice(b".pyc");
        }
    }
    match opts.prefix {
        Some(prefix) if info.pycache_prefix => {
            let abs_head: Vec<u8> = if head.starts_with(b"/") {
                head.to_vec()
            } else {
                // 3.12+ `_path_abspath` drops one leading "./"; 3.8-3.11 join as is.
                let rel = if info.version >= PyVersion::new(3, 12) {
                    head.strip_prefix(b"./").unwrap_or(head)
                } else {
                    head
                };
                path_join(&[opts.cwd, rel])
            };
            if abs_head.len() < 2 {
                // `head[1] == ':'` on a one-character head.
                return Err(PathError::Index("string index out of range".into()));
            }
            let start = abs_head
                .iter()
                .position(|&b| b != b'/')
                .unwrap_or(abs_head.len());
            Ok(path_join(&[prefix, &abs_head[start..], &filename]))
        }
        _ => Ok(path_join(&[head, b"__pycache__", &filename])),
    }
}

/// The source file of a cache file: `importlib.util.source_from_cache` for 3.2+; for older
/// versions, the `.pyc`/`.pyo` name without its last letter.
pub fn source_from_cache(
    info: &VersionInfo,
    cache: &[u8],
    prefix: Option<&[u8]>,
) -> Result<Vec<u8>, PathError> {
    if info.cache_tag.is_none() {
        if cache.ends_with(b".pyc") || cache.ends_with(b".pyo") {
            return Ok(cache[..cache.len() - 1].to_vec());
        }
        return Err(PathError::Value(format!(
            "{} does not end in .pyc or .pyo",
            py_repr(cache)
        )));
    }
    let (mut head, pycache_filename) = path_split(cache);
    let mut found_in_prefix = false;
    if let (Some(prefix), true) = (prefix, info.pycache_prefix) {
        let end = prefix.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let stripped = &prefix[..end];
        if head.len() > stripped.len() && head.starts_with(stripped) && head[stripped.len()] == b'/'
        {
            head = &head[stripped.len()..];
            found_in_prefix = true;
        }
    }
    if !found_in_prefix {
        let (h, pycache) = path_split(head);
        if pycache != b"__pycache__" {
            return Err(PathError::Value(format!(
                "__pycache__ not bottom-level directory in {}",
                py_repr(cache)
            )));
        }
        head = h;
    }
    let dots = pycache_filename.iter().filter(|&&b| b == b'.').count();
    if info.cache_layout == CacheLayout::Pep488 {
        if dots != 2 && dots != 3 {
            return Err(PathError::Value(format!(
                "expected only 2 or 3 dots in {}",
                py_repr(pycache_filename)
            )));
        }
        if dots == 3 {
            // rsplit('.', 2)[-2]
            let (rest, _, _) = rpartition(pycache_filename, b'.');
            let (_, _, optimization) = rpartition(rest, b'.');
            let Some(level) = optimization.strip_prefix(b"opt-") else {
                return Err(PathError::Value(
                    "optimization portion of filename does not start with 'opt-'".into(),
                ));
            };
            if !is_alnum(level) {
                return Err(PathError::Value(format!(
                    "optimization level {} is not an alphanumeric value",
                    py_repr(optimization)
                )));
            }
        }
    } else if dots < 2 {
        return Err(PathError::Value(format!(
            "expected only 2 dots in {}",
            py_repr(pycache_filename)
        )));
    }
    let base = pycache_filename
        .split(|&b| b == b'.')
        .next()
        .unwrap_or_default();
    let mut name = base.to_vec();
    name.extend_from_slice(b".py");
    Ok(path_join(&[head, &name]))
}
