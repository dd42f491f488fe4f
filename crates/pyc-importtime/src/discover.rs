//! Resolving `--python X.Y|PATH|NAME` to a probed CPython, through the shared discovery in
//! `pyc-python` ([`pyc_python::resolve`]: a version is looked for in the active virtualenv, on
//! PATH with pyenv shims resolved, in pyenv's and uv's versions; a path as given; a name on
//! PATH). No `--python`: `python3` on PATH.

use std::path::PathBuf;

use crate::run::{Interpreter, RunError};

/// Find and probe the interpreter `spec` names (`None`: the default `python3`).
pub fn resolve(spec: Option<&str>) -> Result<Interpreter, RunError> {
    let path = match spec {
        None => pyc_python::default_python().map_err(|e| RunError::Probe {
            path: PathBuf::from("python3"),
            what: e.to_string(),
        })?,
        Some(s) => pyc_python::resolve(s).map_err(|e| RunError::Probe {
            path: PathBuf::from(s),
            what: e.to_string(),
        })?,
    };
    let probe = pyc_python::probe(&path).map_err(|e| RunError::Probe {
        path: path.clone(),
        what: e.to_string(),
    })?;
    if probe.implementation != "cpython" {
        return Err(RunError::Probe {
            path,
            what: format!("is {}, not CPython", probe.implementation),
        });
    }
    Ok(Interpreter {
        version: format!("{}.{}.{}", probe.major, probe.minor, probe.micro),
        major: probe.major,
        minor: probe.minor,
        path,
    })
}
