//! Workflow routes: create a record of a kind, send it an event, read it and its history. The
//! runner (`crate::workflow::Workflow`) does the work; the POSTs sit behind `idempotency`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;

use super::auth::Operator;
use super::error::json_body;
use super::idempotency::Claim;
use crate::app::App;
use crate::error::AppError;
use crate::workflow::{EventRequest, HistoryPage, ListPage, View, Workflow};

/// `POST /api/v1/workflows/{kind}`: the body is the kind's data (for `authority-certificate`:
/// profile, subject, reason). 201 with the record.
pub async fn create(
    State(app): State<Arc<App>>,
    Path(kind): Path<String>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<View>), AppError> {
    let data: serde_json::Value = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let v = Workflow::create(&app, &op.actor(), &kind, &data, None, answer.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    event: String,
    version: i64,
    comment: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
}

/// `POST /api/v1/workflows/{kind}/{id}/events`: `{"event", "version", "comment", "attachments"}`.
pub async fn event(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    let b: EventBody = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::OK));
    let req = EventRequest {
        event: &b.event,
        version: b.version,
        comment: b.comment.as_deref(),
        attachments: &b.attachments,
    };
    Ok(Json(
        Workflow::apply(&app, &op.actor(), &kind, &id, &req, answer.as_ref()).await?,
    ))
}

/// `GET /api/v1/workflows/{kind}/{id}`: state, version, allowed events.
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(Workflow::get(&app, &op.actor(), &kind, &id).await?))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/workflows/{kind}/{id}/history?cursor=&limit=`: oldest first.
pub async fn history(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<HistoryPage>, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    Ok(Json(
        Workflow::history(&app, &op.actor(), &kind, &id, q.cursor.as_deref(), q.limit).await?,
    ))
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/workflows/{kind}?state=&cursor=&limit=`: records oldest first (a work queue with
/// `state=submitted`).
pub async fn list(
    State(app): State<Arc<App>>,
    Path(kind): Path<String>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<ListPage>, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    Ok(Json(
        Workflow::list(
            &app,
            &op.actor(),
            &kind,
            q.state.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}
