//! Real stores for the code cache's tests (`pyc compile --code-cache redis://… | s3://… |
//! webdav+http://…`), each started on a free loopback port and killed when dropped:
//! `redis-server` (Debian), moto's S3 server (PyPI `moto[server]`, pinned in `target/tools`
//! by `scripts/tools`; found through `PYC_TEST_MOTO_SERVER`, which `scripts/test` sets, or
//! `target/tools/bin`) and `rclone serve webdav` (Debian). Without one, [`Server::start`] says
//! the test did not run and returns `None`; under `CI=true` it panics instead, so CI never
//! skips these silently.
//!
//! Also: [`Proxy`], a loopback TCP proxy that kills the server (SIGKILL) once the clients
//! have sent it a given number of bytes, so the kill lands while a run is using the store,
//! at the same point every time; [`Hang`], a listener that accepts and never answers; and the
//! small source tree and pyc helpers the tests compare with.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Redis,
    S3,
    WebDav,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Redis => "redis",
            Store::S3 => "s3",
            Store::WebDav => "webdav",
        }
    }
}

/// Say that `test` did not run and why; under `CI=true`, fail instead.
pub fn not_run(test: &str, why: &str) {
    let msg = format!("{test}: {why}; not run");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("{msg}");
}

/// A loopback port nothing listens on (bound, then closed).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A store holding code cache entries, killed when dropped. Entries live in a namespace per
/// number (`ns`): a Redis database, an S3 prefix or a WebDAV folder.
pub struct Server {
    pub store: Store,
    child: Child,
    /// The port the server listens on.
    pub port: u16,
    /// Where clients connect: the server's port, or a [`Proxy`]'s in front of it.
    client_port: u16,
    /// moto's virtualenv Python (it has boto3), to look into the bucket.
    python: Option<PathBuf>,
    /// The folder rclone serves; for Redis over TLS, the certificates.
    dir: Option<tempfile::TempDir>,
    /// Redis over TLS: the certificate authority's file (clients trust it through
    /// `SSL_CERT_FILE`).
    tls_ca: Option<PathBuf>,
}

const BUCKET: &str = "pyc-cache";

fn found(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Server {
    /// The store, started; None (after saying so) when it is not installed and this is not CI.
    pub fn start(store: Store, test: &str) -> Option<Server> {
        let port = free_port();
        let quiet = |c: &mut Command| {
            c.stdout(Stdio::null())
                .stderr(Stdio::null())
                .stdin(Stdio::null());
        };
        let (child, python, dir) = match store {
            Store::Redis => {
                if !found("redis-server", "--version") || !found("redis-cli", "--version") {
                    not_run(
                        test,
                        "redis-server not found (Debian: apt-get install redis-server)",
                    );
                    return None;
                }
                let mut c = Command::new("redis-server");
                c.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                    .args([
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "yes",
                    ]);
                quiet(&mut c);
                (c.spawn().expect("redis-server starts"), None, None)
            }
            Store::S3 => {
                let moto = std::env::var_os("PYC_TEST_MOTO_SERVER")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| crate::repo_root().join("target/tools/bin/moto_server"));
                if !moto.is_file() {
                    not_run(test, "moto_server not found (scripts/tools installs it)");
                    return None;
                }
                let mut c = Command::new(&moto);
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                quiet(&mut c);
                let python = moto.with_file_name("python");
                (c.spawn().expect("moto_server starts"), Some(python), None)
            }
            Store::WebDav => {
                if !found("rclone", "version") {
                    not_run(test, "rclone not found (Debian: apt-get install rclone)");
                    return None;
                }
                let dir = tempfile::tempdir().expect("a temporary folder");
                let mut c = Command::new("rclone");
                c.args(["serve", "webdav", "--addr", &format!("127.0.0.1:{port}")])
                    .arg(dir.path())
                    .env("RCLONE_CONFIG", dir.path().join("no-rclone.conf"));
                quiet(&mut c);
                (c.spawn().expect("rclone starts"), None, Some(dir))
            }
        };
        let server = Server {
            store,
            child,
            port,
            client_port: port,
            python,
            dir,
            tls_ca: None,
        };
        wait_for(port, store.name());
        if store == Store::S3 {
            server.boto(&format!("s3.create_bucket(Bucket={BUCKET:?})"));
        }
        Some(server)
    }

    /// `store` (Redis or WebDAV) over TLS only (`rediss://`, `webdav+https://`), its
    /// certificate for 127.0.0.1 signed by a certificate authority made for the test
    /// (openssl); clients trust it through `SSL_CERT_FILE` ([`Server::env`]). None (after
    /// saying so) without the server or openssl, outside CI.
    pub fn start_tls(store: Store, test: &str) -> Option<Server> {
        let (program, arg, package) = match store {
            Store::Redis => ("redis-server", "--version", "redis-server"),
            Store::WebDav => ("rclone", "version", "rclone"),
            Store::S3 => panic!("moto's S3 server is not started with TLS"),
        };
        if !found(program, arg) || !found("openssl", "version") {
            not_run(
                test,
                &format!(
                    "{program} or openssl not found (Debian: apt-get install {package} openssl)"
                ),
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let d = dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .stdin(Stdio::null())
                .output()
                .expect("openssl runs");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=pyc test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("written");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        let port = free_port();
        let mut c = Command::new(program);
        match store {
            Store::Redis => {
                c.args(["--bind", "127.0.0.1", "--port", "0"])
                    .args(["--tls-port", &port.to_string()])
                    .args([
                        "--tls-cert-file",
                        "server.crt",
                        "--tls-key-file",
                        "server.key",
                    ])
                    .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
                    .args(["--save", "", "--appendonly", "no"]);
            }
            _ => {
                // The folder itself, as for plain WebDAV (entries go under `ns{ns}/`).
                c.args(["serve", "webdav", "--addr", &format!("127.0.0.1:{port}")])
                    .args(["--cert", "server.crt", "--key", "server.key", "."])
                    .env("RCLONE_CONFIG", d.join("no-rclone.conf"));
            }
        }
        c.current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        let server = Server {
            store,
            child,
            port,
            client_port: port,
            python: None,
            tls_ca: Some(d.join("ca.crt")),
            dir: Some(dir),
        };
        wait_for(port, &format!("{} (TLS)", store.name()));
        Some(server)
    }

    /// Clients connect through `proxy` from now on.
    pub fn through(&mut self, proxy: &Proxy) {
        self.client_port = proxy.port;
    }

    /// The `--code-cache` value of namespace `ns`.
    pub fn url(&self, ns: u8) -> String {
        let port = self.client_port;
        match self.store {
            Store::Redis if self.tls_ca.is_some() => format!("rediss://127.0.0.1:{port}/{ns}"),
            Store::Redis => format!("redis://127.0.0.1:{port}/{ns}"),
            Store::S3 => format!("s3://{BUCKET}/ns{ns}"),
            Store::WebDav if self.tls_ca.is_some() => {
                format!("webdav+https://127.0.0.1:{port}/ns{ns}")
            }
            Store::WebDav => format!("webdav+http://127.0.0.1:{port}/ns{ns}"),
        }
    }

    /// What pyc needs in its environment to reach the store (and nothing of this machine's
    /// own AWS set-up).
    pub fn env(&self, cmd: &mut Command, cwd: &Path) {
        if let Some(ca) = &self.tls_ca {
            cmd.env("SSL_CERT_FILE", ca).env_remove("SSL_CERT_DIR");
        }
        if self.store == Store::S3 {
            cmd.env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.client_port),
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        }
        cmd.env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .env("AWS_CONFIG_FILE", cwd.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                cwd.join("no-aws-credentials"),
            );
    }

    fn boto(&self, code: &str) -> String {
        let python = self.python.as_ref().expect("an S3 server");
        let script = format!(
            "import boto3, sys\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{}', \
             region_name='us-east-1', aws_access_key_id='testing', \
             aws_secret_access_key='testing')\n{code}\n",
            self.port
        );
        let out = Command::new(python)
            .arg("-c")
            .arg(script)
            .output()
            .expect("boto3 runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn redis_cli(&self, db: u8, args: &[&str]) -> String {
        let mut c = Command::new("redis-cli");
        c.args(["-p", &self.port.to_string(), "-n", &db.to_string()]);
        if let Some(ca) = &self.tls_ca {
            c.arg("--tls").arg("--cacert").arg(ca);
        }
        let out = c.args(args).output().expect("redis-cli runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Redis only: `CONFIG SET name value`.
    pub fn redis_config(&self, name: &str, value: &str) {
        assert!(matches!(self.store, Store::Redis), "a Redis server");
        self.redis_cli(0, &["config", "set", name, value]);
    }

    /// Redis only: remove every key of every database.
    pub fn redis_flushall(&self) {
        assert!(matches!(self.store, Store::Redis), "a Redis server");
        self.redis_cli(0, &["flushall"]);
    }

    /// Redis only: the memory it uses (`INFO memory`'s `used_memory`), in bytes.
    pub fn redis_used_memory(&self) -> u64 {
        assert!(matches!(self.store, Store::Redis), "a Redis server");
        self.redis_cli(0, &["info", "memory"])
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
            .expect("INFO memory has used_memory")
    }

    /// Redis only: how many times each command ran since the server started or the last
    /// call (`INFO commandstats`, then `CONFIG RESETSTAT`), e.g. `{"get": 3, "mget": 1}`.
    pub fn redis_commands(&self) -> BTreeMap<String, u64> {
        assert!(matches!(self.store, Store::Redis), "a Redis server");
        let stats = self.redis_cli(0, &["info", "commandstats"]);
        self.redis_cli(0, &["config", "resetstat"]);
        stats
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.strip_prefix("calls=")?.split(',').next()?;
                Some((name.to_string(), calls.parse().ok()?))
            })
            .collect()
    }

    /// The entries of namespace `ns` (sorted): Redis keys, or paths below the prefix or
    /// folder.
    pub fn keys(&self, ns: u8) -> Vec<String> {
        let mut k: Vec<String> = match self.store {
            Store::Redis => self
                .redis_cli(ns, &["--raw", "keys", "*"])
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            Store::S3 => self
                .boto(&format!(
                    "for p in s3.get_paginator('list_objects_v2').paginate(Bucket={BUCKET:?}, Prefix='ns{ns}/'):\n    for o in p.get('Contents', []): print(o['Key'][len('ns{ns}/'):])",
                ))
                .lines()
                .map(String::from)
                .collect(),
            Store::WebDav => {
                let dir = self.dir.as_ref().expect("a WebDAV server");
                files(&dir.path().join(format!("ns{ns}")))
                    .into_iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect()
            }
        };
        k.sort();
        k
    }

    /// Replace entry `key` (one of [`Server::keys`]) with bytes that have the tag but are
    /// not an entry.
    pub fn damage(&self, ns: u8, key: &str) {
        let body = b"pycode3\ngarbage";
        match self.store {
            Store::Redis => {
                self.redis_cli(ns, &["set", key, "pycode3\ngarbage"]);
            }
            Store::S3 => {
                self.boto(&format!(
                    "s3.put_object(Bucket={BUCKET:?}, Key='ns{ns}/{key}', Body=b'pycode3\\ngarbage')"
                ));
            }
            // Through the server (a PUT), as a client would: rclone keeps what it knows of its
            // folder for minutes, so a file changed behind it is served with its old length.
            Store::WebDav => {
                let mut c = TcpStream::connect(("127.0.0.1", self.port)).expect("rclone answers");
                write!(
                    c,
                    "PUT /ns{ns}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|()| c.write_all(body))
                .expect("PUT sent");
                let mut answer = String::new();
                c.read_to_string(&mut answer).expect("PUT answered");
                assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
            }
        }
    }

    /// The server's process id (for [`Proxy::start`]'s kill).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kill the server (SIGKILL) and wait for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to `pid`, and wait until it is gone (its sockets closed).
pub fn kill_hard(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    // A killed child stays a zombie until its parent waits; its sockets are closed by then.
    while Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'));
        if zombie {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[derive(Default)]
struct Trip {
    /// Bytes the server has answered so far.
    sent: u64,
    tripped: bool,
    /// Connections open now, and the most open at once.
    open: usize,
    max_open: usize,
    /// Client sockets, closed when the server is killed.
    clients: Vec<TcpStream>,
}

/// A TCP proxy on loopback in front of a server's port. Once the server has answered `after`
/// bytes in all, the chunk that crosses that count is passed on only up to it, the server is killed
/// (SIGKILL, [`kill_hard`]) and every client connection is closed; later connections are
/// closed as soon as they are accepted. So a run through it loses the store in the middle
/// of a request, after the same amount of traffic every time, without any sleep.
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<Trip>>,
}

impl Proxy {
    pub fn start(backend: u16, after: u64, server_pid: u32) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let state = Arc::new(Mutex::new(Trip::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let tripped = st.lock().map_or(true, |s| s.tripped);
                let upstream = if tripped {
                    None
                } else {
                    TcpStream::connect(("127.0.0.1", backend)).ok()
                };
                let Some(upstream) = upstream else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                if let (Ok(c), Ok(mut s)) = (client.try_clone(), st.lock()) {
                    s.clients.push(c);
                    s.open += 1;
                    s.max_open = s.max_open.max(s.open);
                }
                let (c2, u2) = match (client.try_clone(), upstream.try_clone()) {
                    (Ok(c), Ok(u)) => (c, u),
                    _ => continue,
                };
                // Client to server: a plain copy, until either side closes.
                std::thread::spawn(move || {
                    let (mut from, mut to) = (c2, u2);
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Both);
                });
                // Server to client: counted; the chunk that crosses `after` is cut there and trips
                // the kill.
                let st = st.clone();
                std::thread::spawn(move || {
                    let (mut from, mut to) = (upstream, client);
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        // How much of this chunk may pass: all of it below `after`, else only
                        // the part up to `after` (a server that answers many pipelined
                        // requests at once sends them in one chunk; dropping the whole chunk
                        // would let nothing through).
                        let pass = {
                            let Ok(mut s) = st.lock() else { break };
                            if s.tripped {
                                break;
                            }
                            let room = after.saturating_sub(s.sent);
                            let pass = (n as u64).min(room) as usize;
                            s.sent += n as u64;
                            (pass < n).then_some(pass)
                        };
                        if let Some(pass) = pass {
                            let _ = to.write_all(&buf[..pass]);
                            let _ = to.flush();
                            kill_hard(server_pid);
                            if let Ok(mut s) = st.lock() {
                                s.tripped = true;
                                for c in s.clients.drain(..) {
                                    let _ = c.shutdown(Shutdown::Both);
                                }
                            }
                            break;
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                    if let Ok(mut s) = st.lock() {
                        s.open = s.open.saturating_sub(1);
                    }
                });
            }
        });
        Proxy { port, state }
    }

    /// The most connections that were open through the proxy at once.
    pub fn max_open(&self) -> usize {
        self.state.lock().map_or(0, |s| s.max_open)
    }

    /// Whether the server was killed.
    pub fn tripped(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.tripped)
    }
}

/// A loopback listener that accepts connections and never answers (nor closes them) while it
/// lives: a store that hangs.
pub struct Hang {
    pub port: u16,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Hang {
    pub fn start() -> Hang {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let h = held.clone();
        std::thread::spawn(move || {
            for c in listener.incoming().flatten() {
                if let Ok(mut v) = h.lock() {
                    v.push(c);
                }
            }
        });
        Hang { port, _held: held }
    }
}

/// Every file below `root`, relative to it (a missing folder has none).
pub fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out
}

/// The pycs below `root`, by path relative to it.
pub fn pycs(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pyc"))
        .map(|p| {
            let bytes = std::fs::read(root.join(&p)).expect("a pyc is readable");
            (p, bytes)
        })
        .collect()
}

/// Remove the pycs below `root`.
pub fn clear_pycs(root: &Path) {
    for p in pycs(root).keys() {
        std::fs::remove_file(root.join(p)).expect("a pyc is removable");
    }
}

fn write_fixed(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a folder");
    }
    std::fs::write(path, text).expect("a source is written");
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("opened");
    f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .expect("mtime set");
}

/// A small tree (fixed mtimes): a package, a file naming the path of the sibling `b`'s copy
/// of itself (the same bytes in every copy), and `bad.py`, which does not compile. Returns
/// the number of sources.
pub fn small_tree(dir: &Path) -> usize {
    let b_here = dir.parent().unwrap_or(dir).join("b/here.py");
    let files = [
        ("pkg/__init__.py", "from .m import f\n".to_string()),
        (
            "pkg/m.py",
            "import os\nclass C:\n    def g(self, x):\n        return {'a': x, 'b': [i for i in x]}\ndef f():\n    return C().g((1, 2))\n".into(),
        ),
        ("here.py", format!("HERE = {:?}\n", b_here.display().to_string())),
        ("bad.py", "def f(:\n".into()),
    ];
    for (name, text) in &files {
        write_fixed(&dir.join(name), text);
    }
    files.len()
}

/// `n` small modules that all compile (fixed mtimes), spread over folders of 50, each
/// different: enough traffic for a store to be lost in the middle of a run.
pub fn many_tree(dir: &Path, n: usize) {
    for i in 0..n {
        let text = format!(
            "N = {i}\ndef f{i}(x):\n    return [x * {i} for _ in range(3)], {{'k{i}': (x, {i}.5)}}\nclass C{i}:\n    def m(self):\n        return f{i}(self)\n"
        );
        write_fixed(&dir.join(format!("p{}/m{i}.py", i / 50)), &text);
    }
}
