//! GB/T 38540 seals over HTTP, public like the PDF verifier: inspect any seal or seal signature
//! (v1/v4/v5), and verify one against this deployment's CA certificates.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::Json;
use base64::Engine;
use sealpki_pki::ses;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::json_body;
use super::openapi::{Binary, Guarded, RateLimited, WithBody};
use crate::app::App;
use crate::error::AppError;

/// `POST /api/v1/ses/inspect`: the body is the DER structure; the answer what it holds.
#[utoipa::path(post, path = "/api/v1/ses/inspect", tag = "documents",
    description = "Public: what a GB/T 38540 seal (SESeal) or seal signature (SES_Signature) of \
        version 1, 4 or 5 holds, with a warning per tolerated deviation. Nothing is verified.",
    request_body(content = Binary, content_type = "application/octet-stream", description = "The structure, DER"),
    responses(
        (status = 200, description = "What the structure holds", body = Object),
        WithBody, Guarded,
    ))]
pub async fn inspect(body: axum::body::Bytes) -> Result<Json<serde_json::Value>, AppError> {
    let decoded = ses::decode(&body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let warnings = match &decoded {
        ses::Decoded::Seal(_, w) | ses::Decoded::Signature(_, w) => w.clone(),
    };
    Ok(Json(ses::describe(&decoded, &warnings)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SesVerifyRequest)]
struct VerifyBody {
    /// SESeal or SES_Signature, DER in base64.
    structure: String,
    /// The signed data, base64 (for a signature).
    data: Option<String>,
    /// Check the maker's and signer's revocation with our status services (OCSP, else CRL).
    #[serde(default)]
    online: bool,
}

/// `POST /api/v1/ses/verify`: the report, with this deployment's CA certificates as trust.
#[utoipa::path(post, path = "/api/v1/ses/verify", tag = "documents",
    description = "Public: verify a GB/T 38540 seal or seal signature against this deployment's CA \
        certificates: structure, maker's and signer's paths, signatures, the data's hash.",
    request_body(content = VerifyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The report: verdict (valid, invalid, indeterminate), checks, reasons", body = Object),
        WithBody, RateLimited, Guarded,
    ))]
pub async fn verify(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: VerifyBody = json_body(&body)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let der = b64
        .decode(req.structure.as_bytes())
        .map_err(|e| AppError::BadRequest(format!("structure: not base64: {e}")))?;
    let data = req
        .data
        .as_deref()
        .map(|d| b64.decode(d.as_bytes()))
        .transpose()
        .map_err(|e| AppError::BadRequest(format!("data: not base64: {e}")))?;
    let decoded = ses::decode(&der).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let trust = crate::public::ses(&app)?;
    let online = req.online;
    let report = tokio::task::spawn_blocking(move || {
        let fetched = online.then(|| crate::signing::ltv::ses_revocation_data(&decoded, &trust));
        ses::verify(
            &decoded,
            &ses::VerifyInput {
                data: data.as_deref(),
                trust: &trust,
                now: SystemTime::now(),
                revocation: fetched
                    .as_ref()
                    .map(|v| sealpki_pki::validate::revocation::Data {
                        crls: &v.crls,
                        ocsp: &v.ocsps,
                    }),
            },
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Json(serde_json::json!(report)))
}
