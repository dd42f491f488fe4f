//! Resolving `--python X.Y|PATH|NAME` to an interpreter.
//!
//! TEMPORARY: interpreter discovery belongs to `pyc-python` (the `compile` branch owns it).
//! Until that lands this module does the simple part on its own: a path as given, a version
//! `X.Y` as `pythonX.Y` on PATH and then pyenv's `$(pyenv root)/versions/X.Y.*/bin/python`, a
//! bare name on PATH, and no `--python` as `python3` on PATH. Replace [`resolve`] with the
//! shared discovery when it exists; nothing else here depends on how the path was found.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{Interpreter, RunError};

/// Find and probe the interpreter `spec` names (`None`: the default `python3`). For a version,
/// the first candidate that runs and reports that version wins (a pyenv shim on PATH for a
/// version that is not selected fails its probe, and pyenv's own folder is tried next).
pub fn resolve(spec: Option<&str>) -> Result<Interpreter, RunError> {
    let candidates: Vec<PathBuf> = match spec {
        None => vec![pyc_python::default_python().map_err(|e| RunError::Probe {
            path: PathBuf::from("python3"),
            what: e.to_string(),
        })?],
        Some(s) => candidates(s),
    };
    let mut last_error = None;
    for path in candidates {
        match pyc_python::probe(&path) {
            Ok(probe) => {
                let want = spec.filter(|s| is_version(s));
                if want.is_some_and(|w| w != format!("{}.{}", probe.major, probe.minor)) {
                    continue;
                }
                if probe.implementation != "cpython" {
                    return Err(RunError::Probe {
                        path,
                        what: format!("is {}, not CPython", probe.implementation),
                    });
                }
                return Ok(Interpreter {
                    version: format!("{}.{}.{}", probe.major, probe.minor, probe.micro),
                    major: probe.major,
                    minor: probe.minor,
                    path,
                });
            }
            // The probe error already names the path.
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    Err(RunError::Probe {
        path: PathBuf::from(spec.unwrap_or("python3")),
        what: last_error.unwrap_or_else(|| {
            "no such interpreter (tried a path, pythonX.Y on PATH and pyenv's versions)".into()
        }),
    })
}

fn candidates(spec: &str) -> Vec<PathBuf> {
    if spec.contains('/') {
        return vec![PathBuf::from(spec)];
    }
    if is_version(spec) {
        let mut v: Vec<PathBuf> = pyc_python::which(&format!("python{spec}"))
            .into_iter()
            .collect();
        v.extend(pyenv_version(spec));
        return v;
    }
    pyc_python::which(spec).into_iter().collect()
}

fn is_version(s: &str) -> bool {
    let mut it = s.split('.');
    matches!((it.next(), it.next(), it.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

fn pyenv_root() -> Option<PathBuf> {
    if let Some(r) = std::env::var_os("PYENV_ROOT") {
        return Some(PathBuf::from(r));
    }
    let out = Command::new("pyenv").arg("root").output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then(|| PathBuf::from(s))
}

/// The newest `$(pyenv root)/versions/X.Y.*/bin/python`.
fn pyenv_version(xy: &str) -> Option<PathBuf> {
    let versions = pyenv_root()?.join("versions");
    let mut best: Option<(u32, PathBuf)> = None;
    for e in std::fs::read_dir(&versions).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(xy).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Ok(micro) = rest.parse::<u32>() else {
            continue;
        };
        let exe = e.path().join("bin/python");
        if is_file(&exe) && best.as_ref().is_none_or(|(m, _)| micro > *m) {
            best = Some((micro, exe));
        }
    }
    best.map(|(_, p)| p)
}

fn is_file(p: &Path) -> bool {
    p.metadata().map(|m| m.is_file()).unwrap_or(false)
}
