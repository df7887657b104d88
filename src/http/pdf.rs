//! PDF sealing over HTTP: a public verify endpoint (upload a PDF, get the report, checked against
//! this deployment's root) and signing with a key the service holds (operators and admins; the
//! cloud-signing issue opens it to authorized applications).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use sealpki_pki::pdf::image::SealImage;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::verify::{self, VerifyOptions};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::openapi::{Binary, Guarded, ProblemResponse, RateLimited, Staff, WithBody};
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::signing::placement::Placement;
use crate::signing::{CertChoice, Level, PdfJob, Use};

/// Uploads above this are refused (the route's body limit).
pub const MAX_PDF: usize = 64 * 1024 * 1024;

fn password(headers: &HeaderMap) -> Option<Vec<u8>> {
    headers.get("x-pdf-password").map(|v| v.as_bytes().to_vec())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// true: ask each seal certificate's issuing platform for the seal's signed status (a
    /// `seal-status` check per seal signature; lost, revoked or expired makes it invalid).
    online: Option<bool>,
}

/// `POST /api/v1/pdf/verify`: the body is the PDF; `X-PDF-Password` opens an encrypted one.
#[utoipa::path(post, path = "/api/v1/pdf/verify", tag = "documents",
    description = "Public: verify every signature of an uploaded PDF against this deployment's root: \
        coverage, integrity, CMS signature, chain, timestamps, what later revisions changed, seal \
        images. One verdict per signature (valid, invalid, indeterminate) with reasons. With \
        `online=true`, each signature made with a seal certificate is also checked against the \
        seal status of the platform that issued it (its signed credential).",
    params(("X-PDF-Password" = Option<String>, Header, description = "Password of an encrypted PDF"), VerifyQuery),
    request_body(content = Binary, content_type = "application/pdf", description = "The PDF, at most 64 MB"),
    responses(
        (status = 200, description = "The report: bytes, revisions, verdict, reasons, signatures[] (field, \
            kind, signer, timestamp, byte_range, checks[], modifications[], seal_images[], verdict, reasons, \
            warnings)", body = Object),
        WithBody, RateLimited, Guarded,
    ))]
pub async fn verify(
    State(app): State<Arc<App>>,
    q: Result<Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let online = q
        .map_err(|e| AppError::BadRequest(format!("query: {e}")))?
        .0
        .online
        .unwrap_or(false);
    let trust = crate::public::pdf(&app)?;
    let pw = password(&headers);
    let report = tokio::task::spawn_blocking(move || {
        let doc = Document::open(Box::new(body.to_vec()), pw.as_deref())?;
        let mut r = verify::verify(
            &doc,
            &VerifyOptions {
                trust: trust.clone(),
                now: None,
            },
        )?;
        if online {
            crate::signing::seal_status::check_pdf(&mut r, &trust);
        }
        Ok::<_, AppError>(r)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(report).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PdfSignRequest)]
struct SignBody {
    /// The PDF, base64.
    pdf: String,
    /// A key in this deployment's key stores (soft:NAME or pkcs11:token=LABEL;object=NAME).
    key: String,
    /// Serial of the stored certificate for that key.
    cert_serial: String,
    /// Seal picture (PNG or JPEG), base64; without it the signature is invisible.
    image: Option<String>,
    /// Page number, from 1.
    page: Option<usize>,
    /// Centre of the seal in mm from the displayed top-left corner.
    at_mm: Option<[f64; 2]>,
    /// Seal diameter in mm (default 42).
    size_mm: Option<f64>,
    /// Place the seal on this text (1 to 200 characters).
    keyword: Option<String>,
    /// A seal across the pages' edges.
    #[serde(default)]
    cross_page: bool,
    /// "b-b" (default), "b-t" (timestamp from this deployment's TSA), "b-lt" (plus a DSS with OCSP
    /// answers or CRLs from the certificates' URLs), "b-lta" (plus a document timestamp).
    level: Option<String>,
    /// DocMDP certification: 1 (no changes), 2 (form filling, signing), 3 (also annotations).
    certify: Option<u8>,
    reason: Option<String>,
    location: Option<String>,
    field: Option<String>,
    /// Password of an encrypted PDF.
    password: Option<String>,
}

/// `POST /api/v1/pdf/sign`: returns the signed PDF.
#[utoipa::path(post, path = "/api/v1/pdf/sign", tag = "documents",
    description = "Seal a PDF (PAdES) with a seal key held by this deployment and its stored, valid \
        certificate; B-B to B-LTA. The key must have purpose seal (403 naming the purpose otherwise).",
    security(("bearer" = [])),
    request_body(content = SignBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The signed PDF", content_type = "application/pdf", body = Binary,
            headers(("X-Signature-Field" = String, description = "The signature field's name, percent-encoded beyond visible ASCII"))),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn sign(
    State(app): State<Arc<App>>,
    op: Result<Operator, AppError>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // The body is read before a refused login is answered: a client still uploading a large PDF
    // then gets the 401, not a connection closed under it.
    let op = op?;
    let actor = op.require(Permission::Sign)?;
    let req: SignBody = json_body(&body)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pdf = b64
        .decode(req.pdf.as_bytes())
        .map_err(|e| AppError::BadRequest(format!("pdf: not base64: {e}")))?;
    let image = match &req.image {
        Some(i) => {
            let bytes = b64
                .decode(i.as_bytes())
                .map_err(|e| AppError::BadRequest(format!("image: not base64: {e}")))?;
            Some(
                SealImage::from_bytes(&bytes)
                    .map_err(|e| AppError::BadRequest(format!("image: {e}")))?,
            )
        }
        None => None,
    };
    let level = req
        .level
        .as_deref()
        .map(Level::parse)
        .transpose()?
        .unwrap_or(Level::BB);
    if let Some(f) = &req.field {
        // A field name is one partial name: no '.', no control characters, of a sane length.
        if f.is_empty()
            || f.chars().count() > 100
            || f.contains('.')
            || f.chars().any(char::is_control)
        {
            return Err(AppError::BadRequest(format!(
                "field {f:?}: give 1 to 100 characters without '.' or control characters"
            )));
        }
    }
    if let Some([x, y]) = req.at_mm {
        if !(x.is_finite() && y.is_finite() && x >= 0.0 && y >= 0.0) {
            return Err(AppError::BadRequest(format!(
                "at_mm [{x}, {y}]: give two non-negative numbers of mm"
            )));
        }
    }
    let key = app
        .signing_key(
            &actor,
            &req.key,
            CertChoice::Serial(req.cert_serial.clone()),
            Use::Document,
        )
        .await?;
    let placement = Placement {
        page: req.page,
        at: req.at_mm.map(|[x, y]| (x * 72.0 / 25.4, y * 72.0 / 25.4)),
        size_mm: req.size_mm.unwrap_or(42.0),
        keyword: req.keyword.clone(),
        cross_page: req.cross_page,
    };
    let (out, field) = app
        .sign_pdf_bytes(
            &actor,
            key,
            PdfJob {
                pdf,
                password: req.password.map(String::into_bytes),
                image,
                placement,
                spots: Vec::new(),
                field: req.field,
                level,
                certify: req.certify,
                reason: req.reason,
                location: req.location,
            },
            json!({}),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::HeaderName::from_static("x-signature-field"),
                header_safe(&field),
            ),
        ],
        out,
    )
        .into_response())
}

/// A header value that is always valid: visible ASCII as is, every other byte percent-encoded
/// (RFC 3986), so a field name in Chinese cannot turn a finished signature into a 500.
fn header_safe(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_graphic() && b != b'%' || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
