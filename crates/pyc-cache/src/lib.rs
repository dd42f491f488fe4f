//! # pyc-cache
//!
//! The bytecode cache as the interpreter sees it: where a source's cache file lives for each
//! CPython version ([`paths`]), and (from the status issue on) walking trees and deciding,
//! exactly as the interpreter would, whether a cache file is fresh.

pub mod paths;

pub use paths::{cache_from_source, source_from_cache, CacheOptions, PathError};
