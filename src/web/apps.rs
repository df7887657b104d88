//! The console's app pages: the registry for platform staff (`/apps`: search by name and unit
//! with pages, `/apps/new` to register, suspend / resume / revoke on the app's page) and the
//! owner's page of an app (`/apps/{id}`: its credentials — a new API key whose secret is shown
//! on that one answer, a client certificate from an uploaded CSR and its download, revocation
//! — the callback URL, its webhook secret, a test ping and the delivery log; staff set its rate
//! and daily quota there). `apps` does the work and `accounts::policy` decides; a refusal is a
//! page in the reader's language.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::account::{problem, see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::accounts::policy::{may, Action, Resource};
use crate::accounts::session::Authenticated;
use crate::app::App;
use crate::apps::credentials::{
    CertificateRequest, CredentialView, NewCredentialRequest, RevokeRequest,
};
use crate::apps::registry::{
    AppChange, AppLimits, AppQuery, AppStateChange, AppView, Contact, NewApp,
};
use crate::error::AppError;

/// The CSR upload's body limit.
const MAX_CSR_FORM: usize = 64 * 1024;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/apps", get(list))
        .route("/apps/new", get(new_form).post(create))
        .route("/apps/{id}", get(show))
        .route("/apps/{id}/events", post(event))
        .route("/apps/{id}/details", post(details))
        .route("/apps/{id}/limits", post(limits))
        .route("/apps/{id}/keys", post(create_key))
        .route(
            "/apps/{id}/certificates",
            post(create_certificate).layer(axum::extract::DefaultBodyLimit::max(MAX_CSR_FORM)),
        )
        .route(
            "/apps/{id}/credentials/{credential}/certificate.pem",
            get(download),
        )
        .route("/apps/{id}/credentials/{credential}/revoke", post(revoke))
        .route("/apps/{id}/webhook-secret", post(webhook_secret))
        .route("/apps/{id}/webhook-test", post(webhook_ping))
}

/// An error in the reader's words (app refusals have their own messages).
fn app_problem(page: &Page, e: &AppError) -> String {
    match e {
        AppError::Conflict(_) => page.tr("apps.err.conflict").to_string(),
        AppError::StateConflict { .. } => page.tr("apps.err.state").to_string(),
        AppError::BadRequest(_) => page.tr("apps.err.bad").to_string(),
        e => problem(page, e),
    }
}

fn app_status(e: &AppError) -> StatusCode {
    match e {
        AppError::StateConflict { .. } => StatusCode::CONFLICT,
        e => status_of(e),
    }
}

#[derive(Template)]
#[template(path = "apps.html")]
struct ListPage {
    page: Page,
    q: ListQuery,
    items: Vec<AppView>,
    next: Option<String>,
    may_register: bool,
    states: Vec<&'static str>,
}

#[derive(Deserialize, Default, Clone)]
struct ListQuery {
    #[serde(default)]
    name: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    cursor: String,
}

impl ListQuery {
    /// The query string of the next page.
    fn next_href(&self, cursor: &str) -> String {
        let enc = |s: &str| crate::apps::signature::percent_encode(s.as_bytes());
        format!(
            "/apps?name={}&org_id={}&state={}&cursor={}",
            enc(&self.name),
            enc(&self.org_id),
            enc(&self.state),
            enc(cursor)
        )
    }
}

fn states() -> Vec<&'static str> {
    use crate::workflow::Named;
    crate::apps::AppState::ALL
        .iter()
        .map(|s| s.name())
        .collect()
}

async fn list(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let actor = who.actor();
    let may_register = app
        .principal(&actor)
        .await
        .is_ok_and(|p| may(&p, Action::ManageApps, Resource::Platform).is_ok());
    let result = app
        .app_search(
            &actor,
            &AppQuery {
                name: Some(q.name.clone()).filter(|s| !s.trim().is_empty()),
                org_id: Some(q.org_id.trim().to_string()).filter(|s| !s.is_empty()),
                state: Some(q.state.clone()).filter(|s| !s.is_empty()),
                cursor: Some(q.cursor.clone()).filter(|s| !s.is_empty()),
                limit: Some(20),
                ..Default::default()
            },
        )
        .await;
    match result {
        Ok(p) => html(
            StatusCode::OK,
            &ListPage {
                page: Page::new(lang, "/apps"),
                q,
                items: p.items,
                next: p.next_cursor,
                may_register,
                states: states(),
            },
        ),
        Err(e) => super::error_page(lang, "/apps", app_status(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "app-new.html")]
struct NewPage {
    page: Page,
    error: Option<String>,
    f: NewForm,
}

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    supervising_org_id: String,
    #[serde(default)]
    developer_org_id: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_mobile: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    callback_url: String,
    #[serde(default)]
    rate_per_second: String,
    #[serde(default)]
    daily_quota: String,
}

async fn new_form(lang: Lang, _who: SignedIn) -> Response {
    html(
        StatusCode::OK,
        &NewPage {
            page: Page::new(lang, "/apps/new"),
            error: None,
            f: NewForm {
                kind: "cloud-signing".into(),
                ..Default::default()
            },
        },
    )
}

async fn create(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Form(f): Form<NewForm>,
) -> Response {
    let contacts = if f.contact_name.trim().is_empty() {
        Vec::new()
    } else {
        vec![Contact {
            name: f.contact_name.clone(),
            mobile: Some(f.contact_mobile.clone()).filter(|s| !s.trim().is_empty()),
            email: Some(f.contact_email.clone()).filter(|s| !s.trim().is_empty()),
        }]
    };
    let req = NewApp {
        name: f.name.clone(),
        kind: f.kind.clone(),
        supervising_org_id: f.supervising_org_id.trim().to_string(),
        developer_org_id: f.developer_org_id.trim().to_string(),
        owner: f.owner.trim().to_string(),
        contacts,
        callback_url: Some(f.callback_url.clone()).filter(|s| !s.trim().is_empty()),
        rate_per_second: match number(&f.rate_per_second, "rate_per_second") {
            Ok(n) => n,
            Err(e) => return new_refused(lang, f, e),
        },
        daily_quota: match number(&f.daily_quota, "daily_quota") {
            Ok(n) => n,
            Err(e) => return new_refused(lang, f, e),
        },
    };
    match app.app_register(&who.actor(), &req).await {
        Ok(v) => see_other(&format!("/apps/{}", v.id)),
        Err(e) => new_refused(lang, f, e),
    }
}

fn new_refused(lang: Lang, f: NewForm, e: AppError) -> Response {
    let page = Page::new(lang, "/apps/new");
    let error = Some(app_problem(&page, &e));
    html(app_status(&e), &NewPage { page, error, f })
}

/// A whole number typed in a form field; blank is none.
fn number(s: &str, field: &'static str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| AppError::Invalid {
        field,
        rule: "a whole number".into(),
    })
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    page: Page,
    a: AppView,
    credentials: Vec<CredentialView>,
    may_manage: bool,
    may_update: bool,
    may_make: bool,
    may_revoke: bool,
    error: Option<String>,
    /// Shown once, on the answer that made the key.
    new_key: Option<NewKey>,
    /// The credential a certificate was just issued for.
    new_cert: Option<String>,
    /// Sealings per day and seal over the last 30 days, and the latest sealings.
    usage: Vec<crate::store::UsageRow>,
    sealings: Vec<crate::store::EvidenceRow>,
    /// The latest webhook deliveries.
    deliveries: Vec<crate::store::DeliveryRow>,
    /// Shown once, on the answer that made it.
    new_webhook_secret: Option<String>,
    /// The ping just sent.
    pinged: Option<String>,
}

struct NewKey {
    key_id: String,
    kind: String,
    secret: String,
}

pub(super) struct Extra {
    error: Option<String>,
    new_key: Option<NewKey>,
    new_cert: Option<String>,
    new_webhook_secret: Option<String>,
    pinged: Option<String>,
}

impl Extra {
    fn none() -> Extra {
        Extra {
            error: None,
            new_key: None,
            new_cert: None,
            new_webhook_secret: None,
            pinged: None,
        }
    }
    pub(super) fn error(e: String) -> Extra {
        Extra {
            error: Some(e),
            ..Extra::none()
        }
    }
}

pub(super) async fn app_page(
    app: &App,
    lang: Lang,
    who: &Authenticated,
    id: &str,
    extra: Extra,
    status: StatusCode,
) -> Response {
    let here = format!("/apps/{id}");
    let actor = who.actor();
    let a = match app.app_get(&actor, id).await {
        Ok(a) => a,
        Err(e) => return super::error_page(lang, &here, app_status(&e), None, None),
    };
    let credentials = app
        .app_credentials(&actor, id)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let (usage, sealings) = app
        .app_sealing_report(&actor, id, 30, 20)
        .await
        .unwrap_or_default();
    let deliveries = app
        .app_deliveries_for(&actor, id, None, Some(20))
        .await
        .map(|d| d.items)
        .unwrap_or_default();
    let p = app.principal(&actor).await.ok();
    let can = |action: Action| {
        p.as_ref()
            .is_some_and(|p| may(p, action, Resource::App { owner: &a.owner }).is_ok())
    };
    let may_manage = p
        .as_ref()
        .is_some_and(|p| may(p, Action::ManageApps, Resource::Platform).is_ok());
    let revoked = a.state == "revoked";
    let mut resp = html(
        status,
        &AppPage {
            page: Page::new(lang, &here),
            may_update: can(Action::UpdateApp) && !revoked,
            may_make: can(Action::MakeAppCredential) && !revoked,
            may_revoke: can(Action::RevokeAppCredential),
            may_manage,
            credentials,
            a,
            error: extra.error,
            new_key: extra.new_key,
            new_cert: extra.new_cert,
            usage,
            sealings,
            deliveries,
            new_webhook_secret: extra.new_webhook_secret,
            pinged: extra.pinged,
        },
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    app_page(&app, lang, &who, &id, Extra::none(), StatusCode::OK).await
}

async fn after(
    app: &App,
    lang: Lang,
    who: &Authenticated,
    id: &str,
    r: Result<(), AppError>,
) -> Response {
    match r {
        Ok(()) => see_other(&format!("/apps/{id}")),
        Err(e) => {
            let page = Page::new(lang, "/apps");
            let msg = app_problem(&page, &e);
            app_page(app, lang, who, id, Extra::error(msg), app_status(&e)).await
        }
    }
}

#[derive(Deserialize)]
struct EventForm {
    event: String,
    version: i64,
    #[serde(default)]
    comment: String,
}

async fn event(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> Response {
    let r = app
        .app_change_state(
            &who.actor(),
            &id,
            &AppStateChange {
                event: f.event,
                version: f.version,
                comment: Some(f.comment).filter(|c| !c.trim().is_empty()),
            },
        )
        .await
        .map(|_| ());
    after(&app, lang, &who, &id, r).await
}

/// A new webhook secret, shown on this answer only (no redirect).
async fn webhook_secret(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.app_webhook_secret_rotate(&who.actor(), &id).await {
        Ok(s) => {
            let extra = Extra {
                new_webhook_secret: Some(s.secret),
                ..Extra::none()
            };
            app_page(&app, lang, &who, &id, extra, StatusCode::CREATED).await
        }
        Err(e) => after(&app, lang, &who, &id, Err(e)).await,
    }
}

async fn webhook_ping(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match app.app_webhook_ping(&who.actor(), &id).await {
        Ok(p) => {
            let extra = Extra {
                pinged: Some(p.event_id),
                ..Extra::none()
            };
            app_page(&app, lang, &who, &id, extra, StatusCode::ACCEPTED).await
        }
        Err(e) => after(&app, lang, &who, &id, Err(e)).await,
    }
}

#[derive(Deserialize)]
struct DetailsForm {
    version: i64,
    #[serde(default)]
    callback_url: String,
}

async fn details(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<DetailsForm>,
) -> Response {
    let r = app
        .app_update(
            &who.actor(),
            &id,
            &AppChange {
                version: f.version,
                contacts: None,
                callback_url: Some(f.callback_url),
            },
        )
        .await
        .map(|_| ());
    after(&app, lang, &who, &id, r).await
}

#[derive(Deserialize)]
struct LimitsForm {
    version: i64,
    #[serde(default)]
    rate_per_second: String,
    #[serde(default)]
    daily_quota: String,
}

async fn limits(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<LimitsForm>,
) -> Response {
    let r = async {
        let rate = number(&f.rate_per_second, "rate_per_second")?.ok_or(AppError::Invalid {
            field: "rate_per_second",
            rule: "1-100000".into(),
        })?;
        let change = AppLimits {
            version: f.version,
            rate_per_second: rate,
            daily_quota: number(&f.daily_quota, "daily_quota")?,
        };
        app.app_set_limits(&who.actor(), &id, &change)
            .await
            .map(|_| ())
    }
    .await;
    after(&app, lang, &who, &id, r).await
}

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    label: String,
}

async fn create_key(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> Response {
    let r = app
        .app_create_key(
            &who.actor(),
            &id,
            &NewCredentialRequest {
                kind: Some(f.kind).filter(|k| !k.is_empty()),
                label: Some(f.label).filter(|l| !l.trim().is_empty()),
            },
        )
        .await;
    match r {
        // The secret is on this answer only (no redirect: a reload does not show it again).
        Ok(k) => {
            let extra = Extra {
                new_key: Some(NewKey {
                    key_id: k.key_id,
                    kind: k.credential.kind,
                    secret: k.secret,
                }),
                ..Extra::none()
            };
            app_page(&app, lang, &who, &id, extra, StatusCode::CREATED).await
        }
        Err(e) => after(&app, lang, &who, &id, Err(e)).await,
    }
}

async fn create_certificate(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut csr = String::new();
    let mut label = String::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let Ok(bytes) = field.bytes().await else {
                    break;
                };
                let text = String::from_utf8_lossy(&bytes).to_string();
                match name.as_str() {
                    "csr_file" if !text.trim().is_empty() => csr = text,
                    "csr" if csr.is_empty() => csr = text,
                    "label" => label = text,
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return after(
                    &app,
                    lang,
                    &who,
                    &id,
                    Err(AppError::BadRequest("unreadable form".into())),
                )
                .await
            }
        }
    }
    let r = app
        .app_create_certificate(
            &who.actor(),
            &id,
            &CertificateRequest {
                csr,
                label: Some(label).filter(|l| !l.trim().is_empty()),
                validity_days: None,
            },
        )
        .await;
    match r {
        Ok(c) => {
            let extra = Extra {
                new_cert: Some(c.credential.id),
                ..Extra::none()
            };
            app_page(&app, lang, &who, &id, extra, StatusCode::CREATED).await
        }
        Err(e) => after(&app, lang, &who, &id, Err(e)).await,
    }
}

async fn download(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path((id, credential)): Path<(String, String)>,
) -> Response {
    match app
        .app_credential_certificate(&who.actor(), &id, &credential)
        .await
    {
        Ok(pem) => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"client.pem\"",
                ),
            ],
            pem,
        )
            .into_response(),
        Err(e) => super::error_page(lang, &format!("/apps/{id}"), app_status(&e), None, None),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    reason: String,
}

async fn revoke(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path((id, credential)): Path<(String, String)>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let r = app
        .app_revoke_credential(
            &who.actor(),
            &id,
            &credential,
            &RevokeRequest {
                reason: Some(f.reason).filter(|r| !r.is_empty()),
            },
        )
        .await
        .map(|_| ());
    after(&app, lang, &who, &id, r).await
}
