//! Seal administrators' authorizations of apps over HTTP: create grants (one seal, a batch, every
//! seal of an organisation subtree), withdraw them the same ways, sync a seal set to other apps,
//! list an app's seals and a seal's apps, fetch a grant's signed credential (COSE_Sign1) and
//! verify one (public). Thin: `apps::grant_service` does the work and `accounts::policy` decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Operator;
use super::error::json_body;
use super::error::query;
use super::idempotency::Claim;
use super::openapi::{Binary, Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::apps::grant_service::{
    AppEventPage, AppSeals, GrantOutcome, GrantRequest, GrantVerification, GrantView, GrantedApp,
    SealApps, SyncOutcome, SyncRequest, WithdrawOutcome, WithdrawRequest,
};
use crate::error::AppError;

/// Request bodies above this are refused (413) before they are parsed (500 ids fit).
pub const MAX_BODY: usize = 64 * 1024;
/// The media type of a COSE_Sign1 (RFC 9052 §9).
const COSE_SIGN1: &str = "application/cose; cose-type=\"cose-sign1\"";

/// `POST /api/v1/app-grants`: authorize an app for one seal, a batch, or every seal of an
/// organisation subtree — one transaction, a bad seal in a batch changes nothing.
#[utoipa::path(post, path = "/api/v1/app-grants", tag = "app-grants", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = GrantRequest, content_type = "application/json",
        description = "app_id (a cloud-signing app), and seal_ids (one or a batch of up to 500) or org_id \
            (every active cloud seal of the organisation and those below it; seals already granted, not active \
            or UKey seals are skipped and listed); valid_until (Unix seconds, at most three years after \
            valid_from, which defaults to now), use_limit (optional)",
        example = json!({"app_id": "5d0c…", "seal_ids": ["9f1c…", "a2b3…"], "valid_until": 1830000000, "use_limit": 1000})),
    responses(
        (status = 201, description = "The grants made, each with its signed credential's id", body = GrantOutcome,
            example = json!({"app": {"id": "5d0c…", "name": "合同管理系统", "kind": "cloud-signing", "state": "active",
                "supervising_org_id": "…", "supervising_org_name": "杭州市数据资源管理局",
                "developer_org_id": "…", "developer_org_name": "杭州示例科技有限公司"},
                "granted": [{"id": "e41f…", "app_id": "5d0c…", "app_name": "合同管理系统", "seal_id": "9f1c…",
                    "seal_name": "杭州示例科技有限公司合同专用章", "seal_code": "3301060012345", "seal_state": "active",
                    "org_id": "…", "org_name": "杭州示例科技有限公司", "role": "seal-user", "granted_by": "u-1a2b",
                    "valid_from": 1767225600, "valid_until": 1830000000, "use_limit": 1000, "uses": 0,
                    "state": "effective", "in_force": true, "credential_id": "8c1d…", "version": 1,
                    "created_at": 1767225600, "updated_at": 1767225600, "ended_at": null, "ended_by": null}],
                "skipped": []})),
        WithBody, Staff,
        (status = 404, description = "No such app or organisation", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A named seal is authorized for the app already (nothing changed)", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A UKey or inactive app, a seal that does not exist, is not active or is a UKey seal, \
            or a validity of more than three years (nothing changed; the problem names them)", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<GrantOutcome>), AppError> {
    let req: GrantRequest = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let out = app
        .app_grant_create(&op.actor(), &req, answer.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /api/v1/app-grants/withdraw`: withdraw grants by id, or an app's grants on the seals
/// named or on every seal of an organisation subtree; each credential gets a revocation entry.
#[utoipa::path(post, path = "/api/v1/app-grants/withdraw", tag = "app-grants", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = WithdrawRequest, content_type = "application/json",
        description = "grant_ids; or app_id with seal_ids or org_id; reason (optional)",
        example = json!({"app_id": "5d0c…", "org_id": "b7e2…", "reason": "合同系统停用"})),
    responses(
        (status = 200, description = "The grants withdrawn", body = WithdrawOutcome),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "A grant is not in force (already withdrawn or expired): nothing changed", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn withdraw(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<WithdrawOutcome>, AppError> {
    let req: WithdrawRequest = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::OK));
    Ok(Json(
        app.app_grant_withdraw(&op.actor(), &req, answer.as_ref())
            .await?,
    ))
}

/// `POST /api/v1/app-grants/sync`: give other apps the seals one app holds (those the caller
/// administers); with `exact`, also withdraw what the targets hold beyond that set.
#[utoipa::path(post, path = "/api/v1/app-grants/sync", tag = "app-grants", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = SyncRequest, content_type = "application/json",
        example = json!({"from_app_id": "5d0c…", "to_app_ids": ["77aa…"], "exact": false})),
    responses(
        (status = 200, description = "What each target app was given (and, with exact, lost)", body = SyncOutcome),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn sync(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<SyncOutcome>, AppError> {
    let req: SyncRequest = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::OK));
    Ok(Json(
        app.app_grant_sync(&op.actor(), &req, answer.as_ref())
            .await?,
    ))
}

/// `GET /api/v1/app-grants/apps`: the apps holding grants on the caller's seals, with how many,
/// and the UKey apps (授权应用列表).
#[utoipa::path(get, path = "/api/v1/app-grants/apps", tag = "app-grants", security(("bearer" = [])),
    responses((status = 200, body = Vec<GrantedApp>), Staff, Guarded))]
pub async fn granted_apps(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<Vec<GrantedApp>>, AppError> {
    Ok(Json(app.granted_apps(&op.actor()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppSealsQuery {
    /// live (default: granted and effective), all, or one of granted, effective, withdrawn, expired.
    state: Option<String>,
    /// Only seals of this organisation and those below it.
    org: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/apps/{id}/grants`: an app's seals as the caller administers them (platform staff
/// see all); for a UKey app its UKey seals, read only.
#[utoipa::path(get, path = "/api/v1/apps/{id}/grants", tag = "app-grants", security(("bearer" = [])),
    params(("id" = String, Path), AppSealsQuery),
    responses((status = 200, description = "A page of grants, oldest first, with seal and organisation names", body = AppSeals),
        Staff, (status = 400, response = ProblemResponse), (status = 404, response = ProblemResponse), Guarded))]
pub async fn app_seals(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<AppSealsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<AppSeals>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_seals(
            &op.actor(),
            &id,
            q.state.as_deref(),
            q.org.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/apps/{id}/grant-events`: what happened to an app's grants (granted, effective,
/// expiring in 15 / 7 / 1 days, expired, withdrawn), oldest first — the app's owner and platform
/// staff.
#[utoipa::path(get, path = "/api/v1/apps/{id}/grant-events", tag = "app-grants", security(("bearer" = [])),
    params(("id" = String, Path), EventsQuery),
    responses((status = 200, body = AppEventPage), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn app_events(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<AppEventPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_events(&op.actor(), &id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// `GET /api/v1/seals/{id}/grants`: a seal's apps (every grant, with app names), for whoever may
/// see the seal.
#[utoipa::path(get, path = "/api/v1/seals/{id}/grants", tag = "app-grants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = SealApps), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn seal_apps(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<SealApps>, AppError> {
    Ok(Json(app.seal_apps(&op.actor(), &id).await?))
}

/// `GET /api/v1/app-grants/{id}`: one grant.
#[utoipa::path(get, path = "/api/v1/app-grants/{id}", tag = "app-grants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = GrantView), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<GrantView>, AppError> {
    Ok(Json(app.app_grant(&op.actor(), &id).await?))
}

/// `GET /api/v1/app-grants/{id}/credential`: the grant's signed app-authorization credential,
/// a tagged COSE_Sign1 (RFC 9052) over CWT claims, signed by the platform's grant signer (service
/// CA, EKU sealpkiGrant) with its chain in x5chain.
#[utoipa::path(get, path = "/api/v1/app-grants/{id}/credential", tag = "app-grants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "application/cose; cose-type=\"cose-sign1\"", body = Binary,
            content_type = "application/cose"),
        Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn credential(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Response, AppError> {
    let (_, cose) = app.app_grant_credential(&op.actor(), &id).await?;
    Ok(([(header::CONTENT_TYPE, COSE_SIGN1)], cose).into_response())
}

/// `POST /api/v1/app-grants/verify`: verify an app-authorization credential (the raw COSE_Sign1
/// as the body) against our service CA, now, with its revocation entry: valid only when it
/// verifies and was not withdrawn. Public.
#[utoipa::path(post, path = "/api/v1/app-grants/verify", tag = "app-grants",
    request_body(content = Binary, content_type = "application/cose"),
    responses((status = 200, description = "The verdict, every check, and the platform's record", body = GrantVerification),
        (status = 413, response = ProblemResponse), (status = 429, response = super::openapi::TooManyResponse)))]
pub async fn verify(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<Json<GrantVerification>, AppError> {
    Ok(Json(app.grant_verify(&body).await?))
}
