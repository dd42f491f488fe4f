//! `pyc normalize`: rewrite pycs that pyc did not write (py_compile, compileall, pip, a
//! distribution's build) into the canonical form `pyc compile` writes, in place.
//!
//! Only `FLAG_REF` noise and reference numbering change (the compiling process's reference
//! counts); the loaded code (every field, which strings are interned, the order frozenset
//! constants iterate in) stays as it was: the new bytes are read back and compared with
//! [`pyc_format::identical`] before they replace the file. A file is replaced only when its
//! bytes change, atomically (a temporary file in the same folder, then a rename), with its
//! permission bits kept. What is not a CPython pyc is skipped; a pyc that cannot be read is
//! reported in one line and left byte for byte as it was.

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use pyc_format::{canonical_pyc, identical, read_pyc, Header, HeaderError};
use rayon::prelude::*;

use pyc_compile::fresh::{InvalidationMode, SourceStat};
use pyc_format::Invalidation;

use crate::output::{bytes_path, io_error, path_bytes, show_path, Format, EXIT_FAILURE, EXIT_OK};

#[derive(clap::Args)]
pub struct Args {
    /// pycs, or trees to look for `.pyc`/`.pyo` files in (symlinks are never followed).
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    /// Change nothing; exit 1 when a pyc is not in canonical form, listing them (for CI).
    #[arg(long)]
    check: bool,
    /// Change nothing; list what would be rewritten.
    #[arg(long)]
    dry_run: bool,
    /// Skip paths matching this glob (matched against the path and the bare name). Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also walk into the folders skipped by default: version-control folders (`.git`,
    /// `.hg`, ...), nested virtual environments (a `pyvenv.cfg`), `.tox`, `.nox`, `.direnv`,
    /// `node_modules`. A PATH given is always walked, whatever it is.
    #[arg(long)]
    no_skip: bool,
    /// Also turn timestamp pycs into hash-based ones (3.7+, PEP 552), with the hash of their
    /// source (found as `source_from_cache` finds it). A pyc whose source is missing, or that
    /// is stale for its source, is reported and left as it is.
    #[arg(long, value_name = "MODE", value_parser = ["checked-hash", "unchecked-hash"])]
    invalidation_mode: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Larger files are refused (CPython's own pycs are a few MB at most).
const MAX_PYC_BYTES: u64 = 1 << 30;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    /// Rewritten in canonical form.
    Normalized,
    /// Not canonical; left as it is (`--check`, `--dry-run`).
    NotCanonical,
    /// Already canonical.
    Unchanged,
    /// Not a CPython pyc (by its magic number): not touched.
    Skipped,
    /// Could not be read, parsed or written: left as it was.
    Error,
}

#[derive(serde::Serialize)]
struct FileReport {
    path: String,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(code) = crate::output::missing_paths(args.paths.iter().map(PathBuf::as_path)) {
        return Ok(code);
    }
    let walk_opts = crate::status::walk_options(&args.exclude, args.no_skip)?;
    let roots: Vec<&Path> = args.paths.iter().map(PathBuf::as_path).collect();
    let found: Mutex<Vec<(PathBuf, Option<String>)>> = Mutex::default();
    let push = |p: PathBuf, problem: Option<String>| {
        found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((p, problem))
    };
    pyc_cache::walk::walk(
        &roots,
        &walk_opts,
        &|dir| {
            for e in dir.entries {
                let path = pyc_cache::walk::join(dir.path, &e.name);
                if dir.only.is_some_and(|only| only != e.name.as_slice())
                    || walk_opts.excluded(&path, &e.name)
                {
                    continue;
                }
                let named = dir.only.is_some();
                let pyc_name = e.name.ends_with(b".pyc") || e.name.ends_with(b".pyo");
                match e.kind {
                    pyc_cache::walk::EntryKind::File if named || pyc_name => {
                        push(bytes_path(&path).to_path_buf(), None)
                    }
                    pyc_cache::walk::EntryKind::Symlink if named || pyc_name => push(
                        bytes_path(&path).to_path_buf(),
                        Some("a symlink: not followed, not changed".into()),
                    ),
                    pyc_cache::walk::EntryKind::Dir | pyc_cache::walk::EntryKind::Symlink => {}
                    other if named => push(
                        bytes_path(&path).to_path_buf(),
                        Some(format!("{}, not a regular file", other.describe())),
                    ),
                    _ => {}
                }
            }
        },
        &|issue| {
            push(
                bytes_path(&issue.path).to_path_buf(),
                Some(issue.message.clone()),
            )
        },
    );
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort();
    let change = !(args.check || args.dry_run);
    let to_hash = match args.invalidation_mode.as_deref() {
        Some("checked-hash") => Some(InvalidationMode::CheckedHash),
        Some(_) => Some(InvalidationMode::UncheckedHash),
        None => None,
    };
    let bar = crate::output::progress(
        "normalizing",
        Some(found.len() as u64),
        args.format == Format::Text,
    );
    let reports: Vec<FileReport> = found
        .into_par_iter()
        .map(|(path, problem)| {
            if let Some(b) = &bar {
                b.inc(1);
            }
            let (outcome, detail) = match problem {
                Some(p) => (Outcome::Error, Some(p)),
                None => match normalize_file(&path, change, to_hash) {
                    Ok(o) => (o, None),
                    Err(Skip(reason)) => (Outcome::Skipped, Some(reason)),
                    Err(Fail(reason)) => (Outcome::Error, Some(reason)),
                },
            };
            FileReport {
                path: show_path(&path),
                outcome,
                detail,
            }
        })
        .collect();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let count = |o: Outcome| reports.iter().filter(|r| r.outcome == o).count();
    let (normalized, not_canonical, unchanged, skipped, errors) = (
        count(Outcome::Normalized),
        count(Outcome::NotCanonical),
        count(Outcome::Unchanged),
        count(Outcome::Skipped),
        count(Outcome::Error),
    );
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "files": reports,
                "summary": {
                    "normalized": normalized,
                    "not_canonical": not_canonical,
                    "unchanged": unchanged,
                    "skipped": skipped,
                    "errors": errors,
                },
            });
            println!(
                "{}",
                crate::output::json_pretty(crate::output::schema::NORMALIZE, &doc)?
            );
        }
        Format::Text => {
            for r in &reports {
                match r.outcome {
                    Outcome::Normalized => println!("normalized {}", r.path),
                    Outcome::NotCanonical => println!("not canonical {}", r.path),
                    _ => {}
                }
            }
            let changed = if change {
                format!("{normalized} normalized")
            } else {
                format!("{not_canonical} not canonical")
            };
            println!(
                "{changed}, {unchanged} already canonical, {skipped} not pycs (skipped), {errors} errors"
            );
        }
    }
    let show = crate::output::warnings();
    for r in reports
        .iter()
        .filter(|r| show && r.outcome == Outcome::Error)
    {
        eprintln!(
            "pyc: {}: {}",
            r.path,
            r.detail.as_deref().unwrap_or("error")
        );
    }
    let failed = errors > 0 || (args.check && not_canonical > 0);
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}

/// Why a file was not normalized.
enum NotDone {
    /// Not a CPython pyc: nothing to do.
    Skip(String),
    /// A pyc (or a file) that could not be read, parsed or written.
    Fail(String),
}
use NotDone::{Fail, Skip};

fn normalize_file(
    path: &Path,
    change: bool,
    to_hash: Option<InvalidationMode>,
) -> Result<Outcome, NotDone> {
    // O_NOFOLLOW: never through a symlink; O_NONBLOCK: a FIFO cannot hang us.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .map_err(|e| Fail(io_error(e)))?;
    let meta = file.metadata().map_err(|e| Fail(io_error(e)))?;
    if !meta.is_file() {
        return Err(Fail("not a regular file".into()));
    }
    if meta.len() > MAX_PYC_BYTES {
        return Err(Fail(format!(
            "{} bytes: larger than the {} bytes pyc reads",
            meta.len(),
            MAX_PYC_BYTES
        )));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_PYC_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| Fail(io_error(e)))?;
    match Header::parse(&data) {
        Ok(_) => {}
        Err(
            e @ (HeaderError::Empty
            | HeaderError::TooShortForMagic { .. }
            | HeaderError::NotPyc { .. }
            | HeaderError::Foreign { .. }),
        ) => return Err(Skip(e.to_string())),
        Err(e) => return Err(Fail(e.to_string())),
    }
    let mut canon = canonical_pyc(&data).map_err(|e| Fail(e.to_string()))?;
    if let Some(mode) = to_hash {
        let header = hash_header(path, &data, mode)?;
        canon.splice(..header.len(), header);
    }
    if canon == data {
        return Ok(Outcome::Unchanged);
    }
    // The loaded code must not change: read both and compare what loading exposes.
    let (before, after) = match (read_pyc(&data), read_pyc(&canon)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(Fail(e.to_string())),
    };
    if (to_hash.is_none() && before.header != after.header) || !identical(&before.body, &after.body)
    {
        return Err(Fail(
            "the canonical form would load differently (a bug in pyc): left unchanged".into(),
        ));
    }
    if !change {
        return Ok(Outcome::NotCanonical);
    }
    pyc_compile::write::replace_atomic(path, &canon, meta.permissions().mode() & 0o7777).map_err(
        |e| match e {
            pyc_compile::write::WriteError::Io { source, .. } => {
                Fail(format!("cannot replace: {}", io_error(source)))
            }
            other => Fail(other.to_string()),
        },
    )?;
    Ok(Outcome::Normalized)
}

/// The hash-based header (`mode`) for the pyc `data` at `path`: its source found as
/// `importlib.util.source_from_cache` finds it, the pyc fresh for that source (the header
/// matches its mtime and size, or its hash), and the hash of the source as that version
/// computes it.
fn hash_header(path: &Path, data: &[u8], mode: InvalidationMode) -> Result<Vec<u8>, NotDone> {
    let header = Header::parse(data).map_err(|e| Fail(e.to_string()))?;
    let magic = header.magic.magic();
    let info = header
        .magic
        .version()
        .and_then(pyc_format::version_info)
        .ok_or_else(|| Fail(format!("magic {magic}: no CPython version known")))?;
    let Some(variant) = info.source_hash.filter(|_| header.size == 16) else {
        return Err(Fail(format!(
            "CPython {} has no hash-based pycs (3.7+): left as it is",
            info.version
        )));
    };
    let source_path = pyc_cache::paths::source_from_cache(info, path_bytes(path), None)
        .map_err(|e| Fail(format!("no source for it ({e}): left as it is")))?;
    let source_path = bytes_path(&source_path);
    let meta = std::fs::metadata(source_path).map_err(|e| {
        Fail(format!(
            "source {}: {}: left as it is",
            show_path(source_path),
            io_error(e)
        ))
    })?;
    if !meta.is_file() {
        return Err(Fail(format!(
            "source {} is not a regular file: left as it is",
            show_path(source_path)
        )));
    }
    let source = std::fs::read(source_path).map_err(|e| {
        Fail(format!(
            "source {}: {}",
            show_path(source_path),
            io_error(e)
        ))
    })?;
    let stat = SourceStat::from_metadata(&meta);
    let hash = pyc_format::source_hash(variant, magic, &source);
    // Fresh for its source, by the one verdict `pyc compile` and `pyc status` use.
    let current = match header.invalidation {
        Invalidation::Timestamp { .. } => InvalidationMode::Timestamp,
        Invalidation::CheckedHash { .. } => InvalidationMode::CheckedHash,
        Invalidation::UncheckedHash { .. } => InvalidationMode::UncheckedHash,
    };
    let target = pyc_compile::fresh::target_for(info, magic)
        .ok_or_else(|| Fail(format!("CPython {}: no freshness rules", info.version)))?;
    let verdict = pyc_compile::fresh::classify(path, &target, current, &stat, false, &mut || {
        Ok(source.clone())
    });
    if verdict != pyc_compile::fresh::Verdict::Fresh {
        return Err(Fail(format!(
            "stale for its source {} (changed since it was compiled): not converted",
            show_path(source_path)
        )));
    }
    Ok(pyc_compile::fresh::header(magic, mode, &stat, hash))
}
