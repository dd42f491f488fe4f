//! The one place the CLI turns `--python`, `-O` and `--prefix` into interpreters and targets
//! (as ripgrep turns its flags into `HiArgs`). Which interpreter is pyc-python's answer
//! ([`pyc_python::Interpreter`], [`pyc_python::Spec`]); this module only composes it with the
//! flags.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};
use pyc_cache::classify::{CheckHashBasedPycs, Classifier, ClassifyOptions, Record, Target};
use pyc_format::{version_for_cache_tag, PyVersion};
use pyc_python::{Interpreter, Spec};

use crate::output::path_bytes;

/// `--python`, `-O`, `--prefix`: one group, flattened into `status`, `clean` and `compile`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Interpreter: a version (`3.12`: for status and clean, facts from pyc's tables, no
    /// interpreter needed; for compile, that version found as `pyc python` finds it), a path, a
    /// name on PATH, a virtual environment's folder, or `all` (status and clean: every version
    /// whose caches are in the trees). Repeatable. Default: the interpreter that runs the
    /// code: the venv the path is in, else a project `.venv`/`venv` at or above it (up to the
    /// repository root), else `VIRTUAL_ENV`, `CONDA_PREFIX`, else `python3` on PATH (pyenv
    /// shims resolved).
    #[arg(long, value_name = "X.Y|PATH|all")]
    pub python: Vec<String>,
    /// Optimization levels: `-O 0,1,2` or `-O 1 -O 2`. Default: the interpreter's own level
    /// (`PYTHONOPTIMIZE`), 0 for a version.
    #[arg(
        short = 'O',
        long = "optimize",
        visible_short_alias = 'o',
        value_name = "LEVELS",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u8).range(0..=2)
    )]
    pub optimize: Vec<u8>,
    /// Pycache prefix (`PYTHONPYCACHEPREFIX`, 3.8+). Default: the interpreter's
    /// `sys.pycache_prefix`; for a version, the `PYTHONPYCACHEPREFIX` variable.
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
}

/// The root whose interpreter is the default: the first path given, else `.`.
fn first_root(roots: &[&Path]) -> PathBuf {
    roots
        .first()
        .map(|r| r.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One real interpreter: `--python SPEC`, or the interpreter that runs the code at `root`.
/// Every subcommand that runs code gets its interpreters here (compile, dis of a source,
/// importtime), so one `--python` value means the same interpreter everywhere and each
/// interpreter is probed once per run (pyc-python remembers its probes).
pub fn interpreter(spec: Option<&str>, root: &Path) -> anyhow::Result<Interpreter> {
    match spec {
        Some(spec) => {
            Interpreter::from_flag(spec).map_err(|e| anyhow::anyhow!("--python {spec}: {e}"))
        }
        None => Ok(Interpreter::for_path(root)?),
    }
}

/// Real interpreters (compile, and whatever must run code): each `--python`, or the
/// interpreter that runs the code at the first root.
pub fn interpreters(a: &TargetArgs, roots: &[&Path]) -> anyhow::Result<Vec<Interpreter>> {
    if a.python.is_empty() {
        return Ok(vec![interpreter(None, &first_root(roots))?]);
    }
    let mut out: Vec<Interpreter> = Vec::new();
    for spec in &a.python {
        let i = interpreter(Some(spec), Path::new("."))?;
        if !out.iter().any(|o| o.exe() == i.exe()) {
            out.push(i);
        }
    }
    Ok(out)
}

/// One `--python` value for the subcommands that can work from a version alone (`status`,
/// `clean`, `path`): [`Spec::parse`], and a name such as `python3.10` on PATH that does not
/// run (a pyenv shim of an inactive version) still says which version.
pub fn spec(p: &str) -> anyhow::Result<Spec> {
    match Spec::parse(p) {
        Ok(s) => Ok(s),
        Err(e) => match p.parse::<PyVersion>() {
            Ok(v) if p.starts_with("python") && !p.contains('/') => Ok(Spec::Version(v)),
            _ => Err(anyhow::anyhow!("--python {p}: {e}")),
        },
    }
}

/// `--prefix` for a version without a pycache prefix: the same error in every subcommand.
pub fn no_prefix(prefix: &Path, v: PyVersion) -> anyhow::Error {
    anyhow::anyhow!(
        "--prefix {}: CPython {v} has no pycache prefix (PYTHONPYCACHEPREFIX came in 3.8)",
        prefix.display()
    )
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn absolute(p: &[u8]) -> anyhow::Result<Vec<u8>> {
    if p.starts_with(b"/") {
        return Ok(p.to_vec());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(pyc_cache::paths::path_join(&[path_bytes(&cwd), p]))
}

fn levels(a: &TargetArgs) -> Vec<u32> {
    a.optimize.iter().map(|&l| u32::from(l)).collect()
}

fn version_target(
    v: PyVersion,
    a: &TargetArgs,
    check: Option<CheckHashBasedPycs>,
) -> anyhow::Result<Target> {
    let mut t = Target::for_version(v)?;
    if !a.optimize.is_empty() {
        t.optimizations = levels(a);
    }
    let prefix = match &a.prefix {
        Some(p) => Some(path_bytes(p).to_vec()),
        None => crate::output::env_pycache_prefix().map(std::os::unix::ffi::OsStringExt::into_vec),
    };
    t.prefix = prefix.map(|p| absolute(&p)).transpose()?;
    t.dont_write_bytecode = env_flag("PYTHONDONTWRITEBYTECODE");
    if let Some(m) = check {
        t.check_hash_based_pycs = m;
    }
    Ok(t)
}

/// The classification's view of a probed interpreter, with the flags applied.
pub fn interpreter_target(
    i: &Interpreter,
    a: &TargetArgs,
    check: Option<CheckHashBasedPycs>,
) -> anyhow::Result<Target> {
    let probe = &i.probe;
    let mut t = Target::for_version(probe.version())?;
    t.label = format!("{} ({})", probe.executable.display(), probe.version());
    if !matches!(i.why, pyc_python::Why::Flag(_)) {
        t.chosen = Some(i.why.to_string());
    }
    if let Some(m) = probe.magic {
        t.magic = m;
    }
    if let Some(tag) = &probe.cache_tag {
        t.tag = tag.clone();
    }
    t.optimizations = if a.optimize.is_empty() {
        vec![u32::from(probe.optimize)]
    } else {
        levels(a)
    };
    let prefix = match &a.prefix {
        Some(p) => Some(path_bytes(p).to_vec()),
        None => probe.pycache_prefix.clone().map(String::into_bytes),
    };
    t.prefix = prefix.map(|p| absolute(&p)).transpose()?;
    t.dont_write_bytecode = probe.dont_write_bytecode;
    t.check_hash_based_pycs = match check {
        Some(m) => m,
        None => probe
            .check_hash_based_pycs
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(CheckHashBasedPycs::Default),
    };
    Ok(t)
}

/// Targets for the classification (status, clean): each `--python` (a version needs no
/// interpreter; `all` is every version whose caches are in the trees), or the interpreter
/// that runs the code at the first root.
pub fn targets(
    a: &TargetArgs,
    check: Option<CheckHashBasedPycs>,
    roots: &[&Path],
    walk: &pyc_cache::walk::WalkOptions,
) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    if a.python.is_empty() {
        let i = Interpreter::for_path(&first_root(roots))?;
        targets.push(interpreter_target(&i, a, check)?);
    }
    for p in &a.python {
        match spec(p)? {
            Spec::All => {
                for v in tags_in_trees(roots, walk) {
                    if !targets.iter().any(|t: &Target| t.info.version == v) {
                        targets.push(version_target(v, a, check)?);
                    }
                }
            }
            Spec::Version(v) => targets.push(version_target(v, a, check)?),
            Spec::Interpreter(i) => targets.push(interpreter_target(&i, a, check)?),
        }
    }
    if let Some(p) = &a.prefix {
        if !targets.iter().any(|t| t.info.pycache_prefix) {
            bail!(
                "--prefix {}: no target has a pycache prefix (3.8+)",
                p.display()
            );
        }
    }
    Ok(targets)
}

/// Versions of every cache file in the trees (the `--python all` pre-pass).
fn tags_in_trees(roots: &[&Path], walk: &pyc_cache::walk::WalkOptions) -> Vec<PyVersion> {
    let c = Classifier::new(
        Vec::new(),
        ClassifyOptions {
            walk: walk.clone(),
            cwd: Vec::new(),
            verify: false,
        },
    );
    let found = Mutex::new(std::collections::BTreeSet::new());
    c.classify_each(roots, &|batch: Vec<Record>| {
        let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
        for r in batch {
            if let Some(tag) = r.tag {
                f.insert(tag);
            }
        }
    });
    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out: Vec<PyVersion> = found
        .iter()
        .filter_map(|tag| {
            version_for_cache_tag(tag)
                .map(|i| i.version)
                .or_else(|| tag.parse::<PyVersion>().ok().filter(|v| v.major == 2))
        })
        .filter(|v| pyc_cache::classify::validation_for(*v).is_some())
        .collect();
    out.sort();
    out.dedup();
    out
}
