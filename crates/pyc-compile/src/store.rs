//! The code cache (`--code-cache DIR`): compiled code kept by content, so that a source an
//! interpreter has compiled once is not compiled again, whatever its path's `__pycache__`
//! holds and wherever the tree is: after a fresh checkout or a `git switch` (new mtimes), in a
//! new venv or container layer, at another path, or on another CI runner that shares the
//! folder.
//!
//! What a compile gives depends on the interpreter build, the optimization level, the source
//! bytes, the file name stored in the code (`co_filename`) and a few environment variables the
//! workers inherit ([`KEYED_ENVIRONMENT`]); pyc fixes the rest (its workers run with
//! `PYTHONHASHSEED=0`, without `PYTHONOPTIMIZE`, no inherited `__future__` flags). The key is
//! the BLAKE3 hash of all of these but the file name, with the interpreter given by its
//! `sys.version` line (version, build date and compiler) and magic number, so a rebuilt or
//! upgraded interpreter never reuses another's code. The file name is put in on a hit
//! ([`crate::relocate`]).
//!
//! The value is either the canonical marshal body compiled at some path (the header is made
//! from the source's stat or hash on each run, as always) or the compile error, with the
//! file name it was compiled as (a message can name the file). An entry is a file
//! `DIR/v3/ab/cdef...` holding a tag, the BLAKE3 hash of the rest, then the rest; it is written
//! as a temporary file renamed into place, and used only if tag, length and checksum agree
//! and the body loads: a damaged entry is a miss (and is replaced), never a wrong pyc. Entries
//! are never removed by pyc; deleting the folder (or any part of it) at any time is safe.

use std::path::PathBuf;

/// The first bytes of every entry; a change of format changes it (and the `v3` folder).
/// v3: BLAKE3 instead of SHA-256 for keys and checksums (three times faster here, and
/// hashing was a sixth of a warm run's time).
const TAG: &[u8; 8] = b"pycode3\n";
const FOLDER: &str = "v3";

/// Entries larger than this are neither read nor written (a pyc is far smaller).
const MAX_ENTRY: u64 = 1 << 30;

/// The environment variables the workers inherit that change what a compile gives, measured
/// with every live interpreter (docs/compile.md, "What the code depends on"):
/// `PYTHONNODEBUGRANGES` drops the column positions from the code (3.11+),
/// `PYTHONWARNINGS=error` turns compile-time warnings (`invalid escape sequence`) into
/// SyntaxErrors, `PYTHONINTMAXSTRDIGITS` moves the limit on decimal int literals (3.11+, and
/// the 3.7–3.10 security releases), and `PYTHONHOME` replaces the library the worker runs on.
pub const KEYED_ENVIRONMENT: &[&str] = &[
    "PYTHONNODEBUGRANGES",
    "PYTHONWARNINGS",
    "PYTHONINTMAXSTRDIGITS",
    "PYTHONHOME",
];

/// The values of [`KEYED_ENVIRONMENT`] in this process (the workers' environment).
pub fn keyed_environment() -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for name in KEYED_ENVIRONMENT {
        if let Some(v) = std::env::var_os(name) {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(&(v.len() as u64).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    out
}

/// A key: the BLAKE3 hash of what the compiled code depends on, the file name aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The keys of compiling `source` at each of `levels`, with the interpreter whose
    /// `sys.version` first line (`3.12.1 (main, Jan 10 2024, 12:00:00) [GCC 12.2.0]`) and
    /// magic number are given, in the environment `env` ([`keyed_environment`]). The source
    /// is hashed once for all levels.
    pub fn for_levels(
        sys_version: &str,
        magic: u16,
        env: &[u8],
        source: &[u8],
        levels: impl IntoIterator<Item = u8>,
    ) -> Vec<Key> {
        // Every part with its length first: no two different inputs give the same stream.
        fn part(h: &mut blake3::Hasher, b: &[u8]) {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        }
        let mut h = blake3::Hasher::new();
        part(&mut h, TAG);
        part(&mut h, sys_version.as_bytes());
        part(&mut h, &magic.to_le_bytes());
        part(&mut h, env);
        part(&mut h, source);
        levels
            .into_iter()
            .map(|level| {
                let mut h = h.clone();
                part(&mut h, &[level]);
                Key(*h.finalize().as_bytes())
            })
            .collect()
    }

    /// The key in hexadecimal.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The canonical marshal body of the module's code (compiled at some path).
    Code(Vec<u8>),
    /// The source does not compile: the message and line the interpreter gave, compiling it
    /// as `dfile`.
    Error {
        dfile: Vec<u8>,
        line: Option<u32>,
        message: String,
    },
}

/// What a look-up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Miss,
    Hit(Entry),
    /// An entry is there but cut, damaged or of another format: a miss, reported.
    Damaged,
}

/// A code cache: a local folder, remote stores ([`crate::remote`]), or both as tiers (the
/// folder first; a remote hit fills it).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// False when only remote stores were given (`dir` is then unused).
    local: bool,
    remotes: Vec<std::sync::Arc<crate::remote::Remote>>,
    counters: std::sync::Arc<TierCounters>,
    ahead: std::sync::Arc<Ahead>,
    /// `--code-cache-mode read-only`: look up, never store.
    pub read_only: bool,
    /// [`keyed_environment`], taken when the store is made.
    pub env: Vec<u8>,
}

/// Remote reads started ahead of the compile threads ([`Store::prefetch`]): each key's
/// answer (`None` while under way) until [`Store::get`] takes it.
#[derive(Debug, Default)]
struct Ahead {
    slots: std::sync::Mutex<AheadSlots>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct AheadSlots {
    got: std::collections::HashMap<Key, Option<crate::remote::Got>>,
    in_flight: usize,
}

/// How many remote reads are under way at once, at most.
pub const READS_IN_FLIGHT: usize = 32;
/// How many keys one read ahead asks for (one Redis `MGET`; concurrent reads elsewhere).
pub const READS_PER_BATCH: usize = 8;
/// How many answers read ahead may wait to be taken, at most (a bound on memory).
pub const READS_AHEAD: usize = 256;

/// Why an entry could not be stored.
pub type PutError = crate::write::WriteError;

impl Store {
    /// The store in `dir` (created with its first entry), read and written, keyed with this
    /// process's environment.
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store {
            dir: dir.into(),
            local: true,
            remotes: Vec::new(),
            counters: Default::default(),
            ahead: Default::default(),
            read_only: false,
            env: keyed_environment(),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        let hex = key.hex();
        self.dir.join(FOLDER).join(&hex[..2]).join(&hex[2..])
    }

    /// The tiers `specs` names, in order: local folders (the first one is the local tier;
    /// relative to `cwd`) and remote stores (`redis://host:port/db`), each remote read and
    /// written within `timeout`.
    pub fn from_specs(
        specs: &[String],
        cwd: &std::path::Path,
        timeout: std::time::Duration,
    ) -> Result<Store, String> {
        let mut store = Store::new(PathBuf::new());
        store.local = false;
        for spec in specs.iter().filter(|s| !s.is_empty()) {
            if crate::remote::is_remote(spec) {
                let r = crate::remote::Remote::open(spec, timeout)?;
                store.remotes.push(std::sync::Arc::new(r));
            } else if store.local {
                return Err(format!(
                    "{spec}: only one local code cache folder can be given"
                ));
            } else {
                store.dir = cwd.join(spec);
                store.local = true;
            }
        }
        if !store.local && store.remotes.is_empty() {
            return Err("no code cache given".into());
        }
        Ok(store)
    }

    /// Whether there is a local folder tier.
    pub fn has_local(&self) -> bool {
        self.local
    }

    /// The remote tiers.
    pub fn remotes(&self) -> &[std::sync::Arc<crate::remote::Remote>] {
        &self.remotes
    }

    /// Remote hits and bytes so far.
    pub fn remote_counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.counters;
        (
            c.hits.load(Relaxed),
            c.bytes_read.load(Relaxed),
            c.bytes_written.load(Relaxed),
        )
    }

    /// The entry stored under `key` in the first tier that has it, if it is intact there. A
    /// remote hit is copied into the local tier (unless read-only).
    pub fn get(&self, key: &Key) -> Lookup {
        use std::sync::atomic::Ordering::Relaxed;
        let local = if self.local {
            self.get_local(key)
        } else {
            Lookup::Miss
        };
        if matches!(local, Lookup::Hit(_)) || self.remotes.is_empty() {
            return local;
        }
        let hex = key.hex();
        let name = format!("{FOLDER}/{}/{}", &hex[..2], &hex[2..]);
        let mut damaged = local == Lookup::Damaged;
        // A read ahead of the first tier, if one was started: its answer (waited for).
        let mut ahead = self.take_ahead(key);
        for (i, r) in self.remotes.iter().enumerate() {
            let got = match (i, ahead.take()) {
                (0, Some(got)) => got,
                _ => r.get(&name, MAX_ENTRY),
            };
            if let crate::remote::Got::Found(data) = got {
                match decode(&data) {
                    Some(entry) => {
                        self.counters.hits.fetch_add(1, Relaxed);
                        self.counters
                            .bytes_read
                            .fetch_add(data.len() as u64, Relaxed);
                        if self.local && !self.read_only {
                            let _ = crate::write::write_atomic(&self.path(key), &data, 0o644);
                        }
                        return Lookup::Hit(entry);
                    }
                    None => damaged = true,
                }
            }
        }
        if damaged {
            Lookup::Damaged
        } else {
            Lookup::Miss
        }
    }

    /// Start reading `keys` from the first remote tier in the background, as one batch
    /// ([`crate::remote::Remote::get_many_in_background`]: one Redis `MGET`), leaving out
    /// those the local tier has or that are under way; [`Store::get`] takes the answers.
    /// Waits while [`READS_IN_FLIGHT`] reads are under way or [`READS_AHEAD`] answers are not
    /// taken yet (at most `patience` each time: false then, and nothing was started).
    pub fn prefetch(&self, keys: &[Key], patience: std::time::Duration) -> bool {
        let Some(first) = self.remotes.first() else {
            return false;
        };
        let mut keys: Vec<Key> = keys
            .iter()
            .filter(|k| !(self.local && self.path(k).exists()))
            .copied()
            .collect();
        if keys.is_empty() {
            return true;
        }
        let Ok(mut slots) = self.ahead.slots.lock() else {
            return false;
        };
        while slots.in_flight + keys.len() > READS_IN_FLIGHT.max(keys.len())
            || slots.got.len() >= READS_AHEAD
        {
            match self.ahead.changed.wait_timeout(slots, patience) {
                Ok((s, t)) if !t.timed_out() => slots = s,
                _ => return false,
            }
        }
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| !slots.got.contains_key(k) && seen.insert(*k));
        if keys.is_empty() {
            return true;
        }
        for k in &keys {
            slots.got.insert(*k, None);
        }
        slots.in_flight += keys.len();
        drop(slots);
        let names = keys
            .iter()
            .map(|k| {
                let hex = k.hex();
                format!("{FOLDER}/{}/{}", &hex[..2], &hex[2..])
            })
            .collect();
        let ahead = self.ahead.clone();
        first.get_many_in_background(names, MAX_ENTRY, move |got| {
            if let Ok(mut slots) = ahead.slots.lock() {
                slots.in_flight -= keys.len();
                let mut got = got.into_iter();
                for k in keys {
                    let g = got.next().unwrap_or(crate::remote::Got::Unavailable);
                    slots.got.insert(k, Some(g));
                }
            }
            ahead.changed.notify_all();
        });
        true
    }

    /// The answer of a read ahead of `key`, once it is there; None if none was started.
    fn take_ahead(&self, key: &Key) -> Option<crate::remote::Got> {
        let mut slots = self.ahead.slots.lock().ok()?;
        loop {
            match slots.got.get(key) {
                None => return None,
                Some(Some(_)) => {
                    let got = slots.got.remove(key).flatten();
                    drop(slots);
                    self.ahead.changed.notify_all();
                    return got;
                }
                Some(None) => slots = self.ahead.changed.wait(slots).ok()?,
            }
        }
    }

    /// Drop the answers read ahead that nobody took (a source read again differently).
    pub fn forget_ahead(&self) {
        if let Ok(mut slots) = self.ahead.slots.lock() {
            slots.got.retain(|_, g| g.is_none());
        }
        self.ahead.changed.notify_all();
    }

    fn get_local(&self, key: &Key) -> Lookup {
        use std::io::Read;
        let Ok(file) = std::fs::File::open(self.path(key)) else {
            return Lookup::Miss;
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return Lookup::Damaged;
        };
        if !(41..=MAX_ENTRY).contains(&len) {
            return Lookup::Damaged;
        }
        let mut data = Vec::with_capacity(len as usize);
        if file.take(MAX_ENTRY).read_to_end(&mut data).is_err() {
            return Lookup::Damaged;
        }
        match decode(&data) {
            Some(e) => Lookup::Hit(e),
            None => Lookup::Damaged,
        }
    }

    /// Store `entry` under `key` (atomically: a reader sees the whole entry or none). The
    /// number of bytes written; nothing in read-only mode.
    pub fn put(&self, key: &Key, entry: &Entry) -> Result<u64, PutError> {
        if self.read_only {
            return Ok(0);
        }
        use std::sync::atomic::Ordering::Relaxed;
        let data = entry.to_bytes();
        if data.len() as u64 > MAX_ENTRY {
            return Ok(0);
        }
        if !self.remotes.is_empty() {
            let hex = key.hex();
            let name = format!("{FOLDER}/{}/{}", &hex[..2], &hex[2..]);
            for r in &self.remotes {
                if r.put(&name, data.clone()) {
                    self.counters
                        .bytes_written
                        .fetch_add(data.len() as u64, Relaxed);
                }
            }
        }
        if self.local {
            crate::write::write_atomic(&self.path(key), &data, 0o644)?;
        }
        Ok(data.len() as u64)
    }
}

impl Entry {
    /// The entry as stored: tag, BLAKE3 hash of the rest, the rest.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
}

#[derive(Debug, Default)]
struct TierCounters {
    hits: std::sync::atomic::AtomicU64,
    bytes_read: std::sync::atomic::AtomicU64,
    bytes_written: std::sync::atomic::AtomicU64,
}

/// What a cache folder holds ([`Store::scan`]).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Entries of the current format, and their bytes.
    pub entries: u64,
    pub bytes: u64,
    /// Entries of an older format (`v1/`): never read, removed first by a prune.
    pub old_entries: u64,
    pub old_bytes: u64,
    /// Temporary files of a write that was killed.
    pub leftovers: u64,
}

/// What [`Store::prune`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub removed: u64,
    pub removed_bytes: u64,
    /// What is left.
    pub entries: u64,
    pub bytes: u64,
}

/// One file of the store.
struct Found {
    path: PathBuf,
    len: u64,
    used: std::time::SystemTime,
    current: bool,
    leftover: bool,
}

/// The format folders pyc has written (`v1` held path-keyed entries, `v2` SHA-256 ones):
/// stats count them, prune and clear remove them.
const FOLDERS: [&str; 3] = [FOLDER, "v2", "v1"];

impl Store {
    /// The folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Mark the entry under `key` as used now (its mtime), for least-recently-used eviction.
    /// Best effort: a read-only store or file system keeps the old time.
    /// Nothing without a local tier (its folder is then unset: a path relative to the working
    /// directory must never be opened).
    pub fn touch(&self, key: &Key) {
        if !self.local {
            return;
        }
        if let Ok(f) = std::fs::File::options().write(true).open(self.path(key)) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    }

    /// Every entry (and temporary file) under the format folders, `vN/ab/cdef...`: folders of
    /// two hex digits, names of 62 (so a folder that is not a code cache loses nothing to a
    /// prune or clear). Links are not followed; a folder that cannot be read is skipped.
    fn files(&self) -> Vec<Found> {
        let mut out = Vec::new();
        for folder in FOLDERS {
            let Ok(subs) = std::fs::read_dir(self.dir.join(folder)) else {
                continue;
            };
            for sub in subs.flatten() {
                let sub_name = sub.file_name();
                let sub_name = sub_name.as_encoded_bytes();
                if !sub.file_type().is_ok_and(|t| t.is_dir())
                    || sub_name.len() != 2
                    || !sub_name.iter().all(u8::is_ascii_hexdigit)
                {
                    continue;
                }
                let Ok(files) = std::fs::read_dir(sub.path()) else {
                    continue;
                };
                for f in files.flatten() {
                    let Ok(meta) = f.metadata() else { continue };
                    if !meta.is_file() {
                        continue;
                    }
                    let name = f.file_name();
                    let hex = name.as_encoded_bytes().get(..62);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        continue;
                    }
                    out.push(Found {
                        path: f.path(),
                        len: meta.len(),
                        used: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                        current: folder == FOLDER,
                        leftover: name.to_string_lossy().ends_with(".pyc-tmp"),
                    });
                }
            }
        }
        out
    }

    /// What the folder holds.
    pub fn scan(&self) -> Usage {
        let mut u = Usage::default();
        for f in self.files() {
            match (f.leftover, f.current) {
                (true, _) => u.leftovers += 1,
                (false, true) => {
                    u.entries += 1;
                    u.bytes += f.len;
                }
                (false, false) => {
                    u.old_entries += 1;
                    u.old_bytes += f.len;
                }
            }
        }
        u
    }

    /// Remove entries until at most `max_bytes` are left: entries of older formats first,
    /// then the least recently used (oldest mtime; a hit renews it); temporary files older
    /// than an hour (a killed write) too. Entries another process removes meanwhile are
    /// skipped; one being read when it is removed is read whole or is a miss.
    pub fn prune(&self, max_bytes: u64) -> Pruned {
        let now = std::time::SystemTime::now();
        let mut files = self.files();
        let mut p = Pruned::default();
        files.retain(|f| {
            let stale_tmp =
                f.leftover && now.duration_since(f.used).is_ok_and(|d| d.as_secs() > 3600);
            if stale_tmp && std::fs::remove_file(&f.path).is_ok() {
                p.removed += 1;
                p.removed_bytes += f.len;
            }
            !f.leftover
        });
        // Old formats first, then oldest use first.
        files.sort_by(|a, b| a.current.cmp(&b.current).then(a.used.cmp(&b.used)));
        let mut total: u64 = files.iter().map(|f| f.len).sum();
        let mut kept = files.len() as u64;
        for f in &files {
            if total <= max_bytes && f.current {
                break;
            }
            if std::fs::remove_file(&f.path).is_ok() {
                p.removed += 1;
                p.removed_bytes += f.len;
            }
            total -= f.len;
            kept -= 1;
        }
        p.entries = kept;
        p.bytes = total;
        p
    }

    /// Remove every entry and temporary file, then the folders they leave empty; nothing
    /// else is touched. The first file that cannot be removed is the error.
    pub fn clear(&self) -> std::io::Result<Pruned> {
        let mut p = Pruned::default();
        for f in self.files() {
            match std::fs::remove_file(&f.path) {
                Ok(()) => {
                    p.removed += 1;
                    p.removed_bytes += f.len;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if let Some(parent) = f.path.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
        for folder in FOLDERS {
            let _ = std::fs::remove_dir(self.dir.join(folder));
        }
        Ok(p)
    }
}

/// Whether `path` (below a store's root) names an entry, `vN/ab/` + 62 hex digits, and if
/// so whether of the current format.
fn entry_name(path: &str) -> Option<bool> {
    let mut parts = path.trim_start_matches('/').split('/');
    let (folder, sub, name) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (parts.next().is_none() && FOLDERS.contains(&folder) && hex(sub, 2) && hex(name, 62))
        .then_some(folder == FOLDER)
}

/// Looking after a remote store (`pyc cache stats|prune|clear DIR-or-URL`). A remote keeps
/// no record of reads, so "least recently used" there is least recently *written*, by the
/// last-modified time the store lists (to the second); a store's own expiry (S3 lifecycle
/// rules, Redis `maxmemory-policy allkeys-lru`) is the native alternative.
impl Store {
    /// The entries of remote `r`, oldest write first (ties by name), and other objects under
    /// the format folders left aside.
    fn remote_entries(
        r: &crate::remote::Remote,
    ) -> Result<Vec<(crate::remote::Listed, bool)>, String> {
        let mut out = Vec::new();
        for folder in FOLDERS {
            for l in r.list(&format!("{folder}/"))? {
                if let Some(current) = entry_name(&l.path) {
                    out.push((l, current));
                }
            }
        }
        out.sort_by(|(a, ac), (b, bc)| {
            ac.cmp(bc)
                .then(a.modified.cmp(&b.modified))
                .then(a.path.cmp(&b.path))
        });
        Ok(out)
    }

    /// What remote `r` holds.
    pub fn scan_remote(r: &crate::remote::Remote) -> Result<Usage, String> {
        let mut u = Usage::default();
        for (l, current) in Self::remote_entries(r)? {
            if current {
                u.entries += 1;
                u.bytes += l.len;
            } else {
                u.old_entries += 1;
                u.old_bytes += l.len;
            }
        }
        Ok(u)
    }

    /// Remove entries of remote `r` until at most `max_bytes` are left: older formats first,
    /// then the least recently written.
    pub fn prune_remote(r: &crate::remote::Remote, max_bytes: u64) -> Result<Pruned, String> {
        let entries = Self::remote_entries(r)?;
        let mut total: u64 = entries.iter().map(|(l, _)| l.len).sum();
        let mut p = Pruned {
            entries: entries.len() as u64,
            ..Pruned::default()
        };
        let mut gone = Vec::new();
        for (l, current) in &entries {
            if total <= max_bytes && *current {
                break;
            }
            total -= l.len;
            p.removed += 1;
            p.removed_bytes += l.len;
            gone.push(l.path.clone());
        }
        r.delete(gone)?;
        p.entries -= p.removed;
        p.bytes = total;
        Ok(p)
    }

    /// Remove every entry of remote `r` (nothing else under its root).
    pub fn clear_remote(r: &crate::remote::Remote) -> Result<Pruned, String> {
        Self::prune_remote(r, 0)
    }
}

fn encode(entry: &Entry) -> Vec<u8> {
    let mut payload = Vec::new();
    match entry {
        Entry::Code(body) => {
            payload.push(b'c');
            payload.extend_from_slice(body);
        }
        Entry::Error {
            dfile,
            line,
            message,
        } => {
            payload.push(b'e');
            payload.extend_from_slice(&line.unwrap_or(u32::MAX).to_le_bytes());
            payload.extend_from_slice(&(dfile.len() as u64).to_le_bytes());
            payload.extend_from_slice(dfile);
            payload.extend_from_slice(message.as_bytes());
        }
    }
    let mut out = Vec::with_capacity(40 + payload.len());
    out.extend_from_slice(TAG);
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    out
}

/// The entry whose tag and checksum are right.
fn decode(data: &[u8]) -> Option<Entry> {
    let rest = data.strip_prefix(TAG.as_slice())?;
    let (sum, payload) = rest.split_at_checked(32)?;
    if blake3::hash(payload).as_bytes().as_slice() != sum {
        return None;
    }
    let (&kind, rest) = payload.split_first()?;
    match kind {
        b'c' => Some(Entry::Code(rest.to_vec())),
        b'e' => {
            let (line, rest) = rest.split_at_checked(4)?;
            let line = u32::from_le_bytes(line.try_into().ok()?);
            let (n, rest) = rest.split_at_checked(8)?;
            let n = usize::try_from(u64::from_le_bytes(n.try_into().ok()?)).ok()?;
            let (dfile, message) = rest.split_at_checked(n)?;
            Some(Entry::Error {
                dfile: dfile.to_vec(),
                line: (line != u32::MAX).then_some(line),
                message: String::from_utf8(message.to_vec()).ok()?,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: &str = "3.12.1 (main, Jan 10 2024) [GCC 12.2.0]";

    fn key(sys_version: &str, magic: u16, level: u8, env: &[u8], source: &[u8]) -> Key {
        Key::for_levels(sys_version, magic, env, source, [level])[0]
    }

    #[test]
    fn keys_change_with_every_part() {
        let k = key(BUILD, 3531, 0, b"m.py", b"x = 1\n");
        assert_eq!(k, key(BUILD, 3531, 0, b"m.py", b"x = 1\n"));
        let others = [
            key(
                "3.12.2 (main, Feb  6 2024) [GCC 12.2.0]",
                3531,
                0,
                b"m.py",
                b"x = 1\n",
            ),
            key(BUILD, 3532, 0, b"m.py", b"x = 1\n"),
            key(BUILD, 3531, 1, b"m.py", b"x = 1\n"),
            key(BUILD, 3531, 0, b"n.py", b"x = 1\n"),
            key(BUILD, 3531, 0, b"m.py", b"x = 2\n"),
            // The same bytes split differently between environment and source.
            key(BUILD, 3531, 0, b"m.pyx", b" = 1\n"),
        ];
        for other in others {
            assert_ne!(k, other);
        }
        // Several levels at once: each level's own key.
        let all = Key::for_levels(BUILD, 3531, b"m.py", b"x = 1\n", [0, 1, 2]);
        assert_eq!(all[0], k);
        assert_eq!(all[1], others[2]);
        assert_ne!(all[1], all[2]);
    }

    #[test]
    fn entries_round_trip_and_damage_is_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store"));
        let key = key(BUILD, 3531, 0, b"m.py", b"pass\n");
        let entry = Entry::Code(b"body bytes".to_vec());
        assert_eq!(store.get(&key), Lookup::Miss);
        store.put(&key, &entry).unwrap();
        assert_eq!(store.get(&key), Lookup::Hit(entry.clone()));
        let path = store.path(&key);
        let good = std::fs::read(&path).unwrap();
        // Any flipped byte (tag, checksum or body), a cut or an empty file: a miss.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(store.get(&key), Lookup::Damaged, "byte {i}");
        }
        for cut in [0, 8, 39, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert_eq!(store.get(&key), Lookup::Damaged, "cut {cut}");
        }
        // A new put replaces a damaged entry.
        store.put(&key, &entry).unwrap();
        assert_eq!(store.get(&key), Lookup::Hit(entry));
        // Nothing but the entry is left in its folder (no temporary files).
        let folder = path.parent().unwrap();
        assert_eq!(std::fs::read_dir(folder).unwrap().count(), 1);
    }

    #[test]
    fn errors_round_trip_and_read_only_stores_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::new(tmp.path().join("store"));
        let k = key(BUILD, 3531, 0, b"", b"x = (\n");
        for line in [None, Some(0), Some(7)] {
            let e = Entry::Error {
                dfile: b"/a/m.py".to_vec(),
                line,
                message: "SyntaxError: '(' was never closed".into(),
            };
            store.put(&k, &e).unwrap();
            assert_eq!(store.get(&k), Lookup::Hit(e));
        }
        store.read_only = true;
        let other = key(BUILD, 3531, 1, b"", b"x = (\n");
        assert_eq!(store.put(&other, &Entry::Code(b"c".to_vec())).unwrap(), 0);
        assert_eq!(store.get(&other), Lookup::Miss);
    }

    #[test]
    fn entry_names() {
        let h = "a".repeat(62);
        assert_eq!(entry_name(&format!("v3/ab/{h}")), Some(true));
        assert_eq!(entry_name(&format!("/v1/0f/{h}")), Some(false));
        // SHA-256 entries of the format before: old, counted and pruned first.
        assert_eq!(entry_name(&format!("v2/0f/{h}")), Some(false));
        assert_eq!(entry_name(&format!("v3/ab/{h}.pyc-tmp")), None);
        assert_eq!(entry_name(&format!("v3/abc/{h}")), None);
        assert_eq!(entry_name(&format!("v4/ab/{h}")), None);
        assert_eq!(entry_name(&format!("v3/ab/{h}/x")), None);
        assert_eq!(entry_name("v3/ab/"), None);
    }

    #[test]
    fn prune_removes_least_recently_used_first_and_clear_everything() {
        use std::time::{Duration, SystemTime};
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store"));
        let keys: Vec<Key> = (0..5u8).map(|i| key(BUILD, 3531, 0, b"", &[i])).collect();
        for (i, k) in keys.iter().enumerate() {
            store.put(k, &Entry::Code(vec![i as u8; 100])).unwrap();
            // Stored in order, a minute apart.
            let f = std::fs::File::options()
                .write(true)
                .open(store.path(k))
                .unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + 60 * i as u64))
                .unwrap();
        }
        // An old-format entry and a user's file beside the folders.
        std::fs::create_dir_all(tmp.path().join("store/v1/ab")).unwrap();
        std::fs::write(tmp.path().join("store/v1/ab").join("c".repeat(62)), [0; 50]).unwrap();
        // Files that are not entries are never counted nor removed.
        std::fs::create_dir_all(tmp.path().join("store/v3/notes")).unwrap();
        std::fs::write(tmp.path().join("store/v3/notes/x"), "mine").unwrap();
        std::fs::write(tmp.path().join("store/v1/ab/short"), "mine").unwrap();
        std::fs::write(tmp.path().join("store/README"), "mine").unwrap();
        let u = store.scan();
        assert_eq!((u.entries, u.bytes, u.old_entries), (5, 5 * 141, 1));
        // The oldest entry is used now: it is kept, the next oldest go.
        store.touch(&keys[0]);
        let p = store.prune(3 * 141);
        assert_eq!((p.removed, p.entries, p.bytes), (3, 3, 3 * 141));
        assert!(matches!(store.get(&keys[0]), Lookup::Hit(_)));
        assert_eq!(store.get(&keys[1]), Lookup::Miss);
        assert_eq!(store.get(&keys[2]), Lookup::Miss);
        assert!(matches!(store.get(&keys[4]), Lookup::Hit(_)));
        assert_eq!(store.scan().old_entries, 0);
        let c = store.clear().unwrap();
        assert_eq!(c.removed, 3);
        assert_eq!(store.scan(), Usage::default());
        assert!(tmp.path().join("store/README").exists());
        assert!(tmp.path().join("store/v3/notes/x").exists());
        assert!(tmp.path().join("store/v1/ab/short").exists());
    }
}
