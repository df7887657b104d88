//! Operator authentication: argon2id passwords, bearer session tokens (only their SHA-256 is stored),
//! and the `Operator` extractor that handlers name when they need a logged-in user.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use rand_core::RngCore;
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;

use super::error::json_body;
use super::limits::ClientIp;
use crate::access::{Actor, Permission};
use crate::app::App;
use crate::error::AppError;
use crate::limits::{bounded_username, retry_secs, USERNAME_CHARS};
use crate::store::{OperatorRow, Role, Store};

/// A logged-in, enabled operator, and the hash of the session token it came with.
pub struct Operator(pub OperatorRow, pub String);

impl Operator {
    /// Who acts, for `App` calls and the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.0.username.clone(),
            role: self.0.role,
        }
    }

    /// Refuse unless the operator's role has permission `p`.
    pub fn require(&self, p: Permission) -> Result<Actor, AppError> {
        let a = self.actor();
        a.require(p)?;
        Ok(a)
    }
}

/// An operator when the request carries a bearer token, None when it carries none. A token that is
/// given but not valid is still refused (401).
pub struct MaybeOperator(pub Option<Operator>);

impl FromRequestParts<Arc<App>> for MaybeOperator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(MaybeOperator(None));
        }
        Operator::from_request_parts(parts, app)
            .await
            .map(|o| MaybeOperator(Some(o)))
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(AppError::Unauthenticated)?
            .trim();
        let hash = token_hash(token);
        let op = app
            .store
            .session_operator(&hash, crate::store::now())
            .await?;
        op.map(|o| Operator(o, hash))
            .ok_or(AppError::Unauthenticated)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

/// Login bodies above this are refused (413) before they are parsed.
pub const MAX_LOGIN_BODY: usize = 8 * 1024;

/// `POST /api/v1/login`. Failed logins are counted per username and per client address; past
/// `[limits] login_failures` in a window the answer is 429 without checking the password, and without
/// an audit entry. A failed login's audit entry names the username by at most 64 characters.
pub async fn login(
    State(app): State<Arc<App>>,
    client: ClientIp,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: Login = json_body(&body)?;
    let attempt = app
        .limits
        .login
        .attempt(&req.username, client.0)
        .map_err(|wait| {
            app.metrics.logins_throttled.inc();
            AppError::LoginThrottled {
                retry_after: retry_secs(wait),
            }
        })?;
    let op = if req.username.chars().count() > USERNAME_CHARS {
        None // no operator has such a name (see `App::create_operator`)
    } else {
        app.store.operator_get(&req.username).await?
    };
    // Verify against a real hash of nothing when the user is unknown, so timing does not reveal names.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = || {
        DUMMY
            .get_or_init(|| crate::ceremony::hash_password("no such operator").unwrap_or_default())
            .clone()
    };
    let stored = op
        .as_ref()
        .map(|o| o.password_hash.clone())
        .unwrap_or_else(dummy);
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = app.store.begin().await?;
    let Some(op) = op.filter(|_| ok) else {
        app.metrics.logins_failed.inc();
        let (name, cut) = bounded_username(&req.username);
        let detail = if cut {
            json!({"username_chars": req.username.chars().count(), "truncated": true})
        } else {
            json!({})
        };
        app.audit
            .append(&mut tx, &name, "login.failed", detail)
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        return Err(AppError::BadCredentials);
    };
    // The password was right: the attempt is given back, whatever follows.
    app.limits.login.succeeded(attempt);
    if op.disabled_at.is_some() {
        // Only someone who knows the password learns that the account is disabled.
        app.audit
            .append(
                &mut tx,
                &op.username,
                "login.refused",
                json!({"why": "disabled"}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        return Err(AppError::Denied(format!(
            "operator {} is disabled: an administrator can enable it again",
            op.username
        )));
    }
    let mut raw = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut raw);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let expires = crate::store::now() + i64::from(app.config.server.session_hours) * 3600;
    Store::session_insert(&mut tx, &token_hash(&token), &op.username, expires).await?;
    app.audit
        .append(
            &mut tx,
            &op.username,
            "login",
            json!({"role": op.role.as_str()}),
        )
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(Json(
        json!({"token": token, "token_type": "Bearer", "expires_at": expires, "role": op.role}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOperator {
    username: String,
    password: String,
    role: Role,
}

/// `POST /api/v1/operators` (admin): create an operator account.
pub async fn create_operator(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), AppError> {
    let actor = op.require(Permission::ManageOperators)?;
    let req: NewOperator = json_body(&body)?;
    app.create_operator(&actor.name, &req.username, &req.password, req.role)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"username": req.username, "role": req.role})),
    ))
}

/// `POST /api/v1/logout`: ends the session whose token the request carries.
pub async fn logout(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<axum::http::StatusCode, AppError> {
    app.logout(&op.actor(), &op.1).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `POST /api/v1/operators/{name}/disable` and `/enable` (admin).
pub async fn set_disabled(
    State(app): State<Arc<App>>,
    op: Operator,
    axum::extract::Path((name, action)): axum::extract::Path<(String, String)>,
) -> Result<Json<serde_json::Value>, AppError> {
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
    Ok(Json(json!({"username": name, "disabled": disable})))
}
