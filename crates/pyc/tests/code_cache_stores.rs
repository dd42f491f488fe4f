//! `pyc compile --code-cache redis://… | s3://… | webdav+http://…` against real servers
//! (`pyc_testutil::servers`: redis-server, moto's S3 server, `rclone serve webdav`), each
//! started by its test on a free loopback port and killed after it. Without one the test says
//! so and passes, except under `CI=true`, where it fails. One body per scenario, run against
//! each store.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyc_testutil::servers::{clear_pycs, many_tree, pycs, small_tree, Hang, Proxy, Server, Store};
use pyc_testutil::{live_pythons, report_used, LivePython};

fn pyc_command(cwd: &Path, server: Option<&Server>, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pyc"));
    c.args(args)
        .current_dir(cwd)
        .env("PYC_CACHE_DIR", cwd.join("probes"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .env_remove("PYC_CODE_CACHE")
        .env_remove("PYC_CODE_CACHE_SIZE")
        .stdin(Stdio::null());
    if let Some(s) = server {
        s.env(&mut c, cwd);
    }
    c
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

fn run(
    cwd: &Path,
    server: Option<&Server>,
    py: &LivePython,
    tree: &Path,
    extra: &[&str],
) -> Output {
    let exe = py.path.to_string_lossy().into_owned();
    pyc_command(cwd, server, &["compile", tree.to_str().unwrap()])
        .args(["--python", &exe, "--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

/// A compile of [`small_tree`], where `bad.py` fails (exit 1).
fn compile(
    cwd: &Path,
    server: &Server,
    py: &LivePython,
    tree: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let out = run(cwd, Some(server), py, tree, extra);
    assert_eq!(out.status.code(), Some(1), "bad.py fails: {out:?}");
    json(&out)
}

fn warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("warning"))
        .map(String::from)
        .collect()
}

/// The live test of issue 19 per store: a tree compiled at A with a local folder and the
/// store; the same sources at B with an empty local folder and the same store: no interpreter
/// starts, and every pyc equals `pyc compile` at B without a cache, byte for byte; the remote
/// hits fill the local folder. Then a damaged entry and read-only use. Every interpreter.
fn moves_code_to_a_fresh_runner(store: Store) {
    let test = format!("{}_tier_moves_code_to_a_fresh_runner", store.name());
    let Some(server) = Server::start(store, &test) else {
        return;
    };
    let pythons = live_pythons();
    assert!(!pythons.is_empty(), "no live interpreter");
    report_used(&test, &pythons);
    for (i, py) in pythons.iter().enumerate() {
        let ns = i as u8;
        let url = server.url(ns);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (a, b) = (root.join("a"), root.join("b"));
        let n = small_tree(&a);
        let first = compile(
            &root,
            &server,
            py,
            &a,
            &["--code-cache", "local-a", "--code-cache", &url],
        );
        assert_eq!(
            first["code_cache"]["misses"].as_u64(),
            Some(n as u64),
            "{first}"
        );
        assert_eq!(server.keys(ns).len(), n, "{} {first}", py.version);

        small_tree(&b);
        compile(&root, &server, py, &b, &[]);
        let reference = pycs(&b);
        assert_eq!(reference.len(), n - 1);
        clear_pycs(&b);
        let second = compile(
            &root,
            &server,
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
        // The remote hits filled the local folder: without the store, the same.
        clear_pycs(&b);
        let third = compile(&root, &server, py, &b, &["--code-cache", "local-b"]);
        assert_eq!(third["interpreters_started"], 0, "{} {third}", py.version);
        assert_eq!(pycs(&b), reference, "{}", py.version);

        // A damaged remote entry: a miss, counted, compiled; never written out as it is.
        let key = server.keys(ns)[0].clone();
        server.damage(ns, &key);
        clear_pycs(&b);
        let fourth = compile(&root, &server, py, &b, &["--code-cache", &url]);
        assert_eq!(
            fourth["code_cache"]["damaged"], 1,
            "{} {fourth}",
            py.version
        );
        assert_eq!(pycs(&b), reference, "{}", py.version);

        // Read-only: a changed source is compiled and not stored.
        let keys = server.keys(ns);
        std::fs::write(b.join("new.py"), "N = 1\n").unwrap();
        let ro = compile(
            &root,
            &server,
            py,
            &b,
            &["--code-cache", &url, "--code-cache-mode", "read-only"],
        );
        assert_eq!(ro["code_cache"]["misses"], 1, "{ro}");
        assert_eq!(ro["code_cache"]["stored"], 0, "{ro}");
        assert_eq!(server.keys(ns), keys, "read-only stored");
    }
}

/// Two runs filling the same keys at once both succeed, and the entries are intact. A store
/// that is down (stopped before the run): one warning, the time limit at most once, the
/// compile goes on and exits as it would without a cache. With the newest interpreter found.
fn down_or_shared_by_concurrent_writers(store: Store) {
    let test = format!("{}_down_or_shared_by_concurrent_writers", store.name());
    let Some(mut server) = Server::start(store, &test) else {
        return;
    };
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(&test, std::slice::from_ref(py));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let url = server.url(7);
    let (a, b) = (root.join("a"), root.join("b"));
    let n = small_tree(&a);
    small_tree(&b);
    let exe = py.path.to_string_lossy().into_owned();
    let spawn = |t: &Path| {
        pyc_command(&root, Some(&server), &["compile", t.to_str().unwrap()])
            .args(["--python", &exe, "--format", "json", "--code-cache", &url])
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
        assert!(warnings(&out).is_empty(), "{out:?}");
    }
    assert_eq!(server.keys(7).len(), n);
    clear_pycs(&a);
    let again = compile(&root, &server, py, &a, &["--code-cache", &url]);
    assert_eq!(
        again["code_cache"]["remote_hits"].as_u64(),
        Some(n as u64),
        "{again}"
    );
    assert_eq!(again["code_cache"]["damaged"], 0, "{again}");
    assert_eq!(again["interpreters_started"], 0, "{again}");

    // Down: one warning, then on without it.
    server.stop();
    clear_pycs(&a);
    let start = Instant::now();
    let out = run(
        &root,
        Some(&server),
        py,
        &a,
        &["--code-cache", &url, "--code-cache-timeout", "1"],
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let d = json(&out);
    assert_eq!(d["written"].as_u64(), Some(n as u64 - 1), "{d}");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{out:?}");
    assert!(w[0].contains(&url), "{w:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("testing"),
        "credentials printed: {out:?}"
    );
    assert!(d["code_cache"]["remote_errors"].as_u64() >= Some(1), "{d}");
}

/// Two trees of `n` modules with the same sources, `a` and `b`, in a new folder, and the
/// newest live interpreter (reported as used by `test`).
struct Trees {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    a: std::path::PathBuf,
    b: std::path::PathBuf,
    py: LivePython,
}

impl Trees {
    fn new(test: &str, n: usize) -> Trees {
        let pythons = live_pythons();
        let Some(py) = pythons.last().cloned() else {
            panic!("no live interpreter");
        };
        report_used(test, std::slice::from_ref(&py));
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (a, b) = (root.join("a"), root.join("b"));
        many_tree(&a, n);
        many_tree(&b, n);
        Trees {
            _tmp: tmp,
            root,
            a,
            b,
            py,
        }
    }

    /// The pycs of `b` compiled without a cache (`b` is left without pycs).
    fn reference(&self) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
        let out = run(&self.root, None, &self.py, &self.b, &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let reference = pycs(&self.b);
        clear_pycs(&self.b);
        reference
    }
}

/// The store is killed (SIGKILL) in the middle of a run that is reading from it: a warm
/// store, a copy of the tree at a new path, an empty local tier. A proxy in front of the
/// server kills it once the server has answered a fixed number of bytes (some dozens of
/// entries), so the kill lands mid-run every time. The compile finishes locally and exits 0,
/// with at most one warning about the store; every pyc equals a compile without the cache;
/// the local tier holds only whole entries (no temporary files, none damaged).
fn killed_mid_run(store: Store) {
    let test = format!("{}_killed_mid_run", store.name());
    let Some(mut server) = Server::start(store, &test) else {
        return;
    };
    const N: usize = 300;
    let t = Trees::new(&test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let url = server.url(3);
    let warm = run(&root, Some(&server), py, &a, &["--code-cache", &url]);
    assert_eq!(warm.status.code(), Some(0), "{warm:?}");
    assert_eq!(server.keys(3).len(), N);
    let reference = run(&root, None, py, &b, &[]);
    assert_eq!(reference.status.code(), Some(0), "{reference:?}");
    let reference = pycs(&b);
    assert_eq!(reference.len(), N);
    clear_pycs(&b);

    // Some dozens of answers get through (an entry is ~1 KB, plus HTTP headers), far fewer
    // than the run needs; the reads in flight at that moment are lost.
    let after = 40_000;
    let proxy = Proxy::start(server.port, after, server.pid());
    server.through(&proxy);
    let url = server.url(3);
    let out = run(
        &root,
        Some(&server),
        py,
        &b,
        &[
            "--code-cache",
            "local",
            "--code-cache",
            &url,
            "--code-cache-timeout",
            "5",
        ],
    );
    assert!(proxy.tripped(), "the server was not killed: {out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let w = warnings(&out);
    assert!(w.len() <= 1, "{w:?}");
    let d = json(&out);
    let remote_hits = d["code_cache"]["remote_hits"].as_u64().unwrap();
    assert!(remote_hits > 0 && remote_hits < N as u64, "{d}");
    assert!(d["interpreters_started"].as_u64() > Some(0), "{d}");
    assert_eq!(pycs(&b), reference, "{}", py.version);

    // The local tier: whole entries only.
    let stats = pyc_command(
        &root,
        None,
        &["cache", "stats", "--dir", "local", "--format", "json"],
    )
    .output()
    .unwrap();
    let stats = json(&stats);
    assert_eq!(stats["leftovers"], 0, "{stats}");
    clear_pycs(&b);
    let local = run(&root, None, py, &b, &["--code-cache", "local"]);
    assert_eq!(local.status.code(), Some(0), "{local:?}");
    let local = json(&local);
    assert_eq!(local["code_cache"]["damaged"], 0, "{local}");
    assert_eq!(local["code_cache"]["hits"], N as u64, "{local}");
    assert_eq!(pycs(&b), reference, "{}", py.version);
}

fn cache_cmd(root: &Path, server: &Server, args: &[&str]) -> Output {
    pyc_command(root, Some(server), &["cache"])
        .args(args)
        .output()
        .unwrap()
}

/// `pyc cache stats|prune|clear --code-cache URL` on a store that lists its entries: prune
/// removes the least recently *written* (the store's last-modified time) until the store
/// holds at most the size; clear removes every entry and nothing else.
fn evicts_at_the_size_limit(store: Store) {
    let test = format!("{}_evicts_at_the_size_limit", store.name());
    let Some(server) = Server::start(store, &test) else {
        return;
    };
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(&test, std::slice::from_ref(py));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (a, b) = (root.join("a"), root.join("b"));
    let url = server.url(5);
    let stats = || {
        let out = cache_cmd(
            &root,
            &server,
            &["stats", "--code-cache", &url, "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        json(&out)
    };
    // Three entries, then (a second later: stores list times to the second) three more.
    many_tree(&a, 3);
    assert_eq!(
        run(&root, Some(&server), py, &a, &["--code-cache", &url])
            .status
            .code(),
        Some(0)
    );
    let old_keys = server.keys(5);
    let old_bytes = stats()["bytes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    many_tree(&b, 6);
    let second = run(&root, Some(&server), py, &b, &["--code-cache", &url]);
    assert_eq!(json(&second)["code_cache"]["stored"], 3, "{second:?}");
    let all = stats();
    assert_eq!(all["entries"], 6, "{all}");
    let total = all["bytes"].as_u64().unwrap();
    let new_keys: Vec<String> = server
        .keys(5)
        .into_iter()
        .filter(|k| !old_keys.contains(k))
        .collect();
    assert_eq!(new_keys.len(), 3);

    // At most the size of the three newest: exactly the three oldest go.
    let limit = (total - old_bytes).to_string();
    let out = cache_cmd(
        &root,
        &server,
        &[
            "prune",
            "--code-cache",
            &url,
            "--max-size",
            &limit,
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let p = json(&out);
    assert_eq!(
        (p["removed"].as_u64(), p["entries"].as_u64()),
        (Some(3), Some(3)),
        "{p}"
    );
    assert_eq!(server.keys(5), new_keys);
    assert_eq!(stats()["bytes"].as_u64(), Some(total - old_bytes));

    let out = cache_cmd(&root, &server, &["clear", "--code-cache", &url]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(server.keys(5).is_empty());
}

/// pyc does not list a Redis store's entries: `pyc cache` says so in one line (Redis
/// evicts by its own `maxmemory-policy`).
#[test]
fn redis_has_no_prune_of_its_own() {
    let Some(server) = Server::start(Store::Redis, "redis_has_no_prune_of_its_own") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = cache_cmd(
        tmp.path(),
        &server,
        &["prune", "--code-cache", &server.url(0), "--max-size", "1M"],
    );
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("maxmemory-policy"), "{err}");
}

#[test]
fn s3_evicts_at_the_size_limit() {
    evicts_at_the_size_limit(Store::S3);
}

#[test]
fn webdav_evicts_at_the_size_limit() {
    evicts_at_the_size_limit(Store::WebDav);
}

/// A warm run with one compile thread reads from the store with many requests at once (the
/// reads ahead of the compile threads), not one round trip after another: through a proxy
/// that counts them, several connections are open at once (HTTP/1.1 has one request per
/// connection at a time; one after another needed at most 3). Every entry is a remote hit, no interpreter starts.
#[test]
fn webdav_reads_ahead_concurrently() {
    let test = "webdav_reads_ahead_concurrently";
    let Some(mut server) = Server::start(Store::WebDav, test) else {
        return;
    };
    const N: usize = 200;
    let t = Trees::new(test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let url = server.url(2);
    assert_eq!(
        run(&root, Some(&server), py, &a, &["--code-cache", &url])
            .status
            .code(),
        Some(0)
    );
    let proxy = Proxy::start(server.port, u64::MAX, server.pid());
    server.through(&proxy);
    let url = server.url(2);
    let out = run(
        &root,
        Some(&server),
        py,
        &b,
        &["--code-cache", &url, "--jobs", "1"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let d = json(&out);
    assert_eq!(d["code_cache"]["remote_hits"], N as u64, "{d}");
    assert_eq!(d["interpreters_started"], 0, "{d}");
    assert!(
        proxy.max_open() >= 4,
        "at most {} requests at once",
        proxy.max_open()
    );
}

/// A warm Redis store read by a fresh runner costs one command per batch of entries read
/// ahead, and no more: no `PING` before each read (OpenDAL's Redis service sent one per
/// read, so every entry cost two commands and two round trips), no `GET` per entry. And
/// without a local tier nothing in the working directory is touched.
#[test]
fn redis_reads_in_batches() {
    let test = "redis_reads_in_batches";
    let Some(server) = Server::start(Store::Redis, test) else {
        return;
    };
    const N: usize = 200;
    let t = Trees::new(test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let url = server.url(0);
    let warm = run(&root, Some(&server), py, &a, &["--code-cache", &url]);
    assert_eq!(warm.status.code(), Some(0), "{warm:?}");
    assert_eq!(server.keys(0).len(), N);
    // A file in the working directory named like an entry (the local tier's layout) is not
    // the local tier: with only a remote store, pyc leaves it alone.
    let keys = server.keys(0);
    let name = keys[0].strip_prefix("pyc-code-cache/").unwrap();
    let decoy = root.join(name);
    std::fs::create_dir_all(decoy.parent().unwrap()).unwrap();
    let old = std::time::UNIX_EPOCH + Duration::from_secs(946_684_800);
    std::fs::File::create(&decoy)
        .and_then(|f| f.set_modified(old))
        .unwrap();
    server.redis_commands();
    let out = run(&root, Some(&server), py, &b, &["--code-cache", &url]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let d = json(&out);
    assert_eq!(d["code_cache"]["remote_hits"], N as u64, "{d}");
    assert_eq!(d["interpreters_started"], 0, "{d}");
    let commands = server.redis_commands();
    let n = |c: &str| commands.get(c).copied().unwrap_or(0);
    assert_eq!(n("ping"), 0, "{commands:?}");
    // Batches of up to 8 keys; a batch goes early when the threads wait for it.
    let reads = n("get") + n("mget");
    assert!(
        reads * 2 <= N as u64,
        "{reads} reads for {N} entries: {commands:?}"
    );
    assert_eq!(std::fs::metadata(&decoy).unwrap().modified().unwrap(), old);
}

/// The GitHub Actions cache (`--code-cache gha`): outside a job, one line saying what is
/// missing and exit 2; with the job's variables pointing at a loopback port nothing listens
/// on, one warning and the compile goes on. (There is no GitHub here: the hit path is not
/// tested.)
#[test]
fn gha_store_outside_a_job_and_unreachable() {
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(
        "gha_store_outside_a_job_and_unreachable",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let a = root.join("a");
    many_tree(&a, 10);
    let vars = [
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_RESULTS_URL",
        "ACTIONS_CACHE_URL",
        "ACTIONS_CACHE_SERVICE_V2",
        "GITHUB_SERVER_URL",
    ];
    let exe = py.path.to_string_lossy().into_owned();
    let cmd = || {
        let mut c = pyc_command(&root, None, &["compile", a.to_str().unwrap()]);
        c.args(["--python", &exe, "--format", "json", "--code-cache", "gha"]);
        for v in vars {
            c.env_remove(v);
        }
        c
    };
    let out = cmd().output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not in a GitHub Actions job: ACTIONS_RUNTIME_TOKEN and ACTIONS_CACHE_URL"),
        "{err}"
    );

    let port = pyc_testutil::servers::free_port();
    for v2 in [false, true] {
        clear_pycs(&a);
        let mut c = cmd();
        c.env("ACTIONS_RUNTIME_TOKEN", "secret-token")
            .env("ACTIONS_RESULTS_URL", format!("http://127.0.0.1:{port}/"))
            .env("ACTIONS_CACHE_URL", format!("http://127.0.0.1:{port}/"))
            .args(["--code-cache-timeout", "2"]);
        if v2 {
            c.env("ACTIONS_CACHE_SERVICE_V2", "true");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(json(&out)["written"], 10, "{out:?}");
        let w = warnings(&out);
        assert_eq!(w.len(), 1, "{out:?}");
        assert!(w[0].contains("gha"), "{w:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("secret-token"),
            "{out:?}"
        );
    }
}

/// A store that accepts connections and never answers (Redis and HTTP URLs at a listener
/// that holds them): the run costs about one `--code-cache-timeout` (not one per file) and
/// one warning per store, and compiles everything locally.
#[test]
fn a_hanging_store_costs_the_time_limit_once() {
    let pythons = live_pythons();
    let Some(py) = pythons.last() else {
        panic!("no live interpreter");
    };
    report_used(
        "a_hanging_store_costs_the_time_limit_once",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let a = root.join("a");
    const N: usize = 60;
    many_tree(&a, N);
    let hang = Hang::start();
    for url in [
        format!("redis://127.0.0.1:{}/0", hang.port),
        format!("webdav+http://127.0.0.1:{}/c", hang.port),
    ] {
        clear_pycs(&a);
        let start = Instant::now();
        let out = run(
            &root,
            None,
            py,
            &a,
            &[
                "--code-cache",
                &url,
                "--code-cache-timeout",
                "2",
                "--jobs",
                "2",
            ],
        );
        let took = start.elapsed();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(json(&out)["written"].as_u64(), Some(N as u64), "{out:?}");
        let w = warnings(&out);
        assert_eq!(w.len(), 1, "{out:?}");
        assert!(w[0].contains("no answer within 2s"), "{w:?}");
        // One time limit per thread asking at that moment, not one per file (N × 2 s).
        assert!(took < Duration::from_secs(20), "{url}: {took:?}");
    }
}

/// A Redis server that asks for a password (`requirepass`): given in the URL
/// (`redis://:PASSWORD@host`) or in `REDIS_PASSWORD`, entries are stored and read; a wrong
/// one is one warning that never shows it, and the compile goes on.
#[test]
fn redis_with_a_password() {
    let test = "redis_with_a_password";
    let Some(server) = Server::start(Store::Redis, test) else {
        return;
    };
    const N: usize = 20;
    let t = Trees::new(test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let reference = t.reference();
    server.redis_config("requirepass", "pyc-s3cret");
    let plain = server.url(0);
    let with = |password: &str| plain.replacen("redis://", &format!("redis://:{password}@"), 1);
    let fill = run(
        &root,
        Some(&server),
        py,
        &a,
        &["--code-cache", &with("pyc-s3cret")],
    );
    assert_eq!(fill.status.code(), Some(0), "{fill:?}");
    assert!(warnings(&fill).is_empty(), "{fill:?}");

    let wrong = run(
        &root,
        Some(&server),
        py,
        &b,
        &["--code-cache", &with("not-it-9f2")],
    );
    assert_eq!(wrong.status.code(), Some(0), "{wrong:?}");
    let w = warnings(&wrong);
    assert_eq!(w.len(), 1, "{wrong:?}");
    assert!(w[0].contains(&plain), "{w:?}");
    let all = format!("{wrong:?}");
    assert!(!all.contains("not-it-9f2"), "password printed: {all}");
    assert_eq!(pycs(&b), reference);

    clear_pycs(&b);
    let exe = py.path.to_string_lossy().into_owned();
    let out = pyc_command(&root, Some(&server), &["compile", b.to_str().unwrap()])
        .args(["--python", &exe, "--format", "json", "--code-cache", &plain])
        .env("REDIS_PASSWORD", "pyc-s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let d = json(&out);
    assert_eq!(d["code_cache"]["remote_hits"], N as u64, "{d}");
    assert_eq!(d["interpreters_started"], 0, "{d}");
    assert_eq!(pycs(&b), reference);
}

/// Redis bounds itself: with `maxmemory` and `maxmemory-policy allkeys-lru` (the way docs
/// and `pyc cache` point to) it evicts entries as pyc stores new ones; runs go on and give
/// the same pycs, what was evicted is compiled again. With `noeviction` a full Redis refuses
/// writes: one warning, the run goes on, and what is there is still read.
#[test]
fn redis_evicts_by_its_own_policy() {
    let test = "redis_evicts_by_its_own_policy";
    let Some(server) = Server::start(Store::Redis, test) else {
        return;
    };
    const N: usize = 1000;
    let t = Trees::new(test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let reference = t.reference();
    // What the entries take, measured: a fill without a limit, then an empty store with room
    // for about half of them (and what a client's connection takes besides).
    let url = server.url(0);
    let empty = server.redis_used_memory();
    let fill = run(&root, Some(&server), py, &a, &["--code-cache", &url]);
    assert_eq!(fill.status.code(), Some(0), "{fill:?}");
    let entries = server.redis_used_memory().saturating_sub(empty);
    server.redis_flushall();
    clear_pycs(&a);
    let room = server.redis_used_memory() + entries / 2 + 200_000;
    server.redis_config("maxmemory-policy", "allkeys-lru");
    server.redis_config("maxmemory", &room.to_string());
    let fill = run(&root, Some(&server), py, &a, &["--code-cache", &url]);
    assert_eq!(fill.status.code(), Some(0), "{fill:?}");
    assert!(warnings(&fill).is_empty(), "{fill:?}");
    let kept = server.keys(0).len();
    eprintln!("{test}: Redis kept {kept} of {N} entries in {room} bytes");
    assert!(kept > 0 && kept < N, "{kept} of {N} entries kept");
    let out = run(&root, Some(&server), py, &b, &["--code-cache", &url]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(warnings(&out).is_empty(), "{out:?}");
    let d = json(&out);
    let hits = d["code_cache"]["remote_hits"].as_u64().unwrap();
    assert!(hits > 0 && hits < N as u64, "{d}");
    assert!(d["interpreters_started"].as_u64() > Some(0), "{d}");
    assert_eq!(pycs(&b), reference, "{}", py.version);

    // Full and refusing: the entries there are read, the rest compiled, one warning.
    server.redis_config("maxmemory-policy", "noeviction");
    server.redis_config("maxmemory", "1");
    let there = server.keys(0).len() as u64;
    clear_pycs(&b);
    let out = run(&root, Some(&server), py, &b, &["--code-cache", &url]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{out:?}");
    assert!(w[0].contains("cannot store"), "{w:?}");
    let d = json(&out);
    assert_eq!(d["code_cache"]["remote_hits"].as_u64(), Some(there), "{d}");
    assert_eq!(pycs(&b), reference, "{}", py.version);
}

/// `rediss://` and `webdav+https://`: the store over TLS, its certificate checked against
/// the trust store (`SSL_CERT_FILE` names the test's certificate authority): entries move to
/// a fresh runner as over plain TCP; without the authority the certificate is refused, in
/// one warning, and the compile goes on.
fn over_tls(store: Store) {
    let test = format!("{}_over_tls", store.name());
    let test = test.as_str();
    let Some(server) = Server::start_tls(store, test) else {
        return;
    };
    const N: usize = 50;
    let t = Trees::new(test, N);
    let (root, a, b, py) = (t.root.clone(), t.a.clone(), t.b.clone(), &t.py);
    let reference = t.reference();
    let url = server.url(0);
    assert!(url.contains("s://"), "{url}");
    let fill = run(&root, Some(&server), py, &a, &["--code-cache", &url]);
    assert_eq!(fill.status.code(), Some(0), "{fill:?}");
    assert!(warnings(&fill).is_empty(), "{fill:?}");
    assert_eq!(server.keys(0).len(), N);
    let out = run(&root, Some(&server), py, &b, &["--code-cache", &url]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let d = json(&out);
    assert_eq!(d["code_cache"]["remote_hits"], N as u64, "{d}");
    assert_eq!(d["interpreters_started"], 0, "{d}");
    assert_eq!(pycs(&b), reference, "{}", py.version);

    // Not trusted (the system's certificate authorities only): one warning, compiled
    // without the store.
    clear_pycs(&b);
    let exe = py.path.to_string_lossy().into_owned();
    let out = pyc_command(&root, None, &["compile", b.to_str().unwrap()])
        .args(["--python", &exe, "--format", "json", "--code-cache", &url])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{out:?}");
    assert!(w[0].contains(&url) && w[0].contains("certificate"), "{w:?}");
    assert_eq!(pycs(&b), reference, "{}", py.version);
}

#[test]
fn redis_over_tls() {
    over_tls(Store::Redis);
}

#[test]
fn webdav_over_tls() {
    over_tls(Store::WebDav);
}

/// The local tier in front of Redis is bounded by `--code-cache-size`; Redis keeps every
/// entry, so what the local folder evicted comes back from it.
#[test]
fn redis_behind_a_bounded_local_tier() {
    let Some(server) = Server::start(Store::Redis, "redis_behind_a_bounded_local_tier") else {
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
    let n = small_tree(&a) as u64;
    let url = server.url(0);
    let first = compile(
        &root,
        &server,
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
        &server,
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

#[test]
fn redis_tier_moves_code_to_a_fresh_runner() {
    moves_code_to_a_fresh_runner(Store::Redis);
}

#[test]
fn s3_tier_moves_code_to_a_fresh_runner() {
    moves_code_to_a_fresh_runner(Store::S3);
}

#[test]
fn webdav_tier_moves_code_to_a_fresh_runner() {
    moves_code_to_a_fresh_runner(Store::WebDav);
}

#[test]
fn redis_down_or_shared_by_concurrent_writers() {
    down_or_shared_by_concurrent_writers(Store::Redis);
}

#[test]
fn s3_down_or_shared_by_concurrent_writers() {
    down_or_shared_by_concurrent_writers(Store::S3);
}

#[test]
fn webdav_down_or_shared_by_concurrent_writers() {
    down_or_shared_by_concurrent_writers(Store::WebDav);
}

#[test]
fn redis_killed_mid_run() {
    killed_mid_run(Store::Redis);
}

#[test]
fn s3_killed_mid_run() {
    killed_mid_run(Store::S3);
}

#[test]
fn webdav_killed_mid_run() {
    killed_mid_run(Store::WebDav);
}
