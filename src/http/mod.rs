//! The HTTP API (axum): routes, shared state, health, metrics, OpenAPI, and serving over TCP or TLS.

mod auth;
mod certificates;
mod certverify;
pub mod error;
mod files;
pub mod idempotency;
pub mod limits;
pub mod mtls;
mod pdf;
mod ses;
mod status;
mod workflow;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::app::App;
use crate::error::AppError;

pub use certificates::normalise_serial;

/// The OpenAPI document, kept beside the code it describes.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// The public router: every route under the global concurrency limit (but `/healthz`), each with its
/// request timeout and body limit, the expensive public ones under per-address rate limits.
pub fn router(app: Arc<App>) -> Router {
    let lim = &app.config.limits;
    let limited = |which: limits::Limited| {
        axum::middleware::from_fn_with_state((app.clone(), which), limits::rate_limit)
    };
    // `Idempotency-Key` on the POSTs that create or transition.
    let idempotent = || axum::middleware::from_fn_with_state(app.clone(), idempotency::idempotency);
    let routes = Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_for_staff))
        .route(
            "/api/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route(
            "/api/v1/login",
            post(auth::login).layer(axum::extract::DefaultBodyLimit::max(auth::MAX_LOGIN_BODY)),
        )
        .route("/api/v1/logout", post(auth::logout))
        .route("/api/v1/operators", post(auth::create_operator))
        .route(
            "/api/v1/operators/{name}/{action}",
            post(auth::set_disabled),
        )
        .route(
            "/api/v1/certificates",
            post(certificates::issue).get(certificates::list),
        )
        .route("/api/v1/certificates/{serial}", get(certificates::get_one))
        .route(
            "/api/v1/certificates/{serial}/{format}",
            get(certificates::download).post(status::change),
        )
        .route(
            "/api/v1/certificates/verify",
            post(certverify::verify).layer(limited(limits::Limited::CertVerify)),
        )
        .route("/api/v1/cas", get(certificates::list_cas))
        .route("/api/v1/cas/{name}/chain", get(certificates::ca_chain))
        .route("/api/v1/cas/{name}/rollover", post(certificates::rollover))
        .route("/api/v1/ses/inspect", post(ses::inspect))
        .route(
            "/api/v1/ses/verify",
            post(ses::verify).layer(limited(limits::Limited::SesVerify)),
        )
        .route("/ca/{file}", get(certificates::ca_cert))
        .route("/crl/{file}", get(status::crl))
        .route(
            "/tsa",
            post(status::tsa).layer(limited(limits::Limited::Tsa)),
        )
        .route("/ocsp/{ca}", post(status::ocsp_post))
        .route("/ocsp/{ca}/{*request}", get(status::ocsp_get))
        .route(
            "/api/v1/workflows/{kind}",
            post(workflow::create)
                .layer(idempotent())
                .get(workflow::list),
        )
        .route("/api/v1/workflows/{kind}/{id}", get(workflow::get_one))
        .route(
            "/api/v1/workflows/{kind}/{id}/events",
            post(workflow::event).layer(idempotent()),
        )
        .route(
            "/api/v1/workflows/{kind}/{id}/history",
            get(workflow::history),
        )
        .route("/api/v1/files/{id}", get(files::get_one))
        .route("/api/v1/files/{id}/content", get(files::content));
    // The web console (`crate::web`): its pages beside the API, its upload with the PDF routes.
    let (pages, uploads) = crate::web::routers(app.clone());
    let routes = routes.merge(pages);
    let pdf_routes = Router::new()
        .route(
            "/api/v1/pdf/verify",
            post(pdf::verify)
                .layer::<_, std::convert::Infallible>(limited(limits::Limited::PdfVerify))
                .layer(axum::extract::DefaultBodyLimit::max(pdf::MAX_PDF)),
        )
        .route(
            "/api/v1/pdf/sign",
            // base64 in JSON: a third larger than the PDF.
            post(pdf::sign).layer(axum::extract::DefaultBodyLimit::max(
                pdf::MAX_PDF / 3 * 4 + 65536,
            )),
        )
        .merge(uploads)
        .route(
            "/api/v1/files",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::max(files::MAX_UPLOAD_BODY)),
        );
    let guarded = limits::with_timeout(routes, &app, lim.request_timeout_seconds).merge(
        limits::with_timeout(pdf_routes, &app, lim.pdf_timeout_seconds),
    );
    let guarded = limits::with_concurrency_limit(guarded, &app, lim.concurrency);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(guarded)
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(app.clone(), count))
        // Browsers get error pages in their language, never a raw problem+json.
        .layer(axum::middleware::from_fn(crate::web::html_errors))
        .layer(axum::middleware::from_fn(limits::track_body))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(app)
}

/// The internal router (`server.internal_listen`): health, readiness with its detail, and metrics,
/// without a login.
pub fn internal_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(app): State<Arc<App>>| async move { readiness(&app, true).await }),
        )
        .route(
            "/metrics",
            get(|State(app): State<Arc<App>>| async move { metrics(&app) }),
        )
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .with_state(app)
}

async fn count(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    app.metrics.http_requests.inc();
    let resp = next.run(req).await;
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

/// `GET /readyz`: 200 or 503; the checks' detail only for a logged-in operator.
async fn readyz(State(app): State<Arc<App>>, who: auth::MaybeOperator) -> Response {
    readiness(&app, who.0.is_some()).await
}

async fn readiness(app: &App, detail: bool) -> Response {
    let checks = app.readiness().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !detail {
        return (status, Json(json!({"ready": ok}))).into_response();
    }
    let body: serde_json::Map<_, _> = checks
        .into_iter()
        .map(|(k, r)| {
            (
                k,
                match r {
                    Ok(()) => json!("ok"),
                    Err(e) => json!(e),
                },
            )
        })
        .collect();
    (status, Json(json!({"ready": ok, "checks": body}))).into_response()
}

/// `GET /metrics` on the public listener: any logged-in operator.
async fn metrics_for_staff(State(app): State<Arc<App>>, _op: auth::Operator) -> Response {
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
            let svc = tower::ServiceExt::map_request(
                router,
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
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
