//! `Idempotency-Key` for POSTs that create or transition (Stripe's convention). The first request
//! with a key claims it (a row per actor and key; the primary key decides between concurrent
//! duplicates); its answer is stored, and a retry with the same key, method, path and body (SHA-256)
//! gets that answer again with `Idempotent-Replayed: true`. The same key with another request is a
//! 422; a duplicate that arrives while the first is still running is a 409 "request in progress"
//! with `Retry-After: 1` (it does not wait). Server errors (5xx) and 429s are not kept: the key is
//! released so a retry runs again. Keys expire after 24 hours. Handlers that change something hand
//! the `Claim` (a request extension) to the workflow runner, which records the answer in the
//! transaction of the change: after a crash or a timeout either both committed (a retry replays the
//! answer) or neither did, and the claim is taken over by a retry once its request can no longer be
//! running (the request timeout plus a minute), so the work runs at most once.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::Digest;

use super::auth::Operator;
use crate::app::App;
use crate::error::AppError;

/// How long a key is remembered.
pub const KEY_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// Keys are 1-255 visible ASCII characters.
pub const MAX_KEY: usize = 255;
/// Request bodies on idempotent routes (the router's default limit).
const MAX_BODY: usize = 1024 * 1024;

pub const REPLAYED: &str = "idempotent-replayed";

/// The key a request claimed, for the handler to pass on to the workflow runner.
#[derive(Clone, Debug)]
pub struct Claim {
    pub actor: String,
    pub key: String,
}

impl Claim {
    /// The answer to record with the change, with the status the handler will send.
    pub fn answer(&self, status: StatusCode) -> crate::workflow::Answer<'_> {
        crate::workflow::Answer {
            actor: &self.actor,
            key: &self.key,
            status: status.as_u16(),
        }
    }
}

pub(super) fn check_key(v: &HeaderValue) -> Result<String, AppError> {
    let k = v.to_str().unwrap_or("");
    if k.is_empty() || k.len() > MAX_KEY || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1-{MAX_KEY} visible ASCII characters"
        )));
    }
    Ok(k.to_string())
}

/// The middleware (`axum::middleware::from_fn_with_state`) of the idempotent routes.
pub async fn idempotency(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match run(app, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(app: Arc<App>, req: Request, next: Next) -> Result<Response, AppError> {
    let Some(raw) = req.headers().get("idempotency-key") else {
        return Ok(next.run(req).await);
    };
    let key = check_key(raw)?;
    let (mut parts, body) = req.into_parts();
    let actor = Operator::from_request_parts(&mut parts, &app)
        .await?
        .actor()
        .name;
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        AppError::TooLarge("the request body is larger than this endpoint accepts".into())
    })?;
    let method_path = format!("{} {}", parts.method, parts.uri.path());
    let hash = hex::encode(sha2::Sha256::digest(&bytes));
    let now = crate::store::now();
    let expired = now - KEY_LIFETIME_SECONDS;
    if rand_core::RngCore::next_u32(&mut rand_core::OsRng).is_multiple_of(256) {
        app.store.idempotency_purge(expired).await?;
    }
    let in_progress = || {
        let mut r = AppError::Conflict(format!(
            "request in progress: a request with Idempotency-Key {key:?} has not finished; retry shortly"
        ))
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    };
    let claimed = match app
        .store
        .idempotency_claim(
            &actor,
            &key,
            &method_path,
            &hash,
            now,
            expired,
            now - app.config.limits.request_timeout_seconds as i64 - 60,
        )
        .await
    {
        Ok(c) => c,
        Err(crate::store::StoreError::Conflict(_)) => return Ok(in_progress()),
        Err(e) => return Err(e.into()),
    };
    if let Some(row) = claimed {
        if row.method_path != method_path || row.body_sha256 != hash {
            return Err(AppError::Policy(format!(
                "Idempotency-Key {key:?} was used for another request (first {}, body SHA-256 {}); \
                 a new request needs a new key",
                row.method_path, row.body_sha256
            )));
        }
        if row.status == 0 {
            return Ok(in_progress());
        }
        let status = StatusCode::from_u16(row.status as u16)
            .map_err(|_| AppError::Internal(format!("stored idempotent status {}", row.status)))?;
        let mut resp = (status, row.response.unwrap_or_default()).into_response();
        if let Some(ct) = row
            .content_type
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            resp.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        resp.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
        return Ok(resp);
    }
    parts.extensions.insert(Claim {
        actor: actor.clone(),
        key: key.clone(),
    });
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = resp.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(e) = app.store.idempotency_release(&actor, &key).await {
            tracing::error!(error = %e, "releasing an idempotency key");
        }
        return Ok(resp);
    }
    let (mut rparts, rbody) = resp.into_parts();
    let body = match axum::body::to_bytes(rbody, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return Err(AppError::Internal(format!("response body: {e}"))),
    };
    let ctype = rparts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Err(e) = app
        .store
        .idempotency_complete(
            &actor,
            &key,
            status.as_u16() as i64,
            ctype.as_deref(),
            &body,
        )
        .await
    {
        // The work is done; the key stays "in progress" until it expires, so a retry cannot redo it.
        tracing::error!(error = %e, "recording an idempotent answer");
    }
    rparts
        .headers
        .insert(REPLAYED, HeaderValue::from_static("false"));
    Ok(Response::from_parts(rparts, Body::from(body)))
}
