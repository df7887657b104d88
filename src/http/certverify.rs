//! `POST /api/v1/certificates/verify` (public): RFC 5280 path validation of a certificate, against
//! this deployment's root (with its CA certificates as intermediates) or the anchors given.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use base64::Engine;
use sealpki_pki::validate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::json_body;
use super::openapi::{Guarded, RateLimited, WithBody};
use crate::app::{App, CA_NAMES};
use crate::error::AppError;

/// Certificates and CRLs in one request, at most.
const MAX_ITEMS: usize = 64;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CertificateVerifyRequest)]
struct VerifyBody {
    /// PEM, or DER in base64.
    certificate: String,
    /// Trust anchors (PEM or base64 DER); default: this deployment's root, its CAs as intermediates.
    #[serde(default)]
    trust: Vec<String>,
    /// Intermediates (PEM or base64 DER) to build the path with.
    #[serde(default)]
    untrusted: Vec<String>,
    /// CRLs, DER in base64 or PEM: given any, every certificate of the path must be covered.
    #[serde(default)]
    crls: Vec<String>,
    /// RFC 3339; default now.
    at: Option<String>,
    /// What the certificate is checked for (default any): any, server, client, email, code,
    /// document, timestamp, ocsp.
    #[serde(default = "any")]
    purpose: String,
    /// Extended key usages the certificate must carry (names or OIDs).
    #[serde(default)]
    ekus: Vec<String>,
    /// Key usages the certificate must carry (digitalSignature, nonRepudiation, …).
    #[serde(default)]
    key_usage: Vec<String>,
    /// Longest path, in certificates below the anchor (default 8).
    #[serde(default = "eight")]
    max_depth: usize,
    /// A DNS name or IP address the certificate must name.
    hostname: Option<String>,
    /// Mailboxes the certificate must all name.
    #[serde(default)]
    email: Vec<String>,
}

fn any() -> String {
    "any".into()
}

fn eight() -> usize {
    8
}

/// Certificates from one field: PEM (several blocks) or base64 DER.
fn certs(field: &str, v: &str) -> Result<Vec<Vec<u8>>, AppError> {
    let bad = |e: String| AppError::BadRequest(format!("{field}: {e}"));
    if v.contains("-----BEGIN") {
        return sealpki_pki::pem::parse_certs(v.as_bytes()).map_err(bad);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|e| bad(format!("neither PEM nor base64: {e}")))?;
    Ok(vec![der])
}

fn crl(v: &str) -> Result<Vec<u8>, AppError> {
    let bad = |e: String| AppError::BadRequest(format!("crls: {e}"));
    if v.contains("-----BEGIN") {
        return sealpki_pki::der::pem::decode_vec(v.trim().as_bytes())
            .map(|(_, d)| d)
            .map_err(|e| bad(e.to_string()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|e| bad(format!("neither PEM nor base64: {e}")))
}

/// `POST /api/v1/certificates/verify`: the report (verdict, path, every check); 400 for unreadable
/// input.
#[utoipa::path(post, path = "/api/v1/certificates/verify", tag = "certificates",
    description = "Public: RFC 5280 path validation of a certificate against this deployment's root \
        (its CAs as intermediates) or the anchors given; with CRLs given, every certificate of the path \
        must be covered.",
    request_body(content = VerifyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The report: verdict, the path, every check", body = Object),
        WithBody, RateLimited, Guarded,
    ))]
pub async fn verify(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<Json<validate::Outcome>, AppError> {
    let b: VerifyBody = json_body(&body)?;
    if b.trust.len() + b.untrusted.len() + b.crls.len() > MAX_ITEMS {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_ITEMS} trust, untrusted and CRL items"
        )));
    }
    let leaf = certs("certificate", &b.certificate)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::BadRequest("certificate: empty".into()))?;
    let mut trust = Vec::new();
    for t in &b.trust {
        trust.extend(certs("trust", t)?);
    }
    let mut untrusted = Vec::new();
    for u in &b.untrusted {
        untrusted.extend(certs("untrusted", u)?);
    }
    if trust.is_empty() {
        // This deployment: its root is the anchor, its CAs (every generation) help build the path.
        trust = app.chain("root")?;
        for ca in CA_NAMES.iter().filter(|n| **n != "root") {
            if let Ok(chain) = app.chain(ca) {
                untrusted.extend(chain);
            }
        }
    }
    let crls = b
        .crls
        .iter()
        .map(|c| crl(c))
        .collect::<Result<Vec<_>, _>>()?;
    let options = validate::Options::parse(validate::OptionsText {
        at: b.at,
        purpose: Some(b.purpose),
        ekus: b.ekus,
        key_usage: b.key_usage,
        max_depth: Some(b.max_depth),
        hostname: b.hostname,
        email: b.email,
    })
    .map_err(AppError::BadRequest)?;
    let outcome = tokio::task::spawn_blocking(move || {
        validate::check(&validate::Request {
            leaf: &leaf,
            trust: &trust,
            untrusted: &untrusted,
            crls: &crls,
            ocsp: &[],
            options,
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(Json(outcome))
}
