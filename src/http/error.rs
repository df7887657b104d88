//! The one place errors become HTTP responses: RFC 7807 problem+json. A 500 tells the client little
//! and the log everything.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AppError;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Policy(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::StateConflict { .. } => StatusCode::CONFLICT,
            AppError::Unauthenticated
            | AppError::BadCredentials
            | AppError::BadSignature(_)
            | AppError::TotpRequired
            | AppError::BadTotp => StatusCode::UNAUTHORIZED,
            AppError::Invalid { .. } | AppError::BadCode(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TotpEnrolmentRequired | AppError::CrossSite(_) => StatusCode::FORBIDDEN,
            AppError::CodeThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Forbidden { .. }
            | AppError::Denied(_)
            | AppError::AppRefused { .. }
            | AppError::GrantRefused { .. } => StatusCode::FORBIDDEN,
            AppError::Unavailable(_) | AppError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::RateLimited { .. }
            | AppError::AppLimited { .. }
            | AppError::LoginThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TimedOut {
                body_received: false,
                ..
            } => StatusCode::REQUEST_TIMEOUT,
            AppError::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::File(e) => file_problem(e.refusal()).0,
        }
    }

    /// Seconds for a `Retry-After` header, for the kinds that have one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after, .. }
            | AppError::AppLimited { retry_after, .. }
            | AppError::LoginThrottled { retry_after }
            | AppError::CodeThrottled { retry_after }
            | AppError::Overloaded { retry_after } => Some(*retry_after),
            AppError::TimedOut {
                body_received: true,
                ..
            } => Some(1),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Policy(_) => "policy",
            AppError::NotFound(_) => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::StateConflict { reason, .. } => reason,
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad-credentials",
            AppError::BadSignature(_) => "bad-signature",
            AppError::Forbidden { .. } | AppError::Denied(_) | AppError::AppRefused { .. } => {
                "forbidden"
            }
            AppError::GrantRefused { .. } => "grant-refused",
            AppError::Unavailable(_) => "unavailable",
            AppError::RateLimited { .. } => "rate-limited",
            AppError::AppLimited { .. } => "app-limit",
            AppError::LoginThrottled { .. } => "login-throttled",
            AppError::Overloaded { .. } => "overloaded",
            AppError::TimedOut { .. } => "timeout",
            AppError::TooLarge(_) => "too-large",
            AppError::Internal(_) => "internal",
            AppError::File(e) => file_problem(e.refusal()).1,
            AppError::Invalid { .. } => "invalid-field",
            AppError::TotpRequired => "totp-required",
            AppError::BadTotp => "bad-totp",
            AppError::TotpEnrolmentRequired => "totp-enrolment-required",
            AppError::BadCode(_) => "bad-code",
            AppError::CodeThrottled { .. } => "code-throttled",
            AppError::CrossSite(_) => "cross-site",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
            "an internal error occurred; the server log has the details".to_string()
        } else {
            self.to_string()
        };
        let mut body = json!({
            "type": format!("https://sealpki.dev/problems/{}", self.kind()),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        if let AppError::StateConflict {
            state,
            version,
            allowed_events,
            ..
        } = &self
        {
            body["state"] = json!(state);
            body["version"] = json!(version);
            body["allowed_events"] = json!(allowed_events);
        }
        if let AppError::GrantRefused { reason, .. } | AppError::AppRefused { reason, .. } = &self {
            body["reason"] = json!(reason);
        }
        if let AppError::Invalid { field, .. } = &self {
            body["field"] = json!(field);
        }
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            "application/problem+json".parse().expect("static header"),
        );
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("static header"),
            );
        }
        resp
    }
}

/// Status and problem type of a refused upload.
fn file_problem(r: crate::files::Refusal) -> (StatusCode, &'static str) {
    use crate::files::Refusal;
    match r {
        Refusal::BadRequest => (StatusCode::BAD_REQUEST, "bad-upload"),
        Refusal::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "file-too-large"),
        Refusal::Unsupported => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        Refusal::Mismatch => (StatusCode::UNPROCESSABLE_ENTITY, "content-mismatch"),
        Refusal::Bomb => (StatusCode::UNPROCESSABLE_ENTITY, "image-too-large"),
        Refusal::Unreadable => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable-file"),
    }
}

/// Parse a JSON body ourselves so that every malformed body gets the same problem+json answer.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(format!(
            "request body is not valid JSON for this endpoint: {e}"
        ))
    })
}

/// A query string as `T`, or the same problem+json answer for every malformed one.
pub fn query<T>(
    q: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, AppError> {
    q.map(|axum::extract::Query(q)| q)
        .map_err(|e| AppError::BadRequest(format!("query: {e}")))
}
