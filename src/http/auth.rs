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
use crate::app::App;
use crate::error::AppError;
use crate::store::{OperatorRow, Role, Store};

/// A logged-in operator.
pub struct Operator(pub OperatorRow);

impl Operator {
    /// Refuse unless the operator's role is one of `roles`.
    pub fn require(&self, roles: &[Role], action: &'static str) -> Result<(), AppError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                role: self.0.role.as_str(),
                action,
            })
        }
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
        let op = app
            .store
            .session_operator(&token_hash(token), crate::store::now())
            .await?;
        op.map(Operator).ok_or(AppError::Unauthenticated)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

pub async fn login(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: Login = json_body(&body)?;
    let op = app.store.operator_get(&req.username).await?;
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
        app.audit
            .append(&mut tx, &req.username, "login.failed", json!({}))
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        return Err(AppError::BadCredentials);
    };
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
    op.require(&[Role::Admin], "manage operators")?;
    let req: NewOperator = json_body(&body)?;
    app.create_operator(&op.0.username, &req.username, &req.password, req.role)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"username": req.username, "role": req.role})),
    ))
}
