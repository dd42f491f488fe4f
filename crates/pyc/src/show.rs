//! `pyc show`: what a pyc file says about itself.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use pyc_format::header::{FLAG_CHECK_SOURCE, FLAG_HASH_BASED};
use pyc_format::{utc_datetime, Header, Invalidation, MagicKind};
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{show_path, Format, EXIT_FAILURE, EXIT_OK};

#[derive(clap::Args)]
pub struct Args {
    /// pyc files of any CPython version from 1.5 to 3.15.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format: text, or one JSON object per file and line.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Everything `show` reports about one file; the JSON output is this, serialized.
#[derive(Serialize)]
struct Report {
    file: String,
    magic: u16,
    /// "known", "unknown" (not in CPython's list: a pre-release or newer CPython).
    magic_status: &'static str,
    /// The CPython version (for an unknown magic: of the nearest known magic).
    version: Option<String>,
    /// The release that introduced this magic, in CPython's words ("3.12b1").
    release: Option<&'static str>,
    nearest_magic: Option<u16>,
    header_size: usize,
    /// The PEP 552 flags word (16-byte headers), and its bits in `_classify_pyc`'s words.
    flags: Option<u32>,
    hash_based: Option<bool>,
    check_source: Option<bool>,
    /// Bits other than those two: CPython refuses the pyc (`ImportError: invalid flags`).
    unknown_flags: u32,
    /// "timestamp", "checked-hash" or "unchecked-hash".
    invalidation: &'static str,
    mtime: Option<u32>,
    mtime_utc: Option<String>,
    source_size: Option<u32>,
    source_hash: Option<String>,
    body_size: u64,
}

/// `len`: the size of the whole file.
fn report(file: &std::path::Path, len: u64, h: &Header) -> Report {
    let (magic_status, release, nearest_magic) = match h.magic {
        MagicKind::Known(e) => ("known", Some(e.release), None),
        MagicKind::Unknown { nearest, .. } => ("unknown", None, Some(nearest.magic)),
        MagicKind::Foreign { .. } => ("foreign", None, None),
    };
    let (invalidation, mtime, source_size, source_hash) = match h.invalidation {
        Invalidation::Timestamp { mtime, source_size } => {
            ("timestamp", Some(mtime), source_size, None)
        }
        Invalidation::CheckedHash { hash } => ("checked-hash", None, None, Some(hash)),
        Invalidation::UncheckedHash { hash } => ("unchecked-hash", None, None, Some(hash)),
    };
    Report {
        file: show_path(file),
        magic: h.magic.magic(),
        magic_status,
        version: h.magic.version().map(|v| v.to_string()),
        release,
        nearest_magic,
        header_size: h.size,
        flags: h.flags,
        hash_based: h.flags.map(|f| f & FLAG_HASH_BASED != 0),
        check_source: h.flags.map(|f| f & FLAG_CHECK_SOURCE != 0),
        unknown_flags: h.unknown_flags,
        invalidation,
        mtime,
        mtime_utc: mtime.map(|m| utc_datetime(i64::from(m))),
        source_size,
        source_hash: source_hash.map(|h| pyc_format::hex(&h)),
        body_size: len.saturating_sub(h.size as u64),
    }
}

fn print_text(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "{}", r.file)?;
    let version = r.version.as_deref().unwrap_or("?");
    match (r.magic_status, r.release, r.nearest_magic) {
        ("known", Some(release), _) => writeln!(
            out,
            "  magic        {} (CPython {version}; since {release})",
            r.magic
        )?,
        (_, _, Some(nearest)) => writeln!(
            out,
            "  magic        {} (unknown to pyc; nearest known is {nearest}, CPython {version})",
            r.magic
        )?,
        _ => writeln!(out, "  magic        {}", r.magic)?,
    }
    let layout = match r.header_size {
        8 => "magic, mtime",
        12 => "magic, mtime, source size",
        _ => "magic, flags, mtime and source size or source hash (PEP 552)",
    };
    writeln!(out, "  header       {} bytes: {layout}", r.header_size)?;
    if let Some(flags) = r.flags {
        let mut bits = Vec::new();
        if r.hash_based == Some(true) {
            bits.push("hash_based");
        }
        if r.check_source == Some(true) {
            bits.push(if r.hash_based == Some(true) {
                "check_source"
            } else {
                "check_source, meaningless without hash_based"
            });
        }
        let bits = if bits.is_empty() {
            String::new()
        } else {
            format!(" ({})", bits.join(", "))
        };
        write!(
            out,
            "  flags        0x{flags:08x}: {}{bits}",
            r.invalidation
        )?;
        if r.unknown_flags != 0 {
            write!(
                out,
                "; unknown bits 0x{:08x} (CPython rejects this pyc)",
                r.unknown_flags
            )?;
        }
        writeln!(out)?;
    }
    if let (Some(m), Some(utc)) = (r.mtime, &r.mtime_utc) {
        writeln!(out, "  mtime        {m} = {utc}")?;
    }
    if let Some(s) = r.source_size {
        writeln!(out, "  source size  {s}")?;
    }
    if let Some(h) = &r.source_hash {
        writeln!(out, "  source hash  {h}")?;
    }
    writeln!(out, "  body         {} bytes of marshal data", r.body_size)?;
    Ok(())
}

/// How many bytes of each file `show` reads: the longest header. The body is not needed for
/// the header report (its size comes from the file's metadata); a report that decodes the
/// body must read the whole file (`None`).
const READ_LIMIT: Option<u64> = Some(16);

/// The first `limit` bytes of the file (all of it for `None`) and the file's size, if it is a
/// regular file: a directory, FIFO or device is refused up front (reading `/dev/zero` or a
/// FIFO would never end).
fn read_regular_file(file: &std::path::Path, limit: Option<u64>) -> Result<(Vec<u8>, u64), String> {
    use std::io::Read;
    let meta = std::fs::metadata(file).map_err(crate::output::io_error)?;
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let f = std::fs::File::open(file).map_err(crate::output::io_error)?;
    let limit = limit.unwrap_or(u64::MAX);
    // The capacity is a hint only, capped, so a lying size cannot make us allocate much.
    // (`Take` also avoids the extra fstat and lseek that `File::read_to_end` makes.)
    let mut data = Vec::with_capacity(meta.len().min(limit).min(1 << 24) as usize);
    f.take(limit)
        .read_to_end(&mut data)
        .map_err(crate::output::io_error)?;
    Ok((data, meta.len()))
}

/// Read and parse one file: its report, or why it is not a readable pyc.
fn show_one(file: &std::path::Path) -> Result<Report, String> {
    let (data, len) = read_regular_file(file, READ_LIMIT)?;
    let h = Header::parse(&data).map_err(|e| e.to_string())?;
    Ok(report(file, len, &h))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match run_to(
        &args,
        &mut std::io::BufWriter::new(std::io::stdout().lock()),
    ) {
        Ok(failed) => Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK })),
        // `pyc show ... | head`: the reader has gone, which is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::from(EXIT_OK)),
        Err(e) => Err(e.into()),
    }
}

/// Files are read and parsed in parallel, a chunk at a time, and printed in argument order.
/// Returns whether any file was bad.
fn run_to(args: &Args, out: &mut impl Write) -> std::io::Result<bool> {
    let mut failed = false;
    let mut first = true;
    for chunk in args.files.chunks(1024) {
        let results: Vec<Result<Report, String>> =
            chunk.par_iter().map(|file| show_one(file)).collect();
        for (file, result) in chunk.iter().zip(results) {
            match result {
                Ok(r) => match args.format {
                    Format::Json => {
                        serde_json::to_writer(&mut *out, &r)?;
                        writeln!(out)?;
                    }
                    Format::Text => {
                        if !first {
                            writeln!(out)?;
                        }
                        first = false;
                        print_text(out, &r)?;
                    }
                },
                Err(msg) => {
                    failed = true;
                    // Keep stdout and stderr in order when both go to a terminal.
                    out.flush()?;
                    eprintln!("pyc: {}: {msg}", show_path(file));
                }
            }
        }
    }
    out.flush()?;
    Ok(failed)
}
