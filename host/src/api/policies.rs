//! Version, binding and shadow-run handlers.

use super::*;

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    name: Option<String>,
}

pub(super) async fn upload(
    s: &Service,
    kind: Kind,
    name: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let limit = match kind {
        Kind::Dsl => s.config().max_policy_bytes,
        Kind::Wasm => s.config().max_plugin_bytes,
    };
    let bytes = match body {
        Ok(bytes) if bytes.len() <= limit => bytes,
        Ok(_) | Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("uploads of this kind are limited to {limit} bytes"),
            )
            .into_response();
        }
    };
    let name = name.unwrap_or_else(|| kind.name().to_owned());
    if name.is_empty() || name.len() > 128 || name.contains(['"', '\\', '\n']) {
        return ApiError::bad_request("invalid_name", "the name must be 1-128 characters without quotes")
            .at("name")
            .into_response();
    }
    match s.upload(kind, &name, bytes.to_vec()).await {
        Ok((meta, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, axum::Json(meta)).into_response()
        }
        Err(rejected) => {
            let status = rejected.error.status;
            let body = json!({
                "error": { "code": rejected.error.code, "message": rejected.error.message },
                "diagnostics": rejected.diagnostics,
            });
            if status.is_server_error() {
                return rejected.error.into_response();
            }
            (status, axum::Json(body)).into_response()
        }
    }
}

#[utoipa::path(post, path = "/v1/policies", tag = "policies", params(("name" = Option<String>, Query)), request_body(content = String, content_type = "text/plain", description = "policy language source"), responses((status = 201, description = "a new version", body = VersionMeta), (status = 200, description = "these bytes are already a version", body = VersionMeta), (status = 422, description = "errors, with every diagnostic and its line and column"), (status = 413, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn upload_policy(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(upload(&s, Kind::Dsl, query.name, body).await)
}

#[utoipa::path(post, path = "/v1/plugins", tag = "policies", params(("name" = Option<String>, Query)), request_body(content = Vec<u8>, content_type = "application/wasm"), responses((status = 201, description = "a new version", body = VersionMeta), (status = 200, body = VersionMeta), (status = 422, description = "not a valid plugin for this host"), (status = 413, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn upload_plugin(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(upload(&s, Kind::Wasm, query.name, body).await)
}

#[utoipa::path(get, path = "/v1/policies", tag = "policies", responses((status = 200, description = "every version, in upload order"), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn list_versions(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(json!({ "versions": s.versions() })).into_response())
}

#[utoipa::path(get, path = "/v1/policies/{version}", tag = "policies", params(("version" = String, Path)), responses((status = 200, body = VersionMeta), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn get_version(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.version(&version)?).into_response())
}

#[utoipa::path(get, path = "/v1/bindings", tag = "bindings", responses((status = 200, description = "live bindings and every change"), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn list_bindings(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let (live, history) = s.bindings();
    Ok(axum::Json(json!({ "bindings": live, "history": history })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BindBody {
    /// The version to bind.
    version: String,
    /// The version that routes when it fails; absent: the order is refused.
    #[serde(default)]
    fallback: Option<String>,
}

#[utoipa::path(put, path = "/v1/bindings/{group}", tag = "bindings", params(("group" = String, Path, description = "product group, or `default`")), request_body = BindBody, responses((status = 200, description = "bound; the next order uses it", body = BindingDto), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn bind(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    let body: BindBody = parse_json(body)?;
    Ok(axum::Json(s.bind(&group, &body.version, body.fallback).await?).into_response())
}

#[utoipa::path(post, path = "/v1/bindings/{group}/rollback", tag = "bindings", params(("group" = String, Path)), responses((status = 200, body = BindingDto), (status = 409, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn rollback(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(axum::Json(s.rollback(&group).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShadowBody {
    /// The candidate version to evaluate beside the live binding.
    version: String,
}

#[utoipa::path(put, path = "/v1/shadows/{group}", tag = "bindings", params(("group" = String, Path)), request_body = ShadowBody,
    responses((status = 200, description = "shadowing from the next order on", body = ShadowSummary), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn start_shadow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    let body: ShadowBody = parse_json(body)?;
    Ok(axum::Json(s.start_shadow(&group, &body.version)?).into_response())
}

#[utoipa::path(get, path = "/v1/shadows/{group}", tag = "bindings", params(("group" = String, Path)),
    responses((status = 200, description = "live vs shadow vs greedy so far", body = ShadowSummary), (status = 404, body = ErrorBody)))]
pub(super) async fn get_shadow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.shadow(&group)?).into_response())
}

#[utoipa::path(delete, path = "/v1/shadows/{group}", tag = "bindings", params(("group" = String, Path)),
    responses((status = 200, description = "stopped; the final summary", body = ShadowSummary), (status = 404, body = ErrorBody)))]
pub(super) async fn stop_shadow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(axum::Json(s.stop_shadow(&group)?).into_response())
}
