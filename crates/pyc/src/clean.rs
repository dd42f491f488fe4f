//! `pyc clean`: remove what the interpreter can regenerate, and only that. Cache files are
//! chosen from the same classification as `pyc status` (`pyc_cache::classify`); the plan and
//! its safe execution are `pyc_cache::clean`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use pyc_cache::classify::{Classifier, ClassifyOptions, Target};
use pyc_cache::clean::{
    debris_items, empty_folder_items, erase_items, execute, order_outcomes,
    sweep_bytecode_with_progress, Outcome, Plan, Run, Selection, Totals, DEBRIS_DEFAULT,
    DEBRIS_TOPICS,
};

use crate::output::{path_bytes, Format, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::status::walk_options;

#[derive(clap::Args)]
pub struct Args {
    /// Trees to clean.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    /// Also remove sourceless pycs (a `NAME.pyc` with no `NAME.py`: often the only copy of a
    /// deployed module).
    #[arg(long)]
    sourceless: bool,
    /// Only cache files whose source is gone.
    #[arg(long)]
    orphans: bool,
    /// Only cache files the targets would recompile (see --python).
    #[arg(long)]
    stale: bool,
    /// Only cache files of interpreters (tags) other than the targets.
    #[arg(long)]
    foreign: bool,
    /// Only interrupted-write temp files (`NAME.pyc.NNN`).
    #[arg(long)]
    leftovers: bool,
    /// Only cache files with this tag (e.g. `cpython-311`). Repeatable.
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,
    /// The targets of --stale and --foreign (as `pyc status`); `--prefix DIR`: clean this
    /// pycache prefix tree too (default `PYTHONPYCACHEPREFIX`).
    #[command(flatten)]
    target: crate::target::TargetArgs,
    /// Also remove tool debris (pyclean's topics). Bare: cache coverage package pytest ruff;
    /// `all` adds complexipy jupyter mypy pyright tox.
    #[arg(short = 'd', long, value_name = "TOPIC", num_args = 0.., value_parser = debris_names())]
    debris: Option<Vec<String>>,
    /// Remove paths matching this glob (relative to each PATH; `**` crosses folders; never
    /// the PATH itself). Repeatable, one glob each, so that a PATH after it stays a PATH.
    /// Folders only when empty: list `dir/**/*` and `dir`. Asks first unless --yes.
    #[arg(short = 'e', long, value_name = "GLOB")]
    erase: Vec<String>,
    /// Do not ask before --erase.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Remove every empty folder too.
    #[arg(short = 'f', long)]
    folders: bool,
    /// Folder names (or `a/b` paths) never entered, on top of the defaults (.bzr .direnv .git
    /// .hg .jj .nox .svn .tox node_modules, and nested virtual environments, found by their
    /// `pyvenv.cfg`). Repeatable, one name each.
    #[arg(short = 'i', long, value_name = "NAME")]
    ignore: Vec<String>,
    /// Drop one of the default ignores (e.g. `--no-ignore .tox`; `venv` or `.venv`: enter
    /// nested virtual environments). Repeatable.
    #[arg(long, value_name = "NAME")]
    no_ignore: Vec<String>,
    /// Also walk into the folders skipped by default: version-control folders (`.git`,
    /// `.hg`, ...), nested virtual environments (a `pyvenv.cfg`), `.tox`, `.nox`, `.direnv`,
    /// `node_modules`. A PATH given is always walked, whatever it is.
    #[arg(long)]
    no_skip: bool,
    /// List every path that would be removed; remove nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also take the cache files that git tracks out of the index and the tree (`git rm`):
    /// files in `__pycache__` folders and legacy pycs beside their source, never sourceless
    /// ones. Commit the removal afterwards. Without this flag git's index is never touched.
    #[arg(long)]
    git_tracked: bool,
}

fn debris_names() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<&'static str> = DEBRIS_TOPICS.iter().map(|(n, _)| *n).collect();
    names.push("all");
    clap::builder::PossibleValuesParser::new(names)
}

fn debris_topics(arg: &Option<Vec<String>>) -> Vec<String> {
    match arg {
        None => Vec::new(),
        Some(v) if v.is_empty() => DEBRIS_DEFAULT.iter().map(|s| s.to_string()).collect(),
        Some(v) => {
            let mut out: Vec<String> = Vec::new();
            for t in v {
                if t == "all" {
                    out.extend(DEBRIS_TOPICS.iter().map(|(n, _)| n.to_string()));
                } else {
                    out.push(t.clone());
                }
            }
            out.sort();
            out.dedup();
            out
        }
    }
}

fn confirm(plan: &Plan) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("--erase asks before removing; not on a terminal, so pass --yes");
    }
    let mut err = std::io::stderr();
    for it in &plan.items {
        writeln!(err, "  {}", String::from_utf8_lossy(&it.path))?;
    }
    write!(err, "Remove these {} paths? [y/N] ", plan.items.len())?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match run_inner(args) {
        Ok(code) => Ok(code),
        Err(e) if crate::output::is_broken_pipe(&e) => Ok(ExitCode::from(crate::output::EXIT_OK)),
        Err(e) => {
            eprintln!("pyc: {e:#}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn run_inner(args: Args) -> anyhow::Result<ExitCode> {
    let roots: Vec<&Path> = args.paths.iter().map(PathBuf::as_path).collect();
    if let Some(code) = crate::output::missing_paths(roots.iter().copied()) {
        return Ok(code);
    }
    // Ignore list: pyclean's defaults (minus --no-ignore) plus --ignore.
    // The walk's default skips (as status and compile; minus --no-ignore) plus --ignore.
    let mut walk = walk_options(&[], args.no_skip)?;
    walk.ignore
        .retain(|d| !args.no_ignore.iter().any(|n| n.as_bytes() == d.as_slice()));
    if args.no_ignore.iter().any(|n| n == "venv" || n == ".venv") {
        walk.skip_venvs = false;
    }
    let ignores: Vec<String> = args.ignore.clone();
    walk.ignore
        .extend(ignores.iter().map(|s| s.as_bytes().to_vec()));

    let sel = Selection {
        sourceless: args.sourceless,
        orphans: args.orphans,
        stale: args.stale,
        foreign: args.foreign,
        leftovers: args.leftovers,
        tags: args.tag.clone(),
    };
    let prefix = args
        .target
        .prefix
        .clone()
        .or_else(|| crate::output::env_pycache_prefix().map(PathBuf::from));
    // Targets matter only for --stale and --foreign.
    let mut targets: Vec<Target> = if args.stale || args.foreign || !args.target.python.is_empty() {
        crate::target::targets(
            &crate::target::TargetArgs {
                prefix: prefix.clone(),
                ..args.target.clone()
            },
            None,
            &roots,
            &walk,
        )?
    } else {
        Vec::new()
    };
    let mut safe_roots: Vec<Vec<u8>> = roots
        .iter()
        .map(|r| {
            let b = path_bytes(r);
            if b == b"." {
                Vec::new()
            } else {
                b.strip_suffix(b"/").unwrap_or(b).to_vec()
            }
        })
        .collect();
    if let Some(p) = &prefix {
        let abs = if p.is_absolute() {
            p.clone()
        } else {
            std::env::current_dir()?.join(p)
        };
        if !targets
            .iter()
            .any(|t| t.prefix.is_some() && t.info.pycache_prefix)
        {
            // A target that only reads the prefix tree: no verdicts, every file listed.
            let mut t = Target::for_version("3.12".parse().map_err(anyhow::Error::msg)?)?;
            t.label = "prefix".into();
            t.tag = String::new();
            t.optimizations = Vec::new();
            t.prefix = Some(path_bytes(&abs).to_vec());
            targets.push(t);
        }
        safe_roots.push(path_bytes(&abs).to_vec());
    }
    let classifier = Classifier::new(
        targets,
        ClassifyOptions {
            walk: walk.clone(),
            cwd: Vec::new(),
            verify: false,
        },
    );
    // Cache files go folder by folder while the tree is walked (in parallel, relative to the
    // walk's open folders); debris, --erase and --folders are planned afterwards, on what is left.
    // A quiet text run shows no totals: it need not stat every file to count the bytes.
    let run = Run {
        dry_run: args.dry_run,
        measure: !(crate::output::quiet() > 0 && args.format == Format::Text),
        list: args.format == Format::Json || args.dry_run || crate::output::verbose(),
    };
    let untracked = if args.git_tracked {
        git_untrack(&roots, args.dry_run)?
    } else {
        Vec::new()
    };
    let bar = crate::output::progress(
        if args.dry_run { "checking" } else { "cleaning" },
        None,
        args.format == Format::Text,
    );
    let tick = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n)
        }
    };
    let swept = sweep_bytecode_with_progress(&classifier, &roots, &sel, &safe_roots, run, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let errors = swept.errors;
    let mut outcomes = swept.outcomes;
    let mut totals = swept.counted;
    let mut plan = Plan {
        items: Vec::new(),
        skipped: swept.skipped,
    };
    let topics = debris_topics(&args.debris);
    if !topics.is_empty() {
        let d = debris_items(&roots, &topics, &walk);
        plan.items.extend(d.items);
        plan.skipped.extend(d.skipped);
    }
    if !args.erase.is_empty() {
        let mut b = globset::GlobSetBuilder::new();
        for g in &args.erase {
            b.add(
                globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .with_context(|| format!("--erase {g}"))?,
            );
        }
        let mut ew = walk_options(&[], true)?;
        // Only explicit --ignore values limit --erase (as in pyclean).
        ew.ignore = args.ignore.iter().map(|s| s.as_bytes().to_vec()).collect();
        let e = erase_items(&roots, &b.build()?, &ew);
        if !e.items.is_empty() && !args.yes && !args.dry_run && !confirm(&e)? {
            eprintln!("pyc: --erase: nothing erased");
        } else {
            plan.items.extend(e.items);
            plan.skipped.extend(e.skipped);
        }
    }
    pyc_cache::clean::order(&mut plan.items);
    let more = execute(&plan, &safe_roots, run, &outcomes);
    outcomes.extend(more);
    if args.folders {
        let f = empty_folder_items(&roots, &walk);
        let more = execute(&f, &safe_roots, run, &outcomes);
        outcomes.extend(more);
    }
    // The same path can be listed twice (a cache file inside a debris folder, in a dry run).
    order_outcomes(&mut outcomes);
    outcomes.dedup_by(|a, b| a.path == b.path);
    totals.add(&outcomes);
    report(&args, &outcomes, totals, &plan, &errors, &untracked)
}

/// `--git-tracked`: `git rm` the tracked cache files of every tree that is in a git work tree
/// (a tree outside git has none), or only list them in a dry run.
fn git_untrack(roots: &[&Path], dry_run: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    for root in roots {
        let Some(h) = pyc_cache::git::hygiene(root) else {
            continue;
        };
        if !dry_run {
            pyc_cache::git::remove_tracked(root, &h.tracked)
                .with_context(|| format!("--git-tracked in {}", root.display()))?;
        }
        all.extend(h.tracked);
    }
    Ok(all)
}

fn report(
    args: &Args,
    outcomes: &[Outcome],
    totals: Totals,
    plan: &Plan,
    errors: &[pyc_cache::classify::Record],
    untracked: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let done = |o: &&Outcome| o.is_done();
    let (files, dirs, bytes) = (totals.files, totals.folders, totals.bytes);
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.is_failure()).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "dry_run": args.dry_run,
                "removed_files": files,
                "removed_folders": dirs,
                "bytes_freed": bytes,
                "paths": outcomes.iter().filter(|o| o.result != "kept-not-empty").collect::<Vec<_>>(),
                "skipped": plan.skipped,
                "git_untracked": untracked,
                "errors": errors.iter().map(|r| serde_json::json!({
                    "path": if r.source.is_some() { r.source_display() } else { r.cache_display() },
                    "error": r.detail,
                })).collect::<Vec<_>>(),
            });
            let doc = crate::output::json_pretty(crate::output::schema::CLEAN, &doc)?;
            writeln!(out, "{doc}")?;
        }
        Format::Text => {
            if crate::output::notes() {
                for p in untracked {
                    let verb = if args.dry_run {
                        "would git rm"
                    } else {
                        "git rm"
                    };
                    writeln!(out, "{verb} {}  (tracked cache file)", p.display())?;
                }
            }
            if (args.dry_run || crate::output::verbose()) && crate::output::notes() {
                for o in outcomes.iter().filter(done) {
                    writeln!(
                        out,
                        "{} {}  ({})",
                        if args.dry_run {
                            "would remove"
                        } else {
                            "removed"
                        },
                        String::from_utf8_lossy(&o.path),
                        o.why
                    )?;
                }
            }
            for s in &plan.skipped {
                if crate::output::notes() {
                    eprintln!(
                        "pyc: {}: skipped: {}",
                        String::from_utf8_lossy(&s.path),
                        s.why
                    );
                }
            }
            if crate::output::notes() {
                writeln!(
                    out,
                    "{} {} files and {} folders, {} freed{}",
                    if args.dry_run {
                        "Would remove"
                    } else {
                        "Removed"
                    },
                    files,
                    dirs,
                    human_bytes(bytes),
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!("; {} could not be removed", failed.len())
                    }
                )?;
            }
        }
    }
    for o in failed.iter().filter(|_| crate::output::warnings()) {
        eprintln!(
            "pyc: {}: {}",
            String::from_utf8_lossy(&o.path),
            o.error.as_deref().unwrap_or("failed")
        );
    }
    for r in errors.iter().filter(|_| crate::output::warnings()) {
        let p = if r.source.is_some() {
            r.source_display()
        } else {
            r.cache_display()
        };
        eprintln!("pyc: {p}: {}", r.detail.as_deref().unwrap_or("error"));
    }
    Ok(ExitCode::from(if failed.is_empty() && errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }))
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
