//! The HTTP edge: routes, extractors (`extract.rs`: the bearer token's role, JSON bodies),
//! wire types (`dto/`), the one error shape (`error.rs`), request ids and metrics, and the
//! OpenAPI document. Handlers (by area in `catalog.rs`, `orders.rs`, `policies.rs`,
//! `webhooks.rs`) extract, call one service operation and convert its answer; nothing else.
//! Everything under `/v1` needs a bearer token; health and metrics do not.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ServiceError;
use crate::service::Service;

mod catalog;
mod console;
pub mod dto;
mod error;
mod extract;
mod orders;
mod policies;
mod shipping;
mod webhooks;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use extract::parse_json;

type Shared = Arc<Service>;

/// The service's router: every route, with auth, request ids, body limits, timeouts, panic
/// catching, tracing and metrics.
pub fn app(service: Shared) -> Router {
    let json_limit = service.config().max_body_bytes;
    let upload_limit = service.config().max_plugin_bytes.max(service.config().max_policy_bytes) + 1;
    let request_timeout = Duration::from_secs(service.config().request_timeout_secs.max(1));
    // A plugin upload waits for its compile, which has a budget of its own (a JavaScript
    // plugin takes seconds): the request may take that long on top of the usual limit.
    let upload_timeout = request_timeout + switchyard_plugins::Limits::default().compile_timeout;
    let timeout = |limit| TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit);
    let uploads = Router::new()
        .route("/v1/policies", post(policies::upload_policy).get(policies::list_versions))
        .route("/v1/policies/check", post(policies::check_policy))
        .route("/v1/policies/try", post(policies::try_policy))
        .layer(timeout(request_timeout))
        .route("/v1/plugins", post(policies::upload_plugin).layer(timeout(upload_timeout)))
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(RequestBodyLimitLayer::new(upload_limit));
    let api = Router::new()
        .route("/v1/postal-codes/{country}/{code}", get(catalog::postal_code))
        .route("/v1/locations", get(catalog::list_locations).post(catalog::upsert_locations))
        .route("/v1/locations/{id}", get(catalog::get_location).put(catalog::put_location))
        .route("/v1/products", get(catalog::list_products).post(catalog::upsert_products))
        .route("/v1/products/{sku}", get(catalog::get_product).put(catalog::put_product))
        .route("/v1/inventory", post(catalog::set_stock))
        .route("/v1/inventory/adjustments", post(catalog::adjust_stock))
        .route("/v1/inventory/inbound", get(catalog::list_inbound).post(catalog::add_inbound))
        .route("/v1/inventory/inbound/{id}/receive", post(catalog::receive_inbound))
        .route("/v1/inventory/changes", get(catalog::atp_changes))
        .route("/v1/inventory/{sku}", get(catalog::atp))
        .route("/v1/orders", post(orders::create_order).get(orders::list_orders))
        .route("/v1/orders/route", post(orders::dry_run))
        .route("/v1/orders/{id}", get(orders::get_order).put(orders::change_order))
        .route("/v1/orders/{id}/explanation", get(orders::explain_order))
        .route("/v1/orders/{id}/confirm", post(orders::confirm_order))
        .route("/v1/orders/{id}/cancel", post(orders::cancel_order))
        .route("/v1/orders/{id}/release", post(orders::release_order))
        .route("/v1/reoptimize", post(orders::reoptimize))
        .route("/v1/orders/{id}/ship", post(orders::ship_order))
        .route("/v1/orders/{id}/events", post(orders::fulfilment_event))
        .route("/v1/orders/{id}/returns", post(orders::request_return))
        .route("/v1/orders/{id}/returns/{return_id}/receive", post(orders::receive_return))
        .route("/v1/policies/{version}", get(policies::get_version))
        .route("/v1/policies/{version}/source", get(policies::get_version_source))
        .route("/v1/session", get(console::session))
        .route("/v1/bindings", get(policies::list_bindings))
        .route("/v1/bindings/{group}", put(policies::bind))
        .route("/v1/bindings/{group}/rollback", post(policies::rollback))
        .route("/v1/look-ahead", get(policies::look_ahead).post(policies::solve_look_ahead))
        .route(
            "/v1/shadows/{group}",
            get(policies::get_shadow).put(policies::start_shadow).delete(policies::stop_shadow),
        )
        .route("/v1/recurring-orders", post(orders::add_recurring))
        .route("/v1/recurring-orders/{id}", get(orders::get_recurring).delete(orders::stop_recurring))
        .route("/v1/carrier-services", get(shipping::list_carrier_services).post(shipping::upsert_carrier_services))
        .route(
            "/v1/carrier-services/{id}",
            get(shipping::get_carrier_service)
                .put(shipping::put_carrier_service)
                .delete(shipping::remove_carrier_service),
        )
        .route("/v1/promise", post(shipping::promise))
        .route("/v1/promise/product", post(shipping::promise_product))
        .route("/v1/webhooks", get(webhooks::list_webhooks).post(webhooks::add_webhook))
        .route("/v1/webhooks/{id}", delete(webhooks::remove_webhook))
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(RequestBodyLimitLayer::new(json_limit))
        .layer(timeout(request_timeout));
    let request_id = HeaderName::from_static(REQUEST_ID);
    let pages = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/console", get(console::page))
        .route("/console/", get(console::page))
        .route("/console/{file}", get(console::file))
        .layer(timeout(request_timeout));
    Router::new()
        .merge(api)
        .merge(uploads)
        .merge(pages)
        .fallback(|| async { ApiError::not_found("no_route", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        // Innermost first (the time limits are on the routes above), errors of the layers in
        // the JSON shape, metrics, the tracing span, request ids, and outermost, a panic
        // becomes a 500.
        .layer(middleware::map_response(errors_as_json))
        .layer(middleware::from_fn_with_state(Arc::clone(&service), observe))
        .layer(TraceLayer::new_for_http().make_span_with(span_for).on_request(()).on_response(log_response))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RequestIds))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(service)
}

/// The header that carries a request's id (a client may set its own, up to 64 characters).
const REQUEST_ID: &str = "x-request-id";

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

// Request ids `req-<n>`; a client's own id is kept when it is short enough.
#[derive(Clone, Copy)]
struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, request: &Request<B>) -> Option<RequestId> {
        let given = request.headers().get(REQUEST_ID).filter(|v| !v.is_empty() && v.len() <= 64);
        let id = match given {
            Some(value) => value.clone(),
            None => HeaderValue::from_str(&format!("req-{:x}", REQUEST_SEQ.fetch_add(1, Ordering::Relaxed))).ok()?,
        };
        Some(RequestId::new(id))
    }
}

fn span_for<B>(request: &Request<B>) -> tracing::Span {
    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", request_id = %id, method = %request.method(), route)
}

fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    let status = response.status().as_u16();
    let elapsed_us = latency.as_micros() as u64;
    if response.status().is_server_error() {
        tracing::warn!(status, elapsed_us, "served");
    } else {
        tracing::debug!(status, elapsed_us, "served");
    }
}

// A panic in a request is a bug: the client gets a 500 in the API's shape, the log the detail.
fn panic_response(detail: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = detail
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| detail.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(detail, "a request panicked");
    ApiError::from(ServiceError::internal(format!("panic: {detail}"))).into_response()
}

// Errors answered by a layer or by axum itself (a timeout, a body over the limit, a path
// parameter that does not parse) get the API's one error shape.
async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, fallback) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::NOT_FOUND => ("no_route", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this endpoint does not take that method"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took longer than the limit"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is larger than the limit"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "the body's content type is not accepted"),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "the request cannot be used"),
        _ if status.is_server_error() => ("internal", "internal error"),
        _ => ("client_error", "the request cannot be served"),
    };
    let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    let message = if text.is_empty() { fallback.to_owned() } else { text.to_owned() };
    ApiError::new(status, code, message).into_response()
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
        catalog::postal_code,
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
        catalog::atp_changes,
        orders::dry_run,
        orders::list_orders,
        orders::create_order,
        orders::get_order,
        orders::explain_order,
        orders::confirm_order,
        orders::cancel_order,
        orders::release_order,
        orders::reoptimize,
        orders::ship_order,
        orders::fulfilment_event,
        orders::change_order,
        orders::request_return,
        orders::receive_return,
        orders::add_recurring,
        orders::get_recurring,
        orders::stop_recurring,
        policies::upload_policy,
        policies::check_policy,
        policies::try_policy,
        policies::upload_plugin,
        policies::list_versions,
        policies::get_version,
        policies::get_version_source,
        console::session,
        policies::list_bindings,
        policies::bind,
        policies::rollback,
        policies::look_ahead,
        policies::solve_look_ahead,
        policies::start_shadow,
        policies::get_shadow,
        policies::stop_shadow,
        shipping::list_carrier_services,
        shipping::get_carrier_service,
        shipping::upsert_carrier_services,
        shipping::put_carrier_service,
        shipping::remove_carrier_service,
        shipping::promise,
        shipping::promise_product,
        webhooks::add_webhook,
        webhooks::list_webhooks,
        webhooks::remove_webhook,
    ),
    components(schemas(dto::wire::UploadName, dto::wire::IdempotencyKey)),
    modifiers(&CommonResponses, &IntegerRanges),
    security(("bearer" = []))
)]
pub struct ApiDoc;

// What every operation under `/v1` may answer, declared once: the bearer scheme, 401 (no or
// unknown token), 403 (a role that may not do this), 408 (over the time limit), 503 for a
// write the store did not take, 400 for a query that does not parse, and 400 (a malformed
// body) and 413 (a body over the limit) where the operation reads one.
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
            let reads = item.get.iter_mut().map(|operation| (operation, false));
            let writes = [&mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
                .into_iter()
                .flatten()
                .map(|operation| (operation, true));
            for (operation, writes) in reads.chain(writes) {
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
                };
                add("401", "no token, or one this service does not know");
                add("403", "the token's role may not do this");
                add("408", "the request took longer than `request_timeout_secs`");
                if writes {
                    add("503", "the store could not make the change durable; nothing was applied, retry");
                }
                if has_query {
                    add("400", "a query parameter that does not parse or is out of range");
                }
                if operation.request_body.is_some() {
                    add("400", "the body is not JSON of the documented shape; the error names the field");
                    add("413", "the body is larger than the limit");
                    add("422", "the body breaks a rule of the service; the error names the field");
                }
            }
        }
    }
}

// Unsigned integers say their range: `uint32` is 0 to 4294967295 (JSON Schema knows no
// unsigned formats, so a client generator reads `minimum` and `maximum`).
struct IntegerRanges;

impl utoipa::Modify for IntegerRanges {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut document) = serde_json::to_value(&*openapi) else { return };
        add_unsigned_ranges(&mut document);
        if let Ok(ranged) = serde_json::from_value(document) {
            *openapi = ranged;
        }
    }
}

fn add_unsigned_ranges(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            // utoipa writes these formats `u-int32`; the usual spelling is `uint32`.
            let range = match fields.get("format").and_then(serde_json::Value::as_str) {
                Some("u-int8" | "uint8") => Some(("uint8", u64::from(u8::MAX))),
                Some("u-int16" | "uint16") => Some(("uint16", u64::from(u16::MAX))),
                Some("u-int32" | "uint32") => Some(("uint32", u64::from(u32::MAX))),
                Some("u-int64" | "uint64") => Some(("uint64", u64::MAX)),
                _ => None,
            };
            if let Some((format, maximum)) = range {
                fields.insert("format".to_owned(), format.into());
                fields.entry("maximum").or_insert(maximum.into());
                fields.entry("minimum").or_insert(0.into());
            }
            fields.values_mut().for_each(add_unsigned_ranges);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_unsigned_ranges),
        _ => {}
    }
}

async fn openapi() -> Response {
    use utoipa::OpenApi;
    axum::Json(ApiDoc::openapi()).into_response()
}

// Latency and status metrics for every request, by route pattern.
async fn observe(State(service): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    service.metrics().request(route.as_deref(), method.as_str(), response.status().as_u16(), started.elapsed());
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
