//! `pyc importtime`: what the bytecode cache buys at import, measured cold and warm with the
//! cache isolated in a temporary `PYTHONPYCACHEPREFIX` (the work is in `pyc-importtime`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pyc_importtime::render::{self, SortKey, TreeOptions};
use pyc_importtime::run::{Options, Program, RunError};
use pyc_importtime::{report, run};

use crate::output::{Format, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Sort {
    /// Own time of each module (cold).
    #[value(name = "self")]
    SelfTime,
    /// Time including nested imports (cold).
    Cumulative,
    /// Cold minus warm cumulative time.
    Saved,
}

/// Run a Python program under `-X importtime` several times with an empty bytecode cache (cold:
/// every module compiled) and with a filled one (warm), both in a temporary cache prefix so
/// your own `__pycache__` folders are neither used nor changed; report per module and in
/// total what the cache saves.
///
/// Examples:
///   pyc importtime -c 'import json'
///   pyc importtime --python 3.12 --python 3.13 -n 9 -- -m http.server --help
///   pyc importtime --svg importtime.svg -- script.py arg
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Interpreter: a version X.Y (pythonX.Y on PATH, then pyenv's), a path or a name on PATH.
    /// Repeat to compare interpreters. Default: python3 on PATH.
    #[arg(long = "python", value_name = "X.Y|PATH")]
    python: Vec<String>,
    /// Program passed in as a string (like python -c).
    #[arg(short = 'c', value_name = "CODE", conflicts_with = "module")]
    code: Option<String>,
    /// Library module to run as a script (like python -m); arguments go after `--`.
    #[arg(short = 'm', value_name = "MODULE")]
    module: Option<String>,
    /// Measured runs in each state (cold and warm).
    #[arg(short = 'n', long = "runs", value_name = "RUNS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Kill a run that takes longer than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = crate::parse_seconds)]
    timeout: Duration,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write an icicle chart (cold and warm side by side) as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Also write the chart, with a table, as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Show every import (default: only those taking 1% of the cold import time or more).
    #[arg(long)]
    all: bool,
    /// Show the tree down to this depth (0: top-level imports only).
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Sort siblings by.
    #[arg(long, value_enum, default_value_t = Sort::Cumulative)]
    sort: Sort,
    /// 3.14+: run with `-X importtime=2`, which also lists imports of already-imported modules
    /// (shown in JSON as `already_imported`).
    #[arg(long)]
    cached_rows: bool,
    /// Cold runs keep the standard library's pycs, so only the rest (site-packages, your
    /// project) is compiled: like an image whose packages were installed without pycs.
    #[arg(long)]
    warm_stdlib: bool,
    /// After `--`: `-c CODE`, `-m MODULE [ARGS]`, or `SCRIPT [ARGS]`.
    #[arg(last = true, value_name = "PROGRAM")]
    rest: Vec<String>,
}

fn program(a: &Args) -> Result<Program, String> {
    let rest = a.rest.clone();
    if let Some(c) = &a.code {
        if !rest.is_empty() {
            return Err("-c takes no arguments after `--`".into());
        }
        return Ok(Program::Code(c.clone()));
    }
    if let Some(m) = &a.module {
        return Ok(Program::Module(m.clone(), rest));
    }
    let mut it = rest.into_iter();
    match it.next().as_deref() {
        None => Err("nothing to run: give -c CODE, -m MODULE, or `-- SCRIPT [ARGS]`".into()),
        Some("-c") => {
            let code = it.next().ok_or("-c needs the code")?;
            if it.next().is_some() {
                return Err("-c CODE takes no further arguments".into());
            }
            Ok(Program::Code(code))
        }
        Some("-m") => {
            let m = it.next().ok_or("-m needs a module name")?;
            Ok(Program::Module(m, it.collect()))
        }
        Some(s) if s.starts_with('-') => Err(format!(
            "unsupported interpreter option {s:?} after `--` (give -c, -m or a script)"
        )),
        Some(s) => Ok(Program::Script(PathBuf::from(s), it.collect())),
    }
}

/// Write `data` to `path` through a temporary file in the same folder, so a failure never
/// leaves half a file.
fn write_atomic(path: &Path, data: &str) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    tmp.write_all(data.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    // A temporary file is created 0600; the chart is an ordinary document.
    use std::os::unix::fs::PermissionsExt;
    let _ = tmp
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644));
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", path.display(), e.error))?;
    Ok(())
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let program = match program(&a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pyc: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let mut opts = Options::default();
    opts.runs = a.runs as usize;
    opts.timeout = a.timeout;
    opts.cached_rows = a.cached_rows;
    opts.warm_stdlib = a.warm_stdlib;
    // Ctrl-C / SIGTERM: the run in progress is killed and the temporary prefixes removed
    // before exiting (130); a second signal exits at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupted))?;
        signal_hook::flag::register(sig, Arc::clone(&interrupted))?;
    }
    let specs: Vec<Option<&str>> = if a.python.is_empty() {
        vec![None]
    } else {
        a.python.iter().map(|s| Some(s.as_str())).collect()
    };
    let mut reports = Vec::new();
    let bar = crate::output::progress(
        "import runs",
        Some((run::run_count(&opts) * specs.len()) as u64),
        a.format == Format::Text,
    );
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1)
        }
    };
    for spec in specs {
        let py = match crate::target::interpreter(spec, std::path::Path::new(".")) {
            Ok(py) => py,
            Err(e) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                eprintln!("pyc: {e:#}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        let result = run::measure_with_progress(&py, &program, &opts, &interrupted, &tick);
        match result {
            Ok(m) => reports.push(report::report(&m)),
            Err(e) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                eprintln!("pyc: {e}");
                let code = match e {
                    RunError::Interrupted => 130,
                    RunError::Failed { .. }
                    | RunError::Timeout { .. }
                    | RunError::NoRows { .. } => EXIT_FAILURE,
                    _ => EXIT_USAGE,
                };
                return Ok(ExitCode::from(code));
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let tree = TreeOptions {
        sort: match a.sort {
            Sort::SelfTime => SortKey::SelfTime,
            Sort::Cumulative => SortKey::Cumulative,
            Sort::Saved => SortKey::Saved,
        },
        all: a.all,
        depth: a.depth,
        ..TreeOptions::default()
    };
    if let Some(p) = &a.svg {
        write_atomic(p, &render::svg(&reports))?;
    }
    if let Some(p) = &a.html {
        write_atomic(p, &render::html(&reports))?;
    }
    match a.format {
        Format::Json => {
            let v = serde_json::json!({ "reports": reports });
            println!(
                "{}",
                crate::output::json_pretty(crate::output::schema::IMPORTTIME, &v)?
            );
        }
        Format::Text => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", render::text(r, &tree));
            }
        }
    }
    let rewritten = reports.iter().any(|r| !r.warm_rewritten.is_empty());
    Ok(ExitCode::from(if rewritten {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}
