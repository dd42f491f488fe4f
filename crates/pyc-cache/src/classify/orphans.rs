//! The cache side of one walked folder: the files in its cache folders that no target
//! claimed (orphans, foreign caches, leftovers, odd names) and the pycs beside the sources
//! that no target read (sourceless pycs, legacy caches of 2.x, leftovers).

use std::os::fd::AsFd;

use super::folders::{Beside, Listing};
use super::io::{open_nonblocking, read_head};
use super::names::{parse_cache_name, parse_level, CacheName};
use super::{tag_for, Place, Reason, Record, State, Target};
use crate::walk::{join, DirListing, EntryKind};

/// The sources present in the walked folder (sorted `NAME.py` names), for the cache side.
pub(crate) struct Present<'a>(pub Vec<&'a [u8]>);

impl Present<'_> {
    fn has(&self, name: &[u8]) -> bool {
        self.0.binary_search(&name).is_ok()
    }

    fn has_stem(&self, stem: &[u8]) -> bool {
        self.has(&[stem, b".py"].concat())
    }
}

/// Why a cache file of an existing source, with tag `tag`, is read by no target.
fn foreign_reason(targets: &[Target], tag: &str, place: Place) -> Reason {
    let same_tag: Vec<&Target> = targets.iter().filter(|t| t.tag == tag).collect();
    if same_tag.is_empty() {
        Reason::OtherTag
    } else if place == Place::Pycache && same_tag.iter().all(|t| t.uses_prefix().is_some()) {
        Reason::PrefixInUse
    } else {
        Reason::OptimizationNotSelected
    }
}

/// With a single file given, only its own cache files (`STEM.…`) are listed.
fn mine(only_stem: Option<&[u8]>, name: &[u8]) -> bool {
    match only_stem {
        None => true,
        Some(stem) => name.len() > stem.len() && name.starts_with(stem) && name[stem.len()] == b'.',
    }
}

/// Records for the files of a cache folder (`__pycache__` or prefix-tree) no target claimed.
pub(crate) fn unclaimed_in_cache_folder(
    targets: &[Target],
    d: &DirListing<'_>,
    present: &Present<'_>,
    l: &Listing,
    out: &mut Vec<Record>,
) {
    let only_stem: Option<&[u8]> = d.only.map(|o| o.strip_suffix(b".py").unwrap_or(o));
    let Some(entries) = &l.entries else {
        if l.fd.is_some() || l.place == Place::Pycache {
            let mut r = Record::new(State::Error);
            r.cache = Some(l.path.clone());
            r.detail = Some("cannot list the cache folder".into());
            out.push(r);
        }
        return;
    };
    for (i, e) in entries.iter().enumerate() {
        if l.used.get(i).copied().unwrap_or(false)
            || !matches!(e.kind, EntryKind::File | EntryKind::Symlink)
            || !mine(only_stem, &e.name)
        {
            continue;
        }
        let mut r = Record::new(State::Orphan);
        r.cache = Some(join(&l.path, &e.name));
        r.place = l.place;
        r.through_symlink = l.via_symlink || e.kind == EntryKind::Symlink;
        match parse_cache_name(&e.name) {
            CacheName::Other => continue,
            CacheName::OddPyc => r.reason = Some(Reason::NotACacheName),
            CacheName::Leftover { base } => {
                r.state = State::Leftover;
                if let CacheName::Cache { stem, tag, opt } = parse_cache_name(base) {
                    r.tag = Some(String::from_utf8_lossy(tag).into_owned());
                    r.optimization = opt.and_then(parse_level);
                    if present.has_stem(stem) {
                        r.source = Some(join(d.path, &[stem, b".py"].concat()));
                    }
                }
            }
            CacheName::Cache { stem, tag, opt } => {
                let tag_s = String::from_utf8_lossy(tag).into_owned();
                r.optimization = opt.and_then(parse_level);
                if present.has_stem(stem) {
                    r.source = Some(join(d.path, &[stem, b".py"].concat()));
                    r.state = State::Foreign;
                    r.reason = Some(foreign_reason(targets, &tag_s, l.place));
                } else {
                    r.reason = Some(Reason::SourceGone);
                }
                r.tag = Some(tag_s);
            }
        }
        out.push(r);
    }
}

/// Records for the cache-looking files beside the sources no target read: leftovers,
/// sourceless pycs (CPython imports them as they are) and legacy caches of existing sources.
pub(crate) fn unclaimed_beside(
    d: &DirListing<'_>,
    present: &Present<'_>,
    beside: &Beside,
    out: &mut Vec<Record>,
) {
    for (k, &i) in beside.idx.iter().enumerate() {
        let e = &d.entries[i];
        if beside.used[k] || !matches!(e.kind, EntryKind::File | EntryKind::Symlink) {
            continue;
        }
        let mut r = Record::new(State::Sourceless);
        r.cache = Some(join(d.path, &e.name));
        r.place = Place::Beside;
        r.through_symlink = e.kind == EntryKind::Symlink;
        if let CacheName::Leftover { base } = parse_cache_name(&e.name) {
            r.state = State::Leftover;
            let src = &base[..base.len() - 1];
            if present.has(src) {
                r.source = Some(join(d.path, src));
            }
            out.push(r);
            continue;
        }
        // The version that wrote it, from its magic.
        if let Ok(fd) = open_nonblocking(d.fd, &e.name) {
            let mut b = [0u8; 4];
            if let Ok(4) = read_head(fd.as_fd(), &mut b) {
                if let Some(info) = pyc_format::classify(b).and_then(|k| k.version_info()) {
                    r.tag = Some(tag_for(info));
                }
            }
        }
        let src = &e.name[..e.name.len() - 1];
        if present.has(src) {
            r.state = State::Foreign;
            r.reason = Some(Reason::LegacyBesideSource);
            r.source = Some(join(d.path, src));
        }
        out.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(v: &str) -> Target {
        Target::for_version(v.parse().unwrap()).unwrap()
    }

    #[test]
    fn why_a_cache_of_an_existing_source_is_foreign() {
        let t312 = target("3.12");
        assert_eq!(
            foreign_reason(std::slice::from_ref(&t312), "cpython-311", Place::Pycache),
            Reason::OtherTag
        );
        assert_eq!(
            foreign_reason(std::slice::from_ref(&t312), "cpython-312", Place::Pycache),
            Reason::OptimizationNotSelected
        );
        let mut prefixed = target("3.12");
        prefixed.prefix = Some(b"/pfx".to_vec());
        assert_eq!(
            foreign_reason(
                std::slice::from_ref(&prefixed),
                "cpython-312",
                Place::Pycache
            ),
            Reason::PrefixInUse
        );
        assert_eq!(
            foreign_reason(&[prefixed], "cpython-312", Place::Prefix),
            Reason::OptimizationNotSelected
        );
    }

    #[test]
    fn a_single_file_lists_only_its_own_caches() {
        assert!(mine(None, b"anything.pyc"));
        assert!(mine(Some(b"mod"), b"mod.cpython-312.pyc"));
        assert!(!mine(Some(b"mod"), b"module.cpython-312.pyc"));
        assert!(!mine(Some(b"mod"), b"mod"));
    }

    #[test]
    fn present_sources_by_name_and_stem() {
        let p = Present(vec![b"a.py".as_slice(), b"b.py".as_slice()]);
        assert!(p.has(b"a.py") && p.has_stem(b"b") && !p.has_stem(b"c"));
    }
}
