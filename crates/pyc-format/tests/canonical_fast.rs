//! The fast canonical path (straight from the bytes) against the general one (objects, then
//! the writer that defines the canonical form): wherever the fast path answers, both give
//! the same bytes. Over every fixture pyc, every pyc the live interpreters wrote for their own
//! libraries, and mutated pycs.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use pyc_format::{canonical_pyc_fast, canonical_pyc_general, read_pyc};

fn pycs_under(dir: &Path, out: &mut Vec<PathBuf>, limit: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if out.len() >= limit {
            return;
        }
        if p.is_dir() && !p.is_symlink() {
            pycs_under(&p, out, limit);
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

/// (answered by the fast path, declined); panics on any difference.
fn compare(files: &[PathBuf]) -> (usize, usize) {
    let (mut fast, mut declined) = (0, 0);
    for f in files {
        let data = std::fs::read(f).unwrap();
        match canonical_pyc_fast(&data) {
            Some(bytes) => {
                let general = canonical_pyc_general(&data);
                assert_eq!(
                    general.as_ref().ok(),
                    Some(&bytes),
                    "{}: the fast canonical path differs from the general one",
                    f.display()
                );
                fast += 1;
            }
            None => declined += 1,
        }
    }
    (fast, declined)
}

#[test]
fn fast_path_equals_general_path_on_every_fixture() {
    let mut files = Vec::new();
    pycs_under(&pyc_testutil::fixtures(""), &mut files, usize::MAX);
    assert!(files.len() > 300, "fixtures missing: {}", files.len());
    compare(&files);
    // The era fixtures (every construct of each version, as its compiler writes it) of
    // 3.6-3.15 go the fast way: the path is there for compiler output.
    let root = pyc_testutil::fixtures("marshal");
    for v in [
        "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15",
    ] {
        let data = std::fs::read(root.join(format!("py{v}/era.pyc"))).unwrap();
        assert!(
            canonical_pyc_fast(&data).is_some(),
            "{v}: the fast path declined the era fixture"
        );
    }
}

#[test]
fn live_fast_path_equals_general_path_on_the_interpreters_own_pycs() {
    let pythons = pyc_testutil::live_pythons();
    for py in &pythons {
        // bin/python -> the installation's lib/ (pycs written by that interpreter).
        let Some(prefix) = py.path.parent().and_then(Path::parent) else {
            continue;
        };
        let mut files = Vec::new();
        pycs_under(&prefix.join("lib"), &mut files, 1500);
        let (fast, declined) = compare(&files);
        if py.version.starts_with("3.") && fast + declined > 100 {
            // Declined: strings with surrogates are handled, but frozensets of tuples and
            // small `l` ints are rare and left to the general path.
            assert!(
                declined * 20 < fast + declined,
                "{}: the fast path declined {declined} of {}",
                py.version,
                fast + declined
            );
        }
        eprintln!(
            "{}: {} pycs, {fast} by the fast path, {declined} declined",
            py.version,
            files.len()
        );
    }
    pyc_testutil::report_used("live_fast_path_equals_general_path", &pythons);
}

/// The body of a 3.x pyc and how to read it, for `check_marshal`.
fn body_of(data: &[u8]) -> Option<(&[u8], u8, pyc_format::CodeFormat)> {
    let header = pyc_format::Header::parse(data).ok()?;
    let pyc_format::MagicKind::Known(entry) = header.magic else {
        return None;
    };
    let format = pyc_format::CodeFormat::for_magic(entry.magic, entry.version)?;
    let mv = pyc_format::version::version_info(entry.version)?.marshal_version;
    Some((data.get(header.size..)?, mv, format))
}

/// `check_marshal` (the read without the canonical form, which code cache hits use) accepts
/// exactly what `canonical_marshal` accepts, reads exactly the object, and whatever it
/// accepts the general reader loads.
fn check_agrees(data: &[u8]) -> Result<(), TestCaseError> {
    use pyc_format::canonical_fast::{canonical_marshal, check_marshal, Scratch};
    let Some((body, mv, format)) = body_of(data) else {
        return Ok(());
    };
    let mut scratch = Scratch::default();
    let checked = check_marshal(body, mv, format, &mut scratch);
    let mut out = Vec::new();
    let canonical = canonical_marshal(body, mv, format, &mut scratch, &mut out);
    prop_assert_eq!(checked.is_some(), canonical.is_some());
    if let Some(end) = checked {
        prop_assert!(end <= body.len());
        prop_assert!(read_pyc(data).is_ok());
        // What follows the object is not read: the object alone gives the same answer.
        prop_assert_eq!(
            check_marshal(&body[..end], mv, format, &mut scratch),
            Some(end)
        );
    }
    Ok(())
}

#[test]
fn check_marshal_reads_every_fixture_whole() {
    let mut files = Vec::new();
    pycs_under(&pyc_testutil::fixtures(""), &mut files, usize::MAX);
    let mut read = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        check_agrees(&data).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if let Some((body, mv, format)) = body_of(&data) {
            let mut scratch = pyc_format::canonical_fast::Scratch::default();
            if let Some(end) =
                pyc_format::canonical_fast::check_marshal(body, mv, format, &mut scratch)
            {
                assert_eq!(
                    end,
                    body.len(),
                    "{}: bytes left after the code object",
                    f.display()
                );
                read += 1;
            }
        }
    }
    assert!(read > 300, "only {read} fixtures read");
}

fn era(v: &str) -> Vec<u8> {
    std::fs::read(pyc_testutil::fixtures("marshal").join(format!("py{v}/era.pyc"))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Flip reference flags and bytes of real pycs: whatever the fast path accepts, the
    /// general path accepts with the same answer.
    #[test]
    fn mutated_pycs_agree(
        which in 0usize..10,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..6),
    ) {
        let v = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"][which];
        let mut data = era(v);
        let header = 16.min(data.len());
        for (at, byte, flag_only) in edits {
            let i = header + at.index(data.len() - header);
            if flag_only {
                data[i] ^= 0x80;
            } else {
                data[i] = byte;
            }
        }
        if let Some(fast) = canonical_pyc_fast(&data) {
            prop_assert_eq!(canonical_pyc_general(&data).ok(), Some(fast.clone()));
            // And the result reads back.
            prop_assert!(read_pyc(&fast).is_ok());
        }
        check_agrees(&data)?;
    }

    /// Truncations never make the fast path answer differently (or panic).
    #[test]
    fn truncated_pycs_agree(which in 0usize..10, cut in any::<prop::sample::Index>()) {
        let v = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"][which];
        let data = era(v);
        let data = &data[..cut.index(data.len())];
        if let Some(fast) = canonical_pyc_fast(data) {
            prop_assert_eq!(canonical_pyc_general(data).ok(), Some(fast));
        }
        check_agrees(data)?;
    }
}
