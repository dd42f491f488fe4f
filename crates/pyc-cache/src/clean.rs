//! Clean plans (issue 6).
