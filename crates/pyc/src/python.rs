//! `pyc python`: the interpreters pyc can find, with version, cache tag and magic number.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::output::{Format, EXIT_FAILURE, EXIT_OK};

#[derive(clap::Args)]
pub struct Args {
    /// Also list these (a version `3.12`, a path, or a name on PATH); a version that is not
    /// installed is an error naming where pyc looked.
    #[arg(long, value_name = "X.Y|PATH")]
    python: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct Row {
    path: PathBuf,
    /// The name it was found under, when different (a pyenv shim).
    via: Option<PathBuf>,
    origin: String,
    /// This is what every subcommand uses here without `--python`.
    default: bool,
    implementation: Option<String>,
    version: Option<String>,
    cache_tag: Option<String>,
    magic: Option<u16>,
    error: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut found = pyc_python::discover();
    for spec in &args.python {
        let path =
            pyc_python::resolve(spec).map_err(|e| anyhow::anyhow!("--python {spec}: {e}"))?;
        found.retain(|f| f.path != path);
        found.insert(
            0,
            pyc_python::Found {
                path,
                via: None,
                origin: pyc_python::Origin::Explicit,
                version_hint: None,
            },
        );
    }
    // The interpreter every subcommand uses here without --python (pyc_python::choose_for).
    let default = pyc_python::choose_for(std::path::Path::new("."))
        .ok()
        .map(|c| c.exe);
    if let Some(d) = &default {
        if !found.iter().any(|f| &f.path == d) {
            found.insert(
                0,
                pyc_python::Found {
                    path: d.clone(),
                    via: None,
                    origin: pyc_python::Origin::Venv,
                    version_hint: None,
                },
            );
        }
    }
    let mut rows = Vec::new();
    let mut failed = false;
    for f in found {
        let mut row = Row {
            default: default.as_ref() == Some(&f.path),
            path: f.path.clone(),
            via: f.via.clone(),
            origin: f.origin.to_string(),
            implementation: None,
            version: None,
            cache_tag: None,
            magic: None,
            error: None,
        };
        match pyc_python::probe_cached(&f.path) {
            Ok(p) => {
                row.implementation = Some(p.implementation.clone());
                row.version = Some(format!("{}.{}.{}", p.major, p.minor, p.micro));
                row.cache_tag = p.cache_tag.clone();
                row.magic = p.magic;
            }
            Err(e) => {
                failed = true;
                row.error = Some(e.to_string());
            }
        }
        rows.push(row);
    }
    match args.format {
        Format::Json => println!(
            "{}",
            crate::output::json_pretty(
                crate::output::schema::PYTHON,
                &serde_json::json!({ "interpreters": rows })
            )?
        ),
        Format::Text => {
            if rows.is_empty() {
                println!("no interpreters found (looked at VIRTUAL_ENV, PATH, pyenv and uv)");
            }
            for r in &rows {
                let mark = if r.default { "*" } else { " " };
                let via = r
                    .via
                    .as_ref()
                    .map(|v| format!(" (via {})", v.display()))
                    .unwrap_or_default();
                match &r.error {
                    Some(e) => println!("{mark} {:<8} {:<8} error: {e}", "?", r.origin),
                    None => println!(
                        "{mark} {:<8} {:<8} {:<12} magic {:<5} {}{via}",
                        r.version.as_deref().unwrap_or("?"),
                        r.origin,
                        r.cache_tag.as_deref().unwrap_or("-"),
                        r.magic.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                        r.path.display(),
                    ),
                }
            }
        }
    }
    Ok(ExitCode::from(if failed { EXIT_FAILURE } else { EXIT_OK }))
}
