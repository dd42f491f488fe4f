//! Running a program under `-X importtime` with the bytecode cache isolated.
//!
//! Every run gets `PYTHONPYCACHEPREFIX` pointing into a private temporary folder. With a prefix
//! set, CPython 3.8+ reads *and* writes cache files only under the prefix
//! (`importlib._bootstrap_external.cache_from_source`), so the user's own `__pycache__` folders
//! are neither used nor changed. (3.7 has `-X importtime` but no prefix: refused.)
//!
//! * cold: a new, empty prefix for each run: every module that comes from source is compiled
//!   (and its pyc written to the prefix, as a normal first import would).
//! * warm: one prefix, filled by a first run that is not measured; the measured runs then load
//!   every pyc from it. The runner checks afterwards that no file in it was rewritten.
//!
//! Cold and warm runs alternate, so drift of the machine (other load, CPU frequency) falls on
//! both alike. `PYTHONDONTWRITEBYTECODE` is removed from the runs' environment (a cold run that
//! could not write would leave the warm prefix empty). The temporary folders are removed when
//! the [`Measurement`] is made, on errors, on timeouts and on interruption.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use wait_timeout::ChildExt;

use crate::parse::{parse, Parsed};
use crate::versions::{self, Feature};

/// What to run after the interpreter's own options.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Program {
    /// `-c CODE`
    Code(String),
    /// `-m MODULE args...`
    Module(String, Vec<String>),
    /// `script args...`
    Script(PathBuf, Vec<String>),
}

impl Program {
    fn args(&self) -> Vec<OsString> {
        match self {
            Program::Code(c) => vec!["-c".into(), c.into()],
            Program::Module(m, rest) => {
                let mut v: Vec<OsString> = vec!["-m".into(), m.into()];
                v.extend(rest.iter().map(OsString::from));
                v
            }
            Program::Script(p, rest) => {
                let mut v: Vec<OsString> = vec![p.into()];
                v.extend(rest.iter().map(OsString::from));
                v
            }
        }
    }
    /// For humans: `-c 'import json'`.
    pub fn describe(&self) -> String {
        match self {
            Program::Code(c) => format!("-c {c:?}"),
            Program::Module(m, rest) => format!("-m {m} {}", rest.join(" ")).trim().to_string(),
            Program::Script(p, rest) => format!("{} {}", p.display(), rest.join(" "))
                .trim()
                .to_string(),
        }
    }
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Measured runs in each state.
    pub runs: usize,
    /// A run that takes longer is killed.
    pub timeout: Duration,
    /// Ask for 3.14+'s `-X importtime=2` (rows for imports of already-imported modules).
    pub cached_rows: bool,
    /// Working directory of the runs (`None`: this process's).
    pub cwd: Option<PathBuf>,
    /// Cold runs keep the standard library's pycs (linked in from the warm prefix), so only
    /// the rest (site-packages, the project) is compiled: an image whose interpreter came
    /// with its caches but whose packages were installed without them.
    pub warm_stdlib: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: 5,
            timeout: Duration::from_secs(120),
            cached_rows: false,
            cwd: None,
            warm_stdlib: false,
        }
    }
}

/// What a report says of the interpreter a measurement used: taken from pyc-python's
/// [`pyc_python::Interpreter`] (the one resolved and probed model), never probed here.
#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    pub path: PathBuf,
    /// "3.12.1"
    pub version: String,
    pub major: u8,
    pub minor: u8,
}

impl Interpreter {
    /// The report's view of pyc-python's interpreter.
    pub fn of(python: &pyc_python::Interpreter) -> Interpreter {
        let p = &python.probe;
        Interpreter {
            path: p.executable.clone(),
            version: format!("{}.{}.{}", p.major, p.minor, p.micro),
            major: p.major,
            minor: p.minor,
        }
    }

    fn py_version(&self) -> pyc_format::PyVersion {
        pyc_format::PyVersion::new(self.major, self.minor)
    }
}

/// How a module was loaded, as far as the cache is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Compiled from source in the cold runs (`SourceFileLoader`).
    Source,
    /// Loaded from a pyc with no source beside it (`SourcelessFileLoader`): never compiled.
    Sourceless,
    /// An extension module (`ExtensionFileLoader`: a shared library): never compiled.
    Extension,
    /// Frozen into the interpreter (`_imp.is_frozen`): never compiled, never cached.
    Frozen,
    /// Built into the interpreter (`sys.builtin_module_names`).
    BuiltIn,
    /// Anything else: a namespace package, a module of a custom loader, a failed import.
    Other,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Sourceless => "pyc-only",
            Kind::Extension => "ext",
            Kind::Frozen => "frozen",
            Kind::BuiltIn => "built-in",
            Kind::Other => "other",
        }
    }
}

/// One run of the program.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Process wall time: spawn to exit, microseconds.
    pub wall_us: u64,
    #[serde(skip)]
    pub parsed: Parsed,
    /// Files in the run's prefix afterwards (cold: what this run compiled and wrote).
    pub cache_files: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub interpreter: Interpreter,
    pub program: Program,
    pub cold: Vec<Run>,
    pub warm: Vec<Run>,
    /// Files the first cold run wrote into its (empty) prefix, relative to it (sorted).
    pub cold_cache_files: Vec<String>,
    /// Files the filling run wrote into the warm prefix, relative to it (sorted).
    pub warm_cache_files: Vec<String>,
    /// Warm-prefix files that a measured warm run created or rewrote (should be none).
    pub warm_rewritten: Vec<String>,
    /// Module name -> how it was loaded.
    pub kinds: BTreeMap<String, Kind>,
    /// Cold runs kept the standard library's pycs.
    pub warm_stdlib: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{}: cannot run: {source}", .path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the program failed ({status}) in a {state} run; its stderr:\n{stderr}")]
    Failed {
        state: &'static str,
        status: String,
        stderr: String,
    },
    #[error("a {state} run took longer than {secs} s and was killed (--timeout)")]
    Timeout { state: &'static str, secs: f64 },
    #[error("interrupted; the temporary cache folders were removed")]
    Interrupted,
    #[error("{} is Python {version}: {what}", .path.display())]
    Unsupported {
        path: PathBuf,
        version: String,
        what: String,
    },
    #[error("{} printed no import-time rows (is it CPython?)", .path.display())]
    NoRows { path: PathBuf },
    #[error("temporary folder: {0}")]
    Temp(std::io::Error),
    #[error("{}: {}", .path.display(), .what)]
    Probe { path: PathBuf, what: String },
}

/// Cold and warm runs of `program` under `interpreter`. `interrupted` is polled while waiting
/// (set it from a Ctrl-C handler): the run in progress is killed and the folders removed.
pub fn measure(
    interpreter: &pyc_python::Interpreter,
    program: &Program,
    opts: &Options,
    interrupted: &AtomicBool,
) -> Result<Measurement, RunError> {
    measure_with_progress(interpreter, program, opts, interrupted, &|| {})
}

/// How many runs [`measure`] makes: two unmeasured warm runs (filling the prefix, listing the
/// loaders), then `runs` cold and `runs` warm.
pub fn run_count(opts: &Options) -> usize {
    2 + 2 * opts.runs.max(1)
}

/// [`measure`], calling `progress` after each of its [`run_count`] runs.
pub fn measure_with_progress(
    python: &pyc_python::Interpreter,
    program: &Program,
    opts: &Options,
    interrupted: &AtomicBool,
    progress: &dyn Fn(),
) -> Result<Measurement, RunError> {
    let interpreter = &Interpreter::of(python);
    let v = interpreter.py_version();
    if !versions::has(v, Feature::ImportTime) {
        return Err(unsupported(interpreter, "`-X importtime` is new in 3.7"));
    }
    if !versions::has(v, Feature::PycachePrefix) {
        return Err(unsupported(
            interpreter,
            "it has no PYTHONPYCACHEPREFIX (new in 3.8), so its cache cannot be isolated",
        ));
    }
    if opts.cached_rows && !versions::has(v, Feature::ImportTimeCached) {
        return Err(unsupported(
            interpreter,
            "`-X importtime=2` (cached rows) is new in 3.14",
        ));
    }
    let xopt = if opts.cached_rows {
        "importtime=2"
    } else {
        "importtime"
    };
    // Everything lives under one folder, removed when `tmp` drops (also on `?` and panics).
    let tmp = tempfile::Builder::new()
        .prefix("pyc-importtime-")
        .tempdir()
        .map_err(RunError::Temp)?;
    let runner = Runner {
        interpreter,
        program,
        xopt,
        timeout: opts.timeout,
        cwd: opts.cwd.as_deref(),
        interrupted,
        progress,
    };

    let warm_prefix = tmp.path().join("warm");
    std::fs::create_dir(&warm_prefix).map_err(RunError::Temp)?;
    let fill = runner.run(&warm_prefix, "warm-filling", false)?;
    if fill.parsed.roots.is_empty() {
        return Err(RunError::NoRows {
            path: interpreter.path.clone(),
        });
    }
    let before = snapshot(&warm_prefix);
    let compiled_names = module_names_of_pycs(before.keys());
    // One more warm run, unmeasured, with `-v`: CPython names each module's loader as it
    // loads it, which says exactly how every module came in.
    let listing = runner.run(&warm_prefix, "warm (loader listing)", true)?;
    let loaders = loader_kinds(&listing.parsed.other_lines);

    // With --warm-stdlib: the warm prefix's files that belong to the standard library.
    let stdlib_pycs: Vec<String> = if opts.warm_stdlib {
        let dirs = stdlib_dirs(interpreter)?;
        let mut v: Vec<String> = before
            .keys()
            .filter(|rel| {
                let abs = format!("/{rel}");
                dirs.stdlib
                    .iter()
                    .any(|d| abs.starts_with(&format!("{d}/")))
                    && !dirs
                        .packages
                        .iter()
                        .any(|d| abs.starts_with(&format!("{d}/")))
            })
            .cloned()
            .collect();
        v.sort();
        v
    } else {
        Vec::new()
    };

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut cold_cache_files = Vec::new();
    for i in 0..opts.runs.max(1) {
        let prefix = tmp.path().join(format!("cold-{i}"));
        std::fs::create_dir(&prefix).map_err(RunError::Temp)?;
        for rel in &stdlib_pycs {
            let to = prefix.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(RunError::Temp)?;
            }
            // CPython replaces a pyc by renaming a new file over it, never writes into it, so
            // a hard link cannot let a cold run change the warm prefix.
            let from = warm_prefix.join(rel);
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(RunError::Temp)?;
            }
        }
        let mut r = runner.run(&prefix, "cold", false)?;
        let mut files: Vec<String> = snapshot(&prefix)
            .into_keys()
            .filter(|k| stdlib_pycs.binary_search(k).is_err())
            .collect();
        r.cache_files = files.len();
        if i == 0 {
            files.sort();
            cold_cache_files = files;
        }
        // Each cold run starts empty: remove this one's cache now.
        std::fs::remove_dir_all(&prefix).map_err(RunError::Temp)?;
        cold.push(r);
        let mut w = runner.run(&warm_prefix, "warm", false)?;
        w.cache_files = before.len();
        warm.push(w);
    }
    let after = snapshot(&warm_prefix);
    let mut warm_rewritten: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    warm_rewritten.sort();

    let mut names: Vec<&str> = fill
        .parsed
        .nodes()
        .iter()
        .chain(
            cold.iter()
                .flat_map(|r| r.parsed.nodes())
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|n| n.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let probed = probe_kinds(interpreter, &names)?;
    let kinds = names
        .iter()
        .map(|&n| {
            let k = match (loaders.get(n), probed.get(n)) {
                (Some(k), _) | (None, Some(k)) => *k,
                (None, None) if compiled_names.contains(n) => Kind::Source,
                (None, None) => Kind::Other,
            };
            (n.to_string(), k)
        })
        .collect();

    let m = Measurement {
        interpreter: interpreter.clone(),
        program: program.clone(),
        cold,
        warm,
        cold_cache_files,
        warm_cache_files: {
            let mut v: Vec<String> = before.keys().cloned().collect();
            v.sort();
            v
        },
        warm_rewritten,
        kinds,
        warm_stdlib: opts.warm_stdlib,
    };
    tmp.close().map_err(RunError::Temp)?;
    Ok(m)
}

fn unsupported(i: &Interpreter, what: &str) -> RunError {
    RunError::Unsupported {
        path: i.path.clone(),
        version: i.version.clone(),
        what: what.to_string(),
    }
}

struct Runner<'a> {
    interpreter: &'a Interpreter,
    program: &'a Program,
    xopt: &'a str,
    timeout: Duration,
    cwd: Option<&'a Path>,
    interrupted: &'a AtomicBool,
    progress: &'a dyn Fn(),
}

impl Runner<'_> {
    /// One run, then a tick of the progress callback.
    fn run(&self, prefix: &Path, state: &'static str, verbose: bool) -> Result<Run, RunError> {
        let r = self.run_once(prefix, state, verbose);
        (self.progress)();
        r
    }

    /// One run; `verbose` adds `-v` (for the loader listing, never for a measured run).
    fn run_once(&self, prefix: &Path, state: &'static str, verbose: bool) -> Result<Run, RunError> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(RunError::Interrupted);
        }
        let mut cmd = Command::new(&self.interpreter.path);
        if verbose {
            cmd.arg("-v");
        }
        cmd.arg("-X")
            .arg(self.xopt)
            .args(self.program.args())
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env_remove("PYTHONPROFILEIMPORTTIME")
            .env("PYTHONPYCACHEPREFIX", prefix)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(d) = self.cwd {
            cmd.current_dir(d);
        }
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
            path: self.interpreter.path.clone(),
            source,
        })?;
        // Read stderr on a thread so a large import-time log cannot fill the pipe and stall.
        let mut pipe = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe.as_mut() {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        });
        let deadline = start + self.timeout;
        let status = loop {
            let now = Instant::now();
            if self.interrupted.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(RunError::Interrupted);
            }
            if now >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(RunError::Timeout {
                    state,
                    secs: self.timeout.as_secs_f64(),
                });
            }
            // Wake at least every 50 ms to see an interruption; an exit wakes at once.
            let slice = (deadline - now).min(Duration::from_millis(50));
            match child.wait_timeout(slice) {
                Ok(Some(status)) => break status,
                Ok(None) => continue,
                Err(source) => {
                    return Err(RunError::Spawn {
                        path: self.interpreter.path.clone(),
                        source,
                    })
                }
            }
        };
        let wall = start.elapsed();
        let stderr = reader.join().unwrap_or_default();
        let text = String::from_utf8_lossy(&stderr);
        let parsed = parse(&text);
        if !status.success() {
            return Err(RunError::Failed {
                state,
                status: status.to_string(),
                stderr: parsed.other_text(),
            });
        }
        Ok(Run {
            wall_us: wall.as_micros() as u64,
            parsed,
            cache_files: 0,
        })
    }
}

/// Module kinds from `python -v` stderr: `import 'json' # <...SourceFileLoader object at ...>`
/// (3.4+, `_bootstrap._load_unlocked`), and `import _imp # builtin` / `# frozen` for the
/// first bootstrap modules.
pub fn loader_kinds(lines: &[String]) -> HashMap<String, Kind> {
    let mut out = HashMap::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("import ") else {
            continue;
        };
        let Some((name, loader)) = rest.split_once(" # ") else {
            continue;
        };
        let name = name.trim_matches('\'');
        if name.is_empty() || name.contains(char::is_whitespace) {
            continue;
        }
        // The loader's class name, as its repr shows it.
        let kind = if loader.contains("SourcelessFileLoader") {
            Kind::Sourceless
        } else if loader.contains("SourceFileLoader") {
            Kind::Source
        } else if loader.contains("ExtensionFileLoader") {
            Kind::Extension
        } else if loader.contains("FrozenImporter") || loader == "frozen" {
            Kind::Frozen
        } else if loader.contains("BuiltinImporter") || loader == "builtin" {
            Kind::BuiltIn
        } else {
            Kind::Other
        };
        out.entry(name.to_string()).or_insert(kind);
    }
    out
}

/// Every regular file under `dir` (relative path -> size, mtime, inode): a pyc rewritten in
/// place, or replaced (CPython writes a new file and renames it over), changes one of them.
fn snapshot(dir: &Path) -> HashMap<String, (u64, i64, i64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    (m.len(), m.mtime(), m.mtime_nsec(), m.ino()),
                );
            }
        }
    }
    out
}

/// Module names a set of prefix-relative pyc paths can stand for. The prefix mirrors the
/// source folder (`<prefix>/usr/lib/python3.12/json/decoder.cpython-312.pyc`), so the module
/// `json.decoder` is among the dotted tails of the folder plus the file's stem; a package's
/// `__init__` stands for the folder itself.
pub fn module_names_of_pycs<'a>(paths: impl Iterator<Item = &'a String>) -> HashSet<String> {
    let mut out = HashSet::new();
    for p in paths {
        let mut parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let Some(file) = parts.pop() else { continue };
        // "decoder.cpython-312.pyc" / "decoder.cpython-312.opt-1.pyc": the stem is up to the
        // first dot (module names have no dots in them).
        let Some(stem) = file.split('.').next() else {
            continue;
        };
        if !file.ends_with(".pyc") {
            continue;
        }
        if stem != "__init__" {
            parts.push(stem);
        }
        for k in 1..=parts.len() {
            out.insert(parts[parts.len() - k..].join("."));
        }
    }
    out
}

struct StdlibDirs {
    /// The standard library's folders (as configured and as resolved).
    stdlib: Vec<String>,
    /// Package folders, which may lie inside them (`lib/python3.X/site-packages`).
    packages: Vec<String>,
}

const STDLIB_PROBE: &str = r#"
import json, os, sys, sysconfig, site
p = sysconfig.get_paths()
def both(paths):
    return sorted({x for q in paths if q for x in (os.path.abspath(q), os.path.realpath(q))})
pk = [p.get('purelib'), p.get('platlib')] + list(getattr(site, 'getsitepackages', lambda: [])())
print(json.dumps({'stdlib': both([p.get('stdlib'), p.get('platstdlib')]), 'packages': both(pk)}))
"#;

fn stdlib_dirs(i: &Interpreter) -> Result<StdlibDirs, RunError> {
    let out = Command::new(&i.path)
        .arg("-c")
        .arg(STDLIB_PROBE)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| RunError::Spawn {
            path: i.path.clone(),
            source,
        })?;
    let probe_err = |what: String| RunError::Probe {
        path: i.path.clone(),
        what,
    };
    if !out.status.success() {
        return Err(probe_err(format!(
            "standard-library probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| probe_err(format!("standard-library probe: unexpected output ({e})")))?;
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(|s| s.trim_end_matches('/').to_string()))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(StdlibDirs {
        stdlib: list("stdlib"),
        packages: list("packages"),
    })
}

/// Asks the interpreter which of `names` are built in or frozen (in that interpreter's own
/// configuration: `_imp.is_frozen` honours `-X frozen_modules`). Nothing is imported.
const KIND_PROBE: &str = r#"
import sys, _imp, json
out = {}
for name in sys.stdin.read().split():
    if name in sys.builtin_module_names:
        out[name] = 'built_in'
    elif _imp.is_frozen(name):
        out[name] = 'frozen'
print(json.dumps(out))
"#;

fn probe_kinds(i: &Interpreter, names: &[&str]) -> Result<HashMap<String, Kind>, RunError> {
    use std::io::Write;
    let mut child = Command::new(&i.path)
        .arg("-c")
        .arg(KIND_PROBE)
        .env_remove("PYTHONPROFILEIMPORTTIME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            path: i.path.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(names.join("\n").as_bytes());
    }
    let out = child.wait_with_output().map_err(|source| RunError::Spawn {
        path: i.path.clone(),
        source,
    })?;
    let probe_err = |what: String| RunError::Probe {
        path: i.path.clone(),
        what,
    };
    if !out.status.success() {
        return Err(probe_err(format!(
            "module-kind probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )));
    }
    let raw: HashMap<String, String> = serde_json::from_slice(&out.stdout)
        .map_err(|e| probe_err(format!("module-kind probe: unexpected output ({e})")))?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let kind = if v == "frozen" {
                Kind::Frozen
            } else {
                Kind::BuiltIn
            };
            (k, kind)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaders() {
        let lines: Vec<String> = [
            "import _imp # builtin",
            "import '_io' # <class '_frozen_importlib.BuiltinImporter'>",
            "import 'zipimport' # <class '_frozen_importlib.FrozenImporter'>",
            "import 'json' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>",
            "import 'old' # <_frozen_importlib_external.SourcelessFileLoader object at 0x7f>",
            "import '_json' # <_frozen_importlib_external.ExtensionFileLoader object at 0x7f>",
            "import 'ns' # None",
            "# code object from '/x/json/__init__.pyc'",
        ]
        .map(String::from)
        .to_vec();
        let k = loader_kinds(&lines);
        assert_eq!(k["_imp"], Kind::BuiltIn);
        assert_eq!(k["_io"], Kind::BuiltIn);
        assert_eq!(k["zipimport"], Kind::Frozen);
        assert_eq!(k["json"], Kind::Source);
        assert_eq!(k["old"], Kind::Sourceless);
        assert_eq!(k["_json"], Kind::Extension);
        assert_eq!(k["ns"], Kind::Other);
        assert_eq!(k.len(), 7);
    }

    #[test]
    fn pyc_paths_name_modules() {
        let paths = [
            "usr/lib/python3.12/json/decoder.cpython-312.pyc".to_string(),
            "w/pkg/__init__.cpython-312.opt-1.pyc".to_string(),
            "w/notes.txt".to_string(),
        ];
        let names = module_names_of_pycs(paths.iter());
        assert!(names.contains("json.decoder"));
        assert!(names.contains("decoder"));
        assert!(names.contains("pkg"));
        assert!(!names.contains("notes"));
        assert!(!names.contains("__init__"));
    }
}
