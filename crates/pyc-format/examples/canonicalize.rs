//! Print the canonical form of a pyc (see `pyc_format::marshal_write`) to stdout.
//!
//! ```text
//! cargo run -p pyc-format --example canonicalize -- FILE.pyc > FILE.canonical.pyc
//! ```

use std::io::Write;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: canonicalize FILE.pyc");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("canonicalize: {path}: {e}");
            std::process::exit(1);
        }
    };
    match pyc_format::canonical_pyc(&data) {
        Ok(c) => {
            let _ = std::io::stdout().write_all(&c);
        }
        Err(e) => {
            eprintln!("canonicalize: {path}: {e}");
            std::process::exit(1);
        }
    }
}
