//! The web console, server-rendered: askama templates (`templates/`, checked at compile time) over the
//! same `App` the API uses, thin handlers, embedded CSS and vendored htmx, Simplified Chinese by
//! default and English, strict security headers on every page, and error pages in the reader's
//! language for every browser request — including the API's own problem+json errors.
//!
//! Pages: `/` (home), `/verify` (the public verification portal, see `verify`), `/lang/{tag}` (the
//! language switch: sets the `lang` cookie and goes back), `/static/…` (assets).
//! This module never imports the HTTP API's modules nor the command line's; `http::router` wires it.

mod account;
mod admin_applications;
mod app_evidence;
mod app_grants;
mod apps;
mod assets;
pub mod i18n;
mod notifications;
mod orgs;
mod payments;
mod seals;
mod verify;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::app::App;
pub use i18n::Lang;

/// The Content-Security-Policy of every console page: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// The console's routers: its pages (under the normal request timeout) and the portal's upload
/// (for the PDF routes' timeout; with their 64 MB body limit), sharing one portal state.
pub fn routers(app: Arc<App>) -> (Router<Arc<App>>, Router<Arc<App>>) {
    let portal = verify::Portal::new(app);
    let pages = Router::new()
        .route("/", get(home))
        .route("/verify", get(verify::form))
        .route("/verify/report/{id}", get(verify::report))
        .route("/verify/report/{id}/json", get(verify::report_json))
        .route("/lang/{tag}", get(switch_language))
        .route("/static/{file}", get(assets::serve))
        .with_state(portal.clone())
        .merge(account::router())
        .merge(orgs::router())
        .merge(seals::router())
        .merge(admin_applications::router())
        .merge(app_grants::router())
        .merge(notifications::router())
        .merge(payments::router())
        .merge(apps::router())
        .merge(app_evidence::router());
    let uploads = Router::new()
        .route(
            "/verify/upload",
            axum::routing::post(verify::upload)
                .layer(axum::extract::DefaultBodyLimit::max(verify::MAX_UPLOAD)),
        )
        .with_state(portal);
    (pages, uploads)
}

/// What every page's layout needs: the language, its messages, and where the reader is (for the
/// language switch).
pub struct Page {
    pub lang: Lang,
    pub t: &'static i18n::Catalog,
    here: String,
}

impl Page {
    pub fn new(lang: Lang, here: &str) -> Page {
        Page {
            lang,
            t: lang.catalog(),
            here: here.to_string(),
        }
    }

    /// A message of the reader's language.
    pub fn tr<'a>(&'a self, key: &'a str) -> &'a str {
        self.t.get(key)
    }

    /// The message `PREFIX NAME SUFFIX` (a verdict, a check state); `name` itself when there is none.
    pub fn tr_of<'a>(&'a self, prefix: &str, name: &'a str, suffix: &str) -> &'a str {
        self.t
            .find(&format!("{prefix}{name}{suffix}"))
            .unwrap_or(name)
    }

    /// The localized name of a verifier's check (its own name when there is none).
    pub fn check_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.t.find(&format!("check.{name}")).unwrap_or(name)
    }

    pub fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    pub fn css(&self) -> &'static str {
        assets::css()
    }

    pub fn drawing_pad_js(&self) -> &'static str {
        assets::drawing_pad()
    }

    pub fn htmx(&self) -> &'static str {
        assets::htmx()
    }

    /// The language switch: the other language, coming back here.
    pub fn switch_href(&self) -> String {
        let other = match self.lang {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        };
        format!("/lang/{}?next={}", other.tag(), percent_encode(&self.here))
    }

    pub fn is(&self, path: &str) -> bool {
        self.here == path || self.here.starts_with(&format!("{path}?"))
    }
}

pub use crate::clock::format_time;

/// Percent-encode everything but unreserved characters (RFC 3986) and `/`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The headers of every console page.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A rendered page as a response with the console's headers.
pub fn html(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => {
            let mut resp = (status, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            secure(resp.headers_mut());
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            let mut resp = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            secure(resp.headers_mut());
            resp
        }
    }
}

fn here(req_uri: &axum::http::Uri) -> String {
    req_uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(lang: Lang) -> Response {
    html(
        StatusCode::OK,
        &Home {
            page: Page::new(lang, "/"),
        },
    )
}

#[derive(Deserialize)]
struct Next_ {
    next: Option<String>,
}

/// `GET /lang/{tag}?next=PATH`: remember the language for a year and go back to PATH (a path on
/// this site only).
async fn switch_language(Path(tag): Path<String>, Query(q): Query<Next_>) -> Response {
    let lang = Lang::parse(&tag).unwrap_or(Lang::ZhCn);
    let next = q
        .next
        .map(|n| percent_decode(&n))
        .filter(|n| {
            n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
        })
        .unwrap_or_else(|| "/".into());
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&next) {
        h.insert(header::LOCATION, v);
    } else {
        h.insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.tag()
        ))
        .expect("ASCII cookie"),
    );
    secure(h);
    resp
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    title_key: String,
    text_key: String,
    detail: Option<String>,
    retry: Option<u64>,
}

/// An error page in the reader's language. `detail` (the problem's words, in English) is shown
/// for 400 and 422 only, where it says what was wrong with the upload.
pub fn error_page(
    lang: Lang,
    here: &str,
    status: StatusCode,
    detail: Option<String>,
    retry: Option<u64>,
) -> Response {
    let code = status.as_u16();
    let known = [400, 401, 403, 404, 405, 408, 413, 429, 500, 503];
    let key = if known.contains(&code) {
        code
    } else if status.is_server_error() {
        500
    } else {
        400
    };
    let page = ErrorPage {
        page: Page::new(lang, here),
        status: code,
        title_key: format!("error.t{key}"),
        text_key: format!("error.d{key}"),
        detail: detail.filter(|_| code == 400 || code == 422),
        retry,
    };
    let mut resp = html(status, &page);
    if let Some(r) = retry {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(r));
    }
    resp
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Middleware over the whole public router: a browser (`Accept: text/html`) never gets a raw
/// problem+json — any error answered so becomes the page of its status in the reader's language,
/// keeping the status and `Retry-After`.
pub async fn html_errors(req: Request, next: Next) -> Response {
    if !wants_html(req.headers()) {
        return next.run(req).await;
    }
    let lang = Lang::of(req.headers());
    let here = match *req.method() {
        // The language switch of an error page goes to a page, never repeats a POST.
        axum::http::Method::GET | axum::http::Method::HEAD => here(req.uri()),
        _ if req.uri().path().starts_with("/verify") => "/verify".into(),
        _ => "/".into(),
    };
    let resp = next.run(req).await;
    let problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let bare_error = (resp.status().is_client_error() || resp.status().is_server_error())
        && resp.headers().get(header::CONTENT_TYPE).is_none();
    if !problem && !bare_error {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let retry = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let detail = axum::body::to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["detail"].as_str().map(str::to_string));
    let mut out = error_page(lang, &here, parts.status, detail, retry);
    for h in [header::CONNECTION, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&h) {
            out.headers_mut().insert(h, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        let s = "/verify?serial=0A:bc&x=中";
        assert_eq!(percent_decode(&percent_encode(s)), s);
    }
}
