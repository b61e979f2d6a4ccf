//! switchyard-host: the service around the engine. Its layers, from the edge inwards:
//!
//! - `api`: the HTTP edge (axum): routes, extractors (bearer roles, JSON bodies), wire types
//!   (`api::dto`), the one error shape, the OpenAPI document. Only this layer knows HTTP.
//! - `service`: the state and every operation, in the service's own types; operations fail
//!   with a [`ServiceError`]. One order's journey is a pipeline of named steps
//!   (`service/create.rs`), its validation one module (`service/validate.rs`).
//! - `records`: what the service keeps and stores: orders, plans, inbound stock, returns,
//!   recurring orders, webhooks, versions and bindings; states are enums.
//! - `store`: the [`Store`] boundary (load at start, commit a batch of changes, claim
//!   background work, hold it for one serving process), the embedded [`SqliteStore`] and
//!   [`PgStore`] (PostgreSQL).
//! - `registry` (versions and bindings, atomic swap), `shadow` (shadow runs), `webhooks`
//!   (signing and sending), `metrics` (Prometheus), `config`.
//!
//! Nothing below `api` imports it; `service` is the only layer that imports the store.

pub mod api;
pub mod config;
pub mod error;
pub mod geo;
pub mod metrics;
pub mod records;
pub mod registry;
pub mod server;
pub mod service;
pub mod shadow;
pub mod store;
pub mod webhooks;

pub use api::{ApiError, app};
pub use config::{Config, Role, Token};
pub use error::ServiceError;
pub use service::Service;
pub use store::{PgStore, SqliteStore, Store, Work};

pub use server::{serve, serve_until, shutdown_signal};

/// Installs the log subscriber on stderr: text or JSON lines, filtered by `RUST_LOG` (default
/// `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
