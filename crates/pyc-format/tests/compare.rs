//! `compare_pycs` on pycs written by the real interpreters (the header fixtures of
//! `scripts/gen_header_fixtures.py` and every fixture pyc): header fields, identical bodies,
//! code that differs, the same code with other marshal references, other versions.

use pyc_format::{canonical_pyc, compare_pycs, BodyDiff};

fn header_pyc(version: &str, name: &str) -> Vec<u8> {
    std::fs::read(pyc_testutil::fixtures("headers").join(version).join(name)).unwrap()
}

/// `compare_pycs` of two header fixtures, `(version, file name)` each.
fn diff(a: (&str, &str), b: (&str, &str)) -> pyc_format::PycDiff {
    compare_pycs(&header_pyc(a.0, a.1), &header_pyc(b.0, b.1)).unwrap()
}

fn fields(d: &pyc_format::PycDiff) -> Vec<&str> {
    d.header.iter().map(|f| f.field).collect()
}

#[test]
fn the_same_source_at_other_mtimes_differs_in_the_header_only() {
    for v in ["2.7", "3.6", "3.12", "3.15"] {
        let d = diff((v, "ts-mtime0.pyc"), (v, "ts-mtime1.pyc"));
        assert_eq!(fields(&d), ["mtime"], "{v}");
        assert_eq!(d.header[0].a, "0 (1970-01-01T00:00:00Z)");
        assert_eq!(d.body, BodyDiff::Identical, "{v}");
        assert!(!d.identical());
        let same = diff((v, "ts-mtime0.pyc"), (v, "ts-mtime0.pyc"));
        assert!(same.identical(), "{v}");
    }
}

#[test]
fn checked_and_unchecked_hash_differ_in_the_mode() {
    let d = diff(
        ("3.12", "checked-hash-doc.pyc"),
        ("3.12", "unchecked-hash-doc.pyc"),
    );
    assert_eq!(fields(&d), ["invalidation"]);
    assert_eq!(
        (d.header[0].a.as_str(), d.header[0].b.as_str()),
        ("checked-hash", "unchecked-hash")
    );
    assert_eq!(d.body, BodyDiff::Identical);
    // Against a timestamp pyc of the same source: the mode, and no mtime/hash pair to compare.
    let d = diff(("3.12", "ts-mtime0.pyc"), ("3.12", "checked-hash-doc.pyc"));
    assert_eq!(fields(&d), ["invalidation"]);
}

#[test]
fn optimization_levels_differ_in_the_code() {
    // -O keeps the docstring and drops asserts; -OO drops the docstring too.
    let d = diff(("3.12", "ts-opt1.pyc"), ("3.12", "ts-opt2.pyc"));
    let BodyDiff::Code { objects, truncated } = &d.body else {
        panic!("{d:?}");
    };
    assert!(!truncated);
    assert_eq!(objects.len(), 1, "{d:?}");
    assert!(objects[0].code.starts_with("<module> (line "), "{d:?}");
    let field = |name: &str| objects[0].fields.iter().find(|f| f.field == name);
    let doc = field("co_consts[0]").unwrap_or_else(|| panic!("{d:?}"));
    // -OO drops the docstring: the constants are aligned, so it is one constant removed.
    assert_eq!(
        (doc.a.as_str(), doc.b.as_str()),
        ("'Module doc.'", "(none)")
    );
    let names = field("co_names").unwrap_or_else(|| panic!("{d:?}"));
    assert!(
        names.a.contains("'__doc__'") && !names.b.contains("'__doc__'"),
        "{d:?}"
    );
    assert!(field("co_filename").is_none(), "{d:?}");
}

#[test]
fn other_versions_are_not_compared_field_by_field() {
    let d = diff(("3.11", "ts-mtime0.pyc"), ("3.12", "ts-mtime0.pyc"));
    assert_eq!(fields(&d)[0], "magic");
    assert!(d.header[0].a.contains("CPython 3.11"), "{d:?}");
    assert_eq!(d.body, BodyDiff::Versions);
}

/// Every fixture pyc the interpreters wrote that is not in canonical form compares to its
/// canonical form as "references": the same code, other FLAG_REF placement.
#[test]
fn a_pyc_and_its_canonical_form_differ_in_references_only() {
    let mut files = Vec::new();
    let mut stack = vec![pyc_testutil::fixtures("")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pyc") {
                files.push(p);
            }
        }
    }
    let mut references = 0;
    for p in &files {
        let data = std::fs::read(p).unwrap();
        let Ok(canon) = canonical_pyc(&data) else {
            continue;
        };
        let d = compare_pycs(&data, &canon).unwrap();
        assert!(d.header.is_empty(), "{}", p.display());
        if canon == data {
            assert!(d.identical(), "{}", p.display());
        } else {
            assert_eq!(d.body, BodyDiff::References, "{}", p.display());
            references += 1;
        }
    }
    assert!(references > 20, "only {references} non-canonical fixtures");
}
