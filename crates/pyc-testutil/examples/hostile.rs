//! Writes one hostile pyc of `pyc_testutil::hostile` to a file, for benchmarks and for trying
//! by hand:
//!
//! ```text
//! cargo run -p pyc-testutil --example hostile -- KIND N [M [K]] OUT.pyc
//! ```
//!
//! KIND: `nested-tuples DEPTH`, `nested-code DEPTH`, `doubling LEVELS`, `wide WIDTH COPIES`,
//! `fat WIDTH LEN COPIES`, `big-int DIGITS` (15-bit marshal digits).

use pyc_testutil::hostile;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: hostile KIND N [M [K]] OUT.pyc";
    let (Some(kind), Some(out)) = (args.first(), args.last()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let n: Vec<usize> = match args[1..args.len() - 1]
        .iter()
        .map(|a| a.parse())
        .collect::<Result<_, _>>()
    {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{usage}: {e}");
            std::process::exit(2);
        }
    };
    let data = match (kind.as_str(), n.as_slice()) {
        ("nested-tuples", [d]) => hostile::nested_tuples(*d),
        ("nested-code", [d]) => hostile::nested_code(*d),
        ("doubling", [l]) => hostile::doubling_tuples(*l),
        ("wide", [w, c]) => hostile::wide_refs(*w, *c),
        ("fat", [w, l, c]) => hostile::fat_refs(*w, *l, *c),
        ("big-int", [d]) => hostile::big_int(*d),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::write(out, data) {
        eprintln!("hostile: {out}: {e}");
        std::process::exit(1);
    }
}
