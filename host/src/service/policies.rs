//! Versions, bindings, shadow runs, and the figures the metrics endpoint reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchyard_plugins::ParamValue;

use super::commit::body_of;
use super::{DryRun, Service, ServiceError, now};
use crate::records::{BindingRecord, DiagnosticRecord, Kind, SubmittedOrder, VersionMeta};
use crate::shadow::{Shadow, ShadowSummary};
use crate::store::Change;

/// A policy tried on an order before it is stored: its plan, and the live binding's.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyTrial {
    /// The order routed with the policy tried (nothing reserved).
    pub tried: DryRun,
    /// The same order routed with its live binding; `None` when none applies to it.
    pub live: Option<DryRun>,
    /// The policy's warnings.
    pub diagnostics: Vec<DiagnosticRecord>,
}

impl Service {
    /// Checks a policy's source without storing it: whether it compiles, and every error and
    /// warning with its line and column.
    pub async fn check_policy(&self, source: Vec<u8>) -> Result<(bool, Vec<DiagnosticRecord>), ServiceError> {
        match self.registry.compile_async(Kind::Dsl, "check", source, now().to_string()).await {
            Ok(version) => Ok((true, version.meta.diagnostics)),
            Err(ServiceError::InvalidPolicy { diagnostics, .. }) => Ok((false, diagnostics)),
            Err(error) => Err(error),
        }
    }

    /// Routes `order` with a policy's source, not stored, and with its live binding, against
    /// live stock: nothing is reserved. A policy with errors is refused (`invalid_policy`),
    /// as its upload would be.
    pub async fn try_policy(&self, source: Vec<u8>, order: &SubmittedOrder) -> Result<PolicyTrial, ServiceError> {
        // The order's mistakes first, named under `order`.
        super::validate::engine_order(&self.catalog(), order, now()).map_err(|e| e.under("order"))?;
        super::validate::due_at(order, self.config.delivery_lead_secs as i64).map_err(|e| e.under("order"))?;
        let version = self.registry.compile_async(Kind::Dsl, "playground", source, now().to_string()).await?;
        let tried = self.dry_run_with(order, Some(&*version.policy))?;
        let live = match self.dry_run(order) {
            Ok(live) => Some(live),
            Err(ServiceError::Conflict { code: "no_binding", .. }) => None,
            Err(error) => return Err(error),
        };
        Ok(PolicyTrial { tried, live, diagnostics: version.meta.diagnostics })
    }

    /// Stores a new policy or plugin version (idempotent by content).
    pub async fn upload(&self, kind: Kind, name: &str, bytes: Vec<u8>) -> Result<(VersionMeta, bool), ServiceError> {
        let id = crate::registry::version_of(kind, &bytes);
        if let Some(existing) = self.registry.version(&id) {
            return Ok((existing.meta.clone(), false));
        }
        let compiled = self.registry.compile_async(kind, name, bytes.clone(), now().to_string()).await?;
        let meta = compiled.meta.clone();
        let change = Change::PolicyVersion {
            version: meta.version.clone(),
            name: name.to_owned(),
            kind: kind.name().to_owned(),
            source: bytes,
            meta: body_of(&meta)?,
        };
        self.commit(vec![change]).await?;
        self.registry.insert(compiled);
        Ok((meta, true))
    }

    /// Every version.
    pub fn versions(&self) -> Vec<VersionMeta> {
        self.registry.versions()
    }

    /// One version's metadata.
    pub fn version(&self, id: &str) -> Result<VersionMeta, ServiceError> {
        self.registry
            .version(id)
            .map(|v| v.meta.clone())
            .ok_or_else(|| ServiceError::not_found("unknown_version", format!("no version `{id}`")))
    }

    /// A policy version's source (a plugin has none here: `409 no_source`).
    pub fn version_source(&self, id: &str) -> Result<Arc<str>, ServiceError> {
        let version = self
            .registry
            .version(id)
            .ok_or_else(|| ServiceError::not_found("unknown_version", format!("no version `{id}`")))?;
        version.source.clone().ok_or_else(|| {
            ServiceError::conflict("no_source", format!("version `{id}` is a plugin: its source is not stored here"))
        })
    }

    /// Binds a version to a group (durably, then one atomic swap).
    pub async fn bind(
        &self,
        group: &str,
        version: &str,
        fallback: Option<String>,
        parameters: BTreeMap<String, ParamValue>,
    ) -> Result<BindingRecord, ServiceError> {
        if group.is_empty() {
            return Err(ServiceError::invalid("invalid_group", "the group must not be empty").at("group"));
        }
        let record = BindingRecord {
            group: group.to_owned(),
            version: version.to_owned(),
            fallback,
            bound_at: now().to_string(),
            parameters,
        };
        let _order = self.bind_lock.lock().await;
        let binding = self.registry.prepare_binding(record.clone())?;
        self.commit(vec![Change::Binding {
            group: record.group.clone(),
            version: record.version.clone(),
            fallback: record.fallback.clone(),
            at: record.bound_at.clone(),
            parameters: parameters_json(&record.parameters)?,
        }])
        .await?;
        self.registry.bind(binding);
        tracing::info!(group, version, "binding changed");
        Ok(record)
    }

    /// Binds the version bound before the current one.
    pub async fn rollback(&self, group: &str) -> Result<BindingRecord, ServiceError> {
        // (`bind` takes the lock; a rollback racing another bind may pick the binding before
        // the one that wins, which is still a binding the admin made.)
        let previous = self.registry.previous(group).ok_or_else(|| {
            ServiceError::conflict("nothing_to_roll_back", format!("group `{group}` has no earlier binding"))
        })?;
        self.bind(group, &previous.version, previous.fallback, previous.parameters).await
    }

    /// Starts (or replaces) a shadow run of `version` (a plugin with these parameter values)
    /// beside the live binding of `group`.
    pub fn start_shadow(
        &self,
        group: &str,
        version: &str,
        parameters: BTreeMap<String, ParamValue>,
    ) -> Result<ShadowSummary, ServiceError> {
        // The same checks as binding it (it must be allowed to serve the group, its values
        // must be the plugin's).
        let candidate = self.registry.prepare_binding(BindingRecord {
            group: group.to_owned(),
            version: version.to_owned(),
            fallback: None,
            bound_at: String::new(),
            parameters,
        })?;
        if self.registry.binding_for(Some(group)).is_none_or(|b| b.record.group != group) {
            return Err(ServiceError::conflict(
                "no_binding",
                format!("group `{group}` has no binding of its own to shadow; bind it first"),
            ));
        }
        let shadow = Shadow::new(group, version, candidate.policy, now().to_string(), &self.config.currency);
        let summary = shadow.summary();
        self.shadows.insert(group.to_owned(), Arc::new(shadow));
        tracing::info!(group, version, "shadow started");
        Ok(summary)
    }

    /// The summary of the shadow run on `group`.
    pub fn shadow(&self, group: &str) -> Result<ShadowSummary, ServiceError> {
        self.shadows
            .get(group)
            .map(|s| s.summary())
            .ok_or_else(|| ServiceError::not_found("no_shadow", format!("no shadow run on group `{group}`")))
    }

    /// Stops the shadow run on `group`; returns its final summary.
    pub fn stop_shadow(&self, group: &str) -> Result<ShadowSummary, ServiceError> {
        self.shadows
            .remove(group)
            .map(|(_, s)| s.summary())
            .ok_or_else(|| ServiceError::not_found("no_shadow", format!("no shadow run on group `{group}`")))
    }

    /// Live bindings and every change.
    pub fn bindings(&self) -> (Vec<BindingRecord>, Vec<BindingRecord>) {
        (self.registry.bindings(), self.registry.history())
    }

    /// The Prometheus exposition.
    pub fn render_metrics(&self) -> String {
        let (units_on_hand, units_reserved) = self.inventory.totals();
        let orders_holding_stock =
            self.orders.iter().filter(|e| e.value().try_lock().is_ok_and(|r| r.status.holds_stock())).count() as u64;
        let unreadable_records = self.unreadable.lock().len() as u64;
        let orders_in_memory = self.orders.len() as u64;
        let gauges = crate::metrics::Gauges {
            units_on_hand,
            units_reserved,
            orders_holding_stock,
            orders_in_memory,
            unreadable_records,
        };
        self.metrics.render(&gauges, &self.registry.plugin_fuel())
    }
}

/// A binding's parameter values as the store keeps them: JSON, none when there are none.
pub(crate) fn parameters_json(parameters: &BTreeMap<String, ParamValue>) -> Result<Option<String>, ServiceError> {
    if parameters.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(parameters)
        .map(Some)
        .map_err(|error| ServiceError::internal(format!("cannot encode a binding's parameters: {error}")))
}

/// A binding's parameter values as the store kept them.
pub(crate) fn parameters_of(stored: Option<&str>) -> Result<BTreeMap<String, ParamValue>, String> {
    match stored {
        None => Ok(BTreeMap::new()),
        Some(json) => serde_json::from_str(json).map_err(|error| format!("stored parameters: {error}")),
    }
}
