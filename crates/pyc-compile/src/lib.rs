//! # pyc-compile
//!
//! Compiling source trees with pools of long-lived real interpreters, writing pycs that are
//! exact (the interpreter's own compiler), reproducible (canonical marshal form), incremental
//! (only what is not fresh is compiled: a run with nothing to do starts no interpreter) and
//! atomic (temp file, rename).
//!
//! The flow: [`plan::collect`] walks the destinations as compileall does; [`compile`] asks
//! [`fresh::classify`] about every (source, interpreter, level), puts what is stale in one list,
//! largest sources first, and lets `jobs` threads work through it. Workers come from the
//! [`pool`] (the one place they are started and stopped): each thread holds at most one
//! [`worker::Worker`] per interpreter, started only when it gets its first job for that
//! interpreter. The worker returns marshal bytes; the thread adds the header, puts the pyc in
//! the canonical form of the format crate ([`pyc_format::canonical_pyc`]: `FLAG_REF` only on
//! objects referenced again; interning and set element order kept as the interpreter wrote
//! them), and writes it ([`write`]).
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use pyc_compile::{compile, Interpreter, Options, plan};
//! let interp = Interpreter::new(pyc_python::Interpreter::from_flag("3.12").unwrap()).unwrap();
//! let (sources, _errors) = plan::collect(&["src".into()], &plan::WalkOptions::default());
//! let report = compile(&[interp], &sources, &Options::default(), &AtomicBool::new(false), &|_| {});
//! println!("{} written, {} up to date", report.written.len(), report.up_to_date);
//! ```

pub mod fresh;
pub mod plan;
pub mod pool;
pub mod pyre;
pub mod relocate;
pub mod remote;
pub mod store;
pub mod worker;
pub mod write;

use std::collections::{HashMap, VecDeque};
use std::os::unix::ffi::OsStrExt;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use pyc_cache::paths::{cache_from_source, CacheOptions};
use pyc_format::{PyVersion, VersionInfo};
use rayon::prelude::*;
use serde::Serialize;

pub use fresh::{InvalidationMode, SourceStat, Verdict};
pub use plan::{SourceFile, WalkOptions};

/// One interpreter to compile for: pyc-python's resolved and probed interpreter (the one
/// model of "which interpreter"), with the facts the compile consults per file taken out of it
/// once.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The interpreter, as pyc-python resolved, probed and accepted it.
    pub python: pyc_python::Interpreter,
    pub version: PyVersion,
    pub info: &'static VersionInfo,
    /// The interpreter's own magic number (the probe's, so a pre-release is right too).
    pub magic: u16,
    /// `sys.pycache_prefix` (`PYTHONPYCACHEPREFIX`), 3.8+.
    pub pycache_prefix: Option<Vec<u8>>,
    /// `sys.flags.optimize`: the level used when none is asked for.
    pub optimize: u8,
    /// The shared classification's view of this interpreter (None for versions whose cache
    /// validation pyc-cache does not model, 3.0–3.2: always compiled).
    pub target: Option<pyc_cache::classify::Target>,
}

impl Interpreter {
    /// The compile's view of an interpreter pyc-python has probed (and so accepted as
    /// CPython); only versions pyc knows are taken. Runs nothing.
    pub fn new(python: pyc_python::Interpreter) -> Result<Interpreter, String> {
        let p = &python.probe;
        let version = p.version();
        let info = pyc_format::version_info(version).ok_or_else(|| {
            format!(
                "{}: pyc does not know CPython {version}",
                p.executable.display()
            )
        })?;
        let magic = p.magic.unwrap_or(info.magic);
        Ok(Interpreter {
            version,
            info,
            magic,
            pycache_prefix: p.pycache_prefix.clone().map(String::into_bytes),
            optimize: p.optimize,
            target: fresh::target_for(info, magic),
            python,
        })
    }

    /// The executable the workers run.
    pub fn exe(&self) -> &std::path::Path {
        self.python.exe()
    }

    /// The full version (`3.12.1`).
    pub fn full_version(&self) -> String {
        let p = &self.python.probe;
        format!("{}.{}.{}", p.major, p.minor, p.micro)
    }

    /// `sys.version`, first line: the build, as the code cache's keys see it.
    pub fn sys_version(&self) -> &str {
        &self.python.probe.version
    }

    /// Does `compile()` take `optimize=` (3.2+)? Older versions compile at the level the
    /// process was started with, so their workers are started with `-O` / `-OO` per level.
    pub fn compile_takes_optimize(&self) -> bool {
        self.version >= PyVersion::new(3, 2)
    }

    /// The mode actually written: versions before PEP 552 (3.7) only have timestamps.
    pub fn effective_mode(&self, asked: InvalidationMode) -> InvalidationMode {
        if self.info.source_hash.is_some() {
            asked
        } else {
            InvalidationMode::Timestamp
        }
    }

    /// The cache file of `source` at `level` (compileall: `-b` puts `source + "c"` beside it).
    pub fn cache_path(
        &self,
        source: &[u8],
        level: u8,
        legacy: bool,
        cwd: &[u8],
    ) -> Result<Vec<u8>, String> {
        if legacy && self.info.cache_tag.is_some() {
            let mut p = source.to_vec();
            p.push(b'c');
            return Ok(p);
        }
        let opt = if level == 0 {
            String::new()
        } else {
            level.to_string()
        };
        cache_from_source(
            self.info,
            source,
            CacheOptions {
                optimization: &opt,
                prefix: self.pycache_prefix.as_deref(),
                cwd,
            },
        )
        .map_err(|e| e.to_string())
    }
}

/// What to do besides the sources and interpreters.
#[derive(Debug, Clone)]
pub struct Options {
    /// Optimization levels, sorted, without duplicates.
    pub levels: Vec<u8>,
    pub mode: InvalidationMode,
    /// `-f`: compile even what is fresh.
    pub force: bool,
    /// `--verify`: a pyc is fresh only if its whole body also loads (a truncated or corrupt
    /// pyc behind a fresh header is compiled again).
    pub verify: bool,
    /// `-b`: `NAME.pyc` beside the source.
    pub legacy: bool,
    /// `--hardlink-dupes`: a level whose pyc equals the previous level's becomes a hard link.
    pub hardlink_dupes: bool,
    /// Worker threads (and at most that many worker processes per interpreter).
    pub jobs: usize,
    /// Per file (and for a worker's start-up).
    pub timeout: Duration,
    /// The working directory (for relative sources under a pycache prefix).
    pub cwd: Vec<u8>,
    /// `--code-cache DIR`: compiled code kept by content ([`store`]).
    pub code_cache: Option<store::Store>,
    /// `--code-cache-size`: after a run that stored entries, the least recently used are
    /// removed until the folder holds at most this many bytes.
    pub code_cache_size: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            levels: vec![0],
            mode: InvalidationMode::default_from_env(),
            force: false,
            verify: false,
            legacy: false,
            hardlink_dupes: false,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Duration::from_secs(60),
            cwd: std::env::current_dir()
                .map(|d| d.as_os_str().as_bytes().to_vec())
                .unwrap_or_default(),
            code_cache: None,
            code_cache_size: None,
        }
    }
}

/// A pyc written.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub source: PathBuf,
    pub cache: PathBuf,
    /// `X.Y` of the interpreter.
    pub python: String,
    pub optimize: u8,
    /// Written as a hard link to the previous level's pyc (`--hardlink-dupes`).
    pub hardlink: bool,
    /// The code came from the code cache (`--code-cache`), not from an interpreter.
    pub from_code_cache: bool,
}

/// What went wrong with one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The source does not compile (SyntaxError, ValueError for null bytes, ...).
    Compile,
    /// The worker crashed, hung past the timeout, or could not start.
    Worker,
    /// Reading the source or writing the pyc failed; a target py_compile refuses.
    Io,
}

/// One failure, reported like compileall does: `file:line: message`.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub source: PathBuf,
    pub python: String,
    pub optimize: Option<u8>,
    pub kind: FailureKind,
    pub line: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.source.display(), self.message),
            None => write!(f, "{}: {}", self.source.display(), self.message),
        }
    }
}

/// What happened.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub written: Vec<Written>,
    /// Cache files that were already fresh (one per source, interpreter and level).
    pub up_to_date: usize,
    pub failures: Vec<Failure>,
    /// Sources that were compiled (per interpreter: a source compiled for two is counted
    /// twice), by an interpreter or from the code cache.
    pub jobs: usize,
    /// Of `jobs`, those whose code all came from the code cache.
    pub from_code_cache: usize,
    /// The first entry the code cache could not store, and how many failed (the compile
    /// goes on without them).
    pub code_cache_error: Option<String>,
    pub code_cache_failures: usize,
    /// The first failure of each remote store (down, slow, refusing writes): one warning
    /// each; the compile went on without it.
    pub code_cache_warnings: Vec<String>,
    /// What the code cache did (all zero without one).
    pub code_cache: CodeCacheStats,
    pub interrupted: bool,
}

/// Code cache look-ups and stores, one per (source, interpreter, level) looked up.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct CodeCacheStats {
    /// Entries found, intact and usable at this path.
    pub hits: u64,
    /// No entry.
    pub misses: u64,
    /// An entry that was cut, damaged, of another format or did not load: a miss, reported.
    pub damaged: u64,
    /// An intact entry that could not be moved to this path exactly (the file name is also a
    /// constant, or the new name is not ASCII; [`relocate`]): a miss.
    pub not_movable: u64,
    /// Entries stored (0 in read-only mode).
    pub stored: u64,
    /// Bytes of the entries used, and of the entries stored.
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Entries removed after the run to keep the folder under `--code-cache-size`.
    pub evicted: u64,
    /// Of `hits`, those found in a remote store (and copied to the local folder), and the
    /// bytes moved from and to the remote stores.
    pub remote_hits: u64,
    pub remote_bytes_read: u64,
    pub remote_bytes_written: u64,
    /// Remote calls that failed (a store that is down costs one, then is left alone).
    pub remote_errors: u64,
}

#[derive(Default)]
struct CacheCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    damaged: AtomicU64,
    not_movable: AtomicU64,
    stored: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

impl CacheCounters {
    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn stats(&self) -> CodeCacheStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CodeCacheStats {
            hits: g(&self.hits),
            misses: g(&self.misses),
            damaged: g(&self.damaged),
            not_movable: g(&self.not_movable),
            stored: g(&self.stored),
            bytes_read: g(&self.bytes_read),
            bytes_written: g(&self.bytes_written),
            evicted: 0,
            remote_hits: 0,
            remote_bytes_read: 0,
            remote_bytes_written: 0,
            remote_errors: 0,
        }
    }
}

/// Progress, for a bar.
pub enum Event<'a> {
    /// Classification is done: `jobs` (source, interpreter) pairs to compile.
    Planned {
        jobs: usize,
        up_to_date: usize,
    },
    /// One job finished.
    JobDone,
    Failed(&'a Failure),
}

/// One (source, interpreter) with what it needs.
struct Job {
    source: usize,
    interp: usize,
    /// For interpreters whose `compile()` lacks `optimize=`, one job per level, run by a
    /// worker started with that many `-O`.
    fixed_level: Option<u8>,
    /// (level, cache file) of every stale level.
    levels: Vec<(u8, PathBuf)>,
    size: u64,
}

fn bytes_path(b: &[u8]) -> &std::path::Path {
    std::path::Path::new(std::ffi::OsStr::from_bytes(b))
}

fn path_from(b: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

/// The source's bytes and its stat, taken on the open file (so both describe one file).
fn read_source(path: &std::path::Path) -> std::io::Result<(Vec<u8>, SourceStat)> {
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    // Room for the whole file and one byte more: the read that returns 0 confirms the end
    // without another round of growing.
    let mut data = Vec::with_capacity((meta.len() as usize).saturating_add(1));
    loop {
        if data.len() == data.capacity() {
            data.reserve(data.len().max(8192));
        }
        match rustix::io::read(&f, rustix::buffer::spare_capacity(&mut data)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((data, SourceStat::from_metadata(&meta)))
}

fn source_hash(interp: &Interpreter, data: &[u8]) -> [u8; 8] {
    match interp.info.source_hash {
        Some(variant) => pyc_format::source_hash(variant, interp.magic, data),
        None => [0; 8],
    }
}

/// Classify everything; return the jobs (largest source first), the fresh count and failures.
fn plan_jobs(
    interps: &[Interpreter],
    sources: &[SourceFile],
    opts: &Options,
    stop: &AtomicBool,
) -> (Vec<Job>, usize, Vec<Failure>) {
    // Sources come in walk order: one group per folder, so each folder and each cache folder
    // is opened once and every file is looked up relative to it.
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let parent = src.path.parent();
        match groups.last_mut() {
            Some(g) if sources[g.start].path.parent() == parent => g.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    let results: Vec<(Vec<Job>, usize, Vec<Failure>)> = groups
        .into_par_iter()
        .flat_map_iter(|range| {
            let mut dirs = DirFds::default();
            range
                .map(|si| classify_source(interps, sources, si, opts, stop, &mut dirs))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut jobs = Vec::new();
    let mut fresh = 0;
    let mut failures = Vec::new();
    for (j, f, e) in results {
        jobs.extend(j);
        fresh += f;
        failures.extend(e);
    }
    // Largest first, so the long poles start early; ties in walk order.
    jobs.sort_by(|a, b| b.size.cmp(&a.size).then(a.source.cmp(&b.source)));
    (jobs, fresh, failures)
}

/// Open folders (`O_PATH`), by path; None when the folder does not exist.
#[derive(Default)]
struct DirFds {
    open: HashMap<Vec<u8>, Option<std::os::fd::OwnedFd>>,
}

impl DirFds {
    /// The folder `dir` ("" = the working directory): Ok(None) if it does not exist, Err if
    /// it cannot be opened for another reason (the caller then uses whole paths).
    fn get(&mut self, dir: &[u8]) -> Result<Option<std::os::fd::BorrowedFd<'_>>, ()> {
        use rustix::fs::{openat, Mode, OFlags, CWD};
        if !self.open.contains_key(dir) {
            let path = if dir.is_empty() { &b"."[..] } else { dir };
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = match openat(CWD, path, flags, Mode::empty()) {
                Ok(fd) => Some(fd),
                Err(rustix::io::Errno::NOENT) => None,
                Err(_) => return Err(()),
            };
            self.open.insert(dir.to_vec(), fd);
        }
        use std::os::fd::AsFd;
        Ok(self
            .open
            .get(dir)
            .and_then(|f| f.as_ref())
            .map(|f| f.as_fd()))
    }
}

fn classify_source(
    interps: &[Interpreter],
    sources: &[SourceFile],
    si: usize,
    opts: &Options,
    stop: &AtomicBool,
    dirs: &mut DirFds,
) -> (Vec<Job>, usize, Vec<Failure>) {
    let src = &sources[si];
    let mut jobs = Vec::new();
    let mut fresh = 0;
    let mut failures = Vec::new();
    if stop.load(Ordering::Relaxed) {
        return (jobs, fresh, failures);
    }
    let src_bytes = src.path.as_os_str().as_bytes();
    let (src_dir, src_name) = pyc_cache::paths::path_split(src_bytes);
    let stat = match dirs.get(src_dir) {
        Ok(Some(fd)) => rustix::fs::statat(fd, bytes_path(src_name), rustix::fs::AtFlags::empty())
            .map(|st| SourceStat::from_stat(&st))
            .map_err(std::io::Error::from),
        _ => std::fs::metadata(&src.path).map(|m| SourceStat::from_metadata(&m)),
    };
    let stat = match stat {
        Ok(st) => st,
        Err(e) => {
            failures.push(Failure {
                source: src.path.clone(),
                python: String::new(),
                optimize: None,
                kind: FailureKind::Io,
                line: None,
                message: format!("cannot read: {e}"),
            });
            return (jobs, fresh, failures);
        }
    };
    // The source bytes, read at most once, only for hash-based checks.
    let mut data: Option<Result<Vec<u8>, String>> = None;
    for (ii, interp) in interps.iter().enumerate() {
        let mode = interp.effective_mode(opts.mode);
        let mut stale = Vec::new();
        for &level in &opts.levels {
            let cfile = match interp.cache_path(src_bytes, level, opts.legacy, &opts.cwd) {
                Ok(c) => path_from(c),
                Err(message) => {
                    failures.push(Failure {
                        source: src.path.clone(),
                        python: interp.version.to_string(),
                        optimize: Some(level),
                        kind: FailureKind::Io,
                        line: None,
                        message,
                    });
                    continue;
                }
            };
            let verdict = match (&interp.target, opts.force) {
                (Some(target), false) => {
                    let mut source = || {
                        data.get_or_insert_with(|| {
                            std::fs::read(&src.path).map_err(|e| e.to_string())
                        })
                        .clone()
                    };
                    let cbytes = cfile.as_os_str().as_bytes();
                    let (cdir, cname) = pyc_cache::paths::path_split(cbytes);
                    match dirs.get(cdir) {
                        Ok(Some(fd)) => fresh::classify_at(
                            fd,
                            bytes_path(cname),
                            target,
                            mode,
                            &stat,
                            opts.verify,
                            &mut source,
                        ),
                        // No cache folder: nothing in it.
                        Ok(None) => Verdict::Missing,
                        Err(()) => {
                            fresh::classify(&cfile, target, mode, &stat, opts.verify, &mut source)
                        }
                    }
                }
                _ => Verdict::Stale,
            };
            match verdict {
                Verdict::Fresh => fresh += 1,
                Verdict::Symlink => failures.push(Failure {
                    source: src.path.clone(),
                    python: interp.version.to_string(),
                    optimize: Some(level),
                    kind: FailureKind::Io,
                    line: None,
                    message: format!("FileExistsError: {}", write::WriteError::Symlink(cfile)),
                }),
                Verdict::Stale | Verdict::Missing => stale.push((level, cfile)),
            }
        }
        if stale.is_empty() {
            continue;
        }
        if interp.compile_takes_optimize() {
            jobs.push(Job {
                source: si,
                interp: ii,
                fixed_level: None,
                levels: stale,
                size: stat.size,
            });
        } else {
            for (level, cfile) in stale {
                jobs.push(Job {
                    source: si,
                    interp: ii,
                    fixed_level: Some(level),
                    levels: vec![(level, cfile)],
                    size: stat.size,
                });
            }
        }
    }
    (jobs, fresh, failures)
}

use pool::Key as PoolKey;

/// Requests kept queued per thread (compileall's process pool keeps one spare call per worker
/// for the same reason).
const PIPELINE: usize = 3;

/// A job whose request is queued at a worker.
struct Sent<'j> {
    job: &'j Job,
    key: PoolKey,
    /// The worker the request went to ([`worker::Worker::id`]): if it has been replaced
    /// since, the job goes to the new one instead of taking its answers.
    worker: u64,
    data: Vec<u8>,
    stat: SourceStat,
    /// Per level, the code cache's key under which to keep what the worker returns (None
    /// where the cache has it already; empty without a code cache).
    keys: Vec<Option<store::Key>>,
}

struct Shared<'a> {
    interps: &'a [Interpreter],
    sources: &'a [SourceFile],
    opts: &'a Options,
    jobs: Vec<Job>,
    next: AtomicUsize,
    pool: pool::Pool<'a>,
    report: Mutex<Report>,
    stop: &'a AtomicBool,
    on_event: &'a (dyn Fn(Event) + Sync),
    cache: CacheCounters,
    /// Sources the read-ahead thread read and hashed, by job index, for the compile thread
    /// that takes the job: each source is then read and hashed once, not twice.
    read: Mutex<ReadAhead>,
}

/// A source as the read-ahead thread read it, with its code cache keys.
struct ReadSource {
    data: Vec<u8>,
    stat: SourceStat,
    keys: Vec<store::Key>,
}

/// [`ReadSource`]s by job index, bounded in count and bytes (a compile thread that finds none
/// reads the source itself).
#[derive(Default)]
struct ReadAhead {
    by_job: HashMap<usize, ReadSource>,
    bytes: usize,
}

impl ReadAhead {
    const MAX_SOURCES: usize = 2 * store::READS_AHEAD;
    const MAX_BYTES: usize = 64 << 20;

    /// Keep `r` for job `j`, unless the bounds are reached; jobs before `next` were taken
    /// already (their thread read the source itself) and are dropped.
    fn keep(&mut self, j: usize, r: ReadSource, next: usize) {
        if self.by_job.len() >= Self::MAX_SOURCES || self.bytes + r.data.len() > Self::MAX_BYTES {
            let mut freed = 0;
            self.by_job.retain(|&k, v| {
                let keep = k >= next;
                if !keep {
                    freed += v.data.len();
                }
                keep
            });
            self.bytes -= freed;
        }
        if self.by_job.len() < Self::MAX_SOURCES && self.bytes + r.data.len() <= Self::MAX_BYTES {
            self.bytes += r.data.len();
            self.by_job.insert(j, r);
        }
    }

    fn take(&mut self, j: usize) -> Option<ReadSource> {
        let r = self.by_job.remove(&j)?;
        self.bytes -= r.data.len();
        Some(r)
    }
}

impl Shared<'_> {
    fn fail(
        &self,
        job: &Job,
        level: Option<u8>,
        kind: FailureKind,
        line: Option<u32>,
        message: String,
    ) {
        let f = Failure {
            source: self.sources[job.source].path.clone(),
            python: self.interps[job.interp].version.to_string(),
            optimize: level,
            kind,
            line,
            message,
        };
        (self.on_event)(Event::Failed(&f));
        if let Ok(mut r) = self.report.lock() {
            r.failures.push(f);
        }
    }

    fn run_thread(&self) {
        let mut workers = pool::Held::new(&self.pool);
        let mut in_flight: VecDeque<Sent> = VecDeque::new();
        let mut retry: VecDeque<&Job> = VecDeque::new();
        loop {
            // Keep a few requests queued at the workers, so a worker never waits for pyc.
            while in_flight.len() < PIPELINE && !self.stop.load(Ordering::Relaxed) {
                let (index, job) = match retry.pop_front() {
                    Some(j) => (None, j),
                    None => {
                        let i = self.next.fetch_add(1, Ordering::Relaxed);
                        match self.jobs.get(i) {
                            Some(j) => (Some(i), j),
                            None => break,
                        }
                    }
                };
                match self.send(index, job, &mut workers) {
                    Some(sent) => in_flight.push_back(sent),
                    None => (self.on_event)(Event::JobDone),
                }
            }
            let Some(sent) = in_flight.pop_front() else {
                break;
            };
            let w = match workers.same(sent.key, sent.worker) {
                Some(w) => w,
                None => {
                    retry.push_back(sent.job);
                    continue;
                }
            };
            match w.receive(sent.job.levels.len(), self.opts.timeout, self.stop) {
                Ok(outcomes) => self.finish(
                    sent.job, &sent.data, &sent.stat, outcomes, &sent.keys, false,
                ),
                Err(worker::WorkerError::Interrupted) => {
                    workers.close(sent.key);
                    break;
                }
                Err(e) => {
                    // A crashed or hung worker is thrown away and the file reported; what was
                    // queued behind it goes to a new worker.
                    workers.discard(sent.key);
                    self.fail(sent.job, None, FailureKind::Worker, None, e.to_string());
                    let (same, other): (VecDeque<Sent>, VecDeque<Sent>) =
                        in_flight.into_iter().partition(|s| s.key == sent.key);
                    in_flight = other;
                    retry.extend(same.into_iter().map(|s| s.job));
                }
            }
            (self.on_event)(Event::JobDone);
        }
    }

    /// Reads ahead of the compile threads, with remote tiers: the code cache keys of the
    /// jobs they take next, asked of the remote store concurrently (up to
    /// `store::READS_IN_FLIGHT` at once, `store::READS_AHEAD` answers waiting) instead of one
    /// round trip at a time per thread. The threads still read each source themselves; what
    /// they find read ahead they take, anything else they ask for as before.
    fn read_ahead(&self, store: &store::Store) {
        let mut j = 0;
        let mut batch = Vec::new();
        let patience = std::time::Duration::from_millis(200);
        while !self.stop.load(Ordering::Relaxed) {
            // Never behind the threads: what they took is theirs.
            j = j.max(self.next.load(Ordering::Relaxed));
            let Some(job) = self.jobs.get(j) else { break };
            j += 1;
            let Ok((data, stat)) = read_source(&self.sources[job.source].path) else {
                continue;
            };
            let interp = &self.interps[job.interp];
            let keys = store::Key::for_levels(
                interp.sys_version(),
                interp.magic,
                &store.env,
                &data,
                job.levels.iter().map(|&(level, _)| level),
            );
            batch.extend_from_slice(&keys);
            if let Ok(mut read) = self.read.lock() {
                let next = self.next.load(Ordering::Relaxed);
                if j > next {
                    read.keep(j - 1, ReadSource { data, stat, keys }, next);
                }
            }
            // A batch goes when it is full, or at once while the threads wait for this very
            // job (at the start, or when they caught up).
            let waited_for = j <= self.next.load(Ordering::Relaxed) + 1;
            if batch.len() >= store::READS_PER_BATCH || waited_for {
                if !store.prefetch(&batch, patience) {
                    // The threads are not taking answers (all compiling, or done): drop the
                    // ones left behind so memory stays bounded, and go on.
                    store.forget_ahead();
                }
                batch.clear();
            }
        }
        if !batch.is_empty() && !store.prefetch(&batch, patience) {
            store.forget_ahead();
        }
    }

    /// Read the source and queue it at its worker (started if needed). None when the job
    /// failed already (reported).
    fn send<'j>(
        &self,
        index: Option<usize>,
        job: &'j Job,
        workers: &mut pool::Held,
    ) -> Option<Sent<'j>> {
        let src = &self.sources[job.source];
        let ahead = index.and_then(|i| self.read.lock().ok()?.take(i));
        let (data, stat, known) = match ahead {
            Some(r) => (r.data, r.stat, Some(r.keys)),
            None => match read_source(&src.path) {
                Ok((data, stat)) => (data, stat, None),
                Err(e) => {
                    self.fail(
                        job,
                        None,
                        FailureKind::Io,
                        None,
                        format!("cannot read: {e}"),
                    );
                    return None;
                }
            },
        };
        // With a code cache: the code (or error) of every level, if all are there, is used;
        // otherwise the worker compiles the source, and the levels missing are kept.
        let mut keys = Vec::new();
        if let Some(store) = &self.opts.code_cache {
            let interp = &self.interps[job.interp];
            let found: Vec<(store::Key, Option<worker::Outcome>)> = known
                .unwrap_or_else(|| {
                    store::Key::for_levels(
                        interp.sys_version(),
                        interp.magic,
                        &store.env,
                        &data,
                        job.levels.iter().map(|&(level, _)| level),
                    )
                })
                .into_iter()
                .map(|k| (k, self.cached(store, interp, &k, src.display_name())))
                .collect();
            if found.iter().all(|(_, o)| o.is_some()) {
                let outcomes = found.into_iter().filter_map(|(_, o)| o).collect();
                self.finish(job, &data, &stat, outcomes, &[], true);
                return None;
            }
            keys = found
                .into_iter()
                .map(|(k, o)| o.is_none().then_some(k))
                .collect();
        }
        let key = (job.interp, job.fixed_level);
        let w = match workers.get(key) {
            Ok(w) => w,
            Err(msg) => {
                self.fail(job, None, FailureKind::Worker, None, msg);
                return None;
            }
        };
        let levels: Vec<u8> = job
            .levels
            .iter()
            .map(|&(l, _)| if job.fixed_level.is_some() { 0 } else { l })
            .collect();
        if let Err(e) = w.send(&levels, src.display_name(), &data) {
            workers.close(key);
            self.fail(job, None, FailureKind::Worker, None, e.to_string());
            return None;
        }
        Some(Sent {
            job,
            key,
            worker: w.id(),
            data,
            stat,
            keys,
        })
    }

    /// The code cache's answer for `key`, moved to `dfile`; None for a miss (counted).
    fn cached(
        &self,
        store: &store::Store,
        interp: &Interpreter,
        key: &store::Key,
        dfile: &[u8],
    ) -> Option<worker::Outcome> {
        let c = &self.cache;
        let entry = match store.get(key) {
            store::Lookup::Hit(e) => e,
            store::Lookup::Miss => {
                CacheCounters::add(&c.misses, 1);
                return None;
            }
            store::Lookup::Damaged => {
                CacheCounters::add(&c.damaged, 1);
                return None;
            }
        };
        match entry {
            store::Entry::Code(body) => {
                let format = pyc_format::CodeFormat::for_magic(interp.magic, interp.version)?;
                let mv = interp.info.marshal_version;
                let neutral = relocate::neutral_name(&key.hex());
                let moved = match relocate::relocate_fast(&body, format, mv, &neutral, dfile) {
                    Some(code) => Ok(code),
                    None => relocate::relocate(&body, format, mv, dfile),
                };
                match moved {
                    Ok(code) => {
                        if !store.read_only {
                            store.touch(key);
                        }
                        CacheCounters::add(&c.hits, 1);
                        CacheCounters::add(&c.bytes_read, body.len() as u64);
                        Some(worker::Outcome::Code(code))
                    }
                    Err(relocate::Refused::Damaged(_)) => {
                        CacheCounters::add(&c.damaged, 1);
                        None
                    }
                    Err(relocate::Refused::NotMovable(_)) => {
                        CacheCounters::add(&c.not_movable, 1);
                        None
                    }
                }
            }
            store::Entry::Error {
                dfile: compiled_as,
                line,
                message,
            } => {
                // A message can name the file (`Non-UTF-8 code ... in file /a/m.py`): one
                // that names the old path is not this path's message.
                let names_old = !compiled_as.is_empty()
                    && message
                        .as_bytes()
                        .windows(compiled_as.len())
                        .any(|w| w == compiled_as.as_slice());
                if compiled_as == dfile || !names_old {
                    CacheCounters::add(&c.hits, 1);
                    CacheCounters::add(&c.bytes_read, message.len() as u64);
                    Some(worker::Outcome::Error { line, message })
                } else {
                    CacheCounters::add(&c.not_movable, 1);
                    None
                }
            }
        }
    }

    /// Keep `entry` in the code cache under `key`; a failure is counted and the compile goes
    /// on.
    fn keep(&self, key: &store::Key, entry: &store::Entry) {
        let Some(store) = &self.opts.code_cache else {
            return;
        };
        match store.put(key, entry) {
            Ok(0) => {}
            Ok(n) => {
                CacheCounters::add(&self.cache.stored, 1);
                CacheCounters::add(&self.cache.bytes_written, n);
            }
            Err(e) => {
                if let Ok(mut r) = self.report.lock() {
                    r.code_cache_failures += 1;
                    r.code_cache_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    /// Write what the worker (or the code cache: `from_cache`) gave for one job, and keep
    /// what a worker compiled in the code cache under `keys` (one per level; none without a
    /// code cache).
    fn finish(
        &self,
        job: &Job,
        data: &[u8],
        stat: &SourceStat,
        outcomes: Vec<worker::Outcome>,
        keys: &[Option<store::Key>],
        from_cache: bool,
    ) {
        let interp = &self.interps[job.interp];
        let src = &self.sources[job.source];
        let mode = interp.effective_mode(self.opts.mode);
        let hash = if mode == InvalidationMode::Timestamp {
            [0; 8]
        } else {
            source_hash(interp, data)
        };
        let header = fresh::header(interp.magic, mode, stat, hash);
        let file_mode = write::pyc_mode(Some(stat.mode));
        let mut written_now: HashMap<u8, Vec<u8>> = HashMap::new();
        // Errors are kept too: the next run reports them without an interpreter.
        for (k, outcome) in outcomes.iter().enumerate() {
            if let (worker::Outcome::Error { line, message }, Some(Some(key))) =
                (outcome, keys.get(k))
            {
                let entry = store::Entry::Error {
                    dfile: src.display_name().to_vec(),
                    line: *line,
                    message: message.clone(),
                };
                self.keep(key, &entry);
            }
        }
        if from_cache {
            if let Ok(mut r) = self.report.lock() {
                r.from_code_cache += 1;
            }
        }
        // The same error at every level is reported once.
        if let Some(worker::Outcome::Error { line, message }) = outcomes.first() {
            if outcomes.iter().all(|o| o == &outcomes[0]) {
                let level = (outcomes.len() == 1).then_some(job.levels[0].0);
                return self.fail(job, level, FailureKind::Compile, *line, message.clone());
            }
        }
        for (k, ((level, cfile), outcome)) in job.levels.iter().zip(outcomes).enumerate() {
            let marshal = match outcome {
                worker::Outcome::Code(m) => m,
                worker::Outcome::Error { line, message } => {
                    self.fail(job, Some(*level), FailureKind::Compile, line, message);
                    continue;
                }
            };
            let mut raw = header.clone();
            raw.extend_from_slice(&marshal);
            // What comes from the code cache was loaded and written by the canonical writer
            // when it was moved to this path: only a worker's answer needs the rewrite.
            let pyc = if from_cache {
                raw
            } else {
                match pyc_format::canonical_pyc(&raw) {
                    Ok(b) => b,
                    Err(e) => {
                        self.fail(
                            job,
                            Some(*level),
                            FailureKind::Worker,
                            None,
                            format!("cannot read the marshal data the worker returned: {e}"),
                        );
                        continue;
                    }
                }
            };
            if let Some(Some(key)) = keys.get(k) {
                // Kept under a file name no constant can equal, so that a hit moves it to
                // its path by replacing one string record (relocate.rs).
                let body = pyc.get(header.len()..).unwrap_or_default();
                let neutral = pyc_format::CodeFormat::for_magic(interp.magic, interp.version)
                    .and_then(|format| {
                        relocate::relocate(
                            body,
                            format,
                            interp.info.marshal_version,
                            &relocate::neutral_name(&key.hex()),
                        )
                        .ok()
                    });
                self.keep(
                    key,
                    &store::Entry::Code(neutral.unwrap_or_else(|| body.to_vec())),
                );
            }
            let mut hardlink = false;
            let result = match self.previous_level(job, *level, &written_now) {
                Some((prev_path, prev_bytes)) if self.opts.hardlink_dupes && prev_bytes == pyc => {
                    hardlink = true;
                    write::link_atomic(&prev_path, cfile)
                }
                _ => write::write_atomic(cfile, &pyc, file_mode),
            };
            match result {
                Ok(()) => {
                    if let Ok(mut r) = self.report.lock() {
                        r.written.push(Written {
                            source: src.path.clone(),
                            cache: cfile.clone(),
                            python: interp.version.to_string(),
                            optimize: *level,
                            hardlink,
                            from_code_cache: from_cache,
                        });
                    }
                    written_now.insert(*level, pyc);
                }
                Err(e) => {
                    let msg = match e {
                        write::WriteError::Symlink(_) | write::WriteError::NotRegular(_) => {
                            format!("FileExistsError: {e}")
                        }
                        _ => format!("cannot write {e}"),
                    };
                    self.fail(job, Some(*level), FailureKind::Io, None, msg);
                }
            }
        }
    }

    /// For `--hardlink-dupes`: the previous level's pyc (path and bytes), from this job or,
    /// when that level was fresh, from disk.
    fn previous_level(
        &self,
        job: &Job,
        level: u8,
        written_now: &HashMap<u8, Vec<u8>>,
    ) -> Option<(PathBuf, Vec<u8>)> {
        if !self.opts.hardlink_dupes || job.fixed_level.is_some() {
            return None;
        }
        let pos = self.opts.levels.iter().position(|&l| l == level)?;
        let prev = *self.opts.levels.get(pos.checked_sub(1)?)?;
        let interp = &self.interps[job.interp];
        let src = self.sources[job.source].path.as_os_str().as_bytes();
        let path = path_from(
            interp
                .cache_path(src, prev, self.opts.legacy, &self.opts.cwd)
                .ok()?,
        );
        let bytes = match written_now.get(&prev) {
            Some(b) => b.clone(),
            None => std::fs::read(&path).ok()?,
        };
        Some((path, bytes))
    }
}

/// Compile `sources` for every interpreter in `interps`. `stop` (set by a Ctrl-C handler)
/// stops taking new work; what is in flight finishes, and nothing half-written is left.
/// What [`compile`] would do, without starting an interpreter (`pyc compile --dry-run`): every
/// pyc it would write (in source order), how many are up to date, and the sources it could not
/// read.
pub fn dry_run(
    interps: &[Interpreter],
    sources: &[SourceFile],
    opts: &Options,
) -> (Vec<Written>, usize, Vec<Failure>) {
    let stop = AtomicBool::new(false);
    let (jobs, up_to_date, failures) = plan_jobs(interps, sources, opts, &stop);
    let mut out: Vec<Written> = jobs
        .iter()
        .flat_map(|j| {
            j.levels.iter().map(move |(level, cache)| Written {
                source: sources[j.source].path.clone(),
                cache: cache.clone(),
                python: interps[j.interp].version.to_string(),
                optimize: *level,
                hardlink: false,
                from_code_cache: false,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.source, &a.python, a.optimize).cmp(&(&b.source, &b.python, b.optimize)));
    (out, up_to_date, failures)
}

pub fn compile(
    interps: &[Interpreter],
    sources: &[SourceFile],
    opts: &Options,
    stop: &AtomicBool,
    on_event: &(dyn Fn(Event) + Sync),
) -> Report {
    let (jobs, up_to_date, failures) = plan_jobs(interps, sources, opts, stop);
    on_event(Event::Planned {
        jobs: jobs.len(),
        up_to_date,
    });
    for f in &failures {
        on_event(Event::Failed(f));
    }
    let n_jobs = jobs.len();
    let threads = opts.jobs.max(1).min(n_jobs);
    let shared = Shared {
        interps,
        sources,
        opts,
        jobs,
        next: AtomicUsize::new(0),
        pool: pool::Pool::new(interps, opts.timeout),
        report: Mutex::new(Report {
            up_to_date,
            failures,
            jobs: n_jobs,
            ..Report::default()
        }),
        stop,
        on_event,
        cache: CacheCounters::default(),
        read: Mutex::new(ReadAhead::default()),
    };
    std::thread::scope(|s| {
        if let Some(store) = opts.code_cache.as_ref().filter(|c| !c.remotes().is_empty()) {
            s.spawn(|| shared.read_ahead(store));
        }
        for _ in 0..threads {
            s.spawn(|| shared.run_thread());
        }
    });
    let cache = shared.cache.stats();
    let mut report = shared.report.into_inner().unwrap_or_default();
    report.code_cache = cache;
    // Bounded: the least recently used entries go once the run has stored its own.
    if let Some(store) = &opts.code_cache {
        let (hits, read, written) = store.remote_counts();
        let c = &mut report.code_cache;
        (c.remote_hits, c.remote_bytes_read, c.remote_bytes_written) = (hits, read, written);
        for r in store.remotes() {
            if let Some((msg, n)) = r.first_error() {
                c.remote_errors += n;
                report.code_cache_warnings.push(msg);
            }
        }
    }
    if let (Some(store), Some(max)) = (&opts.code_cache, opts.code_cache_size) {
        if cache.stored > 0 && store.has_local() {
            report.code_cache.evicted = store.prune(max).removed;
        }
    }
    report.interrupted = stop.load(Ordering::Relaxed);
    // Stable order for output: by source, interpreter, level.
    report.written.sort_by(|a, b| {
        (&a.source, &a.python, a.optimize).cmp(&(&b.source, &b.python, b.optimize))
    });
    report.failures.sort_by(|a, b| {
        (&a.source, &a.python, a.optimize).cmp(&(&b.source, &b.python, b.optimize))
    });
    report
}
