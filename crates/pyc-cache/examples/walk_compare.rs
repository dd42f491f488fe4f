//! Compare pyc-cache's walker with the `ignore` crate's parallel walker (the brief's
//! alternative) on the same tree: both count every entry without following symlinks.
//!
//!     cargo run --release -p pyc-cache --example walk_compare -- TREE [ROUNDS]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn ours(root: &Path) -> usize {
    let n = AtomicUsize::new(0);
    let opts = pyc_cache::walk::WalkOptions::default();
    pyc_cache::walk::walk(
        &[root],
        &opts,
        &|d| {
            n.fetch_add(d.entries.len(), Ordering::Relaxed);
        },
        &|_| {},
    );
    n.into_inner()
}

fn ignore_crate(root: &Path) -> usize {
    let n = AtomicUsize::new(0);
    ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .build_parallel()
        .run(|| {
            Box::new(|e| {
                if e.is_ok() {
                    n.fetch_add(1, Ordering::Relaxed);
                }
                ignore::WalkState::Continue
            })
        });
    // The root itself is an entry for `ignore`.
    n.into_inner().saturating_sub(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(tree) = args.get(1) else {
        eprintln!("usage: walk_compare TREE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let root = Path::new(tree);
    for (name, f) in [
        ("pyc-cache walk", ours as fn(&Path) -> usize),
        ("ignore WalkParallel", ignore_crate),
    ] {
        let mut best = f64::MAX;
        let mut count = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            count = f(root);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{name:22} {count:8} entries  best {best:.3} s");
    }
}
