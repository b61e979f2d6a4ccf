//! The HTTP API: routes, auth, request ids and metrics, JSON bodies with field-naming errors.
//! Everything under `/v1` needs a bearer token; health and metrics do not.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::config::Role;
use crate::dto::ShipmentState;
use crate::dto::{AtpDto, PlanDto};
use crate::dto::{LocationDto, OrderRequest, ProductDto, StockAdjustments, StockLevels};
use crate::error::{ApiError, ErrorBody};
use crate::recurring::RecurringOrder;
use crate::registry::Kind;
use crate::registry::{BindingDto, VersionMeta};
use crate::service::{Created, Service};
use crate::service::{DryRun, FulfilmentEvent, Inbound, OrderRecord, ReturnLine};
use crate::shadow::ShadowSummary;
use crate::webhooks::Subscription;

mod catalog;
mod orders;
mod policies;
mod webhooks;

use catalog::*;
use orders::*;
use policies::*;
use webhooks::*;

type Shared = Arc<Service>;

/// The service's router: every route, with auth, request ids, body limits and metrics.
pub fn app(service: Shared) -> Router {
    let json_limit = service.config().max_body_bytes;
    let upload_limit = service.config().max_plugin_bytes.max(service.config().max_policy_bytes) + 1;
    let uploads = Router::new()
        .route("/v1/policies", post(upload_policy).get(list_versions))
        .route("/v1/plugins", post(upload_plugin))
        .layer(DefaultBodyLimit::max(upload_limit));
    let api = Router::new()
        .route("/v1/locations", get(list_locations).post(upsert_locations))
        .route("/v1/locations/{id}", get(get_location).put(put_location))
        .route("/v1/products", get(list_products).post(upsert_products))
        .route("/v1/products/{sku}", get(get_product).put(put_product))
        .route("/v1/inventory", post(set_stock))
        .route("/v1/inventory/adjustments", post(adjust_stock))
        .route("/v1/inventory/inbound", get(list_inbound).post(add_inbound))
        .route("/v1/inventory/inbound/{id}/receive", post(receive_inbound))
        .route("/v1/inventory/{sku}", get(atp))
        .route("/v1/orders", post(create_order))
        .route("/v1/orders/route", post(dry_run))
        .route("/v1/orders/{id}", get(get_order).put(change_order))
        .route("/v1/orders/{id}/confirm", post(confirm_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/orders/{id}/ship", post(ship_order))
        .route("/v1/orders/{id}/events", post(fulfilment_event))
        .route("/v1/orders/{id}/returns", post(request_return))
        .route("/v1/orders/{id}/returns/{return_id}/receive", post(receive_return))
        .route("/v1/policies/{version}", get(get_version))
        .route("/v1/bindings", get(list_bindings))
        .route("/v1/bindings/{group}", put(bind))
        .route("/v1/bindings/{group}/rollback", post(rollback))
        .route("/v1/shadows/{group}", get(get_shadow).put(start_shadow).delete(stop_shadow))
        .route("/v1/recurring-orders", post(add_recurring))
        .route("/v1/recurring-orders/{id}", get(get_recurring).delete(stop_recurring))
        .route("/v1/webhooks", get(list_webhooks).post(add_webhook))
        .route("/v1/webhooks/{id}", axum::routing::delete(remove_webhook))
        .layer(DefaultBodyLimit::max(json_limit));
    Router::new()
        .merge(api)
        .merge(uploads)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("no_route", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&service), observe))
        .with_state(service)
}

/// The OpenAPI 3.1 document, generated from the handlers and wire types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "switchyard", description = "Distributed order management: routing, reservations, policies and plugins."),
    paths(
        list_locations, get_location, upsert_locations, put_location, list_products, get_product, upsert_products,
        put_product, set_stock, adjust_stock, add_inbound, list_inbound, receive_inbound, atp, dry_run, create_order, get_order, confirm_order, cancel_order,
        ship_order, fulfilment_event, change_order, request_return, receive_return, upload_policy, upload_plugin, list_versions, get_version, list_bindings, bind, rollback,
        start_shadow, get_shadow, stop_shadow, add_recurring, get_recurring, stop_recurring, add_webhook, list_webhooks, remove_webhook
    ),
    components(schemas(PlanDto)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Response {
    use utoipa::OpenApi;
    axum::Json(ApiDoc::openapi()).into_response()
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

// Request id, tracing span, latency and status metrics for every request.
async fn observe(State(service): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req-{:x}", REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)));
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let status = response.status();
    service.metrics().request(&route, &method, status.as_u16(), started.elapsed());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "served");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "served");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

pub(super) fn authorize(service: &Service, headers: &HeaderMap, needed: Role) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send `Authorization: Bearer <token>`")
        })?;
    let (role, name) = service
        .config()
        .role_of(token.trim())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the token is not valid"))?;
    if role < needed {
        let needed = match needed {
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
    Ok(())
}

/// Reads a JSON body; errors name the line, column and field.
pub(super) fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is larger than the limit")
        } else {
            ApiError::bad_request("unreadable_body", rejection.body_text())
        }
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
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

pub(super) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn ready(State(service): State<Shared>) -> Response {
    if service.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "recovering").into_response()
    }
}

async fn metrics(State(service): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], service.render_metrics()).into_response()
}
