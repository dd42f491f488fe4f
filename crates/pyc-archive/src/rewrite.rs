//! `pyc compile ARCHIVE`: the cache files the chosen use accepts, written into a new archive
//! that replaces the old one atomically. Every other entry is copied as it is (compressed
//! bytes, times, extra fields, comments, permissions, order, a zipapp's `#!` prefix, the
//! archive comment); cache entries are replaced in place or added right after their source.
//! In a wheel, `*.dist-info/RECORD` gets the new entries' hashes and sizes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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

const CENTRAL: [u8; 4] = [0x50, 0x4b, 1, 2];

/// The raw comment of the central directory record at `at` in `raw` (whose name must be
/// `name`); `None` when the record is not where the reader said.
fn raw_entry_comment(raw: &mut File, at: u64, name: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut h = [0u8; 46];
    raw.seek(SeekFrom::Start(at))?;
    if raw.read_exact(&mut h).is_err() || h[..4] != CENTRAL {
        return Ok(None);
    }
    let n = usize::from(u16::from_le_bytes([h[28], h[29]]));
    let m = usize::from(u16::from_le_bytes([h[30], h[31]]));
    let c = usize::from(u16::from_le_bytes([h[32], h[33]]));
    let mut rest = vec![0u8; n + m + c];
    if raw.read_exact(&mut rest).is_err() || &rest[..n] != name {
        return Ok(None);
    }
    Ok(Some(rest[n + m..].to_vec()))
}

/// The `zip` crate's writer writes no per-entry comments: put `comments[k]` (raw bytes) into
/// the k-th record of the finished archive's central directory, and move the end records
/// after it (sizes and the zip64 locator's offset updated).
fn put_entry_comments(
    file: &mut File,
    archive_comment_len: usize,
    comments: &[Vec<u8>],
) -> std::io::Result<()> {
    if comments.iter().all(Vec::is_empty) {
        return Ok(());
    }
    let bad = |w: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("rewritten zip: {w}"),
        )
    };
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let len = file.seek(SeekFrom::End(0))?;
    let eocd = len
        .checked_sub(22 + archive_comment_len as u64)
        .ok_or_else(|| bad("too short"))?;
    let mut e = [0u8; 22];
    file.seek(SeekFrom::Start(eocd))?;
    file.read_exact(&mut e)?;
    if e[..4] != [0x50, 0x4b, 5, 6] {
        return Err(bad("no end record"));
    }
    // A zip64 end record, found through its locator just before the end record.
    let mut z64 = None;
    if eocd >= 20 {
        let mut l = [0u8; 20];
        file.seek(SeekFrom::Start(eocd - 20))?;
        file.read_exact(&mut l)?;
        if l[..4] == [0x50, 0x4b, 6, 7] {
            z64 = Some(u64_at(&l, 8));
        }
    }
    let (cd_end, cd_size) = match z64 {
        Some(at) => {
            let mut r = [0u8; 56];
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut r)?;
            if r[..4] != [0x50, 0x4b, 6, 6] {
                return Err(bad("no zip64 end record"));
            }
            (at, u64_at(&r, 40))
        }
        None => (
            eocd,
            u64::from(u32::from_le_bytes([e[12], e[13], e[14], e[15]])),
        ),
    };
    let cd_start = cd_end.checked_sub(cd_size).ok_or_else(|| bad("bad size"))?;
    let mut buf = Vec::new();
    file.seek(SeekFrom::Start(cd_start))?;
    file.read_to_end(&mut buf)?;
    let cd_len = usize::try_from(cd_size).map_err(|_| bad("bad size"))?;
    if buf.len() < cd_len {
        return Err(bad("bad size"));
    }
    let (cd, tail) = buf.split_at(cd_len);
    let mut new_cd = Vec::with_capacity(cd.len());
    let mut at = 0;
    let mut k = 0;
    while at < cd.len() {
        if cd.len() - at < 46 || cd[at..at + 4] != CENTRAL {
            return Err(bad("bad central directory"));
        }
        let (n, m, c) = (
            u16_at(cd, at + 28),
            u16_at(cd, at + 30),
            u16_at(cd, at + 32),
        );
        let end = at + 46 + n + m + c;
        if end > cd.len() {
            return Err(bad("bad central directory"));
        }
        match comments.get(k) {
            Some(extra) if c == 0 && !extra.is_empty() && extra.len() <= 0xFFFF => {
                new_cd.extend_from_slice(&cd[at..at + 32]);
                new_cd.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                new_cd.extend_from_slice(&cd[at + 34..end]);
                new_cd.extend_from_slice(extra);
            }
            _ => new_cd.extend_from_slice(&cd[at..end]),
        }
        at = end;
        k += 1;
    }
    let delta = (new_cd.len() - cd.len()) as u64;
    let mut tail = tail.to_vec();
    let new_size = new_cd.len() as u64;
    let eocd_in_tail = usize::try_from(eocd - cd_end).map_err(|_| bad("bad size"))?;
    if z64.is_some() {
        tail[40..48].copy_from_slice(&new_size.to_le_bytes());
        let loc = eocd_in_tail - 20;
        let off = u64_at(&tail, loc + 8) + delta;
        tail[loc + 8..loc + 16].copy_from_slice(&off.to_le_bytes());
    }
    let old32 = u32::from_le_bytes([
        tail[eocd_in_tail + 12],
        tail[eocd_in_tail + 13],
        tail[eocd_in_tail + 14],
        tail[eocd_in_tail + 15],
    ]);
    if old32 != u32::MAX {
        let v = u32::try_from(new_size).map_err(|_| bad("central directory too large"))?;
        tail[eocd_in_tail + 12..eocd_in_tail + 16].copy_from_slice(&v.to_le_bytes());
    }
    file.seek(SeekFrom::Start(cd_start))?;
    file.write_all(&new_cd)?;
    file.write_all(&tail)?;
    let end = file.stream_position()?;
    file.set_len(end)?;
    Ok(())
}

/// Write `archive` again with `added` put in, and rename it over the old one. When `stop` is
/// set (Ctrl-C) the write ends, its temporary file is removed and the old archive is kept.
pub fn write_archive(
    archive: &Archive,
    added: &[NewCache],
    stop: &AtomicBool,
) -> Result<(), Error> {
    let path = &archive.path;
    let err = |reason: String| Error {
        path: path.clone(),
        reason,
    };
    let io = |e: std::io::Error| err(e.to_string());
    let zerr = |e: zip::result::ZipError| err(e.to_string());
    if let Format::Tar(c) = archive.format {
        return crate::tarwrite::write_tar(archive, c, added, stop);
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
    let mut za =
        zip::ZipArchive::new(BufReader::new(File::open(path).map_err(io)?)).map_err(zerr)?;
    let tmp = temp_beside(path).map_err(io)?;
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
    // Each written entry's comment (raw bytes, in the order written): the old entry's.
    let mut comments: Vec<Vec<u8>> = Vec::new();
    let mut raw = File::open(path).map_err(io)?;
    for i in 0..za.len() {
        if stop.load(Ordering::SeqCst) {
            return Err(err("interrupted".into()));
        }
        let f = za.by_index_raw(i).map_err(zerr)?;
        let name = f.name_raw().to_vec();
        let comment = match raw_entry_comment(&mut raw, f.central_header_start(), &name) {
            Ok(Some(c)) => c,
            _ => f.comment().as_bytes().to_vec(),
        };
        comments.push(comment);
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
                comments.push(Vec::new());
                w.start_file(String::from_utf8_lossy(&n.name), opts)
                    .map_err(zerr)?;
                w.write_all(&n.data).map_err(io)?;
            }
        }
    }
    w.set_raw_comment(za.comment().to_vec().into_boxed_slice());
    let mut out = w.finish().map_err(zerr)?;
    put_entry_comments(&mut out, za.comment().len(), &comments).map_err(io)?;
    replace_with(tmp, out, path, meta.permissions(), stop).map_err(err)
}

/// A temporary file beside `path` (same folder, so the rename that replaces it is atomic),
/// removed when dropped unless [`replace_with`] renamed it.
pub(crate) fn temp_beside(path: &std::path::Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    tempfile::Builder::new()
        .prefix(".pyc-archive-")
        .tempfile_in(dir)
}

/// The last step of every archive write: `out` (the temporary file's contents) synced, then,
/// unless `stop` is set (Ctrl-C), `tmp` given the old archive's permissions and renamed over
/// `path`. On any error or a stop the temporary file is removed and the old archive kept.
pub(crate) fn replace_with(
    tmp: tempfile::NamedTempFile,
    out: File,
    path: &std::path::Path,
    permissions: std::fs::Permissions,
    stop: &AtomicBool,
) -> Result<(), String> {
    let io = |e: &std::io::Error| crate::read::io_text(e);
    out.sync_all().map_err(|e| io(&e))?;
    drop(out);
    if stop.load(Ordering::SeqCst) {
        return Err("interrupted".into());
    }
    std::fs::set_permissions(tmp.path(), permissions).map_err(|e| io(&e))?;
    tmp.persist(path).map_err(|e| io(&e.error))?;
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
