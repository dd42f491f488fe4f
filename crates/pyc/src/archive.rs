//! `pyc status ARCHIVE`: the thin dispatch from `status` to `pyc_archive` for zips, wheels,
//! zipapps, eggs and tars. The verdicts are `pyc_archive::judge_archive`'s.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use pyc_archive::read::{Archive, Format as ArchiveFormat, Limits};
use pyc_archive::{default_use, judge_archive, State, Use};
use pyc_cache::classify::Target;

use crate::output::{Format, EXIT_FAILURE, EXIT_OK};

/// Are these paths archives (all of them)? Mixed with trees: an error.
pub fn all_archives(paths: &[&Path]) -> anyhow::Result<bool> {
    let n = paths
        .iter()
        .filter(|p| pyc_archive::is_archive_name(p) && p.is_file())
        .count();
    if n > 0 && n < paths.len() {
        anyhow::bail!("give archives and trees in separate runs");
    }
    Ok(n > 0)
}

fn kind(a: &Archive) -> &'static str {
    match a.format {
        ArchiveFormat::Zip => "zip",
        ArchiveFormat::Tar(_) => "tar",
    }
}

fn paint(on: bool, s: State) -> String {
    let code = match s {
        State::Fresh => "32",
        State::Stale => "33",
        State::Missing => "31",
        State::Unused => "35",
        State::Sourceless => "36",
    };
    if on {
        format!("\x1b[{code}m{}\x1b[0m", s.as_str())
    } else {
        s.as_str().to_string()
    }
}

/// The targets of `--python all`: a version for each magic number among the archive's pycs.
fn versions_in(a: &Archive) -> Vec<Target> {
    let mut versions: Vec<pyc_format::PyVersion> = a
        .entries
        .iter()
        .filter_map(|e| match &e.head {
            Some(Ok(h)) if h.len() >= 4 => {
                pyc_format::classify([h[0], h[1], h[2], h[3]]).and_then(|k| k.version())
            }
            _ => None,
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
        .into_iter()
        .filter_map(|v| Target::for_version(v).ok())
        .collect()
}

/// `pyc status` on archives.
pub fn status(
    paths: &[&Path],
    targets: &[Target],
    how: Option<&str>,
    format: Format,
    check: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let chosen: Option<Use> = how
        .map(|s| s.parse().map_err(anyhow::Error::msg))
        .transpose()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let color = crate::output::use_color(std::io::stdout().is_terminal());
    let mut findings = false;
    let mut json = Vec::new();
    for path in paths {
        let mut a = match Archive::open(path, Limits::default()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("pyc: {e}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        let (how, why) = match chosen {
            Some(u) => (u, "--as"),
            None => default_use(&a),
        };
        // `--python all`: every version whose pycs are in the archive.
        let found;
        let targets = if targets.is_empty() {
            found = versions_in(&a);
            &found[..]
        } else {
            targets
        };
        let fix = format!("pyc compile {}", path.display());
        let records = match judge_archive(&mut a, targets, how, &fix) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pyc: {e}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        findings |= records
            .iter()
            .any(|r| matches!(r.state, State::Stale | State::Missing | State::Unused));
        match format {
            Format::Json => {
                for r in records {
                    let mut v = serde_json::to_value(&r)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("archive".into(), path.display().to_string().into());
                        o.insert("as".into(), how.as_str().into());
                    }
                    json.push(v);
                }
            }
            Format::Text => {
                writeln!(
                    out,
                    "{}: {}, used as {} ({why})",
                    path.display(),
                    kind(&a),
                    how.as_str()
                )?;
                for t in targets {
                    let mut counts = std::collections::BTreeMap::new();
                    for r in records.iter().filter(|r| {
                        r.target.as_deref().is_some_and(|l| {
                            l == t.label || l.starts_with(&format!("{} -O", t.label))
                        })
                    }) {
                        *counts.entry(r.state).or_insert(0usize) += 1;
                    }
                    let parts: Vec<String> = counts
                        .iter()
                        .map(|(s, n)| format!("{n} {}", s.as_str()))
                        .collect();
                    writeln!(
                        out,
                        "  {} [{}]: {}",
                        t.label,
                        t.tag,
                        if parts.is_empty() {
                            "no modules".to_string()
                        } else {
                            parts.join(", ")
                        }
                    )?;
                }
                let unused = records.iter().filter(|r| r.state == State::Unused).count();
                if unused > 0 {
                    writeln!(out, "  cache files read by no target: {unused} unused")?;
                }
                for state in [
                    State::Stale,
                    State::Missing,
                    State::Unused,
                    State::Sourceless,
                    State::Fresh,
                ] {
                    let these: Vec<_> = records.iter().filter(|r| r.state == state).collect();
                    if these.is_empty() || (state == State::Fresh && !verbose) {
                        continue;
                    }
                    writeln!(out, "{} ({}):", paint(color, state), these.len())?;
                    let limit = if verbose { usize::MAX } else { 20 };
                    for r in these.iter().take(limit) {
                        let what = match (&r.source, &r.cache) {
                            (Some(s), Some(c)) => format!("{s} -> {c}"),
                            (Some(s), None) => s.clone(),
                            (None, Some(c)) => c.clone(),
                            (None, None) => String::new(),
                        };
                        let target = r
                            .target
                            .as_deref()
                            .map(|t| format!("  [{t}]"))
                            .unwrap_or_default();
                        let why = match (r.reason, &r.detail) {
                            (Some(re), Some(d)) => format!("  {re}: {d}"),
                            (Some(re), None) => format!("  {re}"),
                            (None, Some(d)) => format!("  {d}"),
                            (None, None) => String::new(),
                        };
                        writeln!(out, "  {what}{target}{why}")?;
                        if let Some(f) = &r.fix {
                            writeln!(out, "    fix: {f}")?;
                        }
                    }
                    if these.len() > limit {
                        writeln!(out, "  ... {} more (-v lists all)", these.len() - limit)?;
                    }
                }
            }
        }
    }
    if format == Format::Json {
        let mut w = crate::output::RecordsWriter::start(&mut out, crate::output::schema::STATUS)?;
        for v in &json {
            w.record(v)?;
        }
        w.finish()?;
    }
    Ok(ExitCode::from(if check && findings {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}

/// What `pyc compile ARCHIVE --format json` says of one archive.
#[derive(serde::Serialize)]
struct ArchiveOut {
    archive: String,
    #[serde(rename = "as")]
    how: &'static str,
    invalidation_mode: &'static str,
    /// Whether the archive was written anew (false: nothing to write, the file is untouched).
    rewritten: bool,
    added: usize,
    replaced: usize,
    up_to_date: usize,
    failed: usize,
    pythons: Vec<PythonOut>,
    files: Vec<FileOut>,
}

#[derive(serde::Serialize)]
struct PythonOut {
    python: String,
    version: String,
    executable: String,
    magic: u16,
    cache_tag: String,
}

#[derive(serde::Serialize)]
struct FileOut {
    source: String,
    cache: String,
    python: String,
    /// `added` (a new entry) or `replaced` (an entry of that name was there).
    action: &'static str,
}

#[derive(serde::Serialize)]
struct FailureOut {
    archive: String,
    source: String,
    python: String,
    message: String,
}

#[derive(serde::Serialize)]
struct CompileOut {
    /// `--dry-run`: what would be written; nothing was.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
    archives: Vec<ArchiveOut>,
    failures: Vec<FailureOut>,
}

/// `pyc compile ARCHIVE`: the cache files the chosen use accepts, compiled by the real
/// interpreters, written into a new archive that replaces the old one. Sources whose cache
/// file the use already accepts are left alone unless `force`; with nothing to write, the
/// archive is not touched.
#[allow(clippy::too_many_arguments)]
pub fn compile(
    paths: &[&Path],
    interps: &[pyc_compile::Interpreter],
    how: Option<&str>,
    mode: Option<pyc_compile::InvalidationMode>,
    force: bool,
    dry_run: bool,
    format: Format,
    timeout: std::time::Duration,
    quiet: u8,
) -> anyhow::Result<ExitCode> {
    use pyc_archive::rewrite::{compile_archive, default_mode, write_archive, Mode};
    use pyc_compile::worker::Outcome;
    let chosen: Option<Use> = how
        .map(|s| s.parse().map_err(anyhow::Error::msg))
        .transpose()?;
    let mut targets = Vec::new();
    for i in interps {
        let Some(mut t) = i.target.clone() else {
            anyhow::bail!("pyc does not model the caches of CPython {}", i.version);
        };
        t.label = i.version.to_string();
        targets.push(t);
    }
    // Ctrl-C (or SIGTERM) stops the compiles and the write; the temporary archive is removed
    // and the old one kept, exit 130.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))?;
    }
    let interrupted = || stop.load(std::sync::atomic::Ordering::SeqCst);
    // `pyc compile`'s worker pool: the same workers, started once per interpreter.
    let pool = pyc_compile::pool::Pool::new(interps, timeout);
    let mut status = EXIT_OK;
    let mut doc = CompileOut {
        dry_run,
        archives: Vec::new(),
        failures: Vec::new(),
    };
    for path in paths {
        let mut a = match Archive::open(path, Limits::default()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("pyc: {e}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        let (how, _) = match chosen {
            Some(u) => (u, "--as"),
            None => default_use(&a),
        };
        let mode = match mode {
            None => default_mode(how),
            Some(pyc_compile::InvalidationMode::Timestamp) => Mode::Timestamp,
            Some(pyc_compile::InvalidationMode::CheckedHash) => Mode::CheckedHash,
            Some(pyc_compile::InvalidationMode::UncheckedHash) => Mode::UncheckedHash,
        };
        let mode_name = match mode {
            Mode::Timestamp => "timestamp",
            Mode::CheckedHash => "checked-hash",
            Mode::UncheckedHash => "unchecked-hash",
        };
        // What the use already accepts (status's own verdicts) is kept, unless --force.
        let mut keep = std::collections::BTreeSet::new();
        if !force {
            let records = match judge_archive(&mut a, &targets, how, "") {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("pyc: {e}");
                    return Ok(ExitCode::from(EXIT_FAILURE));
                }
            };
            for r in records.iter().filter(|r| r.state == State::Fresh) {
                let (Some(src), Some(label)) = (&r.source, &r.target) else {
                    continue;
                };
                if let Some(ti) = targets.iter().position(|t| &t.label == label) {
                    keep.insert((src.as_bytes().to_vec(), ti));
                }
            }
        }
        let mut compile_one = |ti: usize, dfile: &[u8], source: &[u8]| -> Result<Vec<u8>, String> {
            if dry_run {
                // Only what would be written: the plan, headers checked, nothing compiled.
                return Ok(Vec::new());
            }
            match pool.compile(ti, 0, dfile, source, &stop) {
                Ok(Outcome::Code(code)) => Ok(code),
                Ok(Outcome::Error { message, .. }) => Err(message),
                Err(e) => Err(e.to_string()),
            }
        };
        let done = match compile_archive(&mut a, &targets, how, mode, &keep, &mut compile_one) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("pyc: {e}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        if let Some(e) = pool.start_error() {
            anyhow::bail!("{e}");
        }
        if interrupted() {
            return Ok(ExitCode::from(crate::compile::EXIT_INTERRUPTED));
        }
        for (src, target, e) in &done.failed {
            if quiet < 2 && format == Format::Text {
                eprintln!("pyc: {}: {src} [{target}]: {e}", path.display());
            }
            doc.failures.push(FailureOut {
                archive: path.display().to_string(),
                source: src.clone(),
                python: target.clone(),
                message: e.clone(),
            });
            status = EXIT_FAILURE;
        }
        let rewritten = !done.written.is_empty() && !dry_run;
        if rewritten {
            if let Err(e) = write_archive(&a, &done.written, &stop) {
                if interrupted() {
                    return Ok(ExitCode::from(crate::compile::EXIT_INTERRUPTED));
                }
                eprintln!("pyc: {e}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        }
        let existing: std::collections::BTreeSet<&[u8]> =
            a.entries.iter().map(|e| &e.name[..]).collect();
        let files: Vec<FileOut> = done
            .written
            .iter()
            .map(|n| FileOut {
                source: String::from_utf8_lossy(&n.source).into_owned(),
                cache: String::from_utf8_lossy(&n.name).into_owned(),
                python: targets[n.target].label.clone(),
                action: if existing.contains(&n.name[..]) {
                    "replaced"
                } else {
                    "added"
                },
            })
            .collect();
        let replaced = files.iter().filter(|f| f.action == "replaced").count();
        match format {
            Format::Json => doc.archives.push(ArchiveOut {
                archive: path.display().to_string(),
                how: how.as_str(),
                invalidation_mode: mode_name,
                rewritten,
                added: files.len() - replaced,
                replaced,
                up_to_date: done.up_to_date,
                failed: done.failed.len(),
                pythons: interps
                    .iter()
                    .zip(&targets)
                    .map(|(i, t)| PythonOut {
                        python: t.label.clone(),
                        version: i.full_version(),
                        executable: i.exe().display().to_string(),
                        magic: i.magic,
                        cache_tag: t.tag.to_string(),
                    })
                    .collect(),
                files,
            }),
            Format::Text if dry_run => {
                for f in &files {
                    let verb = if f.action == "added" {
                        "add"
                    } else {
                        "replace"
                    };
                    println!(
                        "{}: would {verb} {} [{}]",
                        path.display(),
                        f.cache,
                        f.python
                    );
                }
                if quiet == 0 {
                    eprintln!(
                        "{}: would write {} cache files ({}, {mode_name}; {} up to date)",
                        path.display(),
                        files.len(),
                        how.as_str(),
                        done.up_to_date,
                    );
                }
            }
            Format::Text if quiet == 0 => {
                if rewritten {
                    println!(
                        "{}: {} cache files written ({}, {mode_name}; {} up to date)",
                        path.display(),
                        done.written.len(),
                        how.as_str(),
                        done.up_to_date,
                    );
                } else {
                    println!(
                        "{}: nothing to write, {} up to date ({}; --force writes them again)",
                        path.display(),
                        done.up_to_date,
                        how.as_str(),
                    );
                }
            }
            Format::Text => {}
        }
    }
    if format == Format::Json {
        println!(
            "{}",
            crate::output::json_pretty(crate::output::schema::COMPILE, &doc)?
        );
    }
    Ok(ExitCode::from(status))
}
