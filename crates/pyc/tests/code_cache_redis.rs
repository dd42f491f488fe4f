//! `pyc compile --code-cache redis://...` against a real `redis-server` (Debian's package),
//! started by each test on a free loopback port and stopped after it. Without `redis-server`
//! the tests say so and pass, except under `CI=true`, where they fail (`.ci/run` installs
//! it).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyc_testutil::{live_pythons, report_used, LivePython};

/// A redis-server on 127.0.0.1, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// None (after saying why) when redis-server is not installed and this is not CI.
    fn start(test: &str) -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            let msg = format!(
                "{test}: redis-server not found (Debian: apt-get install redis-server); not run"
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
            eprintln!("{msg}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(r)
    }

    fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    fn cli(&self, db: u8, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "-n", &db.to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, db: u8) -> Vec<String> {
        let mut k: Vec<String> = self
            .cli(db, &["--raw", "keys", "*"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        k.sort();
        k
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pyc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(args)
        .current_dir(cwd)
        .env("PYC_CACHE_DIR", cwd.join("probes"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .env_remove("PYC_CODE_CACHE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Sources with a fixed mtime: a package, a file naming the path of B's copy of itself (the
/// same bytes in every copy), one that fails.
fn tree(dir: &Path) -> usize {
    let b_here = dir.parent().unwrap().join("b/here.py");
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    let files = [
        ("pkg/__init__.py", "from .m import f\n".to_string()),
        (
            "pkg/m.py",
            "import os\nclass C:\n    def g(self, x):\n        return {'a': x, 'b': [i for i in x]}\ndef f():\n    return C().g((1, 2))\n".into(),
        ),
        (
            "here.py",
            format!("HERE = {:?}\n", b_here.display().to_string()),
        ),
        ("bad.py", "def f(:\n".into()),
    ];
    for (name, text) in &files {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .unwrap();
    }
    files.len()
}

fn pycs(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pyc") {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn clear_pycs(root: &Path) {
    for p in pycs(root).keys() {
        std::fs::remove_file(root.join(p)).unwrap();
    }
}

fn compile(cwd: &Path, py: &LivePython, tree: &Path, extra: &[&str]) -> serde_json::Value {
    let exe = py.path.to_string_lossy().into_owned();
    let mut args = vec![
        "compile",
        tree.to_str().unwrap(),
        "--python",
        &exe,
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = pyc(cwd, &args);
    assert_eq!(out.status.code(), Some(1), "bad.py fails: {out:?}");
    json(&out)
}

/// The live test of issue 19: a tree compiled at A with a local folder and Redis; the same
/// sources at B with an empty local folder and the same Redis: no interpreter starts, and
/// every pyc equals `pyc compile` at B without a cache, byte for byte; the remote hits fill
/// the local folder. Then the misses, a damaged entry, read-only use, for every interpreter.
#[test]
fn redis_tier_moves_code_to_a_fresh_runner() {
    let Some(redis) = Redis::start("redis_tier_moves_code_to_a_fresh_runner") else {
        return;
    };
    let pythons = live_pythons();
    report_used("redis_tier_moves_code_to_a_fresh_runner", &pythons);
    for (i, py) in pythons.iter().enumerate() {
        let db = i as u8;
        let url = redis.url(db);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (a, b) = (root.join("a"), root.join("b"));
        let n = tree(&a);
        let first = compile(
            &root,
            py,
            &a,
            &["--code-cache", "local-a", "--code-cache", &url],
        );
        assert_eq!(
            first["code_cache"]["misses"].as_u64(),
            Some(n as u64),
            "{first}"
        );
        assert_eq!(redis.keys(db).len(), n, "{}", py.version);

        tree(&b);
        compile(&root, py, &b, &[]);
        let reference = pycs(&b);
        assert_eq!(reference.len(), n - 1);
        clear_pycs(&b);
        let second = compile(
            &root,
            py,
            &b,
            &["--code-cache", "local-b", "--code-cache", &url],
        );
        assert_eq!(second["interpreters_started"], 0, "{} {second}", py.version);
        assert_eq!(
            second["code_cache"]["remote_hits"].as_u64(),
            Some(n as u64),
            "{second}"
        );
        assert_eq!(pycs(&b), reference, "{}", py.version);
        assert_eq!(second["failures"][0]["kind"], "compile", "{second}");
        // The remote hits filled the local folder: without Redis, the same.
        clear_pycs(&b);
        let third = compile(&root, py, &b, &["--code-cache", "local-b"]);
        assert_eq!(third["interpreters_started"], 0, "{} {third}", py.version);
        assert_eq!(pycs(&b), reference, "{}", py.version);

        // A damaged remote entry: a miss, counted, compiled; never written out as it is.
        let key = redis.keys(db)[0].clone();
        redis.cli(db, &["set", &key, "pycode2\ngarbage"]);
        clear_pycs(&b);
        let fourth = compile(&root, py, &b, &["--code-cache", &url]);
        assert_eq!(
            fourth["code_cache"]["damaged"], 1,
            "{} {fourth}",
            py.version
        );
        assert_eq!(pycs(&b), reference, "{}", py.version);

        // Read-only: a changed source is compiled and not stored.
        let keys = redis.keys(db);
        std::fs::write(b.join("new.py"), "N = 1\n").unwrap();
        let ro = compile(
            &root,
            py,
            &b,
            &["--code-cache", &url, "--code-cache-mode", "read-only"],
        );
        assert_eq!(ro["code_cache"]["stored"], 0, "{ro}");
        assert_eq!(redis.keys(db), keys, "read-only stored");
    }
}

/// A Redis that is down (stopped before the run): one warning, the time limit at most once,
/// the compile goes on and exits as it would without a cache. Two runs filling the same keys
/// at once both succeed, and the entries are intact. With the newest interpreter found.
#[test]
fn redis_down_or_shared_by_concurrent_writers() {
    let Some(mut redis) = Redis::start("redis_down_or_shared_by_concurrent_writers") else {
        return;
    };
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(
        "redis_down_or_shared_by_concurrent_writers",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let url = redis.url(0);
    // Concurrent writers: two trees with the same sources, compiled at once.
    let (a, b) = (root.join("a"), root.join("b"));
    let n = tree(&a);
    tree(&b);
    let exe = py.path.to_string_lossy().into_owned();
    let spawn = |t: &Path| {
        Command::new(assert_cmd::cargo::cargo_bin("pyc"))
            .args([
                "compile",
                t.to_str().unwrap(),
                "--python",
                &exe,
                "--format",
                "json",
            ])
            .args(["--code-cache", &url])
            .current_dir(&root)
            .env("PYC_CACHE_DIR", root.join("probes"))
            .env_remove("SOURCE_DATE_EPOCH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let d = json(&out);
        assert_eq!(d["code_cache"]["remote_errors"], 0, "{d}");
        assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("warning"));
    }
    assert_eq!(redis.keys(0).len(), n);
    clear_pycs(&a);
    let again = compile(&root, py, &a, &["--code-cache", &url]);
    assert_eq!(
        again["code_cache"]["hits"].as_u64(),
        Some(n as u64),
        "{again}"
    );
    assert_eq!(again["interpreters_started"], 0, "{again}");

    // Down: one warning, then on without it.
    redis.stop();
    clear_pycs(&a);
    let start = Instant::now();
    let out = pyc(
        &root,
        &[
            "compile",
            a.to_str().unwrap(),
            "--python",
            &exe,
            "--format",
            "json",
            "--code-cache",
            &url,
            "--code-cache-timeout",
            "1",
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let d = json(&out);
    assert_eq!(d["written"].as_u64(), Some(n as u64 - 1), "{d}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&format!("127.0.0.1:{}", redis.port)),
        "{stderr}"
    );
    // (Threads that asked at the same moment each count their failure; the warning is one.)
    assert!(d["code_cache"]["remote_errors"].as_u64() >= Some(1), "{d}");
}

/// The local tier in front of Redis is bounded by `--code-cache-size`; Redis keeps every
/// entry, so what the local folder evicted comes back from it.
#[test]
fn redis_behind_a_bounded_local_tier() {
    let Some(redis) = Redis::start("redis_behind_a_bounded_local_tier") else {
        return;
    };
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(
        "redis_behind_a_bounded_local_tier",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let a = root.join("a");
    let n = tree(&a) as u64;
    let url = redis.url(0);
    let first = compile(
        &root,
        py,
        &a,
        &[
            "--code-cache",
            "local",
            "--code-cache",
            &url,
            "--code-cache-size",
            "1",
        ],
    );
    assert_eq!(first["code_cache"]["evicted"].as_u64(), Some(n), "{first}");
    clear_pycs(&a);
    let second = compile(
        &root,
        py,
        &a,
        &["--code-cache", "local", "--code-cache", &url],
    );
    assert_eq!(
        second["code_cache"]["remote_hits"].as_u64(),
        Some(n),
        "{second}"
    );
    assert_eq!(second["interpreters_started"], 0, "{second}");
}
