//! Integration tests of switchyard-dsl: one binary, one module per area.

// Tests fail by panicking: unwrap, expect and panic are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod diagnostics;
mod robustness;
mod semantics;
