//! switchyard: a distributed order management engine, as a library.
//!
//! A Rust program embeds switchyard in one of two ways (docs/EMBEDDING.md walks through both,
//! and `examples/embedded.rs` does them):
//!
//! - **The engine in process**: build a [`Catalog`] of its own locations and products (kits
//!   included), an [`Inventory`] of its stock, load a routing policy ([`load_policy`] for the
//!   policy language, [`PluginHost::load`] for a Wasm plugin, or any type implementing
//!   [`Policy`]), and route orders with a [`Router`]: [`Router::plan`] for a dry run,
//!   [`Router::explain`] for the reasons, [`Router::route_and_reserve`] to reserve the plan
//!   atomically. Expand kit lines with [`expand_kits`] first.
//! - **The service in process**: [`serve()`] runs the HTTP service on a [`Config`] until ctrl-c
//!   or SIGTERM; or open a [`Service`] yourself ([`Service::open`]) to call its operations
//!   directly, and serve it with [`serve_on`] on a listener of your own.
//!
//! The crates behind it stay available whole: [`engine`], [`dsl`], [`plugins`], [`host`].
//! The rest of this crate is the `switchyard` command line: scenario files, replays, plan
//! files, simulation and its report.

pub mod cli;
pub mod plan_file;
pub mod policy_test;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod simulate;

pub use switchyard_dsl as dsl;
pub use switchyard_engine as engine;
pub use switchyard_host as host;
pub use switchyard_plugins as plugins;

pub use switchyard_dsl::{Diagnostics, DslPolicy};
pub use switchyard_engine::{
    Address, Catalog, Explanation, GeoPoint, Inventory, Kit, KitComponent, Location, LocationKind, Order, OrderLine,
    Plan, PlanStatus, Policy, Product, Reservation, Routed, Router, RouterConfig, RoutingError, Timestamp, Workspace,
    expand_kits,
};
pub use switchyard_host::{Config, Role, Service, ServiceError, Token, serve as serve_on};
pub use switchyard_plugins::{Limits, PluginError, PluginHost, WasmPolicy};

/// Loads a policy written in the policy language (docs/POLICY_LANGUAGE.md): parsed, checked
/// and compiled. `name` is how diagnostics name the file. On success the warnings come
/// beside the policy; on failure every diagnostic, with line, column and help
/// ([`Diagnostics::render`] prints them as `switchyard check` does).
pub fn load_policy(name: &str, source: &str) -> Result<(DslPolicy, Diagnostics), Diagnostics> {
    switchyard_dsl::load(name, source, &switchyard_dsl::no_overrides())
}

/// Why [`serve()`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened or read back.
    #[error("cannot open the store: {0}")]
    Open(String),
    /// The listening address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address of the configuration.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while serving.
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Runs the HTTP service on `config` in this process: opens (or creates) its store in
/// `config.data`, listens on `config.listen`, and serves until ctrl-c or SIGTERM, expiring
/// reservations, routing due orders and delivering webhooks in the background. Call it from
/// a tokio runtime.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let address = config.listen;
    let service = Service::open_to_serve(config).await.map_err(ServeError::Open)?;
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|source| ServeError::Listen { address, source })?;
    serve_on(service, listener).await.map_err(ServeError::Serve)
}
