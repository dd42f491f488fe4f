//! # pyc-format
//!
//! Pure, I/O-free reading of CPython bytecode cache files: the version table, magic numbers,
//! the pyc header (8, 12 or 16 bytes, PEP 552 flags) and `importlib.util.source_hash`.
//! Everything here takes bytes and returns values or errors; nothing touches the file system,
//! so it can be fuzzed.
//!
//! The body of a pyc: [`read_pyc`] parses the header and reads the marshalled module code
//! object ([`marshal`], every marshal version 0–6) into [`Object`] values and one [`Code`]
//! view that works the same for every version (`code.varnames()`, `code.localsplus()`,
//! `code.qualname()`...). Referenced objects are shared `Arc`s, never copies.
//!
//! ```
//! use pyc_format::{Header, Invalidation};
//! // A 3.12 timestamp pyc header: magic 3531, flags 0, mtime, size.
//! let bytes = b"\xcb\x0d\x0d\x0a\0\0\0\0\x10\x00\x00\x00\x05\x00\x00\x00";
//! let h = Header::parse(bytes).unwrap();
//! assert_eq!(h.magic.version().unwrap().to_string(), "3.12");
//! assert_eq!(h.invalidation, Invalidation::Timestamp { mtime: 16, source_size: Some(5) });
//! ```

pub mod canonical_fast;
pub mod code;
pub mod compare;
pub mod header;
pub mod identical;
pub mod magic;
pub mod marshal;
pub mod marshal_write;
pub mod object;
#[rustfmt::skip]
pub mod printable;
pub mod repr;
pub mod siphash;
pub mod version;

pub use code::{Code, CodeFormat};
pub use compare::{compare_pycs, BodyDiff, CodeDiff, CodeFieldDiff, FieldDiff, PycDiff};
pub use header::{hex, utc_datetime, Header, HeaderError, Invalidation};
pub use identical::identical;
pub use magic::{classify, header_size, lookup_magic, magic_bytes, magic_token, MagicKind};
pub use marshal::{loads, read_pyc, MarshalError, MarshalErrorKind, Pyc, PycError};
pub use marshal_write::{
    canonical_pyc, canonical_pyc_fast, canonical_pyc_general, dumps, is_canonical_pyc,
    CanonicalError, WriteError, WriteOptions,
};
pub use object::{ObjRef, Object, PyBytes, PyStr};
pub use repr::{float_repr, repr, repr_limited, Repr, ReprError};
pub use siphash::source_hash;
pub use version::{
    version_for_cache_tag, version_info, CacheLayout, CodeLayout, MagicEntry, PyVersion,
    SipHashVariant, VersionInfo, MAGICS, VERSIONS,
};
