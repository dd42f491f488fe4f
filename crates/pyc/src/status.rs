//! `pyc status`: for every source and target interpreter, the verdict the interpreter itself
//! reaches on import (fresh, stale with the reason, missing), and what every cache file is
//! (orphan, foreign, leftover, sourceless), plus folders where caches cannot be written.
//! The classification is `pyc_cache::classify`, shared with `pyc clean`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{bail, Context};
use pyc_cache::classify::{
    CheckHashBasedPycs, Classifier, ClassifyOptions, Reason, Record, State, Target,
};
use pyc_cache::git::{Hygiene, IGNORE_LINES};
use pyc_format::{version_for_cache_tag, PyVersion};

use crate::output::{path_bytes, Format, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

#[derive(clap::Args)]
pub struct Args {
    /// Trees (or single files) to look at.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    /// Target: a version (`3.12`: facts from pyc's tables, no interpreter needed), an
    /// interpreter (path or name on PATH: probed for tag, magic, -O level, pycache prefix,
    /// check-hash mode, -B), or `all` (every tag found in the trees). Repeatable.
    /// Default: the `python3` on PATH.
    #[arg(long, value_name = "X.Y|PATH|all")]
    python: Vec<String>,
    /// Optimization levels that count, e.g. `-O 0,1,2`. Default: 0 for a version, the
    /// interpreter's own level for an interpreter.
    #[arg(
        short = 'O',
        long = "optimize",
        value_name = "LEVELS",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u32).range(0..=2)
    )]
    optimize: Vec<u32>,
    /// Pycache prefix (3.8+ targets); default `PYTHONPYCACHEPREFIX` for versions, the
    /// interpreter's `sys.pycache_prefix` for interpreters.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
    /// `--check-hash-based-pycs` mode of the targets (3.7+); default: the interpreter's, or
    /// `default` for a version.
    #[arg(long, value_name = "MODE", value_parser = ["default", "always", "never"])]
    check_hash_based_pycs: Option<String>,
    /// Skip paths matching this glob (matched against the path and the bare name). Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Walk into symlinked folders too, even out of the tree (as the importer follows them);
    /// each folder once, a link back to an ancestor is reported as a loop. Default: symlinked
    /// folders are not entered.
    #[arg(short = 'L', long)]
    follow_links: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 1 when any verdict is stale, missing, unwritable or broken (for CI).
    #[arg(long)]
    check: bool,
    /// List every problem file (the summary shows the first 20 of each kind), and foreign
    /// files too.
    #[arg(short, long)]
    verbose: bool,
    /// Also read every fresh cache file whole and unmarshal it: one whose header the
    /// interpreter accepts but whose body it cannot load (a truncated or corrupted file) is
    /// `broken`, an import that fails on every start. Costs a read and a parse per file.
    #[arg(long)]
    verify: bool,
    /// Do not ask git about the trees. By default, in a git work tree, cache files that git
    /// tracks and cache folders that `.gitignore` does not ignore are reported (and are
    /// findings for `--check`), with the lines to add to `.gitignore`.
    #[arg(long)]
    no_git: bool,
    /// For archives (.zip .whl .pyz .egg .tar[.gz|.bz2|.xz|.zst]): how they are used:
    /// `zipimport` (on sys.path as they are), or unpacked by `extract=tar`, `extract=unzip`
    /// (Info-ZIP) or `extract=zipfile` (Python's zipfile, pip, uv). Default by kind, shown.
    #[arg(long = "as", value_name = "USE", value_parser = ["zipimport", "extract=tar", "extract=unzip", "extract=zipfile"])]
    as_use: Option<String>,
}

/// The options that decide targets, shared with `pyc clean`.
pub struct TargetArgs<'a> {
    pub python: &'a [String],
    pub optimize: &'a [u32],
    pub prefix: Option<&'a Path>,
    pub check_hash_based_pycs: Option<&'a str>,
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn absolute(p: &[u8]) -> anyhow::Result<Vec<u8>> {
    if p.starts_with(b"/") {
        return Ok(p.to_vec());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(pyc_cache::paths::path_join(&[path_bytes(&cwd), p]))
}

fn version_target(v: PyVersion, a: &TargetArgs<'_>) -> anyhow::Result<Target> {
    let mut t = Target::for_version(v)?;
    if !a.optimize.is_empty() {
        t.optimizations = a.optimize.to_vec();
    }
    let prefix = match a.prefix {
        Some(p) => Some(path_bytes(p).to_vec()),
        None => crate::output::env_pycache_prefix().map(std::os::unix::ffi::OsStringExt::into_vec),
    };
    t.prefix = prefix.map(|p| absolute(&p)).transpose()?;
    t.dont_write_bytecode = env_flag("PYTHONDONTWRITEBYTECODE");
    if let Some(m) = a.check_hash_based_pycs {
        t.check_hash_based_pycs = m.parse().map_err(anyhow::Error::msg)?;
    }
    Ok(t)
}

fn interpreter_target(exe: &Path, a: &TargetArgs<'_>) -> anyhow::Result<Target> {
    let probe = pyc_python::probe(exe)?;
    if probe.implementation != "cpython" {
        bail!(
            "{}: is {} {}.{}, not CPython",
            exe.display(),
            probe.implementation,
            probe.major,
            probe.minor
        );
    }
    let mut t = Target::for_version(probe.version())?;
    t.label = format!("{} ({})", exe.display(), probe.version());
    if let Some(m) = probe.magic {
        t.magic = m;
    }
    if let Some(tag) = &probe.cache_tag {
        t.tag = tag.clone();
    }
    t.optimizations = if a.optimize.is_empty() {
        vec![u32::from(probe.optimize)]
    } else {
        a.optimize.to_vec()
    };
    let prefix = match a.prefix {
        Some(p) => Some(path_bytes(p).to_vec()),
        None => probe.pycache_prefix.map(String::into_bytes),
    };
    t.prefix = prefix.map(|p| absolute(&p)).transpose()?;
    t.dont_write_bytecode = probe.dont_write_bytecode;
    t.check_hash_based_pycs = match a.check_hash_based_pycs {
        Some(m) => m.parse().map_err(anyhow::Error::msg)?,
        None => probe
            .check_hash_based_pycs
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(CheckHashBasedPycs::Default),
    };
    Ok(t)
}

/// Resolve `--python` values into targets. `all` needs the trees: every tag found there.
pub fn resolve_targets(
    a: &TargetArgs<'_>,
    roots: &[&Path],
    walk: &pyc_cache::walk::WalkOptions,
) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    let defaults = ["python3".to_string()];
    let pythons: &[String] = if a.python.is_empty() {
        &defaults
    } else {
        a.python
    };
    for p in pythons {
        if p == "all" {
            for v in tags_in_trees(roots, walk) {
                if !targets.iter().any(|t: &Target| t.info.version == v) {
                    targets.push(version_target(v, a)?);
                }
            }
            continue;
        }
        if let Ok(v) = p.parse::<PyVersion>() {
            if !Path::new(p).exists() {
                targets.push(version_target(v, a)?);
                continue;
            }
        }
        let exe = if p.contains('/') {
            PathBuf::from(p)
        } else {
            pyc_python::which(p).with_context(|| {
                if a.python.is_empty() {
                    "no `python3` on PATH: name a version or an interpreter with --python".into()
                } else {
                    format!("--python {p}: not a version and not on PATH")
                }
            })?
        };
        targets.push(interpreter_target(&exe, a)?);
    }
    if let Some(p) = a.prefix {
        if !targets.iter().any(|t| t.info.pycache_prefix) {
            bail!(
                "--prefix {}: no target has a pycache prefix (3.8+)",
                p.display()
            );
        }
    }
    Ok(targets)
}

/// Versions of every cache file in the trees (the `--python all` pre-pass).
fn tags_in_trees(roots: &[&Path], walk: &pyc_cache::walk::WalkOptions) -> Vec<PyVersion> {
    let c = Classifier::new(
        Vec::new(),
        ClassifyOptions {
            walk: walk.clone(),
            cwd: Vec::new(),
            verify: false,
        },
    );
    let found = Mutex::new(std::collections::BTreeSet::new());
    c.classify_each(roots, &|batch: Vec<Record>| {
        let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
        for r in batch {
            if let Some(tag) = r.tag {
                f.insert(tag);
            }
        }
    });
    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out: Vec<PyVersion> = found
        .iter()
        .filter_map(|tag| {
            version_for_cache_tag(tag)
                .map(|i| i.version)
                .or_else(|| tag.parse::<PyVersion>().ok().filter(|v| v.major == 2))
        })
        .filter(|v| pyc_cache::classify::validation_for(*v).is_some())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Build the walker options from `--exclude`.
pub fn walk_options(exclude: &[String]) -> anyhow::Result<pyc_cache::walk::WalkOptions> {
    let mut o = pyc_cache::walk::WalkOptions::default();
    if !exclude.is_empty() {
        let mut b = globset::GlobSetBuilder::new();
        for g in exclude {
            b.add(globset::Glob::new(g).with_context(|| format!("--exclude {g}"))?);
        }
        o.exclude = Some(b.build()?);
    }
    Ok(o)
}

/// Is this verdict one that `--check` fails on?
fn is_finding(s: State) -> bool {
    matches!(
        s,
        State::Stale | State::Missing | State::Unwritable | State::Error | State::Broken
    )
}

struct Paint {
    on: bool,
}

impl Paint {
    fn state(&self, s: State) -> String {
        let name = s.as_str();
        if !self.on {
            return name.to_string();
        }
        let code = match s {
            State::Fresh => "32",
            State::Stale | State::Unwritable => "33",
            State::Missing | State::Error | State::Broken => "31",
            State::Orphan | State::Leftover => "35",
            State::Foreign | State::Sourceless => "36",
        };
        format!("\x1b[{code}m{name}\x1b[0m")
    }
}

#[derive(Default)]
struct Tally {
    /// (target label, state) -> count
    per_target: BTreeMap<(usize, State), usize>,
    /// cache-side state -> count
    cache_side: BTreeMap<State, usize>,
    /// reason counts for stale
    reasons: BTreeMap<(usize, Reason), usize>,
    /// Sources with a verdict (one first-level record of the first target each).
    sources: usize,
    kept: Vec<Record>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut walk = walk_options(&args.exclude)?;
    walk.follow_links = args.follow_links;
    let roots: Vec<&Path> = args.paths.iter().map(PathBuf::as_path).collect();
    // A root that is not there is an argument error: say so on stderr, before probing any
    // interpreter (problems found inside the trees are part of the report instead).
    let missing: Vec<String> = roots
        .iter()
        .filter_map(|r| {
            std::fs::symlink_metadata(r)
                .err()
                .map(|e| format!("{}: {}", r.display(), crate::output::io_error(e)))
        })
        .collect();
    if !missing.is_empty() {
        for m in missing {
            eprintln!("pyc status: {m}");
        }
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let targets = resolve_targets(
        &TargetArgs {
            python: &args.python,
            optimize: &args.optimize,
            prefix: args.prefix.as_deref(),
            check_hash_based_pycs: args.check_hash_based_pycs.as_deref(),
        },
        &roots,
        &walk,
    );
    let targets = match targets {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pyc status: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if crate::archive::all_archives(&roots)? {
        return crate::archive::status(
            &roots,
            &targets,
            args.as_use.as_deref(),
            args.format,
            args.check,
            args.verbose,
        );
    }
    let classifier = Classifier::new(
        targets,
        ClassifyOptions {
            walk,
            cwd: Vec::new(),
            verify: args.verify,
        },
    );
    let keep_all = args.format == Format::Json;
    let keep_foreign = args.verbose;
    let first_level = classifier
        .targets
        .first()
        .and_then(|t| t.optimizations.first().copied());
    let tally = Mutex::new(Tally::default());
    classifier.classify_each(&roots, &|batch: Vec<Record>| {
        let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
        for r in batch {
            match r.target_index {
                Some(ti) if r.state != State::Unwritable => {
                    *t.per_target.entry((ti, r.state)).or_default() += 1;
                    if let (State::Stale, Some(reason)) = (r.state, r.reason) {
                        *t.reasons.entry((ti, reason)).or_default() += 1;
                    }
                    if ti == 0 && r.optimization == first_level {
                        t.sources += 1;
                    }
                }
                _ => *t.cache_side.entry(r.state).or_default() += 1,
            }
            if keep_all || !(r.state == State::Fresh || r.state == State::Foreign && !keep_foreign)
            {
                t.kept.push(r);
            }
        }
    });
    let mut tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    tally.kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let git: Vec<Hygiene> = if args.no_git {
        Vec::new()
    } else {
        roots
            .iter()
            .filter_map(|r| pyc_cache::git::hygiene(r))
            .collect()
    };
    let git_records: Vec<GitRecord> = git.iter().flat_map(GitRecord::all).collect();
    let findings = tally.kept.iter().any(|r| is_finding(r.state)) || !git_records.is_empty();
    let errors = tally.kept.iter().any(|r| r.state == State::Error);

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            // One array, one record per line: cheap to write, easy to grep.
            writeln!(out, "[")?;
            let total = tally.kept.len() + git_records.len();
            let mut written = 0;
            let mut comma = |out: &mut dyn Write| -> std::io::Result<()> {
                written += 1;
                writeln!(out, "{}", if written == total { "" } else { "," })
            };
            for r in &tally.kept {
                serde_json::to_writer(&mut out, r)?;
                comma(&mut out)?;
            }
            for r in &git_records {
                serde_json::to_writer(&mut out, r)?;
                comma(&mut out)?;
            }
            writeln!(out, "]")?;
        }
        Format::Text => {
            let paint = Paint {
                on: crate::output::use_color(std::io::stdout().is_terminal()),
            };
            print_summary(&mut out, &classifier.targets, &tally, &paint, args.verbose)?;
            print_git(&mut out, &git_records, args.verbose)?;
        }
    }
    for r in &tally.kept {
        for p in [&r.source, &r.cache].into_iter().flatten() {
            if std::str::from_utf8(p).is_err() {
                eprintln!(
                    "pyc status: warning: {}: name is not UTF-8 (shown with U+FFFD)",
                    String::from_utf8_lossy(p)
                );
            }
        }
    }
    let code = if errors {
        EXIT_USAGE
    } else if args.check && findings {
        EXIT_FAILURE
    } else {
        EXIT_OK
    };
    Ok(ExitCode::from(code))
}

fn print_summary(
    out: &mut dyn Write,
    targets: &[Target],
    t: &Tally,
    paint: &Paint,
    verbose: bool,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} source files, {} target{}",
        t.sources,
        targets.len(),
        if targets.len() == 1 { "" } else { "s" }
    )?;
    for (ti, target) in targets.iter().enumerate() {
        let levels: Vec<String> = target.optimizations.iter().map(u32::to_string).collect();
        let mut parts = Vec::new();
        for s in [State::Fresh, State::Stale, State::Missing, State::Broken] {
            let n = t.per_target.get(&(ti, s)).copied().unwrap_or(0);
            if n > 0 || s == State::Fresh {
                parts.push(format!("{n} {}", paint.state(s)));
            }
        }
        let reasons: Vec<String> = t
            .reasons
            .iter()
            .filter(|((i, _), _)| *i == ti)
            .map(|((_, r), n)| format!("{n} {}", r.as_str()))
            .collect();
        let mut line = format!(
            "  {} [{}, -O {}]: {}",
            target.label,
            target.tag,
            levels.join(","),
            parts.join(", ")
        );
        if !reasons.is_empty() {
            line.push_str(&format!(" (stale: {})", reasons.join(", ")));
        }
        if let Some(p) = target
            .prefix
            .as_deref()
            .filter(|_| target.info.pycache_prefix)
        {
            line.push_str(&format!(", prefix {}", String::from_utf8_lossy(p)));
        }
        writeln!(out, "{line}")?;
    }
    let side: Vec<String> = t
        .cache_side
        .iter()
        .map(|(s, n)| format!("{n} {}", paint.state(*s)))
        .collect();
    if !side.is_empty() {
        writeln!(out, "  cache files and folders: {}", side.join(", "))?;
    }
    for target in targets.iter().filter(|t| t.dont_write_bytecode) {
        writeln!(
            out,
            "note: {} does not write bytecode (PYTHONDONTWRITEBYTECODE / -B): every missing or \
             stale cache is recompiled on every start and never written",
            target.label
        )?;
    }
    // Problem files, grouped by state.
    let order = [
        State::Error,
        State::Broken,
        State::Stale,
        State::Missing,
        State::Unwritable,
        State::Orphan,
        State::Leftover,
        State::Sourceless,
        State::Foreign,
    ];
    for s in order {
        if s == State::Foreign && !verbose {
            continue;
        }
        let rows: Vec<&Record> = t.kept.iter().filter(|r| r.state == s).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "{} ({}):", paint.state(s), rows.len())?;
        let limit = if verbose { usize::MAX } else { 20 };
        for r in rows.iter().take(limit) {
            let path = match s {
                State::Orphan | State::Leftover | State::Sourceless | State::Foreign => {
                    r.cache_display()
                }
                State::Unwritable => r.cache_display(),
                _ => {
                    if r.source.is_some() {
                        r.source_display()
                    } else {
                        r.cache_display()
                    }
                }
            };
            let mut line = format!("  {path}");
            if let Some(target) = &r.target {
                line.push_str(&format!("  [{target}"));
                if let Some(o) = r.optimization.filter(|&o| o != 0) {
                    line.push_str(&format!(" -O {o}"));
                }
                line.push(']');
            } else if let Some(tag) = &r.tag {
                line.push_str(&format!("  [{tag}]"));
            }
            if let Some(reason) = r.reason {
                line.push_str(&format!("  {}", reason.as_str()));
            }
            if let Some(d) = &r.detail {
                line.push_str(&format!(": {d}"));
            }
            writeln!(out, "{line}")?;
        }
        if rows.len() > limit {
            writeln!(out, "  ... {} more (-v lists all)", rows.len() - limit)?;
        }
    }
    Ok(())
}

/// A git finding, as a JSON record beside the verdicts: `state` is `git-tracked` (a cache file
/// in git's index) or `git-not-ignored` (a cache folder, or legacy cache file, that no ignore
/// rule covers; `suggest` holds the `.gitignore` lines that fix it).
#[derive(serde::Serialize)]
struct GitRecord {
    cache: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggest: Option<[&'static str; 2]>,
}

impl GitRecord {
    fn all(h: &Hygiene) -> Vec<GitRecord> {
        let tracked = h.tracked.iter().map(|p| GitRecord {
            cache: p.to_string_lossy().into_owned(),
            state: "git-tracked",
            suggest: None,
        });
        let not_ignored = h.not_ignored.iter().map(|p| GitRecord {
            cache: p.to_string_lossy().into_owned(),
            state: "git-not-ignored",
            suggest: Some(IGNORE_LINES),
        });
        tracked.chain(not_ignored).collect()
    }
}

fn print_git(out: &mut dyn Write, records: &[GitRecord], verbose: bool) -> anyhow::Result<()> {
    let limit = if verbose { usize::MAX } else { 20 };
    for (state, heading) in [
        (
            "git-tracked",
            "cache files tracked by git (`pyc clean --git-tracked` removes them from the index \
             and the tree)",
        ),
        (
            "git-not-ignored",
            "cache folders that .gitignore does not ignore",
        ),
    ] {
        let rows: Vec<&GitRecord> = records.iter().filter(|r| r.state == state).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "{state} ({}): {heading}", rows.len())?;
        for r in rows.iter().take(limit) {
            writeln!(out, "  {}", r.cache)?;
        }
        if rows.len() > limit {
            writeln!(out, "  ... {} more (-v lists all)", rows.len() - limit)?;
        }
        if state == "git-not-ignored" {
            writeln!(out, "add these lines to .gitignore:")?;
            for line in IGNORE_LINES {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}
