//! The HTTP API (axum): routes, shared state, health, metrics, OpenAPI, and serving over TCP or TLS.

mod account;
mod admin_applications;
mod app_auth;
mod app_batch;
mod app_evidence;
mod app_grants;
mod app_sign;
mod app_webhooks;
mod apps;
mod auth;
mod certificates;
mod certverify;
mod csrf;
mod csv;
pub mod error;
mod files;
pub mod idempotency;
mod jobs;
pub mod limits;
pub mod mtls;
mod notifications;
pub mod openapi;
mod orgs;
mod payments;
mod pdf;
mod seals;
mod seals_ukey;
mod ses;
mod status;
mod workflow;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::app::App;
use crate::error::AppError;
use openapi::{Guarded, Staff};

pub use certificates::normalise_serial;

/// Which layers a route sits under, besides the router-wide ones.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// `/healthz`: outside the concurrency limit and the timeouts, so a busy server still answers.
    Health,
    /// The rest of the API: the concurrency limit, `request_timeout_seconds`.
    Api,
    /// PDF signing and verification, uploads: the concurrency limit, `pdf_timeout_seconds`.
    Pdf,
}

/// One route of the API: its handler registered with its documentation (`routes!`), its group, and
/// what wraps that handler alone.
struct Route {
    group: Group,
    handler: UtoipaMethodRouter<Arc<App>>,
    /// The per-address rate limit, checked before the body is read.
    rate: Option<limits::Limited>,
    /// The `Idempotency-Key` middleware of the creating and transitioning POSTs.
    idempotent: bool,
    /// A body limit other than the router's 1 MiB.
    body_limit: Option<usize>,
}

impl Route {
    fn new(group: Group, handler: UtoipaMethodRouter<Arc<App>>) -> Self {
        Route {
            group,
            handler,
            rate: None,
            idempotent: false,
            body_limit: None,
        }
    }

    fn limited(self, which: limits::Limited) -> Self {
        Route {
            rate: Some(which),
            ..self
        }
    }

    fn idempotent(self) -> Self {
        Route {
            idempotent: true,
            ..self
        }
    }

    fn body_limit(self, bytes: usize) -> Self {
        Route {
            body_limit: Some(bytes),
            ..self
        }
    }

    /// The handler with its own layers (the document does not need them, the server does).
    fn layered(self, app: &Arc<App>) -> UtoipaMethodRouter<Arc<App>> {
        let mut handler = self.handler;
        if let Some(which) = self.rate {
            handler = handler.layer(axum::middleware::from_fn_with_state(
                (app.clone(), which),
                limits::rate_limit,
            ));
        }
        if self.idempotent {
            handler = handler.layer(axum::middleware::from_fn_with_state(
                app.clone(),
                idempotency::idempotency,
            ));
        }
        if let Some(bytes) = self.body_limit {
            handler = handler.layer(DefaultBodyLimit::max(bytes));
        }
        handler
    }
}

/// Every route of the API, each registered with its documentation: the one list that both `router`
/// and `document` are built from, so nothing is served that the document leaves out. A new route
/// is a `#[utoipa::path]` on its handler and a line here (tidy test: no `.route(` elsewhere).
fn table() -> Vec<Route> {
    use limits::Limited;
    use Group::*;
    vec![
        Route::new(Health, routes!(healthz)),
        Route::new(Api, routes!(readyz)),
        Route::new(Api, routes!(metrics_for_staff)),
        Route::new(Api, routes!(openapi_json)),
        Route::new(Api, routes!(auth::login)).body_limit(auth::MAX_LOGIN_BODY),
        Route::new(Api, routes!(auth::logout)),
        Route::new(Api, routes!(auth::create_operator)),
        Route::new(Api, routes!(auth::set_disabled)),
        Route::new(Api, routes!(account::send_code)).body_limit(account::MAX_ACCOUNT_BODY),
        Route::new(Api, routes!(account::register)).body_limit(account::MAX_ACCOUNT_BODY),
        Route::new(Api, routes!(account::reset_password)).body_limit(account::MAX_ACCOUNT_BODY),
        Route::new(Api, routes!(account::me)),
        Route::new(Api, routes!(account::change_password)).body_limit(account::MAX_ACCOUNT_BODY),
        Route::new(Api, routes!(account::sessions)),
        Route::new(Api, routes!(account::end_session)),
        Route::new(Api, routes!(account::totp_begin)),
        Route::new(Api, routes!(account::totp_confirm)).body_limit(account::MAX_ACCOUNT_BODY),
        Route::new(Api, routes!(orgs::create, orgs::list)).body_limit(orgs::MAX_ORG_BODY),
        Route::new(Api, routes!(orgs::get_one)),
        Route::new(Api, routes!(orgs::members, orgs::add_member)).body_limit(orgs::MAX_ORG_BODY),
        Route::new(Api, routes!(orgs::remove_member)),
        Route::new(Api, routes!(certificates::issue, certificates::list)),
        Route::new(Api, routes!(certificates::get_one)),
        Route::new(Api, routes!(certificates::download, status::change)),
        Route::new(Api, routes!(certverify::verify)).limited(Limited::CertVerify),
        Route::new(Api, routes!(certificates::list_cas)),
        Route::new(Api, routes!(certificates::ca_chain)),
        Route::new(Api, routes!(certificates::rollover)),
        Route::new(Api, routes!(ses::inspect)),
        Route::new(Api, routes!(ses::verify)).limited(Limited::SesVerify),
        Route::new(Api, routes!(certificates::ca_cert)),
        Route::new(Api, routes!(status::crl)),
        Route::new(Api, routes!(status::tsa)).limited(Limited::Tsa),
        Route::new(Api, routes!(status::ocsp_post)),
        Route::new(Api, routes!(status::ocsp_get)),
        Route::new(Api, routes!(workflow::create)).idempotent(),
        Route::new(Api, routes!(workflow::list)),
        Route::new(Api, routes!(workflow::get_one)),
        Route::new(Api, routes!(workflow::event)).idempotent(),
        Route::new(Api, routes!(workflow::history)),
        Route::new(Api, routes!(seals::apply, seals::list_applications))
            .body_limit(seals::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals::get_application)),
        Route::new(Api, routes!(seals::application_form)),
        Route::new(Api, routes!(seals::application_event))
            .body_limit(seals::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals::application_history)),
        Route::new(Api, routes!(seals_ukey::csr))
            .body_limit(seals_ukey::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals_ukey::receipt))
            .body_limit(seals_ukey::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals::apply_operation))
            .body_limit(seals::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals::get_operation)),
        Route::new(Api, routes!(seals::operation_event))
            .body_limit(seals::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(seals::list_seals)),
        Route::new(Api, routes!(seals::get_seal)),
        Route::new(Api, routes!(seals::seal_history)),
        Route::new(Api, routes!(seals::seal_file)),
        Route::new(Api, routes!(seals::status)),
        Route::new(Api, routes!(seals::platform_keys)),
        Route::new(Pdf, routes!(seals::sign)).body_limit(seals::MAX_PDF),
        Route::new(Pdf, routes!(app_sign::seal)).body_limit(app_sign::MAX_PDF),
        Route::new(Pdf, routes!(app_sign::keywords)).body_limit(app_sign::MAX_PDF),
        Route::new(Api, routes!(app_sign::evidence)),
        Route::new(Pdf, routes!(app_batch::seal_batch)).body_limit(app_batch::MAX_BATCH_BODY),
        Route::new(Pdf, routes!(app_batch::submit_job)).body_limit(app_batch::MAX_JOB_BODY),
        Route::new(Api, routes!(app_batch::jobs)),
        Route::new(Api, routes!(app_batch::job)),
        Route::new(Api, routes!(app_batch::document)),
        Route::new(Pdf, routes!(app_evidence::report)),
        Route::new(Api, routes!(app_sign::usage)),
        Route::new(Api, routes!(app_grants::create))
            .body_limit(app_grants::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(app_grants::withdraw))
            .body_limit(app_grants::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(app_grants::sync))
            .body_limit(app_grants::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(app_grants::verify))
            .body_limit(sealpki_pki::credential::MAX_CREDENTIAL)
            .limited(Limited::SesVerify),
        Route::new(Api, routes!(app_grants::granted_apps)),
        Route::new(Api, routes!(app_grants::get_one)),
        Route::new(Api, routes!(app_grants::credential)),
        Route::new(Api, routes!(app_grants::app_seals)),
        Route::new(Api, routes!(app_grants::app_events)),
        Route::new(Api, routes!(app_grants::seal_apps)),
        Route::new(Api, routes!(payments::create_order)).body_limit(payments::MAX_BODY),
        Route::new(Api, routes!(payments::list_orders)),
        Route::new(Api, routes!(payments::get_order)),
        Route::new(Api, routes!(payments::set_logistics)).body_limit(payments::MAX_BODY),
        Route::new(Api, routes!(payments::dev_callback)).body_limit(payments::MAX_BODY),
        Route::new(
            Api,
            routes!(payments::list_addresses, payments::add_address),
        )
        .body_limit(payments::MAX_BODY),
        Route::new(Api, routes!(payments::delete_address)),
        Route::new(Api, routes!(payments::default_address)),
        Route::new(
            Api,
            routes!(payments::list_unified_payers, payments::add_unified_payer),
        )
        .body_limit(payments::MAX_BODY),
        Route::new(
            Api,
            routes!(
                admin_applications::admin_apply,
                admin_applications::admin_list
            ),
        )
        .body_limit(admin_applications::MAX_BODY)
        .idempotent(),
        Route::new(Api, routes!(admin_applications::admin_get)),
        Route::new(Api, routes!(admin_applications::admin_event))
            .body_limit(admin_applications::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(admin_applications::admin_history)),
        Route::new(
            Api,
            routes!(
                admin_applications::update_apply,
                admin_applications::update_list
            ),
        )
        .body_limit(admin_applications::MAX_BODY)
        .idempotent(),
        Route::new(Api, routes!(admin_applications::update_get)),
        Route::new(Api, routes!(admin_applications::update_event))
            .body_limit(admin_applications::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(admin_applications::update_history)),
        Route::new(Api, routes!(apps::register, apps::search))
            .body_limit(apps::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(apps::get_one, apps::update)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(apps::event))
            .body_limit(apps::MAX_BODY)
            .idempotent(),
        Route::new(Api, routes!(apps::limits)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(apps::credentials, apps::create_key)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(apps::create_certificate)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(apps::certificate)),
        Route::new(Api, routes!(apps::revoke_credential)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(apps::whoami)).body_limit(apps::MAX_BODY),
        Route::new(Api, routes!(app_webhooks::rotate_secret)).body_limit(app_webhooks::MAX_BODY),
        Route::new(Api, routes!(app_webhooks::ping)).body_limit(app_webhooks::MAX_BODY),
        Route::new(Api, routes!(app_webhooks::deliveries)),
        Route::new(Api, routes!(app_webhooks::my_deliveries)).body_limit(app_webhooks::MAX_BODY),
        Route::new(Api, routes!(files::get_one)),
        Route::new(Api, routes!(files::content)),
        Route::new(Api, routes!(jobs::list)),
        Route::new(Api, routes!(jobs::retry)),
        Route::new(Api, routes!(notifications::list)),
        Route::new(Api, routes!(notifications::unread_count)),
        Route::new(Api, routes!(notifications::mark_read)),
        Route::new(Api, routes!(notifications::mark_all_read)),
        Route::new(Api, routes!(notifications::send_test)),
        Route::new(Pdf, routes!(pdf::verify))
            .limited(Limited::PdfVerify)
            .body_limit(pdf::MAX_PDF),
        // base64 in JSON: a third larger than the PDF.
        Route::new(Pdf, routes!(pdf::sign)).body_limit(pdf::MAX_PDF / 3 * 4 + 65536),
        // Uploads of up to 32 MiB get the PDF routes' longer timeout.
        Route::new(Pdf, routes!(files::upload)).body_limit(files::MAX_UPLOAD_BODY),
    ]
}

/// The OpenAPI document of every route in `table`, as served at `/api/openapi.json` and printed by
/// `sealpki openapi`. Needs no running server.
pub fn document() -> utoipa::openapi::OpenApi {
    let doc = table()
        .into_iter()
        .fold(OpenApiRouter::with_openapi(openapi::frame()), |r, route| {
            r.routes(route.handler)
        })
        .into_openapi();
    openapi::finish(doc)
}

/// The public router: every route under the global concurrency limit (but `/healthz`), each with its
/// request timeout and body limit, the expensive public ones under per-address rate limits.
pub fn router(app: Arc<App>) -> Router {
    let lim = &app.config.limits;
    let (mut health, mut api, mut pdf) = (
        OpenApiRouter::new(),
        OpenApiRouter::new(),
        OpenApiRouter::new(),
    );
    for route in table() {
        let group = route.group;
        let handler = route.layered(&app);
        match group {
            Group::Health => health = health.routes(handler),
            Group::Api => api = api.routes(handler),
            Group::Pdf => pdf = pdf.routes(handler),
        }
    }
    // Their documents are dropped: `document()` makes the same one from `table()`.
    let (health, _) = health.split_for_parts();
    let (api, _) = api.split_for_parts();
    let (pdf, _) = pdf.split_for_parts();
    // The web console (`crate::web`): its pages beside the API, its upload with the PDF routes.
    let (pages, uploads) = crate::web::routers(app.clone());
    let guarded = limits::with_timeout(api.merge(pages), &app, lim.request_timeout_seconds).merge(
        limits::with_timeout(pdf.merge(uploads), &app, lim.pdf_timeout_seconds),
    );
    let guarded = limits::with_concurrency_limit(guarded, &app, lim.concurrency);
    health
        .merge(guarded)
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(app.clone(), count))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            csrf::guard,
        ))
        // Browsers get error pages in their language, never a raw problem+json.
        .layer(axum::middleware::from_fn(crate::web::html_errors))
        .layer(axum::middleware::from_fn(limits::track_body))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .with_state(app)
}

/// The internal router (`server.internal_listen`): health, readiness with its detail, and metrics,
/// without a login. Registered like the API's routes; its document is not served (the internal
/// listener is the operators' own).
pub fn internal_router(app: Arc<App>) -> Router {
    let (router, _) = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(internal_readyz))
        .routes(routes!(internal_metrics))
        .split_for_parts();
    router
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .with_state(app)
}

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers", content_type = "text/plain", body = String)))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json", body = Object), Guarded))]
async fn openapi_json() -> Response {
    static TEXT: OnceLock<Result<String, String>> = OnceLock::new();
    match TEXT.get_or_init(|| serde_json::to_string(&document()).map_err(|e| e.to_string())) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text.as_str()).into_response(),
        Err(e) => AppError::Internal(format!("OpenAPI document: {e}")).into_response(),
    }
}

async fn count(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    app.metrics.http_requests.inc();
    let started = std::time::Instant::now();
    let mut resp = next.run(req).await;
    // The server's own time for the answer (what `bench pages` reports), without the network's.
    if let Ok(v) = header::HeaderValue::from_str(&format!(
        "app;dur={:.3}",
        started.elapsed().as_secs_f64() * 1e3
    )) {
        resp.headers_mut().insert("server-timing", v);
    }
    let status = resp.status();
    if status.is_server_error() {
        app.metrics.http_errors.inc();
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        app.metrics.http_throttled.inc();
    }
    let problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if status == StatusCode::PAYLOAD_TOO_LARGE && !problem {
        // The body-limit rejection of axum's extractors, as problem+json like every other error.
        return AppError::TooLarge("the request body is larger than this endpoint accepts".into())
            .into_response();
    }
    resp
}

/// What `/readyz` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    ready: bool,
    /// Each check by name: `ok`, or what failed. Only for a logged-in operator, and on the
    /// internal listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /readyz`: 200 or 503; the checks' detail only for a logged-in operator.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Ready: the database and every key answer", body = Readiness),
        (status = 503, description = "Not ready (the body says so), or busy (problem+json, Retry-After)",
            content((Readiness = "application/json"), (openapi::Problem = "application/problem+json"))),
        (status = 401, response = openapi::ProblemResponse),
    ))]
async fn readyz(State(app): State<Arc<App>>, who: auth::MaybeOperator) -> Response {
    readiness(&app, who.0.is_some()).await
}

/// `GET /readyz` on the internal listener: with the checks' detail, no login.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready", body = Readiness),
    ))]
async fn internal_readyz(State(app): State<Arc<App>>) -> Response {
    readiness(&app, true).await
}

async fn readiness(app: &App, detail: bool) -> Response {
    let checks = app.readiness().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let checks = detail.then(|| {
        checks
            .into_iter()
            .map(|(k, r)| (k, r.err().unwrap_or_else(|| "ok".into())))
            .collect()
    });
    (status, Json(Readiness { ready: ok, checks })).into_response()
}

/// `GET /metrics` on the public listener: any logged-in operator.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        Staff, Guarded,
    ))]
async fn metrics_for_staff(State(app): State<Arc<App>>, op: auth::Operator) -> Response {
    if let Err(e) = op.require(crate::access::Permission::Read) {
        return e.into_response();
    }
    metrics(&app)
}

/// `GET /metrics` on the internal listener: no login.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
async fn internal_metrics(State(app): State<Arc<App>>) -> Response {
    metrics(&app)
}

fn metrics(app: &App) -> Response {
    let reopened = app.keyring.sessions_reopened() as u64;
    let rates: Vec<(&str, u64)> = app
        .limits
        .rates()
        .iter()
        .map(|r| (r.name, r.len() as u64))
        .collect();
    let text = app.metrics.render(
        &[(
            "sealpki_pkcs11_sessions_reopened_total",
            "PKCS#11 sessions replaced after loss.",
            reopened,
        )],
        &[
            crate::metrics::Gauge {
                name: "sealpki_ocsp_cache_entries",
                help: "Pre-signed OCSP answers held in memory.",
                label: "",
                values: vec![("", app.ocsp_cache.len() as u64)],
            },
            crate::metrics::Gauge {
                name: "sealpki_rate_limit_addresses",
                help: "Client addresses (IPv6 by /64) remembered per rate limit.",
                label: "limit",
                values: rates,
            },
        ],
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Serve until ctrl-c / SIGTERM. With `tls` set, every connection is TLS (rustls). With
/// `server.internal_listen` set, the internal router is served there too (plain HTTP).
pub async fn serve(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    // The outbox worker: every instance runs one.
    crate::jobs::worker::spawn(app.clone());
    if let Some(internal) = app.config.server.internal_listen {
        let l = tokio::net::TcpListener::bind(internal).await?;
        let iaddr = l.local_addr()?;
        tracing::info!(addr = %iaddr, "internal listener (metrics, readiness detail)");
        println!("sealpki internal listener on http://{iaddr}");
        let internal = internal_router(app.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, internal).await {
                tracing::error!(error = %e, "internal listener stopped");
            }
        });
    }
    let limits = app.config.limits.clone();
    let router = router(app);
    match tls {
        None => {
            tracing::info!(%addr, "listening (http)");
            println!("sealpki listening on http://{addr}");
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown())
            .await?;
        }
        Some(cfg) => {
            tracing::info!(%addr, "listening (https)");
            println!("sealpki listening on https://{addr}");
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
            serve_tls(listener, router, acceptor, &limits).await;
        }
    }
    Ok(())
}

/// The TLS accept loop. Accept errors (EMFILE, ENFILE, …) are logged and retried after a pause, never
/// fatal; at most `tls_handshakes` handshakes run at once (further connections wait in the listen
/// backlog), each within `tls_handshake_timeout_seconds`, which also bounds the wait for request
/// headers on an established connection.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    acceptor: tokio_rustls::TlsAcceptor,
    limits: &crate::config::LimitsConfig,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(limits.tls_handshakes.max(1)));
    let timeout = std::time::Duration::from_secs(limits.tls_handshake_timeout_seconds.max(1));
    let shutdown = shutdown();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = handshakes.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // closed: never happens, the loop owns the semaphore
            },
            _ = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: existing connections will free some.
                tracing::error!(error = %e, "accept failed; retrying in 100 ms");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            drop(permit);
            // The client certificate the handshake verified, for every request on the connection.
            let peer_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| mtls::PeerCertificate(Arc::new(c.to_vec())));
            let svc = tower::ServiceExt::map_request(
                router,
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    if let Some(c) = &peer_cert {
                        req.extensions_mut().insert(c.clone());
                    }
                    req
                },
            );
            let io = hyper_util::rt::TokioIo::new(tls);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(io, hyper_util::service::TowerToHyperService::new(svc))
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Load a rustls server configuration from PEM certificate chain and key files.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_auth: Option<Arc<mtls::SwappableVerifier>>,
) -> anyhow::Result<rustls::ServerConfig> {
    use anyhow::Context;
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("TLS certificate {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).with_context(|| format!("TLS key {}", key.display()))?,
    ))?
    .context("no private key in the TLS key file")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    let builder = match client_auth {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    Ok(builder.with_single_cert(certs, key)?)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
