//! Fuzz the whole command line on generated hostile graphs: the input bytes drive
//! `pyc_testutil::hostile::graph_from_bytes` (ints, strings, containers, code objects and
//! back-references), and the pyc is run through `show --code --format json`, `show --code`,
//! `dis` (text, JSON), `diff` (against a mutated copy) and `status --verify`
//! (`pyc_fuzz::check_cli`). Slow per input (it runs the binary); the stable driver
//! `cli_driver` runs the same check without libFuzzer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyc_fuzz::{check_cli, mutate, pyc_bin, Rng};

fuzz_target!(|data: &[u8]| {
    let a = pyc_testutil::hostile::graph_from_bytes(data);
    let seed = data
        .iter()
        .fold(7u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let b = mutate(&a, &mut Rng(seed));
    let dir = tempfile::tempdir().expect("scratch folder");
    if let Err(e) = check_cli(&pyc_bin(), dir.path(), &a, &b) {
        panic!("{e}");
    }
});
