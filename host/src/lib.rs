//! switchyard-host: the HTTP service (axum), storage, policy registry and hot swap. It is
//! the only crate that will know HTTP, storage and wire formats.
//!
//! Empty so far: the service has its own issue. The crate exists so the workspace has its
//! final shape and the boundary (`host` depends on `engine`, never the reverse) is fixed.
