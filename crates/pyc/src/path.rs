//! `pyc path`: where a CPython version puts the cache file of a source, and back.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use pyc_cache::paths::{cache_from_source, source_from_cache, CacheOptions};
use pyc_format::{version_for_cache_tag, version_info, PyVersion, VersionInfo};

use crate::output::{bytes_path, path_bytes, show_bytes, Format, EXIT_FAILURE, EXIT_OK};

/// Buffered stdout (one write per many answers, not per line). `pyc path ... | head` closes
/// it early: then the process ends quietly instead of panicking as `println!` would; any
/// other write error is one line and exit 2.
struct Out(std::io::BufWriter<std::io::StdoutLock<'static>>);

impl Out {
    fn new() -> Self {
        Out(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        ))
    }

    fn check(r: std::io::Result<()>) {
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(i32::from(EXIT_OK));
            }
            eprintln!(
                "pyc: cannot write to stdout: {}",
                crate::output::io_error(e)
            );
            std::process::exit(i32::from(crate::output::EXIT_USAGE));
        }
    }

    fn line(&mut self, s: impl std::fmt::Display) {
        use std::io::Write;
        Self::check(writeln!(self.0, "{s}"));
    }

    /// Before a line on stderr, so that the two streams stay in order on a terminal.
    fn flush(&mut self) {
        use std::io::Write;
        Self::check(self.0.flush());
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Source files (`.py` or any name) or cache files (`.pyc`/`.pyo`).
    /// (An empty PATH is allowed: CPython answers for it too.)
    #[arg(required = true, value_name = "PATH", value_parser = clap::value_parser!(std::ffi::OsString))]
    paths: Vec<std::ffi::OsString>,
    /// `--python` (repeatable: one answer per interpreter or version), `-O` (levels 0-2,
    /// repeatable or comma-separated: one answer per level) and `--prefix`, as in `status`,
    /// `clean` and `compile`. Default interpreter: for a cache file whose name carries a tag,
    /// that tag's version; otherwise the interpreter that runs the code at the path (its venv,
    /// a project `.venv`, `VIRTUAL_ENV`, ..., `python3` on PATH).
    #[command(flatten)]
    target: crate::target::TargetArgs,
    /// The `optimization` argument of `cache_from_source` as CPython takes it: any string
    /// (`""` or `0`: none; CPython rejects non-alphanumeric ones). Instead of `-O`.
    #[arg(
        long,
        value_name = "STRING",
        conflicts_with = "optimize",
        allow_hyphen_values = true
    )]
    optimization: Option<String>,
    /// Output format: text (one answer a line), or one JSON object per PATH and line.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Treat every PATH as a source and print its cache file, whatever its name.
    #[arg(long, conflicts_with = "to_source")]
    to_cache: bool,
    /// Treat every PATH as a cache file and print its source (`source_from_cache`), whatever
    /// its name. Without either flag, names ending in `.pyc`/`.pyo` are cache files.
    #[arg(long)]
    to_source: bool,
}

/// The version and defaults that decide the answer.
#[derive(Clone)]
struct Target {
    info: &'static VersionInfo,
    optimize: String,
    prefix: Option<Vec<u8>>,
}

fn known(v: PyVersion) -> anyhow::Result<&'static VersionInfo> {
    version_info(v).with_context(|| format!("pyc does not know CPython {v}"))
}

fn target_from_interpreter(i: &pyc_python::Interpreter) -> anyhow::Result<Target> {
    let probe = &i.probe;
    Ok(Target {
        info: known(probe.version())?,
        optimize: level_name(probe.optimize),
        prefix: probe.pycache_prefix.clone().map(String::into_bytes),
    })
}

fn level_name(level: u8) -> String {
    if level == 0 {
        String::new()
    } else {
        level.to_string()
    }
}

fn version_target(info: &'static VersionInfo) -> Target {
    Target {
        info,
        optimize: String::new(),
        prefix: crate::output::env_pycache_prefix().map(std::os::unix::ffi::OsStringExt::into_vec),
    }
}

/// One `--python` value, through the CLI's one parser ([`crate::target::spec`]): a version
/// needs no interpreter; an interpreter is probed once.
fn resolve_python(p: &str) -> anyhow::Result<Target> {
    use pyc_python::Spec;
    match crate::target::spec(p)? {
        Spec::Version(v) => Ok(version_target(known(v)?)),
        Spec::Interpreter(i) => target_from_interpreter(&i),
        Spec::All => bail!("--python all: `pyc path` answers for named versions only"),
    }
}

/// Without `--python`: a cache file name carries its version (NAME.cpython-312[.opt-1].pyc).
fn tagged(path: &[u8]) -> Option<&'static VersionInfo> {
    let name = pyc_cache::paths::path_split(path).1;
    std::str::from_utf8(name)
        .ok()
        .and_then(|n| n.split('.').find(|part| part.starts_with("cpython-")))
        .and_then(version_for_cache_tag)
}

fn is_cache_name(p: &[u8]) -> bool {
    p.ends_with(b".pyc") || p.ends_with(b".pyo")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let cwd = path_bytes(&cwd).to_vec();
    let mut failed = false;
    let mut out = Out::new();
    // Each interpreter is run at most once: for --python, or for the paths' own.
    let fixed: Vec<Target> = args
        .target
        .python
        .iter()
        .map(|p| resolve_python(p))
        .collect::<anyhow::Result<_>>()?;
    let mut python3: std::collections::HashMap<PathBuf, Target> = Default::default();
    for path in &args.paths {
        let p = path_bytes(std::path::Path::new(path));
        let targets: Vec<Target> = match (fixed.is_empty(), tagged(p)) {
            (false, _) => fixed.clone(),
            (true, Some(info)) => vec![version_target(info)],
            // The interpreter that runs the code at this path (pyc_python::choose_for), each
            // probed once.
            (true, None) => {
                let chosen = pyc_python::choose_for(crate::output::bytes_path(p))
                    .map_err(|e| anyhow::anyhow!(e))?;
                match python3.get(&chosen.exe) {
                    Some(t) => vec![t.clone()],
                    None => {
                        let exe = chosen.exe.clone();
                        let i = pyc_python::Interpreter::probe(chosen)?;
                        let t = target_from_interpreter(&i)?;
                        python3.insert(exe, t.clone());
                        vec![t]
                    }
                }
            }
        };
        for target in targets {
            let levels: Vec<String> = match (&args.optimization, args.target.optimize.as_slice()) {
                (Some(o), _) => vec![o.clone()],
                (None, []) => vec![target.optimize.clone()],
                (None, levels) => levels.iter().map(|&l| level_name(l)).collect(),
            };
            for optimize in levels {
                failed |= answer(&args, &cwd, p, &target, &optimize, &mut out)?;
            }
        }
    }
    out.flush();
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}

/// Print one answer (`cache_from_source` or `source_from_cache`); true when CPython raises.
fn answer(
    args: &Args,
    cwd: &[u8],
    p: &[u8],
    target: &Target,
    optimize: &str,
    out: &mut Out,
) -> anyhow::Result<bool> {
    let mut failed = false;
    {
        let prefix: Option<Vec<u8>> = args
            .target
            .prefix
            .as_ref()
            .map(|d| path_bytes(d).to_vec())
            .or(target.prefix.clone());
        if let (Some(d), false) = (&args.target.prefix, target.info.pycache_prefix) {
            return Err(crate::target::no_prefix(d, target.info.version));
        }
        let to_source = args.to_source || (!args.to_cache && is_cache_name(p));
        let answer = if to_source {
            source_from_cache(target.info, p, prefix.as_deref())
        } else {
            cache_from_source(
                target.info,
                p,
                CacheOptions {
                    optimization: optimize,
                    prefix: prefix.as_deref(),
                    cwd,
                },
            )
        };
        if args.format == Format::Json {
            let (result, error) = match &answer {
                Ok(out) => (Some(show_bytes(out)), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let json = serde_json::json!({
                "path": show_bytes(p),
                "version": target.info.version.to_string(),
                "function": if to_source { "source_from_cache" } else { "cache_from_source" },
                "optimization": if to_source { None } else { Some(optimize) },
                "prefix": prefix.as_deref().filter(|_| target.info.pycache_prefix).map(show_bytes),
                "result": result,
                "error": error,
            });
            out.line(crate::output::json_line(
                crate::output::schema::PATH,
                &json,
            )?);
        }
        match answer {
            Ok(path) => {
                if args.format == Format::Text {
                    out.line(bytes_path(&path).display())
                }
            }
            Err(e) => {
                out.flush();
                failed = true;
                eprintln!(
                    "pyc: {}: CPython {} raises {e}",
                    show_bytes(p),
                    target.info.version
                );
            }
        }
    }
    Ok(failed)
}
