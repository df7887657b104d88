//! Seal-administrator applications (印章管理员申请) and organisation updates (单位信息变更) over
//! HTTP: apply, list (mine, one organisation's, the decider's queue), read one, send events
//! (approve, return, resubmit, withdraw), history. Thin: `seals::admin_service` does the work and
//! `accounts::policy` decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::error::query;
use super::idempotency::Claim;
use super::openapi::{Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::seals::admin_service::AdminKind;
use crate::seals::service::AppScope;
use crate::workflow::{EventRequest, HistoryPage, ListPage, View};

/// Application bodies above this are refused (413) before they are parsed.
pub const MAX_BODY: usize = 64 * 1024;

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// mine (default: those I created), org (one organisation's: give `org`), review (the
    /// decider's queue).
    scope: Option<String>,
    org: Option<String>,
    /// pending-review, returned, approved, withdrawn.
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminApplicationEvent)]
struct EventBody {
    /// approve, return (deciders); resubmit, withdraw (the applying side).
    event: String,
    /// The record's version as you saw it.
    version: i64,
    comment: Option<String>,
    /// resubmit: the corrected application (same organisation, and same applicant).
    data: Option<serde_json::Value>,
}

fn scope<'a>(q: &'a ListQuery) -> Result<AppScope<'a>, AppError> {
    match (q.scope.as_deref().unwrap_or("mine"), q.org.as_deref()) {
        ("mine", _) => Ok(AppScope::Mine),
        ("review", _) => Ok(AppScope::Review),
        ("org", Some(o)) => Ok(AppScope::Org(o)),
        ("org", None) => Err(AppError::BadRequest("scope=org needs org=ID".into())),
        (s, _) => Err(AppError::BadRequest(format!(
            "scope {s:?}: mine, org or review"
        ))),
    }
}

async fn list(
    app: &App,
    op: &Operator,
    kind: AdminKind,
    q: QueryResult<ListQuery>,
) -> Result<Json<ListPage>, AppError> {
    let q = query(q)?;
    let s = scope(&q)?;
    Ok(Json(
        app.admin_records(
            &op.actor(),
            kind,
            s,
            q.state.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

async fn event(
    app: &App,
    op: &Operator,
    kind: AdminKind,
    id: &str,
    body: &[u8],
) -> Result<Json<View>, AppError> {
    let b: EventBody = json_body(body)?;
    let req = EventRequest {
        event: &b.event,
        version: b.version,
        comment: b.comment.as_deref(),
        attachments: &[],
    };
    let actor = op.actor();
    let v = match kind {
        AdminKind::SealAdmin => {
            app.seal_admin_event(&actor, id, &req, b.data.as_ref())
                .await
        }
        AdminKind::OrgUpdate => {
            app.org_update_event(&actor, id, &req, b.data.as_ref())
                .await
        }
    };
    Ok(Json(v?))
}

async fn history(
    app: &App,
    op: &Operator,
    kind: AdminKind,
    id: &str,
    q: QueryResult<PageQuery>,
) -> Result<Json<HistoryPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.admin_history(&op.actor(), kind, id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// `POST /api/v1/seal-admin-applications`: apply to be (or name someone to be) a seal
/// administrator of an organisation.
#[utoipa::path(post, path = "/api/v1/seal-admin-applications", tag = "organisations", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = crate::seals::admin_application::Data, content_type = "application/json",
        description = "org_id; applicant (a username; omitted: yourself — a member of the organisation; \
            someone else: you are a seal administrator of it or above it); form_file (the signed form, \
            uploaded as application-scan or attachment); reason",
        example = json!({"org_id": "o9f1c…", "form_file": "3b1f…", "reason": "原印章管理员调离"})),
    responses(
        (status = 201, description = "The application, pending review by the superior authority", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The applicant is already a seal administrator there", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn admin_apply(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<View>), AppError> {
    let data: serde_json::Value = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let v = app
        .seal_admin_apply(&op.actor(), &data, answer.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `GET /api/v1/seal-admin-applications`: in a scope, oldest first (keyset pages).
#[utoipa::path(get, path = "/api/v1/seal-admin-applications", tag = "organisations", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = ListPage), Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn admin_list(
    State(app): State<Arc<App>>,
    q: QueryResult<ListQuery>,
    op: Operator,
) -> Result<Json<ListPage>, AppError> {
    list(&app, &op, AdminKind::SealAdmin, q).await
}

/// `GET /api/v1/seal-admin-applications/{id}`.
#[utoipa::path(get, path = "/api/v1/seal-admin-applications/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = View), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn admin_get(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(
        app.admin_record(&op.actor(), AdminKind::SealAdmin, &id)
            .await?,
    ))
}

/// `POST /api/v1/seal-admin-applications/{id}/events`: approval grants the seal-admin role.
#[utoipa::path(post, path = "/api/v1/seal-admin-applications/{id}/events", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The application in its new state", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        Guarded,
    ))]
pub async fn admin_event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    event(&app, &op, AdminKind::SealAdmin, &id, &body).await
}

/// `GET /api/v1/seal-admin-applications/{id}/history`: every step with who, when and why.
#[utoipa::path(get, path = "/api/v1/seal-admin-applications/{id}/history", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = HistoryPage), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn admin_history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: QueryResult<PageQuery>,
    op: Operator,
) -> Result<Json<HistoryPage>, AppError> {
    history(&app, &op, AdminKind::SealAdmin, &id, q).await
}

/// `POST /api/v1/org-updates`: apply to change an organisation's credit code, name or parent.
#[utoipa::path(post, path = "/api/v1/org-updates", tag = "organisations", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = crate::seals::org_update::Data, content_type = "application/json",
        description = "org_id; at least one of credit_code, name, parent_id; licence_file (uploaded as \
            application-scan or attachment); reason. The organisation's seal administrators (or those \
            above it) apply; platform operators decide",
        example = json!({"org_id": "o9f1c…", "name": "杭州新名称科技有限公司", "licence_file": "3b1f…", "reason": "企业更名"})),
    responses(
        (status = 201, description = "The update, pending review by the platform", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, description = "A bad code or name, or a parent inside the organisation's own subtree", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn update_apply(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<View>), AppError> {
    let data: serde_json::Value = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let v = app
        .org_update_apply(&op.actor(), &data, answer.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `GET /api/v1/org-updates`: in a scope, oldest first (keyset pages).
#[utoipa::path(get, path = "/api/v1/org-updates", tag = "organisations", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = ListPage), Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn update_list(
    State(app): State<Arc<App>>,
    q: QueryResult<ListQuery>,
    op: Operator,
) -> Result<Json<ListPage>, AppError> {
    list(&app, &op, AdminKind::OrgUpdate, q).await
}

/// `GET /api/v1/org-updates/{id}`.
#[utoipa::path(get, path = "/api/v1/org-updates/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = View), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn update_get(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(
        app.admin_record(&op.actor(), AdminKind::OrgUpdate, &id)
            .await?,
    ))
}

/// `POST /api/v1/org-updates/{id}/events`: approval changes the organisation (a name or code
/// taken by another organisation is a 409 and nothing changes).
#[utoipa::path(post, path = "/api/v1/org-updates/{id}/events", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The update in its new state", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn update_event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    event(&app, &op, AdminKind::OrgUpdate, &id, &body).await
}

/// `GET /api/v1/org-updates/{id}/history`.
#[utoipa::path(get, path = "/api/v1/org-updates/{id}/history", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = HistoryPage), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn update_history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: QueryResult<PageQuery>,
    op: Operator,
) -> Result<Json<HistoryPage>, AppError> {
    history(&app, &op, AdminKind::OrgUpdate, &id, q).await
}
