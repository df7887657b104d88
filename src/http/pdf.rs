//! PDF sealing over HTTP: a public verify endpoint (upload a PDF, get the report, checked against
//! this deployment's root) and signing with a key the service holds (operators and admins; the
//! cloud-signing issue opens it to authorized applications).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use sealpki_pki::cades::CmsSigner;
use sealpki_pki::der::Decode;
use sealpki_pki::pdf::image::SealImage;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::sign::{self, SignOptions, SubFilter, Timestamper};
use sealpki_pki::pdf::verify::{self, VerifyOptions};
use sealpki_pki::x509_cert::Certificate;
use serde::Deserialize;
use serde_json::json;

use super::auth::Operator;
use super::error::json_body;
use crate::app::App;
use crate::error::AppError;
use crate::pdfcmd::{appearance, Placement};
use crate::store::Role;

/// Uploads above this are refused (the route's body limit).
pub const MAX_PDF: usize = 64 * 1024 * 1024;

fn roots(app: &App) -> Result<Vec<Certificate>, AppError> {
    let chain = app.chain("root")?;
    chain
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|e| AppError::Internal(e.to_string())))
        .collect()
}

fn password(headers: &HeaderMap) -> Option<Vec<u8>> {
    headers.get("x-pdf-password").map(|v| v.as_bytes().to_vec())
}

/// `POST /api/v1/pdf/verify`: the body is the PDF; `X-PDF-Password` opens an encrypted one.
pub async fn verify(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let trust = roots(&app)?;
    let pw = password(&headers);
    let report = tokio::task::spawn_blocking(move || {
        let doc = Document::open(Box::new(body.to_vec()), pw.as_deref())?;
        verify::verify(&doc, &VerifyOptions { trust, now: None }).map_err(AppError::from)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    /// The PDF, base64.
    pdf: String,
    /// A key in this deployment's key stores (soft:NAME or pkcs11:token=LABEL;object=NAME).
    key: String,
    /// Serial of the stored certificate for that key.
    cert_serial: String,
    /// Seal picture (PNG or JPEG), base64; without it the signature is invisible.
    image: Option<String>,
    page: Option<usize>,
    /// Centre of the seal in mm from the displayed top-left corner.
    at_mm: Option<[f64; 2]>,
    size_mm: Option<f64>,
    keyword: Option<String>,
    #[serde(default)]
    cross_page: bool,
    /// "b-b" (default), "b-t" (timestamp from this deployment's TSA), "b-lt" (plus a DSS with OCSP
    /// answers or CRLs from the certificates' URLs), "b-lta" (plus a document timestamp).
    level: Option<String>,
    certify: Option<u8>,
    reason: Option<String>,
    location: Option<String>,
    field: Option<String>,
    /// Password of an encrypted PDF.
    password: Option<String>,
}

/// `POST /api/v1/pdf/sign`: returns the signed PDF.
pub async fn sign(
    State(app): State<Arc<App>>,
    op: Result<Operator, AppError>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // The body is read before a refused login is answered: a client still uploading a large PDF
    // then gets the 401, not a connection closed under it.
    let op = op?;
    op.require(&[Role::Admin, Role::Operator], "sign PDFs")?;
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
    let signer = app.keyring.open(&req.key.parse()?)?;
    let serial = super::normalise_serial(&req.cert_serial)?;
    let row = app
        .store
        .cert_get(&serial)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no certificate {serial}")))?;
    let cert = Certificate::from_der(
        row.der
            .as_deref()
            .ok_or_else(|| AppError::Conflict(format!("certificate {serial} is not issued")))?,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    if cert.tbs_certificate.subject_public_key_info != *signer.public_key() {
        return Err(AppError::BadRequest(format!(
            "certificate {serial} is not for key {}",
            req.key
        )));
    }
    match app.store.cert_status(&row.ca_key, &serial).await? {
        crate::store::CertStatusRow::Good => {}
        crate::store::CertStatusRow::Revoked { reason, .. } => {
            return Err(AppError::Policy(format!(
                "certificate {serial} is revoked ({reason}): it cannot sign"
            )))
        }
        crate::store::CertStatusRow::Unknown => {
            return Err(AppError::Conflict(format!(
                "certificate {serial} is not issued"
            )))
        }
    }
    let now = std::time::SystemTime::now();
    let validity = &cert.tbs_certificate.validity;
    if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
        return Err(AppError::Policy(format!(
            "certificate {serial} is outside its validity period: it cannot sign"
        )));
    }
    let chain: Vec<Certificate> = app
        .key_chain(&row.ca_key)?
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|e| AppError::Internal(e.to_string())))
        .collect::<Result<_, _>>()?;
    let level = req.level.clone().unwrap_or_else(|| "b-b".into());
    let tsa: Option<Arc<sealpki_pki::tsa::Tsa>> = match level.as_str() {
        "b-b" => None,
        "b-t" | "b-lt" | "b-lta" => Some(app.tsa().ok_or_else(|| {
            AppError::Unavailable("no time-stamping key: run the key ceremony".into())
        })?),
        other => {
            return Err(AppError::BadRequest(format!(
                "level {other:?}: use b-b, b-t, b-lt or b-lta"
            )))
        }
    };
    let placement = Placement {
        page: req.page,
        at: req.at_mm.map(|[x, y]| (x * 72.0 / 25.4, y * 72.0 / 25.4)),
        size_mm: req.size_mm.unwrap_or(42.0),
        keyword: req.keyword.clone(),
        cross_page: req.cross_page,
    };
    let pdf_sha256 = sealpki_pki::alg::sha256_hex(&pdf);
    let scheme = signer.algorithm().default_scheme();
    let (out, signed) = tokio::task::spawn_blocking(move || -> Result<_, AppError> {
        let doc = Document::open(Box::new(pdf), req.password.as_deref().map(str::as_bytes))?;
        let appearance = image
            .map(|i| appearance(&doc, &placement, &i))
            .transpose()?;
        let opts = SignOptions {
            field_name: req.field.clone(),
            appearance,
            sub_filter: SubFilter::CadesDetached,
            certify: req.certify,
            reason: req.reason.clone(),
            location: req.location.clone(),
            contact_info: None,
            signing_time: std::time::SystemTime::now(),
        };
        let cms = CmsSigner {
            signer: signer.as_ref(),
            scheme,
            cert: &cert,
            chain: &chain,
        };
        let mut out = Vec::new();
        let t = tsa.as_deref().map(|t| t as &dyn Timestamper);
        let signed = sign::sign(&doc, &mut out, &cms, &opts, t)?;
        if level == "b-lt" || level == "b-lta" {
            // The same DSS the CLI writes: OCSP answers or CRLs from the certificates' URLs.
            let signed_doc =
                Document::open(Box::new(out), req.password.as_deref().map(str::as_bytes))?;
            let contents = crate::pdfcmd::read_contents(&signed_doc, &signed.byte_range)?;
            let mut certs = vec![cert.clone()];
            certs.extend(chain.iter().cloned());
            for c in sealpki_pki::cades::certificates_in(&contents) {
                if !certs.contains(&c) {
                    certs.push(c);
                }
            }
            let data = crate::pdfcmd::validation_data(&certs)?;
            let mut with_dss = Vec::new();
            sealpki_pki::pdf::ltv::add_dss(&signed_doc, &mut with_dss, &data)?;
            out = with_dss;
            if level == "b-lta" {
                let t = t.ok_or_else(|| AppError::Internal("b-lta without a TSA".into()))?;
                let d = Document::open(Box::new(out), req.password.as_deref().map(str::as_bytes))?;
                let mut stamped = Vec::new();
                sign::timestamp_document(&d, &mut stamped, t)?;
                out = stamped;
            }
        }
        Ok((out, signed))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let mut tx = app.store.begin().await?;
    app.audit
        .append(
            &mut tx,
            &op.0.username,
            "pdf.sign",
            json!({"certificate": serial, "field": signed.field_name, "input_sha256": pdf_sha256,
                   "output_sha256": sealpki_pki::alg::sha256_hex(&out), "bytes": out.len()}),
        )
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::HeaderName::from_static("x-signature-field"),
                signed.field_name,
            ),
        ],
        out,
    )
        .into_response())
}
