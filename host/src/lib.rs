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
//!   background work) and the embedded [`SqliteStore`].
//! - `registry` (versions and bindings, atomic swap), `shadow` (shadow runs), `webhooks`
//!   (signing and sending), `metrics` (Prometheus), `config`.
//!
//! Nothing below `api` imports it; `service` is the only layer that imports the store.

pub mod api;
pub mod config;
pub mod error;
pub mod metrics;
pub mod records;
pub mod registry;
pub mod service;
pub mod shadow;
pub mod store;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use api::{ApiError, app};
pub use config::{Config, Role, Token};
pub use error::ServiceError;
pub use service::Service;
pub use store::{SqliteStore, Store, Work};

/// Serves `service` on `listener` until ctrl-c (or SIGTERM); expires reservations, routes
/// due orders and delivers webhooks in the background.
pub async fn serve(service: Arc<Service>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    tokio::spawn(Arc::clone(&service).run_deliveries());
    let sweeper = Arc::clone(&service);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let shifted = sweeper.refresh_time_zones().await;
            if shifted > 0 {
                tracing::info!(locations = shifted, "UTC offsets changed (daylight saving)");
            }
            if sweeper.claim(Work::Expiry).await {
                let expired = sweeper.expire_due().await;
                if expired > 0 {
                    tracing::info!(expired, "reservations expired");
                }
            }
            if sweeper.claim(Work::Scheduled).await {
                let routed = sweeper.route_due().await;
                if routed > 0 {
                    tracing::info!(routed, "scheduled orders routed");
                }
            }
            if sweeper.claim(Work::Recurring).await {
                let created = sweeper.run_recurring().await;
                if created > 0 {
                    tracing::info!(created, "recurring orders created");
                }
            }
        }
    });
    axum::serve(listener, app(service)).with_graceful_shutdown(shutdown()).await
}

async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Installs the log subscriber on stderr: text or JSON lines, filtered by `RUST_LOG` (default
/// `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
