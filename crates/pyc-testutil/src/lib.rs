//! Test support shared by every crate's tests (a dev-dependency only).
//!
//! * [`fixtures`]: the committed golden fixtures under `tests/fixtures/`, made by real
//!   interpreters through `scripts/gen_*.py`.
//! * [`live_pythons`]: the real CPythons on this machine (pyenv's), for live tests. Each live
//!   test prints which interpreters it used. With `CI=true`, finding none is a failure, so CI
//!   can never skip every live test silently. `PYC_TEST_PYTHONS=/path/a:/path/b` overrides
//!   the search.
//! * [`servers`]: real code cache stores (Redis, S3 through moto, WebDAV through rclone) on
//!   loopback for the code cache tests, a proxy that kills one mid-run, a store that hangs.
//! * [`hostile`]: generators of hostile pycs (deep, wide, huge), for tests, fuzz seeds and
//!   `bench/`.

pub mod hostile;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// `tests/fixtures/<rel>`.
pub fn fixtures(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// A real interpreter found on this machine.
#[derive(Debug, Clone)]
pub struct LivePython {
    /// "3.12"
    pub version: String,
    pub path: PathBuf,
}

/// `scripts/observe_code.py --compare` run by `py` on pairs of pycs (`[a1, b1, a2, b2, ...]`):
/// `Ok` when every pair loads as observably the same code (every field, which strings are
/// interned, frozenset iteration order), else what differs. Panics when the script itself fails.
pub fn observe(py: &LivePython, pairs: &[PathBuf]) -> Result<(), String> {
    let out = Command::new(&py.path)
        .arg(repo_root().join("scripts/observe_code.py"))
        .arg("--compare")
        .args(pairs)
        .output()
        .unwrap_or_else(|e| panic!("{}: cannot run observe_code.py: {e}", py.version));
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => panic!(
            "{}: observe_code.py failed: {}",
            py.version,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn pyenv_root() -> Option<PathBuf> {
    if let Some(r) = std::env::var_os("PYENV_ROOT") {
        return Some(PathBuf::from(r));
    }
    if let Ok(out) = Command::new("pyenv").arg("root").output() {
        if out.status.success() {
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !s.is_empty() {
                return Some(PathBuf::from(s));
            }
        }
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv"))
}

fn version_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every live CPython found (oldest first, one per minor version). Panics under `CI=true` when
/// there is none.
pub fn live_pythons() -> Vec<LivePython> {
    let mut found: Vec<LivePython> = Vec::new();
    if let Some(list) = std::env::var_os("PYC_TEST_PYTHONS") {
        for p in std::env::split_paths(&list) {
            if let Some(version) = version_of(&p) {
                found.push(LivePython { version, path: p });
            }
        }
    } else if let Some(root) = pyenv_root() {
        if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let mut parts = name.split('.');
                let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
                    continue;
                };
                if a.parse::<u8>().is_err() || b.parse::<u8>().is_err() {
                    continue;
                }
                let exe = e.path().join("bin/python");
                if exe.exists() {
                    found.push(LivePython {
                        version: format!("{a}.{b}"),
                        path: exe,
                    });
                }
            }
        }
    }
    let key = |v: &str| -> (u32, u32) {
        let mut it = v.split('.').map(|x| x.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    found.sort_by_key(|p| key(&p.version));
    found.dedup_by(|a, b| a.version == b.version);
    if found.is_empty() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no live CPython was found (pyenv root or PYC_TEST_PYTHONS)");
    }
    found
}

/// The live interpreter of one version, if present.
pub fn live_python(version: &str) -> Option<LivePython> {
    live_pythons().into_iter().find(|p| p.version == version)
}

/// Print which interpreters a live test used (shown with `--nocapture` and on failure).
pub fn report_used(test: &str, used: &[LivePython]) {
    let names: Vec<&str> = used.iter().map(|p| p.version.as_str()).collect();
    eprintln!("{test}: live interpreters used: {}", names.join(", "));
}

/// Decode standard base64 (RFC 4648, padded: what Python's `base64.b64encode` writes), as the
/// fixture scripts store bytes in JSON. `None` for anything else.
pub fn b64decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let text = text.trim().as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn b64decode_known_values() {
        // Python: base64.b64encode(b"f"), b"fo", b"foobar", bytes(range(256))[:5]
        assert_eq!(super::b64decode("Zg==").unwrap(), b"f");
        assert_eq!(super::b64decode("Zm8=").unwrap(), b"fo");
        assert_eq!(super::b64decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(super::b64decode("AAECAwQ=").unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(super::b64decode(""), Some(Vec::new()));
        assert_eq!(super::b64decode("Zg=x"), None);
        assert_eq!(super::b64decode("abc"), None);
    }
}
