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
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The worker, as the interpreter runs it (`-c`). It must not use `from __future__` imports:
/// 2.7's `compile()` would inherit them.
pub const WORKER_SCRIPT: &str = r#"
import sys, marshal, binascii
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
        import os
        fsdecode = os.fsdecode
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

/// A running worker.
pub struct Worker {
    child: Child,
    /// Requests go to a writer thread, so sending never blocks on a busy or hung worker
    /// (pyc keeps a few requests queued per worker, so it never waits for pyc between files).
    requests: Option<mpsc::Sender<Vec<u8>>>,
    lines: Receiver<std::io::Result<Frame>>,
    stderr_tail: Arc<Mutex<VecDeque<u8>>>,
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
        pyc_python::note_started();
        let mut child = cmd.spawn().map_err(|e| WorkerError::Spawn {
            exe: exe.to_path_buf(),
            reason: e.to_string(),
        })?;
        let stdin: Option<ChildStdin> = child.stdin.take();
        let (req_tx, req_rx) = mpsc::channel::<Vec<u8>>();
        if let Some(mut stdin) = stdin {
            std::thread::spawn(move || {
                for req in req_rx {
                    if stdin.write_all(&req).and_then(|()| stdin.flush()).is_err() {
                        return;
                    }
                }
            });
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                let mut r = BufReader::with_capacity(1 << 16, stdout);
                loop {
                    let frame = read_frame(&mut r);
                    let end = frame.is_err();
                    if tx.send(frame).is_err() || end {
                        return;
                    }
                }
            });
        }
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(mut stderr) = stderr {
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend(&buf[..n]);
                        let excess = t.len().saturating_sub(STDERR_TAIL);
                        t.drain(..excess);
                    }
                }
            });
        }
        let mut w = Worker {
            child,
            requests: Some(req_tx),
            lines: rx,
            stderr_tail: tail,
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
        self.stderr_tail
            .lock()
            .map(|t| String::from_utf8_lossy(&t.iter().copied().collect::<Vec<u8>>()).into_owned())
            .unwrap_or_default()
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
        let slice = Duration::from_millis(50);
        let got = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(slice)) {
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => {
                    if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                        self.kill();
                        return Err(WorkerError::Interrupted);
                    }
                }
                other => break other,
            }
        };
        match got {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                let status = self
                    .child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                // Let the stderr reader catch up with the last words.
                std::thread::sleep(Duration::from_millis(20));
                Err(WorkerError::Crashed {
                    status,
                    stderr: self.stderr_text(),
                })
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(WorkerError::Timeout(timeout))
            }
        }
    }

    /// Queue a request: compile `source` at each of `levels` (filename `dfile` in the code
    /// objects). The answers come from [`Worker::receive`], in request order.
    pub fn send(&mut self, levels: &[u8], dfile: &[u8], source: &[u8]) -> Result<(), WorkerError> {
        let levels = levels
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut req = format!("{levels} {} {}\n", dfile.len(), source.len()).into_bytes();
        req.reserve(dfile.len() + source.len());
        req.extend_from_slice(dfile);
        req.extend_from_slice(source);
        match &self.requests {
            Some(tx) if tx.send(req).is_ok() => Ok(()),
            _ => Err(WorkerError::Protocol("the worker's input is closed".into())),
        }
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin (the writer thread ends with its channel) ends the worker's loop;
        // wait briefly, then make sure.
        self.requests.take();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill();
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

/// Read one frame: a line; for `OK n` and `ERR line n`, then exactly `n` bytes.
fn read_frame(r: &mut impl BufRead) -> std::io::Result<Frame> {
    let mut head = Vec::new();
    if r.read_until(b'\n', &mut head)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    if head.last() == Some(&b'\n') {
        head.pop();
    }
    let mut body = Vec::new();
    if head.starts_with(b"OK ") || head.starts_with(b"ERR ") {
        let n: u64 = head
            .rsplit(|&b| b == b' ')
            .next()
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse().ok())
            .filter(|&n| n <= MAX_ANSWER)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad answer {:?}", String::from_utf8_lossy(&head)),
                )
            })?;
        r.take(n).read_to_end(&mut body)?;
        if body.len() as u64 != n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(Frame { head, body })
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
            let mut r = std::io::Cursor::new(data.to_vec());
            let mut out = Vec::new();
            while let Ok(f) = read_frame(&mut r) {
                out.push(f);
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
        // A short body, a bad or huge length: errors, never a long allocation.
        assert_eq!(frames(b"OK 5\nabc").len(), 0);
        assert_eq!(frames(b"OK x\n").len(), 0);
        assert_eq!(frames(b"OK 99999999999999\n").len(), 0);
        assert!(parse_answer(Frame {
            head: b"what".to_vec(),
            body: Vec::new()
        })
        .is_err());
        assert_eq!(parse_magic_hex(b"cb0d0d0a"), Some(3531));
        assert_eq!(parse_magic_hex(b"cb0d0d0b"), None);
    }
}
