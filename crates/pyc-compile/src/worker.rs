//! One long-lived interpreter process that compiles sources sent over a line protocol.
//!
//! The process runs [`WORKER_SCRIPT`] (valid Python 2.7 and 3.x) with `-S -s` (no site, no user
//! site: faster start, no `.pth` code) and `PYTHONHASHSEED=0` (the iteration order of frozenset
//! constants follows string hashes, so a random seed would make the bytes vary from run to
//! run). It is put in its own process group so that the terminal's Ctrl-C reaches only pyc,
//! which then stops feeding work and lets the workers end when their stdin closes.
//!
//! Protocol (ASCII header lines, each followed by the raw bytes whose length it gives: no
//! encoding to undo on either side):
//! * worker → pyc, once: `READY <magic as hex>`, checked against the probed magic number;
//! * pyc → worker: `<levels, comma separated> <dfile length> <source length>`, then the dfile
//!   and source bytes;
//! * worker → pyc, one answer per level: `OK <length>` then `marshal.dumps(code)`, or
//!   `ERR <line number or -> <length>` then the UTF-8 message (`SyntaxError: invalid syntax`).
//!
//! pyc reads the source and sends its bytes, so the header it writes (mtime, size, hash)
//! describes exactly the bytes that were compiled.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The worker, as the interpreter runs it (`-c`). It must not use `from __future__` imports:
/// 2.7's `compile()` would inherit them.
pub const WORKER_SCRIPT: &str = r#"
import sys, os, marshal, binascii
def main():
    stdin = getattr(sys.stdin, 'buffer', sys.stdin)
    stdout = getattr(sys.stdout, 'buffer', sys.stdout)
    try:
        import importlib.util
        magic = importlib.util.MAGIC_NUMBER
    except (ImportError, AttributeError):
        import imp
        magic = imp.get_magic()
    py3 = sys.version_info[0] >= 3
    if py3:
        fsdecode = os.fsdecode
    # 3.13+: once a process has interned a str (interned strs are immortal), a new constant of
    # the same value (a nested class's qualname) is written non-interned, so what one
    # compilation interns changes what later ones write: each compilation runs in a fork of
    # the just-started worker, which compiles nothing itself.
    fork = py3 and sys.version_info >= (3, 13) and hasattr(os, 'fork')
    if fork:
        # Start-up objects out of the collector's reach: the forks then do not copy the pages
        # a collection would touch (fork + exit: about 3.3 ms without, 1.2 ms with).
        import gc
        gc.freeze()
    stdout.write(b'READY ' + binascii.hexlify(magic) + b'\n')
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return
        fields = line.split()
        levels = [int(x) for x in fields[0].split(b',')]
        ndfile = int(fields[1])
        nsource = int(fields[2])
        dfile = stdin.read(ndfile)
        source = stdin.read(nsource)
        if len(dfile) != ndfile or len(source) != nsource:
            return
        if not fork:
            answer(py3, levels, dfile, source, stdout, fsdecode if py3 else None)
            continue
        for level in levels:  # one fork per level: a level must not see another's interning
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    answer(py3, [level], dfile, source, stdout, fsdecode)
                    status = 0
                finally:
                    os._exit(status)
            if os.waitpid(pid, 0)[1] != 0:
                sys.exit(1)  # the compilation died: pyc reports the worker's end
def answer(py3, levels, dfile, source, stdout, fsdecode):
        if py3:
            dfile = fsdecode(dfile)
        else:
            # py_compile opens the source with universal newlines ('U').
            source = source.replace(b'\r\n', b'\n').replace(b'\r', b'\n')
        out = []
        for level in levels:
            try:
                if py3:
                    code = compile(source, dfile, 'exec', 0, True, level)
                else:
                    code = compile(source, dfile, 'exec')
                data = marshal.dumps(code)
                out.append(b'OK %d\n' % len(data))
                out.append(data)
            except Exception:
                e = sys.exc_info()[1]
                lineno = None
                if isinstance(e, SyntaxError):
                    lineno = e.lineno
                    text = '%s: %s' % (e.__class__.__name__, e.msg)
                else:
                    text = '%s: %s' % (e.__class__.__name__, e)
                if not isinstance(text, bytes):
                    text = text.encode('utf-8', 'backslashreplace')
                num = b'-' if lineno is None else str(lineno).encode('ascii')
                out.append(b'ERR ' + num + b' %d\n' % len(text))
                out.append(text)
        stdout.write(b''.join(out))
        stdout.flush()
main()
"#;

/// What the worker made of one source at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `marshal.dumps(code)`, as the worker wrote it (not yet canonical).
    Code(Vec<u8>),
    /// The compile error, as `Type: message` and the line it names.
    Error { line: Option<u32>, message: String },
}

/// Why a worker could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start {}: {reason}", .exe.display())]
    Spawn { exe: PathBuf, reason: String },
    #[error("worker exited ({status}){}", stderr_note(.stderr))]
    Crashed { status: String, stderr: String },
    #[error("worker did not answer within {0:?} and was killed")]
    Timeout(Duration),
    #[error("interrupted")]
    Interrupted,
    #[error("worker protocol error: {0}")]
    Protocol(String),
    /// The pool could not start a worker (the reason, as [`WorkerError::Spawn`] or others
    /// said it when it was first tried).
    #[error("{0}")]
    Start(String),
    #[error("worker runs magic {got}, but the interpreter was probed as magic {expected}")]
    Magic { expected: u16, got: u16 },
}

fn stderr_note(s: &str) -> String {
    if s.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", s.trim().lines().last().unwrap_or(""))
    }
}

const STDERR_TAIL: usize = 4096;

/// Pipe buffers asked for (Linux's default is 64 KiB): a request or an answer usually fits
/// whole, so each crosses in one write and one read.
const PIPE_SIZE: usize = 1 << 20;

/// How often a wait looks at the Ctrl-C flag.
const SLICE: Duration = Duration::from_millis(50);

/// A running worker.
///
/// One thread drives it without helpers: pyc's ends of the pipes are non-blocking, requests
/// wait in `out` until the pipe takes them, and every wait for an answer is a `poll` on the
/// three pipes that also moves queued request bytes and drains stderr. So pyc never blocks on a
/// busy or hung worker (a full pipe either way cannot deadlock them), and a file costs about
/// one wake-up of each side.
pub struct Worker {
    /// Unique in this process: answers are only ever taken from the worker that got the
    /// request.
    id: u64,
    child: Child,
    /// None once closed (that ends the worker's loop).
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    stderr: Option<ChildStderr>,
    /// Request bytes not yet taken by the pipe (from `out_pos`).
    out: Vec<u8>,
    out_pos: usize,
    /// Answer bytes read and not yet parsed (from `in_pos`).
    inbuf: Vec<u8>,
    in_pos: usize,
    /// The worker closed its stdout.
    eof: bool,
    stderr_tail: VecDeque<u8>,
}

fn nonblocking(fd: impl AsFd) {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    if let Ok(flags) = fcntl_getfl(&fd) {
        let _ = fcntl_setfl(&fd, flags | OFlags::NONBLOCK);
    }
}

impl Worker {
    /// Start `exe` with extra interpreter flags (`-O` for 2.7 workers that compile at level 1)
    /// and wait up to `timeout` for its `READY` line.
    pub fn spawn(
        exe: &Path,
        flags: &[&str],
        expected_magic: u16,
        timeout: Duration,
    ) -> Result<Worker, WorkerError> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(exe);
        cmd.args(flags)
            .args(["-S", "-s", "-c", WORKER_SCRIPT])
            .env("PYTHONHASHSEED", "0")
            .env_remove("PYTHONOPTIMIZE")
            .env_remove("PYTHONSTARTUP")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // The worker dies with pyc: it gets SIGKILL when the pyc thread that started it ends
        // (Linux `PR_SET_PDEATHSIG`), so a killed pyc never leaves an interpreter compiling a
        // huge source (issue 16). Its own group keeps the terminal's Ctrl-C from it.
        let parent = rustix::process::getpid();
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: it makes two system calls (prctl, getppid) and
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))?;
                // The parent may have died before the prctl: then nobody sends the signal.
                if rustix::process::getppid() != Some(parent) {
                    return Err(std::io::Error::other("pyc exited"));
                }
                Ok(())
            });
        }
        pyc_python::note_started();
        let mut child = cmd.spawn().map_err(|e| WorkerError::Spawn {
            exe: exe.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(WorkerError::Spawn {
                exe: exe.to_path_buf(),
                reason: "no pipes to the process".into(),
            });
        };
        // Best effort: a smaller pipe only means more, smaller reads and writes.
        let _ = rustix::pipe::fcntl_setpipe_size(&stdin, PIPE_SIZE);
        let _ = rustix::pipe::fcntl_setpipe_size(&stdout, PIPE_SIZE);
        nonblocking(&stdin);
        nonblocking(&stdout);
        nonblocking(&stderr);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut w = Worker {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            child,
            stdin: Some(stdin),
            stdout,
            stderr: Some(stderr),
            out: Vec::new(),
            out_pos: 0,
            inbuf: Vec::with_capacity(1 << 16),
            in_pos: 0,
            eof: false,
            stderr_tail: VecDeque::new(),
        };
        let ready = w.line(timeout)?.head;
        let hex = ready
            .strip_prefix(b"READY ")
            .ok_or_else(|| {
                WorkerError::Protocol(format!(
                    "expected READY, got {:?}",
                    String::from_utf8_lossy(&ready)
                ))
            })?
            .to_vec();
        let got = parse_magic_hex(&hex).ok_or_else(|| {
            WorkerError::Protocol(format!("bad magic {:?}", String::from_utf8_lossy(&hex)))
        })?;
        if got != expected_magic {
            w.kill();
            return Err(WorkerError::Magic {
                expected: expected_magic,
                got,
            });
        }
        Ok(w)
    }

    fn stderr_text(&self) -> String {
        let bytes: Vec<u8> = self.stderr_tail.iter().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn line(&mut self, timeout: Duration) -> Result<Frame, WorkerError> {
        self.line_or_stop(timeout, None)
    }

    /// The next answer, waiting at most `timeout`; when `stop` becomes true meanwhile
    /// (Ctrl-C), the worker is killed at once.
    fn line_or_stop(
        &mut self,
        timeout: Duration,
        stop: Option<&AtomicBool>,
    ) -> Result<Frame, WorkerError> {
        let deadline = Instant::now() + timeout;
        loop {
            match parse_frame(&self.inbuf[self.in_pos..]) {
                Ok(Some((frame, used))) => {
                    self.in_pos += used;
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(msg) => {
                    self.kill();
                    return Err(WorkerError::Protocol(msg));
                }
            }
            if self.eof {
                return Err(self.crashed());
            }
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                self.kill();
                return Err(WorkerError::Interrupted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.kill();
                return Err(WorkerError::Timeout(timeout));
            }
            self.pump(left.min(SLICE));
        }
    }

    /// The worker is gone: its exit status and the last words on stderr.
    fn crashed(&mut self) -> WorkerError {
        // Closed stdout normally means exited; one that lingers is given a moment, then
        // killed (never waited on forever).
        let mut status = None;
        for _ in 0..50 {
            match self.child.try_wait() {
                Ok(Some(s)) => {
                    status = Some(s.to_string());
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(4)),
                Err(e) => {
                    status = Some(e.to_string());
                    break;
                }
            }
        }
        let status = match status {
            Some(s) => s,
            None => {
                self.kill_group();
                self.child
                    .wait()
                    .map(|s| format!("{s}, killed: it had closed its output"))
                    .unwrap_or_else(|e| e.to_string())
            }
        };
        // The process has exited: what is left in the stderr pipe is all there is.
        self.drain_stderr();
        WorkerError::Crashed {
            status,
            stderr: self.stderr_text(),
        }
    }

    /// Wait up to `wait` for any of the pipes, then move what they are ready for: answer
    /// bytes in, queued request bytes out, stderr into its tail.
    fn pump(&mut self, wait: Duration) {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let want_out = self.stdin.is_some() && self.out_pos < self.out.len();
        let (out_ready, in_ready, err_ready) = {
            let mut fds = Vec::with_capacity(3);
            fds.push(PollFd::new(&self.stdout, PollFlags::IN));
            if let Some(e) = &self.stderr {
                fds.push(PollFd::new(e, PollFlags::IN));
            }
            let out_idx = match (&self.stdin, want_out) {
                (Some(i), true) => {
                    fds.push(PollFd::new(i, PollFlags::OUT));
                    Some(fds.len() - 1)
                }
                _ => None,
            };
            let ts = Timespec {
                tv_sec: wait.as_secs() as i64,
                tv_nsec: i64::from(wait.subsec_nanos()),
            };
            if poll(&mut fds, Some(&ts)).is_err() {
                return;
            }
            let any = |f: &PollFd| !f.revents().is_empty();
            (
                out_idx.is_some_and(|i| any(&fds[i])),
                any(&fds[0]),
                self.stderr.is_some() && any(&fds[1]),
            )
        };
        if in_ready {
            self.read_stdout();
        }
        if err_ready {
            self.drain_stderr();
        }
        if out_ready {
            self.flush_out();
        }
    }

    fn read_stdout(&mut self) {
        // Drop what was parsed, then read what the pipe holds.
        if self.in_pos > 0 {
            self.inbuf.drain(..self.in_pos);
            self.in_pos = 0;
        }
        let (stdout, inbuf) = (&self.stdout, &mut self.inbuf);
        let closed = read_until_empty(|| {
            // Room for a whole pipe's worth, or the rest of a large answer at once.
            let want = answer_left(inbuf).clamp(PIPE_SIZE, 64 << 20);
            if inbuf.capacity() - inbuf.len() < want {
                inbuf.reserve(want);
            }
            rustix::io::read(stdout, rustix::buffer::spare_capacity(inbuf))
        });
        if closed {
            self.eof = true;
        }
    }

    fn drain_stderr(&mut self) {
        let Some(err) = &self.stderr else { return };
        let tail = &mut self.stderr_tail;
        let mut buf = [0u8; 4096];
        let closed = read_until_empty(|| {
            let n = rustix::io::read(err, &mut buf[..])?;
            tail.extend(&buf[..n]);
            let excess = tail.len().saturating_sub(STDERR_TAIL);
            tail.drain(..excess);
            Ok(n)
        });
        if closed {
            self.stderr = None;
        }
    }

    /// Write queued request bytes until the pipe is full.
    fn flush_out(&mut self) {
        let Some(stdin) = &self.stdin else { return };
        while self.out_pos < self.out.len() {
            match rustix::io::write(stdin, &self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return,
                Err(_) => {
                    // The worker is gone (EPIPE): its stdout's end tells how.
                    self.stdin = None;
                    return;
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
    }

    /// This worker's id (unique in the process).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queue a request: compile `source` at each of `levels` (filename `dfile` in the code
    /// objects). The answers come from [`Worker::receive`], in request order.
    ///
    /// A worker whose input is closed (it died) still takes the request: the bytes go nowhere,
    /// and [`Worker::receive`] reports the death at the request it died on, the oldest one
    /// unanswered, so the right file is blamed and the others can go to a new worker.
    pub fn send(&mut self, levels: &[u8], dfile: &[u8], source: &[u8]) -> Result<(), WorkerError> {
        let levels = levels
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(",");
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        let head = format!("{levels} {} {}\n", dfile.len(), source.len());
        self.out.reserve(head.len() + dfile.len() + source.len());
        self.out.extend_from_slice(head.as_bytes());
        self.out.extend_from_slice(dfile);
        self.out.extend_from_slice(source);
        self.flush_out();
        Ok(())
    }

    /// The answers to the oldest unanswered request (`n` levels), waiting at most `timeout`
    /// for each line. On any error the worker must be thrown away.
    pub fn receive(
        &mut self,
        n: usize,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<Outcome>, WorkerError> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let frame = self.line_or_stop(timeout, Some(stop))?;
            out.push(parse_answer(frame)?);
        }
        Ok(out)
    }

    /// [`Worker::send`] then [`Worker::receive`].
    pub fn compile(
        &mut self,
        levels: &[u8],
        dfile: &[u8],
        source: &[u8],
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<Outcome>, WorkerError> {
        self.send(levels, dfile, source)?;
        self.receive(levels.len(), timeout, stop)
    }

    /// Kill the process (a hang or a crash); it is reaped here.
    pub fn kill(&mut self) {
        self.kill_group();
        let _ = self.child.wait();
    }

    /// SIGKILL the worker's process group (it leads its own group): the worker and a forked
    /// compilation it may be waiting for (3.13+).
    fn kill_group(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends the worker's loop; wait briefly, then make sure.
        self.stdin.take();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill();
    }
}

/// Call `read` (one read from a non-blocking pipe) until the pipe is empty for now. True when
/// it is closed: end of file, or an error other than an interrupted read.
fn read_until_empty(mut read: impl FnMut() -> rustix::io::Result<usize>) -> bool {
    loop {
        match read() {
            Ok(0) => return true,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => return false,
            Err(_) => return true,
        }
    }
}

fn parse_magic_hex(hex: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(hex).ok()?;
    if s.len() != 8 || &s[4..] != "0d0a" {
        return None;
    }
    let lo = u8::from_str_radix(&s[0..2], 16).ok()?;
    let hi = u8::from_str_radix(&s[2..4], 16).ok()?;
    Some(u16::from(lo) | (u16::from(hi) << 8))
}

/// One message from the worker: its header line (without the newline) and the bytes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    head: Vec<u8>,
    body: Vec<u8>,
}

/// The most an answer may claim to carry (a pyc of a source pyc accepts is far smaller).
const MAX_ANSWER: u64 = 1 << 30;

/// The longest header line accepted.
const MAX_HEAD: usize = 4096;

/// The body length a frame's header line announces (`OK n`, `ERR line n`); None for other
/// lines (`READY ...`).
fn body_len(head: &[u8]) -> Result<Option<u64>, String> {
    if !(head.starts_with(b"OK ") || head.starts_with(b"ERR ")) {
        return Ok(None);
    }
    head.rsplit(|&b| b == b' ')
        .next()
        .and_then(|n| std::str::from_utf8(n).ok())
        .and_then(|n| n.parse().ok())
        .filter(|&n| n <= MAX_ANSWER)
        .map(Some)
        .ok_or_else(|| format!("bad answer {:?}", String::from_utf8_lossy(head)))
}

/// Bytes still missing from the frame at the start of `buf` (0 when unknown).
fn answer_left(buf: &[u8]) -> usize {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    match body_len(&buf[..nl]) {
        Ok(Some(n)) => (n as usize).saturating_sub(buf.len() - nl - 1),
        _ => 0,
    }
}

/// One frame from the start of `buf`: a line; for `OK n` and `ERR line n`, then exactly `n`
/// bytes. `Ok(None)` while incomplete; with the bytes it used.
fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_HEAD {
            return Err(format!(
                "bad answer {:?}",
                String::from_utf8_lossy(&buf[..64])
            ));
        }
        return Ok(None);
    };
    let head = &buf[..nl];
    let n = body_len(head)?.unwrap_or(0) as usize;
    let rest = &buf[nl + 1..];
    if rest.len() < n {
        return Ok(None);
    }
    Ok(Some((
        Frame {
            head: head.to_vec(),
            body: rest[..n].to_vec(),
        },
        nl + 1 + n,
    )))
}

fn parse_answer(frame: Frame) -> Result<Outcome, WorkerError> {
    let bad = || {
        WorkerError::Protocol(format!(
            "bad answer {:?}",
            String::from_utf8_lossy(&frame.head)
        ))
    };
    if frame.head.starts_with(b"OK ") {
        return Ok(Outcome::Code(frame.body));
    }
    let rest = frame.head.strip_prefix(b"ERR ").ok_or_else(bad)?;
    let num = rest.split(|&b| b == b' ').next().ok_or_else(bad)?;
    let line_no = std::str::from_utf8(num).ok().and_then(|n| n.parse().ok());
    Ok(Outcome::Error {
        line: line_no,
        message: String::from_utf8_lossy(&frame.body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed() {
        let frames = |data: &[u8]| {
            let mut out = Vec::new();
            let mut at = 0;
            while let Ok(Some((f, used))) = parse_frame(&data[at..]) {
                out.push(f);
                at += used;
            }
            out
        };
        let fs = frames(b"READY cb0d0d0a\nOK 4\nfo\noERR 3 14\nSyntaxError: xERR - 1\nx");
        assert_eq!(fs.len(), 4);
        assert_eq!(fs[0].head, b"READY cb0d0d0a");
        let mut it = fs.into_iter().skip(1);
        assert_eq!(
            parse_answer(it.next().unwrap()).unwrap(),
            Outcome::Code(b"fo\no".to_vec())
        );
        assert_eq!(
            parse_answer(it.next().unwrap()).unwrap(),
            Outcome::Error {
                line: Some(3),
                message: "SyntaxError: x".into()
            }
        );
        assert!(matches!(
            parse_answer(it.next().unwrap()).unwrap(),
            Outcome::Error { line: None, .. }
        ));
        // A short body waits for more; a bad or huge length or an endless line is an error,
        // never a long allocation; the missing length is known for reading ahead.
        assert_eq!(parse_frame(b"OK 5\nabc"), Ok(None));
        assert_eq!(answer_left(b"OK 5\nabc"), 2);
        assert_eq!(answer_left(b"OK 5"), 0);
        assert!(parse_frame(b"OK x\n").is_err());
        assert!(parse_frame(b"OK 99999999999999\n").is_err());
        assert!(parse_frame(&[b'x'; 5000]).is_err());
        assert_eq!(parse_frame(b"READY"), Ok(None));
        assert!(parse_answer(Frame {
            head: b"what".to_vec(),
            body: Vec::new()
        })
        .is_err());
        assert_eq!(parse_magic_hex(b"cb0d0d0a"), Some(3531));
        assert_eq!(parse_magic_hex(b"cb0d0d0b"), None);
    }
}
