//! Shared output conventions: formats, exit codes, path display.

use std::path::Path;

/// Everything asked for was done and nothing was found wrong.
pub const EXIT_OK: u8 = 0;
/// Some input was bad (a file that is not a readable pyc) or, with `--check`, a finding.
pub const EXIT_FAILURE: u8 = 1;
/// The command line or the environment is wrong (unknown option, no interpreter, ...).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// A path for humans: lossy UTF-8.
pub fn show_path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A byte path for humans.
pub fn show_bytes(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Bytes of a path, as the OS has them.
pub fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

/// A path from bytes.
pub fn bytes_path(b: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(b))
}

/// The one check of the paths a subcommand was given (show, dis, diff, status, normalize,
/// clean, compile): each must be there (a broken symlink is: it is reported where it is
/// read). Each missing one is one line `pyc: PATH: no such file or directory`; then the
/// subcommand ends with exit 2 before doing anything, as for any other usage error.
pub fn missing_paths<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
) -> Option<std::process::ExitCode> {
    let mut missing = false;
    for p in paths {
        if let Err(e) = std::fs::symlink_metadata(p) {
            if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20) {
                eprintln!("pyc: {}: {}", show_path(p), io_error(e));
                missing = true;
            }
        }
    }
    missing.then(|| std::process::ExitCode::from(EXIT_USAGE))
}

/// Was any of these paths not there? For the subcommands that read each file given in turn
/// and go on with the others (show, dis): each missing one gets its line where it comes, and
/// the exit code is still that of a missing path everywhere, 2.
pub fn any_missing<'a>(paths: impl IntoIterator<Item = &'a Path>) -> bool {
    paths.into_iter().any(|p| {
        std::fs::symlink_metadata(p).is_err_and(|e| {
            e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20)
        })
    })
}

/// A clap usage error as one line: the message and its details (possible values, a tip),
/// without the usage block and the pointer to `--help`.
pub fn one_line_usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = parts.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

/// An I/O error as one short phrase ("no such file", "is a directory", ...), without Rust's
/// "(os error N)" tail.
pub fn io_error(e: std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        IsADirectory => "is a directory, not a file".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Write to stdout for the crate's `print!`/`println!`: a closed pipe (`pyc ... | head`) ends the
/// process quietly with status 0; any other write error is one line and exit 2.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(EXIT_OK));
        }
        eprintln!("pyc: cannot write to stdout: {}", io_error(e));
        std::process::exit(i32::from(EXIT_USAGE));
    }
}

/// Whether an error is, at its root, a write to a closed pipe: the reader went away, which is
/// not a failure of pyc (`pyc status -v | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `PYTHONPYCACHEPREFIX` as CPython reads it: an empty value counts as unset.
pub fn env_pycache_prefix() -> Option<std::ffi::OsString> {
    std::env::var_os("PYTHONPYCACHEPREFIX").filter(|v| !v.is_empty())
}

/// `--color`: when output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set; `FORCE_COLOR` colours pipes too.
    #[default]
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Set once by `main` from the global `--color`.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Whether to colour a stream that is (or is not) a terminal: `--color always|never` decides;
/// with `auto`, a non-empty `NO_COLOR` turns colour off (no-color.org), else a non-empty
/// `FORCE_COLOR` turns it on, else the terminal decides.
pub fn use_color(is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match COLOR.get().copied().unwrap_or_default() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("FORCE_COLOR") => true,
        ColorChoice::Auto => is_terminal,
    }
}

/// The `"schema"` of every JSON document pyc prints: `pyc-COMMAND/VERSION`. The version goes
/// up when a field is removed, renamed or changes meaning (adding fields does not); the
/// schemas themselves are in `docs/schemas/` and described in `docs/json.md`.
pub mod schema {
    pub const SHOW: &str = "pyc-show/1";
    pub const PATH: &str = "pyc-path/1";
    pub const DIS: &str = "pyc-dis/1";
    pub const DIFF: &str = "pyc-diff/1";
    pub const STATUS: &str = "pyc-status/1";
    pub const NORMALIZE: &str = "pyc-normalize/1";
    pub const CLEAN: &str = "pyc-clean/1";
    pub const COMPILE: &str = "pyc-compile/1";
    pub const PYTHON: &str = "pyc-python/1";
    pub const IMPORTTIME: &str = "pyc-importtime/1";
    pub const CACHE: &str = "pyc-cache/1";
}

/// A JSON document: `"schema"` first, then the fields of `body` (a struct or a JSON object).
#[derive(serde::Serialize)]
pub struct Document<'a, T: ?Sized + serde::Serialize> {
    pub schema: &'static str,
    #[serde(flatten)]
    pub body: &'a T,
}

/// `body` as one JSON document of `schema` (see [`schema`]), on one line.
pub fn json_line<T: ?Sized + serde::Serialize>(
    schema: &'static str,
    body: &T,
) -> serde_json::Result<String> {
    serde_json::to_string(&Document { schema, body })
}

/// `body` as one JSON document of `schema`, indented.
pub fn json_pretty<T: ?Sized + serde::Serialize>(
    schema: &'static str,
    body: &T,
) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&Document { schema, body })
}

/// A `{"schema":…,"records":[…]}` document written record by record, one record a line (cheap
/// to write, easy to grep): `pyc status --format json` on trees and on archives.
///
/// ```text
/// {"schema":"pyc-status/1","records":[
/// {…},
/// {…}
/// ]}
/// ```
pub struct RecordsWriter<W: std::io::Write> {
    out: W,
    any: bool,
}

impl<W: std::io::Write> RecordsWriter<W> {
    /// Writes the opening line.
    pub fn start(mut out: W, schema: &'static str) -> std::io::Result<Self> {
        writeln!(
            out,
            "{{\"schema\":{},\"records\":[",
            serde_json::to_string(schema)?
        )?;
        Ok(RecordsWriter { out, any: false })
    }

    /// One record, on its own line.
    pub fn record<T: ?Sized + serde::Serialize>(&mut self, r: &T) -> std::io::Result<()> {
        if self.any {
            writeln!(self.out, ",")?;
        }
        serde_json::to_writer(&mut self.out, r)?;
        self.any = true;
        Ok(())
    }

    /// Closes the document.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.any {
            writeln!(self.out)?;
        }
        writeln!(self.out, "]}}")?;
        Ok(self.out)
    }
}

/// The global `-q`/`-v` (counted), set once by `main`.
static VERBOSITY: std::sync::OnceLock<(u8, u8)> = std::sync::OnceLock::new();

/// Set once by `main` from the global `-q`/`-v`.
pub fn set_verbosity(quiet: u8, verbose: u8) {
    let _ = VERBOSITY.set((quiet, verbose));
}

/// How many `-q`: 1 hides progress bars, notes and summary lines (results and problems still
/// print); 2 also hides warnings and per-file problem messages (the exit code still tells).
pub fn quiet() -> u8 {
    VERBOSITY.get().map_or(0, |v| v.0)
}

/// `-v`: list in full what is otherwise shortened (the first 20 of a kind) or only counted.
pub fn verbose() -> bool {
    VERBOSITY.get().is_some_and(|v| v.1 > 0)
}

/// Notes, hints and summary lines are shown (no `-q`).
pub fn notes() -> bool {
    quiet() == 0
}

/// Warnings and per-file problem messages are shown (fewer than two `-q`).
pub fn warnings() -> bool {
    quiet() < 2
}

/// A progress bar on stderr for a long job of `len` steps (`None`: a spinner with a count),
/// or `None` when there should be none: stderr is not a terminal (a pipe, a file, CI's log),
/// the output is JSON, or `-q` was given. `what` names the job ("compiling").
pub fn progress(what: &str, len: Option<u64>, text_output: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !text_output || !notes() || !std::io::stderr().is_terminal() {
        return None;
    }
    let (pb, template) = match len {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            format!("{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} (eta {{eta}})"),
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            format!("{{spinner}} {what} {{pos}} {{elapsed}}"),
        ),
    };
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
    pb.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(pb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_document_one_record_a_line() {
        let doc = |n: usize| {
            let mut w = RecordsWriter::start(Vec::new(), schema::STATUS).unwrap();
            for i in 0..n {
                w.record(&serde_json::json!({ "i": i })).unwrap();
            }
            String::from_utf8(w.finish().unwrap()).unwrap()
        };
        assert_eq!(doc(0), "{\"schema\":\"pyc-status/1\",\"records\":[\n]}\n");
        assert_eq!(
            doc(2),
            "{\"schema\":\"pyc-status/1\",\"records\":[\n{\"i\":0},\n{\"i\":1}\n]}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&doc(3)).unwrap();
        assert_eq!(parsed["records"].as_array().map(Vec::len), Some(3));
    }
}
