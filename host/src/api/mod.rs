//! The HTTP edge: routes, extractors (`extract.rs`: the bearer token's role, JSON bodies),
//! wire types (`dto/`), the one error shape (`error.rs`), request ids and metrics, and the
//! OpenAPI document. Handlers (by area in `catalog.rs`, `orders.rs`, `policies.rs`,
//! `webhooks.rs`) extract, call one service operation and convert its answer; nothing else.
//! Everything under `/v1` needs a bearer token; health and metrics do not.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

use crate::error::ServiceError;
use crate::service::Service;

mod catalog;
pub mod dto;
mod error;
mod extract;
mod orders;
mod policies;
mod webhooks;

pub use error::{ApiError, ErrorBody, ErrorDetail};

type Shared = Arc<Service>;

/// The service's router: every route, with auth, request ids, body limits and metrics.
pub fn app(service: Shared) -> Router {
    let json_limit = service.config().max_body_bytes;
    let upload_limit = service.config().max_plugin_bytes.max(service.config().max_policy_bytes) + 1;
    let uploads = Router::new()
        .route("/v1/policies", post(policies::upload_policy).get(policies::list_versions))
        .route("/v1/plugins", post(policies::upload_plugin))
        .layer(DefaultBodyLimit::max(upload_limit));
    let api = Router::new()
        .route("/v1/locations", get(catalog::list_locations).post(catalog::upsert_locations))
        .route("/v1/locations/{id}", get(catalog::get_location).put(catalog::put_location))
        .route("/v1/products", get(catalog::list_products).post(catalog::upsert_products))
        .route("/v1/products/{sku}", get(catalog::get_product).put(catalog::put_product))
        .route("/v1/inventory", post(catalog::set_stock))
        .route("/v1/inventory/adjustments", post(catalog::adjust_stock))
        .route("/v1/inventory/inbound", get(catalog::list_inbound).post(catalog::add_inbound))
        .route("/v1/inventory/inbound/{id}/receive", post(catalog::receive_inbound))
        .route("/v1/inventory/{sku}", get(catalog::atp))
        .route("/v1/orders", post(orders::create_order))
        .route("/v1/orders/route", post(orders::dry_run))
        .route("/v1/orders/{id}", get(orders::get_order).put(orders::change_order))
        .route("/v1/orders/{id}/confirm", post(orders::confirm_order))
        .route("/v1/orders/{id}/cancel", post(orders::cancel_order))
        .route("/v1/orders/{id}/ship", post(orders::ship_order))
        .route("/v1/orders/{id}/events", post(orders::fulfilment_event))
        .route("/v1/orders/{id}/returns", post(orders::request_return))
        .route("/v1/orders/{id}/returns/{return_id}/receive", post(orders::receive_return))
        .route("/v1/policies/{version}", get(policies::get_version))
        .route("/v1/bindings", get(policies::list_bindings))
        .route("/v1/bindings/{group}", put(policies::bind))
        .route("/v1/bindings/{group}/rollback", post(policies::rollback))
        .route(
            "/v1/shadows/{group}",
            get(policies::get_shadow).put(policies::start_shadow).delete(policies::stop_shadow),
        )
        .route("/v1/recurring-orders", post(orders::add_recurring))
        .route("/v1/recurring-orders/{id}", get(orders::get_recurring).delete(orders::stop_recurring))
        .route("/v1/webhooks", get(webhooks::list_webhooks).post(webhooks::add_webhook))
        .route("/v1/webhooks/{id}", delete(webhooks::remove_webhook))
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

/// Runs a service operation that writes to completion on a task of its own: a client that
/// goes away while its write is being committed does not cancel the write half-way.
async fn complete<T, F>(operation: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ServiceError>> + Send + 'static,
{
    match tokio::spawn(operation).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ServiceError::internal(format!("the operation did not finish: {error}")).into()),
    }
}

/// The OpenAPI 3.1 document, generated from the handlers and wire types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "switchyard",
        description = "Distributed order management: routing, reservations, policies and plugins."
    ),
    paths(
        catalog::list_locations,
        catalog::get_location,
        catalog::upsert_locations,
        catalog::put_location,
        catalog::list_products,
        catalog::get_product,
        catalog::upsert_products,
        catalog::put_product,
        catalog::set_stock,
        catalog::adjust_stock,
        catalog::add_inbound,
        catalog::list_inbound,
        catalog::receive_inbound,
        catalog::atp,
        orders::dry_run,
        orders::create_order,
        orders::get_order,
        orders::confirm_order,
        orders::cancel_order,
        orders::ship_order,
        orders::fulfilment_event,
        orders::change_order,
        orders::request_return,
        orders::receive_return,
        orders::add_recurring,
        orders::get_recurring,
        orders::stop_recurring,
        policies::upload_policy,
        policies::upload_plugin,
        policies::list_versions,
        policies::get_version,
        policies::list_bindings,
        policies::bind,
        policies::rollback,
        policies::start_shadow,
        policies::get_shadow,
        policies::stop_shadow,
        webhooks::add_webhook,
        webhooks::list_webhooks,
        webhooks::remove_webhook,
    ),
    modifiers(&CommonResponses),
    security(("bearer" = []))
)]
pub struct ApiDoc;

// What every operation under `/v1` may answer, declared once: the bearer scheme, 401 (no or
// unknown token) and 403 (a role that may not do this), and 400 (a malformed body) and 413
// (a body over the limit) where the operation reads one.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
                };
                add("401", "no token, or one this service does not know");
                add("403", "the token's role may not do this");
                if operation.request_body.is_some() {
                    add("400", "the body is not JSON of the documented shape; the error names the field");
                    add("413", "the body is larger than the limit");
                }
            }
        }
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
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().to_string();
    let span =
        tracing::info_span!("request", request_id = %id, %method, route = route.as_deref().unwrap_or("unmatched"));
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let status = response.status();
    service.metrics().request(route.as_deref(), &method, status.as_u16(), started.elapsed());
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

async fn ready(State(service): State<Shared>) -> Response {
    if service.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "recovering").into_response()
    }
}

async fn metrics(State(service): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], service.render_metrics()).into_response()
}
