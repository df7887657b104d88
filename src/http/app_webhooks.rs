//! Apps' webhooks over HTTP: the owner makes (and rotates) the webhook secret and sends a test
//! ping; the owner, staff and the app itself read the delivery log. Thin: `apps::webhooks`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::app_auth::AppRequest;
use super::auth::Operator;
use super::error::query;
use super::openapi::{Guarded, ProblemResponse, Staff};
use crate::app::App;
use crate::apps::webhooks::{DeliveryPage, NewWebhookSecret, PingSent};
use crate::error::AppError;

/// Bodies above this are refused (413): these routes take none.
pub const MAX_BODY: usize = 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// 1 to 500 (default 50).
    limit: Option<i64>,
}

/// `POST /api/v1/apps/{id}/webhook-secret`: a new webhook secret, shown once.
#[utoipa::path(post, path = "/api/v1/apps/{id}/webhook-secret", tag = "apps", security(("bearer" = [])),
    description = "The app's owner (apps.credentials.create). Deliveries carry \
        `X-Sealpki-Timestamp: T` and `X-Sealpki-Signature: v1=HEX(HMAC-SHA256(secret, \"T.\" + \
        body))`, the secret's UTF-8 bytes as the key. A new secret signs at once; the one before \
        it signs alongside (a second `v1=`) for 24 hours, so receivers switch without a miss. \
        The secret is in this answer only.",
    params(("id" = String, Path)),
    responses(
        (status = 201, body = NewWebhookSecret,
            example = json!({"app_id": "5f0c7a2e9b1d4c3a8e6f0b1a2c3d4e5f",
                "secret": "whsec_3q2-7wEXAMPLEonlyl1kT3jHnqY6ZtN0cYt1vQxwM8",
                "previous_valid_until": null})),
        Staff, (status = 404, response = ProblemResponse), (status = 409, response = ProblemResponse),
        Guarded))]
pub async fn rotate_secret(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<(StatusCode, Json<NewWebhookSecret>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(app.app_webhook_secret_rotate(&op.actor(), &id).await?),
    ))
}

/// `POST /api/v1/apps/{id}/webhook-test`: send the app a `ping` event.
#[utoipa::path(post, path = "/api/v1/apps/{id}/webhook-test", tag = "apps", security(("bearer" = [])),
    description = "The owner and staff (apps.update). The ping goes out like any event: signed, \
        retried, logged. 409 when the app has no callback URL or is not active.",
    params(("id" = String, Path)),
    responses((status = 202, body = PingSent), Staff, (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse), Guarded))]
pub async fn ping(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<(StatusCode, Json<PingSent>), AppError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(app.app_webhook_ping(&op.actor(), &id).await?),
    ))
}

/// `GET /api/v1/apps/{id}/webhook-deliveries`: the app's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/apps/{id}/webhook-deliveries", tag = "apps", security(("bearer" = [])),
    description = "The owner and staff (apps.read). One row per attempt: the event, the \
        attempt number (a retry keeps the event id), the receiver's status, the outcome \
        (`delivered`, `failed` — retried with backoff for more than a day —, `skipped`).",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = DeliveryPage), Staff, (status = 400, response = ProblemResponse),
        (status = 404, response = ProblemResponse), Guarded))]
pub async fn deliveries(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<DeliveryPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_deliveries_for(&op.actor(), &id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// `GET /api/v1/app/webhook-deliveries`: the calling app's delivery log.
#[utoipa::path(get, path = "/api/v1/app/webhook-deliveries", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(PageQuery),
    responses((status = 200, body = DeliveryPage), (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse), (status = 403, response = ProblemResponse),
        Guarded))]
pub async fn my_deliveries(
    State(app): State<Arc<App>>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
    req: AppRequest,
) -> Result<Json<DeliveryPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_delivery_page(&req.caller.app_id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}
