//! `AppRequest`, the extractor of routes called by apps rather than people: an HMAC-signed
//! request (the `X-Sealpki-*` headers and `Content-Digest`; `apps::signature`) or, without a
//! signature, the TLS client certificate of one of the app's credentials (the handshake put it
//! in the request's extensions as `mtls::PeerCertificate`). It reads the body, so the handler
//! gets the bytes the digest covered. The decision is `apps::authn`'s.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use super::limits::ClientIp;
use super::mtls::PeerCertificate;
use crate::app::App;
use crate::apps::authn::{PendingNonce, Resolved, SignedHeaders, SignedRequest};
use crate::apps::signature::{
    APP_HEADER, DIGEST_HEADER, KEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::apps::AppCaller;
use crate::error::AppError;

/// A request authenticated as an app, with its body.
pub struct AppRequest {
    pub caller: AppCaller,
    pub app: Arc<Resolved>,
    /// The bytes the digest covered.
    pub body: Bytes,
}

/// An [`AppRequest`] whose nonce (when HMAC-signed) is not taken yet: for the sealing route,
/// whose group-committed record takes it (one commit per sealing instead of two). The handler
/// must end with `App::app_nonce_settle`.
pub struct AppSealingRequest {
    pub req: AppRequest,
    pub nonce: Option<PendingNonce>,
}

impl FromRequest<Arc<App>> for AppRequest {
    type Rejection = AppError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, AppError> {
        let (r, nonce) = extract(req, app).await?;
        if let Some(n) = &nonce {
            app.app_nonce_take(n).await?;
        }
        Ok(r)
    }
}

impl FromRequest<Arc<App>> for AppSealingRequest {
    type Rejection = AppError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, AppError> {
        let (req, nonce) = extract(req, app).await?;
        Ok(AppSealingRequest { req, nonce })
    }
}

/// The app a request comes from, its body, and its nonce when it was signed.
async fn extract(
    req: Request,
    app: &Arc<App>,
) -> Result<(AppRequest, Option<PendingNonce>), AppError> {
    let (parts, body) = req.into_parts();
    let client = ClientIp::of(&parts.extensions)
        .0
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let peer = parts.extensions.get::<PeerCertificate>().cloned();
    let signed = parts.headers.contains_key(SIGNATURE_HEADER);
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), app)
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge("the request body is larger than this endpoint accepts".into())
            } else {
                AppError::BadRequest(format!("request body: {e}"))
            }
        })?;
    if signed {
        let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let (caller, resolved, nonce) = app
            .app_authenticate_signed_deferred(&SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query(),
                headers: SignedHeaders {
                    app_id: h(APP_HEADER),
                    key_id: h(KEY_HEADER),
                    timestamp: h(TIMESTAMP_HEADER),
                    nonce: h(NONCE_HEADER),
                    digest: h(DIGEST_HEADER),
                    signature: h(SIGNATURE_HEADER),
                },
                body: &body,
                client,
            })
            .await?;
        // A request over the rate is refused with its nonce taken: a retry signs anew.
        if let Err(e) = app.app_rate_check(&caller.app_id, resolved.rate_per_second) {
            app.app_nonce_take(&nonce).await?;
            return Err(e);
        }
        return Ok((
            AppRequest {
                caller,
                app: resolved,
                body,
            },
            Some(nonce),
        ));
    }
    if let Some(PeerCertificate(der)) = peer {
        let (caller, resolved) = app.app_authenticate_certificate(&der, client).await?;
        app.app_rate_check(&caller.app_id, resolved.rate_per_second)?;
        return Ok((
            AppRequest {
                caller,
                app: resolved,
                body,
            },
            None,
        ));
    }
    Err(AppError::BadSignature(
        "this route is for apps: sign the request (X-Sealpki-App, X-Sealpki-Key, \
             X-Sealpki-Timestamp, X-Sealpki-Nonce, Content-Digest, X-Sealpki-Signature) or \
             present an app's client certificate over TLS"
            .into(),
    ))
}
