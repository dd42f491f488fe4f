//! Reading zip and tar archives in place, with limits on what they may claim.
//!
//! Nothing is extracted: the zip central directory (or one streaming pass over a tar) gives
//! every entry's name, size and time, and only the first 16 bytes of each cache file are
//! decompressed. Sources are read whole only to hash them for hash-based pycs, and only up to
//! [`Limits::max_source`]. A zip bomb is refused from what its directory claims (sizes,
//! compression ratio, overlapping entries) before anything is decompressed; a compressed tar
//! stream is cut off once it has produced more than its ratio allows.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::dostime::DosTime;

/// How many leading bytes of each cache file are read: the longest pyc header.
pub const HEAD_LEN: usize = 16;

/// What an archive may claim before pyc refuses it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Uncompressed size of one entry.
    pub max_entry_size: u64,
    /// Uncompressed size of all entries together.
    pub max_total_size: u64,
    /// Uncompressed : compressed, for an entry (zip) or the whole stream (tar) ...
    pub max_ratio: u64,
    /// ... once it is bigger than this.
    pub ratio_floor: u64,
    /// A source read whole to hash it.
    pub max_source: u64,
}

impl Limits {
    /// One more entry of `size` uncompressed bytes, added to `total`: refused past the limit
    /// for one entry or for all of them.
    pub(crate) fn admit(&self, name: &[u8], size: u64, total: &mut u64) -> Result<(), String> {
        if size > self.max_entry_size {
            return Err(format!(
                "{}: claims {}, over the limit of {}: refused",
                String::from_utf8_lossy(name),
                human(size),
                human(self.max_entry_size)
            ));
        }
        *total = total.saturating_add(size);
        if *total > self.max_total_size {
            return Err(format!(
                "entries claim over {} in all: refused",
                human(self.max_total_size)
            ));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_entry_size: 4 << 30,
            max_total_size: 64 << 30,
            max_ratio: 1000,
            ratio_floor: 1 << 20,
            max_source: 64 << 20,
        }
    }
}

/// The compression around a tar stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Tar(Compression),
}

/// When an entry was last modified, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// A zip entry: the DOS date and time, and the Unix mtime of the extended-timestamp
    /// extra field (0x5455, "UT") when there is one.
    Zip { dos: DosTime, unix: Option<u32> },
    /// A tar entry: the mtime (pax `mtime` with its fraction when present, else the header's).
    Tar { sec: i64, nsec: u32 },
}

/// One entry of an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as stored (`/`-separated; a leading `./` of tar names removed).
    pub name: Vec<u8>,
    pub is_dir: bool,
    /// Uncompressed size.
    pub size: u64,
    pub stamp: Stamp,
    /// The first [`HEAD_LEN`] bytes of `.pyc`/`.pyo` entries, or why they could not be read.
    pub head: Option<Result<Vec<u8>, String>>,
    /// Unix permission bits, when stored.
    pub mode: Option<u32>,
}

impl Entry {
    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Why an archive cannot be read; shown as `PATH: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct Error {
    pub path: PathBuf,
    pub reason: String,
}

/// An archive read in place.
pub struct Archive {
    pub path: PathBuf,
    pub format: Format,
    /// In the archive's own order.
    pub entries: Vec<Entry>,
    /// Length of the zip's archive comment (0 for tars).
    pub comment_len: usize,
    pub(crate) limits: Limits,
}

fn is_cache_name(name: &[u8]) -> bool {
    name.ends_with(b".pyc") || name.ends_with(b".pyo")
}

/// The format by the first bytes, then the name.
fn sniff(path: &Path, file: &mut File) -> std::io::Result<Format> {
    let mut first = [0u8; 512];
    let mut n = 0;
    while n < first.len() {
        match file.read(&mut first[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let b = &first[..n];
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(if b.starts_with(&[0x1f, 0x8b]) {
        Format::Tar(Compression::Gzip)
    } else if b.starts_with(b"BZh") {
        Format::Tar(Compression::Bzip2)
    } else if b.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        Format::Tar(Compression::Xz)
    } else if b.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Format::Tar(Compression::Zstd)
    } else if (n >= 262 && &b[257..262] == b"ustar") || name.ends_with(".tar") {
        Format::Tar(Compression::None)
    } else {
        Format::Zip
    })
}

/// A reader that counts what it gives and stops past a limit (a decompression bomb).
pub(crate) struct Counted<R> {
    inner: R,
    n: u64,
    limit: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        if self.n > self.limit {
            self.hit.set(true);
            return Err(std::io::Error::other("decompression limit"));
        }
        Ok(k)
    }
}

pub(crate) fn human(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{n} bytes")
    }
}

/// The message for a compressed stream cut off at `limit`.
pub(crate) fn bomb_text(limit: u64, file_len: u64, max_ratio: u64) -> String {
    format!(
        "decompresses to over {} from {} (over {max_ratio}:1): refused as a decompression bomb",
        human(limit),
        human(file_len),
    )
}

/// The decompressed stream of a tar file, cut off once it yields more than the limits allow
/// (`hit` then says so): the one way both reading and rewriting open a tar.
pub(crate) struct TarStream {
    pub reader: Counted<Box<dyn Read>>,
    pub hit: Rc<Cell<bool>>,
    pub limit: u64,
}

impl TarStream {
    pub(crate) fn open(
        c: Compression,
        file: File,
        file_len: u64,
        l: Limits,
    ) -> Result<TarStream, String> {
        let hit = Rc::new(Cell::new(false));
        let inner: Box<dyn Read> = {
            let f = BufReader::new(file);
            match c {
                Compression::None => Box::new(f),
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(f)),
                Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(f)),
                Compression::Xz => Box::new(lzma_rust2::XzReader::new(f, true)),
                Compression::Zstd => Box::new(
                    ruzstd::decoding::StreamingDecoder::new(f)
                        .map_err(|e| format!("not a zstd stream: {e}"))?,
                ),
            }
        };
        let limit = if c == Compression::None {
            u64::MAX
        } else {
            l.max_total_size
                .min(l.ratio_floor.max(file_len.saturating_mul(l.max_ratio)))
        };
        Ok(TarStream {
            reader: Counted {
                inner,
                n: 0,
                limit,
                hit: hit.clone(),
            },
            hit,
            limit,
        })
    }
}

impl Archive {
    /// Read the directory of a zip (or stream through a tar) and the head of every cache file.
    pub fn open(path: &Path, limits: Limits) -> Result<Archive, Error> {
        let err = |reason: String| Error {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = File::open(path).map_err(|e| err(io_text(&e)))?;
        let meta = file.metadata().map_err(|e| err(io_text(&e)))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        let format = sniff(path, &mut file).map_err(|e| err(io_text(&e)))?;
        let mut a = Archive {
            path: path.to_path_buf(),
            format,
            entries: Vec::new(),
            comment_len: 0,
            limits,
        };
        match format {
            Format::Zip => a.read_zip(file, meta.len()).map_err(err)?,
            Format::Tar(c) => {
                a.read_tar(c, file, meta.len(), None).map_err(err)?;
            }
        }
        Ok(a)
    }

    fn read_zip(&mut self, file: File, file_len: u64) -> Result<(), String> {
        let l = self.limits;
        let mut raw = file.try_clone().map_err(|e| io_text(&e))?;
        let mut z = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;
        self.comment_len = z.comment().len();
        if z.len() > l.max_entries {
            return Err(format!(
                "{} entries, over the limit of {}: refused",
                z.len(),
                l.max_entries
            ));
        }
        let mut total: u64 = 0;
        let mut compressed_total: u64 = 0;
        for i in 0..z.len() {
            let (name, is_dir, size, csize, dos, unix, mode, header_start) = {
                let f = z.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
                let unix = f.extra_data_fields().find_map(|x| match x {
                    zip::extra_fields::ExtraField::ExtendedTimestamp(t) => t.mod_time(),
                    _ => None,
                });
                (
                    f.name_raw().to_vec(),
                    f.is_dir(),
                    f.size(),
                    f.compressed_size(),
                    f.last_modified().map(|d| DosTime {
                        date: d.datepart(),
                        time: d.timepart(),
                    }),
                    unix,
                    f.unix_mode(),
                    f.header_start(),
                )
            };
            let shown = String::from_utf8_lossy(&name).into_owned();
            if size > l.max_entry_size {
                return Err(format!(
                    "{shown}: claims {}, over the limit of {}: refused",
                    human(size),
                    human(l.max_entry_size)
                ));
            }
            if size > l.ratio_floor && size / csize.max(1) > l.max_ratio {
                return Err(format!(
                    "{shown}: claims {} from {} compressed (over {}:1): refused as a zip bomb",
                    human(size),
                    human(csize),
                    l.max_ratio
                ));
            }
            total = total.saturating_add(size);
            compressed_total = compressed_total.saturating_add(csize);
            if total > l.max_total_size {
                return Err(format!(
                    "entries claim over {} in all: refused",
                    human(l.max_total_size)
                ));
            }
            if compressed_total > file_len {
                return Err(format!(
                    "entries claim {} of compressed data in a {} file: they overlap, refused as a zip bomb",
                    human(compressed_total),
                    human(file_len)
                ));
            }
            // A DOS date the zip crate rejects (month 0, ...) is still what zipimport reads:
            // take the raw fields from the local header.
            let dos = match dos {
                Some(d) => d,
                None => local_header_dos(&mut raw, header_start)
                    .map_err(|e| format!("{shown}: {}", io_text(&e)))?,
            };
            let head = if is_cache_name(&name) && !is_dir {
                Some(match z.by_index(i) {
                    Ok(f) => read_up_to(f, HEAD_LEN as u64).map_err(|e| io_text(&e)),
                    Err(e) => Err(e.to_string()),
                })
            } else {
                None
            };
            self.entries.push(Entry {
                name,
                is_dir,
                size,
                stamp: Stamp::Zip { dos, unix },
                head,
                mode,
            });
        }
        Ok(())
    }

    /// One pass over a tar stream: every entry (and, with `want`, the whole data of those
    /// entries, returned in the map).
    fn read_tar(
        &mut self,
        c: Compression,
        file: File,
        file_len: u64,
        want: Option<&BTreeSet<Vec<u8>>>,
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
        let l = self.limits;
        let stream = TarStream::open(c, file, file_len, l)?;
        let hit = stream.hit.clone();
        let limit = stream.limit;
        let counted = stream.reader;
        let bomb = |hit: &Rc<Cell<bool>>, e: String| {
            if hit.get() {
                bomb_text(limit, file_len, l.max_ratio)
            } else {
                e
            }
        };
        let mut ar = tar::Archive::new(counted);
        let mut out = BTreeMap::new();
        let mut count = 0usize;
        let mut total = 0u64;
        let entries = ar
            .entries()
            .map_err(|e| bomb(&hit, format!("not a readable tar archive: {e}")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| bomb(&hit, format!("not a readable tar archive: {e}")))?;
            count += 1;
            if count > l.max_entries {
                return Err(format!("over {} entries: refused", l.max_entries));
            }
            let kind = entry.header().entry_type();
            let is_dir = kind.is_dir();
            if !(kind.is_file() || is_dir) {
                continue; // links, devices, ...: nothing an importer reads as a module
            }
            let mut name = entry.path_bytes().into_owned();
            while let Some(rest) = name.strip_prefix(b"./") {
                name = rest.to_vec();
            }
            if name.ends_with(b"/") {
                name.pop();
            }
            let size = entry.size();
            l.admit(&name, size, &mut total)?;
            let mut sec = entry.header().mtime().map(|m| m as i64).unwrap_or(0);
            let mut nsec = 0u32;
            if let Ok(Some(pax)) = entry.pax_extensions() {
                for ext in pax.flatten() {
                    if ext.key_bytes() == b"mtime" {
                        if let Some((s, n)) = parse_pax_time(ext.value_bytes()) {
                            sec = s;
                            nsec = n;
                        }
                    }
                }
            }
            let mode = entry.header().mode().ok();
            if let Some(want) = want {
                if want.contains(&name) && !is_dir {
                    if size > l.max_source {
                        return Err(format!(
                            "{}: {} is over the {} pyc reads to hash a source",
                            String::from_utf8_lossy(&name),
                            human(size),
                            human(l.max_source)
                        ));
                    }
                    let mut data = Vec::new();
                    (&mut entry)
                        .take(size)
                        .read_to_end(&mut data)
                        .map_err(|e| bomb(&hit, io_text(&e)))?;
                    out.insert(name, data);
                }
                continue;
            }
            let head = if is_cache_name(&name) && !is_dir {
                let r = read_up_to(&mut entry, HEAD_LEN as u64);
                if hit.get() {
                    return Err(bomb(&hit, String::new()));
                }
                Some(r.map_err(|e| io_text(&e)))
            } else {
                None
            };
            self.entries.push(Entry {
                name,
                is_dir,
                size,
                stamp: Stamp::Tar { sec, nsec },
                head,
                mode,
            });
        }
        if hit.get() {
            return Err(bomb(&hit, String::new()));
        }
        Ok(out)
    }

    /// The whole data of the named entries (to hash sources), each at most
    /// [`Limits::max_source`] bytes.
    pub fn read_sources(
        &mut self,
        names: &BTreeSet<Vec<u8>>,
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> {
        let path = self.path.clone();
        let err = |reason: String| Error {
            path: path.clone(),
            reason,
        };
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let file = File::open(&self.path).map_err(|e| err(io_text(&e)))?;
        match self.format {
            Format::Tar(c) => {
                let len = file.metadata().map_err(|e| err(io_text(&e)))?.len();
                let saved = std::mem::take(&mut self.entries);
                let r = self.read_tar(c, file, len, Some(names));
                self.entries = saved;
                r.map_err(err)
            }
            Format::Zip => {
                let mut z = zip::ZipArchive::new(BufReader::new(file))
                    .map_err(|e| err(format!("not a readable zip archive: {e}")))?;
                let mut out = BTreeMap::new();
                for name in names {
                    let shown = String::from_utf8_lossy(name).into_owned();
                    let Some(i) = z.index_for_name(&shown) else {
                        continue;
                    };
                    let f = z.by_index(i).map_err(|e| err(format!("{shown}: {e}")))?;
                    let size = f.size();
                    if size > self.limits.max_source {
                        return Err(err(format!(
                            "{shown}: {} is over the {} pyc reads to hash a source",
                            human(size),
                            human(self.limits.max_source)
                        )));
                    }
                    let data = read_up_to(f, size)
                        .map_err(|e| err(format!("{shown}: {}", io_text(&e))))?;
                    out.insert(name.clone(), data);
                }
                Ok(out)
            }
        }
    }
}

fn read_up_to(r: impl Read, n: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n).read_to_end(&mut out)?;
    Ok(out)
}

fn local_header_dos(raw: &mut File, header_start: u64) -> std::io::Result<DosTime> {
    let mut b = [0u8; 14];
    raw.seek(SeekFrom::Start(header_start))?;
    raw.read_exact(&mut b)?;
    Ok(DosTime {
        time: u16::from_le_bytes([b[10], b[11]]),
        date: u16::from_le_bytes([b[12], b[13]]),
    })
}

/// A pax time `SEC[.FRACTION]` as seconds and nanoseconds (toward negative infinity).
fn parse_pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let sec: i64 = int.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    let nsec: u32 = digits.parse().ok()?;
    if int.starts_with('-') && nsec > 0 {
        Some((sec - 1, 1_000_000_000 - nsec))
    } else {
        Some((sec, nsec))
    }
}

pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        assert_eq!(
            parse_pax_time(b"1700000000.5"),
            Some((1_700_000_000, 500_000_000))
        );
        assert_eq!(parse_pax_time(b"12"), Some((12, 0)));
        assert_eq!(parse_pax_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"x"), None);
    }
}
