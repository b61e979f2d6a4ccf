//! Catalog and stock handlers: locations, products, stock levels and adjustments, inbound
//! stock, ATP.

use super::*;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Locations {
    /// The locations.
    locations: Vec<LocationDto>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Products {
    /// The products.
    products: Vec<ProductDto>,
}

#[utoipa::path(get, path = "/v1/locations", tag = "catalog", responses((status = 200, description = "every location", body = Locations), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn list_locations(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let locations: Vec<LocationDto> = catalog.locations().iter().map(|l| s.location_dto(l)).collect();
    Ok(axum::Json(json!({ "locations": locations })).into_response())
}

#[utoipa::path(get, path = "/v1/locations/{id}", tag = "catalog", params(("id" = String, Path, description = "location id")), responses((status = 200, body = LocationDto), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn get_location(
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
pub(super) async fn upsert_locations(
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
pub(super) async fn put_location(
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
pub(super) fn strip_batch_prefix(mut error: ApiError) -> ApiError {
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
pub(super) async fn list_products(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let catalog = s.catalog();
    let products: Vec<ProductDto> = catalog.products().iter().map(|p| s.product_dto(p)).collect();
    Ok(axum::Json(json!({ "products": products })).into_response())
}

#[utoipa::path(get, path = "/v1/products/{sku}", tag = "catalog", params(("sku" = String, Path)), responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn get_product(
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
pub(super) async fn upsert_products(
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
pub(super) async fn put_product(
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
pub(super) async fn set_stock(
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
pub(super) async fn adjust_stock(
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
pub(super) async fn atp(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.atp(&sku)?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InboundBody {
    /// Stock on its way.
    entries: Vec<crate::service::InboundRequest>,
}

#[utoipa::path(post, path = "/v1/inventory/inbound", tag = "inventory", request_body = InboundBody,
    responses((status = 201, description = "recorded (all or none)", body = Vec<Inbound>), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn add_inbound(
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
pub(super) async fn list_inbound(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(json!({ "inbound": s.inbound() })).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReceiveInboundBody {
    /// Units actually received (default: as expected).
    #[serde(default)]
    qty: Option<u32>,
}

#[utoipa::path(post, path = "/v1/inventory/inbound/{id}/receive", tag = "inventory", params(("id" = String, Path)),
    request_body = ReceiveInboundBody,
    responses((status = 200, description = "on hand; waiting orders served in order of placement", body = Inbound),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn receive_inbound(
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
