//! switchyard-host: the HTTP service. It owns HTTP (axum), the durable store (SQLite), the
//! registry of policy and plugin versions and their bindings to product groups, auth and
//! metrics. It depends on `engine`, `dsl` and `plugins`; nothing depends on it but the binary.
//!
//! - `config`: the TOML configuration and roles;
//! - `dto`: wire types and their conversion to engine types;
//! - `store`: the `Store` trait and `SqliteStore` (WAL, group commit);
//! - `registry`: versions (content-addressed) and bindings (atomic swap);
//! - `service`: state and operations, independent of HTTP;
//! - `api`: routes, auth, request ids, error shape;
//! - `recurring`: recurring orders (subscriptions) and their schedules;
//! - `shadow`: shadow runs of a candidate version beside the live binding;
//! - `webhooks`: subscriptions, signed deliveries, retries;
//! - `metrics`: Prometheus exposition.

pub mod api;
pub mod config;
pub mod dto;
pub mod error;
pub mod metrics;
pub mod recurring;
pub mod registry;
pub mod service;
pub mod shadow;
pub mod store;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use api::app;
pub use config::{Config, Role, Token};
pub use error::ApiError;
pub use service::Service;

/// Serves `service` on `listener` until ctrl-c (or SIGTERM); expires reservations and delivers
/// webhooks in the background.
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
            let expired = sweeper.expire_due().await;
            if expired > 0 {
                tracing::info!(expired, "reservations expired");
            }
            let routed = sweeper.route_due().await;
            if routed > 0 {
                tracing::info!(routed, "scheduled orders routed");
            }
            let created = sweeper.run_recurring().await;
            if created > 0 {
                tracing::info!(created, "recurring orders created");
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
