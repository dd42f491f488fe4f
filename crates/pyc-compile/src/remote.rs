//! Remote tiers of the code cache (`--code-cache redis://host:port/db`, `s3://`, `webdav+`,
//! `gha`).
//!
//! A remote holds the same entries as the local folder, under the same names
//! (`v3/ab/cdef...`), so every check of [`crate::store`] (tag, checksum, marshal read) applies
//! to what comes from it. S3, WebDAV and the GitHub Actions cache go through Apache OpenDAL,
//! the storage layer sccache uses for the same job. Redis goes through the `redis` crate
//! directly (the client OpenDAL itself wraps): OpenDAL's Redis service checks a pooled
//! connection out for every read and sends a `PING` first, so every entry cost two commands
//! and two round trips; one multiplexed connection, on which the reads ahead are pipelined,
//! costs one of each (measured in bench/README.md).
//!
//! The stores are async; pyc's compile threads are not, so each remote owns a small Tokio
//! runtime (one worker thread) and every call is `block_on` with `--code-cache-timeout`
//! around it.
//!
//! Faults cost one warning: the first failure of a read (refused connection, timeout, a
//! server error) turns the remote off for the rest of the run, and the first failure of a
//! write turns its writes off (a store that refuses writes is still read). The compile goes
//! on with the local tier and the interpreters. The warning names the store by its URL
//! without credentials.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An object of a store, as listed ([`Remote::list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The path below the store's root (`v3/ab/cdef...`).
    pub path: String,
    pub len: u64,
    /// When it was last written, as the store says (to the second over HTTP).
    pub modified: Option<std::time::SystemTime>,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Miss,
    Found(Vec<u8>),
    /// The store is down, slow or failing (reported once; see [`Remote::first_error`]).
    Unavailable,
}

#[derive(Default)]
struct State {
    down: bool,
    writes_off: bool,
    first_error: Option<String>,
    errors: u64,
}

/// One remote store.
pub struct Remote {
    inner: Arc<Inner>,
    rt: tokio::runtime::Runtime,
}

/// What a read needs, shared with the reads ahead running on the runtime (which must not own
/// the runtime: a runtime cannot be dropped on its own thread).
struct Inner {
    /// The URL without user name and password.
    shown: String,
    backend: Backend,
    timeout: Duration,
    state: Mutex<State>,
}

/// How a store is reached.
enum Backend {
    /// S3, WebDAV, the GitHub Actions cache.
    Dal(opendal::Operator),
    Redis(Box<RedisStore>),
}

/// A Redis server, through one multiplexed connection opened on first use.
struct RedisStore {
    client: redis::Client,
    conn: tokio::sync::OnceCell<redis::aio::MultiplexedConnection>,
}

/// Where entries live in Redis: `pyc-code-cache/v3/ab/cdef...` (the names OpenDAL's Redis
/// service gave them, with its root `/pyc-code-cache`).
const REDIS_ROOT: &str = "pyc-code-cache/";

impl RedisStore {
    async fn conn(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        // The crate's own limits (1 s to connect, 0.5 s per answer) give way to
        // `--code-cache-timeout`, which [`Inner::fetch`] and [`Remote::put`] put around every
        // call.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        self.conn
            .get_or_try_init(|| {
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
            })
            .await
            .cloned()
    }

    async fn get(&self, path: &str) -> redis::RedisResult<Option<Vec<u8>>> {
        let mut c = self.conn().await?;
        redis::cmd("GET")
            .arg(format!("{REDIS_ROOT}{path}"))
            .query_async(&mut c)
            .await
    }

    /// The values at `paths`, in order, by one `MGET`.
    async fn get_many(&self, paths: &[String]) -> redis::RedisResult<Vec<Option<Vec<u8>>>> {
        let mut c = self.conn().await?;
        let mut cmd = redis::cmd("MGET");
        for p in paths {
            cmd.arg(format!("{REDIS_ROOT}{p}"));
        }
        cmd.query_async(&mut c).await
    }

    async fn set(&self, path: &str, data: &[u8]) -> redis::RedisResult<()> {
        let mut c = self.conn().await?;
        redis::cmd("SET")
            .arg(format!("{REDIS_ROOT}{path}"))
            .arg(data)
            .query_async(&mut c)
            .await
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({})", self.inner.shown)
    }
}

impl Inner {
    fn failed(&self, what: &str, e: String, writes_only: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.errors += 1;
            if writes_only {
                s.writes_off = true;
            } else {
                s.down = true;
            }
            s.first_error
                .get_or_insert_with(|| format!("{}: {what}: {e}", self.shown));
        }
    }

    fn is(&self, f: impl Fn(&State) -> bool) -> bool {
        self.state.lock().map_or(true, |s| f(&s))
    }

    /// The entry at `path`, within the time limit.
    async fn fetch(&self, path: &str, max_len: u64) -> Got {
        if self.is(|s| s.down) {
            return Got::Unavailable;
        }
        let read = async {
            match &self.backend {
                Backend::Dal(op) => match op.read(path).await {
                    Ok(buf) => Ok(Some(buf.to_vec())),
                    Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(with_causes(&e)),
                },
                Backend::Redis(r) => r.get(path).await.map_err(|e| e.to_string()),
            }
        };
        match tokio::time::timeout(self.timeout, read).await {
            Ok(Ok(Some(data))) if data.len() as u64 <= max_len => Got::Found(data),
            Ok(Ok(_)) => Got::Miss,
            Ok(Err(e)) => {
                self.failed("cannot read", e, false);
                Got::Unavailable
            }
            Err(_) => {
                self.failed(
                    "cannot read",
                    format!("no answer within {:?}", self.timeout),
                    false,
                );
                Got::Unavailable
            }
        }
    }
}

impl Inner {
    /// The entries at `paths`, in order, within the time limit: one request where the store
    /// has one (Redis `MGET`), else one read each, all at once.
    async fn fetch_many(self: Arc<Self>, paths: Vec<String>, max_len: u64) -> Vec<Got> {
        let n = paths.len();
        if self.is(|s| s.down) {
            return vec![Got::Unavailable; n];
        }
        let Backend::Redis(r) = &self.backend else {
            let mut reads = tokio::task::JoinSet::new();
            for (i, path) in paths.into_iter().enumerate() {
                let inner = self.clone();
                reads.spawn(async move { (i, inner.fetch(&path, max_len).await) });
            }
            let mut out = vec![Got::Unavailable; n];
            while let Some(done) = reads.join_next().await {
                if let Ok((i, got)) = done {
                    out[i] = got;
                }
            }
            return out;
        };
        let failed = |e: String| {
            self.failed("cannot read", e, false);
            vec![Got::Unavailable; n]
        };
        match tokio::time::timeout(self.timeout, r.get_many(&paths)).await {
            Ok(Ok(values)) if values.len() == n => values
                .into_iter()
                .map(|v| match v {
                    Some(data) if data.len() as u64 <= max_len => Got::Found(data),
                    _ => Got::Miss,
                })
                .collect(),
            Ok(Ok(values)) => failed(format!("MGET of {n} keys answered {} values", values.len())),
            Ok(Err(e)) => failed(e.to_string()),
            Err(_) => failed(format!("no answer within {:?}", self.timeout)),
        }
    }
}

/// An error with the causes below it that its own text leaves out: OpenDAL says "error
/// sending request" and keeps why (a refused certificate, a refused connection) in the
/// chain of sources.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Is `spec` a remote store rather than a local folder?
pub fn is_remote(spec: &str) -> bool {
    [
        "redis://",
        "rediss://",
        "s3://",
        "webdav+http://",
        "webdav+https://",
        "gha://",
    ]
    .iter()
    .any(|p| spec.starts_with(p))
        || spec == "gha"
}

/// `scheme://user:password@rest` → `scheme://rest` (what is printed).
fn without_credentials(spec: &str) -> String {
    match spec.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => spec.to_string(),
    }
}

/// `[user[:password]@]host` → (user, password, host).
fn split_userinfo(authority: &str) -> (Option<String>, Option<String>, &str) {
    match authority.rsplit_once('@') {
        Some((u, h)) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (nonempty(user), nonempty(password), h)
        }
        None => (None, None, authority),
    }
}

/// `redis://[user[:password]@]host[:port][/db]`; also REDIS_USERNAME, REDIS_PASSWORD.
fn redis(spec: &str, rest: &str, shown: &str) -> Result<RedisStore, String> {
    use redis::IntoConnectionInfo;
    let scheme = if spec.starts_with("rediss://") {
        "rediss"
    } else {
        "redis"
    };
    let (authority, db) = match rest.split_once('/') {
        Some((a, db)) if !db.is_empty() => (
            a,
            db.parse::<i64>()
                .map_err(|_| format!("{shown}: the database must be a number"))?,
        ),
        Some((a, _)) => (a, 0),
        None => (rest, 0),
    };
    let (user, password, host) = split_userinfo(authority);
    if host.is_empty() {
        return Err(format!("{shown}: no host"));
    }
    let (user, password) = if authority.contains('@') {
        (user, password)
    } else {
        (
            std::env::var("REDIS_USERNAME").ok(),
            std::env::var("REDIS_PASSWORD").ok(),
        )
    };
    // The URL without credentials (they never reach a message), then the credentials.
    let info = format!("{scheme}://{host}/{db}")
        .into_connection_info()
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut settings = info.redis_settings().clone();
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        settings = settings.set_username(u);
    }
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        settings = settings.set_password(p);
    }
    if scheme == "rediss" {
        install_http();
    }
    let client = redis::Client::open(info.set_redis_settings(settings))
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(RedisStore {
        client,
        conn: tokio::sync::OnceCell::new(),
    })
}

/// `s3://bucket[/prefix]`. Endpoint, region and credentials come from the AWS SDKs'
/// environment variables (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_REGION` or
/// `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_PROFILE` and the shared config files), read by OpenDAL's credential chain.
fn s3(rest: &str, shown: &str) -> Result<opendal::Operator, String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || bucket.contains('@') || bucket.contains(':') {
        return Err(format!("{shown}: expected s3://bucket/prefix"));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .ok_or_else(|| format!("{shown}: no region: set AWS_REGION (or AWS_DEFAULT_REGION)"))?;
    let mut b = opendal::services::S3::default()
        .bucket(bucket)
        .region(&region)
        .root(&format!("/{}", prefix.trim_matches('/')));
    if let Some(endpoint) = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")) {
        b = b.endpoint(endpoint.trim_end_matches('/'));
    }
    install_http();
    opendal::Operator::new(b).map_err(|e| format!("{shown}: {e}"))
}

/// `webdav+http(s)://[user[:password]@]host[:port][/path]`.
fn webdav(rest: &str, shown: &str) -> Result<opendal::Operator, String> {
    let Some((scheme, rest)) = rest
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
    else {
        return Err(format!(
            "{shown}: expected webdav+http:// or webdav+https://"
        ));
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (user, password, host) = split_userinfo(authority);
    if host.is_empty() {
        return Err(format!("{shown}: no host"));
    }
    let mut b = opendal::services::Webdav::default()
        .endpoint(&format!("{scheme}://{host}"))
        .root(&format!("/{}", path.trim_matches('/')));
    if let Some(u) = user {
        b = b.username(&u);
    }
    if let Some(p) = password {
        b = b.password(&p);
    }
    install_http();
    opendal::Operator::new(b).map_err(|e| format!("{shown}: {e}"))
}

/// `gha` or `gha://scope`: the GitHub Actions cache, through OpenDAL's `ghac` service, with
/// what the runner gives a job: `ACTIONS_RUNTIME_TOKEN`, and `ACTIONS_RESULTS_URL` (cache
/// service v2, when `ACTIONS_CACHE_SERVICE_V2` is set) or `ACTIONS_CACHE_URL` (v1). Outside a
/// job (or in a `run:` step, which does not see them: see docs/compile.md) they are missing,
/// and this says which.
fn ghac(rest: &str, shown: &str) -> Result<opendal::Operator, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let v2 = env("ACTIONS_CACHE_SERVICE_V2").is_some();
    let url = if v2 {
        env("ACTIONS_RESULTS_URL")
    } else {
        env("ACTIONS_CACHE_URL").or_else(|| env("ACTIONS_RESULTS_URL"))
    };
    let mut missing = Vec::new();
    if env("ACTIONS_RUNTIME_TOKEN").is_none() {
        missing.push("ACTIONS_RUNTIME_TOKEN");
    }
    if url.is_none() {
        missing.push(if v2 {
            "ACTIONS_RESULTS_URL"
        } else {
            "ACTIONS_CACHE_URL (or ACTIONS_RESULTS_URL)"
        });
    }
    if !missing.is_empty() {
        return Err(format!(
            "{shown}: not in a GitHub Actions job: {} not set",
            missing.join(" and ")
        ));
    }
    let scope = rest.trim_matches('/');
    let b = opendal::services::Ghac::default()
        .root(&format!("/pyc-code-cache/{scope}"))
        .version("pyc-code-cache-v2");
    install_http();
    opendal::Operator::new(b).map_err(|e| format!("{shown}: {e}"))
}

/// OpenDAL's HTTP transport (reqwest) as the process's default, and HTTPS through rustls with
/// *ring* (OpenDAL's HTTP stack is built without a provider of its own, to keep aws-lc-sys
/// out of the build). Both install once; later calls change nothing.
// rustls deprecates *ring*'s provider only for lacking post-quantum key exchange, which
// aws-lc-rs has; for a cache of compiled code that trade is worth the lighter build.
#[allow(deprecated)]
fn install_http() {
    // An error means a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    opendal_http_transport_reqwest::install_default();
}

impl Remote {
    /// The store named by `spec`. Nothing is contacted yet.
    pub fn open(spec: &str, timeout: Duration) -> Result<Remote, String> {
        let shown = without_credentials(spec);
        let backend = if let Some(rest) = spec
            .strip_prefix("redis://")
            .or_else(|| spec.strip_prefix("rediss://"))
        {
            Backend::Redis(Box::new(redis(spec, rest, &shown)?))
        } else if let Some(rest) = spec.strip_prefix("s3://") {
            Backend::Dal(s3(rest, &shown)?)
        } else if let Some(rest) = spec.strip_prefix("webdav+") {
            Backend::Dal(webdav(rest, &shown)?)
        } else if let Some(rest) = spec
            .strip_prefix("gha://")
            .or((spec == "gha").then_some(""))
        {
            Backend::Dal(ghac(rest, &shown)?)
        } else if is_remote(spec) {
            return Err(format!(
                "{shown}: this kind of store is not supported (redis://, s3://, webdav+http(s)://, gha and local folders are)"
            ));
        } else {
            return Err(format!("{shown}: not a remote store"));
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pyc-code-cache")
            .enable_all()
            .build()
            .map_err(|e| format!("{shown}: cannot start the I/O runtime: {e}"))?;
        Ok(Remote {
            inner: Arc::new(Inner {
                shown,
                backend,
                timeout,
                state: Mutex::new(State::default()),
            }),
            rt,
        })
    }

    /// The store as printed (no credentials).
    pub fn shown(&self) -> &str {
        &self.inner.shown
    }

    /// The entry at `path`, within the time limit.
    pub fn get(&self, path: &str, max_len: u64) -> Got {
        self.rt.block_on(self.inner.fetch(path, max_len))
    }

    /// Read the entries at `paths` in the background (on this store's runtime), as one
    /// request where the store has one (Redis `MGET`); `done` gets what was found, in order.
    /// For reads ahead of the compile threads ([`crate::store::Store::prefetch`]).
    pub fn get_many_in_background(
        &self,
        paths: Vec<String>,
        max_len: u64,
        done: impl FnOnce(Vec<Got>) + Send + 'static,
    ) {
        let inner = self.inner.clone();
        self.rt
            .spawn(async move { done(inner.fetch_many(paths, max_len).await) });
    }

    /// Store `data` at `path`, within the time limit; false if it was not stored.
    pub fn put(&self, path: &str, data: Vec<u8>) -> bool {
        if self.inner.is(|s| s.down || s.writes_off) {
            return false;
        }
        // A write that fails for a reason the store calls temporary is tried again, twice at
        // most, within the same time limit: a WebDAV server answers two writers creating the
        // same folder at once with 423 Locked for one of them (rclone does).
        let attempts = async {
            match &self.inner.backend {
                Backend::Dal(op) => {
                    let data = opendal::Buffer::from(data);
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        match op.write(path, data.clone()).await {
                            Err(e) if e.is_temporary() && tries < 3 => {
                                tokio::time::sleep(Duration::from_millis(20 * tries)).await
                            }
                            r => return r.map(|_| ()).map_err(|e| with_causes(&e)),
                        }
                    }
                }
                Backend::Redis(r) => r.set(path, &data).await.map_err(|e| e.to_string()),
            }
        };
        let r = self
            .rt
            .block_on(async { tokio::time::timeout(self.inner.timeout, attempts).await });
        match r {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                self.inner.failed("cannot store", e, true);
                false
            }
            Err(_) => {
                self.inner.failed(
                    "cannot store",
                    format!("no answer within {:?}", self.inner.timeout),
                    true,
                );
                false
            }
        }
    }

    /// Every object under `prefix` (recursively) with its size and last-modified time, as
    /// the store lists them (S3 `ListObjectsV2`, WebDAV `PROPFIND`). Not every store can
    /// list: Redis is not listed (it evicts by its own `maxmemory-policy`).
    pub fn list(&self, prefix: &str) -> Result<Vec<Listed>, String> {
        let op = match &self.inner.backend {
            Backend::Dal(op) if op.info().capability().list => op,
            _ => {
                return Err(format!(
                    "{}: this store cannot list its entries (a Redis server evicts by its own maxmemory-policy)",
                    self.inner.shown
                ))
            }
        };
        let listing = async { op.list_with(prefix).recursive(true).await };
        let r = self.rt.block_on(async {
            // A listing is many calls: ten time limits for the whole.
            tokio::time::timeout(self.inner.timeout * 10, listing).await
        });
        let entries = match r {
            Ok(Ok(e)) => e,
            Ok(Err(e)) if e.kind() == opendal::ErrorKind::NotFound => Vec::new(),
            Ok(Err(e)) => {
                return Err(format!(
                    "{}: cannot list: {}",
                    self.inner.shown,
                    with_causes(&e)
                ))
            }
            Err(_) => {
                return Err(format!(
                    "{}: cannot list: no answer within {:?}",
                    self.inner.shown,
                    self.inner.timeout * 10
                ))
            }
        };
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().mode().is_file())
            .map(|e| Listed {
                len: e.metadata().content_length(),
                modified: e
                    .metadata()
                    .last_modified()
                    .map(std::time::SystemTime::from),
                path: e.path().to_string(),
            })
            .collect())
    }

    /// Delete the objects at `paths` (a batch where the store has one: S3 `DeleteObjects`).
    pub fn delete(&self, paths: Vec<String>) -> Result<(), String> {
        let n = paths.len() as u32;
        let limit = self.inner.timeout * n.clamp(1, 100);
        let deletes = async {
            match &self.inner.backend {
                Backend::Dal(op) => op.delete_iter(paths).await.map_err(|e| with_causes(&e)),
                // Never asked: deleting follows a listing, which Redis refuses.
                Backend::Redis(_) => Err("this store cannot list or delete its entries".into()),
            }
        };
        let r = self
            .rt
            .block_on(async { tokio::time::timeout(limit, deletes).await });
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{}: cannot delete: {e}", self.inner.shown)),
            Err(_) => Err(format!(
                "{}: cannot delete: no answer within {limit:?}",
                self.inner.shown
            )),
        }
    }

    /// The first failure (for the one warning), and how many calls failed.
    pub fn first_error(&self) -> Option<(String, u64)> {
        let s = self.inner.state.lock().ok()?;
        s.first_error.clone().map(|e| (e, s.errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_shown() {
        assert_eq!(
            without_credentials("redis://user:secret@host:6379/2"),
            "redis://host:6379/2"
        );
        assert_eq!(
            without_credentials("redis://host:6379"),
            "redis://host:6379"
        );
        assert_eq!(
            without_credentials("s3://bucket/prefix@x"),
            "s3://bucket/prefix@x"
        );
        let e = Remote::open("redis://u:secret@/1", Duration::from_secs(1)).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        let e = Remote::open("redis://u:secret@h/x", Duration::from_secs(1)).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        let r = Remote::open("webdav+http://u:secret@h:8080/c", Duration::from_secs(1)).unwrap();
        assert_eq!(r.shown(), "webdav+http://h:8080/c");
        let e = Remote::open("webdav+ftp://u:secret@h/c", Duration::from_secs(1)).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        let e = Remote::open("s3:///prefix", Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("expected s3://bucket/prefix"), "{e}");
    }

    #[test]
    fn a_store_that_is_down_costs_one_error_and_the_time_limit() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = Remote::open(
            &format!("redis://127.0.0.1:{port}/0"),
            Duration::from_millis(500),
        )
        .unwrap();
        let start = std::time::Instant::now();
        assert_eq!(r.get("v3/ab/cd", 100), Got::Unavailable);
        assert_eq!(r.get("v3/ab/cd", 100), Got::Unavailable);
        assert!(!r.put("v3/ab/cd", b"x".to_vec()));
        assert!(start.elapsed() < Duration::from_secs(5));
        let (msg, n) = r.first_error().unwrap();
        assert_eq!(n, 1, "{msg}");
        assert!(msg.starts_with(&format!("redis://127.0.0.1:{port}/0: cannot read")));
    }
}
