//! `pyc cache stats|prune|clear`: look after a code cache folder (`pyc compile --code-cache`).
//! The store and its maintenance are `pyc_compile::store`; this only composes and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use pyc_compile::store::Store;

use crate::output::{Format, EXIT_OK};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The code cache folder (default `PYC_CODE_CACHE`), or a remote store that can list its
    /// entries (`s3://bucket/prefix`, `webdav+http://host/path`).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "PYC_CODE_CACHE",
        alias = "code-cache"
    )]
    dir: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Subcommand)]
enum Action {
    /// How many entries and bytes the folder holds.
    Stats,
    /// Remove the least recently used entries (older formats first) until at most SIZE is
    /// left.
    Prune {
        /// Bytes, or with a suffix K, M, G, T (powers of 1024): `500M`.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: u64,
    },
    /// Remove every entry (only pyc's own folders in DIR).
    Clear,
}

/// `500M`, `2G`, `1024`: bytes, with an optional K/M/G/T suffix (powers of 1024, an `i`/`iB`/`B`
/// after it allowed).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .or_else(|| t.strip_suffix('i'))
        .unwrap_or(t);
    let (num, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s:?}: not a size (use e.g. 500M or 2G)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: not a size (use e.g. 500M or 2G)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?}: too large"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .filter(|d| !d.as_os_str().is_empty())
        .context("no code cache folder: give --dir DIR or set PYC_CODE_CACHE")?;
    let json = args.format == Format::Json;
    let spec = dir.to_string_lossy().into_owned();
    if pyc_compile::remote::is_remote(&spec) {
        return remote(&spec, args.action, json);
    }
    let store = Store::new(&dir);
    match args.action {
        Action::Stats => {
            let u = store.scan();
            if json {
                println!(
                    "{}",
                    crate::output::json_pretty(crate::output::schema::CACHE, &u)?
                );
            } else {
                println!(
                    "{}: {} entries, {} bytes{}{}",
                    dir.display(),
                    u.entries,
                    u.bytes,
                    match u.old_entries {
                        0 => String::new(),
                        n => format!("; {n} of an older format ({} bytes)", u.old_bytes),
                    },
                    match u.leftovers {
                        0 => String::new(),
                        n => format!("; {n} temporary files"),
                    }
                );
            }
        }
        Action::Prune { max_size } => {
            let p = store.prune(max_size);
            print_pruned(&dir, &p, json)?;
        }
        Action::Clear => {
            let p = store
                .clear()
                .with_context(|| format!("{}: cannot clear", dir.display()))?;
            print_pruned(&dir, &p, json)?;
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// The same for a remote store: listed with sizes and last-modified times; "least recently
/// used" is least recently written there (docs/compile.md).
fn remote(spec: &str, action: Action, json: bool) -> anyhow::Result<ExitCode> {
    let r = pyc_compile::remote::Remote::open(spec, std::time::Duration::from_secs(30))
        .map_err(anyhow::Error::msg)?;
    let shown = std::path::Path::new(r.shown());
    match action {
        Action::Stats => {
            let u = Store::scan_remote(&r).map_err(anyhow::Error::msg)?;
            if json {
                println!(
                    "{}",
                    crate::output::json_pretty(crate::output::schema::CACHE, &u)?
                );
            } else {
                println!("{}: {} entries, {} bytes", r.shown(), u.entries, u.bytes);
            }
        }
        Action::Prune { max_size } => {
            let p = Store::prune_remote(&r, max_size).map_err(anyhow::Error::msg)?;
            print_pruned(shown, &p, json)?;
        }
        Action::Clear => {
            let p = Store::clear_remote(&r).map_err(anyhow::Error::msg)?;
            print_pruned(shown, &p, json)?;
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

fn print_pruned(
    dir: &std::path::Path,
    p: &pyc_compile::store::Pruned,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            crate::output::json_pretty(crate::output::schema::CACHE, p)?
        );
    } else {
        println!(
            "{}: removed {} entries ({} bytes); {} entries, {} bytes left",
            dir.display(),
            p.removed,
            p.removed_bytes,
            p.entries,
            p.bytes
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("3k"), Ok(3 << 10));
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
