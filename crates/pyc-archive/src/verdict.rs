//! The report: for every source and target, will the cache file in the archive be used, under
//! the chosen use of the archive ([`Use`])?

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pyc_cache::classify::{judge, Reason, SourceStat, State as CacheState, Target, Validation};
use pyc_cache::paths::{cache_from_source, CacheOptions};
use serde::Serialize;

use crate::read::{Archive, Entry, Error, Format, Stamp};
use crate::zipimport::{decide, rule_for, Decision, ZipSource};

/// How the archive will be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Use {
    /// On `sys.path` as it is (zipapps, eggs, `pythonXY.zip`): zipimport reads it.
    #[serde(rename = "zipimport")]
    ZipImport,
    /// Unpacked by `tar` (GNU tar or `tarfile`): the stored mtimes are kept.
    #[serde(rename = "extract=tar")]
    ExtractTar,
    /// Unpacked by Info-ZIP's `unzip`: the extended-timestamp field's mtime when there is one,
    /// else the DOS time in local time.
    #[serde(rename = "extract=unzip")]
    ExtractUnzip,
    /// Unpacked by Python's `zipfile` (`extractall`, `shutil.unpack_archive`) or an installer
    /// (pip, uv): no mtime is set, every file gets the time of extraction.
    #[serde(rename = "extract=zipfile")]
    ExtractZipfile,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::ZipImport => "zipimport",
            Use::ExtractTar => "extract=tar",
            Use::ExtractUnzip => "extract=unzip",
            Use::ExtractZipfile => "extract=zipfile",
        }
    }
}

impl FromStr for Use {
    type Err = String;
    fn from_str(s: &str) -> Result<Use, String> {
        Ok(match s {
            "zipimport" => Use::ZipImport,
            "extract=tar" => Use::ExtractTar,
            "extract=unzip" => Use::ExtractUnzip,
            "extract=zipfile" => Use::ExtractZipfile,
            _ => {
                return Err(format!(
                    "{s:?}: expected zipimport, extract=tar, extract=unzip or extract=zipfile"
                ))
            }
        })
    }
}

/// The default use of an archive and why.
pub fn default_use(archive: &Archive) -> (Use, &'static str) {
    let name = archive
        .path
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if let Format::Tar(_) = archive.format {
        (Use::ExtractTar, "a tar archive is unpacked")
    } else if name.ends_with(".whl") {
        (
            Use::ExtractZipfile,
            "a wheel is unpacked by pip or uv, which set no mtimes",
        )
    } else if name.ends_with(".pyz") || name.ends_with(".pyzw") {
        (Use::ZipImport, "a zipapp runs from the zip")
    } else if name.ends_with(".egg") {
        (Use::ZipImport, "an egg is put on sys.path as it is")
    } else {
        (Use::ZipImport, "a zip on sys.path is read by zipimport")
    }
}

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The cache file is used.
    Fresh,
    /// A cache file is there and skipped: the source is compiled instead.
    Stale,
    /// No cache file: the source is compiled (under zipimport, on every start).
    Missing,
    /// A cache file with no source beside it, loaded as it is.
    Sourceless,
    /// A cache file no target ever reads (`__pycache__` under zipimport, a source that is gone).
    Unused,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Stale => "stale",
            State::Missing => "missing",
            State::Sourceless => "sourceless",
            State::Unused => "unused",
        }
    }
}

/// One verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub source: Option<String>,
    pub cache: Option<String>,
    pub target: Option<String>,
    pub state: State,
    pub reason: Option<&'static str>,
    pub detail: Option<String>,
    /// What to run so that the cache file is used.
    pub fix: Option<String>,
}

fn in_pycache(name: &[u8]) -> bool {
    name.split(|&b| b == b'/').any(|c| c == b"__pycache__")
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn with_suffix(base: &[u8], suffix: &str) -> Vec<u8> {
    let mut v = base.to_vec();
    v.extend_from_slice(suffix.as_bytes());
    v
}

/// The cache files `target` looks for, for `source`, under `how`: (name, level).
fn candidates(target: &Target, how: Use, source: &[u8]) -> Vec<(Vec<u8>, Option<u32>)> {
    let base = &source[..source.len() - 3];
    if how == Use::ZipImport {
        return rule_for(target.info.version)
            .map(|r| {
                r.suffixes(target)
                    .iter()
                    .map(|s| (with_suffix(base, s), None))
                    .collect()
            })
            .unwrap_or_default();
    }
    target
        .optimizations
        .iter()
        .filter_map(|&level| {
            let opt = if level == 0 {
                String::new()
            } else {
                level.to_string()
            };
            let o = CacheOptions {
                optimization: &opt,
                prefix: None,
                cwd: b"",
            };
            cache_from_source(target.info, source, o)
                .ok()
                .map(|c| (c, Some(level)))
        })
        .collect()
}

/// The mtime an extractor gives a file (None: the time of extraction).
fn extracted_stat(how: Use, e: &Entry) -> Option<SourceStat> {
    let (mtime_sec, mtime_nsec) = match (how, e.stamp) {
        (Use::ExtractZipfile, _) => return None,
        (_, Stamp::Tar { sec, nsec }) => (sec, i64::from(nsec)),
        (_, Stamp::Zip { unix: Some(t), .. }) => (i64::from(t), 0),
        (_, Stamp::Zip { dos, unix: None }) => (dos.local_epoch()?, 0),
    };
    Some(SourceStat::new(mtime_sec, mtime_nsec, e.size))
}

fn is_hash_based(head: &[u8]) -> bool {
    head.len() >= 8 && head[4] & 1 != 0 && head[5..8] == [0, 0, 0]
}

/// Judge every source and cache file of `archive` for `targets` under `how`. `fix` is the
/// command line prefix that repairs it (`pyc compile ARCHIVE`).
pub fn judge_archive(
    archive: &mut Archive,
    targets: &[Target],
    how: Use,
    fix: &str,
) -> Result<Vec<Record>, Error> {
    let applies = match (how, archive.format) {
        (Use::ExtractTar, Format::Tar(_)) => true,
        (Use::ExtractTar, Format::Zip) | (_, Format::Tar(_)) => false,
        _ => true,
    };
    if !applies {
        return Err(Error {
            path: archive.path.clone(),
            reason: format!(
                "--as {}: not how a {} is used",
                how.as_str(),
                if archive.format == Format::Zip {
                    "zip"
                } else {
                    "tar"
                }
            ),
        });
    }
    // The importers' view: one entry per name, the last one wins (zipimport's dict; the last
    // member extracted overwrites the earlier ones).
    let by_name: BTreeMap<Vec<u8>, usize> = archive
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir)
        .map(|(i, e)| (e.name.clone(), i))
        .collect();
    let sources: Vec<Vec<u8>> = by_name
        .keys()
        .filter(|n| n.ends_with(b".py") && !in_pycache(n))
        .cloned()
        .collect();

    // Sources to hash: those with a hash-based cache file some target looks at.
    let mut need = BTreeSet::new();
    for s in &sources {
        for t in targets {
            for (c, _) in candidates(t, how, s) {
                if let Some(&i) = by_name.get(&c) {
                    if let Some(Ok(h)) = &archive.entries[i].head {
                        if is_hash_based(h) {
                            need.insert(s.clone());
                        }
                    }
                }
            }
        }
    }
    let bodies = archive.read_sources(&need)?;
    // `__pycache__` entries by the source they belong to (for "only in __pycache__").
    let mut pycache_of: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    for n in by_name.keys().filter(|n| in_pycache(n)) {
        if let Some(s) = pycache_source(n) {
            pycache_of.entry(s).or_default().push(lossy(n));
        }
    }

    let entries = &archive.entries;
    let mut out = Vec::new();
    let mut looked_at: BTreeSet<Vec<u8>> = BTreeSet::new();
    if how == Use::ZipImport && archive.comment_len > 0 {
        for t in targets {
            if rule_for(t.info.version).is_some_and(|r| !r.reads_archive_comment) {
                out.push(Record {
                    source: None,
                    cache: None,
                    target: Some(t.label.clone()),
                    state: State::Stale,
                    reason: Some("archive-comment"),
                    detail: Some(format!(
                        "the zip has a {}-byte archive comment: zipimport of CPython {} cannot open it, nothing in it is importable",
                        archive.comment_len, t.info.version
                    )),
                    fix: Some("remove the archive comment".into()),
                });
            }
        }
    }
    for s in &sources {
        let src = &entries[by_name[s]];
        for t in targets {
            let fix_cmd = format!("{fix} --python {} --as {}", t.info.version, how.as_str());
            let cands = candidates(t, how, s);
            let mut first_reject: Option<(Vec<u8>, &'static str, String)> = None;
            let mut verdicts: Vec<Record> = Vec::new();
            let mut found = false;
            let mut data = || {
                bodies
                    .get(s)
                    .cloned()
                    .ok_or_else(|| "source not read".to_string())
            };
            for (c, level) in &cands {
                let Some(&i) = by_name.get(c) else { continue };
                looked_at.insert(c.clone());
                found = true;
                let head = match &entries[i].head {
                    Some(Ok(h)) => h.clone(),
                    Some(Err(e)) => {
                        first_reject.get_or_insert((c.clone(), "unreadable", e.clone()));
                        continue;
                    }
                    None => Vec::new(),
                };
                if how == Use::ZipImport {
                    let Some(rule) = rule_for(t.info.version) else {
                        continue;
                    };
                    let Stamp::Zip { dos, .. } = src.stamp else {
                        continue;
                    };
                    let zs = ZipSource {
                        dos,
                        size: src.size,
                        data: &mut data,
                    };
                    match decide(rule, t, &head, Some(zs)) {
                        Decision::Accept(detail) => {
                            verdicts.push(Record {
                                source: Some(lossy(s)),
                                cache: Some(lossy(c)),
                                target: Some(t.label.clone()),
                                state: State::Fresh,
                                reason: None,
                                detail,
                                fix: None,
                            });
                            first_reject = None;
                            break;
                        }
                        Decision::Reject(r, d) => {
                            first_reject.get_or_insert((c.clone(), r, d));
                        }
                    }
                } else {
                    let now = extracted_stat(how, src);
                    let stat = now.unwrap_or(SourceStat::at(now_secs(), src.size));
                    let (state, reason, detail) = judge(t, &head, &stat, &mut data);
                    let (state, reason, detail) = match (state, reason) {
                        (CacheState::Fresh, _) => (State::Fresh, reason.map(Reason::as_str), detail),
                        (_, Some(Reason::Mtime)) if now.is_none() => (
                            State::Stale,
                            Some("extraction-mtime"),
                            Some(
                                "mtime set at extraction: zipfile and installers give the source the time of unpacking, the pyc keeps the old one"
                                    .to_string(),
                            ),
                        ),
                        (_, r) => (State::Stale, r.map(Reason::as_str), detail),
                    };
                    verdicts.push(Record {
                        source: Some(lossy(s)),
                        cache: Some(lossy(c)),
                        target: Some(format!("{}{}", t.label, level_suffix(*level, t))),
                        state,
                        reason,
                        fix: (state != State::Fresh).then(|| fix_cmd.clone()),
                        detail,
                    });
                }
            }
            if how == Use::ZipImport {
                if let Some((c, r, d)) = first_reject {
                    out.push(Record {
                        source: Some(lossy(s)),
                        cache: Some(lossy(&c)),
                        target: Some(t.label.clone()),
                        state: State::Stale,
                        reason: Some(r),
                        detail: Some(d),
                        fix: Some(fix_cmd.clone()),
                    });
                    continue;
                }
                if !found {
                    out.push(missing(s, t, how, &fix_cmd, &pycache_of));
                }
                out.extend(verdicts);
            } else {
                for (c, level) in &cands {
                    if !by_name.contains_key(c) {
                        let mut r = missing(s, t, how, &fix_cmd, &pycache_of);
                        r.target = Some(format!("{}{}", t.label, level_suffix(*level, t)));
                        out.push(r);
                    }
                }
                out.extend(verdicts);
            }
        }
    }

    // Cache files beside no source, and cache files nobody reads.
    let source_set: BTreeSet<&Vec<u8>> = sources.iter().collect();
    for (name, &i) in &by_name {
        if !(name.ends_with(b".pyc") || name.ends_with(b".pyo")) || looked_at.contains(name) {
            continue;
        }
        let e = &entries[i];
        let shown = lossy(name);
        if in_pycache(name) {
            if how == Use::ZipImport {
                out.push(unused(
                    &shown,
                    "never-read",
                    "in __pycache__: zipimport never reads it (it looks for NAME.pyc beside NAME.py)",
                    None,
                ));
            } else if pycache_source(name).is_some_and(|s| !source_set.contains(&s)) {
                out.push(unused(
                    &shown,
                    "source-gone",
                    "no source beside the __pycache__ folder: never loaded",
                    None,
                ));
            }
            continue;
        }
        let src = name[..name.len() - 1].to_vec();
        if source_set.contains(&src) {
            // Beside its source, but read by no target (3.x reads __pycache__ after extraction).
            out.push(unused(
                &shown,
                "legacy-beside-source",
                "beside its source, where no target looks (after extraction 3.x reads only __pycache__)",
                None,
            ));
            continue;
        }
        // A sourceless module: loaded as it is if the target accepts the header.
        for t in targets {
            let suffix_ok = if how == Use::ZipImport {
                rule_for(t.info.version)
                    .is_some_and(|r| r.suffixes(t).iter().any(|s| name.ends_with(s.as_bytes())))
            } else {
                name.ends_with(b".pyc")
                    || (t.validation == Validation::Import2 && name.ends_with(b".pyo"))
            };
            if !suffix_ok {
                continue;
            }
            let head = match &e.head {
                Some(Ok(h)) => h.clone(),
                _ => Vec::new(),
            };
            let decision = match (how, rule_for(t.info.version)) {
                (Use::ZipImport, Some(rule)) => decide(rule, t, &head, None),
                _ => sourceless_file(t, &head),
            };
            out.push(match decision {
                Decision::Accept(d) => Record {
                    source: None,
                    cache: Some(shown.clone()),
                    target: Some(t.label.clone()),
                    state: State::Sourceless,
                    reason: None,
                    detail: d,
                    fix: None,
                },
                Decision::Reject(r, d) => Record {
                    source: None,
                    cache: Some(shown.clone()),
                    target: Some(t.label.clone()),
                    state: State::Stale,
                    reason: Some(r),
                    detail: Some(format!("{d}; no source beside it: the import fails")),
                    fix: None,
                },
            });
        }
    }
    out.sort_by(|a, b| {
        (
            a.source.as_deref().or(a.cache.as_deref()),
            &a.cache,
            &a.target,
        )
            .cmp(&(
                b.source.as_deref().or(b.cache.as_deref()),
                &b.cache,
                &b.target,
            ))
    });
    Ok(out)
}

/// `SourcelessFileLoader` (3.x) / `import.c` (2.x): the magic, and 3.7+'s flags.
fn sourceless_file(t: &Target, head: &[u8]) -> Decision {
    let want = t.magic.to_le_bytes();
    if head.len() < 4 || head[..2] != want {
        return Decision::Reject("magic", format!("expected magic {}", t.magic));
    }
    if t.validation == Validation::Pep552 && head.len() >= 8 {
        let flags = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if flags & !0b11 != 0 {
            return Decision::Reject("flags", format!("invalid flags {flags:#x}"));
        }
    }
    Decision::Accept(Some("sourceless: loaded as is".into()))
}

/// `D/__pycache__/STEM.TAG[.opt-N].pyc` → `D/STEM.py` (STEM up to the tag's dot).
fn pycache_source(name: &[u8]) -> Option<Vec<u8>> {
    let pos = name.windows(13).rposition(|w| w == b"/__pycache__/");
    let (dir, file) = match pos {
        Some(p) => (&name[..=p], &name[p + 13..]),
        None => (&b""[..], name.strip_prefix(b"__pycache__/")?),
    };
    let stem_end = file.windows(9).position(|w| w.starts_with(b".cpython-"))?;
    let mut s = dir.to_vec();
    s.extend_from_slice(&file[..stem_end]);
    s.extend_from_slice(b".py");
    Some(s)
}

fn level_suffix(level: Option<u32>, t: &Target) -> String {
    match level {
        Some(l) if t.optimizations.len() > 1 || l > 0 => format!(" -O{l}"),
        _ => String::new(),
    }
}

fn unused(cache: &str, reason: &'static str, detail: &str, fix: Option<String>) -> Record {
    Record {
        source: None,
        cache: Some(cache.to_string()),
        target: None,
        state: State::Unused,
        reason: Some(reason),
        detail: Some(detail.to_string()),
        fix,
    }
}

fn missing(
    s: &[u8],
    t: &Target,
    how: Use,
    fix: &str,
    pycache_of: &BTreeMap<Vec<u8>, Vec<String>>,
) -> Record {
    let in_cache: &[String] = pycache_of.get(s).map(Vec::as_slice).unwrap_or(&[]);
    let detail = if how == Use::ZipImport && !in_cache.is_empty() {
        Some(format!(
            "only {} in __pycache__, which zipimport never reads: the source is compiled on every start",
            in_cache.join(", ")
        ))
    } else if how == Use::ZipImport {
        Some("compiled in memory on every start, never written back".into())
    } else {
        None
    };
    Record {
        source: Some(lossy(s)),
        cache: None,
        target: Some(t.label.clone()),
        state: State::Missing,
        reason: (!in_cache.is_empty() && how == Use::ZipImport).then_some("pycache-only"),
        detail,
        fix: Some(fix.to_string()),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pycache_names() {
        assert_eq!(
            pycache_source(b"pkg/__pycache__/m.cpython-312.opt-1.pyc").as_deref(),
            Some(&b"pkg/m.py"[..])
        );
        assert_eq!(
            pycache_source(b"__pycache__/a.b.cpython-36.pyc").as_deref(),
            Some(&b"a.b.py"[..])
        );
        assert_eq!(pycache_source(b"m.pyc"), None);
    }
}
