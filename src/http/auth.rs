//! Who is calling: the session behind `Authorization: Bearer TOKEN` (programs) or the console's
//! session cookie (browsers), as extractors handlers name when they need a logged-in account; and
//! the login, logout and staff-management endpoints. The logic lives in `accounts`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::error::json_body;
use super::limits::ClientIp;
use super::openapi::{Guarded, ProblemResponse, RateLimited, Staff, WithBody};
use crate::access::{Actor, Permission};
use crate::accounts::session::{Authenticated, LoginRequest};
use crate::app::App;
use crate::error::AppError;
use crate::store::{AccountRow, Role, SessionKind, SessionStage};

/// A logged-in, enabled account with a full session.
pub struct Operator(pub AccountRow);

impl Operator {
    /// Who acts, for `App` calls and the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.0.username.clone(),
            role: self.0.role,
        }
    }

    /// Refuse unless the account's role has permission `p`.
    pub fn require(&self, p: Permission) -> Result<Actor, AppError> {
        let a = self.actor();
        a.require(p)?;
        Ok(a)
    }
}

/// The session secret a request carries: the bearer token, else the console's cookie.
pub fn credentials(parts: &Parts) -> Result<Option<(String, SessionKind)>, AppError> {
    if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
        let token = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated)?;
        return Ok(Some((token.to_string(), SessionKind::Bearer)));
    }
    Ok(crate::accounts::session::cookie_token(&parts.headers).map(|t| (t, SessionKind::Browser)))
}

/// Any live session, whatever its stage (the second-factor set-up endpoints take these).
pub struct AnySession(pub Authenticated);

impl FromRequestParts<Arc<App>> for AnySession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let (token, _) = credentials(parts)?.ok_or(AppError::Unauthenticated)?;
        app.authenticate(&token)
            .await?
            .map(AnySession)
            .ok_or(AppError::Unauthenticated)
    }
}

/// A live session past every login step.
pub struct FullSession(pub Authenticated);

impl FromRequestParts<Arc<App>> for FullSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let AnySession(who) = AnySession::from_request_parts(parts, app).await?;
        if who.session.stage != SessionStage::Full {
            return Err(AppError::TotpEnrolmentRequired);
        }
        Ok(FullSession(who))
    }
}

impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let FullSession(who) = FullSession::from_request_parts(parts, app).await?;
        Ok(Operator(who.account))
    }
}

/// An account when the request carries credentials, None when it carries none. Credentials that
/// are given but not valid are still refused (401).
pub struct MaybeOperator(pub Option<Operator>);

impl FromRequestParts<Arc<App>> for MaybeOperator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        if credentials(parts)?.is_none() {
            return Ok(MaybeOperator(None));
        }
        Operator::from_request_parts(parts, app)
            .await
            .map(|o| MaybeOperator(Some(o)))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// A username, or a person's mobile number.
    username: String,
    password: String,
    /// The one-time code of a staff account's second factor.
    #[serde(default)]
    totp: Option<String>,
}

/// Login bodies above this are refused (413) before they are parsed.
pub const MAX_LOGIN_BODY: usize = 8 * 1024;

/// A new session.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Session {
    /// The bearer token: `Authorization: Bearer TOKEN`.
    token: String,
    /// Bearer.
    token_type: &'static str,
    /// Unix seconds.
    expires_at: i64,
    /// admin, operator, auditor or person.
    #[schema(value_type = String)]
    role: Role,
    username: String,
    /// full, or totp-enrolment: a staff account without a second factor may only set one up
    /// (`POST /api/v1/account/totp`, then `/api/v1/account/totp/confirm`).
    #[schema(value_type = String)]
    stage: SessionStage,
}

/// `POST /api/v1/login` → a bearer token. Failed logins are counted per username and per client
/// address; past `[limits] login_failures` in a window the answer is 429 without checking the
/// password. A staff account answers `stage: "totp-enrolment"` until it has set up its second
/// factor, and needs `totp` afterwards.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth",
    description = "Log in with a username or a mobile number. Failed logins are counted per username \
        and per client address; past the limit the answer is 429 without checking the password. A \
        disabled account gets 403. Staff accounts send `totp` once they have a second factor \
        (401 totp-required / bad-totp otherwise).",
    request_body(content = Login, content_type = "application/json"),
    responses(
        (status = 200, body = Session),
        WithBody,
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        RateLimited, Guarded,
    ))]
pub async fn login(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Session>, AppError> {
    let req: Login = json_body(&body)?;
    let done = app
        .login(LoginRequest {
            identifier: &req.username,
            password: req.password,
            totp: req.totp.as_deref(),
            kind: SessionKind::Bearer,
            client: client.0,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        })
        .await?;
    Ok(Json(Session {
        token: done.token,
        token_type: "Bearer",
        expires_at: done.session.expires_at,
        role: done.account.role,
        username: done.account.username,
        stage: done.session.stage,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    username: String,
    password: String,
    /// admin, operator or auditor.
    #[schema(value_type = String)]
    role: Role,
}

/// A staff account.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OperatorCreated {
    username: String,
    #[schema(value_type = String)]
    role: Role,
}

/// `POST /api/v1/operators` (admin): create a staff account.
#[utoipa::path(post, path = "/api/v1/operators", tag = "auth",
    security(("bearer" = [])),
    request_body(content = NewOperator, content_type = "application/json"),
    responses(
        (status = 201, body = OperatorCreated),
        WithBody, Staff,
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn create_operator(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<OperatorCreated>), AppError> {
    let actor = op.require(Permission::ManageOperators)?;
    let req: NewOperator = json_body(&body)?;
    app.create_operator(&actor.name, &req.username, &req.password, req.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(OperatorCreated {
            username: req.username,
            role: req.role,
        }),
    ))
}

/// `POST /api/v1/logout`: ends the session whose secret the request carries (any stage).
#[utoipa::path(post, path = "/api/v1/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is gone"),
        (status = 401, response = ProblemResponse),
        (status = 408, response = super::openapi::TimeoutResponse),
        Guarded,
    ))]
pub async fn logout(
    State(app): State<Arc<App>>,
    AnySession(who): AnySession,
) -> Result<StatusCode, AppError> {
    app.logout(&who.actor(), &who.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A staff account's standing after disable or enable.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OperatorState {
    username: String,
    disabled: bool,
}

/// `POST /api/v1/operators/{name}/disable` and `/enable` (admin).
#[utoipa::path(post, path = "/api/v1/operators/{name}/{action}", tag = "auth",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "The account's username"),
        ("action" = String, Path, description = "disable or enable"),
    ),
    responses(
        (status = 200, body = OperatorState),
        Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 408, response = super::openapi::TimeoutResponse),
        Guarded,
    ))]
pub async fn set_disabled(
    State(app): State<Arc<App>>,
    op: Operator,
    axum::extract::Path((name, action)): axum::extract::Path<(String, String)>,
) -> Result<Json<OperatorState>, AppError> {
    let actor = op.require(Permission::ManageOperators)?;
    let disable = match action.as_str() {
        "disable" => true,
        "enable" => false,
        other => {
            return Err(AppError::NotFound(format!(
                "no action {other:?} (disable or enable)"
            )))
        }
    };
    app.set_operator_disabled(&actor, &name, disable).await?;
    Ok(Json(OperatorState {
        username: name,
        disabled: disable,
    }))
}
