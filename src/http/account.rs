//! People's own accounts over HTTP: SMS codes, registration, password reset and change, the
//! caller's account and sessions, and setting up the staff second factor. Thin: `accounts` decides.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AnySession;
use super::error::json_body;
use super::limits::ClientIp;
use super::openapi::{Guarded, Staff, WithBody};
use crate::accounts::ids::{Mobile, ResidentId};
use crate::accounts::register::Registration;
use crate::app::App;
use crate::error::AppError;
use crate::store::{CodePurpose, SessionRow};

/// Account bodies above this are refused (413) before they are parsed.
pub const MAX_ACCOUNT_BODY: usize = 8 * 1024;

fn lang_of(headers: &HeaderMap, given: Option<&str>) -> String {
    given
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
        })
        .filter(|l| l.trim_start().starts_with("en"))
        .map(|_| "en".to_string())
        .unwrap_or_else(|| "zh-CN".to_string())
}

/// `POST /api/v1/register/code` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Mainland mobile number (11 digits; +86 allowed).
    mobile: String,
    /// What the code is for.
    #[schema(value_type = String, example = "register")]
    purpose: CodePurpose,
    /// Language of the message: zh-CN (default) or en.
    #[serde(default)]
    lang: Option<String>,
}

/// A code is on its way (or, for a number that cannot use it, the same answer).
#[derive(Serialize, ToSchema)]
pub struct CodeSentBody {
    /// Seconds the code is good for.
    expires_in: u64,
    /// Seconds before another code may be asked for.
    retry_after: u64,
}

/// `POST /api/v1/register/code`: send a one-time code by SMS, for registration or a password
/// reset. At most one a minute and `[accounts] sms_codes_per_day` a day per number (429).
#[utoipa::path(post, path = "/api/v1/register/code", tag = "accounts",
    request_body = CodeRequest,
    responses((status = 202, description = "Sent", body = CodeSentBody),
        (status = 422, description = "The mobile number is invalid", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, response = super::openapi::TooManyResponse), WithBody, Guarded))]
pub async fn send_code(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CodeSentBody>), AppError> {
    let req: CodeRequest = json_body(&body)?;
    let lang = lang_of(&headers, req.lang.as_deref());
    let sent = app
        .send_code(&req.mobile, req.purpose, &lang, client.0)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSentBody {
            expires_in: sent.expires_in,
            retry_after: sent.retry_after,
        }),
    ))
}

/// `POST /api/v1/register` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// As on the resident ID card.
    real_name: String,
    /// GB 11643 resident ID number (18 characters, the last a check character).
    resident_id: String,
    mobile: String,
    /// The 6-digit SMS code.
    code: String,
    /// 8 to 128 characters, not a commonly used password.
    password: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A new account.
#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// The account's name (generated); log in with the mobile number or this.
    username: String,
}

/// `POST /api/v1/register`: a person registers. Every field is checked (422 naming it) and the
/// SMS code must be right before anything is stored.
#[utoipa::path(post, path = "/api/v1/register", tag = "accounts",
    request_body = RegisterRequest,
    responses((status = 201, description = "Registered", body = Registered),
        (status = 409, description = "The number or ID already has an account", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule, or the code is wrong", body = super::openapi::Problem, content_type = "application/problem+json"),
        WithBody, Guarded))]
pub async fn register(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Registered>), AppError> {
    let req: RegisterRequest = json_body(&body)?;
    let lang = lang_of(&headers, req.lang.as_deref());
    let account = app
        .register(Registration {
            real_name: req.real_name,
            resident_id: req.resident_id,
            mobile: req.mobile,
            code: req.code,
            password: req.password,
            lang,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            username: account.username,
        }),
    ))
}

/// `POST /api/v1/password-reset` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    mobile: String,
    code: String,
    password: String,
}

/// `POST /api/v1/password-reset`: a new password with an SMS code (purpose `reset`); every session
/// of the account ends.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "accounts",
    request_body = ResetRequest,
    responses((status = 204, description = "The password is changed"),
        (status = 422, description = "A field breaks a rule, or the code is wrong", body = super::openapi::Problem, content_type = "application/problem+json"),
        WithBody, Guarded))]
pub async fn reset_password(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    let req: ResetRequest = json_body(&body)?;
    app.reset_password(&req.mobile, &req.code, req.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A membership as the account page shows it.
#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    org_id: String,
    role: String,
}

/// The caller's account; personal numbers masked.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    username: String,
    /// admin, operator, auditor, or person.
    role: String,
    real_name: Option<String>,
    /// e.g. 1101**********123X
    resident_id: Option<String>,
    /// e.g. 138****5678
    mobile: Option<String>,
    lang: String,
    /// Whether a TOTP second factor is set up.
    totp: bool,
    /// full, or totp-enrolment (only the second-factor set-up is open).
    stage: String,
    memberships: Vec<MembershipView>,
}

/// `GET /api/v1/account`: who am I.
#[utoipa::path(get, path = "/api/v1/account", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The caller's account", body = AccountView), Staff, Guarded))]
pub async fn me(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
) -> Result<Json<AccountView>, AppError> {
    let a = &who.account;
    let memberships = app
        .store
        .memberships_of(&a.username)
        .await?
        .into_iter()
        .map(|m| MembershipView {
            org_id: m.org_id,
            role: m.role,
        })
        .collect();
    Ok(Json(AccountView {
        username: a.username.clone(),
        role: a.role.as_str().to_string(),
        real_name: a.real_name.clone(),
        resident_id: a
            .resident_id
            .as_deref()
            .and_then(|r| ResidentId::parse(r).ok())
            .map(|r| r.masked()),
        mobile: a
            .mobile
            .as_deref()
            .and_then(|m| Mobile::parse(m).ok())
            .map(|m| m.masked()),
        lang: a.lang.clone(),
        totp: a.totp_secret.is_some(),
        stage: who.session.stage.as_str().to_string(),
        memberships,
    }))
}

/// `POST /api/v1/account/password` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current: String,
    password: String,
}

/// `POST /api/v1/account/password`: change one's password; the other sessions end.
#[utoipa::path(post, path = "/api/v1/account/password", tag = "accounts", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "Changed"),
        (status = 422, description = "The new password breaks a rule", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, WithBody, Guarded))]
pub async fn change_password(
    State(app): State<Arc<App>>,
    super::auth::FullSession(who): super::auth::FullSession,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    let req: PasswordChange = json_body(&body)?;
    app.change_password(&who, req.current, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One session in the caller's list.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    id: String,
    /// bearer or browser.
    kind: String,
    stage: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    client_ip: Option<String>,
    user_agent: Option<String>,
    /// The session this request came with.
    current: bool,
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    items: Vec<SessionView>,
}

fn session_view(s: SessionRow, current: &str) -> SessionView {
    SessionView {
        current: s.id == current,
        id: s.id,
        kind: s.kind.as_str().to_string(),
        stage: s.stage.as_str().to_string(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
        client_ip: s.client_ip,
        user_agent: s.user_agent,
    }
}

/// `GET /api/v1/account/sessions`: the caller's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/account/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Live sessions", body = SessionList), Staff, Guarded))]
pub async fn sessions(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
) -> Result<Json<SessionList>, AppError> {
    let items = app
        .sessions_of(&who)
        .await?
        .into_iter()
        .map(|s| session_view(s, &who.session.id))
        .collect();
    Ok(Json(SessionList { items }))
}

/// `DELETE /api/v1/account/sessions/{id}`: end one of the caller's sessions (another device).
#[utoipa::path(delete, path = "/api/v1/account/sessions/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id from the list")),
    responses((status = 204, description = "Ended"),
        (status = 404, description = "The caller has no such session", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn end_session(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.end_session(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new TOTP secret to put in an authenticator app.
#[derive(Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32, as apps take it when typed in.
    secret: String,
    /// `otpauth://` URI (what a QR code holds).
    uri: String,
}

/// `POST /api/v1/account/totp`: start setting up the second factor (open to a session in stage
/// totp-enrolment).
#[utoipa::path(post, path = "/api/v1/account/totp", tag = "accounts", security(("bearer" = [])),
    responses((status = 201, description = "A secret to confirm", body = TotpSetup),
        (status = 409, description = "A second factor is set up already", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn totp_begin(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
) -> Result<(StatusCode, Json<TotpSetup>), AppError> {
    let (secret, uri) = app.totp_begin(&who).await?;
    Ok((StatusCode::CREATED, Json(TotpSetup { secret, uri })))
}

/// `POST /api/v1/account/totp/confirm` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    /// A current 6-digit code from the new secret.
    code: String,
}

/// `POST /api/v1/account/totp/confirm`: confirm the secret with a code; the session becomes full.
#[utoipa::path(post, path = "/api/v1/account/totp/confirm", tag = "accounts", security(("bearer" = [])),
    request_body = TotpConfirm,
    responses((status = 204, description = "The second factor is on"),
        (status = 409, description = "Nothing is being set up", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, WithBody, Guarded))]
pub async fn totp_confirm(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    let req: TotpConfirm = json_body(&body)?;
    app.totp_confirm(&who, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
