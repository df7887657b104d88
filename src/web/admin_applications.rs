//! The console's pages for seal-administrator applications (`/seal-admin-applications`: mine and
//! the decider's queue, `…/new` — the organisation from my memberships, the signed form, a reason
//! —, `…/{id}` with its history and the approve / return / resubmit / withdraw forms) and
//! organisation updates (`/orgs/{id}/update` from the organisation's page, `/org-updates`,
//! `/org-updates/{id}`). `seals::admin_service` does the work and `accounts::policy` decides; a
//! refusal is shown in the reader's language.

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::account::{problem, see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::access::Actor;
use crate::accounts::orgs::Organisation;
use crate::app::App;
use crate::error::AppError;
use crate::files::{FileName, FilePurpose, Upload};
use crate::seals::admin_service::AdminKind;
use crate::seals::service::AppScope;
use crate::workflow::{EventRequest, HistoryEntry, View};

/// The largest form post: a file of the application-scan purpose's 32 MiB and the fields.
const MAX_FORM: usize = 32 * 1024 * 1024 + 64 * 1024;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/seal-admin-applications", get(admin_list))
        .route(
            "/seal-admin-applications/new",
            get(admin_form)
                .post(admin_apply)
                .layer(DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/seal-admin-applications/{id}", get(admin_show))
        .route("/seal-admin-applications/{id}/event", post(admin_event))
        .route("/seal-admin-applications/{id}/file", get(admin_file))
        .route("/org-updates", get(update_list))
        .route(
            "/orgs/{id}/update",
            get(update_form)
                .post(update_apply)
                .layer(DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/org-updates/{id}", get(update_show))
        .route("/org-updates/{id}/event", post(update_event))
        .route("/org-updates/{id}/file", get(update_file))
}

fn base(kind: AdminKind) -> &'static str {
    match kind {
        AdminKind::SealAdmin => "/seal-admin-applications",
        AdminKind::OrgUpdate => "/org-updates",
    }
}

fn title_key(kind: AdminKind) -> &'static str {
    match kind {
        AdminKind::SealAdmin => "admins.title",
        AdminKind::OrgUpdate => "admins.updates_title",
    }
}

/// What went wrong, in the reader's language, with the service's own words after it.
fn say(page: &Page, e: &AppError) -> String {
    format!("{} — {e}", problem(page, e))
}

#[derive(Template)]
#[template(path = "admin-applications.html")]
struct ListPage {
    page: Page,
    title: &'static str,
    base: &'static str,
    may_apply: bool,
    mine: Vec<View>,
    queue: Vec<View>,
}

async fn list_page(app: &App, lang: Lang, actor: &Actor, kind: AdminKind) -> Response {
    let here = base(kind);
    let mine = app
        .admin_records(actor, kind, AppScope::Mine, None, None, Some(100))
        .await;
    let queue = app
        .admin_records(
            actor,
            kind,
            AppScope::Review,
            Some("pending-review"),
            None,
            Some(100),
        )
        .await;
    match (mine, queue) {
        (Ok(mine), Ok(queue)) => html(
            StatusCode::OK,
            &ListPage {
                page: Page::new(lang, here),
                title: title_key(kind),
                base: here,
                may_apply: kind == AdminKind::SealAdmin,
                mine: mine.items,
                queue: queue.items,
            },
        ),
        (Err(e), _) | (_, Err(e)) => super::error_page(lang, here, status_of(&e), None, None),
    }
}

async fn admin_list(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    list_page(&app, lang, &who.actor(), AdminKind::SealAdmin).await
}

async fn update_list(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    list_page(&app, lang, &who.actor(), AdminKind::OrgUpdate).await
}

/// A record's data as label/value rows (the labels are the data's own field names, localized).
fn rows(v: &View) -> Vec<(String, String)> {
    v.data
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin-application.html")]
struct DetailPage {
    page: Page,
    title: &'static str,
    base: &'static str,
    v: View,
    /// (field, value, the organisation's name where the value names one).
    data: Vec<(String, String, Option<String>)>,
    history: Vec<HistoryEntry>,
    error: Option<String>,
    /// The events the record's state allows (the service still asks the policy).
    may_decide: bool,
    may_resubmit: bool,
    may_withdraw: bool,
}

async fn detail(
    app: &App,
    lang: Lang,
    actor: &Actor,
    kind: AdminKind,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("{}/{id}", base(kind));
    let v = match app.admin_record(actor, kind, id).await {
        Ok(v) => v,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    // Organisations are shown by name, their id kept as the link.
    let mut data = Vec::new();
    for (k, val) in rows(&v) {
        let name = if k == "org_id" || k == "parent_id" {
            app.org(&val).await.ok().map(|o| o.name)
        } else {
            None
        };
        data.push((k, val, name));
    }
    let history = app
        .admin_history(actor, kind, id, None, Some(100))
        .await
        .map(|h| h.items)
        .unwrap_or_default();
    html(
        status,
        &DetailPage {
            page: Page::new(lang, &here),
            title: title_key(kind),
            base: base(kind),
            data,
            may_decide: v.allowed_events.contains(&"approve"),
            may_resubmit: v.allowed_events.contains(&"resubmit"),
            may_withdraw: v.allowed_events.contains(&"withdraw"),
            v,
            history,
            error,
        },
    )
}

async fn admin_show(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    detail(
        &app,
        lang,
        &who.actor(),
        AdminKind::SealAdmin,
        &id,
        None,
        StatusCode::OK,
    )
    .await
}

async fn update_show(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    detail(
        &app,
        lang,
        &who.actor(),
        AdminKind::OrgUpdate,
        &id,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct EventForm {
    event: String,
    version: i64,
    #[serde(default)]
    comment: String,
}

async fn send_event(
    app: &App,
    lang: Lang,
    actor: &Actor,
    kind: AdminKind,
    id: &str,
    f: EventForm,
) -> Response {
    let req = EventRequest {
        event: &f.event,
        version: f.version,
        comment: Some(f.comment.as_str()),
        attachments: &[],
    };
    let r = match kind {
        AdminKind::SealAdmin => app.seal_admin_event(actor, id, &req, None).await,
        AdminKind::OrgUpdate => app.org_update_event(actor, id, &req, None).await,
    };
    match r {
        Ok(_) => see_other(&format!("{}/{id}", base(kind))),
        Err(e) => {
            let msg = say(&Page::new(lang, base(kind)), &e);
            detail(app, lang, actor, kind, id, Some(msg), status_of(&e)).await
        }
    }
}

async fn admin_event(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> Response {
    send_event(&app, lang, &who.actor(), AdminKind::SealAdmin, &id, f).await
}

async fn update_event(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> Response {
    send_event(&app, lang, &who.actor(), AdminKind::OrgUpdate, &id, f).await
}

/// A multipart form: its text fields and its one file (`file`).
struct Posted {
    fields: Vec<(String, String)>,
    file: Option<(String, Option<String>, axum::body::Bytes)>,
}

impl Posted {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    async fn read(mut mp: Multipart) -> Result<Posted, AppError> {
        let bad = |e: axum::extract::multipart::MultipartError| {
            AppError::BadRequest(format!("form: {}", e.body_text()))
        };
        let mut p = Posted {
            fields: Vec::new(),
            file: None,
        };
        while let Some(field) = mp.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                let file_name = field.file_name().unwrap_or("upload").to_string();
                let ctype = field.content_type().map(str::to_string);
                let data = field.bytes().await.map_err(bad)?;
                if !data.is_empty() {
                    p.file = Some((file_name, ctype, data));
                }
            } else if p.fields.len() < 16 {
                let text = field.text().await.map_err(bad)?;
                p.fields.push((name, text));
            }
        }
        Ok(p)
    }

    /// Store the file as `purpose`; its id.
    async fn upload(
        &mut self,
        app: &App,
        actor: &Actor,
        purpose: FilePurpose,
    ) -> Result<String, AppError> {
        let (name, ctype, data) = self.file.take().ok_or(AppError::Invalid {
            field: "file",
            rule: "choose the file to upload".into(),
        })?;
        let name = FileName::parse(&name).map_err(|e| AppError::Invalid {
            field: "file",
            rule: e.to_string(),
        })?;
        let row = app
            .file_upload(
                actor,
                Upload {
                    purpose,
                    name,
                    content_type: ctype,
                    data,
                },
            )
            .await?;
        Ok(row.id)
    }
}

#[derive(Template)]
#[template(path = "admin-apply.html")]
struct ApplyPage {
    page: Page,
    orgs: Vec<Organisation>,
    error: Option<String>,
    reason: String,
}

async fn my_orgs(app: &App, actor: &Actor) -> Vec<Organisation> {
    let mut out: Vec<Organisation> = Vec::new();
    if let Ok(p) = app.principal(actor).await {
        for m in p.memberships {
            if out.iter().any(|o| o.id == m.org_id) {
                continue;
            }
            if let Ok(o) = app.org(&m.org_id).await {
                out.push(o);
            }
        }
    }
    out
}

async fn apply_page(
    app: &App,
    lang: Lang,
    actor: &Actor,
    error: Option<String>,
    reason: String,
    status: StatusCode,
) -> Response {
    html(
        status,
        &ApplyPage {
            page: Page::new(lang, "/seal-admin-applications/new"),
            orgs: my_orgs(app, actor).await,
            error,
            reason,
        },
    )
}

async fn admin_form(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    apply_page(
        &app,
        lang,
        &who.actor(),
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

async fn admin_apply(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    mp: Multipart,
) -> Response {
    let actor = who.actor();
    let mut reason = String::new();
    let r: Result<View, AppError> = async {
        let mut p = Posted::read(mp).await?;
        reason = p.get("reason").unwrap_or_default().to_string();
        let file = p.upload(&app, &actor, FilePurpose::ApplicationScan).await?;
        let mut body = serde_json::json!({
            "org_id": p.get("org_id").unwrap_or_default(),
            "form_file": file,
            "reason": reason,
        });
        if let Some(a) = p.get("applicant") {
            body["applicant"] = serde_json::json!(a);
        }
        app.seal_admin_apply(&actor, &body, None).await
    }
    .await;
    match r {
        Ok(v) => see_other(&format!("/seal-admin-applications/{}", v.id)),
        Err(e) => {
            let msg = say(&Page::new(lang, "/seal-admin-applications/new"), &e);
            apply_page(&app, lang, &actor, Some(msg), reason, status_of(&e)).await
        }
    }
}

#[derive(Template)]
#[template(path = "org-update.html")]
struct UpdatePage {
    page: Page,
    org: Organisation,
    error: Option<String>,
}

async fn update_page(
    app: &App,
    lang: Lang,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/orgs/{id}/update");
    match app.org(id).await {
        Ok(org) => html(
            status,
            &UpdatePage {
                page: Page::new(lang, &here),
                org,
                error,
            },
        ),
        Err(e) => super::error_page(lang, &here, status_of(&e), None, None),
    }
}

async fn update_form(
    State(app): State<Arc<App>>,
    lang: Lang,
    _who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    update_page(&app, lang, &id, None, StatusCode::OK).await
}

async fn update_apply(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    mp: Multipart,
) -> Response {
    let actor = who.actor();
    let r: Result<View, AppError> = async {
        let mut p = Posted::read(mp).await?;
        let file = p.upload(&app, &actor, FilePurpose::Attachment).await?;
        let mut body = serde_json::json!({
            "org_id": id,
            "licence_file": file,
            "reason": p.get("reason").unwrap_or_default(),
        });
        for f in ["credit_code", "name", "parent_id"] {
            if let Some(v) = p.get(f) {
                body[f] = serde_json::json!(v);
            }
        }
        app.org_update_apply(&actor, &body, None).await
    }
    .await;
    match r {
        Ok(v) => see_other(&format!("/org-updates/{}", v.id)),
        Err(e) => {
            let msg = say(&Page::new(lang, "/org-updates"), &e);
            update_page(&app, lang, &id, Some(msg), status_of(&e)).await
        }
    }
}

/// The record's file as an attachment, inert if opened (the API's download headers).
async fn record_file(app: &App, lang: Lang, actor: &Actor, kind: AdminKind, id: &str) -> Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let here = format!("{}/{id}", base(kind));
    let (row, data) = match app.admin_record_file(actor, kind, id).await {
        Ok(f) => f,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let name = FileName::parse(&row.original_name)
        .or_else(|_| FileName::parse("file"))
        .map(|n| {
            format!(
                "attachment; filename=\"{}\"; filename*={}",
                n.ascii_fallback(),
                n.rfc8187()
            )
        })
        .unwrap_or_else(|_| "attachment".into());
    let mut resp = (StatusCode::OK, data).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(row.media_type.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    resp
}

async fn admin_file(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    record_file(&app, lang, &who.actor(), AdminKind::SealAdmin, &id).await
}

async fn update_file(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    record_file(&app, lang, &who.actor(), AdminKind::OrgUpdate, &id).await
}
