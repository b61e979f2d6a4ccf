//! Order handlers: dry run, create, change, get, confirm, cancel, ship, fulfilment events,
//! returns, recurring orders.

use super::*;

#[utoipa::path(post, path = "/v1/orders/route", tag = "orders", request_body = OrderRequest, responses((status = 200, description = "the plan and its explanation; nothing reserved", body = DryRun), (status = 422, body = ErrorBody), (status = 409, description = "no binding", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn dry_run(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    let order: OrderRequest = parse_json(body)?;
    Ok(axum::Json(s.dry_run(&order)?).into_response())
}

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderRequest, params(("Idempotency-Key" = Option<String>, Header, description = "names one order; reused with another order id: 422")), responses((status = 201, description = "routed and reserved (or rejected), durably", body = OrderRecord), (status = 200, description = "the same order again", body = OrderRecord), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, description = "the store could not commit; nothing was reserved", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn create_order(
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
pub(super) async fn change_order(
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
pub(super) async fn get_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.order(&id).await?).into_response())
}

#[utoipa::path(post, path = "/v1/orders/{id}/confirm", tag = "orders", params(("id" = String, Path)), responses((status = 200, description = "the reservation no longer expires", body = OrderRecord), (status = 409, body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn confirm_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    Ok(axum::Json(s.confirm(&id).await?).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CancelBody {
    /// Why (kept in the order's history).
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)), request_body = CancelBody, responses((status = 200, description = "cancelled; stock released", body = OrderRecord), (status = 409, body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 401, description = "no or unknown token", body = ErrorBody), (status = 403, description = "the token's role may not do this", body = ErrorBody)))]
pub(super) async fn cancel_order(
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
pub(super) struct ShipBody {
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
pub(super) async fn ship_order(
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
pub(super) async fn fulfilment_event(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let event: FulfilmentEvent = parse_json(body)?;
    Ok(axum::Json(s.fulfilment_event(&id, &event).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RecurringBody {
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
pub(super) struct RecurringTemplate {
    #[serde(default)]
    channel: Option<String>,
    ship_to: crate::dto::ShipToDto,
    lines: Vec<crate::dto::LineDto>,
}

#[utoipa::path(post, path = "/v1/recurring-orders", tag = "orders", request_body = RecurringBody,
    responses((status = 201, description = "scheduled; orders are created when due", body = RecurringOrder),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn add_recurring(
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
pub(super) async fn get_recurring(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Reader)?;
    Ok(axum::Json(s.recurring(&id).await?).into_response())
}

#[utoipa::path(delete, path = "/v1/recurring-orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "stopped; the orders it created stay", body = RecurringOrder), (status = 404, body = ErrorBody)))]
pub(super) async fn stop_recurring(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    Ok(axum::Json(s.stop_recurring(&id).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReturnBody {
    /// Shipped units coming back.
    lines: Vec<ReturnLine>,
    /// Why.
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/returns", tag = "orders", params(("id" = String, Path)), request_body = ReturnBody,
    responses((status = 200, description = "the order with the new return: its location (chosen by the order's policy) and label", body = OrderRecord),
        (status = 422, description = "units that did not ship, or no location can take them", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn request_return(
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
pub(super) struct ReceiveBody {
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
pub(super) async fn receive_return(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((id, return_id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Writer)?;
    let body: ReceiveBody = parse_json(body)?;
    Ok(axum::Json(s.receive_return(&id, &return_id, body.sellable, &body.outcome).await?).into_response())
}
