//! `pyc dis`: not written yet (issue 4).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Arguments (not yet interpreted).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`pyc dis` is not implemented yet (issue 4)")
}
