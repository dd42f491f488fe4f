//! `pyc compile` into tars: the decompressed stream is copied block by block, every existing
//! member byte for byte (its pax or GNU extension headers, sparse maps, links, the end blocks
//! and whatever follows them), cache members of the same name replaced in place, new ones put
//! right after their source; then compressed again the way it was (gzip keeps its header's
//! name, time and OS byte). The `tar` crate parses headers; the copy itself is ours, because its
//! reader and builder normalise what they read and write (names, `./` prefixes, end blocks).
//!
//! What is not kept: the compressed stream itself (levels are not recorded in gzip, bzip2, xz
//! or zstd streams: gzip -6, bzip2 -9, xz -6 and zstd's fastest level are used; several
//! concatenated streams become one), and the blocking of the old file (the end is two zero
//! blocks and the old file's padding after them, as it was).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::read::{bomb_text, human, io_text, Archive, Compression, Error, TarStream};
use crate::rewrite::NewCache;

const BLOCK: usize = 512;
/// An extension member (pax `x`, GNU `L`/`K`) held in memory until its entry is seen.
const MAX_EXTENSION: u64 = 1 << 20;

fn padded(n: u64) -> u64 {
    n.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// A name as the reader reports it: leading `./` and a trailing `/` removed.
fn normalize(name: &[u8]) -> &[u8] {
    let mut n = name;
    while let Some(rest) = n.strip_prefix(b"./") {
        n = rest;
    }
    n.strip_suffix(b"/").unwrap_or(n)
}

/// Fill `buf` from `r`; fewer bytes only at the end of the stream.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The compressed (or plain) output.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Bzip2(bzip2::write::BzEncoder<BufWriter<File>>),
    Xz(lzma_rust2::XzWriter<BufWriter<File>>),
    /// ruzstd compresses from a reader: the plain tar goes to an unnamed temporary file first.
    Zstd {
        plain: BufWriter<File>,
        out: File,
    },
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) | Sink::Zstd { plain: w, .. } => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
            Sink::Bzip2(w) => w.write(buf),
            Sink::Xz(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) | Sink::Zstd { plain: w, .. } => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Bzip2(w) => w.flush(),
            Sink::Xz(w) => w.flush(),
        }
    }
}

/// A reader for ruzstd, whose encoder unwraps I/O results: errors are kept here and the
/// stream ends early instead (and on Ctrl-C).
struct KeepReadError<'a, R> {
    inner: R,
    error: Option<std::io::Error>,
    stop: &'a AtomicBool,
}

impl<R: Read> Read for KeepReadError<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Ok(0);
        }
        if self.stop.load(Ordering::SeqCst) {
            self.error = Some(std::io::Error::other("interrupted"));
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.error = Some(e);
                Ok(0)
            }
        }
    }
}

/// A writer for ruzstd: errors are kept here, the rest of the data is dropped.
struct KeepWriteError<W> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Write for KeepWriteError<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_all(buf) {
                self.error = Some(e);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

/// The gzip header's time, OS byte and file name, to write them again.
fn gzip_header(file: &mut File) -> std::io::Result<(u32, u8, Option<Vec<u8>>)> {
    let mut head = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.take(64 * 1024).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    if head.len() < 10 {
        return Ok((0, 255, None));
    }
    let flags = head[3];
    let mtime = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let os = head[9];
    let mut at = 10;
    if flags & 4 != 0 && head.len() >= at + 2 {
        at += 2 + usize::from(u16::from_le_bytes([head[at], head[at + 1]]));
    }
    let name = if flags & 8 != 0 && at < head.len() {
        head[at..]
            .iter()
            .position(|&b| b == 0)
            .map(|end| head[at..at + end].to_vec())
    } else {
        None
    };
    Ok((mtime, os, name))
}

impl Sink {
    fn new(
        c: Compression,
        out: File,
        gz: (u32, u8, Option<Vec<u8>>),
        dir: &std::path::Path,
    ) -> std::io::Result<Sink> {
        let w = BufWriter::with_capacity(1 << 16, out);
        Ok(match c {
            Compression::None => Sink::Plain(w),
            Compression::Gzip => {
                let mut b = flate2::GzBuilder::new().mtime(gz.0).operating_system(gz.1);
                if let Some(name) = gz.2 {
                    b = b.filename(name);
                }
                Sink::Gzip(b.write(w, flate2::Compression::default()))
            }
            Compression::Bzip2 => {
                Sink::Bzip2(bzip2::write::BzEncoder::new(w, bzip2::Compression::best()))
            }
            Compression::Xz => Sink::Xz(lzma_rust2::XzWriter::new(
                w,
                lzma_rust2::XzOptions::with_preset(6),
            )?),
            Compression::Zstd => {
                let plain = BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?);
                Sink::Zstd {
                    plain,
                    out: w.into_inner().map_err(|e| e.into_error())?,
                }
            }
        })
    }

    /// Finish the stream; the output file, flushed.
    fn finish(self, stop: &AtomicBool) -> std::io::Result<File> {
        let w = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Bzip2(w) => w.finish()?,
            Sink::Xz(w) => w.finish()?,
            Sink::Zstd { plain, out } => {
                let mut plain = plain.into_inner().map_err(|e| e.into_error())?;
                plain.seek(SeekFrom::Start(0))?;
                let mut r = KeepReadError {
                    inner: std::io::BufReader::new(plain),
                    error: None,
                    stop,
                };
                let mut w = KeepWriteError {
                    inner: BufWriter::with_capacity(1 << 16, out),
                    error: None,
                };
                ruzstd::encoding::compress(
                    &mut r,
                    &mut w,
                    ruzstd::encoding::CompressionLevel::Fastest,
                );
                if let Some(e) = r.error.or(w.error) {
                    return Err(e);
                }
                w.inner
            }
        };
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// Put `name` into `h` (name field, or ustar prefix and name); false if it does not fit.
fn set_name(h: &mut tar::Header, name: &[u8]) -> bool {
    let fits_ustar = h.as_ustar().is_some();
    if name.len() <= 100 {
        let old = h.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name);
        if let Some(u) = h.as_ustar_mut() {
            u.prefix = [0; 155];
        }
        return true;
    }
    if !fits_ustar {
        return false;
    }
    // ustar: PREFIX/NAME, split at a slash, PREFIX at most 155 bytes and NAME at most 100.
    let Some(cut) = (1..name.len())
        .rev()
        .find(|&i| name[i] == b'/' && i <= 155 && name.len() - i - 1 <= 100)
    else {
        return false;
    };
    let (prefix, rest) = (&name[..cut], &name[cut + 1..]);
    if let Some(u) = h.as_ustar_mut() {
        u.prefix = [0; 155];
        u.prefix[..prefix.len()].copy_from_slice(prefix);
        u.name = [0; 100];
        u.name[..rest.len()].copy_from_slice(rest);
    }
    true
}

/// One whole member (extension header if the name needs one, header, data, padding) built on
/// `base`'s fields (format, owner, group, time).
fn member(
    base: &tar::Header,
    name: &[u8],
    kind: tar::EntryType,
    mode: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut h = base.clone();
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.as_old_mut().linkname = [0; 100];
    if let Some(g) = h.as_gnu_mut() {
        // No sparse map, no stale real size from the base.
        g.set_is_extended(false);
        g.realsize = [0; 12];
        g.offset = [0; 12];
        for s in g.sparse.iter_mut() {
            s.offset = [0; 12];
            s.numbytes = [0; 12];
        }
    }
    let mut out = Vec::new();
    if !set_name(&mut h, name) {
        // Too long for the header: a pax `path` record in a ustar/pax archive, GNU's
        // `././@LongLink` otherwise (what GNU tar writes).
        let (mut x, body) = if h.as_ustar().is_some() {
            let rec = |len: usize| format!("{len} path=").len() + name.len() + 1;
            let mut len = rec(0);
            while rec(len) != len {
                len = rec(len);
            }
            let mut body = format!("{len} path=").into_bytes();
            body.extend_from_slice(name);
            body.push(b'\n');
            let mut x = tar::Header::new_ustar();
            set_name(&mut x, b"././@PaxHeader");
            x.set_entry_type(tar::EntryType::XHeader);
            (x, body)
        } else {
            let mut body = name.to_vec();
            body.push(0);
            let mut x = tar::Header::new_gnu();
            set_name(&mut x, b"././@LongLink");
            x.set_entry_type(tar::EntryType::GNULongName);
            (x, body)
        };
        x.set_size(body.len() as u64);
        x.set_mode(0o644);
        x.set_mtime(0);
        x.set_cksum();
        out.extend_from_slice(x.as_bytes());
        out.extend_from_slice(&body);
        out.resize(
            out.len() + (padded(body.len() as u64) as usize - body.len()),
            0,
        );
        let old = h.as_old_mut();
        old.name = [0; 100];
        old.name.copy_from_slice(&name[..100]);
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(
        out.len() + (padded(data.len() as u64) as usize - data.len()),
        0,
    );
    out
}

/// Copy `n` bytes from `r` to `w`; an error if the stream ends first.
fn copy_exact(
    r: &mut impl Read,
    w: &mut impl Write,
    n: u64,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = n;
    while left > 0 {
        if stop.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        let want = left.min(buf.len() as u64) as usize;
        let k = read_full(r, &mut buf[..want]).map_err(|e| io_text(&e))?;
        if k < want {
            return Err("truncated tar archive".into());
        }
        w.write_all(&buf[..k]).map_err(|e| io_text(&e))?;
        left -= k as u64;
    }
    Ok(())
}

/// The member-by-member copy with `added` put in.
fn copy_members(
    input: &mut impl Read,
    out: &mut Sink,
    archive: &Archive,
    added: &[NewCache],
    stop: &AtomicBool,
) -> Result<(), String> {
    let l = archive.limits;
    let existing: BTreeSet<&[u8]> = archive
        .entries
        .iter()
        .filter(|e| !e.is_dir)
        .map(|e| &e.name[..])
        .collect();
    let replace: BTreeMap<&[u8], &NewCache> = added
        .iter()
        .filter(|n| existing.contains(&n.name[..]))
        .map(|n| (&n.name[..], n))
        .collect();
    let mut after: BTreeMap<&[u8], Vec<&NewCache>> = BTreeMap::new();
    for n in added.iter().filter(|n| !existing.contains(&n.name[..])) {
        after.entry(&n.source[..]).or_default().push(n);
    }
    // New members follow the last copy of their source (the one an extractor leaves).
    let mut left: BTreeMap<&[u8], usize> = BTreeMap::new();
    for e in archive.entries.iter().filter(|e| !e.is_dir) {
        if after.contains_key(&e.name[..]) {
            *left.entry(&e.name[..]).or_default() += 1;
        }
    }
    let mut dirs: BTreeSet<Vec<u8>> = archive
        .entries
        .iter()
        .filter(|e| e.is_dir)
        .map(|e| e.name.clone())
        .collect();
    let w = |out: &mut Sink, b: &[u8]| out.write_all(b).map_err(|e| io_text(&e));
    let mut pending: Vec<u8> = Vec::new();
    let mut long: Option<Vec<u8>> = None;
    let (mut count, mut total) = (0usize, 0u64);
    let mut block = [0u8; BLOCK];
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        let n = read_full(input, &mut block).map_err(|e| io_text(&e))?;
        if n == 0 {
            // No end blocks: write them.
            if !pending.is_empty() {
                return Err("truncated tar archive: an extension header without its entry".into());
            }
            return w(out, &[0u8; 2 * BLOCK]);
        }
        if n < BLOCK {
            return Err("truncated tar archive".into());
        }
        if block.iter().all(|&b| b == 0) {
            if !pending.is_empty() {
                return Err("an extension header without its entry".into());
            }
            // The end: the zero blocks and whatever follows them, as they are.
            w(out, &block)?;
            std::io::copy(input, out).map_err(|e| io_text(&e))?;
            return Ok(());
        }
        let h = tar::Header::from_byte_slice(&block).clone();
        let sum: u32 = block
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        if h.cksum().ok() != Some(sum) {
            return Err("not a readable tar archive: a header's checksum is wrong".into());
        }
        let size = h
            .entry_size()
            .map_err(|e| format!("not a readable tar archive: {e}"))?;
        let kind = h.entry_type();
        let mut raw = block.to_vec();
        if kind.is_gnu_sparse() && h.as_gnu().is_some_and(|g| g.is_extended()) {
            // GNU sparse map blocks follow the header.
            loop {
                if read_full(input, &mut block).map_err(|e| io_text(&e))? < BLOCK {
                    return Err("truncated tar archive".into());
                }
                raw.extend_from_slice(&block);
                if block[504] != 1 {
                    break;
                }
                if raw.len() > MAX_EXTENSION as usize {
                    return Err("a sparse map over 1 MiB: refused".into());
                }
            }
        }
        if kind.is_pax_local_extensions() || kind.is_gnu_longname() || kind.is_gnu_longlink() {
            if size > MAX_EXTENSION {
                return Err(format!("an extension header of {}: refused", human(size)));
            }
            let mut data = vec![0u8; padded(size) as usize];
            if read_full(input, &mut data).map_err(|e| io_text(&e))? < data.len() {
                return Err("truncated tar archive".into());
            }
            let body = &data[..size as usize];
            if kind.is_gnu_longname() {
                let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                long = Some(body[..end].to_vec());
            } else if kind.is_pax_local_extensions() {
                for ext in tar::PaxExtensions::new(body).flatten() {
                    if ext.key_bytes() == b"path" {
                        long = Some(ext.value_bytes().to_vec());
                    }
                }
            }
            pending.extend_from_slice(&raw);
            pending.extend_from_slice(&data);
            continue;
        }
        count += 1;
        if count > l.max_entries {
            return Err(format!("over {} entries: refused", l.max_entries));
        }
        let raw_name = long.take().unwrap_or_else(|| h.path_bytes().into_owned());
        l.admit(&raw_name, size, &mut total)?;
        let name = normalize(&raw_name).to_vec();
        let is_file = kind.is_file();
        if kind.is_dir() {
            dirs.insert(name.clone());
        }
        match replace.get(&name[..]) {
            Some(new) if is_file => {
                // Replaced in place: the old member (with its extension headers) is dropped,
                // the new one keeps its name, owner, mode and time.
                pending.clear();
                copy_exact(input, &mut std::io::sink(), padded(size), stop)?;
                let mode = h.mode().unwrap_or(0o644);
                w(
                    out,
                    &member(&h, &raw_name, tar::EntryType::Regular, mode, &new.data),
                )?;
            }
            _ => {
                w(out, &pending)?;
                pending.clear();
                w(out, &raw)?;
                copy_exact(input, out, padded(size), stop)?;
            }
        }
        if !is_file {
            continue;
        }
        let Some(k) = left.get_mut(&name[..]) else {
            continue;
        };
        *k -= 1;
        if *k > 0 {
            continue;
        }
        // After the source's last copy: its new cache members, named in the source's style
        // (a leading `./` kept), with its owner and time; the mode importlib gives a cache
        // file (the source's, writable by the owner, no execute bits).
        let prefix = &raw_name[..raw_name.len().saturating_sub(name.len())];
        let src_mode = h.mode().unwrap_or(0o644);
        let src_dir = name.rsplit_once_slash();
        for n in after.get(&name[..]).into_iter().flatten() {
            if let Some((folder, _)) = n.name.rsplit_once_slash() {
                // A folder entry for a new `__pycache__` when the archive lists the source's.
                let has_parent = src_dir.is_some_and(|(d, _)| dirs.contains(d));
                if has_parent && !dirs.contains(folder) {
                    let mut dname = prefix.to_vec();
                    dname.extend_from_slice(folder);
                    dname.push(b'/');
                    w(
                        out,
                        &member(&h, &dname, tar::EntryType::Directory, 0o755, &[]),
                    )?;
                    dirs.insert(folder.to_vec());
                }
            }
            let mut cname = prefix.to_vec();
            cname.extend_from_slice(&n.name);
            let mode = (src_mode | 0o200) & 0o666;
            w(
                out,
                &member(&h, &cname, tar::EntryType::Regular, mode, &n.data),
            )?;
        }
    }
}

trait SplitSlash {
    fn rsplit_once_slash(&self) -> Option<(&[u8], &[u8])>;
}

impl SplitSlash for [u8] {
    fn rsplit_once_slash(&self) -> Option<(&[u8], &[u8])> {
        let i = self.iter().rposition(|&b| b == b'/')?;
        Some((&self[..i], &self[i + 1..]))
    }
}

/// Write the tar `archive` again with `added` put in, compressed as it was, and rename it over
/// the old one. Nothing is left behind on an error or when `stop` is set (Ctrl-C).
pub(crate) fn write_tar(
    archive: &Archive,
    c: Compression,
    added: &[NewCache],
    stop: &AtomicBool,
) -> Result<(), Error> {
    let path = &archive.path;
    let err = |reason: String| Error {
        path: path.clone(),
        reason,
    };
    let mut file = File::open(path).map_err(|e| err(io_text(&e)))?;
    let meta = file.metadata().map_err(|e| err(io_text(&e)))?;
    let gz = if c == Compression::Gzip {
        gzip_header(&mut file).map_err(|e| err(io_text(&e)))?
    } else {
        (0, 255, None)
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = crate::rewrite::temp_beside(path).map_err(|e| err(io_text(&e)))?;
    let out = tmp.reopen().map_err(|e| err(io_text(&e)))?;
    let l = archive.limits;
    let stream = TarStream::open(c, file, meta.len(), l).map_err(err)?;
    let (hit, limit) = (stream.hit.clone(), stream.limit);
    let mut input = stream.reader;
    let done = (|| -> Result<File, String> {
        let mut sink = Sink::new(c, out, gz, dir).map_err(|e| io_text(&e))?;
        copy_members(&mut input, &mut sink, archive, added, stop)?;
        sink.finish(stop).map_err(|e| io_text(&e))
    })();
    let out = done.map_err(|e| {
        if hit.get() {
            err(bomb_text(limit, meta.len(), l.max_ratio))
        } else {
            err(e)
        }
    })?;
    crate::rewrite::replace_with(tmp, out, path, meta.permissions(), stop).map_err(err)
}
