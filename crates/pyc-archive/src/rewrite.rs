//! `pyc compile ARCHIVE`: the cache files the chosen use accepts, written into a new archive
//! that replaces the old one atomically. Every other entry is copied as it is (compressed
//! bytes, times, extra fields, comments, permissions, order, a zipapp's `#!` prefix, the
//! archive comment); cache entries are replaced in place or added right after their source.
//! In a wheel, `*.dist-info/RECORD` gets the new entries' hashes and sizes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use base64::Engine;
use pyc_cache::classify::{Target, Validation};
use pyc_cache::paths::{cache_from_source, CacheOptions};
use sha2::Digest;

use crate::read::{Archive, Entry, Error, Format, Stamp};
use crate::verdict::Use;
use crate::zipimport::rule_for;

/// How the new cache files record their source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Timestamp,
    CheckedHash,
    UncheckedHash,
}

/// One cache file to put in the archive.
#[derive(Debug, Clone)]
pub struct NewCache {
    pub name: Vec<u8>,
    /// The source entry it belongs after.
    pub source: Vec<u8>,
    pub data: Vec<u8>,
    /// Index of the target it was compiled for.
    pub target: usize,
}

/// The mode used when none is asked for: zipimport reads timestamps (the entry's DOS time);
/// after extraction no mtime survives every extractor, so hash-based.
pub fn default_mode(how: Use) -> Mode {
    match how {
        Use::ZipImport => Mode::Timestamp,
        _ => Mode::CheckedHash,
    }
}

fn in_pycache(name: &[u8]) -> bool {
    name.split(|&b| b == b'/').any(|c| c == b"__pycache__")
}

/// The header the target accepts for `source` under `how` and `mode`.
fn header(t: &Target, how: Use, mode: Mode, src: &Entry, data: &[u8]) -> Result<Vec<u8>, String> {
    let v = t.info.version;
    let mut h = t.magic.to_le_bytes().to_vec();
    h.extend_from_slice(b"\r\n");
    if mode != Mode::Timestamp {
        let Some(variant) = t.info.source_hash else {
            return Err(format!(
                "CPython {v} has no hash-based pycs (3.7+): use --invalidation-mode timestamp"
            ));
        };
        if how == Use::ZipImport
            && mode == Mode::CheckedHash
            && rule_for(v).is_some_and(|r| r.hash == crate::zipimport::HashRule::RefuseChecked)
        {
            return Err(format!(
                "CPython {v}'s zipimport skips checked hash-based pycs: use --invalidation-mode unchecked-hash or timestamp"
            ));
        }
        let flags: u32 = if mode == Mode::CheckedHash { 3 } else { 1 };
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&pyc_format::source_hash(variant, t.magic, data));
        return Ok(h);
    }
    let mtime: i64 = match (how, src.stamp) {
        (Use::ZipImport, Stamp::Zip { dos, .. }) | (Use::ExtractUnzip, Stamp::Zip { dos, unix: None }) => dos
            .local_epoch()
            .ok_or_else(|| format!("DOS time {} cannot be read in local time", dos.display()))?,
        (Use::ExtractUnzip, Stamp::Zip { unix: Some(u), .. }) => i64::from(u),
        (Use::ExtractTar, Stamp::Tar { sec, nsec }) => {
            // int(st_mtime) of the extracted file.
            (sec as f64 + f64::from(nsec) * 1e-9).trunc() as i64
        }
        (Use::ExtractZipfile, _) => {
            return Err(
                "zipfile and installers set no mtime, so no timestamp pyc survives: use --invalidation-mode checked-hash or unchecked-hash"
                    .into(),
            )
        }
        _ => return Err(format!("{} does not apply to this archive", how.as_str())),
    };
    let size = (src.size & 0xFFFF_FFFF) as u32;
    match t.validation {
        Validation::Import2 => h.extend_from_slice(&(mtime as u32).to_le_bytes()),
        Validation::Bytecode12 => {
            h.extend_from_slice(&(mtime as u32).to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
        }
        Validation::Pep552 => {
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&(mtime as u32).to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
        }
    }
    Ok(h)
}

/// The cache name `t` reads for `source` under `how`.
fn cache_name(t: &Target, how: Use, source: &[u8]) -> Option<Vec<u8>> {
    if how == Use::ZipImport {
        let suffix = rule_for(t.info.version)?.suffixes(t).first()?;
        let mut n = source[..source.len() - 3].to_vec();
        n.extend_from_slice(suffix.as_bytes());
        return Some(n);
    }
    let level = t.optimizations.first().copied().unwrap_or(0);
    let opt = if level == 0 {
        String::new()
    } else {
        level.to_string()
    };
    cache_from_source(
        t.info,
        source,
        CacheOptions {
            optimization: &opt,
            prefix: None,
            cwd: b"",
        },
    )
    .ok()
}

/// What a compile did.
#[derive(Debug, Default)]
pub struct Compiled {
    pub written: Vec<NewCache>,
    /// (source, target index) pairs whose cache file the use already accepts, left as they are.
    pub up_to_date: usize,
    /// (source, target label, error) for sources the interpreter could not compile.
    pub failed: Vec<(String, String, String)>,
}

/// `(target index, dfile, source)` → the marshalled code object, or the compile error.
pub type CompileFn<'a> = dyn FnMut(usize, &[u8], &[u8]) -> Result<Vec<u8>, String> + 'a;

/// Compile every source of `archive` for each target, except the (source, target index) pairs
/// in `keep` (their cache file is already used): `compile(target index, dfile, source)` gives
/// the marshalled code object (the interpreter's `marshal.dumps(compile(...))`).
pub fn compile_archive(
    archive: &mut Archive,
    targets: &[Target],
    how: Use,
    mode: Mode,
    keep: &std::collections::BTreeSet<(Vec<u8>, usize)>,
    compile: &mut CompileFn<'_>,
) -> Result<Compiled, Error> {
    let apath = archive.path.clone();
    let err = |reason: String| Error {
        path: apath.clone(),
        reason,
    };
    let by_name: BTreeMap<Vec<u8>, usize> = archive
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir)
        .map(|(i, e)| (e.name.clone(), i))
        .collect();
    let sources: std::collections::BTreeSet<Vec<u8>> = by_name
        .keys()
        .filter(|n| n.ends_with(b".py") && !in_pycache(n))
        .cloned()
        .collect();
    // Only the sources something is compiled for are read.
    let needed: std::collections::BTreeSet<Vec<u8>> = sources
        .iter()
        .filter(|s| (0..targets.len()).any(|ti| !keep.contains(&(s.to_vec(), ti))))
        .cloned()
        .collect();
    let bodies = archive.read_sources(&needed)?;
    let mut out = Compiled::default();
    for s in &sources {
        let src = &archive.entries[by_name[s]];
        for (ti, t) in targets.iter().enumerate() {
            if keep.contains(&(s.clone(), ti)) {
                out.up_to_date += 1;
                continue;
            }
            let Some(data) = bodies.get(s) else { continue };
            let Some(name) = cache_name(t, how, s) else {
                return Err(err(format!(
                    "pyc does not model how CPython {} finds cache files in an archive",
                    t.info.version
                )));
            };
            let head = header(t, how, mode, src, data).map_err(err)?;
            match compile(ti, s, data) {
                Ok(code) => {
                    let mut pyc = head;
                    pyc.extend_from_slice(&code);
                    out.written.push(NewCache {
                        name,
                        source: s.clone(),
                        data: pyc,
                        target: ti,
                    });
                }
                Err(e) => {
                    out.failed
                        .push((String::from_utf8_lossy(s).into_owned(), t.label.clone(), e))
                }
            }
        }
    }
    Ok(out)
}

/// The wheel's `RECORD` with lines for `added` (replacing lines of the same paths).
fn updated_record(record: &[u8], added: &[NewCache]) -> Vec<u8> {
    let names: std::collections::BTreeSet<&[u8]> = added.iter().map(|n| &n.name[..]).collect();
    let mut out = Vec::new();
    for line in record.split_inclusive(|&b| b == b'\n') {
        let path = if let Some(rest) = line.strip_prefix(b"\"") {
            // A quoted path ("" is a quote): compare the unquoted form.
            let mut p = Vec::new();
            let mut it = rest.iter().peekable();
            while let Some(&c) = it.next() {
                if c == b'"' {
                    if it.peek() == Some(&&b'"') {
                        it.next();
                        p.push(b'"');
                        continue;
                    }
                    break;
                }
                p.push(c);
            }
            p
        } else {
            line.split(|&b| b == b',').next().unwrap_or(b"").to_vec()
        };
        if names.contains(&path[..]) {
            continue;
        }
        out.extend_from_slice(line);
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for n in added {
        let digest = sha2::Sha256::digest(&n.data);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        let name = String::from_utf8_lossy(&n.name);
        let name = if name.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", name.replace('"', "\"\""))
        } else {
            name.into_owned()
        };
        out.extend_from_slice(format!("{name},sha256={b64},{}\n", n.data.len()).as_bytes());
    }
    out
}

fn is_wheel_record(name: &[u8]) -> bool {
    let n = String::from_utf8_lossy(name);
    n.ends_with(".dist-info/RECORD") && n.matches('/').count() == 1
}

/// Write `archive` again with `added` put in, and rename it over the old one.
pub fn write_archive(archive: &Archive, added: &[NewCache]) -> Result<(), Error> {
    let path = &archive.path;
    let err = |reason: String| Error {
        path: path.clone(),
        reason,
    };
    let io = |e: std::io::Error| err(e.to_string());
    let zerr = |e: zip::result::ZipError| err(e.to_string());
    if archive.format != Format::Zip {
        return Err(err(
            "pyc compile writes zips, wheels, zipapps and eggs; tars are not written yet".into(),
        ));
    }
    let by_name: BTreeMap<&[u8], &NewCache> = added.iter().map(|n| (&n.name[..], n)).collect();
    let mut after: BTreeMap<&[u8], Vec<&NewCache>> = BTreeMap::new();
    let existing: std::collections::BTreeSet<&[u8]> =
        archive.entries.iter().map(|e| &e.name[..]).collect();
    for n in added {
        if !existing.contains(&n.name[..]) {
            after.entry(&n.source[..]).or_default().push(n);
        }
    }
    let meta = std::fs::metadata(path).map_err(io)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut za =
        zip::ZipArchive::new(BufReader::new(File::open(path).map_err(io)?)).map_err(zerr)?;
    let tmp = tempfile::Builder::new()
        .prefix(".pyc-archive-")
        .tempfile_in(dir)
        .map_err(io)?;
    let mut out = tmp.reopen().map_err(io)?;
    // A zipapp's `#!` line (anything before the first entry) is kept as it is.
    let mut prefix = za.offset();
    for i in 0..za.len() {
        let start = za.by_index_raw(i).map_err(zerr)?.header_start();
        prefix = if i == 0 { start } else { prefix.min(start) };
    }
    {
        let mut raw = File::open(path).map_err(io)?;
        raw.seek(SeekFrom::Start(0)).map_err(io)?;
        std::io::copy(&mut (&mut raw).take(prefix), &mut out).map_err(io)?;
    }
    let mut w = zip::ZipWriter::new(out);
    let options_for = |e: &Entry| {
        let (date, time) = match e.stamp {
            Stamp::Zip { dos, .. } => (dos.date, dos.time),
            Stamp::Tar { .. } => (0x21, 0),
        };
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::try_from_msdos(date, time).unwrap_or_default())
            .unix_permissions(
                e.mode
                    .map(|m| m & 0o777)
                    .filter(|&m| m != 0)
                    .unwrap_or(0o644),
            )
    };
    let entry_of = |name: &[u8]| archive.entries.iter().rev().find(|e| e.name == name);
    for i in 0..za.len() {
        let f = za.by_index_raw(i).map_err(zerr)?;
        let name = f.name_raw().to_vec();
        if let Some(n) = by_name.get(&name[..]) {
            drop(f);
            let e = entry_of(&name).or_else(|| entry_of(&n.source));
            let opts = e.map(options_for).unwrap_or_default();
            w.start_file(String::from_utf8_lossy(&name), opts)
                .map_err(zerr)?;
            w.write_all(&n.data).map_err(io)?;
        } else if is_wheel_record(&name) && !added.is_empty() {
            drop(f);
            let mut old = Vec::new();
            za.by_index(i)
                .map_err(zerr)?
                .read_to_end(&mut old)
                .map_err(io)?;
            let opts = entry_of(&name).map(options_for).unwrap_or_default();
            w.start_file(String::from_utf8_lossy(&name), opts)
                .map_err(zerr)?;
            w.write_all(&updated_record(&old, added)).map_err(io)?;
        } else {
            w.raw_copy_file(f).map_err(zerr)?;
        }
        if let Some(list) = after.get(&name[..]) {
            let opts = entry_of(&name).map(options_for).unwrap_or_default();
            for n in list {
                w.start_file(String::from_utf8_lossy(&n.name), opts)
                    .map_err(zerr)?;
                w.write_all(&n.data).map_err(io)?;
            }
        }
    }
    w.set_raw_comment(za.comment().to_vec().into_boxed_slice());
    let out = w.finish().map_err(zerr)?;
    out.sync_all().map_err(io)?;
    drop(out);
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_replaced_and_added() {
        let rec = b"a/__init__.py,sha256=x,1\na/__pycache__/__init__.cpython-312.pyc,sha256=old,9\nw-1.dist-info/RECORD,,\n";
        let n = NewCache {
            name: b"a/__pycache__/__init__.cpython-312.pyc".to_vec(),
            source: b"a/__init__.py".to_vec(),
            data: b"abc".to_vec(),
            target: 0,
        };
        let out = String::from_utf8(updated_record(rec, &[n])).unwrap();
        assert_eq!(
            out,
            "a/__init__.py,sha256=x,1\nw-1.dist-info/RECORD,,\na/__pycache__/__init__.cpython-312.pyc,sha256=ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0,3\n"
        );
    }
}
