//! Webhook subscription handlers.

use super::*;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookBody {
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
pub(super) async fn add_webhook(
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
pub(super) async fn list_webhooks(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
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
pub(super) async fn remove_webhook(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Role::Admin)?;
    s.remove_webhook(&id).await?;
    Ok(no_content())
}
