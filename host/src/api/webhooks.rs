//! Webhook subscription handlers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::dto::{Subscription, WebhookBody, WebhookList, WebhookView};
use super::extract::{Admin, Auth, JsonBody};
use super::{ApiError, ErrorBody, Shared, complete};

#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookBody,
    responses(
        (
            status = 201,
            description = "subscribed; the only reply that shows the secret",
            body = Subscription,
        ),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn add_webhook(
    _: Auth<Admin>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<(StatusCode, Json<Subscription>), ApiError> {
    let subscription = complete(async move { s.add_webhook(&body.url, body.events, body.secret).await }).await?;
    Ok((StatusCode::CREATED, Json(subscription.into())))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses(
        (
            status = 200,
            description = "subscriptions with their latest deliveries",
            body = WebhookList,
        ),
    ),
)]
pub(super) async fn list_webhooks(_: Auth<Admin>, State(s): State<Shared>) -> Json<WebhookList> {
    let webhooks = s
        .webhooks(20)
        .into_iter()
        .map(|(subscription, deliveries)| WebhookView {
            subscription: subscription.into(),
            recent_deliveries: deliveries.into_iter().map(Into::into).collect(),
        })
        .collect();
    Json(WebhookList { webhooks })
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 204, description = "unsubscribed"), (status = 404, body = ErrorBody)),
)]
pub(super) async fn remove_webhook(
    _: Auth<Admin>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    complete(async move { s.remove_webhook(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}
