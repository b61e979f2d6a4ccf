//! Integration tests of switchyard-engine: one binary, one module per area.

// Tests fail by panicking: unwrap, expect and panic are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod calendar;
mod fixtures;
mod inventory;
mod kits;
mod lookahead;
mod optimizer;
mod promise;
mod reoptimize;
mod router;
