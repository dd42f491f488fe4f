//! `pyc diff A.pyc B.pyc`: why two pycs differ. Header fields one by one; for the bodies,
//! whether the code differs (every code object that does, and its fields) or only the way
//! marshal wrote it (the `FLAG_REF` placement that depends on the compiling process,
//! python/cpython#78274).

use std::path::PathBuf;
use std::process::ExitCode;

use pyc_format::{compare_pycs, BodyDiff};

use crate::output::{show_path, Format, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

#[derive(clap::Args)]
pub struct Args {
    /// The first pyc.
    #[arg(value_name = "A.pyc")]
    a: PathBuf,
    /// The second pyc.
    #[arg(value_name = "B.pyc")]
    b: PathBuf,
    /// Output format: text, or one JSON object.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Exit status as `cmp`: 0 the same bytes, 1 different, 2 a file could not be read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(code) = crate::output::missing_paths([args.a.as_path(), args.b.as_path()]) {
        return Ok(code);
    }
    let mut data = Vec::new();
    for p in [&args.a, &args.b] {
        match crate::show::read_regular_file(p) {
            Ok(d) => data.push(d),
            Err(e) => {
                eprintln!("pyc: {}: {e}", show_path(p));
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let diff = match compare_pycs(&data[0], &data[1]) {
        Ok(d) => d,
        Err((side, e)) => {
            let p = if side == 'a' { &args.a } else { &args.b };
            eprintln!("pyc: {}: {e}", show_path(p));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let name = |side: char| show_path(if side == 'a' { &args.a } else { &args.b });
    match args.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                a: String,
                b: String,
                identical: bool,
                header: &'a [pyc_format::FieldDiff],
                body: &'a BodyDiff,
            }
            let out = Out {
                a: name('a'),
                b: name('b'),
                identical: diff.identical(),
                header: &diff.header,
                body: &diff.body,
            };
            println!(
                "{}",
                crate::output::json_line(crate::output::schema::DIFF, &out)?
            );
        }
        Format::Text => {
            if diff.header.is_empty() {
                println!("header  the same");
            } else {
                let width = diff.header.iter().map(|f| f.field.len()).max().unwrap_or(0);
                println!("header  differs:");
                for f in &diff.header {
                    println!("  {:width$}  {}  |  {}", f.field, f.a, f.b);
                }
            }
            match &diff.body {
                BodyDiff::Identical => println!("body    the same bytes"),
                BodyDiff::References => println!(
                    "body    the same code; only marshal's references differ (which objects \
                     carry FLAG_REF: the compiling process's reference counts); the same \
                     bytes in canonical form"
                ),
                BodyDiff::Encoding => println!(
                    "body    the same code and values, written with other marshal type codes \
                     (such as interned and plain strings)"
                ),
                BodyDiff::Code { objects, truncated } => {
                    let n = objects.len();
                    let plural = if n == 1 { "" } else { "s" };
                    println!("body    the code differs in {n} code object{plural}:");
                    let mut has_code = false;
                    // Code objects that only moved (lines added or removed above them) are
                    // summed up on one line after the others.
                    let moved_only = |o: &&pyc_format::CodeDiff| matches!(&o.fields[..], [f] if f.field == "co_firstlineno");
                    let moved: Vec<&pyc_format::CodeDiff> =
                        objects.iter().filter(moved_only).collect();
                    for o in objects.iter().filter(|o| !moved_only(o)) {
                        if let Some(c) = o.only_in {
                            println!("  {}: only in {}", o.code, name(c));
                            continue;
                        }
                        println!("  {}", o.code);
                        let width = o.fields.iter().map(|f| f.field.len()).max().unwrap_or(0);
                        for f in &o.fields {
                            println!("    {:width$}  {}  |  {}", f.field, f.a, f.b);
                            has_code |= f.field == "co_code";
                        }
                    }
                    if !moved.is_empty() {
                        const SHOWN: usize = 8;
                        let names: Vec<String> = moved
                            .iter()
                            .take(SHOWN)
                            .map(|o| match o.code.split_once(" (line ") {
                                Some((name, _)) => {
                                    format!("{name} ({} -> {})", o.fields[0].a, o.fields[0].b)
                                }
                                None => o.code.clone(),
                            })
                            .collect();
                        let more = if moved.len() > SHOWN { ", ..." } else { "" };
                        println!(
                            "  {} only moved (co_firstlineno): {}{more}",
                            if moved.len() == 1 {
                                "1 code object".to_string()
                            } else {
                                format!("{} code objects", moved.len())
                            },
                            names.join(", ")
                        );
                    }
                    if *truncated {
                        println!("  (stopped at pyc diff's limits: more code objects may differ)");
                    }
                    if has_code {
                        println!("  (`pyc dis` of both files shows the instructions)");
                    }
                }
                BodyDiff::NotLocated => println!(
                    "body    the code differs (the canonical forms differ); the first \
                     difference was not located: the objects are shared or nested beyond \
                     pyc diff's limits"
                ),
                BodyDiff::Versions => {
                    println!("body    not compared: pycs of different Python versions")
                }
                BodyDiff::Unreadable { side, error } => {
                    println!("body    {} does not load: {error}", name(*side))
                }
            }
        }
    }
    if let BodyDiff::Unreadable { side, error } = &diff.body {
        eprintln!("pyc: {}: {error}", name(*side));
    }
    Ok(ExitCode::from(if diff.identical() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }))
}
