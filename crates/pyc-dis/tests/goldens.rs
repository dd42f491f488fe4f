//! `pyc dis` against the real `dis` output of every version, from the committed goldens
//! (`tests/fixtures/dis/<version>/`, made by `scripts/gen_dis_goldens.py` with each
//! interpreter). Needs no Python.

use std::path::Path;

use pyc_dis::{Disassembler, Options};

/// Code-object addresses cannot be known; both sides get the same token.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" at 0x") {
        out.push_str(&rest[..i]);
        out.push_str(" at 0xADDR");
        let tail = &rest[i + 6..];
        let n = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

fn variant_options(variant: &str) -> Options {
    let mut o = Options::default();
    match variant {
        "dis" => {}
        "caches.dis" => o.show_caches = true,
        "offsets.dis" => o.show_offsets = true,
        "positions.dis" => o.show_positions = true,
        "depth0.dis" => o.depth = Some(0),
        other => panic!("unknown golden variant {other}"),
    }
    o
}

fn check_version(dir: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for pyc_path in names
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pyc"))
    {
        let data = std::fs::read(pyc_path).unwrap();
        let pyc = pyc_format::read_pyc(&data).unwrap();
        let v = pyc.header.magic.version().unwrap();
        let d = Disassembler::new(v).unwrap();
        let code = pyc_dis::from_marshal::from_marshal(&pyc.code, v);
        let stem = pyc_path.file_stem().unwrap().to_string_lossy().to_string();
        for golden in names.iter().filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{stem}.")) && n.ends_with(".dis")
        }) {
            let variant =
                golden.file_name().unwrap().to_string_lossy()[stem.len() + 1..].to_string();
            let want = std::fs::read_to_string(golden).unwrap();
            let mut have = String::new();
            let problems = d.dis(&code, &variant_options(&variant), &mut have);
            checked += 1;
            if !problems.is_empty() {
                failures.push(format!("{}: problems {problems:?}", golden.display()));
            }
            let (w, h) = (normalise(&want), normalise(&have));
            if w != h {
                let line = w
                    .lines()
                    .zip(h.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(w.lines().count().min(h.lines().count()));
                failures.push(format!(
                    "{}: first difference at line {}\n  dis: {:?}\n  pyc: {:?}",
                    golden.display(),
                    line + 1,
                    w.lines().nth(line).unwrap_or("<end>"),
                    h.lines().nth(line).unwrap_or("<end>")
                ));
            }
        }
    }
    (checked, failures)
}

#[test]
fn dis_text_matches_every_versions_own_dis() {
    let root = pyc_testutil::fixtures("dis");
    let mut versions: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    assert!(
        versions.len() >= 11,
        "goldens for 2.7 and 3.6-3.15 expected"
    );
    let mut failures = Vec::new();
    for dir in &versions {
        let (checked, f) = check_version(dir);
        assert!(checked >= 4, "{}: too few goldens", dir.display());
        println!("{}: {checked} goldens", dir.display());
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
