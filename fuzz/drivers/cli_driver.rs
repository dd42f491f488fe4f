//! The `cli_hostile` fuzz target on stable: generated hostile graphs and mutated seeds, each
//! run through the whole command line (see `pyc_fuzz::check_cli`), for `--runs N` inputs
//! from `--seed S`. Prints the run count and every finding; exit 1 on any.
//!
//! ```text
//! cargo build --profile ci        # the pyc under test (or PYC_BIN=...)
//! cargo run --release --manifest-path fuzz/Cargo.toml --bin cli_driver -- --runs 500
//! ```

use pyc_fuzz::{check_cli, mutate, pyc_bin, seeds, Rng};
use pyc_testutil::hostile;

fn main() {
    let mut runs = 200usize;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), v) {
            ("--runs", Some(n)) => runs = n as usize,
            ("--seed", Some(s)) => seed = s,
            _ => {
                eprintln!("usage: cli_driver [--runs N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    let pyc = pyc_bin();
    let seeds = seeds();
    let mut rng = Rng(seed);
    let mut findings = 0;
    let start = std::time::Instant::now();
    for i in 0..runs {
        // Half generated graphs (from random bytes), half mutated seeds; the first runs are
        // the seeds themselves.
        let (label, a) = if i < seeds.len() {
            seeds[i].clone()
        } else if rng.below(2) == 0 {
            let n = 8 + rng.below(400);
            (
                "graph".to_string(),
                hostile::graph_from_bytes(&rng.bytes(n)),
            )
        } else {
            let (name, data) = &seeds[rng.below(seeds.len())];
            (format!("mutated {name}"), mutate(data, &mut rng))
        };
        let b = mutate(&a, &mut rng);
        let dir = tempfile::tempdir().expect("scratch folder");
        if let Err(e) = check_cli(&pyc, dir.path(), &a, &b) {
            findings += 1;
            let keep = std::env::temp_dir().join(format!("cli_driver-finding-{seed}-{i}.pyc"));
            let _ = std::fs::write(&keep, &a);
            eprintln!(
                "finding in run {i} ({label}), input kept at {}: {e}",
                keep.display()
            );
        }
    }
    println!(
        "cli_driver: {runs} runs (seed {seed}, {} seeds) in {:.1} s: {findings} findings",
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
    if findings > 0 {
        std::process::exit(1);
    }
}
