//! Writes one hostile pyc (see `pyc_testutil::hostile`) for benches and manual checks:
//! `cargo run -p pyc-testutil --example hostile -- KIND N OUT.pyc`, KIND one of
//! `nested-tuples`, `nested-code`, `doubling`, `wide` (N items, N references), `fat` (N
//! references to 16 strings of 4 KB), `big-int` (N 15-bit digits).

use pyc_testutil::hostile;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, n, out] = args.as_slice() else {
        eprintln!("usage: hostile KIND N OUT.pyc");
        std::process::exit(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("hostile: N must be a number");
        std::process::exit(2);
    };
    let data = match kind.as_str() {
        "nested-tuples" => hostile::nested_tuples(n),
        "nested-code" => hostile::nested_code(n),
        "doubling" => hostile::doubling_tuples(n),
        "wide" => hostile::wide_refs(n, n),
        "big-int" => hostile::big_int(n),
        "fat" => hostile::fat_refs(16, 4096, n),
        _ => {
            eprintln!("hostile: unknown kind {kind}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::write(out, data) {
        eprintln!("hostile: {out}: {e}");
        std::process::exit(2);
    }
}
