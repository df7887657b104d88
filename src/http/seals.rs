//! Seals and their applications over HTTP: apply, send events (attach the stamped scan, submit,
//! withdraw, return, resubmit, approve, produce), apply for operations (revoke, report loss,
//! restore, reissue, renew), list and read seals, their pictures and GB/T 38540 structures, seal a
//! PDF with a cloud seal, and the public seal status. Thin: `seals::service` does the work and
//! `accounts::policy` decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::error::query;
use super::idempotency::Claim;
use super::openapi::{Binary, Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::seals::service::{AppScope, SealScope};
use crate::seals::status::SealStatus;
use crate::seals::{SealHistoryEntry, SealPage, SealView};
use crate::signing::placement::Placement;
use crate::signing::{Level, PdfJob};
use crate::workflow::Named;
use crate::workflow::{EventRequest, HistoryPage, ListPage, View};

/// Application bodies above this are refused (413) before they are parsed.
pub const MAX_BODY: usize = 64 * 1024;
/// PDFs sealed in one call, raw bytes.
pub const MAX_PDF: usize = 64 * 1024 * 1024;

/// `POST /api/v1/seal-applications`: a draft application for a new seal.
#[utoipa::path(post, path = "/api/v1/seal-applications", tag = "seals", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = crate::seals::application::Data, content_type = "application/json",
        description = "org_id, seal_name (unique system-wide, compared with spaces removed and full-width letters folded), \
            seal_type (legal-name, finance, invoice, contract, business, personal), mode (cloud, ukey), years (1, 2), \
            authority_id; invoice seals: taxpayer; personal seals: person_name",
        example = json!({"org_id": "9f1c…", "seal_name": "杭州示例科技有限公司合同专用章", "seal_type": "contract",
            "mode": "cloud", "years": 2, "authority_id": "a2b3…"})),
    responses(
        (status = 201, description = "The application, a draft", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The seal name is taken", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn apply(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<View>), AppError> {
    let data: serde_json::Value = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let v = app.seal_apply(&op.actor(), &data, answer.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationsQuery {
    /// mine (default: those I created), org (one organisation's: give `org`), review (the
    /// reviewer's queue).
    scope: Option<String>,
    org: Option<String>,
    /// seal-application (default) or seal-operation.
    kind: Option<String>,
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// csv: every matching record (up to 10,000) as a CSV download instead of a JSON page.
    format: Option<String>,
}

fn app_scope<'a>(scope: Option<&str>, org: Option<&'a str>) -> Result<AppScope<'a>, AppError> {
    match (scope.unwrap_or("mine"), org) {
        ("mine", _) => Ok(AppScope::Mine),
        ("review", _) => Ok(AppScope::Review),
        ("org", Some(o)) => Ok(AppScope::Org(o)),
        ("org", None) => Err(AppError::BadRequest("scope=org needs org=ID".into())),
        (s, _) => Err(AppError::BadRequest(format!(
            "scope {s:?}: mine, org or review"
        ))),
    }
}

/// `GET /api/v1/seal-applications`: applications in a scope, oldest first (keyset pages).
#[utoipa::path(get, path = "/api/v1/seal-applications", tag = "seals", security(("bearer" = [])),
    params(ApplicationsQuery),
    responses((status = 200, description = "A page of records, or with format=csv a CSV download (text/csv)", body = ListPage),
        Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn list_applications(
    State(app): State<Arc<App>>,
    q: Result<Query<ApplicationsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Response, AppError> {
    let q = query(q)?;
    let scope = app_scope(q.scope.as_deref(), q.org.as_deref())?;
    let kind = q.kind.as_deref().unwrap_or("seal-application");
    let csv = csv_wanted(q.format.as_deref())?;
    let mut cursor = q.cursor.clone();
    let mut rows = Vec::new();
    loop {
        let page = app
            .seal_applications(
                &op.actor(),
                kind,
                scope,
                q.state.as_deref(),
                cursor.as_deref(),
                if csv { Some(500) } else { q.limit },
            )
            .await?;
        if !csv {
            return Ok(Json(page).into_response());
        }
        for v in &page.items {
            let d = |k: &str| v.data[k].as_str().unwrap_or_default().to_string();
            rows.push(vec![
                v.id.clone(),
                v.kind.to_string(),
                v.state.to_string(),
                d("seal_name"),
                d("seal_type"),
                d("operation"),
                d("org_id"),
                v.created_by.clone(),
                super::csv::time(&v.created_at),
                super::csv::time(&v.updated_at),
            ]);
        }
        match page.next_cursor {
            Some(c) if rows.len() < super::csv::MAX_ROWS => cursor = Some(c),
            _ => break,
        }
    }
    Ok(super::csv::response(
        &format!("{kind}s.csv"),
        &[
            "id",
            "kind",
            "state",
            "seal_name",
            "seal_type",
            "operation",
            "org_id",
            "created_by",
            "created_at",
            "updated_at",
        ],
        &rows,
    ))
}

fn csv_wanted(format: Option<&str>) -> Result<bool, AppError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(f) => Err(AppError::BadRequest(format!("format {f:?}: json or csv"))),
    }
}

/// `GET /api/v1/seal-applications/{id}`.
#[utoipa::path(get, path = "/api/v1/seal-applications/{id}", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = View), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_application(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(app.seal_application(&op.actor(), &id).await?))
}

/// `GET /api/v1/seal-applications/{id}/form`: the application form to print and stamp (PDF, the
/// application number in a QR code).
#[utoipa::path(get, path = "/api/v1/seal-applications/{id}/form", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "电子印章申请表", content_type = "application/pdf", body = Binary),
        Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn application_form(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Response, AppError> {
    let pdf = app.seal_application_form(&op.actor(), &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"seal-application-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SealApplicationEvent)]
struct EventBody {
    /// attach-scan (attachments: [file id]), submit, withdraw, return, resubmit, approve, produce.
    event: String,
    /// The record's version as you saw it.
    version: i64,
    comment: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
    /// resubmit: the edited application (same organisation and seal name).
    data: Option<serde_json::Value>,
}

/// `POST /api/v1/seal-applications/{id}/events`.
#[utoipa::path(post, path = "/api/v1/seal-applications/{id}/events", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The application in its new state (approve of a cloud seal: produced, complete)", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn application_event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    let b: EventBody = json_body(&body)?;
    let req = EventRequest {
        event: &b.event,
        version: b.version,
        comment: b.comment.as_deref(),
        attachments: &b.attachments,
    };
    Ok(Json(
        app.seal_application_event(&op.actor(), &id, &req, b.data.as_ref())
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/seal-applications/{id}/history`: every step with who, when and why.
#[utoipa::path(get, path = "/api/v1/seal-applications/{id}/history", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = HistoryPage), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn application_history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<HistoryPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.seal_workflow_history(&op.actor(), &id, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// `POST /api/v1/seal-operations`: apply to revoke, report loss (effective at once), restore,
/// reissue or renew a seal.
#[utoipa::path(post, path = "/api/v1/seal-operations", tag = "seals", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = crate::seals::operation::Data, content_type = "application/json",
        example = json!({"seal_id": "5e0f…", "operation": "report-loss", "reason": "UKey 遗失"})),
    responses(
        (status = 201, description = "The operation application, pending review", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The operation does not apply to the seal's state", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn apply_operation(
    State(app): State<Arc<App>>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<View>), AppError> {
    let data: serde_json::Value = json_body(&body)?;
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::CREATED));
    let v = app
        .seal_operation_apply(&op.actor(), &data, answer.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `GET /api/v1/seal-operations/{id}`.
#[utoipa::path(get, path = "/api/v1/seal-operations/{id}", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = View), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_operation(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<View>, AppError> {
    Ok(Json(app.seal_operation(&op.actor(), &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SealOperationEvent)]
struct OperationEventBody {
    /// approve, return, resubmit, withdraw.
    event: String,
    version: i64,
    comment: Option<String>,
}

/// `POST /api/v1/seal-operations/{id}/events`: approval applies the operation to the seal.
#[utoipa::path(post, path = "/api/v1/seal-operations/{id}/events", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = OperationEventBody, content_type = "application/json"),
    responses(
        (status = 200, body = View), WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        Guarded,
    ))]
pub async fn operation_event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    let b: OperationEventBody = json_body(&body)?;
    let req = EventRequest {
        event: &b.event,
        version: b.version,
        comment: b.comment.as_deref(),
        attachments: &[],
    };
    Ok(Json(
        app.seal_operation_event(&op.actor(), &id, &req).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SealsQuery {
    /// applied (default: seals of applications I made), managed (organisations I administer;
    /// all for staff), org (give `org`).
    scope: Option<String>,
    org: Option<String>,
    state: Option<String>,
    /// Part of the name (spaces and full-width letters folded).
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// csv: every matching seal (up to 10,000) as a CSV download.
    format: Option<String>,
}

/// `GET /api/v1/seals`: seals in a scope, oldest first (keyset pages).
#[utoipa::path(get, path = "/api/v1/seals", tag = "seals", security(("bearer" = [])),
    params(SealsQuery),
    responses((status = 200, description = "A page of seals, or with format=csv a CSV download (text/csv)", body = SealPage),
        Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn list_seals(
    State(app): State<Arc<App>>,
    q: Result<Query<SealsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Response, AppError> {
    let q = query(q)?;
    let scope = match (q.scope.as_deref().unwrap_or("applied"), q.org.as_deref()) {
        ("applied", _) => SealScope::Applied,
        ("managed", _) => SealScope::Managed,
        ("org", Some(o)) => SealScope::Org(o),
        ("org", None) => return Err(AppError::BadRequest("scope=org needs org=ID".into())),
        (s, _) => {
            return Err(AppError::BadRequest(format!(
                "scope {s:?}: applied, managed or org"
            )))
        }
    };
    let csv = csv_wanted(q.format.as_deref())?;
    let mut cursor = q.cursor.clone();
    let mut rows = Vec::new();
    loop {
        let page = app
            .seals(
                &op.actor(),
                scope,
                q.state.as_deref(),
                q.q.as_deref(),
                cursor.as_deref(),
                if csv { Some(500) } else { q.limit },
            )
            .await?;
        if !csv {
            return Ok(Json(page).into_response());
        }
        for v in &page.items {
            rows.push(vec![
                v.code.clone(),
                v.name.clone(),
                v.seal_type_zh.to_string(),
                v.mode.clone(),
                v.state.clone(),
                v.org_id.clone(),
                v.cert_serial.clone(),
                super::csv::time(&v.valid_from),
                super::csv::time(&v.valid_until),
            ]);
        }
        match page.next_cursor {
            Some(c) if rows.len() < super::csv::MAX_ROWS => cursor = Some(c),
            _ => break,
        }
    }
    Ok(super::csv::response(
        "seals.csv",
        &[
            "code",
            "name",
            "type",
            "mode",
            "state",
            "org_id",
            "cert_serial",
            "valid_from",
            "valid_until",
        ],
        &rows,
    ))
}

/// `GET /api/v1/seals/{id}`.
#[utoipa::path(get, path = "/api/v1/seals/{id}", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = SealView), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_seal(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<SealView>, AppError> {
    Ok(Json(app.seal(&op.actor(), &id).await?))
}

/// `GET /api/v1/seals/{id}/history`.
#[utoipa::path(get, path = "/api/v1/seals/{id}/history", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<SealHistoryEntry>), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn seal_history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<Vec<SealHistoryEntry>>, AppError> {
    Ok(Json(app.seal_history(&op.actor(), &id).await?))
}

/// `GET /api/v1/platform-keys`: the platform's own seal keys (maker, seal-status signer) with their
/// certificates' serial, validity and status — platform operators (`seals.produce`).
#[utoipa::path(get, path = "/api/v1/platform-keys", tag = "seals", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::seals::maker::PlatformKeyView>), Staff, Guarded))]
pub async fn platform_keys(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<Vec<crate::seals::maker::PlatformKeyView>>, AppError> {
    Ok(Json(app.platform_keys(&op.actor()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// picture.png (default), picture.svg, or seal.der (the GB/T 38540 structure).
    part: Option<String>,
}

/// `GET /api/v1/seals/{id}/file?part=`: the seal picture or its GB/T 38540 structure.
#[utoipa::path(get, path = "/api/v1/seals/{id}/file", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), FileQuery),
    responses(
        (status = 200, description = "image/png, image/svg+xml or application/octet-stream", body = Binary),
        Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn seal_file(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<FileQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Response, AppError> {
    let q = query(q)?;
    let row = app.seal_files(&op.actor(), &id).await?;
    let (ctype, body) = match q.part.as_deref().unwrap_or("picture.png") {
        "picture.png" => ("image/png", row.picture_png),
        "picture.svg" => (
            "image/svg+xml",
            row.picture_svg
                .ok_or_else(|| AppError::NotFound("this seal's picture has no SVG form".into()))?
                .into_bytes(),
        ),
        "seal.der" => ("application/octet-stream", row.ses_der),
        p => {
            return Err(AppError::BadRequest(format!(
                "part {p:?}: picture.png, picture.svg or seal.der"
            )))
        }
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignQuery {
    /// Page, from 1 (default 1).
    page: Option<usize>,
    /// Centre of the seal in mm from the displayed top-left corner.
    x_mm: Option<f64>,
    y_mm: Option<f64>,
    /// Place the seal on this text instead.
    keyword: Option<String>,
    /// b-b (default), b-t, b-lt, b-lta.
    level: Option<String>,
    reason: Option<String>,
}

/// `POST /api/v1/seals/{id}/sign`: seal a PDF (the raw body) with a cloud seal; the seal's
/// organisation's applicants and seal administrators may. Refused unless the seal is active.
#[utoipa::path(post, path = "/api/v1/seals/{id}/sign", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), SignQuery),
    request_body(content = Binary, content_type = "application/pdf"),
    responses(
        (status = 200, description = "The sealed PDF", content_type = "application/pdf", body = Binary),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, description = "The seal is not active (lost, revoked, expired)", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn sign(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    q: Result<Query<SignQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let q = query(q)?;
    let level = q
        .level
        .as_deref()
        .map(Level::parse)
        .transpose()?
        .unwrap_or(Level::BB);
    let actor = op.actor();
    let (key, row) = app.seal_signing_key(&actor, &id).await?;
    let image = sealpki_pki::pdf::image::SealImage::from_bytes(&row.picture_png)
        .map_err(|e| AppError::Internal(format!("seal picture: {e}")))?;
    let at = match (q.x_mm, q.y_mm) {
        (Some(x), Some(y)) if x.is_finite() && y.is_finite() && x >= 0.0 && y >= 0.0 => {
            Some((x * 72.0 / 25.4, y * 72.0 / 25.4))
        }
        (None, None) => None,
        _ => {
            return Err(AppError::BadRequest(
                "x_mm and y_mm: give both, as non-negative numbers of mm".into(),
            ))
        }
    };
    let (w, _) = crate::seals::picture::size_mm(
        crate::seals::SealType::parse(&row.seal_type).unwrap_or(crate::seals::SealType::Business),
    );
    let placement = Placement {
        page: q.page,
        at: at.or(if q.keyword.is_none() {
            Some((300.0, 500.0))
        } else {
            None
        }),
        size_mm: w as f64,
        keyword: q.keyword,
        cross_page: false,
    };
    let (out, _) = app
        .sign_pdf_bytes(
            &actor,
            key,
            PdfJob {
                pdf: body.to_vec(),
                password: None,
                image: Some(image),
                placement,
                spots: Vec::new(),
                field: None,
                level,
                certify: None,
                reason: q.reason,
                location: None,
            },
            serde_json::json!({"seal": row.id, "seal_code": row.code}),
        )
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], out).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The 13-digit seal code.
    code: Option<String>,
    /// Or the serial of a seal certificate (hex).
    serial: Option<String>,
}

/// `GET /api/v1/seal-status?code=|serial=`: public — the seal's state and history times.
#[utoipa::path(get, path = "/api/v1/seal-status", tag = "seals",
    params(StatusQuery),
    responses((status = 200, body = SealStatus), (status = 400, response = ProblemResponse),
        (status = 404, response = ProblemResponse), Guarded))]
pub async fn status(
    State(app): State<Arc<App>>,
    q: Result<Query<StatusQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SealStatus>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.seal_status(q.code.as_deref(), q.serial.as_deref())
            .await?,
    ))
}
