//! Apps over HTTP: the registry (platform staff register, search, suspend, resume and revoke;
//! the owner and staff change contacts and the callback URL, staff the rate and quota), the owner's credentials (API keys
//! whose secret is shown once, client certificates from CSRs, revocation), and
//! `GET /api/v1/app/whoami`, the first route an app calls with its own proof (`AppRequest`).
//! Thin: `apps` does the work and `accounts::policy` decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::app_auth::AppRequest;
use super::auth::Operator;
use super::error::json_body;
use super::error::query;
use super::openapi::{Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::apps::credentials::{
    CertificateRequest, CredentialList, CredentialView, NewApiKey, NewCertificate,
    NewCredentialRequest, RevokeRequest,
};
use crate::apps::registry::{
    AppChange, AppLimits, AppPage, AppQuery, AppStateChange, AppView, NewApp,
};
use crate::apps::Whoami;
use crate::error::AppError;

/// Bodies above this are refused (413) before they are parsed.
pub const MAX_BODY: usize = 32 * 1024;

/// `POST /api/v1/apps`: register an app.
#[utoipa::path(post, path = "/api/v1/apps", tag = "apps", security(("bearer" = [])),
    description = "Platform administrators and operators (apps.manage). The owner is an account: it \
        manages the app's credentials and callback URL. The name is unique across the registry \
        (full-width forms and spaces folded): 409 when taken.",
    request_body(content = NewApp, content_type = "application/json",
        example = json!({"name": "合同管理系统", "kind": "cloud-signing",
            "supervising_org_id": "5f0c7a2e9b1d4c3a8e6f0b1a2c3d4e5f",
            "developer_org_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "owner": "oa-admin",
            "contacts": [{"name": "张三", "mobile": "13800138000", "email": "zs@example.cn"}],
            "callback_url": "https://oa.example.cn/hooks/sealpki"})),
    responses(
        (status = 201, description = "The app, active", body = AppView),
        WithBody, Staff,
        (status = 409, description = "The name is taken", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn register(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<AppView>), AppError> {
    app.app_may_manage(&op.actor()).await?;
    let req: NewApp = json_body(&body)?;
    let v = app.app_register(&op.actor(), &req).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppsQuery {
    /// Part of the name (full-width forms, case and spaces folded).
    name: Option<String>,
    /// The supervising organisation's id.
    supervising_org_id: Option<String>,
    /// The developer organisation's id.
    developer_org_id: Option<String>,
    /// Either unit's id.
    org_id: Option<String>,
    /// The owner's username (staff; others see their own apps only).
    owner: Option<String>,
    /// active, suspended or revoked.
    state: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// 1-100, 20 by default.
    limit: Option<i64>,
}

/// `GET /api/v1/apps`: search the registry, newest first.
#[utoipa::path(get, path = "/api/v1/apps", tag = "apps", security(("bearer" = [])),
    description = "Platform staff see every app; anyone else the apps they own.",
    params(AppsQuery),
    responses((status = 200, body = AppPage), Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn search(
    State(app): State<Arc<App>>,
    q: Result<Query<AppsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<AppPage>, AppError> {
    let q = query(q)?;
    Ok(Json(
        app.app_search(
            &op.actor(),
            &AppQuery {
                name: q.name,
                supervising_org_id: q.supervising_org_id,
                developer_org_id: q.developer_org_id,
                org_id: q.org_id,
                owner: q.owner,
                state: q.state,
                cursor: q.cursor,
                limit: q.limit,
            },
        )
        .await?,
    ))
}

/// `GET /api/v1/apps/{id}`.
#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "apps", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AppView), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<AppView>, AppError> {
    Ok(Json(app.app_get(&op.actor(), &id).await?))
}

/// `PATCH /api/v1/apps/{id}`: contacts and callback URL.
#[utoipa::path(patch, path = "/api/v1/apps/{id}", tag = "apps", security(("bearer" = [])),
    description = "The owner and platform staff (apps.update). Fields not given stay; \
        `callback_url: \"\"` removes it. https:// only (http:// to 127.0.0.1 or localhost in \
        development).",
    params(("id" = String, Path)),
    request_body(content = AppChange, content_type = "application/json",
        example = json!({"version": 1, "callback_url": "https://oa.example.cn/hooks/v2"})),
    responses(
        (status = 200, body = AppView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "Stale version, or the app is revoked", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<AppView>, AppError> {
    let req: AppChange = json_body(&body)?;
    Ok(Json(app.app_update(&op.actor(), &id, &req).await?))
}

/// `PUT /api/v1/apps/{id}/limits`: the app's request rate and daily quota.
#[utoipa::path(put, path = "/api/v1/apps/{id}/limits", tag = "apps", security(("bearer" = [])),
    description = "Platform administrators and operators (apps.manage); the owner may not raise \
        its own limits. Both figures are replaced: `daily_quota` null or absent removes the \
        quota. The next request of the app is held to them (on other instances within two \
        seconds). Audited as `app.limits` with the figures before and after.",
    params(("id" = String, Path)),
    request_body(content = AppLimits, content_type = "application/json",
        example = json!({"version": 3, "rate_per_second": 50, "daily_quota": 20000})),
    responses(
        (status = 200, body = AppView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "Stale version, or the app is revoked", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn limits(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<AppView>, AppError> {
    app.app_may_manage(&op.actor()).await?;
    let req: AppLimits = json_body(&body)?;
    Ok(Json(app.app_set_limits(&op.actor(), &id, &req).await?))
}

/// `POST /api/v1/apps/{id}/events`: suspend, resume or revoke.
#[utoipa::path(post, path = "/api/v1/apps/{id}/events", tag = "apps", security(("bearer" = [])),
    description = "Platform administrators and operators (apps.manage). active → suspend → \
        suspended → resume → active; revoke from either, for good: every credential of the app is \
        revoked, client certificates at the CA (CRL, OCSP; the TLS handshake refuses them once the \
        verifier has the new CRL). Out of order: 409 with the allowed events.",
    params(("id" = String, Path)),
    request_body(content = AppStateChange, content_type = "application/json",
        example = json!({"event": "suspend", "version": 1, "comment": "contract lapsed"})),
    responses(
        (status = 200, body = AppView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "Out of order or stale version: state, version, allowed_events", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<AppView>, AppError> {
    app.app_may_manage(&op.actor()).await?;
    let req: AppStateChange = json_body(&body)?;
    Ok(Json(app.app_change_state(&op.actor(), &id, &req).await?))
}

/// `GET /api/v1/apps/{id}/credentials`: the app's API keys and client certificates.
#[utoipa::path(get, path = "/api/v1/apps/{id}/credentials", tag = "apps", security(("bearer" = [])),
    description = "The owner and platform staff (apps.read). Secrets are never shown again.",
    params(("id" = String, Path)),
    responses((status = 200, body = CredentialList), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn credentials(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<CredentialList>, AppError> {
    Ok(Json(app.app_credentials(&op.actor(), &id).await?))
}

/// `POST /api/v1/apps/{id}/credentials`: a new API key; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials", tag = "apps", security(("bearer" = [])),
    description = "The app's owner (apps.credentials.create). `kind` hmac-sha256 (default) or \
        hmac-sm3. The answer carries the 32-byte secret, base64url without padding, once: it is \
        kept sealed and never shown again. Several keys may be active at once, so keys rotate \
        without downtime.",
    params(("id" = String, Path)),
    request_body(content = NewCredentialRequest, content_type = "application/json",
        example = json!({"kind": "hmac-sha256", "label": "production 2027"})),
    responses(
        (status = 201, body = NewApiKey),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The app is not active", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn create_key(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let req: NewCredentialRequest = json_body(&body)?;
    let v = app.app_create_key(&op.actor(), &id, &req).await?;
    let mut r = (StatusCode::CREATED, Json(v)).into_response();
    // The secret must not sit in a cache.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// `POST /api/v1/apps/{id}/certificates`: a client certificate from a CSR.
#[utoipa::path(post, path = "/api/v1/apps/{id}/certificates", tag = "apps", security(("bearer" = [])),
    description = "The app's owner (apps.credentials.create). The CSR (PEM) proves possession of \
        its key; the service CA certifies that key with profile app-client (clientAuth) under a \
        subject it chooses: CN the app's name, OU `app:ID`, O the developer unit. Presented over \
        TLS to a server with `client_auth`, the certificate makes the request the app's.",
    params(("id" = String, Path)),
    request_body(content = CertificateRequest, content_type = "application/json",
        example = json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n…\n-----END CERTIFICATE REQUEST-----\n", "label": "gateway"})),
    responses(
        (status = 201, body = NewCertificate),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The app is not active", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn create_certificate(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<NewCertificate>), AppError> {
    let req: CertificateRequest = json_body(&body)?;
    let v = app.app_create_certificate(&op.actor(), &id, &req).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `GET /api/v1/apps/{id}/credentials/{credential}/certificate`: the certificate and its chain.
#[utoipa::path(get, path = "/api/v1/apps/{id}/credentials/{credential}/certificate", tag = "apps",
    security(("bearer" = [])),
    params(("id" = String, Path), ("credential" = String, Path)),
    responses(
        (status = 200, description = "The client certificate, then its chain (PEM)", content_type = "application/pem-certificate-chain", body = String),
        Staff, (status = 404, response = ProblemResponse), Guarded,
    ))]
pub async fn certificate(
    State(app): State<Arc<App>>,
    Path((id, credential)): Path<(String, String)>,
    op: Operator,
) -> Result<Response, AppError> {
    let pem = app
        .app_credential_certificate(&op.actor(), &id, &credential)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pem-certificate-chain"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"client.pem\"",
            ),
        ],
        pem,
    )
        .into_response())
}

/// `POST /api/v1/apps/{id}/credentials/{credential}/revoke`.
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials/{credential}/revoke", tag = "apps",
    security(("bearer" = [])),
    description = "The owner and platform staff (apps.credentials.revoke). Refused at once; a \
        client certificate is revoked at the CA too (reason cessationOfOperation unless \
        keyCompromise or superseded is given).",
    params(("id" = String, Path), ("credential" = String, Path)),
    request_body(content = RevokeRequest, content_type = "application/json",
        example = json!({"reason": "superseded"})),
    responses(
        (status = 200, body = CredentialView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "Revoked already", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn revoke_credential(
    State(app): State<Arc<App>>,
    Path((id, credential)): Path<(String, String)>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<CredentialView>, AppError> {
    let req: RevokeRequest = if body.is_empty() {
        RevokeRequest::default()
    } else {
        json_body(&body)?
    };
    Ok(Json(
        app.app_revoke_credential(&op.actor(), &id, &credential, &req)
            .await?,
    ))
}

/// `GET /api/v1/app/whoami`: the calling app, as its proof makes it.
#[utoipa::path(get, path = "/api/v1/app/whoami", tag = "apps",
    security(("app-signature" = []), ("app-certificate" = [])),
    description = "Called by an app, not a person: an HMAC-signed request (X-Sealpki-App, \
        X-Sealpki-Key, X-Sealpki-Timestamp, X-Sealpki-Nonce, Content-Digest, X-Sealpki-Signature; \
        see docs/apps.md) or a TLS client certificate of one of its credentials. 401 for a \
        missing or bad signature, a stale timestamp, a replayed nonce, a changed body or an \
        unknown key; 403 `forbidden` for a suspended or revoked app or a revoked credential, with \
        `reason` app-suspended, app-revoked or credential-revoked.",
    responses(
        (status = 200, body = Whoami),
        WithBody,
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        Guarded,
    ))]
pub async fn whoami(State(app): State<Arc<App>>, req: AppRequest) -> Json<Whoami> {
    Json(app.app_whoami(&req.caller, &req.app))
}
