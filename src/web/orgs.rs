//! The console's organisation pages: look-up by credit code or name and the tree's top level
//! (`/orgs`), one organisation with its children and members and the forms to give and take roles
//! (`/orgs/{id}`), and registering an organisation (`/orgs/new`, platform staff). `accounts`
//! decides who may do what; a refusal is a page in the reader's language.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::account::{problem, see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::accounts::orgs::{MemberRole, NewOrg, OrgKind, Organisation};
use crate::accounts::policy::{may, Action, Resource};
use crate::app::App;
use crate::store::MembershipRow;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs", get(list))
        .route("/orgs/new", get(new_form).post(create))
        .route("/orgs/{id}", get(show))
        .route("/orgs/{id}/members", post(add_member))
        .route(
            "/orgs/{id}/members/{username}/{role}/remove",
            post(remove_member),
        )
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct ListPage {
    page: Page,
    q: String,
    items: Vec<Organisation>,
    may_create: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
}

async fn list(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let text = q.q.trim();
    let items = if text.is_empty() {
        app.org_children(None).await
    } else {
        app.find_orgs(text, 0, 100).await
    };
    let principal = app.principal(&who.actor()).await;
    let may_create = principal
        .as_ref()
        .is_ok_and(|p| may(p, Action::CreateOrg, Resource::Platform).is_ok());
    match items {
        Ok(items) => html(
            StatusCode::OK,
            &ListPage {
                page: Page::new(lang, "/orgs"),
                q: text.to_string(),
                items,
                may_create,
            },
        ),
        Err(e) => super::error_page(lang, "/orgs", status_of(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    page: Page,
    org: Organisation,
    parent: Option<Organisation>,
    children: Vec<Organisation>,
    /// None when the viewer may not see them.
    members: Option<Vec<MembershipRow>>,
    may_manage: bool,
    /// Links to the applications the viewer may make here (seal administrator, a change).
    may_apply_admin: bool,
    may_apply_update: bool,
    roles: Vec<&'static str>,
    error: Option<String>,
}

async fn org_page(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/orgs/{id}");
    let org = match app.org(id).await {
        Ok(o) => o,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let principal = match app.principal(&who.actor()).await {
        Ok(p) => p,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let members = app.members(&principal, id).await.ok();
    let may_manage = app.may_manage_members(&principal, id).await.is_ok();
    let may_apply_admin = app
        .may_on_org(&principal, Action::ApplySealAdmin, id)
        .await
        .is_ok();
    let may_apply_update = app
        .may_on_org(&principal, Action::ApplyOrgUpdate, id)
        .await
        .is_ok();
    let parent = match &org.parent_id {
        Some(p) => app.org(p).await.ok(),
        None => None,
    };
    let children = app.org_children(Some(id)).await.unwrap_or_default();
    let roles = MemberRole::ALL
        .into_iter()
        .filter(|r| r.fits(org.kind))
        .map(MemberRole::as_str)
        .collect();
    html(
        status,
        &OrgPage {
            page: Page::new(lang, &here),
            org,
            parent,
            children,
            members,
            may_manage,
            may_apply_admin,
            may_apply_update,
            roles,
            error,
        },
    )
}

async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    org_page(&app, lang, &who, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct MemberForm {
    username: String,
    role: String,
}

async fn add_member(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    let result = match (
        MemberRole::parse(&f.role),
        app.principal(&who.actor()).await,
    ) {
        (Some(role), Ok(p)) => app
            .add_member(&p, &id, f.username.trim(), role)
            .await
            .map(|_| ()),
        (None, _) => Err(crate::error::AppError::Invalid {
            field: "role",
            rule: format!("no role {:?}", f.role),
        }),
        (_, Err(e)) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/orgs/{id}")),
        Err(e) => {
            let page = Page::new(lang, "/orgs");
            let msg = problem(&page, &e);
            org_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}

async fn remove_member(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path((id, username, role)): Path<(String, String, String)>,
) -> Response {
    let result = match (MemberRole::parse(&role), app.principal(&who.actor()).await) {
        (Some(role), Ok(p)) => app.remove_member(&p, &id, &username, role).await,
        (None, _) => Err(crate::error::AppError::NotFound(format!(
            "no role {role:?}"
        ))),
        (_, Err(e)) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/orgs/{id}")),
        Err(e) => {
            let page = Page::new(lang, "/orgs");
            let msg = problem(&page, &e);
            org_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}

#[derive(Template)]
#[template(path = "org-new.html")]
struct NewPage {
    page: Page,
    error: Option<String>,
    kinds: Vec<&'static str>,
    f: NewForm,
}

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    parent_id: String,
}

fn kinds() -> Vec<&'static str> {
    OrgKind::ALL.into_iter().map(OrgKind::as_str).collect()
}

async fn new_form(lang: Lang, _who: SignedIn, Query(f): Query<NewForm>) -> Response {
    html(
        StatusCode::OK,
        &NewPage {
            page: Page::new(lang, "/orgs/new"),
            error: None,
            kinds: kinds(),
            f,
        },
    )
}

async fn create(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Form(f): Form<NewForm>,
) -> Response {
    let result = match (OrgKind::parse(&f.kind), app.principal(&who.actor()).await) {
        (Some(kind), Ok(p)) => {
            app.create_org(
                &p,
                NewOrg {
                    credit_code: f.credit_code.trim().to_string(),
                    name: f.name.clone(),
                    kind,
                    region: f.region.trim().to_string(),
                    parent_id: Some(f.parent_id.trim().to_string()).filter(|p| !p.is_empty()),
                },
            )
            .await
        }
        (None, _) => Err(crate::error::AppError::Invalid {
            field: "kind",
            rule: format!("no kind {:?}", f.kind),
        }),
        (_, Err(e)) => Err(e),
    };
    match result {
        Ok(org) => see_other(&format!("/orgs/{}", org.id)),
        Err(e) => {
            let page = Page::new(lang, "/orgs/new");
            let error = Some(problem(&page, &e));
            html(
                status_of(&e),
                &NewPage {
                    page,
                    error,
                    kinds: kinds(),
                    f,
                },
            )
        }
    }
}
