//! Which interpreter a path is for, when `--python` does not say: the interpreter that will
//! run the code, found in the order uv finds a project's interpreter.
//!
//! 1. the virtual environment the path belongs to: a folder holding `pyvenv.cfg` at or above
//!    the path (its site-packages are that venv's);
//! 2. a project venv: `.venv`, then `venv`, holding `pyvenv.cfg`, in the path's folder or a
//!    parent, up to the file-system root or the repository root (a folder holding `.git`);
//! 3. the active environment: `VIRTUAL_ENV`, then `CONDA_PREFIX`;
//! 4. `python3` on PATH, a pyenv shim replaced by the interpreter it would run.
//!
//! Nothing here runs an interpreter; [`crate::Interpreter::probe`] does.

use std::path::{Path, PathBuf};

use crate::discover::unshim;
use crate::{is_executable, which, ResolveError};

/// Why an interpreter was chosen: the reports say it ("3.12 from ./.venv").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// `--python`, as typed.
    Flag(String),
    /// The virtual environment the path belongs to.
    PathVenv(PathBuf),
    /// A project's `.venv` / `venv` at or above the path.
    ProjectVenv(PathBuf),
    /// `VIRTUAL_ENV`.
    VirtualEnv(PathBuf),
    /// `CONDA_PREFIX`.
    CondaPrefix(PathBuf),
    /// `python3` on PATH (the shim it was found as, if it was one).
    PathPython3 { via: Option<PathBuf> },
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Flag(s) => write!(f, "from --python {s}"),
            Why::PathVenv(d) => write!(f, "from {} (the path's venv)", show(d)),
            Why::ProjectVenv(d) => write!(f, "from {}", show(d)),
            Why::VirtualEnv(d) => write!(f, "from VIRTUAL_ENV={}", show(d)),
            Why::CondaPrefix(d) => write!(f, "from CONDA_PREFIX={}", show(d)),
            Why::PathPython3 { via: Some(v) } => {
                write!(f, "from python3 on PATH (via {})", show(v))
            }
            Why::PathPython3 { via: None } => f.write_str("from python3 on PATH"),
        }
    }
}

/// A path relative to the current directory when it is below it (`./.venv`), else as is.
fn show(p: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = p.strip_prefix(&cwd) {
            return if rel.as_os_str().is_empty() {
                ".".into()
            } else {
                format!("./{}", rel.display())
            };
        }
    }
    p.display().to_string()
}

/// An executable chosen, not yet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub exe: PathBuf,
    pub why: Why,
}

/// Is `dir` a virtual environment (`pyvenv.cfg`, PEP 405)?
pub fn is_venv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file()
}

/// The interpreter of a virtual environment (or conda prefix): `bin/python`, else
/// `bin/python3`.
pub fn venv_python(dir: &Path) -> Option<PathBuf> {
    ["bin/python", "bin/python3"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| is_executable(p))
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    // Symlinks resolved where possible, so that `venv/lib/python3.12/site-packages` given
    // through a link still finds the venv it is in; else made absolute lexically.
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// The folder a path stands for: itself if a folder, else its parent.
fn folder_of(p: &Path) -> PathBuf {
    let abs = absolute(p);
    if abs.is_dir() {
        abs
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or(abs)
    }
}

/// The virtual environment `path` is in (a `pyvenv.cfg` at or above it).
pub fn venv_of(path: &Path) -> Option<PathBuf> {
    folder_of(path)
        .ancestors()
        .find(|d| is_venv(d))
        .map(Path::to_path_buf)
}

/// A project venv for `path`: `.venv`, then `venv`, holding `pyvenv.cfg`, in the path's folder
/// or a parent, up to the file-system root or the first folder holding `.git`.
pub fn project_venv(path: &Path) -> Option<PathBuf> {
    for dir in folder_of(path).ancestors() {
        for name in [".venv", "venv"] {
            let v = dir.join(name);
            if is_venv(&v) && venv_python(&v).is_some() {
                return Some(v);
            }
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The interpreter for code at `path` when `--python` is not given (see the module docs), or
/// an error that says where pyc looked.
pub fn choose_for(path: &Path) -> Result<Chosen, ResolveError> {
    if let Some(v) = venv_of(path) {
        if let Some(exe) = venv_python(&v) {
            return Ok(Chosen {
                exe,
                why: Why::PathVenv(v),
            });
        }
    }
    if let Some(v) = project_venv(path) {
        if let Some(exe) = venv_python(&v) {
            return Ok(Chosen {
                exe,
                why: Why::ProjectVenv(v),
            });
        }
    }
    for (var, make) in [
        ("VIRTUAL_ENV", Why::VirtualEnv as fn(PathBuf) -> Why),
        ("CONDA_PREFIX", Why::CondaPrefix),
    ] {
        if let Some(d) = env_dir(var) {
            if let Some(exe) = venv_python(&d) {
                return Ok(Chosen { exe, why: make(d) });
            }
        }
    }
    let Some(p) = which("python3") else {
        return Err(ResolveError::NoDefault {
            path: std::env::var("PATH").unwrap_or_default(),
        });
    };
    Ok(match unshim(&p)? {
        Some(real) => Chosen {
            exe: real,
            why: Why::PathPython3 { via: Some(p) },
        },
        None => Chosen {
            exe: p,
            why: Why::PathPython3 { via: None },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_venv(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("pyvenv.cfg"), "home = /x\n").unwrap();
        let exe = dir.join("bin/python");
        std::fs::write(&exe, "").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn the_paths_own_venv_wins_over_the_project_venv() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        fake_venv(&root.join(".venv"));
        fake_venv(&root.join("other"));
        let sp = root.join("other/lib/python3.12/site-packages");
        std::fs::create_dir_all(&sp).unwrap();
        let c = choose_for(&sp).unwrap();
        assert_eq!(c.why, Why::PathVenv(root.join("other")));
        assert_eq!(c.exe, root.join("other/bin/python"));
        let pkg = root.join("src/pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        assert_eq!(
            choose_for(&pkg).unwrap().why,
            Why::ProjectVenv(root.join(".venv"))
        );
    }

    #[test]
    fn dot_venv_before_venv_and_the_search_stops_at_the_repository_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        fake_venv(&root.join("venv"));
        let repo = root.join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        // Above the repository: not this project's.
        assert_eq!(project_venv(&repo.join("a/b")), None);
        assert_eq!(project_venv(&root), Some(root.join("venv")));
        fake_venv(&root.join(".venv"));
        assert_eq!(project_venv(&root), Some(root.join(".venv")));
    }
}
