//! `pyc dis`: disassemble pycs of any CPython version (2.7, 3.6-3.15) exactly as that
//! version's own `dis.dis` prints them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use pyc_dis::model::Code;
use pyc_dis::{Disassembler, Options};
use pyc_format::{CodeFormat, Header, MagicKind, PyVersion};

use crate::output::{show_path, Format, EXIT_FAILURE, EXIT_OK};

#[derive(clap::Args)]
pub struct Args {
    /// pyc files, folders (searched recursively for `.pyc` files) or `.py` sources.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// For `.py` sources: `--python` (one interpreter: a version found as `pyc python` finds
    /// interpreters, a path, a name on PATH or a venv), `-O` (one level) and `--prefix`, as
    /// in `compile`. Default: the interpreter that runs the code (the source's venv, a project
    /// `.venv`, `VIRTUAL_ENV`, ..., `python3` on PATH) at its own level. Its cache file is
    /// used when the interpreter would load it (pyc-cache's verdict, as `status`); otherwise
    /// the source is compiled by `pyc compile`'s worker pool, in memory (nothing is written).
    #[command(flatten)]
    target: crate::target::TargetArgs,
    /// Show inline cache entries (`dis.dis(show_caches=True)`, 3.11+).
    #[arg(long)]
    show_caches: bool,
    /// Show instruction offsets (`show_offsets=True`, 3.13+; older versions always show them).
    #[arg(long)]
    show_offsets: bool,
    /// Show source positions instead of line numbers (`show_positions=True`, 3.14+).
    #[arg(long)]
    show_positions: bool,
    /// Descend at most N levels into nested code objects (`depth=N`).
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Only the code objects with this qualified name (`Class.method`, `f.<locals>.g`) or
    /// name, with what is nested in them.
    #[arg(long, value_name = "QUALNAME")]
    only: Option<String>,
    /// Output format: `dis` text, or JSON (one object per file and line).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// One input: a pyc to read, or a source to compile.
enum Input {
    Pyc(PathBuf),
    Source(PathBuf),
}

impl Input {
    fn path(&self) -> &Path {
        match self {
            Input::Pyc(p) | Input::Source(p) => p,
        }
    }
}

fn collect_inputs(paths: &[PathBuf], errors: &mut Vec<String>) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(|e| match e {
                    Ok(e) => Some(e),
                    Err(err) => {
                        let at = err.path().unwrap_or(p).to_path_buf();
                        let why = match err.into_io_error() {
                            Some(e) => crate::output::io_error(e),
                            None => "a symlink loop".into(),
                        };
                        errors.push(format!("{}: {why}", show_path(&at)));
                        None
                    }
                })
                .filter(|e| {
                    e.file_type().is_file()
                        && e.path()
                            .extension()
                            .is_some_and(|x| x == "pyc" || x == "pyo")
                })
                .map(|e| e.into_path())
                .collect();
            found.sort();
            out.extend(found.into_iter().map(Input::Pyc));
        } else if p.extension().is_some_and(|x| x == "py") {
            out.push(Input::Source(p.clone()));
        } else {
            out.push(Input::Pyc(p.clone()));
        }
    }
    out
}

/// The text of one input, its problems and a warning.
type Rendered = (String, Vec<String>, Option<String>);

/// A code object ready for disassembly, with the version that made it.
struct Loaded {
    version: PyVersion,
    code: Code,
    warning: Option<String>,
}

fn unsupported(v: PyVersion) -> String {
    format!("CPython {v} bytecode is not supported by `pyc dis` (2.7 and 3.6-3.15 are)")
}

fn load_pyc(path: &Path) -> Result<Loaded, String> {
    // Regular files only: a FIFO would block and `/dev/zero` never end (issue 16).
    let data = crate::show::read_regular_file(path)?;
    // The version first: a pyc of a version `pyc dis` does not format is refused by name.
    let header = Header::parse(&data).map_err(|e| e.to_string())?;
    if let Some(v) = header.magic.version() {
        if Disassembler::new(v).is_none() {
            return Err(unsupported(v));
        }
    }
    let pyc = pyc_format::read_pyc(&data).map_err(|e| e.to_string())?;
    let (version, warning) = match pyc.header.magic {
        MagicKind::Known(e) => {
            let w = pyc_dis::tables::opcodes(e.version)
                .filter(|t| t.table.magic != e.magic)
                .map(|t| {
                    format!(
                        "magic {} ({}) is not the release magic {} of CPython {}: \
                         disassembled with the {} opcode table",
                        e.magic, e.release, t.table.magic, e.version, t.table.python
                    )
                });
            (e.version, w)
        }
        MagicKind::Unknown { magic, nearest } => (
            nearest.version,
            Some(format!(
                "unknown magic {magic}: disassembled as CPython {}",
                nearest.version
            )),
        ),
        MagicKind::Foreign { .. } => return Err("not a CPython pyc".into()),
    };
    if Disassembler::new(version).is_none() {
        return Err(unsupported(version));
    }
    Ok(Loaded {
        version,
        code: checked_code(&pyc.code, version)?,
        warning,
    })
}

/// The disassembler's view of `code`, or the error CPython's `dis` of `version` raises.
fn checked_code(
    code: &pyc_format::Code,
    version: PyVersion,
) -> Result<pyc_dis::model::Code, String> {
    pyc_dis::from_marshal::from_marshal_checked(code, version)
        .map_err(|e| format!("ValueError: {e} (CPython {version}'s dis cannot print a constant)"))
}

/// Sources compiled by `pyc compile`'s worker pool ([`pyc_compile::pool`]): the same worker
/// script, request and level as `pyc compile`, so what is shown is the code it would write.
struct SourceCompiler<'p> {
    pool: &'p pyc_compile::pool::Pool<'p>,
    /// The optimization level compiled at (`-O`, else the interpreter's own).
    level: u8,
    /// The classification's view of the interpreter: whether its cache file is fresh is
    /// pyc-cache's verdict (`judge`), the same as `status` and `compile` reach.
    target: pyc_cache::classify::Target,
}

impl SourceCompiler<'_> {
    fn interp(&self) -> Result<&pyc_compile::Interpreter, String> {
        self.pool
            .interps()
            .first()
            .ok_or_else(|| "no interpreter".to_string())
    }

    /// The interpreter's cache file of `src`, if the interpreter would load it as it is.
    fn fresh_cache(&self, src: &Path) -> Option<PathBuf> {
        use pyc_cache::classify::{judge, SourceStat, State};
        let t = &self.target;
        let cwd = std::env::current_dir().ok()?;
        let opt = if self.level == 0 {
            String::new()
        } else {
            self.level.to_string()
        };
        let cache = pyc_cache::paths::cache_from_source(
            t.info,
            crate::output::path_bytes(src),
            pyc_cache::paths::CacheOptions {
                optimization: &opt,
                prefix: t.prefix.as_deref().filter(|_| t.info.pycache_prefix),
                cwd: crate::output::path_bytes(&cwd),
            },
        )
        .ok()?;
        let cache = crate::output::bytes_path(&cache).to_path_buf();
        let data = crate::show::read_regular_file(&cache).ok()?;
        let meta = std::fs::metadata(src).ok()?;
        let stat = SourceStat::from_metadata(&meta);
        let head = &data[..data.len().min(16)];
        let mut source = || crate::show::read_regular_file(src);
        (judge(t, head, &stat, &mut source).0 == State::Fresh).then_some(cache)
    }

    fn load(&self, src: &Path) -> Result<Loaded, String> {
        if let Some(cache) = self.fresh_cache(src) {
            return load_pyc(&cache);
        }
        // pyc reads the source (a regular file only: never a FIFO or a device) and sends its
        // bytes; the name goes into the code objects as `pyc compile` puts it.
        let source = crate::show::read_regular_file(src)?;
        let interp = self.interp()?;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let marshal = match self
            .pool
            .compile(
                0,
                self.level,
                crate::output::path_bytes(src),
                &source,
                &stop,
            )
            .map_err(|e| format!("{}: {e}", interp.exe().display()))?
        {
            pyc_compile::worker::Outcome::Code(m) => m,
            pyc_compile::worker::Outcome::Error { message, .. } => return Err(message),
        };
        let version = interp.version;
        let format = CodeFormat::for_magic(interp.magic, version)
            .ok_or_else(|| format!("no code layout for magic {}", interp.magic))?;
        let obj = pyc_format::loads(&marshal, format).map_err(|e| e.to_string())?;
        let code = obj
            .as_code()
            .ok_or_else(|| "the interpreter did not return a code object".to_string())?;
        Ok(Loaded {
            version,
            code: checked_code(code, version)?,
            warning: None,
        })
    }
}

/// The code objects `--only NAME` names: by `co_qualname` as 3.11+ stores it (for older
/// versions built the way the compiler does, with or without `<locals>`), or by bare name.
/// Depth first in `co_consts` order, on a heap stack, and each code object is visited once
/// per dotted prefix of NAME it can still complete (shared and deeply chained code objects
/// cost linear time, issue 16: trying both spellings at every level was exponential).
fn select<'a>(code: &'a Code, name: &str, out: &mut Vec<&'a Code>) {
    // A prefix worth carrying down: one that NAME continues (else only bare names match).
    let useful = |p: String| -> Option<String> {
        (name.len() > p.len() && name.starts_with(&p) && name.as_bytes()[p.len()] == b'.')
            .then_some(p)
    };
    let mut seen: std::collections::HashSet<(*const Code, Option<String>)> = Default::default();
    let mut stack: Vec<(&'a Code, Option<String>)> = vec![(code, Some(String::new()))];
    while let Some((parent, qual)) = stack.pop() {
        let at = stack.len();
        for c in parent.nested() {
            let q = if c.qualname != c.name {
                Some(c.qualname.to_string())
            } else {
                match qual.as_deref() {
                    Some("") => Some(c.name.to_string()),
                    Some(p) => Some(format!("{p}.{}", c.name)),
                    None => None,
                }
            };
            if q.as_deref() == Some(name) || &*c.name == name {
                if !out.iter().any(|x| std::ptr::eq(*x, c)) {
                    out.push(c);
                }
                continue;
            }
            // Functions' children are under "<locals>"; classes' are not. Without flags both
            // spellings are accepted.
            let locals = q.as_ref().and_then(|q| useful(format!("{q}.<locals>")));
            let plain = q.and_then(useful);
            let key = |p: &Option<String>| (c as *const Code, p.clone());
            // The segment is reversed below: the plain spelling is searched first.
            for p in [plain, locals] {
                if seen.insert(key(&p)) {
                    stack.push((c, p));
                }
            }
        }
        // Children in co_consts order.
        stack[at..].reverse();
    }
}

/// Bytes of bytecode in `code` and its nested code objects, counting at most `budget`
/// code objects (nested code objects shared through marshal references can repeat
/// exponentially often).
fn code_bytes(code: &Code, budget: &mut usize) -> usize {
    let mut n = 0usize;
    let mut stack = vec![code];
    while let Some(c) = stack.pop() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        n = n.saturating_add(c.code.len());
        stack.extend(c.nested());
    }
    n
}

/// Output buffers handed back after printing, for the next files: a run over a whole tree
/// then writes into memory it already has instead of faulting in fresh pages (the allocator
/// hands large blocks back to the system when they are freed) for every file's text. Holds
/// at most the buffers of the texts in flight (see [`WINDOW`]).
#[derive(Default)]
struct Buffers(std::sync::Mutex<Vec<String>>);

impl Buffers {
    /// The smallest kept buffer with room for `need` bytes, else a new one.
    fn take(&self, need: usize) -> String {
        let Ok(mut kept) = self.0.lock() else {
            return String::with_capacity(need);
        };
        let best = kept
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= need)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => kept.swap_remove(i),
            None => String::with_capacity(need),
        }
    }

    fn give(&self, mut text: String) {
        text.clear();
        if let Ok(mut kept) = self.0.lock() {
            kept.push(text);
        }
    }
}

fn render(
    loaded: &Loaded,
    args: &Args,
    name: &str,
    buffers: &Buffers,
) -> Result<(String, Vec<String>), String> {
    let v = loaded.version;
    let d = Disassembler::new(v).ok_or_else(|| unsupported(v))?;
    let opts = Options {
        show_caches: args.show_caches,
        show_offsets: args.show_offsets,
        show_positions: args.show_positions,
        depth: args.depth,
    };
    let roots: Vec<&Code> = match &args.only {
        None => vec![&loaded.code],
        Some(name) => {
            let mut found = Vec::new();
            select(&loaded.code, name, &mut found);
            if found.is_empty() {
                return Err(format!("no code object named {name}"));
            }
            found
        }
    };
    let mut problems = Vec::new();
    let text = match args.format {
        Format::Text => {
            // About 11 bytes of text per byte of bytecode (3.12 standard library): one
            // allocation instead of a dozen growing copies for most files.
            let mut budget = 10_000;
            let bytes: usize = roots.iter().map(|c| code_bytes(c, &mut budget)).sum();
            let mut text = buffers.take(bytes.min(1 << 24) * 12);
            for (i, c) in roots.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                problems.extend(d.dis(c, &opts, &mut text));
            }
            text
        }
        Format::Json => {
            let codes: Vec<_> = roots.iter().map(|c| d.to_json(c, args.depth)).collect();
            let value = serde_json::json!({
                "file": name,
                "version": v.to_string(),
                "code": if codes.len() == 1 { serde_json::to_value(&codes[0]) } else { serde_json::to_value(&codes) }
                    .map_err(|e| e.to_string())?,
            });
            let mut text = crate::output::json_line(crate::output::schema::DIS, &value)
                .map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
    };
    Ok((text, problems))
}

/// How long the interpreter may take to start, and to compile one source.
const DIS_COMPILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Stack of each `dis` worker thread: see where the pool is built.
const WORKER_STACK: usize = 16 << 20;

/// Load and render one input. A panic (a bug: bad input gets errors, never panics) is
/// reported as this input's error, so that the other inputs are still printed.
fn render_input(
    input: &Input,
    compiler: Option<&SourceCompiler>,
    args: &Args,
    buffers: &Buffers,
) -> Result<Rendered, String> {
    let work = || {
        let loaded = match input {
            Input::Pyc(p) => load_pyc(p)?,
            Input::Source(p) => compiler
                .ok_or_else(|| "no interpreter".to_string())?
                .load(p)?,
        };
        let (text, problems) = render(&loaded, args, &show_path(input.path()), buffers)?;
        Ok((text, problems, loaded.warning))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err("internal error: pyc dis panicked on this file".to_string()))
}

/// Inputs a worker may start rendering: more than this many ahead of the one being
/// printed wait.
const WINDOW: usize = 16;

/// The inputs handed to the workers in order (see [`WINDOW`]).
#[derive(Default)]
struct Queue {
    state: std::sync::Mutex<QueueState>,
    moved: std::sync::Condvar,
}

#[derive(Default)]
struct QueueState {
    /// The next input to hand out.
    next: usize,
    /// Inputs printed so far.
    printed: usize,
    /// Workers waiting for the printing to move on.
    waiting: usize,
    /// Printing stopped (an error): hand out nothing more.
    stop: bool,
}

impl Queue {
    /// The index of the next input to render, `None` when there is nothing left to do.
    fn claim(&self, n: usize) -> Option<usize> {
        let mut st = self.state.lock().ok()?;
        loop {
            if st.stop || st.next >= n {
                return None;
            }
            if st.next < st.printed + WINDOW {
                st.next += 1;
                return Some(st.next - 1);
            }
            st.waiting += 1;
            st = self.moved.wait(st).ok()?;
            st.waiting -= 1;
        }
    }

    fn printed(&self, count: usize) {
        if let Ok(mut st) = self.state.lock() {
            st.printed = count;
            if st.waiting > 0 {
                self.moved.notify_all();
            }
        }
    }

    fn stop(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.stop = true;
        }
        self.moved.notify_all();
    }
}

/// Stops the queue if its worker panics.
struct StopOnPanic<'a>(&'a Queue);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Rendered inputs waiting for their turn, and where they go.
struct Printer {
    out: std::io::BufWriter<std::io::Stdout>,
    /// The next input to print.
    next: usize,
    pending: std::collections::BTreeMap<usize, Result<Rendered, String>>,
    first: bool,
    failed: bool,
    /// Writing failed: stop.
    error: Option<std::io::Error>,
    many: bool,
    format: Format,
}

impl Printer {
    /// Print the pending inputs that are next in order.
    fn print_ready(&mut self, inputs: &[Input], buffers: &Buffers) -> std::io::Result<()> {
        while let Some(result) = self.pending.remove(&self.next) {
            let Some(input) = inputs.get(self.next) else {
                break;
            };
            self.print(input, result, buffers)?;
            self.next += 1;
        }
        Ok(())
    }

    fn print(
        &mut self,
        input: &Input,
        result: Result<Rendered, String>,
        buffers: &Buffers,
    ) -> std::io::Result<()> {
        let name = show_path(input.path());
        let out = &mut self.out;
        match result {
            Ok((text, problems, warning)) => {
                if self.many && self.format == Format::Text {
                    if !self.first {
                        writeln!(out)?;
                    }
                    writeln!(out, "==> {name} <==")?;
                }
                self.first = false;
                out.write_all(text.as_bytes())?;
                buffers.give(text);
                if let Some(w) = warning.filter(|_| crate::output::warnings()) {
                    out.flush()?;
                    eprintln!("pyc: {name}: warning: {w}");
                }
                if let Some(p) = problems.first() {
                    out.flush()?;
                    self.failed = true;
                    let more = if problems.len() > 1 {
                        format!(" (and {} more problems)", problems.len() - 1)
                    } else {
                        String::new()
                    };
                    if crate::output::warnings() {
                        eprintln!("pyc: {name}: malformed code: {p}{more}");
                    }
                }
            }
            Err(e) => {
                out.flush()?;
                self.failed = true;
                if crate::output::warnings() {
                    eprintln!("pyc: {name}: {e}");
                }
            }
        }
        Ok(())
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(code) = crate::output::missing_paths(args.paths.iter().map(PathBuf::as_path)) {
        return Ok(code);
    }
    let mut errors = Vec::new();
    let inputs = collect_inputs(&args.paths, &mut errors);
    let interps = if inputs.iter().any(|i| matches!(i, Input::Source(_))) {
        // pyc-python's one model, through the one --python parser: --python, or the
        // interpreter that runs the code at the first source (its venv, a project .venv,
        // VIRTUAL_ENV, ..., python3 on PATH).
        let first = inputs.iter().find_map(|i| match i {
            Input::Source(p) => Some(p.as_path()),
            Input::Pyc(_) => None,
        });
        let root = first.unwrap_or(Path::new("."));
        let mut found = crate::target::interpreters(&args.target, &[root])?;
        if found.len() > 1 || args.target.optimize.len() > 1 {
            bail!("dis compiles a source with one interpreter at one level: give one --python and one -O");
        }
        found
            .pop()
            .map(|i| {
                let target = crate::target::interpreter_target(&i, &args.target, None)?;
                let mut interp = pyc_compile::Interpreter::new(i).map_err(anyhow::Error::msg)?;
                if args.target.prefix.is_some() {
                    interp.pycache_prefix = target.prefix.clone();
                }
                anyhow::Ok((interp, target))
            })
            .transpose()?
    } else {
        None
    };
    let (interps, target) = match interps {
        Some((i, t)) => (vec![i], Some(t)),
        None => (Vec::new(), None),
    };
    let pool = pyc_compile::pool::Pool::new(&interps, DIS_COMPILE_TIMEOUT);
    let compiler = target.map(|target| SourceCompiler {
        pool: &pool,
        level: args
            .target
            .optimize
            .first()
            .copied()
            .or_else(|| interps.first().map(|i| i.optimize))
            .unwrap_or(0),
        target,
    });
    let many = inputs.len() > 1;
    for e in &errors {
        eprintln!("pyc: {e}");
    }
    let printer = std::sync::Mutex::new(Printer {
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
        next: 0,
        pending: std::collections::BTreeMap::new(),
        first: true,
        failed: !errors.is_empty(),
        error: None,
        many,
        format: args.format,
    });
    let buffers = Buffers::default();
    // Loading, converting, printing and dropping code objects are iterative, whatever the
    // nesting (issue 16). What still recurses is bounded by a constant: a constant's repr
    // (1,000 levels, a few hundred bytes of stack each) and the JSON view (256 levels of
    // nested code objects). 16 MiB leaves ample room and lets many threads start under a
    // tight address-space limit (256 MiB each did not, at 4+ threads under 1 GiB).
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(WORKER_STACK)
        .build()
        .context("cannot start worker threads")?;
    // Work in parallel, print in order. Workers take the inputs in order, at most WINDOW
    // ahead of the one being printed, so memory stays bounded (a slow stdout holds them
    // back) and the few texts in flight reuse the same buffers. The worker that finishes
    // the next input to print prints it (and whatever finished after it), so no thread
    // waits to be woken for every file.
    let n = inputs.len();
    let queue = Queue::default();
    pool.in_place_scope(|s| {
        for _ in 0..pool.current_num_threads() {
            let (queue, inputs, compiler, args, buffers, printer) =
                (&queue, &inputs, &compiler, &args, &buffers, &printer);
            s.spawn(move |_| {
                // A worker that dies must not leave the others waiting for it.
                let _stop = StopOnPanic(queue);
                while let Some(i) = queue.claim(n) {
                    let Some(input) = inputs.get(i) else { break };
                    let result = render_input(input, compiler.as_ref(), args, buffers);
                    let Ok(mut p) = printer.lock() else { break };
                    if p.error.is_some() {
                        break;
                    }
                    p.pending.insert(i, result);
                    if let Err(e) = p.print_ready(inputs, buffers) {
                        p.error = Some(e);
                        queue.stop();
                        break;
                    }
                    queue.printed(p.next);
                }
            });
        }
    });
    let mut p = printer
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a disassembly worker failed"))?;
    if let Some(e) = p.error.take() {
        return Err(e.into());
    }
    if p.next < n {
        bail!("disassembly workers stopped");
    }
    p.out.flush()?;
    let failed = p.failed;
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}
