//! # pyc-python
//!
//! Finding and probing real CPython interpreters.
//!
//! * [`probe`] runs the interpreter once with a tiny script (valid Python 2.7 and 3.x) and reads
//!   back the facts that decide its cache behaviour: version, cache tag, magic number,
//!   optimization level, pycache prefix, whether it writes bytecode at all, and its
//!   `--check-hash-based-pycs` mode. [`probe_cached`] remembers those facts on disk, keyed by
//!   the executable's identity and the environment variables that change them, so a command
//!   that has nothing to do (a no-op `pyc compile`) starts no interpreter at all.
//! * [`discover`] lists the interpreters pyc can find without running any of them: the active
//!   virtualenv, `python3` / `python3.X` / `python2.7` on PATH (pyenv shims resolved to the
//!   interpreter they would run, as pyenv decides), pyenv's versions and uv's managed pythons.
//! * [`resolve`] turns what a user typed after `--python` (`3.12`, a path, a name on PATH) into
//!   one executable, or an error that says where pyc looked.
//!
//! ```no_run
//! let exe = pyc_python::resolve("3.12").unwrap();
//! let facts = pyc_python::probe_cached(&exe).unwrap();
//! assert_eq!((facts.major, facts.minor), (3, 12));
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

mod cache;
mod choose;
mod discover;

pub use cache::{cache_dir, probe_cached};
pub use choose::{choose_for, is_venv, project_venv, venv_of, venv_python, Chosen, Why};
pub use discover::{discover, pyenv_root, resolve, Found, Origin, ResolveError};

/// One resolved and probed CPython interpreter, and why it was chosen. Every subcommand gets
/// its interpreters from here; nothing else runs a probe or decides "is this CPython".
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub probe: Probe,
    pub why: Why,
}

impl Interpreter {
    /// Probe a chosen executable (cached, see [`probe_cached`]); only CPython is accepted.
    pub fn probe(chosen: Chosen) -> Result<Interpreter, ResolveError> {
        let probe = probe_cached(&chosen.exe)?;
        if probe.implementation != "cpython" {
            return Err(ResolveError::NotCPython {
                exe: chosen.exe,
                implementation: probe.implementation,
                version: format!("{}.{}", probe.major, probe.minor),
            });
        }
        Ok(Interpreter {
            probe,
            why: chosen.why,
        })
    }

    /// `--python SPEC` as an interpreter (a version is looked up as [`resolve`] does).
    pub fn from_flag(spec: &str) -> Result<Interpreter, ResolveError> {
        let exe = resolve(spec)?;
        Interpreter::probe(Chosen {
            exe,
            why: Why::Flag(spec.to_string()),
        })
    }

    /// The interpreter for code at `path` without `--python` ([`choose_for`]).
    pub fn for_path(path: &Path) -> Result<Interpreter, ResolveError> {
        Interpreter::probe(choose_for(path)?)
    }

    /// The executable to run.
    pub fn exe(&self) -> &Path {
        &self.probe.executable
    }

    pub fn version(&self) -> pyc_format::PyVersion {
        self.probe.version()
    }

    /// For reports: "3.12 from ./.venv".
    pub fn describe(&self) -> String {
        format!("{} {}", self.version(), self.why)
    }
}

/// What a `--python` value names.
#[derive(Debug, Clone)]
pub enum Spec {
    /// `all`: every version whose caches are in the trees (the caller looks).
    All,
    /// `3.12`: the version's facts from pyc's tables; no interpreter is needed.
    Version(pyc_format::PyVersion),
    /// A path, a name on PATH or a venv folder: that interpreter, probed.
    Interpreter(Box<Interpreter>),
}

impl Spec {
    /// Parse one `--python` value for the subcommands that can work from a version alone
    /// (`status`, `clean`, `path`): a value that starts with a digit is a version (`X.Y`),
    /// `all` is all, anything else names an interpreter.
    pub fn parse(spec: &str) -> Result<Spec, ResolveError> {
        if spec == "all" {
            return Ok(Spec::All);
        }
        if spec.starts_with(|c: char| c.is_ascii_digit()) && !Path::new(spec).exists() {
            return match spec.parse::<pyc_format::PyVersion>() {
                Ok(v) if spec.contains('.') => Ok(Spec::Version(v)),
                _ => Err(ResolveError::BadSpec(spec.to_string())),
            };
        }
        Interpreter::from_flag(spec).map(|i| Spec::Interpreter(Box::new(i)))
    }
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// How many interpreter processes this process has started so far (probes and, through
/// [`note_started`], compile workers). `pyc compile --format json` reports it, so a test can
/// check that a run with nothing to do started none.
pub fn interpreters_started() -> usize {
    STARTED.load(Ordering::Relaxed)
}

/// Count one interpreter process started by another crate (the compile workers).
pub fn note_started() {
    STARTED.fetch_add(1, Ordering::Relaxed);
}

/// The facts a probe reads from an interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// The executable that was probed, as given.
    pub executable: PathBuf,
    /// `sys.executable` as the interpreter reports it.
    pub sys_executable: String,
    pub implementation: String,
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
    /// `sys.version`, first line.
    pub version: String,
    pub cache_tag: Option<String>,
    pub magic: Option<u16>,
    pub optimize: u8,
    pub pycache_prefix: Option<String>,
    pub dont_write_bytecode: bool,
    /// `_imp.check_hash_based_pycs`: "default", "always" or "never" (3.7+).
    pub check_hash_based_pycs: Option<String>,
}

impl Probe {
    pub fn version(&self) -> pyc_format::PyVersion {
        pyc_format::PyVersion::new(self.major, self.minor)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{}: cannot run: {source}", .path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: probe failed (exit {status}): {stderr}", .path.display())]
    Failed {
        path: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{}: unexpected probe output: {output}", .path.display())]
    Output { path: PathBuf, output: String },
    #[error("no `python3` found on PATH; name an interpreter or a version with --python")]
    NoDefault,
}

/// Works on 2.7 and every 3.x: prints one JSON object.
const PROBE_SCRIPT: &str = r#"
import sys, json
try:
    import importlib.util as u
    magic = u.MAGIC_NUMBER
except Exception:
    import imp
    magic = imp.get_magic()
magic = bytearray(magic)
try:
    import _imp
    chk = getattr(_imp, 'check_hash_based_pycs', None)
except Exception:
    chk = None
impl = getattr(sys, 'implementation', None)
print(json.dumps({
    'sys_executable': sys.executable or '',
    'implementation': impl.name if impl else ('cpython' if sys.subversion[0] == 'CPython' else sys.subversion[0].lower()),
    'major': sys.version_info[0], 'minor': sys.version_info[1], 'micro': sys.version_info[2],
    'version': sys.version.splitlines()[0],
    'cache_tag': impl.cache_tag if impl else None,
    'magic': magic[0] | (magic[1] << 8),
    'optimize': sys.flags.optimize,
    'pycache_prefix': getattr(sys, 'pycache_prefix', None),
    'dont_write_bytecode': bool(sys.dont_write_bytecode),
    'check_hash_based_pycs': chk,
}))
"#;

#[derive(Deserialize)]
struct Raw {
    sys_executable: String,
    implementation: String,
    major: u8,
    minor: u8,
    micro: u8,
    version: String,
    cache_tag: Option<String>,
    magic: Option<u16>,
    optimize: u8,
    pycache_prefix: Option<String>,
    dont_write_bytecode: bool,
    check_hash_based_pycs: Option<String>,
}

/// Run `executable -c script` (stdin closed, environment inherited); its stdout, or why not
/// (could not start; exited non-zero, with the last line of its stderr).
fn run_script(executable: &Path, script: &str) -> Result<Vec<u8>, ProbeError> {
    let out = Command::new(executable)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ProbeError::Spawn {
            path: executable.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(ProbeError::Failed {
            path: executable.to_path_buf(),
            status: out.status.to_string(),
            stderr: stderr.lines().last().unwrap_or("").to_string(),
        });
    }
    Ok(out.stdout)
}

/// The interpreter's `sys.path` as it starts in this environment (site and `PYTHONPATH`
/// included), for `pyc compile` without arguments (compileall's `compile_path`). Entries are
/// raw bytes (the file system's), in order; one interpreter run.
pub fn sys_path(executable: &Path) -> Result<Vec<Vec<u8>>, ProbeError> {
    note_started();
    // 2.7 and 3.x: entries as the OS's bytes, separated by NUL.
    const SCRIPT: &str = "import sys, os\n\
        out = getattr(sys.stdout, 'buffer', sys.stdout)\n\
        enc = getattr(os, 'fsencode', lambda p: p)\n\
        out.write(b'\\0'.join(enc(p) for p in sys.path))\n";
    let stdout = run_script(executable, SCRIPT)?;
    Ok(stdout.split(|&b| b == 0).map(<[u8]>::to_vec).collect())
}

/// Run `executable` with the probe script and read its facts. The environment is inherited, so
/// `PYTHONPYCACHEPREFIX`, `PYTHONDONTWRITEBYTECODE` and `PYTHONOPTIMIZE` are seen as the
/// interpreter itself sees them.
pub fn probe(executable: &Path) -> Result<Probe, ProbeError> {
    note_started();
    let stdout = run_script(executable, PROBE_SCRIPT)?;
    let text = String::from_utf8_lossy(&stdout);
    let raw: Raw = serde_json::from_str(text.trim()).map_err(|_| ProbeError::Output {
        path: executable.to_path_buf(),
        output: text.chars().take(200).collect(),
    })?;
    Ok(Probe {
        executable: executable.to_path_buf(),
        sys_executable: raw.sys_executable,
        implementation: raw.implementation,
        major: raw.major,
        minor: raw.minor,
        micro: raw.micro,
        version: raw.version,
        cache_tag: raw.cache_tag,
        magic: raw.magic,
        optimize: raw.optimize,
        pycache_prefix: raw.pycache_prefix,
        dont_write_bytecode: raw.dont_write_bytecode,
        check_hash_based_pycs: raw.check_hash_based_pycs,
    })
}

/// `name` looked up on PATH, as a shell would.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

pub(crate) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The default interpreter: `python3` on PATH.
pub fn default_python() -> Result<PathBuf, ProbeError> {
    which("python3").ok_or(ProbeError::NoDefault)
}
