//! Resolving `--python X.Y|PATH|NAME` to a probed CPython, through the shared discovery in
//! `pyc-python` ([`pyc_python::resolve`]: a version is looked for in the active virtualenv, on
//! PATH with pyenv shims resolved, in pyenv's and uv's versions; a path as given; a name on
//! PATH). No `--python`: the interpreter that runs the code here ([`pyc_python::choose_for`]).

use std::path::PathBuf;

use crate::run::{Interpreter, RunError};

/// Find and probe the interpreter `spec` names (`None`: the default `python3`).
pub fn resolve(spec: Option<&str>) -> Result<Interpreter, RunError> {
    // pyc-python's one model: a --python value, or the interpreter that runs the code here
    // (the current directory's venv, a project .venv, VIRTUAL_ENV, ..., python3 on PATH).
    let found = match spec {
        None => pyc_python::Interpreter::for_path(std::path::Path::new(".")),
        Some(s) => pyc_python::Interpreter::from_flag(s),
    }
    .map_err(|e| RunError::Probe {
        path: PathBuf::from(spec.map_or("python3".to_string(), |s| format!("--python {s}"))),
        what: e.to_string(),
    })?;
    let probe = &found.probe;
    Ok(Interpreter {
        version: format!("{}.{}.{}", probe.major, probe.minor, probe.micro),
        major: probe.major,
        minor: probe.minor,
        path: probe.executable.clone(),
    })
}
