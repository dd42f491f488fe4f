//! The `pyc` command line: a thin layer over the pyc-* crates, one module per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The walks of status, clean and compile make and drop many small records from several
// threads at once, and dis many small objects per file; mimalloc's per-thread free lists do
// that with less time in the allocator than the system's malloc (see bench/): for
// `pyc dis` glibc's malloc took a fifth of the time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// `pyc ... | head` closes stdout early. The std `print!`/`println!` panic on that; these
// crate-wide versions (same names, so every subcommand reads as usual) end the process quietly
// instead, and turn any other write error into one line and exit 2. Defined before the `mod`
// lines so that every module sees them.
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod archive;
mod cache;
mod clean;
mod compile;
mod diff;
mod dis;
mod generate;
mod hook;
mod importtime;
mod normalize;
mod output;
mod path;
mod python;
mod show;
mod show_code;
mod status;
mod target;

/// Everything around CPython's bytecode cache (`__pycache__`, `.pyc`), for every CPython from
/// 2.7 to 3.15, from one binary.
#[derive(Parser)]
#[command(name = "pyc", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour the output: `auto` (on a terminal, unless `NO_COLOR` is set;
    /// `FORCE_COLOR` colours pipes too), `always` or `never`.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = output::ColorChoice::Auto)]
    color: output::ColorChoice,
    /// Less output: `-q` hides progress bars, notes and summary lines (results and problems
    /// still print); `-qq` also hides warnings and per-file problem messages (the exit code
    /// still tells).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    quiet: u8,
    /// More output: list in full what is otherwise shortened or only counted (every problem
    /// file, every path removed, every pyc written).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Show the header (and code summary) of pyc files of any CPython version.
    Show(show::Args),
    /// Print the cache path CPython would use for a source, or the source of a cache file.
    Path(path::Args),
    /// Disassemble pyc files exactly as their own CPython version's `dis` does.
    Dis(dis::Args),
    /// Why two pycs differ: header fields, code, or only marshal's references.
    Diff(diff::Args),
    /// Is the cache fresh, stale, missing or orphaned, exactly as the interpreter decides?
    Status(status::Args),
    /// Rewrite pycs from elsewhere into pyc's canonical (reproducible) form, in place; the
    /// loaded code stays exactly as it was.
    Normalize(normalize::Args),
    /// Remove what the interpreter can regenerate, and only that.
    Clean(clean::Args),
    /// Precompile trees with real interpreters: exact, reproducible, incremental, parallel.
    Compile(compile::Args),
    /// Look after a code cache folder (`pyc compile --code-cache`): stats, prune, clear.
    Cache(cache::Args),
    /// List the Python interpreters pyc can find.
    Python(python::Args),
    /// Measure what the bytecode cache buys at import, cold and warm.
    Importtime(importtime::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(generate::CompletionsArgs),
    /// Print pyc's man page (roff), or write every page into a folder.
    Man(generate::ManArgs),
    /// The checks behind pyc's pre-commit hooks (`.pre-commit-hooks.yaml`).
    Hook(hook::Args),
}

/// The longest `--timeout` accepted: one year, in seconds. Longer is surely a typo, and a
/// deadline must stay representable (`Instant + Duration` panics on overflow).
pub const MAX_TIMEOUT_SECONDS: f64 = 365.0 * 86_400.0;

/// The shortest `--timeout` accepted: a millisecond (shorter rounds to nothing).
pub const MIN_TIMEOUT_SECONDS: f64 = 0.001;

/// The value parser of every `--timeout SECONDS`: a number of seconds from
/// [`MIN_TIMEOUT_SECONDS`] to [`MAX_TIMEOUT_SECONDS`]; anything else is a usage error (exit 2),
/// never a panic.
pub fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let x: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&x) {
        return Err(format!(
            "{s} seconds: must be from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS} (one year)"
        ));
    }
    std::time::Duration::try_from_secs_f64(x).map_err(|e| format!("{s} seconds: {e}"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help/--version print and exit 0; a usage error is one line and exit 2.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(output::EXIT_OK);
        }
        Err(e) => {
            eprintln!("pyc: {}", output::one_line_usage_error(&e));
            return ExitCode::from(output::EXIT_USAGE);
        }
    };
    output::set_color(cli.color);
    output::set_verbosity(cli.quiet, cli.verbose);
    let result = match cli.command {
        Command::Show(a) => show::run(a),
        Command::Path(a) => path::run(a),
        Command::Dis(a) => dis::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Status(a) => status::run(a),
        Command::Normalize(a) => normalize::run(a),
        Command::Clean(a) => clean::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Cache(a) => cache::run(a),
        Command::Python(a) => python::run(a),
        Command::Importtime(a) => importtime::run(a),
        Command::Completions(a) => generate::completions(a),
        Command::Man(a) => generate::man(a),
        Command::Hook(a) => hook::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(output::EXIT_OK),
        Err(e) => {
            eprintln!("pyc: {e:#}");
            ExitCode::from(output::EXIT_USAGE)
        }
    }
}
