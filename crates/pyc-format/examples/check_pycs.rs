//! Load every `.pyc` under the given directories with pyc-format and report counts.
//!
//! ```text
//! cargo run --release -p pyc-format --example check_pycs -- DIR...          # check
//! cargo run --release -p pyc-format --example check_pycs -- --bench DIR...  # time loading
//! ```
//!
//! Check mode: every file must load (header + marshal body); its canonical form must read
//! back to the same code tree and be a fixed point of the writer; every constant's repr is
//! computed. Prints one JSON line with counts and the first errors. Exit 1 on any error.
//!
//! Bench mode: reads all files into memory first, then times `read_pyc` over all of them
//! (best of 5 rounds) and prints one JSON line (used by `bench/marshal.py`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use pyc_format::{canonical_pyc, read_pyc, Object, PyVersion, Repr};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, out),
            Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "pyc") => out.push(p),
            _ => {}
        }
    }
}

fn reprs(o: &Object, version: PyVersion, n: &mut usize) {
    if let Object::Code(c) = o {
        for k in c.consts() {
            let _ = Repr::new(version).repr(k);
            *n += 1;
            reprs(k, version, n);
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.first().is_some_and(|a| a == "--bench");
    if bench {
        args.remove(0);
    }
    let mut files = Vec::new();
    for a in &args {
        let p = PathBuf::from(a);
        if p.is_file() {
            files.push(p);
        } else {
            walk(&p, &mut files);
        }
    }
    if bench {
        let data: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
        let bytes: usize = data.iter().map(Vec::len).sum();
        let mut best = f64::MAX;
        let mut ok = 0;
        for _ in 0..5 {
            let t = Instant::now();
            ok = data.iter().filter(|d| read_pyc(d).is_ok()).count();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{{\"files\": {}, \"ok\": {ok}, \"bytes\": {bytes}, \"seconds\": {best:.6}}}",
            data.len()
        );
        return;
    }
    let (mut ok, mut canonical_ok, mut already_canonical, mut consts) = (0, 0, 0, 0);
    let mut errors: Vec<String> = Vec::new();
    for f in &files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) => {
                errors.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        let pyc = match read_pyc(&data) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        ok += 1;
        let version = pyc.header.magic.version().unwrap_or(PyVersion::new(3, 0));
        reprs(&pyc.body, version, &mut consts);
        match canonical_pyc(&data) {
            Ok(c) => {
                let fixed = canonical_pyc(&c).map(|cc| cc == c).unwrap_or(false);
                let same_size_tree = read_pyc(&c)
                    .map(|b| count(&b.body) == count(&pyc.body))
                    .unwrap_or(false);
                if fixed && same_size_tree {
                    canonical_ok += 1;
                } else {
                    errors.push(format!("{}: canonical form not stable", f.display()));
                }
                if c == data {
                    already_canonical += 1;
                }
            }
            Err(e) => errors.push(format!("{}: canonical: {e}", f.display())),
        }
    }
    let shown: Vec<String> = errors.iter().take(20).map(|e| format!("{e:?}")).collect();
    println!(
        "{{\"files\": {}, \"loaded\": {ok}, \"canonical_round_trip\": {canonical_ok}, \
         \"already_canonical\": {already_canonical}, \"constants\": {consts}, \
         \"errors\": {}, \"first_errors\": [{}]}}",
        files.len(),
        errors.len(),
        shown.join(", ")
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}

/// Number of objects in the tree (a cheap structural fingerprint).
fn count(o: &Object) -> usize {
    match o {
        Object::Code(c) => 1 + c.consts().iter().map(|k| count(k)).sum::<usize>() + c.names().len(),
        Object::Tuple(xs) | Object::List(xs) | Object::Set(xs) | Object::FrozenSet(xs) => {
            1 + xs.iter().map(|k| count(k)).sum::<usize>()
        }
        _ => 1,
    }
}
