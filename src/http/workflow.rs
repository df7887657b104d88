//! Workflow routes: create a record of a kind, send it an event, read it and its history. The
//! runner (`crate::workflow::Workflow`) does the work; the POSTs sit behind `idempotency`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::idempotency::Claim;
use super::openapi::{Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::workflow::{EventRequest, HistoryPage, ListPage, View, Workflow};

/// `POST /api/v1/workflows/{kind}`: the body is the kind's data (for `authority-certificate`:
/// profile, subject, reason). 201 with the record.
#[utoipa::path(post, path = "/api/v1/workflows/{kind}", tag = "workflows",
    security(("bearer" = [])),
    params(
        ("kind" = String, Path, description = "authority-certificate", example = "authority-certificate"),
        ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h; a repeat gets the first answer with Idempotent-Replayed: true"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "The kind's data; authority-certificate: profile (sub-ca, tsa, ocsp-responder), subject (RFC 4514), reason (1 to 2000 characters)"),
    responses(
        (status = 201, description = "The record, in its first state", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WorkflowEvent)]
struct EventBody {
    /// authority-certificate: submit, withdraw, approve, reject.
    event: String,
    /// The record's version as you saw it.
    version: i64,
    /// Kept with the history entry (at most 2000 characters).
    comment: Option<String>,
    /// References kept with the history entry (at most 16, 1 to 200 characters each).
    #[serde(default)]
    attachments: Vec<String>,
}

/// `POST /api/v1/workflows/{kind}/{id}/events`: `{"event", "version", "comment", "attachments"}`.
#[utoipa::path(post, path = "/api/v1/workflows/{kind}/{id}/events", tag = "workflows",
    security(("bearer" = [])),
    params(
        ("kind" = String, Path, description = "authority-certificate", example = "authority-certificate"),
        ("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h"),
    ),
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The record in its new state", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn event(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    Workflow::may_act(&op.actor(), &kind)?;
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
#[utoipa::path(get, path = "/api/v1/workflows/{kind}/{id}", tag = "workflows",
    security(("bearer" = [])),
    params(("kind" = String, Path, description = "authority-certificate", example = "authority-certificate"), ("id" = String, Path)),
    responses(
        (status = 200, body = View),
        Staff,
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(Workflow::get(&app, &op.actor(), &kind, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Entries per page.
    limit: Option<i64>,
}

/// `GET /api/v1/workflows/{kind}/{id}/history?cursor=&limit=`: oldest first.
#[utoipa::path(get, path = "/api/v1/workflows/{kind}/{id}/history", tag = "workflows",
    security(("bearer" = [])),
    params(("kind" = String, Path, description = "authority-certificate", example = "authority-certificate"), ("id" = String, Path), HistoryQuery),
    responses(
        (status = 200, body = HistoryPage),
        (status = 400, response = ProblemResponse),
        Staff,
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only records in this state (a work queue: submitted).
    state: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Records per page.
    limit: Option<i64>,
}

/// `GET /api/v1/workflows/{kind}?state=&cursor=&limit=`: records oldest first (a work queue with
/// `state=submitted`).
#[utoipa::path(get, path = "/api/v1/workflows/{kind}", tag = "workflows",
    security(("bearer" = [])),
    params(("kind" = String, Path, description = "authority-certificate", example = "authority-certificate"), ListQuery),
    responses(
        (status = 200, body = ListPage),
        (status = 400, response = ProblemResponse),
        Staff,
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
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
