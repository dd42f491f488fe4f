//! # pyc-importtime
//!
//! What the bytecode cache buys at import. `python -X importtime` prints one run's import tree
//! and cannot tell a compiled import from a cached one; this crate runs a program several
//! times in each of two cache states, with the cache isolated in a temporary
//! `PYTHONPYCACHEPREFIX` so the user's own `__pycache__` folders are neither used nor changed:
//!
//! * **cold**: an empty prefix for every run, so every module that comes from source is
//!   compiled;
//! * **warm**: a prefix filled by a first run, so every such module loads its pyc.
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use pyc_importtime::{report, run};
//!
//! let python = pyc_python::Interpreter::from_flag("3.12").unwrap();
//! let program = run::Program::Code("import json".into());
//! let mut opts = run::Options::default();
//! opts.runs = 9;
//! let m = run::measure(&python, &program, &opts, &AtomicBool::new(false)).unwrap();
//! let r = report::report(&m);
//! println!("cold/warm {:.2}x", r.cold_warm_ratio);
//! ```
//!
//! Modules: [`parse`] reads `-X importtime` output of 3.7-3.15 (also 3.14's `cached` rows),
//! [`run`] runs and isolates, [`report`] folds runs into medians, [`render`] draws the tree as
//! text, SVG or HTML, [`versions`] is the feature table. Which interpreter is pyc-python's
//! answer ([`pyc_python::Interpreter`]); this crate never probes one.

pub mod parse;
pub mod render;
pub mod report;
pub mod run;
pub mod versions;
