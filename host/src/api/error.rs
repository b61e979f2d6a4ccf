//! One error shape for the whole API: `{"error": {"code", "message", "field"?}}` with a stable
//! code (and, for a policy with errors, `"diagnostics"` beside it). Service errors map to
//! statuses here and nowhere else. Client errors are not logged as errors; internal ones return
//! a generic message and are logged with the request id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::dto::DiagnosticDto;
use crate::error::ServiceError;

/// An API error: status, stable code, message, and the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, like `unknown_sku`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// Path of the offending field in the request, like `lines[2].qty`.
    pub field: Option<String>,
    /// A policy's diagnostics, when an upload was refused for them.
    pub diagnostics: Option<Vec<DiagnosticDto>>,
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
    /// Every diagnostic of a policy refused for its errors, with line and column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<DiagnosticDto>>,
}

/// An error's code, message and field.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code, like `unknown_sku`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The offending field, like `lines[0].qty`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with this status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None, diagnostics: None }
    }

    /// The same error, naming the field it is about.
    pub fn at(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no token, or not one of ours.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 413: the body is larger than the limit.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        let status = match &error {
            ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
            ServiceError::Conflict { .. } => StatusCode::CONFLICT,
            ServiceError::Invalid { .. } | ServiceError::InvalidPolicy { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut api = ApiError::new(status, error.code(), error.message());
        match error {
            ServiceError::Invalid { field, .. } => api.field = field,
            ServiceError::InvalidPolicy { diagnostics, .. } => {
                api.diagnostics = Some(diagnostics.into_iter().map(DiagnosticDto::from).collect());
            }
            _ => {}
        }
        api
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({}): {}", self.code, field, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = if self.status.is_server_error() {
            // The details are in the log, under the request id.
            tracing::error!(code = self.code, message = %self.message, "request failed");
            "internal error; the server log has the details under this request's id".to_owned()
        } else {
            self.message
        };
        let body = ErrorBody {
            error: ErrorDetail { code: self.code.to_owned(), message, field: self.field },
            diagnostics: self.diagnostics,
        };
        (self.status, axum::Json(body)).into_response()
    }
}
