//! Object graphs nested through back-references (issue 16, item 1): a pyc a few hundred KB
//! long can nest tuples or code objects as many levels deep as it has references. Reading,
//! comparing and dropping such a graph must not use the native stack per level: each test
//! runs on a thread with a 2 MiB stack (Rust's default for threads), where one frame per
//! level overflows long before the last level; what stays recursive (`repr`) stops at a fixed
//! depth.

use pyc_format::{compare_pycs, read_pyc};
use pyc_testutil::hostile;

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_tuples_through_references_read_compare_and_drop_on_a_small_stack() {
    on_small_stack(|| {
        let data = hostile::nested_tuples(200_000);
        let a = read_pyc(&data).expect("CPython 3.12 loads this file");
        let b = read_pyc(&data).unwrap();
        assert!(a.body == b.body, "equal by content, walked iteratively");
        let shallower = hostile::nested_tuples(199_999);
        let c = read_pyc(&shallower).unwrap();
        assert!(a.body != c.body);
        assert!(!compare_pycs(&data, &shallower).unwrap().identical());
        drop((a, b, c));
    });
}

#[test]
fn deep_code_chains_through_references_read_compare_and_drop_on_a_small_stack() {
    on_small_stack(|| {
        let data = hostile::nested_code(50_000);
        let a = read_pyc(&data).expect("CPython 3.12 loads this file");
        let b = read_pyc(&data).unwrap();
        assert!(a.code == b.code);
        let shallower = hostile::nested_code(49_999);
        assert!(!compare_pycs(&data, &shallower).unwrap().identical());
        drop((a, b));
    });
}

/// A code object whose argument counts need more local names than it has: CPython 3.12's
/// `marshal.loads` raises `ValueError: code: co_varnames is too small` (issue 16, item 10).
#[test]
fn code_objects_the_constructor_refuses_are_refused() {
    let mut data = hostile::pyc_312(|out| out.extend_from_slice(b")\x01N"));
    assert!(read_pyc(&data).is_ok());
    data[17..21].copy_from_slice(&5i32.to_le_bytes()); // co_argcount = 5, no locals
    let e = read_pyc(&data).unwrap_err().to_string();
    assert!(
        e.contains("ValueError: code: co_varnames is too small"),
        "{e}"
    );
    data[17..21].copy_from_slice(&(-1i32).to_le_bytes());
    let e = read_pyc(&data).unwrap_err().to_string();
    assert!(
        e.contains("SystemError: bad argument to internal function"),
        "{e}"
    );
}
