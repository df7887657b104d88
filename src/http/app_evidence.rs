//! The evidence report of the apps' signing API over HTTP (`AppRequest`):
//! `GET /api/v1/app/evidence/{sha256}/report` — JSON by default, the signed PDF with
//! `Accept: application/pdf` or `?format=pdf` (`lang=zh`, the default, or `en`). Thin:
//! `apps::evidence` does the work.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::app_auth::AppRequest;
use super::openapi::{Binary, Guarded, ProblemResponse};
use crate::app::App;
use crate::apps::evidence::{EvidenceReport, ReportLang};
use crate::error::AppError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// json or pdf; without it the Accept header decides (JSON unless it prefers application/pdf).
    format: Option<String>,
    /// The PDF's language: zh (Simplified Chinese, the default) or en.
    lang: Option<String>,
}

/// What the caller asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Pdf,
}

/// `format` when given, else the media type of `Accept` with the higher weight among
/// application/json and application/pdf (the first listed on a tie; JSON when neither is).
pub fn format_of(format: Option<&str>, accept: Option<&str>) -> Result<Format, AppError> {
    match format.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
        Some("json") => return Ok(Format::Json),
        Some("pdf") => return Ok(Format::Pdf),
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "format {other:?}: give json or pdf"
            )))
        }
        None => {}
    }
    let mut best: Option<(f32, Format)> = None;
    for item in accept.unwrap_or("").split(',').take(32) {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let f = match media.as_str() {
            "application/json" => Format::Json,
            "application/pdf" => Format::Pdf,
            _ => continue,
        };
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .map(|q| q.parse().unwrap_or(0.0))
            })
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, f));
        }
    }
    Ok(best.map_or(Format::Json, |(_, f)| f))
}

/// The report's language from `lang` (default Chinese), or 400.
pub fn lang_of(lang: Option<&str>) -> Result<ReportLang, AppError> {
    match lang {
        None => Ok(ReportLang::Zh),
        Some(l) => ReportLang::parse(l)
            .ok_or_else(|| AppError::BadRequest(format!("lang {l:?}: give zh or en"))),
    }
}

/// A signed report PDF as an attachment named after the document and the language.
pub fn pdf_response(report: &EvidenceReport, lang: ReportLang, pdf: Vec<u8>) -> Response {
    let name = format!(
        "attachment; filename=\"evidence-{}-{}.pdf\"",
        report.document_sha256.get(..16).unwrap_or_default(),
        lang.tag()
    );
    let mut r = ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /api/v1/app/evidence/{sha256}/report`: the calling app's evidence report for a document.
#[utoipa::path(get, path = "/api/v1/app/evidence/{sha256}/report", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    params(
        ("sha256" = String, Path, description = "SHA-256 (hex) of the sealed document or of the original"),
        ReportQuery,
        ("Accept" = Option<String>, Header, description = "application/json (the default) or application/pdf"),
    ),
    description = "Called by an app. Every sealing of the document by this app (at most 100, oldest \
        first): the evidence id, the seal and its organisation, the seal's signing certificate, both \
        SHA-256s, the time (RFC 3339 and Unix), PAdES level, field, placements, client address, and \
        the sealing's `pdf.sign` entry in the audit chain — its sequence number and hash, checked \
        against the entry's content (`verified`) — with the signed checkpoint covering it. As a PDF \
        (`Accept: application/pdf` or `format=pdf`): an A4 report in Simplified Chinese (`lang=zh`, \
        the default) or English (`lang=en`), signed by the platform's evidence signer at PAdES B-T \
        with a time stamp from the platform's TSA. Made on each call. 404 when this app sealed no \
        document with that hash (another app's sealings are not this app's to see).",
    responses(
        (status = 200, description = "The report", content(
            (EvidenceReport = "application/json", example = json!({
                "document_sha256": "5f1c…e2",
                "app": {"id": "5d0c…", "name": "合同管理系统"},
                "sealings": [{
                    "evidence_id": "8c1d…",
                    "seal": {"id": "9f1c…", "code": "3301060012345", "name": "杭州示例科技有限公司合同专用章",
                        "seal_type": "contract",
                        "organisation": {"id": "b7e2…", "name": "杭州示例科技有限公司", "credit_code": "91330106MA2H2XXX1Q"}},
                    "certificate": {"serial": "5a3e…", "subject": "CN=杭州示例科技有限公司合同专用章,O=杭州示例科技有限公司,C=CN",
                        "issuer": "CN=sealpki Seal CA,O=sealpki,C=CN", "not_before": "2026-01-01T00:00:00Z",
                        "not_after": "2027-01-01T00:00:00Z", "not_before_unix": 1767225600, "not_after_unix": 1798761600},
                    "grant_id": "e41f…",
                    "input_sha256": "5f1c…e2", "output_sha256": "a9b0…17", "output_bytes": 48213,
                    "sealed_at": "2026-03-02T08:15:00Z", "sealed_at_unix": 1772439300,
                    "level": "b-t", "field": "Signature1",
                    "placements": [{"kind": "keyword", "text": "盖章处", "occurrence": 1, "page": null}],
                    "client": "203.0.113.7",
                    "audit": {"seq": 1042, "hash": "c3d4…", "prev_hash": "b2a1…", "at": "2026-03-02T08:15:00Z",
                        "at_unix": 1772439300, "actor": "app:5d0c…", "action": "pdf.sign", "verified": true,
                        "checkpoint": {"seq": 1050, "head_hash": "77e0…", "signed_at": "2026-03-02T08:16:40Z",
                            "signed_at_unix": 1772439400}}
                }],
                "generated_at": "2026-03-05T02:00:00Z", "generated_at_unix": 1772676000,
                "verification_url": "https://pki.example.cn/verify"
            })),
            (Binary = "application/pdf"),
        ), headers(("Content-Disposition" = String, description = "PDF: attachment; filename=\"evidence-HASH16-LANG.pdf\""))),
        (status = 400, response = ProblemResponse),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 503, description = "No time-stamping key, or the platform's evidence signer cannot sign", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn report(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
    req: AppRequest,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = format_of(q.format.as_deref(), accept)?;
    let lang = lang_of(q.lang.as_deref())?;
    let report = app.app_evidence_report(&req.caller, &sha256).await?;
    match format {
        Format::Json => {
            let mut r = Json(report).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(r)
        }
        Format::Pdf => {
            let pdf = app
                .app_evidence_report_pdf(&req.caller, &report, lang)
                .await?;
            Ok(pdf_response(&report, lang, pdf))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_parameter_then_accept() {
        let f = |format, accept| format_of(format, accept).unwrap();
        assert_eq!(f(None, None), Format::Json);
        assert_eq!(f(None, Some("*/*")), Format::Json);
        assert_eq!(f(None, Some("application/pdf")), Format::Pdf);
        assert_eq!(
            f(None, Some("application/json, application/pdf")),
            Format::Json
        );
        assert_eq!(
            f(None, Some("application/json;q=0.5, application/pdf")),
            Format::Pdf
        );
        assert_eq!(f(None, Some("application/pdf;q=0")), Format::Json);
        assert_eq!(f(Some("pdf"), Some("application/json")), Format::Pdf);
        assert_eq!(f(Some("JSON"), Some("application/pdf")), Format::Json);
        assert!(format_of(Some("xml"), None).is_err());
        assert_eq!(lang_of(None).unwrap(), ReportLang::Zh);
        assert_eq!(lang_of(Some("en")).unwrap(), ReportLang::En);
        assert!(lang_of(Some("de")).is_err());
    }
}
