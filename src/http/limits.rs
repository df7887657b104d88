//! Load and abuse protection on the router: the client address (from the TCP peer), per-address
//! rate limits on the expensive public routes, the global concurrency limit with load shedding, and
//! request timeouts that tell a body still arriving (408) from a slow answer (503).

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower::BoxError;

use crate::app::App;
use crate::error::AppError;
use crate::limits::{retry_secs, RateLimit};

/// The client's address: the TCP peer of the connection (both listeners provide it). None only
/// where no connection exists (the router driven in-process).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        ClientIp(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// Which per-address rate limit a route is under.
#[derive(Clone, Copy, Debug)]
pub enum Limited {
    PdfVerify,
    SesVerify,
    CertVerify,
    Tsa,
}

impl Limited {
    fn limit(self, app: &App) -> (&RateLimit, &'static str) {
        let l = &app.limits;
        match self {
            Limited::PdfVerify => (&l.pdf_verify, "PDF verification"),
            Limited::SesVerify => (&l.ses_verify, "seal verification"),
            Limited::CertVerify => (&l.cert_verify, "certificate verification"),
            Limited::Tsa => (&l.tsa, "time stamps"),
        }
    }
}

/// Middleware: refuse with 429 and Retry-After once the client's bucket for this route is empty,
/// before the body is read.
pub async fn rate_limit(
    State((app, which)): State<(Arc<App>, Limited)>,
    req: Request,
    next: Next,
) -> Response {
    let (limit, what) = which.limit(&app);
    match limit.check(ClientIp::of(req.extensions()).0) {
        Ok(()) => next.run(req).await,
        Err(wait) => AppError::RateLimited {
            what: what.into(),
            retry_after: retry_secs(wait),
        }
        .into_response(),
    }
}

/// Whether the request body has been read to its end (set by `TrackedBody`).
#[derive(Clone, Default)]
pub struct BodyReceived(Arc<AtomicBool>);

impl BodyReceived {
    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct TrackedBody {
    inner: Body,
    received: BodyReceived,
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.0.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: note when the body has been read, for the timeout's answer.
pub async fn track_body(req: Request, next: Next) -> Response {
    let received = BodyReceived::default();
    let (mut parts, body) = req.into_parts();
    if http_body::Body::is_end_stream(&body) {
        received.0.store(true, Ordering::Relaxed);
    }
    parts.extensions.insert(received.clone());
    let body = Body::new(TrackedBody {
        inner: body,
        received,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// Every route of `router` answers within `seconds` (body upload included), else 408 (body still
/// arriving) or 503 problem+json.
pub fn with_timeout(router: Router<Arc<App>>, app: &Arc<App>, seconds: u64) -> Router<Arc<App>> {
    let seconds = seconds.max(1);
    let app = app.clone();
    let on_error = move |received: Option<Extension<BodyReceived>>, e: BoxError| {
        let app = app.clone();
        async move {
            if e.is::<tower::timeout::error::Elapsed>() {
                app.metrics.http_timeouts.inc();
                AppError::TimedOut {
                    seconds,
                    body_received: received.is_some_and(|Extension(r)| r.get()),
                }
            } else {
                AppError::Internal(format!("request timeout layer: {e}"))
            }
        }
    };
    router.layer(
        tower::ServiceBuilder::new()
            .layer(HandleErrorLayer::new(on_error))
            .timeout(Duration::from_secs(seconds)),
    )
}

/// At most `max` requests of `router` in progress at once, across all its routes; more are answered
/// 503 with Retry-After at once rather than queued.
pub fn with_concurrency_limit(
    router: Router<Arc<App>>,
    app: &Arc<App>,
    max: usize,
) -> Router<Arc<App>> {
    let app = app.clone();
    let on_error = move |e: BoxError| {
        let app = app.clone();
        async move {
            if e.is::<tower::load_shed::error::Overloaded>() {
                app.metrics.http_shed.inc();
                AppError::Overloaded { retry_after: 1 }
            } else {
                AppError::Internal(format!("concurrency layer: {e}"))
            }
        }
    };
    router.layer(
        tower::ServiceBuilder::new()
            .layer(HandleErrorLayer::new(on_error))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(max.max(1))),
    )
}
