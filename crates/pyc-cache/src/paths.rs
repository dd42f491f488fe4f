//! Cache file names, exactly as each CPython version computes them:
//! `importlib.util.cache_from_source` / `source_from_cache` (3.2+, PEP 3147 and PEP 488, the
//! `sys.pycache_prefix` layout of 3.8+), and the legacy `NAME.pyc` / `NAME.pyo` beside the
//! source of 2.x and 3.0–3.1.
//!
//! Paths are handled as bytes with POSIX separators, the way CPython's `_bootstrap_external`
//! handles `str` paths on POSIX (`_path_split`, `_path_join`): this works for names that are
//! not UTF-8 too. Windows drive handling is not modelled.
//!
//! The versions differ in small ways, kept as data in [`RULES`]. How each row is known:
//! * 3.6–3.15: run. `scripts/gen_paths.py` records the real interpreters' answers (and the
//!   exceptions they raise) and `tests/interpreter_paths.rs` compares every one of them.
//! * 2.7: run (where `py_compile` writes, `inspect.getsourcefile`).
//! * 3.3 and 3.4: read, from their `Lib/importlib/_bootstrap.py` (magic 3230 and 3310).
//! * 3.5: read from PEP 488; its `_bootstrap_external.py` has the 3.6 code minus `fspath`.
//! * 3.2: read from a port of 3.2's C `make_compiled_pathname` / `make_source_pathname`
//!   (`Python/import.c`; CPython's own file was not available to read).

use pyc_format::{PyVersion, VersionInfo};

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
    /// `str(optimization)` as CPython puts it after `opt-` ("" for none). Before 3.5 (no
    /// `opt-` tags) any non-empty value means `.pyo`.
    pub optimization: &'a str,
    /// `sys.pycache_prefix` (3.8+ only; ignored by older versions, as they ignore the variable).
    pub prefix: Option<&'a [u8]>,
    /// The working directory, used to make relative paths absolute under a prefix.
    pub cwd: &'a [u8],
}

/// How the cache name keeps the source name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stem {
    /// 3.2 (C): the file name up to and including its last dot; the whole name if it has none.
    LastDotKept,
    /// 3.3–3.4: `tail.partition('.')`: up to the first dot.
    FirstDot,
    /// 3.5+: `tail.rpartition('.')`, `base if base else rest`.
    LastDotOrWhole,
}

/// How the directory and the file name are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    /// 3.2 (C): the source path up to and including its last `/`, then `__pycache__/NAME`.
    Raw,
    /// 3.3: `_path_join` adds a `/` after each part that does not already end with one.
    AddSep,
    /// 3.4+: `_path_join` strips trailing `/` from each part and joins with `/`.
    Rstrip,
}

/// How `source_from_cache` checks the cache file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dots {
    /// 3.2 (C): exactly two dots, else "Not a PEP 3147 pyc path".
    C32,
    /// 3.3–3.4: exactly two dots.
    Exactly2,
    /// 3.5+: two, or three with an `opt-` level.
    TwoOrThree,
}

/// The pycache prefix (3.8+): how a relative source directory is made absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PrefixRules {
    /// 3.12+ `_path_abspath` drops one leading `./` before joining with the cwd; 3.8–3.11
    /// join as is.
    drop_dot_slash: bool,
    /// 3.8–3.13 test `head[1] == ':'` (a Windows drive) and so raise IndexError on an
    /// absolute head shorter than two characters (source in `/` or cwd `/`); 3.14 slices.
    short_head_raises: bool,
}

/// The path rules of the versions from `since` up to the next row.
#[derive(Debug, Clone, Copy)]
struct PathRules {
    since: PyVersion,
    stem: Stem,
    join: Join,
    /// `.pyo` for an optimized cache (before PEP 488) rather than `.opt-N.pyc`.
    pyo: bool,
    dots: Dots,
    prefix: Option<PrefixRules>,
}

const fn rules(
    major: u8,
    minor: u8,
    stem: Stem,
    join: Join,
    pyo: bool,
    dots: Dots,
    prefix: Option<PrefixRules>,
) -> PathRules {
    PathRules {
        since: PyVersion::new(major, minor),
        stem,
        join,
        pyo,
        dots,
        prefix,
    }
}

/// One row per change, oldest first (see the module docs for how each is known).
static RULES: &[PathRules] = &[
    rules(3, 2, Stem::LastDotKept, Join::Raw, true, Dots::C32, None),
    rules(
        3,
        3,
        Stem::FirstDot,
        Join::AddSep,
        true,
        Dots::Exactly2,
        None,
    ),
    rules(
        3,
        4,
        Stem::FirstDot,
        Join::Rstrip,
        true,
        Dots::Exactly2,
        None,
    ),
    rules(
        3,
        5,
        Stem::LastDotOrWhole,
        Join::Rstrip,
        false,
        Dots::TwoOrThree,
        None,
    ),
    rules(
        3,
        8,
        Stem::LastDotOrWhole,
        Join::Rstrip,
        false,
        Dots::TwoOrThree,
        Some(PrefixRules {
            drop_dot_slash: false,
            short_head_raises: true,
        }),
    ),
    rules(
        3,
        12,
        Stem::LastDotOrWhole,
        Join::Rstrip,
        false,
        Dots::TwoOrThree,
        Some(PrefixRules {
            drop_dot_slash: true,
            short_head_raises: true,
        }),
    ),
    rules(
        3,
        14,
        Stem::LastDotOrWhole,
        Join::Rstrip,
        false,
        Dots::TwoOrThree,
        Some(PrefixRules {
            drop_dot_slash: true,
            short_head_raises: false,
        }),
    ),
];

fn rules_for(version: PyVersion) -> Option<&'static PathRules> {
    RULES.iter().rev().find(|r| r.since <= version)
}

/// `_path_split`: split at the last `/`.
pub fn path_split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// `_path_join` on POSIX (3.4+): join the non-empty parts with `/`, each stripped of
/// trailing `/`.
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

/// 3.3's `_path_join`: each non-empty part, followed by `/` unless it ends with one; the last
/// separator dropped.
fn path_join_33(parts: &[&[u8]]) -> Vec<u8> {
    let mut pieces: Vec<&[u8]> = Vec::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        pieces.push(part);
        if part.last() != Some(&b'/') {
            pieces.push(b"/");
        }
    }
    pieces.pop();
    pieces.concat()
}

fn join(rule: Join, parts: &[&[u8]]) -> Vec<u8> {
    match rule {
        Join::AddSep => path_join_33(parts),
        Join::Rstrip | Join::Raw => path_join(parts),
    }
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
    let (Some(tag), Some(rules)) = (info.cache_tag, rules_for(info.version)) else {
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
    match rules.stem {
        Stem::LastDotKept => match tail.iter().rposition(|&b| b == b'.') {
            Some(i) => filename.extend_from_slice(&tail[..=i]),
            None => filename.extend_from_slice(tail),
        },
        Stem::FirstDot => match tail.iter().position(|&b| b == b'.') {
            Some(i) => filename.extend_from_slice(&tail[..=i]),
            None => filename.extend_from_slice(tail),
        },
        Stem::LastDotOrWhole => {
            let (base, sep, rest) = rpartition(tail, b'.');
            filename.extend_from_slice(if base.is_empty() { rest } else { base });
            filename.extend_from_slice(sep);
        }
    }
    filename.extend_from_slice(tag.as_bytes());
    if rules.pyo {
        filename.extend_from_slice(if opts.optimization.is_empty() {
            b".pyc"
        } else {
            b".pyo"
        });
    } else {
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
    if rules.join == Join::Raw {
        // The directory exactly as given, up to and including its last separator.
        let dir_end = source.len() - tail.len();
        let mut out = source[..dir_end].to_vec();
        out.extend_from_slice(b"__pycache__/");
        out.extend_from_slice(&filename);
        return Ok(out);
    }
    match (opts.prefix, rules.prefix) {
        (Some(prefix), Some(prule)) => {
            let abs_head: Vec<u8> = if head.starts_with(b"/") {
                head.to_vec()
            } else {
                let rel = if prule.drop_dot_slash {
                    head.strip_prefix(b"./").unwrap_or(head)
                } else {
                    head
                };
                path_join(&[opts.cwd, rel])
            };
            if abs_head.len() < 2 && prule.short_head_raises {
                // `head[1] == ':'` on a one-character (or empty) head.
                return Err(PathError::Index("string index out of range".into()));
            }
            let start = abs_head
                .iter()
                .position(|&b| b != b'/')
                .unwrap_or(abs_head.len());
            Ok(path_join(&[prefix, &abs_head[start..], &filename]))
        }
        _ => Ok(join(rules.join, &[head, b"__pycache__", &filename])),
    }
}

/// The source file of a cache file: `importlib.util.source_from_cache` for 3.2+; for older
/// versions, the `.pyc`/`.pyo` name without its last letter.
pub fn source_from_cache(
    info: &VersionInfo,
    cache: &[u8],
    prefix: Option<&[u8]>,
) -> Result<Vec<u8>, PathError> {
    let (Some(_), Some(rules)) = (info.cache_tag, rules_for(info.version)) else {
        if cache.ends_with(b".pyc") || cache.ends_with(b".pyo") {
            return Ok(cache[..cache.len() - 1].to_vec());
        }
        return Err(PathError::Value(format!(
            "{} does not end in .pyc or .pyo",
            py_repr(cache)
        )));
    };
    if rules.dots == Dots::C32 {
        return source_from_cache_32(cache).ok_or_else(|| {
            PathError::Value(format!(
                "Not a PEP 3147 pyc path: {}",
                String::from_utf8_lossy(cache)
            ))
        });
    }
    let (mut head, pycache_filename) = path_split(cache);
    let mut found_in_prefix = false;
    if let (Some(prefix), Some(_)) = (prefix, rules.prefix) {
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
    match rules.dots {
        Dots::TwoOrThree => {
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
        }
        Dots::Exactly2 | Dots::C32 => {
            if dots != 2 {
                return Err(PathError::Value(format!(
                    "expected only 2 dots in {}",
                    py_repr(pycache_filename)
                )));
            }
        }
    }
    let base = pycache_filename
        .split(|&b| b == b'.')
        .next()
        .unwrap_or_default();
    let mut name = base.to_vec();
    name.extend_from_slice(b".py");
    Ok(join(rules.join, &[head, &name]))
}

/// 3.2's C `make_source_pathname`: `DIR/__pycache__/NAME.TAG.pyc` -> `DIR/NAME.py`, where
/// the last two separators must enclose `__pycache__` and the file name must have exactly
/// two dots.
fn source_from_cache_32(cache: &[u8]) -> Option<Vec<u8>> {
    let right = cache.iter().rposition(|&b| b == b'/')?;
    let left = cache[..right]
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    if &cache[left..right] != b"__pycache__" {
        return None;
    }
    let name = &cache[right + 1..];
    let dot0 = name.iter().position(|&b| b == b'.')?;
    let dot1 = dot0 + 1 + name[dot0 + 1..].iter().position(|&b| b == b'.')?;
    if name[dot1 + 1..].contains(&b'.') {
        return None;
    }
    let mut out = cache[..left].to_vec();
    out.extend_from_slice(&name[..=dot0]);
    out.extend_from_slice(b"py");
    Some(out)
}

#[cfg(test)]
mod tests {
    //! Versions no interpreter here can run (3.2-3.5): expectations worked out by hand from
    //! their `_bootstrap.py` / `import.c` (see the module docs), not recorded. Everything
    //! 2.7 and 3.6+ is tested against the interpreters in `tests/interpreter_paths.rs`.
    use super::*;
    use pyc_format::version_info;

    fn cfs(v: (u8, u8), src: &str, opt: &str) -> Result<String, PathError> {
        let info = version_info(PyVersion::new(v.0, v.1)).unwrap();
        cache_from_source(
            info,
            src.as_bytes(),
            CacheOptions {
                optimization: opt,
                prefix: Some(b"/pfx"),
                cwd: b"/tmp",
            },
        )
        .map(|p| String::from_utf8(p).unwrap())
    }

    fn sfc(v: (u8, u8), cache: &str) -> Result<String, PathError> {
        let info = version_info(PyVersion::new(v.0, v.1)).unwrap();
        source_from_cache(info, cache.as_bytes(), Some(b"/pfx"))
            .map(|p| String::from_utf8(p).unwrap())
    }

    proptest::proptest! {
        /// Any path bytes, optimization and prefix, for every version: an answer or CPython's
        /// exception, never a panic.
        #[test]
        fn any_path_answers_or_raises(
            path in proptest::collection::vec(proptest::sample::select(b"ab./_\xff".to_vec()), 0..24),
            opt in "[a-z0-9 .-]{0,3}",
            prefix in proptest::option::of("/?[a-z/]{0,6}"),
            cwd in "/[a-z/]{0,6}",
        ) {
            for info in pyc_format::VERSIONS {
                let opts = CacheOptions {
                    optimization: &opt,
                    prefix: prefix.as_deref().map(str::as_bytes),
                    cwd: cwd.as_bytes(),
                };
                let _ = cache_from_source(info, &path, opts);
                let _ = source_from_cache(info, &path, opts.prefix);
            }
        }
    }

    #[test]
    fn python_3_2_follows_import_c() {
        assert_eq!(
            cfs((3, 2), "pkg/m.py", "").unwrap(),
            "pkg/__pycache__/m.cpython-32.pyc"
        );
        assert_eq!(
            cfs((3, 2), "a.b.py", "1").unwrap(),
            "__pycache__/a.b.cpython-32.pyo"
        );
        assert_eq!(
            cfs((3, 2), "noext", "").unwrap(),
            "__pycache__/noextcpython-32.pyc"
        );
        assert_eq!(
            cfs((3, 2), "pkg//m.py", "").unwrap(),
            "pkg//__pycache__/m.cpython-32.pyc"
        );
        assert_eq!(
            sfc((3, 2), "pkg/__pycache__/m.cpython-32.pyc").unwrap(),
            "pkg/m.py"
        );
        assert_eq!(
            sfc((3, 2), "m.cpython-32.pyc"),
            Err(PathError::Value(
                "Not a PEP 3147 pyc path: m.cpython-32.pyc".into()
            ))
        );
        assert!(sfc((3, 2), "__pycache__/a.b.cpython-32.pyc").is_err());
    }

    #[test]
    fn python_3_3_and_3_4_cut_at_the_first_dot_and_write_pyo() {
        for v in [(3, 3), (3, 4)] {
            let tag = format!("cpython-3{}", v.1);
            assert_eq!(
                cfs(v, "pkg/a.b.py", "").unwrap(),
                format!("pkg/__pycache__/a.{tag}.pyc")
            );
            assert_eq!(
                cfs(v, "m.py", "2").unwrap(),
                format!("__pycache__/m.{tag}.pyo")
            );
            // No prefix before 3.8, even when one is set.
            assert_eq!(
                cfs(v, "/abs/m.py", "").unwrap(),
                format!("/abs/__pycache__/m.{tag}.pyc")
            );
            assert_eq!(
                sfc(v, "__pycache__/m.cpython-312.opt-1.pyc"),
                Err(PathError::Value(
                    "expected only 2 dots in 'm.cpython-312.opt-1.pyc'".into()
                ))
            );
        }
        // 3.3's _path_join keeps a doubled separator; 3.4's strips it.
        assert_eq!(
            cfs((3, 3), "a//m.py", "").unwrap(),
            "a/__pycache__/m.cpython-33.pyc"
        );
        assert_eq!(
            cfs((3, 3), "a///m.py", "").unwrap(),
            "a//__pycache__/m.cpython-33.pyc"
        );
        assert_eq!(
            cfs((3, 4), "a///m.py", "").unwrap(),
            "a/__pycache__/m.cpython-34.pyc"
        );
    }

    #[test]
    fn python_3_5_is_pep_488_without_prefix() {
        assert_eq!(
            cfs((3, 5), "pkg/a.b.py", "2").unwrap(),
            "pkg/__pycache__/a.b.cpython-35.opt-2.pyc"
        );
        assert_eq!(
            cfs((3, 5), "/abs/m.py", "").unwrap(),
            "/abs/__pycache__/m.cpython-35.pyc"
        );
        assert_eq!(
            sfc((3, 5), "x/__pycache__/m.cpython-35.opt-1.pyc").unwrap(),
            "x/m.py"
        );
    }
}
