//! Fuzz the pyc reader: whole pycs (header + marshal body) and bare marshal data for every
//! code layout. Whatever the bytes: no panic, no hang, bounded memory. When a pyc loads, the
//! repr of every constant, the `Code` view accessors and the canonical writer must work, and
//! the canonical form must be a fixed point; the fast canonical path must agree with the general
//! one wherever it answers, and `compare_pycs` must find only references between a pyc and its
//! canonical form; the read without the canonical form (`check_marshal`) must accept
//! exactly what the canonical path accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyc_format::canonical_fast::{canonical_marshal, check_marshal, Scratch};
use pyc_format::code::CodeFormat;
use pyc_format::{
    canonical_pyc, canonical_pyc_fast, canonical_pyc_general, compare_pycs, loads, read_pyc,
    BodyDiff, Object, PyVersion, Repr,
};

fn exercise(o: &Object, version: PyVersion, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let mut r = Repr::new(version);
    r.max_len = 1 << 14;
    let _ = r.repr(o);
    if let Object::Code(c) = o {
        let _ = (
            c.varnames(),
            c.cellvars(),
            c.freevars(),
            c.localsplus(),
            c.qualname(),
        );
        for k in c.consts() {
            exercise(k, version, budget);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The fast canonical path answers only where the general one gives the same bytes.
    if let Some(fast) = canonical_pyc_fast(data) {
        assert_eq!(
            canonical_pyc_general(data).ok(),
            Some(fast),
            "fast and general canonical paths differ"
        );
    }
    if let Ok(pyc) = read_pyc(data) {
        let version = pyc.header.magic.version().unwrap_or(PyVersion::new(3, 12));
        let mut budget = 10_000;
        exercise(&pyc.body, version, &mut budget);
        if let Ok(c) = canonical_pyc(data) {
            let again = canonical_pyc(&c).expect("canonical pyc must read back");
            assert_eq!(again, c, "canonical form is not a fixed point");
            // A pyc and its canonical form hold the same code: `pyc diff` must say so.
            let d = compare_pycs(data, &c).expect("both headers read");
            assert!(d.header.is_empty(), "canonical form changed the header");
            assert!(
                matches!(d.body, BodyDiff::Identical | BodyDiff::References),
                "pyc diff against the canonical form: {:?}",
                d.body
            );
        }
    }
    for format in [CodeFormat::Py23, CodeFormat::Py38, CodeFormat::Py311] {
        let _ = loads(data, format);
        // The read without the canonical form (code cache hits) accepts what the canonical
        // path accepts, and what it accepts loads.
        let mut scratch = Scratch::default();
        let checked = check_marshal(data, 4, format, &mut scratch);
        let mut out = Vec::new();
        let canonical = canonical_marshal(data, 4, format, &mut scratch, &mut out);
        assert_eq!(checked.is_some(), canonical.is_some(), "check and canonical differ");
        if let Some(end) = checked {
            assert!(loads(&data[..end], format).is_ok(), "checked data does not load");
        }
    }
});
