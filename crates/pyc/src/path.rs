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
    /// A version (`3.12`) or an interpreter (path or name on PATH). Default: for a cache file
    /// whose name carries a tag, that tag's version; otherwise the `python3` on PATH.
    #[arg(long, value_name = "X.Y|PATH")]
    python: Option<String>,
    /// Optimization level of the cache file (`-O`: 1, `-OO`: 2). Default: the interpreter's
    /// own level, 0 for a version.
    #[arg(
        short = 'O',
        long = "optimize",
        value_name = "LEVEL",
        allow_hyphen_values = true
    )]
    optimize: Option<String>,
    /// A pycache prefix (`PYTHONPYCACHEPREFIX`, 3.8+). Default: the interpreter's
    /// `sys.pycache_prefix`; for a version, the `PYTHONPYCACHEPREFIX` variable.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
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
        optimize: if probe.optimize == 0 {
            String::new()
        } else {
            probe.optimize.to_string()
        },
        prefix: probe.pycache_prefix.clone().map(String::into_bytes),
    })
}

fn version_target(info: &'static VersionInfo) -> Target {
    Target {
        info,
        optimize: String::new(),
        prefix: crate::output::env_pycache_prefix().map(std::os::unix::ffi::OsStringExt::into_vec),
    }
}

/// `--python`: a version, or an interpreter (probed once), as pyc-python parses it. A name
/// such as `python3.10` on PATH that does not run (a pyenv shim of an inactive version) still
/// says which version.
fn resolve_python(p: &str) -> anyhow::Result<Target> {
    use pyc_python::Spec;
    match Spec::parse(p) {
        Ok(Spec::Version(v)) => Ok(version_target(known(v)?)),
        Ok(Spec::Interpreter(i)) => target_from_interpreter(&i),
        Ok(Spec::All) => bail!("--python all: `pyc path` answers for one version at a time"),
        Err(e) => match p.parse::<PyVersion>() {
            Ok(v) if p.starts_with("python") && !p.contains('/') => Ok(version_target(known(v)?)),
            _ => Err(anyhow::anyhow!("--python {p}: {e}")),
        },
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
    // The interpreter is run at most once: for --python, or for the python3 on PATH.
    let fixed = args.python.as_deref().map(resolve_python).transpose()?;
    let mut python3: std::collections::HashMap<PathBuf, Target> = Default::default();
    for path in &args.paths {
        let p = path_bytes(std::path::Path::new(path));
        let target = match (&fixed, tagged(p)) {
            (Some(t), _) => t.clone(),
            (None, Some(info)) => version_target(info),
            // The interpreter that runs the code at this path (pyc_python::choose_for), each
            // probed once.
            (None, None) => {
                let chosen = pyc_python::choose_for(crate::output::bytes_path(p))
                    .map_err(|e| anyhow::anyhow!(e))?;
                match python3.get(&chosen.exe) {
                    Some(t) => t.clone(),
                    None => {
                        let exe = chosen.exe.clone();
                        let i = pyc_python::Interpreter::probe(chosen)?;
                        let t = target_from_interpreter(&i)?;
                        python3.insert(exe, t.clone());
                        t
                    }
                }
            }
        };
        let optimize = match args.optimize.as_deref() {
            Some("0") => String::new(),
            Some(o) => o.to_string(),
            None => target.optimize.clone(),
        };
        let prefix: Option<Vec<u8>> = args
            .prefix
            .as_ref()
            .map(|d| path_bytes(d).to_vec())
            .or(target.prefix);
        if args.prefix.is_some() && !target.info.pycache_prefix {
            bail!(
                "CPython {} has no pycache prefix (PYTHONPYCACHEPREFIX came in 3.8)",
                target.info.version
            );
        }
        let to_source = args.to_source || (!args.to_cache && is_cache_name(p));
        let answer = if to_source {
            source_from_cache(target.info, p, prefix.as_deref())
        } else {
            cache_from_source(
                target.info,
                p,
                CacheOptions {
                    optimization: &optimize,
                    prefix: prefix.as_deref(),
                    cwd: &cwd,
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
                "optimization": if to_source { None } else { Some(&optimize) },
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
    out.flush();
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}
