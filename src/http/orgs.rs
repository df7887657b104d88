//! Organisations over HTTP: register, look up by credit code or name, browse the tree, and manage
//! memberships. Thin: `accounts::orgs` does the work and `accounts::policy` decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::openapi::{Guarded, Staff, WithBody};
use crate::accounts::orgs::{MemberRole, NewOrg, OrgKind, Organisation};
use crate::accounts::policy::{may, Action, Resource};
use crate::app::App;
use crate::error::AppError;

/// Organisation bodies above this are refused (413) before they are parsed.
pub const MAX_ORG_BODY: usize = 16 * 1024;

/// An organisation as the API writes it.
#[derive(Serialize, ToSchema)]
pub struct OrgView {
    id: String,
    /// GB 32100 unified social credit code.
    credit_code: String,
    name: String,
    /// enterprise, government, institution, social, seal-maker or police.
    kind: String,
    /// GB/T 2260 region code.
    region: String,
    region_name: Option<String>,
    /// The supervising (approving) authority.
    parent_id: Option<String>,
    created_at: i64,
}

impl From<Organisation> for OrgView {
    fn from(o: Organisation) -> Self {
        OrgView {
            id: o.id,
            credit_code: o.credit_code,
            name: o.name,
            kind: o.kind.as_str().to_string(),
            region: o.region,
            region_name: o.region_name,
            parent_id: o.parent_id,
            created_at: o.created_at,
        }
    }
}

/// `POST /api/v1/organisations` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgRequest {
    credit_code: String,
    name: String,
    #[schema(value_type = String, example = "enterprise")]
    kind: OrgKind,
    region: String,
    #[serde(default)]
    parent_id: Option<String>,
}

/// `POST /api/v1/organisations`: register an organisation (platform administrators and operators).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    request_body = NewOrgRequest,
    responses((status = 201, description = "Registered", body = OrgView),
        (status = 409, description = "The credit code or name exists", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, WithBody, Guarded))]
pub async fn create(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<OrgView>), AppError> {
    let p = app.principal(&op.actor()).await?;
    // The decision first: a refusal does not depend on the body (the service decides again).
    may(&p, Action::CreateOrg, Resource::Platform)?;
    let req: NewOrgRequest = json_body(&body)?;
    let org = app
        .create_org(
            &p,
            NewOrg {
                credit_code: req.credit_code,
                name: req.name,
                kind: req.kind,
                region: req.region,
                parent_id: req.parent_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// Look-up parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// A credit code (exact) or part of a name.
    #[serde(default)]
    q: Option<String>,
    /// The children of this organisation (`root` for the top level); ignored with `q`.
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    offset: Option<u32>,
    /// 1 to 200 (default 50).
    #[serde(default)]
    limit: Option<u32>,
}

/// A page of organisations.
#[derive(Serialize, ToSchema)]
pub struct OrgPage {
    items: Vec<OrgView>,
    /// The offset of the next page, when there is one.
    next_offset: Option<u32>,
}

/// `GET /api/v1/organisations`: look up by credit code or name, or list a level of the tree.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    params(OrgQuery),
    responses((status = 200, description = "Matching organisations", body = OrgPage), Staff, Guarded))]
pub async fn list(
    State(app): State<Arc<App>>,
    _op: Operator,
    Query(q): Query<OrgQuery>,
) -> Result<Json<OrgPage>, AppError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let offset = q.offset.unwrap_or(0);
    let mut items = match (&q.q, &q.parent) {
        (Some(text), _) if !text.trim().is_empty() => {
            app.find_orgs(text.trim(), i64::from(offset), i64::from(limit) + 1)
                .await?
        }
        (_, Some(p)) if p != "root" => app.org_children(Some(p)).await?,
        _ => app.org_children(None).await?,
    };
    // Tree levels come whole (at most 1,000); pages are cut here.
    if q.q.as_deref().is_none_or(|t| t.trim().is_empty()) {
        items = items.into_iter().skip(offset as usize).collect();
    }
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok(Json(OrgPage {
        next_offset: more.then(|| offset.saturating_add(limit)),
        items: items.into_iter().map(OrgView::from).collect(),
    }))
}

/// `GET /api/v1/organisations/{id}`.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The organisation", body = OrgView),
        (status = 404, description = "No such organisation", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Json<OrgView>, AppError> {
    Ok(Json(app.org(&id).await?.into()))
}

/// One membership.
#[derive(Serialize, ToSchema)]
pub struct MemberView {
    username: String,
    role: String,
    created_by: String,
    created_at: i64,
}

impl From<crate::store::MembershipRow> for MemberView {
    fn from(m: crate::store::MembershipRow) -> Self {
        MemberView {
            username: m.username,
            role: m.role,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// An organisation's members.
#[derive(Serialize, ToSchema)]
pub struct MemberList {
    items: Vec<MemberView>,
}

/// `GET /api/v1/organisations/{id}/members`: who holds which role (members, the seal
/// administrators and reviewers above, platform staff).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/members", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Members", body = MemberList),
        (status = 404, description = "No such organisation", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn members(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Json<MemberList>, AppError> {
    let p = app.principal(&op.actor()).await?;
    let items = app
        .members(&p, &id)
        .await?
        .into_iter()
        .map(MemberView::from)
        .collect();
    Ok(Json(MemberList { items }))
}

/// `POST /api/v1/organisations/{id}/members` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    username: String,
    /// applicant, seal-admin, reviewer, maker-staff or police-approver.
    #[schema(value_type = String, example = "seal-admin")]
    role: MemberRole,
}

/// `POST /api/v1/organisations/{id}/members`: give an account a role (platform staff, or a seal
/// administrator of the organisation or one above it).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/members", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewMember,
    responses((status = 201, description = "Added", body = MemberView),
        (status = 404, description = "No such organisation", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has the role already", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such account, or the role does not fit the organisation", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, WithBody, Guarded))]
pub async fn add_member(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<MemberView>), AppError> {
    let p = app.principal(&op.actor()).await?;
    app.may_manage_members(&p, &id).await?;
    let req: NewMember = json_body(&body)?;
    let m = app.add_member(&p, &id, &req.username, req.role).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// `DELETE /api/v1/organisations/{id}/members/{username}/{role}`.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/members/{username}/{role}", tag = "organisations", security(("bearer" = [])),
    params(("id" = String, Path), ("username" = String, Path), ("role" = String, Path)),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such membership", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn remove_member(
    State(app): State<Arc<App>>,
    op: Operator,
    Path((id, username, role)): Path<(String, String, String)>,
) -> Result<StatusCode, AppError> {
    let role =
        MemberRole::parse(&role).ok_or_else(|| AppError::NotFound(format!("no role {role:?}")))?;
    let p = app.principal(&op.actor()).await?;
    app.remove_member(&p, &id, &username, role).await?;
    Ok(StatusCode::NO_CONTENT)
}
