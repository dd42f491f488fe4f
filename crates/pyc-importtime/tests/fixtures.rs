//! The parser over real `-X importtime` output of every CPython 3.7-3.15 that
//! scripts/gen_importtime.py found, checked against what the same process said about itself
//! (`sys.modules` in insertion order, the imports that failed, its own stderr lines).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use pyc_importtime::parse::{parse, Node, Parsed};
use serde_json::Value;

struct Fixture {
    name: String,
    parsed: Parsed,
    facts: Value,
}

fn fixtures() -> Vec<Fixture> {
    let dir = pyc_testutil::fixtures("importtime");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/importtime (run scripts/gen_importtime.py)")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "stderr"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture stderr");
            let facts: Value = serde_json::from_str(
                &std::fs::read_to_string(p.with_extension("json")).expect("fixture facts"),
            )
            .expect("fixture facts JSON");
            Fixture {
                name: p.file_stem().unwrap().to_string_lossy().into_owned(),
                parsed: parse(&text),
                facts,
            }
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn every_version_is_covered() {
    let all = fixtures();
    let versions: HashSet<String> = all
        .iter()
        .map(|f| f.name.split('-').next().unwrap().to_string())
        .collect();
    // At least the pyenv CPythons 3.7-3.13 that made the committed fixtures.
    for v in ["3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"] {
        assert!(versions.contains(v), "no fixture for {v}");
    }
    eprintln!("fixture versions: {versions:?}");
}

/// Since 3.8 `_load_unlocked` moves a module to the end of sys.modules once its body has run.
const SYS_MODULES_FINISH_ORDER_SINCE: (u32, u32) = (3, 8);

/// Names of `order` that are in `keep`, each once (first occurrence).
fn restricted<'a>(order: impl Iterator<Item = &'a str>, keep: &HashSet<&str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    order
        .filter(|n| keep.contains(n) && seen.insert(*n))
        .collect()
}

fn post_order<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    for c in &n.children {
        post_order(c, out);
    }
    out.push(n);
}

/// The nesting the parser built agrees with the interpreter on both orders: the post-order is
/// the order modules finished (3.8+ importlib moves a module to the end of sys.modules when
/// its body has run; 3.7 keeps the start order there), the pre-order the order imports
/// started (the "import" audit event, 3.8+). Together the two orders fix the tree.
#[test]
fn nesting_matches_the_interpreter() {
    let mut checked_pre = 0;
    for f in fixtures() {
        let modules = strings(&f.facts["modules"]);
        let failed: HashSet<String> = strings(&f.facts["failed"]).into_iter().collect();
        let in_sys: HashSet<&str> = modules.iter().map(String::as_str).collect();
        let timed: Vec<&Node> = f
            .parsed
            .nodes()
            .into_iter()
            .filter(|n| !n.is_cached())
            .collect();
        assert!(!timed.is_empty(), "{}: no rows", f.name);
        // Every timed row is a module that is in sys.modules, or an import that failed (the
        // program's own, or a stdlib try-import such as `_winapi`), or one that a .pth file
        // imported and dropped again: those two are leaves.
        for n in &timed {
            assert!(
                in_sys.contains(n.name.as_str())
                    || failed.contains(&n.name)
                    || n.children.iter().all(|c| c.is_cached()),
                "{}: row {} is neither in sys.modules nor a failed import",
                f.name,
                n.name
            );
        }
        for name in &failed {
            assert!(
                timed.iter().any(|n| &n.name == name),
                "{}: the failed import {name} has no row",
                f.name
            );
        }
        let tree_names: HashSet<&str> = timed.iter().map(|n| n.name.as_str()).collect();

        // The built tree against sys.modules: 3.7 leaves a module where it was inserted
        // (before its body ran: pre-order), 3.8+ moves it to the end after (post-order).
        let version: Vec<u32> = f.facts["version"]
            .as_str()
            .unwrap()
            .split('.')
            .map(|x| x.parse().unwrap())
            .collect();
        let finish_order = (version[0], version[1]) >= SYS_MODULES_FINISH_ORDER_SINCE;
        let mut order = Vec::new();
        for r in &f.parsed.roots {
            if finish_order {
                post_order(r, &mut order);
            } else {
                r.walk(&mut order);
            }
        }
        // A parent package imported for its submodule (`email` for `email.message`) is timed
        // inside the submodule's row but enters sys.modules before the submodule is created:
        // in the start order (3.7) it is out of place by design, so leave those out there.
        let mut implicit: HashSet<&str> = HashSet::new();
        if !finish_order {
            for n in f.parsed.nodes() {
                for c in &n.children {
                    if n.name.starts_with(&format!("{}.", c.name)) {
                        implicit.insert(c.name.as_str());
                    }
                }
            }
        }
        let keep_sys: HashSet<&str> = in_sys.difference(&implicit).copied().collect();
        let keep_tree: HashSet<&str> = tree_names.difference(&implicit).copied().collect();
        let order: Vec<&str> = order
            .iter()
            .filter(|n| !n.is_cached())
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(
            restricted(order.iter().copied(), &keep_sys),
            restricted(modules.iter().map(String::as_str), &keep_tree),
            "{}: tree order != sys.modules order",
            f.name
        );

        // Pre-order against the audit hook's start events (3.8+; only imports that started
        // after the hook was installed, i.e. in the program).
        if let Some(starts) = f.facts["starts"].as_array() {
            let starts: Vec<&str> = starts.iter().map(|s| s.as_str().unwrap()).collect();
            let started: HashSet<&str> = starts.iter().copied().collect();
            let pre: Vec<&str> = timed.iter().map(|n| n.name.as_str()).collect();
            let pre = restricted(pre.into_iter(), &started);
            assert!(!pre.is_empty(), "{}: no started imports", f.name);
            assert_eq!(
                pre,
                restricted(starts.into_iter(), &tree_names),
                "{}: pre-order != import start order",
                f.name
            );
            checked_pre += 1;
        }
    }
    assert!(checked_pre > 0);
}

fn check_sums(fixture: &str, n: &Node) {
    if let Some(t) = n.times {
        assert!(t.cumulative_us >= t.self_us, "{fixture}: {}", n.name);
        // CPython rounds each figure up to a microsecond: cumulative = self + the children's
        // cumulative, within one microsecond per figure.
        let timed: Vec<&Node> = n.children.iter().filter(|c| !c.is_cached()).collect();
        let sum: u64 = t.self_us + timed.iter().map(|c| c.cumulative_us()).sum::<u64>();
        let slack = timed.len() as u64 + 1;
        assert!(
            sum.abs_diff(t.cumulative_us) <= slack,
            "{fixture}: {}: self {} + children {} != cumulative {}",
            n.name,
            t.self_us,
            sum - t.self_us,
            t.cumulative_us
        );
    }
    for c in &n.children {
        check_sums(fixture, c);
    }
}

#[test]
fn cumulative_is_self_plus_children() {
    for f in fixtures() {
        assert!(f.parsed.header, "{}: no header", f.name);
        assert_eq!(f.parsed.misnested, 0, "{}: misnested rows", f.name);
        for r in &f.parsed.roots {
            check_sums(&f.name, r);
        }
    }
}

fn find<'a>(nodes: &'a [Node], name: &str) -> Option<&'a Node> {
    for n in nodes {
        if n.name == name && !n.is_cached() {
            return Some(n);
        }
        if let Some(x) = find(&n.children, name) {
            return Some(x);
        }
    }
    None
}

fn has_descendant(n: &Node, name: &str) -> bool {
    n.children
        .iter()
        .any(|c| (c.name == name && !c.is_cached()) || has_descendant(c, name))
}

#[test]
fn the_imports_asked_for_are_there() {
    for f in fixtures() {
        let case = f.facts["case"].as_str().unwrap();
        let roots = &f.parsed.roots;
        match case {
            "stdlib" => {
                // Pyodide has json imported before -X importtime is on: no row for it there.
                if f.facts["kind"] != "pyodide" {
                    let json = find(roots, "json").expect("json");
                    assert!(has_descendant(json, "json.decoder"), "{}", f.name);
                }
                let msg = find(roots, "email.message").expect("email.message");
                assert!(msg.cumulative_us() >= msg.self_us());
            }
            "package" => {
                // pkg -> pkg.a -> pkg.b; pkg.c on its own (its imports were already done).
                let pkg = roots
                    .iter()
                    .find(|n| n.name == "pkg" && !n.is_cached())
                    .unwrap_or_else(|| panic!("{}: pkg", f.name));
                let a = pkg
                    .children
                    .iter()
                    .find(|n| n.name == "pkg.a")
                    .unwrap_or_else(|| panic!("{}: pkg.a in {pkg:?}", f.name));
                assert!(a.children.iter().any(|n| n.name == "pkg.b"), "{}", f.name);
                let c = roots
                    .iter()
                    .find(|n| n.name == "pkg.c" && !n.is_cached())
                    .expect("pkg.c");
                assert!(c.children.iter().all(|n| n.is_cached()), "{}", f.name);
                if f.facts["xoption"] == "importtime=2" {
                    // pkg.c's `import pkg.b` finds it imported: a cached row inside pkg.c.
                    let cached: Vec<&str> = c
                        .children
                        .iter()
                        .filter(|n| n.is_cached())
                        .map(|n| n.name.as_str())
                        .collect();
                    assert!(cached.contains(&"pkg.b"), "{}: {cached:?}", f.name);
                }
            }
            "interleaved" => {
                let expected = strings(&f.facts["program_stderr"]);
                assert_eq!(f.parsed.other_lines, expected, "{}", f.name);
                assert!(find(roots, "textwrap").is_some() || f.facts["kind"] == "pyodide");
            }
            other => panic!("unknown case {other}"),
        }
        if f.facts["case"] != "interleaved" {
            assert!(
                f.parsed.other_lines.is_empty(),
                "{}: {:?}",
                f.name,
                f.parsed.other_lines
            );
        }
    }
}

/// `-X importtime=2` (3.14+) adds cached rows; plain `-X importtime` never prints one.
#[test]
fn cached_rows_only_with_importtime_2() {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for f in fixtures() {
        let cached = f.parsed.nodes().iter().filter(|n| n.is_cached()).count();
        if f.facts["xoption"] == "importtime=2" {
            assert!(cached > 0, "{}: no cached rows", f.name);
        } else {
            assert_eq!(cached, 0, "{}", f.name);
        }
        counts.insert(f.name, cached);
    }
}
