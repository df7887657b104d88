//! The documentation of `auth`'s routes while that file is being reworked (accounts): stand-ins
//! carrying the `#[utoipa::path]` its handlers will carry, paired with the real handlers in the
//! route table by `super::paired`. Goes once the handlers are annotated themselves.

use utoipa::ToSchema;

use super::openapi::{Guarded, ProblemResponse, RateLimited, Staff, WithBody};

/// `POST /api/v1/login`'s body.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
struct Login {
    username: String,
    password: String,
}

/// A new session.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
struct Session {
    /// The bearer token: `Authorization: Bearer TOKEN`.
    token: String,
    /// Bearer.
    token_type: String,
    /// Unix seconds.
    expires_at: i64,
    /// admin, operator or auditor.
    role: String,
}

/// Log in: a bearer token for the operator endpoints.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth",
    description = "Failed logins are counted per username and per client address; past the limit the \
        answer is 429 without checking the password. A disabled operator gets 403.",
    request_body(content = Login, content_type = "application/json"),
    responses(
        (status = 200, body = Session),
        WithBody,
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        RateLimited, Guarded,
    ))]
pub async fn login() {}

/// End the session whose token the request carries.
#[utoipa::path(post, path = "/api/v1/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is gone"),
        (status = 401, response = ProblemResponse),
        (status = 408, response = super::openapi::TimeoutResponse),
        Guarded,
    ))]
pub async fn logout() {}

/// `POST /api/v1/operators`' body.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
struct NewOperator {
    username: String,
    password: String,
    /// admin, operator or auditor.
    role: String,
}

/// An operator account.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
struct OperatorCreated {
    username: String,
    role: String,
}

/// Create an operator account (admin).
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
pub async fn create_operator() {}

/// An operator's standing after disable or enable.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
struct OperatorState {
    username: String,
    disabled: bool,
}

/// Disable an operator (its sessions end) or enable it again (admin).
#[utoipa::path(post, path = "/api/v1/operators/{name}/{action}", tag = "auth",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "The operator's username"),
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
pub async fn set_disabled() {}
