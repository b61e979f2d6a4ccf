//! Extractors: what every handler needs from a request before it calls the service. A
//! handler names them in its arguments and axum runs them in order: the token is checked
//! (`Auth<R>`, from the headers) before the body is read (`JsonBody<T>`, always last).

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, Shared};
use crate::config::Role;

/// A role a handler needs.
pub trait NeedsRole {
    /// The least role that may call the handler.
    const ROLE: Role;
}

/// Reads: catalog, inventory, orders, policies, bindings.
pub struct Reader;
/// Orders and inventory.
pub struct Writer;
/// Policies, plugins, bindings, webhooks.
pub struct Admin;

impl NeedsRole for Reader {
    const ROLE: Role = Role::Reader;
}
impl NeedsRole for Writer {
    const ROLE: Role = Role::Writer;
}
impl NeedsRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// A request whose bearer token holds at least role `R`; otherwise 401 (no or unknown
/// token) or 403 (a token with too small a role).
pub struct Auth<R: NeedsRole>(PhantomData<R>);

impl<R: NeedsRole> FromRequestParts<Shared> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Shared) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>`"))?;
        let (role, name) =
            service.config().role_of(token.trim()).ok_or_else(|| ApiError::unauthorized("the token is not valid"))?;
        if role < R::ROLE {
            let needed = match R::ROLE {
                Role::Reader => "reader",
                Role::Writer => "writer",
                Role::Admin => "admin",
            };
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("token `{name}` may not do this; it needs the {needed} role"),
            ));
        }
        Ok(Auth(PhantomData))
    }
}

/// A JSON body read into `T`; errors name the line, column and field (`lines[0].qty`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Shared> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, service: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, service).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out (empty): then `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<Shared> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, service: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, service).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

/// The body's bytes, within the route's limit.
pub(super) async fn read_body(request: Request, service: &Shared) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, service).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("the request body is larger than the limit")
        } else {
            ApiError::bad_request("unreadable_body", rejection.body_text())
        }
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = format!("{inner}");
        let code = if inner.is_syntax() || inner.is_eof() { "malformed_json" } else { "invalid_body" };
        let api = ApiError::bad_request(code, message);
        if path == "." || path == "?" { api } else { api.at(path) }
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    Ok(value)
}

/// The `Idempotency-Key` header, when the client sent one.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<Shared> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _service: &Shared) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        let key = value.to_str().ok().filter(|v| !v.is_empty() && v.len() <= 255).ok_or_else(|| {
            ApiError::bad_request("invalid_header", "Idempotency-Key must be 1-255 visible characters")
        })?;
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}
