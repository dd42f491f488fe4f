//! `pyc compile`: precompile trees with real interpreters, with compileall's option names.

use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use pyc_compile::{plan, Event, Interpreter, InvalidationMode, Options, Report};
use serde::Serialize;

use crate::output::{path_bytes, Format, EXIT_FAILURE, EXIT_OK};

/// Exit status after Ctrl-C (128 + SIGINT), as shells report it.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    Timestamp,
    CheckedHash,
    UncheckedHash,
}

#[derive(clap::Args)]
pub struct Args {
    /// Files and directories to compile (directories are walked as compileall walks them).
    /// Without any: the current directory, as `status` and `clean` (see --sys-path).
    #[arg(value_name = "FILE|DIR")]
    dests: Vec<PathBuf>,
    /// Without FILE|DIR: compile the folders on the interpreter's `sys.path`, not descended,
    /// the current directory skipped (compileall's default).
    #[arg(long, conflicts_with = "dests")]
    sys_path: bool,
    /// `--python`, `-O` (compileall's `-o`), `--prefix` (`-O 0,1,2` or `-O 1 -O 2`).
    #[command(flatten)]
    target: crate::target::TargetArgs,
    /// How the pycs record their source. Default: checked-hash when SOURCE_DATE_EPOCH is set,
    /// else timestamp (as py_compile); versions before 3.7 always write timestamps.
    #[arg(long, value_enum, value_name = "MODE")]
    invalidation_mode: Option<ModeArg>,
    /// Compile even what is up to date.
    #[arg(short = 'f', long)]
    force: bool,
    /// List the pycs that would be written; write nothing and start no worker.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Also read every up-to-date pyc whole: one whose header is fresh but whose body does not
    /// load (truncated, corrupt: the interpreter accepts it by its header, then every import
    /// fails) is compiled again.
    #[arg(long)]
    verify: bool,
    /// Directory to put in the code objects instead of the source's (tracebacks show it).
    #[arg(short = 'd', long = "ddir", value_name = "DESTDIR")]
    ddir: Option<PathBuf>,
    /// Leading part of the source paths to remove in the code objects (e.g. a buildroot).
    #[arg(short = 's', long = "strip-prefix", value_name = "STRIPDIR")]
    stripdir: Option<PathBuf>,
    /// Path to put before the source paths in the code objects (after `-s`).
    #[arg(short = 'p', long = "prepend-prefix", value_name = "PREPENDDIR")]
    prependdir: Option<PathBuf>,
    /// Skip files whose full path matches this regular expression, searched as compileall's
    /// `re.search` does (Python-like syntax with look-around and back-references,
    /// fancy-regex).
    #[arg(short = 'x', long = "exclude", value_name = "REGEX")]
    exclude: Option<std::ffi::OsString>,
    /// Descend at most this many directory levels (default: unlimited).
    #[arg(short = 'r', long = "max-depth", value_name = "N")]
    max_depth: Option<usize>,
    /// Do not descend into directories (`-r 0`; `-r` wins).
    #[arg(short = 'l')]
    no_recurse: bool,
    /// Also walk into the folders skipped by default: version-control folders (`.git`,
    /// `.hg`, ...), nested virtual environments (a `pyvenv.cfg`), `.tox`, `.nox`, `.direnv`,
    /// `node_modules`. A PATH given is always walked, whatever it is.
    #[arg(long)]
    no_skip: bool,
    /// Write legacy `NAME.pyc` files beside the sources instead of `__pycache__`.
    #[arg(short = 'b', long = "legacy")]
    legacy: bool,
    /// Make a level's pyc a hard link to the previous level's when the bytes are equal
    /// (needs two levels or more).
    #[arg(long)]
    hardlink_dupes: bool,
    /// Skip symlinks that point outside DIR.
    #[arg(short = 'e', value_name = "DIR")]
    limit_symlinks: Option<PathBuf>,
    /// Read more files and directories from FILE, one per line (`-` for stdin).
    #[arg(short = 'i', value_name = "FILE")]
    input: Option<String>,
    /// Worker processes per interpreter (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Keep compiled code (and compile errors) by content in DIR and reuse it: a source an
    /// interpreter compiled once (same bytes, level and interpreter build) is not compiled
    /// again, at any path (a new checkout, venv or CI runner sharing DIR). Also a remote store
    /// (`redis://host:port/db`, `s3://bucket/prefix`, `webdav+http://host/path`); repeat for
    /// tiers (the folder first, a remote hit fills it).
    /// Off by default.
    #[arg(long, value_name = "DIR|URL", env = "PYC_CODE_CACHE")]
    code_cache: Vec<String>,
    /// Seconds a remote code cache may take per call; one that is down or slower costs one
    /// warning and this much, then the run goes on without it.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = crate::parse_seconds)]
    code_cache_timeout: Duration,
    /// `read-only`: use the code cache's entries, store none (untrusted builds).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        default_value_t,
        env = "PYC_CODE_CACHE_MODE"
    )]
    code_cache_mode: CodeCacheMode,
    /// After a run that stored entries, remove the least recently used until the code cache
    /// holds at most SIZE (bytes, or K, M, G, T: `500M`). Default: no limit.
    #[arg(long, value_name = "SIZE", value_parser = crate::cache::parse_size, env = "PYC_CODE_CACHE_SIZE")]
    code_cache_size: Option<u64>,
    /// Seconds a worker may take for one file (and to start) before it is killed and replaced.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = crate::parse_seconds)]
    timeout: Duration,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// For archives (.zip .whl .pyz .egg): how they will be used, as in `pyc status --as`;
    /// default by kind (a wheel is unpacked, a zipapp or egg imported by zipimport).
    #[arg(long = "as", value_name = "USE", value_parser = ["zipimport", "extract=tar", "extract=unzip", "extract=zipfile"])]
    as_use: Option<String>,
}

/// `--code-cache-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum CodeCacheMode {
    #[default]
    ReadWrite,
    ReadOnly,
}

#[derive(Serialize)]
struct PythonOut {
    python: String,
    /// Why this interpreter ("from ./.venv", "from --python 3.12").
    chosen: String,
    version: String,
    executable: PathBuf,
    magic: u16,
    cache_tag: Option<&'static str>,
    invalidation_mode: InvalidationMode,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    written: usize,
    up_to_date: usize,
    failed: usize,
    /// (source, interpreter) pairs compiled: sent to a worker, or taken whole from the code
    /// cache.
    compiled_sources: usize,
    /// Of those, the ones taken from the code cache (`--code-cache`).
    from_code_cache: usize,
    /// Code cache look-ups and stores (`null` without a code cache).
    code_cache: Option<pyc_compile::CodeCacheStats>,
    /// Interpreter processes started (probes and workers); 0 when nothing was stale and every
    /// interpreter's probe was cached.
    interpreters_started: usize,
    interrupted: bool,
    seconds: f64,
    pythons: Vec<PythonOut>,
    files: &'a [pyc_compile::Written],
    failures: &'a [pyc_compile::Failure],
}

/// The interpreters to compile for (see [`crate::target::interpreters`]: pyc-python's one
/// model, each probed once), as the compile sees them, with `--prefix` applied.
fn interpreters(args: &Args, dests: &[PathBuf]) -> anyhow::Result<Vec<Interpreter>> {
    let roots: Vec<&std::path::Path> = dests.iter().map(PathBuf::as_path).collect();
    let mut out: Vec<Interpreter> = Vec::new();
    for python in crate::target::interpreters(&args.target, &roots)? {
        let mut interp = Interpreter::new(python).map_err(anyhow::Error::msg)?;
        if let Some(prefix) = &args.target.prefix {
            if !interp.info.pycache_prefix {
                return Err(crate::target::no_prefix(prefix, interp.version));
            }
            interp.pycache_prefix = Some(path_bytes(prefix).to_vec());
        }
        out.push(interp);
    }
    Ok(out)
}

fn destinations(args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let mut dests = args.dests.clone();
    if let Some(list) = &args.input {
        let reader: Box<dyn BufRead> = if list == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(list).with_context(|| format!("-i {list}: cannot read"))?,
            ))
        };
        for line in reader.split(b'\n') {
            let line = line.with_context(|| format!("-i {list}: cannot read"))?;
            let t = line.trim_ascii();
            if !t.is_empty() {
                dests.push(crate::output::bytes_path(t).to_path_buf());
            }
        }
    }
    if dests.is_empty() && args.input.is_some() {
        bail!("nothing to compile: -i named no files or directories");
    }
    Ok(dests)
}

/// No files or directories named: compileall's `compile_path`, the folders on the
/// interpreter's `sys.path` (the current directory skipped), each without descending (unless
/// `-r` says otherwise). Entries that are not folders (a zip of the standard library) are
/// skipped with a note, as compileall's "Can't list" is.
fn sys_path_destinations(interp: &Interpreter, quiet: u8) -> anyhow::Result<Vec<PathBuf>> {
    let entries = pyc_python::sys_path(interp.exe())?;
    let mut dests = Vec::new();
    for e in entries {
        if e.is_empty() || e == b"." {
            if quiet == 0 {
                eprintln!("pyc: skipping the current directory (on sys.path)");
            }
            continue;
        }
        let p = crate::output::bytes_path(&e).to_path_buf();
        if p.is_dir() {
            dests.push(p);
        } else if quiet < 2 {
            eprintln!("pyc: {}: not a folder, skipped (on sys.path)", p.display());
        }
    }
    Ok(dests)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    if args.ddir.is_some() && (args.stripdir.is_some() || args.prependdir.is_some()) {
        bail!("-d cannot be used in combination with -s or -p");
    }
    let exclude = args
        .exclude
        .as_deref()
        .map(|p| pyc_compile::pyre::ExcludeRegex::new(p.as_bytes()))
        .transpose()
        .context("-x: not a regular expression pyc understands")?;
    let mut dests = destinations(&args)?;
    if let Some(code) = crate::output::missing_paths(dests.iter().map(PathBuf::as_path)) {
        return Ok(code);
    }
    let sys_path_mode = args.sys_path;
    if dests.is_empty() && !sys_path_mode {
        dests.push(PathBuf::from("."));
    }
    let interps = interpreters(&args, &dests)?;
    let dest_paths: Vec<&Path> = dests.iter().map(PathBuf::as_path).collect();
    if !dest_paths.is_empty() && crate::archive::all_archives(&dest_paths)? {
        let mode = args.invalidation_mode.map(|m| match m {
            ModeArg::Timestamp => InvalidationMode::Timestamp,
            ModeArg::CheckedHash => InvalidationMode::CheckedHash,
            ModeArg::UncheckedHash => InvalidationMode::UncheckedHash,
        });
        return crate::archive::compile(
            &dest_paths,
            &interps,
            args.as_use.as_deref(),
            mode,
            args.force,
            args.dry_run,
            args.format,
            args.timeout,
            crate::output::quiet(),
        );
    }
    if sys_path_mode {
        let [interp] = interps.as_slice() else {
            bail!(
                "nothing to compile: name files or directories (without any, pyc compiles the \
                 folders on one interpreter's sys.path, as compileall does)"
            );
        };
        dests = sys_path_destinations(interp, crate::output::quiet())?;
    }

    let mut levels: Vec<u8> = if args.target.optimize.is_empty() {
        vec![interps.first().map_or(0, |i| i.optimize)]
    } else {
        args.target.optimize.clone()
    };
    levels.sort_unstable();
    levels.dedup();
    if args.hardlink_dupes && levels.len() < 2 {
        bail!("Hardlinking of duplicated bytecode makes sense only for more than one optimization level.");
    }
    let mode = match args.invalidation_mode {
        Some(ModeArg::Timestamp) => InvalidationMode::Timestamp,
        Some(ModeArg::CheckedHash) => InvalidationMode::CheckedHash,
        Some(ModeArg::UncheckedHash) => InvalidationMode::UncheckedHash,
        None => InvalidationMode::default_from_env(),
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    for i in &interps {
        if args.invalidation_mode.is_some()
            && mode != InvalidationMode::Timestamp
            && i.info.source_hash.is_none()
        {
            bail!(
                "CPython {} has no hash-based pycs (PEP 552 came in 3.7); use --invalidation-mode timestamp",
                i.version
            );
        }
        // Two levels that land in the same file (2.7's .pyo, -b) cannot both be written.
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for &l in &levels {
            let p = i
                .cache_path(b"m.py", l, args.legacy, path_bytes(&cwd))
                .map_err(anyhow::Error::msg)?;
            if seen.contains(&p) {
                bail!(
                    "CPython {}{}: optimization levels {:?} would write the same cache file",
                    i.version,
                    if args.legacy { " with -b" } else { "" },
                    levels
                );
            }
            seen.push(p);
        }
    }

    let walk = plan::WalkOptions {
        max_depth: args
            .max_depth
            .or((args.no_recurse || sys_path_mode).then_some(0)),
        exclude,
        limit_symlinks_to: args.limit_symlinks.clone(),
        ddir: args.ddir.as_deref().map(|p| path_bytes(p).to_vec()),
        stripdir: args.stripdir.as_deref().map(|p| path_bytes(p).to_vec()),
        prependdir: args.prependdir.as_deref().map(|p| path_bytes(p).to_vec()),
        // compileall's --sys-path walks what the interpreter imports from, as it does.
        default_skips: !(args.no_skip || sys_path_mode),
    };
    let (sources, walk_errors) = plan::collect(&dests, &walk);

    let code_cache = if args.code_cache.iter().all(|s| s.is_empty()) {
        None
    } else {
        let mut store =
            pyc_compile::store::Store::from_specs(&args.code_cache, &cwd, args.code_cache_timeout)
                .map_err(|e| anyhow::anyhow!("--code-cache: {e}"))?;
        store.read_only = args.code_cache_mode == CodeCacheMode::ReadOnly;
        Some(store)
    };
    let opts = Options {
        levels,
        mode,
        force: args.force,
        verify: args.verify,
        legacy: args.legacy,
        hardlink_dupes: args.hardlink_dupes,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1),
        timeout: args.timeout,
        cwd: path_bytes(&cwd).to_vec(),
        code_cache,
        code_cache_size: args.code_cache_size,
    };

    if args.dry_run {
        return dry_run(&args, &interps, &sources, &opts, walk_errors);
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends pyc at once, as soon as no pyc is half-way through its atomic
        // write (no temporary file is left behind).
        let again = Arc::clone(&stop);
        // SAFETY: the handler only loads an atomic and calls `exit_after_writes`, which is
        // async-signal-safe (atomics, nanosleep, _exit).
        unsafe {
            signal_hook::low_level::register(sig, move || {
                if again.load(std::sync::atomic::Ordering::SeqCst) {
                    pyc_compile::write::exit_after_writes(130);
                }
            })
        }?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }

    let text = args.format == Format::Text;
    let show_errors = crate::output::warnings();
    let bar = crate::output::progress("compiling", Some(0), text);
    let several = interps.len() > 1;
    for e in &walk_errors {
        if show_errors {
            eprintln!("pyc: {e}");
        }
    }
    let on_event = |ev: Event| match ev {
        Event::Planned { jobs, .. } => {
            if let Some(pb) = &bar {
                pb.set_length(jobs as u64);
                if jobs > 0 {
                    pb.enable_steady_tick(Duration::from_millis(120));
                }
            }
        }
        Event::JobDone => {
            if let Some(pb) = &bar {
                pb.inc(1);
            }
        }
        Event::Failed(f) => {
            if show_errors && text {
                let line = if several {
                    format!("{f} [{}]", f.python)
                } else {
                    f.to_string()
                };
                match &bar {
                    Some(pb) => pb.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
        }
    };
    let report: Report = pyc_compile::compile(&interps, &sources, &opts, &stop, &on_event);
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let seconds = start.elapsed().as_secs_f64();
    let failed = report.failures.len() + walk_errors.len();
    // The code cache is an aid: entries it could not keep cost only a compile next time.
    if let (Some(e), true) = (&report.code_cache_error, crate::output::warnings()) {
        let more = match report.code_cache_failures {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        eprintln!("pyc: warning: code cache: cannot store {e}{more}");
    }
    if crate::output::warnings() {
        for w in &report.code_cache_warnings {
            eprintln!("pyc: warning: code cache: {w}; went on without it");
        }
    }
    match args.format {
        Format::Json => {
            let out = JsonOut {
                written: report.written.len(),
                up_to_date: report.up_to_date,
                failed,
                compiled_sources: report.jobs,
                from_code_cache: report.from_code_cache,
                code_cache: opts.code_cache.is_some().then_some(report.code_cache),
                interpreters_started: pyc_python::interpreters_started(),
                interrupted: report.interrupted,
                seconds,
                pythons: interps
                    .iter()
                    .map(|i| PythonOut {
                        chosen: i.python.why.to_string(),
                        python: i.version.to_string(),
                        version: i.full_version(),
                        executable: i.exe().to_path_buf(),
                        magic: i.magic,
                        cache_tag: i.info.cache_tag,
                        invalidation_mode: i.effective_mode(mode),
                    })
                    .collect(),
                files: &report.written,
                failures: &report.failures,
            };
            println!(
                "{}",
                crate::output::json_pretty(crate::output::schema::COMPILE, &out)?
            );
        }
        Format::Text => {
            if report.interrupted {
                eprintln!("pyc: interrupted; the pycs written so far are complete");
            }
            if crate::output::verbose() {
                for f in &report.written {
                    println!("wrote {}", f.cache.display());
                }
            }
            if crate::output::notes() {
                // "3.12 from ./.venv": which interpreter, and why.
                let names: Vec<String> = interps.iter().map(|i| i.python.describe()).collect();
                let n = |count: usize, one: &str, many: &str| {
                    format!("{count} {}", if count == 1 { one } else { many })
                };
                let from_cache = if opts.code_cache.is_some() {
                    let c = &report.code_cache;
                    format!(
                        ", {} from the code cache: {} hits, {} misses{}{}",
                        report.from_code_cache,
                        c.hits,
                        c.misses,
                        match c.damaged {
                            0 => String::new(),
                            n => format!(", {n} damaged"),
                        },
                        match c.not_movable {
                            0 => String::new(),
                            n => format!(", {n} not movable"),
                        },
                    )
                } else {
                    String::new()
                };
                println!(
                    "{}: wrote {} ({} compiled{from_cache}), {} up to date, {} failed in {:.2}s",
                    names.join(", "),
                    n(report.written.len(), "pyc", "pycs"),
                    n(report.jobs, "source", "sources"),
                    report.up_to_date,
                    failed,
                    seconds
                );
            }
        }
    }
    Ok(ExitCode::from(if report.interrupted {
        EXIT_INTERRUPTED
    } else if failed > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}

/// `--dry-run`: the pycs that would be written, one a line (text) or as `files` (JSON).
fn dry_run(
    args: &Args,
    interps: &[Interpreter],
    sources: &[plan::SourceFile],
    opts: &Options,
    walk_errors: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let (would, up_to_date, failures) = pyc_compile::dry_run(interps, sources, opts);
    for e in &walk_errors {
        if crate::output::warnings() {
            eprintln!("pyc: {e}");
        }
    }
    for f in &failures {
        if crate::output::warnings() {
            eprintln!("{f}");
        }
    }
    let failed = failures.len() + walk_errors.len();
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "dry_run": true,
                "would_write": would.len(),
                "up_to_date": up_to_date,
                "failed": failed,
                "files": would,
            });
            println!(
                "{}",
                crate::output::json_pretty(crate::output::schema::COMPILE, &out)?
            );
        }
        Format::Text => {
            for w in &would {
                println!("{}", w.cache.display());
            }
            if crate::output::notes() {
                eprintln!(
                    "would write {} pyc{}, {up_to_date} up to date, {failed} failed",
                    would.len(),
                    if would.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(ExitCode::from(if failed > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }))
}
