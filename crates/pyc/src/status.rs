//! `pyc status`: for every source and target interpreter, the verdict the interpreter itself
//! reaches on import (fresh, stale with the reason, missing), and what every cache file is
//! (orphan, foreign, leftover, sourceless), plus folders where caches cannot be written.
//! The classification is `pyc_cache::classify`, shared with `pyc clean`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use pyc_cache::classify::{
    CheckHashBasedPycs, Classifier, ClassifyOptions, Reason, Record, State, Target,
};
use pyc_cache::git::{Hygiene, IGNORE_LINES};
use pyc_format::version_for_cache_tag;

use crate::output::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// `status`'s output formats: `json` sorts every record in memory; `jsonl` streams them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// A summary with the first 20 problem files of each kind (memory: what is printed).
    Text,
    /// One JSON array of every record, sorted by path (held in memory to sort).
    Json,
    /// One JSON record per line, written as found (unsorted; memory stays flat).
    Jsonl,
}

/// Problem files of each kind the summary lists without `-v`.
const SHOWN_PER_KIND: usize = 20;

/// Unreadable paths named on stderr, one line each; past this, a count.
const MAX_ERROR_LINES: usize = 1000;

#[derive(clap::Args)]
pub struct Args {
    /// Trees (or single files) to look at.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    target: crate::target::TargetArgs,
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
    /// Also walk into the folders skipped by default: version-control folders (`.git`,
    /// `.hg`, ...), nested virtual environments (a `pyvenv.cfg`), `.tox`, `.nox`, `.direnv`,
    /// `node_modules`. A PATH given is always walked, whatever it is.
    #[arg(long)]
    no_skip: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 1 when any verdict is stale, missing, unwritable or broken (for CI).
    #[arg(long)]
    check: bool,
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

/// Build the walker options of status, clean and normalize (compile's walk applies the same
/// skips): `--exclude` globs, and the default skips unless `--no-skip`.
pub fn walk_options(
    exclude: &[String],
    no_skip: bool,
) -> anyhow::Result<pyc_cache::walk::WalkOptions> {
    let mut o = pyc_cache::walk::WalkOptions::default().default_skips(!no_skip);
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

/// A record ordered by its place in the sorted listing (for the bounded summary heaps).
struct Ranked(Record);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.sort_key().cmp(&other.0.sort_key())
    }
}

/// The problem files of one kind the summary prints: how many there are, and the first
/// `limit` of them in path order (a max-heap that drops its largest once over the limit, so
/// memory is bounded by what is printed, however many there are).
#[derive(Default)]
struct Shown {
    count: usize,
    first: BinaryHeap<Ranked>,
}

impl Shown {
    fn push(&mut self, r: Record, limit: usize) {
        self.count += 1;
        if self.first.len() < limit {
            self.first.push(Ranked(r));
        } else if let Some(mut top) = self.first.peek_mut() {
            if r.sort_key() < top.0.sort_key() {
                *top = Ranked(r);
            }
        }
    }

    fn sorted(&self) -> Vec<&Record> {
        let mut v: Vec<&Record> = self.first.iter().map(|r| &r.0).collect();
        v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        v
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
    /// Any verdict that `--check` fails on; any `error` verdict.
    findings: bool,
    errors: bool,
    /// Text: the problem files printed, per kind. Json: every record (sorted at the end).
    shown: BTreeMap<State, Shown>,
    all: Vec<Record>,
    /// Jsonl: the first write error (the walk goes on, nothing more is written).
    write_error: Option<std::io::Error>,
    /// Error verdicts (unreadable paths), for one stderr line each: the first 1,000.
    error_records: Vec<Record>,
    error_count: usize,
    /// Foreign cache files by tag (the wrong-interpreter hint).
    foreign_tags: BTreeMap<String, usize>,
}

/// When most cache files here are foreign and one other tag wrote most of them, the targets
/// are probably not the interpreter that runs this code: that tag, to name in a hint.
fn wrong_interpreter(t: &Tally) -> Option<(&str, usize, usize)> {
    let foreign: usize = t.foreign_tags.values().sum();
    let judged: usize = t
        .per_target
        .iter()
        .filter(|((_, s), _)| matches!(s, State::Fresh | State::Stale | State::Broken))
        .map(|(_, n)| n)
        .sum();
    let (tag, n) = t.foreign_tags.iter().max_by_key(|(_, n)| **n)?;
    (foreign * 2 > foreign + judged && n * 3 >= foreign * 2).then_some((
        tag.as_str(),
        *n,
        foreign + judged,
    ))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut walk = walk_options(&args.exclude, args.no_skip)?;
    walk.follow_links = args.follow_links;
    let roots: Vec<&Path> = args.paths.iter().map(PathBuf::as_path).collect();
    // A root that is not there is an argument error: say so on stderr, before probing any
    // interpreter (problems found inside the trees are part of the report instead).
    if let Some(code) = crate::output::missing_paths(roots.iter().copied()) {
        return Ok(code);
    }
    let check = args
        .check_hash_based_pycs
        .as_deref()
        .map(str::parse::<CheckHashBasedPycs>)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let targets = crate::target::targets(&args.target, check, &roots, &walk);
    let targets = match targets {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pyc: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if crate::archive::all_archives(&roots)? {
        let format = match args.format {
            Format::Text => crate::output::Format::Text,
            Format::Json => crate::output::Format::Json,
            Format::Jsonl => {
                eprintln!("pyc: --format jsonl is for trees; use --format json for archives");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        return crate::archive::status(
            &roots,
            &targets,
            args.as_use.as_deref(),
            format,
            args.check,
            crate::output::verbose(),
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
    let keep_foreign = crate::output::verbose();
    let limit = if crate::output::verbose() {
        usize::MAX
    } else {
        SHOWN_PER_KIND
    };
    let first_level = classifier
        .targets
        .first()
        .and_then(|t| t.optimizations.first().copied());
    if args.format == Format::Jsonl {
        // The first line says what the records are (docs/json.md).
        println!(
            "{}",
            crate::output::json_line(crate::output::schema::STATUS, &serde_json::json!({}))?
        );
    }
    let tally = Mutex::new(Tally::default());
    let bar = crate::output::progress("checking", None, args.format == Format::Text);
    classifier.classify_each(&roots, &|batch: Vec<Record>| {
        if let Some(b) = &bar {
            b.inc(batch.len() as u64);
        }
        let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let t = &mut *t;
        // Jsonl: written while the tally is locked, so lines never interleave.
        let mut lines = (args.format == Format::Jsonl && t.write_error.is_none())
            .then(|| std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()));
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
            if let (State::Foreign, Some(tag)) = (r.state, &r.tag) {
                *t.foreign_tags.entry(tag.clone()).or_default() += 1;
            }
            if r.state == State::Error {
                t.error_count += 1;
                if t.error_records.len() < MAX_ERROR_LINES {
                    t.error_records.push(r.clone());
                }
            }
            t.findings |= is_finding(r.state);
            t.errors |= r.state == State::Error;
            let problem = !(r.state == State::Fresh || r.state == State::Foreign && !keep_foreign);
            if problem || args.format != Format::Text {
                warn_not_utf8(&r);
            }
            match args.format {
                Format::Text if problem => t.shown.entry(r.state).or_default().push(r, limit),
                Format::Text => {}
                Format::Json => t.all.push(r),
                Format::Jsonl => {
                    if let Some(out) = lines.as_mut().filter(|_| t.write_error.is_none()) {
                        t.write_error = serde_json::to_writer(&mut *out, &r)
                            .map_err(std::io::Error::from)
                            .and_then(|()| out.write_all(b"\n"))
                            .err();
                    }
                }
            }
        }
        if let Some(mut out) = lines.filter(|_| t.write_error.is_none()) {
            t.write_error = out.flush().err();
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = tally.write_error.take() {
        return Err(e.into());
    }
    tally.all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let git: Vec<Hygiene> = if args.no_git {
        Vec::new()
    } else {
        roots
            .iter()
            .filter_map(|r| pyc_cache::git::hygiene(r))
            .collect()
    };
    let git_records: Vec<GitRecord> = git.iter().flat_map(GitRecord::all).collect();
    let findings = tally.findings || !git_records.is_empty();
    let errors = tally.errors;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let mut w =
                crate::output::RecordsWriter::start(&mut out, crate::output::schema::STATUS)?;
            for r in &tally.all {
                w.record(r)?;
            }
            for r in &git_records {
                w.record(r)?;
            }
            w.finish()?;
        }
        Format::Jsonl => {
            for r in &git_records {
                serde_json::to_writer(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            let paint = Paint {
                on: crate::output::use_color(std::io::stdout().is_terminal()),
            };
            // -q: the problem files only; -qq: nothing (the exit code tells).
            let verbose = crate::output::verbose();
            if crate::output::notes() {
                print_counts(&mut out, &classifier.targets, &tally, &paint)?;
            }
            if crate::output::warnings() {
                print_problems(&mut out, &tally, &paint, verbose)?;
                print_git(&mut out, &git_records, verbose)?;
            }
        }
    }
    if let Some((tag, n, total)) = wrong_interpreter(&tally).filter(|_| crate::output::notes()) {
        let flag = version_for_cache_tag(tag)
            .map(|i| format!("; use --python {}", i.version))
            .unwrap_or_default();
        eprintln!("pyc: hint: most caches here are {tag} ({n} of {total}), not the target's{flag}");
    }
    // What could not be read is also one line each on stderr, `pyc: PATH: reason`.
    for r in tally
        .error_records
        .iter()
        .filter(|_| crate::output::warnings())
    {
        let path = r.source.as_ref().or(r.cache.as_ref());
        eprintln!(
            "pyc: {}: {}",
            path.map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            r.detail.as_deref().unwrap_or("cannot be read")
        );
    }
    if tally.error_count > tally.error_records.len() && crate::output::warnings() {
        eprintln!(
            "pyc: ... and {} more paths that cannot be read",
            tally.error_count - tally.error_records.len()
        );
    }
    // A path that cannot be read is a bad input (1), as in every subcommand; so is a finding
    // under --check.
    let code = if errors || (args.check && findings) {
        EXIT_FAILURE
    } else {
        EXIT_OK
    };
    Ok(ExitCode::from(code))
}

/// A name that is not UTF-8 is shown with U+FFFD: say so on stderr, once per record listed.
fn warn_not_utf8(r: &Record) {
    if !crate::output::warnings() {
        return;
    }
    for p in [&r.source, &r.cache].into_iter().flatten() {
        if std::str::from_utf8(p).is_err() {
            eprintln!(
                "pyc: warning: {}: name is not UTF-8 (shown with U+FFFD)",
                String::from_utf8_lossy(p)
            );
        }
    }
}

/// The summary's counts: per target and for the cache side, and notes.
fn print_counts(
    out: &mut dyn Write,
    targets: &[Target],
    t: &Tally,
    paint: &Paint,
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
        let label = match &target.chosen {
            Some(why) => format!("{} {why}", target.label),
            None => target.label.clone(),
        };
        let mut line = format!(
            "  {} [{}, -O {}]: {}",
            label,
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
    Ok(())
}

/// The problem files, grouped by state (the first 20 of each unless `verbose`).
fn print_problems(
    out: &mut dyn Write,
    t: &Tally,
    paint: &Paint,
    verbose: bool,
) -> anyhow::Result<()> {
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
        let Some(shown) = t.shown.get(&s) else {
            continue;
        };
        writeln!(out, "{} ({}):", paint.state(s), shown.count)?;
        let rows = shown.sorted();
        for r in &rows {
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
        if shown.count > rows.len() {
            writeln!(
                out,
                "  ... {} more (-v lists all)",
                shown.count - rows.len()
            )?;
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
