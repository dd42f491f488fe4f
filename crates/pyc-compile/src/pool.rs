//! The worker pool: the one place workers are started, handed out, given back and stopped.
//!
//! A worker ([`Worker`]) is one long-lived interpreter process behind a line protocol
//! (`worker.rs`: the protocol, and from 3.13 the fork of the just-started worker for each
//! compilation). Workers are keyed by interpreter and, for versions whose `compile()` has no
//! `optimize=` (before 3.2), by the level the process was started with (`-O`, `-OO`). A key
//! whose worker could not start is remembered as broken, so a bad interpreter costs one
//! attempt per run, not one per file.
//!
//! Two users: [`crate::compile`], whose threads each hold at most one worker per key for the
//! whole run ([`Held`], for pipelining requests), and `pyc dis FILE.py`, which asks for one
//! compilation at a time ([`Pool::compile`]: an idle worker is taken, used and given back).
//! Both send the same request to the same worker script, so what dis shows of a source is
//! exactly the code `pyc compile` writes for it.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use crate::worker::{Outcome, Worker, WorkerError};
use crate::Interpreter;

/// Which worker: the interpreter's index and, before 3.2, the level the process runs at.
pub type Key = (usize, Option<u8>);

/// Workers over a set of interpreters.
pub struct Pool<'a> {
    interps: &'a [Interpreter],
    /// How long a worker may take to start, and to answer one file.
    timeout: Duration,
    /// Keys whose worker could not start, with why.
    broken: Mutex<HashMap<Key, String>>,
    /// Workers given back and not in use.
    idle: Mutex<Vec<(Key, Worker)>>,
}

impl<'a> Pool<'a> {
    pub fn new(interps: &'a [Interpreter], timeout: Duration) -> Pool<'a> {
        Pool {
            interps,
            timeout,
            broken: Mutex::new(HashMap::new()),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn interps(&self) -> &'a [Interpreter] {
        self.interps
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The worker that compiles `level` for interpreter `interp`, and the level to ask it
    /// for: before 3.2 `compile()` takes no `optimize=`, so the level is the process's own
    /// (`-O`) and the request asks for the default.
    pub fn route(&self, interp: usize, level: u8) -> (Key, u8) {
        match self.interps.get(interp) {
            Some(i) if !i.compile_takes_optimize() => ((interp, Some(level)), 0),
            _ => ((interp, None), level),
        }
    }

    /// A worker for `key`: an idle one, else a new one (started and checked against the
    /// probed magic number). Err when it cannot start (then the key is broken for this run).
    pub fn start(&self, key: Key) -> Result<Worker, String> {
        if let Some(msg) = self.broken.lock().ok().and_then(|b| b.get(&key).cloned()) {
            return Err(msg);
        }
        if let Ok(mut idle) = self.idle.lock() {
            if let Some(at) = idle.iter().position(|(k, _)| *k == key) {
                return Ok(idle.swap_remove(at).1);
            }
        }
        let interp = self
            .interps
            .get(key.0)
            .ok_or_else(|| "no such interpreter".to_string())?;
        let flags: &[&str] = match key.1 {
            Some(1) => &["-O"],
            Some(2) => &["-OO"],
            _ => &[],
        };
        Worker::spawn(interp.exe(), flags, interp.magic, self.timeout).map_err(|err| {
            let msg = err.to_string();
            if let Ok(mut b) = self.broken.lock() {
                b.insert(key, msg.clone());
            }
            msg
        })
    }

    /// Hand a worker that answered everything it was asked back for the next user.
    pub fn give_back(&self, key: Key, worker: Worker) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((key, worker));
        }
    }

    /// Compile `source` (named `dfile` in the code objects) at `level` with interpreter
    /// `interp`, as [`crate::compile`] would: the marshal bytes the worker returned, or the
    /// compile error.
    pub fn compile(
        &self,
        interp: usize,
        level: u8,
        dfile: &[u8],
        source: &[u8],
        stop: &AtomicBool,
    ) -> Result<Outcome, WorkerError> {
        let (key, sent) = self.route(interp, level);
        let mut w = self.start(key).map_err(WorkerError::Start)?;
        let mut out = w.compile(&[sent], dfile, source, self.timeout, stop)?;
        self.give_back(key, w);
        out.pop()
            .ok_or_else(|| WorkerError::Protocol("no answer".into()))
    }

    /// Why a worker could not start, if one could not (the first such reason).
    pub fn start_error(&self) -> Option<String> {
        self.broken
            .lock()
            .ok()
            .and_then(|b| b.values().next().cloned())
    }

    /// Stop the idle workers (their input is closed, which ends them).
    pub fn stop(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

impl Drop for Pool<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The workers one thread holds for a whole run, at most one per key (requests are
/// pipelined to them, so a worker never waits for pyc). Dropped, they stop.
pub struct Held<'p> {
    pool: &'p Pool<'p>,
    workers: HashMap<Key, Worker>,
}

impl<'p> Held<'p> {
    pub fn new(pool: &'p Pool<'p>) -> Held<'p> {
        Held {
            pool,
            workers: HashMap::new(),
        }
    }

    /// This thread's worker for `key`, started on first use.
    pub fn get(&mut self, key: Key) -> Result<&mut Worker, String> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.workers.entry(key) {
            e.insert(self.pool.start(key)?);
        }
        self.workers
            .get_mut(&key)
            .ok_or_else(|| "worker vanished".to_string())
    }

    /// The worker for `key` if it is still the one with `id` (a worker replaced since is
    /// not asked for the answers its predecessor owed).
    pub fn same(&mut self, key: Key, id: u64) -> Option<&mut Worker> {
        self.workers.get_mut(&key).filter(|w| w.id() == id)
    }

    /// Throw the worker for `key` away (it crashed, hung or was interrupted): killed.
    pub fn discard(&mut self, key: Key) {
        if let Some(mut w) = self.workers.remove(&key) {
            w.kill();
        }
    }

    /// Forget the worker for `key` (it is dropped: its input closed).
    pub fn close(&mut self, key: Key) {
        self.workers.remove(&key);
    }
}
