//! Versions, their diagnostics, bindings and shadow runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard_plugins::ParamValue;

use crate::records;
use crate::shadow;

/// What a version is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Policy language source.
    Dsl,
    /// A Wasm plugin.
    Wasm,
}

/// A diagnostic of an uploaded policy, with its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiagnosticDto {
    /// `error` or `warning`.
    pub level: String,
    /// Stable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line (0 in a plugin's diagnostic: it has no source lines).
    pub line: usize,
    /// 1-based column (characters; 0 in a plugin's).
    pub column: usize,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// What the API shows of a version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionMeta {
    /// Content hash: the version's id.
    pub version: String,
    /// The name it was uploaded under.
    pub name: String,
    /// `dsl` or `wasm`.
    pub kind: Kind,
    /// Size of the source or module, bytes.
    pub size: usize,
    /// Upload time (RFC 3339).
    pub uploaded_at: String,
    /// Warnings (a version with errors is never stored).
    pub diagnostics: Vec<DiagnosticDto>,
    /// The product groups a policy says it applies to (empty: any group, and plugins).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The parameters a plugin declares (`name`, `description`, `type`: `number`, `integer`,
    /// `boolean` or `text`, and `default`): what a binding's `parameters` may set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub parameters: Vec<switchyard_plugins::Parameter>,
}

/// Every version.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionList {
    /// In upload order.
    pub versions: Vec<VersionMeta>,
}

/// A binding of a version to a product group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BindingDto {
    /// Product group, or `default`.
    pub group: String,
    /// The bound version.
    pub version: String,
    /// The version that routes when the bound one fails; absent: the order is refused.
    #[serde(default)]
    pub fallback: Option<String>,
    /// When it was bound.
    pub bound_at: String,
    /// Values of the bound plugin's parameters, by name (absent: the defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, ParameterValue>)]
    pub parameters: BTreeMap<String, ParamValue>,
}

/// Live bindings and their history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BindingList {
    /// The live binding of every group.
    pub bindings: Vec<BindingDto>,
    /// Every binding change, oldest first.
    pub history: Vec<BindingDto>,
}

/// A version to bind.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindBody {
    /// The version to bind.
    #[schema(min_length = 1)]
    pub version: String,
    /// The version that routes when it fails; absent: the order is refused.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub fallback: Option<String>,
    /// Values of the plugin's parameters by name (`{"max_shipments": 2}`): numbers, `true`/
    /// `false` or texts, each of the type the plugin declares; the defaults for those not
    /// named. Only for a plugin version.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, ParameterValue>)]
    pub parameters: BTreeMap<String, ParamValue>,
}

/// A plugin parameter's value (the API's schema of `switchyard_plugins::ParamValue`): a
/// number, `true` or `false`, or a text, of the type the plugin declares.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ParameterValue {
    /// For a `number` or `integer` parameter.
    Number(f64),
    /// For a `boolean` parameter.
    Boolean(bool),
    /// For a `text` parameter.
    Text(String),
}

/// What checking a policy found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyCheck {
    /// It compiles (it may still have warnings).
    pub valid: bool,
    /// Every error and warning, with its line and column.
    pub diagnostics: Vec<DiagnosticDto>,
}

/// A policy to try on an order.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTrialBody {
    /// The policy language source (not stored).
    pub source: String,
    /// The order to route with it.
    pub order: super::OrderRequest,
}

/// An order routed with a policy not stored, beside its live binding; nothing reserved.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PolicyTrial {
    /// With the policy tried.
    pub tried: super::DryRun,
    /// With the order's live binding; absent when no binding applies to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<super::DryRun>,
    /// The policy's warnings.
    pub diagnostics: Vec<DiagnosticDto>,
}

impl From<crate::service::PolicyTrial> for PolicyTrial {
    fn from(trial: crate::service::PolicyTrial) -> PolicyTrial {
        PolicyTrial {
            tried: trial.tried.into(),
            live: trial.live.map(Into::into),
            diagnostics: trial.diagnostics.into_iter().map(Into::into).collect(),
        }
    }
}

/// A shadow run to start.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowBody {
    /// The candidate version to evaluate beside the live binding.
    #[schema(min_length = 1)]
    pub version: String,
    /// Values of the candidate plugin's parameters by name, as a binding sets them: what a
    /// change of settings would cost, shadowed before it is bound.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, ParameterValue>)]
    pub parameters: BTreeMap<String, ParamValue>,
}

/// An order the shadow planned differently.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShadowDifference {
    /// The order.
    pub order_id: String,
    /// Cost of the live plan.
    pub live_cost: f64,
    /// Cost of the shadow's plan.
    pub shadow_cost: f64,
    /// Locations shipping under the live plan.
    pub live_locations: Vec<String>,
    /// Locations shipping under the shadow's plan.
    pub shadow_locations: Vec<String>,
}

/// What a shadow run has seen so far.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShadowSummary {
    /// The product group (or `default`) whose orders are shadowed.
    pub group: String,
    /// The candidate version.
    pub version: String,
    /// When the shadow started (RFC 3339).
    pub started_at: String,
    /// The currency of the costs (ISO 4217); costs are rounded to the cent.
    pub currency: String,
    /// Orders planned by both.
    pub orders_compared: u64,
    /// Orders the shadow planned differently.
    pub orders_differing: u64,
    /// Orders the shadow's policy failed on.
    pub shadow_failures: u64,
    /// Sum of live plan costs.
    pub live_cost: f64,
    /// Sum of the shadow's plan costs.
    pub shadow_cost: f64,
    /// Sum of the greedy baseline's plan costs (under the live policy).
    pub greedy_cost: f64,
    /// Shipments under the live plans.
    pub live_shipments: u64,
    /// Shipments under the shadow's plans.
    pub shadow_shipments: u64,
    /// Units the live plans leave unfilled.
    pub live_unfilled_units: u64,
    /// Units the shadow's plans leave unfilled.
    pub shadow_unfilled_units: u64,
    /// The latest differing orders, newest last.
    pub recent_differences: Vec<ShadowDifference>,
}

// An amount as the API shows it: rounded to the cent.
fn money(amount: f64) -> f64 {
    records::to_the_cent(amount)
}

impl From<records::DiagnosticRecord> for DiagnosticDto {
    fn from(record: records::DiagnosticRecord) -> DiagnosticDto {
        DiagnosticDto {
            level: match record.level {
                records::DiagnosticLevel::Error => "error".to_owned(),
                records::DiagnosticLevel::Warning => "warning".to_owned(),
            },
            code: record.code,
            message: record.message,
            line: record.line,
            column: record.column,
            help: record.help,
        }
    }
}

impl From<records::VersionMeta> for VersionMeta {
    fn from(meta: records::VersionMeta) -> VersionMeta {
        VersionMeta {
            version: meta.version,
            name: meta.name,
            kind: match meta.kind {
                records::Kind::Dsl => Kind::Dsl,
                records::Kind::Wasm => Kind::Wasm,
            },
            size: meta.size,
            uploaded_at: meta.uploaded_at,
            diagnostics: meta.diagnostics.into_iter().map(Into::into).collect(),
            groups: meta.groups,
            parameters: meta.parameters,
        }
    }
}

impl From<records::BindingRecord> for BindingDto {
    fn from(record: records::BindingRecord) -> BindingDto {
        BindingDto {
            group: record.group,
            version: record.version,
            fallback: record.fallback,
            bound_at: record.bound_at,
            parameters: record.parameters,
        }
    }
}

impl From<shadow::ShadowSummary> for ShadowSummary {
    fn from(summary: shadow::ShadowSummary) -> ShadowSummary {
        ShadowSummary {
            group: summary.group,
            version: summary.version,
            started_at: summary.started_at,
            currency: summary.currency,
            orders_compared: summary.orders_compared,
            orders_differing: summary.orders_differing,
            shadow_failures: summary.shadow_failures,
            live_cost: money(summary.live_cost),
            shadow_cost: money(summary.shadow_cost),
            greedy_cost: money(summary.greedy_cost),
            live_shipments: summary.live_shipments,
            shadow_shipments: summary.shadow_shipments,
            live_unfilled_units: summary.live_unfilled_units,
            shadow_unfilled_units: summary.shadow_unfilled_units,
            recent_differences: summary
                .recent_differences
                .into_iter()
                .map(|d| ShadowDifference {
                    order_id: d.order_id,
                    live_cost: money(d.live_cost),
                    shadow_cost: money(d.shadow_cost),
                    live_locations: d.live_locations,
                    shadow_locations: d.shadow_locations,
                })
                .collect(),
        }
    }
}

/// Look-ahead pricing of scarce stock: what the last solve found for every version live
/// bindings route with that declares `look ahead { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookAheadReport {
    /// When it was solved (RFC 3339); absent before the first solve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solved_at: Option<String>,
    /// Per version, in upload order (none when no live binding looks ahead).
    pub versions: Vec<LookAheadSolve>,
}

/// One version's look-ahead solve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookAheadSolve {
    /// The version's id.
    pub version: String,
    /// The policy's name.
    pub policy: String,
    /// Weight of each unit's opportunity cost in its unit cost.
    pub weight: f64,
    /// Seconds of past orders the expected demand came from.
    pub history_secs: i64,
    /// Seconds of future demand priced.
    pub horizon_secs: i64,
    /// Orders placed over the history.
    pub orders: usize,
    /// SKU LPs solved.
    pub solved: usize,
    /// SKU LPs the solver could not finish (those SKUs carry no opportunity cost).
    pub failed: usize,
    /// (SKU, location) pairs with an opportunity cost.
    pub priced: usize,
    /// The dearest of them (at most 100), dearest first.
    pub prices: Vec<StockPrice>,
    /// Milliseconds the solve took.
    pub took_ms: f64,
}

/// The opportunity cost of taking one unit of a SKU from a location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockPrice {
    /// The SKU.
    pub sku: String,
    /// The location.
    pub location: String,
    /// Per unit, to the cent.
    pub cost: f64,
}

impl From<&crate::service::LookAheadReport> for LookAheadReport {
    fn from(report: &crate::service::LookAheadReport) -> LookAheadReport {
        LookAheadReport {
            solved_at: report.solved_at.map(|at| switchyard_engine::Timestamp(at).to_string()),
            versions: report
                .versions
                .iter()
                .map(|v| LookAheadSolve {
                    version: v.version.clone(),
                    policy: v.policy.clone(),
                    weight: v.weight,
                    history_secs: v.history_secs,
                    horizon_secs: v.horizon_secs,
                    orders: v.orders,
                    solved: v.solved,
                    failed: v.failed,
                    priced: v.priced,
                    prices: v
                        .prices
                        .iter()
                        .map(|p| StockPrice {
                            sku: p.sku.clone(),
                            location: p.location.clone(),
                            cost: crate::records::to_the_cent(p.cost),
                        })
                        .collect(),
                    took_ms: (v.took_ms * 10.0).round() / 10.0,
                })
                .collect(),
        }
    }
}
