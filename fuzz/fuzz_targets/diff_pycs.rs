//! Fuzz `pyc diff`: two pycs from one input (a 2-byte little-endian length, then the first
//! pyc, then the second). Whatever they hold, the comparison ends, never panics, reports
//! boundedly, and agrees with itself: the same bytes are identical, and swapping the sides
//! gives the same verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyc_format::{compare_pycs, BodyDiff};

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let n = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (a, b) = rest.split_at(n);
    let ab = compare_pycs(a, b);
    let ba = compare_pycs(b, a);
    match (&ab, &ba) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x.identical(), y.identical());
            assert_eq!(x.identical(), a == b);
            // The verdict is the same both ways, unless the walk met its limits (it may
            // then meet them at another point).
            let limited = |d: &BodyDiff| {
                matches!(
                    d,
                    BodyDiff::NotLocated | BodyDiff::Code { truncated: true, .. }
                )
            };
            if !limited(&x.body) && !limited(&y.body) {
                assert_eq!(
                    std::mem::discriminant(&x.body),
                    std::mem::discriminant(&y.body),
                    "{x:?} {y:?}"
                );
            }
            if let BodyDiff::Code { objects, .. } = &x.body {
                assert!(!objects.is_empty() && objects.len() <= pyc_format::compare::MAX_REPORTED);
                for o in objects {
                    for f in &o.fields {
                        // Values are cut to about 100 characters plus a note of the length.
                        assert!(f.a.chars().count() < 200 && f.b.chars().count() < 200, "{f:?}");
                    }
                }
            }
        }
        (Err(_), _) | (_, Err(_)) => {}
    }
    let _ = compare_pycs(a, a).map(|d| assert!(d.identical()));
});
