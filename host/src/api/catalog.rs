//! Catalog and stock handlers: locations, products, stock levels and adjustments, inbound
//! stock, ATP.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::dto::{
    AtpChangesDto, AtpChangesQuery, AtpDto, Inbound, InboundBody, InboundList, LocationDto, Locations, PostalPlace,
    ProductDto, Products, ReceiveInboundBody, StockAdjustments, StockLevels,
};
use super::extract::{Auth, JsonBody, OptionalJsonBody, Reader, Writer};
use super::{ApiError, ErrorBody, Shared, complete};
use crate::error::ServiceError;
use crate::service::MAX_FEED_PAGE;

#[utoipa::path(
    get,
    path = "/v1/locations",
    tag = "catalog",
    responses((status = 200, description = "every location", body = Locations)),
)]
pub(super) async fn list_locations(_: Auth<Reader>, State(s): State<Shared>) -> Json<Locations> {
    let catalog = s.catalog();
    Json(Locations { locations: catalog.locations().iter().map(|l| s.location_record(l).into()).collect() })
}

#[utoipa::path(
    get,
    path = "/v1/postal-codes/{country}/{code}",
    tag = "catalog",
    params(
        ("country" = String, Path, description = "`US`"),
        ("code" = String, Path, description = "a ZIP code: `19103` or `19103-1234`"),
    ),
    responses(
        (status = 200, description = "where the postal code is: its centroid", body = PostalPlace),
        (status = 404, description = "not a postal code the service knows", body = ErrorBody),
    ),
)]
pub(super) async fn postal_code(
    _: Auth<Reader>,
    Path((country, code)): Path<(String, String)>,
) -> Result<Json<PostalPlace>, ApiError> {
    let place = crate::geo::locate(&country, &code).map_err(|error| {
        let field = if matches!(error, crate::geo::GeoError::Country(_)) { "country" } else { "code" };
        ApiError::not_found("unknown_postal_code", error.to_string()).at(field)
    })?;
    Ok(Json(PostalPlace {
        country: "US".to_owned(),
        postal_code: place.postal_code.to_owned(),
        lat: place.lat,
        lon: place.lon,
        city: place.city.to_owned(),
        state: place.state.to_owned(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/locations/{id}",
    tag = "catalog",
    params(("id" = String, Path, description = "location id")),
    responses((status = 200, body = LocationDto), (status = 404, body = ErrorBody)),
)]
pub(super) async fn get_location(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<LocationDto>, ApiError> {
    let catalog = s.catalog();
    let location = catalog
        .location_id(&id)
        .ok_or_else(|| ApiError::not_found("unknown_location", format!("no location `{id}`")))?;
    Ok(Json(s.location_record(catalog.location(location)).into()))
}

#[utoipa::path(
    post,
    path = "/v1/locations",
    tag = "catalog",
    request_body = Locations,
    responses((status = 204, description = "all stored"), (status = 422, body = ErrorBody)),
)]
pub(super) async fn upsert_locations(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<Locations>,
) -> Result<StatusCode, ApiError> {
    let locations = body.locations.into_iter().map(Into::into).collect();
    complete(async move { s.upsert_locations(locations).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/v1/locations/{id}",
    tag = "catalog",
    params(("id" = String, Path)),
    request_body = LocationDto,
    responses((status = 204, description = "stored"), (status = 422, body = ErrorBody)),
)]
pub(super) async fn put_location(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    JsonBody(location): JsonBody<LocationDto>,
) -> Result<StatusCode, ApiError> {
    if location.id != id {
        let message = format!("the body's id `{}` is not `{id}`", location.id);
        return Err(ServiceError::invalid("id_mismatch", message).at("id").into());
    }
    complete(async move { s.upsert_locations(vec![location.into()]).await }).await.map_err(strip_batch_prefix)?;
    Ok(StatusCode::NO_CONTENT)
}

// A single upsert reports fields without the batch's prefix (`locations[0].`,
// `products[0].`, `carrier_services[0].`); an error about the whole item names no field.
pub(super) fn strip_batch_prefix(mut error: ApiError) -> ApiError {
    for batch in ["locations[0]", "products[0]", "carrier_services[0]"] {
        if let Some(rest) = error.field.as_deref().and_then(|field| field.strip_prefix(batch)) {
            error.field = rest.strip_prefix('.').map(str::to_owned);
            break;
        }
    }
    error
}

#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalog",
    responses((status = 200, body = Products)),
)]
pub(super) async fn list_products(_: Auth<Reader>, State(s): State<Shared>) -> Json<Products> {
    let catalog = s.catalog();
    Json(Products { products: catalog.products().iter().map(|p| s.product_record(p).into()).collect() })
}

#[utoipa::path(
    get,
    path = "/v1/products/{sku}",
    tag = "catalog",
    params(("sku" = String, Path)),
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody)),
)]
pub(super) async fn get_product(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(sku): Path<String>,
) -> Result<Json<ProductDto>, ApiError> {
    let catalog = s.catalog();
    let id = catalog.sku_id(&sku).ok_or_else(|| ApiError::not_found("unknown_sku", format!("no sku `{sku}`")))?;
    Ok(Json(s.product_record(catalog.product(id)).into()))
}

#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalog",
    request_body = Products,
    responses((status = 204, description = "all stored"), (status = 422, body = ErrorBody)),
)]
pub(super) async fn upsert_products(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<Products>,
) -> Result<StatusCode, ApiError> {
    let products = body.products.into_iter().map(Into::into).collect();
    complete(async move { s.upsert_products(products).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/v1/products/{sku}",
    tag = "catalog",
    params(("sku" = String, Path)),
    request_body = ProductDto,
    responses((status = 204, description = "stored"), (status = 422, body = ErrorBody)),
)]
pub(super) async fn put_product(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(sku): Path<String>,
    JsonBody(product): JsonBody<ProductDto>,
) -> Result<StatusCode, ApiError> {
    if product.sku != sku {
        let message = format!("the body's sku `{}` is not `{sku}`", product.sku);
        return Err(ServiceError::invalid("id_mismatch", message).at("sku").into());
    }
    complete(async move { s.upsert_products(vec![product.into()]).await }).await.map_err(strip_batch_prefix)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/inventory",
    tag = "inventory",
    request_body = StockLevels,
    responses((status = 204, description = "all set"), (status = 422, body = ErrorBody)),
)]
pub(super) async fn set_stock(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<StockLevels>,
) -> Result<StatusCode, ApiError> {
    let levels = body.levels.into_iter().map(Into::into).collect();
    complete(async move { s.set_stock(levels).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/inventory/adjustments",
    tag = "inventory",
    request_body = StockAdjustments,
    responses(
        (status = 204, description = "all applied"),
        (
            status = 422,
            description = "unknown sku or location, or on hand out of range",
            body = ErrorBody,
        ),
    ),
)]
pub(super) async fn adjust_stock(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<StockAdjustments>,
) -> Result<StatusCode, ApiError> {
    let adjustments = body.adjustments.into_iter().map(Into::into).collect();
    complete(async move { s.adjust_stock(adjustments).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/inventory/{sku}",
    tag = "inventory",
    params(("sku" = String, Path)),
    responses((status = 200, body = AtpDto), (status = 404, body = ErrorBody)),
)]
pub(super) async fn atp(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(sku): Path<String>,
) -> Result<Json<AtpDto>, ApiError> {
    Ok(Json(s.atp(&sku)?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/inventory/inbound",
    tag = "inventory",
    request_body = InboundBody,
    responses(
        (status = 201, description = "recorded (all or none)", body = InboundList),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn add_inbound(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<InboundBody>,
) -> Result<(StatusCode, Json<InboundList>), ApiError> {
    let entries = body.entries.into_iter().map(Into::into).collect();
    let created = complete(async move { s.add_inbound(entries).await }).await?;
    Ok((StatusCode::CREATED, Json(InboundList { inbound: created.into_iter().map(Into::into).collect() })))
}

#[utoipa::path(
    get,
    path = "/v1/inventory/inbound",
    tag = "inventory",
    responses(
        (
            status = 200,
            description = "every inbound record: expected, promised, received",
            body = InboundList,
        ),
    ),
)]
pub(super) async fn list_inbound(_: Auth<Reader>, State(s): State<Shared>) -> Json<InboundList> {
    Json(InboundList { inbound: s.inbound().into_iter().map(Into::into).collect() })
}

#[utoipa::path(
    post,
    path = "/v1/inventory/inbound/{id}/receive",
    tag = "inventory",
    params(("id" = String, Path)),
    request_body(
        content = Option<ReceiveInboundBody>,
        description = "optional: an empty body receives what was expected",
    ),
    responses(
        (
            status = 200,
            description = "on hand; waiting orders served in order of placement",
            body = Inbound,
        ),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
)]
pub(super) async fn receive_inbound(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ReceiveInboundBody>,
) -> Result<Json<Inbound>, ApiError> {
    let received = complete(async move { s.receive_inbound(&id, body.qty).await }).await?;
    Ok(Json(received.into()))
}

#[utoipa::path(
    get,
    path = "/v1/inventory/changes",
    tag = "inventory",
    params(AtpChangesQuery),
    responses(
        (
            status = 200,
            description = "ATP changes after `since`, one per SKU per interval",
            body = AtpChangesDto,
        ),
        (
            status = 400,
            description = "a query parameter that does not parse or is out of range",
            body = ErrorBody,
        ),
    )
)]
pub(super) async fn atp_changes(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Query(query): Query<AtpChangesQuery>,
) -> Result<Json<AtpChangesDto>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        let message = format!("limit is 1 to {MAX_FEED_PAGE}, not {limit}");
        return Err(ApiError::bad_request("invalid_query", message).at("limit"));
    }
    Ok(Json(s.atp_changes(query.since, limit).into()))
}
