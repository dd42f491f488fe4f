//! `pyc show`: what a pyc file says about itself.

use std::path::PathBuf;
use std::process::ExitCode;

use pyc_format::header::{FLAG_CHECK_SOURCE, FLAG_HASH_BASED};
use pyc_format::{utc_datetime, Header, Invalidation, MagicKind};
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
    #[command(flatten)]
    body: crate::show_code::CodeArgs,
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
    body_size: usize,
}

fn report(file: &std::path::Path, data: &[u8], h: &Header) -> Report {
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
        body_size: data.len() - h.size,
    }
}

fn print_text(r: &Report) {
    println!("{}", r.file);
    let version = r.version.as_deref().unwrap_or("?");
    match (r.magic_status, r.release, r.nearest_magic) {
        ("known", Some(release), _) => {
            println!(
                "  magic        {} (CPython {version}; since {release})",
                r.magic
            )
        }
        (_, _, Some(nearest)) => println!(
            "  magic        {} (unknown to pyc; nearest known is {nearest}, CPython {version})",
            r.magic
        ),
        _ => println!("  magic        {}", r.magic),
    }
    let layout = match r.header_size {
        8 => "magic, mtime",
        12 => "magic, mtime, source size",
        _ => "magic, flags, mtime and source size or source hash (PEP 552)",
    };
    println!("  header       {} bytes: {layout}", r.header_size);
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
        print!("  flags        0x{flags:08x}: {}{bits}", r.invalidation);
        if r.unknown_flags != 0 {
            print!(
                "; unknown bits 0x{:08x} (CPython rejects this pyc)",
                r.unknown_flags
            );
        }
        println!();
    }
    if let (Some(m), Some(utc)) = (r.mtime, &r.mtime_utc) {
        println!("  mtime        {m} = {utc}");
    }
    if let Some(s) = r.source_size {
        println!("  source size  {s}");
    }
    if let Some(h) = &r.source_hash {
        println!("  source hash  {h}");
    }
    println!("  body         {} bytes of marshal data", r.body_size);
}

/// The whole file, if it is a regular file: a directory, FIFO or device is refused up front
/// (reading `/dev/zero` or a FIFO would never end). The file is opened without blocking (a
/// FIFO with no writer would block the open itself) and checked on the open descriptor, so
/// nothing swapped in between a check and the open is read.
pub fn read_regular_file(file: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(file)
        .map_err(crate::output::io_error)?;
    let meta = f.metadata().map_err(crate::output::io_error)?;
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut data = Vec::with_capacity(meta.len().min(1 << 30) as usize);
    f.read_to_end(&mut data).map_err(crate::output::io_error)?;
    Ok(data)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let missing = crate::output::any_missing(args.files.iter().map(PathBuf::as_path));
    let mut failed = false;
    let mut first = true;
    for file in &args.files {
        let result = read_regular_file(file).and_then(|data| {
            Header::parse(&data)
                .map(|h| (report(file, &data, &h), crate::show_code::read_body(&data)))
                .map_err(|e| e.to_string())
        });
        match result {
            Ok((r, body)) => {
                match args.format {
                    Format::Json => {
                        println!("{}", crate::show_code::json(&r, &body, &args.body)?)
                    }
                    Format::Text => {
                        if !first {
                            println!();
                        }
                        first = false;
                        print_text(&r);
                        if let Ok(b) = &body {
                            let mut out = std::io::stdout().lock();
                            let _ = crate::show_code::write_text(&mut out, b, &args.body);
                        }
                    }
                }
                if let Err(msg) = body {
                    failed = true;
                    if crate::output::warnings() {
                        eprintln!("pyc: {}: {msg}", show_path(file));
                    }
                }
            }
            Err(msg) => {
                failed = true;
                if crate::output::warnings() {
                    eprintln!("pyc: {}: {msg}", show_path(file));
                }
            }
        }
    }
    Ok(ExitCode::from(if missing {
        crate::output::EXIT_USAGE
    } else if failed {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}
