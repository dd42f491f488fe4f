//! # pyc-compile
//!
//! Compiling trees with a pool of long-lived interpreter workers, writing pycs atomically.
