//! The whole command line on one hostile pyc: `pyc show --code --format json`, `pyc dis`
//! (text and JSON), `pyc diff` against a mutated copy, and `pyc status --verify` on a tree
//! where the pyc is the source's fresh-looking cache. Each run of the `pyc` binary must end
//! within a time limit, with exit 0 or 1 (2 only where documented: `diff` as `cmp` on a file
//! that is not a pyc, `status` on an `error` verdict), no panic or abort, at most one stderr line per problem, and bounded output.
//!
//! Used by the libFuzzer target `cli_hostile` (nightly, `cargo fuzz run cli_hostile`) and by
//! the stable driver `cli_driver` (`cargo run --release --bin cli_driver -- --runs N`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Output of one command beyond this is a finding (the JSON view caps itself at 64 MiB; text
/// at far less).
pub const MAX_OUTPUT: usize = 96 << 20;
/// A command that runs longer than this is a finding.
pub const MAX_TIME: Duration = Duration::from_secs(30);

/// The `pyc` binary to run: `PYC_BIN`, else `target/ci/pyc` or `target/release/pyc` of the
/// main workspace.
pub fn pyc_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PYC_BIN") {
        return p.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for p in ["target/ci/pyc", "target/release/pyc", "target/debug/pyc"] {
        if root.join(p).exists() {
            return root.join(p);
        }
    }
    panic!("no pyc binary: build it (cargo build --profile ci) or set PYC_BIN");
}

/// Run `pyc ARGS`, bounded in time and output; `Err` says what went wrong.
fn run(pyc: &Path, dir: &Path, args: &[&str]) -> Result<(), String> {
    let what = format!("pyc {}", args.join(" "));
    let mut child = Command::new(pyc)
        .args(args)
        .current_dir(dir)
        .env_remove("PYTHONPYCACHEPREFIX")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        // Count the bytes; keep none (output can be large).
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(k) = stdout.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k;
        }
        n
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = (&mut stderr).take(1 << 20).read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| format!("{what}: {e}"))? {
            break s;
        }
        if start.elapsed() > MAX_TIME {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what}: still running after {MAX_TIME:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out_len = out_reader.join().unwrap_or(usize::MAX);
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let code = status.code();
    let status_cmd = args.first() == Some(&"status");
    // `diff` exits as `cmp` (2: a file is not a pyc); `status` 2 for an `error` verdict.
    let exit_2_ok = status_cmd || args.first() == Some(&"diff");
    let ok_code = matches!(code, Some(0 | 1)) || (exit_2_ok && code == Some(2));
    if !ok_code {
        return Err(format!("{what}: exit {status:?}: {err}"));
    }
    if err.contains("panicked") || err.contains("overflow") {
        return Err(format!("{what}: {err}"));
    }
    if !status_cmd && err.lines().count() > 1 {
        return Err(format!("{what}: more than one stderr line: {err}"));
    }
    if out_len > MAX_OUTPUT {
        return Err(format!("{what}: {out_len} bytes of output"));
    }
    Ok(())
}

/// Every command on pyc `a` (and `b` for diff), in a scratch folder `dir`.
pub fn check_cli(pyc: &Path, dir: &Path, a: &[u8], b: &[u8]) -> Result<(), String> {
    let pkg = dir.join("pkg");
    let cache = pkg.join("__pycache__");
    std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("a.pyc"), a).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("b.pyc"), b).map_err(|e| e.to_string())?;
    // For status --verify: a source whose mtime and size match the header of `a` when it is
    // a 3.12 timestamp pyc with mtime 0 and size 0 (what the generators write), so the body
    // is read and unmarshalled.
    let src = pkg.join("m.py");
    std::fs::write(&src, b"").map_err(|e| e.to_string())?;
    let f = std::fs::File::options()
        .write(true)
        .open(&src)
        .map_err(|e| e.to_string())?;
    f.set_modified(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    std::fs::write(cache.join("m.cpython-312.pyc"), a).map_err(|e| e.to_string())?;
    run(pyc, dir, &["show", "--code", "--format", "json", "a.pyc"])?;
    run(pyc, dir, &["show", "--code", "a.pyc"])?;
    run(pyc, dir, &["dis", "a.pyc"])?;
    run(pyc, dir, &["dis", "--format", "json", "a.pyc"])?;
    run(pyc, dir, &["diff", "a.pyc", "b.pyc"])?;
    run(
        pyc,
        dir,
        &["status", "--verify", "--python", "3.12", "--no-git", "pkg"],
    )?;
    Ok(())
}

/// A small deterministic generator (xorshift64*), so runs can be repeated from their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// A few byte mutations of `data`: flips, overwrites, inserts, deletes, truncation.
pub fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(d.len().max(1));
        match rng.below(5) {
            0 if !d.is_empty() => d[at] ^= 1 << rng.below(8),
            1 if !d.is_empty() => d[at] = rng.next_u64() as u8,
            2 => d.insert(at.min(d.len()), rng.next_u64() as u8),
            3 if !d.is_empty() => {
                d.remove(at);
            }
            _ => d.truncate(at.max(17)),
        }
    }
    d
}

/// The seeds: every hostile generator at small sizes, and the golden 3.12 fixtures.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use pyc_testutil::hostile;
    let mut s = vec![
        ("nested_tuples(2000)".into(), hostile::nested_tuples(2000)),
        ("nested_code(2000)".into(), hostile::nested_code(2000)),
        ("doubling_tuples(40)".into(), hostile::doubling_tuples(40)),
        ("wide_refs(200, 2000)".into(), hostile::wide_refs(200, 2000)),
        ("big_int(2000)".into(), hostile::big_int(2000)),
        (
            "fat_refs(10, 1000, 500)".into(),
            hostile::fat_refs(10, 1000, 500),
        ),
    ];
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dis/3.12");
    if let Ok(entries) = std::fs::read_dir(&fixtures) {
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            if p.extension().is_some_and(|e| e == "pyc") {
                if let Ok(data) = std::fs::read(&p) {
                    s.push((format!("fixture {}", p.display()), data));
                }
            }
        }
    }
    s
}
