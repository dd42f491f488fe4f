//! Probe results remembered on disk, so that a command with nothing to do starts no interpreter.
//!
//! The key is the executable as given (made absolute), the identity of the file it resolves to
//! (device, inode, size, modification time in nanoseconds), and the values of the environment
//! variables that change what the probe reports (`PYTHONPYCACHEPREFIX`, `PYTHONOPTIMIZE`,
//! `PYTHONDONTWRITEBYTECODE`, `PYTHONHOME`). Replacing or upgrading the interpreter changes its
//! identity, so a stale entry is never used. Scripts (a file starting with `#!`, such as a pyenv
//! shim) are never cached: what they run depends on more than their own bytes.
//!
//! The cache lives in `$PYC_CACHE_DIR`, else `$XDG_CACHE_HOME/pyc`, else `~/.cache/pyc`, as
//! `probes-v1.json`. `PYC_NO_PROBE_CACHE=1` turns it off. Any problem reading or writing it is
//! ignored (the interpreter is then simply probed). Within one process every executable is
//! probed at most once, cached on disk or not.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::{probe, Probe, ProbeError};

const FILE: &str = "probes-v1.json";
const ENV_KEYS: &[&str] = &[
    "PYTHONPYCACHEPREFIX",
    "PYTHONOPTIMIZE",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONHOME",
];

/// Where pyc keeps its own small caches (probe results), or None when there is no home.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PYC_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("pyc"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pyc"))
}

fn is_script(path: &Path) -> bool {
    let mut first = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut first))
        .map(|()| &first == b"#!")
        .unwrap_or(true)
}

fn key(executable: &Path) -> Option<String> {
    let abs = std::path::absolute(executable).ok()?;
    let meta = std::fs::metadata(&abs).ok()?;
    if is_script(&abs) {
        return None;
    }
    let mut k = format!(
        "{}\0{}:{}:{}:{}.{}",
        abs.display(),
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    for name in ENV_KEYS {
        k.push('\0');
        if let Some(v) = std::env::var_os(name) {
            k.push_str(&v.to_string_lossy());
        } else {
            k.push('-');
        }
    }
    Some(k)
}

fn load(file: &Path) -> BTreeMap<String, Probe> {
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn store(dir: &Path, entries: &BTreeMap<String, Probe>) {
    let Ok(text) = serde_json::to_vec(entries) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, dir.join(FILE)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Probes made by this process, by executable as given: one probe per interpreter per run,
/// however many subcommand parts (targets, `--python` repeated, `pyc python`'s list, a
/// path's venv) ask about it. Scripts (shims, wrappers), which the on-disk cache never keeps,
/// are remembered here too.
static THIS_RUN: std::sync::Mutex<BTreeMap<PathBuf, Probe>> =
    std::sync::Mutex::new(BTreeMap::new());

/// [`probe`], at most once per executable in a process, and answered from the on-disk cache
/// when the same executable, unchanged, was probed before under the same environment.
pub fn probe_cached(executable: &Path) -> Result<Probe, ProbeError> {
    let memo_key = std::path::absolute(executable).unwrap_or_else(|_| executable.to_path_buf());
    if let Some(hit) = THIS_RUN.lock().ok().and_then(|m| m.get(&memo_key).cloned()) {
        return Ok(Probe {
            executable: executable.to_path_buf(),
            ..hit
        });
    }
    let probe = probe_on_disk(executable)?;
    if let Ok(mut m) = THIS_RUN.lock() {
        m.insert(memo_key, probe.clone());
    }
    Ok(probe)
}

fn probe_on_disk(executable: &Path) -> Result<Probe, ProbeError> {
    let enabled =
        !std::env::var_os("PYC_NO_PROBE_CACHE").is_some_and(|v| !v.is_empty() && v != "0");
    let (Some(dir), Some(k), true) = (cache_dir(), key(executable), enabled) else {
        return probe(executable);
    };
    let file = dir.join(FILE);
    let mut entries = load(&file);
    if let Some(hit) = entries.get(&k) {
        let mut hit = hit.clone();
        hit.executable = executable.to_path_buf();
        return Ok(hit);
    }
    let fresh = probe(executable)?;
    // Keep the file small: entries for executables that no longer exist are dropped.
    entries.retain(|key, _| {
        key.split('\0')
            .next()
            .is_some_and(|p| Path::new(p).exists())
    });
    entries.insert(k, fresh.clone());
    store(&dir, &entries);
    Ok(fresh)
}
