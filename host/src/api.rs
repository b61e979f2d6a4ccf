//! The HTTP API: routes, auth, request ids and metrics, JSON bodies with field-naming errors.
//! Everything under `/v1` needs a bearer token; health and metrics do not.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
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

fn authorize(service: &Service, headers: &HeaderMap, needed: Role) -> Result<(), ApiError> {
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
fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
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

fn no_content() -> Response {
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Locations {
    /// The locations.
    locations: Vec<LocationDto>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Products {
    /// The products.
    products: Vec<ProductDto>,
}

#[utoipa::path(get, path = "/v1/locations", tag = "catalog", responses((status = 200, description = "every location", body = Locations), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn list_locations(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let locations: Vec<LocationDto> = catalog.locations().iter().map(|l| s.location_dto(l)).collect();
    Ok(axum::Json(json!({ "locations": locations })).into_response())
}

#[utoipa::path(get, path = "/v1/locations/{id}", tag = "catalog", params(("id" = String, Path, description = "location id")), responses((status = 200, body = LocationDto), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn get_location(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let location = catalog
        .location_id(&id)
        .ok_or_else(|| ApiError::not_found("unknown_location", format!("no location `{id}`")))?;
    Ok(axum::Json(s.location_dto(catalog.location(location))).into_response())
}

#[utoipa::path(post, path = "/v1/locations", tag = "catalog", request_body = Locations, responses((status = 204, description = "all stored"), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn upsert_locations(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: Locations = parse_json(body)?;
    s.upsert_locations(body.locations).await?;
    Ok(no_content())
}

#[utoipa::path(put, path = "/v1/locations/{id}", tag = "catalog", params(("id" = String, Path)), request_body = LocationDto, responses((status = 204, description = "stored"), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn put_location(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let location: LocationDto = parse_json(body)?;
    if location.id != id {
        return Err(ApiError::invalid("id_mismatch", format!("the body's id `{}` is not `{id}`", location.id)).at("id"));
    }
    s.upsert_locations(vec![location]).await.map_err(strip_batch_prefix)?;
    Ok(no_content())
}

// A single upsert reports fields without the batch's `locations[0].` prefix.
fn strip_batch_prefix(mut error: ApiError) -> ApiError {
    if let Some(field) = &error.field
        && let Some(dot) = field.find("].")
        && field.starts_with(['l', 'p'])
    {
        error.field = Some(field[dot + 2..].to_owned());
    } else if error.field.as_deref().is_some_and(|f| f.ends_with("[0]")) {
        error.field = None;
    }
    error
}

#[utoipa::path(get, path = "/v1/products", tag = "catalog", responses((status = 200, body = Products), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn list_products(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let products: Vec<ProductDto> = catalog.products().iter().map(|p| s.product_dto(p)).collect();
    Ok(axum::Json(json!({ "products": products })).into_response())
}

#[utoipa::path(get, path = "/v1/products/{sku}", tag = "catalog", params(("sku" = String, Path)), responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn get_product(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let id = catalog.sku_id(&sku).ok_or_else(|| ApiError::not_found("unknown_sku", format!("no sku `{sku}`")))?;
    Ok(axum::Json(s.product_dto(catalog.product(id))).into_response())
}

#[utoipa::path(post, path = "/v1/products", tag = "catalog", request_body = Products, responses((status = 204, description = "all stored"), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn upsert_products(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: Products = parse_json(body)?;
    s.upsert_products(body.products).await?;
    Ok(no_content())
}

#[utoipa::path(put, path = "/v1/products/{sku}", tag = "catalog", params(("sku" = String, Path)), request_body = ProductDto, responses((status = 204, description = "stored"), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn put_product(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(sku): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let product: ProductDto = parse_json(body)?;
    if product.sku != sku {
        return Err(
            ApiError::invalid("id_mismatch", format!("the body's sku `{}` is not `{sku}`", product.sku)).at("sku")
        );
    }
    s.upsert_products(vec![product]).await.map_err(strip_batch_prefix)?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/inventory", tag = "inventory", request_body = StockLevels, responses((status = 204, description = "all set"), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn set_stock(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: StockLevels = parse_json(body)?;
    s.set_stock(body.levels).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/inventory/adjustments", tag = "inventory", request_body = StockAdjustments, responses((status = 204, description = "all applied"), (status = 422, description = "unknown sku or location, or on hand would go below zero", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn adjust_stock(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: StockAdjustments = parse_json(body)?;
    s.adjust_stock(body.adjustments).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1/inventory/{sku}", tag = "inventory", params(("sku" = String, Path)), responses((status = 200, body = AtpDto), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn atp(State(s): State<Shared>, headers: HeaderMap, Path(sku): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.atp(&sku)?).into_response())
}

#[utoipa::path(post, path = "/v1/orders/route", tag = "orders", request_body = OrderRequest, responses((status = 200, description = "the plan and its explanation; nothing reserved", body = DryRun), (status = 422, body = ErrorBody), (status = 409, description = "no binding", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn dry_run(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let order: OrderRequest = parse_json(body)?;
    Ok(axum::Json(s.dry_run(&order)?).into_response())
}

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderRequest, params(("Idempotency-Key" = Option<String>, Header, description = "names one order; reused with another order id: 422")), responses((status = 201, description = "routed and reserved (or rejected), durably", body = OrderRecord), (status = 200, description = "the same order again", body = OrderRecord), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, description = "the store could not commit; nothing was reserved", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn create_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let order: OrderRequest = parse_json(body)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|v| !v.is_empty() && v.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_header", "Idempotency-Key must be 1-255 visible characters")
                })?
                .to_owned(),
        ),
    };
    Ok(match s.create_order(order, key).await? {
        Created::New(record) => (StatusCode::CREATED, axum::Json(record)).into_response(),
        Created::Replayed(record) => (StatusCode::OK, axum::Json(record)).into_response(),
    })
}

#[utoipa::path(put, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)), request_body = OrderRequest,
    responses((status = 200, description = "the scheduled order, changed", body = OrderRecord),
        (status = 409, description = "only a scheduled order can be changed", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let request: OrderRequest = parse_json(body)?;
    Ok(axum::Json(s.change_order(&id, request).await?).into_response())
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)), responses((status = 200, body = OrderRecord), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn get_order(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.order(&id).await?).into_response())
}

#[utoipa::path(post, path = "/v1/orders/{id}/confirm", tag = "orders", params(("id" = String, Path)), responses((status = 200, description = "the reservation no longer expires", body = OrderRecord), (status = 409, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn confirm_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    Ok(axum::Json(s.confirm(&id).await?).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    /// Why (kept in the order's history).
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)), request_body = CancelBody, responses((status = 200, description = "cancelled; stock released", body = OrderRecord), (status = 409, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn cancel_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: CancelBody =
        if body.as_ref().is_ok_and(|b| b.is_empty()) { CancelBody::default() } else { parse_json(body)? };
    Ok(axum::Json(s.cancel(&id, &body.reason).await?).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ShipBody {
    /// The location whose shipment shipped; absent: every open shipment.
    #[serde(default)]
    location: Option<String>,
    /// The carrier.
    #[serde(default)]
    carrier: Option<String>,
    /// Carrier tracking number (kept on the shipment and in the order's history).
    #[serde(default)]
    tracking: Option<String>,
}

#[utoipa::path(post, path = "/v1/orders/{id}/ship", tag = "orders", params(("id" = String, Path)), request_body = ShipBody, responses((status = 200, description = "units consumed", body = OrderRecord), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn ship_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: ShipBody =
        if body.as_ref().is_ok_and(|b| b.is_empty()) { ShipBody::default() } else { parse_json(body)? };
    let event = FulfilmentEvent {
        event: ShipmentState::Shipped,
        location: body.location,
        carrier: body.carrier,
        tracking: body.tracking,
        reason: String::new(),
    };
    Ok(axum::Json(s.fulfilment_event(&id, &event).await?).into_response())
}

#[utoipa::path(post, path = "/v1/orders/{id}/events", tag = "orders", params(("id" = String, Path)), request_body = FulfilmentEvent,
    responses((status = 200, description = "the order after the event (a rejection re-routes the shipment's units)", body = OrderRecord),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn fulfilment_event(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let event: FulfilmentEvent = parse_json(body)?;
    Ok(axum::Json(s.fulfilment_event(&id, &event).await?).into_response())
}

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

async fn upload(s: &Service, kind: Kind, name: Option<String>, body: Result<Bytes, BytesRejection>) -> Response {
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
async fn upload_policy(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(upload(&s, Kind::Dsl, query.name, body).await)
}

#[utoipa::path(post, path = "/v1/plugins", tag = "policies", params(("name" = Option<String>, Query)), request_body(content = Vec<u8>, content_type = "application/wasm"), responses((status = 201, description = "a new version", body = VersionMeta), (status = 200, body = VersionMeta), (status = 422, description = "not a valid plugin for this host"), (status = 413, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn upload_plugin(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(upload(&s, Kind::Wasm, query.name, body).await)
}

#[utoipa::path(get, path = "/v1/policies", tag = "policies", responses((status = 200, description = "every version, in upload order"), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn list_versions(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(json!({ "versions": s.versions() })).into_response())
}

#[utoipa::path(get, path = "/v1/policies/{version}", tag = "policies", params(("version" = String, Path)), responses((status = 200, body = VersionMeta), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn get_version(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.version(&version)?).into_response())
}

#[utoipa::path(get, path = "/v1/bindings", tag = "bindings", responses((status = 200, description = "live bindings and every change"), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn list_bindings(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let (live, history) = s.bindings();
    Ok(axum::Json(json!({ "bindings": live, "history": history })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BindBody {
    /// The version to bind.
    version: String,
    /// The version that routes when it fails; absent: the order is refused.
    #[serde(default)]
    fallback: Option<String>,
}

#[utoipa::path(put, path = "/v1/bindings/{group}", tag = "bindings", params(("group" = String, Path, description = "product group, or `default`")), request_body = BindBody, responses((status = 200, description = "bound; the next order uses it", body = BindingDto), (status = 422, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
async fn bind(
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
async fn rollback(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(axum::Json(s.rollback(&group).await?).into_response())
}

/// An empty body, for tests.
pub fn empty() -> Body {
    Body::empty()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ShadowBody {
    /// The candidate version to evaluate beside the live binding.
    version: String,
}

#[utoipa::path(put, path = "/v1/shadows/{group}", tag = "bindings", params(("group" = String, Path)), request_body = ShadowBody,
    responses((status = 200, description = "shadowing from the next order on", body = ShadowSummary), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_shadow(
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
async fn get_shadow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.shadow(&group)?).into_response())
}

#[utoipa::path(delete, path = "/v1/shadows/{group}", tag = "bindings", params(("group" = String, Path)),
    responses((status = 200, description = "stopped; the final summary", body = ShadowSummary), (status = 404, body = ErrorBody)))]
async fn stop_shadow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    Ok(axum::Json(s.stop_shadow(&group)?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    /// Where to POST deliveries (`http` or `https`).
    url: String,
    /// Event types: `order.reserved`, `order.rejected`, `order.confirmed`, `order.cancelled`,
    /// `order.expired`, `order.picked`, `order.packed`, `order.shipped`, `order.delivered`,
    /// `order.rerouted`; `*` for all.
    events: Vec<String>,
    /// The HMAC key (at least 16 characters); absent: one is generated and returned once.
    #[serde(default)]
    secret: Option<String>,
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookBody,
    responses((status = 201, description = "subscribed; the only reply that shows the secret", body = Subscription),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_webhook(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    let body: WebhookBody = parse_json(body)?;
    let subscription = s.add_webhook(&body.url, body.events, body.secret).await?;
    Ok((StatusCode::CREATED, axum::Json(subscription)).into_response())
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "subscriptions with their latest deliveries (attempts, last status and error)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_webhooks(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    let webhooks: Vec<serde_json::Value> = s
        .webhooks(20)
        .into_iter()
        .map(|(subscription, deliveries)| json!({ "subscription": subscription, "recent_deliveries": deliveries }))
        .collect();
    Ok(axum::Json(json!({ "webhooks": webhooks })).into_response())
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "unsubscribed"), (status = 404, body = ErrorBody)))]
async fn remove_webhook(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    s.remove_webhook(&id).await?;
    Ok(no_content())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecurringBody {
    /// Its id; its orders are `<id>-1`, `<id>-2`, ...
    id: String,
    /// `daily`, `weekly`, `monthly`, or a count and unit: `14d`, `2mo`, `12h`, `30m`, `45s`.
    every: String,
    /// The first run (RFC 3339); absent: now.
    #[serde(default)]
    start_at: Option<String>,
    /// What each order ships where.
    order: RecurringTemplate,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecurringTemplate {
    #[serde(default)]
    channel: Option<String>,
    ship_to: crate::dto::ShipToDto,
    lines: Vec<crate::dto::LineDto>,
}

#[utoipa::path(post, path = "/v1/recurring-orders", tag = "orders", request_body = RecurringBody,
    responses((status = 201, description = "scheduled; orders are created when due", body = RecurringOrder),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_recurring(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: RecurringBody = parse_json(body)?;
    let template = OrderRequest {
        id: String::new(),
        placed_at: None,
        channel: body.order.channel.unwrap_or_else(|| "web".to_owned()),
        hold_until: None,
        requested_delivery: None,
        ship_to: body.order.ship_to,
        lines: body.order.lines,
    };
    let recurring = s.add_recurring(&body.id, &body.every, body.start_at.as_deref(), template).await?;
    Ok((StatusCode::CREATED, axum::Json(recurring)).into_response())
}

#[utoipa::path(get, path = "/v1/recurring-orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "its schedule, the orders it created and every run", body = RecurringOrder), (status = 404, body = ErrorBody)))]
async fn get_recurring(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.recurring(&id).await?).into_response())
}

#[utoipa::path(delete, path = "/v1/recurring-orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "stopped; the orders it created stay", body = RecurringOrder), (status = 404, body = ErrorBody)))]
async fn stop_recurring(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    Ok(axum::Json(s.stop_recurring(&id).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    /// Shipped units coming back.
    lines: Vec<ReturnLine>,
    /// Why.
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/returns", tag = "orders", params(("id" = String, Path)), request_body = ReturnBody,
    responses((status = 200, description = "the order with the new return: its location (chosen by the order's policy) and label", body = OrderRecord),
        (status = 422, description = "units that did not ship, or no location can take them", body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn request_return(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: ReturnBody = parse_json(body)?;
    Ok(axum::Json(s.request_return(&id, body.lines, &body.reason).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReceiveBody {
    /// Units fit to sell again (absent: all of them).
    #[serde(default)]
    sellable: Option<Vec<ReturnLine>>,
    /// `refund` or `exchange`.
    outcome: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/returns/{return_id}/receive", tag = "orders",
    params(("id" = String, Path), ("return_id" = String, Path)), request_body = ReceiveBody,
    responses((status = 200, description = "received; sellable units restocked at the return location", body = OrderRecord),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive_return(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((id, return_id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: ReceiveBody = parse_json(body)?;
    Ok(axum::Json(s.receive_return(&id, &return_id, body.sellable, &body.outcome).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InboundBody {
    /// Stock on its way.
    entries: Vec<crate::service::InboundRequest>,
}

#[utoipa::path(post, path = "/v1/inventory/inbound", tag = "inventory", request_body = InboundBody,
    responses((status = 201, description = "recorded (all or none)", body = Vec<Inbound>), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_inbound(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: InboundBody = parse_json(body)?;
    let created = s.add_inbound(body.entries).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "inbound": created }))).into_response())
}

#[utoipa::path(get, path = "/v1/inventory/inbound", tag = "inventory",
    responses((status = 200, description = "every inbound record: expected, promised to backorders, received"), (status = 401, body = ErrorBody)))]
async fn list_inbound(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(json!({ "inbound": s.inbound() })).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReceiveInboundBody {
    /// Units actually received (default: as expected).
    #[serde(default)]
    qty: Option<u32>,
}

#[utoipa::path(post, path = "/v1/inventory/inbound/{id}/receive", tag = "inventory", params(("id" = String, Path)),
    request_body = ReceiveInboundBody,
    responses((status = 200, description = "on hand; waiting orders served in order of placement", body = Inbound),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn receive_inbound(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: ReceiveInboundBody =
        if body.as_ref().is_ok_and(|b| b.is_empty()) { ReceiveInboundBody::default() } else { parse_json(body)? };
    Ok(axum::Json(s.receive_inbound(&id, body.qty).await?).into_response())
}
