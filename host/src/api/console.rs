//! The web console (`/console`): one page and its script and styles, embedded in the binary
//! (`host/console/`, no build step), talking to the same API with the same bearer tokens.
//! The token lives in the tab's `sessionStorage`, never in a URL; the page is served with a
//! Content-Security-Policy that allows scripts, styles and requests from this origin only.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::{Auth, Reader};
use super::{ApiError, ErrorBody};
use crate::config::Role;

const INDEX: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLES: &str = include_str!("../../console/console.css");

/// What the console's responses may load: this origin's script and styles, requests to this
/// origin, inline SVG; no inline script, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Who a token is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Session {
    /// The token's name in the configuration.
    pub name: String,
    /// `reader`, `writer` or `admin`.
    pub role: String,
}

#[utoipa::path(
    get,
    path = "/v1/session",
    tag = "console",
    responses(
        (status = 200, description = "the token's name and role", body = Session),
        (status = 401, body = ErrorBody),
    ),
)]
pub(super) async fn session(auth: Auth<Reader>) -> Json<Session> {
    let role = match auth.role {
        Role::Reader => "reader",
        Role::Writer => "writer",
        Role::Admin => "admin",
    };
    Json(Session { name: auth.name, role: role.to_owned() })
}

/// The console's page.
pub(super) async fn page() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

/// The console's script and styles.
pub(super) async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    match name.as_str() {
        "console.js" => Ok(asset(SCRIPT, "text/javascript; charset=utf-8")),
        "console.css" => Ok(asset(STYLES, "text/css; charset=utf-8")),
        _ => Err(ApiError::not_found("no_route", "no such file of the console")),
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")),
    ];
    (StatusCode::OK, headers, body).into_response()
}
