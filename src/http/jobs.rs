//! Job routes for operators: the outbox by state (the dead letters among it) and the re-queueing
//! of a dead job. `crate::jobs` does the work and checks the permission (jobs.manage).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Operator;
use super::openapi::{Guarded, Staff};
use crate::app::App;
use crate::error::AppError;
use crate::jobs::{JobPage, JobView};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `pending`, `running`, `done` or `dead`; all when absent.
    state: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// 1-1000, default 100.
    limit: Option<i64>,
}

/// `GET /api/v1/jobs?state=&cursor=&limit=`: jobs newest first, recipients masked, no payloads.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])),
    params(JobsQuery),
    responses((status = 200, description = "A page of jobs, newest first", body = JobPage),
        (status = 400, description = "Unknown state, bad cursor or limit", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn list(
    State(app): State<Arc<App>>,
    q: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<JobPage>, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    Ok(Json(
        crate::jobs::list(
            &app,
            &op.actor(),
            q.state.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

/// `POST /api/v1/jobs/{id}/retry`: a dead job back in the queue, attempts reset, due now; audited.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job, pending again", body = JobView),
        (status = 404, description = "No such job", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not dead", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn retry(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<JobView>, AppError> {
    Ok(Json(crate::jobs::retry(&app, &op.actor(), &id).await?))
}
