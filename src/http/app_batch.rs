//! Batches and asynchronous jobs of the apps' signing API over HTTP: `POST /api/v1/app/seal-batch`
//! (several documents sealed in the call), `POST /api/v1/app/jobs` (queued, 202 with the job),
//! `GET /api/v1/app/jobs[/{id}]`, and `GET /api/v1/app/documents/{sha256}` (a sealed document
//! of a batch or job). Both take multipart: a `request` part (JSON, one entry per document) and
//! one part per document named as its entry says. Thin: `apps::batch` does the work.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::app_auth::AppRequest;
use super::app_sign::{PlacementBody, SealRequestBody};
use super::error::query;
use super::openapi::{Binary, Guarded, ProblemResponse};
use crate::app::App;
use crate::apps::batch::{AppJobPage, AppJobView, BatchDocument, BatchResult};
use crate::error::AppError;

/// A batch's body: its documents and the request part.
pub const MAX_BATCH_BODY: usize = crate::apps::batch::MAX_BATCH_BYTES + 1024 * 1024;
/// A job's body.
pub const MAX_JOB_BODY: usize = crate::apps::batch::MAX_JOB_BYTES + 1024 * 1024;

/// One document of a batch or job, in the `request` part.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDocumentBody {
    /// The multipart part holding this document's PDF.
    pub name: String,
    pub seal_id: String,
    /// 1 to 50 places for the document's one signature.
    pub placements: Vec<PlacementBody>,
    /// b-b (default), b-t, b-lt or b-lta.
    pub level: Option<String>,
    pub size_mm: Option<f64>,
    pub reason: Option<String>,
    pub location: Option<String>,
}

/// The `request` part of a batch or job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequestBody {
    pub documents: Vec<BatchDocumentBody>,
}

/// The documents of a multipart batch, each with its order.
async fn documents(headers: &HeaderMap, body: Bytes) -> Result<Vec<BatchDocument>, AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("multipart/form-data") {
        return Err(AppError::BadRequest(format!(
            "Content-Type {ct:?}: send multipart/form-data with a request part and one part per \
             document"
        )));
    }
    let req = Request::builder()
        .header(header::CONTENT_TYPE, ct)
        .body(axum::body::Body::from(body))
        .map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
    let mut request = None;
    let mut parts: BTreeMap<String, Bytes> = BTreeMap::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| AppError::BadRequest(format!("multipart part {name:?}: {e}")))?;
        if name == "request" {
            if request.replace(bytes).is_some() {
                return Err(AppError::BadRequest("multipart: two request parts".into()));
            }
        } else if parts.insert(name.clone(), bytes).is_some() {
            return Err(AppError::BadRequest(format!(
                "multipart: two parts named {name:?}"
            )));
        }
    }
    let request =
        request.ok_or_else(|| AppError::BadRequest("multipart: no request part".into()))?;
    let body: BatchRequestBody = serde_json::from_slice(&request)
        .map_err(|e| AppError::BadRequest(format!("request part: {e}")))?;
    let mut docs = Vec::with_capacity(body.documents.len());
    let mut named = BTreeSet::new();
    for d in body.documents {
        // Before the part is taken: a second entry naming it would otherwise read as a part
        // that is missing.
        if !named.insert(d.name.clone()) {
            return Err(AppError::BadRequest(format!(
                "document {:?} is named twice: give each part its own name",
                d.name
            )));
        }
        let pdf = parts.remove(&d.name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "document {:?}: no multipart part of that name",
                d.name
            ))
        })?;
        let order = SealRequestBody {
            seal_id: d.seal_id,
            placements: d.placements,
            level: d.level,
            size_mm: d.size_mm,
            reason: d.reason,
            location: d.location,
        }
        .order()?;
        docs.push(BatchDocument {
            name: d.name,
            pdf,
            order,
        });
    }
    if let Some(extra) = parts.keys().next() {
        return Err(AppError::BadRequest(format!(
            "multipart part {extra:?} is no document of the request"
        )));
    }
    Ok(docs)
}

/// `POST /api/v1/app/seal-batch`: seal several documents in one call.
#[utoipa::path(post, path = "/api/v1/app/seal-batch", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    request_body(content = BatchRequestBody, content_type = "multipart/form-data",
        description = "A `request` part (JSON) naming each document's part, seal and placements, \
            and one part per document (application/pdf)."),
    description = "Up to 20 documents and 64 MiB. Checked whole first — sizes, names, \
        placements, and every seal's authorization to this app: one refusal refuses the batch \
        and nothing is sealed. Then each document is sealed on its own; one that fails (a \
        keyword not found, a broken PDF) is reported beside the others with its status and \
        error. Sealed documents are fetched from `GET /api/v1/app/documents/{sha256}`.",
    responses(
        (status = 200, body = BatchResult),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 429, response = ProblemResponse),
        Guarded,
    ))]
pub async fn seal_batch(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    req: AppRequest,
) -> Result<Json<BatchResult>, AppError> {
    let docs = documents(&headers, req.body.clone()).await?;
    Ok(Json(app.app_seal_batch(&req.caller, docs).await?))
}

/// `POST /api/v1/app/jobs`: queue documents for sealing.
#[utoipa::path(post, path = "/api/v1/app/jobs", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    request_body(content = BatchRequestBody, content_type = "multipart/form-data"),
    description = "As `seal-batch`, for up to 100 documents and 256 MiB: checked whole, then \
        queued on the platform's job queue (202 with the job). Poll `GET /api/v1/app/jobs/{id}` \
        or wait for the `job.finished` webhook.",
    responses(
        (status = 202, body = AppJobView),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 429, response = ProblemResponse),
        Guarded,
    ))]
pub async fn submit_job(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    req: AppRequest,
) -> Result<Response, AppError> {
    let docs = documents(&headers, req.body.clone()).await?;
    let job = app.app_job_submit(&req.caller, docs).await?;
    let location = format!("/api/v1/app/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(job),
    )
        .into_response())
}

/// `GET /api/v1/app/jobs/{id}`: a job's state and its documents' results.
#[utoipa::path(get, path = "/api/v1/app/jobs/{id}", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AppJobView), (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse), (status = 404, response = ProblemResponse),
        Guarded))]
pub async fn job(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: AppRequest,
) -> Result<Json<AppJobView>, AppError> {
    Ok(Json(app.app_job(&req.caller, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    cursor: Option<String>,
    /// 1 to 100 (default 20).
    limit: Option<i64>,
}

/// `GET /api/v1/app/jobs`: the calling app's jobs, newest first.
#[utoipa::path(get, path = "/api/v1/app/jobs", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(JobsQuery),
    responses((status = 200, body = AppJobPage), (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse), (status = 403, response = ProblemResponse),
        Guarded))]
pub async fn jobs(
    State(app): State<Arc<App>>,
    q: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
    req: AppRequest,
) -> Result<Json<AppJobPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_job_list(&req.caller, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

/// `GET /api/v1/app/documents/{sha256}`: a document this app sealed in a batch or job.
#[utoipa::path(get, path = "/api/v1/app/documents/{sha256}", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(("sha256" = String, Path, description = "SHA-256 (hex) of the sealed document")),
    responses(
        (status = 200, description = "The sealed PDF", content_type = "application/pdf", body = Binary),
        (status = 400, response = ProblemResponse), (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse), (status = 404, response = ProblemResponse),
        Guarded))]
pub async fn document(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    req: AppRequest,
) -> Result<Response, AppError> {
    let pdf = app.app_document(&req.caller, &sha256).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
