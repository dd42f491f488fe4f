//! Records: what the classification says about one source or cache file.

use serde::Serialize;

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The interpreter loads the cache file as it is.
    Fresh,
    /// The interpreter recompiles (see the reason).
    Stale,
    /// No cache file.
    Missing,
    /// A cache file whose source is gone: never imported again.
    Orphan,
    /// A cache file of an interpreter or level that is not a target: listed, not judged.
    Foreign,
    /// An interrupted atomic write's temp file (`NAME.pyc.NNN`).
    Leftover,
    /// A `NAME.pyc` with no `NAME.py` beside it: CPython imports it; not a cache.
    Sourceless,
    /// A folder where a target must write a cache file and cannot.
    Unwritable,
    /// Something that could not be read (named in the detail).
    Error,
    /// A cache file the interpreter accepts by its header and then fails to load: the body is
    /// not a marshalled code object, so the import raises (`EOFError`, `ValueError: bad
    /// marshal data`, `ImportError: Non-code object`) and nothing rewrites it. Only with
    /// [`ClassifyOptions::verify`], which reads every fresh cache file whole.
    Broken,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Stale => "stale",
            State::Missing => "missing",
            State::Orphan => "orphan",
            State::Foreign => "foreign",
            State::Leftover => "leftover",
            State::Sourceless => "sourceless",
            State::Unwritable => "unwritable",
            State::Error => "error",
            State::Broken => "broken",
        }
    }
}

/// Why: for `stale`, what the interpreter rejects; for the cache side, what the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Mtime,
    Size,
    Hash,
    Magic,
    Flags,
    Truncated,
    Unreadable,
    /// Hash-based pyc that the interpreter trusts without reading the source.
    Unchecked,
    /// Foreign: another interpreter's tag.
    OtherTag,
    /// Foreign: a target's tag at a level that was not asked for.
    OptimizationNotSelected,
    /// Foreign: the target uses a pycache prefix, so `__pycache__` is not read.
    PrefixInUse,
    /// Foreign: a legacy `NAME.pyc` beside `NAME.py`, read by no target.
    LegacyBesideSource,
    /// Orphan: the source is gone.
    SourceGone,
    /// Orphan: a name CPython never gives a cache file.
    NotACacheName,
    /// Broken: `marshal.loads` fails on the body.
    BadMarshal,
    /// Broken: the body is not a code object.
    NotCode,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Mtime => "mtime",
            Reason::Size => "size",
            Reason::Hash => "hash",
            Reason::Magic => "magic",
            Reason::Flags => "flags",
            Reason::Truncated => "truncated",
            Reason::Unreadable => "unreadable",
            Reason::Unchecked => "unchecked",
            Reason::OtherTag => "other-tag",
            Reason::OptimizationNotSelected => "optimization-not-selected",
            Reason::PrefixInUse => "prefix-in-use",
            Reason::LegacyBesideSource => "legacy-beside-source",
            Reason::SourceGone => "source-gone",
            Reason::NotACacheName => "not-a-cache-name",
            Reason::BadMarshal => "bad-marshal",
            Reason::NotCode => "not-code",
        }
    }
}

/// Where a cache file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// In a `__pycache__` folder.
    Pycache,
    /// Beside the source (2.x, `compileall -b`).
    Beside,
    /// In a pycache prefix tree.
    Prefix,
    /// No file (missing, unwritable, errors).
    None,
}

fn ser_path<S: serde::Serializer>(p: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(&String::from_utf8_lossy(p)),
        None => s.serialize_none(),
    }
}

/// One verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    #[serde(serialize_with = "ser_path")]
    pub source: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_path")]
    pub cache: Option<Vec<u8>>,
    pub tag: Option<String>,
    pub optimization: Option<u32>,
    pub state: State,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
    /// The target's label, for verdicts about a target.
    pub target: Option<String>,
    #[serde(skip)]
    pub target_index: Option<usize>,
    #[serde(skip)]
    pub place: Place,
    /// The cache file is reached through a symlinked folder or is itself a symlink: a clean
    /// must not delete through it.
    #[serde(skip)]
    pub through_symlink: bool,
}

impl Record {
    pub(crate) fn new(state: State) -> Record {
        Record {
            source: None,
            cache: None,
            tag: None,
            optimization: None,
            state,
            reason: None,
            detail: None,
            target: None,
            target_index: None,
            place: Place::None,
            through_symlink: false,
        }
    }

    /// A verdict that a compile should act on: the target recompiles this source (stale) or
    /// has no cache file for it (missing).
    pub fn needs_compile(&self) -> bool {
        self.target_index.is_some() && matches!(self.state, State::Stale | State::Missing)
    }

    pub fn source_display(&self) -> String {
        self.source
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    }

    pub fn cache_display(&self) -> String {
        self.cache
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    }

    /// The path that sorts this record: the cache file, else the source.
    pub fn sort_key(&self) -> (&[u8], &[u8], Option<usize>, Option<u32>) {
        (
            self.source.as_deref().unwrap_or(b""),
            self.cache.as_deref().unwrap_or(b""),
            self.target_index,
            self.optimization,
        )
    }
}
