//! Policy and plugin versions, and bindings of versions to product groups.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard_plugins::ParamValue;

/// What a version is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Policy language source.
    Dsl,
    /// A Wasm plugin.
    Wasm,
}

impl Kind {
    /// Its name in URLs and the store.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dsl => "dsl",
            Kind::Wasm => "wasm",
        }
    }

    /// The kind stored under `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "dsl" => Some(Kind::Dsl),
            "wasm" => Some(Kind::Wasm),
            _ => None,
        }
    }
}

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticLevel {
    /// The policy is refused.
    Error,
    /// The policy compiles, but something is likely wrong.
    Warning,
}

/// A diagnostic of a policy, with its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticRecord {
    /// Error or warning.
    pub level: DiagnosticLevel,
    /// Stable code (`policy::unknown_name`, ...).
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

/// A stored version's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// Content hash: the version's id.
    pub version: String,
    /// The name it was uploaded under.
    pub name: String,
    /// DSL or Wasm.
    pub kind: Kind,
    /// Size of the source or module, bytes.
    pub size: usize,
    /// Upload time (RFC 3339).
    pub uploaded_at: String,
    /// Warnings (a version with errors is never stored).
    pub diagnostics: Vec<DiagnosticRecord>,
    /// The product groups a policy says it applies to (empty: any group, and plugins).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The parameters a plugin declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<switchyard_plugins::Parameter>,
}

/// A binding of a version to a product group (one entry of the binding history).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BindingRecord {
    /// Product group, or `default`.
    pub group: String,
    /// The bound version.
    pub version: String,
    /// The version that routes when the bound one fails; `None`: the order is refused.
    #[serde(default)]
    pub fallback: Option<String>,
    /// When it was bound (RFC 3339).
    pub bound_at: String,
    /// Values of the bound plugin's parameters (the defaults for those not named).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParamValue>,
}
