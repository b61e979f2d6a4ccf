//! What a service operation can fail with. It knows nothing of HTTP: the API maps each kind
//! to a status (`api::error`).

use crate::records::DiagnosticRecord;
use crate::store::StoreError;

/// Why an operation did not happen. Nothing was applied when it fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// What the request names does not exist.
    #[error("{code}: {message}")]
    NotFound {
        /// Stable code, like `unknown_order`.
        code: &'static str,
        /// What is missing.
        message: String,
    },
    /// The request conflicts with the current state (an order that cannot be cancelled now,
    /// an id taken by different content).
    #[error("{code}: {message}")]
    Conflict {
        /// Stable code, like `invalid_state`.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The request's content cannot be used.
    #[error("{code}: {message}")]
    Invalid {
        /// Stable code, like `unknown_sku`.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// Path of the offending field, like `lines[2].qty`.
        field: Option<String>,
    },
    /// A policy upload with errors: every diagnostic, with its line and column.
    #[error("invalid_policy: {message}")]
    InvalidPolicy {
        /// A summary naming the first error.
        message: String,
        /// Every error and warning.
        diagnostics: Vec<DiagnosticRecord>,
    },
    /// The store could not make the change durable; nothing was applied.
    #[error("store_unavailable: {message}")]
    Unavailable {
        /// What the store said.
        message: String,
    },
    /// A bug or an impossible state; logged, never shown to the client in detail.
    #[error("internal: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl ServiceError {
    /// The request's content cannot be used.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid { code, message: message.into(), field: None }
    }

    /// What the request names does not exist.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::NotFound { code, message: message.into() }
    }

    /// Conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict { code, message: message.into() }
    }

    /// A bug or an impossible state.
    pub fn internal(message: impl Into<String>) -> ServiceError {
        ServiceError::Internal { message: message.into() }
    }

    /// The same error about `field` (only `Invalid` names a field).
    pub fn at(self, field: impl Into<String>) -> ServiceError {
        match self {
            ServiceError::Invalid { code, message, .. } => {
                ServiceError::Invalid { code, message, field: Some(field.into()) }
            }
            other => other,
        }
    }

    /// The same error with its field under `path` (`lines[0]` + `qty` = `lines[0].qty`).
    pub fn under(self, path: &str) -> ServiceError {
        match self {
            ServiceError::Invalid { code, message, field } => ServiceError::Invalid {
                code,
                message,
                field: Some(match field {
                    Some(field) => format!("{path}.{field}"),
                    None => path.to_owned(),
                }),
            },
            other => other,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { code, .. }
            | ServiceError::Conflict { code, .. }
            | ServiceError::Invalid { code, .. } => code,
            ServiceError::InvalidPolicy { .. } => "invalid_policy",
            ServiceError::Unavailable { .. } => "store_unavailable",
            ServiceError::Internal { .. } => "internal",
        }
    }

    /// What went wrong, in words.
    pub fn message(&self) -> &str {
        match self {
            ServiceError::NotFound { message, .. }
            | ServiceError::Conflict { message, .. }
            | ServiceError::Invalid { message, .. }
            | ServiceError::InvalidPolicy { message, .. }
            | ServiceError::Unavailable { message }
            | ServiceError::Internal { message } => message,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> ServiceError {
        match error {
            StoreError::Failed(why) => {
                ServiceError::Unavailable { message: format!("the change was not made durable: {why}") }
            }
            StoreError::Duplicate(why) => {
                ServiceError::Conflict { code: "duplicate", message: format!("the change was refused: {why}") }
            }
            StoreError::Stale(why) => {
                ServiceError::Conflict { code: "order_changed", message: format!("the change was refused: {why}") }
            }
            StoreError::Refused(why) => {
                ServiceError::Conflict { code: "stock_changed", message: format!("the change was refused: {why}") }
            }
        }
    }
}
