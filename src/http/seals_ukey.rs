//! UKey enrolment over HTTP: the holder's client sends the token's PKCS#10 request and gets the
//! seal certificate (on hold), chain, GB/T 38540 structure and a receipt challenge; then sends the
//! token's signature over the challenge to confirm receipt. Thin: `seals::ukey` does the work.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Operator;
use super::error::json_body;
use super::idempotency::Claim;
use super::openapi::{Binary, Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::seals::ukey::Enrolment;
use crate::workflow::View;

/// Request bodies above this are refused (413): a CSR is small.
pub const MAX_BODY: usize = 64 * 1024;

/// `POST /api/v1/seal-applications/{id}/ukey/csr`: the token key's request for the seal
/// certificate of an approved UKey application (pending-production).
#[utoipa::path(post, path = "/api/v1/seal-applications/{id}/ukey/csr", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h: a retry gets the same certificate and challenge")),
    request_body(content = Binary, content_type = "application/pkcs10",
        description = "PKCS#10 request made with the token key, DER or PEM; its subject is ignored (we choose the seal's)"),
    responses(
        (status = 200, description = "Certificate (on hold until receipt), chain, seal structure and the receipt challenge", body = Enrolment),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The application is not pending production (already shipped, or not yet approved)", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a UKey application, or the request is refused", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn csr(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<Enrolment>, AppError> {
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::OK));
    Ok(Json(
        app.ukey_enrol(&op.actor(), &id, &body, answer.as_ref())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// The challenge the enrolment gave.
    challenge: String,
    /// base64 of the token key's DER ECDSA signature over the receipt message.
    signature: String,
}

/// `POST /api/v1/seal-applications/{id}/ukey/receipt`: confirm receipt with the token.
#[utoipa::path(post, path = "/api/v1/seal-applications/{id}/ukey/receipt", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Done at most once per key and account within 24 h")),
    request_body(content = ReceiptBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The application, complete; the seal active", body = View),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, description = "Wrong challenge or a signature the seal's key did not make", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn receipt(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    claim: Option<Extension<Claim>>,
    body: axum::body::Bytes,
) -> Result<Json<View>, AppError> {
    let answer = claim.as_ref().map(|c| c.answer(StatusCode::OK));
    // Who may ask is decided before what they sent is read.
    app.ukey_may(&op.actor(), &id).await?;
    let b: ReceiptBody = json_body(&body)?;
    let sig = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        b.signature.trim(),
    )
    .map_err(|e| AppError::BadRequest(format!("signature: base64: {e}")))?;
    Ok(Json(
        app.ukey_receipt(&op.actor(), &id, &b.challenge, &sig, answer.as_ref())
            .await?,
    ))
}
