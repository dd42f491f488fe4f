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
