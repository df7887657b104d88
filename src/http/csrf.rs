//! Cross-site request protection for browsers: every state-changing request that carries the
//! console's session cookie, and every form post to a console page, must come from our own
//! origin — `Sec-Fetch-Site: same-origin` (or `none`, typed by the user), else an `Origin` equal
//! to ours. Requests with neither header come from programs, not browsers (every current browser
//! sends one of them on a cross-site POST), and the SameSite=Strict cookie covers the rest.
//! Bearer-token requests carry no ambient credentials and are not affected.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::AppError;

/// Paths that are not console pages: programs post to them without a browser.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ocsp/") || path == "/tsa"
}

/// Our own origin as a browser writes it: the configured public URL's, else the Host header's.
fn same_origin(origin: &str, req: &Request, app: &App) -> bool {
    if let Some(base) = &app.config.server.public_base_url {
        let base = base.trim_end_matches('/');
        let base_origin = base
            .find("://")
            .and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j]))
            .unwrap_or(base);
        if origin.eq_ignore_ascii_case(base_origin) {
            return true;
        }
    }
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let scheme = if app.config.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"))
}

pub async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    let with_cookie = crate::accounts::session::cookie_token(req.headers()).is_some();
    if !unsafe_method || (!with_cookie && is_api(path)) {
        return next.run(req).await;
    }
    let site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let refused = match (site, origin) {
        (Some("same-origin" | "none"), _) => None,
        (Some(other), _) => Some(format!("Sec-Fetch-Site is {other}")),
        (None, Some(o)) if same_origin(o, &req, &app) => None,
        (None, Some(o)) => Some(format!("Origin {o} is not this site")),
        (None, None) => None,
    };
    match refused {
        Some(why) => AppError::CrossSite(why).into_response(),
        None => next.run(req).await,
    }
}
