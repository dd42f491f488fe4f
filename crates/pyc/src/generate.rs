//! `pyc completions SHELL` and `pyc man`: shell completions and man pages generated from the
//! one clap definition of the command line (`crate::Cli`), as `uv generate-shell-completion`
//! and ripgrep's `--generate` do, so they can never disagree with `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::output::EXIT_OK;

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write the pages as files into this folder instead: `pyc.1` and one `pyc-COMMAND.1` per
    /// subcommand (install them under `share/man/man1`).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Print the completion script. Install it as the shell's documentation says, for example
/// `pyc completions bash > ~/.local/share/bash-completion/completions/pyc`.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "pyc", &mut buf);
    print!("{}", String::from_utf8_lossy(&buf));
    Ok(ExitCode::from(EXIT_OK))
}

/// Print `pyc.1` (roff), or write every page into `--dir`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = crate::Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            print!("{}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}
