//! `pyc compile --code-cache s3://...` and `--code-cache webdav+http://...` against real
//! servers started by each test on a free loopback port and stopped after it: S3 through
//! moto's server (PyPI `moto[server]`, pinned in `target/tools` by `scripts/tools`; found
//! through `PYC_TEST_MOTO_SERVER`, which `scripts/test` sets, or `target/tools/bin`), WebDAV
//! through `rclone serve webdav` (Debian's `rclone`). Without them the tests say so and pass,
//! except under `CI=true`, where they fail. One body per scenario, run against each store.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyc_testutil::{live_pythons, report_used, LivePython};

fn not_run(test: &str, why: &str) {
    let msg = format!("{test}: {why}; not run");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("{msg}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server holding code cache entries, killed when dropped. Entries live under a namespace
/// (`ns`) per interpreter: an S3 prefix or a WebDAV folder.
struct Server {
    kind: Kind,
    child: Child,
    port: u16,
}

enum Kind {
    /// moto's server; the Python of its virtualenv (which has boto3) inspects the bucket.
    S3 { python: PathBuf },
    /// rclone serving this folder.
    WebDav { dir: tempfile::TempDir },
}

const BUCKET: &str = "pyc-cache";

impl Server {
    fn start(store: &str, test: &str) -> Option<Server> {
        let port = free_port();
        let server = match store {
            "s3" => {
                let moto = std::env::var_os("PYC_TEST_MOTO_SERVER")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("../../target/tools/bin/moto_server")
                    });
                if !moto.is_file() {
                    not_run(test, "moto_server not found (scripts/tools installs it)");
                    return None;
                }
                let child = Command::new(&moto)
                    .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let python = moto.with_file_name("python");
                Server {
                    kind: Kind::S3 { python },
                    child,
                    port,
                }
            }
            _ => {
                let found = Command::new("rclone")
                    .arg("version")
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !found {
                    not_run(test, "rclone not found (Debian: apt-get install rclone)");
                    return None;
                }
                let dir = tempfile::tempdir().unwrap();
                let child = Command::new("rclone")
                    .args(["serve", "webdav", "--addr", &format!("127.0.0.1:{port}")])
                    .arg(dir.path())
                    .env("RCLONE_CONFIG", dir.path().join("no-rclone.conf"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                Server {
                    kind: Kind::WebDav { dir },
                    child,
                    port,
                }
            }
        };
        wait_for(port, store);
        if let Kind::S3 { .. } = server.kind {
            server.boto(&format!("s3.create_bucket(Bucket={BUCKET:?})"));
        }
        Some(server)
    }

    fn url(&self, ns: &str) -> String {
        match self.kind {
            Kind::S3 { .. } => format!("s3://{BUCKET}/{ns}"),
            Kind::WebDav { .. } => format!("webdav+http://127.0.0.1:{}/{ns}", self.port),
        }
    }

    /// What pyc needs in its environment to reach the store.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self.kind {
            Kind::S3 { .. } => vec![
                (
                    "AWS_ENDPOINT_URL",
                    format!("http://127.0.0.1:{}", self.port),
                ),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ],
            Kind::WebDav { .. } => vec![],
        }
    }

    fn boto(&self, code: &str) -> String {
        let Kind::S3 { python } = &self.kind else {
            unreachable!()
        };
        let script = format!(
            "import boto3, sys\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{}', \
             region_name='us-east-1', aws_access_key_id='testing', \
             aws_secret_access_key='testing')\n{code}\n",
            self.port
        );
        let out = Command::new(python).arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The entries under `ns`, as paths below it.
    fn keys(&self, ns: &str) -> Vec<String> {
        let mut k: Vec<String> = match &self.kind {
            Kind::S3 { .. } => self
                .boto(&format!(
                    "for p in s3.get_paginator('list_objects_v2').paginate(Bucket={BUCKET:?}, Prefix={:?}):\n    for o in p.get('Contents', []): print(o['Key'][{}:])",
                    format!("{ns}/"),
                    ns.len() + 1
                ))
                .lines()
                .map(String::from)
                .collect(),
            Kind::WebDav { dir } => files(&dir.path().join(ns))
                .into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        };
        k.sort();
        k
    }

    fn damage(&self, ns: &str, key: &str) {
        match &self.kind {
            Kind::S3 { .. } => {
                self.boto(&format!(
                    "s3.put_object(Bucket={BUCKET:?}, Key={:?}, Body=b'pycode2\\ngarbage')",
                    format!("{ns}/{key}")
                ));
            }
            // Through the server (a PUT), as a client would: rclone keeps what it knows of its
            // folder for minutes, so a file changed behind it is served with its old length.
            Kind::WebDav { .. } => {
                use std::io::{Read, Write};
                let body = b"pycode2\ngarbage";
                let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
                write!(
                    c,
                    "PUT /{ns}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                )
                .unwrap();
                c.write_all(body).unwrap();
                let mut answer = String::new();
                c.read_to_string(&mut answer).unwrap();
                assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
            }
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every file below `root`, relative to it.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out
}

fn pyc_command(cwd: &Path, server: &Server, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pyc"));
    c.args(args)
        .current_dir(cwd)
        .env("PYC_CACHE_DIR", cwd.join("probes"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .env_remove("PYC_CODE_CACHE")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env("AWS_CONFIG_FILE", cwd.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            cwd.join("no-aws-credentials"),
        )
        .envs(server.env())
        .stdin(Stdio::null());
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
    files(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pyc"))
        .map(|p| {
            let bytes = std::fs::read(root.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

fn clear_pycs(root: &Path) {
    for p in pycs(root).keys() {
        std::fs::remove_file(root.join(p)).unwrap();
    }
}

fn compile(
    cwd: &Path,
    server: &Server,
    py: &LivePython,
    tree: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let exe = py.path.to_string_lossy().into_owned();
    let out = pyc_command(cwd, server, &["compile", tree.to_str().unwrap()])
        .args(["--python", &exe, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "bad.py fails: {out:?}");
    json(&out)
}

/// The live test of issue 19 per store: a tree compiled at A with a local folder and the
/// store; the same sources at B with an empty local folder and the same store: no interpreter
/// starts, and every pyc equals `pyc compile` at B without a cache, byte for byte; the remote
/// hits fill the local folder. Then a damaged entry and read-only use. Every interpreter.
fn moves_code_to_a_fresh_runner(store: &str) {
    let test = format!("{store}_tier_moves_code_to_a_fresh_runner");
    let Some(server) = Server::start(store, &test) else {
        return;
    };
    let pythons = live_pythons();
    assert!(!pythons.is_empty(), "no live interpreter");
    report_used(&test, &pythons);
    for py in &pythons {
        let ns = format!("py{}", py.version);
        let url = server.url(&ns);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (a, b) = (root.join("a"), root.join("b"));
        let n = tree(&a);
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
        assert_eq!(server.keys(&ns).len(), n, "{} {first}", py.version);

        tree(&b);
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
        let key = server.keys(&ns)[0].clone();
        server.damage(&ns, &key);
        clear_pycs(&b);
        let fourth = compile(&root, &server, py, &b, &["--code-cache", &url]);
        assert_eq!(
            fourth["code_cache"]["damaged"], 1,
            "{} {fourth}",
            py.version
        );
        assert_eq!(pycs(&b), reference, "{}", py.version);

        // Read-only: a changed source is compiled and not stored.
        let keys = server.keys(&ns);
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
        assert_eq!(server.keys(&ns), keys, "read-only stored");
    }
}

/// Two runs filling the same keys at once both succeed, and the entries are intact. A store
/// that is down (stopped before the run): one warning, the time limit at most once, the
/// compile goes on and exits as it would without a cache. With the newest interpreter found.
fn down_or_shared_by_concurrent_writers(store: &str) {
    let test = format!("{store}_down_or_shared_by_concurrent_writers");
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
    let url = server.url("shared");
    let (a, b) = (root.join("a"), root.join("b"));
    let n = tree(&a);
    tree(&b);
    let exe = py.path.to_string_lossy().into_owned();
    let spawn = |t: &Path| {
        pyc_command(&root, &server, &["compile", t.to_str().unwrap()])
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
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{out:?}"
        );
    }
    assert_eq!(server.keys("shared").len(), n);
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
    let out = pyc_command(&root, &server, &["compile", a.to_str().unwrap()])
        .args(["--python", &exe, "--format", "json", "--code-cache", &url])
        .args(["--code-cache-timeout", "1"])
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let d = json(&out);
    assert_eq!(d["written"].as_u64(), Some(n as u64 - 1), "{d}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains(&url), "{stderr}");
    assert!(!stderr.contains("testing"), "credentials printed: {stderr}");
    assert!(d["code_cache"]["remote_errors"].as_u64() >= Some(1), "{d}");
}

#[test]
fn s3_tier_moves_code_to_a_fresh_runner() {
    moves_code_to_a_fresh_runner("s3");
}

#[test]
fn s3_down_or_shared_by_concurrent_writers() {
    down_or_shared_by_concurrent_writers("s3");
}

#[test]
fn webdav_tier_moves_code_to_a_fresh_runner() {
    moves_code_to_a_fresh_runner("webdav");
}

#[test]
fn webdav_down_or_shared_by_concurrent_writers() {
    down_or_shared_by_concurrent_writers("webdav");
}
