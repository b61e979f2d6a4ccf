//! Tests of the HTTP service: through `app()` + `oneshot`, and over real sockets.

// Test code states its expectations with unwrap/expect/panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod api;
mod closed_orders;
mod console;
mod hardening;
mod look_ahead;
mod postgres_store;
mod promises;
mod reoptimize;
mod shared;
mod slow_clients;
mod socket;
mod store_schema;
mod support;
