//! The HTTP API (axum): routes, shared state, health, metrics, OpenAPI, and serving over TCP or TLS.

mod auth;
mod certificates;
mod certverify;
pub mod error;
pub mod mtls;
mod pdf;
mod ses;
mod status;

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

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/api/v1/login", post(auth::login))
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
        .route("/api/v1/certificates/verify", post(certverify::verify))
        .route("/api/v1/cas", get(certificates::list_cas))
        .route("/api/v1/cas/{name}/chain", get(certificates::ca_chain))
        .route("/api/v1/cas/{name}/rollover", post(certificates::rollover))
        .route(
            "/api/v1/pdf/verify",
            post(pdf::verify).layer(axum::extract::DefaultBodyLimit::max(pdf::MAX_PDF)),
        )
        .route(
            "/api/v1/pdf/sign",
            // base64 in JSON: a third larger than the PDF.
            post(pdf::sign).layer(axum::extract::DefaultBodyLimit::max(
                pdf::MAX_PDF / 3 * 4 + 65536,
            )),
        )
        .route("/api/v1/ses/inspect", post(ses::inspect))
        .route("/api/v1/ses/verify", post(ses::verify))
        .route("/ca/{file}", get(certificates::ca_cert))
        .route("/crl/{file}", get(status::crl))
        .route("/tsa", post(status::tsa))
        .route("/ocsp/{ca}", post(status::ocsp_post))
        .route("/ocsp/{ca}/{*request}", get(status::ocsp_get))
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(app.clone(), count))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(app)
}

async fn count(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    app.metrics.http_requests.inc();
    let resp = next.run(req).await;
    if resp.status().is_server_error() {
        app.metrics.http_errors.inc();
    }
    resp
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    let checks = app.readiness().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
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
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ok, "checks": body}))).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let reopened = app.keyring.sessions_reopened() as u64;
    let text = app.metrics.render(&[(
        "sealpki_pkcs11_sessions_reopened_total",
        "PKCS#11 sessions replaced after loss.",
        reopened,
    )]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Serve until ctrl-c / SIGTERM. With `tls` set, every connection is TLS (rustls).
pub async fn serve(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let router = router(app);
    match tls {
        None => {
            tracing::info!(%addr, "listening (http)");
            println!("sealpki listening on http://{addr}");
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown())
                .await?;
        }
        Some(cfg) => {
            tracing::info!(%addr, "listening (https)");
            println!("sealpki listening on https://{addr}");
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
            let shutdown = shutdown();
            tokio::pin!(shutdown);
            loop {
                let (tcp, peer) = tokio::select! {
                    r = listener.accept() => r?,
                    _ = &mut shutdown => break,
                };
                let acceptor = acceptor.clone();
                let svc = hyper_util::service::TowerToHyperService::new(router.clone());
                tokio::spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    };
                    let io = hyper_util::rt::TokioIo::new(tls);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await
                    {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    Ok(())
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
