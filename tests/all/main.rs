//! End-to-end tests of the `switchyard` package: one binary, one module per area.

// Tests fail by panicking: unwrap, expect and panic are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cli;
mod plan_check;
mod plugins;
mod policies;
mod scenarios;
mod serve;
mod simulate;
