//! The console's account pages: log in (with the staff one-time code), log out, register with an
//! SMS code, reset a password, the account page (sessions, password, second factor), setting up
//! the second factor, and each role's home page with its work queue. Forms post here and every
//! answer is a page in the reader's language; `accounts` does the work.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{html, Lang, Page};
use crate::accounts::ids::{Mobile, ResidentId};
use crate::accounts::register::Registration;
use crate::accounts::session::{cookie_token, session_cookie, Authenticated, LoginRequest};
use crate::app::App;
use crate::error::AppError;
use crate::store::{CodePurpose, SessionKind, SessionRow, SessionStage};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/register", get(register_form).post(register))
        .route("/register/code", post(register_code))
        .route("/password-reset", get(reset_form).post(reset))
        .route("/password-reset/code", post(reset_code))
        .route("/home", get(dashboard))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/totp", get(totp_form).post(totp_confirm))
}

/// The logged-in viewer of a page, from the session cookie.
pub struct Viewer(pub Option<Authenticated>);

impl Viewer {
    pub async fn of(app: &App, headers: &HeaderMap) -> Viewer {
        let Some(token) = cookie_token(headers) else {
            return Viewer(None);
        };
        Viewer(app.authenticate(&token).await.ok().flatten())
    }
}

pub(super) fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
    );
    resp
}

fn with_cookie(mut resp: Response, cookie: String) -> Response {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// What went wrong, in the reader's words: a catalogue key, and for a field the field's key.
pub(super) fn problem(page: &Page, e: &AppError) -> String {
    let key = match e {
        AppError::BadCredentials => "err.credentials",
        AppError::TotpRequired => "err.totp_required",
        AppError::BadTotp => "err.totp",
        AppError::LoginThrottled { .. } | AppError::CodeThrottled { .. } => "err.throttled",
        AppError::BadCode(_) => "err.code",
        AppError::Conflict(_) => "err.exists",
        AppError::Denied(_)
        | AppError::Forbidden { .. }
        | AppError::AppRefused { .. }
        | AppError::GrantRefused { .. } => "err.denied",
        AppError::NotFound(_) => "err.not_found",
        AppError::Invalid { field, rule } => {
            return format!(
                "{}: {} ({rule})",
                page.tr_of("field.", field, ""),
                page.tr("err.invalid")
            )
        }
        _ => "err.other",
    };
    let mut text = page.tr(key).to_string();
    if let AppError::LoginThrottled { retry_after } | AppError::CodeThrottled { retry_after } = e {
        text = text.replace("{s}", &retry_after.to_string());
    }
    text
}

pub(super) fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::BadCredentials | AppError::TotpRequired | AppError::BadTotp => {
            StatusCode::UNAUTHORIZED
        }
        AppError::LoginThrottled { .. } | AppError::CodeThrottled { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        AppError::Invalid { .. } | AppError::BadCode(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Denied(_)
        | AppError::Forbidden { .. }
        | AppError::AppRefused { .. }
        | AppError::GrantRefused { .. } => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

// ---- log in and out -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    error: Option<String>,
    username: String,
    /// Show the one-time code field first (a staff login asked for it).
    need_totp: bool,
    notice: Option<String>,
}

async fn login_form(lang: Lang) -> Response {
    html(
        StatusCode::OK,
        &LoginPage {
            page: Page::new(lang, "/login"),
            error: None,
            username: String::new(),
            need_totp: false,
            notice: None,
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    totp: String,
}

async fn login(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    client: ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let totp = f.totp.trim();
    let result = app
        .login(LoginRequest {
            identifier: f.username.trim(),
            password: f.password,
            totp: (!totp.is_empty()).then_some(totp),
            kind: SessionKind::Browser,
            client: client.0,
            user_agent: user_agent(&headers),
        })
        .await;
    match result {
        Ok(done) => signed_in(&app, &done),
        Err(e) => {
            let page = Page::new(lang, "/login");
            let mut resp = html(
                status_of(&e),
                &LoginPage {
                    error: Some(problem(&page, &e)),
                    need_totp: matches!(e, AppError::TotpRequired | AppError::BadTotp),
                    username: f.username,
                    notice: None,
                    page,
                },
            );
            if let AppError::LoginThrottled { retry_after } = e {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            resp
        }
    }
}

/// A new browser session: its cookie, and on to the workspace (or to the second factor's set-up).
fn signed_in(app: &App, done: &crate::accounts::session::LoggedIn) -> Response {
    let to = if done.session.stage == SessionStage::TotpEnrolment {
        "/account/totp"
    } else {
        "/home"
    };
    with_cookie(
        see_other(to),
        session_cookie(
            Some(&done.token),
            done.session.expires_at - done.session.created_at,
            app.config.server.tls_cert.is_some(),
        ),
    )
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Viewer(Some(who)) = Viewer::of(&app, &headers).await {
        if let Err(e) = app.logout(&who.actor(), &who.token_hash).await {
            tracing::warn!(error = %e, "logout");
        }
    }
    with_cookie(
        see_other("/"),
        session_cookie(None, 0, app.config.server.tls_cert.is_some()),
    )
}

/// The client's address, as the HTTP layer put it in the request's extensions.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

// ---- registration and password reset ------------------------------------------------------------

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    page: Page,
    error: Option<String>,
    notice: Option<String>,
    real_name: String,
    resident_id: String,
    mobile: String,
    /// Development deployments show the newest SMS to the number (there is no real SMS gateway).
    dev_sms: Option<String>,
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    real_name: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

fn dev_sms(app: &App, mobile: &str) -> Option<String> {
    // Only while SMS goes to the development provider (which delivers nothing to phones).
    let path = app.dev_sms_file()?;
    let m = Mobile::parse(mobile).ok()?;
    crate::notify::sms::read_messages(&path)
        .into_iter()
        .rev()
        .find(|msg| msg.to == m.expose())
        .map(|msg| msg.text)
}

fn register_page(app: &App, lang: Lang, f: &RegisterForm) -> RegisterPage {
    RegisterPage {
        page: Page::new(lang, "/register"),
        error: None,
        notice: None,
        real_name: f.real_name.clone(),
        resident_id: f.resident_id.clone(),
        mobile: f.mobile.clone(),
        dev_sms: dev_sms(app, &f.mobile),
    }
}

async fn register_form(State(app): State<Arc<App>>, lang: Lang) -> Response {
    html(
        StatusCode::OK,
        &register_page(&app, lang, &RegisterForm::default()),
    )
}

async fn register_code(
    State(app): State<Arc<App>>,
    lang: Lang,
    client: ClientAddr,
    Form(f): Form<RegisterForm>,
) -> Response {
    let r = app
        .send_code(&f.mobile, CodePurpose::Register, lang.tag(), client.0)
        .await;
    let mut p = register_page(&app, lang, &f);
    match r {
        Ok(_) => {
            p.notice = Some(p.page.tr("register.code_sent").to_string());
            html(StatusCode::OK, &p)
        }
        Err(e) => {
            p.error = Some(problem(&p.page, &e));
            html(status_of(&e), &p)
        }
    }
}

async fn register(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    client: ClientAddr,
    Form(f): Form<RegisterForm>,
) -> Response {
    let password = f.password.clone();
    let r = app
        .register(Registration {
            real_name: f.real_name.clone(),
            resident_id: f.resident_id.clone(),
            mobile: f.mobile.clone(),
            code: f.code.clone(),
            password: f.password.clone(),
            lang: lang.tag().to_string(),
        })
        .await;
    match r {
        Ok(account) => {
            // Registered: logged in at once, as the person just proved the password and number.
            match app
                .login(LoginRequest {
                    identifier: &account.username,
                    password,
                    totp: None,
                    kind: SessionKind::Browser,
                    client: client.0,
                    user_agent: user_agent(&headers),
                })
                .await
            {
                Ok(done) => signed_in(&app, &done),
                Err(_) => see_other("/login"),
            }
        }
        Err(e) => {
            let mut p = register_page(&app, lang, &f);
            p.error = Some(problem(&p.page, &e));
            html(status_of(&e), &p)
        }
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    page: Page,
    error: Option<String>,
    notice: Option<String>,
    mobile: String,
    dev_sms: Option<String>,
}

#[derive(Deserialize, Default)]
struct ResetForm {
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn reset_form(State(app): State<Arc<App>>, lang: Lang) -> Response {
    let _ = &app;
    html(
        StatusCode::OK,
        &ResetPage {
            page: Page::new(lang, "/password-reset"),
            error: None,
            notice: None,
            mobile: String::new(),
            dev_sms: None,
        },
    )
}

async fn reset_code(
    State(app): State<Arc<App>>,
    lang: Lang,
    client: ClientAddr,
    Form(f): Form<ResetForm>,
) -> Response {
    let r = app
        .send_code(&f.mobile, CodePurpose::Reset, lang.tag(), client.0)
        .await;
    let mut p = ResetPage {
        page: Page::new(lang, "/password-reset"),
        error: None,
        notice: None,
        mobile: f.mobile.clone(),
        dev_sms: dev_sms(&app, &f.mobile),
    };
    let status = match r {
        Ok(_) => {
            p.notice = Some(p.page.tr("reset.code_sent").to_string());
            StatusCode::OK
        }
        Err(e) => {
            p.error = Some(problem(&p.page, &e));
            status_of(&e)
        }
    };
    html(status, &p)
}

async fn reset(State(app): State<Arc<App>>, lang: Lang, Form(f): Form<ResetForm>) -> Response {
    match app.reset_password(&f.mobile, &f.code, f.password).await {
        Ok(()) => {
            let page = Page::new(lang, "/login");
            let notice = Some(page.tr("reset.done").to_string());
            html(
                StatusCode::OK,
                &LoginPage {
                    page,
                    error: None,
                    username: f.mobile,
                    need_totp: false,
                    notice,
                },
            )
        }
        Err(e) => {
            let mut p = ResetPage {
                page: Page::new(lang, "/password-reset"),
                error: None,
                notice: None,
                mobile: f.mobile.clone(),
                dev_sms: dev_sms(&app, &f.mobile),
            };
            p.error = Some(problem(&p.page, &e));
            html(status_of(&e), &p)
        }
    }
}

// ---- the logged-in pages ----------------------------------------------------------------------

/// The viewer with a full session, or the answer to give instead (the login page, or the second
/// factor's set-up).
pub(super) async fn full(app: &App, headers: &HeaderMap) -> Result<Authenticated, Response> {
    match Viewer::of(app, headers).await.0 {
        None => Err(see_other("/login")),
        Some(who) if who.session.stage != SessionStage::Full => Err(see_other("/account/totp")),
        Some(who) => Ok(who),
    }
}

use crate::accounts::home::QueueItem;

/// The viewer with a full session, as an extractor: anyone else is sent to the login page (or to
/// the second factor's set-up).
pub struct SignedIn(pub Authenticated);

impl axum::extract::FromRequestParts<Arc<App>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<App>,
    ) -> Result<Self, Response> {
        full(app, &parts.headers).await.map(SignedIn)
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    page: Page,
    name: String,
    role: &'static str,
    memberships: Vec<(String, String, String)>,
    queue: Vec<QueueItem>,
    staff: bool,
    unread: i64,
}

async fn dashboard(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    let mut memberships = Vec::new();
    for m in app
        .store
        .memberships_of(&who.account.username)
        .await
        .unwrap_or_default()
    {
        let name = app
            .store
            .org_get(&m.org_id)
            .await
            .ok()
            .flatten()
            .map(|o| o.name)
            .unwrap_or_default();
        memberships.push((m.org_id, name, m.role));
    }
    let queue = app.work_queue(&who).await.unwrap_or_default();
    let staff = who.account.is_staff();
    let unread = crate::notify::inbox::unread_count(&app, &who.actor())
        .await
        .unwrap_or(0);
    html(
        StatusCode::OK,
        &Dashboard {
            page: Page::new(lang, "/home"),
            name: who
                .account
                .real_name
                .clone()
                .unwrap_or_else(|| who.account.username.clone()),
            role: who.account.role.as_str(),
            memberships,
            queue,
            staff,
            unread,
        },
    )
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    username: String,
    real_name: String,
    resident_id: String,
    mobile: String,
    role: &'static str,
    totp: bool,
    sessions: Vec<SessionRow>,
    current: String,
    error: Option<String>,
    notice: Option<String>,
}

async fn account_page(
    app: &App,
    lang: Lang,
    who: &Authenticated,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let a = &who.account;
    let sessions = app.sessions_of(who).await.unwrap_or_default();
    html(
        status,
        &AccountPage {
            page: Page::new(lang, "/account"),
            username: a.username.clone(),
            real_name: a.real_name.clone().unwrap_or_default(),
            resident_id: a
                .resident_id
                .as_deref()
                .and_then(|r| ResidentId::parse(r).ok())
                .map(|r| r.masked())
                .unwrap_or_default(),
            mobile: a
                .mobile
                .as_deref()
                .and_then(|m| Mobile::parse(m).ok())
                .map(|m| m.masked())
                .unwrap_or_default(),
            role: a.role.as_str(),
            totp: a.totp_secret.is_some(),
            sessions,
            current: who.session.id.clone(),
            error,
            notice,
        },
    )
}

async fn account(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    account_page(&app, lang, &who, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    password: String,
}

async fn change_password(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Form(f): Form<PasswordForm>,
) -> Response {
    let page = Page::new(lang, "/account");
    match app.change_password(&who, f.current, f.password).await {
        Ok(()) => {
            let n = page.tr("account.password_changed").to_string();
            account_page(&app, lang, &who, None, Some(n), StatusCode::OK).await
        }
        Err(e) => {
            let msg = problem(&page, &e);
            account_page(&app, lang, &who, Some(msg), None, status_of(&e)).await
        }
    }
}

async fn end_session(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let _ = app.end_session(&who, &id).await;
    if id == who.session.id {
        return with_cookie(
            see_other("/"),
            session_cookie(None, 0, app.config.server.tls_cert.is_some()),
        );
    }
    see_other("/account")
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    page: Page,
    secret: String,
    uri: String,
    error: Option<String>,
}

impl TotpPage {
    /// The `otpauth://` URI as a QR code (an SVG data URI: the CSP allows `data:` images only).
    fn qr(&self) -> String {
        qr_data_uri(&self.uri)
    }
}

/// `text` as a QR code in an SVG `data:` URI; empty when it does not fit a QR code.
pub fn qr_data_uri(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)
    )
}

async fn totp_form(State(app): State<Arc<App>>, lang: Lang, headers: HeaderMap) -> Response {
    let Viewer(Some(who)) = Viewer::of(&app, &headers).await else {
        return see_other("/login");
    };
    if who.account.totp_secret.is_some() {
        return see_other("/account");
    }
    match app.totp_begin(&who).await {
        Ok((secret, uri)) => html(
            StatusCode::OK,
            &TotpPage {
                page: Page::new(lang, "/account/totp"),
                secret,
                uri,
                error: None,
            },
        ),
        Err(e) => super::error_page(lang, "/account", status_of(&e), None, None),
    }
}

#[derive(Deserialize)]
struct TotpForm {
    code: String,
}

async fn totp_confirm(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    Form(f): Form<TotpForm>,
) -> Response {
    let Viewer(Some(who)) = Viewer::of(&app, &headers).await else {
        return see_other("/login");
    };
    match app.totp_confirm(&who, &f.code).await {
        Ok(()) => see_other("/home"),
        Err(e) => {
            let page = Page::new(lang, "/account/totp");
            let error = Some(problem(&page, &e));
            let account = app
                .store
                .account_get(&who.account.username)
                .await
                .ok()
                .flatten();
            let secret = account.and_then(|a| a.totp_pending).unwrap_or_default();
            let uri = crate::accounts::totp::Secret::from_base32(&secret)
                .map(|s| s.uri(crate::accounts::session::TOTP_ISSUER, &who.account.username))
                .unwrap_or_default();
            html(
                status_of(&e),
                &TotpPage {
                    page,
                    secret,
                    uri,
                    error,
                },
            )
        }
    }
}
