//! Integration tests of switchyard-plugins: real plugins built by `scripts/build-plugins`
//! with a real compiler, run by the host under its limits.

// Tests fail by panicking: unwrap, expect and panic are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod javascript;
mod limits;
mod own_plan;
mod structure;
