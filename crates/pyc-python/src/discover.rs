//! Where interpreters are found, without running them.
//!
//! Places, in the order `--python X.Y` prefers them:
//! 1. the active virtualenv (`$VIRTUAL_ENV/bin/python`);
//! 2. `python3`, `python3.X`, `python2.7`, `python2` and `python` in each PATH directory; a
//!    pyenv shim is replaced by the interpreter pyenv would run for it (`PYENV_VERSION`, else
//!    the nearest `.python-version`, else `$(pyenv root)/version`, else the system one);
//! 3. pyenv's versions (`$(pyenv root)/versions/*/bin/python`);
//! 4. uv's managed pythons (`$UV_PYTHON_INSTALL_DIR`, else `$XDG_DATA_HOME/uv/python`, else
//!    `~/.local/share/uv/python`, each `cpython-X.Y.Z-*/bin/python3`).
//!
//! A version is read from the name where the name carries one (`python3.12`, pyenv's `3.12.1`,
//! uv's `cpython-3.12.1-linux-x86_64-gnu`); otherwise it takes a (cached) probe to know it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pyc_format::PyVersion;
use serde::Serialize;

use crate::{is_executable, probe_cached, which, ProbeError};

/// Where a candidate interpreter was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The active virtualenv (`VIRTUAL_ENV`).
    Venv,
    /// A name on PATH.
    Path,
    /// A pyenv version directory.
    Pyenv,
    /// A uv managed python.
    Uv,
    /// Given by the user.
    Explicit,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Venv => "venv",
            Origin::Path => "PATH",
            Origin::Pyenv => "pyenv",
            Origin::Uv => "uv",
            Origin::Explicit => "explicit",
        })
    }
}

/// A candidate interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The executable to run (a pyenv shim already replaced by its target).
    pub path: PathBuf,
    /// The name as found, when it differs from `path` (the shim, for example).
    pub via: Option<PathBuf>,
    pub origin: Origin,
    /// The version its name says, if it says one.
    pub version_hint: Option<PyVersion>,
}

/// Why `--python` could not be turned into an interpreter.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no CPython {version} found; looked in: {}", .looked.join("; "))]
    NotInstalled {
        version: PyVersion,
        looked: Vec<String>,
    },
    #[error("{}: no such interpreter (not an executable file)", .0.display())]
    NoSuchFile(PathBuf),
    #[error("`{name}` is not on PATH (PATH: {path})")]
    NotOnPath { name: String, path: String },
    #[error("{}: is a pyenv shim, but pyenv version(s) {versions} provide no `{name}`", .shim.display())]
    Shim {
        shim: PathBuf,
        name: String,
        versions: String,
    },
    #[error("{}: is a folder, not an interpreter (expected an executable, or a virtual environment: a folder holding pyvenv.cfg and bin/python)", .0.display())]
    Folder(PathBuf),
    #[error("`{0}`: expected a version X.Y (`3.12`), an interpreter (a path, a name on PATH) or a virtual environment's folder")]
    BadSpec(String),
    #[error("no `python3` found on PATH and no virtual environment (looked for pyvenv.cfg above the path, .venv and venv up to the repository root, VIRTUAL_ENV, CONDA_PREFIX; PATH: {path}); name a version or an interpreter with --python")]
    NoDefault { path: String },
    #[error("{}: is {implementation} {version}, not CPython", .exe.display())]
    NotCPython {
        exe: PathBuf,
        implementation: String,
        version: String,
    },
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// pyenv's root: `$PYENV_ROOT`, else `~/.pyenv` (pyenv's own default).
pub fn pyenv_root() -> Option<PathBuf> {
    if let Some(r) = std::env::var_os("PYENV_ROOT").filter(|r| !r.is_empty()) {
        return Some(PathBuf::from(r));
    }
    home().map(|h| h.join(".pyenv"))
}

fn uv_python_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("UV_PYTHON_INSTALL_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("uv/python"));
    }
    home().map(|h| h.join(".local/share/uv/python"))
}

/// `3.12.1` -> 3.12; `3.12` -> 3.12; anything else (`system`, `pypy3.10-7.3`) -> None.
fn version_of_dir_name(name: &str) -> Option<PyVersion> {
    let mut parts = name.split('.');
    let major: u8 = parts.next()?.parse().ok()?;
    let minor: u8 = parts.next()?.parse().ok()?;
    Some(PyVersion::new(major, minor))
}

/// `python3.12` -> 3.12, `python2.7` -> 2.7; `python3` -> None.
fn version_of_exe_name(name: &str) -> Option<PyVersion> {
    version_of_dir_name(name.strip_prefix("python")?)
}

/// The names looked for in each PATH directory.
fn path_names() -> Vec<String> {
    let mut names = vec!["python3".to_string()];
    names.extend((0..=20).rev().map(|m| format!("python3.{m}")));
    names.extend(["python2.7", "python2", "python"].map(String::from));
    names
}

fn sorted_dir(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    // Newest first: 3.13.0 before 3.12.1 before 3.9.18.
    out.sort_by_key(|e| std::cmp::Reverse(version_key(&e.0)));
    out
}

fn version_key(name: &str) -> Vec<u32> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

/// The pyenv version names selected right now, as `pyenv version-name` would say.
fn pyenv_selected(root: &Path) -> Vec<String> {
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| c == ':' || c.is_whitespace())
            .filter(|v| !v.is_empty() && !v.starts_with('#'))
            .map(String::from)
            .collect()
    };
    if let Ok(v) = std::env::var("PYENV_VERSION") {
        if !v.trim().is_empty() {
            return split(&v);
        }
    }
    let start = std::env::var_os("PYENV_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let mut dir = start.as_deref();
    while let Some(d) = dir {
        if let Ok(text) = std::fs::read_to_string(d.join(".python-version")) {
            return split(&text);
        }
        dir = d.parent();
    }
    if let Ok(text) = std::fs::read_to_string(root.join("version")) {
        let v = split(&text);
        if !v.is_empty() {
            return v;
        }
    }
    vec!["system".into()]
}

/// The executable a pyenv shim named `name` runs, or Err with the versions it tried.
fn resolve_shim(root: &Path, name: &str) -> Result<PathBuf, String> {
    let selected = pyenv_selected(root);
    let shims = root.join("shims");
    for v in &selected {
        if v == "system" {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let hit = std::env::split_paths(&path)
                .filter(|d| d != &shims)
                .map(|d| d.join(name))
                .find(|p| is_executable(p));
            if let Some(hit) = hit {
                return Ok(hit);
            }
            continue;
        }
        let exact = root.join("versions").join(v).join("bin").join(name);
        if is_executable(&exact) {
            return Ok(exact);
        }
        // pyenv 2.3+ accepts a prefix ("3.12" = the newest installed 3.12.x).
        let prefix = format!("{v}.");
        for (dir_name, dir) in sorted_dir(&root.join("versions")) {
            let exe = dir.join("bin").join(name);
            if dir_name.starts_with(&prefix) && is_executable(&exe) {
                return Ok(exe);
            }
        }
    }
    Err(selected.join(":"))
}

/// If `path` is a pyenv shim, the interpreter it runs.
pub(crate) fn unshim(path: &Path) -> Result<Option<PathBuf>, ResolveError> {
    let Some(root) = pyenv_root() else {
        return Ok(None);
    };
    let shims = root.join("shims");
    if path.parent() != Some(shims.as_path()) {
        return Ok(None);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    resolve_shim(&root, &name)
        .map(Some)
        .map_err(|versions| ResolveError::Shim {
            shim: path.to_path_buf(),
            name,
            versions,
        })
}

fn push(out: &mut Vec<Found>, seen: &mut HashSet<(PathBuf, PathBuf)>, found: Found) {
    // The same interpreter reached twice from one folder (`python3` and `python3.12` there, a
    // shim and its target) is listed once, first place wins. A venv's `python` links to its
    // base interpreter but is another folder: both are listed (a venv does not hide its base).
    let file = std::fs::canonicalize(&found.path).unwrap_or_else(|_| found.path.clone());
    let dir = found
        .path
        .parent()
        .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()))
        .unwrap_or_default();
    if seen.insert((dir, file)) {
        out.push(found);
    }
}

/// Every candidate interpreter, in preference order (see the module docs). Nothing is run.
pub fn discover() -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    // The environments `choose_for` would pick for the current directory, first.
    let cwd = std::env::current_dir().unwrap_or_default();
    let venvs = [
        crate::choose::venv_of(&cwd),
        crate::choose::project_venv(&cwd),
        std::env::var_os("VIRTUAL_ENV")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        std::env::var_os("CONDA_PREFIX")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    ];
    for venv in venvs.into_iter().flatten() {
        if let Some(exe) = crate::choose::venv_python(&venv) {
            push(
                &mut out,
                &mut seen,
                Found {
                    path: exe,
                    via: None,
                    origin: Origin::Venv,
                    version_hint: None,
                },
            );
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in path_names() {
            let p = dir.join(&name);
            if !is_executable(&p) {
                continue;
            }
            let (exe, via) = match unshim(&p) {
                Ok(Some(real)) => (real, Some(p)),
                Ok(None) => (p, None),
                Err(_) => continue, // a shim for a version that is not selected
            };
            let version_hint = version_of_exe_name(&name).or_else(|| {
                exe.file_name()
                    .and_then(|n| version_of_exe_name(&n.to_string_lossy()))
            });
            push(
                &mut out,
                &mut seen,
                Found {
                    path: exe,
                    via,
                    origin: Origin::Path,
                    version_hint,
                },
            );
        }
    }
    if let Some(root) = pyenv_root() {
        for (name, dir) in sorted_dir(&root.join("versions")) {
            let exe = dir.join("bin/python");
            if let (Some(v), true) = (version_of_dir_name(&name), is_executable(&exe)) {
                push(
                    &mut out,
                    &mut seen,
                    Found {
                        path: exe,
                        via: None,
                        origin: Origin::Pyenv,
                        version_hint: Some(v),
                    },
                );
            }
        }
    }
    if let Some(uv) = uv_python_dir() {
        for (name, dir) in sorted_dir(&uv) {
            let Some(rest) = name.strip_prefix("cpython-") else {
                continue;
            };
            let exe = dir.join("bin/python3");
            let version = rest.split('-').next().and_then(version_of_dir_name);
            if let (Some(v), true) = (version, is_executable(&exe)) {
                push(
                    &mut out,
                    &mut seen,
                    Found {
                        path: exe,
                        via: None,
                        origin: Origin::Uv,
                        version_hint: Some(v),
                    },
                );
            }
        }
    }
    out
}

fn looked_where(version: PyVersion) -> Vec<String> {
    let mut looked = Vec::new();
    match std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        Some(v) => looked.push(format!("the active virtualenv {}", Path::new(&v).display())),
        None => looked.push("the active virtualenv (VIRTUAL_ENV is not set)".into()),
    }
    let path = std::env::var("PATH").unwrap_or_default();
    looked.push(format!("python{version} and python3 on PATH ({path})"));
    match pyenv_root() {
        Some(root) => {
            let dir = root.join("versions");
            let names: Vec<String> = sorted_dir(&dir).into_iter().map(|(n, _)| n).collect();
            if names.is_empty() {
                looked.push(format!("pyenv versions in {} (none)", dir.display()));
            } else {
                looked.push(format!(
                    "pyenv versions in {} ({})",
                    dir.display(),
                    names.join(", ")
                ));
            }
        }
        None => looked.push("pyenv (no PYENV_ROOT or HOME)".into()),
    }
    match uv_python_dir() {
        Some(dir) => {
            let names: Vec<String> = sorted_dir(&dir).into_iter().map(|(n, _)| n).collect();
            if names.is_empty() {
                looked.push(format!("uv managed pythons in {} (none)", dir.display()));
            } else {
                looked.push(format!(
                    "uv managed pythons in {} ({})",
                    dir.display(),
                    names.join(", ")
                ));
            }
        }
        None => looked.push("uv managed pythons (no HOME)".into()),
    }
    looked
}

/// Turn `--python` into one executable: a version (`3.12`: the first candidate of that version
/// in [`discover`] order), a path (anything with a `/`), or a name on PATH (`python3.11`). A
/// pyenv shim becomes the interpreter it would run.
pub fn resolve(spec: &str) -> Result<PathBuf, ResolveError> {
    if spec.is_empty() {
        return Err(ResolveError::BadSpec(spec.into()));
    }
    let p = PathBuf::from(spec);
    if spec.contains('/') || p.is_dir() {
        if p.is_dir() {
            // A virtual environment (or conda prefix) means its interpreter.
            return match crate::choose::venv_python(&p) {
                Some(exe) if crate::choose::is_venv(&p) || p.join("conda-meta").is_dir() => Ok(exe),
                _ => Err(ResolveError::Folder(p)),
            };
        }
        if !is_executable(&p) {
            return Err(ResolveError::NoSuchFile(p));
        }
        return Ok(unshim(&p)?.unwrap_or(p));
    }
    if let Ok(version) = spec.parse::<PyVersion>() {
        if spec.starts_with(|c: char| c.is_ascii_digit()) {
            return resolve_version(version);
        }
    }
    if spec.starts_with(|c: char| c.is_ascii_digit()) {
        // `3`, `3.12.1`, `312`: a version, but not one in the X.Y form.
        return Err(ResolveError::BadSpec(spec.into()));
    }
    let Some(p) = which(spec) else {
        return Err(ResolveError::NotOnPath {
            name: spec.to_string(),
            path: std::env::var("PATH").unwrap_or_default(),
        });
    };
    Ok(unshim(&p)?.unwrap_or(p))
}

fn resolve_version(version: PyVersion) -> Result<PathBuf, ResolveError> {
    let candidates = discover();
    // Names that say their version first; then the unnamed ones (a venv's `python`, a bare
    // `python3`), which take a probe (cached) to know.
    if let Some(hit) = candidates.iter().find(|f| f.version_hint == Some(version)) {
        return Ok(hit.path.clone());
    }
    for f in candidates.iter().filter(|f| f.version_hint.is_none()) {
        if let Ok(p) = probe_cached(&f.path) {
            if p.implementation == "cpython" && p.version() == version {
                return Ok(f.path.clone());
            }
        }
    }
    Err(ResolveError::NotInstalled {
        version,
        looked: looked_where(version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_carry_a_version() {
        assert_eq!(
            version_of_exe_name("python3.12"),
            Some(PyVersion::new(3, 12))
        );
        assert_eq!(version_of_exe_name("python2.7"), Some(PyVersion::new(2, 7)));
        assert_eq!(version_of_exe_name("python3"), None);
        assert_eq!(version_of_dir_name("3.13.0"), Some(PyVersion::new(3, 13)));
        assert_eq!(version_of_dir_name("system"), None);
        assert_eq!(version_of_dir_name("pypy3.10-7.3.12"), None);
    }

    #[test]
    fn newest_directory_first() {
        let mut names = vec!["3.9.18", "3.13.0", "3.12.1", "2.7.18"];
        names.sort_by_key(|n| std::cmp::Reverse(version_key(n)));
        assert_eq!(names, ["3.13.0", "3.12.1", "3.9.18", "2.7.18"]);
    }
}
