//! Status endpoints: CRLs at the distribution-point URLs certificates carry, the OCSP responder
//! (RFC 6960 GET and POST) at the AIA URL, and revoke / hold / release for operators.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealpki_pki::revocation::{ocsp_error, Reason, MAX_OCSP_REQUEST};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Operator;
use super::certificates::normalise_serial;
use super::error::json_body;
use super::limits::ClientIp;
use super::openapi::{Binary, Guarded, ProblemResponse, RateLimited, Staff, WithBody};
use crate::access::Permission;
use crate::app::App;
use crate::ca::status::OcspAnswer;
use crate::error::AppError;

/// Split a CRL file name `LABEL[-pN][-delta].crl` into CA key label, partition and delta flag.
pub fn parse_crl_file(file: &str) -> Option<(&str, i64, bool)> {
    let name = file.strip_suffix(".crl")?;
    let (name, delta) = match name.strip_suffix("-delta") {
        Some(n) => (n, true),
        None => (name, false),
    };
    if let Some((label, part)) = name.rsplit_once("-p") {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && !part.starts_with('0') {
            return Some((label, part.parse().ok()?, delta));
        }
    }
    Some((name, 0, delta))
}

/// `GET /crl/{label}.crl` (full), `GET /crl/{label}-delta.crl`, and the same with `-pN` for
/// partition N.
#[utoipa::path(get, path = "/crl/{file}", tag = "status",
    params(("file" = String, Path, description = "LABEL.crl, LABEL-delta.crl, LABEL-pN.crl or LABEL-pN-delta.crl", example = "seal.crl")),
    responses(
        (status = 200, description = "The newest CRL of its kind, DER", content_type = "application/pkix-crl", body = Binary,
            headers(("Cache-Control" = String))),
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
pub async fn crl(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let (ca, part, delta) =
        parse_crl_file(&file).ok_or_else(|| AppError::NotFound(format!("no CRL {file:?}")))?;
    app.ca_key(ca)?;
    // Only partitions certificates name exist: a request may not create CRLs at will.
    if part > 0 && !app.crl_parts(ca).await?.contains(&part) {
        return Err(AppError::NotFound(format!("no CRL {file:?}")));
    }
    let der = app.current_crl(ca, part, delta).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-crl"),
            (header::CACHE_CONTROL, "max-age=60"),
        ],
        der,
    )
        .into_response())
}

fn ocsp_response(answer: OcspAnswer) -> Response {
    let ctype = [(header::CONTENT_TYPE, "application/ocsp-response")];
    match answer {
        OcspAnswer::Ok(der) => (StatusCode::OK, ctype, der.as_ref().clone()).into_response(),
        OcspAnswer::Malformed(why) => {
            tracing::debug!(%why, "malformed OCSP request");
            (StatusCode::BAD_REQUEST, ctype, ocsp_error("malformed")).into_response()
        }
        OcspAnswer::Unauthorized => {
            (StatusCode::OK, ctype, ocsp_error("unauthorized")).into_response()
        }
    }
}

async fn answer(app: &App, ca: &str, request: &[u8], client: ClientIp) -> Response {
    let ctype = (header::CONTENT_TYPE, "application/ocsp-response");
    match app.ocsp(ca, request, client.0).await {
        Ok(a) => ocsp_response(a),
        Err(e) => {
            if let Some(secs) = e.retry_after() {
                // Rate limited: HTTP 429 with Retry-After, and an OCSP tryLater for OCSP clients.
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [ctype, (header::RETRY_AFTER, &secs.to_string())],
                    ocsp_error("try-later"),
                )
                    .into_response();
            }
            tracing::error!(error = %e, "OCSP");
            let status = if matches!(e, AppError::Unavailable(_)) {
                "try-later"
            } else {
                "internal"
            };
            (StatusCode::OK, [ctype], ocsp_error(status)).into_response()
        }
    }
}

/// `POST /ocsp/{ca}` with an `application/ocsp-request` body.
#[utoipa::path(post, path = "/ocsp/{ca}", tag = "status",
    params(("ca" = String, Path, description = "A CA key label, as in the certificate's AIA", example = "seal")),
    request_body(content = Binary, content_type = "application/ocsp-request", description = "OCSPRequest, DER"),
    responses(
        (status = 200, description = "OCSPResponse (also unauthorized, internalError, tryLater)", content_type = "application/ocsp-response", body = Binary),
        (status = 400, description = "malformedRequest", content_type = "application/ocsp-response", body = Binary),
        (status = 408, response = super::openapi::TimeoutResponse),
        (status = 413, response = ProblemResponse),
        (status = 429, description = "Too many answers signed on request for this client address (with a \
            nonce, several serials, or not pre-signed): an OCSP tryLater", content_type = "application/ocsp-response",
            body = Binary, headers(("Retry-After" = u64, description = "seconds to wait"))),
        Guarded,
    ))]
pub async fn ocsp_post(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path(ca): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    answer(&app, &ca, &body, client).await
}

/// `GET /ocsp/{ca}/{base64 request}` (RFC 6960 appendix A.1; the request may itself contain `/`).
#[utoipa::path(get, path = "/ocsp/{ca}/{*request}", tag = "status",
    params(
        ("ca" = String, Path, description = "A CA key label, as in the certificate's AIA"),
        ("request" = String, Path, description = "OCSPRequest, DER in base64 (URL-encoded; may contain /)"),
    ),
    responses(
        (status = 200, description = "OCSPResponse (also unauthorized, internalError, tryLater)", content_type = "application/ocsp-response", body = Binary),
        (status = 400, description = "malformedRequest", content_type = "application/ocsp-response", body = Binary),
        (status = 429, description = "Too many answers signed on request for this client address: an OCSP tryLater",
            content_type = "application/ocsp-response", body = Binary,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        Guarded,
    ))]
pub async fn ocsp_get(
    State(app): State<Arc<App>>,
    client: ClientIp,
    Path((ca, encoded)): Path<(String, String)>,
) -> Response {
    if encoded.len() > MAX_OCSP_REQUEST * 2 {
        return ocsp_response(OcspAnswer::Malformed("too large".into()));
    }
    match get_request(&encoded) {
        Some(der) => answer(&app, &ca, &der, client).await,
        None => ocsp_response(OcspAnswer::Malformed("not base64".into())),
    }
}

/// The DER of a GET request's base64 (whitespace left out). A trailing `/` of the URL is let go
/// only when the base64 does not decode with it: base64 without padding may itself end in `/`.
fn get_request(encoded: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    b64.decode(&cleaned)
        .or_else(|_| b64.decode(cleaned.trim_end_matches('/')))
        .ok()
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StatusChangeRequest)]
struct RevokeBody {
    /// RFC 5280 reason name (revoke only: unspecified, keyCompromise, cACompromise,
    /// affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, aACompromise);
    /// required for CA, TSA, OCSP and audit certificates, and not unspecified for them.
    reason: Option<String>,
    /// Why (recorded in the audit log); required to hold a CA, TSA, OCSP or audit certificate.
    comment: Option<String>,
}

/// A status change done.
#[derive(Serialize, ToSchema)]
pub struct StatusChanged {
    serial: String,
    /// revoke, hold or release.
    action: String,
}

/// `POST /api/v1/certificates/{serial}/{revoke|hold|release}`.
#[utoipa::path(post, path = "/api/v1/certificates/{serial}/{format}", tag = "certificates",
    description = "Change a certificate's status; the path's last segment is the action: revoke, hold \
        (certificateHold) or release (lift a hold). Certificates of ceremony-only profiles (CA, TSA, \
        OCSP responder, audit) need the admin role (403 naming certificates.authority-status), a reason \
        other than unspecified to revoke and a comment to hold. Every change is audited.",
    security(("bearer" = [])),
    params(
        ("serial" = String, Path, description = "Hex, any case, colons allowed"),
        ("format" = String, Path, description = "The action: revoke, hold or release"),
    ),
    request_body(content = Option<RevokeBody>, content_type = "application/json", description = "May be empty"),
    responses(
        (status = 200, body = StatusChanged),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        Guarded,
    ))]
pub async fn change(
    State(app): State<Arc<App>>,
    op: Operator,
    Path((serial, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<StatusChanged>, AppError> {
    let actor = op.require(Permission::ChangeStatus)?;
    let serial = normalise_serial(&serial)?;
    let req: RevokeBody = if body.is_empty() {
        RevokeBody::default()
    } else {
        json_body(&body)?
    };
    let comment = req.comment.as_deref();
    match action.as_str() {
        "revoke" => {
            let reason: Option<Reason> = req
                .reason
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(AppError::BadRequest)?;
            app.revoke(&actor, &serial, reason, comment).await?;
        }
        "hold" => {
            if req.reason.is_some() {
                return Err(AppError::BadRequest(
                    "hold takes no reason (it is certificateHold); say why in comment".into(),
                ));
            }
            app.revoke(&actor, &serial, Some(Reason::CertificateHold), comment)
                .await?
        }
        "release" => app.release(&actor, &serial, comment).await?,
        other => {
            return Err(AppError::NotFound(format!(
                "no action {other:?} (revoke, hold or release)"
            )))
        }
    }
    Ok(Json(StatusChanged { serial, action }))
}

/// `POST /tsa` with `application/timestamp-query`: an RFC 3161 reply (HTTP 400 with a rejection reply for
/// malformed, oversized or unsupported requests).
#[utoipa::path(post, path = "/tsa", tag = "status",
    request_body(content = Binary, content_type = "application/timestamp-query", description = "TimeStampReq, DER"),
    responses(
        (status = 200, description = "TimeStampResp granting a token", content_type = "application/timestamp-reply", body = Binary),
        (status = 400, description = "TimeStampResp rejecting the request", content_type = "application/timestamp-reply", body = Binary),
        (status = 408, response = super::openapi::TimeoutResponse),
        (status = 413, response = ProblemResponse),
        RateLimited, Guarded,
    ))]
pub async fn tsa(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let ctype = [(header::CONTENT_TYPE, "application/timestamp-reply")];
    match app.timestamp(&body).await {
        Ok(Ok(reply)) => (StatusCode::OK, ctype, reply).into_response(),
        Ok(Err(rejection)) => (StatusCode::BAD_REQUEST, ctype, rejection).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::get_request;

    #[test]
    fn get_requests_may_end_in_a_slash() {
        // Three bytes whose base64 ends in '/', without padding.
        assert_eq!(get_request("AAA/"), Some(vec![0x00, 0x00, 0x3f]));
        // A URL's trailing slash after padded base64 is let go.
        assert_eq!(get_request("AAE=/"), Some(vec![0x00, 0x01]));
        assert_eq!(get_request("AA A/"), Some(vec![0x00, 0x00, 0x3f]));
        assert_eq!(get_request("not base64!"), None);
    }
}
