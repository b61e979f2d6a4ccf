//! The service's configuration file (TOML) and its defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use switchyard_engine::reoptimize::MAX_REPLAN_ROUNDS;

/// What a bearer token may do. Each role includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: catalog, inventory, orders, policies, bindings.
    Reader,
    /// Orders and inventory, plus reads.
    Writer,
    /// Policies, plugins and bindings, plus everything else.
    Admin,
}

/// One bearer token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (shown in logs, never the token itself).
    pub name: String,
    /// The secret, sent as `Authorization: Bearer <token>`.
    pub token: String,
    /// What it may do.
    pub role: Role,
}

/// Service configuration. Every field has a default except the tokens.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded store (created if missing); with a PostgreSQL `store`, where
    /// compiled plugins are cached.
    pub data: PathBuf,
    /// The record: absent, the embedded SQLite store in `data`; a PostgreSQL URL
    /// (`postgres://user:password@host:5432/database`), that database.
    pub store: Option<String>,
    /// With a PostgreSQL `store`: the schema the tables live in (created if missing), so
    /// several deployments can share one database. Absent: the URL's `search_path`, else
    /// `public`.
    pub store_schema: Option<String>,
    /// With a PostgreSQL `store`: most connections this process opens to it (the pool).
    pub store_connections: u32,
    /// With a PostgreSQL `store`: serve it together with other instances (each started with
    /// it), learning their changes from the store's change feed. Without it, one instance
    /// serves the store alone.
    pub shared: bool,
    /// Seconds a reservation holds stock unless the order is confirmed.
    pub reservation_ttl_secs: u64,
    /// Seconds before a requested delivery date an order is routed.
    pub delivery_lead_secs: u64,
    /// Release windows: seconds after it is routed an order is released to its locations for
    /// picking. Until then re-optimisation passes may move its units to other locations when
    /// that lowers the cost of the unreleased orders together (docs/OPTIMIZER.md, "The
    /// stream"). 0 (the default): released at once, never re-optimised.
    pub release_after_secs: u64,
    /// With release windows: seconds between re-optimisation passes over the unreleased
    /// orders; 0: only on demand (`POST /v1/reoptimize`).
    pub reoptimize_every_secs: u64,
    /// Milliseconds one re-optimisation pass may search; the moves found by then are applied.
    pub reoptimize_time_limit_ms: u64,
    /// Milliseconds a full pass (one an hour, and `POST /v1/reoptimize`) may search: it tries
    /// every order's moves and re-plans the pool first, so it gets longer than a periodic one.
    pub reoptimize_full_time_limit_ms: u64,
    /// Rounds of the price search with which a full pass (one an hour, and `POST
    /// /v1/reoptimize`) re-plans all the unreleased orders together before its local search
    /// (docs/OPTIMIZER.md, "The stream"); 0: full passes only search locally. At most 1000.
    pub reoptimize_replan_rounds: usize,
    /// Seconds between look-ahead solves for the policies that declare `look ahead { ... }`
    /// (docs/OPTIMIZER.md, "The stream"); 0: only on demand (`POST /v1/look-ahead`).
    pub look_ahead_every_secs: u64,
    /// Largest JSON request body, bytes.
    pub max_body_bytes: usize,
    /// Most stored JSON one page of `GET /v1/orders` carries, bytes: a page stops early
    /// past it (and says where the next begins), whatever its `limit`.
    pub max_list_bytes: usize,
    /// Keep why each order was routed as it was (every candidate location of every line) in
    /// the store, for `GET /v1/orders/{id}/explanation`. Off: orders route without it (a
    /// little less work and store per order), and only dry runs explain.
    pub keep_explanations: bool,
    /// Largest policy source upload, bytes: at most `switchyard_dsl::MAX_SOURCE_BYTES` (the
    /// default), the largest file `switchyard check` accepts.
    pub max_policy_bytes: usize,
    /// Largest plugin upload, bytes.
    pub max_plugin_bytes: usize,
    /// Most writes committed in one transaction (one fsync).
    pub commit_batch: usize,
    /// Seconds a client has to send a request's headers, and an idle keep-alive connection
    /// stays open; then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, reading its body included; then `408`.
    pub request_timeout_secs: u64,
    /// Seconds requests in flight may take to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// The currency of every amount (ISO 4217: `USD`, `EUR`, ...); plans and shadow runs name
    /// it.
    pub currency: String,
    /// Log as JSON lines instead of text.
    pub json_logs: bool,
    /// Let webhook URLs point at loopback, private and link-local addresses (a subscriber on
    /// the same host or network). Off: such URLs are refused, at subscription and delivery.
    pub allow_private_webhooks: bool,
    /// Most webhook subscriptions.
    pub max_webhooks: usize,
    /// Most deliveries waiting per subscription; beyond, new ones are recorded as failed.
    pub max_pending_deliveries: usize,
    /// Finished (delivered or failed) deliveries kept per subscription; older ones are pruned.
    pub delivery_retention: usize,
    /// Subscribers delivered to at once.
    pub webhook_concurrency: usize,
    /// Entries of the ATP feed kept (`GET /v1/inventory/changes`); older ones are pruned.
    pub atp_feed_retention: usize,
    /// The command that compiles an uploaded plugin in a child process, under the compile
    /// budget (`["/usr/bin/switchyard", "plugin", "compile-worker"]`; `switchyard serve` sets
    /// its own binary). Empty: plugins compile in this process, one at a time.
    pub plugin_compile_worker: Vec<String>,
    /// Bearer tokens and their roles.
    pub tokens: Vec<Token>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            data: PathBuf::from("switchyard-data"),
            store: None,
            store_schema: None,
            store_connections: 16,
            shared: false,
            reservation_ttl_secs: 15 * 60,
            delivery_lead_secs: 2 * 86_400,
            release_after_secs: 0,
            reoptimize_every_secs: 300,
            reoptimize_time_limit_ms: 1_000,
            reoptimize_full_time_limit_ms: 5_000,
            reoptimize_replan_rounds: switchyard_engine::reoptimize::REPLAN_ROUNDS,
            look_ahead_every_secs: 900,
            max_body_bytes: 1 << 20,
            max_list_bytes: 4 << 20,
            keep_explanations: true,
            max_policy_bytes: switchyard_dsl::MAX_SOURCE_BYTES,
            max_plugin_bytes: 32 << 20,
            commit_batch: 512,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
            currency: "USD".to_owned(),
            json_logs: false,
            allow_private_webhooks: false,
            max_webhooks: 100,
            max_pending_deliveries: 10_000,
            delivery_retention: 100,
            webhook_concurrency: 8,
            atp_feed_retention: 10_000,
            plugin_compile_worker: Vec::new(),
            tokens: Vec::new(),
        }
    }
}

impl Config {
    /// Reads a configuration file; errors name the line and column.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Whether the settings can be used together.
    pub fn check(&self) -> Result<(), String> {
        let code = self.currency.as_bytes();
        if code.len() != 3 || !code.iter().all(u8::is_ascii_uppercase) {
            return Err(format!("currency `{}` is not an ISO 4217 code like `USD`", self.currency));
        }
        if let Some(store) = &self.store
            && !(store.starts_with("postgres://") || store.starts_with("postgresql://"))
        {
            // The URL itself is not repeated: it may hold a password.
            return Err("store is not a PostgreSQL URL, which starts with `postgres://` or `postgresql://` \
                 (postgres://user@host:5432/database); leave `store` out for the embedded SQLite \
                 store in `data`"
                .to_owned());
        }
        if let Some(schema) = &self.store_schema {
            if self.store.is_none() {
                return Err("store_schema is set, but no PostgreSQL `store`: SQLite has no schemas".to_owned());
            }
            let mut chars = schema.chars();
            let valid = schema.len() <= 63
                && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(format!(
                    "store_schema `{}` is not a schema name: 1 to 63 lowercase letters, digits and \
                     underscores, not starting with a digit",
                    switchyard_engine::clean_text(schema, 80)
                ));
            }
        }
        if self.shared && self.store.is_none() {
            return Err("shared needs a PostgreSQL store: only one instance serves an embedded store".to_owned());
        }
        if self.reoptimize_replan_rounds > MAX_REPLAN_ROUNDS {
            return Err(format!(
                "reoptimize_replan_rounds {} is more than {MAX_REPLAN_ROUNDS}",
                self.reoptimize_replan_rounds
            ));
        }
        for (field, value) in [
            ("reoptimize_time_limit_ms", self.reoptimize_time_limit_ms),
            ("reoptimize_full_time_limit_ms", self.reoptimize_full_time_limit_ms),
        ] {
            if value == 0 {
                return Err(format!("{field} must be at least 1: a pass with no time finds nothing"));
            }
        }
        if self.store_connections == 0 {
            return Err("store_connections must be at least 1".to_owned());
        }
        if self.max_policy_bytes > switchyard_dsl::MAX_SOURCE_BYTES {
            return Err(format!(
                "max_policy_bytes {} is more than the policy language's limit of {} bytes",
                self.max_policy_bytes,
                switchyard_dsl::MAX_SOURCE_BYTES
            ));
        }
        Ok(())
    }

    /// The role of a bearer token, if it is one of ours.
    pub fn role_of(&self, token: &str) -> Option<(Role, &str)> {
        self.tokens
            .iter()
            .find(|t| constant_time_eq(t.token.as_bytes(), token.as_bytes()))
            .map(|t| (t.role, t.name.as_str()))
    }
}

// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
