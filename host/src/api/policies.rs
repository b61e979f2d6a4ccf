//! Version, binding and shadow-run handlers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::dto::{
    BindBody, BindingDto, BindingList, LookAheadReport, PolicyCheck, PolicyTrial, PolicyTrialBody, ShadowBody,
    ShadowSummary, VersionList, VersionMeta, wire,
};
use super::extract::{Admin, Auth, JsonBody, Reader, Writer};
use super::{ApiError, ErrorBody, Shared, complete};
use crate::records::Kind;
use crate::service::limits::MAX_UPLOAD_NAME;

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    name: Option<String>,
}

async fn upload(
    s: Shared,
    kind: Kind,
    name: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<VersionMeta>), ApiError> {
    let limit = match kind {
        Kind::Dsl => s.config().max_policy_bytes,
        Kind::Wasm => s.config().max_plugin_bytes,
    };
    let bytes = match body {
        Ok(bytes) if bytes.len() <= limit => bytes,
        Ok(_) | Err(_) => {
            return Err(ApiError::too_large(format!("uploads of this kind are limited to {limit} bytes")));
        }
    };
    let name = name.unwrap_or_else(|| kind.name().to_owned());
    if name.is_empty()
        || name.chars().count() > MAX_UPLOAD_NAME
        || name.chars().any(|c| c == '"' || c == '\\' || c.is_control())
    {
        let message = format!(
            "the name must be 1-{MAX_UPLOAD_NAME} characters without quotes, backslashes or control characters"
        );
        return Err(ApiError::bad_request("invalid_name", message).at("name"));
    }
    let (meta, created) = complete(async move { s.upload(kind, &name, bytes.to_vec()).await }).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(meta.into())))
}

#[utoipa::path(
    post,
    path = "/v1/policies",
    tag = "policies",
    params((
        "name" = Option<wire::UploadName>,
        Query,
        description = "a name for the version (default `policy` or `plugin`)",
    )),
    request_body(
        content = String,
        content_type = "text/plain",
        description = "policy language source",
    ),
    responses(
        (status = 201, description = "a new version", body = VersionMeta),
        (status = 200, description = "these bytes are already a version", body = VersionMeta),
        (
            status = 422,
            description = "errors, with every diagnostic and its line and column",
            body = ErrorBody,
        ),
    ),
)]
pub(super) async fn upload_policy(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<VersionMeta>), ApiError> {
    upload(s, Kind::Dsl, query.name, body).await
}

fn policy_too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!("policies are limited to {limit} bytes"))
}

// A policy's source from a request body, within the upload limit.
fn policy_source(s: &Shared, body: Result<Bytes, BytesRejection>) -> Result<Vec<u8>, ApiError> {
    let limit = s.config().max_policy_bytes;
    match body {
        Ok(bytes) if bytes.len() <= limit => Ok(bytes.to_vec()),
        Ok(_) | Err(_) => Err(policy_too_large(limit)),
    }
}

#[utoipa::path(
    get,
    path = "/v1/policies/{version}/source",
    tag = "policies",
    params(("version" = String, Path)),
    responses(
        (
            status = 200,
            description = "the policy's source",
            body = String,
            content_type = "text/plain",
        ),
        (status = 404, body = ErrorBody),
        (status = 409, description = "a plugin: no source here", body = ErrorBody),
    ),
)]
pub(super) async fn get_version_source(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(version): Path<String>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let source = s.version_source(&version)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], source.to_string()))
}

#[utoipa::path(
    post,
    path = "/v1/policies/check",
    tag = "policies",
    request_body(
        content = String,
        content_type = "text/plain",
        description = "policy language source",
    ),
    responses(
        (
            status = 200,
            description = "whether it compiles, and every error and warning at its line and \
                           column; nothing stored",
            body = PolicyCheck,
        ),
        (status = 413, body = ErrorBody),
        (status = 422, description = "an empty body: no source to check", body = ErrorBody),
    ),
)]
pub(super) async fn check_policy(
    _: Auth<Reader>,
    State(s): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PolicyCheck>, ApiError> {
    let source = policy_source(&s, body)?;
    if source.is_empty() {
        // As an empty upload is: a policy with nothing in it.
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            "the policy is empty: send its source as the request body",
        ));
    }
    let (valid, diagnostics) = complete(async move { s.check_policy(source).await }).await?;
    Ok(Json(PolicyCheck { valid, diagnostics: diagnostics.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/policies/try",
    tag = "policies",
    request_body = PolicyTrialBody,
    responses(
        (
            status = 200,
            description = "the order routed with the policy (not stored) and with its live \
                           binding; nothing reserved",
            body = PolicyTrial,
        ),
        (status = 413, body = ErrorBody),
        (status = 422, description = "the policy's errors, or the order's", body = ErrorBody),
    ),
)]
pub(super) async fn try_policy(
    _: Auth<Reader>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<PolicyTrialBody>,
) -> Result<Json<PolicyTrial>, ApiError> {
    if body.source.len() > s.config().max_policy_bytes {
        return Err(policy_too_large(s.config().max_policy_bytes));
    }
    let order = body.order.into_submitted("order.")?;
    let source = body.source.into_bytes();
    let trial = complete(async move { s.try_policy(source, &order).await }).await?;
    Ok(Json(trial.into()))
}

#[utoipa::path(
    post,
    path = "/v1/plugins",
    tag = "policies",
    params((
        "name" = Option<wire::UploadName>,
        Query,
        description = "a name for the version (default `policy` or `plugin`)",
    )),
    request_body(
        content((Vec<u8> = "application/wasm"), (Vec<u8> = "application/octet-stream")),
        description = "a WebAssembly component's bytes (any content type is read as the bytes)",
    ),
    responses(
        (status = 201, description = "a new version", body = VersionMeta),
        (status = 200, description = "these bytes are already a version", body = VersionMeta),
        (status = 422, description = "not a valid plugin for this host", body = ErrorBody),
    ),
)]
pub(super) async fn upload_plugin(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<VersionMeta>), ApiError> {
    upload(s, Kind::Wasm, query.name, body).await
}

#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "policies",
    responses((status = 200, description = "every version, in upload order", body = VersionList)),
)]
pub(super) async fn list_versions(_: Auth<Reader>, State(s): State<Shared>) -> Json<VersionList> {
    Json(VersionList { versions: s.versions().into_iter().map(Into::into).collect() })
}

#[utoipa::path(
    get,
    path = "/v1/policies/{version}",
    tag = "policies",
    params(("version" = String, Path)),
    responses((status = 200, body = VersionMeta), (status = 404, body = ErrorBody)),
)]
pub(super) async fn get_version(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(version): Path<String>,
) -> Result<Json<VersionMeta>, ApiError> {
    Ok(Json(s.version(&version)?.into()))
}

#[utoipa::path(
    get,
    path = "/v1/bindings",
    tag = "bindings",
    responses((status = 200, description = "live bindings and every change", body = BindingList)),
)]
pub(super) async fn list_bindings(_: Auth<Reader>, State(s): State<Shared>) -> Json<BindingList> {
    let (live, history) = s.bindings();
    Json(BindingList {
        bindings: live.into_iter().map(Into::into).collect(),
        history: history.into_iter().map(Into::into).collect(),
    })
}

#[utoipa::path(
    put,
    path = "/v1/bindings/{group}",
    tag = "bindings",
    params(("group" = String, Path, description = "product group, or `default`")),
    request_body = BindBody,
    responses(
        (status = 200, description = "bound; the next order uses it", body = BindingDto),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn bind(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Path(group): Path<String>,
    JsonBody(body): JsonBody<BindBody>,
) -> Result<Json<BindingDto>, ApiError> {
    Ok(Json(complete(async move { s.bind(&group, &body.version, body.fallback, body.parameters).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/bindings/{group}/rollback",
    tag = "bindings",
    params(("group" = String, Path)),
    responses((status = 200, body = BindingDto), (status = 409, body = ErrorBody)),
)]
pub(super) async fn rollback(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Path(group): Path<String>,
) -> Result<Json<BindingDto>, ApiError> {
    Ok(Json(complete(async move { s.rollback(&group).await }).await?.into()))
}

#[utoipa::path(
    put,
    path = "/v1/shadows/{group}",
    tag = "bindings",
    params(("group" = String, Path)),
    request_body = ShadowBody,
    responses(
        (status = 200, description = "shadowing from the next order on", body = ShadowSummary),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn start_shadow(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Path(group): Path<String>,
    JsonBody(body): JsonBody<ShadowBody>,
) -> Result<Json<ShadowSummary>, ApiError> {
    Ok(Json(s.start_shadow(&group, &body.version, body.parameters)?.into()))
}

#[utoipa::path(
    get,
    path = "/v1/shadows/{group}",
    tag = "bindings",
    params(("group" = String, Path)),
    responses(
        (status = 200, description = "live vs shadow vs greedy so far", body = ShadowSummary),
        (status = 404, body = ErrorBody),
    ),
)]
pub(super) async fn get_shadow(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(group): Path<String>,
) -> Result<Json<ShadowSummary>, ApiError> {
    Ok(Json(s.shadow(&group)?.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/shadows/{group}",
    tag = "bindings",
    params(("group" = String, Path)),
    responses(
        (status = 200, description = "stopped; the final summary", body = ShadowSummary),
        (status = 404, body = ErrorBody),
    ),
)]
pub(super) async fn stop_shadow(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Path(group): Path<String>,
) -> Result<Json<ShadowSummary>, ApiError> {
    Ok(Json(s.stop_shadow(&group)?.into()))
}

/// What look-ahead pricing charges now: the last solve of every version live bindings route
/// with that declares `look ahead { ... }` (solved every `look_ahead_every_secs`).
#[utoipa::path(
    get,
    path = "/v1/look-ahead",
    tag = "bindings",
    responses((status = 200, description = "the last solve", body = LookAheadReport)),
)]
pub(super) async fn look_ahead(_: Auth<Reader>, State(s): State<Shared>) -> Json<LookAheadReport> {
    Json(s.look_ahead_report().as_ref().into())
}

/// Solves look-ahead prices now (after a large stock change, say) from the orders placed over
/// each policy's history and the stock now, and puts them in place for the next orders.
#[utoipa::path(
    post,
    path = "/v1/look-ahead",
    tag = "bindings",
    responses((status = 200, description = "what the solve found", body = LookAheadReport)),
)]
pub(super) async fn solve_look_ahead(
    _: Auth<Writer>,
    State(s): State<Shared>,
) -> Result<Json<LookAheadReport>, ApiError> {
    let report = complete(async move { s.solve_look_ahead().await }).await?;
    Ok(Json((&report).into()))
}
