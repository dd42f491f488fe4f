//! Folding and drawing, on real `-X importtime` output (the 3.12 and 3.13 fixtures standing
//! in for cold and warm runs): no interpreter needed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyc_importtime::parse::parse;
use pyc_importtime::render::{self, SortKey, TreeOptions};
use pyc_importtime::report::report;
use pyc_importtime::run::{Interpreter, Kind, Measurement, Program, Run};

fn run_of(fixture: &str, wall_us: u64) -> Run {
    let text = std::fs::read_to_string(pyc_testutil::fixtures("importtime").join(fixture)).unwrap();
    Run {
        wall_us,
        parsed: parse(&text),
        cache_files: 0,
    }
}

fn measurement() -> Measurement {
    // Two "cold" runs and two "warm" runs from different real logs of the same program.
    let cold = vec![
        run_of("3.12-stdlib.stderr", 90_000),
        run_of("3.12-interleaved.stderr", 110_000),
    ];
    let warm = vec![
        run_of("3.12-stdlib.stderr", 30_000),
        run_of("3.12-stdlib.stderr", 50_000),
    ];
    let mut kinds = BTreeMap::new();
    for r in cold.iter().chain(&warm) {
        for n in r.parsed.nodes() {
            let k = if n.name.starts_with('_') {
                Kind::BuiltIn
            } else {
                Kind::Source
            };
            kinds.insert(n.name.clone(), k);
        }
    }
    Measurement {
        interpreter: Interpreter {
            path: PathBuf::from("/usr/bin/python3.12"),
            version: "3.12.1".into(),
            major: 3,
            minor: 12,
        },
        program: Program::Code("import json, email.message".into()),
        cold,
        warm,
        cold_cache_files: vec![],
        warm_cache_files: vec![],
        warm_rewritten: vec![],
        kinds,
        warm_stdlib: false,
    }
}

#[test]
fn report_totals_and_medians() {
    let r = report(&measurement());
    assert_eq!(r.runs, 2);
    assert_eq!(r.cold.wall.median, 100_000.0);
    assert_eq!(r.warm.wall.median, 40_000.0);
    assert!((r.cold_warm_ratio - 2.5).abs() < 1e-9);
    assert!((r.compile_share - 0.6).abs() < 1e-9);
    // json is in both cold logs: two samples; email.message only in one.
    let json = r.modules.iter().find(|m| m.name == "json").unwrap();
    assert_eq!(json.cold_cumulative.n, 2);
    assert_eq!(json.warm_cumulative.n, 2);
    let email = r
        .modules
        .iter()
        .find(|m| m.name == "email.message")
        .unwrap();
    assert_eq!(email.cold_cumulative.n, 1);
    assert!(json.children.iter().any(|c| c.name == "json.decoder"));
}

#[test]
fn text_tree_cuts_and_sorts() {
    let r = report(&measurement());
    let cut = render::text(&r, &TreeOptions::default());
    let all = render::text(
        &r,
        &TreeOptions {
            all: true,
            ..TreeOptions::default()
        },
    );
    assert!(cut.contains("json.decoder"), "{cut}");
    assert!(cut.contains("smaller import"), "{cut}");
    assert!(all.lines().count() > cut.lines().count());
    assert!(!all.contains("smaller import"));
    let top = render::text(
        &r,
        &TreeOptions {
            depth: Some(0),
            sort: SortKey::SelfTime,
            ..TreeOptions::default()
        },
    );
    assert!(!top.contains("  json.decoder"), "{top}");
}

#[test]
fn svg_and_html_draw_each_wide_module() {
    let r = report(&measurement());
    let svg = render::svg(std::slice::from_ref(&r));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    // Self-contained: nothing fetched.
    assert!(!svg.contains("http://") || svg.matches("http://").count() == 1);
    assert!(!svg.contains("<script"));
    for name in ["json", "json.decoder", "email.message"] {
        assert!(
            svg.contains(&format!("data-module=\"{name}\"")),
            "{name} not drawn"
        );
        assert!(
            svg.contains(&format!(">{name}</text>")),
            "{name} not labelled"
        );
    }
    assert!(svg.contains("class=\"panel cold\"") && svg.contains("class=\"panel warm\""));
    let html = render::html(&[r]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("<table>"));
    assert_eq!(render::esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}
