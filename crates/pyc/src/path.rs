//! `pyc path`: where a CPython version puts the cache file of a source, and back.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use pyc_cache::paths::{cache_from_source, source_from_cache, CacheOptions};
use pyc_format::{version_for_cache_tag, version_info, PyVersion, VersionInfo};

use crate::output::{bytes_path, path_bytes, show_bytes, EXIT_FAILURE, EXIT_OK};

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
    /// Treat every PATH as a source and print its cache file, whatever its name.
    #[arg(long, conflicts_with = "to_source")]
    to_cache: bool,
    /// Treat every PATH as a cache file and print its source (`source_from_cache`), whatever
    /// its name. Without either flag, names ending in `.pyc`/`.pyo` are cache files.
    #[arg(long)]
    to_source: bool,
}

/// The version and defaults that decide the answer.
struct Target {
    info: &'static VersionInfo,
    optimize: String,
    prefix: Option<Vec<u8>>,
}

fn env_prefix() -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::env::var_os("PYTHONPYCACHEPREFIX")
        .filter(|v| !v.is_empty())
        .map(|v| v.into_vec())
}

fn known(v: PyVersion) -> anyhow::Result<&'static VersionInfo> {
    version_info(v).with_context(|| format!("pyc does not know CPython {v}"))
}

fn target_from_interpreter(exe: &std::path::Path) -> anyhow::Result<Target> {
    let probe = pyc_python::probe(exe)?;
    if probe.implementation != "cpython" {
        bail!(
            "{}: is {} {}.{}, not CPython",
            exe.display(),
            probe.implementation,
            probe.major,
            probe.minor
        );
    }
    Ok(Target {
        info: known(probe.version())?,
        optimize: if probe.optimize == 0 {
            String::new()
        } else {
            probe.optimize.to_string()
        },
        prefix: probe.pycache_prefix.map(String::into_bytes),
    })
}

fn resolve(python: Option<&str>, path: &[u8]) -> anyhow::Result<Target> {
    let version_target = |info| Target {
        info,
        optimize: String::new(),
        prefix: env_prefix(),
    };
    match python {
        Some(p) => {
            if let Ok(v) = p.parse::<PyVersion>() {
                if !std::path::Path::new(p).exists() {
                    return Ok(version_target(known(v)?));
                }
            }
            let exe = if p.contains('/') {
                PathBuf::from(p)
            } else {
                pyc_python::which(p)
                    .with_context(|| format!("--python {p}: not a version and not on PATH"))?
            };
            target_from_interpreter(&exe)
        }
        None => {
            // A cache file name carries its version: NAME.cpython-312[.opt-1].pyc.
            let name = pyc_cache::paths::path_split(path).1;
            let tag = std::str::from_utf8(name)
                .ok()
                .and_then(|n| n.split('.').find(|part| part.starts_with("cpython-")));
            if let Some(info) = tag.and_then(version_for_cache_tag) {
                return Ok(version_target(info));
            }
            target_from_interpreter(&pyc_python::default_python()?)
        }
    }
}

fn is_cache_name(p: &[u8]) -> bool {
    p.ends_with(b".pyc") || p.ends_with(b".pyo")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let cwd = path_bytes(&cwd).to_vec();
    let mut failed = false;
    for path in &args.paths {
        let p = path_bytes(std::path::Path::new(path));
        let target = resolve(args.python.as_deref(), p)?;
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
        match answer {
            Ok(out) => println!("{}", bytes_path(&out).display()),
            Err(e) => {
                failed = true;
                eprintln!(
                    "pyc: {}: CPython {} raises {e}",
                    show_bytes(p),
                    target.info.version
                );
            }
        }
    }
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}
