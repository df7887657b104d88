//! The apps' signing API over HTTP (`AppRequest`: HMAC-signed or an app's client certificate):
//! `POST /api/v1/app/seal` (a raw PDF with one placement in the query, or multipart with a
//! `pdf` part and a `request` JSON part naming several placements), `POST /api/v1/app/keywords`
//! (where a text appears), `GET /api/v1/app/evidence/{sha256}` and `GET /api/v1/app/usage`.
//! Thin: `apps::sealing` does the work.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::app_auth::{AppRequest, AppSealingRequest};
use super::error::query;
use super::openapi::{Binary, Guarded, ProblemResponse};
use crate::app::App;
use crate::apps::authn::PendingNonce;
use crate::apps::sealing::SealOrder;
use crate::error::AppError;
use crate::signing::placement::{Occurrence, PageSet, Spot};
use crate::signing::Level;
use crate::store::{EvidenceRow, UsageRow};

/// PDFs up to this size are sealed in one call.
pub const MAX_PDF: usize = 64 * 1024 * 1024;

/// One placement of the seal, in a multipart request's `request` part.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PlacementBody {
    /// Centred at (x_mm, y_mm) from the displayed top-left corner of `page` (from 1).
    At { page: usize, x_mm: f64, y_mm: f64 },
    /// Centred on the `occurrence`-th (from 1, default 1) place `text` appears, on `page` or
    /// anywhere in page order.
    Keyword {
        text: String,
        occurrence: Option<usize>,
        page: Option<usize>,
    },
    /// 骑缝章 across `pages` (`all` — the default —, `odd`, `even` or a list like `1,3-5`), its
    /// centre `y_mm` from the top (default half-way down).
    CrossPage {
        pages: Option<String>,
        y_mm: Option<f64>,
    },
}

impl PlacementBody {
    fn spot(self) -> Result<Spot, AppError> {
        Ok(match self {
            PlacementBody::At { page, x_mm, y_mm } => Spot::At { page, x_mm, y_mm },
            PlacementBody::Keyword {
                text,
                occurrence,
                page,
            } => Spot::Keyword {
                text,
                occurrence: occurrence.unwrap_or(1),
                page,
            },
            PlacementBody::CrossPage { pages, y_mm } => Spot::CrossPage {
                pages: PageSet::parse(pages.as_deref().unwrap_or("all"))?,
                y_mm,
            },
        })
    }
}

/// The `request` part of a multipart sealing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealRequestBody {
    pub seal_id: String,
    /// 1 to 50 places for the one signature.
    pub placements: Vec<PlacementBody>,
    /// b-b (default), b-t, b-lt or b-lta.
    pub level: Option<String>,
    /// Seal width in mm (default: the seal type's physical size).
    pub size_mm: Option<f64>,
    pub reason: Option<String>,
    pub location: Option<String>,
}

/// A raw-PDF sealing's parameters: the seal and one placement (`x_mm`+`y_mm` on `page`, or
/// `keyword` with `occurrence`, or `cross_page`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SealQuery {
    /// The seal (its id), authorized to this app by a seal administrator.
    seal_id: Option<String>,
    /// Page from 1 (default 1 for x_mm/y_mm; for a keyword, the page to search, default all).
    page: Option<usize>,
    /// Centre of the seal, mm from the left edge of the page as displayed.
    x_mm: Option<f64>,
    /// Centre of the seal, mm from the top edge (with cross_page: the slices' centre).
    y_mm: Option<f64>,
    /// Centre the seal on this text.
    keyword: Option<String>,
    /// Which occurrence of the keyword, from 1 (default 1).
    occurrence: Option<usize>,
    /// A cross-page seal (骑缝章) over these pages: all, odd, even or a list like 1,3-5.
    cross_page: Option<String>,
    /// b-b (default), b-t, b-lt or b-lta.
    level: Option<String>,
    /// Seal width in mm (default: the seal type's physical size).
    size_mm: Option<f64>,
    reason: Option<String>,
}

impl SealQuery {
    fn order(self) -> Result<SealOrder, AppError> {
        let seal_id = self
            .seal_id
            .ok_or_else(|| AppError::BadRequest("seal_id: give the seal to seal with".into()))?;
        let spot =
            match (self.keyword, self.cross_page, self.x_mm, self.y_mm) {
                (Some(text), None, None, None) => Spot::Keyword {
                    text,
                    occurrence: self.occurrence.unwrap_or(1),
                    page: self.page,
                },
                (None, Some(pages), None, y_mm) => Spot::CrossPage {
                    pages: PageSet::parse(&pages)?,
                    y_mm,
                },
                (None, None, Some(x_mm), Some(y_mm)) => Spot::At {
                    page: self.page.unwrap_or(1),
                    x_mm,
                    y_mm,
                },
                _ => return Err(AppError::BadRequest(
                    "placement: give x_mm and y_mm (with page), or keyword (with occurrence), or \
                     cross_page — one of them; several placements go in a multipart request"
                        .into(),
                )),
            };
        Ok(SealOrder {
            seal_id,
            spots: vec![spot],
            size_mm: self.size_mm,
            level: level(self.level.as_deref())?,
            reason: self.reason,
            location: None,
        })
    }
}

fn level(s: Option<&str>) -> Result<Level, AppError> {
    Ok(s.map(Level::parse).transpose()?.unwrap_or(Level::BB))
}

impl SealRequestBody {
    pub(super) fn order(self) -> Result<SealOrder, AppError> {
        let spots = self
            .placements
            .into_iter()
            .map(PlacementBody::spot)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SealOrder {
            seal_id: self.seal_id,
            spots,
            size_mm: self.size_mm,
            level: level(self.level.as_deref())?,
            reason: self.reason,
            location: self.location,
        })
    }
}

/// The PDF and the order of a sealing: multipart (`pdf` + `request`) or a raw PDF with the
/// query's single placement.
async fn order_of(
    headers: &HeaderMap,
    body: Bytes,
    q: SealQuery,
) -> Result<(Bytes, SealOrder), AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("multipart/form-data") {
        if !ct.is_empty() && !ct.starts_with("application/pdf") {
            return Err(AppError::BadRequest(format!(
                "Content-Type {ct:?}: send application/pdf, or multipart/form-data with parts pdf \
                 and request"
            )));
        }
        return Ok((body, q.order()?));
    }
    let req = Request::builder()
        .header(header::CONTENT_TYPE, ct)
        .body(axum::body::Body::from(body))
        .map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
    let (mut pdf, mut request) = (None, None);
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
        match name.as_str() {
            "pdf" if pdf.is_none() => pdf = Some(bytes),
            "request" if request.is_none() => request = Some(bytes),
            other => {
                return Err(AppError::BadRequest(format!(
                    "multipart part {other:?}: give one pdf part and one request part"
                )))
            }
        }
    }
    let pdf = pdf.ok_or_else(|| AppError::BadRequest("multipart: no pdf part".into()))?;
    let request =
        request.ok_or_else(|| AppError::BadRequest("multipart: no request part".into()))?;
    let body: SealRequestBody = serde_json::from_slice(&request)
        .map_err(|e| AppError::BadRequest(format!("request part: {e}")))?;
    Ok((pdf, body.order()?))
}

/// `POST /api/v1/app/seal`: seal a PDF with a seal authorized to the calling app.
#[utoipa::path(post, path = "/api/v1/app/seal", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(SealQuery,
        ("Idempotency-Key" = Option<String>, Header,
            description = "A retry with the same key and request gets the same bytes; the document is sealed once")),
    request_body(content(
        (Binary = "application/pdf"),
        (SealRequestBody = "multipart/form-data"))),
    description = "Called by an app. A raw PDF (`application/pdf`) with one placement in the \
        query, or `multipart/form-data` with a `pdf` part and a `request` part (JSON: seal_id, \
        placements, level). Only seals a seal administrator authorized to this app and that are \
        active: 403 names the reason (`no-grant`, `grant-not-yet-effective`, `grant-withdrawn`, \
        `grant-expired`, `use-limit-reached`, `seal-lost`, `seal-revoked`, `seal-expired`); a \
        suspended or revoked app is refused before that, at authentication (403 `forbidden`, \
        reason `app-suspended` or `app-revoked`). The answer carries the evidence id (`X-Sealpki-Evidence`) and the sealed \
        document's SHA-256.",
    responses(
        (status = 200, description = "The sealed PDF", content_type = "application/pdf", body = Binary),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn seal(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    q: Result<Query<SealQuery>, axum::extract::rejection::QueryRejection>,
    sealing: AppSealingRequest,
) -> Result<Response, AppError> {
    // On a task of its own: a timeout or a client gone drops the handler's future, and the
    // nonce must be taken all the same, or the request could be replayed.
    let AppSealingRequest { req, nonce } = sealing;
    tokio::spawn(async move {
        let answer = seal_answer(&app, &headers, q, &req, nonce.as_ref()).await;
        app.app_nonce_settle(nonce.as_ref(), answer).await
    })
    .await
    .map_err(|e| AppError::Internal(format!("sealing: {e}")))?
}

async fn seal_answer(
    app: &App,
    headers: &HeaderMap,
    q: Result<Query<SealQuery>, axum::extract::rejection::QueryRejection>,
    req: &AppRequest,
    nonce: Option<&PendingNonce>,
) -> Result<Response, AppError> {
    let q = query(q)?;
    let key = headers
        .get("idempotency-key")
        .map(super::idempotency::check_key)
        .transpose()?;
    let (pdf, order) = order_of(headers, req.body.clone(), q).await?;
    let sealed = app
        .app_seal(&req.caller, pdf, order, key.as_deref(), nonce)
        .await?;
    let mut r = (
        [(header::CONTENT_TYPE, "application/pdf")],
        sealed.pdf.clone(),
    )
        .into_response();
    let h = r.headers_mut();
    for (name, value) in [
        ("x-sealpki-evidence", sealed.evidence.id.as_str()),
        ("x-sealpki-sha256", sealed.evidence.output_sha256.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    if sealed.replayed {
        h.insert(
            super::idempotency::REPLAYED,
            HeaderValue::from_static("true"),
        );
    }
    Ok(r)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeywordQuery {
    /// The text to find (1 to 200 characters).
    keyword: String,
    /// Search this page only (from 1).
    page: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct Occurrences {
    pub keyword: String,
    pub occurrences: Vec<Occurrence>,
}

/// `POST /api/v1/app/keywords`: every place a text appears in a PDF (raw body).
#[utoipa::path(post, path = "/api/v1/app/keywords", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(KeywordQuery),
    request_body(content = Binary, content_type = "application/pdf"),
    responses(
        (status = 200, body = Occurrences),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        Guarded,
    ))]
pub async fn keywords(
    q: Result<Query<KeywordQuery>, axum::extract::rejection::QueryRejection>,
    req: AppRequest,
) -> Result<Json<Occurrences>, AppError> {
    let q = query(q)?;
    let body = req.body;
    let keyword = q.keyword.clone();
    let occurrences = tokio::task::spawn_blocking(move || {
        let doc = sealpki_pki::pdf::reader::Document::open(Box::new(body.to_vec()), None)?;
        crate::signing::placement::occurrences(&doc, &q.keyword, q.page)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(Occurrences {
        keyword,
        occurrences,
    }))
}

/// `GET /api/v1/app/evidence/{sha256}`: the calling app's sealings of a document.
#[utoipa::path(get, path = "/api/v1/app/evidence/{sha256}", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(("sha256" = String, Path, description = "SHA-256 (hex) of the sealed document or of the original")),
    responses(
        (status = 200, body = Vec<EvidenceRow>),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
pub async fn evidence(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    req: AppRequest,
) -> Result<Json<Vec<EvidenceRow>>, AppError> {
    Ok(Json(app.app_evidence(&req.caller, &sha256).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Days back from today, 1 to 366 (default 30).
    days: Option<u32>,
}

/// `GET /api/v1/app/usage`: the calling app's sealings per day and seal.
#[utoipa::path(get, path = "/api/v1/app/usage", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(UsageQuery),
    responses(
        (status = 200, body = Vec<UsageRow>),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        Guarded,
    ))]
pub async fn usage(
    State(app): State<Arc<App>>,
    q: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
    req: AppRequest,
) -> Result<Json<Vec<UsageRow>>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_usage(&req.caller, q.days.unwrap_or(30)).await?,
    ))
}
