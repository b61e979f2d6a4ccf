//! Order handlers: dry run, create, change, get, confirm, cancel, ship, fulfilment events,
//! returns, recurring orders.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::dto::{
    CancelBody, CreateQuery, DryRun, FulfilmentEvent, OrderExplanation, OrderList, OrderRecord, OrderRequest,
    OrdersQuery, ReceiveBody, RecurringBody, RecurringOrder, ReoptimizeReport, ReturnBody, ShipBody, wire,
};
use super::extract::{Auth, IdempotencyKey, JsonBody, OptionalJsonBody, Reader, Writer};
use super::{ApiError, ErrorBody, Shared, complete};
use crate::records::{RoutingCause, RoutingRecord, ShipmentState, SubmittedOrder};
use crate::service::{self, Created};
use crate::store::OrderQuery;

#[utoipa::path(
    post,
    path = "/v1/orders/route",
    tag = "orders",
    request_body = OrderRequest,
    responses(
        (
            status = 200,
            description = "the plan and its explanation; nothing reserved",
            body = DryRun,
        ),
        (status = 409, description = "no binding", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn dry_run(
    _: Auth<Reader>,
    State(s): State<Shared>,
    JsonBody(order): JsonBody<OrderRequest>,
) -> Result<Json<DryRun>, ApiError> {
    Ok(Json(s.dry_run(&order.into_submitted("")?)?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders",
    tag = "orders",
    request_body = OrderRequest,
    params(
        CreateQuery,
        (
            "Idempotency-Key" = Option<wire::IdempotencyKey>,
            Header,
            description = "names one order; reused for another: 422",
        ),
    ),
    responses(
        (
            status = 201,
            description = "routed and reserved (or rejected), durably",
            body = OrderRecord,
        ),
        (status = 200, description = "the same order again", body = OrderRecord),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (
            status = 503,
            description = "the store could not commit; nothing was reserved",
            body = ErrorBody,
        ),
    ),
)]
pub(super) async fn create_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Query(query): Query<CreateQuery>,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(order): JsonBody<OrderRequest>,
) -> Result<(StatusCode, Json<OrderRecord>), ApiError> {
    let submitted = order.into_submitted("")?;
    let explain = query.explain.unwrap_or(false);
    let service = s.clone();
    Ok(match complete(async move { service.create_order(submitted, key).await }).await? {
        Created::New(record, routing) => {
            (StatusCode::CREATED, Json(explained(record, routing.filter(|_| explain).map(|r| *r))))
        }
        Created::Replayed(record) => {
            // A retry that asks gets the first answer's explanation: that of the routing when
            // the order was placed (kept in the store), if it was routed then.
            let first = match explain {
                true => s.routings(&record.id).await?.into_iter().next().filter(|r| r.cause == RoutingCause::Placed),
                false => None,
            };
            (StatusCode::OK, Json(explained(record, first)))
        }
    })
}

// An order's answer, with the explanation of its routing if given.
fn explained(record: crate::records::OrderRecord, routing: Option<RoutingRecord>) -> OrderRecord {
    let mut order: OrderRecord = record.into();
    order.explanation = routing.map(|routing| routing.lines.into_iter().map(Into::into).collect());
    order
}

#[utoipa::path(
    put,
    path = "/v1/orders/{id}",
    tag = "orders",
    params(("id" = String, Path)),
    request_body = OrderRequest,
    responses(
        (status = 200, description = "the scheduled order, changed", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, description = "only a scheduled order can be changed", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn change_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    JsonBody(order): JsonBody<OrderRequest>,
) -> Result<Json<OrderRecord>, ApiError> {
    let submitted = order.into_submitted("")?;
    let record = complete(async move { s.change_order(&id, submitted).await }).await?;
    Ok(Json(record.into()))
}

#[utoipa::path(
    get,
    path = "/v1/orders",
    tag = "orders",
    params(OrdersQuery),
    responses(
        (
            status = 200,
            description = "orders, newest placed first, open and closed",
            body = OrderList,
        ),
        (
            status = 400,
            description = "a query parameter that does not parse or is out of range",
            body = ErrorBody,
        ),
    ),
)]
pub(super) async fn list_orders(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Query(query): Query<OrdersQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_ORDER_PAGE).contains(&limit) {
        let message = format!("limit is 1 to {MAX_ORDER_PAGE}, not {limit}");
        return Err(ApiError::bad_request("invalid_query", message).at("limit"));
    }
    let instant = |field: &'static str, text: &Option<String>| -> Result<Option<i64>, ApiError> {
        text.as_deref()
            .map(|t| {
                switchyard_engine::Timestamp::parse_rfc3339(t)
                    .map(|t| t.0)
                    .map_err(|e| ApiError::bad_request("invalid_query", format!("not an RFC 3339 time: {e}")).at(field))
            })
            .transpose()
    };
    let since = instant("since", &query.since)?;
    let until = instant("until", &query.until)?;
    let after = match query.after.as_deref() {
        None => None,
        Some(cursor) => {
            let parsed = cursor.split_once(':').and_then(|(placed, id)| Some((placed.parse::<i64>().ok()?, id)));
            let Some((placed, id)) = parsed else {
                return Err(ApiError::bad_request("invalid_query", "not a `next` this API gave").at("after"));
            };
            Some((placed, id.to_owned()))
        }
    };
    let store_query =
        OrderQuery { status: query.status.map(|s| s.name().to_owned()), since, until, after, limit: limit as usize };
    let page = s.list_orders(store_query).await?;
    let next = page.next.map(|(placed, id)| format!("{placed}:{id}"));
    Ok(Json(OrderList { orders: page.orders.into_iter().map(Into::into).collect(), next }))
}

/// The most orders one page lists.
const MAX_ORDER_PAGE: u32 = 200;

#[utoipa::path(
    get,
    path = "/v1/orders/{id}",
    tag = "orders",
    params(("id" = String, Path)),
    responses((status = 200, body = OrderRecord), (status = 404, body = ErrorBody)),
)]
pub(super) async fn get_order(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<OrderRecord>, ApiError> {
    Ok(Json(s.order(&id).await?.into()))
}

#[utoipa::path(
    get,
    path = "/v1/orders/{id}/explanation",
    tag = "orders",
    params(("id" = String, Path)),
    responses(
        (
            status = 200,
            description = "why the order was routed as it was, every time it was",
            body = OrderExplanation,
        ),
        (status = 404, body = ErrorBody),
    ),
)]
pub(super) async fn explain_order(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<OrderExplanation>, ApiError> {
    let routings = s.routings(&id).await?;
    Ok(Json(OrderExplanation { order_id: id, routings: routings.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/confirm",
    tag = "orders",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the reservation no longer expires", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
)]
pub(super) async fn confirm_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<OrderRecord>, ApiError> {
    Ok(Json(complete(async move { s.confirm(&id).await }).await?.into()))
}

/// Releases an order to its locations for picking now (release windows,
/// `release_after_secs`): re-optimisation no longer changes its plan. An order already
/// released is answered as it is.
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/release",
    tag = "orders",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "released: its plan no longer changes", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
)]
pub(super) async fn release_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<OrderRecord>, ApiError> {
    Ok(Json(complete(async move { s.release_to_locations(&id).await }).await?.into()))
}

/// Runs one re-optimisation pass over the orders not yet released to their locations (release
/// windows, `release_after_secs`): they are re-planned together, each under its own policy
/// and promise, and changed only where the pool costs less; each changed order gets an
/// `order.rerouted` event. A pass asked for tries every order's moves (the periodic ones try
/// those of the orders new or changed since the last, and every order's once an hour).
#[utoipa::path(
    post,
    path = "/v1/reoptimize",
    tag = "orders",
    responses(
        (status = 200, description = "what the pass changed and saved", body = ReoptimizeReport),
    ),
)]
pub(super) async fn reoptimize(_: Auth<Writer>, State(s): State<Shared>) -> Result<Json<ReoptimizeReport>, ApiError> {
    Ok(Json(complete(async move { s.reoptimize(true).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/cancel",
    tag = "orders",
    params(("id" = String, Path)),
    request_body(content = Option<CancelBody>, description = "optional"),
    responses(
        (status = 200, description = "cancelled; stock released", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
)]
pub(super) async fn cancel_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<CancelBody>,
) -> Result<Json<OrderRecord>, ApiError> {
    Ok(Json(complete(async move { s.cancel(&id, &body.reason).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/ship",
    tag = "orders",
    params(("id" = String, Path)),
    request_body(
        content = Option<ShipBody>,
        description = "optional: an empty body ships every open shipment",
    ),
    responses(
        (status = 200, description = "units consumed", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn ship_order(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ShipBody>,
) -> Result<Json<OrderRecord>, ApiError> {
    let event = service::FulfilmentEvent {
        event: ShipmentState::Shipped,
        location: body.location,
        carrier: body.carrier,
        tracking: body.tracking,
        reason: String::new(),
    };
    Ok(Json(complete(async move { s.fulfilment_event(&id, &event).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/events",
    tag = "orders",
    params(("id" = String, Path)),
    request_body = FulfilmentEvent,
    responses(
        (
            status = 200,
            description = "the order after the event (a rejection re-routes)",
            body = OrderRecord,
        ),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn fulfilment_event(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    JsonBody(event): JsonBody<FulfilmentEvent>,
) -> Result<Json<OrderRecord>, ApiError> {
    let event: service::FulfilmentEvent = event.into();
    Ok(Json(complete(async move { s.fulfilment_event(&id, &event).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/recurring-orders",
    tag = "orders",
    request_body = RecurringBody,
    responses(
        (
            status = 201,
            description = "scheduled; orders are created when due",
            body = RecurringOrder,
        ),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn add_recurring(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<RecurringBody>,
) -> Result<(StatusCode, Json<RecurringOrder>), ApiError> {
    let template = SubmittedOrder {
        id: String::new(),
        placed_at: None,
        channel: body.order.channel.unwrap_or_else(|| "web".to_owned()),
        hold_until: None,
        requested_delivery: None,
        ship_to: body.order.ship_to.resolve("order.")?,
        lines: body.order.lines.into_iter().map(Into::into).collect(),
        service: body.order.service,
        deliver_by: None,
    };
    let recurring =
        complete(async move { s.add_recurring(&body.id, &body.every, body.start_at.as_deref(), template).await })
            .await?;
    Ok((StatusCode::CREATED, Json(recurring.into())))
}

#[utoipa::path(
    get,
    path = "/v1/recurring-orders/{id}",
    tag = "orders",
    params(("id" = String, Path)),
    responses(
        (
            status = 200,
            description = "its schedule, the orders it created and every run",
            body = RecurringOrder,
        ),
        (status = 404, body = ErrorBody),
    ),
)]
pub(super) async fn get_recurring(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<RecurringOrder>, ApiError> {
    Ok(Json(s.recurring(&id).await?.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/recurring-orders/{id}",
    tag = "orders",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "stopped; the orders it created stay", body = RecurringOrder),
        (status = 404, body = ErrorBody),
    ),
)]
pub(super) async fn stop_recurring(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<RecurringOrder>, ApiError> {
    Ok(Json(complete(async move { s.stop_recurring(&id).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/returns",
    tag = "orders",
    params(("id" = String, Path)),
    request_body = ReturnBody,
    responses(
        (
            status = 200,
            description = "the order with the new return: its location and label",
            body = OrderRecord,
        ),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (
            status = 422,
            description = "units that did not ship, or no location can take them",
            body = ErrorBody,
        ),
    ),
)]
pub(super) async fn request_return(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReturnBody>,
) -> Result<Json<OrderRecord>, ApiError> {
    let lines = body.lines.into_iter().map(Into::into).collect();
    Ok(Json(complete(async move { s.request_return(&id, lines, &body.reason).await }).await?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/orders/{id}/returns/{return_id}/receive",
    tag = "orders",
    params(("id" = String, Path), ("return_id" = String, Path)),
    request_body = ReceiveBody,
    responses(
        (status = 200, description = "received; sellable units restocked", body = OrderRecord),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn receive_return(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path((id, return_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReceiveBody>,
) -> Result<Json<OrderRecord>, ApiError> {
    let outcome = body.outcome.into();
    let sellable = body.sellable.map(|lines| lines.into_iter().map(Into::into).collect());
    let record = complete(async move { s.receive_return(&id, &return_id, sellable, outcome).await }).await?;
    Ok(Json(record.into()))
}
