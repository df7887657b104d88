//! In-app notification routes: the caller's own inbox (list, unread count, mark read; another
//! user's notification is a 404, as if it did not exist) and the operators' delivery test.
//! `crate::notify::inbox` does the work.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::openapi::{Guarded, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::notify::inbox::{self, NotificationPage, TestQueued, TestRequest};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only unread ones.
    unread: Option<bool>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// 1-1000, default 100.
    limit: Option<i64>,
}

/// `GET /api/v1/notifications?unread=&cursor=&limit=`: the caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of the caller's notifications, newest first", body = NotificationPage),
        (status = 400, description = "Bad cursor or limit", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn list(
    State(app): State<Arc<App>>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<NotificationPage>, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    Ok(Json(
        inbox::list(
            &app,
            &op.actor(),
            q.unread.unwrap_or(false),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    unread: i64,
}

/// `GET /api/v1/notifications/unread-count`.
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "How many of the caller's notifications are unread", body = UnreadCount),
        Staff, Guarded))]
pub async fn unread_count(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<UnreadCount>, AppError> {
    Ok(Json(UnreadCount {
        unread: inbox::unread_count(&app, &op.actor()).await?,
    }))
}

/// `POST /api/v1/notifications/{id}/read`: 204; again is fine.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification's id")),
    responses((status = 204, description = "Marked read"),
        (status = 404, description = "The caller has no notification of that id", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn mark_read(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<StatusCode, AppError> {
    inbox::mark_read(&app, &op.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Marked {
    marked: u64,
}

/// `POST /api/v1/notifications/read-all`: every unread one of the caller's.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "How many were marked read", body = Marked),
        Staff, Guarded))]
pub async fn mark_all_read(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<Marked>, AppError> {
    Ok(Json(Marked {
        marked: inbox::mark_all_read(&app, &op.actor()).await?,
    }))
}

/// `POST /api/v1/notifications/test` (jobs.manage): send the test message to a user over the
/// chosen channels, through the outbox, to check the delivery configuration (SMTP, SMS).
#[utoipa::path(post, path = "/api/v1/notifications/test", tag = "notifications", security(("bearer" = [])),
    request_body = TestRequest,
    responses((status = 202, description = "Queued: one job per channel", body = TestQueued),
        (status = 422, description = "An address the channels need is missing or invalid", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, WithBody, Guarded))]
pub async fn send_test(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<TestQueued>), AppError> {
    // The permission first: a refusal does not depend on the body.
    op.require(crate::access::Permission::ManageJobs)?;
    let req: TestRequest = json_body(&body)?;
    let queued = inbox::send_test(&app, &op.actor(), req).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
