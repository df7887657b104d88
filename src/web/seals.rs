//! The console's seal pages: my seals and the seals I manage (`/seals`), one seal with its
//! picture, history, the operations one may apply for and a form to seal a PDF (`/seals/{id}`);
//! applications — mine and the reviewer's queue (`/seal-applications`), the application form
//! (`/seal-applications/new`, its seal picture generated, an uploaded impression or — name seals —
//! hand-drawn on the drawing pad of `/seal-pictures/new`), one application or operation with its history and the actions its
//! state allows (`/seal-applications/{id}`). `seals::service` does the work and the policy decides;
//! a refusal is a message in the reader's language with the service's reason.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::account::{problem, see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::accounts::orgs::{MemberRole, OrgKind};
use crate::app::App;
use crate::error::AppError;
use crate::seals::service::{AppScope, SealScope};
use crate::seals::{SealHistoryEntry, SealView};
use crate::workflow::{EventRequest, HistoryEntry, Named, View};

/// Uploads through these pages (a stamped scan, a PDF to seal).
const MAX_UPLOAD: usize = 32 * 1024 * 1024;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/seals", get(list))
        .route("/seals/production", get(production))
        .route("/seals/{id}", get(show))
        .route("/seals/{id}/operations", post(apply_operation))
        .route(
            "/seals/{id}/sign",
            post(sign).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/seal-applications", get(applications).post(create))
        .route("/seal-applications/new", get(new_form))
        .route("/seal-pictures/new", get(picture_form))
        .route(
            "/seal-pictures",
            post(picture_upload).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/seal-applications/{id}", get(application))
        .route("/seal-applications/{id}/event", post(event))
        .route(
            "/seal-applications/{id}/scan",
            post(scan).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
}

/// A refusal or failure as the reader sees it: the translated kind and the service's reason.
fn message(page: &Page, e: &AppError) -> String {
    // The refusals a person meets most, in their language; the service's reason follows.
    let known = match e {
        AppError::Policy(d) if d.contains("attach-scan") => Some("sapp.err_scan"),
        AppError::Conflict(d) if d.starts_with("seal_name") => Some("sapp.err_name"),
        AppError::StateConflict { .. } => Some("sapp.err_state"),
        AppError::Policy(d) if d.contains("signing refused") => Some("sapp.err_not_active"),
        _ => None,
    };
    if let Some(k) = known {
        return page.tr(k).to_string();
    }
    let head = problem(page, e);
    match e {
        AppError::BadRequest(d)
        | AppError::Policy(d)
        | AppError::Conflict(d)
        | AppError::Denied(d)
        | AppError::NotFound(d) => format!("{head} — {d}"),
        AppError::StateConflict { message, .. } => format!("{head} — {message}"),
        _ => head,
    }
}

// ---- seals ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "seal-production.html")]
struct ProductionPage {
    page: Page,
    /// Cloud seals approved and not made (a failed production stays here).
    cloud: Vec<View>,
    /// UKey seals approved, awaiting the holder's enrolment with the token.
    ukey: Vec<View>,
    keys: Vec<crate::seals::maker::PlatformKeyView>,
}

impl ProductionPage {
    fn name(v: &View) -> &str {
        v.data["seal_name"].as_str().unwrap_or("")
    }
    fn seal_type(v: &View) -> &str {
        v.data["seal_type"].as_str().unwrap_or("")
    }
    fn time(t: &Option<i64>) -> String {
        t.as_ref()
            .map(crate::web::format_time)
            .unwrap_or_else(|| "—".into())
    }
}

/// `GET /seals/production`: the platform operators' page — applications pending production
/// (cloud: a button that runs `produce` again; UKey: awaiting the holder's enrolment) and the
/// platform's own keys with their certificates' status.
async fn production(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    let actor = who.actor();
    let here = "/seals/production";
    let keys = match app.platform_keys(&actor).await {
        Ok(k) => k,
        Err(e) => return super::error_page(lang, here, status_of(&e), None, None),
    };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    // Everything pending, a few pages at most (a backlog longer than this is an incident).
    for _ in 0..10 {
        let r = app
            .seal_applications(
                &actor,
                crate::seals::service::APP_KIND,
                AppScope::Review,
                Some("pending-production"),
                cursor.as_deref(),
                Some(200),
            )
            .await;
        match r {
            Ok(p) => {
                items.extend(p.items);
                cursor = p.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            Err(e) => return super::error_page(lang, here, status_of(&e), None, None),
        }
    }
    let (ukey, cloud): (Vec<View>, Vec<View>) = items
        .into_iter()
        .partition(|v| v.data["mode"].as_str() == Some("ukey"));
    html(
        StatusCode::OK,
        &ProductionPage {
            page: Page::new(lang, here),
            cloud,
            ukey,
            keys,
        },
    )
}

#[derive(Template)]
#[template(path = "seals.html")]
struct SealsPage {
    page: Page,
    scope: String,
    state: String,
    q: String,
    items: Vec<SealView>,
    next: Option<String>,
    states: Vec<&'static str>,
}

#[derive(Deserialize, Default)]
struct SealsQuery {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: String,
}

async fn list(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<SealsQuery>,
) -> Response {
    let scope = if q.scope == "managed" {
        SealScope::Managed
    } else {
        SealScope::Applied
    };
    let r = app
        .seals(
            &who.actor(),
            scope,
            Some(q.state.as_str()),
            Some(q.q.as_str()),
            Some(q.cursor.as_str()),
            Some(50),
        )
        .await;
    match r {
        Ok(p) => html(
            StatusCode::OK,
            &SealsPage {
                page: Page::new(lang, "/seals"),
                scope: if scope == SealScope::Managed {
                    "managed"
                } else {
                    "applied"
                }
                .into(),
                state: q.state,
                q: q.q,
                items: p.items,
                next: p.next_cursor,
                states: crate::seals::SealState::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect(),
            },
        ),
        Err(e) => super::error_page(lang, "/seals", status_of(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "seal.html")]
struct SealPage {
    page: Page,
    seal: SealView,
    history: Vec<SealHistoryEntry>,
    error: Option<String>,
}

async fn seal_page(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/seals/{id}");
    let actor = who.actor();
    let (seal, history) = match (
        app.seal(&actor, id).await,
        app.seal_history(&actor, id).await,
    ) {
        (Ok(s), Ok(h)) => (s, h),
        (Err(e), _) | (_, Err(e)) => {
            return super::error_page(lang, &here, status_of(&e), None, None)
        }
    };
    html(
        status,
        &SealPage {
            page: Page::new(lang, &here),
            seal,
            history,
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
    seal_page(&app, lang, &who, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct OperationForm {
    operation: String,
    reason: String,
}

async fn apply_operation(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<OperationForm>,
) -> Response {
    let body = serde_json::json!({"seal_id": id, "operation": f.operation, "reason": f.reason});
    match app.seal_operation_apply(&who.actor(), &body, None).await {
        Ok(v) => see_other(&format!("/seal-applications/{}", v.id)),
        Err(e) => {
            let msg = message(&Page::new(lang, "/seals"), &e);
            seal_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}

/// Seal an uploaded PDF with the seal (first page, or on a keyword) and hand it back.
async fn sign(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut pdf = None;
    let mut keyword = String::new();
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("pdf") => pdf = field.bytes().await.ok(),
            Some("keyword") => keyword = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let actor = who.actor();
    let result = async {
        let pdf = pdf
            .filter(|b| !b.is_empty())
            .ok_or_else(|| AppError::BadRequest("choose a PDF to seal".into()))?;
        let (key, row) = app.seal_signing_key(&actor, &id).await?;
        let image = sealpki_pki::pdf::image::SealImage::from_bytes(&row.picture_png)
            .map_err(|e| AppError::Internal(format!("seal picture: {e}")))?;
        let t = crate::seals::SealType::parse(&row.seal_type)
            .unwrap_or(crate::seals::SealType::Business);
        let keyword = Some(keyword.trim().to_string()).filter(|k| !k.is_empty());
        let placement = crate::signing::placement::Placement {
            page: Some(1),
            at: keyword.is_none().then_some((400.0, 650.0)),
            size_mm: crate::seals::picture::size_mm(t).0 as f64,
            keyword,
            cross_page: false,
        };
        app.sign_pdf_bytes(
            &actor,
            key,
            crate::signing::PdfJob {
                pdf: pdf.to_vec(),
                password: None,
                image: Some(image),
                placement,
                spots: Vec::new(),
                field: None,
                level: crate::signing::Level::BB,
                certify: None,
                reason: None,
                location: None,
            },
            serde_json::json!({"seal": row.id, "seal_code": row.code, "via": "console"}),
        )
        .await
    }
    .await;
    match result {
        Ok((out, _)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"sealed.pdf\"".to_string(),
                ),
            ],
            out,
        )
            .into_response(),
        Err(e) => {
            let msg = message(&Page::new(lang, "/seals"), &e);
            seal_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}

// ---- applications -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "seal-apps.html")]
struct AppsPage {
    page: Page,
    scope: String,
    kind: String,
    items: Vec<View>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct AppsQuery {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    cursor: String,
}

async fn applications(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<AppsQuery>,
) -> Response {
    let scope = if q.scope == "review" {
        AppScope::Review
    } else {
        AppScope::Mine
    };
    let kind = if q.kind == "seal-operation" {
        "seal-operation"
    } else {
        "seal-application"
    };
    let state = (scope == AppScope::Review).then_some("pending-review");
    match app
        .seal_applications(
            &who.actor(),
            kind,
            scope,
            state,
            Some(q.cursor.as_str()),
            Some(50),
        )
        .await
    {
        Ok(p) => html(
            StatusCode::OK,
            &AppsPage {
                page: Page::new(lang, "/seal-applications"),
                scope: if scope == AppScope::Review {
                    "review"
                } else {
                    "mine"
                }
                .into(),
                kind: kind.into(),
                items: p.items,
                next: p.next_cursor,
            },
        ),
        Err(e) => super::error_page(lang, "/seal-applications", status_of(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "seal-app-new.html")]
struct NewPage {
    page: Page,
    error: Option<String>,
    /// Organisations I may apply for: (id, name).
    orgs: Vec<(String, String)>,
    /// Approving authorities to choose from: (id, name).
    authorities: Vec<(String, String)>,
    types: Vec<&'static str>,
    f: NewForm,
}

#[derive(Deserialize, Default, Clone)]
struct NewForm {
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    seal_name: String,
    #[serde(default)]
    seal_type: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    years: String,
    #[serde(default)]
    authority_id: String,
    #[serde(default)]
    taxpayer: String,
    #[serde(default)]
    person_name: String,
    /// An uploaded seal picture (`/seal-pictures`): its file id, and `drawing` or `impression`.
    #[serde(default)]
    picture_file: String,
    #[serde(default)]
    picture_kind: String,
}

async fn new_page(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    f: NewForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let actor = who.actor();
    let mut orgs = Vec::new();
    if let Ok(p) = app.principal(&actor).await {
        for m in &p.memberships {
            if matches!(m.role, MemberRole::Applicant | MemberRole::SealAdmin) {
                if let Ok(o) = app.org(&m.org_id).await {
                    if !orgs.iter().any(|(id, _): &(String, String)| *id == o.id) {
                        orgs.push((o.id, o.name));
                    }
                }
            }
        }
    }
    // Government bodies (approving authorities) and the applying organisations' parents.
    let mut authorities: Vec<(String, String)> = app
        .find_orgs("", 0, 200)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.kind == OrgKind::Government)
        .map(|o| (o.id, o.name))
        .collect();
    for (id, _) in &orgs {
        if let Ok(o) = app.org(id).await {
            if let Some(p) = o.parent_id {
                if let Ok(p) = app.org(&p).await {
                    if !authorities.iter().any(|(i, _)| *i == p.id) {
                        authorities.push((p.id, p.name));
                    }
                }
            }
        }
    }
    html(
        status,
        &NewPage {
            page: Page::new(lang, "/seal-applications/new"),
            error,
            orgs,
            authorities,
            types: crate::seals::SealType::ALL
                .iter()
                .map(|t| t.name())
                .collect(),
            f,
        },
    )
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    picture_file: String,
    #[serde(default)]
    picture_kind: String,
}

async fn new_form(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    q: Result<Query<NewQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    // Back from `/seal-pictures` with a picture: a drawing is a personal name seal's.
    let kind = match q.picture_kind.as_str() {
        "drawing" => "drawing",
        "impression" => "impression",
        _ => "",
    };
    let picture = !kind.is_empty() && !q.picture_file.is_empty();
    let f = NewForm {
        mode: "cloud".into(),
        years: "2".into(),
        seal_type: if picture && kind == "drawing" {
            "personal".into()
        } else {
            "contract".into()
        },
        picture_file: if picture {
            q.picture_file
        } else {
            String::new()
        },
        picture_kind: if picture { kind.into() } else { String::new() },
        ..Default::default()
    };
    new_page(&app, lang, &who, f, None, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "seal-picture.html")]
struct PicturePage {
    page: Page,
    /// `drawing` (the drawing pad) or `impression` (an uploaded stamped impression).
    kind: &'static str,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PictureQuery {
    #[serde(default)]
    kind: String,
}

fn picture_kind(k: &str) -> &'static str {
    if k == "drawing" {
        "drawing"
    } else {
        "impression"
    }
}

fn picture_page(
    lang: Lang,
    kind: &'static str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    html(
        status,
        &PicturePage {
            page: Page::new(lang, &format!("/seal-pictures/new?kind={kind}")),
            kind,
            error,
        },
    )
}

/// `GET /seal-pictures/new?kind=drawing|impression`: the drawing pad (hand-drawn name seals), or
/// the upload of a stamped impression; either comes back to the application form.
async fn picture_form(
    lang: Lang,
    SignedIn(_who): SignedIn,
    q: Result<Query<PictureQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let kind = picture_kind(&q.map(|Query(q)| q.kind).unwrap_or_default());
    picture_page(lang, kind, None, StatusCode::OK)
}

/// `POST /seal-pictures` (multipart: `kind`, `file`): the picture stored as a `signature-drawing`
/// (a PNG) or a `seal-impression`, then 303 to the application form holding it.
async fn picture_upload(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    mut form: Multipart,
) -> Response {
    let (mut kind, mut file) = ("impression", None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("kind") => kind = picture_kind(&field.text().await.unwrap_or_default()),
            Some("file") => {
                let name = field.file_name().unwrap_or("picture.png").to_string();
                let ct = field.content_type().map(str::to_string);
                file = field.bytes().await.ok().map(|b| (name, ct, b));
            }
            _ => {}
        }
    }
    let page = Page::new(lang, "/seal-pictures/new");
    let result = async {
        let (name, ct, data) = file
            .filter(|(_, _, b)| !b.is_empty())
            .ok_or_else(|| AppError::BadRequest(page.tr("spic.empty").to_string()))?;
        let purpose = if kind == "drawing" {
            crate::files::FilePurpose::SignatureDrawing
        } else {
            crate::files::FilePurpose::SealImpression
        };
        app.file_upload(
            &who.actor(),
            crate::files::Upload {
                purpose,
                name: crate::files::FileName::parse(&name)
                    .map_err(|e| AppError::BadRequest(e.to_string()))?,
                content_type: ct,
                data,
            },
        )
        .await
    }
    .await;
    match result {
        Ok(row) => see_other(&format!(
            "/seal-applications/new?picture_file={}&picture_kind={kind}",
            row.id
        )),
        Err(e) => {
            let msg = message(&page, &e);
            picture_page(lang, kind, Some(msg), status_of(&e))
        }
    }
}

async fn create(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Form(f): Form<NewForm>,
) -> Response {
    let mut body = serde_json::json!({
        "org_id": f.org_id, "seal_name": f.seal_name, "seal_type": f.seal_type, "mode": f.mode,
        "years": f.years.trim().parse::<u32>().unwrap_or(0), "authority_id": f.authority_id,
    });
    if !f.taxpayer.trim().is_empty() {
        body["taxpayer"] = serde_json::json!(f.taxpayer.trim());
    }
    if !f.person_name.trim().is_empty() {
        body["person_name"] = serde_json::json!(f.person_name.trim());
    }
    if !f.picture_file.trim().is_empty() {
        body["picture_file"] = serde_json::json!(f.picture_file.trim());
    }
    match app.seal_apply(&who.actor(), &body, None).await {
        Ok(v) => see_other(&format!("/seal-applications/{}", v.id)),
        Err(e) => {
            let msg = message(&Page::new(lang, "/seal-applications/new"), &e);
            new_page(&app, lang, &who, f, Some(msg), status_of(&e)).await
        }
    }
}

#[derive(Template)]
#[template(path = "seal-app.html")]
struct AppPage {
    page: Page,
    v: View,
    history: Vec<HistoryEntry>,
    /// The seal made by (or operated on by) this record.
    seal_id: Option<String>,
    error: Option<String>,
}

impl AppPage {
    fn data(&self, key: &str) -> String {
        match &self.v.data[key] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    fn may(&self, event: &str) -> bool {
        self.v.allowed_events.contains(&event)
    }
}

async fn app_page(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/seal-applications/{id}");
    let actor = who.actor();
    let v = match app.seal_application(&actor, id).await {
        Ok(v) => Ok(v),
        Err(AppError::NotFound(_)) => app.seal_operation(&actor, id).await,
        Err(e) => Err(e),
    };
    let v = match v {
        Ok(v) => v,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let history = app
        .seal_workflow_history(&actor, id, None, Some(200))
        .await
        .map(|h| h.items)
        .unwrap_or_default();
    let seal_id = match v.kind {
        "seal-operation" => v.data["seal_id"].as_str().map(str::to_string),
        // Whoever may read the application may follow it to its seal's page (which decides
        // again who may see the seal).
        _ => app.seal_of_application(&v.id).await.ok().flatten(),
    };
    html(
        status,
        &AppPage {
            page: Page::new(lang, &here),
            v,
            history,
            seal_id,
            error,
        },
    )
}

async fn application(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    app_page(&app, lang, &who, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct EventForm {
    event: String,
    version: i64,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    kind: String,
    /// Where to go afterwards: only the production page is honoured (else the record's page).
    #[serde(default)]
    next: String,
}

async fn event(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> Response {
    let comment = Some(f.comment.trim()).filter(|c| !c.is_empty());
    let req = EventRequest {
        event: &f.event,
        version: f.version,
        comment,
        attachments: &[],
    };
    let actor = who.actor();
    let r = if f.kind == "seal-operation" {
        app.seal_operation_event(&actor, &id, &req).await
    } else {
        app.seal_application_event(&actor, &id, &req, None).await
    };
    match r {
        Ok(_) if f.next == "/seals/production" => see_other("/seals/production"),
        Ok(_) => see_other(&format!("/seal-applications/{id}")),
        Err(e) => {
            let msg = message(&Page::new(lang, "/seal-applications"), &e);
            app_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}

/// Upload the stamped scan and attach it (one step for the reader).
async fn scan(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut file = None;
    let mut version = 0i64;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("scan") => {
                let name = field.file_name().unwrap_or("scan").to_string();
                let ct = field.content_type().map(str::to_string);
                file = field.bytes().await.ok().map(|b| (name, ct, b));
            }
            Some("version") => {
                version = field
                    .text()
                    .await
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    let actor = who.actor();
    let result = async {
        let (name, ct, data) = file
            .filter(|(_, _, b)| !b.is_empty())
            .ok_or_else(|| AppError::BadRequest("choose the scanned form to upload".into()))?;
        let row = app
            .file_upload(
                &actor,
                crate::files::Upload {
                    purpose: crate::files::FilePurpose::ApplicationScan,
                    name: crate::files::FileName::parse(&name)
                        .map_err(|e| AppError::BadRequest(e.to_string()))?,
                    content_type: ct,
                    data,
                },
            )
            .await?;
        app.seal_application_event(
            &actor,
            &id,
            &EventRequest {
                event: "attach-scan",
                version,
                comment: None,
                attachments: std::slice::from_ref(&row.id),
            },
            None,
        )
        .await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("/seal-applications/{id}")),
        Err(e) => {
            let msg = message(&Page::new(lang, "/seal-applications"), &e);
            app_page(&app, lang, &who, &id, Some(msg), status_of(&e)).await
        }
    }
}
