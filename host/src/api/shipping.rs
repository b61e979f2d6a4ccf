//! Delivery promise handlers: carrier services, and the promise of a cart or one product.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::catalog::strip_batch_prefix;
use super::dto::{CarrierServiceDto, CarrierServices, ProductPromiseRequestDto, PromiseRequestDto, PromiseResponse};
use super::extract::{Auth, JsonBody, Reader, Writer};
use super::{ApiError, ErrorBody, Shared, complete};
use crate::error::ServiceError;

#[utoipa::path(
    get,
    path = "/v1/carrier-services",
    tag = "promises",
    responses((status = 200, description = "every carrier service, by id", body = CarrierServices)),
)]
pub(super) async fn list_carrier_services(_: Auth<Reader>, State(s): State<Shared>) -> Json<CarrierServices> {
    Json(CarrierServices { carrier_services: s.carrier_services().into_iter().map(Into::into).collect() })
}

#[utoipa::path(
    get,
    path = "/v1/carrier-services/{id}",
    tag = "promises",
    params(("id" = String, Path, description = "carrier service id")),
    responses((status = 200, body = CarrierServiceDto), (status = 404, body = ErrorBody)),
)]
pub(super) async fn get_carrier_service(
    _: Auth<Reader>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<CarrierServiceDto>, ApiError> {
    Ok(Json(s.carrier_service(&id)?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/carrier-services",
    tag = "promises",
    request_body = CarrierServices,
    responses(
        (status = 204, description = "all stored"),
        (status = 409, description = "more services than the service keeps", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn upsert_carrier_services(
    _: Auth<Writer>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<CarrierServices>,
) -> Result<StatusCode, ApiError> {
    let services = body.carrier_services.into_iter().map(Into::into).collect();
    complete(async move { s.upsert_carrier_services(services).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/v1/carrier-services/{id}",
    tag = "promises",
    params(("id" = String, Path)),
    request_body = CarrierServiceDto,
    responses(
        (status = 204, description = "stored"),
        (status = 409, description = "more services than the service keeps", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn put_carrier_service(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
    JsonBody(service): JsonBody<CarrierServiceDto>,
) -> Result<StatusCode, ApiError> {
    if service.id != id {
        let message = format!("the body's id `{}` is not `{id}`", service.id);
        return Err(ServiceError::invalid("id_mismatch", message).at("id").into());
    }
    complete(async move { s.upsert_carrier_services(vec![service.into()]).await }).await.map_err(strip_batch_prefix)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/v1/carrier-services/{id}",
    tag = "promises",
    params(("id" = String, Path)),
    responses((status = 204, description = "removed"), (status = 404, body = ErrorBody)),
)]
pub(super) async fn remove_carrier_service(
    _: Auth<Writer>,
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    complete(async move { s.remove_carrier_service(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/promise",
    tag = "promises",
    request_body = PromiseRequestDto,
    responses(
        (
            status = 200,
            description = "per service, the earliest delivery of the whole cart, its price, the \
                locations that would ship and why those dates, earliest first; nothing reserved",
            body = PromiseResponse,
        ),
        (status = 409, description = "no binding, or no carrier service", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn promise(
    _: Auth<Reader>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<PromiseRequestDto>,
) -> Result<Json<PromiseResponse>, ApiError> {
    Ok(Json(s.promise(&body.into_request()?)?.into()))
}

#[utoipa::path(
    post,
    path = "/v1/promise/product",
    tag = "promises",
    request_body = ProductPromiseRequestDto,
    responses(
        (
            status = 200,
            description = "per service, the earliest delivery of the product (a product page)",
            body = PromiseResponse,
        ),
        (status = 409, description = "no binding, or no carrier service", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
)]
pub(super) async fn promise_product(
    _: Auth<Reader>,
    State(s): State<Shared>,
    JsonBody(body): JsonBody<ProductPromiseRequestDto>,
) -> Result<Json<PromiseResponse>, ApiError> {
    Ok(Json(s.promise(&body.into_request()?)?.into()))
}
