//! Extractors: what every handler needs from a request before it calls the service. A
//! handler names them in its arguments and axum runs them in order: the token is checked
//! (`Auth<R>`, from the headers) before the body is read (`JsonBody<T>`, always last).

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiError, Shared};
use crate::config::Role;
use crate::service::limits::MAX_IDEMPOTENCY_KEY;

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
pub struct Auth<R: NeedsRole> {
    /// The token's role.
    pub role: Role,
    /// The token's name (from the configuration; never the secret).
    pub name: String,
    needs: PhantomData<R>,
}

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
        Ok(Auth { role, name: name.to_owned(), needs: PhantomData })
    }
}

/// A JSON body read into `T`; errors name the line, column and field (`lines[0].qty`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Serialize> FromRequest<Shared> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, service: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, service).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out (empty, or `null`): then `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Serialize + Default> FromRequest<Shared> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, service: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, service).await?;
        if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" {
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

/// Reads a request body as the API does: JSON syntax errors with line and column, shape errors
/// with the field's path, whole floats read as integers, arrays refused where objects are
/// expected.
pub fn parse_json<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, ApiError> {
    // Read as a JSON value first: syntax errors name their line and column here.
    let mut given: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    // JSON has one number type: `3.0` is the integer 3 (as JSON Schema says), so a count
    // written by a client whose numbers are all floats reads as a count.
    whole_numbers_as_integers(&mut given);
    let value: T = serde_path_to_error::deserialize(&given).map_err(|error| {
        let path = error.path().to_string();
        let api = ApiError::bad_request("invalid_body", error.into_inner().to_string());
        if path == "." || path == "?" { api } else { api.at(path) }
    })?;
    // serde reads a struct from a JSON array too (its fields in order); the API takes objects
    // only. What was read, written back, shows where objects were expected.
    if bytes.contains(&b'[') {
        let read = serde_json::to_value(&value).map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        if let Some(path) = array_for_object(&given, &read, String::new()) {
            let error = ApiError::bad_request("invalid_body", "expected a JSON object, found an array");
            return Err(if path.is_empty() { error } else { error.at(path) });
        }
    }
    Ok(value)
}

// The largest integer a float holds exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

// Every float with no fraction (within the exactly representable range) becomes an integer.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() <= EXACT_INTEGER
            {
                *number = if float < 0.0 { (float as i64).into() } else { (float as u64).into() };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

// The first place where `given` has an array and `read` (what it was read into) an object.
fn array_for_object(given: &Value, read: &Value, path: String) -> Option<String> {
    match (given, read) {
        (Value::Array(_), Value::Object(_)) => Some(path),
        (Value::Object(given), Value::Object(read)) => read.iter().find_map(|(key, read)| {
            let given = given.get(key)?;
            let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            array_for_object(given, read, path)
        }),
        (Value::Array(given), Value::Array(read)) => given
            .iter()
            .zip(read)
            .enumerate()
            .find_map(|(index, (given, read))| array_for_object(given, read, format!("{path}[{index}]"))),
        _ => None,
    }
}

/// The `Idempotency-Key` header, when the client sent one.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<Shared> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _service: &Shared) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        // 1 to 255 printable ASCII characters, no space at either end (`wire::IdempotencyKey`).
        let key = value
            .to_str()
            .ok()
            .filter(|v| {
                (1..=MAX_IDEMPOTENCY_KEY).contains(&v.len())
                    && v.bytes().all(|b| (b' '..=b'~').contains(&b))
                    && v.trim() == *v
            })
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_header",
                    "Idempotency-Key must be 1-255 printable ASCII characters, no space at either end",
                )
                .at("Idempotency-Key")
            })?;
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}
