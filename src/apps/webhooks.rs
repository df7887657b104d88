//! Webhooks: an app's events (grants granted, effective, expiring, expired, withdrawn; sealing
//! jobs finished; a test ping) delivered to its callback URL by the outbox worker.
//!
//! An event is recorded with `publish_app_event` in the transaction of the change that causes it,
//! and its delivery job with it, so both exist exactly when the change committed. Every attempt
//! POSTs the same JSON body with the same event id; the receiver proves it came from us with
//! the app's webhook secret: `X-Sealpki-Signature: v1=HEX(HMAC-SHA256(secret, "{ts}.{body}"))`,
//! where `ts` is `X-Sealpki-Timestamp` (Unix seconds). It must answer 2xx within five seconds;
//! anything else is retried with backoff for more than a day (`JobsConfig::webhook_*`). Each
//! attempt is a row of the delivery log the app and its owner read.
//!
//! Rotation: a new secret signs at once; the one before it signs alongside (a second `v1=`) for
//! a day, so a receiver can switch over without refusing a delivery.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_core::RngCore;
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::registry::{app_state, new_id};
use super::AppState;
use crate::access::Actor;
use crate::accounts::policy::Action;
use crate::app::App;
use crate::error::AppError;
use crate::jobs::{Job, WebhookJob};
use crate::notify::DeliveryError;
use crate::store::{AppEventRow, DeliveryRow, Store, StoreError, Tx};
use crate::workflow::Named;

/// The receiver's time to answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP_SECONDS: i64 = 86_400;
/// The credential name the webhook secret is sealed under (`SecretBox` binds it to the app).
const SECRET_SLOT: &str = "webhook-secret";
/// Bytes of a webhook secret.
const SECRET_LEN: usize = 32;
/// How much of a receiver's error answer the log keeps.
const ERROR_CHARS: usize = 200;

pub const SIGNATURE_HEADER: &str = "x-sealpki-signature";
pub const TIMESTAMP_HEADER: &str = "x-sealpki-timestamp";
pub const EVENT_HEADER: &str = "x-sealpki-event-id";
pub const EVENT_KIND_HEADER: &str = "x-sealpki-event-type";

/// `HEX(HMAC-SHA256(secret, "{timestamp}.{body}"))`: what `v1=` carries.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A new webhook secret, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewWebhookSecret {
    pub app_id: String,
    /// The HMAC key, as given (its UTF-8 bytes are the key): `whsec_` and 43 base64url characters.
    pub secret: String,
    /// Until when the secret before this one still signs (a second `v1=`); none on the first.
    pub previous_valid_until: Option<i64>,
}

/// A page of an app's delivery log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryRow>,
    pub next_cursor: Option<String>,
}

/// The event a ping made.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PingSent {
    pub event_id: String,
}

fn transient(what: &str) -> impl Fn(StoreError) -> DeliveryError + '_ {
    move |e| DeliveryError {
        retry: true,
        message: format!("{what}: {e}"),
    }
}

impl App {
    /// Record `event` for its app and, when the app has a callback URL, queue its delivery — in
    /// the caller's transaction. False when an event with the same dedupe key exists already.
    pub(crate) async fn publish_app_event(
        &self,
        tx: &mut Tx<'_>,
        event: &AppEventRow,
    ) -> Result<bool, AppError> {
        if !Store::app_event_insert(tx, event).await? {
            return Ok(false);
        }
        if Store::app_callback_url(tx, &event.app_id).await?.is_some() {
            let job = Job::Webhook(WebhookJob {
                app_id: event.app_id.clone(),
                event_id: event.id.clone(),
            });
            let dedupe = format!("webhook:{}", event.id);
            crate::jobs::enqueue(tx, &self.config.jobs, &job, Some(&dedupe)).await?;
        }
        Ok(true)
    }

    /// A new webhook secret for the app (apps.credentials.create: the owner), shown once; the
    /// one before it keeps signing for a day. Audited without the secret.
    pub async fn app_webhook_secret_rotate(
        &self,
        actor: &Actor,
        app_id: &str,
    ) -> Result<NewWebhookSecret, AppError> {
        let app = self
            .app_row_for(actor, app_id, Action::MakeAppCredential)
            .await?;
        if app_state(&app)? == AppState::Revoked {
            return Err(AppError::Conflict(format!("app {app_id} is revoked")));
        }
        let mut raw = Zeroizing::new([0u8; SECRET_LEN]);
        rand_core::OsRng.fill_bytes(&mut raw[..]);
        let secret = Zeroizing::new(format!("whsec_{}", URL_SAFE_NO_PAD.encode(&raw[..])));
        let sealed = self
            .app_secrets()?
            .seal(app_id, SECRET_SLOT, secret.as_bytes())?;
        let now = crate::store::now();
        let until = now.saturating_add(ROTATION_OVERLAP_SECONDS);
        let had = app.webhook_secret.is_some();
        let mut tx = self.store.begin().await?;
        if !Store::app_webhook_secret_rotate(&mut tx, app_id, &sealed, until, now).await? {
            return Err(AppError::NotFound(format!("no app {app_id:?}")));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.webhook_secret.rotate",
                json!({"app_id": app_id, "previous_valid_until": had.then_some(until)}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(NewWebhookSecret {
            app_id: app_id.to_string(),
            secret: secret.to_string(),
            previous_valid_until: had.then_some(until),
        })
    }

    /// Send the app a `ping` event now (apps.update): a check of the callback URL and secret.
    /// 409 when the app has no callback URL or is not active.
    pub async fn app_webhook_ping(
        &self,
        actor: &Actor,
        app_id: &str,
    ) -> Result<PingSent, AppError> {
        let app = self.app_row_for(actor, app_id, Action::UpdateApp).await?;
        if app_state(&app)? != AppState::Active {
            return Err(AppError::Conflict(format!(
                "app {app_id} is not active: it gets no deliveries"
            )));
        }
        if app.callback_url.is_none() {
            return Err(AppError::Conflict(format!(
                "app {app_id} has no callback URL: set one first"
            )));
        }
        let now = crate::store::now();
        let event = AppEventRow {
            id: new_id(),
            app_id: app_id.to_string(),
            kind: "ping".into(),
            grant_id: None,
            seal_id: None,
            payload: json!({"event": "ping", "by": actor.name, "at": now}).to_string(),
            dedupe_key: None,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        self.publish_app_event(&mut tx, &event).await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.webhook.ping",
                json!({"app_id": app_id, "event_id": event.id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(PingSent { event_id: event.id })
    }

    /// The app's delivery log, newest first (apps.read: the owner and staff).
    pub async fn app_deliveries_for(
        &self,
        actor: &Actor,
        app_id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<DeliveryPage, AppError> {
        self.app_row_for(actor, app_id, Action::ReadApp).await?;
        self.app_delivery_page(app_id, cursor, limit).await
    }

    /// The delivery log of `app_id` (the app itself asks, or `app_deliveries_for` checked).
    pub async fn app_delivery_page(
        &self,
        app_id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<DeliveryPage, AppError> {
        let before = crate::paging::cursor_owned(cursor)?;
        let limit = crate::paging::limit(limit, 50, 500)?;
        let items = self.store.app_deliveries(app_id, before, limit).await?;
        let next_cursor = crate::paging::next(&items, limit, |d| (d.created_at, &d.id));
        Ok(DeliveryPage { items, next_cursor })
    }

    fn webhook_client(&self) -> Result<reqwest::Client, DeliveryError> {
        if let Some(c) = self.apps.webhook_client.get() {
            return Ok(c.clone());
        }
        let broken = |m: String| DeliveryError {
            retry: true,
            message: m,
        };
        let mut b = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sealpki-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = &self.config.apps.webhook_roots {
            let pem = std::fs::read(file)
                .map_err(|e| broken(format!("[apps] webhook_roots {}: {e}", file.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| broken(format!("[apps] webhook_roots {}: {e}", file.display())))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let c = b
            .build()
            .map_err(|e| broken(format!("webhook client: {e}")))?;
        Ok(self.apps.webhook_client.get_or_init(|| c).clone())
    }

    /// One attempt (`attempt` from 1) at delivering a webhook job; every attempt is logged.
    pub(crate) async fn deliver_webhook(
        &self,
        job_id: &str,
        attempt: i64,
        job: &WebhookJob,
    ) -> Result<(), DeliveryError> {
        let started = Instant::now();
        let Some(event) = self
            .store
            .app_event_get(&job.event_id)
            .await
            .map_err(transient("reading the event"))?
        else {
            return Err(DeliveryError {
                retry: false,
                message: format!("app event {} is gone", job.event_id),
            });
        };
        let app = self
            .store
            .app_get(&job.app_id)
            .await
            .map_err(transient("reading the app"))?;
        let mut entry = DeliveryRow {
            id: new_id(),
            app_id: job.app_id.clone(),
            event_id: event.id.clone(),
            event_kind: event.kind.clone(),
            job_id: job_id.to_string(),
            attempt: attempt.max(1),
            url: None,
            status: None,
            outcome: "skipped".into(),
            error: None,
            duration_ms: 0,
            created_at: crate::store::now(),
        };
        let result = self.try_deliver(app, &event, &mut entry).await;
        entry.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        if let Err(e) = self.store.app_delivery_insert(&entry).await {
            // The delivery's outcome stands; only its log line is lost.
            tracing::error!(job = %job_id, error = %e, "recording a webhook delivery");
        }
        result
    }

    async fn try_deliver(
        &self,
        app: Option<crate::store::AppRow>,
        event: &AppEventRow,
        entry: &mut DeliveryRow,
    ) -> Result<(), DeliveryError> {
        let skip = |entry: &mut DeliveryRow, why: &str| {
            entry.outcome = "skipped".into();
            entry.error = Some(why.to_string());
            Ok(())
        };
        let Some(app) = app else {
            return skip(entry, "the app is gone");
        };
        match app_state(&app) {
            Ok(AppState::Active) => {}
            Ok(s) => return skip(entry, &format!("the app is {}", s.name())),
            Err(e) => return skip(entry, &e.to_string()),
        }
        let Some(url) = app.callback_url.clone() else {
            return skip(entry, "the app has no callback URL");
        };
        entry.url = Some(url.clone());
        let fail = |entry: &mut DeliveryRow, status: Option<i64>, why: String| {
            entry.outcome = "failed".into();
            entry.status = status;
            entry.error = Some(why.clone());
            Err(DeliveryError {
                retry: true,
                message: why,
            })
        };
        let secrets = match self.store.app_webhook_secrets(&app.id).await {
            Ok(s) => s,
            Err(e) => return fail(entry, None, format!("reading the webhook secret: {e}")),
        };
        let Some(current) = secrets.current else {
            return fail(
                entry,
                None,
                "no webhook secret yet: the owner makes one on the app's page".into(),
            );
        };
        let sb = self.app_secrets().map_err(|e| DeliveryError {
            retry: true,
            message: e.to_string(),
        })?;
        let now = crate::store::now();
        let mut keys = Vec::new();
        match sb.open_secret(&app.id, SECRET_SLOT, &current) {
            Ok(k) => keys.push(k),
            Err(e) => return fail(entry, None, e.to_string()),
        }
        if let (Some(prev), Some(until)) = (secrets.previous, secrets.previous_until) {
            if until > now {
                if let Ok(k) = sb.open_secret(&app.id, SECRET_SLOT, &prev) {
                    keys.push(k);
                }
            }
        }
        let data: serde_json::Value =
            serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null);
        let body = json!({
            "id": event.id, "type": event.kind, "app_id": event.app_id,
            "created_at": event.created_at, "data": data,
        })
        .to_string();
        let sig = keys
            .iter()
            .map(|k| format!("v1={}", signature(k, now, body.as_bytes())))
            .collect::<Vec<_>>()
            .join(", ");
        let client = match self.webhook_client() {
            Ok(c) => c,
            Err(e) => return fail(entry, None, e.message),
        };
        let sent = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, sig)
            .header(EVENT_HEADER, &event.id)
            .header(EVENT_KIND_HEADER, &event.kind)
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(a) => a,
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else if e.is_connect() {
                    format!("could not connect: {}", error_chain(&e))
                } else {
                    error_chain(&e)
                };
                return fail(entry, None, why);
            }
        };
        let status = answer.status();
        if status.is_success() {
            entry.outcome = "delivered".into();
            entry.status = Some(i64::from(status.as_u16()));
            return Ok(());
        }
        // Some of what the receiver said helps its developers; the rest is cut.
        let said = tokio::time::timeout(TIMEOUT, answer.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let said: String = said.chars().take(ERROR_CHARS).collect();
        fail(
            entry,
            Some(i64::from(status.as_u16())),
            format!("answered {status}: {}", said.trim()),
        )
    }
}

/// An error with its causes, for the delivery log (no URLs' query strings are in these).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s.chars().take(ERROR_CHARS * 2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 style check against an independent computation of the same MAC.
        let sig = signature(b"whsec_test", 1_700_000_000, b"{\"id\":\"e1\"}");
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"1700000000.{\"id\":\"e1\"}");
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sig.len(), 64);
        assert_ne!(
            sig,
            signature(b"whsec_test", 1_700_000_001, b"{\"id\":\"e1\"}")
        );
        assert_ne!(
            sig,
            signature(b"whsec_other", 1_700_000_000, b"{\"id\":\"e1\"}")
        );
    }
}
