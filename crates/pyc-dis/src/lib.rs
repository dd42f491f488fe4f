//! # pyc-dis
//!
//! Per-version opcode tables and disassembly in the format of each version's own `dis`.
